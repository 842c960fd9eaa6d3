//! Clamping: every value of the document into its documented range (the table in the module
//! above), with one warning per changed field. The same functions run on load and in every edit.

use crate::composite::camera::{CameraKey, CameraMove};
use crate::composite::layers::{
    BackgroundSettings, CutoutSettings, DofSettings, FogSettings, GradeSettings, Layer, LayerKind,
    SceneSettings,
};

use crate::composite::refine::{
    DEFAULT_RADIUS_PX, DEFAULT_SOFTNESS, MAX_STROKE_POINTS, MatteStroke,
};

use super::{PassSettings, ShotRef};

/// The smallest gap kept between a near and a far distance that must differ (metres).
const MIN_GAP_M: f32 = 0.01;
/// The largest near distance of a fog or grade band (metres): keeps `near + gap` finite.
const MAX_NEAR_M: f32 = 1_000_000.0;

/// A part of the project whose values have ranges.
pub trait Clamp {
    /// Brings every value into range. `at` is this part's path in the document (e.g.
    /// `layers[2].kind`); each change adds a warning naming the field's full path, the value
    /// found and the value kept. Values already in range are left exactly as they are.
    fn clamp(&mut self, at: &str, warnings: &mut Vec<String>);
}

/// Resets a non-finite `value` to `default`.
fn finite(value: &mut f32, default: f32, field: &str, warnings: &mut Vec<String>) {
    if !value.is_finite() {
        warnings.push(format!(
            "{field} {value} is not a finite number; reset to the default {default}"
        ));
        *value = default;
    }
}

/// Resets a non-finite `value` to `default`, then clamps it to `lo..=hi`.
fn range(value: &mut f32, lo: f32, hi: f32, default: f32, field: &str, w: &mut Vec<String>) {
    finite(value, default, field, w);
    let kept = value.clamp(lo, hi);
    if kept != *value {
        w.push(format!("{field} {value} clamped to {kept}"));
        *value = kept;
    }
}

/// Like [`range`] for a value with only a lower bound.
fn at_least(value: &mut f32, lo: f32, default: f32, field: &str, w: &mut Vec<String>) {
    range(value, lo, f32::INFINITY, default, field, w);
}

/// The smallest distance that counts as beyond `near`.
fn beyond(near: f32) -> f32 {
    (near + MIN_GAP_M).max(near.next_up())
}

/// Clamps a far distance that must be strictly beyond `near`.
fn far_beyond(far: &mut f32, near: f32, default: f32, field: &str, w: &mut Vec<String>) {
    finite(far, default, field, w);
    if *far <= near {
        let kept = beyond(near);
        w.push(format!(
            "{field} {far} clamped to {kept} (just beyond near_m {near})"
        ));
        *far = kept;
    }
}

fn colour(values: &mut [f32; 3], hi: f32, default: [f32; 3], field: &str, w: &mut Vec<String>) {
    for (c, (value, default)) in values.iter_mut().zip(default).enumerate() {
        range(value, 0.0, hi, default, &format!("{field}[{c}]"), w);
    }
}

fn not_empty(value: &mut String, default: &str, field: &str, w: &mut Vec<String>) {
    if value.trim().is_empty() {
        w.push(format!("{field} {value:?} is empty; reset to {default:?}"));
        *value = default.to_string();
    }
}

impl Clamp for ShotRef {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        range(&mut self.fps, 1.0, 1000.0, 24.0, &format!("{at}.fps"), w);
        if let (Some(first), Some(last)) = (self.first, self.last)
            && last < first
        {
            w.push(format!("{at}.last {last} clamped to {first} (shot.first)"));
            self.last = Some(first);
        }
    }
}

impl Clamp for PassSettings {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let defaults = PassSettings::default();
        let field = format!("{at}.depth_model");
        not_empty(&mut self.depth_model, &defaults.depth_model, &field, w);
        let field = format!("{at}.matte_model");
        not_empty(&mut self.matte_model, &defaults.matte_model, &field, w);
    }
}

impl Clamp for SceneSettings {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let d = SceneSettings::default();
        range(
            &mut self.near_m,
            0.05,
            10_000.0,
            d.near_m,
            &format!("{at}.near_m"),
            w,
        );
        let field = format!("{at}.far_m");
        far_beyond(&mut self.far_m, self.near_m, d.far_m, &field, w);
        range(
            &mut self.fov_deg,
            1.0,
            170.0,
            d.fov_deg,
            &format!("{at}.fov_deg"),
            w,
        );
        let field = format!("{at}.sensor_width_mm");
        range(
            &mut self.sensor_width_mm,
            1.0,
            200.0,
            d.sensor_width_mm,
            &field,
            w,
        );
        let field = format!("{at}.depth_curve");
        range(&mut self.depth_curve, 0.1, 10.0, d.depth_curve, &field, w);
    }
}

/// Clamps a layer's opacity (`field` names it) to 0..=1.
pub(super) fn opacity(value: &mut f32, field: &str, w: &mut Vec<String>) {
    range(value, 0.0, 1.0, 1.0, field, w);
}

impl Clamp for Layer {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        opacity(&mut self.opacity, &format!("{at}.opacity"), w);
        self.kind.clamp(&format!("{at}.kind"), w);
    }
}

impl Clamp for LayerKind {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        match self {
            LayerKind::Plate => {}
            LayerKind::Cutout(s) => s.clamp(at, w),
            LayerKind::Background(s) => s.clamp(at, w),
            LayerKind::DepthFog(s) => s.clamp(at, w),
            LayerKind::DepthOfField(s) => s.clamp(at, w),
            LayerKind::DepthGrade(s) => s.clamp(at, w),
        }
    }
}

impl Clamp for CutoutSettings {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let d = CutoutSettings::default();
        not_empty(&mut self.matte, &d.matte, &format!("{at}.matte"), w);
        range(
            &mut self.erode_px,
            -64.0,
            64.0,
            d.erode_px,
            &format!("{at}.erode_px"),
            w,
        );
        let field = format!("{at}.feather_px");
        range(&mut self.feather_px, 0.0, 64.0, d.feather_px, &field, w);
        let field = format!("{at}.decontaminate_radius_px");
        let default = d.decontaminate_radius_px;
        range(
            &mut self.decontaminate_radius_px,
            1.0,
            64.0,
            default,
            &field,
            w,
        );
    }
}

impl Clamp for BackgroundSettings {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        match self {
            BackgroundSettings::Solid { colour: c } => {
                colour(c, 64.0, [0.18; 3], &format!("{at}.colour"), w);
            }
            // Whether the file exists is checked when the composite is drawn, not here: a
            // project must open even when its images are elsewhere.
            BackgroundSettings::Image { .. } => {}
            BackgroundSettings::BlurredPlate { radius_px } => {
                range(radius_px, 0.0, 256.0, 24.0, &format!("{at}.radius_px"), w);
            }
        }
    }
}

impl Clamp for FogSettings {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let d = FogSettings::default();
        colour(&mut self.colour, 64.0, d.colour, &format!("{at}.colour"), w);
        range(
            &mut self.near_m,
            0.0,
            MAX_NEAR_M,
            d.near_m,
            &format!("{at}.near_m"),
            w,
        );
        far_beyond(
            &mut self.far_m,
            self.near_m,
            d.far_m,
            &format!("{at}.far_m"),
            w,
        );
        range(
            &mut self.density,
            0.0,
            1.0,
            d.density,
            &format!("{at}.density"),
            w,
        );
    }
}

impl Clamp for DofSettings {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let d = DofSettings::default();
        range(
            &mut self.focus_m,
            0.05,
            10_000.0,
            d.focus_m,
            &format!("{at}.focus_m"),
            w,
        );
        range(
            &mut self.f_stop,
            0.5,
            64.0,
            d.f_stop,
            &format!("{at}.f_stop"),
            w,
        );
        let field = format!("{at}.max_blur_px");
        range(&mut self.max_blur_px, 0.0, 64.0, d.max_blur_px, &field, w);
    }
}

impl Clamp for GradeSettings {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let d = GradeSettings::default();
        range(
            &mut self.near_m,
            0.0,
            MAX_NEAR_M,
            d.near_m,
            &format!("{at}.near_m"),
            w,
        );
        let near = self.near_m;
        range(
            &mut self.far_m,
            near,
            f32::INFINITY,
            d.far_m.max(near),
            &format!("{at}.far_m"),
            w,
        );
        let field = format!("{at}.softness_m");
        at_least(&mut self.softness_m, 0.0, d.softness_m, &field, w);
        let field = format!("{at}.exposure_stops");
        range(
            &mut self.exposure_stops,
            -10.0,
            10.0,
            d.exposure_stops,
            &field,
            w,
        );
        range(
            &mut self.contrast,
            0.0,
            4.0,
            d.contrast,
            &format!("{at}.contrast"),
            w,
        );
        range(
            &mut self.saturation,
            0.0,
            4.0,
            d.saturation,
            &format!("{at}.saturation"),
            w,
        );
        colour(&mut self.gain, 16.0, d.gain, &format!("{at}.gain"), w);
    }
}

impl Clamp for CameraKey {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        finite(&mut self.frame, 0.0, &format!("{at}.frame"), w);
        for (value, name) in [
            (&mut self.dolly_m, "dolly_m"),
            (&mut self.truck_m, "truck_m"),
            (&mut self.pedestal_m, "pedestal_m"),
            (&mut self.pan_deg, "pan_deg"),
            (&mut self.tilt_deg, "tilt_deg"),
            (&mut self.roll_deg, "roll_deg"),
            (&mut self.orbit_deg, "orbit_deg"),
        ] {
            finite(value, 0.0, &format!("{at}.{name}"), w);
        }
        range(&mut self.zoom, 0.1, 10.0, 1.0, &format!("{at}.zoom"), w);
    }
}

impl Clamp for CameraMove {
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let d = CameraMove::default();
        for (i, key) in self.keys.iter_mut().enumerate() {
            key.clamp(&format!("{at}.keys[{i}]"), w);
        }
        if !self.keys.is_sorted_by(|a, b| a.frame <= b.frame) {
            // Stable, so keys on the same frame keep the order they were given in.
            self.keys.sort_by(|a, b| a.frame.total_cmp(&b.frame));
            w.push(format!(
                "{at}.keys were not in frame order; sorted by frame"
            ));
        }
        at_least(
            &mut self.pivot_m,
            MIN_GAP_M,
            d.pivot_m,
            &format!("{at}.pivot_m"),
            w,
        );
        let prepare = self.prepare.clamped();
        if prepare != self.prepare {
            w.push(format!(
                "{at}.prepare {:?} clamped to {prepare:?}",
                self.prepare
            ));
            self.prepare = prepare;
        }
        let frames = self.still_duration_frames;
        let kept = frames.clamp(1, 100_000);
        if kept != frames {
            w.push(format!(
                "{at}.still_duration_frames {frames} clamped to {kept}"
            ));
            self.still_duration_frames = kept;
        }
    }
}

impl Clamp for MatteStroke {
    /// Clamps the radius and softness, drops non-finite points and points beyond
    /// [`MAX_STROKE_POINTS`]. A stroke left with no points is for the caller to remove
    /// ([`strokes`]).
    fn clamp(&mut self, at: &str, w: &mut Vec<String>) {
        let field = format!("{at}.radius_px");
        range(
            &mut self.radius_px,
            0.5,
            500.0,
            DEFAULT_RADIUS_PX,
            &field,
            w,
        );
        let field = format!("{at}.softness");
        range(&mut self.softness, 0.0, 1.0, DEFAULT_SOFTNESS, &field, w);
        let field = format!("{at}.amount");
        range(&mut self.amount, 0.0, 8.0, 1.0, &field, w);
        let before = self.points.len();
        self.points.retain(|p| p.iter().all(|c| c.is_finite()));
        if self.points.len() != before {
            w.push(format!(
                "{at}.points: {} points with a non-finite coordinate dropped",
                before - self.points.len()
            ));
        }
        if self.points.len() > MAX_STROKE_POINTS {
            w.push(format!(
                "{at}.points: {} points is more than a stroke keeps; the first {MAX_STROKE_POINTS} kept",
                self.points.len()
            ));
            self.points.truncate(MAX_STROKE_POINTS);
        }
    }
}

/// Clamps every matte stroke (`at` names the list), removing those with no points left, with a
/// warning naming each by its index in the list as given.
pub(super) fn strokes(list: &mut Vec<MatteStroke>, at: &str, w: &mut Vec<String>) {
    let mut index = 0;
    list.retain_mut(|stroke| {
        let field = format!("{at}[{index}]");
        index += 1;
        stroke.clamp(&field, w);
        if stroke.points.is_empty() {
            w.push(format!("{field} has no points; removed"));
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_far_distance_at_the_near_one_moves_just_beyond_it() {
        let mut w = Vec::new();
        let mut fog = FogSettings {
            near_m: 5.0,
            far_m: 5.0,
            ..FogSettings::default()
        };
        fog.clamp("fog", &mut w);
        assert!(fog.far_m > fog.near_m);
        assert_eq!(w, ["fog.far_m 5 clamped to 5.01 (just beyond near_m 5)"]);
        // Clamping what was clamped changes nothing.
        let before = fog.clone();
        fog.clamp("fog", &mut w);
        assert_eq!(fog, before);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn the_largest_near_distance_still_leaves_room_for_a_finite_far_one() {
        let mut w = Vec::new();
        let mut fog = FogSettings {
            near_m: f32::MAX,
            far_m: 1.0,
            ..FogSettings::default()
        };
        fog.clamp("fog", &mut w);
        assert_eq!(fog.near_m, MAX_NEAR_M);
        assert!(fog.far_m.is_finite() && fog.far_m > fog.near_m, "{fog:?}");
    }

    #[test]
    fn a_nan_is_reset_to_the_default_and_named() {
        let mut w = Vec::new();
        let mut key = CameraKey {
            zoom: f32::NAN,
            dolly_m: f32::INFINITY,
            ..CameraKey::default()
        };
        key.clamp("camera.keys[0]", &mut w);
        assert_eq!(key, CameraKey::default());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("camera.keys[0].dolly_m inf"), "{w:?}");
        assert!(w[1].starts_with("camera.keys[0].zoom NaN"), "{w:?}");
    }
}
