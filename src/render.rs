//! The render job: a project's composited frames and its animatic.
//!
//! 1. The shot's missing passes are made first by the process job (`process::process_shot`) into
//!    `<out>/passes/`, using the pass cache; complete passes are skipped by their stamps.
//! 2. Each frame's plate is decoded from the source (never modified), and its depth and matte are
//!    read back from the pass EXR (`depth.Z`, `matte_fg.A`; an older file's `Z`, `matte.fg.A`),
//!    so a render composites exactly what was exported. Relative depth becomes scene distance
//!    through `SceneSettings::distance_m`.
//! 3. With a camera move, the front and fill layers are prepared once per source frame
//!    (`composite::prepare`), and each output frame's pose is evaluated from the keys.
//! 4. The layer stack becomes a plan (`composite::planner`) executed by the GPU (wgpu) or the CPU
//!    reference, and the results are written atomically: `composite/` (layered EXR: RGBA +
//!    `depth.Z` in scene metres from the render's camera, with the depth mapping in the header +
//!    `matte_fg.A` + `matte_disocclusion.A`, and/or PNG) and `animatic/` (8-bit sRGB PNG
//!    frames, plus an H.264 MP4 tagged BT.709 when `ffmpeg` is on the PATH).
//! 5. A stamp per output frame in `<out>/.mattebox/` records what made it, so a rerun redoes only
//!    frames whose project settings, plate or passes changed.
//!
//! A frame's failure is reported with its file and never stops the others.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::composite::camera::CameraPose;
use crate::composite::gpu::{GpuChoice, GpuRenderer};
use crate::composite::image::Image;
use crate::composite::layers::{BackgroundSettings, LayerKind, SceneSettings};
use crate::composite::planner::{FrameSpec, plan_frame};
use crate::composite::prepare::prepare;
use crate::composite::{CompositeError, FrameInputs, Rendered, cpu};
use crate::export::atomic::write_atomic;
use crate::export::exr::{ExrCompression, write_layered_exr};
use crate::export::png::write_plate_png;
use crate::export::read::read_pass_channels;
use crate::export::sidecar::read_sidecar;
use crate::export::{ExportError, FrameMetadata, SceneDepth, recorded_source};
use crate::passes::cache::{PassCache, hash_file};
use crate::passes::{DepthMap, DepthRange, DepthSemantics, Matte};
use crate::process::{
    Event, FrameFailure, PassModels, ProcessError, ProcessOptions, STAMP_DIR, Summary, process_shot,
};
use crate::project::Project;
use crate::shot::decode::DecodeLimits;
use crate::shot::{Frame, FrameRange, Plate, PlateColour, Shot, ShotError, load_plate};

/// Which renderer draws the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RendererChoice {
    /// The GPU if an adapter is available (a software one counts), else the CPU, with a warning.
    #[default]
    Auto,
    /// The GPU path, on this adapter choice; no adapter is an error.
    Gpu(GpuChoice),
    /// The CPU reference.
    Cpu,
}

impl std::str::FromStr for RendererChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(RendererChoice::Auto),
            "gpu" => Ok(RendererChoice::Gpu(GpuChoice::Auto)),
            "cpu" => Ok(RendererChoice::Cpu),
            other => Err(format!("unknown renderer `{other}`: use auto, gpu or cpu")),
        }
    }
}

/// What the job writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct What {
    /// Composited frames for compositing (EXR and/or PNG, per the formats).
    pub composite: bool,
    /// A review animatic: 8-bit PNG frames and an MP4 when ffmpeg is present.
    pub animatic: bool,
}

impl Default for What {
    fn default() -> Self {
        What {
            composite: true,
            animatic: false,
        }
    }
}

impl std::str::FromStr for What {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut what = What {
            composite: false,
            animatic: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "composite" => what.composite = true,
                "animatic" => what.animatic = true,
                other => {
                    return Err(format!(
                        "unknown output `{other}`: use composite, animatic or composite,animatic"
                    ));
                }
            }
        }
        if !what.composite && !what.animatic {
            return Err("nothing to write: use composite, animatic or both".into());
        }
        Ok(what)
    }
}

/// Settings of a render job.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Only these source frames (else the project's range, else the whole shot).
    pub range: Option<FrameRange>,
    /// The renderer.
    pub renderer: RendererChoice,
    /// Composite and/or animatic.
    pub what: What,
    /// Composite formats (EXR and/or PNG).
    pub formats: crate::process::Formats,
    /// EXR compression for passes and composites.
    pub exr_compression: ExrCompression,
    /// Redo frames whose outputs are already complete and current.
    pub force: bool,
    /// The pass cache (`None`: run every model).
    pub cache: Option<PassCache>,
    /// Decode limits.
    pub limits: DecodeLimits,
    /// Worker threads for the pass job.
    pub jobs: usize,
    /// Allow the output folder inside the shot's folder.
    pub allow_inside_input: bool,
    /// Render at the full size divided by this (1 full, 2 half): plates and passes are reduced
    /// and every pixel setting scaled, so a half-size render looks like the full one.
    pub scale_divisor: u32,
    /// Record source paths as absolute paths in the EXR headers (the project's
    /// `export.absolute_paths` asks for it too); by default they are relative to the folder
    /// holding each file.
    pub absolute_paths: bool,
    /// The shot-wide depth range locked beforehand (a farm's first job), for the pass job.
    pub depth_lock: Option<crate::process::DepthLock>,
    /// Encode the animatic movie at the end (a farm chunk leaves it to the finalise job, which
    /// sees every frame).
    pub movie: bool,
}

impl RenderOptions {
    /// Defaults for an output folder.
    pub fn new(out_dir: impl Into<PathBuf>) -> RenderOptions {
        let base = ProcessOptions::new(PathBuf::new());
        RenderOptions {
            out_dir: out_dir.into(),
            range: None,
            renderer: RendererChoice::Auto,
            what: What::default(),
            formats: crate::process::Formats {
                exr: true,
                png: false,
            },
            exr_compression: ExrCompression::Zip,
            force: false,
            cache: base.cache,
            limits: base.limits,
            jobs: base.jobs,
            allow_inside_input: false,
            scale_divisor: 1,
            absolute_paths: false,
            depth_lock: None,
            movie: true,
        }
    }
}

/// Which part of the job an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Making the missing depth and matte passes.
    Passes,
    /// Compositing frames.
    Frames,
}

/// What a render job did.
#[derive(Debug, Clone, Serialize)]
pub struct RenderSummary {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Output frames planned.
    pub total: usize,
    /// Output frames written.
    pub done: usize,
    /// Output frames already complete and current.
    pub skipped: usize,
    /// Frames that failed (pass failures included).
    pub failed: Vec<FrameFailure>,
    /// Whether the job was cancelled.
    pub cancelled: bool,
    /// The renderer: the wgpu adapter, or `CPU reference`.
    pub renderer: String,
    /// The pass job's summary.
    pub passes: Summary,
    /// The animatic movie, when one was made.
    pub movie: Option<PathBuf>,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Seconds spent rendering (plans executed, results read back).
    pub render_s: f64,
}

/// Errors that stop a render job before any frame is composited.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The shot cannot be opened or the range selects nothing.
    #[error(transparent)]
    Shot(#[from] ShotError),
    /// The pass job could not run.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// No renderer could be set up.
    #[error("renderer: {0}")]
    Renderer(#[from] CompositeError),
    /// A background image is missing or unreadable.
    #[error("background image {}: {message}", path.display())]
    BackgroundImage {
        /// The image file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The output folder cannot be written.
    #[error("cannot write {}: {error}", path.display())]
    Output {
        /// The folder.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
}

/// The stamp of one output frame.
#[derive(Debug, Serialize, Deserialize)]
struct RenderStamp {
    key: String,
    outputs: Vec<PathBuf>,
}

/// One frame to write: which source frame, at which camera time, under which name.
#[derive(Debug, Clone)]
struct OutputFrame {
    source_index: usize,
    /// Camera time: the source frame's number, or the still's frame counted from 0.
    time: f32,
    /// The frame for output naming.
    name: Frame,
}

/// The renderer in use.
enum Engine {
    Gpu(Box<GpuRenderer>),
    Cpu,
}

impl Engine {
    fn label(&self) -> String {
        match self {
            Engine::Gpu(g) => g.adapter_label(),
            Engine::Cpu => "CPU reference".into(),
        }
    }

    fn render(
        &self,
        plan: &crate::composite::plan::Plan,
        inputs: &FrameInputs,
    ) -> Result<Rendered, CompositeError> {
        match self {
            Engine::Gpu(g) => g.render(plan, inputs),
            Engine::Cpu => cpu::render(plan, inputs),
        }
    }
}

fn engine(choice: RendererChoice, warn: &mut dyn FnMut(String)) -> Result<Engine, CompositeError> {
    match choice {
        RendererChoice::Cpu => Ok(Engine::Cpu),
        RendererChoice::Gpu(c) => Ok(Engine::Gpu(Box::new(GpuRenderer::new(c)?))),
        // A software rasterizer (llvmpipe, WARP) runs the same plan several times slower than
        // the CPU twin of its ops (benches/composite.rs), so `auto` takes the CPU there;
        // `--renderer gpu` still forces it.
        RendererChoice::Auto => match GpuRenderer::new(GpuChoice::Auto) {
            Ok(g) if g.is_software() => {
                warn(format!(
                    "{} is a software adapter; rendering on the CPU, which is faster \
                     (--renderer gpu uses the adapter anyway)",
                    g.adapter_label()
                ));
                Ok(Engine::Cpu)
            }
            Ok(g) => Ok(Engine::Gpu(Box::new(g))),
            Err(e) => {
                warn(format!("{e}; rendering on the CPU instead"));
                Ok(Engine::Cpu)
            }
        },
    }
}

/// The aux image `(distance_m, matte, nearness, 0)` from a frame's depth and matte.
///
/// Depth becomes distance in scene metres through the shot-wide range and `scene`: the
/// normalised nearness is reshaped by `scene.depth_curve` (`SceneSettings::curved_nearness`),
/// then mapped to `near_m..far_m` (`SceneSettings::distance_m`), and the curved nearness is what
/// the aux's b channel holds. With `DepthMapping::Metric`, a metric model's metres are used as
/// they are (no curve). No depth: everything is at `scene.far_m`; no matte: the matte is 1 everywhere.
pub fn aux_image(
    width: u32,
    height: u32,
    depth: Option<&[f32]>,
    semantics: Option<DepthSemantics>,
    range: Option<DepthRange>,
    matte: Option<&[f32]>,
    scene: &SceneSettings,
) -> Image {
    let metric = semantics == Some(DepthSemantics::Metric)
        && scene.depth_mapping == crate::composite::layers::DepthMapping::Metric;
    let mut aux = Image::new(width, height);
    for (i, px) in aux.pixels.iter_mut().enumerate() {
        let (distance, nearness) = match (depth.and_then(|d| d.get(i)), range) {
            (Some(&z), _) if metric && z.is_finite() => {
                (z.max(1e-3), range.map_or(0.0, |r| r.nearness(z)))
            }
            (Some(&z), Some(r)) => {
                // The curve reshapes relative depth only; the stored nearness is the curved one,
                // so nearness and distance keep agreeing.
                let n = scene.curved_nearness(r.nearness(z));
                (scene.distance_m(n), n)
            }
            _ => (scene.far_m, 0.0),
        };
        let m = matte.and_then(|m| m.get(i)).copied().unwrap_or(1.0);
        *px = [distance, m.clamp(0.0, 1.0), nearness, 0.0];
    }
    aux
}

/// The frame inputs (premultiplied plate, aux) from a decoded plate and its pass EXR (`depth.Z`
/// and `matte_fg.A`, else the first matte; an older file's `Z` and `matte.fg.A` likewise). Passes
/// of another size than the plate are resampled to it, with a warning.
pub fn frame_inputs(
    plate: &Plate,
    pass_exr: &Path,
    semantics: Option<DepthSemantics>,
    range: Option<DepthRange>,
    scene: &SceneSettings,
    warn: &mut dyn FnMut(String),
) -> Result<(Image, Image), ExportError> {
    let (w, h) = (plate.width, plate.height);
    let passes = read_pass_channels(pass_exr)?;
    let matte = passes
        .mattes
        .iter()
        .find(|(name, _)| name == "fg")
        .or(passes.mattes.first())
        .map(|(_, m)| m.as_slice());
    if passes.depth.is_none() {
        warn(format!(
            "{}: no depth channel (depth.Z); depth is taken as the scene's far distance",
            pass_exr.display()
        ));
    }
    let mut aux = aux_image(
        passes.width,
        passes.height,
        passes.depth.as_deref(),
        semantics,
        range,
        matte,
        scene,
    );
    if (passes.width, passes.height) != (w, h) {
        warn(format!(
            "{}: the passes are {}x{} but the plate is {w}x{h}; they are resampled to the plate",
            pass_exr.display(),
            passes.width,
            passes.height
        ));
        aux = aux
            .resized(w, h)
            .map_err(|e| ExportError::invalid(pass_exr, e))?;
    }
    Ok((Image::from_plate(plate), aux))
}

/// Loads every visible background image layer's picture, so a missing file stops the job before
/// any frame with a message naming it.
fn load_backgrounds(
    project: &Project,
    base_dir: &Path,
    limits: &DecodeLimits,
) -> Result<Vec<(PathBuf, Image)>, RenderError> {
    let mut out: Vec<(PathBuf, Image)> = Vec::new();
    for layer in project.layers.iter().filter(|l| l.visible) {
        if let LayerKind::Background(BackgroundSettings::Image { path }) = &layer.kind {
            let full = base_dir.join(path);
            if out.iter().any(|(p, _)| *p == full) {
                continue;
            }
            // A background picture is in its file's usual space (sRGB, or linear for float).
            let colour = PlateColour {
                input: None,
                working: project.colour.working_space,
            };
            let plate =
                load_plate(&full, limits, &colour).map_err(|e| RenderError::BackgroundImage {
                    path: full.clone(),
                    message: e.to_string(),
                })?;
            out.push((full, Image::from_plate(&plate)));
        }
    }
    Ok(out)
}

/// Runs a render job. `on_event` receives progress from both phases; per-frame failures are
/// reported there and in the summary and never stop the other frames.
pub fn render_project(
    project: &Project,
    project_path: &Path,
    models: &mut PassModels,
    options: &RenderOptions,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(Phase, Event),
) -> Result<RenderSummary, RenderError> {
    let started = Instant::now();
    let base_dir = project_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let source = project.shot_source(&base_dir);
    let shot = Shot::open(&source)?;
    let range = options.range.or(project.shot.range());
    let mut selected = shot.clone();
    if let Some(r) = range {
        selected.select(r)?;
    }
    let backgrounds = load_backgrounds(project, &base_dir, &options.limits)?;
    let engine = engine(options.renderer, &mut |w| {
        on_event(Phase::Frames, Event::Warning(w))
    })?;

    // 1. Passes.
    let pass_dir = options.out_dir.join("passes");
    let mut popts = ProcessOptions::new(&pass_dir);
    popts.range = range;
    popts.formats = crate::process::Formats {
        exr: true,
        png: false,
    };
    popts.exr_compression = options.exr_compression;
    popts.cache = options.cache.clone();
    popts.limits = options.limits;
    popts.jobs = options.jobs;
    popts.allow_inside_input = options.allow_inside_input;
    let absolute_paths = options.absolute_paths || project.export.absolute_paths;
    popts.absolute_paths = absolute_paths;
    popts.fps = Some(project.shot.fps);
    popts.depth_lock = options.depth_lock.clone();
    popts.colour = project.plate_colour();
    popts.temporal = project.passes.temporal_settings();
    let passes = process_shot(&shot, models, &popts, cancel, &mut |e| {
        on_event(Phase::Passes, e)
    })?;
    let sidecar = read_sidecar(&passes.sidecar).ok();
    let depth_stamp = sidecar.as_ref().and_then(|s| s.depth.clone());
    let semantics = depth_stamp.as_ref().and_then(|d| d.semantics);
    let depth_range = passes
        .depth_range
        .or(sidecar.as_ref().and_then(|s| s.depth_range));
    let matte_stamps = sidecar.map(|s| s.mattes).unwrap_or_default();
    // Every composite's header but its source and frame: the models, the frame rate, and what
    // its depth is (scene metres from the render's camera) with the mapping that made it.
    let scene = &project.scene;
    let meta_template = FrameMetadata {
        software: crate::SOFTWARE.to_string(),
        source: PathBuf::new(),
        frame: None,
        execution_provider: passes.execution_provider.clone(),
        depth: depth_stamp,
        depth_range,
        mattes: matte_stamps,
        fps: Some(project.shot.fps),
        scene_depth: Some(SceneDepth {
            metric_as_is: semantics == Some(DepthSemantics::Metric)
                && scene.depth_mapping == crate::composite::layers::DepthMapping::Metric,
            near_m: scene.near_m,
            far_m: scene.far_m,
            curve: scene.depth_curve,
        }),
        working_space: project.colour.working_space,
        input_space: None,
        // The passes' own (a shot's single frame has nothing to blend with).
        temporal: project
            .passes
            .temporal_settings()
            .filter(|_| shot.frames.len() > 1)
            .map(|t| t.describe()),
    };

    // 2. Which frames to write.
    let moving = !project.camera.is_static();
    let frames = output_frames(project, &selected);
    for dir in [STAMP_DIR, "composite", "animatic"] {
        let path = options.out_dir.join(dir);
        std::fs::create_dir_all(&path).map_err(|error| RenderError::Output { path, error })?;
    }
    on_event(
        Phase::Frames,
        Event::Started {
            total: frames.len(),
        },
    );

    let failed_sources: Vec<FrameFailure> = passes.failed.clone();
    let mut summary = RenderSummary {
        out_dir: options.out_dir.clone(),
        total: frames.len(),
        done: 0,
        skipped: 0,
        failed: Vec::new(),
        cancelled: passes.cancelled,
        renderer: engine.label(),
        passes,
        movie: None,
        wall_s: 0.0,
        render_s: 0.0,
    };
    let settings_key = settings_key(project, options, absolute_paths);
    // The current source frame's decoded inputs, prepared layers and hashes, reused while the
    // output frames come from the same source (a still's whole move).
    let mut current: Option<(usize, Result<SourceFrame, String>)> = None;
    let mut background_cache: Vec<Image> = Vec::new();

    // A source frame's inputs (decode, passes, the move's layers), with the warnings loading
    // them gave.
    let load = |index: usize| {
        let src = &selected.frames[index];
        let pass_exr = pass_dir.join(src.output_name(None, "exr"));
        let mut warnings = Vec::new();
        let loaded = load_source(
            src,
            &pass_exr,
            semantics,
            depth_range,
            project,
            options,
            moving,
            &mut |w| warnings.push(w),
        );
        (loaded, warnings)
    };
    let load = &load;
    // Why a source frame's passes failed, if they did (it is then not loaded or rendered).
    let passes_failure = |index: usize| {
        let path = &selected.frames[index].path;
        failed_sources.iter().find(|f| &f.source == path)
    };

    // While a frame renders, the next source frame loads on another thread (its decode and
    // pass read are serial work that would otherwise leave a core idle between composites).
    std::thread::scope(|scope| {
        let mut pending: Option<(usize, std::thread::ScopedJoinHandle<'_, Loaded>)> = None;
        for (k, out) in frames.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                summary.cancelled = true;
                break;
            }
            let src = &selected.frames[out.source_index];
            let label = out
                .name
                .output_name(None, "")
                .trim_end_matches('.')
                .to_string();
            if let Some(f) = passes_failure(out.source_index) {
                let error = format!("its passes failed: {}", f.error);
                fail(on_event, &mut summary, &label, &src.path, error);
                continue;
            }
            let t0 = Instant::now();
            if current.as_ref().is_none_or(|(i, _)| *i != out.source_index) {
                let (loaded, warnings) = match pending.take() {
                    Some((i, handle)) if i == out.source_index => {
                        handle.join().unwrap_or_else(|_| {
                            let error = format!("{}: loading the frame failed", src.path.display());
                            (Err(error), Vec::new())
                        })
                    }
                    _ => load(out.source_index),
                };
                for w in warnings {
                    on_event(Phase::Frames, Event::Warning(w));
                }
                current = Some((out.source_index, loaded));
            }
            if pending.is_none() {
                let next = frames
                    .get(k + 1)
                    .map(|f| f.source_index)
                    .filter(|&i| i != out.source_index && passes_failure(i).is_none());
                if let Some(next) = next {
                    pending = Some((next, scope.spawn(move || load(next))));
                }
            }
            let Some((_, loaded)) = &mut current else {
                continue;
            };
            let source_frame = match loaded {
                Ok(s) => s,
                Err(error) => {
                    fail(on_event, &mut summary, &label, &src.path, error.clone());
                    continue;
                }
            };
            let pose = moving.then(|| project.camera.pose_at(out.time));
            let key = frame_key(&settings_key, source_frame, pose.as_ref());
            let outputs = output_paths(&out.name, options);
            let stamp_path = render_stamp_path(&options.out_dir, &out.name);
            if !options.force && stamp_is_current(&stamp_path, &key, &options.out_dir) {
                summary.skipped += 1;
                on_event(Phase::Frames, Event::FrameSkipped { label });
                continue;
            }
            let result = render_one(
                &engine,
                project,
                &base_dir,
                source_frame,
                pose.as_ref(),
                &backgrounds,
                &mut background_cache,
            )
            .and_then(|rendered| {
                summary.render_s += t0.elapsed().as_secs_f64();
                let meta = FrameMetadata {
                    frame: out.name.number.or(source_frame.number),
                    input_space: Some(project.plate_colour().input_for(source_frame.plate_bits)),
                    ..meta_template.clone()
                };
                write_outputs(
                    &rendered,
                    source_frame,
                    &outputs,
                    options,
                    &meta,
                    absolute_paths,
                )
            })
            .and_then(|()| {
                let stamp = RenderStamp {
                    key,
                    outputs: outputs.iter().map(|(_, p)| p.clone()).collect(),
                };
                write_atomic(&stamp_path, |w| {
                    serde_json::to_writer_pretty(w, &stamp)
                        .map_err(|e| ExportError::invalid(&stamp_path, e.to_string()))
                })
                .map_err(|e| e.to_string())
            });
            match result {
                Ok(()) => {
                    summary.done += 1;
                    on_event(
                        Phase::Frames,
                        Event::FrameDone {
                            label,
                            seconds: t0.elapsed().as_secs_f64(),
                        },
                    );
                }
                Err(error) => fail(on_event, &mut summary, &label, &src.path, error),
            }
        }
    });
    summary.failed.extend(failed_sources);

    if options.what.animatic
        && options.movie
        && !summary.cancelled
        && summary.failed.is_empty()
        && !frames.is_empty()
    {
        match make_movie(&options.out_dir, &frames, project.shot.fps) {
            Ok(Some(movie)) => summary.movie = Some(movie),
            Ok(None) => on_event(
                Phase::Frames,
                Event::Warning(
                    "ffmpeg is not on the PATH: the animatic is a PNG sequence only (apt-get install ffmpeg for an MP4)".into(),
                ),
            ),
            Err(e) => on_event(Phase::Frames, Event::Warning(format!("animatic movie: {e}"))),
        }
    }
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The frames a render of `selected` (the project's shot, or the part of it asked for) writes:
/// one per source frame, or for a still with a camera move `still_duration_frames` frames of it.
fn output_frames(project: &Project, selected: &Shot) -> Vec<OutputFrame> {
    let moving = !project.camera.is_static();
    if selected.frames.len() == 1 && moving {
        let src = &selected.frames[0];
        let n = project.camera.still_duration_frames.max(1);
        (0..n)
            .map(|i| OutputFrame {
                source_index: 0,
                time: i as f32,
                name: Frame {
                    path: src.path.clone(),
                    name: if src.name.is_empty() {
                        "frame".into()
                    } else {
                        src.name.clone()
                    },
                    number: Some(i + 1),
                    padding: 4,
                },
            })
            .collect()
    } else {
        selected
            .frames
            .iter()
            .enumerate()
            .map(|(i, f)| OutputFrame {
                source_index: i,
                time: f.number.map_or(i as f32, |n| n as f32),
                name: f.clone(),
            })
            .collect()
    }
}

/// The names of the frames a render of `selected` writes (see `output_frames`), in order: what
/// `Frame::output_name` turns into `composite/`, `animatic/` and stamp file names.
pub fn output_names(project: &Project, selected: &Shot) -> Vec<Frame> {
    output_frames(project, selected)
        .into_iter()
        .map(|f| f.name)
        .collect()
}

/// Where a render stamps the output frame `name` in `out_dir`.
pub fn render_stamp_path(out_dir: &Path, name: &Frame) -> PathBuf {
    out_dir
        .join(STAMP_DIR)
        .join(name.output_name(Some("render"), "json"))
}

/// Whether a render stamp exists and every output it lists (relative to `out_dir`) exists. The
/// settings are not compared: only a run with them can.
pub fn render_stamp_is_done(stamp: &Path, out_dir: &Path) -> bool {
    std::fs::read_to_string(stamp)
        .ok()
        .and_then(|t| serde_json::from_str::<RenderStamp>(&t).ok())
        .is_some_and(|s| s.outputs.iter().all(|p| out_dir.join(p).is_file()))
}

/// Reports a frame's failure and records it; the other frames go on.
fn fail(
    on_event: &mut dyn FnMut(Phase, Event),
    summary: &mut RenderSummary,
    label: &str,
    source: &Path,
    error: String,
) {
    on_event(
        Phase::Frames,
        Event::FrameFailed {
            label: label.to_string(),
            error: error.clone(),
        },
    );
    summary.failed.push(FrameFailure {
        source: source.to_path_buf(),
        error,
    });
}

/// A loaded source frame, or why it could not be loaded, and the warnings loading it gave.
type Loaded = (Result<SourceFrame, String>, Vec<String>);

/// A decoded source frame with its inputs, ready to render.
struct SourceFrame {
    path: PathBuf,
    number: Option<u32>,
    plate_bits: u8,
    plate_hash: String,
    pass_hash: String,
    inputs: FrameInputs,
    /// The full-size plate's width (the render may be reduced).
    full_width: u32,
}

#[allow(clippy::too_many_arguments)]
fn load_source(
    src: &Frame,
    pass_exr: &Path,
    semantics: Option<DepthSemantics>,
    range: Option<DepthRange>,
    project: &Project,
    options: &RenderOptions,
    moving: bool,
    warn: &mut dyn FnMut(String),
) -> Result<SourceFrame, String> {
    // MATTEBOX_PROFILE_OPS=1 prints each stage's time (as `cpu::render` does for its ops).
    let profile = std::env::var_os("MATTEBOX_PROFILE_OPS").is_some();
    let mut t = Instant::now();
    let mut lap = |what: &str| {
        if profile {
            eprintln!("load {what:22} {:6.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
        t = Instant::now();
    };
    let plate_hash = hash_file(&src.path).map_err(|e| format!("{}: {e}", src.path.display()))?;
    let pass_hash = hash_file(pass_exr).map_err(|e| format!("{}: {e}", pass_exr.display()))?;
    lap("hash");
    let plate = load_plate(&src.path, &options.limits, &project.plate_colour())
        .map_err(|e| e.to_string())?;
    lap("decode");
    let (plate_img, mut aux) =
        frame_inputs(&plate, pass_exr, semantics, range, &project.scene, warn)
            .map_err(|e| e.to_string())?;
    lap("passes");
    // The artist's strokes and subject depth, over the AI passes (the pass file itself is never
    // changed), as the viewer applies them.
    apply_overrides(&mut aux, project, src.number);
    lap("strokes");
    let full_width = plate_img.width;
    // A reduced render: the plate and passes at the reduced size (strokes painted at full size).
    let divisor = options.scale_divisor.max(1);
    let (plate_img, aux) = if divisor > 1 {
        let w = (plate_img.width / divisor).max(1);
        let h = (plate_img.height / divisor).max(1);
        (
            plate_img
                .resized(w, h)
                .map_err(|e| format!("{}: {e}", src.path.display()))?,
            aux.resized(w, h)
                .map_err(|e| format!("{}: {e}", pass_exr.display()))?,
        )
    } else {
        (plate_img, aux)
    };
    let mut inputs = FrameInputs::default();
    if moving {
        let prepared = prepare(&plate_img, &aux, &project.camera.prepare);
        inputs.front = Some(prepared.front);
        inputs.fill = Some(prepared.fill);
        lap("prepare");
    }
    inputs.plate = Some(plate_img);
    inputs.aux = Some(aux);
    Ok(SourceFrame {
        path: src.path.clone(),
        number: src.number,
        plate_bits: plate.source_bits,
        plate_hash,
        pass_hash,
        inputs,
        full_width,
    })
}

fn render_one(
    engine: &Engine,
    project: &Project,
    base_dir: &Path,
    source: &mut SourceFrame,
    pose: Option<&CameraPose>,
    backgrounds: &[(PathBuf, Image)],
    background_cache: &mut Vec<Image>,
) -> Result<Rendered, String> {
    let (w, h) = source
        .inputs
        .plate
        .as_ref()
        .map(|p| (p.width, p.height))
        .ok_or_else(|| "no plate".to_string())?;
    // Pixel settings follow the render's size (1 at full size).
    let full_w = source.full_width.max(1);
    let layers = crate::composite::planner::scale_pixels(&project.layers, w as f32 / full_w as f32);
    let spec = FrameSpec {
        layers: &layers,
        scene: &project.scene,
        base_dir,
        camera: pose,
        prepare: &project.camera.prepare,
        solo: None,
    };
    let plan = plan_frame(&spec, w, h);
    // Background pictures are scaled to cover the frame once per frame size.
    if background_cache.len() != plan.images.len()
        || background_cache
            .first()
            .is_some_and(|i| (i.width, i.height) != (w, h))
    {
        background_cache.clear();
        for path in &plan.images {
            let image = backgrounds
                .iter()
                .find(|(p, _)| p == path)
                .ok_or_else(|| format!("background image {} was not loaded", path.display()))?;
            background_cache.push(
                image
                    .1
                    .cover(w, h)
                    .map_err(|e| format!("background image {}: {e}", path.display()))?,
            );
        }
    }
    // The frame's inputs are read in place: the scaled backgrounds are lent to them for the
    // render and taken back (a copy of a 1080p frame's inputs is some 170 MB of page faults).
    source.inputs.images = std::mem::take(background_cache);
    let rendered = engine.render(&plan, &source.inputs);
    *background_cache = std::mem::take(&mut source.inputs.images);
    rendered.map_err(|e| e.to_string())
}

/// The files written for one output frame: (kind, path relative to the output folder).
fn output_paths(name: &Frame, options: &RenderOptions) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    if options.what.composite {
        if options.formats.exr {
            out.push((
                "exr",
                PathBuf::from("composite").join(name.output_name(None, "exr")),
            ));
        }
        if options.formats.png {
            out.push((
                "png",
                PathBuf::from("composite").join(name.output_name(None, "png")),
            ));
        }
    }
    if options.what.animatic {
        out.push((
            "animatic",
            PathBuf::from("animatic").join(name.output_name(None, "png")),
        ));
    }
    out
}

/// Premultiplied RGBA → a straight-alpha plate for the writers.
fn to_plate(image: &Image, bits: u8) -> Plate {
    let rgba = image
        .pixels
        .iter()
        .flat_map(|p| {
            let a = p[3];
            if a > 1e-6 {
                [p[0] / a, p[1] / a, p[2] / a, a.min(1.0)]
            } else {
                [0.0, 0.0, 0.0, 0.0]
            }
        })
        .collect();
    Plate {
        width: image.width,
        height: image.height,
        rgba,
        source_bits: bits,
    }
}

/// Writes one output frame's files; `meta` is the EXR header but for the source path, which is
/// recorded here relative to each file's folder (or absolute).
fn write_outputs(
    rendered: &Rendered,
    source: &SourceFrame,
    outputs: &[(&'static str, PathBuf)],
    options: &RenderOptions,
    meta: &FrameMetadata,
    absolute_paths: bool,
) -> Result<(), String> {
    let (w, h) = (rendered.rgba.width, rendered.rgba.height);
    for (kind, rel) in outputs {
        let path = options.out_dir.join(rel);
        let result = match *kind {
            "exr" => {
                let plate = to_plate(&rendered.rgba, 32);
                // Distance in scene metres from the render's camera: `meta.scene_depth` says so.
                let depth = DepthMap {
                    width: w,
                    height: h,
                    values: rendered.aux.pixels.iter().map(|p| p[0]).collect(),
                    semantics: DepthSemantics::Metric,
                };
                let mattes = vec![
                    Matte {
                        name: "fg".into(),
                        width: w,
                        height: h,
                        alpha: rendered.aux.pixels.iter().map(|p| p[1]).collect(),
                    },
                    Matte {
                        name: "disocclusion".into(),
                        width: w,
                        height: h,
                        alpha: rendered.aux.pixels.iter().map(|p| p[3]).collect(),
                    },
                ];
                let folder = path.parent().unwrap_or(&options.out_dir);
                let meta = FrameMetadata {
                    source: recorded_source(&source.path, folder, absolute_paths),
                    ..meta.clone()
                };
                write_layered_exr(
                    &path,
                    &plate,
                    Some(&depth),
                    &mattes,
                    &meta,
                    options.exr_compression,
                )
            }
            // The PNGs are sRGB-encoded Rec.709, whatever the working space.
            "png" => write_plate_png(
                &path,
                &meta
                    .working_space
                    .into_rec709(to_plate(&rendered.rgba, source.plate_bits)),
            ),
            _ => {
                // The animatic: opaque over black, 8-bit sRGB.
                let mut plate = meta.working_space.into_rec709(to_plate(&rendered.rgba, 8));
                for px in plate.rgba.chunks_exact_mut(4) {
                    let a = px[3];
                    px[0] *= a;
                    px[1] *= a;
                    px[2] *= a;
                    px[3] = 1.0;
                }
                write_plate_png(&path, &plate)
            }
        };
        result.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The part of the key shared by every frame: the project's drawing settings and the outputs.
fn settings_key(project: &Project, options: &RenderOptions, absolute_paths: bool) -> String {
    let mut value = serde_json::json!({
        "software": crate::SOFTWARE,
        "layout": crate::export::exr::LAYOUT_VERSION,
        "absolute_paths": absolute_paths,
        "fps": project.shot.fps,
        "layers": project.layers,
        "scene": project.scene,
        "what": options.what,
        "exr": options.formats.exr,
        "png": options.formats.png,
        "compression": options.exr_compression.as_str(),
        "prepare": project.camera.prepare,
        "matte_strokes": project.matte_strokes,
        "scale_divisor": options.scale_divisor.max(1),
    });
    if project.subject_depth != Default::default() {
        value["subject_depth"] = serde_json::json!(project.subject_depth);
    }
    // The default colour adds nothing, so frames stamped before colour management stay current.
    let colour = project.plate_colour();
    if colour.is_default() {
        value.to_string()
    } else {
        format!("{value} {colour:?}")
    }
}

fn frame_key(settings: &str, source: &SourceFrame, pose: Option<&CameraPose>) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(settings.as_bytes());
    hasher.update(source.plate_hash.as_bytes());
    hasher.update(source.pass_hash.as_bytes());
    hasher.update(format!("{pose:?}").as_bytes());
    hasher.finalize().to_hex().to_string()
}

fn stamp_is_current(stamp: &Path, key: &str, out_dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(stamp) else {
        return false;
    };
    let Ok(stamp) = serde_json::from_str::<RenderStamp>(&text) else {
        return false;
    };
    stamp.key == key && stamp.outputs.iter().all(|p| out_dir.join(p).is_file())
}

/// How the animatic's sRGB-encoded PNG frames become the MP4's video: even dimensions, then
/// RGB to limited-range Y'CbCr 4:2:0 with the BT.709 matrix (swscale's default is BT.601, which
/// would shift the colours of a player that reads the tags), and the stream tagged BT.709 in
/// primaries, transfer and matrix, as review players and editorial expect.
const MOVIE_COLOUR_ARGS: [&str; 12] = [
    "-vf",
    "pad=ceil(iw/2)*2:ceil(ih/2)*2,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-colorspace",
    "bt709",
    "-color_range",
    "tv",
    "-pix_fmt",
    "yuv420p",
];

/// Encodes the animatic frames to `animatic/<name>.mp4` with ffmpeg (H.264, yuv420p, tagged
/// BT.709: [`MOVIE_COLOUR_ARGS`]), written to a temporary name and renamed. `Ok(None)` when
/// ffmpeg is not installed.
fn make_movie(out_dir: &Path, frames: &[OutputFrame], fps: f32) -> Result<Option<PathBuf>, String> {
    let names: Vec<Frame> = frames.iter().map(|f| f.name.clone()).collect();
    make_animatic_movie(out_dir, &names, fps)
}

/// Encodes `out_dir/animatic/`'s PNG frames, named after `frames` (see [`output_names`]), to
/// `animatic/<name>.mp4` at `fps`, as a render with the animatic does at its end. `Ok(None)`
/// when ffmpeg is not installed or there are no frames.
pub fn make_animatic_movie(
    out_dir: &Path,
    frames: &[Frame],
    fps: f32,
) -> Result<Option<PathBuf>, String> {
    let Some(first) = frames.first() else {
        return Ok(None);
    };
    let probe = std::process::Command::new("ffmpeg")
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if probe.is_err() {
        return Ok(None);
    }
    let dir = out_dir.join("animatic");
    // ffmpeg reads a numbered sequence through a list, so any numbering (gaps included) works.
    let list = dir.join(".frames.txt");
    let mut text = String::new();
    for f in frames {
        let name = f.output_name(None, "png");
        text.push_str(&format!(
            "file '{}'\nduration {}\n",
            name.replace('\'', "'\\''"),
            1.0 / fps.max(1.0)
        ));
    }
    std::fs::write(&list, text).map_err(|e| format!("{}: {e}", list.display()))?;
    let stem = if first.name.is_empty() {
        "animatic".to_string()
    } else {
        first.name.clone()
    };
    let movie = dir.join(format!("{stem}.mp4"));
    let tmp = dir.join(format!(".{stem}.tmp.mp4"));
    let output = std::process::Command::new("ffmpeg")
        .args([
            "-y",
            "-loglevel",
            "error",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
        ])
        .arg(&list)
        .args(["-r", &format!("{}", fps.max(1.0))])
        .args(MOVIE_COLOUR_ARGS)
        .args(["-c:v", "libx264", "-movflags", "+faststart"])
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    let _ = std::fs::remove_file(&list);
    if !output.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "ffmpeg failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    std::fs::rename(&tmp, &movie).map_err(|e| format!("{}: {e}", movie.display()))?;
    Ok(Some(movie))
}

/// Applies the project's non-destructive overrides of the AI passes to a frame's full-size aux,
/// as renders do (and so their exported `depth.Z`); the app's viewer calls this too. In order:
/// the matte brush's strokes for this frame, the subject depth (which reads the refined
/// matte), then the depth brush's strokes.
pub fn apply_overrides(aux: &mut Image, project: &Project, frame: Option<u32>) {
    use crate::composite::{refine, subject};
    refine::apply_strokes(aux, &project.matte_strokes, frame);
    subject::apply_subject_depth(aux, &project.subject_depth, &project.scene);
    let size = [aux.width, aux.height];
    refine::apply_depth_strokes_at(aux, &project.matte_strokes, frame, size, &project.scene);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::png::write_plate_png;
    use std::process::Command;

    /// Whether a tool runs; missing is a failure on CI (scripts/setup.sh installs it) and a skip
    /// elsewhere.
    fn have(tool: &str) -> bool {
        let found = Command::new(tool).arg("-version").output().is_ok();
        assert!(
            found || std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is missing on CI: scripts/setup.sh installs it"
        );
        if !found {
            eprintln!("skipped: {tool} is not installed (apt-get install ffmpeg)");
        }
        found
    }

    /// The animatic MP4 is tagged BT.709 (primaries, transfer, matrix, limited range), and its
    /// colours decode back to the PNG's sRGB codes by those tags: the RGB to Y'CbCr conversion
    /// used the matrix the tags name.
    #[test]
    fn the_animatic_movie_is_tagged_bt709_and_its_colours_match() {
        if !have("ffmpeg") || !have("ffprobe") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("animatic")).unwrap();
        let (w, h) = (64u32, 48u32);
        // A saturated orange, sRGB codes (200, 60, 30): BT.601 and BT.709 matrices disagree on
        // it by more than 10 codes.
        let code = [200u8, 60, 30];
        let linear = code.map(|c| crate::shot::colour::srgb_to_linear(f32::from(c) / 255.0));
        let plate = Plate {
            width: w,
            height: h,
            rgba: (0..w * h)
                .flat_map(|_| [linear[0], linear[1], linear[2], 1.0])
                .collect(),
            source_bits: 8,
        };
        let frames: Vec<OutputFrame> = (1..=3)
            .map(|n| OutputFrame {
                source_index: 0,
                time: n as f32,
                name: Frame {
                    path: PathBuf::from("orange.png"),
                    name: "orange".into(),
                    number: Some(n),
                    padding: 4,
                },
            })
            .collect();
        for f in &frames {
            let path = dir
                .path()
                .join("animatic")
                .join(f.name.output_name(None, "png"));
            write_plate_png(&path, &plate).unwrap();
        }
        let movie = make_movie(dir.path(), &frames, 24.0).unwrap().unwrap();

        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .arg("stream=color_space,color_primaries,color_transfer,color_range,pix_fmt")
            .args(["-of", "default=noprint_wrappers=1"])
            .arg(&movie)
            .output()
            .unwrap();
        assert!(probe.status.success(), "{probe:?}");
        let tags = String::from_utf8_lossy(&probe.stdout);
        for tag in [
            "color_space=bt709",
            "color_primaries=bt709",
            "color_transfer=bt709",
            "color_range=tv",
            "pix_fmt=yuv420p",
        ] {
            assert!(tags.contains(tag), "{tag} missing from:\n{tags}");
        }

        // ffmpeg converts back to RGB by the stream's tags, as a player does.
        let decoded = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&movie)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .output()
            .unwrap();
        assert!(decoded.status.success(), "{decoded:?}");
        let i = ((h / 2 * w + w / 2) * 3) as usize;
        let got = &decoded.stdout[i..i + 3];
        for (c, (&g, &want)) in got.iter().zip(&code).enumerate() {
            assert!(
                g.abs_diff(want) <= 3,
                "channel {c}: decoded {got:?}, the PNG holds {code:?}"
            );
        }
    }
}
