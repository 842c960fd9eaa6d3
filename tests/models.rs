//! The models on real photos: near is nearer than far, the matte covers the subject (IoU against
//! a reference made once with ONNX Runtime from Python), and the manifest profiles for models
//! users bring (Depth Anything V2 Small, MiDaS v2.1 small) run on stand-in graphs of the same
//! signature that this test generates with the `onnx` package.

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
