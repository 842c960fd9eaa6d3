//! One model, loaded once: the session on its execution provider, its file's hash, and its
//! family's pre-processing (resize, sRGB encoding, scaling, mean/std, layout) and
//! post-processing (squeeze, min-max or sigmoid).

use std::path::{Path, PathBuf};

use fast_image_resize as fir;
use ort::ep;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorRef, ValueType};

use super::InferError;
use super::manifest::{
    Aspect, ChannelOrder, InputSpec, Layout, ModelEntry, Post, ResizeFilter, ResizeSpace, Scale,
    sha256_hex,
};
use super::runtime::{Provider, Runtime};
use crate::shot::Plate;
use crate::shot::WorkingSpace;
use crate::shot::colour::linear_to_srgb;

/// A model's output at the model's own resolution, after post-processing.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOutput {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` values, row-major.
    pub values: Vec<f32>,
}

/// A loaded model with its session, ready to run on any number of frames.
pub struct Model {
    /// The manifest entry.
    pub entry: ModelEntry,
    /// The model file.
    pub path: PathBuf,
    /// SHA-256 of the model file, recorded in every export.
    pub sha256: String,
    /// The execution provider the session runs on.
    pub provider: Provider,
    /// Why CUDA was not used, when it was tried and fell back.
    pub fallback_reason: Option<String>,
    /// The input tensor fed: the entry's, or the graph's first.
    input_name: String,
    /// The output tensor used: the entry's, or the graph's first.
    output_name: String,
    session: Session,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.entry.id)
            .field("path", &self.path)
            .field("provider", &self.provider)
            .finish()
    }
}

impl Model {
    /// Reads the model file, checks its hash against the manifest, builds a session on the
    /// runtime's execution provider and checks the graph's input and output against the entry.
    pub fn load(
        runtime: &Runtime,
        entry: &ModelEntry,
        models_dir: &Path,
    ) -> Result<Model, InferError> {
        let path = entry.path_in(models_dir);
        if !path.is_file() {
            return Err(InferError::ModelMissing {
                id: entry.id.clone(),
                path,
            });
        }
        // Read once: the bytes that are hashed are the bytes that are loaded.
        let bytes = std::fs::read(&path).map_err(|source| InferError::Io {
            path: path.clone(),
            source,
        })?;
        let sha256 = sha256_hex(&bytes);
        if let Some(expected) = &entry.sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(InferError::HashMismatch {
                path,
                expected: expected.to_ascii_lowercase(),
                actual: sha256,
            });
        }
        if entry.sha256.is_none() {
            // No pinned hash: the one recorded on the first fetch, when there is one.
            let sidecar = super::manifest::sha256_sidecar(&path);
            if let Ok(text) = std::fs::read_to_string(&sidecar) {
                let recorded = text.trim().to_ascii_lowercase();
                if recorded != sha256 {
                    return Err(InferError::RecordedHashMismatch {
                        path,
                        sidecar,
                        recorded,
                        actual: sha256,
                    });
                }
            }
        }
        let ort_err = |during: &'static str, reason: String| InferError::Ort {
            path: path.clone(),
            during,
            reason,
        };
        let new_builder = || -> Result<ort::session::builder::SessionBuilder, InferError> {
            let mut b = Session::builder(&runtime.env)
                .map_err(|e| ort_err("creating a session", e.to_string()))?
                .with_optimization_level(GraphOptimizationLevel::All)
                .map_err(|e| ort_err("setting the optimisation level", e.to_string()))?
                // Idle inference threads sleep instead of spinning, leaving the cores to the
                // decode and export workers that overlap with inference.
                .with_intra_op_spinning(false)
                .map_err(|e| ort_err("configuring threads", e.to_string()))?;
            if runtime.options.intra_threads > 0 {
                b = b
                    .with_intra_threads(runtime.options.intra_threads)
                    .map_err(|e| ort_err("setting the thread count", e.to_string()))?;
            }
            Ok(b)
        };

        let mut fallback_reason = None;
        let mut cuda_session = None;
        if runtime.wants_cuda() {
            let attempt = new_builder()?
                .with_execution_providers([ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| e.to_string())
                .and_then(|mut b| b.commit_from_memory(&bytes).map_err(|e| e.to_string()));
            match attempt {
                Ok(s) => cuda_session = Some(s),
                Err(reason) if runtime.cuda_is_required() => {
                    return Err(InferError::GpuUnavailable {
                        reason: format!("CUDA could not run {}: {reason}", path.display()),
                    });
                }
                Err(reason) => fallback_reason = Some(reason),
            }
        }
        let (session, provider) = match cuda_session {
            Some(s) => (s, Provider::Cuda),
            None => {
                let s = new_builder()?
                    .commit_from_memory(&bytes)
                    .map_err(|e| ort_err("loading the model", e.to_string()))?;
                (s, Provider::Cpu)
            }
        };
        let first = |outlets: &[ort::value::Outlet], what: &str| {
            outlets
                .first()
                .map(|o| o.name().to_string())
                .ok_or_else(|| InferError::Signature {
                    id: entry.id.clone(),
                    path: path.clone(),
                    reason: format!("the graph has no {what}"),
                })
        };
        let input_name = match &entry.input.name {
            Some(n) => n.clone(),
            None => first(session.inputs(), "inputs")?,
        };
        let output_name = match &entry.output.name {
            Some(n) => n.clone(),
            None => first(session.outputs(), "outputs")?,
        };
        let model = Model {
            entry: entry.clone(),
            path,
            sha256,
            provider,
            fallback_reason,
            input_name,
            output_name,
            session,
        };
        model.check_signature()?;
        Ok(model)
    }

    fn check_signature(&self) -> Result<(), InferError> {
        let e = &self.entry;
        let bad = |reason: String| InferError::Signature {
            id: e.id.clone(),
            path: self.path.clone(),
            reason,
        };
        let names = |outlets: &[ort::value::Outlet]| {
            outlets
                .iter()
                .map(|o| o.name().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let input = self
            .session
            .inputs()
            .iter()
            .find(|i| i.name() == self.input_name)
            .ok_or_else(|| {
                bad(format!(
                    "it has no input named `{}` (its inputs: {})",
                    self.input_name,
                    names(self.session.inputs())
                ))
            })?;
        // A size that follows the plate's shape is checked as dynamic (-1) height and width.
        let (eh, ew) = match e.input.aspect {
            Aspect::Keep => (-1, -1),
            Aspect::Stretch | Aspect::Pad => (e.input.height as i64, e.input.width as i64),
        };
        let expected: [i64; 4] = match e.input.layout {
            Layout::Nchw => [1, 3, eh, ew],
            Layout::Nhwc => [1, eh, ew, 3],
        };
        match input.dtype() {
            ValueType::Tensor { shape, .. } => {
                let dims: &[i64] = shape;
                let fits = dims.len() == 4
                    && dims
                        .iter()
                        .zip(expected.iter())
                        .all(|(d, x)| *d < 0 || d == x);
                if dims.len() == 4 && !fits && e.input.aspect == Aspect::Keep {
                    return Err(bad(format!(
                        "input `{}` has the fixed shape {:?}, but aspect = \"keep\" feeds each plate at a size of its own shape: use a graph exported with dynamic height and width, or set aspect = \"stretch\" or \"pad\" in a manifest entry of this id",
                        self.input_name, dims
                    )));
                }
                if !fits {
                    return Err(bad(format!(
                        "input `{}` has shape {:?}, but the manifest says {:?}",
                        self.input_name, dims, expected
                    )));
                }
            }
            other => {
                return Err(bad(format!(
                    "input `{}` is not a tensor but {other:?}",
                    self.input_name
                )));
            }
        }
        if let Some(name) = &e.output.name
            && !self.session.outputs().iter().any(|o| o.name() == name)
        {
            return Err(bad(format!(
                "it has no output named `{name}` (its outputs: {})",
                names(self.session.outputs())
            )));
        }
        Ok(())
    }

    /// A key that changes whenever this model's results could change: the file's hash and the
    /// entry's pre- and post-processing.
    pub fn cache_key(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(self.sha256.as_bytes());
        h.update(
            format!(
                "{:?}{:?}{:?}",
                self.entry.input, self.entry.normalise, self.entry.output
            )
            .as_bytes(),
        );
        h.update(PREPROCESS_VERSION.as_bytes());
        h.finalize().to_hex().to_string()
    }

    /// Runs the model on an input tensor made by [`preprocess`]; a padded input's output is
    /// cropped back to the picture.
    pub fn run_tensor(&mut self, input: &ModelInput) -> Result<RawOutput, InferError> {
        let e = &self.entry;
        let (w, h) = (input.width as usize, input.height as usize);
        let shape: [usize; 4] = match e.input.layout {
            Layout::Nchw => [1, 3, h, w],
            Layout::Nhwc => [1, h, w, 3],
        };
        let path = self.path.clone();
        let ort_err = |during: &'static str, reason: String| InferError::Ort {
            path: path.clone(),
            during,
            reason,
        };
        let tensor = TensorRef::from_array_view((shape, input.tensor.as_slice()))
            .map_err(|err| ort_err("building the input tensor", err.to_string()))?;
        let input_name = self.input_name.clone();
        let output_name = self.output_name.clone();
        let post = e.output.post;
        let outputs = self
            .session
            .run(ort::inputs![input_name => tensor])
            .map_err(|err| ort_err("running the model", err.to_string()))?;
        let value = outputs
            .get(&output_name)
            .ok_or_else(|| ort_err("reading the output", "the output is missing".to_string()))?;
        let (out_shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|err| ort_err("reading the output", err.to_string()))?;
        let dims: Vec<i64> = out_shape.iter().copied().filter(|d| *d != 1).collect();
        if dims.len() != 2 || dims.iter().any(|d| *d <= 0) {
            return Err(ort_err(
                "reading the output",
                format!(
                    "expected a single-channel image output, got shape {:?}",
                    &out_shape[..]
                ),
            ));
        }
        let (height, width) = (dims[0] as u32, dims[1] as u32);
        let raw = input.crop_output(RawOutput {
            width,
            height,
            values: data.to_vec(),
        });
        let mut raw = raw;
        postprocess(&mut raw.values, post);
        Ok(raw)
    }

    /// Pre-processes `plate` (linear Rec.709) and runs the model on it.
    pub fn run(&mut self, plate: &Plate) -> Result<RawOutput, InferError> {
        self.run_in(plate, WorkingSpace::Linear)
    }

    /// Pre-processes `plate`, in the working space `working`, and runs the model on it.
    pub fn run_in(
        &mut self,
        plate: &Plate,
        working: WorkingSpace,
    ) -> Result<RawOutput, InferError> {
        let input =
            preprocess_in(&self.entry, plate, working).map_err(|reason| InferError::Ort {
                path: self.path.clone(),
                during: "resizing the plate for the model",
                reason,
            })?;
        self.run_tensor(&input)
    }
}

/// Bumped when pre- or post-processing changes, so cached results are not reused across it.
const PREPROCESS_VERSION: &str = "pre-2";

/// A model's input tensor, and where the picture sits in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    /// The tensor, in the entry's layout and channel order.
    pub tensor: Vec<f32>,
    /// The tensor's width in pixels.
    pub width: u32,
    /// The tensor's height in pixels.
    pub height: u32,
    /// The picture's rectangle in the tensor, `[x, y, width, height]`: all of it except when
    /// padded (`aspect = "pad"`).
    pub content: [u32; 4],
}

impl ModelInput {
    /// The output of the picture only: a padded input's output cropped to the picture's
    /// rectangle, scaled to the output's size.
    fn crop_output(&self, raw: RawOutput) -> RawOutput {
        let [x, y, cw, ch] = self.content;
        if (x, y, cw, ch) == (0, 0, self.width, self.height) {
            return raw;
        }
        let sx = raw.width as f64 / self.width as f64;
        let sy = raw.height as f64 / self.height as f64;
        let x0 = ((x as f64 * sx).round() as u32).min(raw.width.saturating_sub(1));
        let y0 = ((y as f64 * sy).round() as u32).min(raw.height.saturating_sub(1));
        let w = ((cw as f64 * sx).round() as u32).clamp(1, raw.width - x0);
        let h = ((ch as f64 * sy).round() as u32).clamp(1, raw.height - y0);
        let mut values = Vec::with_capacity(w as usize * h as usize);
        for row in raw
            .values
            .chunks_exact(raw.width as usize)
            .skip(y0 as usize)
            .take(h as usize)
        {
            values.extend_from_slice(&row[x0 as usize..(x0 + w) as usize]);
        }
        RawOutput {
            width: w,
            height: h,
            values,
        }
    }
}

/// The input size for a `pw` x `ph` plate and the picture's rectangle in it, as
/// [`InputSpec::aspect`] says. `keep` follows Depth Anything V2's and MiDaS's `Resize`
/// (`keep_aspect_ratio`, `resize_method="lower_bound"`, `ensure_multiple_of`): one scale for
/// both sides, so that each is at least the entry's, each rounded to the nearest multiple
/// (up when rounding would take it below).
pub fn input_geometry(spec: &InputSpec, pw: u32, ph: u32) -> (u32, u32, [u32; 4]) {
    let (w, h) = (spec.width, spec.height);
    let (pw, ph) = (pw.max(1) as f64, ph.max(1) as f64);
    match spec.aspect {
        Aspect::Stretch => (w, h, [0, 0, w, h]),
        Aspect::Pad => {
            let scale = (w as f64 / pw).min(h as f64 / ph);
            let cw = ((pw * scale).round() as u32).clamp(1, w);
            let ch = ((ph * scale).round() as u32).clamp(1, h);
            (w, h, [(w - cw) / 2, (h - ch) / 2, cw, ch])
        }
        Aspect::Keep => {
            let scale = (w as f64 / pw).max(h as f64 / ph);
            let m = spec.multiple_of.max(1) as f64;
            let side = |x: f64, min: u32| {
                let y = (x / m).round() * m;
                let y = if y < min as f64 {
                    (x / m).ceil() * m
                } else {
                    y
                };
                (y as u32).clamp(1, 8192)
            };
            let (kw, kh) = (side(pw * scale, w), side(ph * scale, h));
            (kw, kh, [0, 0, kw, kh])
        }
    }
}

fn fir_resize(
    src: &[f32],
    (sw, sh): (u32, u32),
    (dw, dh): (u32, u32),
    filter: ResizeFilter,
) -> Result<Vec<f32>, String> {
    let mut out = vec![0f32; dw as usize * dh as usize * 4];
    let src = fir::images::ImageRef::new(sw, sh, bytemuck::cast_slice(src), fir::PixelType::F32x4)
        .map_err(|e| e.to_string())?;
    let mut dst = fir::images::Image::from_slice_u8(
        dw,
        dh,
        bytemuck::cast_slice_mut(&mut out),
        fir::PixelType::F32x4,
    )
    .map_err(|e| e.to_string())?;
    let alg = match filter {
        ResizeFilter::Nearest => fir::ResizeAlg::Nearest,
        ResizeFilter::Box => fir::ResizeAlg::Convolution(fir::FilterType::Box),
        ResizeFilter::Bilinear => fir::ResizeAlg::Convolution(fir::FilterType::Bilinear),
        ResizeFilter::Bicubic => fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom),
        ResizeFilter::Lanczos3 => fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3),
    };
    let options = fir::ResizeOptions::new().resize_alg(alg).use_alpha(false);
    fir::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Prepares the linear Rec.709 plate as the model was trained on: resized (the entry's filter,
/// in sRGB-encoded values or in linear light, its aspect rule), sRGB-encoded, scaled and
/// normalised, laid out. [`preprocess_in`] for a plate in another working space.
pub fn preprocess(entry: &ModelEntry, plate: &Plate) -> Result<ModelInput, String> {
    preprocess_in(entry, plate, WorkingSpace::Linear)
}

/// [`preprocess`] for a plate in the working space `working`: its colours go to linear
/// Rec.709 before the sRGB encode, so a model gets what it was trained on whatever the working
/// space.
pub fn preprocess_in(
    entry: &ModelEntry,
    plate: &Plate,
    working: WorkingSpace,
) -> Result<ModelInput, String> {
    ModelPlate::new(plate, working).input_for(entry)
}

/// A plate being made into the inputs of one or more models (a frame's depth and matte
/// models): its full-size sRGB encoding, which every entry that resizes in sRGB starts from,
/// is made once and shared.
pub struct ModelPlate<'a> {
    plate: &'a Plate,
    working: WorkingSpace,
    srgb: std::sync::OnceLock<Vec<f32>>,
}

impl<'a> ModelPlate<'a> {
    /// `plate`, in the working space `working`.
    pub fn new(plate: &'a Plate, working: WorkingSpace) -> ModelPlate<'a> {
        ModelPlate {
            plate,
            working,
            srgb: std::sync::OnceLock::new(),
        }
    }

    /// RGBA pixels (linear, in the working space) to sRGB-encoded Rec.709, alpha 1.
    fn encode_all(&self, src: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let to_rec709 = self.working.to_rec709();
        let mut out = vec![0f32; src.len()];
        out.par_chunks_mut(4 * 1024)
            .zip(src.par_chunks(4 * 1024))
            .for_each(|(o, s)| {
                for (o, s) in o.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
                    let linear = match to_rec709 {
                        None => [s[0], s[1], s[2]],
                        Some(m) => (m * glam::Vec3::new(s[0], s[1], s[2])).to_array(),
                    };
                    let [r, g, b] = linear.map(linear_to_srgb);
                    o.copy_from_slice(&[r, g, b, 1.0]);
                }
            });
        out
    }

    /// The input tensor for `entry` (see [`preprocess`]).
    pub fn input_for(&self, entry: &ModelEntry) -> Result<ModelInput, String> {
        let plate = self.plate;
        let (w, h, content) = input_geometry(&entry.input, plate.width, plate.height);
        let [_, _, cw, ch] = content;
        let size = (plate.width, plate.height);
        let small = match entry.input.resize_space {
            // As the reference pipelines resize their 8-bit photos: the encoded picture.
            ResizeSpace::Srgb => {
                let srgb = self.srgb.get_or_init(|| self.encode_all(&plate.rgba));
                fir_resize(srgb, size, (cw, ch), entry.input.resize)?
            }
            ResizeSpace::Linear => self.encode_all(&fir_resize(
                &plate.rgba,
                size,
                (cw, ch),
                entry.input.resize,
            )?),
        };
        Ok(normalise(entry, &small, (w, h), content))
    }
}

/// The resized picture `small` (`content`'s size, sRGB-encoded RGBA) placed in a `w x h`
/// tensor, scaled, normalised and laid out as `entry` says.
fn normalise(
    entry: &ModelEntry,
    small: &[f32],
    (w, h): (u32, u32),
    content: [u32; 4],
) -> ModelInput {
    let [x0, y0, cw, _] = content;
    let n = w as usize * h as usize;
    // Padding is black, before the scaling and the mean/std, as a letterboxed photo's is.
    let mut rgb: Vec<[f32; 3]> = vec![[0.0; 3]; n];
    for (y, row) in small.chunks_exact(4 * cw as usize).enumerate() {
        let start = (y0 as usize + y) * w as usize + x0 as usize;
        for (o, p) in rgb[start..start + cw as usize]
            .iter_mut()
            .zip(row.chunks_exact(4))
        {
            *o = [p[0], p[1], p[2]];
        }
    }
    let scale = match entry.normalise.scale {
        Scale::Unit => 1.0,
        Scale::Max => {
            let max = small
                .chunks_exact(4)
                .flat_map(|p| p[..3].iter().copied())
                .fold(0f32, f32::max);
            1.0 / max.max(1e-6)
        }
    };
    let (mean, std) = (entry.normalise.mean, entry.normalise.std);
    for p in &mut rgb {
        for c in 0..3 {
            p[c] = (p[c] * scale - mean[c]) / std[c];
        }
        if entry.input.channels == ChannelOrder::Bgr {
            p.swap(0, 2);
        }
    }
    let tensor = match entry.input.layout {
        Layout::Nhwc => rgb.into_iter().flatten().collect(),
        Layout::Nchw => {
            let mut out = vec![0f32; n * 3];
            for (i, p) in rgb.iter().enumerate() {
                out[i] = p[0];
                out[n + i] = p[1];
                out[2 * n + i] = p[2];
            }
            out
        }
    };
    ModelInput {
        tensor,
        width: w,
        height: h,
        content,
    }
}

fn postprocess(values: &mut [f32], post: Post) {
    match post {
        Post::None => {}
        Post::Sigmoid => values
            .iter_mut()
            .for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
        Post::Minmax => {
            let (lo, hi) = values
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(*v), hi.max(*v))
                });
            let span = hi - lo;
            if span > f32::EPSILON {
                values.iter_mut().for_each(|v| *v = (*v - lo) / span);
            } else {
                values.iter_mut().for_each(|v| *v = 0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shot::colour::{Primaries, conversion_matrix};

    fn flat_plate(rgb: [f32; 3]) -> Plate {
        Plate {
            width: 64,
            height: 48,
            rgba: [rgb[0], rgb[1], rgb[2], 1.0].repeat(64 * 48),
            source_bits: 32,
        }
    }

    #[test]
    fn a_model_gets_the_same_input_whatever_the_working_space() {
        let entries = super::super::Manifest::parse(
            include_str!("../../models/manifest.toml"),
            Path::new("models/manifest.toml"),
        )
        .unwrap();
        assert!(!entries.is_empty());
        let rec709 = [0.18f32, 0.45, 0.07];
        let acescg =
            conversion_matrix(Primaries::Rec709, Primaries::Ap1) * glam::Vec3::from_array(rec709);
        for entry in &entries {
            let want = preprocess(entry, &flat_plate(rec709)).unwrap().tensor;
            let got = preprocess_in(entry, &flat_plate(acescg.to_array()), WorkingSpace::AcesCg)
                .unwrap()
                .tensor;
            assert_eq!(want.len(), got.len());
            let worst = want
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "{}: {worst}", entry.id);
        }
    }
}
