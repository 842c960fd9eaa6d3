//! Benchmark: N 1920×1080 frames through the same code path as `mattebox process` (depth with
//! `fastdepth`, matte with `u2netp`, multi-layer EXR out, no cache), against a Python baseline
//! run in the same process tree on the same frames (ONNX Runtime + NumPy + Pillow the way rembg
//! runs U-2-Net, OpenImageIO writing the same EXR channels), and against the models' own
//! inference time. Prints per-frame times and the ratios.
//!
//! `cargo bench --bench process` (MATTEBOX_BENCH_FRAMES=N to change N, default 12;
//! MATTEBOX_BENCH_COMPRESSION=none|rle|piz|zips to change Mattebox's EXR compression, default zip).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mattebox::infer::{Manifest, Model, Runtime, RuntimeOptions, Task, model::preprocess};
use mattebox::process::{PassModels, ProcessOptions, process_shot};
use mattebox::shot::{Shot, decode::DecodeLimits, decode::decode};

fn make_frames(dir: &Path, n: usize) -> Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let photo = image::open(repo.join("vendor/skimage-data/astronaut.png"))
        .context("vendor/skimage-data/astronaut.png: run `bash scripts/setup.sh`")?
        .to_rgb8();
    // A slow push-in over the photo, upscaled to 1920x1080: real content, every frame different.
    for i in 0..n {
        let zoom = 1.0 - 0.02 * i as f32;
        let w = (512.0 * zoom) as u32;
        let h = (w as f32 * 9.0 / 16.0) as u32;
        let x = (512 - w) / 2;
        let y = ((512 - h) / 2).saturating_sub(40);
        let crop = image::imageops::crop_imm(&photo, x, y, w, h).to_image();
        let frame =
            image::imageops::resize(&crop, 1920, 1080, image::imageops::FilterType::CatmullRom);
        frame.save(dir.join(format!("bench.{:04}.png", 1001 + i)))?;
    }
    Ok(())
}

fn main() -> Result<()> {
    // `cargo bench` passes --bench; nothing else is expected.
    let n: usize = std::env::var("MATTEBOX_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir()?;
    let frames_dir = tmp.path().join("frames");
    std::fs::create_dir_all(&frames_dir)?;
    make_frames(&frames_dir, n)?;
    println!(
        "benchmark: {n} frames of 1920x1080 PNG, depth fastdepth + matte u2netp, EXR (zip) out, no cache"
    );

    let runtime = Runtime::new(RuntimeOptions::default())?;
    let manifest = Manifest::load(Some(&repo.join("models")), &[])?;
    let load = |id: &str, task| -> Result<Model> {
        Ok(Model::load(
            &runtime,
            manifest.get(id, task)?,
            &manifest.models_dir,
        )?)
    };
    let mut models = PassModels {
        depth: Some(load("fastdepth", Task::Depth)?),
        matte: Some(load("u2netp", Task::Matte)?),
    };
    println!(
        "ONNX Runtime {} on {}",
        runtime.version,
        models.provider_label()
    );

    // 1. The models alone: pre-made input tensors, `run` only.
    let plate = decode(&frames_dir.join("bench.1001.png"), &DecodeLimits::default())?;
    let mut inference_s = 0.0;
    for m in [models.depth.as_mut(), models.matte.as_mut()]
        .into_iter()
        .flatten()
    {
        let input = preprocess(&m.entry, &plate).map_err(anyhow::Error::msg)?;
        m.run_tensor(&input)?; // warm-up
        let t = Instant::now();
        for _ in 0..n {
            m.run_tensor(&input)?;
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        println!(
            "  inference only, {:<10} {:>8.1} ms/frame",
            m.entry.id,
            per * 1e3
        );
        inference_s += per;
    }

    // 2. Mattebox: the process job, exactly as `mattebox process --no-cache`.
    let shot = Shot::open(&frames_dir)?;
    let mut options = ProcessOptions::new(tmp.path().join("out-mattebox"));
    options.cache = None;
    // MATTEBOX_BENCH_COMPRESSION=none|rle|piz|zips shows what the EXR compression costs.
    if let Ok(c) = std::env::var("MATTEBOX_BENCH_COMPRESSION") {
        options.exr_compression = c.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let t = Instant::now();
    let summary = process_shot(
        &shot,
        &mut models,
        &options,
        &AtomicBool::new(false),
        &mut |_| {},
    )?;
    let ours = t.elapsed().as_secs_f64() / n as f64;
    if summary.done != n {
        bail!(
            "mattebox processed {} of {n} frames: {:?}",
            summary.done,
            summary.failed
        );
    }

    // 3. The Python baseline on the same frames.
    let python = repo.join(".venv/bin/python");
    let out = Command::new(&python)
        .arg(repo.join("benches/baseline.py"))
        .arg("--frames")
        .arg(&frames_dir)
        .arg("--models")
        .arg(repo.join("models"))
        .arg("--out")
        .arg(tmp.path().join("out-python"))
        .output()
        .with_context(|| format!("{}: run `bash scripts/setup.sh`", python.display()))?;
    if !out.status.success() {
        bail!(
            "the Python baseline failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .last()
        .context("the Python baseline printed nothing")?;
    let baseline: serde_json::Value = serde_json::from_str(last)?;
    let base = baseline["per_frame_s"].as_f64().context("per_frame_s")?;
    let base_inf = baseline["inference_s"].as_f64().unwrap_or(0.0) / n as f64;

    println!();
    println!("{:<34} {:>10} {:>12}", "", "ms/frame", "frames/s");
    println!(
        "{:<34} {:>10.1} {:>12.2}",
        "models' inference alone (Rust)",
        inference_s * 1e3,
        1.0 / inference_s
    );
    println!(
        "{:<34} {:>10.1} {:>12.2}",
        format!("mattebox process ({})", options.exr_compression.as_str()),
        ours * 1e3,
        1.0 / ours
    );
    println!(
        "{:<34} {:>10.1} {:>12.2}",
        "Python baseline (zip)",
        base * 1e3,
        1.0 / base
    );
    println!(
        "{:<34} {:>10.1}",
        "  of which its inference",
        base_inf * 1e3
    );
    println!(
        "  mattebox stages, summed over frames: decode {:.0} ms, inference {:.0} ms, export {:.0} ms per frame",
        summary.timings.decode_s / n as f64 * 1e3,
        summary.timings.inference_s / n as f64 * 1e3,
        summary.timings.export_s / n as f64 * 1e3
    );
    println!();
    println!(
        "throughput vs Python baseline: {:.2}x (target >= 2.5x)",
        base / ours
    );
    println!(
        "total / inference time:        {:.2}x (target <= 1.3x)",
        ours / inference_s
    );
    Ok(())
}
