//! The depth effects (fog, depth grade, depth of field) draw the same pixels on the GPU (wgpu on
//! the machine's adapter: llvmpipe/lavapipe where there is no GPU) as the CPU reference, on a
//! real photo with a plausible depth: a ground plane receding towards the top of the frame, and
//! a nearer disc standing in front of it.
//!
//! Tolerance: both paths use the same f32 formulas in the same order, so they differ only by the
//! rounding of `exp`, `pow`, `sqrt` and division on the device (a few ULP each, Vulkan's allowed
//! error). Over the ~120 weighted taps of the depth of field that stays far below 1e-4 of the
//! pixel's value; anything above 1e-4 relative (to `max(1, |value|)`) is a formula mismatch.

mod common;

use mattebox::composite::gpu::{GpuChoice, GpuRenderer};
use mattebox::composite::image::Image;
use mattebox::composite::layers::{
    DofSettings, FogFalloff, FogSettings, GradeSettings, SceneSettings,
};
use mattebox::composite::ops::depth_fx::{plan_dof, plan_fog, plan_grade};
use mattebox::composite::plan::{Input, PlanBuilder, Slot};
use mattebox::composite::{FrameInputs, cpu};

const W: u32 = 128;
const H: u32 = 96;
const TOLERANCE: f32 = 1e-4;

fn renderer() -> GpuRenderer {
    common::quiet_vulkan();
    let r = GpuRenderer::new(GpuChoice::Auto).expect("a wgpu adapter (llvmpipe at least)");
    println!("adapter: {}", r.adapter_label());
    r
}

/// The astronaut frame, and its depth: 2 m at the bottom row receding to 40 m at the top, with a
/// disc 1.2 m away (radius 22 px) in front of it; matte 1, nearness from the distance.
fn frame() -> FrameInputs {
    let plate = common::photo_image("astronaut.1001.png", W, H);
    let scene = SceneSettings::default();
    let aux = Image::from_fn(W, H, |x, y| {
        let t = 1.0 - y as f32 / (H - 1) as f32;
        let ground = 2.0 * (20.0f32).powf(t);
        let (dx, dy) = (x as f32 - 48.0, y as f32 - 52.0);
        let d = if dx * dx + dy * dy < 22.0 * 22.0 {
            1.2
        } else {
            ground
        };
        let nearness = ((1.0 / d - 1.0 / scene.far_m) / (1.0 / scene.near_m - 1.0 / scene.far_m))
            .clamp(0.0, 1.0);
        [d, 1.0, nearness, 0.0]
    });
    FrameInputs {
        plate: Some(plate),
        aux: Some(aux),
        ..Default::default()
    }
}

/// Renders one effect on both backends; returns the largest difference relative to
/// `max(1, |cpu|)`, after checking the effect did change the frame.
fn compare(
    gpu: &GpuRenderer,
    inputs: &FrameInputs,
    what: &str,
    effect: impl FnOnce(&mut PlanBuilder, Slot, Slot) -> Slot,
) -> f32 {
    let mut b = PlanBuilder::new(W, H);
    let acc = b.input(Input::Plate);
    let aux = b.input(Input::Aux);
    let out = effect(&mut b, acc, aux);
    let plan = b.finish(out, aux);
    let reference = cpu::render(&plan, inputs).expect("cpu render").rgba;
    let drawn = gpu.render(&plan, inputs).expect("gpu render").rgba;
    let plate = inputs.plate.as_ref().expect("plate");
    let changed = reference
        .pixels
        .iter()
        .zip(&plate.pixels)
        .filter(|(a, b)| (0..4).any(|c| (a[c] - b[c]).abs() > 1e-3))
        .count();
    assert!(changed > 500, "{what}: only {changed} pixels changed");
    let mut worst = 0.0f32;
    for (i, (c, g)) in reference.pixels.iter().zip(&drawn.pixels).enumerate() {
        for k in 0..4 {
            assert!(g[k].is_finite(), "{what}: GPU pixel {i} is {g:?}");
            let err = (c[k] - g[k]).abs() / c[k].abs().max(1.0);
            worst = worst.max(err);
        }
    }
    println!("{what}: {changed} pixels changed, worst GPU/CPU difference {worst:.2e}");
    assert!(
        worst <= TOLERANCE,
        "{what}: GPU differs from CPU by {worst}"
    );
    worst
}

#[test]
fn fog_matches_the_cpu_reference() {
    let gpu = renderer();
    let inputs = frame();
    for falloff in [
        FogFalloff::Linear,
        FogFalloff::Smooth,
        FogFalloff::Exponential,
    ] {
        let s = FogSettings {
            colour: [0.7, 0.75, 0.8],
            near_m: 3.0,
            far_m: 25.0,
            density: 0.8,
            falloff,
        };
        compare(&gpu, &inputs, &format!("fog {falloff:?}"), |b, a, x| {
            plan_fog(b, &s, a, x)
        });
    }
}

#[test]
fn depth_grade_matches_the_cpu_reference() {
    let gpu = renderer();
    let inputs = frame();
    for softness_m in [0.0, 2.5] {
        let s = GradeSettings {
            near_m: 4.0,
            far_m: 12.0,
            softness_m,
            exposure_stops: -0.7,
            contrast: 1.4,
            saturation: 0.3,
            gain: [1.1, 0.95, 0.8],
        };
        compare(
            &gpu,
            &inputs,
            &format!("grade, softness {softness_m} m"),
            |b, a, x| plan_grade(b, &s, a, x),
        );
    }
}

#[test]
fn depth_of_field_matches_the_cpu_reference() {
    let gpu = renderer();
    let inputs = frame();
    // A 85 mm lens focused on the ground at 5 m: the disc in front and the far ground blur.
    let scene = SceneSettings {
        fov_deg: 2.0 * (18.0f32 / 85.0).atan().to_degrees(),
        ..SceneSettings::default()
    };
    // 16 px (lattice spacing 3 px) and 40 px (spacing 7 px) exercise both prefilter sizes.
    for max_blur_px in [16.0, 40.0] {
        let s = DofSettings {
            focus_m: 5.0,
            f_stop: 1.2,
            max_blur_px,
        };
        compare(
            &gpu,
            &inputs,
            &format!("depth of field, max {max_blur_px} px"),
            |b, a, x| plan_dof(b, &s, &scene, a, x),
        );
    }
}
