//! The layer stack's ops (blend, blur, erode/dilate, cut-out, background) draw the same pixels on
//! the GPU (wgpu; llvmpipe/lavapipe where there is no GPU) as their CPU twins, op by op and as
//! the planner chains them, on real photos and a real matte.
//!
//! Tolerance: the CPU twins use the shaders' formulas in the same order in f32, so what is left
//! is rounding: `exp` and division on the device are within a few ulps of Rust's, and the device
//! compiler may fuse multiply-adds. Over sums of up to ~100 taps and a few chained passes that
//! stays far below 1e-4 relative; min/max and copies are exact.

mod common;

use mattebox::composite::gpu::{GpuChoice, GpuRenderer};
use mattebox::composite::image::Image;
use mattebox::composite::layers::{BackgroundSettings, CutoutSettings};
use mattebox::composite::ops::stack::{
    BLEND_ADD, BLEND_MULTIPLY, BLEND_OVER, BLEND_REPLACE, BLEND_SCREEN, BlurParams, MATTE_CHANNEL,
    MinMaxParams, Morph, StackOp, plan_background, plan_blend, plan_cutout,
};
use mattebox::composite::plan::{Input, Plan, PlanBuilder, Slot};
use mattebox::composite::{FrameInputs, cpu};

/// Relative tolerance (to `max(1, |cpu value|)`) for ops with sums, divisions or `exp`.
const TOLERANCE: f32 = 1e-4;

fn renderer() -> GpuRenderer {
    common::quiet_vulkan();
    let r = GpuRenderer::new(GpuChoice::Auto).expect("a wgpu adapter (llvmpipe at least)");
    println!("adapter: {}", r.adapter_label());
    r
}

/// Renders `plan` on both backends; returns (gpu, cpu) composites.
fn both(gpu: &GpuRenderer, plan: &Plan, inputs: &FrameInputs) -> (Image, Image) {
    let g = gpu.render(plan, inputs).expect("gpu render");
    let c = cpu::render(plan, inputs).expect("cpu render");
    (g.rgba, c.rgba)
}

/// The largest difference relative to `max(1, |cpu|)` over all pixels and channels.
fn worst(gpu: &Image, cpu: &Image) -> f32 {
    assert_eq!((gpu.width, gpu.height), (cpu.width, cpu.height));
    gpu.pixels
        .iter()
        .zip(&cpu.pixels)
        .flat_map(|(g, c)| (0..4).map(move |i| (g[i] - c[i]).abs() / c[i].abs().max(1.0)))
        .fold(0.0f32, f32::max)
}

fn assert_close(what: &str, gpu: &Image, cpu: &Image) {
    assert!(
        cpu.pixels.iter().flatten().all(|v| v.is_finite()),
        "{what}: the CPU result is not finite"
    );
    let w = worst(gpu, cpu);
    println!("{what}: worst relative difference {w:.2e}");
    assert!(w <= TOLERANCE, "{what}: GPU and CPU differ by {w}");
}

/// A one-op plan over the plate (and aux as the second input, if the op takes two).
fn one_op(gpu: &GpuRenderer, op: StackOp, inputs: &FrameInputs) -> (Image, Image) {
    let plate = inputs.plate.as_ref().expect("plate");
    let mut b = PlanBuilder::new(plate.width, plate.height);
    let p = b.input(Input::Plate);
    let slots: Vec<Slot> = match op.inputs() {
        1 => vec![p],
        2 => vec![p, b.input(Input::Aux)],
        n => panic!("{n} inputs"),
    };
    let out = b.push1(op, &slots);
    let plan = b.finish(out, p);
    both(gpu, &plan, inputs)
}

/// Two different real photos at an odd size (not a multiple of the 8×8 workgroup): the plate,
/// and a semi-transparent layer (alpha ramping across the frame) as the aux slot.
fn two_photos() -> FrameInputs {
    let (w, h) = (131, 97);
    let plate = common::photo_image("astronaut.1001.png", w, h);
    let other = common::photo_image("chelsea.png", w, h);
    let layer = Image::from_fn(w, h, |x, y| {
        let c = other.load_clamped(x as i32, y as i32);
        let a = (x as f32 + 0.5) / w as f32 * (0.5 + 0.5 * (y as f32 / h as f32));
        [c[0] * a, c[1] * a, c[2] * a, a]
    });
    FrameInputs {
        plate: Some(plate),
        aux: Some(layer),
        ..Default::default()
    }
}

#[test]
fn every_blend_mode_matches_the_cpu() {
    let gpu = renderer();
    let inputs = two_photos();
    for mode in [
        BLEND_OVER,
        BLEND_ADD,
        BLEND_MULTIPLY,
        BLEND_SCREEN,
        BLEND_REPLACE,
    ] {
        for opacity in [1.0, 0.35] {
            let plate = inputs.plate.as_ref().expect("plate");
            let mut b = PlanBuilder::new(plate.width, plate.height);
            let dst = b.input(Input::Plate);
            let src = b.input(Input::Aux);
            let out = plan_blend(&mut b, mode, opacity, dst, src);
            let plan = b.finish(out, dst);
            let (g, c) = both(&gpu, &plan, &inputs);
            assert_close(&format!("blend mode {mode} opacity {opacity}"), &g, &c);
            assert_ne!(c, *plate, "the blend changed something");
        }
    }
}

#[test]
fn blur_passes_match_the_cpu() {
    let gpu = renderer();
    let inputs = two_photos();
    for (radius, step) in [(0.0, 1), (0.6, 1), (2.5, 1), (9.0, 1), (30.0, 4)] {
        for axis in [0, 1] {
            let op = StackOp::Blur(BlurParams::sparse(radius, axis, step));
            let (g, c) = one_op(&gpu, op, &inputs);
            assert_close(&format!("blur r {radius} step {step} axis {axis}"), &g, &c);
            if radius == 0.0 {
                assert_eq!(g, *inputs.plate.as_ref().expect("plate"), "radius 0 copies");
            }
        }
    }
}

#[test]
fn erosion_and_dilation_passes_are_exactly_the_cpus() {
    let gpu = renderer();
    let inputs = two_photos();
    for morph in [Morph::Erode, Morph::Dilate] {
        for (channel, axis, reach, step) in [(1, 0, 3, 1), (1, 1, 3, 1), (0, 0, 2, 5), (3, 1, 1, 7)]
        {
            let op = StackOp::MinMax(MinMaxParams::new(morph, channel, axis, reach, step));
            let (g, c) = one_op(&gpu, op, &inputs);
            let what = format!("{morph:?} channel {channel} axis {axis} {reach}×{step}");
            // Min and max pick one of the same loaded values: nothing to round.
            assert_eq!(g, c, "{what}");
        }
    }
}

#[test]
fn cutouts_planned_from_a_real_matte_match_the_cpu() {
    let gpu = renderer();
    let (plate, aux) = common::real_frame("astronaut.1001.png", 128, 96);
    let inputs = FrameInputs {
        plate: Some(plate.clone()),
        aux: Some(aux.clone()),
        ..Default::default()
    };
    let cases = [
        ("default settings", CutoutSettings::default()),
        (
            "eroded, feathered",
            CutoutSettings {
                erode_px: 3.0,
                feather_px: 4.0,
                ..CutoutSettings::default()
            },
        ),
        (
            "grown a lot, wide decontamination",
            CutoutSettings {
                erode_px: -12.5,
                feather_px: 20.0,
                decontaminate_radius_px: 40.0,
                ..CutoutSettings::default()
            },
        ),
        (
            "no decontamination",
            CutoutSettings {
                decontaminate: false,
                ..CutoutSettings::default()
            },
        ),
    ];
    for (what, s) in cases {
        let mut b = PlanBuilder::new(plate.width, plate.height);
        let p = b.input(Input::Plate);
        let a = b.input(Input::Aux);
        let out = plan_cutout(&mut b, &s, p, a);
        let plan = b.finish(out, a);
        let (g, c) = both(&gpu, &plan, &inputs);
        assert_close(
            &format!("cut-out, {what} ({} steps)", plan.steps.len()),
            &g,
            &c,
        );
        // A real cut-out: some pixels kept, some removed.
        let kept = c.pixels.iter().filter(|p| p[3] > 0.5).count();
        assert!(
            kept > 100 && kept < c.pixels.len() - 100,
            "{what}: {kept} kept"
        );
    }
    assert_eq!(MATTE_CHANNEL, 1, "the aux's matte is its green channel");
}

#[test]
fn backgrounds_planned_match_the_cpu() {
    let gpu = renderer();
    let mut inputs = two_photos();
    let image = common::photo_image("coffee.png", 131, 97);
    inputs.images = vec![image];
    let cases = [
        BackgroundSettings::Solid {
            colour: [0.02, 0.4, 1.5],
        },
        BackgroundSettings::Image {
            path: "coffee.png".into(),
        },
        BackgroundSettings::BlurredPlate { radius_px: 6.0 },
        BackgroundSettings::BlurredPlate { radius_px: 90.0 },
    ];
    for s in cases {
        let plate = inputs.plate.as_ref().expect("plate");
        let mut b = PlanBuilder::new(plate.width, plate.height);
        let p = b.input(Input::Plate);
        let a = b.input(Input::Aux);
        let out = plan_background(&mut b, &s, p, a);
        let plan = b.finish(out, p);
        let (g, c) = both(&gpu, &plan, &inputs);
        assert_close(&format!("background {s:?}"), &g, &c);
        assert!(g.pixels.iter().all(|p| p[3] == 1.0), "{s:?} is opaque");
    }
}

/// Timing at 1080p on this machine's adapter (run with `--ignored --nocapture`).
#[test]
#[ignore = "a timing, not a check"]
fn cutout_and_background_timing_at_1080p() {
    let gpu = renderer();
    let (w, h) = (1920, 1080);
    let plate = common::photo_image("astronaut.1001.png", w, h);
    let aux = Image::from_fn(w, h, |x, y| {
        let d = ((x as f32 - 960.0).powi(2) + (y as f32 - 540.0).powi(2)).sqrt();
        [5.0, ((400.0 - d) / 8.0).clamp(0.0, 1.0), 0.5, 0.0]
    });
    let inputs = FrameInputs {
        plate: Some(plate),
        aux: Some(aux),
        ..Default::default()
    };
    let settings = [
        ("nothing (upload and readback)", None, None),
        (
            "one blend",
            None,
            Some(BackgroundSettings::Solid {
                colour: [0.0, 0.0, 0.0],
            }),
        ),
        ("cut-out, defaults", Some(CutoutSettings::default()), None),
        (
            "cut-out, erode 8, feather 8, radius 32",
            Some(CutoutSettings {
                erode_px: 8.0,
                feather_px: 8.0,
                decontaminate_radius_px: 32.0,
                ..CutoutSettings::default()
            }),
            None,
        ),
        (
            "blurred plate 100 px",
            None,
            Some(BackgroundSettings::BlurredPlate { radius_px: 100.0 }),
        ),
    ];
    for (what, cut, bg) in settings {
        let mut b = PlanBuilder::new(w, h);
        let p = b.input(Input::Plate);
        let a = b.input(Input::Aux);
        let out = match (cut, bg) {
            (Some(s), _) => plan_cutout(&mut b, &s, p, a),
            (_, Some(s)) => plan_background(&mut b, &s, p, a),
            _ => p,
        };
        let plan = b.finish(out, a);
        gpu.render(&plan, &inputs).expect("warm-up render");
        let t = std::time::Instant::now();
        let n = 3;
        for _ in 0..n {
            gpu.render(&plan, &inputs).expect("render");
        }
        println!(
            "{what}: {} steps, {:.0} ms per frame (with upload and readback)",
            plan.steps.len(),
            t.elapsed().as_secs_f64() * 1000.0 / n as f64
        );
    }
}
