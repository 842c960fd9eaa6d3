//! Export: the multi-layer OpenEXR, the PNG previews and cut-outs, the per-shot sidecar
//! manifest, and a header reader for `mattebox info`.
//!
//! Every writer here is atomic (see [`atomic`]): a reader never sees a half-written file, and a
//! failed write leaves any older file at the destination untouched. Every error names the file
//! and says what went wrong in plain words.

pub mod atomic;
pub mod exr;
pub mod info;
pub mod png;
pub mod read;
pub mod sidecar;
mod zip;

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::passes::{DepthRange, DepthSemantics};
use crate::shot::{ColourSpace, WorkingSpace};

pub use self::atomic::write_atomic;
pub use self::exr::{
    DEPTH_CHANNEL, ExrCompression, LEGACY_DEPTH_CHANNEL, matte_channel, matte_name_of_channel,
    write_layered_exr,
};
pub use self::info::{ExrInfo, describe_exr};
pub use self::png::{write_cutout_png, write_depth_png, write_matte_png, write_plate_png};
pub use self::sidecar::{
    FrameStatus, SIDECAR_NAME, SIDECAR_VERSION, ShotSidecar, SidecarFrame, read_sidecar,
    write_sidecar,
};

/// What one pass was made with: recorded in every EXR header and in the sidecar, so that an
/// export can always be traced back to the exact model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassStamp {
    /// `"depth"` for the depth pass, or the matte's name (e.g. `"fg"`).
    pub pass: String,
    /// The model's id in the manifest, e.g. `depth-anything-v2-small`.
    pub model_id: String,
    /// SHA-256 of the model file, lowercase hex.
    pub model_sha256: String,
    /// The model's licence, e.g. `Apache-2.0`.
    pub licence: String,
    /// What the depth values mean; `None` for mattes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantics: Option<DepthSemantics>,
}

/// Everything written into one frame's EXR header besides the pixels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameMetadata {
    /// Software name and version, usually [`crate::SOFTWARE`].
    pub software: String,
    /// The source file this frame was decoded from, as it is recorded: relative to the folder
    /// holding the export unless absolute paths were asked for (see [`recorded_source`]).
    pub source: PathBuf,
    /// The sequence's own frame number, if the source is part of a sequence.
    pub frame: Option<u32>,
    /// The ONNX Runtime execution provider that ran the models, e.g. `CUDA` or `CPU`.
    pub execution_provider: String,
    /// How the depth pass was made, if there is one.
    pub depth: Option<PassStamp>,
    /// The shot-wide raw values shown as near and far in previews.
    pub depth_range: Option<DepthRange>,
    /// How each matte was made; matched to mattes by [`PassStamp::pass`] = matte name.
    pub mattes: Vec<PassStamp>,
    /// The shot's frame rate, written as OpenEXR's `framesPerSecond`; `None` leaves it out.
    #[serde(default)]
    pub fps: Option<f32>,
    /// Set for composites: the depth channel holds distance in scene metres from the render's
    /// camera, made from the depth model's values by this mapping. `None` (passes): it holds the
    /// model's raw values, as [`FrameMetadata::depth`] says.
    #[serde(default)]
    pub scene_depth: Option<SceneDepth>,
    /// The working space the colour channels are in: written as OpenEXR's `chromaticities` and
    /// as `mattebox/colour/workingSpace`.
    #[serde(default)]
    pub working_space: WorkingSpace,
    /// The colour space the source file was read as (`mattebox/colour/inputSpace`); `None`
    /// leaves it out.
    #[serde(default)]
    pub input_space: Option<ColourSpace>,
    /// The temporal filter that steadied the depth and mattes (`passes::temporal`), e.g.
    /// `radius=3 tolerance=0.02`, written as `mattebox/passes/temporal`; `None`: each frame's
    /// results as the models made them.
    #[serde(default)]
    pub temporal: Option<String>,
}

/// How a composite's depth became scene metres: the project's scene settings at render time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SceneDepth {
    /// `true` when a metric model's metres were used as they are (`depth_mapping: metric`);
    /// `false` when the model's values were normalised by the shot-wide range
    /// ([`FrameMetadata::depth_range`]), curved and mapped to `near_m..far_m`, linear in 1/d.
    pub metric_as_is: bool,
    /// Distance in metres given to the nearest depth of the shot.
    pub near_m: f32,
    /// Distance in metres given to the farthest depth of the shot.
    pub far_m: f32,
    /// The exponent applied to the normalised nearness before it became metres.
    pub curve: f32,
}

/// How a source file's path is recorded in an export's header: by default relative to
/// `export_dir` (the folder holding the export), with `/` between its parts, so that a file
/// sent elsewhere names no folder of the sender's; absolute when `absolute` is set, or when no
/// relative path leads there (another drive). Both paths are made absolute first (symlinks
/// resolved where the path exists).
pub fn recorded_source(source: &Path, export_dir: &Path, absolute: bool) -> PathBuf {
    let source = absolute_path(source);
    if absolute {
        return source;
    }
    let base = absolute_path(export_dir);
    let (source_parts, base_parts): (Vec<_>, Vec<_>) =
        (source.components().collect(), base.components().collect());
    // Paths on different roots (Windows drives) have no relative form.
    if source_parts.first() != base_parts.first() {
        return source;
    }
    let common = source_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); base_parts.len() - common];
    parts.extend(
        source_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    PathBuf::from(parts.join("/"))
}

/// `path` made absolute: canonical where it exists, else joined to the current folder with `.`
/// and `..` resolved by name.
fn absolute_path(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let joined = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Why an export failed. Every message names the file and the problem.
///
/// The underlying error's text is part of the message (rather than a separate `source()`), so
/// that printing the error once tells the whole story without repeating itself.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Creating, writing, syncing or renaming the file failed.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        /// The destination file.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// Opening or reading the file failed.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file being read.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// The OpenEXR encoder rejected the image or failed while writing it.
    #[error("cannot write OpenEXR {}: {error}", path.display())]
    ExrWrite {
        /// The destination file.
        path: PathBuf,
        /// What the `exr` crate said.
        error: ::exr::error::Error,
    },
    /// The file is missing, unreadable or not a valid OpenEXR header.
    #[error("cannot read the OpenEXR header of {}: {error}", path.display())]
    ExrRead {
        /// The file being read.
        path: PathBuf,
        /// What the `exr` crate said.
        error: ::exr::error::Error,
    },
    /// The PNG encoder failed.
    #[error("cannot write PNG {}: {error}", path.display())]
    Png {
        /// The destination file.
        path: PathBuf,
        /// What the `png` crate said.
        error: ::png::EncodingError,
    },
    /// A depth map or matte does not have the plate's size.
    #[error(
        "cannot write {}: the {what} is {}x{} pixels but the plate is {}x{}",
        path.display(),
        found.0,
        found.1,
        plate.0,
        plate.1
    )]
    SizeMismatch {
        /// The destination file.
        path: PathBuf,
        /// Which pass, e.g. `depth map` or `matte "fg"`.
        what: String,
        /// The pass's width and height.
        found: (u32, u32),
        /// The plate's width and height.
        plate: (u32, u32),
    },
    /// The data handed to a writer cannot be exported as it is (e.g. a bad matte name).
    #[error("cannot write {}: {problem}", path.display())]
    InvalidInput {
        /// The destination file.
        path: PathBuf,
        /// What is wrong, in plain words.
        problem: String,
    },
    /// The sidecar is not valid JSON or does not match the sidecar format.
    #[error("cannot read sidecar {}: {error}", path.display())]
    SidecarParse {
        /// The sidecar file.
        path: PathBuf,
        /// What serde said, with the line and column.
        error: serde_json::Error,
    },
    /// The sidecar was written by a newer Mattebox with a format this build does not know.
    #[error(
        "cannot read sidecar {}: it has format version {found}, but this Mattebox reads up to \
         version {supported}; upgrade Mattebox",
        path.display()
    )]
    SidecarVersion {
        /// The sidecar file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
}

impl ExportError {
    /// A write error for `path`.
    pub fn write(path: &Path, error: io::Error) -> Self {
        ExportError::Write {
            path: path.to_path_buf(),
            error,
        }
    }

    /// A read error for `path`.
    pub fn read(path: &Path, error: io::Error) -> Self {
        ExportError::Read {
            path: path.to_path_buf(),
            error,
        }
    }

    /// An invalid-input error for `path`.
    pub fn invalid(path: &Path, problem: impl Into<String>) -> Self {
        ExportError::InvalidInput {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            ExportError::Write { path, .. }
            | ExportError::Read { path, .. }
            | ExportError::ExrWrite { path, .. }
            | ExportError::ExrRead { path, .. }
            | ExportError::Png { path, .. }
            | ExportError::SizeMismatch { path, .. }
            | ExportError::InvalidInput { path, .. }
            | ExportError::SidecarParse { path, .. }
            | ExportError::SidecarVersion { path, .. } => path,
        }
    }
}

/// Checks that a pass of `found` size matches the plate, for the file at `path`.
pub(crate) fn check_size(
    path: &Path,
    what: impl FnOnce() -> String,
    found: (u32, u32),
    plate: (u32, u32),
) -> Result<(), ExportError> {
    if found == plate {
        Ok(())
    } else {
        Err(ExportError::SizeMismatch {
            path: path.to_path_buf(),
            what: what(),
            found,
            plate,
        })
    }
}

/// Checks that a buffer holds `channels` values per pixel for a `width` x `height` image.
pub(crate) fn check_len(
    path: &Path,
    what: &str,
    len: usize,
    width: u32,
    height: u32,
    channels: usize,
) -> Result<(), ExportError> {
    let expected = width as usize * height as usize * channels;
    if width == 0 || height == 0 {
        return Err(ExportError::invalid(
            path,
            format!("the {what} is empty ({width}x{height} pixels)"),
        ));
    }
    if len != expected {
        return Err(ExportError::invalid(
            path,
            format!(
                "the {what} holds {len} values but {width}x{height} pixels need {expected}; \
                 this is a bug in Mattebox"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_paths_are_recorded_relative_to_the_export_unless_absolute_is_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let shot = root.join("shots/sh010");
        let out = root.join("out/passes");
        std::fs::create_dir_all(&shot).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        let source = shot.join("plate.1001.exr");
        std::fs::write(&source, b"").unwrap();

        assert_eq!(
            recorded_source(&source, &out, false),
            Path::new("../../shots/sh010/plate.1001.exr")
        );
        assert_eq!(recorded_source(&source, &out, true), source);
        // Beside the file, and below it.
        assert_eq!(
            recorded_source(&source, &shot, false),
            Path::new("plate.1001.exr")
        );
        assert_eq!(
            recorded_source(&source, &root, false),
            Path::new("shots/sh010/plate.1001.exr")
        );
        // A folder that does not exist yet, and `..` in a path, are resolved by name.
        let later = root.join("out/later/../new/deep");
        assert_eq!(
            recorded_source(&source, &later, false),
            Path::new("../../../shots/sh010/plate.1001.exr")
        );
    }
}
