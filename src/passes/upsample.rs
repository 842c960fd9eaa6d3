//! Edge-aware upsampling of a low-resolution model output to the plate's size, guided by the
//! plate: the fast guided filter (He & Sun, 2015). Depth and matte edges snap to the plate's
//! edges instead of coming out blocky (nearest) or smeared (bilinear).
//!
//! The filter's coefficients are solved at a working resolution a little above the model's and
//! bilinearly upsampled; only the final `q = a * I + b` runs at full resolution.

use fast_image_resize as fir;

use crate::shot::colour::linear_to_srgb_u16;

/// Parameters of the guided filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuidedParams {
    /// Window radius in the low-resolution map's pixels.
    pub radius: f32,
    /// Regularisation on the 0..1 scale: larger is smoother, smaller follows the guide's edges more.
    pub eps: f32,
}

impl GuidedParams {
    /// Settings for depth: follows strong edges, stays smooth inside surfaces.
    pub const DEPTH: GuidedParams = GuidedParams {
        radius: 1.5,
        eps: 1e-3,
    };
    /// Settings for mattes: snaps to the subject's edges, keeps soft edges soft.
    pub const MATTE: GuidedParams = GuidedParams {
        radius: 1.5,
        eps: 2e-4,
    };
}

/// Errors from resizing; they only happen on inconsistent sizes, which callers rule out.
#[derive(Debug, thiserror::Error)]
#[error("upsampling failed: {0}")]
pub struct UpsampleError(String);

fn resize_f32(src: &[f32], sw: u32, sh: u32, dw: u32, dh: u32) -> Result<Vec<f32>, UpsampleError> {
    if (sw, sh) == (dw, dh) {
        return Ok(src.to_vec());
    }
    let mut out = vec![0f32; dw as usize * dh as usize];
    let s = fir::images::ImageRef::new(sw, sh, bytemuck::cast_slice(src), fir::PixelType::F32)
        .map_err(|e| UpsampleError(e.to_string()))?;
    let mut d = fir::images::Image::from_slice_u8(
        dw,
        dh,
        bytemuck::cast_slice_mut(&mut out),
        fir::PixelType::F32,
    )
    .map_err(|e| UpsampleError(e.to_string()))?;
    let options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear));
    fir::Resizer::new()
        .resize(&s, &mut d, &options)
        .map_err(|e| UpsampleError(e.to_string()))?;
    Ok(out)
}

/// Mean over a `(2r+1)²` window, clamped at the borders, in O(n) with running sums.
fn box_mean(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; w * h];
    // Horizontal pass.
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let out = &mut tmp[y * w..(y + 1) * w];
        let mut sum = 0f64;
        let mut lo = 0usize;
        let mut hi = 0usize; // window is [lo, hi)
        for (x, o) in out.iter_mut().enumerate() {
            let want_hi = (x + r + 1).min(w);
            let want_lo = x.saturating_sub(r);
            while hi < want_hi {
                sum += row[hi] as f64;
                hi += 1;
            }
            while lo < want_lo {
                sum -= row[lo] as f64;
                lo += 1;
            }
            *o = (sum / (hi - lo) as f64) as f32;
        }
    }
    // Vertical pass, a row at a time to stay cache-friendly.
    let mut out = vec![0f32; w * h];
    let mut sums = vec![0f64; w];
    let (mut lo, mut hi) = (0usize, 0usize);
    for y in 0..h {
        let want_hi = (y + r + 1).min(h);
        let want_lo = y.saturating_sub(r);
        while hi < want_hi {
            for (s, v) in sums.iter_mut().zip(&tmp[hi * w..(hi + 1) * w]) {
                *s += *v as f64;
            }
            hi += 1;
        }
        while lo < want_lo {
            for (s, v) in sums.iter_mut().zip(&tmp[lo * w..(lo + 1) * w]) {
                *s -= *v as f64;
            }
            lo += 1;
        }
        let inv = 1.0 / (hi - lo) as f64;
        for (o, s) in out[y * w..(y + 1) * w].iter_mut().zip(&sums) {
            *o = (*s * inv) as f32;
        }
    }
    out
}

/// The guide for [`guided_upsample`]: the plate's luminance, sRGB-encoded so that edges in the
/// shadows count as much as they look, clamped to 0..1.
pub fn guide_from_luminance(linear_luma: &[f32]) -> Vec<f32> {
    // The table-driven encoder: exact to 1/65535, far cheaper than `powf` per pixel.
    linear_luma
        .iter()
        .map(|v| linear_to_srgb_u16(*v) as f32 * (1.0 / 65535.0))
        .collect()
}

/// Upsamples `low` (`lw`×`lh`, any units) to the guide's size `gw`×`gh`, edge-aware.
///
/// Values keep their units: the map is normalised to 0..1 for filtering and scaled back.
pub fn guided_upsample(
    low: &[f32],
    lw: u32,
    lh: u32,
    guide: &[f32],
    gw: u32,
    gh: u32,
    params: GuidedParams,
) -> Result<Vec<f32>, UpsampleError> {
    if low.len() != lw as usize * lh as usize || guide.len() != gw as usize * gh as usize {
        return Err(UpsampleError(
            "buffer sizes do not match their dimensions".into(),
        ));
    }
    // Normalise to 0..1 so eps means the same for metres, disparity and coverage.
    let (lo, hi) = low
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    if !lo.is_finite() || hi - lo <= f32::EPSILON {
        let fill = if lo.is_finite() { lo } else { 0.0 };
        return Ok(vec![fill; guide.len()]);
    }
    let span = hi - lo;
    let p_low: Vec<f32> = low
        .iter()
        .map(|v| if v.is_finite() { (v - lo) / span } else { 0.0 })
        .collect();

    // Working resolution: about twice the model's, at most the plate's.
    let ww = gw.min((lw * 2).max(64));
    let wh = ((gh as u64 * ww as u64 + gw as u64 / 2) / gw as u64).max(1) as u32;
    let i_w = resize_f32(guide, gw, gh, ww, wh)?;
    let p_w = resize_f32(&p_low, lw, lh, ww, wh)?;
    let r = ((params.radius * ww as f32 / lw as f32).round() as usize).max(1);
    let (w, h) = (ww as usize, wh as usize);

    let ii: Vec<f32> = i_w.iter().map(|v| v * v).collect();
    let ip: Vec<f32> = i_w.iter().zip(&p_w).map(|(i, p)| i * p).collect();
    let mean_i = box_mean(&i_w, w, h, r);
    let mean_p = box_mean(&p_w, w, h, r);
    let corr_ii = box_mean(&ii, w, h, r);
    let corr_ip = box_mean(&ip, w, h, r);
    let mut a = vec![0f32; w * h];
    let mut b = vec![0f32; w * h];
    for k in 0..w * h {
        let var_i = corr_ii[k] - mean_i[k] * mean_i[k];
        let cov_ip = corr_ip[k] - mean_i[k] * mean_p[k];
        a[k] = cov_ip / (var_i + params.eps);
        b[k] = mean_p[k] - a[k] * mean_i[k];
    }
    let mean_a = resize_f32(&box_mean(&a, w, h, r), ww, wh, gw, gh)?;
    let mean_b = resize_f32(&box_mean(&b, w, h, r), ww, wh, gw, gh)?;
    Ok(guide
        .iter()
        .zip(mean_a.iter().zip(&mean_b))
        .map(|(i, (a, b))| ((a * i + b).clamp(0.0, 1.0)) * span + lo)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_matches_a_direct_sum() {
        let (w, h, r) = (7usize, 5usize, 2usize);
        let src: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 11) as f32).collect();
        let got = box_mean(&src, w, h, r);
        for y in 0..h {
            for x in 0..w {
                let (mut s, mut n) = (0f32, 0f32);
                for yy in y.saturating_sub(r)..(y + r + 1).min(h) {
                    for xx in x.saturating_sub(r)..(x + r + 1).min(w) {
                        s += src[yy * w + xx];
                        n += 1.0;
                    }
                }
                assert!((got[y * w + x] - s / n).abs() < 1e-4);
            }
        }
    }

    /// A sharp vertical edge in the guide, and a blocky low-res map with the same edge: the
    /// upsampled map must have a sharp edge where the guide has it, not a bilinear ramp.
    #[test]
    fn edges_follow_the_guide() {
        let (gw, gh) = (256u32, 64u32);
        let edge = 101usize; // not on a low-res pixel boundary
        let guide: Vec<f32> = (0..gw * gh)
            .map(|i| if (i % gw) as usize >= edge { 0.9 } else { 0.1 })
            .collect();
        let (lw, lh) = (16u32, 4u32);
        let low: Vec<f32> = (0..lw * lh)
            .map(|i| {
                let x_full = ((i % lw) as f32 + 0.5) * gw as f32 / lw as f32;
                if x_full >= edge as f32 { 10.0 } else { 2.0 }
            })
            .collect();
        let up = guided_upsample(&low, lw, lh, &guide, gw, gh, GuidedParams::DEPTH).unwrap();
        let row = &up[32 * gw as usize..33 * gw as usize];
        // Units are kept.
        assert!(row[0] > 1.9 && row[0] < 2.2, "{}", row[0]);
        assert!(row[255] > 9.8 && row[255] < 10.1, "{}", row[255]);
        // The step happens where the guide's edge is, in one pixel, not over a low-res pixel.
        let jump = row[edge] - row[edge - 1];
        assert!(jump > 0.5 * 8.0, "the edge is sharp: a jump of {jump}");
        let bilinear = resize_f32(&low, lw, lh, gw, gh).unwrap();
        let b = &bilinear[32 * gw as usize..33 * gw as usize];
        let max_bilinear_jump = b
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(
            max_bilinear_jump < 1.0,
            "bilinear ramps instead: {max_bilinear_jump}"
        );
    }

    #[test]
    fn flat_maps_stay_flat() {
        let up = guided_upsample(&[3.0; 4], 2, 2, &[0.5; 64], 8, 8, GuidedParams::MATTE).unwrap();
        assert!(up.iter().all(|v| *v == 3.0));
    }
}
