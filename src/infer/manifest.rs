//! The model manifest: what each known model is, where its file lives, how to feed it and what
//! its output means. A new model is a few lines of TOML, never code.
//!
//! The built-in manifest is `models/manifest.toml`, compiled into the binary. Every other `*.toml`
//! file in the models folder, and any file passed explicitly, is read after it; an entry with an
//! id that already exists replaces the earlier one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::InferError;
use crate::passes::DepthSemantics;

/// The manifest compiled into the binary.
pub const BUILTIN_MANIFEST: &str = include_str!("../../models/manifest.toml");

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Monocular depth.
    Depth,
    /// A segmentation matte.
    Matte,
}

impl Task {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Depth => "depth",
            Task::Matte => "matte",
        }
    }
}

/// Memory layout of the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `[1, 3, H, W]`.
    #[default]
    Nchw,
    /// `[1, H, W, 3]`.
    Nhwc,
}

/// Channel order of the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOrder {
    /// Red, green, blue.
    #[default]
    Rgb,
    /// Blue, green, red.
    Bgr,
}

/// The model's image input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input tensor name; the graph's first input when absent (exports differ in naming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Width in pixels the plate is resized to.
    pub width: u32,
    /// Height in pixels the plate is resized to.
    pub height: u32,
    /// Tensor layout.
    #[serde(default)]
    pub layout: Layout,
    /// Channel order.
    #[serde(default)]
    pub channels: ChannelOrder,
    /// The filter the plate is resized with (default bilinear, as Pillow's and torchvision's
    /// reference pipelines do).
    #[serde(default)]
    pub resize: ResizeFilter,
    /// The encoding the resize works on: `srgb` (the sRGB-encoded picture, as the reference
    /// pipelines resize their 8-bit photos; the default) or `linear` (linear light).
    #[serde(default)]
    pub resize_space: ResizeSpace,
    /// How the plate's aspect ratio is treated: `stretch` to width x height (the default),
    /// `pad` (fitted inside width x height and padded, the output cropped back) or `keep`
    /// (a size of the plate's shape, at least width x height, each side a multiple of
    /// `multiple_of`: for dynamic-shape graphs such as Depth Anything V2's).
    #[serde(default)]
    pub aspect: Aspect,
    /// With `aspect = "keep"`: each side a multiple of this (14 for Depth Anything V2's ViT
    /// patches, 32 for MiDaS); 1 otherwise.
    #[serde(default = "one")]
    pub multiple_of: u32,
}

fn one() -> u32 {
    1
}

/// The resize filter of a model's input (the fast_image_resize convolutions, which follow
/// Pillow's: antialiased when reducing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResizeFilter {
    /// Nearest neighbour.
    Nearest,
    /// Box (area average).
    Box,
    /// Bilinear (Pillow's `BILINEAR`).
    #[default]
    Bilinear,
    /// Bicubic, Catmull-Rom (Pillow's `BICUBIC`).
    Bicubic,
    /// Lanczos, 3 lobes (Pillow's `LANCZOS`, rembg's choice).
    Lanczos3,
}

/// What a model's input is resized in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResizeSpace {
    /// The sRGB-encoded values (what resizing an 8-bit photo does).
    #[default]
    Srgb,
    /// Linear light, encoded to sRGB afterwards.
    Linear,
}

/// How a model's input keeps the plate's aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// Resized to width x height whatever the plate's shape.
    #[default]
    Stretch,
    /// Fitted inside width x height, centred, the rest black; the output is cropped back.
    Pad,
    /// The plate's shape, each side at least the entry's and a multiple of `multiple_of`.
    Keep,
}

/// How pixel values are scaled before the mean/std step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// sRGB-encoded values in 0..1.
    #[default]
    Unit,
    /// Divided by the resized image's maximum value (what rembg does for U-2-Net).
    Max,
}

/// Input normalisation: `(scaled - mean) / std` per channel, in RGB order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalise {
    /// Scaling to 0..1.
    #[serde(default)]
    pub scale: Scale,
    /// Per-channel mean (R, G, B).
    #[serde(default = "zero3")]
    pub mean: [f32; 3],
    /// Per-channel standard deviation (R, G, B).
    #[serde(default = "one3")]
    pub std: [f32; 3],
}

fn zero3() -> [f32; 3] {
    [0.0; 3]
}
fn one3() -> [f32; 3] {
    [1.0; 3]
}

/// What the chosen output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OutputSemantics {
    /// Depth in metres, larger is farther.
    MetricDepth,
    /// Relative depth, larger is farther.
    RelativeDepth,
    /// Relative inverse depth (disparity), larger is nearer.
    RelativeInverseDepth,
    /// Matte coverage in 0..1.
    Alpha,
}

impl OutputSemantics {
    /// The depth meaning, for depth outputs.
    pub fn depth(self) -> Option<DepthSemantics> {
        match self {
            OutputSemantics::MetricDepth => Some(DepthSemantics::Metric),
            OutputSemantics::RelativeDepth => Some(DepthSemantics::Relative),
            OutputSemantics::RelativeInverseDepth => Some(DepthSemantics::RelativeInverse),
            OutputSemantics::Alpha => None,
        }
    }
}

/// Post-processing of the raw output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Post {
    /// Keep raw values.
    #[default]
    None,
    /// Stretch to 0..1 by the output's own min and max.
    Minmax,
    /// Logistic function.
    Sigmoid,
}

/// The output used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Output tensor name; the first output when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the values mean.
    pub semantics: OutputSemantics,
    /// Post-processing.
    #[serde(default)]
    pub post: Post,
}

/// One model in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The id used on the command line.
    pub id: String,
    /// Depth or matte.
    pub task: Task,
    /// The `.onnx` file, relative to the models folder (or absolute).
    pub file: PathBuf,
    /// Expected SHA-256 (lower-case hex), if pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Licence of the package and the weights.
    pub licence: String,
    /// Where the file comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A public URL of the file, for `mattebox models fetch ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The weights' licence forbids commercial use: `mattebox models fetch` asks for
    /// `--accept-licence`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_commercial: bool,
    /// One line for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The image input.
    pub input: InputSpec,
    /// Input normalisation.
    pub normalise: Normalise,
    /// The output used.
    pub output: OutputSpec,
}

impl ModelEntry {
    /// The file beside a model file that records its SHA-256 when no hash is pinned: written by
    /// `mattebox models fetch` on the first download, checked by [`super::Model::load`].
    pub fn sidecar_in(&self, models_dir: &Path) -> PathBuf {
        sha256_sidecar(&self.path_in(models_dir))
    }

    /// The model file's path given the models folder.
    pub fn path_in(&self, models_dir: &Path) -> PathBuf {
        if self.file.is_absolute() {
            self.file.clone()
        } else {
            models_dir.join(&self.file)
        }
    }

    fn validate(&self, origin: &Path) -> Result<(), InferError> {
        let bad = |reason: String| InferError::Manifest {
            path: origin.to_path_buf(),
            reason: format!("model `{}`: {reason}", self.id),
        };
        if self.id.trim().is_empty() || self.id.eq_ignore_ascii_case("none") {
            return Err(bad(
                "the id must be a non-empty name other than `none`".into()
            ));
        }
        if self.input.width == 0
            || self.input.height == 0
            || self.input.width > 8192
            || self.input.height > 8192
        {
            return Err(bad(format!(
                "input size {}x{} is out of range (1..8192)",
                self.input.width, self.input.height
            )));
        }
        if self.input.multiple_of == 0 || self.input.multiple_of > 512 {
            return Err(bad(format!(
                "input.multiple_of {} is out of range (1..512)",
                self.input.multiple_of
            )));
        }
        if self.input.multiple_of > 1 && self.input.aspect != Aspect::Keep {
            return Err(bad(
                "input.multiple_of applies to aspect = \"keep\" only (a fixed width x height is given)".into(),
            ));
        }
        if self
            .normalise
            .std
            .iter()
            .any(|s| *s == 0.0 || !s.is_finite())
        {
            return Err(bad("normalise.std must be finite and non-zero".into()));
        }
        if let Some(h) = &self.sha256
            && (h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(bad("sha256 must be 64 hex digits".into()));
        }
        let is_depth = self.output.semantics.depth().is_some();
        if is_depth != (self.task == Task::Depth) {
            return Err(bad(format!(
                "a {} model cannot have output semantics {:?}",
                self.task.as_str(),
                self.output.semantics
            )));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    model: Vec<ModelEntry>,
}

/// All known models, and the folder their files live in.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The entries, in manifest order.
    pub models: Vec<ModelEntry>,
    /// The models folder.
    pub models_dir: PathBuf,
}

/// The places searched for the models folder, in order.
pub fn models_dir_candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    super::search_order(explicit, "MATTEBOX_MODELS_DIR", &["models"], "models")
}

impl Manifest {
    /// Parses one manifest's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Vec<ModelEntry>, InferError> {
        let file: ManifestFile = toml::from_str(text).map_err(|e| InferError::Manifest {
            path: origin.to_path_buf(),
            reason: e.to_string(),
        })?;
        for entry in &file.model {
            entry.validate(origin)?;
        }
        Ok(file.model)
    }

    /// The built-in manifest, then every other `*.toml` in the models folder (sorted), then `extra`.
    ///
    /// The models folder is the first of [`models_dir_candidates`] that exists (an explicit folder
    /// is used even when it does not exist yet, so errors name it).
    pub fn load(models_dir: Option<&Path>, extra: &[PathBuf]) -> Result<Manifest, InferError> {
        let models_dir = match models_dir {
            Some(d) => d.to_path_buf(),
            None => {
                let candidates = models_dir_candidates(None);
                candidates
                    .iter()
                    .find(|d| d.is_dir())
                    .or(candidates.last())
                    .cloned()
                    .unwrap_or_else(|| PathBuf::from("models"))
            }
        };
        let mut manifest = Manifest {
            models: Manifest::parse(
                BUILTIN_MANIFEST,
                Path::new("<built-in models/manifest.toml>"),
            )?,
            models_dir: models_dir.clone(),
        };
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&models_dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|e| e == "toml")
                        && p.file_name().is_some_and(|n| n != "manifest.toml")
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files.extend(extra.iter().cloned());
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|source| InferError::Io {
                path: path.clone(),
                source,
            })?;
            for entry in Manifest::parse(&text, &path)? {
                manifest.insert(entry);
            }
        }
        Ok(manifest)
    }

    /// Adds an entry, replacing one with the same id.
    pub fn insert(&mut self, entry: ModelEntry) {
        match self.models.iter_mut().find(|m| m.id == entry.id) {
            Some(slot) => *slot = entry,
            None => self.models.push(entry),
        }
    }

    /// The entry with this id, checked to be for `task`.
    pub fn get(&self, id: &str, task: Task) -> Result<&ModelEntry, InferError> {
        let entry =
            self.models
                .iter()
                .find(|m| m.id == id)
                .ok_or_else(|| InferError::UnknownModel {
                    id: id.to_string(),
                    known: self
                        .models
                        .iter()
                        .map(|m| m.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        if entry.task != task {
            return Err(InferError::WrongTask {
                id: id.to_string(),
                actual: entry.task.as_str().to_string(),
                wanted: task.as_str().to_string(),
            });
        }
        Ok(entry)
    }
}

/// `<file>.sha256`: the hash recorded for a model file that its entry does not pin.
pub fn sha256_sidecar(model_file: &Path) -> PathBuf {
    let mut name = model_file.as_os_str().to_os_string();
    name.push(".sha256");
    PathBuf::from(name)
}

/// SHA-256 of a byte slice, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha256_finish(sha2::Sha256::new_with_prefix(bytes))
}

/// A SHA-256 fed piece by piece, finished as lower-case hex.
pub fn sha256_finish(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_with_all_profiles() {
        let m = Manifest::parse(BUILTIN_MANIFEST, Path::new("builtin")).unwrap();
        let ids: Vec<_> = m.iter().map(|e| e.id.as_str()).collect();
        for id in [
            "u2netp",
            "u2net",
            "fastdepth",
            "depth-anything-v2-small",
            "midas-v21-small",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        let fd = m.iter().find(|e| e.id == "fastdepth").unwrap();
        assert_eq!(fd.output.semantics.depth(), Some(DepthSemantics::Metric));
        // The user profiles name their public downloads, for `mattebox models fetch`.
        for (id, host) in [
            ("depth-anything-v2-small", "https://huggingface.co/"),
            ("midas-v21-small", "https://github.com/isl-org/MiDaS/"),
        ] {
            let e = m.iter().find(|e| e.id == id).unwrap();
            assert!(e.url.as_deref().unwrap().starts_with(host), "{id}");
            assert!(!e.non_commercial, "{id} is Apache-2.0 / MIT");
        }
        assert!(m.iter().all(|e| e.url.is_some() || e.sha256.is_some()));
    }

    #[test]
    fn bad_entries_are_refused_with_the_file_and_line() {
        let text = "[[model]]\nid = \"x\"\ntask = \"depth\"\nfile = \"x.onnx\"\nlicence = \"MIT\"\n\
                    input = { name = \"a\", width = 0, height = 4 }\nnormalise = {}\n\
                    output = { semantics = \"metric_depth\" }\n";
        let err = Manifest::parse(text, Path::new("/m/extra.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/m/extra.toml") && err.contains("input size"),
            "{err}"
        );

        let err = Manifest::parse("[[model]]\nid = 3\n", Path::new("/m/bad.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/m/bad.toml") && err.contains("line"), "{err}");

        let mismatched = text
            .replace("width = 0", "width = 4")
            .replace("metric_depth", "alpha");
        let err = Manifest::parse(&mismatched, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot have output semantics"), "{err}");
    }

    #[test]
    fn later_entries_replace_earlier_ones_and_tasks_are_checked() {
        let mut m = Manifest {
            models: Manifest::parse(BUILTIN_MANIFEST, Path::new("b")).unwrap(),
            models_dir: PathBuf::from("/models"),
        };
        let mut e = m.get("u2netp", Task::Matte).unwrap().clone();
        e.licence = "changed".into();
        m.insert(e);
        assert_eq!(m.get("u2netp", Task::Matte).unwrap().licence, "changed");
        assert!(matches!(
            m.get("u2netp", Task::Depth),
            Err(InferError::WrongTask { .. })
        ));
        assert!(matches!(
            m.get("nope", Task::Depth),
            Err(InferError::UnknownModel { .. })
        ));
    }
}
