//! The layer stack's building blocks: blend, Gaussian blur, matte erosion/dilation, the cut-out
//! with colour decontamination, and the background sources; with the planner helpers that chain
//! them (`plan_blend`, `plan_blur`, `plan_minmax`, `plan_cutout`, `plan_background`).
//!
//! ## The ops (shader, inputs → outputs)
//! - [`StackOp::Blend`] (`blend.wgsl`, `[dst, src] → [out]`): premultiplied RGBA,
//!   `out = mix(dst, B(src, dst), opacity)`, with `B` chosen by the mode code ([`BLEND_OVER`],
//!   [`BLEND_ADD`], [`BLEND_MULTIPLY`], [`BLEND_SCREEN`], [`BLEND_REPLACE`]).
//! - [`StackOp::Blur`] (`blur.wgsl`, `[src] → [out]`): one axis of a separable Gaussian over all
//!   four channels, `sigma = radius_px / 2`, taps every `step` pixels out to
//!   `ceil(radius_px / step)` taps each side, weights normalised; radius 0 copies.
//! - [`StackOp::MinMax`] (`minmax.wgsl`, `[src] → [out]`): one axis of a grayscale erosion (min)
//!   or dilation (max) of one channel over the taps `-reach..=reach` spaced `step` pixels apart;
//!   the other channels pass through.
//! - [`StackOp::CutoutPrep`] (`cutout_prep.wgsl`, `[plate, matte] → [fg_sum, bg_sum]`): the two
//!   images blur fusion blurs, `(I·α, α)` and `(I·(1-α), 1-α)`.
//! - [`StackOp::Cutout`] (`cutout.wgsl`, `[plate, matte, fg_blur, bg_blur] → [out, bg_sum]`):
//!   the plate through the matte, decontaminated (blur fusion) or not, premultiplied; and the
//!   background estimate as a sum for the next round, `(B_blur·(1-α), 1-α)`.
//! - [`StackOp::Background`] (`background.wgsl`, `[src] → [out]`): an opaque solid colour (the
//!   input is a dummy), or the input un-premultiplied and made opaque.
//!
//! ## What each slot holds along a cut-out (`plan_cutout`)
//! 1. `aux`: `(distance_m, matte α, nearness, 0)`; the matte is channel 1 ([`MATTE_CHANNEL`]).
//! 2. Erode/dilate (`MinMax` on channel 1, x then y): channel 1 is the eroded (or grown) matte,
//!    the other channels are the aux's, untouched.
//! 3. Feather (`Blur`, x then y): all four channels are blurred; only channel 1 (the feathered
//!    matte) is read from here on.
//! 4. `CutoutPrep`: `fg_sum = (I.r·α, I.g·α, I.b·α, α)` and `bg_sum = (I·(1-α), 1-α)`, where `I`
//!    is the un-premultiplied plate and `α` the matte clamped to 0..1.
//! 5. Blur of both (x then y) at the decontamination radius: `fg_blur = (blur(I·α), blur(α))`,
//!    `bg_blur = (blur(I·(1-α)), blur(1-α))`.
//! 6. `Cutout` (first round): `cut1 = (F₁·a, a)` with `a = α · plate alpha` and `F₁` the first
//!    foreground estimate; `bg1 = (B₁·(1-α), 1-α)` with `B₁ = B_blur`.
//! 7. Blur of `cut1` and `bg1` at the refining radius (a quarter of the decontamination radius,
//!    1..=8 px): `(blur(F₁·a), blur(a))`, `(blur(B₁·(1-α)), blur(1-α))`.
//! 8. `Cutout` (second round): the result, premultiplied `(F·a, a)`; its second output is unused.
//!
//! Without decontamination, one `Cutout` (its blurred-sum inputs are dummies) gives `(I·a, a)`.
//!
//! ## Blur fusion (Forte & Pitié, "Approximate Fast Foreground Colour Estimation", ICIP 2021)
//! `F_blur = blur(F₀·α) / blur(α)`, `B_blur = blur(B₀·(1-α)) / blur(1-α)` (each falls back to
//! `I` where its denominator is ~0), then `F = max(F_blur + α·(I − α·F_blur − (1−α)·B_blur), 0)`.
//! Where `α = 1` this gives `F = I`; at the edge it removes the old background's share from the
//! plate's colour. As in the paper, it runs twice: first with `F₀ = B₀ = I` over the
//! decontamination radius (reaching clean colour beyond the soft edge), then with `F₀ = F₁`,
//! `B₀ = B₁` over a small radius (restoring local detail, with the spill already removed). On the
//! sample photo over a green screen (the unit test), the second round cuts the remaining edge
//! error by about a fifth and the remaining green spill by about a fifth as well.
//!
//! ## Large radii
//! Every step is a frame-sized pass with a per-pixel loop, so `plan_blur` and `plan_minmax` keep
//! the tap count modest: a large erosion is an exact chain of sparse min/max passes (a segment is
//! the Minkowski sum of sparse segments), and a large blur is a small dense Gaussian (which also
//! removes the frequencies a sparse kernel would alias) followed by a sparse Gaussian, their
//! variances adding up to the requested one.

use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;

use crate::composite::image::{Image, ScaledReader};
use crate::composite::layers::{BackgroundSettings, CutoutSettings};
use crate::composite::plan::{PlanBuilder, Slot};

/// Blend mode code: Porter–Duff over, `s + d(1 - sa)`.
pub const BLEND_OVER: u32 = 0;
/// Blend mode code: add, rgb `s + d`, alpha `sa + da(1 - sa)`.
pub const BLEND_ADD: u32 = 1;
/// Blend mode code: multiply, rgb `s·d + s(1 - da) + d(1 - sa)`, alpha `sa + da - sa·da`.
pub const BLEND_MULTIPLY: u32 = 2;
/// Blend mode code: screen, `s + d - s·d` on all four channels.
pub const BLEND_SCREEN: u32 = 3;
/// Blend mode code: replace, `s`.
pub const BLEND_REPLACE: u32 = 4;

/// The aux channel that holds the matte.
pub const MATTE_CHANNEL: u32 = 1;

/// Below this, a blurred weight (`blur(α)` or `blur(1-α)`) counts as zero: nothing to average.
const WEIGHT_EPS: f32 = 1e-6;
/// Below this alpha, a premultiplied colour is taken as it is rather than divided by alpha.
const ALPHA_EPS: f32 = 1e-6;

/// Blurs up to this radius (pixels) are one dense pass per axis.
const DENSE_BLUR_MAX_PX: f32 = 16.0;
/// Erosions up to this radius (pixels) are one dense pass per axis.
const DENSE_MINMAX_MAX_PX: u32 = 4;

/// Parameters of [`StackOp::Blend`] (WGSL `Params` in `blend.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct BlendParams {
    /// The blend mode code (`BLEND_*`).
    pub mode: u32,
    /// How much of the blended result replaces `dst`, 0..1.
    pub opacity: f32,
    _pad: [u32; 2],
}

impl BlendParams {
    /// Blend with mode code `mode` at `opacity`.
    pub fn new(mode: u32, opacity: f32) -> BlendParams {
        BlendParams {
            mode,
            opacity,
            _pad: [0; 2],
        }
    }
}

/// The most taps on each side of a blur's centre (its weights live in the uniform block).
pub const MAX_BLUR_TAPS: usize = 47;

/// Parameters of [`StackOp::Blur`] (WGSL `Params` in `blur.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct BlurParams {
    /// Blur radius in pixels: `sigma = radius_px / 2`.
    pub radius_px: f32,
    /// 0 blurs along x, 1 along y.
    pub axis: u32,
    /// Spacing of the taps in pixels (1 = every pixel).
    pub step: u32,
    /// Taps on each side of the centre (0 copies).
    pub taps: u32,
    /// The normalised weights, computed once per plan: tap `i` (`-taps..=taps`) has weight
    /// `weights[|i| / 4][|i| % 4]`.
    pub weights: [[f32; 4]; 12],
}

impl BlurParams {
    /// A dense (every pixel) Gaussian of `radius_px` along `axis`.
    pub fn new(radius_px: f32, axis: u32) -> BlurParams {
        BlurParams::sparse(radius_px, axis, 1)
    }

    /// A Gaussian of `radius_px` along `axis` with taps `step` pixels apart (at most
    /// [`MAX_BLUR_TAPS`] each side: a wider kernel spaces its taps further apart).
    pub fn sparse(radius_px: f32, axis: u32, step: u32) -> BlurParams {
        let radius = if radius_px.is_finite() {
            radius_px.max(0.0)
        } else {
            0.0
        };
        let mut step = step.max(1);
        while (radius / step as f32).ceil() > MAX_BLUR_TAPS as f32 {
            step += 1;
        }
        let n = (radius / step as f32).ceil() as usize;
        let mut weights = [[0.0f32; 4]; 12];
        if n > 0 {
            let sigma = radius * 0.5;
            let k = -0.5 / (sigma * sigma);
            let w: Vec<f32> = (0..=n)
                .map(|i| {
                    let d = (i as u32 * step) as f32;
                    (d * d * k).exp()
                })
                .collect();
            let total: f32 = w[0] + 2.0 * w[1..].iter().sum::<f32>();
            for (i, v) in w.iter().enumerate() {
                weights[i / 4][i % 4] = v / total;
            }
        }
        BlurParams {
            radius_px: radius,
            axis,
            step,
            taps: n as u32,
            weights,
        }
    }

    /// The weight of the tap `i` steps from the centre.
    #[inline]
    pub fn weight(&self, i: i32) -> f32 {
        let i = i.unsigned_abs() as usize;
        self.weights.get(i / 4).map_or(0.0, |w| w[i % 4])
    }
}

/// Parameters of [`StackOp::Downsample`] (WGSL `Params` in `downsample.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct DownsampleParams {
    /// Each output pixel averages a `factor × factor` block (clamped at the edges).
    pub factor: u32,
    _pad: [u32; 3],
}

impl DownsampleParams {
    /// A box reduction by `factor` (at least 1).
    pub fn new(factor: u32) -> DownsampleParams {
        DownsampleParams {
            factor: factor.max(1),
            _pad: [0; 3],
        }
    }
}

/// Parameters of [`StackOp::Upsample`] (WGSL `Params` in `upsample.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct UpsampleParams {
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// The factor the input was reduced by: output pixel `(x, y)` samples the input bilinearly
    /// at `((x + 0.5) / factor, (y + 0.5) / factor)`.
    pub factor: f32,
    _pad: u32,
}

impl UpsampleParams {
    /// Bilinear enlargement by `factor` to `size`.
    pub fn new(size: (u32, u32), factor: u32) -> UpsampleParams {
        UpsampleParams {
            width: size.0,
            height: size.1,
            factor: factor.max(1) as f32,
            _pad: 0,
        }
    }
}

/// Erosion or dilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Morph {
    /// Grayscale erosion: the minimum over the neighbourhood (shrinks a matte).
    Erode,
    /// Grayscale dilation: the maximum over the neighbourhood (grows a matte).
    Dilate,
}

impl Morph {
    /// The shader's mode code: 0 min, 1 max.
    pub fn code(self) -> u32 {
        match self {
            Morph::Erode => 0,
            Morph::Dilate => 1,
        }
    }
}

/// Parameters of [`StackOp::MinMax`] (WGSL `Params` in `minmax.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct MinMaxParams {
    /// Taps each side of the centre.
    pub reach: u32,
    /// Spacing of the taps in pixels.
    pub step: u32,
    /// The channel filtered (0..=3); the others pass through.
    pub channel: u32,
    /// 0 along x, 1 along y.
    pub axis: u32,
    /// 0 min (erode), 1 max (dilate).
    pub mode: u32,
    _pad: [u32; 3],
}

impl MinMaxParams {
    /// `morph` of `channel` along `axis` over the taps `-reach..=reach` times `step` pixels.
    pub fn new(morph: Morph, channel: u32, axis: u32, reach: u32, step: u32) -> MinMaxParams {
        MinMaxParams {
            reach,
            step,
            channel,
            axis,
            mode: morph.code(),
            _pad: [0; 3],
        }
    }
}

/// Parameters of [`StackOp::CutoutPrep`] (WGSL `Params` in `cutout_prep.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct CutoutPrepParams {
    /// The matte input's channel holding α (0..=3).
    pub channel: u32,
    _pad: [u32; 3],
}

impl CutoutPrepParams {
    /// Reads α from `channel` of the matte input.
    pub fn new(channel: u32) -> CutoutPrepParams {
        CutoutPrepParams {
            channel,
            _pad: [0; 3],
        }
    }
}

/// Parameters of [`StackOp::Cutout`] (WGSL `Params` in `cutout.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct CutoutParams {
    /// The matte input's channel holding α (0..=3).
    pub channel: u32,
    /// 1: estimate the foreground colour from the blurred sums; 0: keep the plate's colour (the
    /// blurred-sum inputs are then unused dummies).
    pub decontaminate: u32,
    /// 1: write the background estimate (the second output) for another round; 0: the
    /// second output is not read by any step and is left unwritten.
    pub background_out: u32,
    /// The blurred sums are the blur's reduced size by this factor (1: full size), read with a
    /// bilinear sample (`read_scaled`).
    pub blur_factor: f32,
}

impl CutoutParams {
    /// Reads α from `channel`; decontaminates if asked.
    pub fn new(channel: u32, decontaminate: bool) -> CutoutParams {
        CutoutParams {
            channel,
            decontaminate: u32::from(decontaminate),
            background_out: 1,
            blur_factor: 1.0,
        }
    }

    /// These parameters reading blurred sums reduced by `factor`.
    pub fn blurred_at(mut self, factor: u32) -> CutoutParams {
        self.blur_factor = factor.max(1) as f32;
        self
    }

    /// These parameters without the background estimate output (the last round).
    pub fn last_round(mut self) -> CutoutParams {
        self.background_out = 0;
        self
    }
}

/// Parameters of [`StackOp::Background`] (WGSL `Params` in `background.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct BackgroundParams {
    /// Linear RGB (alpha unused) for the solid mode.
    pub colour: [f32; 4],
    /// 0: solid colour (the input is ignored); 1: the input, un-premultiplied, alpha 1.
    pub mode: u32,
    /// The input is reduced by this factor (1: full size), read with a bilinear sample.
    pub factor: f32,
    _pad: [u32; 2],
}

impl BackgroundParams {
    /// An opaque solid colour.
    pub fn solid(colour: [f32; 3]) -> BackgroundParams {
        BackgroundParams {
            colour: [colour[0], colour[1], colour[2], 1.0],
            mode: 0,
            factor: 1.0,
            _pad: [0; 2],
        }
    }

    /// The input image, made opaque.
    pub fn opaque_input() -> BackgroundParams {
        BackgroundParams {
            colour: [0.0; 4],
            mode: 1,
            factor: 1.0,
            _pad: [0; 2],
        }
    }

    /// The input image (reduced by `factor`), enlarged and made opaque.
    pub fn opaque_scaled(factor: u32) -> BackgroundParams {
        BackgroundParams {
            factor: factor.max(1) as f32,
            ..BackgroundParams::opaque_input()
        }
    }
}

/// Parameters of [`StackOp::BackgroundWeight`] (WGSL `Params` in `background_weight.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct BackgroundWeightParams {
    /// Which aux channel holds the matte.
    pub channel: u32,
    /// Weight every pixel keeps, so a blur still has data deep inside a large subject.
    pub floor: f32,
    _pad: [u32; 2],
}

impl BackgroundWeightParams {
    /// Weights by `1 - matte` (aux channel `channel`) plus `floor`.
    pub fn new(channel: u32, floor: f32) -> BackgroundWeightParams {
        BackgroundWeightParams {
            channel,
            floor,
            _pad: [0; 2],
        }
    }
}

/// How much of the plain plate a blurred-plate background keeps where no background is in reach.
pub const BACKGROUND_WEIGHT_FLOOR: f32 = 0.02;

/// The layer stack's ops.
#[derive(Debug, Clone, PartialEq)]
pub enum StackOp {
    /// `[dst, src] → [dst blended with src]`.
    Blend(BlendParams),
    /// `[src] → [src blurred along one axis]`.
    Blur(BlurParams),
    /// `[src] → [one channel eroded or dilated along one axis]`.
    MinMax(MinMaxParams),
    /// `[plate, matte] → [(I·α, α), (I·(1-α), 1-α)]`.
    CutoutPrep(CutoutPrepParams),
    /// `[plate, matte, fg_blur, bg_blur] → [premultiplied cut-out, background estimate sum]`.
    Cutout(CutoutParams),
    /// `[src] → [opaque background]`.
    Background(BackgroundParams),
    /// `[plate, aux] → [(I·w, w)]`, `w = 1 - matte + floor`: the plate weighted towards its
    /// background, for the blurred-plate background.
    BackgroundWeight(BackgroundWeightParams),
    /// `[src] → [src reduced by a box filter]` (output `ceil(size / factor)`).
    Downsample(DownsampleParams),
    /// `[small] → [small enlarged bilinearly]` (output the params' size).
    Upsample(UpsampleParams),
}

impl StackOp {
    /// The shader's file name in `shaders/`.
    pub fn shader(&self) -> &'static str {
        match self {
            StackOp::Blend(_) => "blend.wgsl",
            StackOp::Blur(_) => "blur.wgsl",
            StackOp::MinMax(_) => "minmax.wgsl",
            StackOp::CutoutPrep(_) => "cutout_prep.wgsl",
            StackOp::Cutout(_) => "cutout.wgsl",
            StackOp::Background(_) => "background.wgsl",
            StackOp::BackgroundWeight(_) => "background_weight.wgsl",
            StackOp::Downsample(_) => "downsample.wgsl",
            StackOp::Upsample(_) => "upsample.wgsl",
        }
    }

    /// How many input textures the shader binds.
    pub fn inputs(&self) -> usize {
        match self {
            StackOp::Blend(_) | StackOp::CutoutPrep(_) | StackOp::BackgroundWeight(_) => 2,
            StackOp::Blur(_)
            | StackOp::MinMax(_)
            | StackOp::Background(_)
            | StackOp::Downsample(_)
            | StackOp::Upsample(_) => 1,
            StackOp::Cutout(_) => 4,
        }
    }

    /// How many output storage textures the shader binds.
    pub fn outputs(&self) -> usize {
        match self {
            StackOp::CutoutPrep(_) | StackOp::Cutout(_) => 2,
            _ => 1,
        }
    }

    /// The uniform block's bytes.
    pub fn params(&self) -> Vec<u8> {
        match self {
            StackOp::Blend(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::Blur(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::MinMax(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::CutoutPrep(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::Cutout(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::Background(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::BackgroundWeight(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::Downsample(p) => bytemuck::bytes_of(p).to_vec(),
            StackOp::Upsample(p) => bytemuck::bytes_of(p).to_vec(),
        }
    }

    /// The size of the outputs, given the inputs' sizes: the first input's, except for the
    /// resampling ops.
    pub fn output_size(&self, inputs: &[(u32, u32)], frame: (u32, u32)) -> (u32, u32) {
        let first = inputs.first().copied().unwrap_or(frame);
        match self {
            StackOp::Downsample(p) => (
                first.0.div_ceil(p.factor.max(1)),
                first.1.div_ceil(p.factor.max(1)),
            ),
            StackOp::Upsample(p) => (p.width, p.height),
            // A background fills the frame, whatever size its (possibly reduced) input.
            StackOp::Background(_) => frame,
            _ => first,
        }
    }

    /// Computes the outputs on the CPU with the shaders' formulas. Wrong input or output counts
    /// (a plan bug, which `PlanBuilder` already guards) leave the outputs untouched.
    pub fn run_cpu(&self, inputs: &[&Image], outputs: &mut [Image]) {
        match (self, inputs, outputs) {
            (StackOp::Blend(p), [dst, src], [out]) => blend_cpu(p, dst, src, out),
            (StackOp::Blur(p), [src], [out]) => blur_cpu(p, src, out),
            (StackOp::MinMax(p), [src], [out]) => minmax_cpu(p, src, out),
            (StackOp::CutoutPrep(p), [plate, matte], [fg, bg]) => {
                cutout_prep_cpu(p, plate, matte, fg, bg)
            }
            (StackOp::Cutout(p), [plate, matte, fg, bg], [out, bg_out]) => {
                cutout_cpu(p, plate, matte, fg, bg, out, bg_out)
            }
            (StackOp::Background(p), [src], [out]) => background_cpu(p, src, out),
            (StackOp::BackgroundWeight(p), [plate, aux], [out]) => {
                background_weight_cpu(p, plate, aux, out)
            }
            (StackOp::Downsample(p), [src], [out]) => downsample_cpu(p, src, out),
            (StackOp::Upsample(p), [src], [out]) => upsample_cpu(p, src, out),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CPU twins. Each follows its shader line for line (f32, same order of operations).

/// `c.rgb / c.a`, or `c.rgb` where alpha is ~0 (WGSL `unpremultiply` in `stack_common.wgsl`).
#[inline]
fn unpremultiply(c: [f32; 4]) -> [f32; 3] {
    if c[3] > ALPHA_EPS {
        [c[0] / c[3], c[1] / c[3], c[2] / c[3]]
    } else {
        [c[0], c[1], c[2]]
    }
}

/// The blend function `B(s, d)` before opacity.
#[inline]
fn blend_pixel(mode: u32, s: [f32; 4], d: [f32; 4]) -> [f32; 4] {
    let sa = s[3];
    let da = d[3];
    match mode {
        BLEND_ADD => [s[0] + d[0], s[1] + d[1], s[2] + d[2], sa + da * (1.0 - sa)],
        BLEND_MULTIPLY => {
            let m = |i: usize| s[i] * d[i] + s[i] * (1.0 - da) + d[i] * (1.0 - sa);
            [m(0), m(1), m(2), sa + da - sa * da]
        }
        BLEND_SCREEN => std::array::from_fn(|i| s[i] + d[i] - s[i] * d[i]),
        BLEND_REPLACE => s,
        // Over, and any unknown code.
        _ => std::array::from_fn(|i| s[i] + d[i] * (1.0 - sa)),
    }
}

fn blend_cpu(p: &BlendParams, dst: &Image, src: &Image, out: &mut Image) {
    let dst = ScaledReader::new(dst, out.width, 1.0);
    let src = ScaledReader::new(src, out.width, 1.0);
    out.fill_rows(|y, row| {
        let (dr, sr) = (dst.row(y), src.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            let d = dr.at(x);
            let b = blend_pixel(p.mode, sr.at(x), d);
            *px = crate::composite::image::mix4(d, b, p.opacity);
        }
    });
}

/// The unit step along an axis code (0 x, anything else y).
#[inline]
fn axis_dir(axis: u32) -> (i32, i32) {
    if axis == 0 { (1, 0) } else { (0, 1) }
}

fn blur_cpu(p: &BlurParams, src: &Image, out: &mut Image) {
    let n = p.taps as i32;
    let step = p.step.max(1) as i32;
    let (w, h) = (src.width as usize, src.height as usize);
    if n <= 0 || w == 0 || h == 0 {
        out.pixels.copy_from_slice(&src.pixels);
        return;
    }
    let weights: Vec<f32> = (0..=n).map(|i| p.weight(i)).collect();
    if p.axis == 0 {
        // Along a row: taps gathered per pixel; only the pixels near the row's ends clamp.
        let reach = (n * step) as usize;
        out.pixels
            .par_chunks_mut(w)
            .zip(src.pixels.par_chunks(w))
            .for_each(|(row, srow)| {
                let last = w as i32 - 1;
                let clamped = |x: usize| {
                    let mut sum = [0.0f32; 4];
                    for i in -n..=n {
                        let xi = (x as i32 + i * step).clamp(0, last) as usize;
                        let wt = weights[i.unsigned_abs() as usize];
                        let c = srow[xi];
                        sum[0] += wt * c[0];
                        sum[1] += wt * c[1];
                        sum[2] += wt * c[2];
                        sum[3] += wt * c[3];
                    }
                    sum
                };
                let (lo, hi) = (reach.min(w), w.saturating_sub(reach).max(reach.min(w)));
                for (x, px) in row.iter_mut().enumerate().take(lo) {
                    *px = clamped(x);
                }
                for (x, px) in row.iter_mut().enumerate().take(hi).skip(lo) {
                    // Every tap inside the row: x − reach .. x + reach.
                    let taps = &srow[x - reach..=x + reach];
                    let mut sum = [0.0f32; 4];
                    for (k, c) in taps.iter().step_by(step as usize).enumerate() {
                        let wt = weights[(k as i32 - n).unsigned_abs() as usize];
                        sum[0] += wt * c[0];
                        sum[1] += wt * c[1];
                        sum[2] += wt * c[2];
                        sum[3] += wt * c[3];
                    }
                    *px = sum;
                }
                for (x, px) in row.iter_mut().enumerate().skip(hi) {
                    *px = clamped(x);
                }
            });
    } else {
        // Down a column: whole rows weighted and added, in the shader's tap order.
        out.pixels
            .par_chunks_mut(w)
            .enumerate()
            .for_each(|(y, row)| {
                row.fill([0.0; 4]);
                let last = h as i32 - 1;
                for i in -n..=n {
                    let yi = (y as i32 + i * step).clamp(0, last) as usize;
                    let wt = weights[i.unsigned_abs() as usize];
                    let srow = &src.pixels[yi * w..(yi + 1) * w];
                    for (o, c) in row.iter_mut().zip(srow) {
                        o[0] += wt * c[0];
                        o[1] += wt * c[1];
                        o[2] += wt * c[2];
                        o[3] += wt * c[3];
                    }
                }
            });
    }
}

fn downsample_cpu(p: &DownsampleParams, src: &Image, out: &mut Image) {
    let f = p.factor.max(1) as i32;
    let inv = 1.0 / (f * f) as f32;
    out.fill_with(|x, y| {
        let (x0, y0) = (x as i32 * f, y as i32 * f);
        let mut sum = [0.0f32; 4];
        for j in 0..f {
            for i in 0..f {
                let c = src.load_clamped(x0 + i, y0 + j);
                sum[0] += c[0];
                sum[1] += c[1];
                sum[2] += c[2];
                sum[3] += c[3];
            }
        }
        sum.map(|v| v * inv)
    });
}

fn upsample_cpu(p: &UpsampleParams, src: &Image, out: &mut Image) {
    let f = p.factor;
    out.fill_with(|x, y| src.sample_bilinear((x as f32 + 0.5) / f, (y as f32 + 0.5) / f));
}

fn minmax_cpu(p: &MinMaxParams, src: &Image, out: &mut Image) {
    let ch = p.channel.min(3) as usize;
    let reach = p.reach as i32;
    let step = p.step.max(1) as i32;
    let (dx, dy) = axis_dir(p.axis);
    let max = p.mode != 0;
    out.fill_with(|x, y| {
        let (x, y) = (x as i32, y as i32);
        let mut c = src.load_clamped(x, y);
        let mut v = c[ch];
        for i in -reach..=reach {
            let o = i * step;
            let s = src.load_clamped(x + dx * o, y + dy * o)[ch];
            v = if max { v.max(s) } else { v.min(s) };
        }
        c[ch] = v;
        c
    });
}

fn cutout_prep_cpu(
    p: &CutoutPrepParams,
    plate: &Image,
    matte: &Image,
    fg: &mut Image,
    bg: &mut Image,
) {
    let w = fg.width;
    let plate = ScaledReader::new(plate, w, 1.0);
    let matte = ScaledReader::new(matte, w, 1.0);
    let ch = p.channel.min(3) as usize;
    fg.fill_rows(|y, row| {
        let (pr, mr) = (plate.row(y), matte.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            let a = mr.at(x)[ch].clamp(0.0, 1.0);
            let i = unpremultiply(pr.at(x));
            *px = [i[0] * a, i[1] * a, i[2] * a, a];
        }
    });
    bg.fill_rows(|y, row| {
        let (pr, mr) = (plate.row(y), matte.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            let a = mr.at(x)[ch].clamp(0.0, 1.0);
            let i = unpremultiply(pr.at(x));
            let b = 1.0 - a;
            *px = [i[0] * b, i[1] * b, i[2] * b, b];
        }
    });
}

/// A blurred weighted sum's mean, or `fallback` where the blurred weight is ~0.
#[inline]
fn weighted_mean(sum: [f32; 4], fallback: [f32; 3]) -> [f32; 3] {
    if sum[3] > WEIGHT_EPS {
        [sum[0] / sum[3], sum[1] / sum[3], sum[2] / sum[3]]
    } else {
        fallback
    }
}

fn cutout_cpu(
    p: &CutoutParams,
    plate: &Image,
    matte: &Image,
    fg: &Image,
    bg: &Image,
    out: &mut Image,
    bg_out: &mut Image,
) {
    let w = out.width;
    let plate = ScaledReader::new(plate, w, 1.0);
    let matte = ScaledReader::new(matte, w, 1.0);
    let fg = ScaledReader::new(fg, w, p.blur_factor);
    let bg = ScaledReader::new(bg, w, p.blur_factor);
    let ch = p.channel.min(3) as usize;
    let decontaminate = p.decontaminate != 0;
    out.fill_rows(|y, row| {
        let (pr, mr) = (plate.row(y), matte.row(y));
        let (fr, br) = (fg.row(y), bg.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            let alpha = mr.at(x)[ch].clamp(0.0, 1.0);
            let pc = pr.at(x);
            let i = unpremultiply(pc);
            let mut f = i;
            if decontaminate {
                let fb = weighted_mean(fr.at(x), i);
                let bb = weighted_mean(br.at(x), i);
                f = std::array::from_fn(|c| {
                    (fb[c] + alpha * (i[c] - alpha * fb[c] - (1.0 - alpha) * bb[c])).max(0.0)
                });
            }
            let a = alpha * pc[3];
            *px = [f[0] * a, f[1] * a, f[2] * a, a];
        }
    });
    if p.background_out == 0 {
        return;
    }
    bg_out.fill_rows(|y, row| {
        let (pr, mr, br) = (plate.row(y), matte.row(y), bg.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            let alpha = mr.at(x)[ch].clamp(0.0, 1.0);
            let i = unpremultiply(pr.at(x));
            let mut b = i;
            if decontaminate {
                b = weighted_mean(br.at(x), i);
            }
            let w = 1.0 - alpha;
            *px = [b[0] * w, b[1] * w, b[2] * w, w];
        }
    });
}

fn background_cpu(p: &BackgroundParams, src: &Image, out: &mut Image) {
    if p.mode == 0 {
        let c = [p.colour[0], p.colour[1], p.colour[2], 1.0];
        out.pixels.fill(c);
        return;
    }
    let src = ScaledReader::new(src, out.width, p.factor);
    out.fill_rows(|y, row| {
        let sr = src.row(y);
        for (x, px) in row.iter_mut().enumerate() {
            let c = unpremultiply(sr.at(x));
            *px = [c[0], c[1], c[2], 1.0];
        }
    });
}

fn background_weight_cpu(p: &BackgroundWeightParams, plate: &Image, aux: &Image, out: &mut Image) {
    let channel = (p.channel as usize).min(3);
    let plate = ScaledReader::new(plate, out.width, 1.0);
    let aux = ScaledReader::new(aux, out.width, 1.0);
    out.fill_rows(|y, row| {
        let (pr, ar) = (plate.row(y), aux.row(y));
        for (x, px) in row.iter_mut().enumerate() {
            let i = unpremultiply(pr.at(x));
            let alpha = ar.at(x)[channel].clamp(0.0, 1.0);
            let w = (1.0 - alpha) + p.floor;
            *px = [i[0] * w, i[1] * w, i[2] * w, w];
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Planner helpers.

/// Blends `src` over (or into) `dst` with mode code `mode_code` (`BlendMode::code`, or
/// [`BLEND_REPLACE`]) at `opacity`; returns the blended slot.
pub fn plan_blend(b: &mut PlanBuilder, mode_code: u32, opacity: f32, dst: Slot, src: Slot) -> Slot {
    b.push1(
        StackOp::Blend(BlendParams::new(mode_code, opacity)),
        &[dst, src],
    )
}

/// The passes (per axis) of a Gaussian blur of `radius_px`: `(radius_px, step)` each.
///
/// Up to 16 px it is one dense pass. Beyond, a dense pre-blur of sigma `0.6·step`
/// (which also suppresses the frequencies near `1/step` that the sparse pass would alias) is
/// followed by a sparse pass with taps `step` apart whose sigma makes the variances add up to
/// `(radius_px / 2)²`. `step ≈ √(radius_px / 2)` keeps the total tap count near its minimum.
pub fn blur_passes(radius_px: f32) -> Vec<(f32, u32)> {
    if radius_px.is_nan() || radius_px <= 0.0 {
        return Vec::new();
    }
    if radius_px <= DENSE_BLUR_MAX_PX {
        return vec![(radius_px, 1)];
    }
    let step = (radius_px * 0.5).sqrt().floor().max(2.0);
    let sigma = radius_px * 0.5;
    let sigma1 = 0.6 * step;
    let sigma2 = (sigma * sigma - sigma1 * sigma1).max(0.0).sqrt();
    vec![(2.0 * sigma1, 1), (2.0 * sigma2, step as u32)]
}

/// Blurs at least this wide (in reduced pixels) are worked at a reduced scale.
const REDUCED_BLUR_MIN_PX: f32 = 4.0;
/// The largest reduction a blur is worked at.
const REDUCED_BLUR_MAX_FACTOR: u32 = 8;

/// The scale a blur of `radius_px` is worked at: the largest power of two (up to 8) that leaves
/// at least [`REDUCED_BLUR_MIN_PX`] of radius at the reduced size; 1 for small blurs.
pub fn blur_factor(radius_px: f32) -> u32 {
    blur_factor_min(radius_px, REDUCED_BLUR_MIN_PX)
}

/// [`blur_factor`] leaving at least `min_px` of radius at the reduced size.
fn blur_factor_min(radius_px: f32, min_px: f32) -> u32 {
    let mut f = 1;
    while f < REDUCED_BLUR_MAX_FACTOR && radius_px / (2 * f) as f32 >= min_px {
        f *= 2;
    }
    f
}

/// The least radius (reduced pixels) the cut-out's refining round is blurred at. Its sums are
/// smooth estimates of the colours on each side of the edge, not a picture, so they are worked
/// at half size from a radius of 2 px (the default refining radius), one full-size pass fewer per
/// blur pass.
const REFINE_BLUR_MIN_PX: f32 = 1.0;

/// The radius to blur by at `factor`'s reduced size so that the box reduction, the Gaussian and
/// the bilinear enlargement together have the variance of a Gaussian of `radius_px`: the box
/// adds `(f² − 1)/12` and the bilinear tent `f²/6` (full-size pixels²).
pub fn reduced_radius(radius_px: f32, factor: u32) -> f32 {
    let f = factor as f32;
    let sigma = radius_px * 0.5;
    let extra = (f * f - 1.0) / 12.0 + f * f / 6.0;
    let sigma_r = (sigma * sigma - extra).max(0.25 * f * f).sqrt() / f;
    2.0 * sigma_r
}

/// A separable Gaussian blur of `radius_px` (sigma `radius_px / 2`) of all four channels of
/// `src`, x then y; returns `src` itself for radius 0. A wide blur is worked at the scale it
/// needs ([`blur_factor`]): a box reduction, the Gaussian at the reduced size
/// ([`reduced_radius`]) and a bilinear enlargement back to `src`'s size.
pub fn plan_blur(b: &mut PlanBuilder, src: Slot, radius_px: f32) -> Slot {
    let factor = if radius_px.is_finite() && b.may_reduce() {
        blur_factor(radius_px)
    } else {
        1
    };
    if factor == 1 {
        return plan_blur_at(b, src, radius_px);
    }
    let size = b.size(src);
    let small = b.push1(StackOp::Downsample(DownsampleParams::new(factor)), &[src]);
    let blurred = plan_blur_at(b, small, reduced_radius(radius_px, factor));
    b.push1(
        StackOp::Upsample(UpsampleParams::new(size, factor)),
        &[blurred],
    )
}

/// [`plan_blur`] without the enlargement: returns the blurred slot and the factor it is reduced
/// by (1: `src`'s size), for ops that read it with `read_scaled` (one full-size pass fewer).
pub fn plan_blur_scaled(b: &mut PlanBuilder, src: Slot, radius_px: f32) -> (Slot, u32) {
    plan_blur_scaled_min(b, src, radius_px, REDUCED_BLUR_MIN_PX)
}

/// [`plan_blur_scaled`] leaving at least `min_px` of radius at the reduced size.
fn plan_blur_scaled_min(
    b: &mut PlanBuilder,
    src: Slot,
    radius_px: f32,
    min_px: f32,
) -> (Slot, u32) {
    let factor = if radius_px.is_finite() && b.may_reduce() {
        blur_factor_min(radius_px, min_px)
    } else {
        1
    };
    if factor == 1 {
        return (plan_blur_at(b, src, radius_px), 1);
    }
    let small = b.push1(StackOp::Downsample(DownsampleParams::new(factor)), &[src]);
    (
        plan_blur_at(b, small, reduced_radius(radius_px, factor)),
        factor,
    )
}

/// [`plan_blur`] at `src`'s own size.
pub fn plan_blur_at(b: &mut PlanBuilder, src: Slot, radius_px: f32) -> Slot {
    let mut slot = src;
    for (radius, step) in blur_passes(radius_px) {
        for axis in 0..2 {
            slot = b.push1(
                StackOp::Blur(BlurParams::sparse(radius, axis, step)),
                &[slot],
            );
        }
    }
    slot
}

/// The passes (per axis) of an erosion or dilation over `-r..=r` with `r = ceil(radius_px)`:
/// `(reach, step)` each. Their Minkowski sum is exactly the segment: each pass extends the
/// covered segment `-c..=c` by `reach·step` with `step <= 2c + 1`, so no gap opens.
pub fn minmax_passes(radius_px: f32) -> Vec<(u32, u32)> {
    if radius_px.is_nan() || radius_px <= 0.0 {
        return Vec::new();
    }
    let r = radius_px.ceil().min(u32::MAX as f32 / 4.0) as u32;
    if r <= DENSE_MINMAX_MAX_PX {
        return vec![(r, 1)];
    }
    // Each pass covers -c..=c already; a pass of taps `reach` each side, `step <= 2c + 1` apart,
    // extends it to `c + reach·step` with no gap. Two taps each side: c grows to 5c + 2.
    let mut passes = Vec::new();
    let mut c = 0u32;
    while c < r {
        let most = 2 * c + 1;
        let left = r - c;
        let pass = if left >= 2 * most {
            (2, most)
        } else if left <= most {
            (1, left)
        } else if left.is_multiple_of(2) {
            (2, left / 2)
        } else {
            (1, most)
        };
        passes.push(pass);
        c += pass.0 * pass.1;
    }
    passes
}

/// Erodes or dilates `channel` of `src` by a square of radius `ceil(radius_px)` (x then y per
/// pass); the other channels pass through. Returns `src` itself for radius 0.
pub fn plan_minmax(
    b: &mut PlanBuilder,
    src: Slot,
    channel: u32,
    radius_px: f32,
    morph: Morph,
) -> Slot {
    let mut slot = src;
    for (reach, step) in minmax_passes(radius_px) {
        for axis in 0..2 {
            slot = b.push1(
                StackOp::MinMax(MinMaxParams::new(morph, channel, axis, reach, step)),
                &[slot],
            );
        }
    }
    slot
}

/// The plate through the matte (`aux` channel 1): eroded (positive `erode_px`) or grown
/// (negative), feathered, decontaminated if asked; returns the premultiplied cut-out slot.
/// The settings are taken as already clamped.
pub fn plan_cutout(b: &mut PlanBuilder, s: &CutoutSettings, plate: Slot, aux: Slot) -> Slot {
    let mut matte = aux;
    if s.erode_px > 0.0 {
        matte = plan_minmax(b, matte, MATTE_CHANNEL, s.erode_px, Morph::Erode);
    } else if s.erode_px < 0.0 {
        matte = plan_minmax(b, matte, MATTE_CHANNEL, -s.erode_px, Morph::Dilate);
    }
    matte = plan_blur(b, matte, s.feather_px);
    if !s.decontaminate {
        // The blurred-sum inputs are unused: bind the plate as a dummy.
        let out = b.push(
            StackOp::Cutout(CutoutParams::new(MATTE_CHANNEL, false).last_round()),
            &[plate, matte, plate, plate],
        );
        return out.first().copied().unwrap_or(plate);
    }
    // Round 1 from the plate's own colour over the decontamination radius; round 2 from round
    // 1's estimates over the refining radius.
    let rounds = [
        s.decontaminate_radius_px,
        (0.25 * s.decontaminate_radius_px).clamp(1.0, 8.0),
    ];
    let mut sums = b.push(
        StackOp::CutoutPrep(CutoutPrepParams::new(MATTE_CHANNEL)),
        &[plate, matte],
    );
    let mut out = plate;
    for (round, radius) in rounds.into_iter().enumerate() {
        let (fg, bg) = match sums.as_slice() {
            [fg, bg] => (*fg, *bg),
            // Both ops always have two outputs; this keeps the plan valid regardless.
            _ => (plate, plate),
        };
        let min_px = if round == 0 {
            REDUCED_BLUR_MIN_PX
        } else {
            REFINE_BLUR_MIN_PX
        };
        let (fg, factor) = plan_blur_scaled_min(b, fg, radius, min_px);
        let (bg, _) = plan_blur_scaled_min(b, bg, radius, min_px);
        let params = CutoutParams::new(MATTE_CHANNEL, true).blurred_at(factor);
        let params = if round + 1 == rounds.len() {
            params.last_round()
        } else {
            params
        };
        sums = b.push(StackOp::Cutout(params), &[plate, matte, fg, bg]);
        out = sums.first().copied().unwrap_or(plate);
    }
    out
}

/// A background layer's picture, opaque and premultiplied. For `Image`, `path` is taken as
/// already resolved; the executor supplies the image scaled to the frame.
///
/// The blurred plate averages the background around each pixel: pixels are weighted by
/// `1 - matte` (plus a small floor), so the subject does not smear into its own new background
/// as a halo around the cut-out.
pub fn plan_background(
    b: &mut PlanBuilder,
    s: &BackgroundSettings,
    plate: Slot,
    aux: Slot,
) -> Slot {
    match s {
        BackgroundSettings::Solid { colour } => {
            // The plate is a dummy input: a solid colour reads nothing.
            b.push1(
                StackOp::Background(BackgroundParams::solid(*colour)),
                &[plate],
            )
        }
        BackgroundSettings::Image { path } => {
            let image = b.image(path.clone());
            b.push1(
                StackOp::Background(BackgroundParams::opaque_input()),
                &[image],
            )
        }
        BackgroundSettings::BlurredPlate { radius_px } => {
            let weighted = b.push1(
                StackOp::BackgroundWeight(BackgroundWeightParams::new(
                    MATTE_CHANNEL,
                    BACKGROUND_WEIGHT_FLOOR,
                )),
                &[plate, aux],
            );
            let (blurred, factor) = plan_blur_scaled(b, weighted, *radius_px);
            b.push1(
                StackOp::Background(BackgroundParams::opaque_scaled(factor)),
                &[blurred],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::FrameInputs;
    use crate::composite::cpu;
    use crate::composite::plan::Input;

    /// Sum of one channel over an image (f64), for tests and diagnostics of energy preservation.
    fn channel_sum(image: &Image, channel: usize) -> f64 {
        image.pixels.iter().map(|p| f64::from(p[channel])).sum()
    }

    fn run(op: StackOp, inputs: &[&Image]) -> Vec<Image> {
        let (w, h) = (inputs[0].width, inputs[0].height);
        let mut outputs: Vec<Image> = (0..op.outputs()).map(|_| Image::new(w, h)).collect();
        assert_eq!(op.inputs(), inputs.len());
        op.run_cpu(inputs, &mut outputs);
        outputs
    }

    fn close(a: [f32; 4], b: [f32; 4]) -> bool {
        a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-6)
    }

    /// A real photo (straight alpha from the decoder), box-downscaled by `factor`, as
    /// premultiplied linear RGBA.
    fn photo(name: &str, factor: u32) -> Image {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let plate = crate::shot::decode::decode(&path, &Default::default()).unwrap();
        let (w, h) = (plate.width / factor, plate.height / factor);
        Image::from_fn(w, h, |x, y| {
            let mut acc = [0.0f32; 4];
            for j in 0..factor {
                for i in 0..factor {
                    let idx = ((y * factor + j) * plate.width + x * factor + i) as usize * 4;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += plate.rgba[idx + c];
                    }
                }
            }
            let n = (factor * factor) as f32;
            let a = acc[3] / n;
            [acc[0] / n * a, acc[1] / n * a, acc[2] / n * a, a]
        })
    }

    #[test]
    fn each_blend_mode_gives_its_formula_on_known_values() {
        let d = [0.2, 0.4, 0.1, 0.5];
        let s = [0.3, 0.1, 0.6, 0.75];
        let dst = Image::filled(3, 2, d);
        let src = Image::filled(3, 2, s);
        let cases: [(u32, [f32; 4]); 5] = [
            // over: s + d(1 - 0.75)
            (BLEND_OVER, [0.35, 0.2, 0.625, 0.875]),
            // add: rgb s + d, alpha 0.75 + 0.5·0.25
            (BLEND_ADD, [0.5, 0.5, 0.7, 0.875]),
            // multiply: s·d + s·0.5 + d·0.25, alpha 0.75 + 0.5 - 0.375
            (
                BLEND_MULTIPLY,
                [
                    0.06 + 0.15 + 0.05,
                    0.04 + 0.05 + 0.1,
                    0.06 + 0.3 + 0.025,
                    0.875,
                ],
            ),
            // screen: s + d - s·d
            (BLEND_SCREEN, [0.44, 0.46, 0.64, 0.875]),
            (BLEND_REPLACE, s),
        ];
        for (mode, want) in cases {
            let full = run(StackOp::Blend(BlendParams::new(mode, 1.0)), &[&dst, &src]);
            assert!(
                full[0].pixels.iter().all(|p| close(*p, want)),
                "mode {mode}: {:?} != {want:?}",
                full[0].pixels[0]
            );
            // Opacity mixes the result with what was below.
            let half = run(StackOp::Blend(BlendParams::new(mode, 0.5)), &[&dst, &src]);
            let mid: [f32; 4] = std::array::from_fn(|i| 0.5 * (d[i] + want[i]));
            assert!(close(half[0].pixels[5], mid), "mode {mode} at opacity 0.5");
            let none = run(StackOp::Blend(BlendParams::new(mode, 0.0)), &[&dst, &src]);
            assert!(close(none[0].pixels[0], d), "mode {mode} at opacity 0");
        }
        // Over an opaque white background a half-transparent black layer makes mid grey.
        let white = Image::filled(1, 1, [1.0; 4]);
        let black = Image::filled(1, 1, [0.0, 0.0, 0.0, 0.5]);
        let grey = run(
            StackOp::Blend(BlendParams::new(BLEND_OVER, 1.0)),
            &[&white, &black],
        );
        assert!(close(grey[0].pixels[0], [0.5, 0.5, 0.5, 1.0]));
    }

    #[test]
    fn blur_keeps_a_constant_image_and_the_total_energy() {
        let c = [0.3, 0.7, 1.5, 1.0];
        let flat = Image::filled(40, 30, c);
        for radius in [0.0, 0.7, 3.0, 12.5] {
            for axis in [0, 1] {
                let out = run(StackOp::Blur(BlurParams::new(radius, axis)), &[&flat]);
                assert!(
                    out[0].pixels.iter().all(|p| close(*p, c)),
                    "radius {radius}"
                );
            }
        }
        // A bright disc away from the borders: blurring spreads it out but keeps its energy
        // (clamp-to-edge only matters where the image is non-zero at the border).
        let disc = Image::from_fn(64, 64, |x, y| {
            let r = ((x as f32 - 31.5).powi(2) + (y as f32 - 31.5).powi(2)).sqrt();
            let v = if r < 10.0 { 2.0 } else { 0.0 };
            [v, 0.5 * v, 0.0, v]
        });
        let mut b = PlanBuilder::new(64, 64);
        let plate = b.input(Input::Plate);
        let blurred = plan_blur(&mut b, plate, 6.0);
        let plan = b.finish(blurred, plate);
        let inputs = FrameInputs {
            plate: Some(disc.clone()),
            ..Default::default()
        };
        let out = cpu::render(&plan, &inputs).unwrap().rgba;
        for ch in [0, 1, 3] {
            let (before, after) = (channel_sum(&disc, ch), channel_sum(&out, ch));
            assert!(
                (before - after).abs() < 1e-4 * before,
                "channel {ch}: {before} → {after}"
            );
        }
        // It did blur: the disc's edge (radius 10) is soft, its centre (beyond the reach of the
        // 2-sigma taps) untouched.
        let at = |x: usize| out.pixels[32 * 64 + x][0];
        assert!((at(32) - 2.0).abs() < 1e-5, "centre {}", at(32));
        assert!(at(40) < 1.9 && at(42) > 0.1, "{} {}", at(40), at(42));
    }

    #[test]
    fn a_large_blur_split_into_dense_and_sparse_passes_matches_the_direct_gaussian() {
        let img = photo("vendor/skimage-data/chelsea.png", 4);
        let (w, h) = (img.width, img.height);
        let radius = 40.0;
        let passes = blur_passes(radius);
        assert_eq!(passes.len(), 2, "{passes:?}");
        let taps: f32 = passes
            .iter()
            .map(|(r, s)| 2.0 * (r / *s as f32).ceil() + 1.0)
            .sum();
        assert!(taps < 0.5 * (2.0 * radius + 1.0), "{taps} taps per axis");
        let mut b = PlanBuilder::new(w, h);
        let plate = b.input(Input::Plate);
        let fast = plan_blur_at(&mut b, plate, radius);
        let plan = b.finish(fast, plate);
        let inputs = FrameInputs {
            plate: Some(img.clone()),
            ..Default::default()
        };
        let fast = cpu::render(&plan, &inputs).unwrap().rgba;
        let x = run(StackOp::Blur(BlurParams::new(radius, 0)), &[&img]);
        let direct = run(StackOp::Blur(BlurParams::new(radius, 1)), &[&x[0]]);
        let worst = fast
            .pixels
            .iter()
            .zip(&direct[0].pixels)
            .flat_map(|(a, b)| (0..3).map(move |c| (a[c] - b[c]).abs()))
            .fold(0.0f32, f32::max);
        // Both are Gaussians of the same sigma; they differ only by the 2-sigma truncation of
        // each pass and the sparse sampling, both small against the image's range (0..1).
        assert!(worst < 0.02, "worst difference {worst}");
        // The same blur worked at a quarter size (box reduction, Gaussian, bilinear
        // enlargement) at an eighth of the size: stated tolerance, a worst difference of 0.04
        // and a PSNR over 45 dB.
        let mut b = PlanBuilder::new(w, h);
        let plate = b.input(Input::Plate);
        let reduced = plan_blur(&mut b, plate, radius);
        let plan = b.finish(reduced, plate);
        assert_eq!(blur_factor(radius), 8);
        assert!(
            plan.steps
                .iter()
                .any(|s| plan.size(s.outputs[0]) == (w.div_ceil(8), h.div_ceil(8)))
        );
        let reduced = cpu::render(&plan, &inputs).unwrap().rgba;
        let mut worst = 0.0f32;
        let mut se = 0.0f64;
        for (a, b) in reduced.pixels.iter().zip(&direct[0].pixels) {
            for c in 0..3 {
                let d = (a[c] - b[c]).abs();
                worst = worst.max(d);
                se += f64::from(d * d);
            }
        }
        let psnr = 10.0 * (1.0 / (se / (reduced.pixels.len() * 3) as f64)).log10();
        assert!(
            worst < 0.04 && psnr > 45.0,
            "reduced: worst {worst}, PSNR {psnr:.1} dB"
        );
    }

    /// A soft disc matte in aux channel 1 (a 6 px ramp at radius `r`), distance 5 m elsewhere.
    fn disc_aux(w: u32, h: u32, r: f32) -> Image {
        Image::from_fn(w, h, |x, y| {
            let d = ((x as f32 + 0.5 - w as f32 / 2.0).powi(2)
                + (y as f32 + 0.5 - h as f32 / 2.0).powi(2))
            .sqrt();
            let a = crate::composite::image::smoothstep(r + 3.0, r - 3.0, d);
            [5.0, a, 0.5, 0.0]
        })
    }

    #[test]
    fn erosion_shrinks_the_matte_and_dilation_grows_it_leaving_other_channels() {
        let aux = disc_aux(96, 96, 20.0);
        let area = channel_sum(&aux, 1);
        let morph = |px: f32, m: Morph| {
            let mut b = PlanBuilder::new(96, 96);
            let a = b.input(Input::Aux);
            let out = plan_minmax(&mut b, a, MATTE_CHANNEL, px, m);
            let plan = b.finish(out, a);
            let inputs = FrameInputs {
                aux: Some(aux.clone()),
                ..Default::default()
            };
            cpu::render(&plan, &inputs).unwrap().rgba
        };
        let eroded = morph(4.0, Morph::Erode);
        let dilated = morph(4.0, Morph::Dilate);
        let (ea, da) = (channel_sum(&eroded, 1), channel_sum(&dilated, 1));
        // A disc of radius ~20 eroded by 4 px keeps about (16/20)² of its area; dilated, (24/20)².
        assert!(ea < 0.75 * area && ea > 0.5 * area, "{area} → eroded {ea}");
        assert!(da > 1.3 * area && da < 1.7 * area, "{area} → dilated {da}");
        // Pointwise: never above (erosion) or below (dilation) the original.
        for ((o, e), d) in aux.pixels.iter().zip(&eroded.pixels).zip(&dilated.pixels) {
            assert!(e[1] <= o[1] && d[1] >= o[1]);
            assert_eq!([e[0], e[2], e[3]], [o[0], o[2], o[3]]);
            assert_eq!([d[0], d[2], d[3]], [o[0], o[2], o[3]]);
        }
    }

    #[test]
    fn large_erosions_chained_from_sparse_passes_equal_the_dense_square() {
        // A real photo's luminance as the channel, so every pixel's neighbourhood matters.
        let img = photo("vendor/skimage-data/coffee.png", 8);
        for radius in [5.0, 9.0, 13.5, 30.0, 64.0] {
            let passes = minmax_passes(radius);
            let reach: u32 = passes.iter().map(|(n, s)| n * s).sum();
            assert_eq!(reach, radius.ceil() as u32, "{passes:?}");
            for morph in [Morph::Erode, Morph::Dilate] {
                let mut chained = img.clone();
                for &(n, s) in &passes {
                    for axis in 0..2 {
                        let p = MinMaxParams::new(morph, 1, axis, n, s);
                        chained = run(StackOp::MinMax(p), &[&chained]).remove(0);
                    }
                }
                let r = radius.ceil() as u32;
                let x = run(
                    StackOp::MinMax(MinMaxParams::new(morph, 1, 0, r, 1)),
                    &[&img],
                );
                let dense = run(
                    StackOp::MinMax(MinMaxParams::new(morph, 1, 1, r, 1)),
                    &[&x[0]],
                );
                assert_eq!(chained, dense[0], "radius {radius} {morph:?}");
            }
        }
    }

    #[test]
    fn decontamination_removes_the_old_background_from_soft_edges() {
        // The true foreground: a real photo. The old background: saturated green. The plate is
        // the photo composited over the green through a soft disc matte, as a keyer would see it.
        let fg = photo("assets/sample_shot/astronaut.1001.png", 4);
        let (w, h) = (fg.width, fg.height);
        let aux = disc_aux(w, h, 30.0);
        let green = [0.02, 0.9, 0.05];
        let plate = Image::from_fn(w, h, |x, y| {
            let f = fg.load_clamped(x as i32, y as i32);
            let a = aux.load_clamped(x as i32, y as i32)[1];
            std::array::from_fn(|c| {
                if c == 3 {
                    1.0
                } else {
                    a * f[c] + (1.0 - a) * green[c]
                }
            })
        });
        let cut = |decontaminate: bool| {
            let s = CutoutSettings {
                erode_px: 0.0,
                feather_px: 0.0,
                decontaminate,
                decontaminate_radius_px: 8.0,
                ..CutoutSettings::default()
            };
            let mut b = PlanBuilder::new(w, h);
            let p = b.input(Input::Plate);
            let a = b.input(Input::Aux);
            let out = plan_cutout(&mut b, &s, p, a);
            let plan = b.finish(out, a);
            let inputs = FrameInputs {
                plate: Some(plate.clone()),
                aux: Some(aux.clone()),
                ..Default::default()
            };
            cpu::render(&plan, &inputs).unwrap().rgba
        };
        let (clean, raw) = (cut(true), cut(false));
        // Over the soft edge (0.1 <= α <= 0.9), what a user sees: the cut-out composited over a
        // new background differs from the true foreground composited there by α·|F_est − F|
        // per channel, whatever the new background.
        let (mut err_clean, mut err_raw, mut green_clean, mut green_raw, mut n) =
            (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0usize);
        for i in 0..fg.pixels.len() {
            let a = aux.pixels[i][1];
            if !(0.1..=0.9).contains(&a) {
                continue;
            }
            assert!((clean.pixels[i][3] - a).abs() < 1e-6, "alpha is the matte");
            let truth = fg.pixels[i];
            let (c, r) = (clean.pixels[i], raw.pixels[i]);
            for ch in 0..3 {
                err_clean += f64::from((c[ch] - a * truth[ch]).abs());
                err_raw += f64::from((r[ch] - a * truth[ch]).abs());
            }
            // Green spill: how much greener than the truth the edge is.
            green_clean += f64::from(c[1] - a * truth[1]);
            green_raw += f64::from(r[1] - a * truth[1]);
            n += 1;
        }
        assert!(n > 300, "the edge has {n} pixels");
        let n = n as f64;
        let (err_clean, err_raw) = (err_clean / n, err_raw / n);
        let (green_clean, green_raw) = (green_clean / n, green_raw / n);
        println!(
            "edge error in a composite: raw {err_raw:.4}, decontaminated {err_clean:.4}; \
             green spill: raw {green_raw:.4}, decontaminated {green_clean:.4}"
        );
        assert!(err_clean < 0.5 * err_raw, "{err_clean} vs {err_raw}");
        assert!(
            green_clean < 0.35 * green_raw,
            "{green_clean} vs {green_raw}"
        );
        // Inside the matte the cut-out is the plate untouched, outside it is empty.
        let centre = (h / 2 * w + w / 2) as usize;
        assert!(close(clean.pixels[centre], plate.pixels[centre]));
        assert_eq!(clean.pixels[0], [0.0; 4]);
    }

    #[test]
    fn backgrounds_are_opaque_solid_image_or_blurred_plate() {
        let img = photo("vendor/skimage-data/chelsea.png", 8);
        let (w, h) = (img.width, img.height);
        // A half-transparent plate: the backgrounds must still be opaque.
        let plate = Image::from_fn(w, h, |x, y| {
            let c = img.load_clamped(x as i32, y as i32);
            [0.5 * c[0], 0.5 * c[1], 0.5 * c[2], 0.5]
        });
        let render = |s: &BackgroundSettings| {
            let mut b = PlanBuilder::new(w, h);
            let p = b.input(Input::Plate);
            let a = b.input(Input::Aux);
            let out = plan_background(&mut b, s, p, a);
            let plan = b.finish(out, p);
            let inputs = FrameInputs {
                plate: Some(plate.clone()),
                // No matte: the blurred plate is the plain plate blurred.
                aux: Some(Image::filled(w, h, [5.0, 0.0, 0.0, 0.0])),
                images: vec![img.clone()],
                ..Default::default()
            };
            cpu::render(&plan, &inputs).unwrap().rgba
        };
        let solid = render(&BackgroundSettings::Solid {
            colour: [0.1, 0.2, 0.3],
        });
        assert!(solid.pixels.iter().all(|p| *p == [0.1, 0.2, 0.3, 1.0]));
        let image = render(&BackgroundSettings::Image {
            path: "bg.png".into(),
        });
        assert!(
            image
                .pixels
                .iter()
                .zip(&img.pixels)
                .all(|(a, b)| close(*a, *b))
        );
        let blurred = render(&BackgroundSettings::BlurredPlate { radius_px: 6.0 });
        assert!(blurred.pixels.iter().all(|p| p[3] == 1.0));
        // Blurring smooths: neighbouring pixels differ far less than in the photo.
        let roughness = |im: &Image| {
            im.pixels
                .windows(2)
                .map(|p| f64::from((p[0][1] - p[1][1]).abs()))
                .sum::<f64>()
        };
        assert!(roughness(&blurred) < 0.3 * roughness(&img));
        // And keeps the overall colour (un-premultiplied, so the plate's alpha cancels out).
        let (mean_in, mean_out) = (
            channel_sum(&img, 1) / img.pixels.len() as f64,
            channel_sum(&blurred, 1) / img.pixels.len() as f64,
        );
        assert!((mean_in - mean_out).abs() < 0.01, "{mean_in} vs {mean_out}");
    }

    #[test]
    fn params_are_padded_to_16_bytes() {
        let ops = [
            StackOp::Blend(BlendParams::new(0, 1.0)),
            StackOp::Blur(BlurParams::new(1.0, 0)),
            StackOp::MinMax(MinMaxParams::new(Morph::Erode, 1, 0, 1, 1)),
            StackOp::CutoutPrep(CutoutPrepParams::new(1)),
            StackOp::Cutout(CutoutParams::new(1, true)),
            StackOp::Background(BackgroundParams::solid([0.0; 3])),
        ];
        for op in ops {
            let n = op.params().len();
            assert!(n > 0 && n % 16 == 0, "{}: {n} bytes", op.shader());
            assert!(crate::composite::shaders::raw(op.shader()).is_some());
        }
    }
}
