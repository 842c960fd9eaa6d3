//! The app's state and every user action, with no egui in it: the document (project, history,
//! shot), the playhead, the viewer's view settings, the toasts. Every change the UI makes is an
//! [`Action`] handled by [`AppState::act`]; changes to the project go through `project::Edit`
//! and its `History`, so all of them are undoable and the UI owns no logic of its own.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::composite::camera::CameraKey;
use crate::composite::layers::Layer;
use crate::project::{Edit, History, Project};
use crate::shot::Shot;

use super::i18n::t;

/// What the viewer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The source plate.
    Plate,
    /// The depth pass in false colour.
    Depth,
    /// The matte.
    Matte,
    /// The composite (layer stack and camera move).
    #[default]
    Composite,
}

impl View {
    /// Every view, in menu order.
    pub const ALL: [View; 4] = [View::Plate, View::Depth, View::Matte, View::Composite];

    /// The name shown in the pass switcher, in the language in use.
    pub fn label(self) -> String {
        match self {
            View::Plate => t!("view-plate"),
            View::Depth => t!("view-depth"),
            View::Matte => t!("view-matte"),
            View::Composite => t!("view-composite"),
        }
    }

    /// The code the display shader uses.
    pub fn code(self) -> u32 {
        match self {
            View::Plate => 0,
            View::Depth => 1,
            View::Matte => 2,
            View::Composite => 3,
        }
    }
}

/// The viewer's display transform: how linear values become screen values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transform {
    /// The sRGB encoding (IEC 61966-2-1).
    #[default]
    Srgb,
    /// The BT.709 camera curve (OETF).
    Rec709,
    /// No encoding: linear values straight to the screen.
    Raw,
}

impl Transform {
    /// Every transform, in menu order.
    pub const ALL: [Transform; 3] = [Transform::Srgb, Transform::Rec709, Transform::Raw];

    /// The menu's name, in the language in use.
    pub fn label(self) -> String {
        match self {
            Transform::Srgb => "sRGB".into(),
            Transform::Rec709 => "Rec.709".into(),
            Transform::Raw => t!("transform-raw"),
        }
    }

    /// The code the display shader uses.
    pub fn code(self) -> u32 {
        match self {
            Transform::Srgb => 0,
            Transform::Rec709 => 1,
            Transform::Raw => 2,
        }
    }

    /// A linear value encoded for the screen (0..1 in, clamped), as `display.wgsl` does.
    pub fn encode(self, v: f32) -> f32 {
        let x = v.clamp(0.0, 1.0);
        match self {
            Transform::Srgb => crate::shot::colour::linear_to_srgb(x),
            Transform::Rec709 => {
                if x < 0.018 {
                    4.5 * x
                } else {
                    1.099 * x.powf(0.45) - 0.099
                }
            }
            Transform::Raw => x,
        }
    }
}

/// Which channel the viewer isolates (Nuke's R G B A keys; pressing the same key again returns
/// to RGB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channel {
    /// All three colour channels.
    #[default]
    Rgb,
    /// Red as grey.
    Red,
    /// Green as grey.
    Green,
    /// Blue as grey.
    Blue,
    /// Alpha as grey.
    Alpha,
    /// Rec.709 luminance as grey.
    Luminance,
    /// The depth in false colour.
    Depth,
    /// The matte as grey.
    Matte,
}

impl Channel {
    /// Every channel, in menu order.
    pub const ALL: [Channel; 8] = [
        Channel::Rgb,
        Channel::Red,
        Channel::Green,
        Channel::Blue,
        Channel::Alpha,
        Channel::Luminance,
        Channel::Depth,
        Channel::Matte,
    ];

    /// The menu's name, with its key, in the language in use.
    pub fn label(self) -> String {
        match self {
            Channel::Rgb => "RGB".into(),
            Channel::Red => "R (R)".into(),
            Channel::Green => "G (G)".into(),
            Channel::Blue => "B (Shift+B)".into(),
            Channel::Alpha => "A (A)".into(),
            Channel::Luminance => t!("channel-luminance"),
            Channel::Depth => t!("channel-depth"),
            Channel::Matte => t!("channel-matte"),
        }
    }

    /// The code the display shader uses.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// The viewer's display settings: applied to the screen only, never to the data or exports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisplaySettings {
    /// Exposure in stops (a gain of `2^stops` in linear light), as Nuke's viewer f-stops.
    pub exposure_stops: f32,
    /// Display gamma (values raised to `1/gamma` before the transform); 1 leaves them.
    pub gamma: f32,
    /// Linear to screen.
    pub transform: Transform,
    /// The channel shown.
    pub channel: Channel,
    /// The matte tinted over the picture, 0 (off) to 1.
    pub matte_overlay: f32,
    /// Zebra stripes over pixels that clip on the display (above 1 or below 0).
    pub zebra: bool,
}

impl Default for DisplaySettings {
    fn default() -> Self {
        DisplaySettings {
            exposure_stops: 0.0,
            gamma: 1.0,
            transform: Transform::Srgb,
            channel: Channel::Rgb,
            matte_overlay: 0.0,
            zebra: false,
        }
    }
}

impl DisplaySettings {
    /// What the screen shows of a linear value `v` of a colour channel: the 8-bit code after the
    /// exposure, the gamma and the transform (the probe's "display" values; `display.wgsl`
    /// computes the same).
    pub fn code(&self, v: f32) -> u8 {
        let gained = v * self.exposure_stops.exp2();
        let g = if (self.gamma - 1.0).abs() > 1e-6 {
            gained.max(0.0).powf(1.0 / self.gamma.max(0.01))
        } else {
            gained
        };
        (self.transform.encode(g) * 255.0).round().clamp(0.0, 255.0) as u8
    }

    /// The 8-bit codes the screen shows for a colour `rgb` of the working space `working`: in
    /// linear Rec.709 first (as `display.wgsl` does with its matrix), then [`Self::code`] per
    /// channel.
    pub fn codes(&self, rgb: [f32; 3], working: crate::shot::WorkingSpace) -> [u8; 3] {
        working.rgb_to_rec709(rgb).map(|v| self.code(v))
    }

    /// The channel keys: `key` picks `channel`, or returns to RGB if it is shown already.
    pub fn toggle_channel(&mut self, channel: Channel) {
        self.channel = if self.channel == channel {
            Channel::Rgb
        } else {
            channel
        };
    }
}

/// How severe a toast is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Information (a finished export).
    Info,
    /// Something the user should know (a clamped value, a missing model).
    Warning,
    /// Something failed (a corrupt frame, a failed export).
    Error,
}

/// A message shown for a while in the corner, and kept in the status bar.
#[derive(Debug, Clone)]
pub struct Toast {
    /// How severe.
    pub level: Level,
    /// The text, naming the file concerned.
    pub text: String,
    /// When it appeared.
    pub since: Instant,
}

/// How long a toast stays on screen.
pub const TOAST_TIME: Duration = Duration::from_secs(8);

/// The open shot and its project.
#[derive(Debug)]
pub struct Document {
    /// The project being edited.
    pub project: Project,
    /// Where it is saved (`None`: never saved, made from a shot).
    pub path: Option<PathBuf>,
    /// The folder relative paths resolve against.
    pub base_dir: PathBuf,
    /// Undo/redo and the dirty flag.
    pub history: History,
    /// The shot's frames (selected by the project's range).
    pub shot: Shot,
}

impl Document {
    /// The project's title: its file name, or the shot's, with a `*` when unsaved.
    pub fn title(&self) -> String {
        let name = match &self.path {
            Some(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            None => t!(
                "doc-untitled",
                name = self
                    .shot
                    .source
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        };
        if self.history.is_dirty() {
            format!("{name} *")
        } else {
            name
        }
    }

    /// A frame's camera time: its number in a sequence, else its index (a still's move is
    /// previewed at the playhead's frame of `still_duration_frames`).
    pub fn camera_time(&self, index: usize) -> f32 {
        match self.shot.frames.get(index).and_then(|f| f.number) {
            Some(n) if self.shot.frames.len() > 1 => n as f32,
            _ => index as f32,
        }
    }

    /// How many frames the timeline has: the shot's, or a still's move duration.
    pub fn timeline_len(&self) -> usize {
        if self.shot.frames.len() == 1 && !self.project.camera.is_static() {
            self.project.camera.still_duration_frames.max(1) as usize
        } else {
            self.shot.frames.len()
        }
    }

    /// The source frame shown at timeline position `index`.
    pub fn source_index(&self, index: usize) -> usize {
        index.min(self.shot.frames.len().saturating_sub(1))
    }

    /// The label of timeline position `index` (the frame number as the sequence has it).
    pub fn frame_label(&self, index: usize) -> String {
        if self.shot.frames.len() == 1 {
            return format!("{}", index + 1);
        }
        match self.shot.frames.get(index).and_then(|f| f.number) {
            Some(n) => format!("{n}"),
            None => format!("{}", index + 1),
        }
    }
}

/// One user action. The UI, keyboard shortcuts, drag-and-drop and tests all go through these.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a shot (still, folder, sequence) or a project file.
    Open(PathBuf),
    /// Save the project to its file.
    Save,
    /// Save the project to a new file.
    SaveAs(PathBuf),
    /// Apply an edit to the project (undoable).
    Edit(Edit),
    /// Undo the last edit.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Move the playhead by this many frames (clamped).
    Step(i64),
    /// Jump to a timeline position (clamped).
    Seek(usize),
    /// Jump to the first frame.
    First,
    /// Jump to the last frame.
    Last,
    /// Start or stop playback.
    TogglePlay,
    /// Choose what the viewer shows.
    SetView(View),
    /// Show an A/B wipe against this view (None: no wipe).
    SetWipe(Option<View>),
    /// Fit the image in the viewer.
    Fit,
    /// Show the image at 100 %.
    OneToOne,
    /// Select a layer for the inspector.
    Select(Option<usize>),
    /// Solo a layer (None: no solo).
    Solo(Option<usize>),
    /// Add a camera key at the playhead with the move's current values.
    AddKeyHere,
    /// Choose the viewer's proxy size.
    SetProxy(super::jobs::Proxy),
    /// Close the document (File > New): back to the empty window.
    Close,
}

/// Everything the app knows, apart from egui and GPU resources.
#[derive(Debug)]
pub struct AppState {
    /// The open document, if any.
    pub doc: Option<Document>,
    /// The playhead: a timeline position.
    pub frame: usize,
    /// Whether playback runs.
    pub playing: bool,
    /// What the viewer shows.
    pub view: View,
    /// The wipe's B view, if any.
    pub wipe: Option<View>,
    /// The wipe's position, 0..1 across the image.
    pub wipe_at: f32,
    /// Viewer zoom (screen pixels per image pixel); `None` = fit.
    pub zoom: Option<f32>,
    /// Viewer pan in screen points.
    pub pan: [f32; 2],
    /// The layer in the inspector.
    pub selected: Option<usize>,
    /// The soloed layer.
    pub solo: Option<usize>,
    /// Messages, newest last.
    pub toasts: Vec<Toast>,
    /// The last message, kept in the status bar.
    pub status: String,
    /// Recently opened files, newest first.
    pub recent: Vec<PathBuf>,
    /// Bumped whenever the document or its look changes, so views know to redraw.
    pub revision: u64,
    /// The viewer's proxy size.
    pub proxy: super::jobs::Proxy,
    /// The viewer's display settings (exposure, gamma, transform, channel, overlay, zebra).
    pub display: DisplaySettings,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            doc: None,
            frame: 0,
            playing: false,
            view: View::Composite,
            wipe: None,
            wipe_at: 0.5,
            zoom: None,
            pan: [0.0, 0.0],
            selected: None,
            solo: None,
            toasts: Vec::new(),
            status: t!("status-start"),
            recent: Vec::new(),
            revision: 0,
            proxy: super::jobs::Proxy::Auto,
            display: DisplaySettings::default(),
        }
    }
}

/// What an action asks of the app beyond the state (the app performs these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A new document was opened: reload frames, thumbnails, passes.
    Opened,
    /// The project changed in a way that changes pixels.
    Changed,
    /// The playhead moved.
    Moved,
}

impl AppState {
    /// Adds a toast and sets the status line.
    pub fn toast(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        self.status = text.clone();
        self.toasts.push(Toast {
            level,
            text,
            since: Instant::now(),
        });
        if self.toasts.len() > 20 {
            self.toasts.remove(0);
        }
    }

    /// Records a file as recently opened.
    pub fn remember(&mut self, path: &Path) {
        let path = path.to_path_buf();
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(10);
    }

    /// Performs one action. Errors become toasts naming the file; nothing here panics or
    /// loses the document.
    pub fn act(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Open(path) => self.open(&path),
            Action::Save => {
                let path = self.doc.as_ref().and_then(|d| d.path.clone());
                match path {
                    Some(p) => self.save_to(&p),
                    None => {
                        self.toast(Level::Warning, t!("toast-no-file-yet"));
                        None
                    }
                }
            }
            Action::SaveAs(path) => self.save_to(&path),
            Action::Edit(edit) => {
                let doc = self.doc.as_mut()?;
                match doc.history.apply(&mut doc.project, edit) {
                    Ok(()) => {
                        self.revision += 1;
                        self.clamp_selection();
                        Some(Effect::Changed)
                    }
                    Err(e) => {
                        self.toast(Level::Error, e.to_string());
                        None
                    }
                }
            }
            Action::Undo | Action::Redo => {
                let doc = self.doc.as_mut()?;
                // The selection follows the layer the undo or redo changes.
                let touched = if action == Action::Undo {
                    doc.history.next_undo()
                } else {
                    doc.history.next_redo()
                }
                .and_then(Edit::layer_index);
                let result = if action == Action::Undo {
                    doc.history.undo(&mut doc.project)
                } else {
                    doc.history.redo(&mut doc.project)
                };
                match result {
                    Ok(true) => {
                        self.revision += 1;
                        if touched.is_some() {
                            self.selected = touched;
                        }
                        self.clamp_selection();
                        Some(Effect::Changed)
                    }
                    Ok(false) => None,
                    Err(e) => {
                        self.toast(Level::Error, e.to_string());
                        None
                    }
                }
            }
            Action::Step(delta) => {
                let len = self.doc.as_ref()?.timeline_len();
                let at = (self.frame as i64 + delta).clamp(0, len.saturating_sub(1) as i64);
                self.seek(at as usize)
            }
            Action::Seek(i) => self.seek(i),
            Action::First => self.seek(0),
            Action::Last => {
                let len = self.doc.as_ref()?.timeline_len();
                self.seek(len.saturating_sub(1))
            }
            Action::TogglePlay => {
                self.playing = !self.playing && self.doc.is_some();
                None
            }
            Action::SetView(v) => {
                self.view = v;
                None
            }
            Action::SetWipe(v) => {
                self.wipe = v;
                None
            }
            Action::Fit => {
                self.zoom = None;
                self.pan = [0.0, 0.0];
                None
            }
            Action::OneToOne => {
                self.zoom = Some(1.0);
                self.pan = [0.0, 0.0];
                None
            }
            Action::Select(i) => {
                self.selected = i;
                None
            }
            Action::Solo(i) => {
                self.solo = i;
                self.revision += 1;
                Some(Effect::Changed)
            }
            Action::Close => {
                self.doc.as_ref()?;
                self.doc = None;
                self.frame = 0;
                self.playing = false;
                self.selected = None;
                self.solo = None;
                self.revision += 1;
                Some(Effect::Opened)
            }
            Action::SetProxy(p) => {
                if p == self.proxy {
                    return None;
                }
                self.proxy = p;
                self.revision += 1;
                Some(Effect::Changed)
            }
            Action::AddKeyHere => {
                let doc = self.doc.as_ref()?;
                let time = doc.camera_time(self.frame);
                let mut key = doc.project.camera.key_at(time);
                key.frame = time;
                if doc.project.camera.keys.iter().any(|k| k.frame == time) {
                    self.toast(
                        Level::Info,
                        t!("toast-key-exists", frame = doc.frame_label(self.frame)),
                    );
                    return None;
                }
                self.act(Action::Edit(Edit::AddKey(key)))
            }
        }
    }

    fn seek(&mut self, index: usize) -> Option<Effect> {
        let len = self.doc.as_ref()?.timeline_len();
        let index = index.min(len.saturating_sub(1));
        if index == self.frame {
            return None;
        }
        self.frame = index;
        Some(Effect::Moved)
    }

    fn clamp_selection(&mut self) {
        let n = self.doc.as_ref().map_or(0, |d| d.project.layers.len());
        if self.selected.is_some_and(|i| i >= n) {
            self.selected = n.checked_sub(1);
        }
        if self.solo.is_some_and(|i| i >= n) {
            self.solo = None;
        }
    }

    fn save_to(&mut self, path: &Path) -> Option<Effect> {
        let doc = self.doc.as_mut()?;
        // A project saved somewhere new keeps pointing at the same shot.
        let mut project = doc.project.clone();
        let new_base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if doc.path.as_deref() != Some(path) {
            let source = doc.project.shot_source(&doc.base_dir);
            project.shot.source = relative_to(&source, &new_base);
            for layer in &mut project.layers {
                if let crate::composite::layers::LayerKind::Background(
                    crate::composite::layers::BackgroundSettings::Image { path: p },
                ) = &mut layer.kind
                {
                    *p = relative_to(&doc.base_dir.join(&*p), &new_base);
                }
            }
        }
        match project.save(path) {
            Ok(()) => {
                doc.project = project;
                doc.path = Some(path.to_path_buf());
                doc.base_dir = new_base;
                doc.history.mark_saved();
                self.remember(path);
                self.status = t!("status-saved", path = path.display());
                None
            }
            Err(e) => {
                self.toast(Level::Error, super::i18n::project_error(&e));
                None
            }
        }
    }

    fn open(&mut self, path: &Path) -> Option<Effect> {
        let is_project = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let (project, project_path, warnings) = if is_project {
            match Project::load(path) {
                Ok((p, w)) => (p, Some(path.to_path_buf()), w),
                Err(e) => {
                    self.toast(Level::Error, super::i18n::project_error(&e));
                    return None;
                }
            }
        } else {
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            let shot = match Shot::open(&abs) {
                Ok(s) => s,
                Err(e) => {
                    self.toast(Level::Error, super::i18n::shot_error(&e));
                    return None;
                }
            };
            (
                Project::template_for(abs, shot.number_range()),
                None,
                Vec::new(),
            )
        };
        let base_dir = project_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let source = project.shot_source(&base_dir);
        let mut shot = match Shot::open(&source) {
            Ok(s) => s,
            Err(e) => {
                self.toast(Level::Error, super::i18n::shot_error(&e));
                return None;
            }
        };
        if let Some(range) = project.shot.range()
            && let Err(e) = shot.select(range)
        {
            self.toast(Level::Error, super::i18n::shot_error(&e));
            return None;
        }
        let mut history = History::new(crate::project::DEFAULT_UNDO_DEPTH);
        if project_path.is_none() {
            history.mark_unsaved();
        }
        for w in &warnings {
            self.toast(Level::Warning, format!("{}: {w}", path.display()));
        }
        self.doc = Some(Document {
            project,
            path: project_path,
            base_dir,
            history,
            shot,
        });
        self.frame = 0;
        self.playing = false;
        self.selected = None;
        self.solo = None;
        self.zoom = None;
        self.pan = [0.0, 0.0];
        self.revision += 1;
        self.remember(path);
        self.status = t!("status-opened", path = path.display());
        Some(Effect::Opened)
    }

    /// The layers as the viewer should draw them (with solo applied by the planner).
    pub fn layers(&self) -> &[Layer] {
        self.doc.as_ref().map_or(&[], |d| &d.project.layers)
    }

    /// The camera keys.
    pub fn keys(&self) -> &[CameraKey] {
        self.doc.as_ref().map_or(&[], |d| &d.project.camera.keys)
    }
}

/// `path` relative to `base` when it lies inside it, else absolute.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    abs.strip_prefix(&base)
        .map(Path::to_path_buf)
        .unwrap_or(abs)
}
