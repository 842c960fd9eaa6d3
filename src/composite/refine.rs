//! The artist's matte refinement brush: strokes that add to or subtract from the AI matte.
//!
//! Strokes are data saved in the project (`Project::matte_strokes`); the source frames and the
//! pass files are never modified. When a frame's inputs are built (`render::load_source`, and
//! the app's viewer), [`apply_strokes`] paints the strokes that apply to that frame over the
//! matte channel (g) of the aux image, in order, so renders and the viewer see the same matte.
//!
//! A stroke's coverage at a pixel is its brush falloff of the distance from the pixel's centre
//! `(x + 0.5, y + 0.5)` to the stroke's polyline (a single point is a round dab): 1 within
//! `radius_px * (1 - softness)`, easing down (smoothstep) to 0 at `radius_px`. An `add` stroke
//! pushes the matte towards 1 (`g + c * (1 - g)`), a `subtract` stroke towards 0
//! (`g * (1 - c)`). Only pixels inside a stroke's bounding box are visited, row by row in
//! parallel; pixels beyond its radius are left bit-identical.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::image::{Image, smoothstep};

/// Whether a stroke paints the matte in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrushMode {
    /// Towards fully covered (1): `g + c * (1 - g)`.
    #[default]
    Add,
    /// Towards uncovered (0): `g * (1 - c)`.
    Subtract,
}

/// One brush stroke over the matte.
///
/// In JSON: `{ "frame": 1001, "mode": "subtract", "radius_px": 24.0, "softness": 0.5,
/// "points": [[120.0, 80.5], [131.0, 84.0]] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatteStroke {
    /// The frame it applies to, by the sequence's own frame number; `null` applies it to every
    /// frame (and is what a still's strokes use).
    #[serde(default)]
    pub frame: Option<u32>,
    /// Add to or subtract from the matte.
    pub mode: BrushMode,
    /// The brush radius in plate pixels. Clamped to 0.5..=500.
    pub radius_px: f32,
    /// The falloff: 0 is a hard edge, 1 eases from the centre line all the way out. Clamped to
    /// 0..=1; default 0.5.
    #[serde(default = "default_softness")]
    pub softness: f32,
    /// The stroke's polyline in plate pixel coordinates (x right, y down, the top-left corner of
    /// the plate is 0,0). One point is a dab. Must be finite; a stroke with no points is removed
    /// (with a warning) on load; at most [`MAX_STROKE_POINTS`].
    pub points: Vec<[f32; 2]>,
}

/// The brush radius a non-finite radius is reset to (plate pixels).
pub const DEFAULT_RADIUS_PX: f32 = 20.0;

/// The default brush softness.
pub const DEFAULT_SOFTNESS: f32 = 0.5;

/// The most points one stroke keeps (the rest are dropped, with a warning, on load).
pub const MAX_STROKE_POINTS: usize = 100_000;

fn default_softness() -> f32 {
    DEFAULT_SOFTNESS
}

impl MatteStroke {
    /// Whether the stroke applies to the frame numbered `frame` (`None`: a still).
    pub fn applies_to(&self, frame: Option<u32>) -> bool {
        self.frame.is_none() || self.frame == frame
    }

    /// The brush coverage (0..=1) at `distance` pixels from the stroke's centre line.
    pub fn coverage(&self, distance: f32) -> f32 {
        falloff(
            distance,
            self.radius_px * (1.0 - self.softness),
            self.radius_px,
        )
    }
}

/// 1 within `inner`, smoothstep down to 0 at `outer`.
#[inline]
fn falloff(distance: f32, inner: f32, outer: f32) -> f32 {
    if distance <= inner {
        1.0
    } else if distance >= outer {
        0.0
    } else {
        1.0 - smoothstep(inner, outer, distance)
    }
}

/// Paints every stroke that applies to frame `frame` (the sequence's frame number; `None` for a
/// still) over the matte channel (g) of `aux`, in order. Stroke coordinates are in `aux`'s pixels
/// (as they are after `render::frame_inputs`, which resamples the passes to the plate).
pub fn apply_strokes(aux: &mut Image, strokes: &[MatteStroke], frame: Option<u32>) {
    let size = [aux.width, aux.height];
    apply_strokes_at(aux, strokes, frame, size);
}

/// [`apply_strokes`] for an `aux` that is not the plate's size (e.g. a proxy): stroke
/// coordinates, given in the pixels of a `plate_size` (`[width, height]`) plate, are scaled by
/// the size ratio, and the radius by the mean of the two ratios.
pub fn apply_strokes_at(
    aux: &mut Image,
    strokes: &[MatteStroke],
    frame: Option<u32>,
    plate_size: [u32; 2],
) {
    if aux.width == 0 || aux.height == 0 || plate_size[0] == 0 || plate_size[1] == 0 {
        return;
    }
    let sx = aux.width as f32 / plate_size[0] as f32;
    let sy = aux.height as f32 / plate_size[1] as f32;
    for stroke in strokes.iter().filter(|s| s.applies_to(frame)) {
        paint(aux, stroke, sx, sy);
    }
}

/// One segment of a stroke, in aux pixels.
struct Segment {
    a: [f32; 2],
    b: [f32; 2],
}

impl Segment {
    /// The x range (inclusive) that can be within `radius` of the segment on the row whose
    /// centre is at `yc`, or `None` when the whole row is farther.
    fn x_span(&self, yc: f32, radius: f32) -> Option<(f32, f32)> {
        let (a, b) = (self.a, self.b);
        let dy = b[1] - a[1];
        // The part of the segment within `radius` of the row, vertically.
        let (t0, t1) = if dy == 0.0 {
            if (a[1] - yc).abs() > radius {
                return None;
            }
            (0.0, 1.0)
        } else {
            let u = (yc - radius - a[1]) / dy;
            let v = (yc + radius - a[1]) / dy;
            (u.min(v).max(0.0), u.max(v).min(1.0))
        };
        if t0 > t1 {
            return None;
        }
        let x0 = a[0] + (b[0] - a[0]) * t0;
        let x1 = a[0] + (b[0] - a[0]) * t1;
        Some((x0.min(x1) - radius, x0.max(x1) + radius))
    }

    /// The squared distance from `p` to the segment.
    fn distance_sq(&self, p: [f32; 2]) -> f32 {
        let (a, b) = (self.a, self.b);
        let ab = [b[0] - a[0], b[1] - a[1]];
        let ap = [p[0] - a[0], p[1] - a[1]];
        let len_sq = ab[0] * ab[0] + ab[1] * ab[1];
        let t = if len_sq > 0.0 {
            ((ap[0] * ab[0] + ap[1] * ab[1]) / len_sq).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let d = [ap[0] - ab[0] * t, ap[1] - ab[1] * t];
        d[0] * d[0] + d[1] * d[1]
    }
}

/// Paints one stroke, its coordinates scaled by `sx`, `sy` into `aux`'s pixels.
fn paint(aux: &mut Image, stroke: &MatteStroke, sx: f32, sy: f32) {
    let radius = stroke.radius_px * 0.5 * (sx + sy);
    let softness = stroke.softness.clamp(0.0, 1.0);
    if !(radius.is_finite() && radius > 0.0) {
        return;
    }
    let inner = radius * (1.0 - softness);
    let points: Vec<[f32; 2]> = stroke
        .points
        .iter()
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .map(|p| [p[0] * sx, p[1] * sy])
        .collect();
    let segments: Vec<Segment> = match points.as_slice() {
        [] => return,
        [p] => vec![Segment { a: *p, b: *p }],
        _ => points
            .windows(2)
            .map(|w| Segment { a: w[0], b: w[1] })
            .collect(),
    };

    // The stroke's bounding box, as rows and columns whose pixel centres it can reach.
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in &points {
        for c in 0..2 {
            lo[c] = lo[c].min(p[c]);
            hi[c] = hi[c].max(p[c]);
        }
    }
    let (w, h) = (aux.width as usize, aux.height as usize);
    let first = |v: f32, n: usize| ((v - 0.5).ceil().max(0.0) as usize).min(n);
    let last = |v: f32, n: usize| ((v - 0.5).floor().min(n as f32 - 1.0) + 1.0).max(0.0) as usize;
    let (x0, x1) = (first(lo[0] - radius, w), last(hi[0] + radius, w));
    let (y0, y1) = (first(lo[1] - radius, h), last(hi[1] + radius, h));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let radius_sq = radius * radius;
    let subtract = stroke.mode == BrushMode::Subtract;

    aux.pixels[y0 * w..y1 * w]
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(row, pixels)| {
            let yc = (y0 + row) as f32 + 0.5;
            // The nearest distance (squared) from each pixel of the box's span to the polyline.
            let mut nearest = vec![f32::INFINITY; x1 - x0];
            for segment in &segments {
                let Some((left, right)) = segment.x_span(yc, radius) else {
                    continue;
                };
                let from = first(left, w).max(x0);
                let to = last(right, w).min(x1);
                for x in from..to {
                    let d = segment.distance_sq([x as f32 + 0.5, yc]);
                    let slot = &mut nearest[x - x0];
                    *slot = slot.min(d);
                }
            }
            for (px, &d_sq) in pixels[x0..x1].iter_mut().zip(&nearest) {
                if d_sq >= radius_sq {
                    continue;
                }
                let c = falloff(d_sq.sqrt(), inner, radius);
                if c <= 0.0 {
                    continue;
                }
                let g = px[1];
                px[1] = if subtract {
                    g * (1.0 - c)
                } else {
                    g + c * (1.0 - g)
                };
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stroke(mode: BrushMode, radius_px: f32, softness: f32, points: &[[f32; 2]]) -> MatteStroke {
        MatteStroke {
            frame: None,
            mode,
            radius_px,
            softness,
            points: points.to_vec(),
        }
    }

    #[test]
    fn a_hard_dab_covers_exactly_the_pixels_whose_centres_are_inside_its_radius() {
        let mut aux = Image::filled(40, 30, [5.0, 0.0, 0.5, 0.0]);
        let dab = stroke(BrushMode::Add, 6.0, 0.0, &[[20.0, 15.0]]);
        apply_strokes(&mut aux, &[dab], Some(1001));
        for y in 0..30 {
            for x in 0..40 {
                let (dx, dy) = (x as f32 + 0.5 - 20.0, y as f32 + 0.5 - 15.0);
                let inside = (dx * dx + dy * dy).sqrt() < 6.0;
                let px = aux.pixels[y * 40 + x];
                assert_eq!(px[1], if inside { 1.0 } else { 0.0 }, "({x}, {y})");
                // Distance and nearness are never touched.
                assert_eq!((px[0], px[2]), (5.0, 0.5));
            }
        }
    }

    #[test]
    fn a_line_covers_its_whole_length_and_stops_at_the_frame_edges() {
        let mut aux = Image::filled(64, 16, [1.0, 1.0, 0.0, 0.0]);
        // From outside the left edge to outside the right one.
        let line = stroke(BrushMode::Subtract, 3.0, 0.0, &[[-10.0, 8.0], [80.0, 8.0]]);
        apply_strokes(&mut aux, &[line], None);
        for x in 0..64 {
            assert_eq!(aux.pixels[7 * 64 + x][1], 0.0, "row 7, x {x}");
            assert_eq!(aux.pixels[8 * 64 + x][1], 0.0, "row 8, x {x}");
            assert_eq!(aux.pixels[x][1], 1.0, "row 0, x {x}");
        }
    }

    #[test]
    fn coordinates_scale_to_an_aux_of_another_size() {
        let mut full = Image::new(200, 100);
        let mut half = Image::new(100, 50);
        let dab = stroke(BrushMode::Add, 20.0, 0.0, &[[100.0, 50.0]]);
        apply_strokes(&mut full, std::slice::from_ref(&dab), None);
        apply_strokes_at(&mut half, &[dab], None, [200, 100]);
        // Half size: centred on (50, 25) with a radius of 10.
        assert_eq!(half.pixels[25 * 100 + 50][1], 1.0);
        assert_eq!(half.pixels[25 * 100 + 62][1], 0.0);
        let covered = |i: &Image| i.pixels.iter().filter(|p| p[1] > 0.5).count() as f32;
        let ratio = covered(&full) / covered(&half);
        assert!((ratio - 4.0).abs() < 0.2, "area ratio {ratio}");
    }
}
