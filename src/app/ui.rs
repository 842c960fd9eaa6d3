//! The panels: menu bar, status bar, filmstrip and timeline, layers, inspector, viewer, toasts
//! and dialogs. Widgets only: every change goes through `MatteboxApp::act` / `edit`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use eframe::egui_wgpu;
use egui::{Color32, RichText, Ui};

use crate::composite::camera::{CameraKey, Ease};
use crate::composite::layers::*;
use crate::composite::refine::{BrushMode, MatteStroke};
use crate::process::Formats;
use crate::project::{ColourSettings, Edit, ShotRef};
use crate::render::{RendererChoice, What};

use super::i18n::t;
use super::jobs::{ExportRequest, THUMB_WIDTH};
use super::render_worker::RenderRequest;
use super::state::{Action, Level, TOAST_TIME, View};
use super::viewer::{DisplayUniform, ViewerPaint};
use super::{Dialog, MatteboxApp, default_save_path};

/// UI-only state (widget scratch, not part of the document).
#[derive(Debug)]
pub struct UiState {
    /// The layer being edited by a drag, with its value before the drag (one undo step per drag).
    dragging: Option<(usize, Layer)>,
    /// The camera key being dragged on the timeline, with its original.
    dragging_key: Option<(usize, CameraKey)>,
    /// The selected camera key.
    pub(super) selected_key: Option<usize>,
    /// The last hovered probe text.
    pub(super) probe: String,
    /// The matte brush: off, or adding / subtracting.
    pub brush: Option<BrushMode>,
    /// Brush radius in plate pixels.
    pub brush_radius_px: f32,
    /// Brush softness 0..1.
    pub brush_softness: f32,
    /// The depth brush's strength, in stops.
    pub brush_amount: f32,
    /// The stroke being painted, in plate pixels.
    stroke: Vec<[f32; 2]>,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            dragging: None,
            dragging_key: None,
            selected_key: None,
            probe: String::new(),
            brush: None,
            brush_radius_px: 16.0,
            brush_softness: 0.5,
            brush_amount: 1.0,
            stroke: Vec::new(),
        }
    }
}

/// Draws the whole window.
pub fn draw(app: &mut MatteboxApp, ui: &mut Ui) {
    // The backdrop goes first, under everything; its shape is filled in at the end, once the
    // viewer's rectangle (which it leaves out) is known. The panels' fills are transparent.
    let backdrop = app.backdrop.then(|| {
        // The theme's fill, from this frame's style (the context's style keeps it).
        let colour = ui.visuals().panel_fill;
        ui.style_mut().visuals.panel_fill = Color32::TRANSPARENT;
        (ui.painter().add(egui::Shape::Noop), colour)
    });
    app.viewer_rect = None;
    egui::Panel::top("menu").show(ui, |ui| menu_bar(app, ui));
    egui::Panel::bottom("status").show(ui, |ui| status_bar(app, ui));
    if app.state.doc.is_some() {
        egui::Panel::bottom("timeline")
            .resizable(false)
            .show(ui, |ui| timeline(app, ui));
        egui::Panel::left("layers")
            .default_size(220.0)
            .show(ui, |ui| layers_panel(app, ui));
        egui::Panel::right("inspector")
            .default_size(280.0)
            .min_size(260.0)
            .show(ui, |ui| inspector(app, ui));
    }
    egui::CentralPanel::default().show(ui, |ui| viewer(app, ui));
    if let Some((shape, colour)) = backdrop {
        ui.painter().set(
            shape,
            egui_wgpu::Callback::new_paint_callback(
                ui.ctx().content_rect(),
                super::viewer::BackdropPaint {
                    colour,
                    hole: app.viewer_rect,
                },
            ),
        );
    }
    toasts(app, ui.ctx());
    dialogs(app, ui.ctx());
}

fn menu_bar(app: &mut MatteboxApp, ui: &mut Ui) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button(t!("menu-file"), |ui| {
            if ui
                .add_enabled(
                    app.state.doc.is_some(),
                    egui::Button::new(t!("menu-file-new")),
                )
                .on_hover_text(t!("menu-file-new-hover"))
                .clicked()
            {
                ui.close();
                app.act(Action::Close);
            }
            if ui.button(t!("menu-file-open-shot")).clicked() {
                ui.close();
                match rfd::FileDialog::new().pick_folder() {
                    Some(p) => app.act(Action::Open(p)),
                    None => app.dialog = Dialog::Open(String::new()),
                }
            }
            if ui.button(t!("menu-file-open-project")).clicked() {
                ui.close();
                match rfd::FileDialog::new()
                    .add_filter(t!("file-filter-project"), &["json"])
                    .pick_file()
                {
                    Some(p) => app.act(Action::Open(p)),
                    None => app.dialog = Dialog::Open(String::new()),
                }
            }
            let has_doc = app.state.doc.is_some();
            if ui
                .add_enabled(has_doc, egui::Button::new(t!("menu-file-save")))
                .clicked()
            {
                ui.close();
                if app.state.doc.as_ref().is_some_and(|d| d.path.is_some()) {
                    app.act(Action::Save);
                } else {
                    app.dialog = Dialog::SaveAs(default_save_path(&app.state));
                }
            }
            if ui
                .add_enabled(has_doc, egui::Button::new(t!("menu-file-save-as")))
                .clicked()
            {
                ui.close();
                match rfd::FileDialog::new()
                    .add_filter(t!("file-filter-project"), &["json"])
                    .save_file()
                {
                    Some(p) => app.act(Action::SaveAs(p)),
                    None => app.dialog = Dialog::SaveAs(default_save_path(&app.state)),
                }
            }
            if ui
                .add_enabled(has_doc, egui::Button::new(t!("menu-file-export")))
                .clicked()
            {
                ui.close();
                app.dialog = Dialog::Export(default_export(app));
            }
            ui.separator();
            ui.label(RichText::new(t!("menu-file-recent")).weak());
            let recent = app.state.recent.clone();
            if recent.is_empty() {
                ui.label(RichText::new(t!("menu-file-recent-none")).weak());
            }
            for path in recent {
                if ui.button(path.display().to_string()).clicked() {
                    ui.close();
                    app.act(Action::Open(path));
                }
            }
            ui.separator();
            if ui.button(t!("menu-file-quit")).clicked() {
                ui.close();
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
        ui.menu_button(t!("menu-edit"), |ui| {
            let (can_undo, can_redo) = app.state.doc.as_ref().map_or((false, false), |d| {
                (d.history.can_undo(), d.history.can_redo())
            });
            if ui
                .add_enabled(can_undo, egui::Button::new(t!("menu-edit-undo")))
                .clicked()
            {
                app.act(Action::Undo);
            }
            if ui
                .add_enabled(can_redo, egui::Button::new(t!("menu-edit-redo")))
                .clicked()
            {
                app.act(Action::Redo);
            }
            ui.separator();
            colour_menus(app, ui);
        });
        ui.menu_button(t!("menu-view"), |ui| {
            ui.label(RichText::new(t!("menu-view-proxy")).strong());
            for p in super::jobs::Proxy::ALL {
                if ui.radio(app.state.proxy == p, p.label()).clicked() {
                    app.act(Action::SetProxy(p));
                }
            }
            ui.separator();
            ui.label(RichText::new(t!("menu-view-ram-preview")).strong());
            ui.add(
                egui::DragValue::new(&mut app.cache_budget_mb)
                    .range(64..=65536)
                    .speed(16.0)
                    .suffix(" MB"),
            )
            .on_hover_text(t!("menu-view-ram-preview-hover"));
            ui.separator();
            if ui
                .button(t!("menu-view-problems", count = app.problems.len()))
                .clicked()
            {
                ui.close();
                app.dialog = Dialog::Problems;
            }
            if ui.button(t!("menu-view-clear-ram")).clicked()
                && let Ok(mut cache) = app.cache.lock()
            {
                cache.clear();
            }
            ui.separator();
            // Each language in its own name, so a user who cannot read the current one finds
            // theirs.
            ui.label(RichText::new(t!("menu-view-language")).strong());
            for language in super::i18n::Language::ALL {
                if ui
                    .radio(super::i18n::language() == language, language.name())
                    .clicked()
                {
                    app.set_language(language);
                }
            }
        });
        ui.menu_button(t!("menu-passes"), |ui| {
            let has_doc = app.state.doc.is_some();
            if let Some(doc) = &app.state.doc {
                let current = doc.project.passes.clone();
                let mut chosen = current.clone();
                match &app.manifest {
                    Ok(manifest) => {
                        for (task, label) in [
                            (crate::infer::Task::Depth, t!("menu-passes-depth-model")),
                            (crate::infer::Task::Matte, t!("menu-passes-matte-model")),
                        ] {
                            ui.label(RichText::new(label).strong());
                            for entry in manifest.models.iter().filter(|e| e.task == task) {
                                let present = entry.path_in(&manifest.models_dir).is_file();
                                let slot = match task {
                                    crate::infer::Task::Depth => &mut chosen.depth_model,
                                    _ => &mut chosen.matte_model,
                                };
                                let text = if present {
                                    t!("menu-passes-model", id = entry.id, licence = entry.licence)
                                } else {
                                    t!(
                                        "menu-passes-model-missing",
                                        id = entry.id,
                                        licence = entry.licence
                                    )
                                };
                                ui.add_enabled_ui(present, |ui| {
                                    ui.radio_value(slot, entry.id.clone(), text).on_hover_text(
                                        entry.description.clone().unwrap_or_default(),
                                    );
                                });
                            }
                        }
                    }
                    Err(e) => {
                        ui.label(RichText::new(e).color(Color32::LIGHT_RED));
                    }
                }
                ui.checkbox(&mut chosen.temporal, t!("menu-passes-temporal"))
                    .on_hover_text(t!("menu-passes-temporal-hover"));
                if chosen != current {
                    app.edit(Edit::SetPasses(chosen));
                }
                ui.separator();
            }
            if ui.button(t!("menu-passes-add-model")).clicked() {
                ui.close();
                match rfd::FileDialog::new()
                    .add_filter(t!("file-filter-onnx"), &["onnx"])
                    .pick_file()
                {
                    Some(p) => app.add_model(p),
                    None => app
                        .state
                        .toast(crate::app::state::Level::Info, t!("toast-add-model-drop")),
                }
            }
            ui.separator();
            if ui
                .add_enabled(has_doc, egui::Button::new(t!("menu-passes-run-frame")))
                .clicked()
            {
                ui.close();
                app.run_passes(false);
            }
            if ui
                .add_enabled(has_doc, egui::Button::new(t!("menu-passes-run-shot")))
                .clicked()
            {
                ui.close();
                app.run_passes(true);
            }
        });
        ui.menu_button(t!("menu-help"), |ui| {
            if ui.button(t!("menu-help-shortcuts")).clicked() {
                ui.close();
                app.dialog = Dialog::Shortcuts;
            }
        });
        if let Some(doc) = &app.state.doc {
            ui.separator();
            ui.label(doc.title());
        }
    });
}

/// Edit ▸ Input colour space (the shot's) and Edit ▸ Working space (the project's), as image
/// editors keep colour settings under Edit; each change is an undoable edit.
fn colour_menus(app: &mut MatteboxApp, ui: &mut Ui) {
    use crate::shot::{ColourSpace, WorkingSpace};
    let Some((shot, colour)) = app
        .state
        .doc
        .as_ref()
        .map(|d| (d.project.shot.clone(), d.project.colour))
    else {
        ui.add_enabled(false, egui::Button::new(t!("menu-edit-input-colour")));
        ui.add_enabled(false, egui::Button::new(t!("menu-edit-working-space")));
        return;
    };
    let mut input = shot.colour_space;
    ui.menu_button(t!("menu-edit-input-colour"), |ui| {
        ui.radio_value(&mut input, None, t!("colour-auto"))
            .on_hover_text(t!("colour-auto-hover"));
        for space in ColourSpace::ALL {
            ui.radio_value(&mut input, Some(space), colour_space_label(space))
                .on_hover_text(t!(
                    "colour-space-hover",
                    name = space.name(),
                    ocio = space.ocio_name(),
                    aliases = space.aliases().join(", ")
                ));
        }
    });
    let mut working = colour.working_space;
    ui.menu_button(t!("menu-edit-working-space"), |ui| {
        for w in WorkingSpace::ALL {
            ui.radio_value(&mut working, w, colour_space_label(w.colour_space()))
                .on_hover_text(t!("working-space-hover"));
        }
    });
    if input != shot.colour_space {
        app.edit(Edit::SetShot(ShotRef {
            colour_space: input,
            ..shot
        }));
    }
    if working != colour.working_space {
        app.edit(Edit::SetColour(ColourSettings {
            working_space: working,
        }));
    }
}

/// A colour space's name in the menus, in the language in use (the library's
/// [`label`](crate::shot::ColourSpace::label) is English: the command line's).
fn colour_space_label(space: crate::shot::ColourSpace) -> String {
    use crate::shot::ColourSpace;
    match space {
        ColourSpace::Srgb => t!("colour-space-srgb"),
        ColourSpace::Rec709 => t!("colour-space-rec709"),
        ColourSpace::Rec1886 => t!("colour-space-rec1886"),
        ColourSpace::Linear => t!("colour-space-linear"),
        ColourSpace::LinearRec2020 => t!("colour-space-linear-rec2020"),
        ColourSpace::Raw => t!("colour-space-raw"),
        // Names, the same in every language.
        ColourSpace::AcesCg | ColourSpace::Aces2065_1 => space.label().to_string(),
    }
}

/// Every keyboard shortcut, as the Help window lists them (the keyboard handler in `mod.rs`
/// implements these): the keys as printed on them, and what they do in the language in use.
pub fn shortcuts() -> Vec<(&'static str, String)> {
    vec![
        ("Space", t!("shortcut-play")),
        ("Left / Right", t!("shortcut-step")),
        ("Home / End", t!("shortcut-ends")),
        ("K", t!("shortcut-add-key")),
        ("B", t!("shortcut-brush")),
        ("[ / ]", t!("shortcut-brush-size")),
        ("Delete", t!("shortcut-delete")),
        ("R / G / Shift+B / A", t!("shortcut-channel")),
        ("Y / Z / M", t!("shortcut-channel-aux")),
        ("F", t!("shortcut-fit")),
        ("1", t!("shortcut-one-to-one")),
        ("Ctrl+Z / Ctrl+Shift+Z", t!("shortcut-undo")),
        ("Ctrl+S", t!("shortcut-save")),
    ]
}

/// The Export dialog's defaults: a `renders/<shot>` folder beside the project (or, untitled,
/// beside the shot), never the program's own folder; the project's export settings.
fn default_export(app: &MatteboxApp) -> ExportRequest {
    let out_dir = app
        .state
        .doc
        .as_ref()
        .map(|d| {
            let stem = d
                .shot
                .source
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "shot".into());
            let beside = match &d.path {
                Some(p) => p.parent().map(Path::to_path_buf),
                None => d.shot.source.parent().map(Path::to_path_buf),
            };
            beside.unwrap_or_default().join("renders").join(stem)
        })
        .unwrap_or_default();
    let export = app.state.doc.as_ref().map(|d| d.project.export.clone());
    ExportRequest {
        out_dir,
        what: What {
            composite: export.as_ref().is_none_or(|e| e.composite),
            animatic: export.as_ref().is_some_and(|e| e.animatic),
        },
        formats: export.as_ref().map_or(
            Formats {
                exr: true,
                png: false,
            },
            |e| e.formats,
        ),
        renderer: RendererChoice::Auto,
        range: None,
        scale_divisor: 1,
        exr_compression: export.map(|e| e.exr_compression).unwrap_or_default(),
    }
}

fn status_bar(app: &mut MatteboxApp, ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(&app.provider).small());
        ui.separator();
        ui.label(RichText::new(t!("status-wgpu", adapter = app.adapter)).small());
        ui.separator();
        for (job, name) in [
            (&app.passes, t!("job-passes")),
            (&app.export, t!("job-export")),
        ] {
            if let Some(job) = job {
                ui.add(
                    egui::ProgressBar::new(job.progress())
                        .desired_width(140.0)
                        .text(match job.eta() {
                            Some(eta) => t!(
                                "status-job-eta",
                                job = name,
                                done = job.done,
                                total = job.total,
                                seconds = eta.as_secs() + 1
                            ),
                            None => {
                                t!("status-job", job = name, done = job.done, total = job.total)
                            }
                        }),
                );
                if ui.button(t!("button-cancel")).clicked() {
                    job.cancel();
                }
                ui.separator();
            }
        }
        ui.label(RichText::new(&app.state.status).small());
    });
}

fn timeline(app: &mut MatteboxApp, ui: &mut Ui) {
    let Some(doc) = &app.state.doc else { return };
    let len = doc.timeline_len();
    let frame = app.state.frame;
    let label = doc.frame_label(frame);
    let source_count = doc.shot.frames.len();
    ui.horizontal(|ui| {
        if ui
            .button("|<")
            .on_hover_text(t!("timeline-first-hover"))
            .clicked()
        {
            app.act(Action::First);
        }
        if ui
            .button("<")
            .on_hover_text(t!("timeline-previous-hover"))
            .clicked()
        {
            app.act(Action::Step(-1));
        }
        let play = if app.state.playing {
            t!("timeline-pause")
        } else {
            t!("timeline-play")
        };
        if ui
            .button(play)
            .on_hover_text(t!("timeline-play-hover"))
            .clicked()
        {
            app.act(Action::TogglePlay);
        }
        if ui
            .button(">")
            .on_hover_text(t!("timeline-next-hover"))
            .clicked()
        {
            app.act(Action::Step(1));
        }
        if ui
            .button(">|")
            .on_hover_text(t!("timeline-last-hover"))
            .clicked()
        {
            app.act(Action::Last);
        }
        let text = t!(
            "timeline-frame",
            frame = label,
            position = frame + 1,
            count = len
        );
        ui.label(RichText::new(text).monospace())
            .on_hover_text(t!("timeline-frame-hover"));
        if app.state.playing {
            let fps = format!("{:5.1}", app.play_fps);
            ui.label(RichText::new(t!("timeline-fps", fps = fps)).monospace())
                .on_hover_text(t!("timeline-fps-hover"));
        }
        let stats = app.cache.lock().map(|c| c.stats()).unwrap_or_default();
        ui.label(
            RichText::new(t!(
                "timeline-ram",
                frames = stats.frames,
                used = stats.bytes >> 20,
                budget = stats.budget >> 20
            ))
            .small(),
        )
        .on_hover_text(t!("timeline-ram-hover"));
        ui.separator();
        if ui
            .button(t!("timeline-add-key"))
            .on_hover_text(t!("timeline-add-key-hover"))
            .clicked()
        {
            app.act(Action::AddKeyHere);
        }
        if let Some(k) = app.ui.selected_key
            && ui.button(t!("timeline-delete-key")).clicked()
        {
            app.ui.selected_key = None;
            app.edit(Edit::RemoveKey { index: k });
        }
    });
    // The RAM preview's frames, for the cache bar.
    let cached = match (app.cache_key_at(0), app.cache.lock()) {
        (Some(k), Ok(c)) => c.cached_indices(k.doc, k.proxy, len),
        _ => Vec::new(),
    };
    // The keyframe track: frame ticks, the playhead, draggable keys.
    let Some(doc) = &app.state.doc else { return };
    let times: Vec<f32> = (0..len).map(|i| doc.camera_time(i)).collect();
    let labels: Vec<String> = (0..len).map(|i| doc.frame_label(i)).collect();
    let keys = doc.project.camera.keys.clone();
    // A stable id: widgets that come and go in the row above must not end a drag or a click.
    let (_, space) = ui.allocate_space(egui::vec2(ui.available_width(), 36.0));
    let response = ui.interact(
        space,
        egui::Id::unique("mattebox timeline track"),
        egui::Sense::click_and_drag(),
    );
    let painter = ui.painter_at(space);
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::accesskit::Role::Group, true, t!("timeline-track"))
    });
    let rect = response.rect;
    painter.rect_filled(rect, 2.0, Color32::from_gray(30));
    let (t0, t1) = (
        times.first().copied().unwrap_or(0.0),
        times.last().copied().unwrap_or(1.0),
    );
    let span = (t1 - t0).max(1.0);
    let x_of = |t: f32| rect.left() + 8.0 + (t - t0) / span * (rect.width() - 16.0);
    let t_of =
        |x: f32| t0 + ((x - rect.left() - 8.0) / (rect.width() - 16.0)).clamp(0.0, 1.0) * span;
    for (i, t) in times.iter().enumerate() {
        let x = x_of(*t);
        let h = if i == frame { 12.0 } else { 5.0 };
        painter.line_segment(
            [
                egui::pos2(x, rect.bottom() - h),
                egui::pos2(x, rect.bottom()),
            ],
            egui::Stroke::new(1.0, Color32::from_gray(110)),
        );
    }
    // The ruler's frame numbers: as many as fit, at least 48 points apart.
    let spacing = (rect.width() - 16.0) / (len.max(2) - 1) as f32;
    let every = ((48.0 / spacing.max(1e-3)).ceil() as usize).max(1);
    for (i, t) in times.iter().enumerate() {
        if i % every == 0 || i + 1 == len {
            // The ends are aligned inwards so that they are not clipped.
            let align = if i == 0 {
                egui::Align2::LEFT_TOP
            } else if i + 1 == len {
                egui::Align2::RIGHT_TOP
            } else {
                egui::Align2::CENTER_TOP
            };
            painter.text(
                egui::pos2(x_of(*t), rect.top() + 4.0),
                align,
                &labels[i],
                egui::FontId::monospace(9.0),
                Color32::from_gray(150),
            );
        }
    }
    // The cache bar: a green run over the frames that play from memory, as in After Effects.
    let half_step = 0.5 * (rect.width() - 16.0) / (len.max(2) - 1) as f32;
    for (i, t) in times.iter().enumerate() {
        if cached.get(i).copied().unwrap_or(false) {
            let x = x_of(*t);
            painter.rect_filled(
                egui::Rect::from_min_max(
                    egui::pos2(x - half_step, rect.top()),
                    egui::pos2(x + half_step, rect.top() + 3.0),
                ),
                0.0,
                Color32::from_rgb(70, 200, 90),
            );
        }
    }
    let px = x_of(times.get(frame).copied().unwrap_or(t0));
    painter.line_segment(
        [egui::pos2(px, rect.top()), egui::pos2(px, rect.bottom())],
        egui::Stroke::new(2.0, Color32::from_rgb(255, 200, 60)),
    );
    // A drag begins where the button went down, not where it has moved to by the time egui
    // calls it a drag: a key is picked up with ordinary mouse movement.
    let press = ui.input(|i| i.pointer.press_origin());
    let pointer = if response.drag_started() {
        press.or(response.interact_pointer_pos())
    } else {
        response.interact_pointer_pos()
    };
    let key_y = rect.bottom() - 12.0;
    let mut hit_key = None;
    for (i, k) in keys.iter().enumerate() {
        let c = egui::pos2(x_of(k.frame), key_y);
        let selected = app.ui.selected_key == Some(i);
        painter.circle_filled(
            c,
            if selected { 6.0 } else { 5.0 },
            if selected {
                Color32::from_rgb(120, 200, 255)
            } else {
                Color32::from_rgb(80, 150, 230)
            },
        );
        if pointer.is_some_and(|p| (p - c).length() < 9.0) {
            hit_key = Some(i);
        }
    }
    if response.drag_started()
        && let Some(i) = hit_key
    {
        app.ui.selected_key = Some(i);
        app.ui.dragging_key = keys.get(i).cloned().map(|k| (i, k));
    }
    if response.dragged()
        && let (Some((i, original)), Some(p)) =
            (&app.ui.dragging_key, response.interact_pointer_pos())
    {
        // Keys snap to frames of the timeline.
        let t = t_of(p.x);
        let snapped = times
            .iter()
            .copied()
            .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()))
            .unwrap_or(t);
        if let Some(doc) = app.state.doc.as_mut()
            && let Some(k) = doc.project.camera.keys.get_mut(*i)
        {
            k.frame = snapped;
            let _ = original;
            app.state.revision += 1;
        }
    }
    if response.drag_stopped()
        && let Some((i, original)) = app.ui.dragging_key.take()
        && let Some(doc) = app.state.doc.as_mut()
        && let Some(moved) = doc.project.camera.keys.get(i).cloned()
    {
        if moved == original {
            // Pressed and released without moving it: a click on the key (egui may call a long
            // press a drag). It is selected and the playhead goes to it.
            app.state.revision += 1;
            app.ui.selected_key = Some(i);
            let t = original.frame;
            if let Some(index) = times
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
                .map(|(i, _)| i)
            {
                app.act(Action::Seek(index));
            }
        } else {
            doc.project.camera.keys[i] = original;
            app.ui.selected_key = None;
            app.edit(Edit::SetKey {
                index: i,
                key: moved,
            });
        }
    }
    if response.clicked()
        && let Some(p) = response.interact_pointer_pos()
    {
        let nearest_to = |t: f32| {
            times
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
                .map(|(i, _)| i)
                .unwrap_or(0)
        };
        match hit_key {
            // Clicking a key selects it and moves the playhead to it.
            Some(i) => {
                app.ui.selected_key = Some(i);
                if let Some(k) = keys.get(i) {
                    app.act(Action::Seek(nearest_to(k.frame)));
                }
            }
            None => app.act(Action::Seek(nearest_to(t_of(p.x)))),
        }
    }
    // The filmstrip: lazy thumbnails of the source frames, made in the background.
    egui::ScrollArea::horizontal()
        .id_salt("filmstrip")
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                let Some(doc) = &app.state.doc else { return };
                let frames: Vec<(usize, PathBuf, String)> = doc
                    .shot
                    .frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (i, f.path.clone(), doc.frame_label(i)))
                    .collect();
                let current_src = doc.source_index(app.state.frame);
                for (i, path, label) in frames {
                    let size = egui::vec2(THUMB_WIDTH as f32, THUMB_WIDTH as f32 * 9.0 / 16.0);
                    let (rect, resp) =
                        ui.allocate_exact_size(size + egui::vec2(0.0, 14.0), egui::Sense::click());
                    if ui.is_rect_visible(rect) && app.thumb_requested.insert(i) {
                        app.thumbs.request(i, path.clone());
                    }
                    let img_rect = egui::Rect::from_min_size(rect.min, size);
                    match app.thumb_textures.get(&i) {
                        Some(tex) => {
                            ui.painter().image(
                                tex.id(),
                                img_rect,
                                egui::Rect::from_min_max(
                                    egui::pos2(0.0, 0.0),
                                    egui::pos2(1.0, 1.0),
                                ),
                                Color32::WHITE,
                            );
                        }
                        None => {
                            ui.painter()
                                .rect_filled(img_rect, 2.0, Color32::from_gray(40));
                        }
                    }
                    // A frame that cannot be read: a red badge (its message is in Problems).
                    if let Some(problem) = app.problems.get(&path) {
                        ui.painter().rect_stroke(
                            img_rect,
                            2.0,
                            egui::Stroke::new(2.0, Color32::from_rgb(220, 50, 50)),
                            egui::StrokeKind::Inside,
                        );
                        let badge = egui::Rect::from_min_size(
                            img_rect.right_top() + egui::vec2(-18.0, 4.0),
                            egui::vec2(14.0, 14.0),
                        );
                        ui.painter()
                            .rect_filled(badge, 7.0, Color32::from_rgb(220, 50, 50));
                        ui.painter().text(
                            badge.center(),
                            egui::Align2::CENTER_CENTER,
                            "!",
                            egui::FontId::proportional(11.0),
                            Color32::WHITE,
                        );
                        resp.clone().on_hover_text(problem.clone());
                    }
                    if i == current_src {
                        ui.painter().rect_stroke(
                            img_rect,
                            2.0,
                            egui::Stroke::new(2.0, Color32::from_rgb(255, 200, 60)),
                            egui::StrokeKind::Inside,
                        );
                    }
                    ui.painter().text(
                        egui::pos2(rect.center().x, rect.bottom() - 7.0),
                        egui::Align2::CENTER_CENTER,
                        label,
                        egui::FontId::monospace(10.0),
                        Color32::from_gray(180),
                    );
                    if resp.clicked() && source_count > 1 {
                        app.act(Action::Seek(i));
                    }
                }
            });
        });
}

/// A layer kind's name in the language in use (a new layer's name too).
fn kind_name(kind: &LayerKind) -> String {
    match kind {
        LayerKind::Plate => t!("layer-kind-plate"),
        LayerKind::Cutout(_) => t!("layer-kind-cutout"),
        LayerKind::Background(_) => t!("layer-kind-background"),
        LayerKind::DepthFog(_) => t!("layer-kind-fog"),
        LayerKind::DepthOfField(_) => t!("layer-kind-dof"),
        LayerKind::DepthGrade(_) => t!("layer-kind-grade"),
    }
}

fn new_layer(kind: LayerKind) -> Layer {
    Layer {
        name: kind_name(&kind),
        visible: true,
        opacity: 1.0,
        blend: BlendMode::Over,
        kind,
    }
}

/// `base`, or `base 2`, `base 3`… : the first that no layer has.
pub fn unique_name(base: &str, layers: &[Layer]) -> String {
    let taken = |n: &str| layers.iter().any(|l| l.name == n);
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base} {i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_string())
}

fn layers_panel(app: &mut MatteboxApp, ui: &mut Ui) {
    ui.heading(t!("layers-heading"));
    ui.horizontal(|ui| {
        ui.menu_button(t!("layers-add"), |ui| {
            let kinds = [
                LayerKind::Plate,
                LayerKind::Cutout(CutoutSettings::default()),
                LayerKind::Background(BackgroundSettings::default()),
                LayerKind::DepthFog(FogSettings::default()),
                LayerKind::DepthOfField(DofSettings::default()),
                LayerKind::DepthGrade(GradeSettings::default()),
            ];
            for kind in kinds {
                if ui.button(kind_name(&kind)).clicked() {
                    ui.close();
                    let index = app.state.layers().len();
                    let mut layer = new_layer(kind);
                    layer.name = unique_name(&layer.name, app.state.layers());
                    app.edit(Edit::AddLayer { index, layer });
                    app.act(Action::Select(Some(index)));
                }
            }
        });
        let selected = app.state.selected;
        let count = app.state.layers().len();
        if ui
            .add_enabled(selected.is_some(), egui::Button::new(t!("layers-remove")))
            .clicked()
            && let Some(i) = selected
        {
            app.edit(Edit::RemoveLayer { index: i });
        }
        if ui
            .add_enabled(
                selected.is_some_and(|i| i + 1 < count),
                egui::Button::new(t!("layers-up")),
            )
            .on_hover_text(t!("layers-up-hover"))
            .clicked()
            && let Some(i) = selected
        {
            app.edit(Edit::MoveLayer { from: i, to: i + 1 });
            app.act(Action::Select(Some(i + 1)));
        }
        if ui
            .add_enabled(
                selected.is_some_and(|i| i > 0),
                egui::Button::new(t!("layers-down")),
            )
            .on_hover_text(t!("layers-down-hover"))
            .clicked()
            && let Some(i) = selected
        {
            app.edit(Edit::MoveLayer { from: i, to: i - 1 });
            app.act(Action::Select(Some(i - 1)));
        }
    });
    ui.separator();
    // Top of the stack first, as compositors list layers.
    let layers: Vec<Layer> = app.state.layers().to_vec();
    for (i, layer) in layers.iter().enumerate().rev() {
        ui.horizontal(|ui| {
            let mut visible = layer.visible;
            if ui
                .checkbox(&mut visible, "")
                .on_hover_text(t!("layers-visible-hover"))
                .changed()
            {
                app.edit(Edit::SetVisible { index: i, visible });
            }
            let soloed = app.state.solo == Some(i);
            if ui
                .selectable_label(soloed, "S")
                .on_hover_text(t!("layers-solo-hover"))
                .clicked()
            {
                app.act(Action::Solo(if soloed { None } else { Some(i) }));
            }
            let selected = app.state.selected == Some(i);
            // The name once; the kind too when the name does not say it.
            let kind = kind_name(&layer.kind);
            let text = if layer.name.starts_with(&kind) {
                layer.name.clone()
            } else {
                format!("{}  ·  {kind}", layer.name)
            };
            if ui.selectable_label(selected, text).clicked() {
                app.act(Action::Select(Some(i)));
            }
        });
    }
    ui.separator();
    scene_panel(app, ui);
}

/// Sliders that edit a copy of the selected layer; the change is applied live and recorded as
/// one undo step per drag.
fn inspector(app: &mut MatteboxApp, ui: &mut Ui) {
    ui.heading(t!("inspector-heading"));
    let Some(i) = app.state.selected else {
        ui.label(RichText::new(t!("inspector-select")).weak());
        camera_panel(app, ui);
        return;
    };
    let Some(before) = app.state.layers().get(i).cloned() else {
        return;
    };
    let mut layer = before.clone();
    let changed = std::cell::Cell::new(false);
    let finished = std::cell::Cell::new(false);
    let track = |r: egui::Response| {
        changed.set(changed.get() | r.changed());
        finished.set(finished.get() | r.drag_stopped() | (r.changed() && !r.dragged()));
    };
    ui.horizontal(|ui| {
        let label = ui.label(t!("inspector-name"));
        track(
            ui.text_edit_singleline(&mut layer.name)
                .labelled_by(label.id),
        );
    });
    track(ui.add(egui::Slider::new(&mut layer.opacity, 0.0..=1.0).text(t!("inspector-opacity"))));
    egui::ComboBox::from_label(t!("inspector-blend"))
        .selected_text(blend_name(layer.blend))
        .show_ui(ui, |ui| {
            for mode in [
                BlendMode::Over,
                BlendMode::Add,
                BlendMode::Multiply,
                BlendMode::Screen,
            ] {
                track(ui.selectable_value(&mut layer.blend, mode, blend_name(mode)));
            }
        });
    ui.separator();
    match &mut layer.kind {
        LayerKind::Plate => {
            ui.label(t!("inspector-plate"));
        }
        LayerKind::Cutout(s) => {
            track(
                ui.add(egui::Slider::new(&mut s.erode_px, -64.0..=64.0).text(t!("cutout-erode")))
                    .on_hover_text(t!("cutout-erode-hover")),
            );
            track(
                ui.add(egui::Slider::new(&mut s.feather_px, 0.0..=64.0).text(t!("cutout-feather"))),
            );
            track(ui.checkbox(&mut s.decontaminate, t!("cutout-decontaminate")));
            track(
                ui.add(
                    egui::Slider::new(&mut s.decontaminate_radius_px, 1.0..=64.0)
                        .text(t!("cutout-decontaminate-radius")),
                ),
            );
        }
        LayerKind::Background(s) => {
            let mut kind = match s {
                BackgroundSettings::Solid { .. } => 0,
                BackgroundSettings::Image { .. } => 1,
                BackgroundSettings::BlurredPlate { .. } => 2,
            };
            let before_kind = kind;
            ui.horizontal(|ui| {
                ui.radio_value(&mut kind, 0, t!("background-solid"));
                ui.radio_value(&mut kind, 1, t!("background-image"));
                ui.radio_value(&mut kind, 2, t!("background-blurred"));
            });
            if kind != before_kind {
                *s = match kind {
                    0 => BackgroundSettings::Solid {
                        colour: [0.18, 0.18, 0.18],
                    },
                    1 => BackgroundSettings::Image {
                        path: PathBuf::new(),
                    },
                    _ => BackgroundSettings::BlurredPlate { radius_px: 24.0 },
                };
                changed.set(true);
                finished.set(true);
            }
            match s {
                BackgroundSettings::Solid { colour } => {
                    track(ui.color_edit_button_rgb(colour));
                }
                BackgroundSettings::Image { path } => {
                    let mut text = path.display().to_string();
                    ui.label(t!("background-image-file"));
                    let r = ui.text_edit_singleline(&mut text);
                    if r.lost_focus() {
                        *path = PathBuf::from(text);
                        changed.set(true);
                        finished.set(true);
                    }
                    if ui.button(t!("button-browse")).clicked()
                        && let Some(p) = rfd::FileDialog::new().pick_file()
                    {
                        *path = p;
                        changed.set(true);
                        finished.set(true);
                    }
                }
                BackgroundSettings::BlurredPlate { radius_px } => {
                    track(ui.add(
                        egui::Slider::new(radius_px, 0.0..=256.0).text(t!("background-radius")),
                    ));
                }
            }
        }
        LayerKind::DepthFog(s) => {
            track(ui.color_edit_button_rgb(&mut s.colour));
            track(ui.add(egui::Slider::new(&mut s.near_m, 0.0..=200.0).text(t!("fx-near"))));
            track(ui.add(egui::Slider::new(&mut s.far_m, 0.0..=200.0).text(t!("fx-far"))));
            track(ui.add(egui::Slider::new(&mut s.density, 0.0..=1.0).text(t!("fog-density"))));
            egui::ComboBox::from_label(t!("fog-falloff"))
                .selected_text(falloff_name(s.falloff))
                .show_ui(ui, |ui| {
                    for f in [
                        FogFalloff::Linear,
                        FogFalloff::Smooth,
                        FogFalloff::Exponential,
                    ] {
                        track(ui.selectable_value(&mut s.falloff, f, falloff_name(f)));
                    }
                });
        }
        LayerKind::DepthOfField(s) => {
            track(
                ui.add(
                    egui::Slider::new(&mut s.focus_m, 0.05..=200.0)
                        .logarithmic(true)
                        .text(t!("dof-focus")),
                ),
            );
            track(
                ui.add(
                    egui::Slider::new(&mut s.f_stop, 0.5..=64.0)
                        .logarithmic(true)
                        .text(t!("dof-f-stop")),
                ),
            );
            track(
                ui.add(egui::Slider::new(&mut s.max_blur_px, 0.0..=64.0).text(t!("dof-max-blur"))),
            );
        }
        LayerKind::DepthGrade(s) => {
            track(ui.add(egui::Slider::new(&mut s.near_m, 0.0..=200.0).text(t!("fx-near"))));
            track(ui.add(egui::Slider::new(&mut s.far_m, 0.0..=200.0).text(t!("fx-far"))));
            track(
                ui.add(egui::Slider::new(&mut s.softness_m, 0.0..=50.0).text(t!("grade-softness"))),
            );
            track(ui.add(
                egui::Slider::new(&mut s.exposure_stops, -10.0..=10.0).text(t!("grade-exposure")),
            ));
            track(ui.add(egui::Slider::new(&mut s.contrast, 0.0..=4.0).text(t!("grade-contrast"))));
            track(
                ui.add(
                    egui::Slider::new(&mut s.saturation, 0.0..=4.0).text(t!("grade-saturation")),
                ),
            );
            ui.horizontal(|ui| {
                ui.label(t!("grade-gain"));
                track(ui.color_edit_button_rgb(&mut s.gain));
            });
        }
    }
    if changed.get() || finished.get() {
        apply_layer_edit(app, i, before, layer, finished.get());
    }
    camera_panel(app, ui);
}

/// A blend mode's name in the language in use.
fn blend_name(mode: BlendMode) -> String {
    match mode {
        BlendMode::Over => t!("blend-over"),
        BlendMode::Add => t!("blend-add"),
        BlendMode::Multiply => t!("blend-multiply"),
        BlendMode::Screen => t!("blend-screen"),
    }
}

/// A fog falloff's name in the language in use.
fn falloff_name(falloff: FogFalloff) -> String {
    match falloff {
        FogFalloff::Linear => t!("falloff-linear"),
        FogFalloff::Smooth => t!("falloff-smooth"),
        FogFalloff::Exponential => t!("falloff-exponential"),
    }
}

/// A depth mapping's name in the language in use.
fn mapping_name(mapping: DepthMapping) -> String {
    match mapping {
        DepthMapping::Scene => t!("mapping-scene"),
        DepthMapping::Metric => t!("mapping-metric"),
    }
}

/// A camera key's easing in the language in use.
fn ease_name(ease: Ease) -> String {
    match ease {
        Ease::Linear => t!("ease-linear"),
        Ease::EaseIn => t!("ease-in"),
        Ease::EaseOut => t!("ease-out"),
        Ease::EaseInOut => t!("ease-in-out"),
        Ease::Hold => t!("ease-hold"),
    }
}

fn apply_layer_edit(app: &mut MatteboxApp, i: usize, before: Layer, layer: Layer, finished: bool) {
    // Live while dragging (no history entry), then one undoable edit when the drag ends.
    let original = match app.ui.dragging.take() {
        Some((j, original)) if j == i => original,
        _ => before,
    };
    if finished {
        if let Some(doc) = app.state.doc.as_mut()
            && let Some(slot) = doc.project.layers.get_mut(i)
        {
            *slot = original;
        }
        app.edit(Edit::SetLayer { index: i, layer });
    } else {
        if let Some(doc) = app.state.doc.as_mut()
            && let Some(slot) = doc.project.layers.get_mut(i)
        {
            *slot = layer;
            app.state.revision += 1;
        }
        app.ui.dragging = Some((i, original));
    }
}

fn scene_panel(app: &mut MatteboxApp, ui: &mut Ui) {
    let Some(doc) = &app.state.doc else { return };
    let before = doc.project.scene.clone();
    let mut scene = before.clone();
    let mut done = false;
    egui::CollapsingHeader::new(t!("scene-heading"))
        .id_salt("scene")
        .default_open(true)
        .show(ui, |ui| {
            egui::ComboBox::from_label(t!("scene-mapping"))
                .selected_text(mapping_name(scene.depth_mapping))
                .show_ui(ui, |ui| {
                    for m in [DepthMapping::Scene, DepthMapping::Metric] {
                        done |= ui
                            .selectable_value(&mut scene.depth_mapping, m, mapping_name(m))
                            .changed();
                    }
                });
            for (value, range, label) in [
                (&mut scene.near_m, 0.05..=100.0, t!("fx-near")),
                (&mut scene.far_m, 0.1..=1000.0, t!("fx-far")),
            ] {
                let r = ui.add(
                    egui::Slider::new(value, range)
                        .logarithmic(true)
                        .text(label),
                );
                done |= r.drag_stopped() || (r.changed() && !r.dragged());
            }
            let r = ui
                .add(
                    egui::Slider::new(&mut scene.depth_curve, 0.1..=10.0)
                        .logarithmic(true)
                        .text(t!("scene-curve")),
                )
                .on_hover_text(t!("scene-curve-hover"));
            done |= r.drag_stopped() || (r.changed() && !r.dragged());
            let r =
                ui.add(egui::Slider::new(&mut scene.fov_deg, 1.0..=170.0).text(t!("scene-fov")));
            done |= r.drag_stopped() || (r.changed() && !r.dragged());
        });
    if done && scene != before {
        app.edit(Edit::SetScene(scene));
    }
    subject_depth_panel(app, ui);
}

/// Where the matted subject sits in depth: the model's depth, a card at a distance, or in front
/// of its surroundings (`composite::subject`); each change is one undoable edit.
fn subject_depth_panel(app: &mut MatteboxApp, ui: &mut Ui) {
    use crate::composite::subject::SubjectDepth;
    let Some(doc) = &app.state.doc else { return };
    let before = doc.project.subject_depth;
    let mut subject = before;
    let mut done = false;
    egui::CollapsingHeader::new(t!("subject-heading"))
        .default_open(true)
        .show(ui, |ui| {
            let name = |s: &SubjectDepth| match s {
                SubjectDepth::Model => t!("subject-model"),
                SubjectDepth::Distance { .. } => t!("subject-distance"),
                SubjectDepth::InFront { .. } => t!("subject-in-front"),
            };
            egui::ComboBox::from_label(t!("subject-label"))
                .selected_text(name(&subject))
                .show_ui(ui, |ui| {
                    for choice in [
                        SubjectDepth::Model,
                        SubjectDepth::Distance { metres: 2.0 },
                        SubjectDepth::InFront { margin_m: 0.5 },
                    ] {
                        let same =
                            std::mem::discriminant(&choice) == std::mem::discriminant(&subject);
                        if ui.selectable_label(same, name(&choice)).clicked() && !same {
                            subject = choice;
                            done = true;
                        }
                    }
                })
                .response
                .on_hover_text(t!("subject-hover"));
            let value = match &mut subject {
                SubjectDepth::Model => None,
                SubjectDepth::Distance { metres } => Some((metres, t!("subject-distance-m"))),
                SubjectDepth::InFront { margin_m } => Some((margin_m, t!("subject-margin-m"))),
            };
            if let Some((value, label)) = value {
                let r = ui.add(
                    egui::Slider::new(value, 0.01..=100.0)
                        .logarithmic(true)
                        .text(label),
                );
                done |= r.drag_stopped() || (r.changed() && !r.dragged());
            }
        });
    if done && subject != before {
        app.edit(Edit::SetSubjectDepth(subject));
    }
}

fn camera_panel(app: &mut MatteboxApp, ui: &mut Ui) {
    let Some(k) = app.ui.selected_key else { return };
    let Some(doc) = &app.state.doc else { return };
    let Some(before) = doc.project.camera.keys.get(k).cloned() else {
        app.ui.selected_key = None;
        return;
    };
    ui.separator();
    ui.heading(t!("camera-key-heading", frame = before.frame));
    let mut key = before.clone();
    let mut done = false;
    for (value, range, label) in [
        (&mut key.dolly_m, -5.0..=5.0, t!("camera-dolly")),
        (&mut key.truck_m, -5.0..=5.0, t!("camera-truck")),
        (&mut key.pedestal_m, -5.0..=5.0, t!("camera-pedestal")),
        (&mut key.pan_deg, -45.0..=45.0, t!("camera-pan")),
        (&mut key.tilt_deg, -45.0..=45.0, t!("camera-tilt")),
        (&mut key.roll_deg, -45.0..=45.0, t!("camera-roll")),
        (&mut key.orbit_deg, -45.0..=45.0, t!("camera-orbit")),
        (&mut key.zoom, 0.1..=10.0, t!("camera-zoom")),
    ] {
        let r = ui.add(egui::Slider::new(value, range).text(label));
        done |= r.drag_stopped() || (r.changed() && !r.dragged());
    }
    egui::ComboBox::from_label(t!("camera-ease"))
        .selected_text(ease_name(key.ease))
        .show_ui(ui, |ui| {
            for e in [
                Ease::Linear,
                Ease::EaseIn,
                Ease::EaseOut,
                Ease::EaseInOut,
                Ease::Hold,
            ] {
                done |= ui
                    .selectable_value(&mut key.ease, e, ease_name(e))
                    .changed();
            }
        });
    if done && key != before {
        app.edit(Edit::SetKey { index: k, key });
    }
}

fn viewer(app: &mut MatteboxApp, ui: &mut Ui) {
    // Wraps on a narrow window, so every control (the brush's included) stays reachable.
    ui.horizontal_wrapped(|ui| {
        for v in View::ALL {
            if ui
                .selectable_label(app.state.view == v, v.label())
                .clicked()
            {
                app.act(Action::SetView(v));
            }
        }
        ui.separator();
        let mut wipe = app.state.wipe;
        egui::ComboBox::from_label("A/B")
            .selected_text(match wipe {
                Some(v) => t!("viewer-wipe", view = v.label()),
                None => t!("viewer-no-wipe"),
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut wipe, None, t!("viewer-no-wipe"));
                for v in View::ALL {
                    ui.selectable_value(&mut wipe, Some(v), t!("viewer-wipe", view = v.label()));
                }
            });
        if wipe != app.state.wipe {
            app.act(Action::SetWipe(wipe));
        }
        ui.separator();
        if ui.button(t!("viewer-fit")).on_hover_text("F").clicked() {
            app.act(Action::Fit);
        }
        if ui.button("1:1").on_hover_text("1").clicked() {
            app.act(Action::OneToOne);
        }
        let mut proxy = app.state.proxy;
        egui::ComboBox::from_id_salt("proxy")
            .selected_text(t!("viewer-proxy", proxy = proxy.label()))
            .show_ui(ui, |ui| {
                for p in super::jobs::Proxy::ALL {
                    ui.selectable_value(&mut proxy, p, p.label());
                }
            })
            .response
            .on_hover_text(t!("viewer-proxy-hover"));
        if proxy != app.state.proxy {
            app.act(Action::SetProxy(proxy));
        }
        ui.separator();
        let mut brush = app.ui.brush;
        ui.label(t!("viewer-brush"));
        ui.selectable_value(&mut brush, None, t!("brush-off"));
        ui.selectable_value(&mut brush, Some(BrushMode::Add), t!("brush-add"));
        ui.selectable_value(&mut brush, Some(BrushMode::Subtract), t!("brush-subtract"));
        // Never split across the toolbar's rows.
        ui.add(egui::Label::new(t!("viewer-depth-brush")).extend());
        ui.selectable_value(&mut brush, Some(BrushMode::Push), t!("brush-push"))
            .on_hover_text(t!("brush-push-hover"));
        ui.selectable_value(&mut brush, Some(BrushMode::Pull), t!("brush-pull"))
            .on_hover_text(t!("brush-pull-hover"));
        if brush != app.ui.brush {
            app.ui.brush = brush;
            // Paint where the pass shows: the depth brush on the depth view, the matte's on the
            // matte view.
            let view = match brush {
                Some(b) if b.is_depth() => Some(View::Depth),
                Some(_) if app.state.view == View::Composite || app.state.view == View::Depth => {
                    Some(View::Matte)
                }
                _ => None,
            };
            if let Some(view) = view.filter(|v| *v != app.state.view) {
                app.act(Action::SetView(view));
            }
        }
        if app.ui.brush.is_some() {
            let label = ui.label(t!("brush-radius"));
            ui.add(
                egui::DragValue::new(&mut app.ui.brush_radius_px)
                    .range(0.5..=500.0)
                    .suffix(" px"),
            )
            .labelled_by(label.id)
            .on_hover_text(t!("brush-radius-hover"));
            let label = ui.label(t!("brush-softness"));
            ui.add(
                egui::DragValue::new(&mut app.ui.brush_softness)
                    .range(0.0..=1.0)
                    .speed(0.01),
            )
            .labelled_by(label.id)
            .on_hover_text(t!("brush-softness-hover"));
            if app.ui.brush.is_some_and(BrushMode::is_depth) {
                let label = ui.label(t!("brush-strength"));
                ui.add(
                    egui::DragValue::new(&mut app.ui.brush_amount)
                        .range(0.0..=8.0)
                        .speed(0.02)
                        .suffix(t!("display-stops")),
                )
                .labelled_by(label.id)
                .on_hover_text(t!("brush-strength-hover"));
            }
        }
    });
    display_toolbar(app, ui);
    let frame = app.frame.clone();
    let cached = app.shown_cached.clone();
    // What is on screen: the RAM preview's frame when the playhead's is cached, else the
    // loaded frame (its composite follows from the compositor thread).
    let geo = match (&cached, &frame) {
        (Some((_, c)), _) => Geo {
            width: c.plate.width,
            height: c.plate.height,
            scale: c.scale,
            full_size: c.full_size,
            has_aux: c.aux.is_some(),
        },
        (None, Some(f)) => Geo {
            width: f.plate.width,
            height: f.plate.height,
            scale: f.scale,
            full_size: f.full_size,
            has_aux: f.aux.is_some(),
        },
        (None, None) => {
            ui.centered_and_justified(|ui| {
                if app.state.doc.is_some() {
                    ui.spinner();
                } else {
                    ui.label(RichText::new(t!("viewer-empty")).size(16.0));
                }
            });
            return;
        }
    };
    let available = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(available, egui::Sense::click_and_drag());
    let (w, h) = (geo.width as f32, geo.height as f32);
    let fit = (available.width() / w)
        .min(available.height() / h)
        .max(1e-3);
    // `state.zoom` counts screen points per full-size plate pixel (1 = 100 %), whatever the
    // preview's size.
    let zoom_points = app.state.zoom.map_or(fit, |z| z / geo.scale);
    // Scroll zooms; drag pans.
    if response.hovered() {
        let scroll = ui.ctx().input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            let factor = (scroll / 200.0).exp();
            app.state.zoom = Some((zoom_points * geo.scale * factor).clamp(0.02, 64.0));
        }
    }
    let painting = app.ui.brush.is_some() && geo.has_aux && frame.is_some();
    if response.dragged() && app.state.wipe.is_none() && !painting {
        let d = response.drag_delta();
        app.state.pan[0] += d.x;
        app.state.pan[1] += d.y;
    }
    let zoom_points = app.state.zoom.map_or(fit, |z| z / geo.scale);
    let image_size = egui::vec2(w * zoom_points, h * zoom_points);
    let image_min =
        available.center() - image_size / 2.0 + egui::vec2(app.state.pan[0], app.state.pan[1]);
    let image_rect = egui::Rect::from_min_size(image_min, image_size);
    // The wipe follows a drag.
    if app.state.wipe.is_some()
        && (response.dragged() || response.clicked())
        && let Some(p) = response.interact_pointer_pos()
    {
        app.state.wipe_at = ((p.x - image_rect.left()) / image_rect.width()).clamp(0.0, 1.0);
    }
    // The matte brush: a drag paints a stroke in plate pixels; releasing it records one edit.
    if painting {
        if (response.dragged() || response.drag_started())
            && let Some(p) = response.interact_pointer_pos()
        {
            let q = [
                (p.x - image_rect.left()) / zoom_points / geo.scale,
                (p.y - image_rect.top()) / zoom_points / geo.scale,
            ];
            if app
                .ui
                .stroke
                .last()
                .is_none_or(|l| (l[0] - q[0]).abs() + (l[1] - q[1]).abs() > 0.5)
            {
                app.ui.stroke.push(q);
            }
        }
        if (response.drag_stopped() || response.clicked()) && !app.ui.stroke.is_empty()
            || response.clicked()
        {
            if app.ui.stroke.is_empty()
                && let Some(p) = response.interact_pointer_pos()
            {
                app.ui.stroke.push([
                    (p.x - image_rect.left()) / zoom_points / geo.scale,
                    (p.y - image_rect.top()) / zoom_points / geo.scale,
                ]);
            }
            let points = std::mem::take(&mut app.ui.stroke);
            if let (Some(mode), Some(doc)) = (app.ui.brush, &app.state.doc) {
                let src = doc.source_index(app.state.frame);
                let number = if doc.shot.frames.len() > 1 {
                    doc.shot.frames.get(src).and_then(|f| f.number)
                } else {
                    None
                };
                app.edit(Edit::AddStroke(MatteStroke {
                    amount: app.ui.brush_amount,
                    frame: number,
                    mode,
                    radius_px: app.ui.brush_radius_px,
                    softness: app.ui.brush_softness,
                    points,
                }));
            }
        }
    }
    let ppp = ui.ctx().pixels_per_point();
    // The composite to ask for when the frame is not cached: only for the playhead's own
    // frame (one left from before a step is not composited again), a draft while a drag edits.
    let request = match &frame {
        Some(f) if cached.is_none() && app.frame_is_playhead() => {
            // The panels drawn before the viewer may have edited the document in this frame.
            let draft = app.drafting();
            let cache_key = if draft {
                None
            } else {
                app.cache_key_at(app.state.frame)
            };
            app.plan(f).map(|(plan, plan_key, spec)| RenderRequest {
                key: (f.key, plan_key, draft),
                frame: Arc::clone(f),
                plan,
                spec,
                cache_key,
            })
        }
        _ => None,
    };
    app.wanted = request.as_ref().map(|r| (app.state.frame, r.key));
    let composing = request.is_some() || cached.is_some();
    let wipe_px = match app.state.wipe {
        Some(_) => {
            (image_rect.left() + app.state.wipe_at * image_rect.width() - available.left()) * ppp
        }
        None => 1e9,
    };
    let display = DisplayUniform {
        origin_px: [0.0; 2],
        size_px: [0.0; 2],
        image_origin_px: [
            (image_rect.left() - available.left()) * ppp,
            (image_rect.top() - available.top()) * ppp,
        ],
        scale: zoom_points * ppp,
        view_a: app.state.view.code(),
        view_b: app.state.wipe.unwrap_or(app.state.view).code(),
        wipe_px,
        has_aux: u32::from(geo.has_aux),
        ..DisplayUniform::default()
    }
    .with_settings(&app.state.display)
    .with_working(
        app.state
            .doc
            .as_ref()
            .map(|d| d.project.colour.working_space)
            .unwrap_or_default(),
    );
    app.viewer_rect = Some(available);
    ui.painter().add(egui_wgpu::Callback::new_paint_callback(
        available,
        ViewerPaint {
            frame: frame.clone(),
            cached: cached.clone(),
            request,
            display,
            rect: available,
        },
    ));
    // The zoom, in full-size pixels (100 % = one screen point per plate pixel).
    ui.painter().text(
        available.left_top() + egui::vec2(8.0, 8.0),
        egui::Align2::LEFT_TOP,
        format!("{:.0} %", zoom_points * geo.scale * 100.0),
        egui::FontId::monospace(12.0),
        Color32::from_rgba_unmultiplied(255, 255, 255, 190),
    );
    // The last finished composite stays on screen while the next one is drawn off the UI thread.
    if app.rendering && (composing || geo.has_aux) && cached.is_none() {
        ui.painter().text(
            available.right_top() + egui::vec2(-8.0, 8.0),
            egui::Align2::RIGHT_TOP,
            t!("viewer-rendering"),
            egui::FontId::proportional(12.0),
            Color32::from_rgba_unmultiplied(255, 255, 255, 170),
        );
    }
    if painting {
        let to_screen = |q: &[f32; 2]| {
            egui::pos2(
                image_rect.left() + q[0] * geo.scale * zoom_points,
                image_rect.top() + q[1] * geo.scale * zoom_points,
            )
        };
        let colour = match app.ui.brush {
            Some(BrushMode::Subtract) => Color32::from_rgb(255, 90, 90),
            Some(BrushMode::Push) => Color32::from_rgb(90, 140, 255),
            Some(BrushMode::Pull) => Color32::from_rgb(255, 200, 80),
            _ => Color32::from_rgb(90, 255, 120),
        };
        let width = app.ui.brush_radius_px * 2.0 * zoom_points * geo.scale;
        let line: Vec<egui::Pos2> = app.ui.stroke.iter().map(to_screen).collect();
        if line.len() > 1 {
            ui.painter().add(egui::Shape::line(
                line,
                egui::Stroke::new(width, colour.gamma_multiply(0.35)),
            ));
        }
        if let Some(p) = response.hover_pos() {
            ui.painter().circle_stroke(
                p,
                app.ui.brush_radius_px * zoom_points * geo.scale,
                egui::Stroke::new(1.5, colour),
            );
        }
    }
    // The pixel probe reads the view on screen: linear values and their 8-bit display values
    // under the cursor, the depth in metres and the matte; it clears off the image.
    app.ui.probe.clear();
    if let Some(p) = response.hover_pos() {
        let ix = ((p.x - image_rect.left()) / zoom_points).floor();
        let iy = ((p.y - image_rect.top()) / zoom_points).floor();
        if ix >= 0.0 && iy >= 0.0 && ix < w && iy < h {
            let view = match app.state.wipe {
                Some(b) if p.x >= image_rect.left() + app.state.wipe_at * image_rect.width() => b,
                _ => app.state.view,
            };
            app.ui.probe = probe_text(
                view,
                (ix as u32, iy as u32),
                &geo,
                cached.as_ref().map(|(_, c)| c.as_ref()),
                frame.as_deref(),
                &app.state.display,
                app.state
                    .doc
                    .as_ref()
                    .map(|d| d.project.colour.working_space)
                    .unwrap_or_default(),
            );
        }
    }
    // Click to focus: Ctrl+click (Cmd on a Mac) sets the depth of field's focus distance to the
    // distance under the cursor, as the composite sees it (from the moved camera) once drawn.
    if response.clicked()
        && !painting
        && ui.input(|i| i.modifiers.command)
        && let Some(p) = response.interact_pointer_pos()
    {
        let ix = ((p.x - image_rect.left()) / zoom_points).floor();
        let iy = ((p.y - image_rect.top()) / zoom_points).floor();
        if ix >= 0.0 && iy >= 0.0 && ix < w && iy < h {
            let (_, _, aux) = probe_values(
                View::Composite,
                (ix as u32, iy as u32),
                &geo,
                cached.as_ref().map(|(_, c)| c.as_ref()),
                frame.as_deref(),
            );
            focus_at(app, aux.map(|a| a[0]));
        }
    }
    if !app.ui.probe.is_empty() {
        let painter = ui.painter_at(available);
        let pos = available.left_bottom() + egui::vec2(8.0, -8.0);
        let galley = painter.layout_no_wrap(
            app.ui.probe.clone(),
            egui::FontId::monospace(11.0),
            Color32::WHITE,
        );
        let bg = egui::Rect::from_min_size(
            pos - egui::vec2(4.0, galley.size().y + 4.0),
            galley.size() + egui::vec2(8.0, 6.0),
        );
        painter.rect_filled(bg, 3.0, Color32::from_black_alpha(170));
        painter.galley(
            pos - egui::vec2(0.0, galley.size().y + 1.0),
            galley,
            Color32::WHITE,
        );
    }
    // The depth legend and what the depth means.
    if (matches!(app.state.view, View::Depth) || app.state.wipe == Some(View::Depth))
        && let Some(frame) = &frame
    {
        depth_legend(app, ui, available, frame);
    }
    let unreadable = frame
        .as_ref()
        .filter(|_| app.frame_is_playhead())
        .and_then(|f| f.unreadable.clone());
    if let Some(reason) = unreadable {
        let r = egui::Rect::from_min_size(
            available.min + egui::vec2(12.0, 28.0),
            egui::vec2(available.width() - 24.0, 40.0),
        );
        let mut child = ui.new_child(egui::UiBuilder::new().max_rect(r));
        child.label(
            RichText::new(t!("viewer-unreadable", reason = reason))
                .color(Color32::from_rgb(255, 120, 120))
                .strong(),
        );
    } else if !geo.has_aux && app.passes.is_none() {
        let r = egui::Rect::from_min_size(
            available.min + egui::vec2(12.0, 12.0),
            egui::vec2(360.0, 30.0),
        );
        let mut child = ui.new_child(egui::UiBuilder::new().max_rect(r));
        child.horizontal(|ui| {
            ui.label(RichText::new(t!("viewer-no-passes")).color(Color32::LIGHT_YELLOW));
            if ui.button(t!("viewer-run-passes")).clicked() {
                app.run_passes(false);
            }
        });
    }
}

/// The viewer's display controls (the screen only; data and exports are never changed):
/// exposure and gamma as in Nuke's viewer, the transform, the channel, the matte overlay, zebra.
fn display_toolbar(app: &mut MatteboxApp, ui: &mut Ui) {
    use super::state::{Channel, Transform};
    let d = &mut app.state.display;
    ui.horizontal_wrapped(|ui| {
        ui.label(t!("display-exposure"));
        ui.add(
            egui::DragValue::new(&mut d.exposure_stops)
                .range(-16.0..=16.0)
                .speed(0.05)
                .fixed_decimals(2)
                .suffix(t!("display-stops")),
        )
        .on_hover_text(t!("display-exposure-hover"));
        ui.label(t!("display-gamma"));
        ui.add(
            egui::DragValue::new(&mut d.gamma)
                .range(0.2..=5.0)
                .speed(0.01)
                .fixed_decimals(2),
        )
        .on_hover_text(t!("display-gamma-hover"));
        if ui.small_button(t!("display-reset")).clicked() {
            d.exposure_stops = 0.0;
            d.gamma = 1.0;
        }
        ui.separator();
        egui::ComboBox::from_id_salt("transform")
            .selected_text(d.transform.label())
            .show_ui(ui, |ui| {
                for t in Transform::ALL {
                    ui.selectable_value(&mut d.transform, t, t.label());
                }
            })
            .response
            .on_hover_text(t!("display-transform-hover"));
        egui::ComboBox::from_id_salt("channel")
            .selected_text(t!("display-channel", channel = d.channel.label()))
            .show_ui(ui, |ui| {
                for c in Channel::ALL {
                    ui.selectable_value(&mut d.channel, c, c.label());
                }
            })
            .response
            .on_hover_text(t!("display-channel-hover"));
        ui.separator();
        ui.label(t!("display-matte-overlay"));
        ui.add(egui::Slider::new(&mut d.matte_overlay, 0.0..=1.0).show_value(false))
            .on_hover_text(t!("display-matte-overlay-hover"));
        ui.checkbox(&mut d.zebra, t!("display-zebra"))
            .on_hover_text(t!("display-zebra-hover"));
    });
}

/// The size of what the viewer shows.
struct Geo {
    width: u32,
    height: u32,
    /// Preview size / full size.
    scale: f32,
    full_size: (u32, u32),
    has_aux: bool,
}

/// Sets the focus of the depth of field (the selected layer if it is one, else the topmost
/// visible one) to `distance` metres, as one undoable edit, and says so.
fn focus_at(app: &mut MatteboxApp, distance: Option<f32>) {
    let Some(doc) = &app.state.doc else { return };
    let layers = &doc.project.layers;
    let is_dof = |l: &crate::composite::layers::Layer| matches!(l.kind, LayerKind::DepthOfField(_));
    let pick = app
        .state
        .selected
        .filter(|i| layers.get(*i).is_some_and(is_dof))
        .or_else(|| layers.iter().rposition(|l| l.visible && is_dof(l)));
    let Some(index) = pick else {
        app.state.toast(Level::Warning, t!("toast-no-dof"));
        return;
    };
    let Some(d) = distance.filter(|d| d.is_finite() && *d > 0.0) else {
        app.state.toast(Level::Warning, t!("toast-no-depth"));
        return;
    };
    let mut layer = layers[index].clone();
    if let LayerKind::DepthOfField(s) = &mut layer.kind {
        s.focus_m = d.clamp(0.05, 200.0);
    }
    let text = t!(
        "toast-focus",
        layer = layer.name,
        distance = format!("{:.2}", d.clamp(0.05, 200.0))
    );
    app.act(Action::Edit(Edit::SetLayer { index, layer }));
    app.state.toast(Level::Info, text);
}

/// What the probe reads at preview pixel `(x, y)` of `view`: where the values come from, the
/// colour and the aux (distance in metres, matte, nearness); shared by the probe's line and
/// click to focus.
fn probe_values(
    view: View,
    (x, y): (u32, u32),
    geo: &Geo,
    cached: Option<&crate::composite::frame_cache::CachedFrame>,
    frame: Option<&super::jobs::LoadedFrame>,
) -> (String, Option<[f32; 4]>, Option<[f32; 4]>) {
    let loaded = |img: &crate::composite::image::Image| {
        img.pixels
            .get(y as usize * img.width as usize + x as usize)
            .copied()
    };
    let plate = match (cached, frame) {
        (Some(c), _) => c.plate.pixel(x, y),
        (None, Some(f)) => loaded(&f.plate),
        _ => None,
    };
    let aux = match (cached, frame) {
        (Some(c), _) => c.aux.as_ref().and_then(|a| a.pixel(x, y)),
        (None, Some(f)) => f.aux.as_ref().and_then(loaded),
        _ => None,
    };
    let composite = cached.and_then(|c| c.composite.as_ref());
    match (view, composite) {
        (View::Composite, Some((rgba, comp_aux))) => (
            t!("probe-composite"),
            rgba.pixel(x, y),
            comp_aux.pixel(x, y),
        ),
        (View::Composite, None) if geo.has_aux => (t!("probe-plate-rendering"), plate, aux),
        (View::Composite, None) => (t!("probe-plate-no-passes"), plate, aux),
        _ => (view.label(), plate, aux),
    }
}

/// The probe's line for preview pixel `(x, y)` of `view`: from the RAM preview's frame when it
/// is on screen, else from the loaded frame (whose composite is still being drawn).
fn probe_text(
    view: View,
    (x, y): (u32, u32),
    geo: &Geo,
    cached: Option<&crate::composite::frame_cache::CachedFrame>,
    frame: Option<&super::jobs::LoadedFrame>,
    display: &super::state::DisplaySettings,
    working: crate::shot::WorkingSpace,
) -> String {
    let (source, colour, aux) = probe_values(view, (x, y), geo, cached, frame);
    let mut text = format!(
        "x {:.0} y {:.0}  {source}",
        x as f32 / geo.scale,
        y as f32 / geo.scale
    );
    if let Some(c) = colour {
        let [r, g, b] = display.codes([c[0], c[1], c[2]], working);
        text.push_str("  ");
        text.push_str(&t!(
            "probe-rgba",
            r = format!("{:.4}", c[0]),
            g = format!("{:.4}", c[1]),
            b = format!("{:.4}", c[2]),
            a = format!("{:.3}", c[3]),
            dr = r,
            dg = g,
            db = b
        ));
    }
    if geo.scale < 1.0 {
        text.push_str("  ");
        text.push_str(&t!(
            "probe-preview",
            width = geo.width,
            height = geo.height,
            full_width = geo.full_size.0,
            full_height = geo.full_size.1
        ));
    }
    if let Some(a) = aux {
        text.push_str("  ");
        text.push_str(&t!(
            "probe-depth",
            depth = format!("{:.2}", a[0]),
            nearness = format!("{:.3}", a[2]),
            matte = format!("{:.3}", a[1])
        ));
    }
    text
}

fn depth_legend(
    app: &MatteboxApp,
    ui: &mut Ui,
    area: egui::Rect,
    frame: &super::jobs::LoadedFrame,
) {
    let Some(doc) = &app.state.doc else { return };
    let rect = egui::Rect::from_min_size(
        egui::pos2(area.right() - 230.0, area.bottom() - 52.0),
        egui::vec2(220.0, 44.0),
    );
    let painter = ui.painter_at(area);
    painter.rect_filled(rect, 4.0, Color32::from_black_alpha(180));
    let bar = egui::Rect::from_min_size(rect.min + egui::vec2(8.0, 6.0), egui::vec2(204.0, 10.0));
    let steps = 32;
    for s in 0..steps {
        // Near (left) is red, far (right) blue, as the viewer's false colour.
        let t = 1.0 - s as f32 / (steps - 1) as f32;
        let c = turbo(t);
        let x0 = bar.left() + bar.width() * s as f32 / steps as f32;
        painter.rect_filled(
            egui::Rect::from_min_max(
                egui::pos2(x0, bar.top()),
                egui::pos2(x0 + bar.width() / steps as f32 + 0.5, bar.bottom()),
            ),
            0.0,
            c,
        );
    }
    let scene = &doc.project.scene;
    let meaning = match frame.semantics {
        None => t!("depth-meaning-unknown"),
        Some(crate::passes::DepthSemantics::Metric) => t!("depth-meaning-metric"),
        Some(crate::passes::DepthSemantics::Relative) => t!("depth-meaning-relative"),
        Some(crate::passes::DepthSemantics::RelativeInverse) => {
            t!("depth-meaning-relative-inverse")
        }
    };
    painter.text(
        bar.left_bottom() + egui::vec2(0.0, 3.0),
        egui::Align2::LEFT_TOP,
        t!("legend-near", metres = format!("{:.1}", scene.near_m)),
        egui::FontId::proportional(11.0),
        Color32::WHITE,
    );
    painter.text(
        bar.right_bottom() + egui::vec2(0.0, 3.0),
        egui::Align2::RIGHT_TOP,
        t!("legend-far", metres = format!("{:.1}", scene.far_m)),
        egui::FontId::proportional(11.0),
        Color32::WHITE,
    );
    painter.text(
        bar.center_bottom() + egui::vec2(0.0, 16.0),
        egui::Align2::CENTER_TOP,
        t!(
            "legend-model",
            meaning = meaning,
            mapping = mapping_name(scene.depth_mapping)
        ),
        egui::FontId::proportional(10.0),
        Color32::LIGHT_GRAY,
    );
}

/// The display shader's Turbo map, for the legend.
fn turbo(t: f32) -> Color32 {
    let v = [1.0, t, t * t, t * t * t];
    let v2 = [v[2] * v[2], v[3] * v[2]];
    let dot4 = |k: [f32; 4]| v[0] * k[0] + v[1] * k[1] + v[2] * k[2] + v[3] * k[3];
    let dot2 = |k: [f32; 2]| v2[0] * k[0] + v2[1] * k[1];
    let r =
        dot4([0.135_721_38, 4.615_392_6, -42.660_324, 132.131_08]) + dot2([-152.942_4, 59.286_38]);
    let g = dot4([0.091_402_61, 2.194_188_4, 4.842_966_6, -14.185_033])
        + dot2([4.277_298_5, 2.829_566]);
    let b = dot4([0.106_673_3, 12.641_946, -60.582_05, 110.362_77]) + dot2([-89.903_11, 27.348_25]);
    let u8c = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    Color32::from_rgb(u8c(r), u8c(g), u8c(b))
}

fn toasts(app: &mut MatteboxApp, ctx: &egui::Context) {
    app.state.toasts.retain(|t| t.since.elapsed() < TOAST_TIME);
    if app.state.toasts.is_empty() {
        return;
    }
    // Toasts never take a click from what is under them (the timeline's end, the viewer).
    egui::Area::new(egui::Id::unique("mattebox toasts"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -90.0))
        .interactable(false)
        .show(ctx, |ui| {
            for t in &app.state.toasts {
                let colour = match t.level {
                    Level::Info => Color32::from_rgb(60, 90, 60),
                    Level::Warning => Color32::from_rgb(110, 90, 30),
                    Level::Error => Color32::from_rgb(120, 40, 40),
                };
                egui::Frame::new()
                    .fill(colour)
                    .corner_radius(4.0)
                    .inner_margin(8.0)
                    .show(ui, |ui| {
                        ui.set_max_width(420.0);
                        ui.label(RichText::new(&t.text).color(Color32::WHITE));
                    });
                ui.add_space(4.0);
            }
        });
    ctx.request_repaint_after(std::time::Duration::from_millis(500));
    let _ = Instant::now();
}

fn dialogs(app: &mut MatteboxApp, ctx: &egui::Context) {
    let mut dialog = std::mem::take(&mut app.dialog);
    let mut keep = true;
    match &mut dialog {
        Dialog::None => keep = false,
        Dialog::Open(text) => {
            egui::Window::new(t!("dialog-open"))
                .id(egui::Id::unique("mattebox dialog open"))
                .collapsible(false)
                .show(ctx, |ui| {
                    ui.label(t!("dialog-open-prompt"));
                    ui.text_edit_singleline(text);
                    ui.horizontal(|ui| {
                        if ui.button(t!("button-open")).clicked() {
                            app.act(Action::Open(PathBuf::from(text.trim())));
                            keep = false;
                        }
                        if ui.button(t!("button-cancel")).clicked() {
                            keep = false;
                        }
                    });
                });
        }
        Dialog::SaveAs(text) => {
            egui::Window::new(t!("dialog-save-as"))
                .id(egui::Id::unique("mattebox dialog save as"))
                .collapsible(false)
                .show(ctx, |ui| {
                    ui.label(t!("dialog-save-as-prompt"));
                    ui.text_edit_singleline(text);
                    ui.horizontal(|ui| {
                        if ui.button(t!("button-save")).clicked() {
                            app.act(Action::SaveAs(PathBuf::from(text.trim())));
                            keep = false;
                        }
                        if ui.button(t!("button-cancel")).clicked() {
                            keep = false;
                        }
                    });
                });
        }
        Dialog::Export(request) => {
            egui::Window::new(t!("dialog-export"))
                .id(egui::Id::unique("mattebox dialog export"))
                .collapsible(false)
                .show(ctx, |ui| {
                    let mut dir = request.out_dir.display().to_string();
                    ui.label(t!("export-folder"));
                    if ui.text_edit_singleline(&mut dir).changed() {
                        request.out_dir = PathBuf::from(dir);
                    }
                    if ui.button(t!("button-browse")).clicked()
                        && let Some(p) = rfd::FileDialog::new().pick_folder()
                    {
                        request.out_dir = p;
                    }
                    ui.checkbox(&mut request.what.composite, t!("export-composite"));
                    ui.horizontal(|ui| {
                        ui.add_space(16.0);
                        ui.checkbox(&mut request.formats.exr, "EXR");
                        ui.checkbox(&mut request.formats.png, "PNG");
                    });
                    ui.checkbox(&mut request.what.animatic, t!("export-animatic"));
                    let shot_range = app.state.doc.as_ref().and_then(|d| d.shot.number_range());
                    if let Some(all) = shot_range {
                        ui.horizontal(|ui| {
                            let mut whole = request.range.is_none();
                            if ui.checkbox(&mut whole, t!("export-all-frames")).changed() {
                                request.range = if whole { None } else { Some(all) };
                            }
                            if let Some(r) = &mut request.range {
                                ui.label(t!("export-from"));
                                ui.add(
                                    egui::DragValue::new(&mut r.first).range(all.first..=all.last),
                                );
                                ui.label(t!("export-to"));
                                ui.add(egui::DragValue::new(&mut r.last).range(r.first..=all.last));
                            }
                        });
                    }
                    ui.horizontal(|ui| {
                        ui.label(t!("export-resolution"));
                        ui.selectable_value(&mut request.scale_divisor, 1, t!("export-full"));
                        ui.selectable_value(&mut request.scale_divisor, 2, t!("export-half"));
                    });
                    egui::ComboBox::from_label(t!("export-compression"))
                        .selected_text(request.exr_compression.as_str())
                        .show_ui(ui, |ui| {
                            for c in crate::export::ExrCompression::ALL {
                                ui.selectable_value(&mut request.exr_compression, c, c.as_str());
                            }
                        });
                    egui::ComboBox::from_label(t!("export-renderer"))
                        .selected_text(match request.renderer {
                            RendererChoice::Auto => t!("renderer-auto"),
                            RendererChoice::Gpu(_) => "gpu".to_string(),
                            RendererChoice::Cpu => "cpu".to_string(),
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(
                                &mut request.renderer,
                                RendererChoice::Auto,
                                t!("renderer-auto"),
                            );
                            ui.selectable_value(
                                &mut request.renderer,
                                RendererChoice::Gpu(Default::default()),
                                "gpu",
                            );
                            ui.selectable_value(&mut request.renderer, RendererChoice::Cpu, "cpu");
                        });
                    let valid = (request.what.composite
                        && (request.formats.exr || request.formats.png))
                        || request.what.animatic;
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(valid, egui::Button::new(t!("button-export")))
                            .clicked()
                        {
                            app.start_export(request.clone());
                            keep = false;
                        }
                        if ui.button(t!("button-cancel")).clicked() {
                            keep = false;
                        }
                    });
                });
        }
        Dialog::ConfirmQuit => {
            egui::Window::new(t!("dialog-unsaved"))
                .id(egui::Id::unique("mattebox dialog unsaved quit"))
                .collapsible(false)
                .show(ctx, |ui| {
                    ui.label(t!("unsaved-text"));
                    ui.horizontal(|ui| {
                        if ui.button(t!("button-save-and-quit")).clicked() {
                            if app.state.doc.as_ref().is_some_and(|d| d.path.is_some()) {
                                app.act(Action::Save);
                                if !app.state.doc.as_ref().is_some_and(|d| d.history.is_dirty()) {
                                    app.quit(ctx);
                                }
                                keep = false;
                            } else {
                                app.dialog = Dialog::SaveAs(default_save_path(&app.state));
                                keep = false;
                            }
                        }
                        if ui.button(t!("button-quit-without-saving")).clicked() {
                            app.quit(ctx);
                            keep = false;
                        }
                        if ui.button(t!("button-cancel")).clicked() {
                            keep = false;
                        }
                    });
                });
        }
        Dialog::Problems => {
            let mut open = true;
            egui::Window::new(t!("dialog-problems"))
                .id(egui::Id::unique("mattebox dialog problems"))
                .collapsible(false)
                .open(&mut open)
                .show(ctx, |ui| {
                    if app.problems.is_empty() {
                        ui.label(t!("problems-none"));
                    }
                    egui::ScrollArea::vertical()
                        .max_height(400.0)
                        .show(ui, |ui| {
                            for (path, text) in &app.problems {
                                ui.label(RichText::new(path.display().to_string()).strong());
                                ui.label(text);
                                ui.add_space(4.0);
                            }
                        });
                });
            keep = open;
        }
        Dialog::Shortcuts => {
            let mut open = true;
            egui::Window::new(t!("dialog-shortcuts"))
                .id(egui::Id::unique("mattebox dialog shortcuts"))
                .collapsible(false)
                .open(&mut open)
                .show(ctx, |ui| {
                    egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                        for (key, what) in shortcuts() {
                            ui.label(RichText::new(key).monospace().strong());
                            ui.label(what);
                            ui.end_row();
                        }
                    });
                });
            keep = open;
        }
        Dialog::ConfirmReplace { then, save_path } => {
            let untitled = app.state.doc.as_ref().is_some_and(|d| d.path.is_none());
            let question = match then {
                Action::Open(p) => t!("unsaved-before-open", path = p.display()),
                _ => t!("unsaved-before-close"),
            };
            egui::Window::new(t!("dialog-unsaved"))
                .id(egui::Id::unique("mattebox dialog unsaved replace"))
                .collapsible(false)
                .show(ctx, |ui| {
                    ui.label(question);
                    if untitled {
                        ui.label(t!("unsaved-save-as"));
                        ui.text_edit_singleline(save_path);
                    }
                    ui.horizontal(|ui| {
                        if ui.button(t!("button-save")).clicked() {
                            if untitled {
                                app.act(Action::SaveAs(PathBuf::from(save_path.trim())));
                            } else {
                                app.act(Action::Save);
                            }
                            // A failed save keeps the dialog (its toast says why).
                            if !app.is_dirty() {
                                app.confirm_replace(then.clone());
                                keep = false;
                            }
                        }
                        if ui.button(t!("button-discard")).clicked() {
                            app.confirm_replace(then.clone());
                            keep = false;
                        }
                        if ui.button(t!("button-cancel")).clicked() {
                            keep = false;
                        }
                    });
                });
        }
        Dialog::Recover(path) => {
            let path = path.clone();
            egui::Window::new(t!("dialog-recover"))
                .id(egui::Id::unique("mattebox dialog recover"))
                .collapsible(false)
                .show(ctx, |ui| {
                    ui.label(t!("recover-found", path = path.display()));
                    ui.label(t!("recover-enter"));
                    let enter =
                        ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter));
                    ui.horizontal(|ui| {
                        if ui.button(t!("button-recover")).clicked() || enter {
                            match crate::project::Project::load(&path) {
                                Ok((recovered, _)) => {
                                    if let Some(doc) = app.state.doc.as_mut() {
                                        doc.project = recovered;
                                        doc.history.mark_unsaved();
                                        app.state.revision += 1;
                                    }
                                    app.state.toast(Level::Info, t!("toast-recovered"));
                                }
                                Err(e) => app
                                    .state
                                    .toast(Level::Error, super::i18n::project_error(&e)),
                            }
                            keep = false;
                        }
                        if ui.button(t!("button-discard-autosave")).clicked() {
                            let _ = std::fs::remove_file(&path);
                            keep = false;
                        }
                    });
                });
        }
    }
    if keep && app.dialog == Dialog::None {
        app.dialog = dialog;
    }
}
