//! The headless process job: a shot's frames through the depth and matte models to layered
//! exports, as a pipeline that overlaps decoding and writing with inference.
//!
//! ```text
//!  decode workers ──▶ inference thread ──▶ export workers ──▶ events (progress, errors)
//!  hash, stamp check,  sessions reused,     guided upsample,
//!  cache lookup,       cache store          EXR / PNG, stamp
//!  decode, resize
//! ```
//!
//! A frame that fails (corrupt file, full disk, …) is reported and the others go on. Each frame's
//! outputs are written atomically, then a small stamp in `<out>/.mattebox/` records what made
//! them; a rerun skips frames whose outputs are all present and whose stamp matches. The shot's
//! sidecar (`mattebox.json`) is rebuilt from the stamps at the end, so farm chunks writing to one
//! folder all end up in it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crossbeam_channel::{bounded, unbounded};
use serde::{Deserialize, Serialize};

use crate::export::{
    self, ExportError, ExrCompression, FrameMetadata, FrameStatus, PassStamp, ShotSidecar,
    SidecarFrame,
};
use crate::infer::model::{ModelInput, ModelPlate};
use crate::infer::{InferError, Model, RawOutput};
use crate::passes::cache::{PassCache, hash_file};
use crate::passes::temporal::{self, Guide, TemporalSettings};
use crate::passes::upsample::guide_from_luminance;
use crate::passes::{self, DepthRange, DepthSemantics};
use crate::shot::decode::DecodeLimits;
use crate::shot::{ColourSpace, Frame, FrameRange, Plate, PlateColour, Shot, load_plate};

/// The name of the matte the matte model writes (`matte_fg.A` in EXRs).
pub const MATTE_NAME: &str = "fg";
/// The folder under the output folder that holds per-frame stamps.
pub const STAMP_DIR: &str = ".mattebox";

/// Which file formats to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Formats {
    /// One multi-layer OpenEXR per frame.
    pub exr: bool,
    /// PNG passes per frame: plate, 16-bit depth, 16-bit matte, RGBA cut-out.
    pub png: bool,
}

impl Default for Formats {
    fn default() -> Self {
        Formats {
            exr: true,
            png: false,
        }
    }
}

impl FromStr for Formats {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut f = Formats {
            exr: false,
            png: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "exr" => f.exr = true,
                "png" => f.png = true,
                other => return Err(format!("unknown format `{other}`: use exr, png or exr,png")),
            }
        }
        if !f.exr && !f.png {
            return Err("no format given: use exr, png or exr,png".to_string());
        }
        Ok(f)
    }
}

/// The models that make a shot's passes, each loaded once.
#[derive(Debug, Default)]
pub struct PassModels {
    /// The depth model, if the depth pass is wanted.
    pub depth: Option<Model>,
    /// The matte model, if the matte pass is wanted.
    pub matte: Option<Model>,
}

impl PassModels {
    /// Loads the depth and matte models named by manifest id; `none` (any case) skips a pass.
    pub fn load(
        runtime: &crate::infer::Runtime,
        manifest: &crate::infer::Manifest,
        depth: &str,
        matte: &str,
    ) -> Result<PassModels, InferError> {
        let load = |id: &str, task| -> Result<Option<Model>, InferError> {
            if id.eq_ignore_ascii_case("none") {
                return Ok(None);
            }
            let entry = manifest.get(id, task)?;
            Model::load(runtime, entry, &manifest.models_dir).map(Some)
        };
        Ok(PassModels {
            depth: load(depth, crate::infer::Task::Depth)?,
            matte: load(matte, crate::infer::Task::Matte)?,
        })
    }

    /// The execution provider(s) in use, as recorded in exports.
    pub fn provider_label(&self) -> String {
        let mut names: Vec<&str> = [&self.depth, &self.matte]
            .iter()
            .filter_map(|m| m.as_ref().map(|m| m.provider.name()))
            .collect();
        names.dedup();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    }

    fn depth_semantics(&self) -> Option<DepthSemantics> {
        self.depth
            .as_ref()
            .and_then(|m| m.entry.output.semantics.depth())
    }

    fn stamp(model: &Model, pass: &str) -> PassStamp {
        PassStamp {
            pass: pass.to_string(),
            model_id: model.entry.id.clone(),
            model_sha256: model.sha256.clone(),
            licence: model.entry.licence.clone(),
            semantics: model.entry.output.semantics.depth(),
        }
    }
}

/// How to process a shot.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// Where the exports go.
    pub out_dir: PathBuf,
    /// Only frames whose numbers are in this range.
    pub range: Option<FrameRange>,
    /// Which formats to write.
    pub formats: Formats,
    /// EXR compression.
    pub exr_compression: ExrCompression,
    /// Worker threads for decoding and for exporting (each).
    pub jobs: usize,
    /// The pass cache; `None` ignores it (benchmarks).
    pub cache: Option<PassCache>,
    /// Limits against decompression bombs.
    pub limits: DecodeLimits,
    /// Redo frames whose outputs are already complete and current.
    pub force: bool,
    /// Allow the output folder to be the input folder or inside it.
    pub allow_inside_input: bool,
    /// How many frames, spread over the whole shot, set the shot-wide depth range.
    pub depth_range_samples: usize,
    /// Record source paths as absolute paths; by default they are relative to the output
    /// folder (`export::recorded_source`).
    pub absolute_paths: bool,
    /// The shot's frame rate, recorded as the EXRs' `framesPerSecond`; `None` leaves it out.
    pub fps: Option<f32>,
    /// A shot-wide depth range locked beforehand ([`DepthLock`], e.g. by a farm's first job):
    /// used as it is instead of sampling the shot, so no chunk computes its own.
    pub depth_lock: Option<DepthLock>,
    /// The shot's input colour space and the working space the plates are converted to
    /// (default: by file type, linear Rec.709).
    pub colour: PlateColour,
    /// The temporal filter for sequences (`passes::temporal`; on by default), `None` for the
    /// models' per-frame results as they are. A range (`range`) then also reads up to the
    /// filter's radius of frames on each side of it, so chunks equal one whole run.
    pub temporal: Option<TemporalSettings>,
}

impl ProcessOptions {
    /// Defaults for an output folder.
    pub fn new(out_dir: impl Into<PathBuf>) -> ProcessOptions {
        ProcessOptions {
            out_dir: out_dir.into(),
            range: None,
            formats: Formats::default(),
            exr_compression: ExrCompression::default(),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            cache: Some(PassCache::new(passes::cache::default_cache_dir())),
            limits: DecodeLimits::default(),
            force: false,
            allow_inside_input: false,
            depth_range_samples: 16,
            absolute_paths: false,
            fps: None,
            depth_lock: None,
            colour: PlateColour::default(),
            temporal: Some(TemporalSettings::default()),
        }
    }
}

/// Progress reported while a shot processes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Work is about to start on `total` frames.
    Started {
        /// Frames selected.
        total: usize,
    },
    /// A note for the user (e.g. mixed frame sizes, a cache that could not be written).
    Warning(String),
    /// A frame was written.
    FrameDone {
        /// The frame's file name.
        label: String,
        /// Seconds from its decode to its last write.
        seconds: f64,
    },
    /// A frame's outputs were already complete and current.
    FrameSkipped {
        /// The frame's file name.
        label: String,
    },
    /// A frame failed; the others go on.
    FrameFailed {
        /// The frame's file name.
        label: String,
        /// Why, naming the file.
        error: String,
    },
}

/// One failed frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameFailure {
    /// The source file.
    pub source: PathBuf,
    /// Why it failed.
    pub error: String,
}

/// Where the time went, summed over frames (stages overlap, so these add up to more than wall).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Wall-clock seconds for the whole job.
    pub wall_s: f64,
    /// Seconds inside the models' `run` calls.
    pub inference_s: f64,
    /// Seconds hashing, decoding and resizing for the models.
    pub decode_s: f64,
    /// Seconds upsampling and writing files.
    pub export_s: f64,
    /// Model runs answered by the cache.
    pub cache_hits: usize,
    /// Model runs actually executed.
    pub model_runs: usize,
}

/// What a process job did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The output folder.
    pub out_dir: PathBuf,
    /// The shot's sidecar.
    pub sidecar: PathBuf,
    /// Frames selected.
    pub total: usize,
    /// Frames written.
    pub done: usize,
    /// Frames already complete and current.
    pub skipped: usize,
    /// Frames that failed.
    pub failed: Vec<FrameFailure>,
    /// Whether the job was cancelled before the end.
    pub cancelled: bool,
    /// The shot-wide depth display range.
    pub depth_range: Option<DepthRange>,
    /// The execution provider(s) used.
    pub execution_provider: String,
    /// Where the time went.
    pub timings: Timings,
}

/// Errors that stop a whole job before any frame is written (per-frame errors never do).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The output folder is the input folder or inside it.
    #[error(
        "the output folder {out} is inside the input folder {input}; Mattebox never writes into a shot's folder unless asked (pass --allow-inside-input)"
    )]
    OutputInsideInput {
        /// The output folder.
        out: PathBuf,
        /// The input folder.
        input: PathBuf,
    },
    /// The output folder cannot be created or written.
    #[error("cannot write to the output folder {path}: {source}")]
    OutputNotWritable {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No frame is in the range asked for.
    #[error("no frame of {source_path} is in the range {range}")]
    EmptySelection {
        /// The shot.
        source_path: PathBuf,
        /// The range.
        range: FrameRange,
    },
    /// Neither a depth nor a matte model was given.
    #[error("nothing to do: both the depth and the matte pass are off")]
    NoPasses,
    /// A locked depth range cannot be read, or was locked for another model or shot.
    #[error("the locked depth range {}: {reason}", path.display())]
    DepthLock {
        /// The lock file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The locked depth range was made for another depth model or shot.
    #[error("the locked depth range does not fit this run: {reason}")]
    DepthLockMismatch {
        /// What differs.
        reason: String,
    },
}

/// A frame's outputs and the key of what made them, stored in `<out>/.mattebox/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FrameStamp {
    key: String,
    frame: SidecarFrame,
}

/// What the pipeline does with one frame of the run's list.
enum Plan {
    /// Nothing: its outputs are current and no frame around it needs it (a selected frame is
    /// reported as skipped).
    Skip { selected: bool },
    /// It cannot be read (a selected frame is reported as failed).
    Fail { selected: bool, error: String },
    /// Decoded and run through the models: exported when `export`, else only read by its
    /// neighbours' temporal filter (a selected frame that is current is reported as skipped).
    Decode {
        selected: bool,
        export: bool,
        hash: String,
        /// Its stamp's key: the settings' key and, with the temporal filter, the hashes of the
        /// frames it blends with.
        key: String,
    },
}

impl Plan {
    fn decoded(&self) -> bool {
        matches!(self, Plan::Decode { .. })
    }
}

struct Decoded {
    index: usize,
    started: Instant,
    hash: String,
    key: String,
    export: bool,
    plate: Plate,
    /// The plate's luminance in the working space: the upsampling's and the filter's guide.
    luma: Vec<f32>,
    depth: Option<RawOutput>,
    matte: Option<RawOutput>,
    depth_input: Option<ModelInput>,
    matte_input: Option<ModelInput>,
}

struct Inferred {
    index: usize,
    started: Instant,
    hash: String,
    key: String,
    export: bool,
    plate: Plate,
    luma: Vec<f32>,
    depth: Option<RawOutput>,
    matte: Option<RawOutput>,
}

/// Shared state of one run.
struct Run<'a> {
    /// The frames read: those selected and, with the temporal filter, up to its radius more on
    /// each side, in the shot's order.
    frames: Vec<&'a Frame>,
    /// What to do with each of `frames`.
    plan: Vec<Plan>,
    /// Frames selected.
    selected: usize,
    /// The temporal filter, when it is on and has a radius.
    temporal: Option<TemporalSettings>,
    options: &'a ProcessOptions,
    settings_key: String,
    depth_key: Option<String>,
    matte_key: Option<String>,
    depth_entry: Option<crate::infer::ModelEntry>,
    matte_entry: Option<crate::infer::ModelEntry>,
    depth_semantics: Option<DepthSemantics>,
    depth_range: Option<DepthRange>,
    metadata_template: FrameMetadata,
    /// Depth results computed while sampling the range, reused by frame hash.
    sampled: Mutex<HashMap<String, RawOutput>>,
    cancel: &'a AtomicBool,
    decode_ns: AtomicU64,
    export_ns: AtomicU64,
    cache_hits: AtomicUsize,
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn elapsed_ns(t: Instant) -> u64 {
    t.elapsed().as_nanos().min(u64::MAX as u128) as u64
}

/// Runs `shot` through `models` and writes the exports; see the module docs.
///
/// `on_event` is called on the calling thread. Setting `cancel` stops the job after the frames
/// in flight; the summary then says `cancelled`.
pub fn process_shot(
    shot: &Shot,
    models: &mut PassModels,
    options: &ProcessOptions,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> Result<Summary, ProcessError> {
    let wall = Instant::now();
    if models.depth.is_none() && models.matte.is_none() {
        return Err(ProcessError::NoPasses);
    }
    check_output_folder(shot, options)?;

    let picked: Vec<usize> = shot
        .frames
        .iter()
        .enumerate()
        .filter(|(_, f)| match (options.range, f.number) {
            (None, _) => true,
            (Some(r), Some(n)) => r.contains(n),
            (Some(_), None) => false,
        })
        .map(|(i, _)| i)
        .collect();
    let frames: Vec<&Frame> = picked.iter().map(|&i| &shot.frames[i]).collect();
    if let (Some(range), true) = (options.range, frames.is_empty()) {
        return Err(ProcessError::EmptySelection {
            source_path: shot.source.clone(),
            range,
        });
    }
    on_event(Event::Started {
        total: frames.len(),
    });
    report_mixed_sizes(&frames, options, on_event);

    // The temporal filter reads `radius` frames beyond each end of the selection.
    let temporal = options
        .temporal
        .map(TemporalSettings::clamped)
        .filter(|t| t.radius > 0 && shot.frames.len() > 1);
    let radius = temporal.map_or(0, |t| t.radius as usize);
    let (lo, hi) = match (picked.first(), picked.last()) {
        (Some(&a), Some(&b)) => (
            a.saturating_sub(radius),
            (b + radius).min(shot.frames.len() - 1),
        ),
        _ => (0, 0),
    };
    let selected_count = frames.len();
    let (listed, selected): (Vec<&Frame>, Vec<bool>) = if radius == 0 || picked.is_empty() {
        (frames, vec![true; selected_count])
    } else {
        let mut selected = vec![false; hi + 1 - lo];
        for &i in &picked {
            selected[i - lo] = true;
        }
        (shot.frames[lo..=hi].iter().collect(), selected)
    };
    let hashes: Vec<Result<String, String>> = {
        use rayon::prelude::*;
        listed
            .par_iter()
            .map(|f| {
                hash_file(&f.path).map_err(|e| format!("cannot read {}: {e}", f.path.display()))
            })
            .collect()
    };

    let mut run = Run {
        frames: listed,
        plan: Vec::new(),
        selected: selected_count,
        temporal,
        options,
        settings_key: String::new(),
        depth_key: models.depth.as_ref().map(|m| model_key(m, &options.colour)),
        matte_key: models.matte.as_ref().map(|m| model_key(m, &options.colour)),
        depth_entry: models.depth.as_ref().map(|m| m.entry.clone()),
        matte_entry: models.matte.as_ref().map(|m| m.entry.clone()),
        depth_semantics: models.depth_semantics(),
        depth_range: None,
        metadata_template: FrameMetadata {
            software: crate::SOFTWARE.to_string(),
            source: PathBuf::new(),
            frame: None,
            execution_provider: models.provider_label(),
            depth: models.depth.as_ref().map(|m| PassModels::stamp(m, "depth")),
            depth_range: None,
            mattes: models
                .matte
                .as_ref()
                .map(|m| vec![PassModels::stamp(m, MATTE_NAME)])
                .unwrap_or_default(),
            fps: options.fps,
            scene_depth: None,
            working_space: options.colour.working,
            input_space: None,
            temporal: temporal.map(|t| t.describe()),
        },
        sampled: Mutex::new(HashMap::new()),
        cancel,
        decode_ns: AtomicU64::new(0),
        export_ns: AtomicU64::new(0),
        cache_hits: AtomicUsize::new(0),
    };

    let mut inference_ns = 0u64;
    let mut model_runs = 0usize;
    if let Some(depth_model) = models.depth.as_mut() {
        if let Some(lock) = &options.depth_lock {
            lock.check(shot, depth_model, options)?;
            run.depth_range = lock.depth_range;
        } else {
            let sampled = &run.sampled;
            let sample = sample_depth(
                shot,
                depth_model,
                options,
                cancel,
                on_event,
                &mut |h, raw| {
                    if let Ok(mut m) = sampled.lock() {
                        m.insert(h, raw);
                    }
                },
            );
            run.depth_range = sample.range;
            run.cache_hits
                .fetch_add(sample.cache_hits, Ordering::Relaxed);
            inference_ns += sample.inference_ns;
            model_runs += sample.model_runs;
        }
    }
    run.metadata_template.depth_range = run.depth_range;
    run.settings_key = settings_key(&run);
    run.plan = make_plan(&run, &selected, hashes);

    let (done, skipped, failed, ns, runs) = pipeline(&run, models, on_event);
    inference_ns += ns;
    model_runs += runs;

    let sidecar = write_shot_sidecar(shot, &run, &failed, on_event);
    Ok(Summary {
        out_dir: options.out_dir.clone(),
        sidecar,
        total: run.selected,
        done,
        skipped,
        failed,
        cancelled: cancel.load(Ordering::Relaxed),
        depth_range: run.depth_range,
        execution_provider: run.metadata_template.execution_provider.clone(),
        timings: Timings {
            wall_s: wall.elapsed().as_secs_f64(),
            inference_s: secs(inference_ns),
            decode_s: secs(run.decode_ns.load(Ordering::Relaxed)),
            export_s: secs(run.export_ns.load(Ordering::Relaxed)),
            cache_hits: run.cache_hits.load(Ordering::Relaxed),
            model_runs,
        },
    })
}

/// A path made absolute through its nearest existing ancestor, so a folder that does not exist
/// yet can still be compared with another (symlinks in the existing part are resolved).
fn resolve(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            return rest
                .iter()
                .rev()
                .fold(c, |acc: PathBuf, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

fn check_output_folder(shot: &Shot, options: &ProcessOptions) -> Result<(), ProcessError> {
    let out = &options.out_dir;
    // Checked before anything is created, so a refused run leaves the input folder untouched.
    // A folder shot owns its whole folder; a still or a sequence pattern owns only its own
    // folder's level (an `out/` beside the frames is fine).
    if !options.allow_inside_input {
        let (input_dir, whole_tree) = if shot.source.is_dir() {
            (Some(shot.source.clone()), true)
        } else {
            let dir = shot
                .frames
                .first()
                .and_then(|f| f.path.parent().map(Path::to_path_buf));
            (dir, false)
        };
        if let Some(input) = input_dir {
            let (input, out_r) = (resolve(&input), resolve(out));
            if out_r == input || (whole_tree && out_r.starts_with(&input)) {
                return Err(ProcessError::OutputInsideInput {
                    out: out.clone(),
                    input,
                });
            }
        }
    }
    let not_writable = |source| ProcessError::OutputNotWritable {
        path: out.clone(),
        source,
    };
    std::fs::create_dir_all(out.join(STAMP_DIR)).map_err(not_writable)?;
    // Probe: a read-only or full folder fails here, before any work is done.
    tempfile::Builder::new()
        .prefix(".write-probe")
        .tempfile_in(out)
        .map_err(not_writable)?;
    Ok(())
}

fn report_mixed_sizes(
    frames: &[&Frame],
    options: &ProcessOptions,
    on_event: &mut dyn FnMut(Event),
) {
    let odd = crate::shot::mixed_sizes(frames.iter().copied(), &options.limits);
    let Some(first) = odd.first() else { return };
    let (w, h) = (first.expected_width, first.expected_height);
    let shown = odd
        .iter()
        .take(5)
        .map(|m| {
            let label = m.path.file_name().map_or_else(
                || m.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            format!("{label} is {}x{}", m.width, m.height)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let more = if odd.len() > 5 {
        format!(" and {} more", odd.len() - 5)
    } else {
        String::new()
    };
    on_event(Event::Warning(format!(
        "mixed frame sizes: the first frame is {w}x{h}, but {shown}{more}; each frame is processed at its own size, none is resized"
    )));
}

/// What sampling the shot's depth found, and what it cost.
struct DepthSample {
    range: Option<DepthRange>,
    inference_ns: u64,
    model_runs: usize,
    cache_hits: usize,
}

/// Runs (or fetches from the cache) the depth model on frames spread evenly over the whole
/// shot, so every chunk of a shot (e.g. farm tasks with different --frames) gets the same range.
/// `keep` receives each sampled frame's result by the frame's hash, for reuse.
fn sample_depth(
    shot: &Shot,
    model: &mut Model,
    options: &ProcessOptions,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
    keep: &mut dyn FnMut(String, RawOutput),
) -> DepthSample {
    let depth_key = model_key(model, &options.colour);
    let semantics = model.entry.output.semantics.depth();
    let n = shot.frames.len();
    let k = options.depth_range_samples.clamp(1, n.max(1));
    let mut picks: Vec<usize> = (0..k)
        .map(|i| if k == 1 { 0 } else { i * (n - 1) / (k - 1) })
        .collect();
    picks.dedup();
    let mut samples = Vec::new();
    let mut out = DepthSample {
        range: None,
        inference_ns: 0,
        model_runs: 0,
        cache_hits: 0,
    };
    for i in picks {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let Some(frame) = shot.frames.get(i) else {
            continue;
        };
        let Ok(hash) = hash_file(&frame.path) else {
            continue;
        };
        let key = PassCache::key(&hash, &depth_key);
        let cached = options.cache.as_ref().and_then(|c| c.get(&key));
        let raw = match cached {
            Some(raw) => {
                out.cache_hits += 1;
                raw
            }
            None => {
                // A frame that fails here fails again, with its error, in the main pass.
                let Ok(plate) = load_plate(&frame.path, &options.limits, &options.colour) else {
                    continue;
                };
                let t = Instant::now();
                let Ok(raw) = model.run_in(&plate, options.colour.working) else {
                    continue;
                };
                out.inference_ns += elapsed_ns(t);
                out.model_runs += 1;
                if let Some(warning) = store(options.cache.as_ref(), &key, &raw) {
                    on_event(warning);
                }
                raw
            }
        };
        // Subsample large maps so the sort stays cheap.
        let stride = (raw.values.len() / 65_536).max(1);
        samples.extend(raw.values.iter().step_by(stride));
        keep(hash, raw);
    }
    out.range = semantics.and_then(|s| passes::depth_range_from_samples(&mut samples, s));
    out
}

/// The shot-wide depth range a process job would lock for `shot` with this depth model and
/// these options (the same frames sampled, through the same cache), for [`DepthLock`].
pub fn sample_depth_range(
    shot: &Shot,
    model: &mut Model,
    options: &ProcessOptions,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> Option<DepthRange> {
    sample_depth(shot, model, options, cancel, on_event, &mut |_, _| {}).range
}

/// The format version of [`DepthLock`] files.
pub const DEPTH_LOCK_VERSION: u32 = 1;

/// A shot-wide depth range computed once (by `mattebox farm lock-depth`) and given to every
/// chunk of the shot (`--depth-range-lock FILE`), so none samples the shot itself. It records
/// what it was computed from, and a run with another depth model or shot refuses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepthLock {
    /// [`DEPTH_LOCK_VERSION`].
    pub version: u32,
    /// The software that computed it.
    pub software: String,
    /// The shot's source, as given.
    pub source: PathBuf,
    /// How many frames the shot had.
    pub frames: usize,
    /// How many frames were sampled at most (`ProcessOptions::depth_range_samples`).
    pub samples: usize,
    /// The depth model's manifest id.
    pub depth_model: String,
    /// The depth model's cache key (file hash and processing), which must match the run's.
    pub depth_model_key: String,
    /// The locked range; `None` when no sampled frame could be read.
    pub depth_range: Option<DepthRange>,
    /// The shot's input colour space as it was sampled (`auto` or a space's name); part of
    /// `depth_model_key` too, kept here to say what differs.
    #[serde(default)]
    pub input_colour_space: Option<String>,
}

impl DepthLock {
    /// Samples `shot` with `model` as [`process_shot`] would, and records the result.
    pub fn compute(
        shot: &Shot,
        model: &mut Model,
        options: &ProcessOptions,
        cancel: &AtomicBool,
        on_event: &mut dyn FnMut(Event),
    ) -> DepthLock {
        DepthLock {
            version: DEPTH_LOCK_VERSION,
            software: crate::SOFTWARE.to_string(),
            source: shot.source.clone(),
            frames: shot.frames.len(),
            samples: options.depth_range_samples,
            depth_model: model.entry.id.clone(),
            depth_model_key: model_key(model, &options.colour),
            depth_range: sample_depth_range(shot, model, options, cancel, on_event),
            input_colour_space: Some(ColourSpace::choice_name(options.colour.input).to_string()),
        }
    }

    /// Reads a lock file.
    pub fn read(path: &Path) -> Result<DepthLock, ProcessError> {
        let fail = |reason: String| ProcessError::DepthLock {
            path: path.to_path_buf(),
            reason,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        let lock: DepthLock =
            serde_json::from_str(&text).map_err(|e| fail(format!("not a depth lock: {e}")))?;
        if lock.version > DEPTH_LOCK_VERSION {
            return Err(fail(format!(
                "written by a newer Mattebox (version {}, this build reads {DEPTH_LOCK_VERSION})",
                lock.version
            )));
        }
        Ok(lock)
    }

    /// Writes the lock file atomically.
    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        export::write_atomic(path, |w| {
            serde_json::to_writer_pretty(&mut *w, self)
                .map_err(|e| ExportError::write(path, e.into()))
        })
    }

    /// Refuses a lock made for another depth model, sampling or number of frames.
    fn check(
        &self,
        shot: &Shot,
        model: &Model,
        options: &ProcessOptions,
    ) -> Result<(), ProcessError> {
        let samples = options.depth_range_samples;
        let colour = ColourSpace::choice_name(options.colour.input);
        let reason = if let Some(locked) = self
            .input_colour_space
            .as_deref()
            .filter(|locked| *locked != colour)
        {
            Some(format!(
                "it was sampled with the input colour space `{locked}`, this run reads the plates as `{colour}`; lock it again with the same --colorspace"
            ))
        } else if self.depth_model_key != model_key(model, &options.colour) {
            Some(format!(
                "it was locked with depth model `{}`, this run uses `{}` (or another file, processing or input colour space); lock it again",
                self.depth_model, model.entry.id
            ))
        } else if self.frames != shot.frames.len() {
            Some(format!(
                "it was locked over {} frames, the shot {} has {}; lock it again",
                self.frames,
                shot.source.display(),
                shot.frames.len()
            ))
        } else if self.samples != samples {
            Some(format!(
                "it sampled up to {} frames, this run samples {samples}",
                self.samples
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ProcessError::DepthLockMismatch { reason }),
            None => Ok(()),
        }
    }
}

/// Stores a model's output in the cache, if there is one; a failure is a warning to pass on,
/// never a frame's failure.
fn store(cache: Option<&PassCache>, key: &str, raw: &RawOutput) -> Option<Event> {
    let cache = cache?;
    let e = cache.put(key, raw).err()?;
    Some(Event::Warning(format!(
        "cannot write the pass cache in {}: {e}",
        cache.dir().display()
    )))
}

/// The pass cache's key for a model's results: the model's own key, and the input colour space
/// when the shot names one (it changes what the model sees; the working space does not, as the
/// model's input goes back to sRGB-encoded Rec.709).
fn model_key(model: &Model, colour: &PlateColour) -> String {
    match colour.input {
        None => model.cache_key(),
        Some(space) => format!("{} colour={space}", model.cache_key()),
    }
}

fn settings_key(run: &Run<'_>) -> String {
    let mut h = blake3::Hasher::new();
    // The default colour adds nothing, so frames stamped before colour management stay current.
    if !run.options.colour.is_default() {
        h.update(format!("{:?}", run.options.colour).as_bytes());
    }
    h.update(crate::SOFTWARE.as_bytes());
    h.update(format!("{:?}{:?}", run.depth_key, run.matte_key).as_bytes());
    h.update(format!("{:?}{:?}", run.options.formats, run.options.exr_compression).as_bytes());
    h.update(format!("{:?}", run.depth_range).as_bytes());
    // Off adds nothing, so frames stamped before the filter existed stay current without it.
    if let Some(t) = &run.temporal {
        h.update(format!("temporal {}", t.describe()).as_bytes());
    }
    h.update(
        format!(
            "layout {} {} {:?}",
            export::exr::LAYOUT_VERSION,
            run.options.absolute_paths,
            run.options.fps
        )
        .as_bytes(),
    );
    h.finalize().to_hex().to_string()
}

fn stamp_path(out_dir: &Path, frame: &Frame) -> PathBuf {
    out_dir
        .join(STAMP_DIR)
        .join(frame.output_name(None, "json"))
}

/// The files a frame produces, relative to the output folder.
fn frame_outputs(frame: &Frame, formats: Formats, depth: bool, matte: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if formats.exr {
        out.push(PathBuf::from(frame.output_name(None, "exr")));
    }
    if formats.png {
        let png = |suffix| PathBuf::from("png").join(frame.output_name(Some(suffix), "png"));
        out.push(png("plate"));
        if depth {
            out.push(png("depth"));
        }
        if matte {
            out.push(png("matte"));
            out.push(png("cutout"));
        }
    }
    out
}

fn is_current(run: &Run<'_>, frame: &Frame, hash: &str, key: &str) -> bool {
    if run.options.force {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(stamp_path(&run.options.out_dir, frame)) else {
        return false;
    };
    let Ok(stamp) = serde_json::from_str::<FrameStamp>(&text) else {
        return false;
    };
    stamp.key == key
        && stamp.frame.source_hash == hash
        && stamp.frame.status == FrameStatus::Done
        && stamp
            .frame
            .outputs
            .iter()
            .all(|o| run.options.out_dir.join(o).is_file())
}

/// What to do with each frame: those selected whose outputs are not current are exported; with
/// the temporal filter, the frames within its radius of those are decoded too, for the filter.
fn make_plan(run: &Run<'_>, selected: &[bool], hashes: Vec<Result<String, String>>) -> Vec<Plan> {
    use rayon::prelude::*;
    let n = run.frames.len();
    let radius = run.temporal.map_or(0, |t| t.radius as usize);
    let window = |i: usize| i.saturating_sub(radius)..=(i + radius).min(n.saturating_sub(1));
    let key = |i: usize| -> String {
        if radius == 0 {
            return run.settings_key.clone();
        }
        let mut h = blake3::Hasher::new();
        h.update(run.settings_key.as_bytes());
        for j in window(i) {
            let hash = hashes[j].as_deref().unwrap_or("unreadable");
            h.update(format!(" {}:{hash}", j as i64 - i as i64).as_bytes());
        }
        h.finalize().to_hex().to_string()
    };
    let keys: Vec<String> = (0..n).map(key).collect();
    // Every stamp is read in parallel, as the decoders used to.
    let export: Vec<bool> = (0..n)
        .into_par_iter()
        .map(|i| match &hashes[i] {
            Ok(hash) => selected[i] && !is_current(run, run.frames[i], hash, &keys[i]),
            Err(_) => false,
        })
        .collect();
    hashes
        .into_iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (hash, key))| match hash {
            Err(error) => Plan::Fail {
                selected: selected[i],
                error,
            },
            Ok(hash) if window(i).any(|j| export[j]) => Plan::Decode {
                selected: selected[i],
                export: export[i],
                hash,
                key,
            },
            Ok(_) => Plan::Skip {
                selected: selected[i],
            },
        })
        .collect()
}

/// Decode-side work for one frame the plan decodes.
fn decode_frame(
    run: &Run<'_>,
    index: usize,
    hash: String,
    key: String,
    export: bool,
) -> Result<Decoded, String> {
    let started = Instant::now();
    let frame = run.frames[index];
    let plate = load_plate(&frame.path, &run.options.limits, &run.options.colour)
        .map_err(|e| e.to_string())?;
    let lookup = |key: &Option<String>| -> Option<RawOutput> {
        let cache = run.options.cache.as_ref()?;
        cache.get(&PassCache::key(&hash, key.as_deref()?))
    };
    // Depth already computed while sampling the shot's range is reused (not a cache hit).
    let sampled = match run.depth_key {
        Some(_) => run.sampled.lock().ok().and_then(|m| m.get(&hash).cloned()),
        None => None,
    };
    let depth_hit = if sampled.is_none() {
        lookup(&run.depth_key)
    } else {
        None
    };
    let matte = lookup(&run.matte_key);
    run.cache_hits.fetch_add(
        depth_hit.is_some() as usize + matte.is_some() as usize,
        Ordering::Relaxed,
    );
    let depth = sampled.or(depth_hit);
    // One sRGB encoding of the plate serves both models.
    let for_models = ModelPlate::new(&plate, run.options.colour.working);
    let prep = |entry: &Option<crate::infer::ModelEntry>,
                have: bool|
     -> Result<Option<ModelInput>, String> {
        match (entry, have) {
            (Some(e), false) => for_models.input_for(e).map(Some).map_err(|reason| {
                format!(
                    "cannot resize {} for model `{}`: {reason}",
                    frame.path.display(),
                    e.id
                )
            }),
            _ => Ok(None),
        }
    };
    let depth_input = prep(&run.depth_entry, depth.is_some())?;
    let matte_input = prep(&run.matte_entry, matte.is_some())?;
    let luma = plate.luminance_weighted(run.options.colour.working.luminance_weights());
    run.decode_ns
        .fetch_add(elapsed_ns(started), Ordering::Relaxed);
    Ok(Decoded {
        index,
        started,
        hash,
        key,
        export,
        plate,
        luma,
        depth,
        matte,
        depth_input,
        matte_input,
    })
}

fn infer_frame(model: &mut Model, input: &ModelInput, frame: &Frame) -> Result<RawOutput, String> {
    model.run_tensor(input).map_err(|e| match e {
        InferError::Ort { reason, .. } => format!(
            "model `{}` failed on {}: {reason}",
            model.entry.id,
            frame.path.display()
        ),
        other => other.to_string(),
    })
}

/// Export-side work for one frame: upsample, write every output, then the stamp.
fn export_frame(run: &Run<'_>, item: Inferred) -> Result<f64, String> {
    let t = Instant::now();
    let frame = run.frames[item.index];
    let plate = &item.plate;
    let guide = guide_from_luminance(&item.luma);
    let (w, h) = (plate.width, plate.height);
    let depth = match (&item.depth, run.depth_semantics) {
        (Some(raw), Some(sem)) => {
            Some(passes::depth_to_plate(raw, sem, &guide, w, h).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let matte = match &item.matte {
        Some(raw) => {
            Some(passes::matte_to_plate(raw, MATTE_NAME, &guide, w, h).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let out_dir = &run.options.out_dir;
    let outputs = frame_outputs(frame, run.options.formats, depth.is_some(), matte.is_some());
    let e2s = |e: ExportError| e.to_string();
    let mut meta = run.metadata_template.clone();
    meta.source = export::recorded_source(&frame.path, out_dir, run.options.absolute_paths);
    meta.frame = frame.number;
    meta.input_space = Some(run.options.colour.input_for(plate.source_bits));
    if run.options.formats.exr {
        let path = out_dir.join(frame.output_name(None, "exr"));
        export::write_layered_exr(
            &path,
            plate,
            depth.as_ref(),
            matte.as_slice(),
            &meta,
            run.options.exr_compression,
        )
        .map_err(e2s)?;
    }
    if run.options.formats.png {
        let png_dir = out_dir.join("png");
        std::fs::create_dir_all(&png_dir)
            .map_err(|e| format!("cannot create {}: {e}", png_dir.display()))?;
        let png = |suffix| png_dir.join(frame.output_name(Some(suffix), "png"));
        // The PNGs are sRGB-encoded Rec.709, whatever the working space.
        let shown = run.options.colour.working.plate_to_rec709(plate);
        export::write_plate_png(&png("plate"), &shown).map_err(e2s)?;
        if let Some(d) = &depth {
            let range = run.depth_range.unwrap_or_else(|| {
                let mut v = d.values.clone();
                passes::depth_range_from_samples(&mut v, d.semantics).unwrap_or(DepthRange {
                    near: 0.0,
                    far: 1.0,
                })
            });
            export::write_depth_png(&png("depth"), d, &range).map_err(e2s)?;
        }
        if let Some(m) = &matte {
            export::write_matte_png(&png("matte"), m).map_err(e2s)?;
            export::write_cutout_png(&png("cutout"), &shown, m).map_err(e2s)?;
        }
    }
    let stamp = FrameStamp {
        key: item.key,
        frame: SidecarFrame {
            frame: frame.number,
            source: frame.path.clone(),
            source_hash: item.hash,
            outputs,
            status: FrameStatus::Done,
        },
    };
    let stamp_file = stamp_path(out_dir, frame);
    export::write_atomic(&stamp_file, |w| {
        serde_json::to_writer_pretty(&mut *w, &stamp)
            .map_err(|e| ExportError::write(&stamp_file, e.into()))
    })
    .map_err(e2s)?;
    run.export_ns.fetch_add(elapsed_ns(t), Ordering::Relaxed);
    Ok(item.started.elapsed().as_secs_f64())
}

/// What the inference thread (and a decoder, for a frame it could not decode) passes on to the
/// temporal stage.
enum Slot {
    Frame(Inferred),
    /// This frame of the plan will not come: it failed.
    Gone(usize),
}

/// A frame held by the temporal stage: its raw results with their guides, and the frame itself
/// until it is exported.
struct Held {
    item: Option<Inferred>,
    depth: Option<Guided>,
    matte: Option<Guided>,
}

/// A raw result and its guide.
type Guided = (RawOutput, Guide);

impl Held {
    fn new(mut item: Inferred) -> Held {
        let guided = |raw: Option<RawOutput>| {
            raw.map(|raw| {
                let guide = Guide::new(&item.plate, &item.luma, raw.width, raw.height);
                (raw, guide)
            })
        };
        let depth = guided(item.depth.take());
        let matte = guided(item.matte.take());
        Held {
            item: item.export.then_some(item),
            depth,
            matte,
        }
    }
}

/// Frame `t`'s results through the temporal filter.
fn smoothed(
    settings: &TemporalSettings,
    held: &BTreeMap<usize, Held>,
    t: usize,
    mut item: Inferred,
) -> Inferred {
    let Some(centre) = held.get(&t) else {
        return item;
    };
    let pass = |get: fn(&Held) -> Option<&Guided>| -> Option<RawOutput> {
        let (raw, guide) = get(centre)?;
        let r = settings.radius as usize;
        let side = |offsets: &mut dyn Iterator<Item = usize>| -> Vec<temporal::Sample<'_>> {
            offsets
                .filter_map(|j| held.get(&j).and_then(get))
                .map(|(raw, guide)| temporal::Sample { raw, guide })
                .collect()
        };
        let before = side(&mut (t.saturating_sub(r)..t).rev());
        let after = side(&mut (t + 1..=t + r));
        Some(temporal::filter(
            temporal::Sample { raw, guide },
            &before,
            &after,
            settings,
        ))
    };
    item.depth = pass(|h| h.depth.as_ref());
    item.matte = pass(|h| h.matte.as_ref());
    item
}

/// The temporal stage: takes frames from inference in any order and passes them to export in the
/// shot's order, each once every frame within the filter's radius of it has come (or failed).
/// Without the filter, each frame to export goes on as it comes.
fn temporal_stage(
    run: &Run<'_>,
    rx: crossbeam_channel::Receiver<Slot>,
    tx: crossbeam_channel::Sender<Inferred>,
) {
    let Some(settings) = run.temporal else {
        for slot in rx {
            if let Slot::Frame(item) = slot
                && item.export
                && tx.send(item).is_err()
            {
                return;
            }
        }
        return;
    };
    let n = run.frames.len();
    let radius = settings.radius as usize;
    let mut held: BTreeMap<usize, Held> = BTreeMap::new();
    let (mut arrived, mut gone) = (vec![false; n], vec![false; n]);
    let mut next = 0usize;
    let mut closed = false;
    loop {
        while next < n {
            let wanted = matches!(run.plan[next], Plan::Decode { export: true, .. });
            if wanted && !gone[next] {
                let window = next.saturating_sub(radius)..=(next + radius).min(n - 1);
                let ready = closed
                    || window
                        .clone()
                        .all(|j| !run.plan[j].decoded() || arrived[j] || gone[j]);
                if !ready {
                    break;
                }
                let item = held.get_mut(&next).and_then(|h| h.item.take());
                if let Some(item) = item {
                    let item = smoothed(&settings, &held, next, item);
                    if tx.send(item).is_err() {
                        return;
                    }
                }
            }
            next += 1;
            // What no frame still to come reads.
            let keep_from = next.saturating_sub(radius);
            while held.first_key_value().is_some_and(|(&k, _)| k < keep_from) {
                held.pop_first();
            }
        }
        if next >= n || closed {
            return;
        }
        match rx.recv() {
            Ok(Slot::Frame(item)) => {
                let i = item.index;
                if i < n {
                    arrived[i] = true;
                    held.insert(i, Held::new(item));
                }
            }
            Ok(Slot::Gone(i)) => {
                if i < n {
                    gone[i] = true;
                }
            }
            Err(_) => closed = true,
        }
    }
}

/// The pipeline: decode, inference, the temporal stage, export. Returns (done, skipped,
/// failed, inference ns, model runs).
fn pipeline(
    run: &Run<'_>,
    models: &mut PassModels,
    on_event: &mut dyn FnMut(Event),
) -> (usize, usize, Vec<FrameFailure>, u64, usize) {
    let jobs = run.options.jobs.max(1);
    let next = AtomicUsize::new(0);
    let (decoded_tx, decoded_rx) = bounded::<Decoded>(jobs.max(2));
    let (slot_tx, slot_rx) = bounded::<Slot>(jobs.max(2));
    let (inferred_tx, inferred_rx) = bounded::<Inferred>(jobs.max(2));
    let (event_tx, event_rx) = unbounded::<(Event, Option<PathBuf>)>();
    let mut inference = (0u64, 0usize);

    // Decode and export work, and the rayon work nested in it (EXR compression, colour
    // conversion), runs on threads of lower priority: ONNX Runtime's threads wait on each other
    // at every layer, so one of them pre-empted stalls the whole model, while our work can fill
    // whatever the models leave idle.
    let background = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("mattebox-worker-{i}"))
        .start_handler(|_| lower_thread_priority())
        .build()
        .ok();
    let background = background.as_ref();
    let in_background = |f: &mut (dyn FnMut() + Send)| match background {
        Some(pool) => pool.install(f),
        None => f(),
    };
    let in_background = &in_background;
    let (done, skipped, failed) = std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (tx, slots, events) = (decoded_tx.clone(), slot_tx.clone(), event_tx.clone());
            let next = &next;
            scope.spawn(move || {
                lower_thread_priority();
                loop {
                    if run.cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let (Some(frame), Some(plan)) = (run.frames.get(index), run.plan.get(index))
                    else {
                        break;
                    };
                    let label = frame.label();
                    let failed = |error: String| {
                        (
                            Event::FrameFailed {
                                label: label.clone(),
                                error,
                            },
                            Some(frame.path.clone()),
                        )
                    };
                    match plan {
                        Plan::Skip { selected } => {
                            if *selected {
                                let _ = events.send((Event::FrameSkipped { label }, None));
                            }
                        }
                        Plan::Fail { selected, error } => {
                            if *selected {
                                let _ = events.send(failed(error.clone()));
                            }
                        }
                        Plan::Decode {
                            selected,
                            export,
                            hash,
                            key,
                        } => {
                            if *selected && !*export {
                                let _ = events.send((
                                    Event::FrameSkipped {
                                        label: label.clone(),
                                    },
                                    None,
                                ));
                            }
                            let mut decoded = Err(String::new());
                            in_background(&mut || {
                                decoded =
                                    decode_frame(run, index, hash.clone(), key.clone(), *export)
                            });
                            match decoded {
                                Ok(d) => {
                                    if tx.send(d).is_err() {
                                        break;
                                    }
                                }
                                Err(error) => {
                                    if *export {
                                        let _ = events.send(failed(error));
                                    }
                                    if slots.send(Slot::Gone(index)).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                    }
                }
            });
        }
        drop(decoded_tx);

        {
            let (tx, events) = (slot_tx.clone(), event_tx.clone());
            let inference = &mut inference;
            let models = &mut *models;
            scope.spawn(move || {
                for d in decoded_rx.iter() {
                    let frame = run.frames[d.index];
                    let mut run_one = |model: Option<&mut Model>,
                                       input: &Option<ModelInput>,
                                       key: &Option<String>| {
                        match (model, input) {
                            (Some(model), Some(input)) => {
                                let t = Instant::now();
                                let r = infer_frame(model, input, frame);
                                inference.0 += elapsed_ns(t);
                                inference.1 += 1;
                                if let (Ok(raw), Some(key)) = (&r, key)
                                    && let Some(warning) = store(
                                        run.options.cache.as_ref(),
                                        &PassCache::key(&d.hash, key),
                                        raw,
                                    )
                                {
                                    let _ = events.send((warning, None));
                                }
                                r.map(Some)
                            }
                            _ => Ok(None),
                        }
                    };
                    let depth = match d.depth {
                        Some(raw) => Ok(Some(raw)),
                        None => run_one(models.depth.as_mut(), &d.depth_input, &run.depth_key),
                    };
                    let matte = match d.matte {
                        Some(raw) => Ok(Some(raw)),
                        None => run_one(models.matte.as_mut(), &d.matte_input, &run.matte_key),
                    };
                    let slot = match (depth, matte) {
                        (Ok(depth), Ok(matte)) => Slot::Frame(Inferred {
                            index: d.index,
                            started: d.started,
                            hash: d.hash,
                            key: d.key,
                            export: d.export,
                            plate: d.plate,
                            luma: d.luma,
                            depth,
                            matte,
                        }),
                        (Err(error), _) | (_, Err(error)) => {
                            if d.export {
                                let _ = events.send((
                                    Event::FrameFailed {
                                        label: frame.label(),
                                        error,
                                    },
                                    Some(frame.path.clone()),
                                ));
                            }
                            Slot::Gone(d.index)
                        }
                    };
                    if tx.send(slot).is_err() {
                        break;
                    }
                }
            });
        }
        drop(slot_tx);

        {
            let tx = inferred_tx.clone();
            scope.spawn(move || temporal_stage(run, slot_rx, tx));
        }
        drop(inferred_tx);

        for _ in 0..jobs {
            let (rx, events) = (inferred_rx.clone(), event_tx.clone());
            scope.spawn(move || {
                lower_thread_priority();
                for item in rx.iter() {
                    let frame = run.frames[item.index];
                    let label = frame.label();
                    let mut item = Some(item);
                    let mut exported = Err(String::new());
                    in_background(&mut || {
                        if let Some(item) = item.take() {
                            exported = export_frame(run, item);
                        }
                    });
                    let event = match exported {
                        Ok(seconds) => (Event::FrameDone { label, seconds }, None),
                        Err(error) => (
                            Event::FrameFailed { label, error },
                            Some(frame.path.clone()),
                        ),
                    };
                    let _ = events.send(event);
                }
            });
        }
        drop(inferred_rx);
        drop(event_tx);

        let (mut done, mut skipped, mut failed) = (0, 0, Vec::new());
        for (event, source) in event_rx.iter() {
            match &event {
                Event::FrameDone { .. } => done += 1,
                Event::FrameSkipped { .. } => skipped += 1,
                Event::FrameFailed { error, .. } => failed.push(FrameFailure {
                    source: source.unwrap_or_default(),
                    error: error.clone(),
                }),
                _ => {}
            }
            on_event(event);
        }
        (done, skipped, failed)
    });
    (done, skipped, failed, inference.0, inference.1)
}

/// Lowers the calling thread's scheduling priority (nice 10) on Linux; elsewhere does nothing.
/// Failure only means the thread keeps its priority.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with who = 0 changes only the calling thread's nice value (Linux
    // threads have their own); it reads and writes no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// Rebuilds `mattebox.json` from every stamp in the output folder, with this run's failed frames
/// in place of their older entries. A failure to write it is a warning: the frames themselves
/// are already safe.
fn write_shot_sidecar(
    shot: &Shot,
    run: &Run<'_>,
    failed: &[FrameFailure],
    on_event: &mut dyn FnMut(Event),
) -> PathBuf {
    let out_dir = &run.options.out_dir;
    let path = out_dir.join(export::SIDECAR_NAME);
    let mut frames = stamped_frames(out_dir);
    frames.retain(|f| !failed.iter().any(|x| x.source == f.source));
    for failure in failed {
        let frame = run.frames.iter().find(|f| f.path == failure.source);
        // Its older outputs stay, but are no longer vouched for: a rerun redoes the frame.
        if let Some(f) = frame {
            let _ = std::fs::remove_file(stamp_path(out_dir, f));
        }
        frames.push(SidecarFrame {
            frame: frame.and_then(|f| f.number),
            source: failure.source.clone(),
            source_hash: String::new(),
            outputs: Vec::new(),
            status: FrameStatus::Failed {
                error: failure.error.clone(),
            },
        });
    }
    frames.sort_by(|a, b| (a.frame, &a.source).cmp(&(b.frame, &b.source)));
    let sidecar = ShotSidecar {
        version: export::SIDECAR_VERSION,
        software: crate::SOFTWARE.to_string(),
        source: shot.source.clone(),
        created_unix_s: ShotSidecar::now_unix_s(),
        execution_provider: run.metadata_template.execution_provider.clone(),
        depth: run.metadata_template.depth.clone(),
        depth_range: run.depth_range,
        mattes: run.metadata_template.mattes.clone(),
        settings_key: run.settings_key.clone(),
        frames,
    };
    if let Err(e) = export::write_sidecar(&path, &sidecar) {
        on_event(Event::Warning(e.to_string()));
    }
    path
}

/// Every frame stamped in an output folder (`.mattebox/*.json`), in no particular order.
fn stamped_frames(out_dir: &Path) -> Vec<SidecarFrame> {
    let mut frames = Vec::new();
    if let Ok(rd) = std::fs::read_dir(out_dir.join(STAMP_DIR)) {
        for entry in rd.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "json")
                && let Ok(stamp) = std::fs::read_to_string(&p)
                    .map_err(|_| ())
                    .and_then(|t| serde_json::from_str::<FrameStamp>(&t).map_err(|_| ()))
            {
                frames.push(stamp.frame);
            }
        }
    }
    frames
}

/// Rebuilds an output folder's `mattebox.json` from every stamp in it, as the end of a process
/// job does, keeping the existing sidecar's header (models, range, settings) and its failed
/// frames that have no stamp since. Chunks of one shot run at the same time each rebuild the
/// sidecar as they end, so the last to end may miss another's frames: a farm's finalise job
/// calls this once all chunks are done. Returns the sidecar's path and how many frames it lists
/// as done.
pub fn rebuild_sidecar(out_dir: &Path) -> Result<(PathBuf, usize), ExportError> {
    let path = out_dir.join(export::SIDECAR_NAME);
    let mut sidecar = export::read_sidecar(&path)?;
    let mut frames = stamped_frames(out_dir);
    for old in &sidecar.frames {
        if matches!(old.status, FrameStatus::Failed { .. })
            && !frames.iter().any(|f| f.source == old.source)
        {
            frames.push(old.clone());
        }
    }
    frames.sort_by(|a, b| (a.frame, &a.source).cmp(&(b.frame, &b.source)));
    let done = frames
        .iter()
        .filter(|f| f.status == FrameStatus::Done)
        .count();
    sidecar.frames = frames;
    sidecar.created_unix_s = ShotSidecar::now_unix_s();
    export::write_sidecar(&path, &sidecar)?;
    Ok((path, done))
}

/// Where a process job stamps `frame` in `out_dir`.
pub fn frame_stamp_path(out_dir: &Path, frame: &Frame) -> PathBuf {
    stamp_path(out_dir, frame)
}

/// Whether a process job's stamp says its frame is done and every output it lists (relative to
/// `out_dir`) exists. It does not compare the settings, which only a run with them can.
pub fn stamp_is_done(stamp: &Path, out_dir: &Path) -> bool {
    std::fs::read_to_string(stamp)
        .ok()
        .and_then(|t| serde_json::from_str::<FrameStamp>(&t).ok())
        .is_some_and(|s| {
            s.frame.status == FrameStatus::Done
                && s.frame.outputs.iter().all(|o| out_dir.join(o).is_file())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_makes_missing_and_relative_paths_absolute() {
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        assert_eq!(resolve(Path::new("")), cwd);
        assert_eq!(
            resolve(Path::new("no such dir/a b/ü")),
            cwd.join("no such dir/a b/ü")
        );
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        assert_eq!(resolve(&tmp.path().join("x/../y")), real.join("x/../y"));
    }

    #[test]
    fn formats_parse() {
        assert_eq!(
            "exr,png".parse::<Formats>(),
            Ok(Formats {
                exr: true,
                png: true
            })
        );
        assert_eq!(
            "PNG".parse::<Formats>(),
            Ok(Formats {
                exr: false,
                png: true
            })
        );
        assert!("exr,tga".parse::<Formats>().unwrap_err().contains("tga"));
        assert!("".parse::<Formats>().is_err());
    }
}
