//! Benchmark: one frame composited with five layers (background picture, cut-out with feather
//! and decontamination, depth fog, depth of field, depth grade — the project template's stack) at
//! 1920×1080 and 3840×2160, through:
//! - the GPU path on a software adapter (llvmpipe/lavapipe), as shipped (`GpuRenderer`);
//! - the GPU path on the machine's best adapter, when it is a real GPU;
//! - the CPU reference (`composite::cpu`), the baseline the ratios are taken against.
//!
//! For the GPU it reports two figures: *preview* (inputs already on the GPU, as in the app's
//! viewer; the time until the frame is finished on the device) and *export* (upload, render and
//! read back, as `mattebox render` does). The inputs are a real photo with its depth and matte
//! from the real models (fastdepth, u2netp).
//!
//! `cargo bench --bench composite` (MATTEBOX_BENCH_SECONDS=S: time budget per measurement,
//! default 3; MATTEBOX_BENCH_4K=0 skips 4K; MATTEBOX_BENCH_SIZES=960x540,... measures those
//! sizes instead).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use mattebox::composite::gpu::{GpuChoice, GpuRenderer};
use mattebox::composite::image::Image;
use mattebox::composite::plan::Plan;
use mattebox::composite::planner::{FrameSpec, plan_frame, plan_frame_reference};
use mattebox::composite::{FrameInputs, cpu};
use mattebox::infer::{Manifest, Model, Runtime, RuntimeOptions, Task};
use mattebox::passes::upsample::guide_from_luminance;
use mattebox::passes::{depth_range_from_samples, depth_to_plate, matte_to_plate};
use mattebox::project::Project;
use mattebox::shot::decode::{DecodeLimits, decode};

/// Times `f` repeatedly within a budget (at least `min` runs); returns seconds per run (median).
fn time(budget_s: f64, min: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up: pipelines, pools, page faults
    let mut runs = Vec::new();
    let start = Instant::now();
    while runs.len() < min || start.elapsed().as_secs_f64() < budget_s {
        let t = Instant::now();
        f()?;
        runs.push(t.elapsed().as_secs_f64());
        if runs.len() >= 200 {
            break;
        }
    }
    runs.sort_by(f64::total_cmp);
    Ok(runs[runs.len() / 2])
}

fn inputs_at(
    plate: &Image,
    aux: &Image,
    w: u32,
    h: u32,
    background: &Image,
) -> Result<FrameInputs> {
    Ok(FrameInputs {
        plate: Some(plate.resized(w, h).map_err(anyhow::Error::msg)?),
        aux: Some(aux.resized(w, h).map_err(anyhow::Error::msg)?),
        images: vec![background.cover(w, h).map_err(anyhow::Error::msg)?],
        ..Default::default()
    })
}

/// Per-op cost: the plan cut after each step, timed cumulatively (GPU: until finished).
fn profile(plan: &Plan, inputs: &FrameInputs, gpu: Option<&GpuRenderer>) -> Result<()> {
    let mut prev_cpu = 0.0;
    let mut prev_gpu = 0.0;
    println!("| step | op | CPU ms | llvmpipe ms |");
    println!("|---|---|---|---|");
    for i in 0..plan.steps.len() {
        let mut cut = plan.clone();
        cut.steps.truncate(i + 1);
        cut.output = cut.steps[i].outputs[0];
        cut.aux_output = cut.output;
        let c = time(0.0, 1, || {
            cpu::render(&cut, inputs)?;
            Ok(())
        })?;
        let g = match gpu {
            Some(gpu) => time(0.0, 2, || {
                let frame = gpu.execute(&cut, inputs)?;
                gpu.wait()?;
                gpu.recycle(frame.rgba);
                Ok(())
            })?,
            None => 0.0,
        };
        println!(
            "| {i} | {} | {:.0} | {:.0} |",
            cut.steps[i].op.shader(),
            (c - prev_cpu) * 1e3,
            (g - prev_gpu) * 1e3
        );
        prev_cpu = c;
        prev_gpu = g;
    }
    Ok(())
}

/// PSNR (dB) of `a` against the reference `b`: premultiplied RGBA clamped to 0..1.
fn psnr(a: &Image, b: &Image) -> f64 {
    let mut se = 0.0f64;
    for (p, q) in a.pixels.iter().zip(&b.pixels) {
        for k in 0..4 {
            let d = f64::from(p[k].clamp(0.0, 1.0) - q[k].clamp(0.0, 1.0));
            se += d * d;
        }
    }
    let mse = se / (a.pixels.len() as f64 * 4.0);
    if mse <= 0.0 {
        f64::INFINITY
    } else {
        10.0 * (1.0 / mse).log10()
    }
}

/// The reduced-size paths against the full-size reference: each layer soloed, then the stack.
fn quality(spec: &FrameSpec<'_>, inputs: &FrameInputs, w: u32, h: u32) -> Result<()> {
    println!("| layer | reduced-size ops | PSNR vs full-size reference (dB) |");
    println!("|---|---|---|");
    let mut cases: Vec<(String, Option<usize>)> = spec
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.clone(), Some(i)))
        .collect();
    cases.push(("whole stack".into(), None));
    for (name, solo) in cases {
        let spec = FrameSpec { solo, ..*spec };
        let fast = plan_frame(&spec, w, h);
        let reference = plan_frame_reference(&spec, w, h);
        let reduced = fast
            .steps
            .iter()
            .filter(|s| s.outputs.iter().any(|o| fast.size(*o) != (w, h)))
            .count();
        let a = cpu::render(&fast, inputs)?.rgba;
        let b = cpu::render(&reference, inputs)?.rgba;
        println!("| {name} | {reduced} | {:.1} |", psnr(&a, &b));
    }
    Ok(())
}

struct Row {
    what: String,
    fps: f64,
}

fn main() -> Result<()> {
    let budget: f64 = std::env::var("MATTEBOX_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let with_4k = std::env::var("MATTEBOX_BENCH_4K").map_or(true, |v| v != "0");
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("mattebox-bench-xdg");
        std::fs::create_dir_all(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        // SAFETY: single-threaded here, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir) };
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    // A real frame and its real passes.
    let source = repo.join("assets/sample_shot/astronaut.1001.png");
    let plate = decode(&source, &DecodeLimits::default())?;
    let runtime = Runtime::new(RuntimeOptions::default())?;
    let manifest = Manifest::load(Some(&repo.join("models")), &[])?;
    let load = |id: &str, task| -> Result<Model> {
        Ok(Model::load(
            &runtime,
            manifest.get(id, task)?,
            &manifest.models_dir,
        )?)
    };
    let guide = guide_from_luminance(&plate.luminance());
    let mut depth_model = load("fastdepth", Task::Depth)?;
    let semantics = depth_model
        .entry
        .output
        .semantics
        .depth()
        .context("fastdepth is a depth model")?;
    let depth = depth_to_plate(
        &depth_model.run(&plate)?,
        semantics,
        &guide,
        plate.width,
        plate.height,
    )?;
    let matte = matte_to_plate(
        &load("u2netp", Task::Matte)?.run(&plate)?,
        "fg",
        &guide,
        plate.width,
        plate.height,
    )?;
    let project = Project::template(source.clone());
    let range = depth_range_from_samples(&mut depth.values.clone(), semantics);
    let aux = mattebox::render::aux_image(
        plate.width,
        plate.height,
        Some(&depth.values),
        Some(semantics),
        range,
        Some(&matte.alpha),
        &project.scene,
    );
    let plate_img = Image::from_plate(&plate);
    let background = Image::from_plate(
        &decode(
            &repo.join("vendor/skimage-data/coffee.png"),
            &DecodeLimits::default(),
        )
        .context("vendor/skimage-data/coffee.png: run `bash scripts/setup.sh`")?,
    );
    // The template's stack, with a picture for the background (the heavier case).
    let mut layers = project.layers.clone();
    for layer in &mut layers {
        if let mattebox::composite::layers::LayerKind::Background(b) = &mut layer.kind {
            *b = mattebox::composite::layers::BackgroundSettings::Image {
                path: repo.join("vendor/skimage-data/coffee.png"),
            };
        }
    }
    println!(
        "benchmark: {} layers ({}), sample frame with fastdepth + u2netp passes",
        layers.len(),
        layers
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let software = GpuRenderer::new(GpuChoice::Software).ok();
    let best = GpuRenderer::new(GpuChoice::Auto)
        .ok()
        .filter(|g| !g.is_software());
    match &software {
        Some(g) => println!("software adapter: {}", g.adapter_label()),
        None => println!("software adapter: none"),
    }
    match &best {
        Some(g) => println!("GPU adapter: {}", g.adapter_label()),
        None => println!("GPU adapter: none (no real GPU here)"),
    }
    println!(
        "CPU reference: {} rayon threads",
        rayon::current_num_threads()
    );

    // MATTEBOX_BENCH_SIZES=960x540,1920x1080 measures other sizes (e.g. the app's preview).
    let mut sizes: Vec<(u32, u32)> = std::env::var("MATTEBOX_BENCH_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|s| {
                    let (w, h) = s.trim().split_once('x')?;
                    Some((w.parse().ok()?, h.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    if sizes.is_empty() {
        sizes.push((1920, 1080));
        if with_4k {
            sizes.push((3840, 2160));
        }
    }
    for (w, h) in sizes {
        let inputs = inputs_at(&plate_img, &aux, w, h, &background)?;
        let spec = FrameSpec {
            layers: &layers,
            scene: &project.scene,
            base_dir: &repo,
            camera: None,
            prepare: &Default::default(),
            solo: None,
        };
        let plan: Plan = plan_frame(&spec, w, h);
        println!("\n{w}x{h}: {} ops in the plan", plan.steps.len());
        let mut rows: Vec<Row> = Vec::new();
        let cpu_s = time(budget, 2, || {
            cpu::render(&plan, &inputs)?;
            Ok(())
        })?;
        rows.push(Row {
            what: "CPU reference".into(),
            fps: 1.0 / cpu_s,
        });
        for (label, gpu) in [("software GPU (llvmpipe)", &software), ("real GPU", &best)] {
            let Some(gpu) = gpu else { continue };
            // Preview: inputs resident, time until the device has finished the frame.
            let resident: Vec<(mattebox::composite::plan::Slot, wgpu::Texture)> = plan
                .inputs
                .iter()
                .filter_map(|(slot, input)| inputs.get(input).map(|i| (*slot, gpu.upload(i))))
                .collect();
            let preview_s = time(budget, 3, || {
                let frame = gpu.execute_with(
                    &plan,
                    |slot| {
                        resident
                            .iter()
                            .find(|(s, _)| *s == slot)
                            .map(|(_, t)| t.clone())
                    },
                    false,
                )?;
                gpu.wait()?;
                gpu.recycle(frame.rgba);
                Ok(())
            })?;
            let export_s = time(budget, 3, || {
                gpu.render(&plan, &inputs)?;
                Ok(())
            })?;
            rows.push(Row {
                what: format!("{label}, preview (resident inputs)"),
                fps: 1.0 / preview_s,
            });
            rows.push(Row {
                what: format!("{label}, export (upload + readback)"),
                fps: 1.0 / export_s,
            });
        }
        // The template's camera move at its last key (the largest move): the layers prepared
        // once per source frame (as `mattebox render` does), then the reprojection and the
        // stack per output frame.
        if !project.camera.is_static() {
            let plate = inputs.plate.as_ref().context("plate")?;
            let aux = inputs.aux.as_ref().context("aux")?;
            let prepared =
                mattebox::composite::prepare::prepare(plate, aux, &project.camera.prepare);
            let last = project
                .camera
                .keys
                .iter()
                .map(|k| k.frame)
                .fold(0.0f32, f32::max);
            let pose = project.camera.pose_at(last);
            let moving = FrameSpec {
                camera: Some(&pose),
                prepare: &project.camera.prepare,
                ..spec
            };
            let plan = plan_frame(&moving, w, h);
            let mut inputs = inputs.clone();
            inputs.front = Some(prepared.front);
            inputs.fill = Some(prepared.fill);
            let s = time(budget, 2, || {
                cpu::render(&plan, &inputs)?;
                Ok(())
            })?;
            rows.push(Row {
                what: "CPU reference, with the template's camera move".into(),
                fps: 1.0 / s,
            });
            if let Some(gpu) = &software {
                let s = time(budget, 2, || {
                    gpu.render(&plan, &inputs)?;
                    Ok(())
                })?;
                rows.push(Row {
                    what: "software GPU (llvmpipe), export, with the camera move".into(),
                    fps: 1.0 / s,
                });
            }
        }
        quality(&spec, &inputs, w, h)?;
        if std::env::var_os("MATTEBOX_BENCH_PROFILE").is_some() {
            profile(&plan, &inputs, software.as_ref())?;
        }
        let base = rows[0].fps;
        println!("| path | frames/s | ms/frame | vs CPU reference |");
        println!("|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {:.2} | {:.1} | {:.2}x |",
                r.what,
                r.fps,
                1000.0 / r.fps,
                r.fps / base
            );
        }
    }
    Ok(())
}
