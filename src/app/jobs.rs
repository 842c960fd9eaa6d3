//! Work off the UI thread: AI passes, exports, frame loading and thumbnails. Each job runs on its
//! own thread with a cancel flag and reports through a channel that the UI polls every frame, so
//! the window never waits. The jobs call the same library functions as the command line
//! (`process::process_shot`, `render::render_project`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::composite::camera::CameraMove;
use crate::composite::image::Image;
use crate::composite::layers::{BackgroundSettings, LayerKind, SceneSettings};
use crate::composite::plan::Plan;
use crate::composite::planner::{FrameSpec, plan_frame};
use crate::composite::prepare::{Prepared, prepare};
use crate::export::sidecar::read_sidecar;
use crate::infer::{Manifest, Runtime, RuntimeOptions};
use crate::passes::cache::{PassCache, default_cache_dir};
use crate::passes::{DepthRange, DepthSemantics};
use crate::process::{Event, PassModels, ProcessOptions, process_shot};
use crate::project::Project;
use crate::render::{RenderOptions, RendererChoice, What, frame_inputs, render_project};
use crate::shot::decode::DecodeLimits;
use crate::shot::{Frame, FrameRange, PlateColour, Shot, load_plate};

use super::i18n::t;

/// A message from a job.
#[derive(Debug, Clone)]
pub enum JobMsg {
    /// The execution provider(s) the models run on.
    Provider(String),
    /// Work on `total` frames begins.
    Started(usize),
    /// A frame finished (its label).
    FrameDone(String),
    /// A frame failed (label, reason naming the file).
    FrameFailed(String, String),
    /// A warning.
    Warning(String),
    /// The job ended: a summary, or why it could not run.
    Finished(Result<String, String>),
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Depth and matte passes.
    Passes,
    /// An export (composite, animatic).
    Export,
}

/// A running job.
#[derive(Debug)]
pub struct Job {
    /// What it does.
    pub kind: JobKind,
    /// Set to stop it after the current frame.
    pub cancel: Arc<AtomicBool>,
    /// Its messages.
    pub rx: Receiver<JobMsg>,
    /// Frames to do.
    pub total: usize,
    /// Frames done or failed.
    pub done: usize,
    /// Where its output goes (exports).
    pub out_dir: Option<PathBuf>,
    /// When it started (the ETA).
    pub started: std::time::Instant,
}

impl Job {
    /// 0..1.
    pub fn progress(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            self.done as f32 / self.total as f32
        }
    }

    /// The time left at the rate so far, once a frame is done.
    pub fn eta(&self) -> Option<std::time::Duration> {
        if self.done == 0 || self.total <= self.done {
            return None;
        }
        let per = self.started.elapsed().as_secs_f64() / self.done as f64;
        Some(std::time::Duration::from_secs_f64(
            per * (self.total - self.done) as f64,
        ))
    }

    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// The folder where the app keeps a shot's passes: `MATTEBOX_WORK_DIR`, else
/// `~/.cache/mattebox/work/<hash of the shot's path>`. Never next to the source frames.
pub fn work_dir(source: &Path) -> PathBuf {
    let root = std::env::var_os("MATTEBOX_WORK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            default_cache_dir()
                .parent()
                .map(|p| p.join("work"))
                .unwrap_or_else(|| PathBuf::from("mattebox-work"))
        });
    let abs = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
    let hash = blake3::hash(abs.to_string_lossy().as_bytes()).to_hex();
    root.join(&hash.as_str()[..16])
}

/// Where a frame's pass EXR is (or will be).
pub fn pass_exr(source: &Path, frame: &Frame) -> PathBuf {
    work_dir(source)
        .join("passes")
        .join(frame.output_name(None, "exr"))
}

fn load_models(project: &Project) -> Result<(PassModels, String), String> {
    let runtime = Runtime::new(RuntimeOptions::default()).map_err(|e| e.to_string())?;
    let manifest = Manifest::load(None, &[]).map_err(|e| e.to_string())?;
    let models = PassModels::load(
        &runtime,
        &manifest,
        &project.passes.depth_model,
        &project.passes.matte_model,
    )
    .map_err(|e| e.to_string())?;
    let label = t!(
        "provider-line",
        version = runtime.version,
        provider = models.provider_label()
    );
    Ok((models, label))
}

fn forward(tx: &Sender<JobMsg>, event: Event) {
    let msg = match event {
        Event::Started { total } => JobMsg::Started(total),
        Event::Warning(w) => JobMsg::Warning(w),
        Event::FrameDone { label, .. } | Event::FrameSkipped { label } => JobMsg::FrameDone(label),
        Event::FrameFailed { label, error } => JobMsg::FrameFailed(label, error),
    };
    let _ = tx.send(msg);
}

/// Runs `work` on a named thread with the project and its models loaded (their provider is reported
/// first), and reports its result as `Finished`; a thread that cannot start is a finished error.
fn spawn_job(
    kind: JobKind,
    name: &str,
    project: Project,
    out_dir: Option<PathBuf>,
    work: impl FnOnce(&Project, &mut PassModels, &Sender<JobMsg>, &AtomicBool) -> Result<String, String>
    + Send
    + 'static,
) -> Job {
    let (tx, rx) = unbounded();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let sender = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            // Below the UI (ONNX Runtime's threads, made here, inherit it).
            super::render_worker::lower_priority(super::render_worker::COMPOSITOR_NICE);
            let result = load_models(&project).and_then(|(mut models, label)| {
                let _ = tx.send(JobMsg::Provider(label));
                work(&project, &mut models, &tx, &flag)
            });
            let _ = tx.send(JobMsg::Finished(result));
        });
    if let Err(e) = spawned {
        let _ = sender.send(JobMsg::Finished(Err(t!("job-thread-failed", error = e))));
    }
    Job {
        kind,
        cancel,
        rx,
        total: 0,
        done: 0,
        out_dir,
        started: std::time::Instant::now(),
    }
}

/// Starts the depth and matte passes for `range` (None: the whole shot) of the project's shot.
pub fn start_passes(project: &Project, shot: &Shot, range: Option<FrameRange>) -> Job {
    let shot = shot.clone();
    let colour = project.plate_colour();
    let temporal = project.passes.temporal_settings();
    spawn_job(
        JobKind::Passes,
        "mattebox passes",
        project.clone(),
        None,
        move |_, models, tx, cancel| {
            let mut options = ProcessOptions::new(work_dir(&shot.source).join("passes"));
            options.range = range;
            options.formats = crate::process::Formats {
                exr: true,
                png: false,
            };
            options.cache = Some(PassCache::new(default_cache_dir()));
            options.colour = colour;
            options.temporal = temporal;
            let summary = process_shot(&shot, models, &options, cancel, &mut |e| forward(tx, e))
                .map_err(|e| e.to_string())?;
            Ok(t!(
                "job-passes-summary",
                made = summary.done,
                current = summary.skipped,
                failed = summary.failed.len()
            ))
        },
    )
}

/// What the Export dialog asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRequest {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Composite and/or animatic.
    pub what: What,
    /// Composite formats.
    pub formats: crate::process::Formats,
    /// The renderer.
    pub renderer: RendererChoice,
    /// Only these frames (the sequence's own numbers), else the whole shot.
    pub range: Option<FrameRange>,
    /// 1 full size, 2 half.
    pub scale_divisor: u32,
    /// The EXR compression.
    pub exr_compression: crate::export::ExrCompression,
}

/// Starts an export through `render::render_project`, the same code as `mattebox render`.
pub fn start_export(project: &Project, project_path: &Path, request: ExportRequest) -> Job {
    let project_path = project_path.to_path_buf();
    let out_dir = request.out_dir.clone();
    spawn_job(
        JobKind::Export,
        "mattebox export",
        project.clone(),
        Some(out_dir),
        move |project, models, tx, cancel| {
            let mut options = RenderOptions::new(&request.out_dir);
            options.what = request.what;
            options.formats = request.formats;
            options.renderer = request.renderer;
            options.exr_compression = request.exr_compression;
            options.range = request.range;
            options.scale_divisor = request.scale_divisor.max(1);
            options.cache = Some(PassCache::new(default_cache_dir()));
            let summary = render_project(
                project,
                &project_path,
                models,
                &options,
                cancel,
                &mut |phase, e| {
                    if phase == crate::render::Phase::Frames {
                        forward(tx, e)
                    } else if let Event::Warning(w) = e {
                        let _ = tx.send(JobMsg::Warning(w));
                    }
                },
            )
            .map_err(|e| e.to_string())?;
            if summary.cancelled {
                return Err(t!("job-export-cancelled"));
            }
            if let Some(first) = summary.failed.first() {
                return Err(t!(
                    "job-export-failed",
                    folder = summary.out_dir.display(),
                    failed = summary.failed.len(),
                    error = first.error
                ));
            }
            Ok(t!(
                "job-exported",
                frames = summary.done + summary.skipped,
                folder = summary.out_dir.display()
            ))
        },
    )
}

/// A frame ready for the viewer: its inputs on the CPU.
#[derive(Debug)]
pub struct LoadedFrame {
    /// What it was loaded for (see [`LoadRequest::key`]).
    pub key: u64,
    /// The premultiplied plate.
    pub plate: Image,
    /// `(distance_m, matte, nearness, 0)`, when the frame has passes.
    pub aux: Option<Image>,
    /// The camera move's layers, when there is a move and passes.
    pub prepared: Option<Prepared>,
    /// Background pictures, scaled to cover the frame, in the order the planner asks for them.
    pub images: Vec<(PathBuf, Image)>,
    /// What went wrong, naming the file (the plate still shows if it decoded).
    pub error: Option<String>,
    /// The depth meaning, for the legend.
    pub semantics: Option<DepthSemantics>,
    /// Preview size / full size (1 at full size): the viewer draws a reduced preview on slow
    /// adapters.
    pub scale: f32,
    /// The full-size plate's width and height.
    pub full_size: (u32, u32),
    /// The source frame.
    pub source: PathBuf,
    /// The plate itself could not be read: why (the viewer says so instead of offering
    /// passes).
    pub unreadable: Option<String>,
}

impl LoadedFrame {
    /// This frame's inputs reduced by `divisor` in width and height (the draft composite while a
    /// control is dragged); `None` when it would be under 16 px wide.
    pub fn reduced(&self, divisor: u32) -> Option<LoadedFrame> {
        use rayon::prelude::*;
        let w = self.plate.width / divisor.max(1);
        if w < 16 || divisor <= 1 {
            return None;
        }
        let h = (self.plate.height / divisor).max(1);
        // Every image, resized in parallel: the plate, the aux, the move's four layers, then
        // the background pictures.
        let mut all: Vec<&Image> = vec![&self.plate];
        all.extend(&self.aux);
        if let Some(p) = &self.prepared {
            all.extend([&p.front.0, &p.front.1, &p.fill.0, &p.fill.1]);
        }
        all.extend(self.images.iter().map(|(_, i)| i));
        let resized: Option<Vec<Image>> = all.par_iter().map(|i| i.resized(w, h).ok()).collect();
        let mut resized = resized?.into_iter();
        let plate = resized.next()?;
        let aux = match &self.aux {
            Some(_) => Some(resized.next()?),
            None => None,
        };
        let prepared = match &self.prepared {
            Some(_) => Some(Prepared {
                front: (resized.next()?, resized.next()?),
                fill: (resized.next()?, resized.next()?),
            }),
            None => None,
        };
        let images = self
            .images
            .iter()
            .map(|(path, _)| Some((path.clone(), resized.next()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(LoadedFrame {
            key: self.key,
            plate,
            aux,
            prepared,
            images,
            error: None,
            semantics: self.semantics,
            scale: self.scale * w as f32 / self.plate.width as f32,
            full_size: self.full_size,
            source: self.source.clone(),
            unreadable: None,
        })
    }
}

/// Everything needed to load one frame.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// Identifies the request: frame, pass file state and the settings that shape the inputs.
    pub key: u64,
    /// The source frame.
    pub source: PathBuf,
    /// Its frame number.
    pub number: Option<u32>,
    /// Its pass EXR.
    pub pass_exr: PathBuf,
    /// The shot's pass sidecar.
    pub sidecar: PathBuf,
    /// The scene (depth mapping).
    pub scene: SceneSettings,
    /// The camera move (its `prepare` settings; prepared only if it moves).
    pub camera: CameraMove,
    /// The project (its matte strokes and background pictures).
    pub project: Arc<Project>,
    /// The project's folder.
    pub base_dir: PathBuf,
    /// The preview's size (the inputs are reduced on the loader thread).
    pub proxy: Proxy,
    /// With `Proxy::Auto`: preview at most this wide (`None`: full size).
    pub max_width: Option<u32>,
}

/// The viewer's proxy size, as in Nuke's and Resolve's viewers: exports are always full size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proxy {
    /// Full size on a GPU; at most 960 px wide on a software adapter
    /// (`MATTEBOX_PREVIEW_WIDTH` overrides).
    #[default]
    Auto,
    /// Every pixel of the plate.
    Full,
    /// Half the width and height.
    Half,
    /// A quarter of the width and height.
    Quarter,
}

impl Proxy {
    /// Every choice, for the selector.
    pub const ALL: [Proxy; 4] = [Proxy::Auto, Proxy::Full, Proxy::Half, Proxy::Quarter];

    /// The selector's label, in the language in use.
    pub fn label(self) -> String {
        match self {
            Proxy::Auto => t!("proxy-auto"),
            Proxy::Full => t!("proxy-full"),
            Proxy::Half => "1/2".into(),
            Proxy::Quarter => "1/4".into(),
        }
    }

    /// A number that tells the choices apart (the RAM preview's key).
    pub fn code(self) -> u32 {
        match self {
            Proxy::Auto => 0,
            Proxy::Full => 1,
            Proxy::Half => 2,
            Proxy::Quarter => 4,
        }
    }

    /// The preview's width for a plate `width` wide (`max_width`: Auto's limit).
    pub fn width_for(self, width: u32, max_width: Option<u32>) -> u32 {
        let w = match self {
            Proxy::Auto => max_width.filter(|m| *m > 0).map_or(width, |m| width.min(m)),
            Proxy::Full => width,
            Proxy::Half => width.div_ceil(2),
            Proxy::Quarter => width.div_ceil(4),
        };
        w.max(1)
    }
}

/// What the viewer's plan is made from, apart from the frame: the compositor thread plans the
/// same stack again at a reduced size for a draft while a control is dragged.
#[derive(Debug, Clone)]
pub struct PlanInputs {
    /// The layer stack at full-size pixel settings.
    pub layers: Vec<crate::composite::layers::Layer>,
    /// The scene.
    pub scene: SceneSettings,
    /// The project's folder (background pictures).
    pub base_dir: PathBuf,
    /// The camera pose at this timeline position, when the camera moves.
    pub pose: Option<crate::composite::camera::CameraPose>,
    /// Depth-edge handling for the move.
    pub prepare: crate::composite::prepare::PrepareSettings,
    /// The soloed layer.
    pub solo: Option<usize>,
}

impl PlanInputs {
    /// The plan for `frame` (pixel settings scaled to the frame's preview size), and a key of its
    /// content.
    pub fn plan(&self, frame: &LoadedFrame) -> (Plan, u64) {
        let layers = crate::composite::planner::scale_pixels(&self.layers, frame.scale);
        let pose = self.pose.as_ref().filter(|_| frame.prepared.is_some());
        let spec = FrameSpec {
            layers: &layers,
            scene: &self.scene,
            base_dir: &self.base_dir,
            camera: pose,
            prepare: &self.prepare,
            solo: self.solo,
        };
        let plan = plan_frame(&spec, frame.plate.width, frame.plate.height);
        let mut h = blake3::Hasher::new();
        h.update(format!("{plan:?}").as_bytes());
        (plan, key64(&h))
    }
}

/// The first 64 bits of a hash: the app's keys of frames, plans and documents.
pub fn key64(h: &blake3::Hasher) -> u64 {
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(out)
}

impl LoadRequest {
    /// The key of a frame's inputs: changes when the frame, its pass file or the settings that
    /// shape the inputs change.
    pub fn key_for(source: &Path, pass_exr: &Path, project: &Project, base_dir: &Path) -> u64 {
        let mut h = blake3::Hasher::new();
        h.update(source.to_string_lossy().as_bytes());
        let stamp = std::fs::metadata(pass_exr)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| format!("{t:?}"))
            .unwrap_or_default();
        h.update(stamp.as_bytes());
        // The shot-wide depth range arrives with the sidecar at the end of a pass job.
        let sidecar = pass_exr.with_file_name(crate::export::sidecar::SIDECAR_NAME);
        let stamp = std::fs::metadata(&sidecar)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| format!("{t:?}"))
            .unwrap_or_default();
        h.update(stamp.as_bytes());
        let shaping = serde_json::json!({
            "scene": project.scene,
            "prepare": project.camera.prepare,
            "moving": !project.camera.is_static(),
            "strokes": project.matte_strokes,
            "subject": project.subject_depth,
            "colour": format!("{:?}", project.plate_colour()),
            "backgrounds": project.layers.iter().filter_map(|l| match &l.kind {
                LayerKind::Background(BackgroundSettings::Image { path }) => Some(base_dir.join(path)),
                _ => None,
            }).collect::<Vec<_>>(),
        });
        h.update(shaping.to_string().as_bytes());
        key64(&h)
    }
}

/// Loads one frame for the viewer (the loader thread, and the RAM preview's render-ahead).
pub fn load(request: &LoadRequest) -> LoadedFrame {
    let mut error = None;
    let colour = request.project.plate_colour();
    let plate = match load_plate(&request.source, &DecodeLimits::default(), &colour) {
        Ok(p) => p,
        Err(e) => {
            return LoadedFrame {
                key: request.key,
                plate: Image::new(1, 1),
                aux: None,
                prepared: None,
                images: Vec::new(),
                error: Some(super::i18n::shot_error(&e)),
                semantics: None,
                scale: 1.0,
                full_size: (1, 1),
                source: request.source.clone(),
                unreadable: Some(super::i18n::shot_error(&e)),
            };
        }
    };
    let sidecar = read_sidecar(&request.sidecar).ok();
    let semantics = sidecar
        .as_ref()
        .and_then(|s| s.depth.as_ref())
        .and_then(|d| d.semantics);
    let range: Option<DepthRange> = sidecar.as_ref().and_then(|s| s.depth_range);
    let mut warnings = Vec::new();
    let (plate_img, aux) = if request.pass_exr.is_file() {
        match frame_inputs(
            &plate,
            &request.pass_exr,
            semantics,
            range,
            &request.scene,
            &mut |w| warnings.push(w),
        ) {
            Ok((p, mut a)) => {
                crate::render::apply_overrides(&mut a, &request.project, request.number);
                (p, Some(a))
            }
            Err(e) => {
                error = Some(e.to_string());
                (Image::from_plate(&plate), None)
            }
        }
    } else {
        (Image::from_plate(&plate), None)
    };
    if error.is_none()
        && let Some(w) = warnings.into_iter().next()
    {
        error = Some(w);
    }
    // A reduced preview: every input at the preview size (the matte strokes were applied at
    // full size above).
    let full_size = (plate_img.width, plate_img.height);
    let preview_w = request.proxy.width_for(plate_img.width, request.max_width);
    let (plate_img, aux, scale) = match preview_w {
        max if plate_img.width > max => {
            let scale = max as f32 / plate_img.width as f32;
            let h = ((plate_img.height as f32 * scale).round() as u32).max(1);
            let resize = |i: &Image| i.resized(max, h).unwrap_or_else(|_| i.clone());
            (resize(&plate_img), aux.as_ref().map(resize), scale)
        }
        _ => (plate_img, aux, 1.0),
    };
    let prepared = match &aux {
        Some(a) if !request.camera.is_static() => {
            Some(prepare(&plate_img, a, &request.camera.prepare))
        }
        _ => None,
    };
    let mut images = Vec::new();
    for layer in &request.project.layers {
        if let LayerKind::Background(BackgroundSettings::Image { path }) = &layer.kind {
            let full = request.base_dir.join(path);
            if images.iter().any(|(p, _): &(PathBuf, Image)| *p == full) {
                continue;
            }
            // A background picture is in its file's usual space (sRGB, or linear for float).
            let background = PlateColour {
                input: None,
                working: colour.working,
            };
            match load_plate(&full, &DecodeLimits::default(), &background)
                .map_err(|e| super::i18n::shot_error(&e))
                .and_then(|p| Image::from_plate(&p).cover(plate_img.width, plate_img.height))
            {
                Ok(img) => images.push((full, img)),
                Err(e) => {
                    error = Some(t!(
                        "frame-background-failed",
                        path = full.display(),
                        error = e
                    ));
                    images.push((full, Image::new(plate_img.width, plate_img.height)));
                }
            }
        }
    }
    LoadedFrame {
        key: request.key,
        plate: plate_img,
        aux,
        prepared,
        images,
        error,
        semantics,
        scale,
        full_size,
        source: request.source.clone(),
        unreadable: None,
    }
}

/// Loads frames on a worker thread; only the newest request matters (scrubbing skips frames).
#[derive(Debug)]
pub struct FrameLoader {
    tx: Sender<LoadRequest>,
    rx: Receiver<LoadedFrame>,
    /// The key of the last request sent.
    pub pending: Option<u64>,
}

impl FrameLoader {
    /// Starts the loader thread; `wake` is called when a frame is ready (e.g. request a repaint).
    pub fn new(wake: impl Fn() + Send + 'static) -> FrameLoader {
        let (tx, requests) = unbounded::<LoadRequest>();
        let (done, rx) = unbounded();
        let _ = std::thread::Builder::new()
            .name("mattebox frames".into())
            .spawn(move || {
                super::render_worker::lower_priority(super::render_worker::LOADER_NICE);
                while let Ok(mut request) = requests.recv() {
                    // Skip to the newest request.
                    while let Ok(newer) = requests.try_recv() {
                        request = newer;
                    }
                    if done.send(load(&request)).is_err() {
                        break;
                    }
                    wake();
                }
            });
        FrameLoader {
            tx,
            rx,
            pending: None,
        }
    }

    /// Asks for a frame, unless it is the one already pending.
    pub fn request(&mut self, request: LoadRequest) {
        if self.pending == Some(request.key) {
            return;
        }
        self.pending = Some(request.key);
        let _ = self.tx.send(request);
    }

    /// The newest finished frame, if any.
    pub fn poll(&self) -> Option<LoadedFrame> {
        let mut last = None;
        while let Ok(f) = self.rx.try_recv() {
            last = Some(f);
        }
        last
    }
}

/// A finished thumbnail: frame index, and (width, height, RGBA8) or why it failed.
pub type Thumbnail = (usize, Result<(u32, u32, Vec<u8>), String>);

/// Makes small sRGB thumbnails on a worker thread.
#[derive(Debug)]
pub struct Thumbnails {
    tx: Sender<(usize, PathBuf)>,
    rx: Receiver<Thumbnail>,
}

/// Thumbnail width in pixels.
pub const THUMB_WIDTH: u32 = 96;

impl Thumbnails {
    /// Starts the thumbnail thread.
    pub fn new(wake: impl Fn() + Send + 'static) -> Thumbnails {
        let (tx, requests) = unbounded::<(usize, PathBuf)>();
        let (done, rx) = unbounded();
        let _ = std::thread::Builder::new()
            .name("mattebox thumbnails".into())
            .spawn(move || {
                super::render_worker::lower_priority(super::render_worker::COMPOSITOR_NICE);
                while let Ok((i, path)) = requests.recv() {
                    let result = image::open(&path)
                        .map(|img| {
                            let h = (THUMB_WIDTH as f32 * img.height() as f32
                                / img.width().max(1) as f32)
                                .round()
                                .max(1.0) as u32;
                            let small = img
                                .resize_exact(THUMB_WIDTH, h, image::imageops::FilterType::Triangle)
                                .to_rgba8();
                            (small.width(), small.height(), small.into_raw())
                        })
                        .map_err(|e| format!("{}: {e}", path.display()));
                    if done.send((i, result)).is_err() {
                        break;
                    }
                    wake();
                }
            });
        Thumbnails { tx, rx }
    }

    /// Asks for frame `index`'s thumbnail.
    pub fn request(&self, index: usize, path: PathBuf) {
        let _ = self.tx.send((index, path));
    }

    /// Finished thumbnails: (index, width, height, RGBA8) or an error.
    pub fn poll(&self) -> Vec<Thumbnail> {
        self.rx.try_iter().collect()
    }
}
