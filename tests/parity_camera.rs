//! The 2.5D camera move draws the same pixels on the GPU (wgpu on the machine's adapter:
//! llvmpipe/lavapipe where there is no GPU) as the CPU reference, on a real photo with its real
//! depth and matte passes (fastdepth and u2netp), for a dolly + orbit move.
//!
//! Tolerance, and why it is a percentile: each pixel evaluates the same closed-form ray march on
//! both backends, so almost every pixel agrees to float rounding (well under 1e-3). But the march
//! makes discrete decisions (which step first goes under the surface; whether a 2×2 footprint
//! spans a depth edge; whether a ray is behind a surface by more than the thickness), and a
//! device that rounds a division or fuses a multiply-add differently can flip one of them for a
//! ray that grazes a depth edge. Such a pixel then shows the neighbouring surface or the fill
//! layer instead: a difference as large as the colours on the two sides of the edge. So: at least
//! 99.5% of pixels within 1e-3 (relative to `max(1, |value|)`, on every channel of the plate and
//! the aux), the disocclusion flags agreeing on 99.5% of pixels, and every pixel within 1 (the
//! range of a colour channel, and a relative distance error of 100%: a flip, not a formula bug).

mod common;

use mattebox::composite::camera::{CameraKey, CameraMove, Ease};
use mattebox::composite::gpu::{GpuChoice, GpuRenderer};
use mattebox::composite::image::Image;
use mattebox::composite::layers::SceneSettings;
use mattebox::composite::ops::reproject::{DEFAULT_STEPS, plan_reproject};
use mattebox::composite::plan::PlanBuilder;
use mattebox::composite::prepare::{PrepareSettings, prepare};
use mattebox::composite::{FrameInputs, Rendered, cpu};

const W: u32 = 128;
const H: u32 = 96;
const CLOSE: f32 = 1e-3;
const CLOSE_SHARE: f32 = 0.995;
const LOOSE: f32 = 1.0;

fn renderer() -> GpuRenderer {
    common::quiet_vulkan();
    let r = GpuRenderer::new(GpuChoice::Auto).expect("a wgpu adapter (llvmpipe at least)");
    println!("adapter: {}", r.adapter_label());
    r
}

/// A push-in with an orbit to the right, eased in and out over 24 frames.
fn dolly_orbit() -> CameraMove {
    CameraMove {
        keys: vec![
            CameraKey {
                frame: 0.0,
                ease: Ease::EaseInOut,
                ..CameraKey::default()
            },
            CameraKey {
                frame: 24.0,
                dolly_m: 0.6,
                orbit_deg: 8.0,
                ..CameraKey::default()
            },
        ],
        pivot_m: 4.0,
        still_duration_frames: 24,
        ..CameraMove::default()
    }
}

/// The largest per-channel difference of a pixel, relative to `max(1, |cpu|)`.
fn pixel_diff(a: [f32; 4], b: [f32; 4]) -> f32 {
    (0..4)
        .map(|c| (a[c] - b[c]).abs() / b[c].abs().max(1.0))
        .fold(0.0, f32::max)
}

#[test]
fn camera_move_matches_the_cpu_reference_on_a_real_photo() {
    let gpu = renderer();
    let (plate, aux) = common::real_frame("astronaut.1001.png", W, H);
    let prepared = prepare(&plate, &aux, &PrepareSettings::default());
    let inputs = FrameInputs {
        front: Some(prepared.front),
        fill: Some(prepared.fill),
        ..FrameInputs::default()
    };
    let scene = SceneSettings::default();
    let camera = dolly_orbit();
    for frame in [0.0, 12.0, 24.0] {
        let pose = camera.pose_at(frame);
        let mut b = PlanBuilder::new(W, H);
        let (out, out_aux) = plan_reproject(&mut b, &pose, &scene, DEFAULT_STEPS);
        let plan = b.finish(out, out_aux);
        let reference: Rendered = cpu::render(&plan, &inputs).expect("cpu render");
        let drawn: Rendered = gpu.render(&plan, &inputs).expect("gpu render");

        let n = (W * H) as usize;
        let diffs: Vec<f32> = (0..n)
            .map(|i| {
                pixel_diff(drawn.rgba.pixels[i], reference.rgba.pixels[i])
                    .max(pixel_diff(drawn.aux.pixels[i], reference.aux.pixels[i]))
            })
            .collect();
        let close = diffs.iter().filter(|d| **d <= CLOSE).count();
        let worst = diffs.iter().copied().fold(0.0, f32::max);
        let flags_agree = (0..n)
            .filter(|&i| drawn.aux.pixels[i][3] == reference.aux.pixels[i][3])
            .count();
        let flagged = reference.aux.pixels.iter().filter(|a| a[3] == 1.0).count();
        let moved = changed(&reference.rgba, &plate);
        println!(
            "frame {frame}: {close}/{n} pixels within {CLOSE}, worst {worst:.3e}; flags agree on \
             {flags_agree}/{n}; {flagged} disoccluded; {moved} pixels changed by the move"
        );
        if frame > 0.0 {
            assert!(
                moved > n / 4,
                "frame {frame}: the move changed only {moved} pixels"
            );
            assert!(flagged > 0, "frame {frame}: an orbit reveals something");
        } else {
            assert_eq!(flagged, 0, "the source view reveals nothing");
        }
        assert!(
            close as f32 >= CLOSE_SHARE * n as f32,
            "frame {frame}: only {close}/{n} pixels within {CLOSE}"
        );
        assert!(
            flags_agree as f32 >= CLOSE_SHARE * n as f32,
            "frame {frame}: flags agree on {flags_agree}/{n}"
        );
        assert!(worst <= LOOSE, "frame {frame}: worst difference {worst}");
    }
}

/// Pixels whose colour differs from the source plate by more than 1e-3.
fn changed(a: &Image, b: &Image) -> usize {
    a.pixels
        .iter()
        .zip(&b.pixels)
        .filter(|(p, q)| (0..3).any(|c| (p[c] - q[c]).abs() > 1e-3))
        .count()
}
