//! Temporal stability for sequences: each frame's raw depth and matte are blended with those of
//! its neighbours, pixel by pixel, wherever the plate there has not changed.
//!
//! The filter is a joint bilateral filter in time, guided by the plate:
//! - for frame `t`, every frame `s` within `radius` frames of it contributes its raw result at
//!   each pixel with the weight `exp(-(d / tolerance)²)`;
//! - `d` is the mean absolute difference of the two plates' sRGB-encoded luminance over the 3×3
//!   pixels around it, at the model's output resolution (so codec noise averages out);
//! - frame `t` itself always has the weight 1.
//!
//! Where the plate is still, the neighbours count fully, and the model's frame-to-frame noise
//! averages out over up to `2 × radius + 1` frames. Where something moves, the plates differ and
//! the neighbours' weights fall to nothing, so a moving subject is never dragged or ghosted: its
//! result is that frame's own. The window is symmetric, so there is no lag, and finite, so a
//! chunk of a shot (`--frames A-B`) that reads `radius` frames on each side of its range gets
//! exactly the result of one run over the whole shot.
//!
//! It works on the raw model outputs (before the shot-wide normalisation and the upsampling),
//! which are small and which the pass cache keeps unfiltered: turning the filter off needs no
//! inference.

use serde::{Deserialize, Serialize};

use crate::infer::RawOutput;
use crate::shot::Plate;
use crate::shot::colour::linear_to_srgb;

/// The filter's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemporalSettings {
    /// Frames on each side of a frame that it is blended with (0 turns the filter off).
    pub radius: u32,
    /// The plate difference (mean absolute difference of sRGB-encoded luminance, 0..1) at which
    /// a neighbour's weight has fallen to 1/e; smaller keeps more of each frame's own result.
    pub tolerance: f32,
}

impl Default for TemporalSettings {
    fn default() -> Self {
        TemporalSettings {
            radius: 3,
            tolerance: 0.02,
        }
    }
}

impl TemporalSettings {
    /// Settings with their values made usable: the radius at most 12 frames, the tolerance
    /// finite and in 1e-4..=1 (else the default).
    pub fn clamped(self) -> TemporalSettings {
        let tolerance = if self.tolerance.is_finite() {
            self.tolerance.clamp(1e-4, 1.0)
        } else {
            TemporalSettings::default().tolerance
        };
        TemporalSettings {
            radius: self.radius.min(12),
            tolerance,
        }
    }

    /// A short text for cache and stamp keys, and for the exports' metadata.
    pub fn describe(&self) -> String {
        format!("radius={} tolerance={}", self.radius, self.tolerance)
    }
}

/// A frame's plate at a model's output resolution: sRGB-encoded luminance, 0..1 (1 and more for
/// super-whites), the area average of the plate's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Guide {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` values, row-major.
    pub values: Vec<f32>,
}

impl Guide {
    /// The guide for a result of `width × height`, from the plate's linear luminance
    /// (`luma`, one value a pixel, as `Plate::luminance_weighted` gives).
    pub fn new(plate: &Plate, luma: &[f32], width: u32, height: u32) -> Guide {
        let (pw, ph) = (plate.width as usize, plate.height as usize);
        let (w, h) = (width.max(1) as usize, height.max(1) as usize);
        let mut values = vec![0.0f32; w * h];
        if pw == 0 || ph == 0 || luma.len() < pw * ph {
            return Guide {
                width: w as u32,
                height: h as u32,
                values,
            };
        }
        // Each output pixel averages the plate pixels whose centres fall inside it (at least one).
        let span = |i: usize, n: usize, m: usize| {
            let a = i * m / n;
            let b = ((i + 1) * m / n).max(a + 1).min(m);
            (a.min(m - 1), b)
        };
        let cols: Vec<(usize, usize)> = (0..w).map(|x| span(x, w, pw)).collect();
        let mut row = vec![0.0f32; w];
        for y in 0..h {
            let (y0, y1) = span(y, h, ph);
            row.iter_mut().for_each(|v| *v = 0.0);
            for sy in y0..y1 {
                let src = &luma[sy * pw..(sy + 1) * pw];
                for (acc, &(x0, x1)) in row.iter_mut().zip(&cols) {
                    *acc += src[x0..x1].iter().sum::<f32>();
                }
            }
            for (x, (&acc, &(x0, x1))) in row.iter().zip(&cols).enumerate() {
                let n = ((x1 - x0) * (y1 - y0)) as f32;
                values[y * w + x] = linear_to_srgb((acc / n).max(0.0));
            }
        }
        Guide {
            width: w as u32,
            height: h as u32,
            values,
        }
    }
}

/// One frame's input to the filter: its raw result and its guide at the same size.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The model's raw output.
    pub raw: &'a RawOutput,
    /// The plate at the output's size.
    pub guide: &'a Guide,
}

impl Sample<'_> {
    fn fits(&self, width: u32, height: u32) -> bool {
        let n = width as usize * height as usize;
        self.raw.width == width
            && self.raw.height == height
            && self.guide.width == width
            && self.guide.height == height
            && self.raw.values.len() == n
            && self.guide.values.len() == n
    }
}

/// 3×3 mean of `|a - b|`, edges clamped.
fn patch_difference(a: &[f32], b: &[f32], w: usize, h: usize) -> Vec<f32> {
    let diff: Vec<f32> = a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect();
    // Horizontal then vertical sums of three.
    let mut horizontal = vec![0.0f32; w * h];
    for y in 0..h {
        let row = &diff[y * w..(y + 1) * w];
        for x in 0..w {
            let l = row[x.saturating_sub(1)];
            let r = row[(x + 1).min(w - 1)];
            horizontal[y * w + x] = l + row[x] + r;
        }
    }
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        let up = &horizontal[y.saturating_sub(1) * w..][..w];
        let mid = &horizontal[y * w..][..w];
        let down = &horizontal[(y + 1).min(h - 1) * w..][..w];
        for x in 0..w {
            out[y * w + x] = (up[x] + mid[x] + down[x]) / 9.0;
        }
    }
    out
}

/// A neighbour whose plate differs from the centre's by more than this on average (sRGB-encoded
/// luminance) is across a cut: it and every frame beyond it are left out, so two shots never
/// blend, not even in regions that happen to look alike (a black sky in both, say).
pub const CUT_DIFFERENCE: f32 = 0.1;

/// The filtered result of `centre`, blended with the frames `before` and `after` it (each side
/// nearest first, at most the radius). A side stops at its first frame of another size (a
/// mixed-size shot) or across a cut ([`CUT_DIFFERENCE`]).
pub fn filter(
    centre: Sample<'_>,
    before: &[Sample<'_>],
    after: &[Sample<'_>],
    settings: &TemporalSettings,
) -> RawOutput {
    let (width, height) = (centre.raw.width, centre.raw.height);
    if !centre.fits(width, height) {
        return centre.raw.clone();
    }
    let (w, h) = (width as usize, height as usize);
    let mut sum: Vec<f32> = centre.raw.values.clone();
    let mut total = vec![1.0f32; w * h];
    let inv = 1.0 / settings.tolerance.max(1e-6);
    for side in [before, after] {
        for n in side {
            if !n.fits(width, height) {
                break;
            }
            let d = patch_difference(&centre.guide.values, &n.guide.values, w, h);
            let mean = d.iter().map(|&v| v as f64).sum::<f64>() / d.len().max(1) as f64;
            if mean.is_nan() || mean > CUT_DIFFERENCE as f64 {
                break;
            }
            for (((s, t), &d), &v) in sum.iter_mut().zip(&mut total).zip(&d).zip(&n.raw.values) {
                let x = d * inv;
                let weight = (-x * x).exp();
                // Below f32's precision against the centre's weight of 1: nothing to add (and a
                // non-finite neighbour value never leaks in through a zero weight).
                if weight > 1e-7 && v.is_finite() {
                    *s += weight * v;
                    *t += weight;
                }
            }
        }
    }
    RawOutput {
        width,
        height,
        values: sum.iter().zip(&total).map(|(s, t)| s / t).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(w: u32, h: u32, f: impl Fn(usize, usize) -> f32) -> RawOutput {
        let values = (0..h as usize)
            .flat_map(|y| (0..w as usize).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        RawOutput {
            width: w,
            height: h,
            values,
        }
    }

    fn guide(r: &RawOutput) -> Guide {
        Guide {
            width: r.width,
            height: r.height,
            values: r.values.clone(),
        }
    }

    #[test]
    fn still_pixels_average_and_moving_ones_keep_their_own_value() {
        // The plates: the same, except a bright square that is only in the centre frame.
        let still = raw(16, 16, |x, y| 0.2 + 0.01 * (x + y) as f32);
        let moved = raw(16, 16, |x, y| {
            if (4..8).contains(&x) && (4..8).contains(&y) {
                0.9
            } else {
                0.2 + 0.01 * (x + y) as f32
            }
        });
        let (g_still, g_moved) = (guide(&still), guide(&moved));
        let centre_raw = raw(16, 16, |_, _| 1.0);
        let other_raw = raw(16, 16, |_, _| 0.0);
        let centre = Sample {
            raw: &centre_raw,
            guide: &g_moved,
        };
        let neighbour = Sample {
            raw: &other_raw,
            guide: &g_still,
        };
        let out = filter(
            centre,
            &[neighbour],
            &[neighbour],
            &TemporalSettings::default(),
        );
        // Far from the square: three equal weights, (1 + 0 + 0) / 3.
        assert!((out.values[15 * 16 + 15] - 1.0 / 3.0).abs() < 1e-6);
        // Inside the square, the plate changed by 0.7: the centre's own value.
        assert!((out.values[5 * 16 + 5] - 1.0).abs() < 1e-6);
        // Neighbours of another size are left out.
        let small = raw(8, 8, |_, _| 0.0);
        let g_small = guide(&small);
        let odd = Sample {
            raw: &small,
            guide: &g_small,
        };
        let out = filter(centre, &[odd, neighbour], &[], &TemporalSettings::default());
        assert_eq!(out, centre_raw);
        // Across a cut (every pixel changed), nothing blends, not even the frame beyond it.
        let cut_plate = raw(16, 16, |x, y| 0.8 - 0.01 * (x + y) as f32);
        let g_cut = guide(&cut_plate);
        let cut = Sample {
            raw: &other_raw,
            guide: &g_cut,
        };
        let same_as_centre = Sample {
            raw: &other_raw,
            guide: &g_moved,
        };
        let out = filter(
            centre,
            &[cut, same_as_centre],
            &[],
            &TemporalSettings::default(),
        );
        assert_eq!(out, centre_raw);
    }

    #[test]
    fn guide_averages_the_plate_area() {
        let plate = Plate {
            width: 4,
            height: 2,
            rgba: vec![0.0; 32],
            source_bits: 8,
        };
        let luma = [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0];
        let g = Guide::new(&plate, &luma, 2, 1);
        assert_eq!((g.width, g.height), (2, 1));
        assert!((g.values[0] - linear_to_srgb(0.25)).abs() < 1e-6);
        assert!((g.values[1] - 1.0).abs() < 1e-6);
    }
}
