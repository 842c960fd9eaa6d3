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
use super::manifest::{ChannelOrder, Layout, ModelEntry, Post, Scale, sha256_hex};
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
        let expected: [i64; 4] = match e.input.layout {
            Layout::Nchw => [1, 3, e.input.height as i64, e.input.width as i64],
            Layout::Nhwc => [1, e.input.height as i64, e.input.width as i64, 3],
        };
        match input.dtype() {
            ValueType::Tensor { shape, .. } => {
                let dims: &[i64] = shape;
                let fits = dims.len() == 4
                    && dims
                        .iter()
                        .zip(expected.iter())
                        .all(|(d, x)| *d < 0 || d == x);
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

    /// Runs the model on an input tensor made by [`preprocess`].
    pub fn run_tensor(&mut self, input: &[f32]) -> Result<RawOutput, InferError> {
        let e = &self.entry;
        let shape: [usize; 4] = match e.input.layout {
            Layout::Nchw => [1, 3, e.input.height as usize, e.input.width as usize],
            Layout::Nhwc => [1, e.input.height as usize, e.input.width as usize, 3],
        };
        let path = self.path.clone();
        let ort_err = |during: &'static str, reason: String| InferError::Ort {
            path: path.clone(),
            during,
            reason,
        };
        let tensor = TensorRef::from_array_view((shape, input))
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
        let mut values = data.to_vec();
        postprocess(&mut values, post);
        Ok(RawOutput {
            width,
            height,
            values,
        })
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
const PREPROCESS_VERSION: &str = "pre-1";

/// Resizes the linear Rec.709 plate to the model's input size (Lanczos, in linear light),
/// encodes it to sRGB (the models were trained on sRGB photos), scales and normalises it, and
/// lays it out. [`preprocess_in`] for a plate in another working space.
pub fn preprocess(entry: &ModelEntry, plate: &Plate) -> Result<Vec<f32>, String> {
    preprocess_in(entry, plate, WorkingSpace::Linear)
}

/// [`preprocess`] for a plate in the working space `working`: after the resize its colours go
/// back to linear Rec.709 before the sRGB encode, so a model gets what it was trained on
/// whatever the working space.
pub fn preprocess_in(
    entry: &ModelEntry,
    plate: &Plate,
    working: WorkingSpace,
) -> Result<Vec<f32>, String> {
    let (w, h) = (entry.input.width, entry.input.height);
    let resize =
        |src: &[f32], sw: u32, sh: u32, dw: u32, dh: u32, filter| -> Result<Vec<f32>, String> {
            let mut out = vec![0f32; dw as usize * dh as usize * 4];
            let src = fir::images::ImageRef::new(
                sw,
                sh,
                bytemuck::cast_slice(src),
                fir::PixelType::F32x4,
            )
            .map_err(|e| e.to_string())?;
            let mut dst = fir::images::Image::from_slice_u8(
                dw,
                dh,
                bytemuck::cast_slice_mut(&mut out),
                fir::PixelType::F32x4,
            )
            .map_err(|e| e.to_string())?;
            let options = fir::ResizeOptions::new()
                .resize_alg(fir::ResizeAlg::Convolution(filter))
                .use_alpha(false);
            fir::Resizer::new()
                .resize(&src, &mut dst, &options)
                .map_err(|e| e.to_string())?;
            Ok(out)
        };
    // A plate far larger than the model's input is first box-averaged by a whole factor (cheap,
    // alias-free), so the Lanczos pass works on a few times the model's size, not on 4K.
    let k = (plate.width / (2 * w)).min(plate.height / (2 * h));
    let small = if k >= 2 {
        let (bw, bh) = (plate.width / k, plate.height / k);
        let reduced = resize(
            &plate.rgba,
            plate.width,
            plate.height,
            bw,
            bh,
            fir::FilterType::Box,
        )?;
        resize(&reduced, bw, bh, w, h, fir::FilterType::Lanczos3)?
    } else {
        resize(
            &plate.rgba,
            plate.width,
            plate.height,
            w,
            h,
            fir::FilterType::Lanczos3,
        )?
    };
    let n = w as usize * h as usize;
    let to_rec709 = working.to_rec709();
    let mut rgb: Vec<[f32; 3]> = small
        .chunks_exact(4)
        .map(|p| {
            let linear = match to_rec709 {
                None => [p[0], p[1], p[2]],
                Some(m) => (m * glam::Vec3::new(p[0], p[1], p[2])).to_array(),
            };
            linear.map(linear_to_srgb)
        })
        .collect();
    let scale = match entry.normalise.scale {
        Scale::Unit => 1.0,
        Scale::Max => {
            let max = rgb
                .iter()
                .flat_map(|p| p.iter().copied())
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
    Ok(match entry.input.layout {
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
    })
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
            let want = preprocess(entry, &flat_plate(rec709)).unwrap();
            let got =
                preprocess_in(entry, &flat_plate(acescg.to_array()), WorkingSpace::AcesCg).unwrap();
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
