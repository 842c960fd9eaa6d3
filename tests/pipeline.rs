//! The process job end to end on real models and the real sample shot: what is written, what
//! the EXRs hold (read back with the `exr` crate and with `oiiotool`), the shot-wide depth range,
//! the cache and resumable reruns.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use common::*;
use exr::prelude::*;
use mattebox::infer::Task;
use mattebox::passes::cache::PassCache;
use mattebox::process::{Event, Formats, PassModels, ProcessOptions, Summary, process_shot};
use mattebox::shot::Shot;

fn models() -> PassModels {
    PassModels {
        depth: Some(model("fastdepth", Task::Depth)),
        matte: Some(model("u2netp", Task::Matte)),
    }
}

fn run(
    shot_dir: &Path,
    out: &Path,
    cache: &Path,
    tweak: impl FnOnce(&mut ProcessOptions),
) -> (Summary, Vec<Event>) {
    run_with(models(), shot_dir, out, cache, tweak)
}

fn run_with(
    mut models: PassModels,
    shot_dir: &Path,
    out: &Path,
    cache: &Path,
    tweak: impl FnOnce(&mut ProcessOptions),
) -> (Summary, Vec<Event>) {
    let shot = Shot::open(shot_dir).unwrap();
    let mut options = ProcessOptions::new(out);
    options.cache = Some(PassCache::new(cache));
    options.jobs = 2;
    tweak(&mut options);
    let mut events = Vec::new();
    let summary = process_shot(
        &shot,
        &mut models,
        &options,
        &AtomicBool::new(false),
        &mut |e| events.push(e),
    )
    .unwrap();
    (summary, events)
}

#[test]
fn exports_layered_exr_and_png_passes_that_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    copy_sample_frames(&shot, 3);
    let out = tmp.path().join("out");
    let (summary, _) = run(&shot, &out, &tmp.path().join("cache"), |o| {
        o.formats = Formats {
            exr: true,
            png: true,
        };
    });
    assert_eq!(
        (summary.total, summary.done, summary.failed.len()),
        (3, 3, 0),
        "{summary:?}"
    );
    let range = summary.depth_range.expect("a shot-wide depth range");
    assert!(
        range.near < range.far,
        "metric depth: near is the smaller value, {range:?}"
    );

    // Output names keep the source's frame numbers.
    let exr_path = out.join("astronaut.1001.exr");
    assert!(exr_path.is_file());
    for pass in ["plate", "depth", "matte", "cutout"] {
        assert!(
            out.join(format!("png/astronaut.{pass}.1003.png")).is_file(),
            "{pass}"
        );
    }
    // Nothing half-written is left behind.
    for entry in walk(&out) {
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        assert!(!name.ends_with(".tmp"), "leftover temp file {name}");
    }

    // The EXR as the exr crate reads it: one part, the channels Nuke expects, types, metadata.
    let image = read_all_flat_layers_from_file(&exr_path).unwrap();
    assert_eq!(image.layer_data.len(), 1, "a single-part EXR");
    let layer = &image.layer_data[0];
    let names: Vec<String> = layer
        .channel_data
        .list
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    assert_eq!(names, ["A", "B", "G", "R", "depth.Z", "matte_fg.A"]);
    let src = image::open(&sample_frames()[0]).unwrap();
    assert_eq!(
        (layer.size.0 as u32, layer.size.1 as u32),
        (src.width(), src.height())
    );
    for c in &layer.channel_data.list {
        let is_f32 = matches!(c.sample_data, FlatSamples::F32(_));
        assert_eq!(is_f32, c.name.to_string() == "depth.Z", "{} type", c.name);
    }
    let z = layer
        .channel_data
        .list
        .iter()
        .find(|c| c.name.to_string() == "depth.Z")
        .unwrap();
    let z: Vec<f32> = z.sample_data.values_as_f32().collect();
    assert!(
        z.iter().all(|v| v.is_finite() && *v > 0.0),
        "metric depth is positive"
    );
    let matte = layer
        .channel_data
        .list
        .iter()
        .find(|c| c.name.to_string() == "matte_fg.A")
        .unwrap();
    let matte: Vec<f32> = matte.sample_data.values_as_f32().collect();
    assert!(matte.iter().all(|v| (0.0..=1.0).contains(v)));
    let covered = matte.iter().filter(|v| **v > 0.5).count() as f32 / matte.len() as f32;
    assert!(
        covered > 0.1 && covered < 0.9,
        "the astronaut is matted, not everything: {covered}"
    );

    let text = |key: &str| -> String {
        let attrs = layer
            .attributes
            .other
            .iter()
            .chain(image.attributes.other.iter());
        attrs
            .filter(|(k, _)| **k == *key)
            .map(|(_, v)| match v {
                AttributeValue::Text(t) => t.to_string(),
                other => format!("{other:?}"),
            })
            .next()
            .unwrap_or_else(|| panic!("missing attribute {key}"))
    };
    assert_eq!(text("mattebox/depth/model"), "fastdepth");
    assert_eq!(text("mattebox/depth/semantics"), "metric");
    assert_eq!(text("mattebox/matte/fg/model"), "u2netp");
    assert_eq!(
        text("mattebox/depth/modelSha256"),
        "6275c23f467d476874d0eecea2a2c7059733ca6681de4f17bfbfe3fc3a52a71d"
    );
    assert_eq!(text("mattebox/executionProvider"), "CPUExecutionProvider");
    assert!(text("mattebox/software").starts_with("Mattebox "));

    // The same file as OpenImageIO sees it (what Nuke and Resolve build on).
    let oiio = std::process::Command::new("oiiotool")
        .arg("--info")
        .arg("-v")
        .arg(&exr_path)
        .output()
        .expect("oiiotool is missing: run `bash scripts/setup.sh` (it installs openimageio-tools)");
    assert!(oiio.status.success());
    let info = String::from_utf8_lossy(&oiio.stdout);
    for needle in [
        "R (half), G (half), B (half), A (half), depth.Z (float), matte_fg.A (half)",
        "mattebox/depth/semantics",
        "fastdepth",
        "u2netp",
    ] {
        assert!(
            info.contains(needle),
            "oiiotool output lacks {needle}:\n{info}"
        );
    }

    // `mattebox info` reads it too.
    let info = bin().arg("info").arg(&exr_path).output().unwrap();
    assert!(info.status.success());
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("matte_fg") && info.contains("depth") && info.contains("metric"),
        "{info}"
    );

    // The sidecar lists the frames, models and the depth meaning.
    let sidecar = mattebox::export::read_sidecar(&out.join("mattebox.json")).unwrap();
    assert_eq!(sidecar.frames.len(), 3);
    assert_eq!(sidecar.frames[0].frame, Some(1001));
    assert_eq!(sidecar.depth.as_ref().unwrap().model_id, "fastdepth");
    assert_eq!(sidecar.depth_range, summary.depth_range);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_rerun_skips_current_frames_and_the_cache_saves_inference() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    let frames = copy_sample_frames(&shot, 3);
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out");

    let (first, _) = run(&shot, &out, &cache, |_| {});
    assert_eq!(first.done, 3);
    assert!(first.timings.model_runs >= 6, "{:?}", first.timings);

    // Same output folder: every frame is complete and current.
    let (again, events) = run(&shot, &out, &cache, |_| {});
    assert_eq!((again.done, again.skipped), (0, 3));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::FrameSkipped { .. }))
    );

    // A new output folder: frames are redone, but every model result comes from the cache.
    let (cached, _) = run(&shot, &tmp.path().join("out2"), &cache, |_| {});
    assert_eq!(cached.done, 3);
    assert_eq!(cached.timings.model_runs, 0, "{:?}", cached.timings);
    assert_eq!(cached.timings.cache_hits, 6);

    // A changed plate is redone; the others stay skipped. (Matte only: with depth, a changed
    // plate can move the shot-wide depth range, and then every frame is redone, as it should be.)
    // With the temporal filter, the frames within its radius of it are redone too: they blend
    // with it.
    let matte_only = || PassModels {
        depth: None,
        matte: Some(model("u2netp", Task::Matte)),
    };
    let per_frame = |o: &mut ProcessOptions| o.temporal = None;
    let (first, _) = run_with(
        matte_only(),
        &shot,
        &tmp.path().join("matte"),
        &cache,
        per_frame,
    );
    assert_eq!(first.done, 3);
    let (first, _) = run_with(
        matte_only(),
        &shot,
        &tmp.path().join("steady"),
        &cache,
        |_| {},
    );
    assert_eq!(first.done, 3);
    let replacement = image::open(&frames[2]).unwrap().fliph();
    replacement.save(&frames[1]).unwrap();
    let (changed, _) = run_with(
        matte_only(),
        &shot,
        &tmp.path().join("matte"),
        &cache,
        per_frame,
    );
    assert_eq!((changed.done, changed.skipped), (1, 2));
    let (changed, _) = run_with(
        matte_only(),
        &shot,
        &tmp.path().join("steady"),
        &cache,
        |_| {},
    );
    assert_eq!((changed.done, changed.skipped), (3, 0));
    // Only the changed frame ran the model again.
    assert_eq!(changed.timings.model_runs, 0, "{:?}", changed.timings);

    // --no-cache runs the models again.
    let (nocache, _) = run(&shot, &tmp.path().join("out3"), &cache, |o| o.cache = None);
    assert_eq!(nocache.timings.cache_hits, 0);
    assert!(nocache.timings.model_runs >= 6);
}

#[test]
fn a_frame_range_keeps_source_numbers_and_the_shot_wide_depth_range() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    copy_sample_frames(&shot, 4);
    let cache = tmp.path().join("cache");
    let (all, _) = run(&shot, &tmp.path().join("all"), &cache, |_| {});
    let (chunk, _) = run(&shot, &tmp.path().join("chunk"), &cache, |o| {
        o.range = Some("1002-1003".parse().unwrap());
    });
    assert_eq!((chunk.total, chunk.done), (2, 2));
    assert!(tmp.path().join("chunk/astronaut.1002.exr").is_file());
    assert!(!tmp.path().join("chunk/astronaut.1001.exr").exists());
    // Farm chunks of one shot agree on the depth range.
    assert_eq!(chunk.depth_range, all.depth_range);
}

#[test]
fn the_cli_processes_the_sample_shot_and_prints_where_it_went() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out dir ünïcode");
    let o = bin()
        .args(["process"])
        .arg(repo().join("assets/sample_shot"))
        .arg("--out")
        .arg(&out)
        .args(["--frames", "1001-1002", "--format", "exr,png"])
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(&out.display().to_string()), "{stdout}");
    assert!(
        stderr.contains("CPUExecutionProvider"),
        "the provider is printed: {stderr}"
    );
    assert!(out.join("astronaut.1002.exr").is_file());

    // JSON lines when asked.
    let o = bin()
        .args(["process"])
        .arg(repo().join("assets/sample_shot"))
        .arg("--out")
        .arg(&out)
        .args(["--frames", "1001-1002", "--json"])
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "frame_skipped" || l["event"] == "frame_done")
    );
    assert_eq!(lines.last().unwrap()["event"], "finished");
}

/// One channel of a single-part EXR, as f32.
fn exr_channel(path: &Path, name: &str) -> Vec<f32> {
    let image = read_first_flat_layer_from_file(path).unwrap();
    let channel = image
        .layer_data
        .channel_data
        .list
        .iter()
        .find(|c| c.name.to_string() == name)
        .unwrap_or_else(|| panic!("{}: no channel {name}", path.display()));
    channel.sample_data.values_as_f32().collect()
}

#[test]
fn an_acescg_working_space_converts_the_plate_and_leaves_the_models_and_previews_as_they_were() {
    use mattebox::shot::colour::{Primaries, conversion_matrix};
    use mattebox::shot::{PlateColour, WorkingSpace};
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    copy_sample_frames(&shot, 1);
    let both = |o: &mut ProcessOptions| {
        o.formats = Formats {
            exr: true,
            png: true,
        };
    };
    let linear = tmp.path().join("linear");
    run(&shot, &linear, &tmp.path().join("cache-linear"), both);
    let acescg = tmp.path().join("acescg");
    // Its own cache, so the models really run on the ACEScg plate.
    let (summary, _) = run(&shot, &acescg, &tmp.path().join("cache-acescg"), |o| {
        both(o);
        o.colour = PlateColour {
            input: None,
            working: WorkingSpace::AcesCg,
        };
    });
    assert_eq!((summary.done, summary.failed.len()), (1, 0), "{summary:?}");

    let name = "astronaut.1001.exr";
    let (a, b) = (linear.join(name), acescg.join(name));
    // The plate: the linear one through ACEScg's matrix (half precision).
    let m = conversion_matrix(Primaries::Rec709, Primaries::Ap1);
    let rgb = |p: &Path| ["R", "G", "B"].map(|c| exr_channel(p, c));
    let (rec709, ap1) = (rgb(&a), rgb(&b));
    for i in (0..rec709[0].len()).step_by(97) {
        let want = m * glam::Vec3::new(rec709[0][i], rec709[1][i], rec709[2][i]);
        for c in 0..3 {
            let got = ap1[c][i];
            assert!(
                (got - want[c]).abs() <= 2e-3 * want[c].abs().max(0.05),
                "pixel {i} channel {c}: {got} vs {}",
                want[c]
            );
        }
    }
    // The header says so.
    let image = read_first_flat_layer_from_file(&b).unwrap();
    let chroma = image.attributes.chromaticities.unwrap();
    assert_eq!((chroma.red.0, chroma.white.1), (0.713, 0.33767));
    let texts: Vec<(String, String)> = image
        .layer_data
        .attributes
        .other
        .iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::Text(t) => Some((k.to_string(), t.to_string())),
            _ => None,
        })
        .collect();
    for (key, value) in [
        ("mattebox/colour/workingSpace", "acescg"),
        ("mattebox/colour/workingSpaceOcio", "ACEScg"),
        ("mattebox/colour/inputSpace", "srgb"),
    ] {
        assert!(
            texts.iter().any(|(k, v)| k == key && v == value),
            "{key} = {value} missing: {texts:?}"
        );
    }
    // The models saw the same picture: the same depth and matte.
    for channel in ["depth.Z", "matte_fg.A"] {
        let (x, y) = (exr_channel(&a, channel), exr_channel(&b, channel));
        let worst = x
            .iter()
            .zip(&y)
            .map(|(p, q)| (p - q).abs() / p.abs().max(1.0))
            .fold(0f32, f32::max);
        assert!(worst < 2e-3, "{channel}: {worst}");
    }
    // The PNG previews are sRGB-encoded Rec.709 either way.
    for pass in ["plate", "cutout"] {
        let png = |dir: &Path| {
            image::open(dir.join(format!("png/astronaut.{pass}.1001.png")))
                .unwrap()
                .to_rgba16()
                .into_raw()
        };
        let (x, y) = (png(&linear), png(&acescg));
        let worst = x.iter().zip(&y).map(|(p, q)| p.abs_diff(*q)).max().unwrap();
        assert!(worst <= 257, "{pass}: {worst} 16-bit codes apart");
    }
}
