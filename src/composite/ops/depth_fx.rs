//! Depth effects: fog, depth of field and a depth-banded grade, each a *filter* of the stack so far.
//!
//! Every effect reads the composited stack (`acc`, premultiplied linear RGBA) and the aux image
//! (`r` = distance in metres, `g` = matte, `b` = nearness) and writes the filtered stack
//! (premultiplied); the planner then mixes that with the stack by the layer's opacity.
//!
//! - Fog (`fog.wgsl`): one pass, `rgb·(1 − f) + colour·f·a` with `f` = density × a ramp in distance.
//! - Grade (`grade.wgsl`): one pass, exposure/contrast/saturation/gain on un-premultiplied colour,
//!   weighted by a soft-edged depth band.
//! - Depth of field: two passes, a CoC prepass with a CoC-aware prefilter (`dof_prefilter.wgsl`)
//!   and a scatter-as-gather disc (`dof_gather.wgsl`). See [`plan_dof`] for the algorithm.

use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;

use crate::composite::image::{Image, ScaledReader, luminance, mix, smoothstep};
use crate::composite::layers::{
    DofSettings, FogFalloff, FogSettings, GradeSettings, SceneSettings,
};
use crate::composite::ops::stack::{DownsampleParams, StackOp};
use crate::composite::plan::{PlanBuilder, Slot};

/// The depth-of-field gather covers a disc of at most this many lattice cells in radius; the
/// lattice spacing grows with `max_blur_px` so the tap count stays bounded (117 gather taps and
/// a 9-tap prefilter at `max_blur_px` = 16).
const DOF_CELLS: f32 = 6.0;

/// Smallest CoC radius (pixels) used for a sample's area and reach: a sharp pixel covers itself.
const MIN_COC_PX: f32 = 0.5;

/// Fog parameters, laid out as `Params` in `shaders/fog.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct FogParams {
    /// Linear RGB fog colour; `w` is the density (0..1).
    pub colour_density: [f32; 4],
    /// No fog nearer than this (metres).
    pub near_m: f32,
    /// Full density at and beyond this (metres).
    pub far_m: f32,
    /// 0 linear, 1 smooth, 2 exponential.
    pub falloff: u32,
    /// `1 / (1 − exp(−4))`, so the exponential ramp reaches 1 at `far_m`.
    pub exp_norm: f32,
}

/// Grade parameters, laid out as `Params` in `shaders/grade.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct GradeParams {
    /// Per-channel gain; `w` unused.
    pub gain: [f32; 4],
    /// Near edge of the band (metres).
    pub near_m: f32,
    /// Far edge of the band (metres).
    pub far_m: f32,
    /// Soft edge width on each side (metres); 0 = hard edges.
    pub softness_m: f32,
    /// `2^exposure_stops`, computed once here so both backends use the same factor.
    pub exposure_gain: f32,
    /// Contrast around 0.18.
    pub contrast: f32,
    /// Saturation around Rec. 709 luminance.
    pub saturation: f32,
    /// Padding to 16 bytes.
    pub _pad: [f32; 2],
}

/// The depth-of-field CoC prepass and prefilter's parameters (`shaders/dof_prefilter.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct DofPrefilterParams {
    /// CoC radius in pixels = `coc_scale · |d − focus| / d` (before the clamp).
    pub coc_scale: f32,
    /// The distance in focus (metres).
    pub focus_m: f32,
    /// The largest CoC radius (pixels).
    pub max_blur_px: f32,
    /// Half the lattice spacing: the prefilter box is `(2·half + 1)²` pixels.
    pub half: i32,
    /// At a reduced size, the variance (px² of this size) the reduction adds to the blur: each
    /// CoC radius `r` becomes `√max(r² − 4·shrink, 0)`, so a disc (variance `r²/4`) loses it
    /// again and the defocus keeps the full-size reference's extent. 0 at full size.
    pub shrink_px2: f32,
    /// Padding to 32 bytes.
    pub _pad: [f32; 3],
}

/// The depth-of-field gather's parameters (`shaders/dof_gather.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct DofGatherParams {
    /// The largest CoC radius (pixels).
    pub max_blur_px: f32,
    /// Half the lattice spacing (the spacing is `2·half + 1` pixels).
    pub half: i32,
    /// Lattice cells visited on each side of the centre.
    pub cells: i32,
    /// Padding to 16 bytes.
    pub _pad: f32,
}

/// The reduced-resolution depth of field's combine pass (`shaders/dof_combine.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct DofCombineParams {
    /// The full-size CoC: radius in pixels = `coc_scale · |d − focus| / d`.
    pub coc_scale: f32,
    /// The distance in focus (metres).
    pub focus_m: f32,
    /// The largest CoC radius (full-size pixels).
    pub max_blur_px: f32,
    /// The factor the gather was reduced by.
    pub factor: f32,
}

/// The ops of the depth effects.
#[derive(Debug, Clone, PartialEq)]
pub enum DepthFxOp {
    /// Depth fog. Inputs: acc, aux. Output: fogged acc.
    Fog(FogParams),
    /// Grade in a depth band. Inputs: acc, aux. Output: graded acc.
    Grade(GradeParams),
    /// Depth of field, pass 1. Inputs: acc, aux. Outputs: `sum` (the CoC-similar box sum of
    /// premultiplied RGBA around each pixel) and `meta` = `(count, coc_px, signed_coc_px,
    /// distance_m)`, where `count` is how many pixels the sum holds.
    DofPrefilter(DofPrefilterParams),
    /// Depth of field, pass 2. Inputs: acc, sum, meta. Output: the defocused acc.
    DofGather(DofGatherParams),
    /// Depth of field at a reduced size, pass 3. Inputs: acc, aux (full size), the reduced
    /// gather and the reduced aux. Output: the defocused acc at full size: the full-size acc
    /// where the CoC is under a pixel, the reduced gather enlarged with depth-aware weights
    /// where it is over 1.5 px, a mix between.
    DofCombine(DofCombineParams),
}

impl DepthFxOp {
    /// The shader's file name in `shaders/`.
    pub fn shader(&self) -> &'static str {
        match self {
            DepthFxOp::Fog(_) => "fog.wgsl",
            DepthFxOp::Grade(_) => "grade.wgsl",
            DepthFxOp::DofPrefilter(_) => "dof_prefilter.wgsl",
            DepthFxOp::DofGather(_) => "dof_gather.wgsl",
            DepthFxOp::DofCombine(_) => "dof_combine.wgsl",
        }
    }

    /// How many input textures the shader binds.
    pub fn inputs(&self) -> usize {
        match self {
            DepthFxOp::Fog(_) | DepthFxOp::Grade(_) | DepthFxOp::DofPrefilter(_) => 2,
            DepthFxOp::DofGather(_) => 3,
            DepthFxOp::DofCombine(_) => 4,
        }
    }

    /// How many output storage textures the shader binds.
    pub fn outputs(&self) -> usize {
        match self {
            DepthFxOp::DofPrefilter(_) => 2,
            _ => 1,
        }
    }

    /// The size of the outputs: the first input's.
    pub fn output_size(&self, inputs: &[(u32, u32)], frame: (u32, u32)) -> (u32, u32) {
        inputs.first().copied().unwrap_or(frame)
    }

    /// The uniform block's bytes.
    pub fn params(&self) -> Vec<u8> {
        match self {
            DepthFxOp::Fog(p) => bytemuck::bytes_of(p).to_vec(),
            DepthFxOp::Grade(p) => bytemuck::bytes_of(p).to_vec(),
            DepthFxOp::DofPrefilter(p) => bytemuck::bytes_of(p).to_vec(),
            DepthFxOp::DofGather(p) => bytemuck::bytes_of(p).to_vec(),
            DepthFxOp::DofCombine(p) => bytemuck::bytes_of(p).to_vec(),
        }
    }

    /// Computes the outputs on the CPU, with the shaders' formulas.
    pub fn run_cpu(&self, inputs: &[&Image], outputs: &mut [Image]) {
        match self {
            DepthFxOp::Fog(p) => {
                if let ([acc, aux, ..], [out, ..]) = (inputs, outputs) {
                    fog_cpu(p, acc, aux, out);
                }
            }
            DepthFxOp::Grade(p) => {
                if let ([acc, aux, ..], [out, ..]) = (inputs, outputs) {
                    grade_cpu(p, acc, aux, out);
                }
            }
            DepthFxOp::DofPrefilter(p) => {
                if let ([acc, aux, ..], [sum, meta, ..]) = (inputs, outputs) {
                    dof_prefilter_cpu(p, acc, aux, sum, meta);
                }
            }
            DepthFxOp::DofGather(p) => {
                if let ([acc, sum, meta, ..], [out, ..]) = (inputs, outputs) {
                    dof_gather_cpu(p, acc, sum, meta, out);
                }
            }
            DepthFxOp::DofCombine(p) => {
                if let ([acc, aux, small, small_aux, ..], [out, ..]) = (inputs, outputs) {
                    dof_combine_cpu(p, acc, aux, small, small_aux, out);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- fog

/// Plans depth fog over `acc`: `t = saturate((d − near)/(far − near))`, shaped by the falloff
/// (linear `t`; smooth `smoothstep(0, 1, t)`; exponential `(1 − e^{−4t})/(1 − e^{−4})`),
/// `f = density · shape`, `rgb' = rgb·(1 − f) + colour·f·a`, `a' = a`.
pub fn plan_fog(b: &mut PlanBuilder, s: &FogSettings, acc: Slot, aux: Slot) -> Slot {
    b.push1(DepthFxOp::Fog(fog_params(s)), &[acc, aux])
}

fn fog_params(s: &FogSettings) -> FogParams {
    FogParams {
        colour_density: [s.colour[0], s.colour[1], s.colour[2], s.density],
        near_m: s.near_m,
        far_m: s.far_m,
        falloff: match s.falloff {
            FogFalloff::Linear => 0,
            FogFalloff::Smooth => 1,
            FogFalloff::Exponential => 2,
        },
        exp_norm: 1.0 / (1.0 - (-4.0f32).exp()),
    }
}

/// The fog's opacity at distance `d` (metres); twin of `fog_amount` in `fog.wgsl`.
fn fog_amount(p: &FogParams, d: f32) -> f32 {
    // Guarded so a degenerate range is a hard step rather than a NaN.
    let span = (p.far_m - p.near_m).max(1e-6);
    let t = ((d - p.near_m) / span).clamp(0.0, 1.0);
    let shape = match p.falloff {
        0 => t,
        1 => smoothstep(0.0, 1.0, t),
        _ => (1.0 - (-4.0 * t).exp()) * p.exp_norm,
    };
    p.colour_density[3] * shape
}

fn fog_cpu(p: &FogParams, acc: &Image, aux: &Image, out: &mut Image) {
    let acc = ScaledReader::new(acc, out.width, 1.0);
    let aux = ScaledReader::new(aux, out.width, 1.0);
    let k = p.colour_density;
    out.fill_rows(|y, row| {
        let (cr, ar) = (acc.row(y), aux.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            let c = cr.at(x);
            let f = fog_amount(p, ar.at(x)[0]);
            *px = [
                c[0] * (1.0 - f) + k[0] * f * c[3],
                c[1] * (1.0 - f) + k[1] * f * c[3],
                c[2] * (1.0 - f) + k[2] * f * c[3],
                c[3],
            ];
        }
    });
}

// ---------------------------------------------------------------- grade

/// Plans a grade inside a depth band over `acc`. The band weight is
/// `smoothstep(near − soft, near, d) · (1 − smoothstep(far, far + soft, d))` (a hard
/// `near ≤ d ≤ far` when `soft` = 0); on un-premultiplied colour the grade is exposure
/// `×2^stops`, contrast `0.18·(c/0.18)^contrast` for `c > 0`, saturation around Rec. 709
/// luminance, then per-channel gain; the result is `mix(original, graded, w)`, re-premultiplied.
pub fn plan_grade(b: &mut PlanBuilder, s: &GradeSettings, acc: Slot, aux: Slot) -> Slot {
    b.push1(DepthFxOp::Grade(grade_params(s)), &[acc, aux])
}

fn grade_params(s: &GradeSettings) -> GradeParams {
    GradeParams {
        gain: [s.gain[0], s.gain[1], s.gain[2], 1.0],
        near_m: s.near_m,
        far_m: s.far_m,
        softness_m: s.softness_m,
        exposure_gain: 2.0f32.powf(s.exposure_stops),
        contrast: s.contrast,
        saturation: s.saturation,
        _pad: [0.0; 2],
    }
}

/// The band weight at distance `d`; twin of `band_weight` in `grade.wgsl`.
fn band_weight(p: &GradeParams, d: f32) -> f32 {
    if p.softness_m <= 0.0 {
        // smoothstep with equal edges would divide by zero: hard edges instead.
        return if d >= p.near_m && d <= p.far_m {
            1.0
        } else {
            0.0
        };
    }
    smoothstep(p.near_m - p.softness_m, p.near_m, d)
        * (1.0 - smoothstep(p.far_m, p.far_m + p.softness_m, d))
}

/// Contrast around 18% grey for one channel; twin of `contrast_1` in `grade.wgsl`.
fn contrast_1(c: f32, pow: &PowTable) -> f32 {
    if c > 0.0 { 0.18 * pow.pow(c / 0.18) } else { c }
}

/// Mantissa intervals of [`PowTable`] (a power of two, at most 2^23).
const POW_MANTISSA_STEPS: usize = 4096;

/// `x^y` for one exponent `y`, by table: `x = 2^e · m` with `m` in [1, 2), so
/// `x^y = 2^(y·e) · m^y`, with `2^(y·e)` looked up by `e` and `m^y` interpolated linearly over
/// 4096 intervals of `m`. The interpolation's relative error is at most
/// `h²/8 · |y(y−1)|` with `h = 1/4096` (under 3e-8 for `y` in 0..3), within the f32 rounding of
/// the product; WGSL's `pow` is `exp2(y·log2 x)`, approximate in its own way. The tables are
/// built once per frame's grade (4,353 `powf`s), and a lookup is a few instructions where `powf`
/// is a few dozen: the grade was the costliest per-pixel op of the CPU twin (issue 8). Subnormal,
/// infinite and NaN inputs, and results out of the normal range, take `powf`.
struct PowTable {
    y: f32,
    mantissa: Vec<f32>,
    exponent: [f32; 256],
}

impl PowTable {
    fn new(y: f32) -> PowTable {
        let y64 = f64::from(y);
        let mantissa = (0..=POW_MANTISSA_STEPS)
            .map(|i| (1.0 + i as f64 / POW_MANTISSA_STEPS as f64).powf(y64) as f32)
            .collect();
        let mut exponent = [0.0f32; 256];
        for (e, v) in exponent.iter_mut().enumerate() {
            *v = (y64 * (e as f64 - 127.0)).exp2() as f32;
        }
        PowTable {
            y,
            mantissa,
            exponent,
        }
    }

    #[inline]
    fn pow(&self, x: f32) -> f32 {
        if !(x >= f32::MIN_POSITIVE && x.is_finite()) {
            return x.powf(self.y);
        }
        const FRACTION_BITS: u32 = 23 - POW_MANTISSA_STEPS.trailing_zeros();
        let bits = x.to_bits();
        let scale = self.exponent[(bits >> 23) as usize & 0xff];
        let m = bits & 0x007f_ffff;
        let i = (m >> FRACTION_BITS) as usize;
        let f = (m & ((1 << FRACTION_BITS) - 1)) as f32 * (1.0 / (1u32 << FRACTION_BITS) as f32);
        let (a, b) = (self.mantissa[i], self.mantissa[i + 1]);
        let r = scale * (a + (b - a) * f);
        if r >= f32::MIN_POSITIVE && r.is_finite() {
            r
        } else {
            x.powf(self.y)
        }
    }
}

fn grade_cpu(p: &GradeParams, acc: &Image, aux: &Image, out: &mut Image) {
    let acc = ScaledReader::new(acc, out.width, 1.0);
    let aux = ScaledReader::new(aux, out.width, 1.0);
    let pow = PowTable::new(p.contrast);
    out.fill_rows(|y, row| {
        let (cr, ar) = (acc.row(y), aux.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            *px = grade_pixel(p, &pow, cr.at(x), ar.at(x)[0]);
        }
    });
}

/// One pixel of the grade; twin of `grade.wgsl`'s body.
#[inline]
fn grade_pixel(p: &GradeParams, pow: &PowTable, c: [f32; 4], d: f32) -> [f32; 4] {
    let w = band_weight(p, d);
    // Outside the band the picture passes through untouched (and the pixel costs nothing).
    if w <= 0.0 {
        return c;
    }
    let a = c[3];
    // Un-premultiply (transparent pixels have no colour to grade).
    let inv = if a > 0.0 { 1.0 / a } else { 0.0 };
    let s = [c[0] * inv, c[1] * inv, c[2] * inv, 1.0];
    let e = [
        contrast_1(s[0] * p.exposure_gain, pow),
        contrast_1(s[1] * p.exposure_gain, pow),
        contrast_1(s[2] * p.exposure_gain, pow),
        1.0,
    ];
    let l = luminance(e);
    let g = [
        (l + (e[0] - l) * p.saturation) * p.gain[0],
        (l + (e[1] - l) * p.saturation) * p.gain[1],
        (l + (e[2] - l) * p.saturation) * p.gain[2],
    ];
    [
        mix(s[0], g[0], w) * a,
        mix(s[1], g[1], w) * a,
        mix(s[2], g[2], w) * a,
        a,
    ]
}

// ---------------------------------------------------------------- depth of field

/// Plans a thin-lens depth of field over `acc`.
///
/// **CoC.** With focal length `f` (from the scene's field of view and sensor width), f-number
/// `N`, focus distance `S` and distance `d` (metres), the blur circle on the sensor has diameter
/// `(f/N)·f·|d − S| / (d·(S − f))`; its radius in pixels is `0.5·diameter/sensor_width·width`,
/// clamped to `max_blur_px`.
///
/// **Gather (scatter-as-gather).** Each output pixel gathers samples around it: a sample counts
/// when its own CoC reaches the centre; a sample *farther* than the centre pixel has its CoC
/// limited to `min(coc_sample, coc_centre)`, so a blurred background never spreads over a sharp
/// foreground, and a sharp foreground (small CoC) never reaches into a blurred background. Each
/// sample weighs `1/(π·coc²)` (its energy is spread over its disc), uniformly inside the disc in
/// linear light, so a highlight becomes a flat disc (bokeh), not a gaussian; the centre sample is
/// always included, and the sum is normalised by the total weight.
///
/// **Bounded cost without sparse dots.** Samples sit on a square lattice of odd spacing
/// `s = 2·half + 1 ≥ max_blur_px / 6` pixels, so at most about 6 cells fit in a radius (117 taps
/// at `max_blur_px` = 16, where `s` = 3). A prepass box-sums each pixel's `s × s` neighbourhood
/// (only pixels of similar signed CoC, so the box never mixes a sharp foreground into a blurred
/// background); boxes centred on the lattice points tile the plane exactly, so every pixel within
/// the disc is counted once: a single bright pixel spreads into a filled, uniform disc. The
/// centre cell is gathered at full resolution, so sharp pixels stay sharp. The reach test is
/// anti-aliased over one cell (`saturate((coc − r)/s + 0.5)`), so the disc edge is `s` pixels soft.
pub fn plan_dof(
    b: &mut PlanBuilder,
    s: &DofSettings,
    scene: &SceneSettings,
    acc: Slot,
    aux: Slot,
) -> Slot {
    let factor = if b.may_reduce() {
        dof_factor(s.max_blur_px)
    } else {
        1
    };
    if factor == 1 {
        return plan_dof_at(b, s, scene, acc, aux, 1);
    }
    let small_acc = b.push1(StackOp::Downsample(DownsampleParams::new(factor)), &[acc]);
    let small_aux = b.push1(StackOp::Downsample(DownsampleParams::new(factor)), &[aux]);
    let gathered = plan_dof_at(b, s, scene, small_acc, small_aux, factor);
    let (pre, _) = dof_params(s, scene, b.width());
    b.push1(
        DepthFxOp::DofCombine(DofCombineParams {
            coc_scale: pre.coc_scale,
            focus_m: pre.focus_m,
            max_blur_px: pre.max_blur_px,
            factor: factor as f32,
        }),
        &[acc, aux, gathered, small_aux],
    )
}

/// Blurs up to this radius (pixels) are gathered at full size; wider ones at half size.
pub const DOF_FULL_SIZE_MAX_PX: f32 = 6.0;

/// The reduction the depth of field is gathered at: 2 when `max_blur_px` is wide enough that a
/// half-size gather loses nothing the eye sees (the sharp region stays full size), else 1.
pub fn dof_factor(max_blur_px: f32) -> u32 {
    if max_blur_px > DOF_FULL_SIZE_MAX_PX {
        2
    } else {
        1
    }
}

/// The prefilter and gather on `acc`/`aux` reduced by `factor` (the CoC and blur scaled to it).
fn plan_dof_at(
    b: &mut PlanBuilder,
    s: &DofSettings,
    scene: &SceneSettings,
    acc: Slot,
    aux: Slot,
    factor: u32,
) -> Slot {
    let reduced = DofSettings {
        max_blur_px: s.max_blur_px / factor as f32,
        ..s.clone()
    };
    let width = b.size(acc).0;
    let (mut pre, gather) = dof_params(&reduced, scene, width);
    // The CoC follows the full frame's width, in reduced pixels.
    let (full, _) = dof_params(s, scene, b.width());
    pre.coc_scale = full.coc_scale / factor as f32;
    if factor > 1 {
        // What the reduction adds to the blur, in full-size px²: the lattice's box sums span
        // `factor` times the reference's box, and the box reduction and the bilinear enlargement
        // add `(f² − 1)/12 + f²/6`; in reduced pixels, divided by `f²`.
        let f = factor as f32;
        let box_var = |s: f32| (s * s - 1.0) / 12.0;
        let spacing_reduced = (2 * pre.half + 1) as f32 * f;
        let spacing_full = (2 * full.half + 1) as f32;
        let added = 0.5 * (box_var(spacing_reduced) - box_var(spacing_full))
            + (f * f - 1.0) / 12.0
            + f * f / 6.0;
        pre.shrink_px2 = (added / (f * f)).max(0.0);
    }
    let outs = b.push(DepthFxOp::DofPrefilter(pre), &[acc, aux]);
    b.push1(DepthFxOp::DofGather(gather), &[acc, outs[0], outs[1]])
}

fn dof_params(
    s: &DofSettings,
    scene: &SceneSettings,
    width: u32,
) -> (DofPrefilterParams, DofGatherParams) {
    let f = scene.focal_mm() * 1e-3;
    let sensor = (scene.sensor_width_mm * 1e-3).max(1e-6);
    // Focusing closer than the focal length has no real image: keep the denominator positive.
    let coc_scale = (f / s.f_stop) * f / (s.focus_m - f).max(1e-4) * 0.5 / sensor * width as f32;
    let max_blur = s.max_blur_px.max(0.0);
    // Smallest odd spacing with at most DOF_CELLS cells per max_blur radius.
    let half = ((max_blur / DOF_CELLS - 1.0) * 0.5).ceil().max(0.0) as i32;
    let spacing = (2 * half + 1) as f32;
    let cells = ((max_blur + 0.5 * spacing) / spacing).floor() as i32;
    (
        DofPrefilterParams {
            coc_scale,
            focus_m: s.focus_m,
            max_blur_px: max_blur,
            half,
            shrink_px2: 0.0,
            _pad: [0.0; 3],
        },
        DofGatherParams {
            max_blur_px: max_blur,
            half,
            cells,
            _pad: 0.0,
        },
    )
}

/// The signed CoC radius in pixels (negative nearer than focus); twin of `signed_coc` in
/// `dof_prefilter.wgsl`.
fn signed_coc(p: &DofPrefilterParams, d: f32) -> f32 {
    let dd = d.max(1e-4);
    let mut r = (p.coc_scale * (dd - p.focus_m).abs() / dd).min(p.max_blur_px);
    if p.shrink_px2 > 0.0 {
        r = (r * r - 4.0 * p.shrink_px2).max(0.0).sqrt();
    }
    if dd < p.focus_m { -r } else { r }
}

fn dof_prefilter_cpu(
    p: &DofPrefilterParams,
    acc: &Image,
    aux: &Image,
    sum: &mut Image,
    meta: &mut Image,
) {
    let spacing = (2 * p.half + 1) as f32;
    let (w, h) = (acc.width as i32, acc.height as i32);
    if w == 0 || h == 0 {
        return;
    }
    // Each pixel's signed CoC once (a pure function of its depth), not once per neighbour.
    let coc: Vec<f32> = aux.pixels.par_iter().map(|a| signed_coc(p, a[0])).collect();
    let at = |x: i32, y: i32| (y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize;
    // Both outputs in one sweep (they share the CoC-similarity weights), parallel by row.
    sum.pixels
        .par_chunks_mut(w as usize)
        .zip(meta.pixels.par_chunks_mut(w as usize))
        .enumerate()
        .for_each(|(y, (srow, mrow))| {
            let y = y as i32;
            for (x, (s, m)) in srow.iter_mut().zip(mrow.iter_mut()).enumerate() {
                let x = x as i32;
                let d = aux.pixels[at(x, y)][0];
                let sc = coc[at(x, y)];
                let mut total = [0.0f32; 4];
                let mut count = 0.0f32;
                for dy in -p.half..=p.half {
                    for dx in -p.half..=p.half {
                        let k = at(x + dx, y + dy);
                        let wt = (1.0 - (coc[k] - sc).abs() / spacing).clamp(0.0, 1.0);
                        let c = acc.pixels[k];
                        total[0] += wt * c[0];
                        total[1] += wt * c[1];
                        total[2] += wt * c[2];
                        total[3] += wt * c[3];
                        count += wt;
                    }
                }
                *s = total;
                *m = [count, sc.abs(), sc, d];
            }
        });
}

/// The CoC a sample reaches the centre with: its own, or, when it is farther than the centre,
/// no more than the centre's (so nothing behind a sharp pixel spreads over it).
fn reach_coc(coc: f32, d: f32, coc_c: f32, d_c: f32) -> f32 {
    let e = if d > d_c { coc.min(coc_c) } else { coc };
    e.max(MIN_COC_PX)
}

/// The side of the gather's tiles (pixels) for [`in_focus_tiles`].
const GATHER_TILE: i32 = 16;

/// Which `GATHER_TILE`-square tiles of the gather are in focus throughout their reach: no pixel
/// within a gather's reach of the tile has a CoC above [`MIN_COC_PX`]. There every sample's
/// reach CoC is `MIN_COC_PX`, so every weight but the centre pixel's is exactly 0, the centre's
/// is exactly 4 and the gather returns the centre pixel unchanged: those tiles skip the gather
/// with no change to a single bit. `(tiles across, flags)`.
fn in_focus_tiles(p: &DofGatherParams, meta: &Image) -> (usize, Vec<bool>) {
    let (w, h) = (meta.width as i32, meta.height as i32);
    let (tx, ty) = (
        (w + GATHER_TILE - 1) / GATHER_TILE,
        (h + GATHER_TILE - 1) / GATHER_TILE,
    );
    // The largest CoC in each tile.
    let tile_max: Vec<f32> = (0..tx * ty)
        .into_par_iter()
        .map(|t| {
            let (x0, y0) = ((t % tx) * GATHER_TILE, (t / tx) * GATHER_TILE);
            let mut m = 0.0f32;
            for y in y0..(y0 + GATHER_TILE).min(h) {
                let row = meta.row_clamped(y);
                for px in &row[x0 as usize..(x0 + GATHER_TILE).min(w) as usize] {
                    // NaN counts as out of focus.
                    if px[1].is_nan() {
                        m = f32::INFINITY;
                    } else if px[1] > m {
                        m = px[1];
                    }
                }
            }
            m
        })
        .collect();
    // A pixel's gather reads up to the reach of the lattice (and the centre cell) around it.
    let spacing = (2 * p.half + 1) as f32;
    let reach = (p.max_blur_px + spacing).ceil() as i32 + p.half + 1;
    let r = (reach + GATHER_TILE - 1) / GATHER_TILE;
    let flags = (0..tx * ty)
        .map(|t| {
            let (cx, cy) = (t % tx, t / tx);
            (cy - r..=cy + r).all(|j| {
                (cx - r..=cx + r).all(|i| {
                    let (i, j) = (i.clamp(0, tx - 1), j.clamp(0, ty - 1));
                    tile_max[(j * tx + i) as usize] <= MIN_COC_PX
                })
            })
        })
        .collect();
    (tx as usize, flags)
}

/// The gather's taps, worked out once per op in the shader's order: the centre cell's offsets
/// with their distances, and the lattice cells within reach with theirs.
struct GatherTaps {
    centre: Vec<(i32, i32, f32)>,
    cells: Vec<(i32, i32, f32)>,
    /// The farthest any tap reaches along an axis.
    reach: i32,
}

impl GatherTaps {
    fn new(p: &DofGatherParams, spacing: f32, reach2: f32) -> GatherTaps {
        let mut centre = Vec::new();
        for dy in -p.half..=p.half {
            for dx in -p.half..=p.half {
                centre.push((dx, dy, ((dx * dx + dy * dy) as f32).sqrt()));
            }
        }
        let mut cells = Vec::new();
        for j in -p.cells..=p.cells {
            for i in -p.cells..=p.cells {
                let r2 = ((i * i + j * j) as f32) * spacing * spacing;
                if (i == 0 && j == 0) || r2 >= reach2 {
                    continue;
                }
                cells.push((i * (2 * p.half + 1), j * (2 * p.half + 1), r2.sqrt()));
            }
        }
        let reach = cells
            .iter()
            .chain(&centre)
            .map(|&(x, y, _)| x.abs().max(y.abs()))
            .max()
            .unwrap_or(0);
        GatherTaps {
            centre,
            cells,
            reach,
        }
    }
}

fn dof_gather_cpu(p: &DofGatherParams, acc: &Image, sum: &Image, meta: &Image, out: &mut Image) {
    let spacing = (2 * p.half + 1) as f32;
    let reach2 = (p.max_blur_px + 0.5 * spacing) * (p.max_blur_px + 0.5 * spacing);
    let (tiles_across, in_focus) = in_focus_tiles(p, meta);
    let taps = GatherTaps::new(p, spacing, reach2);
    let (w, h) = (meta.width as i32, meta.height as i32);
    let same_size = [acc, sum]
        .iter()
        .all(|im| (im.width, im.height) == (meta.width, meta.height));
    out.fill_rows(|y, row| {
        let acc_row = acc.row_clamped(y as i32);
        for (x, px) in row.iter_mut().enumerate() {
            let tile =
                (y as usize / GATHER_TILE as usize) * tiles_across + x / GATHER_TILE as usize;
            if in_focus.get(tile).copied().unwrap_or(false) {
                *px = acc_row.get(x).copied().unwrap_or([0.0; 4]);
                continue;
            }
            let (x, y) = (x as i32, y as i32);
            let r = taps.reach;
            // Away from the edges every tap is inside the image: read by index, no clamping.
            let inside = same_size && x >= r && y >= r && x + r < w && y + r < h;
            *px = if inside {
                gather_inside(&taps, spacing, acc, sum, meta, x, y)
            } else {
                gather_clamped(&taps, spacing, acc, sum, meta, x, y)
            };
        }
    });
}

/// The gather at a pixel whose taps all fall inside the image (same formulas and order as
/// [`gather_clamped`], reading pixels by index).
#[inline]
fn gather_inside(
    taps: &GatherTaps,
    spacing: f32,
    acc: &Image,
    sum: &Image,
    meta: &Image,
    x: i32,
    y: i32,
) -> [f32; 4] {
    let w = meta.width as i32;
    let base = y * w + x;
    let at = |img: &Image, dx: i32, dy: i32| {
        img.pixels
            .get((base + dy * w + dx) as usize)
            .copied()
            .unwrap_or([0.0; 4])
    };
    gather_with(
        taps,
        spacing,
        |dx, dy| at(meta, dx, dy),
        |dx, dy| at(acc, dx, dy),
        |dx, dy| at(sum, dx, dy),
    )
}

/// The gather at any pixel, with every read clamped to the image (`load_clamped`).
#[inline]
fn gather_clamped(
    taps: &GatherTaps,
    spacing: f32,
    acc: &Image,
    sum: &Image,
    meta: &Image,
    x: i32,
    y: i32,
) -> [f32; 4] {
    gather_with(
        taps,
        spacing,
        |dx, dy| meta.load_clamped(x + dx, y + dy),
        |dx, dy| acc.load_clamped(x + dx, y + dy),
        |dx, dy| sum.load_clamped(x + dx, y + dy),
    )
}

/// The gather's sums over precomputed taps; `meta`, `acc` and `sum` read a pixel at an offset
/// from the centre; the formulas and their order are `dof_gather.wgsl`'s.
#[inline(always)]
fn gather_with(
    taps: &GatherTaps,
    spacing: f32,
    meta: impl Fn(i32, i32) -> [f32; 4],
    acc: impl Fn(i32, i32) -> [f32; 4],
    sum: impl Fn(i32, i32) -> [f32; 4],
) -> [f32; 4] {
    let mc = meta(0, 0);
    let (coc_c, d_c) = (mc[1], mc[3]);
    let mut total = [0.0f32; 4];
    let mut weight = 0.0f32;
    for &(dx, dy, r) in &taps.centre {
        let m = meta(dx, dy);
        let e = reach_coc(m[1], m[3], coc_c, d_c);
        let w = (e - r + 0.5).clamp(0.0, 1.0) / (e * e);
        let c = acc(dx, dy);
        total[0] += w * c[0];
        total[1] += w * c[1];
        total[2] += w * c[2];
        total[3] += w * c[3];
        weight += w;
    }
    for &(ox, oy, r) in &taps.cells {
        let m = meta(ox, oy);
        let e = reach_coc(m[1], m[3], coc_c, d_c);
        let cover = ((e - r) / spacing + 0.5).clamp(0.0, 1.0);
        if cover <= 0.0 {
            continue;
        }
        let w = cover / (e * e);
        let c = sum(ox, oy);
        total[0] += w * c[0];
        total[1] += w * c[1];
        total[2] += w * c[2];
        total[3] += w * c[3];
        weight += w * m[0];
    }
    let inv = 1.0 / weight;
    [
        total[0] * inv,
        total[1] * inv,
        total[2] * inv,
        total[3] * inv,
    ]
}

/// The full-size CoC radius (pixels) for the combine pass (twin of `coc_px` in
/// `dof_combine.wgsl`).
fn combine_coc(p: &DofCombineParams, d: f32) -> f32 {
    let dd = d.max(1e-4);
    (p.coc_scale * (dd - p.focus_m).abs() / dd).min(p.max_blur_px)
}

fn dof_combine_cpu(
    p: &DofCombineParams,
    acc: &Image,
    aux: &Image,
    small: &Image,
    small_aux: &Image,
    out: &mut Image,
) {
    let f = p.factor;
    let acc = ScaledReader::new(acc, out.width, 1.0);
    let aux = ScaledReader::new(aux, out.width, 1.0);
    // The reduced image's columns and weights for each output column, worked out once.
    let columns: Vec<(i32, f32)> = (0..out.width)
        .map(|x| {
            let qx = (x as f32 + 0.5) / f - 0.5;
            let fx = qx.floor();
            (fx as i32, qx - fx)
        })
        .collect();
    out.fill_rows(|y, row| {
        let (cr, ar) = (acc.row(y), aux.row(y));
        let qy = (y as f32 + 0.5) / f - 0.5;
        let fy = qy.floor();
        let (iy, wy) = (fy as i32, qy - fy);
        let rows = [small.row_clamped(iy), small.row_clamped(iy + 1)];
        let aux_rows = [small_aux.row_clamped(iy), small_aux.row_clamped(iy + 1)];
        let last = small.width as i32 - 1;
        for (x, px) in row.iter_mut().enumerate() {
            let c = cr.at(x);
            let d = ar.at(x)[0];
            let t = (combine_coc(p, d) - 0.5).clamp(0.0, 1.0);
            if t <= 0.0 {
                *px = c;
                continue;
            }
            // Depth-aware bilinear enlargement: each of the four reduced samples around the
            // pixel weighs its bilinear weight times its depth's closeness to this pixel's.
            let (ix, wx) = columns.get(x).copied().unwrap_or((0, 0.0));
            let mut total = [0.0f32; 4];
            let mut weight = 0.0f32;
            let mut plain = [0.0f32; 4];
            for (dx, dy, wb) in [
                (0, 0, (1.0 - wx) * (1.0 - wy)),
                (1, 0, wx * (1.0 - wy)),
                (0, 1, (1.0 - wx) * wy),
                (1, 1, wx * wy),
            ] {
                let sx = (ix + dx).clamp(0, last).max(0) as usize;
                let s = rows[dy].get(sx).copied().unwrap_or([0.0; 4]);
                let ds = aux_rows[dy].get(sx).map_or(0.0, |a| a[0]);
                let rel = (ds - d).abs() / d.max(1e-4);
                let w = wb / (1e-3 + rel);
                for k in 0..4 {
                    total[k] += w * s[k];
                    plain[k] += wb * s[k];
                }
                weight += w;
            }
            let blurred = if weight > 1e-6 {
                total.map(|v| v / weight)
            } else {
                plain
            };
            *px = crate::composite::image::mix4(c, blurred, t);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::FrameInputs;
    use crate::composite::cpu;
    use crate::composite::layers::FogFalloff;
    use crate::composite::plan::Input;
    use crate::shot::decode::{DecodeLimits, decode};
    use std::path::Path;

    /// A real photo, linear and premultiplied, box-downscaled by `factor`, cropped to `w × h`
    /// from `(x0, y0)` (in downscaled pixels).
    fn photo(file: &str, factor: u32, x0: u32, y0: u32, w: u32, h: u32) -> Image {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let plate = decode(&path, &DecodeLimits::default()).unwrap();
        let n = (factor * factor) as f32;
        Image::from_fn(w, h, |x, y| {
            let mut c = [0.0f32; 4];
            for j in 0..factor {
                for i in 0..factor {
                    let sx = (x0 + x) * factor + i;
                    let sy = (y0 + y) * factor + j;
                    let k = ((sy * plate.width + sx) * 4) as usize;
                    let a = plate.rgba[k + 3];
                    c[0] += plate.rgba[k] * a / n;
                    c[1] += plate.rgba[k + 1] * a / n;
                    c[2] += plate.rgba[k + 2] * a / n;
                    c[3] += a / n;
                }
            }
            c
        })
    }

    fn astronaut() -> Image {
        photo("assets/sample_shot/astronaut.1001.png", 4, 0, 0, 128, 96)
    }

    fn aux_from(w: u32, h: u32, d: impl Fn(u32, u32) -> f32 + Sync) -> Image {
        Image::from_fn(w, h, |x, y| [d(x, y), 1.0, 0.5, 0.0])
    }

    /// Renders `acc` through one effect planned by `f`, on the CPU reference.
    fn render(
        acc: &Image,
        aux: &Image,
        f: impl FnOnce(&mut PlanBuilder, Slot, Slot) -> Slot,
    ) -> Image {
        render_with(PlanBuilder::new(acc.width, acc.height), acc, aux, f)
    }

    /// [`render`] with the full-size reference (no reduced-size depth of field).
    fn render_ref(
        acc: &Image,
        aux: &Image,
        f: impl FnOnce(&mut PlanBuilder, Slot, Slot) -> Slot,
    ) -> Image {
        render_with(PlanBuilder::reference(acc.width, acc.height), acc, aux, f)
    }

    fn render_with(
        mut b: PlanBuilder,
        acc: &Image,
        aux: &Image,
        f: impl FnOnce(&mut PlanBuilder, Slot, Slot) -> Slot,
    ) -> Image {
        let a = b.input(Input::Plate);
        let x = b.input(Input::Aux);
        let out = f(&mut b, a, x);
        let plan = b.finish(out, x);
        let inputs = FrameInputs {
            plate: Some(acc.clone()),
            aux: Some(aux.clone()),
            ..Default::default()
        };
        cpu::render(&plan, &inputs).unwrap().rgba
    }

    fn px(img: &Image, x: u32, y: u32) -> [f32; 4] {
        img.pixels[(y * img.width + x) as usize]
    }

    // ------------------------------------------------------------ fog

    /// The fog amount seen in a rendered pixel, from the channel that moves most.
    fn seen_fog(before: [f32; 4], after: [f32; 4], colour: [f32; 3]) -> Option<f32> {
        (0..3)
            .map(|c| (colour[c] * before[3] - before[c], after[c] - before[c]))
            .filter(|(den, _)| den.abs() > 0.1)
            .max_by(|a, b| a.0.abs().total_cmp(&b.0.abs()))
            .map(|(den, num)| num / den)
    }

    #[test]
    fn fog_is_absent_before_near_grows_with_distance_and_reaches_density_at_far() {
        let acc = astronaut();
        // Distance grows left to right, 0..40 m, on the real photo.
        let aux = aux_from(128, 96, |x, _| x as f32 * 40.0 / 127.0);
        for falloff in [
            FogFalloff::Linear,
            FogFalloff::Smooth,
            FogFalloff::Exponential,
        ] {
            let s = FogSettings {
                colour: [0.9, 0.95, 1.0],
                near_m: 8.0,
                far_m: 30.0,
                density: 0.7,
                falloff,
            };
            let out = render(&acc, &aux, |b, a, x| plan_fog(b, &s, a, x));
            let mut seen = Vec::new();
            for y in 0..96 {
                for x in 0..128 {
                    let d = px(&aux, x, y)[0];
                    let (before, after) = (px(&acc, x, y), px(&out, x, y));
                    assert_eq!(before[3], after[3], "alpha is kept");
                    if d <= s.near_m {
                        assert_eq!(before, after, "{falloff:?}: fog before near at {d} m");
                    } else if let Some(f) = seen_fog(before, after, s.colour) {
                        seen.push((d, f));
                    }
                }
            }
            seen.sort_by(|a, b| a.0.total_cmp(&b.0));
            for pair in seen.windows(2) {
                assert!(
                    pair[1].1 >= pair[0].1 - 1e-3,
                    "{falloff:?}: fog thins from {pair:?}"
                );
            }
            let at_far: Vec<f32> = seen
                .iter()
                .filter(|(d, _)| *d >= s.far_m)
                .map(|p| p.1)
                .collect();
            assert!(!at_far.is_empty());
            for f in at_far {
                assert!((f - s.density).abs() < 1e-3, "{falloff:?}: {f} at far");
            }
            // Halfway, the ramps differ as their shapes say: exponential thickest, then linear/smooth.
            let mid = fog_amount(&fog_params(&s), 19.0) / s.density;
            let expected = match falloff {
                FogFalloff::Linear => 0.5,
                FogFalloff::Smooth => 0.5,
                FogFalloff::Exponential => (1.0 - (-2.0f32).exp()) / (1.0 - (-4.0f32).exp()),
            };
            assert!((mid - expected).abs() < 1e-4, "{falloff:?}: {mid}");
        }
    }

    // ------------------------------------------------------------ grade

    #[test]
    fn the_gathers_in_focus_tiles_are_exactly_what_the_full_gather_gives() {
        // A real photo: the left third at the focus distance, the right two thirds far behind,
        // so some tiles skip the gather, some gather, and some sit at the boundary.
        let acc = photo("assets/sample_shot/astronaut.1001.png", 2, 0, 0, 256, 192);
        let s = DofSettings {
            focus_m: 2.0,
            f_stop: 1.4,
            max_blur_px: 12.0,
        };
        let aux = aux_from(256, 192, |x, _| if x < 90 { 2.0 } else { 30.0 });
        let (pre, gather) = dof_params(&s, &lens(50.0), 256);
        let (mut sum, mut meta) = (Image::new(256, 192), Image::new(256, 192));
        dof_prefilter_cpu(&pre, &acc, &aux, &mut sum, &mut meta);
        let mut out = Image::new(256, 192);
        dof_gather_cpu(&gather, &acc, &sum, &meta, &mut out);
        let (_, in_focus) = in_focus_tiles(&gather, &meta);
        let skipped = in_focus.iter().filter(|f| **f).count();
        assert!(
            skipped > 0 && skipped < in_focus.len(),
            "{skipped} of {}",
            in_focus.len()
        );
        // Every pixel gathered tap by tap with clamped reads: what the skipped tiles and the
        // by-index reads away from the edges must reproduce to the bit.
        let spacing = (2 * gather.half + 1) as f32;
        let reach2 = (gather.max_blur_px + 0.5 * spacing).powi(2);
        let taps = GatherTaps::new(&gather, spacing, reach2);
        for y in 0..192 {
            for x in 0..256 {
                let full = gather_clamped(&taps, spacing, &acc, &sum, &meta, x, y);
                let got = out.pixels[(y * 256 + x) as usize];
                assert_eq!(got.map(f32::to_bits), full.map(f32::to_bits), "at {x},{y}");
            }
        }
    }

    #[test]
    fn the_pow_table_is_within_two_f32_roundings_of_powf() {
        let mut worst = 0.0f64;
        for y in [0.2f32, 0.5, 0.95, 1.0, 1.05, 1.3, 2.2, 3.0] {
            let table = PowTable::new(y);
            for i in 0..200_000u32 {
                // x over 1e-30..1e30 (log-spaced), y over 0.2..3.
                let x = 10f32.powf(-30.0 + 60.0 * i as f32 / 200_000.0);
                let (fast, exact) = (table.pow(x), f64::from(x).powf(f64::from(y)));
                if exact.is_finite() && exact > 1e-37 && exact < 1e37 {
                    worst = worst.max(((f64::from(fast) - exact) / exact).abs());
                }
            }
        }
        // An f32 rounding is at most 2^-24 ≈ 6e-8 relative; the interpolation adds under 3e-8.
        assert!(worst < 2.4e-7, "worst relative error {worst:e}");
        let table = PowTable::new(1.05);
        assert_eq!(table.pow(0.0), 0.0);
        assert!(table.pow(f32::NAN).is_nan());
        assert_eq!(table.pow(f32::INFINITY), f32::INFINITY);
        // Exponent 1 is exact.
        assert_eq!(PowTable::new(1.0).pow(0.123_456), 0.123_456);
    }

    #[test]
    fn grade_changes_only_inside_the_band() {
        let acc = astronaut();
        let aux = aux_from(128, 96, |x, _| x as f32 * 20.0 / 127.0);
        let s = GradeSettings {
            near_m: 5.0,
            far_m: 10.0,
            softness_m: 0.0,
            exposure_stops: 1.0,
            contrast: 1.3,
            saturation: 0.5,
            gain: [1.0, 0.9, 1.1],
        };
        let out = render(&acc, &aux, |b, a, x| plan_grade(b, &s, a, x));
        let mut changed_inside = 0;
        let mut inside = 0;
        for y in 0..96 {
            for x in 0..128 {
                let d = px(&aux, x, y)[0];
                let (before, after) = (px(&acc, x, y), px(&out, x, y));
                assert!(after.iter().all(|v| v.is_finite()));
                if d < s.near_m || d > s.far_m {
                    for c in 0..4 {
                        assert!((before[c] - after[c]).abs() <= 1e-6 * before[c].abs().max(1e-3));
                    }
                } else if luminance(before) > 0.01 {
                    inside += 1;
                    let moved = (0..3)
                        .map(|c| (after[c] - before[c]).abs())
                        .fold(0.0, f32::max);
                    if moved > 1e-3 * (1.0 + luminance(before)) {
                        changed_inside += 1;
                    }
                }
            }
        }
        assert!(inside > 1000);
        // Every pixel with colour (not the black of space) inside the band is graded.
        assert!(
            changed_inside as f32 > 0.95 * inside as f32,
            "{changed_inside}/{inside}"
        );
    }

    #[test]
    fn grade_soft_edges_rise_and_fall_monotonically() {
        let acc = astronaut();
        let aux = aux_from(128, 96, |x, _| x as f32 * 20.0 / 127.0);
        // Exposure only: graded = 2·c, so the band weight is out/in − 1.
        let s = GradeSettings {
            near_m: 6.0,
            far_m: 10.0,
            softness_m: 3.0,
            exposure_stops: 1.0,
            ..GradeSettings::default()
        };
        let out = render(&acc, &aux, |b, a, x| plan_grade(b, &s, a, x));
        let mut seen: Vec<(f32, f32)> = Vec::new();
        for y in 0..96 {
            for x in 0..128 {
                let (before, after) = (px(&acc, x, y), px(&out, x, y));
                if before[1] > 0.02 {
                    seen.push((px(&aux, x, y)[0], after[1] / before[1] - 1.0));
                }
            }
        }
        seen.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (lo, hi) = (s.near_m - s.softness_m, s.far_m + s.softness_m);
        for pair in seen.windows(2) {
            let ((d0, w0), (d1, w1)) = (pair[0], pair[1]);
            if d1 <= s.near_m {
                assert!(w1 >= w0 - 1e-4, "rising edge not monotone: {pair:?}");
            } else if d0 >= s.far_m {
                assert!(w1 <= w0 + 1e-4, "falling edge not monotone: {pair:?}");
            }
        }
        for (d, w) in &seen {
            if *d <= lo || *d >= hi {
                assert!(w.abs() < 1e-4, "graded outside the soft band at {d} m: {w}");
            } else if *d >= s.near_m && *d <= s.far_m {
                assert!(
                    (w - 1.0).abs() < 1e-4,
                    "not fully graded inside at {d} m: {w}"
                );
            }
        }
        // The edges really are soft: some pixels are partly graded on each side.
        assert!(
            seen.iter()
                .any(|(d, w)| *d < s.near_m && *w > 0.2 && *w < 0.8)
        );
        assert!(
            seen.iter()
                .any(|(d, w)| *d > s.far_m && *w > 0.2 && *w < 0.8)
        );
    }

    // ------------------------------------------------------------ depth of field

    /// A lens of `focal_mm` on a 36 mm sensor (the scene's fov set to match).
    fn lens(focal_mm: f32) -> SceneSettings {
        SceneSettings {
            fov_deg: 2.0 * (18.0f32 / focal_mm).atan().to_degrees(),
            sensor_width_mm: 36.0,
            ..SceneSettings::default()
        }
    }

    /// The thin-lens CoC radius in pixels, written out independently of the op.
    fn expected_coc_px(focal_mm: f32, s: &DofSettings, d: f32, width: u32) -> f32 {
        let f = focal_mm * 1e-3;
        let diameter = (f / s.f_stop) * f * (d - s.focus_m).abs() / (d * (s.focus_m - f));
        (0.5 * diameter / 0.036 * width as f32).min(s.max_blur_px)
    }

    /// The mean of `img` over the pixels within `r` of `(x, y)` (a flat disc blur).
    fn disc_mean(img: &Image, x: i32, y: i32, r: f32) -> [f32; 4] {
        let n = r.ceil() as i32;
        let mut sum = [0.0f32; 4];
        let mut count = 0.0;
        for dy in -n..=n {
            for dx in -n..=n {
                if ((dx * dx + dy * dy) as f32) <= r * r {
                    let c = img.load_clamped(x + dx, y + dy);
                    for k in 0..4 {
                        sum[k] += c[k];
                    }
                    count += 1.0;
                }
            }
        }
        sum.map(|v| v / count)
    }

    #[test]
    fn dof_coc_follows_the_thin_lens() {
        let s = DofSettings {
            focus_m: 2.0,
            f_stop: 2.0,
            max_blur_px: 64.0,
        };
        let scene = lens(50.0);
        assert!((scene.focal_mm() - 50.0).abs() < 1e-3);
        let (pre, _) = dof_params(&s, &scene, 1920);
        for d in [0.5f32, 1.0, 1.9, 2.0, 2.5, 5.0, 100.0] {
            let got = signed_coc(&pre, d);
            let want = expected_coc_px(50.0, &s, d, 1920);
            assert!(
                (got.abs() - want).abs() < 1e-3 * want.max(1.0),
                "{d} m: {got} vs {want}"
            );
            assert_eq!(got < 0.0, d < s.focus_m, "nearer than focus is negative");
        }
        // The tap budget: 117 gather taps at max_blur_px 16.
        let (_, g) = dof_params(&DofSettings::default(), &scene, 1920);
        let spacing = (2 * g.half + 1) as f32;
        let reach = g.max_blur_px + 0.5 * spacing;
        let mut taps = (spacing * spacing) as usize;
        for j in -g.cells..=g.cells {
            for i in -g.cells..=g.cells {
                let r2 = (i * i + j * j) as f32 * spacing * spacing;
                if (i, j) != (0, 0) && r2 < reach * reach {
                    taps += 1;
                }
            }
        }
        assert_eq!(taps, 117, "{taps} taps at max_blur_px 16");
    }

    #[test]
    fn dof_blur_follows_depth_sharp_in_focus_and_disc_sized_out_of_focus() {
        let acc = astronaut();
        let scene = lens(135.0);
        let s = DofSettings {
            focus_m: 1.5,
            f_stop: 1.4,
            max_blur_px: 16.0,
        };
        // Left third in focus, right two thirds at two depths behind it.
        let depth = |x: u32| match x {
            0..43 => 1.5,
            43..86 => 2.0,
            _ => 6.0,
        };
        let aux = aux_from(128, 96, |x, _| depth(x));
        let out = render_ref(&acc, &aux, |b, a, x| plan_dof(b, &s, &scene, a, x));
        // In focus: untouched.
        for y in 0..96 {
            for x in 0..43 {
                let (a, b) = (px(&acc, x, y), px(&out, x, y));
                for c in 0..4 {
                    assert!((a[c] - b[c]).abs() < 1e-5, "in-focus pixel {x},{y} changed");
                }
            }
        }
        // Out of focus: the output is closest to a flat disc blur of the thin-lens radius.
        for (x0, x1, d) in [(58u32, 72u32, 2.0f32), (104, 116, 6.0)] {
            let coc = expected_coc_px(135.0, &s, d, 128);
            assert!(coc > 2.0, "{d} m: CoC {coc}");
            let mut errors = Vec::new();
            for scale in [0.5f32, 0.75, 1.0, 1.5, 2.0] {
                let mut err = 0.0f32;
                for y in 20..76 {
                    for x in x0..x1 {
                        let want = disc_mean(&acc, x as i32, y as i32, coc * scale);
                        let got = px(&out, x, y);
                        err += (0..3).map(|c| (want[c] - got[c]).abs()).sum::<f32>();
                    }
                }
                errors.push((scale, err));
            }
            let best = errors
                .iter()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|e| e.0)
                .unwrap_or(0.0);
            println!("{d} m, CoC {coc:.2} px: error by disc radius scale {errors:?}");
            assert_eq!(
                best, 1.0,
                "{d} m (CoC {coc} px): errors by radius scale {errors:?}"
            );
        }
    }

    #[test]
    fn dof_sharp_foreground_and_blurred_background_do_not_bleed_into_each_other() {
        let scene = lens(135.0);
        let s = DofSettings {
            focus_m: 1.5,
            f_stop: 1.4,
            max_blur_px: 16.0,
        };
        // The foreground: a crop of the cat (chelsea), a 40×40 square in focus at 1.5 m; the
        // background: the astronaut at 20 m (CoC about 8 px).
        let fg = photo("vendor/skimage-data/chelsea.png", 2, 40, 30, 128, 96);
        let bg = astronaut();
        let is_fg = |x: u32, y: u32| (44..84).contains(&x) && (28..68).contains(&y);
        let aux = aux_from(128, 96, |x, y| if is_fg(x, y) { 1.5 } else { 20.0 });
        assert!(expected_coc_px(135.0, &s, 20.0, 128) > 6.0);
        // Each layer made very bright in turn, so any bleeding of it shows.
        for (fg_gain, bg_gain) in [(50.0f32, 1.0f32), (1.0, 50.0)] {
            let acc = Image::from_fn(128, 96, |x, y| {
                if is_fg(x, y) {
                    px(&fg, x, y).map(|v| v * fg_gain)
                } else {
                    px(&bg, x, y).map(|v| v * bg_gain)
                }
            });
            let out = render(&acc, &aux, |b, a, x| plan_dof(b, &s, &scene, a, x));
            let bg_max = bg
                .pixels
                .iter()
                .map(|p| p[0].max(p[1]).max(p[2]))
                .fold(0.0, f32::max);
            let mut blurred = 0;
            for y in 0..96 {
                for x in 0..128 {
                    let (a, b) = (px(&acc, x, y), px(&out, x, y));
                    if is_fg(x, y) {
                        // The sharp foreground stays exactly as it was, even at its edge.
                        for c in 0..4 {
                            assert!(
                                (a[c] - b[c]).abs() <= 1e-5 * a[c].abs().max(1.0),
                                "foreground pixel {x},{y} changed: {a:?} -> {b:?}"
                            );
                        }
                    } else {
                        // The background never picks up the (bright) foreground.
                        let limit = bg_max * bg_gain * 1.0001;
                        assert!(b[..3].iter().all(|v| *v <= limit), "{x},{y}: {b:?}");
                        if (a[0] - b[0]).abs() > 1e-3 * bg_gain {
                            blurred += 1;
                        }
                    }
                }
            }
            // …and the background really is blurred, right up to the foreground.
            assert!(
                blurred > 128 * 96 / 2,
                "only {blurred} background pixels blurred"
            );
            let next_to_fg = px(&out, 43, 48);
            let alone = px(&acc, 43, 48);
            assert!((next_to_fg[1] - alone[1]).abs() > 0.0);
        }
    }

    #[test]
    fn dof_highlight_spreads_into_a_filled_uniform_disc() {
        let scene = lens(135.0);
        let s = DofSettings {
            focus_m: 1.5,
            f_stop: 1.4,
            max_blur_px: 16.0,
        };
        let (w, h) = (96u32, 96u32);
        // A dark, out-of-focus background (a dimmed crop of the photo) at 6 m.
        let dark = photo("assets/sample_shot/astronaut.1001.png", 2, 60, 40, w, h)
            .pixels
            .iter()
            .map(|p| [p[0] * 0.02, p[1] * 0.02, p[2] * 0.02, p[3]])
            .collect::<Vec<_>>();
        let dark = Image {
            width: w,
            height: h,
            pixels: dark,
        };
        let aux = aux_from(w, h, |_, _| 6.0);
        let radius = expected_coc_px(135.0, &s, 6.0, w);
        assert!((8.0..16.0).contains(&radius), "CoC {radius}");
        let energy = 500.0f32;
        let mut lit = dark.clone();
        let (cx, cy) = (48i32, 47i32);
        lit.pixels[(cy as u32 * w + cx as u32) as usize][1] += energy;
        let base = render_ref(&dark, &aux, |b, a, x| plan_dof(b, &s, &scene, a, x));
        let out = render_ref(&lit, &aux, |b, a, x| plan_dof(b, &s, &scene, a, x));
        let spread = |x: i32, y: i32| {
            let i = (y as u32 * w + x as u32) as usize;
            out.pixels[i][1] - base.pixels[i][1]
        };
        let mut total = 0.0f32;
        let mut inner = Vec::new();
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let v = spread(x, y);
                total += v;
                let r = (((x - cx) * (x - cx) + (y - cy) * (y - cy)) as f32).sqrt();
                if r <= radius - 4.0 {
                    inner.push(v);
                }
                if r > radius + 4.0 {
                    assert!(v.abs() < 1e-4, "light at {r:.1} px, beyond the disc: {v}");
                }
            }
        }
        // Energy is conserved.
        assert!(
            (total / energy - 1.0).abs() < 0.1,
            "energy {total} of {energy}"
        );
        // Filled and flat inside: no gaps, no dots, no gaussian peak.
        let mean = inner.iter().sum::<f32>() / inner.len() as f32;
        let (lo, hi) = inner
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        assert!(
            lo > 0.85 * mean && hi < 1.15 * mean,
            "inner disc {lo}..{hi}, mean {mean}"
        );
        // Equal energy in a flat disc of the inner level: the CoC's radius.
        let equivalent = (total / (std::f32::consts::PI * mean)).sqrt();
        assert!(
            (equivalent - radius).abs() < 0.5,
            "disc of {equivalent} px, CoC {radius}"
        );
        // A sharp edge: along 16 directions the light falls from 90% to 10% within 4.5 px (one
        // 3 px lattice cell of anti-aliasing, plus the cell's quantisation), around the CoC
        // radius; a gaussian of this energy radius would take about 10 px.
        let mut edges = Vec::new();
        for k in 0..16 {
            let a = k as f32 * std::f32::consts::TAU / 16.0;
            let first_below = |level: f32| {
                (0..300)
                    .map(|step| step as f32 * 0.1)
                    .find(|r| {
                        let (x, y) = (cx as f32 + r * a.cos(), cy as f32 + r * a.sin());
                        spread(x.round() as i32, y.round() as i32) < level * mean
                    })
                    .unwrap_or(30.0)
            };
            edges.push((first_below(0.9), first_below(0.1)));
        }
        println!(
            "highlight: CoC {radius:.2} px, energy {total:.1} of {energy}, inner disc {lo:.4}..{hi:.4} (mean {mean:.4}), flat-disc radius {equivalent:.2}, (90%, 10%) edge radii {edges:?}"
        );
        for (r90, r10) in &edges {
            assert!(r10 - r90 <= 4.5, "soft edge {r90}..{r10} px: {edges:?}");
            assert!(
                *r90 >= radius - 3.5 && *r10 <= radius + 2.5,
                "edge {r90}..{r10}, CoC {radius}"
            );
        }
    }

    #[test]
    fn half_size_dof_keeps_focus_exact_and_the_defocus_close_to_the_reference() {
        // Stated tolerances of the half-size gather (max_blur_px 16 > 6): pixels in focus are
        // untouched, and out of focus the result is within 6% (mean absolute, of the plate's
        // mean level) of the full-size reference and fits a disc of 0.75 to 1 times the CoC.
        let acc = astronaut();
        let scene = lens(135.0);
        let s = DofSettings {
            focus_m: 1.5,
            f_stop: 1.4,
            max_blur_px: 16.0,
        };
        assert_eq!(dof_factor(s.max_blur_px), 2);
        let aux = aux_from(128, 96, |x, _| match x {
            0..43 => 1.5,
            43..86 => 2.0,
            _ => 6.0,
        });
        let fast = render(&acc, &aux, |b, a, x| plan_dof(b, &s, &scene, a, x));
        let full = render_ref(&acc, &aux, |b, a, x| plan_dof(b, &s, &scene, a, x));
        for y in 0..96 {
            for x in 0..43 {
                assert_eq!(px(&acc, x, y), px(&fast, x, y), "in-focus pixel {x},{y}");
            }
        }
        let level: f32 = acc.pixels.iter().map(|p| p[0] + p[1] + p[2]).sum::<f32>()
            / (3 * acc.pixels.len()) as f32;
        for (x0, x1, d) in [(58u32, 72u32, 2.0f32), (104, 116, 6.0)] {
            let mut diff = 0.0f32;
            let mut n = 0;
            for y in 20..76 {
                for x in x0..x1 {
                    let (a, b) = (px(&fast, x, y), px(&full, x, y));
                    diff += (0..3).map(|c| (a[c] - b[c]).abs()).sum::<f32>();
                    n += 3;
                }
            }
            let rel = diff / n as f32 / level;
            assert!(
                rel < 0.06,
                "{d} m: {rel} of the mean level from the reference"
            );
            let coc = expected_coc_px(135.0, &s, d, 128);
            let fit = |scale: f32| {
                let mut err = 0.0f32;
                for y in 20..76 {
                    for x in x0..x1 {
                        let want = disc_mean(&acc, x as i32, y as i32, coc * scale);
                        let got = px(&fast, x, y);
                        err += (0..3).map(|c| (want[c] - got[c]).abs()).sum::<f32>();
                    }
                }
                err
            };
            let best = [0.5f32, 0.75, 1.0, 1.5, 2.0]
                .into_iter()
                .min_by(|a, b| fit(*a).total_cmp(&fit(*b)))
                .unwrap_or(0.0);
            assert!(
                (0.75..=1.0).contains(&best),
                "{d} m: best disc scale {best}"
            );
        }
    }
}
