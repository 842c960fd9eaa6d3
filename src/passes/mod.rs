//! Depth and matte results as typed images: what a model's output means, shot-wide depth
//! normalisation, edge-aware upsampling to the plate's size, and the on-disk pass cache.

pub mod cache;
pub mod temporal;
pub mod upsample;

use serde::{Deserialize, Serialize};

/// What the numbers in a depth map mean. Kept with the data all the way to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DepthSemantics {
    /// Distance in metres; larger is farther.
    Metric,
    /// Relative depth with unknown scale and shift; larger is farther.
    Relative,
    /// Relative inverse depth (disparity) with unknown scale and shift; larger is nearer.
    RelativeInverse,
}

impl DepthSemantics {
    /// The name used in manifests, EXR headers and the sidecar.
    pub fn as_str(self) -> &'static str {
        match self {
            DepthSemantics::Metric => "metric",
            DepthSemantics::Relative => "relative",
            DepthSemantics::RelativeInverse => "relative_inverse",
        }
    }

    /// Whether a larger raw value means nearer to the camera.
    pub fn larger_is_nearer(self) -> bool {
        matches!(self, DepthSemantics::RelativeInverse)
    }
}

/// A depth pass: raw model values (never tonemapped), with their meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthMap {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` raw values, row-major.
    pub values: Vec<f32>,
    /// What the values mean.
    pub semantics: DepthSemantics,
}

/// A matte pass: coverage in 0..1 as `f32`, soft edges kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Matte {
    /// Layer name used in exports, e.g. `fg` becomes the EXR channel `matte_fg.A`.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` coverage values in 0..1, row-major.
    pub alpha: Vec<f32>,
}

/// The raw depth values that map to "near" and "far" for display, locked once for a whole shot
/// so that a sequence's previews do not flicker.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DepthRange {
    /// Raw value of the nearest depth shown (maps to white in previews).
    pub near: f32,
    /// Raw value of the farthest depth shown (maps to black in previews).
    pub far: f32,
}

impl DepthRange {
    /// Maps a raw value to 0..1 with 1 = near and 0 = far, clamped.
    pub fn nearness(&self, raw: f32) -> f32 {
        let span = self.far - self.near;
        if span.abs() < f32::EPSILON || !raw.is_finite() {
            return 0.0;
        }
        (1.0 - (raw - self.near) / span).clamp(0.0, 1.0)
    }
}

/// The shot-wide display range from raw depth samples: the 1st and 99th percentiles, ordered
/// near to far by the values' meaning. `None` when there are no finite samples.
pub fn depth_range_from_samples(
    samples: &mut Vec<f32>,
    semantics: DepthSemantics,
) -> Option<DepthRange> {
    samples.retain(|v| v.is_finite());
    if samples.is_empty() {
        return None;
    }
    let n = samples.len();
    let lo_i = n / 100;
    let hi_i = (n - 1) - n / 100;
    let lo = *samples.select_nth_unstable_by(lo_i, f32::total_cmp).1;
    let hi = *samples.select_nth_unstable_by(hi_i, f32::total_cmp).1;
    Some(if semantics.larger_is_nearer() {
        DepthRange { near: hi, far: lo }
    } else {
        DepthRange { near: lo, far: hi }
    })
}

/// Brings a raw depth output up to the plate's size with the edge-aware upsampler.
pub fn depth_to_plate(
    raw: &crate::infer::RawOutput,
    semantics: DepthSemantics,
    guide: &[f32],
    width: u32,
    height: u32,
) -> Result<DepthMap, upsample::UpsampleError> {
    let values = upsample::guided_upsample(
        &raw.values,
        raw.width,
        raw.height,
        guide,
        width,
        height,
        upsample::GuidedParams::DEPTH,
    )?;
    Ok(DepthMap {
        width,
        height,
        values,
        semantics,
    })
}

/// Brings a raw matte output up to the plate's size with the edge-aware upsampler, in 0..1.
pub fn matte_to_plate(
    raw: &crate::infer::RawOutput,
    name: &str,
    guide: &[f32],
    width: u32,
    height: u32,
) -> Result<Matte, upsample::UpsampleError> {
    let mut alpha = upsample::guided_upsample(
        &raw.values,
        raw.width,
        raw.height,
        guide,
        width,
        height,
        upsample::GuidedParams::MATTE,
    )?;
    alpha.iter_mut().for_each(|a| *a = a.clamp(0.0, 1.0));
    Ok(Matte {
        name: name.to_string(),
        width,
        height,
        alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_range_orders_near_and_far_by_meaning() {
        let mut metric: Vec<f32> = (0..=1000).map(|i| i as f32 / 100.0).collect();
        metric.push(f32::NAN);
        let r = depth_range_from_samples(&mut metric, DepthSemantics::Metric).unwrap();
        assert!(r.near < 0.2 && r.far > 9.8, "{r:?}");
        assert_eq!(r.nearness(r.near), 1.0);
        assert_eq!(r.nearness(r.far), 0.0);
        let mut disparity: Vec<f32> = (0..=1000).map(|i| i as f32).collect();
        let r = depth_range_from_samples(&mut disparity, DepthSemantics::RelativeInverse).unwrap();
        assert!(r.near > r.far);
        assert!(r.nearness(990.0) > r.nearness(10.0));
        assert!(depth_range_from_samples(&mut vec![f32::NAN], DepthSemantics::Metric).is_none());
    }
}
