//! The 2.5D camera move's reprojection: the plate seen from a new camera, by ray-marching the
//! depth map as a height field (`shaders/reproject.wgsl` and its CPU twin here).
//!
//! ## Why a ray-marched height field and not a displaced mesh
//! Every output pixel evaluates the same closed-form function of its own coordinates on the CPU
//! and on the GPU (no rasteriser, no triangle setup, no depth-buffer ties), so the CPU reference
//! checks the GPU pixel for pixel. And a ray that passes *behind* a depth edge is seen directly
//! (its point is suddenly far under the surface), so it can be sent to the filled background
//! layer; a mesh would instead stretch rubber triangles across the edge, smearing foreground
//! colour over what the move reveals.
//!
//! ## The algorithm, per output pixel `(x, y)`
//! 1. The ray from the new camera (pose, focal `f·zoom`, principal point at the centre, pixel
//!    centres at +0.5): direction `R · ((x + 0.5 − cx)/f', (y + 0.5 − cy)/f', 1)` from the new
//!    centre, so the parameter `s` is the depth along the new camera's z axis.
//! 2. `steps` samples of `s`, evenly spaced in `1/s` between `0.5·near_m − |c|` (at least
//!    `0.05·near_m`) and `2·far_m + |c|`. Each point is projected into the source image (pinhole,
//!    `f = SceneSettings::focal_px`) and compared with the front layer's distance there: the
//!    height field is bilinear on smooth surfaces and the nearest texel where the 2×2 footprint
//!    spans a depth edge (ratio > `edge_ratio`), so edges stay steps. Steps that the layer's
//!    depth bounds ([`ReprojectOp::DepthBounds`], a lower bound per 8×8 tile) prove in front of
//!    the surface are passed over without sampling it, which changes no result.
//! 3. At the first step under the surface, `refine_steps` bisections (one more for each halving of
//!    the full `steps` that a short ray gives up) narrow the crossing, and a
//!    secant step places the hit inside the final interval.
//! 4. If the refined point is still behind the surface by more than `thickness × distance`, the
//!    ray went behind a depth edge: a disocclusion. It is marched again against the fill layer
//!    (from `prepare`), skipping further passes behind; the colour comes from the fill layer and
//!    `aux.a = 1`. If the fill layer has no surface for it either, the last point in front of the
//!    first edge it passed behind is used (a short stretch of background, never foreground).
//! 5. Outputs: the plate colour at the hit (premultiplied, bilinear, clamp-to-edge) and aux
//!    `(distance from the new camera along its z axis, matte, nearness, disoccluded)`.

use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;

use crate::composite::camera::CameraPose;
use crate::composite::image::Image;
use crate::composite::layers::SceneSettings;
use crate::composite::plan::{Input, PlanBuilder, Slot};
use crate::composite::prepare::PrepareSettings;

/// The default number of march steps: enough for the subtle moves of a 2.5D shot at 1080p.
pub const DEFAULT_STEPS: u32 = 96;
/// Source pixels per march step (see [`ReprojectParams::step_px`]): as dense as the fixed 96
/// steps were at the end of a 1080p template move (about 3.2 px a step), and denser before it.
pub const DEFAULT_STEP_PX: f32 = 3.0;
/// The fewest march steps a ray takes (WGSL `MIN_STEPS`).
pub const MIN_STEPS: u32 = 8;
/// Bisection steps refining each crossing (each halves the interval).
pub const REFINE_STEPS: u32 = 6;

/// The height of a point that cannot be under the surface (WGSL `IN_FRONT`).
const IN_FRONT: f32 = -1.0e30;

/// Parameters of [`ReprojectOp::Reproject`], laid out as `Params` in `shaders/reproject.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct ReprojectParams {
    /// The new camera's x axis (right) in source coordinates; `w` unused.
    pub rot_x: [f32; 4],
    /// The new camera's y axis (down) in source coordinates; `w` unused.
    pub rot_y: [f32; 4],
    /// The new camera's z axis (forward) in source coordinates; `w` unused.
    pub rot_z: [f32; 4],
    /// The new camera's centre in source coordinates (metres); `w` unused.
    pub centre: [f32; 4],
    /// `(cx, cy, source focal px, new focal px)`.
    pub lens: [f32; 4],
    /// `(1 / nearest march depth, 1 / farthest march depth, thickness, edge_ratio)`: thickness
    /// is relative to distance; edge_ratio is the neighbour distance ratio that makes a depth
    /// edge (use `PrepareSettings`' values, see [`ReprojectParams::with_settings`]).
    pub march: [f32; 4],
    /// March steps (at least 2).
    pub steps: u32,
    /// Bisection steps per crossing.
    pub refine_steps: u32,
    /// Points with a source-space z at or below this (metres) are behind the source camera.
    pub min_z: f32,
    /// Source pixels per march step: each ray takes one step per `step_px` pixels of its image
    /// in the source view, at least [`MIN_STEPS`] and at most `steps`; 0 always takes `steps`.
    pub step_px: f32,
}

impl ReprojectParams {
    /// These parameters with the thickness and edge ratio of `settings` (the ones `prepare`
    /// used to build the layers).
    pub fn with_settings(mut self, settings: &PrepareSettings) -> ReprojectParams {
        let s = settings.clamped();
        self.march[2] = s.thickness;
        self.march[3] = s.edge_ratio;
        self
    }
}

/// The reprojection parameters for a pose, on a `width × height` frame.
pub fn reproject_params(
    pose: &CameraPose,
    scene: &SceneSettings,
    width: u32,
    height: u32,
    steps: u32,
) -> ReprojectParams {
    let near = scene.near_m.max(0.05);
    let far = scene.far_m.max(near * 1.001);
    let offset = pose.position.length();
    let f = scene.focal_px(width.max(1));
    // The march spans the new-camera depths the scene's surfaces can have: the aux's distances
    // lie in near..far (the scene mapping), and a source point at depth z inside the source
    // frustum (half-diagonal `t` in normalised units) is at new-camera depth between
    // `z·(cos − sin·t) − |c|` and `z·(cos + sin·t) + |c|`, with the angle between the two
    // cameras' axes; a tenth more each side covers values at the edges of the range.
    let rz = pose.rotation.z_axis;
    let t = (0.25 * ((width as f32).powi(2) + (height as f32).powi(2))).sqrt() / f.max(1e-3);
    let tilt = (rz.x * rz.x + rz.y * rz.y).sqrt();
    let k_lo = (rz.z - tilt * t).max(0.1);
    let k_hi = rz.z + tilt * t;
    let s_near = (0.9 * k_lo * near - offset).max(0.05 * near);
    let s_far = (1.1 * k_hi * far + offset).max(s_near * 1.01);
    let r = pose.rotation;
    let defaults = PrepareSettings::default();
    ReprojectParams {
        rot_x: [r.x_axis.x, r.x_axis.y, r.x_axis.z, 0.0],
        rot_y: [r.y_axis.x, r.y_axis.y, r.y_axis.z, 0.0],
        rot_z: [r.z_axis.x, r.z_axis.y, r.z_axis.z, 0.0],
        centre: [pose.position.x, pose.position.y, pose.position.z, 0.0],
        lens: [
            0.5 * width as f32,
            0.5 * height as f32,
            f,
            f * pose.zoom.clamp(0.1, 10.0),
        ],
        march: [
            1.0 / s_near,
            1.0 / s_far,
            defaults.thickness,
            defaults.edge_ratio,
        ],
        steps: steps.clamp(2, 1024),
        refine_steps: REFINE_STEPS,
        min_z: 1e-3 * near,
        step_px: DEFAULT_STEP_PX,
    }
}

/// Adds the reprojection to a plan, reading the prepared layers (`Input::FrontPlate`,
/// `FrontAux`, `FillPlate`, `FillAux`); returns the `(plate, aux)` slots. Uses the default
/// thickness and edge ratio; [`plan_reproject_with`] takes them from a project's settings.
pub fn plan_reproject(
    b: &mut PlanBuilder,
    pose: &CameraPose,
    scene: &SceneSettings,
    steps: u32,
) -> (Slot, Slot) {
    let params = reproject_params(pose, scene, b.width(), b.height(), steps);
    plan_reproject_with(b, params)
}

/// Adds the reprojection with explicit parameters; returns the `(plate, aux)` slots.
pub fn plan_reproject_with(b: &mut PlanBuilder, params: ReprojectParams) -> (Slot, Slot) {
    let front_aux = b.input(Input::FrontAux);
    let fill_aux = b.input(Input::FillAux);
    let front_bounds = b.push1(ReprojectOp::DepthBounds, &[front_aux]);
    let fill_bounds = b.push1(ReprojectOp::DepthBounds, &[fill_aux]);
    let inputs = [
        b.input(Input::FrontPlate),
        front_aux,
        b.input(Input::FillPlate),
        fill_aux,
        front_bounds,
        fill_bounds,
    ];
    let outputs = b.push(ReprojectOp::Reproject(params), &inputs);
    (outputs[0], outputs[1])
}

/// The camera move's ops.
#[derive(Debug, Clone, PartialEq)]
pub enum ReprojectOp {
    /// `depth_bounds.wgsl`: a layer's aux → a lower bound of its height field per
    /// [`TILE`]×[`TILE`] tile (in `r`; an image `⌈w/8⌉ × ⌈h/8⌉`), which lets the march pass over
    /// steps that cannot be under the surface without sampling it.
    DepthBounds,
    /// `reproject.wgsl`: (front plate, front aux, fill plate, fill aux, front bounds, fill
    /// bounds) → (plate, aux).
    Reproject(ReprojectParams),
}

impl ReprojectOp {
    /// The shader's file name in `shaders/`.
    pub fn shader(&self) -> &'static str {
        match self {
            ReprojectOp::DepthBounds => "depth_bounds.wgsl",
            ReprojectOp::Reproject(_) => "reproject.wgsl",
        }
    }

    /// How many input textures the shader binds.
    pub fn inputs(&self) -> usize {
        match self {
            ReprojectOp::DepthBounds => 1,
            ReprojectOp::Reproject(_) => 6,
        }
    }

    /// How many output storage textures the shader binds.
    pub fn outputs(&self) -> usize {
        match self {
            ReprojectOp::DepthBounds => 1,
            ReprojectOp::Reproject(_) => 2,
        }
    }

    /// The size of the outputs: a tile's texel for [`ReprojectOp::DepthBounds`], else the
    /// first input's.
    pub fn output_size(&self, inputs: &[(u32, u32)], frame: (u32, u32)) -> (u32, u32) {
        let (w, h) = inputs.first().copied().unwrap_or(frame);
        match self {
            ReprojectOp::DepthBounds => (
                w.div_ceil(TILE as u32).max(1),
                h.div_ceil(TILE as u32).max(1),
            ),
            ReprojectOp::Reproject(_) => (w, h),
        }
    }

    /// The uniform block's bytes.
    pub fn params(&self) -> Vec<u8> {
        match self {
            ReprojectOp::DepthBounds => Vec::new(),
            ReprojectOp::Reproject(p) => bytemuck::bytes_of(p).to_vec(),
        }
    }

    /// The CPU twin of the shader: the same formulas in the same order. Once `cancel` is set,
    /// the rows not yet started are left (the outputs are then incomplete: see
    /// [`crate::composite::ops::Op::run_cpu_cancellable`]).
    pub fn run_cpu_cancellable(
        &self,
        inputs: &[&Image],
        outputs: &mut [Image],
        cancel: Option<&std::sync::atomic::AtomicBool>,
    ) {
        let cancelled = || cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        match self {
            ReprojectOp::DepthBounds => {
                if let ([aux], [out]) = (inputs, outputs) {
                    depth_bounds(aux, out);
                }
            }
            ReprojectOp::Reproject(p) => {
                let (
                    [
                        front_plate,
                        front_aux,
                        fill_plate,
                        fill_aux,
                        front_bounds,
                        fill_bounds,
                    ],
                    [out_plate, out_aux],
                ) = (inputs, outputs)
                else {
                    return;
                };
                let w = out_plate.width as usize;
                let layers = Layers {
                    front_plate,
                    front_aux,
                    fill_plate,
                    fill_aux,
                    front_tiles: DepthTiles::new(front_aux, front_bounds),
                    fill_tiles: DepthTiles::new(fill_aux, fill_bounds),
                };
                // Both outputs come from one march, so they are computed together, a row per
                // task.
                out_plate
                    .pixels
                    .par_chunks_mut(w.max(1))
                    .zip(out_aux.pixels.par_chunks_mut(w.max(1)))
                    .enumerate()
                    .for_each(|(y, (plate, aux))| {
                        if !cancelled() {
                            reproject_row(p, y as u32, &layers, plate, aux);
                        }
                    });
            }
        }
    }
}

/// The four prepared layers a reprojection reads, and the depth bounds of the two it marches.
struct Layers<'a> {
    front_plate: &'a Image,
    front_aux: &'a Image,
    fill_plate: &'a Image,
    fill_aux: &'a Image,
    front_tiles: DepthTiles,
    fill_tiles: DepthTiles,
}

/// The side of a [`DepthTiles`] tile in pixels.
const TILE: usize = 8;
/// March steps the CPU tries to pass over at once ([`DepthTiles::stretch_in_front`]).
const STRETCH: u32 = 8;

/// [`ReprojectOp::DepthBounds`]' CPU twin (`depth_bounds.wgsl`): per [`TILE`]×[`TILE`] tile of
/// `aux`, a lower bound of its distances. A tile's bound covers its pixels and one more column
/// and row (the 2×2 footprint of a sample whose top-left texel is in the tile), less a margin
/// far wider than the rounding of the bilinear mix, so `z < bound` proves
/// `z − sample_depth(u, v) < 0` at every position whose footprint starts in the tile.
fn depth_bounds(aux: &Image, out: &mut Image) {
    let (w, h) = (aux.width as usize, aux.height as usize);
    let tiles_x = out.width as usize;
    if w == 0 || h == 0 || tiles_x == 0 {
        return;
    }
    out.pixels
        .par_chunks_mut(tiles_x)
        .enumerate()
        .for_each(|(ty, row)| {
            let (y0, y1) = ((ty * TILE).min(h - 1), ((ty + 1) * TILE).min(h - 1));
            for (tx, b) in row.iter_mut().enumerate() {
                let (x0, x1) = ((tx * TILE).min(w - 1), ((tx + 1) * TILE).min(w - 1));
                let mut lo = f32::INFINITY;
                for y in y0..=y1 {
                    for px in &aux.pixels[y * w + x0..=y * w + x1] {
                        lo = lo.min(px[0]);
                    }
                }
                *b = [lo - lo.abs() * 1e-5 - 1e-30, 0.0, 0.0, 0.0];
            }
        });
}

/// A layer's [`depth_bounds`], for the march to pass over steps that cannot be under the
/// surface without sampling it. (The shader passes over the same steps: skipping only steps
/// that cannot cross leaves every result the every-step march's, on either backend.)
struct DepthTiles {
    width: i32,
    height: i32,
    tiles_x: usize,
    bound: Vec<f32>,
}

impl DepthTiles {
    /// The bounds of `aux` (`bounds`: its [`ReprojectOp::DepthBounds`]).
    fn new(aux: &Image, bounds: &Image) -> DepthTiles {
        let size = ReprojectOp::DepthBounds.output_size(&[(aux.width, aux.height)], (0, 0));
        let own;
        let bounds = if (bounds.width, bounds.height) == size {
            bounds
        } else {
            // Not this layer's bounds (a plan that did not make them): made here instead.
            let mut made = Image::new(size.0, size.1);
            depth_bounds(aux, &mut made);
            own = made;
            &own
        };
        DepthTiles {
            width: aux.width as i32,
            height: aux.height as i32,
            tiles_x: bounds.width as usize,
            bound: bounds.pixels.iter().map(|b| b[0]).collect(),
        }
    }

    /// Whether every march step with `s` in `sa..=sb` is surely in front of the surface: both
    /// ends are in front of the near plane's clamp, and the farthest `z` of the stretch (z is
    /// affine in `s`) is below the bound of every tile that the stretch's footprints can touch.
    /// Between its ends the ray's image is a straight segment (a projection of one), so those
    /// tiles are the ones under its bounding box, widened by a pixel for rounding.
    #[inline(always)]
    fn stretch_in_front(
        &self,
        p: &ReprojectParams,
        origin: [f32; 3],
        dir: [f32; 3],
        sa: f32,
        sb: f32,
    ) -> bool {
        let a = project(p, origin, dir, sa);
        let b = project(p, origin, dir, sb);
        if a[2] <= p.min_z || b[2] <= p.min_z {
            return false;
        }
        let z = a[2].max(b[2]);
        let z = z + z.abs() * 1e-5;
        let texel = |q: f32, n: i32| (q.floor() as i32).clamp(0, n - 1) as usize;
        let (x0, x1) = (
            texel(a[0].min(b[0]) - 1.5, self.width) / TILE,
            texel(a[0].max(b[0]) + 0.5, self.width) / TILE,
        );
        let (y0, y1) = (
            texel(a[1].min(b[1]) - 1.5, self.height) / TILE,
            texel(a[1].max(b[1]) + 0.5, self.height) / TILE,
        );
        if (x1 - x0 + 1) * (y1 - y0 + 1) > 64 {
            return false;
        }
        (y0..=y1).all(|ty| {
            self.bound[ty * self.tiles_x + x0..=ty * self.tiles_x + x1]
                .iter()
                .all(|b| z < *b)
        })
    }

    /// The bound for a sample at `(u, v)` (the tile of its footprint's top-left texel, clamped
    /// as `sample_depth` clamps it).
    #[inline(always)]
    fn at(&self, u: f32, v: f32) -> f32 {
        let ix = ((u - 0.5).floor() as i32).clamp(0, self.width - 1) as usize;
        let iy = ((v - 0.5).floor() as i32).clamp(0, self.height - 1) as usize;
        self.bound[(iy / TILE) * self.tiles_x + ix / TILE]
    }
}

/// WGSL `lerp1`: `a·(1 − t) + b·t`.
#[inline(always)]
fn lerp1(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// WGSL `project`: the ray's point at depth `s` as `(u, v, z)` in the source image.
#[inline(always)]
fn project(p: &ReprojectParams, origin: [f32; 3], dir: [f32; 3], s: f32) -> [f32; 3] {
    let px = origin[0] + dir[0] * s;
    let py = origin[1] + dir[1] * s;
    let pz = origin[2] + dir[2] * s;
    let zs = pz.max(p.min_z);
    let u = (p.lens[2] * px / zs + p.lens[0]).clamp(-2.0, 2.0 * p.lens[0] + 2.0);
    let v = (p.lens[2] * py / zs + p.lens[1]).clamp(-2.0, 2.0 * p.lens[1] + 2.0);
    [u, v, pz]
}

/// WGSL `sample_depth`: bilinear distance, or the nearest texel across a depth edge.
#[inline(always)]
fn sample_depth(p: &ReprojectParams, t: &Image, u: f32, v: f32) -> f32 {
    let qx = u - 0.5;
    let qy = v - 0.5;
    let fx = qx.floor();
    let fy = qy.floor();
    let wx = qx - fx;
    let wy = qy - fy;
    let (ix, iy) = (fx as i32, fy as i32);
    let (w, h) = (t.width as i32, t.height as i32);
    let (a, b, c, d) = if ix >= 0 && iy >= 0 && ix + 1 < w && iy + 1 < h {
        // The whole footprint inside: no clamping (the same texels).
        let i = (iy * w + ix) as usize;
        let wu = w as usize;
        (
            t.pixels[i][0],
            t.pixels[i + 1][0],
            t.pixels[i + wu][0],
            t.pixels[i + wu + 1][0],
        )
    } else {
        (
            t.load_clamped(ix, iy)[0],
            t.load_clamped(ix + 1, iy)[0],
            t.load_clamped(ix, iy + 1)[0],
            t.load_clamped(ix + 1, iy + 1)[0],
        )
    };
    let lo = a.min(b).min(c.min(d));
    let hi = a.max(b).max(c.max(d));
    if hi > lo * p.march[3] {
        let top = if wx >= 0.5 { b } else { a };
        let bottom = if wx >= 0.5 { d } else { c };
        return if wy >= 0.5 { bottom } else { top };
    }
    lerp1(lerp1(a, b, wx), lerp1(c, d, wx), wy)
}

/// WGSL `height`: `(depth under the surface, source z)` of the ray's point at `s`.
#[inline(always)]
fn height(p: &ReprojectParams, t: &Image, origin: [f32; 3], dir: [f32; 3], s: f32) -> [f32; 2] {
    let [u, v, z] = project(p, origin, dir, s);
    if z <= p.min_z {
        return [IN_FRONT, z];
    }
    [z - sample_depth(p, t, u, v), z]
}

/// WGSL `step_depth`: the depth of march step `i` of `n`, evenly spaced in inverse depth.
#[inline(always)]
fn step_depth(p: &ReprojectParams, i: u32, n: u32) -> f32 {
    let inv = lerp1(p.march[0], p.march[1], i as f32 / (n - 1) as f32);
    1.0 / inv
}

/// What a march found.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Found {
    /// Nothing: the ray stayed in front of the layer.
    Nothing,
    /// A surface at depth `s`, seen at `(u, v)` in the source image.
    Hit { s: f32, u: f32, v: f32 },
    /// The ray passed behind a surface; `(s, u, v)` is its last point in front of it.
    Behind { s: f32, u: f32, v: f32 },
}

/// WGSL `march_steps`: one step per `step_px` source pixels of the ray's image, clamped.
#[inline(always)]
fn march_steps(p: &ReprojectParams, origin: [f32; 3], dir: [f32; 3]) -> u32 {
    let most = p.steps.max(2);
    if p.step_px <= 0.0 {
        return most;
    }
    let a = project(p, origin, dir, 1.0 / p.march[0]);
    let b = project(p, origin, dir, 1.0 / p.march[1]);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = (dx * dx + dy * dy).sqrt();
    ((len / p.step_px).ceil() as u32 + 2).clamp(MIN_STEPS.min(most), most)
}

/// WGSL `refine_count`: bisections for a march of `n` steps, `refine_steps` plus one for each
/// halving of the full march (`steps`) that `n` gives up, so the refined interval is never wider
/// than the full march's (a ray that barely moves in the source view still lands on the surface
/// within the thickness).
#[inline(always)]
fn refine_count(p: &ReprojectParams, n: u32) -> u32 {
    let mut extra = 0;
    let mut m = n.max(1);
    let most = p.steps.max(2);
    while m < most && extra < 16 {
        m *= 2;
        extra += 1;
    }
    p.refine_steps + extra
}

/// WGSL `march`'s crossing: between a step in front of the surface `(sa, ha)` and the next,
/// under it, `(sb, hb, zb)`, `refine` bisections and a secant step. `Ok` with the hit, or
/// `Err(sa)`, the last depth in front, when the refined point is still behind the surface by
/// more than the thickness (the ray passed behind a depth edge).
#[inline(always)]
fn refine_crossing(
    p: &ReprojectParams,
    t: &Image,
    origin: [f32; 3],
    dir: [f32; 3],
    refine: u32,
    (mut sa, mut ha): (f32, f32),
    (mut sb, mut hb, mut zb): (f32, f32, f32),
) -> Result<Found, f32> {
    for _ in 0..refine {
        let sm = 0.5 * (sa + sb);
        let [hm, zm] = height(p, t, origin, dir, sm);
        if hm >= 0.0 {
            sb = sm;
            hb = hm;
            zb = zm;
        } else {
            sa = sm;
            ha = hm;
        }
    }
    if hb <= p.march[2] * (zb - hb) {
        let f = (-ha / (hb - ha)).clamp(0.0, 1.0);
        let sh = sa + (sb - sa) * f;
        let [u, v, _] = project(p, origin, dir, sh);
        return Ok(Found::Hit { s: sh, u, v });
    }
    Err(sa)
}

/// WGSL `march`, passing over the steps that `tiles` proves in front of the surface: their
/// height is only computed (exactly as the shader does) when the next step is under the
/// surface and needs it, so every result is the shader's.
#[inline(always)]
fn march(
    p: &ReprojectParams,
    t: &Image,
    tiles: &DepthTiles,
    origin: [f32; 3],
    dir: [f32; 3],
    skip_behind: bool,
) -> Found {
    let n = march_steps(p, origin, dir);
    let refine = refine_count(p, n);
    let mut s_prev = step_depth(p, 0, n);
    let mut h_prev = IN_FRONT;
    // Whether `h_prev` is the previous step's height, or that step was passed over.
    let mut prev_known = true;
    let mut behind = Found::Nothing;
    let mut block = 0;
    while block < n {
        let end = (block + STRETCH).min(n);
        // A whole stretch of steps in front of the surface is passed over at once.
        if end - block == STRETCH {
            let last = step_depth(p, end - 1, n);
            if tiles.stretch_in_front(p, origin, dir, step_depth(p, block, n), last) {
                s_prev = last;
                prev_known = false;
                block = end;
                continue;
            }
        }
        let steps = block..end;
        block = end;
        for i in steps {
            let s = step_depth(p, i, n);
            let [u, v, z] = project(p, origin, dir, s);
            if z <= p.min_z || z < tiles.at(u, v) {
                // In front of the surface (`height` < 0): nothing to find at this step.
                s_prev = s;
                prev_known = false;
                continue;
            }
            // `height`, from the projection already made.
            let h = z - sample_depth(p, t, u, v);
            if h >= 0.0 && !prev_known {
                h_prev = height(p, t, origin, dir, s_prev)[0];
            }
            if h >= 0.0 && h_prev < 0.0 {
                match refine_crossing(p, t, origin, dir, refine, (s_prev, h_prev), (s, h, z)) {
                    Ok(hit) => return hit,
                    Err(sa) => {
                        if behind == Found::Nothing {
                            let [u, v, _] = project(p, origin, dir, sa);
                            behind = Found::Behind { s: sa, u, v };
                        }
                        if !skip_behind {
                            return behind;
                        }
                    }
                }
            }
            s_prev = s;
            h_prev = h;
            prev_known = true;
        }
    }
    behind
}

/// The shader's `march` step by step, with no step passed over: what [`march`] must equal.
#[cfg(test)]
fn march_every_step(
    p: &ReprojectParams,
    t: &Image,
    origin: [f32; 3],
    dir: [f32; 3],
    skip_behind: bool,
) -> Found {
    let n = march_steps(p, origin, dir);
    let refine = refine_count(p, n);
    let mut s_prev = step_depth(p, 0, n);
    let mut h_prev = IN_FRONT;
    let mut behind = Found::Nothing;
    for i in 0..n {
        let s = step_depth(p, i, n);
        let [h, z] = height(p, t, origin, dir, s);
        if h >= 0.0 && h_prev < 0.0 {
            match refine_crossing(p, t, origin, dir, refine, (s_prev, h_prev), (s, h, z)) {
                Ok(hit) => return hit,
                Err(sa) => {
                    if behind == Found::Nothing {
                        let [u, v, _] = project(p, origin, dir, sa);
                        behind = Found::Behind { s: sa, u, v };
                    }
                    if !skip_behind {
                        return behind;
                    }
                }
            }
        }
        s_prev = s;
        h_prev = h;
    }
    behind
}

/// One row of the op's outputs. On x86-64 with SSE4.1 (every x86-64 CPU since 2008 or so) the
/// row's whole march is compiled for it, detected at run time: `f32::floor` and `clamp` become
/// one instruction each instead of a libm call that spills every register around it, and the
/// reprojection takes about two thirds of its time (1,000 → 650 ms at 1080p on the template's
/// move). The arithmetic is the same IEEE arithmetic in the
/// same order, so both builds give the same bits.
fn reproject_row(
    p: &ReprojectParams,
    y: u32,
    layers: &Layers,
    plate: &mut [[f32; 4]],
    aux: &mut [[f32; 4]],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.1") {
        // SAFETY: the CPU has SSE4.1 (just detected), the only requirement of this function.
        unsafe { reproject_row_sse41(p, y, layers, plate, aux) };
        return;
    }
    reproject_row_baseline(p, y, layers, plate, aux);
}

/// [`reproject_row`] compiled for SSE4.1.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.1")]
fn reproject_row_sse41(
    p: &ReprojectParams,
    y: u32,
    layers: &Layers,
    plate: &mut [[f32; 4]],
    aux: &mut [[f32; 4]],
) {
    reproject_row_baseline(p, y, layers, plate, aux);
}

/// [`reproject_row`] for any CPU (inlined whole into the SSE4.1 build).
#[inline(always)]
fn reproject_row_baseline(
    p: &ReprojectParams,
    y: u32,
    layers: &Layers,
    plate: &mut [[f32; 4]],
    aux: &mut [[f32; 4]],
) {
    for (x, (o, a)) in plate.iter_mut().zip(aux.iter_mut()).enumerate() {
        (*o, *a) = reproject_pixel(p, x as u32, y, layers);
    }
}

/// WGSL `main` for one pixel: `(plate, aux)`.
#[inline(always)]
fn reproject_pixel(p: &ReprojectParams, x: u32, y: u32, layers: &Layers) -> ([f32; 4], [f32; 4]) {
    let px = (x as f32 + 0.5 - p.lens[0]) / p.lens[3];
    let py = (y as f32 + 0.5 - p.lens[1]) / p.lens[3];
    let dir = [
        p.rot_x[0] * px + p.rot_y[0] * py + p.rot_z[0],
        p.rot_x[1] * px + p.rot_y[1] * py + p.rot_z[1],
        p.rot_x[2] * px + p.rot_y[2] * py + p.rot_z[2],
    ];
    let origin = [p.centre[0], p.centre[1], p.centre[2]];
    if let Found::Hit { s, u, v } =
        march(p, layers.front_aux, &layers.front_tiles, origin, dir, false)
    {
        let a = layers.front_aux.sample_bilinear(u, v);
        let plate = layers.front_plate.sample_bilinear(u, v);
        return (plate, [s, a[1], a[2], 0.0]);
    }
    match march(p, layers.fill_aux, &layers.fill_tiles, origin, dir, true) {
        Found::Hit { s, u, v } | Found::Behind { s, u, v } => {
            let a = layers.fill_aux.sample_bilinear(u, v);
            let plate = layers.fill_plate.sample_bilinear(u, v);
            (plate, [s, a[1], a[2], 1.0])
        }
        Found::Nothing => ([0.0; 4], [1.0 / p.march[1], 0.0, 0.0, 1.0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::camera::CameraKey;
    use crate::composite::prepare::testing::{CARD, CARD_M, H, W, WALL_M, scene};
    use crate::composite::prepare::{PrepareSettings, prepare};

    /// A layer's depth bounds, from the op a plan runs.
    fn bounds(aux: &Image) -> Image {
        let op = ReprojectOp::DepthBounds;
        let (w, h) = op.output_size(&[(aux.width, aux.height)], (0, 0));
        let mut out = [Image::new(w, h)];
        op.run_cpu_cancellable(&[aux], &mut out, None);
        let [b] = out;
        b
    }

    /// Reprojects the prepared scene through `pose`; returns `(plate, aux)`.
    fn render(
        plate: &Image,
        aux: &Image,
        s: &PrepareSettings,
        pose: &CameraPose,
    ) -> (Image, Image) {
        let p = prepare(plate, aux, s);
        let params =
            reproject_params(pose, &SceneSettings::default(), W, H, DEFAULT_STEPS).with_settings(s);
        let op = ReprojectOp::Reproject(params);
        let mut out = [Image::new(W, H), Image::new(W, H)];
        run(&op, &p, &mut out, None);
        let [a, b] = out;
        (a, b)
    }

    /// Runs `op` on the prepared layers and their depth bounds, as a plan does.
    fn run(
        op: &ReprojectOp,
        p: &crate::composite::prepare::Prepared,
        out: &mut [Image],
        cancel: Option<&std::sync::atomic::AtomicBool>,
    ) {
        let (front_bounds, fill_bounds) = (bounds(&p.front.1), bounds(&p.fill.1));
        let inputs = [
            &p.front.0,
            &p.front.1,
            &p.fill.0,
            &p.fill.1,
            &front_bounds,
            &fill_bounds,
        ];
        op.run_cpu_cancellable(&inputs, out, cancel);
    }

    #[test]
    fn a_march_given_bounds_of_the_wrong_size_makes_the_layer_s_own() {
        let layer = photo_depth();
        let right = DepthTiles::new(&layer, &bounds(&layer));
        let wrong = DepthTiles::new(&layer, &Image::new(3, 2));
        assert_eq!(right.tiles_x, (W as usize).div_ceil(TILE));
        assert_eq!(wrong.tiles_x, right.tiles_x);
        assert_eq!(wrong.bound, right.bound);
        assert!(right.bound.iter().all(|b| b.is_finite() && *b > 0.0));
    }

    #[test]
    fn a_cancelled_reprojection_leaves_its_rows_and_an_uncancelled_one_is_the_plain_run() {
        let (plate, aux) = scene(0);
        let s = PrepareSettings::default();
        let p = prepare(&plate, &aux, &s);
        let pose = truck_for_card_shift(12.0);
        let params = reproject_params(&pose, &SceneSettings::default(), W, H, DEFAULT_STEPS)
            .with_settings(&s);
        let op = ReprojectOp::Reproject(params);
        let sentinel = Image::from_fn(W, H, |_, _| [-7.0; 4]);
        let mut out = [sentinel.clone(), sentinel.clone()];
        let cancel = std::sync::atomic::AtomicBool::new(true);
        run(&op, &p, &mut out, Some(&cancel));
        assert_eq!(out[0], sentinel, "a cancelled run wrote rows");
        assert_eq!(out[1], sentinel);
        cancel.store(false, std::sync::atomic::Ordering::Relaxed);
        run(&op, &p, &mut out, Some(&cancel));
        let (a, b) = render(&plate, &aux, &s, &pose);
        assert_eq!(out[0], a);
        assert_eq!(out[1], b);
    }

    /// A truck (sideways move, metres) that shifts the card by exactly `px` pixels.
    fn truck_for_card_shift(px: f32) -> CameraPose {
        let f = SceneSettings::default().focal_px(W);
        CameraKey {
            truck_m: px * CARD_M / f,
            ..CameraKey::default()
        }
        .pose(4.0)
    }

    /// A truck, a dolly in, and an orbit with tilt and pedestal.
    fn moves() -> [CameraPose; 3] {
        [
            truck_for_card_shift(12.0),
            CameraKey {
                dolly_m: 0.8,
                ..CameraKey::default()
            }
            .pose(4.0),
            CameraKey {
                orbit_deg: 6.0,
                tilt_deg: 3.0,
                pedestal_m: -0.2,
                ..CameraKey::default()
            }
            .pose(4.0),
        ]
    }

    fn at(img: &Image, x: u32, y: u32) -> [f32; 4] {
        img.pixels[(y * W + x) as usize]
    }

    fn rgb_diff(a: [f32; 4], b: [f32; 4]) -> f32 {
        (0..3).map(|c| (a[c] - b[c]).abs()).sum::<f32>() / 3.0
    }

    /// The horizontal shift (whole pixels) that best maps `src`'s patch onto `out`.
    fn best_shift(src: &Image, out: &Image, patch: [u32; 4], range: std::ops::Range<i32>) -> i32 {
        let [x0, x1, y0, y1] = patch;
        range
            .min_by(|&a, &b| {
                let err = |dx: i32| {
                    let mut e = 0.0;
                    for y in y0..y1 {
                        for x in x0..x1 {
                            let o = out.load_clamped(x as i32 + dx, y as i32);
                            e += rgb_diff(o, at(src, x, y));
                        }
                    }
                    e
                };
                err(a).total_cmp(&err(b))
            })
            .unwrap_or(0)
    }

    /// A depth field with real structure: a real photo's luminance (box-downscaled to `W × H`)
    /// mapped to 1.5–30 m, with hard edges where the photo has them.
    fn photo_depth() -> Image {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/sample_shot/astronaut.1001.png");
        let photo = image::open(path).unwrap().to_luma32f();
        let (pw, ph) = photo.dimensions();
        Image::from_fn(W, H, |x, y| {
            let l = photo.get_pixel(x * pw / W, y * ph / H).0[0];
            [1.5 + 28.5 * (1.0 - l), 1.0, 0.5, 0.0]
        })
    }

    #[test]
    fn the_march_that_passes_over_steps_finds_what_every_step_finds() {
        // Bit for bit, at every pixel, for the front and the fill layer, through moves that
        // truck, dolly in, orbit and tilt, on the card-and-wall scene and on a photo's depth.
        let (plate, aux) = scene(2);
        let settings = PrepareSettings::default();
        let poses = moves();
        let (mut compared, mut passed_over) = (0usize, 0usize);
        for depth in [aux.clone(), photo_depth()] {
            let prepared = prepare(&plate, &depth, &settings);
            for pose in &poses {
                let p = reproject_params(pose, &SceneSettings::default(), W, H, DEFAULT_STEPS)
                    .with_settings(&settings);
                for (layer, skip_behind) in [(&prepared.front.1, false), (&prepared.fill.1, true)] {
                    let tiles = DepthTiles::new(layer, &bounds(layer));
                    for y in 0..H {
                        for x in 0..W {
                            let px = (x as f32 + 0.5 - p.lens[0]) / p.lens[3];
                            let py = (y as f32 + 0.5 - p.lens[1]) / p.lens[3];
                            let dir = [
                                p.rot_x[0] * px + p.rot_y[0] * py + p.rot_z[0],
                                p.rot_x[1] * px + p.rot_y[1] * py + p.rot_z[1],
                                p.rot_x[2] * px + p.rot_y[2] * py + p.rot_z[2],
                            ];
                            let origin = [p.centre[0], p.centre[1], p.centre[2]];
                            let want = march_every_step(&p, layer, origin, dir, skip_behind);
                            let got = march(&p, layer, &tiles, origin, dir, skip_behind);
                            assert_eq!(got, want, "pixel ({x}, {y})");
                            compared += usize::from(want != Found::Nothing);
                            let n = march_steps(&p, origin, dir);
                            passed_over += usize::from(tiles.stretch_in_front(
                                &p,
                                origin,
                                dir,
                                step_depth(&p, 0, n),
                                step_depth(&p, STRETCH - 1, n),
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            compared > (W * H) as usize,
            "only {compared} rays found a surface"
        );
        // The first stretch of steps is passed over on most rays, so the test covers it.
        assert!(
            passed_over > (W * H) as usize,
            "{passed_over} first stretches passed over"
        );
    }

    #[test]
    fn the_sse41_build_of_the_march_gives_the_baseline_build_s_bits() {
        // The row the op runs (compiled for SSE4.1 where the CPU has it) against the same row
        // compiled for any x86-64, on a photo's depth through a truck, a dolly and an orbit.
        let (plate, _) = scene(2);
        let settings = PrepareSettings::default();
        let prepared = prepare(&plate, &photo_depth(), &settings);
        let layers = Layers {
            front_plate: &prepared.front.0,
            front_aux: &prepared.front.1,
            fill_plate: &prepared.fill.0,
            fill_aux: &prepared.fill.1,
            front_tiles: DepthTiles::new(&prepared.front.1, &bounds(&prepared.front.1)),
            fill_tiles: DepthTiles::new(&prepared.fill.1, &bounds(&prepared.fill.1)),
        };
        let mut disoccluded = 0;
        for pose in &moves() {
            let p = reproject_params(pose, &SceneSettings::default(), W, H, DEFAULT_STEPS)
                .with_settings(&settings);
            for y in 0..H {
                let mut fast = (vec![[0.0; 4]; W as usize], vec![[0.0; 4]; W as usize]);
                let mut base = fast.clone();
                reproject_row(&p, y, &layers, &mut fast.0, &mut fast.1);
                reproject_row_baseline(&p, y, &layers, &mut base.0, &mut base.1);
                assert_eq!(fast, base, "row {y}");
                disoccluded += base.1.iter().filter(|a| a[3] == 1.0).count();
            }
        }
        assert!(
            disoccluded > 0,
            "the moves reveal nothing: the fill march is not covered"
        );
    }

    #[test]
    fn the_identity_pose_reproduces_the_plate_without_disocclusions() {
        let (plate, aux) = scene(2);
        let s = PrepareSettings::default();
        let (out, out_aux) = render(&plate, &aux, &s, &CameraPose::IDENTITY);
        let front = prepare(&plate, &aux, &s).front.1;
        let mut worst = 0.0f32;
        for (i, (o, p)) in out.pixels.iter().zip(&plate.pixels).enumerate() {
            for c in 0..4 {
                worst = worst.max((o[c] - p[c]).abs());
            }
            assert_eq!(out_aux.pixels[i][3], 0.0, "pixel {i} flagged");
            let d = front.pixels[i][0];
            assert!(
                (out_aux.pixels[i][0] - d).abs() <= 1e-3 * d,
                "pixel {i} distance"
            );
        }
        println!("identity: max colour difference {worst:e}");
        assert!(worst < 1e-3, "max colour difference {worst}");
    }

    #[test]
    fn a_truck_moves_the_near_card_more_than_the_far_wall() {
        let (plate, aux) = scene(0);
        let s = PrepareSettings {
            fill_band: 0.1,
            ..PrepareSettings::default()
        };
        let (out, _) = render(&plate, &aux, &s, &truck_for_card_shift(20.0));
        // Moving right, the scene slides left: the card by f·t/2 m = 20 px, the wall (four times
        // farther) by 5 px.
        let card = best_shift(&plate, &out, [70, 100, 40, 80], -30..10);
        let wall = best_shift(&plate, &out, [130, 180, 20, 100], -30..10);
        println!("card moved {card} px, wall moved {wall} px");
        assert_eq!(card, -20);
        assert_eq!(wall, -5);
        // A dolly in magnifies the near card more than the far wall (by 2/1.5 against 8/7.5): the
        // card's left edge, 36 px left of the centre, moves out further than the wall's texture
        // 45 to 75 px left of it.
        let dolly = CameraKey {
            dolly_m: 0.5,
            ..CameraKey::default()
        }
        .pose(4.0);
        let (out, _) = render(&plate, &aux, &s, &dolly);
        let card_edge = best_shift(&plate, &out, [60, 68, 40, 80], -30..10);
        let wall = best_shift(&plate, &out, [20, 50, 40, 80], -30..10);
        println!("dolly: card edge moved {card_edge} px, wall moved {wall} px");
        assert!(card_edge < wall && wall < 0, "{card_edge} vs {wall}");
    }

    #[test]
    fn what_a_move_reveals_comes_from_the_background_and_is_flagged() {
        let (plate, aux) = scene(0);
        let s = PrepareSettings {
            fill_band: 0.1,
            ..PrepareSettings::default()
        };
        let (out, out_aux) = render(&plate, &aux, &s, &truck_for_card_shift(20.0));
        let [_, x1, y0, y1] = CARD;
        // The card's right edge (its depth dilated by 2 px) moves to x1 + 2 - 20, and the rays
        // that pass less than `thickness` behind it see its side (about 1 px more); the wall
        // behind it moves to x1 - 5. Between them is wall the source camera never saw.
        let (mut flagged, mut total, mut nearer_wall) = (0, 0, 0);
        let (mut d_wall, mut d_card) = (0.0, 0.0);
        for y in y0 + 5..y1 - 5 {
            let mean = |xs: std::ops::Range<u32>| {
                let n = xs.len() as f32;
                xs.map(|x| at(&plate, x, y)).fold([0.0; 4], |s, p| {
                    [s[0] + p[0] / n, s[1] + p[1] / n, s[2] + p[2] / n, 1.0]
                })
            };
            let wall = mean(x1..x1 + 10);
            let card = mean(x1 - 10..x1);
            for x in x1 - 16..x1 - 7 {
                total += 1;
                let a = at(&out_aux, x, y);
                if a[3] == 1.0 {
                    flagged += 1;
                }
                assert!(a[0] > 0.8 * WALL_M, "({x}, {y}) is at {} m", a[0]);
                let c = at(&out, x, y);
                let (w, k) = (rgb_diff(c, wall), rgb_diff(c, card));
                d_wall += w;
                d_card += k;
                if w < k {
                    nearer_wall += 1;
                }
            }
        }
        println!(
            "revealed: {flagged}/{total} flagged, {nearer_wall} nearer the wall's colour; mean \
             difference from wall {:.4}, from card {:.4}",
            d_wall / total as f32,
            d_card / total as f32
        );
        assert_eq!(flagged, total);
        assert!(d_wall < 0.5 * d_card);
        assert!(nearer_wall as f32 > 0.9 * total as f32);
        // Nothing on the card itself or on the open wall is flagged.
        assert_eq!(at(&out_aux, 70, 60)[3], 0.0);
        assert_eq!(at(&out_aux, 150, 60)[3], 0.0);
    }

    #[test]
    fn edge_dilation_keeps_the_foreground_rim_with_the_foreground() {
        // The depth map misses the card's outer 2 px: card colour at the wall's distance.
        let (plate, aux) = scene(2);
        let pose = truck_for_card_shift(20.0);
        let rim_error = |dilate_px: u32| {
            let s = PrepareSettings {
                dilate_px,
                fill_band: 0.1,
                ..PrepareSettings::default()
            };
            let (out, _) = render(&plate, &aux, &s, &pose);
            let [_, x1, y0, y1] = CARD;
            // Where the rim should be after the move (20 px left, with the card) vs what is there.
            let mut err = 0.0;
            let mut n = 0.0;
            for y in y0 + 5..y1 - 5 {
                for x in x1 - 2..x1 {
                    err += rgb_diff(at(&out, x - 20, y), at(&plate, x, y));
                    n += 1.0;
                }
            }
            err / n
        };
        let (kept, left_behind) = (rim_error(3), rim_error(0));
        println!("rim colour error: dilated {kept:.4}, not dilated {left_behind:.4}");
        assert!(kept < 0.01, "{kept}");
        assert!(kept < 0.25 * left_behind, "{kept} vs {left_behind}");
    }
}
