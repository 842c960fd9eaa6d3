//! The desktop app: egui only. It calls the headless modules (project, process, render,
//! composite) and owns no logic of its own: every change is an [`state::Action`], AI passes and
//! exports run as [`jobs`] on worker threads, and the viewer draws with the compositor's renderer
//! on eframe's own device ([`viewer`]).

pub mod fonts;
pub mod i18n;
pub mod jobs;
pub mod render_worker;
pub mod settings;
pub mod state;
mod ui;

pub use ui::unique_name;
pub mod viewer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::composite::frame_cache::{CacheKey, CachedFrame, FrameCache, default_budget_bytes};
use crate::composite::plan::Plan;
use crate::project::{Edit, Project};
use crate::shot::FrameRange;

use i18n::{Language, t};
use jobs::{
    ExportRequest, FrameLoader, Job, JobKind, JobMsg, LoadRequest, LoadedFrame, PlanInputs,
    Thumbnails,
};
use render_worker::{PrefetchItem, RenderWorker};
use state::{Action, AppState, Effect, Level};
use viewer::ViewerResources;

/// How often a dirty project is written to its autosave file, whatever else happens.
pub const AUTOSAVE_EVERY: Duration = Duration::from_secs(120);
/// An edit is autosaved this long after the last change (and at once when the window loses
/// focus).
pub const AUTOSAVE_AFTER_EDIT: Duration = Duration::from_secs(3);

/// Where the app keeps its own small files (recent files, `settings.json`):
/// `MATTEBOX_CONFIG_DIR`, else `~/.config/mattebox`.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MATTEBOX_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("mattebox")
}

/// The autosave file of a project: beside it (`name.mattebox.json.autosave`), or for an
/// untitled project, in the shot's work folder.
pub fn autosave_path(doc: &state::Document) -> PathBuf {
    match &doc.path {
        Some(p) => {
            let mut name = p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(".autosave");
            p.with_file_name(name)
        }
        None => jobs::work_dir(&doc.shot.source).join("untitled.mattebox.json.autosave"),
    }
}

/// Dialog state.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Dialog {
    /// None open.
    #[default]
    None,
    /// The Export dialog.
    Export(ExportRequest),
    /// Save-as: a path typed by hand (for machines without a file dialog).
    SaveAs(String),
    /// Open: a path typed by hand.
    Open(String),
    /// Unsaved changes before quitting.
    ConfirmQuit,
    /// An autosave newer than the project was found.
    Recover(PathBuf),
    /// Unsaved changes before an action that replaces the document (open, recent, drop, new):
    /// Save / Discard / Cancel. `save_path` is the Save-as path for an untitled project.
    ConfirmReplace {
        /// What to do once the changes are saved or discarded.
        then: Action,
        /// Where an untitled project is saved.
        save_path: String,
    },
    /// The keyboard shortcuts (Help menu).
    Shortcuts,
    /// Every file that could not be read, with why (View menu).
    Problems,
}

/// The viewer's plan for (frame inputs, project revision, playhead), with its key.
struct PlanCache {
    at: (u64, u64, usize),
    plan: Arc<Plan>,
    key: u64,
    spec: Arc<PlanInputs>,
}

/// The viewer's plan for a frame: the plan, its key and what it was made from.
pub type ViewerPlan = (Arc<Plan>, u64, Arc<PlanInputs>);

/// The app.
pub struct MatteboxApp {
    /// Everything but egui and GPU resources.
    pub state: AppState,
    loader: FrameLoader,
    thumbs: Thumbnails,
    thumb_textures: std::collections::HashMap<usize, egui::TextureHandle>,
    thumb_requested: std::collections::HashSet<usize>,
    /// One message per file that could not be read or processed, in plain words (the Problems
    /// list; frames in it get a red badge in the filmstrip).
    pub problems: std::collections::BTreeMap<PathBuf, String>,
    frame: Option<Arc<LoadedFrame>>,
    /// The frame loaded before `frame`, kept so that a step back to it (a step and back, an A/B
    /// between two frames) has its inputs at once, and a drag there drafts without a load.
    previous_frame: Option<Arc<LoadedFrame>>,
    /// The running pass job.
    pub passes: Option<Job>,
    /// The running export job.
    pub export: Option<Job>,
    /// The ONNX Runtime provider line, once a job loaded the models.
    pub provider: String,
    /// The viewer's adapter.
    pub adapter: String,
    /// The CJK fallback font in use, or why there is none.
    pub fonts: fonts::FontStatus,
    /// The fonts installed (egui's and the CJK fallback), for the coverage check.
    font_definitions: egui::FontDefinitions,
    /// The app's settings (the language chosen).
    pub settings: settings::Settings,
    /// The viewer's adapter and the compositor's device, untranslated (the status bar's line
    /// is made again in a new language).
    adapter_parts: Option<(String, Option<String>)>,
    /// The open dialog.
    pub dialog: Dialog,
    last_autosave: Instant,
    /// The revision the autosave file holds (none yet: `None`).
    autosaved_revision: Option<u64>,
    /// The revision and when it was first seen: the debounce of the autosave.
    last_change: (u64, Instant),
    /// The user chose Save or Discard: the next replacing action goes ahead.
    replace_confirmed: bool,
    /// When playback shows its next frame.
    next_play_step: Instant,
    /// When playback last showed a new frame.
    last_play_step: Instant,
    /// Playback's measured frames per second (0 before two frames were shown).
    pub play_fps: f32,
    /// The RAM preview: composited display frames within `cache_budget_mb`.
    pub cache: Arc<Mutex<FrameCache>>,
    /// The RAM preview's budget in MiB (View menu; `MATTEBOX_RAM_PREVIEW_MB` sets the default).
    pub cache_budget_mb: usize,
    /// The playhead's frame from the RAM preview, when it is cached (shown whole).
    pub shown_cached: Option<(CacheKey, Arc<CachedFrame>)>,
    /// (revision, pass generation) and the document key made from them.
    doc_key: Option<((u64, u64), u64)>,
    /// The document key the render-ahead list was sent for (while playing).
    prefetch_sent: Option<u64>,
    /// The revision when the current drag began (a drag that edits makes draft composites).
    drag_revision: Option<u64>,
    /// The load key of the playhead's frame.
    playhead_key: Option<u64>,
    /// The timeline position `composite_current` was judged for.
    current_at: usize,
    /// The composite the viewer last asked for: (timeline position, request key).
    pub wanted: Option<(usize, render_worker::RequestKey)>,
    allow_close: bool,
    ui: ui::UiState,
    title: String,
    /// Run the passes of a newly opened shot's frames that have none (on by default).
    pub auto_passes: bool,
    /// The viewer previews at most this wide (`None`: full size). On a software adapter it is
    /// 960 px (`MATTEBOX_PREVIEW_WIDTH` overrides; 0 = full size), so a 4K plate does not stall
    /// the window; exports are always full size.
    pub preview_max_width: Option<u32>,
    /// Bumped when a job reports that pass files changed on disk.
    pass_generation: u64,
    /// (revision, playhead, pass generation) of the last frame request: nothing else changes a
    /// frame's inputs, so the request is not rebuilt on every repaint.
    requested: Option<(u64, usize, u64)>,
    /// The viewer's last plan.
    plan_cache: Option<PlanCache>,
    /// A composite is in flight or waiting (the viewer shows "rendering…" over the last one).
    pub rendering: bool,
    /// Seconds the last composite took on the compositor thread.
    pub last_render_s: f64,
    /// The viewer shows the composite last asked for (as of the last paint).
    pub composite_current: bool,
    /// How many composites the compositor thread has finished.
    pub composites_rendered: u64,
    /// How many frames the compositor thread has rendered ahead into the RAM preview.
    pub composites_prefetched: u64,
    /// Added to every composite (milliseconds; 0 in use): the tests' slow compositor.
    pub render_delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// The model manifest, for choosing models (and their licences), or why it failed to load.
    pub manifest: Result<crate::infer::Manifest, String>,
    /// Passes ▸ Add model… (or a dropped `.onnx` file) in progress on its thread.
    pub adding_model: Option<crossbeam_channel::Receiver<AddedModel>>,
    /// The window's backdrop is drawn by `viewer::BackdropPaint` (the panels' fills are
    /// transparent); false without its GPU resources, when egui fills the panels itself.
    pub backdrop: bool,
    /// The window is drawn by a software rasterizer (llvmpipe): every repaint costs CPU.
    pub software_ui: bool,
    /// The viewer's rectangle in this window frame (the backdrop leaves it out).
    pub viewer_rect: Option<egui::Rect>,
}

/// What adding a model on its thread gave (the text to show is made on the UI thread).
#[derive(Debug)]
pub enum AddedModel {
    /// Recognised, checked on the sample frame and written.
    Added {
        /// The entry's id.
        id: String,
        /// The family recognised.
        family: &'static str,
        /// The entry written.
        written: PathBuf,
    },
    /// A graph of no known family: a template was written.
    Unknown {
        /// The `.onnx` file.
        file: PathBuf,
        /// The template.
        template: PathBuf,
    },
    /// It could not be added.
    Failed(String),
}

impl MatteboxApp {
    /// Creates the app; `initial` is a shot or project to open (the command line's argument).
    pub fn new(cc: &eframe::CreationContext<'_>, initial: Option<PathBuf>) -> MatteboxApp {
        MatteboxApp::with_language(cc, initial, None)
    }

    /// Creates the app in `language`; `None`: the one [`i18n::startup_language`] picks
    /// (`MATTEBOX_LANG`, the settings, the system's locale). Tests name theirs.
    pub fn with_language(
        cc: &eframe::CreationContext<'_>,
        initial: Option<PathBuf>,
        language: Option<Language>,
    ) -> MatteboxApp {
        // The language first: everything below may make text.
        let settings = settings::Settings::load();
        let (language, why) = match language {
            Some(language) => (language, "the caller".to_string()),
            None => i18n::startup_language(settings.language.as_deref()),
        };
        i18n::set_language(language);
        let (font_definitions, fonts) = fonts::install(&cc.egui_ctx);
        match &fonts {
            Ok(f) => eprintln!(
                "mattebox: Chinese text in {} (face {} of {}{})",
                f.family,
                f.index,
                f.path.display(),
                if f.bundled { ", bundled" } else { "" }
            ),
            Err(why) => eprintln!("mattebox: {why}"),
        }
        eprintln!(
            "mattebox: language {} (from {why}); {}",
            language.code(),
            coverage_line(&font_definitions, language)
        );
        let ctx = cc.egui_ctx.clone();
        let wake = move || ctx.request_repaint();
        let ctx2 = cc.egui_ctx.clone();
        let wake2 = move || ctx2.request_repaint();
        let mut adapter = t!("adapter-none");
        let mut adapter_parts = None;
        let mut software = false;
        let mut startup_error = None;
        let mut backdrop = false;
        let render_delay_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cache_budget_mb = std::env::var("MATTEBOX_RAM_PREVIEW_MB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default_budget_bytes() >> 20);
        let cache = Arc::new(Mutex::new(FrameCache::new(cache_budget_mb << 20)));
        if let Some(rs) = &cc.wgpu_render_state {
            software = rs.adapter.get_info().device_type == eframe::wgpu::DeviceType::Cpu;
            let ctx3 = cc.egui_ctx.clone();
            let worker = RenderWorker::start(
                software,
                Arc::clone(&render_delay_ms),
                Arc::clone(&cache),
                move || ctx3.request_repaint(),
            );
            match ViewerResources::new(rs, worker) {
                Ok(res) => {
                    adapter = format!("{}; {}", res.adapter_label(), res.worker.label());
                    adapter_parts = Some((
                        res.adapter_label(),
                        res.worker.preview_gpu().map(str::to_string),
                    ));
                    rs.renderer.write().callback_resources.insert(res);
                }
                Err(e) => startup_error = Some(t!("viewer-error", error = e)),
            }
            match viewer::BackdropResources::new(rs) {
                Ok(res) => {
                    rs.renderer.write().callback_resources.insert(res);
                    backdrop = true;
                }
                Err(e) => eprintln!("mattebox: the window backdrop: {e}; egui fills the panels"),
            }
        }
        let mut app = MatteboxApp {
            state: AppState::default(),
            loader: FrameLoader::new(wake),
            thumbs: Thumbnails::new(wake2),
            thumb_textures: Default::default(),
            thumb_requested: Default::default(),
            problems: Default::default(),
            frame: None,
            previous_frame: None,
            passes: None,
            export: None,
            provider: t!("provider-not-loaded"),
            adapter,
            fonts,
            font_definitions,
            settings,
            adapter_parts,
            dialog: Dialog::None,
            last_autosave: Instant::now(),
            autosaved_revision: None,
            last_change: (0, Instant::now()),
            replace_confirmed: false,
            next_play_step: Instant::now(),
            last_play_step: Instant::now(),
            play_fps: 0.0,
            cache,
            cache_budget_mb,
            shown_cached: None,
            doc_key: None,
            prefetch_sent: None,
            drag_revision: None,
            playhead_key: None,
            wanted: None,
            current_at: 0,
            allow_close: false,
            ui: ui::UiState::default(),
            title: String::new(),
            auto_passes: std::env::var_os("MATTEBOX_NO_AUTO_PASSES").is_none(),
            pass_generation: 0,
            requested: None,
            plan_cache: None,
            rendering: false,
            last_render_s: 0.0,
            composite_current: true,
            composites_rendered: 0,
            composites_prefetched: 0,
            render_delay_ms,
            manifest: crate::infer::Manifest::load(None, &[]).map_err(|e| e.to_string()),
            adding_model: None,
            backdrop,
            software_ui: software,
            viewer_rect: None,
            preview_max_width: match std::env::var("MATTEBOX_PREVIEW_WIDTH")
                .ok()
                .and_then(|v| v.parse::<u32>().ok())
            {
                Some(0) => None,
                Some(w) => Some(w),
                None => software.then_some(960),
            },
        };
        app.state.recent = load_recent();
        if let Some(e) = startup_error {
            app.state.toast(Level::Error, e);
        }
        if let Some(path) = initial {
            app.act(Action::Open(path));
        }
        app
    }

    /// Switches the app to `language` at once (View ▸ Language) and keeps the choice in the
    /// settings file. Lines made before in the old language (the status line, the status
    /// bar's devices) are made again; toasts already shown stay as they were.
    pub fn set_language(&mut self, language: Language) {
        let old = i18n::language();
        if old == language {
            return;
        }
        i18n::set_language(language);
        for key in ["status-start", "status-running-passes", "status-exporting"] {
            if self.state.status == i18n::tr_in(old, key, &[]) {
                self.state.status = i18n::tr(key);
            }
        }
        if self.provider == i18n::tr_in(old, "provider-not-loaded", &[]) {
            self.provider = t!("provider-not-loaded");
        }
        self.adapter = match &self.adapter_parts {
            Some((adapter, gpu)) => format!(
                "{adapter}; {}",
                render_worker::preview_label(gpu.as_deref())
            ),
            None => t!("adapter-none"),
        };
        self.settings.language = Some(language.code().to_string());
        if let Err(why) = self.settings.save() {
            self.state.toast(Level::Warning, why);
        }
        eprintln!(
            "mattebox: language {} (chosen in the menu); {}",
            language.code(),
            coverage_line(&self.font_definitions, language)
        );
    }

    /// Performs an action and what it implies (frames to reload, thumbnails, recovery).
    pub fn act(&mut self, action: Action) {
        // Nothing replaces a document with unsaved changes without asking.
        let replacing = matches!(action, Action::Open(_) | Action::Close);
        if replacing && !std::mem::take(&mut self.replace_confirmed) && self.is_dirty() {
            self.dialog = Dialog::ConfirmReplace {
                then: action,
                save_path: default_save_path(&self.state),
            };
            return;
        }
        let opening = replacing;
        let new_models = matches!(action, Action::Edit(Edit::SetPasses(_)));
        let saving = matches!(action, Action::Save | Action::SaveAs(_));
        let toggling = action == Action::TogglePlay;
        let effect = self.state.act(action);
        if toggling {
            self.next_play_step = Instant::now();
            self.last_play_step = Instant::now();
            self.play_fps = 0.0;
        }
        if opening && effect == Some(Effect::Opened) {
            self.autosaved_revision = None;
            self.frame = None;
            self.previous_frame = None;
            self.passes_changed();
            self.thumb_textures.clear();
            self.thumb_requested.clear();
            self.problems.clear();
            save_recent(&self.state.recent);
            if let Some(doc) = &self.state.doc {
                let autosave = autosave_path(doc);
                let newer = match (&doc.path, std::fs::metadata(&autosave)) {
                    (Some(p), Ok(a)) => {
                        let saved = std::fs::metadata(p).and_then(|m| m.modified()).ok();
                        a.modified().ok().zip(saved).is_some_and(|(a, s)| a > s)
                    }
                    (None, Ok(_)) => true,
                    _ => false,
                };
                if newer {
                    self.dialog = Dialog::Recover(autosave);
                }
            }
            // Depth and mattes appear by themselves: frames without passes get them (cached).
            let missing = self.state.doc.as_ref().is_some_and(|d| {
                d.shot
                    .frames
                    .iter()
                    .any(|f| !jobs::pass_exr(&d.shot.source, f).is_file())
            });
            if self.auto_passes && missing {
                self.run_passes(true);
            }
        }
        if new_models && effect == Some(Effect::Changed) {
            // Other models: their passes replace the current ones (cached per model).
            if let Some(job) = &self.passes {
                job.cancel();
            }
            self.passes = None;
            self.run_passes(true);
        }
        if saving {
            save_recent(&self.state.recent);
            if let Some(doc) = &self.state.doc
                && !doc.history.is_dirty()
            {
                let _ = std::fs::remove_file(autosave_path(doc));
            }
        }
    }

    /// Runs the depth and matte passes for the current frame (`whole_shot` false) or the shot.
    pub fn run_passes(&mut self, whole_shot: bool) {
        if self.passes.is_some() {
            self.state.toast(Level::Info, t!("toast-passes-running"));
            return;
        }
        let Some(doc) = &self.state.doc else { return };
        let range = if whole_shot {
            doc.project.shot.range()
        } else {
            let src = doc.source_index(self.state.frame);
            doc.shot.frames[src]
                .number
                .map(|n| FrameRange { first: n, last: n })
        };
        self.passes = Some(jobs::start_passes(&doc.project, &doc.shot, range));
        self.state.status = t!("status-running-passes");
    }

    /// Starts an export with these settings (the project must be saved: the export resolves
    /// paths against its file).
    pub fn start_export(&mut self, request: ExportRequest) {
        let Some(doc) = &self.state.doc else { return };
        if self.export.is_some() {
            self.state.toast(Level::Info, t!("toast-export-running"));
            return;
        }
        let project_path = doc
            .path
            .clone()
            .unwrap_or_else(|| doc.base_dir.join("untitled.mattebox.json"));
        self.export = Some(jobs::start_export(&doc.project, &project_path, request));
        self.state.status = t!("status-exporting");
    }

    /// Adds the model file `path` to the models folder on a thread, as `mattebox models add`
    /// does (its family recognised, checked once on the sample frame, its entry written).
    pub fn add_model(&mut self, path: PathBuf) {
        if self.adding_model.is_some() {
            self.state.toast(Level::Info, t!("toast-add-model-running"));
            return;
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.state.status = t!("status-adding-model", file = path.display().to_string());
        // The models folder the app's manifest came from (the documented search otherwise).
        let models_dir = self.manifest.as_ref().ok().map(|m| m.models_dir.clone());
        std::thread::spawn(move || {
            use crate::infer::add::{AddOptions, AddOutcome, add_model};
            let outcome = crate::infer::Runtime::new(Default::default())
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    let manifest = crate::infer::Manifest::load(models_dir.as_deref(), &[])
                        .map_err(|e| e.to_string())?;
                    add_model(&rt, &manifest, &path, &AddOptions::default())
                        .map_err(|e| e.to_string())
                });
            let msg = match outcome {
                Ok(AddOutcome::Added {
                    family,
                    entry,
                    written,
                    ..
                }) => AddedModel::Added {
                    id: entry.id,
                    family: family.name(),
                    written: written.unwrap_or_default(),
                },
                Ok(AddOutcome::Unknown { written, .. }) => AddedModel::Unknown {
                    file: path,
                    template: written.unwrap_or_default(),
                },
                Err(e) => AddedModel::Failed(e),
            };
            let _ = tx.send(msg);
        });
        self.adding_model = Some(rx);
    }

    fn poll_add_model(&mut self) {
        let Some(rx) = &self.adding_model else { return };
        let Ok(msg) = rx.try_recv() else { return };
        self.adding_model = None;
        match msg {
            AddedModel::Added {
                id,
                family,
                written,
            } => {
                let models_dir = self.manifest.as_ref().ok().map(|m| m.models_dir.clone());
                self.manifest = crate::infer::Manifest::load(models_dir.as_deref(), &[])
                    .map_err(|e| e.to_string());
                self.state.toast(
                    Level::Info,
                    t!(
                        "toast-model-added",
                        id = id,
                        family = family,
                        file = written.display().to_string()
                    ),
                );
            }
            AddedModel::Unknown { file, template } => self.state.toast(
                Level::Warning,
                t!(
                    "toast-model-unknown",
                    file = file.display().to_string(),
                    template = template.display().to_string()
                ),
            ),
            AddedModel::Failed(error) => self
                .state
                .toast(Level::Error, t!("toast-model-add-failed", error = error)),
        }
    }

    fn poll_jobs(&mut self) {
        for which in [JobKind::Passes, JobKind::Export] {
            let slot = match which {
                JobKind::Passes => &mut self.passes,
                JobKind::Export => &mut self.export,
            };
            let Some(job) = slot else { continue };
            let mut finished = None;
            let mut messages = Vec::new();
            while let Ok(msg) = job.rx.try_recv() {
                match &msg {
                    JobMsg::Started(n) => job.total = *n,
                    JobMsg::FrameDone(_) | JobMsg::FrameFailed(..) => job.done += 1,
                    _ => {}
                }
                messages.push(msg);
            }
            let out_dir = job.out_dir.clone();
            let mut files_changed = false;
            for msg in messages {
                match msg {
                    JobMsg::Provider(p) => self.provider = p,
                    JobMsg::FrameDone(label) => {
                        self.state.status = t!("status-frame-done", frame = label);
                        // The current frame may have new passes.
                        files_changed = true;
                    }
                    JobMsg::FrameFailed(label, error) => {
                        self.state.toast(Level::Error, format!("{label}: {error}"))
                    }
                    JobMsg::Warning(w) => self.state.toast(Level::Warning, w),
                    JobMsg::Started(_) => {}
                    JobMsg::Finished(r) => finished = Some(r),
                }
            }
            if let Some(result) = finished {
                *slot = None;
                match result {
                    Ok(text) => {
                        let text = match (which, out_dir) {
                            // A message that names the folder already (the export's own) is
                            // shown as it is.
                            (JobKind::Export, Some(dir))
                                if !text.contains(&*dir.display().to_string()) =>
                            {
                                t!("toast-export-finished", text = text, folder = dir.display())
                            }
                            _ => text,
                        };
                        self.state.toast(Level::Info, text);
                    }
                    Err(e) => self.state.toast(Level::Error, e),
                }
                files_changed = true;
            }
            if files_changed {
                self.passes_changed();
            }
        }
    }

    /// Pass files may have changed on disk: the current frame is loaded again.
    fn passes_changed(&mut self) {
        self.loader.pending = None;
        self.pass_generation += 1;
    }

    /// The plan the viewer draws, its key and what it is made from, built again only when the
    /// frame's inputs, the project or the playhead changed.
    pub fn plan(&mut self, frame: &LoadedFrame) -> Option<ViewerPlan> {
        let at = (frame.key, self.state.revision, self.state.frame);
        if let Some(cache) = &self.plan_cache
            && cache.at == at
        {
            return Some((Arc::clone(&cache.plan), cache.key, Arc::clone(&cache.spec)));
        }
        frame.aux.as_ref()?;
        let spec = Arc::new(self.plan_inputs(self.state.frame)?);
        let (plan, key) = spec.plan(frame);
        let plan = Arc::new(plan);
        self.plan_cache = Some(PlanCache {
            at,
            plan: Arc::clone(&plan),
            key,
            spec: Arc::clone(&spec),
        });
        Some((plan, key, spec))
    }

    /// What the plan at timeline position `index` is made from.
    fn plan_inputs(&self, index: usize) -> Option<PlanInputs> {
        let doc = self.state.doc.as_ref()?;
        let pose = (!doc.project.camera.is_static())
            .then(|| doc.project.camera.pose_at(doc.camera_time(index)));
        Some(PlanInputs {
            layers: doc.project.layers.clone(),
            scene: doc.project.scene.clone(),
            base_dir: doc.base_dir.clone(),
            pose,
            prepare: doc.project.camera.prepare.clone(),
            solo: self.state.solo,
        })
    }

    /// A key of everything but the timeline position that the viewer's frames depend on: the
    /// document's content, the solo, the proxy and the pass files (the RAM preview's key).
    fn doc_key(&mut self) -> Option<u64> {
        let doc = self.state.doc.as_ref()?;
        let at = (self.state.revision, self.pass_generation);
        if let Some((a, k)) = self.doc_key
            && a == at
        {
            return Some(k);
        }
        let mut h = blake3::Hasher::new();
        h.update(
            serde_json::to_string(&doc.project)
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update(doc.shot.source.to_string_lossy().as_bytes());
        h.update(doc.base_dir.to_string_lossy().as_bytes());
        h.update(
            format!(
                "{:?} {} {:?} {}",
                self.state.solo,
                self.state.proxy.code(),
                self.preview_max_width,
                self.pass_generation
            )
            .as_bytes(),
        );
        let key = jobs::key64(&h);
        self.doc_key = Some((at, key));
        Some(key)
    }

    /// The RAM preview's key for timeline position `index`.
    pub fn cache_key_at(&mut self, index: usize) -> Option<CacheKey> {
        Some(CacheKey {
            index,
            doc: self.doc_key()?,
            proxy: self.state.proxy.code(),
        })
    }

    /// Does a drag go on that has changed the document (a slider, a key)? Its composites are
    /// drafts until it ends.
    pub fn drafting(&self) -> bool {
        self.drag_revision.is_some_and(|r| r != self.state.revision)
    }

    /// Is the loaded frame the playhead's (not one left from before a step)?
    pub fn frame_is_playhead(&self) -> bool {
        self.frame
            .as_ref()
            .is_some_and(|f| Some(f.key) == self.playhead_key)
    }

    /// What loading timeline position `index` takes.
    fn load_request(&self, index: usize, project: &Arc<Project>) -> Option<LoadRequest> {
        let doc = self.state.doc.as_ref()?;
        let src = doc.source_index(index);
        let frame = doc.shot.frames.get(src)?;
        let pass_exr = jobs::pass_exr(&doc.shot.source, frame);
        let key = LoadRequest::key_for(&frame.path, &pass_exr, &doc.project, &doc.base_dir);
        Some(LoadRequest {
            key,
            source: frame.path.clone(),
            number: frame.number,
            pass_exr,
            sidecar: jobs::work_dir(&doc.shot.source)
                .join("passes")
                .join(crate::export::sidecar::SIDECAR_NAME),
            scene: doc.project.scene.clone(),
            camera: doc.project.camera.clone(),
            project: Arc::clone(project),
            base_dir: doc.base_dir.clone(),
            proxy: self.state.proxy,
            max_width: self.preview_max_width,
        })
    }

    fn request_frame(&mut self) {
        let stamp = (self.state.revision, self.state.frame, self.pass_generation);
        if self.requested == Some(stamp) {
            return;
        }
        self.requested = Some(stamp);
        let Some(doc) = &self.state.doc else { return };
        let project = Arc::new(doc.project.clone());
        let Some(request) = self.load_request(self.state.frame, &project) else {
            return;
        };
        self.playhead_key = Some(request.key);
        if self.frame.as_ref().is_some_and(|f| f.key == request.key) {
            // The frame on hand is the playhead's: a load still on its way is stale.
            self.loader.pending = Some(request.key);
            return;
        }
        if self
            .previous_frame
            .as_ref()
            .is_some_and(|f| f.key == request.key)
        {
            std::mem::swap(&mut self.frame, &mut self.previous_frame);
            self.loader.pending = Some(request.key);
            return;
        }
        self.loader.request(request);
    }

    /// The frames after the playhead (wrapping round) that the RAM preview lacks, for the
    /// compositor thread to render ahead while the shot plays.
    fn prefetch_items(&mut self) -> Vec<PrefetchItem> {
        let Some(doc) = &self.state.doc else {
            return Vec::new();
        };
        let len = doc.timeline_len();
        let project = Arc::new(doc.project.clone());
        let mut items = Vec::new();
        for step in 1..len {
            let index = (self.state.frame + step) % len;
            let Some(cache_key) = self.cache_key_at(index) else {
                break;
            };
            if self.cache.lock().is_ok_and(|c| c.contains(&cache_key)) {
                continue;
            }
            let (Some(load), Some(spec)) =
                (self.load_request(index, &project), self.plan_inputs(index))
            else {
                continue;
            };
            items.push(PrefetchItem {
                cache_key,
                load,
                spec: Arc::new(spec),
            });
        }
        items
    }

    /// Playback: the next frame is shown at the shot's rate once the current one is on screen
    /// (so the first play renders every frame into the RAM preview, and later plays run from
    /// it at the shot's fps).
    fn play(&mut self, ctx: &egui::Context) {
        if !self.state.playing {
            return;
        }
        let fps = self
            .state
            .doc
            .as_ref()
            .map_or(24.0, |d| d.project.shot.fps.max(1.0));
        let period = Duration::from_secs_f64(1.0 / f64::from(fps));
        let now = Instant::now();
        let ready = self.composite_current && self.current_at == self.state.frame;
        if now >= self.next_play_step && ready {
            let shown = now.duration_since(self.last_play_step).as_secs_f32();
            if shown > 0.0 {
                let rate = 1.0 / shown;
                self.play_fps = if self.play_fps > 0.0 {
                    0.85 * self.play_fps + 0.15 * rate
                } else {
                    rate
                };
            }
            self.last_play_step = now;
            // Keep to the shot's rate: a late frame moves the schedule, an early one does not.
            self.next_play_step = if now.duration_since(self.next_play_step) > period {
                now + period
            } else {
                self.next_play_step + period
            };
            let len = self.state.doc.as_ref().map_or(0, |d| d.timeline_len());
            let next = if self.state.frame + 1 >= len {
                0
            } else {
                self.state.frame + 1
            };
            self.act(Action::Seek(next));
        }
        // Waiting for the frame (its load or composite), the window is not redrawn: the loader
        // and the compositor repaint it when the frame lands. Redrawing meanwhile would only
        // take the CPU from them (on a software rasterizer a window frame is tens of ms).
        if ready || self.shown_cached.is_some() {
            let wait = self
                .next_play_step
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50));
            ctx.request_repaint_after(wait);
        }
    }

    /// The RAM preview frame at the playhead, looked up once per repaint.
    fn look_up_cached(&mut self) {
        let key = self.cache_key_at(self.state.frame);
        self.shown_cached = match (key, self.cache.lock()) {
            (Some(k), Ok(mut cache)) => cache.get(&k).map(|f| (k, f)),
            _ => None,
        };
    }

    /// Goes ahead with an action that replaces the document, the unsaved changes saved or
    /// discarded (the unsaved-changes dialog's Save and Discard).
    pub fn confirm_replace(&mut self, action: Action) {
        self.replace_confirmed = true;
        self.act(action);
        self.replace_confirmed = false;
    }

    /// The probe's line (empty when the cursor is off the image).
    pub fn probe(&self) -> &str {
        &self.ui.probe
    }

    /// The matte brush's mode, when it is on.
    pub fn ui_brush(&self) -> Option<crate::composite::refine::BrushMode> {
        self.ui.brush
    }

    /// Records a file's problem: a toast the first time (one message per file), then it stays
    /// in the Problems list.
    pub fn problem(&mut self, path: PathBuf, text: String) {
        // The first report of a file is shown (the thumbnail and the viewer may both find it).
        if let std::collections::btree_map::Entry::Vacant(e) = self.problems.entry(path) {
            self.state.toast(Level::Error, text.clone());
            e.insert(text);
        }
    }

    /// Does the open document have unsaved changes?
    pub fn is_dirty(&self) -> bool {
        self.state
            .doc
            .as_ref()
            .is_some_and(|d| d.history.is_dirty())
    }

    /// Writes the autosave (atomically): a few seconds after the last change, at once when the
    /// window loses focus, and every two minutes while the document is dirty.
    fn autosave(&mut self, focus_lost: bool) {
        if self.last_change.0 != self.state.revision {
            self.last_change = (self.state.revision, Instant::now());
        }
        if !self.is_dirty() || self.autosaved_revision == Some(self.state.revision) {
            return;
        }
        let settled = self.last_change.1.elapsed() >= AUTOSAVE_AFTER_EDIT;
        if !(settled || focus_lost || self.last_autosave.elapsed() >= AUTOSAVE_EVERY) {
            return;
        }
        self.autosave_now();
    }

    /// Writes the autosave now (Project::save: a temp file, then a rename).
    pub fn autosave_now(&mut self) {
        self.last_autosave = Instant::now();
        let Some(doc) = &self.state.doc else { return };
        let path = autosave_path(doc);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match doc.project.save(&path) {
            Ok(()) => self.autosaved_revision = Some(self.state.revision),
            Err(e) => self
                .state
                .toast(Level::Warning, t!("toast-autosave-failed", error = e)),
        }
    }

    /// The revision the autosave file holds, if one was written this session.
    pub fn autosaved_revision(&self) -> Option<u64> {
        self.autosaved_revision
    }

    /// Takes the frame the loader finished, unless it is stale: the playhead's own frame is
    /// already on hand (a step back to a loaded frame while another load was on its way).
    fn take_loaded(&mut self) {
        let Some(f) = self.loader.poll() else { return };
        if self.frame_is_playhead() && Some(f.key) != self.playhead_key {
            return;
        }
        if let Some(e) = &f.error {
            self.problem(f.source.clone(), e.clone());
        }
        if self.frame.as_ref().is_some_and(|old| old.key != f.key) {
            self.previous_frame = self.frame.take();
        }
        self.frame = Some(Arc::new(f));
    }

    /// The frame shown (for tests and the probe).
    pub fn loaded_frame(&self) -> Option<&LoadedFrame> {
        self.frame.as_deref()
    }

    /// Waits (up to `timeout`) until the frame loader has delivered the current frame and no job
    /// runs: for tests and scripted use.
    pub fn settle(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            self.poll_jobs();
            self.request_frame();
            self.take_loaded();
            let current = self.loader.pending.is_none()
                || self.frame.as_ref().map(|f| f.key) == self.loader.pending;
            if current && self.passes.is_none() && self.export.is_none() && self.frame.is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

/// The log's line on the fonts' coverage of `language`'s strings (the smoke test reads it):
/// `fonts cover all N characters of its strings`, else which characters would be boxes.
fn coverage_line(fonts: &egui::FontDefinitions, language: Language) -> String {
    let chars = i18n::characters(language);
    let missing = fonts::missing(fonts, chars.iter().copied());
    if missing.is_empty() {
        format!("fonts cover all {} characters of its strings", chars.len())
    } else {
        format!(
            "fonts lack {} of the {} characters of its strings: {}",
            missing.len(),
            chars.len(),
            missing.iter().collect::<String>()
        )
    }
}

fn recent_file() -> PathBuf {
    config_dir().join("recent.json")
}

fn load_recent() -> Vec<PathBuf> {
    std::fs::read_to_string(recent_file())
        .ok()
        .and_then(|t| serde_json::from_str::<Vec<PathBuf>>(&t).ok())
        .unwrap_or_default()
}

fn save_recent(recent: &[PathBuf]) {
    // A list that cannot be saved is only a shorter list next time.
    let _ = settings::write_json(&recent_file(), &recent);
}

impl eframe::App for MatteboxApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.poll_jobs();
        self.take_loaded();
        // The playhead moves first (keys, playback), then its frame is looked up and loaded.
        self.keyboard(&ctx);
        self.play(&ctx);
        self.look_up_cached();
        // Playing from the RAM preview needs no loading; paused, the frame is loaded so that
        // edits (the brush, the probe) have its inputs.
        if !(self.state.playing && self.shown_cached.is_some()) {
            self.request_frame();
        }
        // A drag that edits the document (a slider, a key) makes draft composites until it ends.
        if ctx.dragged_id().is_some() {
            self.drag_revision.get_or_insert(self.state.revision);
        } else {
            self.drag_revision = None;
        }
        for (i, result) in self.thumbs.poll() {
            match result {
                Ok((w, h, rgba)) => {
                    let image =
                        egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &rgba);
                    let tex = ctx.load_texture(format!("thumb-{i}"), image, Default::default());
                    self.thumb_textures.insert(i, tex);
                }
                Err(e) => {
                    let path = self
                        .state
                        .doc
                        .as_ref()
                        .and_then(|d| d.shot.frames.get(i))
                        .map(|f| f.path.clone());
                    match path {
                        Some(p) => self.problem(p, e),
                        None => self.state.toast(Level::Warning, e),
                    }
                }
            }
        }
        // Files dropped on the window open like File > Open.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            // A dropped ONNX model is added, as Passes ▸ Add model… does.
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
            {
                self.add_model(path);
            } else {
                self.act(Action::Open(path));
            }
        }
        self.poll_add_model();
        // Quitting with unsaved changes asks first.
        if ctx.input(|i| i.viewport().close_requested())
            && !self.allow_close
            && self
                .state
                .doc
                .as_ref()
                .is_some_and(|d| d.history.is_dirty())
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.dialog = Dialog::ConfirmQuit;
        }
        let focus_lost = ctx.input(|i| {
            i.events
                .iter()
                .any(|e| matches!(e, egui::Event::WindowFocused(false)))
        });
        self.autosave(focus_lost);
        if self.is_dirty() && self.autosaved_revision != Some(self.state.revision) {
            // The debounced autosave needs a repaint to happen when nothing else moves.
            ctx.request_repaint_after(AUTOSAVE_AFTER_EDIT);
        }
        if self.passes.is_some() || self.export.is_some() {
            // The progress bar: on a software rasterizer a window frame costs tens of ms of the
            // CPU the job runs on, so it is redrawn less often there.
            ctx.request_repaint_after(if self.software_ui {
                Duration::from_millis(500)
            } else {
                Duration::from_millis(100)
            });
        }
        if let Some(rs) = _frame.wgpu_render_state()
            && let Some(res) = rs
                .renderer
                .read()
                .callback_resources
                .get::<ViewerResources>()
        {
            if let Some(e) = &res.last_error
                && self.state.status != *e
            {
                self.state.status = t!("viewer-error", error = e);
            }
            // The composite on screen is not the playhead's yet: being drawn, or its frame loads.
            self.rendering = res.worker.busy()
                || (self.shown_cached.is_none()
                    && self.state.doc.is_some()
                    && !self.frame_is_playhead());
            // Current: the playhead's frame is on screen whole, with its own full composite (or
            // it has no passes to composite).
            let passes = self.frame.as_ref().is_some_and(|f| f.aux.is_some());
            self.current_at = self.state.frame;
            self.composite_current = self.shown_cached.is_some()
                || (self.frame_is_playhead()
                    && match self.wanted {
                        Some((index, key)) => {
                            index == self.state.frame && !key.2 && res.shown_request() == Some(key)
                        }
                        None => !passes,
                    });
            self.composites_rendered = res.worker.renders();
            self.composites_prefetched = res.worker.prefetched();
            self.last_render_s = res.last_render_s;
            // While the shot plays, the compositor renders ahead of the playhead.
            let doc_key = self.doc_key();
            if self.state.playing {
                if self.prefetch_sent != doc_key {
                    let items = self.prefetch_items();
                    res.worker.prefetch(items);
                    self.prefetch_sent = doc_key;
                }
            } else if self.prefetch_sent.is_some() {
                res.worker.prefetch(Vec::new());
                self.prefetch_sent = None;
            }
        }
        if let Ok(mut cache) = self.cache.lock()
            && cache.stats().budget != self.cache_budget_mb << 20
        {
            cache.set_budget(self.cache_budget_mb << 20);
        }
        // The title names the project and the frame (the smoke test reads it).
        let title = match &self.state.doc {
            Some(d) => t!(
                "title-doc",
                project = d.title(),
                frame = d.frame_label(self.state.frame)
            ),
            None => t!("title-empty"),
        };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
        ui::draw(self, ui);
    }
}

impl MatteboxApp {
    fn keyboard(&mut self, ctx: &egui::Context) {
        // Shortcuts pause only while the artist types in a text field: a button or slider that
        // merely has egui's focus (after a click) must not swallow frame steps.
        if ctx.text_edit_focused() {
            return;
        }
        use egui::{Key, Modifiers};
        // `count_and_consume_key`, not `consume_key`: two presses of a key in one slow frame are
        // two steps (`consume_key` takes every matching press and answers once).
        let mut actions = Vec::new();
        let (mut brush_toggles, mut brush_scale, mut deletes) = (0u32, 1.0f32, 0u32);
        let mut channels = Vec::new();
        ctx.input_mut(|i| {
            if i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z) {
                actions.push(Action::Redo);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::COMMAND, Key::Z) {
                actions.push(Action::Undo);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::COMMAND, Key::Y) {
                actions.push(Action::Redo);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::COMMAND, Key::S) {
                actions.push(Action::Save);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::Space) {
                actions.push(Action::TogglePlay);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::ArrowRight) {
                actions.push(Action::Step(1));
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::ArrowLeft) {
                actions.push(Action::Step(-1));
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::Home) {
                actions.push(Action::First);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::End) {
                actions.push(Action::Last);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::F) {
                actions.push(Action::Fit);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::Num1) {
                actions.push(Action::OneToOne);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::K) {
                actions.push(Action::AddKeyHere);
            }
            // Shift+B first: a plain-B shortcut would also take it (shift is matched loosely).
            for _ in 0..i.count_and_consume_key(Modifiers::SHIFT, Key::B) {
                channels.push(state::Channel::Blue);
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::B) {
                brush_toggles += 1;
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::OpenBracket) {
                brush_scale *= 0.8;
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::CloseBracket) {
                brush_scale *= 1.25;
            }
            for _ in 0..i.count_and_consume_key(Modifiers::NONE, Key::Delete) {
                deletes += 1;
            }
            // Channel isolation, as Nuke's viewer keys (B is the brush, so blue is Shift+B).
            use state::Channel;
            for (mods, key, channel) in [
                (Modifiers::NONE, Key::R, Channel::Red),
                (Modifiers::NONE, Key::G, Channel::Green),
                (Modifiers::NONE, Key::A, Channel::Alpha),
                (Modifiers::NONE, Key::Y, Channel::Luminance),
                (Modifiers::NONE, Key::Z, Channel::Depth),
                (Modifiers::NONE, Key::M, Channel::Matte),
            ] {
                for _ in 0..i.count_and_consume_key(mods, key) {
                    channels.push(channel);
                }
            }
        });
        for c in channels {
            self.state.display.toggle_channel(c);
        }
        if brush_toggles % 2 == 1 {
            self.ui.brush = match self.ui.brush {
                Some(_) => None,
                None => Some(crate::composite::refine::BrushMode::Add),
            };
            if self.ui.brush.is_some() && self.state.view == state::View::Composite {
                self.act(Action::SetView(state::View::Matte));
            }
        }
        self.ui.brush_radius_px = (self.ui.brush_radius_px * brush_scale).clamp(1.0, 500.0);
        for _ in 0..deletes {
            match (self.ui.selected_key.take(), self.state.selected) {
                (Some(k), _) => self.edit(Edit::RemoveKey { index: k }),
                (None, Some(l)) => self.edit(Edit::RemoveLayer { index: l }),
                (None, None) => {}
            }
        }
        for a in actions {
            if a == Action::Save && self.state.doc.as_ref().is_some_and(|d| d.path.is_none()) {
                self.dialog = Dialog::SaveAs(default_save_path(&self.state));
                continue;
            }
            self.act(a);
        }
    }

    /// Marks the window as allowed to close (after the quit prompt).
    fn quit(&mut self, ctx: &egui::Context) {
        self.allow_close = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// Applies an edit (the inspector's path).
    pub fn edit(&mut self, edit: Edit) {
        self.act(Action::Edit(edit));
    }
}

/// A sensible Save-as path for the open document.
pub fn default_save_path(state: &AppState) -> String {
    let Some(doc) = &state.doc else {
        return String::new();
    };
    if let Some(p) = &doc.path {
        return p.display().to_string();
    }
    let source = &doc.shot.source;
    let stem = source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "shot".into());
    // Beside the shot: next to its folder, or next to the still.
    let dir = source.parent().unwrap_or(Path::new("."));
    dir.join(format!("{stem}.mattebox.json"))
        .display()
        .to_string()
}

/// Opens the app window. `initial` is a shot or project from the command line.
pub fn run(initial: Option<PathBuf>) -> eframe::Result<()> {
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default()
            .with_title("Mattebox")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Mattebox",
        options,
        Box::new(move |cc| Ok(Box::new(MatteboxApp::new(cc, initial)))),
    )
}
