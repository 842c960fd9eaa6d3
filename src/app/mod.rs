//! The desktop app: egui only. It calls the headless modules (project, process, render,
//! composite) and owns no logic of its own: every change is an [`state::Action`], AI passes and
//! exports run as [`jobs`] on worker threads, and the viewer draws with the compositor's renderer
//! on eframe's own device ([`viewer`]).

pub mod jobs;
pub mod render_worker;
pub mod state;
mod ui;
pub mod viewer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::composite::plan::Plan;
use crate::composite::planner::{FrameSpec, plan_frame};
use crate::project::Edit;
use crate::shot::FrameRange;

use jobs::{
    ExportRequest, FrameLoader, Job, JobKind, JobMsg, LoadRequest, LoadedFrame, Thumbnails,
};
use render_worker::RenderWorker;
use state::{Action, AppState, Effect, Level};
use viewer::ViewerResources;

/// How often a dirty project is written to its autosave file.
pub const AUTOSAVE_EVERY: Duration = Duration::from_secs(120);

/// Where the app keeps its own small files (recent files): `MATTEBOX_CONFIG_DIR`, else
/// `~/.config/mattebox`.
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
}

/// The viewer's plan for (frame inputs, project revision, playhead), with its key.
struct PlanCache {
    at: (u64, u64, usize),
    plan: Arc<Plan>,
    key: u64,
}

/// The app.
pub struct MatteboxApp {
    /// Everything but egui and GPU resources.
    pub state: AppState,
    loader: FrameLoader,
    thumbs: Thumbnails,
    thumb_textures: std::collections::HashMap<usize, egui::TextureHandle>,
    thumb_requested: std::collections::HashSet<usize>,
    frame: Option<Arc<LoadedFrame>>,
    /// The running pass job.
    pub passes: Option<Job>,
    /// The running export job.
    pub export: Option<Job>,
    /// The ONNX Runtime provider line, once a job loaded the models.
    pub provider: String,
    /// The viewer's adapter.
    pub adapter: String,
    /// The open dialog.
    pub dialog: Dialog,
    last_autosave: Instant,
    last_play_step: Instant,
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
    /// Added to every composite (milliseconds; 0 in use): the tests' slow compositor.
    pub render_delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// The model manifest, for choosing models (and their licences), or why it failed to load.
    pub manifest: Result<crate::infer::Manifest, String>,
}

impl MatteboxApp {
    /// Creates the app; `initial` is a shot or project to open (the command line's argument).
    pub fn new(cc: &eframe::CreationContext<'_>, initial: Option<PathBuf>) -> MatteboxApp {
        let ctx = cc.egui_ctx.clone();
        let wake = move || ctx.request_repaint();
        let ctx2 = cc.egui_ctx.clone();
        let wake2 = move || ctx2.request_repaint();
        let mut adapter = "no GPU renderer (wgpu unavailable)".to_string();
        let mut software = false;
        let mut startup_error = None;
        let render_delay_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
        if let Some(rs) = &cc.wgpu_render_state {
            software = rs.adapter.get_info().device_type == eframe::wgpu::DeviceType::Cpu;
            let ctx3 = cc.egui_ctx.clone();
            let worker = RenderWorker::start(software, Arc::clone(&render_delay_ms), move || {
                ctx3.request_repaint()
            });
            match ViewerResources::new(rs, worker) {
                Ok(res) => {
                    adapter = format!("{}; {}", res.adapter_label(), res.worker.label);
                    rs.renderer.write().callback_resources.insert(res);
                }
                Err(e) => startup_error = Some(format!("viewer: {e}")),
            }
        }
        let mut app = MatteboxApp {
            state: AppState::default(),
            loader: FrameLoader::new(wake),
            thumbs: Thumbnails::new(wake2),
            thumb_textures: Default::default(),
            thumb_requested: Default::default(),
            frame: None,
            passes: None,
            export: None,
            provider: "ONNX Runtime: not loaded yet".into(),
            adapter,
            dialog: Dialog::None,
            last_autosave: Instant::now(),
            last_play_step: Instant::now(),
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
            render_delay_ms,
            manifest: crate::infer::Manifest::load(None, &[]).map_err(|e| e.to_string()),
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

    /// Performs an action and what it implies (frames to reload, thumbnails, recovery).
    pub fn act(&mut self, action: Action) {
        let opening = matches!(action, Action::Open(_));
        let new_models = matches!(action, Action::Edit(Edit::SetPasses(_)));
        let saving = matches!(action, Action::Save | Action::SaveAs(_));
        let effect = self.state.act(action);
        if opening && effect == Some(Effect::Opened) {
            self.frame = None;
            self.passes_changed();
            self.thumb_textures.clear();
            self.thumb_requested.clear();
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
            self.state.toast(
                Level::Info,
                "passes are already running (cancel them first)",
            );
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
        self.state.status = "running passes…".into();
    }

    /// Starts an export with these settings (the project must be saved: the export resolves
    /// paths against its file).
    pub fn start_export(&mut self, request: ExportRequest) {
        let Some(doc) = &self.state.doc else { return };
        if self.export.is_some() {
            self.state
                .toast(Level::Info, "an export is already running");
            return;
        }
        let project_path = doc
            .path
            .clone()
            .unwrap_or_else(|| doc.base_dir.join("untitled.mattebox.json"));
        self.export = Some(jobs::start_export(&doc.project, &project_path, request));
        self.state.status = "exporting…".into();
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
                        self.state.status = format!("{label} done");
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
                            (JobKind::Export, Some(dir)) if !text.contains("exported") => {
                                format!("{text} ({})", dir.display())
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

    /// The plan the viewer draws, and its key, built again only when the frame's inputs, the
    /// project or the playhead changed.
    fn plan(&mut self, frame: &LoadedFrame) -> Option<(Arc<Plan>, u64)> {
        let at = (frame.key, self.state.revision, self.state.frame);
        if let Some(cache) = &self.plan_cache
            && cache.at == at
        {
            return Some((Arc::clone(&cache.plan), cache.key));
        }
        let (plan, key) = self.build_plan(frame)?;
        self.plan_cache = Some(PlanCache {
            at,
            plan: Arc::clone(&plan),
            key,
        });
        Some((plan, key))
    }

    fn build_plan(&self, frame: &LoadedFrame) -> Option<(Arc<Plan>, u64)> {
        let doc = self.state.doc.as_ref()?;
        frame.aux.as_ref()?;
        let moving = !doc.project.camera.is_static() && frame.prepared.is_some();
        let pose = moving.then(|| {
            doc.project
                .camera
                .pose_at(doc.camera_time(self.state.frame))
        });
        let layers = crate::composite::planner::scale_pixels(&doc.project.layers, frame.scale);
        let spec = FrameSpec {
            layers: &layers,
            scene: &doc.project.scene,
            base_dir: &doc.base_dir,
            camera: pose.as_ref(),
            prepare: &doc.project.camera.prepare,
            solo: self.state.solo,
        };
        let plan = plan_frame(&spec, frame.plate.width, frame.plate.height);
        let mut h = blake3::Hasher::new();
        h.update(format!("{plan:?}").as_bytes());
        let mut key = [0u8; 8];
        key.copy_from_slice(&h.finalize().as_bytes()[..8]);
        Some((Arc::new(plan), u64::from_le_bytes(key)))
    }

    fn request_frame(&mut self) {
        let stamp = (self.state.revision, self.state.frame, self.pass_generation);
        if self.requested == Some(stamp) {
            return;
        }
        self.requested = Some(stamp);
        let Some(doc) = &self.state.doc else { return };
        let src = doc.source_index(self.state.frame);
        let Some(frame) = doc.shot.frames.get(src) else {
            return;
        };
        let pass_exr = jobs::pass_exr(&doc.shot.source, frame);
        let key = LoadRequest::key_for(&frame.path, &pass_exr, &doc.project, &doc.base_dir);
        if self.frame.as_ref().is_some_and(|f| f.key == key) {
            return;
        }
        self.loader.request(LoadRequest {
            key,
            source: frame.path.clone(),
            number: frame.number,
            pass_exr,
            sidecar: jobs::work_dir(&doc.shot.source)
                .join("passes")
                .join(crate::export::sidecar::SIDECAR_NAME),
            scene: doc.project.scene.clone(),
            camera: doc.project.camera.clone(),
            project: Arc::new(doc.project.clone()),
            base_dir: doc.base_dir.clone(),
            max_width: self.preview_max_width,
        });
    }

    fn autosave(&mut self) {
        if self.last_autosave.elapsed() < AUTOSAVE_EVERY {
            return;
        }
        self.last_autosave = Instant::now();
        let Some(doc) = &self.state.doc else { return };
        if !doc.history.is_dirty() {
            return;
        }
        let path = autosave_path(doc);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = doc.project.save(&path) {
            self.state
                .toast(Level::Warning, format!("autosave failed: {e}"));
        }
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
            if let Some(f) = self.loader.poll() {
                self.frame = Some(Arc::new(f));
            }
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
    let path = recent_file();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = crate::export::atomic::write_atomic(&path, |w| {
        serde_json::to_writer_pretty(w, recent)
            .map_err(|e| crate::export::ExportError::invalid(&path, e.to_string()))
    });
}

impl eframe::App for MatteboxApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.poll_jobs();
        if let Some(f) = self.loader.poll() {
            if let Some(e) = &f.error {
                self.state.toast(Level::Error, e.clone());
            }
            self.frame = Some(Arc::new(f));
        }
        self.request_frame();
        for (i, result) in self.thumbs.poll() {
            match result {
                Ok((w, h, rgba)) => {
                    let image =
                        egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &rgba);
                    let tex = ctx.load_texture(format!("thumb-{i}"), image, Default::default());
                    self.thumb_textures.insert(i, tex);
                }
                Err(e) => self.state.toast(Level::Warning, e),
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
            self.act(Action::Open(path));
        }
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
        self.keyboard(&ctx);
        if self.state.playing {
            let fps = self
                .state
                .doc
                .as_ref()
                .map_or(24.0, |d| d.project.shot.fps.max(1.0));
            if self.last_play_step.elapsed().as_secs_f32() >= 1.0 / fps {
                self.last_play_step = Instant::now();
                let len = self.state.doc.as_ref().map_or(0, |d| d.timeline_len());
                let next = if self.state.frame + 1 >= len {
                    0
                } else {
                    self.state.frame + 1
                };
                self.act(Action::Seek(next));
            }
            ctx.request_repaint_after(Duration::from_millis(10));
        }
        self.autosave();
        if self.passes.is_some() || self.export.is_some() {
            ctx.request_repaint_after(Duration::from_millis(100));
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
                self.state.status = format!("viewer: {e}");
            }
            self.rendering = res.worker.busy();
            self.composite_current = res.current();
            self.composites_rendered = res.worker.renders();
            self.last_render_s = res.last_render_s;
        }
        // The title names the project and the frame (the smoke test reads it).
        let title = match &self.state.doc {
            Some(d) => format!(
                "Mattebox — {} — frame {}",
                d.title(),
                d.frame_label(self.state.frame)
            ),
            None => "Mattebox".to_string(),
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
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        use egui::{Key, Modifiers};
        let mut actions = Vec::new();
        ctx.input_mut(|i| {
            if i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z) {
                actions.push(Action::Redo);
            }
            while i.consume_key(Modifiers::COMMAND, Key::Z) {
                actions.push(Action::Undo);
            }
            while i.consume_key(Modifiers::COMMAND, Key::Y) {
                actions.push(Action::Redo);
            }
            while i.consume_key(Modifiers::COMMAND, Key::S) {
                actions.push(Action::Save);
            }
            while i.consume_key(Modifiers::NONE, Key::Space) {
                actions.push(Action::TogglePlay);
            }
            while i.consume_key(Modifiers::NONE, Key::ArrowRight) {
                actions.push(Action::Step(1));
            }
            while i.consume_key(Modifiers::NONE, Key::ArrowLeft) {
                actions.push(Action::Step(-1));
            }
            while i.consume_key(Modifiers::NONE, Key::Home) {
                actions.push(Action::First);
            }
            while i.consume_key(Modifiers::NONE, Key::End) {
                actions.push(Action::Last);
            }
            while i.consume_key(Modifiers::NONE, Key::F) {
                actions.push(Action::Fit);
            }
            while i.consume_key(Modifiers::NONE, Key::Num1) {
                actions.push(Action::OneToOne);
            }
        });
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
