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
//! (`g * (1 - c)`). Pixels at or beyond the radius are left bit-identical.
//!
//! The distance is exact (the same as measuring every segment) but each pixel is measured
//! against about one piece of the polyline: the plane near a stroke is cut into convex regions,
//! one per segment (pixels projecting inside it) and one per vertex (the wedge beyond both
//! segments meeting there), each a single interval on a row. Rows run in parallel (rayon); the
//! cost grows with the pixels covered plus the points times the rows of the brush's diameter.
//! In a release build, 20 strokes of 60 points across 300 px with a 30 px radius take about
//! 5 ms of one core at 1080p.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::image::Image;
use super::layers::SceneSettings;

/// Whether a stroke paints the matte in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrushMode {
    /// Towards fully covered (1): `g + c * (1 - g)`.
    #[default]
    Add,
    /// Towards uncovered (0): `g * (1 - c)`.
    Subtract,
    /// The depth brush: pushes the depth back, multiplying the distance by `2^(amount * c)`.
    Push,
    /// The depth brush: pulls the depth nearer, dividing the distance by `2^(amount * c)`.
    Pull,
}

impl BrushMode {
    /// Whether it paints the depth (push, pull) rather than the matte (add, subtract).
    pub fn is_depth(self) -> bool {
        matches!(self, BrushMode::Push | BrushMode::Pull)
    }
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
    /// The depth brush's strength in stops at the centre line: 1 doubles (push) or halves
    /// (pull) the distance. Clamped to 0..=8; default 1. The matte brush ignores it.
    #[serde(default = "default_amount", skip_serializing_if = "is_default_amount")]
    pub amount: f32,
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

/// The default depth brush strength (stops).
pub const DEFAULT_AMOUNT: f32 = 1.0;

fn default_amount() -> f32 {
    DEFAULT_AMOUNT
}

fn is_default_amount(amount: &f32) -> bool {
    *amount == DEFAULT_AMOUNT
}

impl MatteStroke {
    /// Whether the stroke applies to the frame numbered `frame` (`None`: a still).
    pub fn applies_to(&self, frame: Option<u32>) -> bool {
        self.frame.is_none() || self.frame == frame
    }

    /// The brush coverage (0..=1) at `distance` pixels from the stroke's centre line.
    pub fn coverage(&self, distance: f32) -> f32 {
        let inner = self.radius_px * (1.0 - self.softness);
        falloff(
            distance,
            inner,
            self.radius_px,
            inverse_ramp(inner, self.radius_px),
        )
    }
}

/// `1 / (outer - inner)`, or 0 for a hard brush (which never reaches the ramp).
fn inverse_ramp(inner: f32, outer: f32) -> f32 {
    if outer > inner {
        1.0 / (outer - inner)
    } else {
        0.0
    }
}

/// 1 within `inner`, smoothstep down to 0 at `outer` and beyond (`inv_ramp` from [`inverse_ramp`]), the
/// division hoisted out of the per-pixel work.
#[inline]
fn falloff(distance: f32, inner: f32, outer: f32, inv_ramp: f32) -> f32 {
    // Nothing at or beyond the radius, even for a hard brush (whose inner radius is the radius).
    if distance >= outer {
        0.0
    } else if distance <= inner {
        1.0
    } else {
        let t = ((distance - inner) * inv_ramp).clamp(0.0, 1.0);
        1.0 - t * t * (3.0 - 2.0 * t)
    }
}

/// Paints every matte stroke (add, subtract) that applies to frame `frame` (the sequence's frame
/// number; `None` for a still) over the matte channel (g) of `aux`, in order; the depth strokes
/// are [`apply_depth_strokes_at`]'s. Stroke coordinates are in `aux`'s pixels
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
    paint_all(aux, strokes, frame, plate_size, None);
}

/// Paints the matte strokes (`scene` `None`) or the depth strokes (`Some`) that apply to `frame`,
/// in order, their coordinates scaled from a `plate_size` plate to `aux`.
fn paint_all(
    aux: &mut Image,
    strokes: &[MatteStroke],
    frame: Option<u32>,
    plate_size: [u32; 2],
    scene: Option<&SceneSettings>,
) {
    if aux.width == 0 || aux.height == 0 || plate_size[0] == 0 || plate_size[1] == 0 {
        return;
    }
    let sx = aux.width as f32 / plate_size[0] as f32;
    let sy = aux.height as f32 / plate_size[1] as f32;
    for stroke in strokes
        .iter()
        .filter(|s| s.applies_to(frame) && s.mode.is_depth() == scene.is_some())
    {
        paint(aux, stroke, sx, sy, scene);
    }
}

/// Paints every depth stroke (push, pull) that applies to frame `frame` over the distance (r)
/// and nearness (b) channels of `aux`, in order, as [`apply_strokes_at`] does the matte. The
/// nearness moves with the distance by `scene`'s mapping.
pub fn apply_depth_strokes_at(
    aux: &mut Image,
    strokes: &[MatteStroke],
    frame: Option<u32>,
    plate_size: [u32; 2],
    scene: &SceneSettings,
) {
    paint_all(aux, strokes, frame, plate_size, Some(scene));
}

/// How far (pixels) every region is widened before it is cut out of a row, so rounding never
/// leaves a pixel out of the region holding its nearest point. Measuring a pixel against a
/// region it is not in is harmless (it gives a true distance to the stroke, never a shorter
/// one), so the margin only costs a few measurements.
const MARGIN_PX: f32 = 0.25;

/// Rows per band of the index from rows to the regions that can reach them.
const BAND_ROWS: usize = 8;

/// One side of a region on a row: `x >= bound` (a left edge) or `x <= bound` (a right edge),
/// `bound = x + (yc - y) * slope + offset` on the row centred at `yc`. Kept relative to a point
/// on the line, so a steep slope loses no precision.
#[derive(Debug, Clone, Copy)]
struct Edge {
    x: f32,
    y: f32,
    slope: f32,
    offset: f32,
}

impl Edge {
    /// An edge that excludes nothing.
    const OPEN: Edge = Edge {
        x: 0.0,
        y: 0.0,
        slope: 0.0,
        offset: f32::INFINITY,
    };

    #[inline]
    fn at(&self, yc: f32) -> f32 {
        self.x + (yc - self.y) * self.slope + self.offset
    }
}

/// Which piece of the polyline a region measures against.
#[derive(Debug, Clone, Copy)]
enum Piece {
    /// The segment from `a` along `ab`; `inv_len_sq` is `1 / |ab|²`.
    Segment {
        a: [f32; 2],
        ab: [f32; 2],
        inv_len_sq: f32,
    },
    /// The vertex `v`, within the disc of the stroke's radius.
    Vertex { v: [f32; 2] },
}

/// A part of the plane where one piece of the polyline is the nearest: a segment's rectangle
/// (pixels that project inside it, within the radius of its line) or a vertex's wedge (pixels
/// beyond both segments meeting there; a half-disc at the ends; the whole disc for a dab). Each
/// is convex, so it cuts one interval out of a row, and each pixel within the radius is measured
/// against about one piece however dense the stroke's points are. The edges are precomputed, so
/// cutting a row costs a few multiplications.
#[derive(Debug, Clone)]
struct Region {
    piece: Piece,
    /// The row centres (y) the region reaches.
    top: f32,
    bottom: f32,
    /// Left edges (`x >=`), then right edges (`x <=`); unused ones are open.
    left: [Edge; 2],
    right: [Edge; 2],
}

impl Region {
    fn new(piece: Piece, top: f32, bottom: f32) -> Region {
        let open_left = Edge {
            offset: f32::NEG_INFINITY,
            ..Edge::OPEN
        };
        Region {
            piece,
            top,
            bottom,
            left: [open_left; 2],
            right: [Edge::OPEN; 2],
        }
    }

    /// Keeps only the side `(p - at) · dir >= -MARGIN_PX` (`dir` a unit vector).
    fn keep_side(&mut self, at: [f32; 2], dir: [f32; 2]) {
        if dir[0].abs() < 1e-6 {
            // A horizontal boundary: it limits the rows, not the columns.
            if dir[1] > 0.0 {
                self.top = self.top.max(at[1] - MARGIN_PX / dir[1]);
            } else {
                self.bottom = self.bottom.min(at[1] - MARGIN_PX / dir[1]);
            }
            return;
        }
        // (x - at.x) dir.x + (yc - at.y) dir.y + margin >= 0
        let edge = Edge {
            x: at[0],
            y: at[1],
            slope: -dir[1] / dir[0],
            offset: -MARGIN_PX / dir[0],
        };
        let slots = if dir[0] > 0.0 {
            &mut self.left
        } else {
            &mut self.right
        };
        // Each region has at most two edges on a side (a segment's rectangle has four sides).
        if let Some(slot) = slots.iter_mut().find(|e| e.offset.is_infinite()) {
            *slot = edge;
        }
    }

    /// The x interval of the row centred at `yc` inside the region (`radius` is the stroke's,
    /// widened by the margin); empty when `lo > hi`.
    #[inline]
    fn span(&self, yc: f32, radius: f32) -> (f32, f32) {
        if yc < self.top || yc > self.bottom {
            return (1.0, 0.0);
        }
        let mut lo = self.left[0].at(yc).max(self.left[1].at(yc));
        let mut hi = self.right[0].at(yc).min(self.right[1].at(yc));
        if let Piece::Vertex { v } = self.piece {
            let dy = yc - v[1];
            let half = (radius * radius - dy * dy).max(0.0).sqrt();
            lo = lo.max(v[0] - half);
            hi = hi.min(v[0] + half);
        }
        (lo, hi)
    }

    /// Lowers `nearest[i]` (squared distances of pixels `from + i` on the row centred at `yc`)
    /// to the squared distance from each pixel's centre to this piece of the stroke.
    #[inline]
    fn measure(&self, nearest: &mut [f32], from: usize, yc: f32) {
        // Whole-number x, as i32 so the loops vectorise (frames are far narrower than 2^31).
        let from = from as i32;
        match self.piece {
            Piece::Segment { a, ab, inv_len_sq } => {
                let ay = yc - a[1];
                for (i, slot) in nearest.iter_mut().enumerate() {
                    let ax = (from + i as i32) as f32 + 0.5 - a[0];
                    let t = ((ax * ab[0] + ay * ab[1]) * inv_len_sq).clamp(0.0, 1.0);
                    let (dx, dy) = (ax - ab[0] * t, ay - ab[1] * t);
                    *slot = slot.min(dx * dx + dy * dy);
                }
            }
            Piece::Vertex { v } => {
                let dy = yc - v[1];
                for (i, slot) in nearest.iter_mut().enumerate() {
                    let dx = (from + i as i32) as f32 + 0.5 - v[0];
                    *slot = slot.min(dx * dx + dy * dy);
                }
            }
        }
    }
}

/// The regions of a polyline (in aux pixels, finite) for a stroke of `radius`: one per vertex
/// and one per segment. Repeated points are dropped first (a zero-length segment has no
/// direction).
fn regions(points: &[[f32; 2]], radius: f32) -> Vec<Region> {
    let mut path: Vec<[f32; 2]> = Vec::with_capacity(points.len());
    for &p in points {
        if path.last() != Some(&p) {
            path.push(p);
        }
    }
    let directions: Vec<[f32; 2]> = path
        .windows(2)
        .map(|w| {
            let d = [w[1][0] - w[0][0], w[1][1] - w[0][1]];
            let len = d[0].hypot(d[1]);
            [d[0] / len, d[1] / len]
        })
        .collect();
    let r = radius + MARGIN_PX;
    let mut out = Vec::with_capacity(path.len() + directions.len());
    for (i, &v) in path.iter().enumerate() {
        let mut region = Region::new(Piece::Vertex { v }, v[1] - r, v[1] + r);
        // Beyond the end of the segment arriving here, and before the start of the one leaving.
        if let Some(j) = i.checked_sub(1) {
            region.keep_side(v, directions[j]);
        }
        if let Some(u) = directions.get(i) {
            region.keep_side(v, [-u[0], -u[1]]);
        }
        out.push(region);
    }
    for (w, &u) in path.windows(2).zip(&directions) {
        let (a, b) = (w[0], w[1]);
        let ab = [b[0] - a[0], b[1] - a[1]];
        let piece = Piece::Segment {
            a,
            ab,
            inv_len_sq: 1.0 / (ab[0] * ab[0] + ab[1] * ab[1]),
        };
        let mut region = Region::new(piece, a[1].min(b[1]) - r, a[1].max(b[1]) + r);
        region.keep_side(a, u);
        region.keep_side(b, [-u[0], -u[1]]);
        // Within the radius of the segment's line, on either side.
        let n = [-u[1], u[0]];
        region.keep_side([a[0] - radius * n[0], a[1] - radius * n[1]], n);
        region.keep_side([a[0] + radius * n[0], a[1] + radius * n[1]], [-n[0], -n[1]]);
        out.push(region);
    }
    out
}

/// Paints one stroke, its coordinates scaled by `sx`, `sy` into `aux`'s pixels.
fn paint(aux: &mut Image, stroke: &MatteStroke, sx: f32, sy: f32, scene: Option<&SceneSettings>) {
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
    if points.is_empty() {
        return;
    }

    // The stroke's bounding box, as rows and columns whose pixel centres it can reach.
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in &points {
        for c in 0..2 {
            lo[c] = lo[c].min(p[c]);
            hi[c] = hi[c].max(p[c]);
        }
    }
    let (w, h) = (aux.width as usize, aux.height as usize);
    let (x0, x1) = (first(lo[0] - radius, w), past(hi[0] + radius, w));
    let (y0, y1) = (first(lo[1] - radius, h), past(hi[1] + radius, h));
    if x0 >= x1 || y0 >= y1 {
        return;
    }

    // Which regions can reach each band of rows.
    let regions = regions(&points, radius);
    let mut bands: Vec<Vec<&Region>> = (0..(y1 - y0).div_ceil(BAND_ROWS))
        .map(|_| Vec::new())
        .collect();
    for region in &regions {
        let (r0, r1) = (first(region.top, h).max(y0), past(region.bottom, h).min(y1));
        if r0 < r1 {
            for band in &mut bands[(r0 - y0) / BAND_ROWS..=(r1 - 1 - y0) / BAND_ROWS] {
                band.push(region);
            }
        }
    }

    let radius_sq = radius * radius;
    let inner_sq = inner * inner;
    let reach = radius + MARGIN_PX;
    let inv_ramp = inverse_ramp(inner, radius);
    let mode = stroke.mode;
    let amount = if stroke.amount.is_finite() {
        stroke.amount.clamp(0.0, 8.0)
    } else {
        DEFAULT_AMOUNT
    };
    aux.pixels[y0 * w..y1 * w]
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(row, pixels)| {
            let yc = (y0 + row) as f32 + 0.5;
            // Squared distance from each pixel of the box's row to the polyline, where it is
            // within the radius.
            let mut nearest = vec![radius_sq; x1 - x0];
            let (mut touched_lo, mut touched_hi) = (x1, x0);
            for region in &bands[row / BAND_ROWS] {
                let (left, right) = region.span(yc, reach);
                if left > right {
                    continue;
                }
                let from = first(left, w).max(x0);
                let to = past(right, w).min(x1);
                if from < to {
                    region.measure(&mut nearest[from - x0..to - x0], from, yc);
                    touched_lo = touched_lo.min(from);
                    touched_hi = touched_hi.max(to);
                }
            }
            if touched_lo >= touched_hi {
                return;
            }
            let row_pixels = &mut pixels[touched_lo..touched_hi];
            for (px, &d_sq) in row_pixels.iter_mut().zip(&nearest[touched_lo - x0..]) {
                if d_sq >= radius_sq {
                    continue;
                }
                let c = if d_sq <= inner_sq {
                    1.0
                } else {
                    falloff(d_sq.sqrt(), inner, radius, inv_ramp)
                };
                if c <= 0.0 {
                    continue;
                }
                match (mode, scene) {
                    (BrushMode::Add, _) => px[1] += c * (1.0 - px[1]),
                    (BrushMode::Subtract, _) => px[1] *= 1.0 - c,
                    (BrushMode::Push | BrushMode::Pull, Some(scene)) => {
                        let d = px[0];
                        if d.is_finite() && d > 0.0 {
                            let stops = if mode == BrushMode::Push {
                                amount
                            } else {
                                -amount
                            };
                            let moved = (d * (stops * c).exp2()).max(1e-3);
                            px[2] += scene.nearness_at(moved) - scene.nearness_at(d);
                            px[0] = moved;
                        }
                    }
                    _ => {}
                }
            }
        });
}

/// A pixel (of `n`) at or before the first whose centre is at or after `v` (at most one
/// before: callers only ever measure a pixel too many, which is harmless, never one too few).
/// Plain casts rather than `ceil`, which is a library call on baseline x86-64.
#[inline]
fn first(v: f32, n: usize) -> usize {
    ((v - 0.5).max(0.0) as usize).min(n)
}

/// A pixel index (of `n`) at or after one past the last pixel whose centre is at or before `v`
/// (at most one after).
#[inline]
fn past(v: f32, n: usize) -> usize {
    ((v + 0.5).max(0.0) as usize + 1).min(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stroke(mode: BrushMode, radius_px: f32, softness: f32, points: &[[f32; 2]]) -> MatteStroke {
        MatteStroke {
            amount: 1.0,
            frame: None,
            mode,
            radius_px,
            softness,
            points: points.to_vec(),
        }
    }

    #[test]
    fn the_depth_brush_pushes_and_pulls_the_distance_by_stops_and_leaves_the_matte() {
        let scene = SceneSettings::default();
        let start = 4.0f32;
        let mut aux = Image::filled(60, 30, [start, 0.3, scene.nearness_at(start), 0.0]);
        let mut push = stroke(BrushMode::Push, 8.0, 0.0, &[[15.0, 15.0]]);
        push.amount = 1.0;
        let mut pull = stroke(BrushMode::Pull, 8.0, 0.5, &[[45.0, 15.0]]);
        pull.amount = 2.0;
        let strokes = [push, pull];
        // The matte pass leaves the depth strokes alone, and the depth pass the matte.
        apply_strokes(&mut aux, &strokes, None);
        assert!(aux.pixels.iter().all(|p| p[0] == start));
        apply_depth_strokes_at(&mut aux, &strokes, None, [60, 30], &scene);
        let at = |x: usize, y: usize| aux.pixels[y * 60 + x];
        // A hard push of 1 stop doubles the distance; a pull of 2 stops quarters it at its centre.
        assert!(
            (at(15, 15)[0] - 2.0 * start).abs() < 1e-4,
            "{:?}",
            at(15, 15)
        );
        assert!(
            (at(45, 15)[0] - start / 4.0).abs() < 1e-3,
            "{:?}",
            at(45, 15)
        );
        // Beyond the radius, nothing; the nearness follows the distance; the matte never moves.
        assert_eq!(at(30, 15)[0], start);
        for p in &aux.pixels {
            assert!((p[2] - scene.nearness_at(p[0])).abs() < 1e-5, "{p:?}");
            assert_eq!(p[1], 0.3);
        }
        // The soft pull eases out: farther from its centre, less pulled.
        assert!(at(45, 15)[0] < at(50, 15)[0] && at(50, 15)[0] < start);
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

    /// The coverage of every pixel by brute force: the distance to every segment.
    fn brute_force(w: u32, h: u32, s: &MatteStroke) -> Vec<f32> {
        let pts: Vec<[f32; 2]> = s.points.clone();
        let segments: Vec<([f32; 2], [f32; 2])> = if pts.len() == 1 {
            vec![(pts[0], pts[0])]
        } else {
            pts.windows(2).map(|w| (w[0], w[1])).collect()
        };
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let p = [x as f32 + 0.5, y as f32 + 0.5];
                let d = segments
                    .iter()
                    .map(|&(a, b)| {
                        let ab = [b[0] - a[0], b[1] - a[1]];
                        let ap = [p[0] - a[0], p[1] - a[1]];
                        let len_sq = ab[0] * ab[0] + ab[1] * ab[1];
                        let t = if len_sq > 0.0 {
                            ((ap[0] * ab[0] + ap[1] * ab[1]) / len_sq).clamp(0.0, 1.0)
                        } else {
                            0.0
                        };
                        (ap[0] - ab[0] * t).hypot(ap[1] - ab[1] * t)
                    })
                    .fold(f32::INFINITY, f32::min);
                out.push(s.coverage(d));
            }
        }
        out
    }

    #[test]
    fn the_regions_find_the_same_coverage_as_measuring_every_segment() {
        // Sharp turns, a reversal, repeated points, axis-aligned and near-axis segments, dense
        // and sparse points, a dab, and strokes leaving the frame.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut paths: Vec<Vec<[f32; 2]>> = vec![
            vec![[10.0, 10.0], [60.0, 10.0], [10.0, 10.0]],
            vec![
                [5.0, 40.0],
                [5.0, 40.0],
                [70.0, 40.0],
                [70.0, 5.0],
                [30.0, 60.0],
            ],
            vec![[20.0, 5.0], [20.0, 55.0], [20.001, 20.0], [75.0, 21.0]],
            vec![[40.0, 30.0]],
            vec![[-20.0, -5.0], [90.0, 70.0]],
        ];
        for _ in 0..60 {
            let n = 1 + (next() * 40.0) as usize;
            let spread = [3.0, 20.0, 60.0][(next() * 3.0) as usize % 3];
            let mut p = [next() * 80.0, next() * 64.0];
            let mut path = vec![p];
            for _ in 1..n {
                p = [
                    p[0] + (next() - 0.5) * spread,
                    p[1] + (next() - 0.5) * spread,
                ];
                path.push(p);
            }
            paths.push(path);
        }
        for (i, points) in paths.into_iter().enumerate() {
            let s = MatteStroke {
                amount: 1.0,
                frame: None,
                mode: BrushMode::Add,
                radius_px: [3.0, 9.5, 17.0][i % 3],
                softness: [0.0, 0.5, 1.0][(i / 3) % 3],
                points,
            };
            let mut aux = Image::new(80, 64);
            apply_strokes(&mut aux, std::slice::from_ref(&s), None);
            let expected = brute_force(80, 64, &s);
            for (k, (px, want)) in aux.pixels.iter().zip(&expected).enumerate() {
                let (x, y) = (k % 80, k / 80);
                assert!(
                    (px[1] - want).abs() < 1e-4,
                    "stroke {i} {s:?} at ({x}, {y}): {} vs {want}",
                    px[1]
                );
            }
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
