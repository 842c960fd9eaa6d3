//! ONNX Runtime: finding and loading the runtime library, choosing execution providers, the model
//! manifest (TOML), and running a model on a plate with its family's pre- and post-processing.
//!
//! Sessions are built once per model and reused for every frame of a shot.

pub mod add;
pub mod fetch;
pub mod inspect;
pub mod manifest;
pub mod model;
pub mod runtime;

use std::path::{Path, PathBuf};

pub use manifest::{Manifest, ModelEntry, OutputSemantics, Task};
pub use model::{Model, RawOutput};
pub use runtime::{Device, Runtime, RuntimeOptions};

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// No ONNX Runtime library was found in any of the documented places.
    #[error(
        "ONNX Runtime library not found. Looked in:\n{searched}\nInstall it with `bash scripts/setup.sh` \
         (it fetches libonnxruntime.so from the PyPI `onnxruntime` wheel into vendor/onnxruntime/), \
         or point ORT_DYLIB_PATH (or --ort-lib) at a libonnxruntime.so of version 1.22 or newer"
    )]
    RuntimeMissing {
        /// The places searched, one per line.
        searched: String,
    },
    /// The library was found but could not be loaded.
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    RuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `--require-gpu` or `--device cuda` was given and no GPU provider could be used.
    #[error("GPU required but not available: {reason}")]
    GpuUnavailable {
        /// Why CUDA could not be used.
        reason: String,
    },
    /// A manifest file could not be read or parsed.
    #[error("model manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong, with the line where known.
        reason: String,
    },
    /// No manifest entry has this id.
    #[error("no model named `{id}` in the manifest (known: {known})")]
    UnknownModel {
        /// The id asked for.
        id: String,
        /// The ids that exist.
        known: String,
    },
    /// A model was asked to do a task it is not for.
    #[error("model `{id}` is a {actual} model, not a {wanted} model")]
    WrongTask {
        /// The model id.
        id: String,
        /// What the manifest says it does.
        actual: String,
        /// What it was asked to do.
        wanted: String,
    },
    /// The model file is not there.
    #[error(
        "model file {path} is missing (model `{id}`); run `bash scripts/setup.sh` to fetch the bundled models, or put your own export there"
    )]
    ModelMissing {
        /// The model id.
        id: String,
        /// The expected file.
        path: PathBuf,
    },
    /// The model file's hash differs from the manifest's.
    #[error(
        "model file {path} has SHA-256 {actual}, but the manifest expects {expected}; the file is corrupt or a different model: delete it and run `bash scripts/setup.sh`"
    )]
    HashMismatch {
        /// The model file.
        path: PathBuf,
        /// The manifest's hash.
        expected: String,
        /// The file's hash.
        actual: String,
    },
    /// The model file's hash differs from the one recorded when it was first fetched.
    #[error(
        "model file {path} has SHA-256 {actual}, but {recorded} was recorded in {sidecar} when it was fetched; the file has changed since: fetch it again with `mattebox models fetch`, or delete {sidecar} if you replaced it on purpose"
    )]
    RecordedHashMismatch {
        /// The model file.
        path: PathBuf,
        /// The `<file>.sha256` record.
        sidecar: PathBuf,
        /// The recorded hash.
        recorded: String,
        /// The file's hash.
        actual: String,
    },
    /// A download's hash differs from the manifest's.
    #[error(
        "the download of {url} for {path} has SHA-256 {actual}, but the manifest expects {expected}; the partial file was deleted"
    )]
    DownloadHashMismatch {
        /// The URL.
        url: String,
        /// The model file it was for.
        path: PathBuf,
        /// The manifest's hash.
        expected: String,
        /// The download's hash.
        actual: String,
    },
    /// A download failed (or was cut off; a rerun resumes it).
    #[error("downloading {url} to {path}: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `models fetch` on an entry that needs something first (a URL, the licence accepted).
    #[error("cannot fetch model `{id}`: {reason}")]
    Fetch {
        /// The model id.
        id: String,
        /// Why.
        reason: String,
    },
    /// `models add` could not add a model file.
    #[error("cannot add {path}: {reason}")]
    Add {
        /// The `.onnx` file (or the entry written for it).
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing a file failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The model's graph does not have the inputs or outputs the manifest describes.
    #[error("model file {path} does not match its manifest entry `{id}`: {reason}")]
    Signature {
        /// The model id.
        id: String,
        /// The model file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// ONNX Runtime reported an error.
    #[error("ONNX Runtime error for {path} while {during}: {reason}")]
    Ort {
        /// The model file involved.
        path: PathBuf,
        /// What was being done.
        during: &'static str,
        /// ONNX Runtime's message.
        reason: String,
    },
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The documented search order for the runtime library and the models folder: an explicit path,
/// then the environment variable `env_var`, then `beside_exe` paths next to the executable, then
/// `in_project` inside the source tree (where `scripts/setup.sh` puts things).
pub(crate) fn search_order(
    explicit: Option<&Path>,
    env_var: &str,
    beside_exe: &[&str],
    in_project: &str,
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = explicit.map(Path::to_path_buf).into_iter().collect();
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.extend(beside_exe.iter().map(|rel| dir.join(rel)));
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(in_project));
    out
}
