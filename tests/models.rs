//! The models on real photos: near is nearer than far, the matte covers the subject (IoU against
//! a reference made once with ONNX Runtime from Python), and the manifest profiles for models
//! users bring (Depth Anything V2 Small, MiDaS v2.1 small) run on stand-in graphs of the same
//! signature that this test generates with the `onnx` package. `mattebox models add` on those
//! stand-ins (each family recognised, checked, its entry written; an unknown graph's template), and
//! `mattebox models fetch` against a local HTTP server (tests/support/http_server.py): a full
//! download, an interrupted one resumed with `Range`, a hash mismatch, a recorded hash.

mod common;

use std::path::Path;

use common::*;
use mattebox::infer::{InferError, Manifest, Model, Task};
use mattebox::passes::upsample::guide_from_luminance;
use mattebox::passes::{self, DepthSemantics};
use mattebox::shot::decode::{DecodeLimits, decode};

fn plate(path: &Path) -> mattebox::shot::Plate {
    decode(path, &DecodeLimits::default()).unwrap()
}

fn mean_in(values: &[f32], width: u32, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f32 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += values[(y * width + x) as usize];
            n += 1.0;
        }
    }
    sum / n
}

/// Generates the stand-in graphs into a temporary models folder.
fn standin_models() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let python = repo().join(".venv/bin/python");
    let status = std::process::Command::new(&python)
        .arg(repo().join("tests/standin/make_standin_models.py"))
        .arg(dir.path())
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/setup.sh`", python.display()));
    assert!(status.success(), "make_standin_models.py failed");
    dir
}

/// Middlebury's motorcycle through fastdepth: the plate, the model's output and the full-size
/// depth pass (guided upsample).
fn motorcycle_fastdepth() -> (
    mattebox::shot::Plate,
    mattebox::infer::RawOutput,
    passes::DepthMap,
) {
    let plate = plate(&photo("motorcycle_left.png"));
    let raw = model("fastdepth", Task::Depth).run(&plate).unwrap();
    let guide = guide_from_luminance(&plate.luminance());
    let depth = passes::depth_to_plate(
        &raw,
        DepthSemantics::Metric,
        &guide,
        plate.width,
        plate.height,
    )
    .unwrap();
    (plate, raw, depth)
}

#[test]
fn near_is_nearer_than_far() {
    // Middlebury's motorcycle: the boxes and the ground truth are in tests/fixtures/README.md.
    let (plate, raw, depth) = motorcycle_fastdepth();
    assert_eq!((raw.width, raw.height), (224, 224));
    assert_eq!((depth.width, depth.height), (plate.width, plate.height));
    let near = mean_in(&depth.values, depth.width, (250, 330, 500, 470));
    let far = mean_in(&depth.values, depth.width, (40, 20, 700, 90));
    eprintln!("motorcycle: near box {near:.3} m, far box {far:.3} m");
    assert!(
        near * 1.25 < far,
        "the motorcycle ({near} m) is nearer than the wall ({far} m)"
    );
    // Raw metric values are kept: metres on the NYU indoor scale, not normalised.
    assert!(near > 0.5 && far < 10.0, "{near} {far}");
}

/// Writes `values` as raw little-endian f32 for scripts/depth_fidelity.py.
fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn depth_ranks_the_motorcycle_as_the_reference_pipeline_does() {
    // Spearman's rho against Middlebury's ground-truth disparity, scored by one script for
    // every map (scripts/depth_fidelity.py): the plain Python pipeline (Pillow bilinear on the
    // sRGB photo, /255, onnxruntime), the model's output as Mattebox prepares its input, the
    // full-size pass after the guided upsample, and the earlier preparation (Lanczos in linear
    // light) beside them.
    let photo_path = photo("motorcycle_left.png");
    let (plate, raw, pass) = motorcycle_fastdepth();
    let mut before = model("fastdepth", Task::Depth).entry.clone();
    before.input.resize = mattebox::infer::manifest::ResizeFilter::Lanczos3;
    before.input.resize_space = mattebox::infer::manifest::ResizeSpace::Linear;
    let mut old = Model::load(runtime(), &before, &repo().join("models")).unwrap();
    let raw_before = old.run(&plate).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let mut args = Vec::new();
    for (name, w, h, values) in [
        ("model_output", raw.width, raw.height, &raw.values),
        ("pass", pass.width, pass.height, &pass.values),
        (
            "before",
            raw_before.width,
            raw_before.height,
            &raw_before.values,
        ),
    ] {
        let file = tmp.path().join(format!("{name}.f32"));
        write_f32(&file, values);
        args.push("--depth".to_string());
        args.push(format!("{name}={}:{w}x{h}", file.display()));
    }
    let out = std::process::Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("scripts/depth_fidelity.py"))
        .arg("--model")
        .arg(repo().join("models/fastdepth.onnx"))
        .arg("--image")
        .arg(&photo_path)
        .arg("--disparity")
        .arg(photo_path.with_file_name("motorcycle_disp.npz"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "depth_fidelity.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rho: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let get = |k: &str| rho[k].as_f64().unwrap();
    eprintln!(
        "motorcycle, Spearman rho: plain pipeline {:.4}, Mattebox's model output {:.4}, its full-size pass {:.4}; before (Lanczos in linear) {:.4}",
        get("reference"),
        get("model_output"),
        get("pass"),
        get("before")
    );
    // At least the plain pipeline's (whose 8-bit rounding after the resize is the only
    // difference left), and the pass the compositor uses keeps it.
    assert!(get("model_output") >= get("reference") - 0.002, "{rho}");
    assert!(get("pass") >= get("reference") - 0.01, "{rho}");
    assert!(get("reference") > 0.7, "{rho}");
}

fn iou(a: &[bool], b: &[bool]) -> f32 {
    let inter = a.iter().zip(b).filter(|(x, y)| **x && **y).count() as f32;
    let union = a.iter().zip(b).filter(|(x, y)| **x || **y).count() as f32;
    inter / union
}

#[test]
fn the_matte_covers_the_subject() {
    let mut matte_model = model("u2netp", Task::Matte);
    // The earlier preparation (Lanczos in linear light), measured beside it.
    let mut before = matte_model.entry.clone();
    before.input.resize_space = mattebox::infer::manifest::ResizeSpace::Linear;
    let mut old = Model::load(runtime(), &before, &repo().join("models")).unwrap();
    let (mut sum, mut sum_before) = (0.0, 0.0);
    for name in ["astronaut", "chelsea"] {
        let plate = plate(&photo(&format!("{name}.png")));
        let guide = guide_from_luminance(&plate.luminance());
        let reference = image::open(repo().join(format!("tests/fixtures/{name}_u2netp_ref.png")))
            .unwrap()
            .to_luma8();
        assert_eq!(reference.dimensions(), (plate.width, plate.height));
        let theirs: Vec<bool> = reference.pixels().map(|p| p.0[0] > 127).collect();
        let score_of = |m: &mut Model| {
            let raw = m.run(&plate).unwrap();
            let matte =
                passes::matte_to_plate(&raw, "fg", &guide, plate.width, plate.height).unwrap();
            let ours: Vec<bool> = matte.alpha.iter().map(|a| *a > 0.5).collect();
            (iou(&ours, &theirs), matte)
        };
        let (score, matte) = score_of(&mut matte_model);
        let (score_before, _) = score_of(&mut old);
        eprintln!(
            "{name}: IoU {score:.4} against the reference (before, Lanczos in linear: {score_before:.4})"
        );
        // The input is now rembg's (Lanczos on the sRGB picture); what differs is the upsample
        // to the photo's size (guided by the plate here, Lanczos in rembg), which moves a few
        // edge pixels either way.
        assert!(
            score >= 0.98,
            "{name}: IoU {score} against the rembg-style reference (before: {score_before})"
        );
        sum += score;
        sum_before += score_before;
        // Soft edges survive: some coverage is neither 0 nor 1.
        let soft = matte
            .alpha
            .iter()
            .filter(|a| **a > 0.05 && **a < 0.95)
            .count();
        assert!(soft > 100, "{name}: only {soft} soft pixels");
    }
    let (mean, mean_before) = (sum / 2.0, sum_before / 2.0);
    eprintln!("mean IoU {mean:.4} (before {mean_before:.4})");
    assert!(
        mean >= 0.99 && mean >= mean_before - 0.001,
        "{mean} {mean_before}"
    );
}

#[test]
fn user_profiles_run_on_stand_in_graphs_of_the_same_signature() {
    let dir = standin_models();
    let manifest = Manifest::load(Some(dir.path()), &[]).unwrap();
    // chelsea is 451x300: Depth Anything V2 keeps its shape (each side at least 518 and a
    // multiple of 14: 451 * 518/300 = 778.7 -> 784, and 518), MiDaS's fixed export stretches.
    let plate = plate(&photo("chelsea.png"));
    assert_eq!((plate.width, plate.height), (451, 300));
    let luma = plate.luminance();
    let guide = guide_from_luminance(&luma);
    for (id, size) in [
        ("depth-anything-v2-small", (784, 518)),
        ("midas-v21-small", (256, 256)),
    ] {
        let entry = manifest.get(id, Task::Depth).unwrap();
        let mut m = Model::load(runtime(), entry, &manifest.models_dir).unwrap();
        assert!(entry.sha256.is_none(), "user profiles pin no hash");
        assert_eq!(m.sha256.len(), 64, "the file's hash is still recorded");
        let raw = m.run(&plate).unwrap();
        assert_eq!((raw.width, raw.height), size, "{id}");
        let semantics = entry.output.semantics.depth().unwrap();
        assert_eq!(semantics, DepthSemantics::RelativeInverse);
        let depth =
            passes::depth_to_plate(&raw, semantics, &guide, plate.width, plate.height).unwrap();
        let range = passes::depth_range_from_samples(&mut depth.values.clone(), semantics).unwrap();
        assert!(
            range.near > range.far,
            "disparity: near is the larger value"
        );
        // The stand-in's disparity is the image's brightness: the nearest tenth of the pixels
        // must be brighter than the farthest tenth.
        let mut order: Vec<usize> = (0..luma.len()).collect();
        order.sort_by(|a, b| {
            range
                .nearness(depth.values[*b])
                .total_cmp(&range.nearness(depth.values[*a]))
        });
        let tenth = order.len() / 10;
        let mean = |ix: &[usize]| ix.iter().map(|i| luma[*i]).sum::<f32>() / ix.len() as f32;
        let (nearest, farthest) = (mean(&order[..tenth]), mean(&order[order.len() - tenth..]));
        assert!(nearest > farthest + 0.2, "{id}: {nearest} vs {farthest}");
    }

    // A fixed-shape export under a profile that keeps the aspect ratio is refused, naming the
    // file and the way out.
    let mut fixed = manifest
        .get("depth-anything-v2-small", Task::Depth)
        .unwrap()
        .clone();
    fixed.file = "depth_anything_v2_fixed.onnx".into();
    let err = Model::load(runtime(), &fixed, &manifest.models_dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("depth_anything_v2_fixed.onnx")
            && err.contains("dynamic height and width")
            && err.contains("stretch"),
        "{err}"
    );
    // The same graph with aspect = "pad": fitted inside 518x518, the output cropped back to the
    // picture's 518x345.
    fixed.input.aspect = mattebox::infer::manifest::Aspect::Pad;
    let mut padded = Model::load(runtime(), &fixed, &manifest.models_dir).unwrap();
    let raw = padded.run(&plate).unwrap();
    assert_eq!((raw.width, raw.height), (518, 345));

    // Through the whole job: the EXR says what the depth means.
    let tmp = tempfile::tempdir().unwrap();
    let shot_dir = tmp.path().join("shot");
    copy_sample_frames(&shot_dir, 1);
    let entry = manifest
        .get("depth-anything-v2-small", Task::Depth)
        .unwrap();
    let mut models = mattebox::process::PassModels {
        depth: Some(Model::load(runtime(), entry, &manifest.models_dir).unwrap()),
        matte: None,
    };
    let mut options = mattebox::process::ProcessOptions::new(tmp.path().join("out"));
    options.cache = None;
    let shot = mattebox::shot::Shot::open(&shot_dir).unwrap();
    let summary = mattebox::process::process_shot(
        &shot,
        &mut models,
        &options,
        &Default::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.done, 1);
    let info = mattebox::export::describe_exr(&tmp.path().join("out/astronaut.1001.exr")).unwrap();
    let text = info.to_string();
    assert!(
        text.contains("relative_inverse") && text.contains("depth-anything-v2-small"),
        "{text}"
    );
    assert!(!text.contains("matte_fg"), "no matte pass was asked for");
}

#[test]
fn a_graph_whose_input_differs_from_its_manifest_is_refused() {
    let dir = standin_models();
    let text = "[[model]]\nid = \"odd\"\ntask = \"matte\"\nfile = \"bad_shape.onnx\"\nlicence = \"test\"\n\
                input = { name = \"input.1\", width = 320, height = 320 }\nnormalise = {}\n\
                output = { semantics = \"alpha\" }\n";
    let toml = dir.path().join("odd.toml");
    std::fs::write(&toml, text).unwrap();
    let manifest = Manifest::load(Some(dir.path()), &[]).unwrap();
    let err = Model::load(
        runtime(),
        manifest.get("odd", Task::Matte).unwrap(),
        &manifest.models_dir,
    )
    .unwrap_err();
    assert!(matches!(err, InferError::Signature { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("bad_shape.onnx") && msg.contains("100") && msg.contains("320"),
        "{msg}"
    );
}

/// `mattebox models add` with a fresh models folder.
fn models_add(models_dir: &Path, args: &[&str]) -> std::process::Output {
    bin()
        .args(["models", "add", "--models-dir"])
        .arg(models_dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn models_add_recognises_each_family_and_checks_it_on_the_sample_frame() {
    let standins = standin_models();
    let tmp = tempfile::tempdir().unwrap();
    let user = tmp.path().join("user-models");
    // (file, id, family, task, size, aspect, post)
    for (file, family, task, width, aspect, post) in [
        (
            "depth_anything_v2_vits.onnx",
            "Depth Anything V2",
            "depth",
            518,
            "keep",
            "none",
        ),
        (
            "midas_v21_small_256.onnx",
            "MiDaS",
            "depth",
            256,
            "stretch",
            "none",
        ),
        (
            "u2net_standin.onnx",
            "U²-Net",
            "matte",
            320,
            "stretch",
            "minmax",
        ),
        (
            "isnet_standin.onnx",
            "IS-Net",
            "matte",
            1024,
            "stretch",
            "minmax",
        ),
        (
            "birefnet_standin.onnx",
            "BiRefNet",
            "matte",
            1024,
            "stretch",
            "sigmoid",
        ),
    ] {
        let source = standins.path().join(file);
        let id = format!("my-{}", file.trim_end_matches(".onnx").replace('_', "-"));
        let out = models_add(&user, &[source.to_str().unwrap(), "--id", &id]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{file}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("recognised as {family}")),
            "{file}: {stdout}"
        );
        assert!(
            stdout.contains("check: ran on") && stdout.contains("astronaut.1001.png"),
            "{file}: {stdout}"
        );
        // The written entry loads as part of the manifest, with the file copied and pinned.
        assert!(user.join(format!("{id}.toml")).is_file());
        assert!(user.join(file).is_file(), "{file} copied");
        let manifest = Manifest::load(Some(&user), &[]).unwrap();
        let task_enum = if task == "depth" {
            Task::Depth
        } else {
            Task::Matte
        };
        let entry = manifest.get(&id, task_enum).unwrap();
        assert_eq!(entry.input.width, width, "{file}");
        assert_eq!(
            serde_json::to_value(entry.input.aspect).unwrap(),
            aspect,
            "{file}"
        );
        assert_eq!(serde_json::to_value(entry.output.post).unwrap(), post);
        let bytes = std::fs::read(&source).unwrap();
        assert_eq!(
            entry.sha256.as_deref(),
            Some(mattebox::infer::manifest::sha256_hex(&bytes).as_str())
        );
        if task == "depth" {
            assert_eq!(
                entry.output.semantics.depth(),
                Some(DepthSemantics::RelativeInverse)
            );
        }
        // The check run's output: the stand-in is the channel mean, so a matte's values after
        // min-max span 0..1, and a sigmoid's stay inside it.
        let line = stdout.lines().find(|l| l.starts_with("check:")).unwrap();
        // Depth Anything V2 keeps the frame's shape (each side at least 518, a multiple of 14).
        let frame = plate(&sample_frames()[0]);
        let (w, h, _) =
            mattebox::infer::model::input_geometry(&entry.input, frame.width, frame.height);
        if aspect == "keep" {
            assert!(h == 518 && w > 518 && w % 14 == 0, "{w}x{h}");
        }
        let size = format!("{w}x{h}");
        assert!(line.contains(&format!("output {size}")), "{line}");
        if post == "minmax" {
            assert!(line.contains("values 0.0000..1.0000"), "{line}");
        }
        // The model runs through the normal path.
        let mut model = Model::load(runtime(), entry, &manifest.models_dir).unwrap();
        let raw = model.run(&plate(&sample_frames()[0])).unwrap();
        assert!(raw.values.iter().all(|v| v.is_finite()));
    }

    // An existing entry is not replaced without --force; with it, it is.
    let source = standins.path().join("midas_v21_small_256.onnx");
    let out = models_add(
        &user,
        &[source.to_str().unwrap(), "--id", "my-midas-v21-small-256"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already has a model `my-midas-v21-small-256`")
            && stderr.contains("--force"),
        "{stderr}"
    );
    let out = models_add(
        &user,
        &[
            source.to_str().unwrap(),
            "--id",
            "my-midas-v21-small-256",
            "--force",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A task that contradicts the graph is refused; a dry run writes nothing.
    let out = models_add(
        &user,
        &[source.to_str().unwrap(), "--id", "x", "--task", "matte"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("not a matte model"),
        "{stderr}"
    );
    let out = models_add(
        &user,
        &[source.to_str().unwrap(), "--id", "dry", "--dry-run"],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("dry run: nothing written"));
    assert!(!user.join("dry.toml").exists());

    // The real bundled U-2-Netp is recognised as its family too.
    let out = models_add(
        &user,
        &[
            repo().join("models/u2netp.onnx").to_str().unwrap(),
            "--id",
            "u2netp-copy",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("recognised as U²-Net"),
        "{stdout}"
    );
    let manifest = Manifest::load(Some(&user), &[]).unwrap();
    let copy = manifest.get("u2netp-copy", Task::Matte).unwrap();
    let bundled = manifest.get("u2netp", Task::Matte).unwrap();
    assert_eq!(
        (&copy.input, &copy.normalise, &copy.output, &copy.sha256),
        (
            &bundled.input,
            &bundled.normalise,
            &bundled.output,
            &bundled.sha256
        ),
        "the proposal is the bundled entry's pipeline"
    );
}

#[test]
fn models_add_writes_a_template_for_an_unknown_graph() {
    let standins = standin_models();
    let tmp = tempfile::tempdir().unwrap();
    let user = tmp.path().join("user-models");
    // FastDepth (real) and the 100x100 stand-in are of no known family.
    for source in [
        repo().join("models/fastdepth.onnx"),
        standins.path().join("bad_shape.onnx"),
    ] {
        let id = format!("my-{}", mattebox::infer::inspect::id_from_file(&source));
        let out = models_add(&user, &[source.to_str().unwrap(), "--id", &id]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("of no model family Mattebox knows") && stderr.contains("TODO"),
            "{stderr}"
        );
        let template = std::fs::read_to_string(user.join(format!("{id}.toml.template"))).unwrap();
        assert!(template.contains("TODO"), "{template}");
        assert!(
            !user.join(format!("{id}.toml")).exists(),
            "no entry is written"
        );
        // The inspected signature is filled in.
        if id == "my-fastdepth" {
            assert!(
                template.contains("name = \"0\"")
                    && template.contains("width = 224")
                    && template.contains("name = \"350\""),
                "{template}"
            );
        } else {
            assert!(template.contains("width = 100"), "{template}");
        }
        // The template is not read as a manifest until it is renamed.
        Manifest::load(Some(&user), &[]).unwrap();
    }

    // A check run that fails writes no entry and leaves no copied file behind.
    let fresh = tmp.path().join("fresh");
    let bad_sample = tmp.path().join("not-an-image.png");
    std::fs::write(&bad_sample, b"not a PNG").unwrap();
    let source = standins.path().join("u2net_standin.onnx");
    let out = models_add(
        &fresh,
        &[
            source.to_str().unwrap(),
            "--id",
            "u2",
            "--sample",
            bad_sample.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the check run failed, so no entry was written")
            && stderr.contains("not-an-image.png"),
        "{stderr}"
    );
    assert!(!fresh.join("u2.toml").exists());
    assert!(!fresh.join("u2net_standin.onnx").exists());
}

/// The local HTTP server of tests/support/http_server.py, serving `root`; killed on drop.
struct Server {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Server {
    fn start(root: &Path, log: &Path, cut_after: Option<u64>) -> Server {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(repo().join(".venv/bin/python"));
        cmd.arg(repo().join("tests/support/http_server.py"))
            .arg(root)
            .arg(log)
            .stdout(std::process::Stdio::piped());
        if let Some(n) = cut_after {
            cmd.args(["--cut-after", &n.to_string()]);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
        Server {
            child,
            port,
            log: log.to_path_buf(),
        }
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn models_fetch(models_dir: &Path, args: &[&str]) -> std::process::Output {
    bin()
        .args(["models", "fetch", "--models-dir"])
        .arg(models_dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn models_fetch_downloads_resumes_and_checks_hashes_against_a_local_server() {
    let standins = standin_models();
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    // The stand-in for a published export: the MiDaS-signature graph, a few hundred kB with
    // padding so that a cut-off download is a real partial file.
    let mut bytes = std::fs::read(standins.path().join("midas_v21_small_256.onnx")).unwrap();
    let graph_len = bytes.len();
    bytes.extend(std::iter::repeat_n(0u8, 300_000 - graph_len.min(300_000)));
    // Trailing bytes after the protobuf are not valid ONNX: serve the plain graph for the model
    // that is loaded, and the padded file for the transfer tests.
    std::fs::write(served.join("padded.bin.onnx"), &bytes).unwrap();
    std::fs::copy(
        standins.path().join("midas_v21_small_256.onnx"),
        served.join("midas.onnx"),
    )
    .unwrap();
    let padded_sha = mattebox::infer::manifest::sha256_hex(&bytes);
    let midas_sha =
        mattebox::infer::manifest::sha256_hex(&std::fs::read(served.join("midas.onnx")).unwrap());

    let write_manifest = |dir: &Path, port: u16| {
        std::fs::create_dir_all(dir).unwrap();
        let entry = |id: &str, file: &str, url: &str, sha: Option<&str>, extra: &str| {
            format!(
                "[[model]]\nid = \"{id}\"\ntask = \"depth\"\nfile = \"{file}\"\n{}licence = \"MIT\"\n\
                 url = \"http://127.0.0.1:{port}/{url}\"\n{extra}\
                 input = {{ width = 256, height = 256, resize = \"bicubic\" }}\n\
                 normalise = {{ mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225] }}\n\
                 output = {{ semantics = \"relative_inverse_depth\" }}\n\n",
                sha.map(|s| format!("sha256 = \"{s}\"\n"))
                    .unwrap_or_default()
            )
        };
        let text = [
            entry(
                "pinned",
                "pinned.onnx",
                "padded.bin.onnx",
                Some(&padded_sha),
                "",
            ),
            entry(
                "wrong",
                "wrong.onnx",
                "padded.bin.onnx",
                Some(&"0".repeat(64)),
                "",
            ),
            entry("unpinned", "unpinned.onnx", "midas.onnx", None, ""),
            entry(
                "nc",
                "nc.onnx",
                "midas.onnx",
                None,
                "non_commercial = true\n",
            ),
        ]
        .concat();
        std::fs::write(dir.join("served.toml"), text).unwrap();
    };

    // An interrupted download keeps its .part; the rerun resumes it with a Range request.
    let user = tmp.path().join("user");
    let server = Server::start(&served, &tmp.path().join("cut.log"), Some(100_000));
    write_manifest(&user, server.port);
    let out = models_fetch(&user, &["pinned"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("interrupted after") && stderr.contains("pinned.onnx.part"),
        "{stderr}"
    );
    let part = user.join("pinned.onnx.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 100_000);
    assert!(!user.join("pinned.onnx").exists());
    let out = models_fetch(&user, &["pinned"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("resumed a partial download at 100000 bytes")
            && stdout.contains("licence MIT")
            && stdout.contains("matches the manifest"),
        "{stdout}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0]["range"].is_null());
    assert_eq!(requests[1]["range"], "bytes=100000-");
    let got = std::fs::read(user.join("pinned.onnx")).unwrap();
    assert_eq!(mattebox::infer::manifest::sha256_hex(&got), padded_sha);
    assert!(!part.exists());
    // Fetching again downloads nothing and checks the file.
    let out = models_fetch(&user, &["pinned"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already here"));
    assert_eq!(server.requests().len(), 2);
    drop(server);

    // A full download in one go; a hash mismatch deletes the partial file and names both hashes.
    let user = tmp.path().join("user2");
    let server = Server::start(&served, &tmp.path().join("full.log"), None);
    write_manifest(&user, server.port);
    let out = models_fetch(&user, &["wrong"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("wrong.onnx")
            && stderr.contains(&"0".repeat(64))
            && stderr.contains(&padded_sha),
        "{stderr}"
    );
    assert!(!user.join("wrong.onnx").exists() && !user.join("wrong.onnx.part").exists());

    // Non-commercial weights need --accept-licence.
    let out = models_fetch(&user, &["nc"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--accept-licence"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1, "nothing was requested for it");
    let out = models_fetch(&user, &["nc", "--accept-licence"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // No pinned hash: recorded on the first fetch, checked on every later use.
    let out = models_fetch(&user, &["unpinned"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("recorded it in"),
        "{stdout}"
    );
    let sidecar = user.join("unpinned.onnx.sha256");
    assert_eq!(std::fs::read_to_string(&sidecar).unwrap().trim(), midas_sha);
    let manifest = Manifest::load(Some(&user), &[]).unwrap();
    let entry = manifest.get("unpinned", Task::Depth).unwrap();
    Model::load(runtime(), entry, &manifest.models_dir).unwrap();
    // A changed file is caught by the next load.
    let mut changed = std::fs::read(user.join("unpinned.onnx")).unwrap();
    changed.push(0);
    std::fs::write(user.join("unpinned.onnx"), changed).unwrap();
    let err = Model::load(runtime(), entry, &manifest.models_dir).unwrap_err();
    assert!(
        matches!(err, InferError::RecordedHashMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("unpinned.onnx.sha256"), "{err}");
    let out = bin()
        .args(["models", "verify", "unpinned", "--models-dir"])
        .arg(&user)
        .output()
        .unwrap();
    assert!(!out.status.success());
    drop(server);

    // An entry without a url says where to put the file.
    let out = models_fetch(&user, &["fastdepth"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("no `url`"),
        "{stderr}"
    );
}
