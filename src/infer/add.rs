//! Adding a model the user brings (`mattebox models add FILE.onnx`, Passes ▸ Add model…): its
//! graph inspected and recognised ([`super::inspect`]), the file copied into the models folder,
//! its SHA-256 pinned, a check run on a sample frame through the normal [`Model::run`] path, and
//! only then the entry written as `<id>.toml` (atomically, never over an existing one without
//! `force`). A graph of no known family gets `<id>.toml.template` instead.

use std::path::{Path, PathBuf};

use super::inspect::{self, Family, GraphInfo};
use super::manifest::{Manifest, ModelEntry, Task, sha256_hex};
use super::model::Model;
use super::runtime::Runtime;
use super::{InferError, RawOutput};
use crate::shot::Plate;

/// How to add a model.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// The entry's id (default: made from the file name).
    pub id: Option<String>,
    /// The task the user says the model does; must agree with a recognised family's.
    pub task: Option<Task>,
    /// Inspect and check only: copy and write nothing.
    pub dry_run: bool,
    /// Replace an existing entry of this id, and a different file of this name.
    pub force: bool,
    /// The frame the check runs on (default: the sample shot's first frame, else a test card).
    pub sample: Option<PathBuf>,
}

/// What the check run gave.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRun {
    /// The frame it ran on (`None`: the built-in test card).
    pub sample: Option<PathBuf>,
    /// The output's width and height, at the model's resolution.
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// The smallest output value, after post-processing.
    pub min: f32,
    /// The largest output value.
    pub max: f32,
    /// The execution provider it ran on.
    pub provider: &'static str,
}

/// What `add_model` did.
#[derive(Debug, Clone)]
pub enum AddOutcome {
    /// A recognised family: the entry, checked (and unless a dry run, written).
    Added {
        /// The family recognised.
        family: Family,
        /// The entry.
        entry: Box<ModelEntry>,
        /// The manifest file written (`None` for a dry run).
        written: Option<PathBuf>,
        /// The entry's text.
        text: String,
        /// The check run.
        check: CheckRun,
    },
    /// No known family: a template to fill in.
    Unknown {
        /// The graph's signature.
        graph: GraphInfo,
        /// The template written (`None` for a dry run).
        written: Option<PathBuf>,
        /// The template's text.
        text: String,
    },
}

/// The default frame of the check run.
pub fn default_sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample_shot/astronaut.1001.png")
}

fn write_text(path: &Path, text: &str) -> Result<(), InferError> {
    crate::export::atomic::write_atomic(path, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
            .map_err(|e| crate::export::ExportError::write(path, e))
    })
    .map_err(|e| InferError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// A 320×240 test card (a lit disc on a darker gradient), for the check run when no sample
/// frame is at hand.
fn test_card() -> Plate {
    let (w, h) = (320u32, 240u32);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - 160.0, y as f32 - 120.0);
            let disc = if dx * dx + dy * dy < 70.0 * 70.0 {
                0.6
            } else {
                0.0
            };
            let v = 0.05 + 0.2 * y as f32 / h as f32 + disc;
            rgba.extend_from_slice(&[v, v * 0.9, v * 0.8, 1.0]);
        }
    }
    Plate {
        width: w,
        height: h,
        rgba,
        source_bits: 32,
    }
}

/// Loads `entry` from `models_dir` and runs it once on the sample frame.
pub fn check_run(
    runtime: &Runtime,
    entry: &ModelEntry,
    models_dir: &Path,
    sample: Option<&Path>,
) -> Result<CheckRun, InferError> {
    let default = default_sample();
    let sample = sample
        .map(Path::to_path_buf)
        .or_else(|| default.is_file().then_some(default));
    let plate = match &sample {
        Some(path) => {
            crate::shot::decode::decode(path, &Default::default()).map_err(|e| InferError::Add {
                path: path.clone(),
                reason: format!("the sample frame cannot be read: {e}"),
            })?
        }
        None => test_card(),
    };
    let mut model = Model::load(runtime, entry, models_dir)?;
    let RawOutput {
        width,
        height,
        values,
    } = model.run(&plate)?;
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(InferError::Add {
            path: model.path.clone(),
            reason: format!("the check run gave a non-finite value ({bad})"),
        });
    }
    let (min, max) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    Ok(CheckRun {
        sample,
        width,
        height,
        min,
        max,
        provider: model.provider.name(),
    })
}

/// Adds the model file `source` to `manifest`'s models folder (see the module's doc).
pub fn add_model(
    runtime: &Runtime,
    manifest: &Manifest,
    source: &Path,
    options: &AddOptions,
) -> Result<AddOutcome, InferError> {
    let add_err = |path: &Path, reason: String| InferError::Add {
        path: path.to_path_buf(),
        reason,
    };
    if !source.is_file() {
        return Err(add_err(source, "no such file".into()));
    }
    if !source
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
    {
        return Err(add_err(source, "not an .onnx file".into()));
    }
    let models_dir = &manifest.models_dir;
    let id = options
        .id
        .clone()
        .unwrap_or_else(|| inspect::id_from_file(source));
    let toml_path = models_dir.join(format!("{id}.toml"));
    if !options.force {
        if let Some(existing) = manifest.models.iter().find(|m| m.id == id) {
            return Err(add_err(
                source,
                format!(
                    "the manifest already has a model `{}` ({}); choose another id with --id, or pass --force to replace it",
                    existing.id,
                    existing.file.display()
                ),
            ));
        }
        if toml_path.exists() {
            return Err(add_err(
                source,
                format!(
                    "{} exists already; pass --force to replace it",
                    toml_path.display()
                ),
            ));
        }
    }
    let graph = inspect::inspect(runtime, source)?;
    let Some(family) = inspect::recognise(&graph) else {
        let text = inspect::template(&graph, &id, source, options.task);
        let written = if options.dry_run {
            None
        } else {
            std::fs::create_dir_all(models_dir).map_err(|e| InferError::Write {
                path: models_dir.clone(),
                reason: e.to_string(),
            })?;
            let path = models_dir.join(format!("{id}.toml.template"));
            write_text(&path, &text)?;
            Some(path)
        };
        return Ok(AddOutcome::Unknown {
            graph,
            written,
            text,
        });
    };
    if let Some(task) = options.task
        && task != family.task()
    {
        return Err(add_err(
            source,
            format!(
                "its graph is a {} ({} model), not a {} model",
                family.name(),
                family.task().as_str(),
                task.as_str()
            ),
        ));
    }
    let bytes = std::fs::read(source).map_err(|e| InferError::Io {
        path: source.to_path_buf(),
        source: e,
    })?;
    let sha256 = sha256_hex(&bytes);
    let Some(file_name) = source.file_name().map(PathBuf::from) else {
        return Err(add_err(source, "the path has no file name".into()));
    };
    let dest = models_dir.join(&file_name);
    let same_file = match (source.canonicalize(), dest.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let already_there = same_file
        || std::fs::read(&dest)
            .map(|b| sha256_hex(&b) == sha256)
            .unwrap_or(false);
    if dest.exists() && !already_there && !options.force {
        return Err(add_err(
            source,
            format!(
                "{} exists and is a different file; rename yours or pass --force to replace it",
                dest.display()
            ),
        ));
    }
    let file = if options.dry_run && !already_there {
        source.canonicalize().map_err(|e| InferError::Io {
            path: source.to_path_buf(),
            source: e,
        })?
    } else {
        file_name
    };
    let mut entry = inspect::propose(&graph, family, &id, file);
    entry.sha256 = Some(sha256);
    entry.source = Some(format!(
        "added with `mattebox models add` from {}",
        source.display()
    ));
    let header = format!(
        "Written by `mattebox models add` from {}: recognised as {}.\n\
         Check the licence, and the fields against the model's reference pipeline (see models/manifest.toml).",
        source.display(),
        family.name()
    );
    let text = inspect::entry_toml(&entry, &header)?;
    if options.dry_run {
        let check = check_run(runtime, &entry, models_dir, options.sample.as_deref())?;
        return Ok(AddOutcome::Added {
            family,
            entry: Box::new(entry),
            written: None,
            text,
            check,
        });
    }
    std::fs::create_dir_all(models_dir).map_err(|e| InferError::Write {
        path: models_dir.clone(),
        reason: e.to_string(),
    })?;
    let copied = !already_there;
    if copied {
        crate::export::atomic::write_atomic(&dest, |w| {
            use std::io::Write;
            w.write_all(&bytes)
                .map_err(|e| crate::export::ExportError::write(&dest, e))
        })
        .map_err(|e| InferError::Write {
            path: dest.clone(),
            reason: e.to_string(),
        })?;
    }
    let check = match check_run(runtime, &entry, models_dir, options.sample.as_deref()) {
        Ok(check) => check,
        Err(e) => {
            if copied {
                let _ = std::fs::remove_file(&dest);
            }
            return Err(add_err(
                source,
                format!("the check run failed, so no entry was written: {e}"),
            ));
        }
    };
    write_text(&toml_path, &text)?;
    Ok(AddOutcome::Added {
        family,
        entry: Box::new(entry),
        written: Some(toml_path),
        text,
        check,
    })
}
