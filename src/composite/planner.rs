//! Turns a project's layer stack (and a camera pose) into a render plan.
//!
//! The stack is drawn bottom (index 0) to top onto transparent black. A *source* layer (plate,
//! cut-out, background) is blended onto the stack with its blend mode and opacity. A *depth
//! effect* (fog, depth of field, grade) filters the stack below it; with the `over` mode the
//! filtered picture replaces the stack, mixed by opacity (so opacity 0.5 is half the effect),
//! and the other modes combine the filtered picture with the stack. A depth effect with nothing
//! below it draws nothing. Hidden layers are skipped; `solo` draws one layer alone (effects
//! filter the plate).
//!
//! With a camera pose, the plate and aux are first reprojected (`ops::reproject`) and every layer
//! reads the moved plate, matte and depth.

use std::path::Path;

use super::camera::CameraPose;
use super::layers::{BackgroundSettings, BlendMode, Layer, LayerKind, SceneSettings};
use super::ops::{depth_fx, reproject, stack};
use super::plan::{Input, Plan, PlanBuilder, Slot};
use super::prepare::PrepareSettings;

/// Ray-march steps for the camera move: enough that a 1080p dolly shows no stepping.
pub const REPROJECT_STEPS: u32 = 96;

/// What to draw for one frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameSpec<'a> {
    /// The layer stack, bottom first.
    pub layers: &'a [Layer],
    /// The scene (depth mapping, lens).
    pub scene: &'a SceneSettings,
    /// Where relative background-image paths are resolved from (the project file's folder).
    pub base_dir: &'a Path,
    /// The camera pose, or `None` for the source view.
    pub camera: Option<&'a CameraPose>,
    /// Depth-edge handling for the camera move (the project's `camera.prepare`).
    pub prepare: &'a PrepareSettings,
    /// Draw only this layer (the app's solo).
    pub solo: Option<usize>,
}

/// Is this layer a depth effect (a filter of the stack below)?
pub fn is_filter(kind: &LayerKind) -> bool {
    matches!(
        kind,
        LayerKind::DepthFog(_) | LayerKind::DepthOfField(_) | LayerKind::DepthGrade(_)
    )
}

/// Builds the plan for a `width × height` frame.
pub fn plan_frame(spec: &FrameSpec<'_>, width: u32, height: u32) -> Plan {
    plan_with(spec, PlanBuilder::new(width, height))
}

/// The plan with every effect at the frame's full size (no reduced-size blurs or depth of
/// field): the reference the reduced paths are measured against (PSNR in the composite
/// benchmark).
pub fn plan_frame_reference(spec: &FrameSpec<'_>, width: u32, height: u32) -> Plan {
    plan_with(spec, PlanBuilder::reference(width, height))
}

fn plan_with(spec: &FrameSpec<'_>, mut b: PlanBuilder) -> Plan {
    let (width, height) = (b.width(), b.height());
    let (plate, aux) = match spec.camera {
        Some(pose) => reproject::plan_reproject_with(
            &mut b,
            reproject::reproject_params(pose, spec.scene, width, height, REPROJECT_STEPS)
                .with_settings(spec.prepare),
        ),
        None => (b.input(Input::Plate), b.input(Input::Aux)),
    };
    let mut acc: Option<Slot> = None;
    for (index, layer) in spec.layers.iter().enumerate() {
        let shown = match spec.solo {
            Some(solo) => solo == index,
            None => layer.visible,
        };
        if !shown || layer.opacity <= 0.0 {
            continue;
        }
        let filter = is_filter(&layer.kind);
        // A soloed effect filters the plate, so the artist sees what it does.
        let below = match (acc, spec.solo.is_some() && filter) {
            (_, true) => Some(plate),
            (Some(a), false) => Some(a),
            (None, false) => None,
        };
        let src = match &layer.kind {
            LayerKind::Plate => plate,
            LayerKind::Cutout(s) => stack::plan_cutout(&mut b, s, plate, aux),
            LayerKind::Background(s) => {
                let resolved = match s {
                    BackgroundSettings::Image { path } => BackgroundSettings::Image {
                        path: spec.base_dir.join(path),
                    },
                    other => other.clone(),
                };
                stack::plan_background(&mut b, &resolved, plate, aux)
            }
            LayerKind::DepthFog(s) => match below {
                Some(below) => depth_fx::plan_fog(&mut b, s, below, aux),
                None => continue,
            },
            LayerKind::DepthOfField(s) => match below {
                Some(below) => depth_fx::plan_dof(&mut b, s, spec.scene, below, aux),
                None => continue,
            },
            LayerKind::DepthGrade(s) => match below {
                Some(below) => depth_fx::plan_grade(&mut b, s, below, aux),
                None => continue,
            },
        };
        let mode = if filter && layer.blend == BlendMode::Over {
            stack::BLEND_REPLACE
        } else {
            layer.blend.code()
        };
        let dst = match below {
            Some(d) => d,
            None => b.input(Input::Transparent),
        };
        let opaque_over = layer.opacity >= 1.0
            && (mode == stack::BLEND_REPLACE || (acc.is_none() && mode == BlendMode::Over.code()));
        acc = Some(if opaque_over {
            src
        } else {
            stack::plan_blend(&mut b, mode, layer.opacity.min(1.0), dst, src)
        });
    }
    let output = match acc {
        Some(a) => a,
        None => b.input(Input::Transparent),
    };
    b.finish(output, aux)
}

/// The layers with every setting in pixels scaled by `factor`, so that a preview drawn at a
/// reduced size (`factor` = preview width / full width) looks like the full-size render.
/// Distances in metres and the depth of field's thin lens (which follows the frame's width) need
/// no change.
pub fn scale_pixels(layers: &[Layer], factor: f32) -> Vec<Layer> {
    let mut out = layers.to_vec();
    if (factor - 1.0).abs() < 1e-6 {
        return out;
    }
    for layer in &mut out {
        match &mut layer.kind {
            LayerKind::Cutout(s) => {
                s.erode_px *= factor;
                s.feather_px *= factor;
                s.decontaminate_radius_px = (s.decontaminate_radius_px * factor).max(1.0);
            }
            LayerKind::Background(BackgroundSettings::BlurredPlate { radius_px }) => {
                *radius_px *= factor;
            }
            LayerKind::DepthOfField(s) => s.max_blur_px *= factor,
            _ => {}
        }
    }
    out
}
