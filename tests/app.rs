//! The desktop app under egui_kittest, drawn by wgpu on llvmpipe (the viewer's composite
//! included, through its paint callback): snapshots of the main states (no document, a shot
//! before passes, the depth and matte views, the composite mid camera move) and what a user
//! does (open a shot from the command line, step frames with the keyboard, toggle a layer, undo
//! and redo, run the passes on the real models from the viewer's button).
//!
//! The same in Traditional Chinese for Hong Kong (`zh-HK`): snapshots of the empty window, a
//! shot and the View menu, every menu, submenu and dialog within the 1280×800 window with no
//! control over another, and View ▸ Language switching at run time and kept in the settings.
//! Each test names its language (English unless it says otherwise), whatever the machine's
//! locale.
//!
//! Snapshots live in tests/snapshots/; regenerate them with
//! `UPDATE_SNAPSHOTS=1 cargo test --test app` and look at every PNG before committing.
#![cfg(feature = "gui")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once, OnceLock};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::{Harness, SnapshotOptions};
use mattebox::app::i18n::Language;
use mattebox::app::state::{Action, View};
use mattebox::app::{Dialog, MatteboxApp};

/// The window size every test uses (snapshots depend on it).
const SIZE: egui::Vec2 = egui::vec2(1280.0, 800.0);
/// Loading a frame (decode, pass EXR, camera-move layers) in a debug build.
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Depth and matte on the real models, up to the whole six-frame shot, in a debug build.
const PASSES_TIMEOUT: Duration = Duration::from_secs(300);
/// Six small thumbnails.
const THUMBS_TIMEOUT: Duration = Duration::from_secs(30);

/// This test binary's scratch folder (work dir, config, pass cache, project copies).
fn scratch() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mattebox-app");
        // Folders of earlier runs whose process is gone are stale.
        if Path::new("/proc/self").exists()
            && let Ok(entries) = std::fs::read_dir(&parent)
        {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.parse::<u32>().is_ok() && !Path::new("/proc").join(&name).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let root = parent.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

/// Sets the app's folders to fresh ones (once per binary) and serialises the tests: they share
/// two cores between llvmpipe and ONNX Runtime, and timings stay predictable one at a time.
fn test_env() -> MutexGuard<'static, ()> {
    static ENV: Once = Once::new();
    ENV.call_once(|| {
        for (var, sub) in [
            ("MATTEBOX_WORK_DIR", "work"),
            ("MATTEBOX_CONFIG_DIR", "config"),
            ("MATTEBOX_CACHE_DIR", "cache"),
        ] {
            let dir = scratch().join(sub);
            std::fs::create_dir_all(&dir).unwrap();
            // SAFETY: every test calls this first, and `Once` holds the others back until it
            // returns, so no thread of this binary reads the environment while it is written.
            unsafe { std::env::set_var(var, &dir) };
        }
        // Passes run when a test asks (or turns `auto_passes` back on), so a shot opens
        // without them and no job outlives its test.
        // SAFETY: as above.
        unsafe { std::env::set_var("MATTEBOX_NO_AUTO_PASSES", "1") };
        // The RAM preview's budget shows in the timeline: the same on every machine.
        // SAFETY: as above.
        unsafe { std::env::set_var("MATTEBOX_RAM_PREVIEW_MB", "1024") };
    });
    common::quiet_vulkan();
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A private copy of the sample project and its six frames, so that each test has its own
/// work folder (the app keys it by the shot's path) and starts without passes.
fn sample_project(test: &str) -> PathBuf {
    let dir = scratch().join("projects").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    common::copy_sample_frames(&dir.join("sample_shot"), 6);
    let project = dir.join("sample_shot.mattebox.json");
    std::fs::copy(
        common::repo().join("assets/sample_shot.mattebox.json"),
        &project,
    )
    .unwrap();
    project
}

/// The app in a 1280×800 window on the wgpu test renderer, in English, with `initial` opened as
/// if passed on the command line, settled (frame loaded, thumbnails in).
fn app(initial: Option<PathBuf>) -> Harness<'static, MatteboxApp> {
    app_in(initial, Language::English)
}

/// [`app`] in `language`.
fn app_in(initial: Option<PathBuf>, language: Language) -> Harness<'static, MatteboxApp> {
    let mut harness = Harness::builder()
        .with_size(SIZE)
        .with_options(
            // kittest's default per-pixel tolerance (0.6) and no failing pixels: on this
            // machine two runs are pixel-identical, and the tolerance absorbs the last-bit
            // differences another CPU's ONNX Runtime or Mesa may give.
            SnapshotOptions::new().output_path(common::repo().join("tests/snapshots")),
        )
        .wgpu()
        .build_eframe(move |cc| MatteboxApp::with_language(cc, initial, Some(language)));
    settle(&mut harness, LOAD_TIMEOUT);
    harness
}

/// Waits for the frame loader and any job, then for the thumbnails, then lets egui settle.
fn settle(harness: &mut Harness<'static, MatteboxApp>, timeout: Duration) {
    harness.step();
    if harness.state().state.doc.is_none() {
        harness.run_steps(3);
        return;
    }
    assert!(
        harness.state_mut().settle(timeout),
        "the app did not settle within {timeout:?} (status: {})",
        harness.state().state.status
    );
    let frames = harness
        .state()
        .state
        .doc
        .as_ref()
        .map_or(0, |d| d.shot.frames.len());
    // A frame that cannot be read has a problem instead of a thumbnail.
    wait_until(harness, "the filmstrip's thumbnails", THUMBS_TIMEOUT, |h| {
        thumbnails(h) + h.state().problems.len() >= frames
    });
    wait_for_composite(harness);
    harness.run_steps(3);
}

/// Waits until the viewer shows the composite it asked the compositor thread for. kittest runs
/// the paint callbacks (where the viewer asks and takes results) only when it renders, so this
/// renders each step.
fn wait_for_composite(harness: &mut Harness<'static, MatteboxApp>) {
    let start = Instant::now();
    let mut current_in_a_row = 0;
    while current_in_a_row < 2 {
        harness.step();
        harness
            .render()
            .expect("the test renderer draws the window");
        current_in_a_row = if harness.state().composite_current {
            current_in_a_row + 1
        } else {
            0
        };
        assert!(
            start.elapsed() < LOAD_TIMEOUT,
            "timed out after {LOAD_TIMEOUT:?} waiting for the composite"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many filmstrip thumbnails egui holds.
fn thumbnails(harness: &Harness<'static, MatteboxApp>) -> usize {
    harness
        .ctx
        .tex_manager()
        .read()
        .allocated()
        .filter(|(_, meta)| meta.name.starts_with("thumb-"))
        .count()
}

/// Steps the app until `done` holds, failing after `timeout`.
fn wait_until(
    harness: &mut Harness<'static, MatteboxApp>,
    what: &str,
    timeout: Duration,
    done: impl Fn(&Harness<'static, MatteboxApp>) -> bool,
) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Readies a snapshot: no toasts (they time out), then covers the status bar, whose text
/// names this machine's ONNX Runtime, Mesa version and temp paths.
fn snapshot(harness: &mut Harness<'static, MatteboxApp>, name: &str) {
    harness.state_mut().state.toasts.clear();
    harness.run_steps(3);
    let status = harness.get_by_label_contains("wgpu: ").rect();
    harness.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, status.top() - 4.0),
        egui::pos2(SIZE.x, SIZE.y),
    ));
    harness.snapshot(name);
}

/// The timeline's frame label, e.g. `frame 1003  (3/6)`.
fn frame_label(harness: &Harness<'static, MatteboxApp>) -> String {
    // AccessKit keeps a label's text in its value.
    harness
        .get_by(|n| n.role() == Role::Label && n.value().is_some_and(|v| v.starts_with("frame ")))
        .accesskit_node()
        .value()
        .unwrap_or_default()
}

fn frame_index(harness: &Harness<'static, MatteboxApp>) -> usize {
    harness.state().state.frame
}

/// Clicks the visibility checkbox on the Layers panel's row of layer `name` (the checkbox has
/// no label of its own: it is the one on the same row as the layer's name).
fn click_visibility(harness: &Harness<'static, MatteboxApp>, name: &str) {
    let row = harness.get_by_label(name).rect().center().y;
    let boxes = harness.get_all_by_role(Role::CheckBox);
    let checkbox = boxes
        .min_by(|a, b| {
            let da = (a.rect().center().y - row).abs();
            let db = (b.rect().center().y - row).abs();
            da.total_cmp(&db)
        })
        .expect("the Layers panel has visibility checkboxes");
    assert!(
        (checkbox.rect().center().y - row).abs() < 8.0,
        "no checkbox on the row of layer {name}"
    );
    checkbox.click();
}

fn layer_index(harness: &Harness<'static, MatteboxApp>, name: &str) -> usize {
    harness
        .state()
        .state
        .layers()
        .iter()
        .position(|l| l.name == name)
        .unwrap_or_else(|| panic!("the sample project has a layer {name}"))
}

fn visible(harness: &Harness<'static, MatteboxApp>, index: usize) -> bool {
    harness.state().state.layers()[index].visible
}

#[test]
fn snapshot_empty_window() {
    let _env = test_env();
    let mut harness = app(None);
    assert!(harness.state().state.doc.is_none());
    harness.get_by_label_contains("Open a shot or a project: File > Open");
    snapshot(&mut harness, "app_empty");
}

#[test]
fn snapshot_shot_before_passes() {
    let _env = test_env();
    let mut harness = app(Some(sample_project("shot_loaded")));
    let frame = harness.state().loaded_frame().expect("frame 1001 loaded");
    assert!(frame.aux.is_none(), "a fresh copy has no passes yet");
    assert_eq!((frame.plate.width, frame.plate.height), (512, 384));
    harness.get_by_label("No passes for this frame yet.");
    snapshot(&mut harness, "app_shot_loaded");
}

/// Opening a shot without passes runs them on the whole shot by itself; then the depth, matte
/// and composite views.
#[test]
fn snapshot_views_after_passes() {
    let _env = test_env();
    let mut harness = app(None);
    harness.state_mut().auto_passes = true;
    harness
        .state_mut()
        .act(Action::Open(sample_project("views")));
    assert!(
        harness.state().passes.is_some(),
        "opening a shot without passes starts them"
    );
    settle(&mut harness, PASSES_TIMEOUT);
    assert!(
        harness
            .state()
            .loaded_frame()
            .and_then(|f| f.aux.as_ref())
            .is_some(),
        "passes ran but frame 1001 has no depth or matte (status: {})",
        harness.state().state.status
    );

    harness.state_mut().act(Action::SetView(View::Depth));
    settle(&mut harness, LOAD_TIMEOUT);
    // The view switcher shows Depth as the chosen view.
    assert_eq!(
        harness
            .get_by_role_and_label(Role::Button, "Depth")
            .accesskit_node()
            .data()
            .toggled(),
        Some(egui::accesskit::Toggled::True)
    );
    snapshot(&mut harness, "app_depth");

    harness.state_mut().act(Action::SetView(View::Matte));
    settle(&mut harness, LOAD_TIMEOUT);
    snapshot(&mut harness, "app_matte");

    // Frame 1004 of the 1001→1006 push-in and orbit: the move is well under way.
    harness.state_mut().act(Action::SetView(View::Composite));
    harness.state_mut().act(Action::Seek(3));
    settle(&mut harness, LOAD_TIMEOUT);
    assert!(frame_label(&harness).starts_with("frame 1004"));
    let frame = harness.state().loaded_frame().expect("frame 1004 loaded");
    assert!(
        frame.prepared.is_some(),
        "a moving camera needs the frame's layers prepared"
    );
    snapshot(&mut harness, "app_composite_move");
}

#[test]
fn opens_the_shot_given_on_the_command_line() {
    let _env = test_env();
    let project = sample_project("open");
    let harness = app(Some(project.clone()));
    let doc = harness
        .state()
        .state
        .doc
        .as_ref()
        .expect("the project is open");
    assert_eq!(doc.path.as_deref(), Some(project.as_path()));
    assert_eq!(doc.timeline_len(), 6, "the sample shot has six frames");
    assert_eq!(doc.frame_label(0), "1001");
    assert_eq!(frame_label(&harness), "frame 1001  (1/6)");
    assert_eq!(thumbnails(&harness), 6, "one thumbnail per frame");
    // The menu bar names the project; nothing is unsaved yet.
    harness.get_by_label("sample_shot.mattebox.json");
    assert_eq!(
        harness.state().state.recent.first(),
        Some(&project),
        "the opened file heads the recent list"
    );
}

#[test]
fn keyboard_steps_through_the_frames() {
    let _env = test_env();
    let mut harness = app(Some(sample_project("keys")));
    for _ in 0..2 {
        harness.key_press(egui::Key::ArrowRight);
        harness.step();
    }
    assert_eq!(frame_index(&harness), 2);
    harness.step();
    assert!(frame_label(&harness).starts_with("frame 1003"));

    harness.key_press(egui::Key::ArrowLeft);
    harness.step();
    assert_eq!(frame_index(&harness), 1);

    harness.key_press(egui::Key::End);
    harness.run_steps(2);
    assert_eq!(frame_index(&harness), 5);
    assert!(frame_label(&harness).starts_with("frame 1006"));
    // Past the end stays on the last frame.
    harness.key_press(egui::Key::ArrowRight);
    harness.step();
    assert_eq!(frame_index(&harness), 5);

    harness.key_press(egui::Key::Home);
    harness.run_steps(2);
    assert_eq!(frame_index(&harness), 0);
    assert!(frame_label(&harness).starts_with("frame 1001"));

    // Three presses that land in one slow window frame are three steps, not one.
    for _ in 0..3 {
        harness.key_press(egui::Key::ArrowRight);
    }
    harness.step();
    assert_eq!(frame_index(&harness), 3, "presses of one frame were merged");
    harness.key_press(egui::Key::Home);
    harness.run_steps(2);

    harness.key_press(egui::Key::Space);
    harness.step();
    assert!(harness.state().state.playing, "Space starts playback");
    harness.key_press(egui::Key::Space);
    harness.step();
    assert!(!harness.state().state.playing, "Space stops playback");

    // The viewer follows the playhead: the loaded frame is the one shown.
    harness.key_press(egui::Key::End);
    harness.step();
    settle(&mut harness, LOAD_TIMEOUT);
    let doc = harness.state().state.doc.as_ref().unwrap();
    let key_of_last = mattebox::app::jobs::LoadRequest::key_for(
        &doc.shot.frames[5].path,
        &mattebox::app::jobs::pass_exr(&doc.shot.source, &doc.shot.frames[5]),
        &doc.project,
        &doc.base_dir,
    );
    assert_eq!(
        harness.state().loaded_frame().map(|f| f.key),
        Some(key_of_last)
    );
}

#[test]
fn layer_visibility_toggles_and_undoes() {
    let _env = test_env();
    let mut harness = app(Some(sample_project("layers")));
    let fog = layer_index(&harness, "Depth fog");
    assert!(visible(&harness, fog));
    assert!(
        !harness
            .state()
            .state
            .doc
            .as_ref()
            .unwrap()
            .history
            .can_undo()
    );

    click_visibility(&harness, "Depth fog");
    harness.run_steps(2);
    assert!(
        !visible(&harness, fog),
        "clicking the checkbox hides the layer"
    );
    let doc = harness.state().state.doc.as_ref().unwrap();
    assert!(doc.history.can_undo(), "the change is in the history");
    assert!(doc.history.is_dirty());
    assert!(
        doc.title().ends_with('*'),
        "the title marks unsaved changes"
    );
    // Only that layer changed.
    for (i, layer) in harness.state().state.layers().iter().enumerate() {
        assert_eq!(layer.visible, i != fog, "layer {}", layer.name);
    }

    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run_steps(2);
    assert!(visible(&harness, fog), "Ctrl+Z shows it again");
    assert!(
        harness
            .state()
            .state
            .doc
            .as_ref()
            .unwrap()
            .history
            .can_redo()
    );

    harness.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    harness.run_steps(2);
    assert!(!visible(&harness, fog), "Ctrl+Shift+Z hides it again");

    // And the checkbox itself reflects the state: clicking it again shows the layer.
    click_visibility(&harness, "Depth fog");
    harness.run_steps(2);
    assert!(visible(&harness, fog));
}

#[test]
fn run_passes_button_makes_a_matte_of_the_subject() {
    let _env = test_env();
    let mut harness = app(Some(sample_project("run_passes")));
    assert!(harness.state().loaded_frame().unwrap().aux.is_none());
    harness.get_by_label("Run passes").click();
    harness.run_steps(2);
    assert!(
        harness.state().passes.is_some(),
        "the button starts a pass job"
    );
    settle(&mut harness, PASSES_TIMEOUT);
    let frame = harness.state().loaded_frame().expect("frame loaded");
    let aux = frame.aux.as_ref().unwrap_or_else(|| {
        panic!(
            "no passes after the job (status: {})",
            harness.state().state.status
        )
    });
    assert_eq!((aux.width, aux.height), (512, 384));
    // The astronaut's face (the photo's centre-left, upper third) is in the matte; the grey
    // backdrop at the top-right corner is not. Averages over small patches.
    let mean = |x0: u32, y0: u32, channel: usize| {
        let mut sum = 0.0;
        for y in y0..y0 + 8 {
            for x in x0..x0 + 8 {
                sum += aux.pixels[(y * aux.width + x) as usize][channel];
            }
        }
        sum / 64.0
    };
    let face = mean(220, 100, 1);
    let corner = mean(496, 8, 1);
    println!("matte: face {face:.3}, backdrop corner {corner:.3}");
    assert!(face > 0.5, "the face is in the matte ({face:.3})");
    assert!(corner < 0.5, "the backdrop is not ({corner:.3})");
    // The subject is nearer than the backdrop (nearness: 1 is nearest).
    let (near_face, near_corner) = (mean(220, 100, 2), mean(496, 8, 2));
    println!("nearness: face {near_face:.3}, backdrop corner {near_corner:.3}");
    assert!(
        near_face > near_corner,
        "the face is nearer than the backdrop"
    );
    // The overlay asking for passes is gone, and only this frame was processed.
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("No passes for this frame yet.")
            .is_none()
    );
    harness.key_press(egui::Key::ArrowRight);
    harness.step();
    settle(&mut harness, LOAD_TIMEOUT);
    assert!(
        harness.state().loaded_frame().unwrap().aux.is_none(),
        "frame 1002 was not processed by a this-frame run"
    );
    // A second run in the same session works too (the app reuses the ONNX Runtime).
    harness.get_by_label("Run passes").click();
    harness.run_steps(2);
    settle(&mut harness, PASSES_TIMEOUT);
    assert!(
        harness.state().loaded_frame().unwrap().aux.is_some(),
        "a second run of the passes gave frame 1002 no passes (status: {})",
        harness.state().state.status
    );
}

/// Every widget a user can act on has an accessible name (what screen readers announce and
/// kittest's queries find), in the empty window and with a shot open.
#[test]
fn every_input_widget_has_a_name() {
    let _env = test_env();
    let empty = app(None);
    let mut unnamed = empty.unnamed_widgets();
    let mut harness = app(Some(sample_project("a11y")));
    assert_eq!(
        harness.get_all_by_role(Role::CheckBox).count(),
        6,
        "one visibility checkbox per layer, and the viewer's zebra"
    );
    unnamed.extend(harness.unnamed_widgets());
    // With a layer in the inspector.
    harness.state_mut().act(Action::Select(Some(1)));
    harness.run_steps(2);
    unnamed.extend(harness.unnamed_widgets());
    unnamed.sort();
    unnamed.dedup();
    assert!(
        unnamed.is_empty(),
        "{} widget(s) without an accessible name:\n{}",
        unnamed.len(),
        unnamed.join("\n")
    );
}

/// Every non-ASCII character in the app's string literals has a glyph in egui's bundled fonts:
/// otherwise a machine without a system font that has it shows tofu (and kittest, which installs
/// no system fonts, draws tofu in the snapshots).
#[test]
fn ui_glyphs_are_in_the_bundled_fonts() {
    let _env = test_env();
    let harness = app(None);
    let mut missing = std::collections::BTreeMap::<char, Vec<String>>::new();
    for entry in std::fs::read_dir(common::repo().join("src/app")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Only what the UI can show: string literals, not comments.
            let code = line.split("//").next().unwrap_or_default();
            for literal in code.split('"').skip(1).step_by(2) {
                for c in literal.chars().filter(|c| !c.is_ascii()) {
                    let found = harness.ctx.fonts_mut(|f| {
                        f.has_glyph(&egui::FontId::proportional(14.0), c)
                            && f.has_glyph(&egui::FontId::monospace(14.0), c)
                    });
                    if !found {
                        let file = path.file_name().unwrap().to_string_lossy();
                        missing
                            .entry(c)
                            .or_default()
                            .push(format!("{file}:{}", n + 1));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "glyphs egui's fonts lack (U+ code, where): {:#?}",
        missing
            .iter()
            .map(|(c, at)| format!("{c} U+{:04X} at {}", *c as u32, at.join(", ")))
            .collect::<Vec<_>>()
    );
}

/// Chinese renders: the system CJK font (scripts/setup.sh installs Debian's fonts-noto-cjk) is
/// loaded after egui's own fonts, its Hong Kong face chosen by name, and it has a glyph for
/// every character of the Hong Kong post-production terms. egui's bundled fonts alone have none
/// of them (so the check can fail). Without the font the test is skipped, except on CI.
#[test]
fn chinese_text_gets_its_glyphs_from_the_hong_kong_face() {
    let terms = "合成 遮罩 景深 深度 圖層 攝影機 關鍵幀 匯出 渲染 預覽 層名：前景人物";
    let has_all = |ctx: &egui::Context| {
        terms.chars().filter(|c| !c.is_whitespace()).all(|c| {
            ctx.fonts_mut(|f| {
                f.has_glyph(&egui::FontId::proportional(14.0), c)
                    && f.has_glyph(&egui::FontId::monospace(14.0), c)
            })
        })
    };
    let plain = Harness::new_ui(|ui| {
        ui.label("plain egui");
    });
    assert!(!has_all(&plain.ctx), "egui's own fonts cover Chinese?");

    let _env = test_env();
    let harness = app(None);
    let font = match &harness.state().fonts {
        Ok(font) => font.clone(),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "on CI the CJK font must be there: {why}"
            );
            eprintln!("skipped: {why}");
            return;
        }
    };
    eprintln!("CJK font: {font:?}");
    assert_eq!(font.family, "Noto Sans CJK HK", "{font:?}");
    assert!(has_all(&harness.ctx), "{font:?} lacks a glyph of {terms}");
    // The face chosen by name is the one fontconfig numbers as Hong Kong's.
    let data = std::fs::read(&font.path).unwrap();
    assert_eq!(
        mattebox::app::fonts::choose_face(&data),
        Some((font.index, font.family.clone()))
    );
}

/// Click to focus: Ctrl+click (Cmd on a Mac) in the viewer sets the depth of field's focus to
/// the distance under the cursor (what the probe reads there), as one undoable edit.
#[test]
fn ctrl_click_focuses_the_depth_of_field_where_it_is_clicked() {
    use mattebox::composite::layers::LayerKind;
    let _env = test_env();
    let mut harness = app(None);
    harness.state_mut().auto_passes = true;
    harness
        .state_mut()
        .act(Action::Open(sample_project("focus")));
    settle(&mut harness, PASSES_TIMEOUT);
    wait_for_composite(&mut harness);
    let focus = |h: &Harness<'static, MatteboxApp>| {
        h.state()
            .state
            .doc
            .as_ref()
            .unwrap()
            .project
            .layers
            .iter()
            .find_map(|l| match &l.kind {
                LayerKind::DepthOfField(s) => Some(s.focus_m),
                _ => None,
            })
            .unwrap()
    };
    let before = focus(&harness);
    let at = egui::pos2(730.0, 350.0);
    harness.hover_at(at);
    harness.run_steps(3);
    let probe = harness.state().probe().to_string();
    let depth: f32 = probe
        .split("depth ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no depth in the probe: {probe}"));
    let button = |pressed, modifiers| egui::Event::PointerButton {
        pos: at,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers,
    };
    // A plain click does not focus.
    harness.event(button(true, egui::Modifiers::default()));
    harness.run_steps(1);
    harness.event(button(false, egui::Modifiers::default()));
    harness.run_steps(2);
    assert_eq!(focus(&harness), before);
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::COMMAND));
    harness.event(button(true, egui::Modifiers::COMMAND));
    harness.run_steps(1);
    harness.event(button(false, egui::Modifiers::COMMAND));
    harness.run_steps(1);
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::default()));
    harness.run_steps(2);
    let after = focus(&harness);
    println!("focus {before} m -> {after} m; probe: {probe}");
    assert!(
        (after - depth).abs() <= 0.006,
        "focus {after} m, the probe read {depth} m"
    );
    assert!((after - before).abs() > 0.01, "{before} -> {after}");
    harness.state_mut().act(Action::Undo);
    harness.run_steps(2);
    assert_eq!(focus(&harness), before, "one undo restores the focus");
}

/// Issue 8: the UI thread never waits for the compositor. With every composite made 1.5 s slow
/// (the worker's test delay), ten frame steps, one per window frame (five Right, five Left), all
/// land in the frame they arrive in, while the compositor thread finishes only a few composites:
/// a step made while one is in flight replaces the waiting request instead of queueing behind it
/// (the latest wins), and the viewer says it is rendering. When it is done, the composite shown
/// is the last frame's.
#[test]
fn ten_frame_steps_land_while_a_slow_composite_is_in_flight() {
    let _env = test_env();
    let mut harness = app(None);
    harness.state_mut().auto_passes = true;
    harness
        .state_mut()
        .act(Action::Open(sample_project("slow")));
    settle(&mut harness, PASSES_TIMEOUT);
    assert_eq!(frame_index(&harness), 0);
    harness
        .state()
        .render_delay_ms
        .store(1500, std::sync::atomic::Ordering::Release);
    let before = harness.state().composites_rendered;
    let mut saw_rendering = false;
    let steps = [1, 2, 3, 4, 5, 4, 3, 2, 1, 0];
    for (i, want) in steps.into_iter().enumerate() {
        let key = if i < 5 {
            egui::Key::ArrowRight
        } else {
            egui::Key::ArrowLeft
        };
        harness.key_press(key);
        harness.step();
        assert_eq!(frame_index(&harness), want, "step {i} did not land");
        // Paint, so the viewer asks the compositor thread for this frame's composite.
        harness
            .render()
            .expect("the test renderer draws the window");
        saw_rendering |= harness.state().rendering;
    }
    let during = harness.state().composites_rendered - before;
    assert!(saw_rendering, "the viewer never said it was rendering");
    assert!(
        during <= 3,
        "{during} composites were finished during ten steps: stale requests were queued"
    );
    harness
        .state()
        .render_delay_ms
        .store(0, std::sync::atomic::Ordering::Release);
    wait_for_composite(&mut harness);
    assert_eq!(frame_index(&harness), 0);
    assert!(
        harness.state().composites_rendered - before <= 5,
        "the ten steps cost more than the first, the last and a few in between"
    );
}

/// A step and back (an A/B between two frames) needs no load: the frame loaded before the
/// current one is kept, so on the step back its inputs are on hand in the same window frame, and
/// a drag there drafts at once.
#[test]
fn a_step_back_has_the_previous_frame_s_inputs_at_once() {
    let _env = test_env();
    let mut harness = app(None);
    harness.state_mut().auto_passes = true;
    harness
        .state_mut()
        .act(Action::Open(sample_project("step_back")));
    settle(&mut harness, PASSES_TIMEOUT);
    let first = harness.state().loaded_frame().unwrap().source.clone();
    harness.key_press(egui::Key::ArrowRight);
    harness.step();
    settle(&mut harness, PASSES_TIMEOUT);
    assert_eq!(frame_index(&harness), 1);
    let second = harness.state().loaded_frame().unwrap().source.clone();
    assert_ne!(first, second);
    harness.key_press(egui::Key::ArrowLeft);
    harness.step();
    assert_eq!(frame_index(&harness), 0);
    assert!(
        harness.state().frame_is_playhead(),
        "the step back waits for the loader"
    );
    assert_eq!(harness.state().loaded_frame().unwrap().source, first);
    // And forward again: the frame just left is the one kept now.
    harness.key_press(egui::Key::ArrowRight);
    harness.step();
    assert!(harness.state().frame_is_playhead());
    assert_eq!(harness.state().loaded_frame().unwrap().source, second);
}

/// The RAM preview: the first play composites each of the six frames once (the compositor
/// thread also renders ahead of the playhead) and the cache bar then covers the shot; the next
/// play shows every frame from memory, rendering nothing, at the shot's rate. Changing the
/// document starts a new set of frames, and undoing it finds the old ones still cached.
#[test]
fn the_second_play_runs_from_the_ram_preview() {
    let _env = test_env();
    let mut harness = app(None);
    harness.state_mut().auto_passes = true;
    harness
        .state_mut()
        .act(Action::Open(sample_project("ram_preview")));
    settle(&mut harness, PASSES_TIMEOUT);
    let len = 6;
    let rendered = |h: &Harness<'static, MatteboxApp>| {
        h.state().composites_rendered + h.state().composites_prefetched
    };
    let cached = |h: &mut Harness<'static, MatteboxApp>| {
        let key = h.state_mut().cache_key_at(0).expect("a document is open");
        h.state()
            .cache
            .lock()
            .unwrap()
            .cached_indices(key.doc, key.proxy, len)
    };
    let play_round = |h: &mut Harness<'static, MatteboxApp>| -> Vec<usize> {
        assert_eq!(frame_index(h), 0);
        h.state_mut().act(Action::TogglePlay);
        let start = Instant::now();
        let mut shown = vec![0];
        while shown.len() <= len {
            h.step();
            h.render().expect("the test renderer draws the window");
            let f = frame_index(h);
            if shown.last() != Some(&f) {
                shown.push(f);
            }
            assert!(
                start.elapsed() < LOAD_TIMEOUT,
                "playback did not come round: {shown:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        h.state_mut().act(Action::TogglePlay);
        shown
    };
    let first = play_round(&mut harness);
    assert_eq!(
        first,
        vec![0, 1, 2, 3, 4, 5, 0],
        "the first play skipped frames"
    );
    assert_eq!(
        cached(&mut harness),
        vec![true; len],
        "every frame is in the RAM preview"
    );
    // The counters are read each window frame: let them catch up with the last composite.
    for _ in 0..3 {
        harness.step();
        harness
            .render()
            .expect("the test renderer draws the window");
    }
    let before = rendered(&harness);
    let start = Instant::now();
    let second = play_round(&mut harness);
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(second, vec![0, 1, 2, 3, 4, 5, 0]);
    assert_eq!(
        rendered(&harness),
        before,
        "the second play rendered composites again"
    );
    let fps = harness
        .state()
        .state
        .doc
        .as_ref()
        .map_or(24.0, |d| d.project.shot.fps) as f64;
    println!(
        "second play: {len} frames in {seconds:.3} s ({:.1} fps, shot at {fps})",
        len as f64 / seconds,
    );
    // Six frames at the shot's rate take five periods at least (the schedule never runs early).
    assert!(
        seconds >= 5.0 / fps * 0.95,
        "played faster than the shot's rate"
    );
    // Another look of the document: none of it is cached; undo finds the frames again.
    harness.state_mut().act(Action::Solo(Some(1)));
    assert_eq!(cached(&mut harness), vec![false; len]);
    harness.state_mut().act(Action::Solo(None));
    assert_eq!(cached(&mut harness), vec![true; len]);
    // The budget bounds it: two frames' worth keeps two.
    let one = harness.state().cache.lock().unwrap().stats().bytes / len;
    harness.state_mut().cache_budget_mb = (2 * one).div_ceil(1 << 20);
    harness.step();
    let stats = harness.state().cache.lock().unwrap().stats();
    assert!(stats.bytes <= stats.budget, "{stats:?}");
    assert!(stats.frames < len, "{stats:?}");
}

/// Opening another shot with unsaved changes asks first (Save / Discard / Cancel): Cancel keeps
/// the document and its edit, Save writes the edit to the project file and then opens the other
/// shot, and File > New with an edit asks too, Discard going ahead without writing.
#[test]
fn opening_another_shot_with_unsaved_changes_asks_first() {
    use mattebox::app::Dialog;
    use mattebox::project::{Edit, Project};
    let _env = test_env();
    let project = sample_project("confirm");
    let other = project.parent().unwrap().join("sample_shot");
    let mut harness = app(Some(project.clone()));
    let hidden = |p: &Path| !Project::load(p).unwrap().0.layers[0].visible;
    harness.state_mut().edit(Edit::SetVisible {
        index: 0,
        visible: false,
    });
    assert!(harness.state().is_dirty());
    let path_of = |h: &Harness<'static, MatteboxApp>| {
        h.state().state.doc.as_ref().and_then(|d| d.path.clone())
    };

    // Cancel: nothing changes.
    harness.state_mut().act(Action::Open(other.clone()));
    harness.run_steps(2);
    assert!(matches!(
        harness.state().dialog,
        Dialog::ConfirmReplace { .. }
    ));
    assert_eq!(
        path_of(&harness),
        Some(project.clone()),
        "opened without asking"
    );
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    assert_eq!(harness.state().dialog, Dialog::None);
    assert_eq!(path_of(&harness), Some(project.clone()));
    assert!(harness.state().is_dirty(), "the edit is still there");
    assert!(!hidden(&project), "nothing was written");

    // Save: the edit is written, then the other shot opens.
    harness.state_mut().act(Action::Open(other.clone()));
    harness.run_steps(2);
    harness.get_by_label("Save").click();
    harness.run_steps(2);
    settle(&mut harness, LOAD_TIMEOUT);
    assert!(hidden(&project), "Save wrote the edit");
    assert_eq!(
        path_of(&harness),
        None,
        "the shot opened as an untitled project"
    );
    assert_eq!(
        harness.state().state.doc.as_ref().unwrap().shot.source,
        other
    );

    // New, with an edit of the untitled project: asks; Discard closes it.
    harness.state_mut().edit(Edit::SetVisible {
        index: 1,
        visible: false,
    });
    harness.state_mut().act(Action::Close);
    harness.run_steps(2);
    assert!(harness.state().state.doc.is_some(), "closed without asking");
    harness.get_by_label("Discard").click();
    harness.run_steps(2);
    assert!(harness.state().state.doc.is_none());
}

/// Autosave follows edits: a few seconds after the last change the autosave holds the whole
/// document (here a hidden layer, a camera key and a matte brush stroke), written atomically
/// beside the project, which is not touched. After a crash (the app dropped without quitting), the
/// next open of the project offers recovery, and recovering restores every edit, unsaved.
#[test]
fn autosave_follows_edits_and_recovery_restores_them_all() {
    use mattebox::app::Dialog;
    use mattebox::composite::refine::{BrushMode, MatteStroke};
    use mattebox::project::{Edit, Project};
    let _env = test_env();
    let project = sample_project("autosave");
    let autosave = project.with_file_name("sample_shot.mattebox.json.autosave");
    let mut harness = app(Some(project.clone()));
    let edits = [
        Action::Edit(Edit::SetVisible {
            index: 0,
            visible: false,
        }),
        Action::Step(2),
        Action::AddKeyHere,
        Action::Edit(Edit::AddStroke(MatteStroke {
            amount: 1.0,
            frame: Some(1003),
            mode: BrushMode::Subtract,
            radius_px: 12.0,
            softness: 0.5,
            points: vec![[100.0, 120.0], [140.0, 150.0]],
        })),
    ];
    for a in edits {
        harness.state_mut().act(a);
    }
    let revision = harness.state().state.revision;
    let edited = harness.state().state.doc.as_ref().unwrap().project.clone();
    let start = Instant::now();
    wait_until(&mut harness, "the autosave", Duration::from_secs(15), |h| {
        h.state().autosaved_revision() == Some(revision)
    });
    println!(
        "autosaved {:.1} s after the last edit",
        start.elapsed().as_secs_f64()
    );
    assert!(start.elapsed() >= Duration::from_secs(2), "not debounced");
    let (saved, _) = Project::load(&autosave).unwrap();
    assert_eq!(saved.layers, edited.layers);
    assert_eq!(saved.camera, edited.camera);
    assert_eq!(saved.matte_strokes, edited.matte_strokes);
    assert_eq!(saved.matte_strokes.len(), 1);
    assert_eq!(saved.scene, edited.scene);
    assert_eq!(saved.export, edited.export);
    let on_disk = Project::load(&project).unwrap().0;
    assert!(on_disk.matte_strokes.is_empty() && on_disk.layers[0].visible);
    let leftovers: Vec<_> = std::fs::read_dir(project.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    // A crash: the app goes away without quitting; the next open offers recovery.
    drop(harness);
    let mut harness = app(Some(project.clone()));
    assert!(
        matches!(harness.state().dialog, Dialog::Recover(_)),
        "no recovery offered: {:?}",
        harness.state().dialog
    );
    harness.get_by_label("Recover it").click();
    harness.run_steps(2);
    let doc = harness.state().state.doc.as_ref().unwrap();
    assert_eq!(doc.project.layers, edited.layers);
    assert_eq!(doc.project.camera, edited.camera);
    assert_eq!(doc.project.matte_strokes, edited.matte_strokes);
    assert!(
        doc.history.is_dirty(),
        "recovered edits are unsaved until saved"
    );
    assert!(
        Project::load(&project).unwrap().0.matte_strokes.is_empty(),
        "recovery wrote the project file"
    );
}

/// The viewer's two display shaders agree: `fs_plain` (the composite alone, all channels,
/// gamma 1, which the viewer picks for it) against `fs_main` (picked when the gamma is off 1 by
/// 1e-5, which moves no 8-bit value by more than a rounding), at two exposures, over every pixel
/// of the real window's render.
#[test]
fn the_viewer_s_plain_shader_draws_what_the_full_one_draws() {
    let _env = test_env();
    let mut harness = app(None);
    harness.state_mut().auto_passes = true;
    harness
        .state_mut()
        .act(Action::Open(sample_project("plain_display")));
    settle(&mut harness, PASSES_TIMEOUT);
    let viewer = harness
        .state()
        .viewer_rect
        .expect("the viewer is on screen");
    for stops in [0.0, 1.5] {
        let mut draw = |gamma: f32| {
            let display = &mut harness.state_mut().state.display;
            display.exposure_stops = stops;
            display.gamma = gamma;
            harness.run_steps(2);
            harness
                .render()
                .expect("the test renderer draws the window")
        };
        let (plain, full) = (draw(1.0), draw(1.00001));
        assert_eq!(plain.dimensions(), full.dimensions());
        let (mut worst, mut differ, mut inside) = (0u8, 0usize, 0usize);
        for (x, y, p) in plain.enumerate_pixels() {
            let q = full.get_pixel(x, y);
            let d = (0..3).map(|c| p[c].abs_diff(q[c])).max().unwrap_or(0);
            worst = worst.max(d);
            differ += usize::from(d > 0);
            inside += usize::from(viewer.contains(egui::pos2(x as f32, y as f32)));
        }
        assert!(inside > 100_000, "the viewer covers only {inside} pixels");
        assert!(
            worst <= 1,
            "{stops} stops: a pixel differs by {worst} codes"
        );
        assert!(
            differ * 100 < inside,
            "{stops} stops: {differ} of the viewer's {inside} pixels differ"
        );
    }
}

/// The viewer for compositors: exposure (+2 stops), a single channel (R, then R again returns
/// to RGB), the matte overlay, zebra stripes over clipping pixels, and the probe reading the
/// composite (not the plate) with linear and 8-bit display values, clearing off the image.
#[test]
fn snapshot_viewer_display_states() {
    use mattebox::app::state::{Channel, DisplaySettings};
    let _env = test_env();
    let mut harness = app(None);
    harness.state_mut().auto_passes = true;
    harness
        .state_mut()
        .act(Action::Open(sample_project("display")));
    settle(&mut harness, PASSES_TIMEOUT);
    harness.state_mut().state.display.exposure_stops = 2.0;
    harness.run_steps(2);
    snapshot(&mut harness, "app_exposure");
    harness.state_mut().state.display = DisplaySettings::default();

    harness.key_press(egui::Key::R);
    harness.run_steps(2);
    assert_eq!(harness.state().state.display.channel, Channel::Red);
    snapshot(&mut harness, "app_channel_red");
    harness.key_press(egui::Key::R);
    harness.run_steps(2);
    assert_eq!(
        harness.state().state.display.channel,
        Channel::Rgb,
        "R again: RGB"
    );
    harness.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::B);
    harness.run_steps(2);
    assert_eq!(harness.state().state.display.channel, Channel::Blue);
    assert!(
        harness.state().ui_brush().is_none(),
        "Shift+B is blue, not the brush"
    );
    harness.state_mut().state.display = DisplaySettings::default();

    harness.state_mut().act(Action::SetView(View::Plate));
    harness.state_mut().state.display.matte_overlay = 0.8;
    harness.run_steps(2);
    snapshot(&mut harness, "app_matte_overlay");
    harness.state_mut().state.display = DisplaySettings::default();

    harness.state_mut().act(Action::SetView(View::Composite));
    harness.state_mut().state.display.exposure_stops = 1.5;
    harness.state_mut().state.display.zebra = true;
    harness.run_steps(2);
    snapshot(&mut harness, "app_zebra");
    harness.state_mut().state.display = DisplaySettings::default();

    // The probe on the composite: it names the view and reads its values, linear and 8-bit;
    // off the image it clears.
    wait_for_composite(&mut harness);
    harness.hover_at(egui::pos2(730.0, 350.0));
    harness.run_steps(3);
    let probe = harness.state().probe().to_string();
    println!("probe: {probe}");
    assert!(probe.contains("composite"), "{probe}");
    assert!(
        probe.contains("rgba ") && probe.contains("display "),
        "{probe}"
    );
    assert!(
        probe.contains("depth ") && probe.contains("matte "),
        "{probe}"
    );
    snapshot(&mut harness, "app_probe_composite");
    harness.hover_at(egui::pos2(640.0, 790.0));
    harness.run_steps(2);
    assert!(
        harness.state().probe().is_empty(),
        "the probe stays off the image"
    );
}

/// The timeline and the details of issue 9: clicking a camera key moves the playhead to it and
/// selects it; a frame that cannot be read gets a red badge, the viewer says "unreadable" with
/// the reason, and the Problems list holds one message for that file; a new layer gets a unique
/// name; after an undo the selection stays on the layer that changed.
#[test]
fn keys_problems_names_and_undo_selection() {
    use mattebox::project::Edit;
    let _env = test_env();
    let project = sample_project("details");
    // Frame 1004 is not an image: a truncated PNG.
    let bad = project
        .parent()
        .unwrap()
        .join("sample_shot/astronaut.1004.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..200]).unwrap();
    let mut harness = app(Some(project.clone()));

    // The second key of the sample's move is on frame 1006: a click on it seeks there.
    let keys: Vec<f32> = harness
        .state()
        .state
        .doc
        .as_ref()
        .unwrap()
        .project
        .camera
        .keys
        .iter()
        .map(|k| k.frame)
        .collect();
    assert_eq!(keys, vec![1001.0, 1006.0]);
    harness.state_mut().act(Action::Seek(0));
    harness.run_steps(2);
    // The last key sits at the track's right end, 8 points in, 12 above its bottom.
    let track = harness.get_by_label("camera keys and frames").rect();
    let (x, y) = (track.right() - 8.0, track.bottom() - 12.0);
    harness.hover_at(egui::pos2(x, y));
    harness.run_steps(1);
    harness.drag_at(egui::pos2(x, y));
    harness.run_steps(1);
    // Released where it was pressed (kittest's drop_at also takes the cursor away).
    harness.event(egui::Event::PointerButton {
        pos: egui::pos2(x, y),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    harness.run_steps(2);
    assert_eq!(
        frame_index(&harness),
        5,
        "clicking the key at 1006 moved the playhead"
    );

    // The unreadable frame.
    harness.state_mut().act(Action::Seek(3));
    settle(&mut harness, LOAD_TIMEOUT);
    let problems = &harness.state().problems;
    assert_eq!(problems.len(), 1, "one message per file: {problems:?}");
    assert!(problems.contains_key(&bad), "{problems:?}");
    harness.run_steps(2);
    assert!(
        harness.query_by_label_contains("unreadable: ").is_some(),
        "the viewer says the frame is unreadable"
    );
    assert!(
        harness.query_by_label("Run passes").is_none(),
        "no passes offered for it"
    );
    // Seeing it again does not add a message.
    harness.state_mut().act(Action::Seek(2));
    settle(&mut harness, LOAD_TIMEOUT);
    harness.state_mut().act(Action::Seek(3));
    settle(&mut harness, LOAD_TIMEOUT);
    assert_eq!(harness.state().problems.len(), 1);

    // Unique names, and the selection after an undo.
    let layers = harness.state().state.layers().to_vec();
    let fog = layers.iter().position(|l| l.name == "Depth fog").unwrap();
    assert_eq!(
        mattebox::app::unique_name("Depth fog", &layers),
        "Depth fog 2"
    );
    harness.state_mut().act(Action::Select(Some(0)));
    harness.state_mut().edit(Edit::SetOpacity {
        index: fog,
        opacity: 0.5,
    });
    harness.state_mut().act(Action::Select(Some(0)));
    harness.state_mut().act(Action::Undo);
    assert_eq!(
        harness.state().state.selected,
        Some(fog),
        "the undone layer is selected"
    );
    harness.state_mut().act(Action::Select(Some(0)));
    harness.state_mut().act(Action::Redo);
    assert_eq!(harness.state().state.selected, Some(fog));
}

/// A widget on screen: its accessibility id, role, text and rect.
#[derive(Debug, Clone)]
struct Widget {
    /// The node's id, as text (accesskit's tree id and node id).
    id: String,
    role: Role,
    text: String,
    rect: egui::Rect,
}

/// Every widget the window shows (containers left out: they hold others).
fn widgets(harness: &Harness<'static, MatteboxApp>) -> Vec<Widget> {
    harness
        .query_all_by(|n| {
            matches!(
                n.role(),
                Role::Button
                    | Role::CheckBox
                    | Role::RadioButton
                    | Role::Label
                    | Role::TextInput
                    | Role::MultilineTextInput
                    | Role::Slider
                    | Role::SpinButton
                    | Role::ComboBox
                    | Role::MenuItem
                    | Role::MenuItemCheckBox
                    | Role::MenuItemRadio
                    | Role::ProgressIndicator
            )
        })
        .map(|n| {
            let node = n.accesskit_node();
            Widget {
                id: format!("{:?}", node.id()),
                role: node.role(),
                text: node.label().or(node.value()).unwrap_or_default(),
                rect: n.rect(),
            }
        })
        .filter(|w| w.rect.width() > 0.0 && w.rect.height() > 0.0)
        .collect()
}

/// What is wrong with a set of widgets drawn together: one outside the window, or two that
/// overlap (by more than a pixel each way).
fn layout_problems(what: &str, widgets: &[Widget]) -> Vec<String> {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, SIZE).expand(0.5);
    let mut problems = Vec::new();
    for w in widgets {
        if !window.contains_rect(w.rect) {
            problems.push(format!(
                "{what}: {:?} {:?} leaves the window: {:?}",
                w.role, w.text, w.rect
            ));
        }
    }
    for (i, a) in widgets.iter().enumerate() {
        for b in &widgets[i + 1..] {
            // A combo box and the label that names it: egui's label node spans both.
            let own_label = a.text == b.text
                && (a.rect.expand(0.5).contains_rect(b.rect)
                    || b.rect.expand(0.5).contains_rect(a.rect));
            if own_label {
                continue;
            }
            let overlap = a.rect.intersect(b.rect);
            if overlap.width() > 1.0 && overlap.height() > 1.0 {
                problems.push(format!(
                    "{what}: {:?} {:?} {:?} overlaps {:?} {:?} {:?}",
                    a.role, a.text, a.rect, b.role, b.text, b.rect
                ));
            }
        }
    }
    problems
}

/// Widgets that a side panel's edge cuts (egui clips a panel's contents to it: the text past
/// the edge is not shown). The edges: where the central panel's first control (the Plate view
/// button) begins, and where the inspector's heading begins, from the Layers heading down to
/// the timeline (its Play button).
fn clipped_by_panels(what: &str, language: Language, widgets: &[Widget]) -> Vec<String> {
    use mattebox::app::i18n::tr_in;
    let left_of = |text: String| {
        widgets
            .iter()
            .filter(|w| w.text == text)
            .map(|w| w.rect.left())
            .fold(f32::INFINITY, f32::min)
    };
    let top_of = |text: String| {
        widgets
            .iter()
            .filter(|w| w.text == text)
            .map(|w| w.rect.top())
            .fold(f32::INFINITY, f32::min)
    };
    let central = left_of(tr_in(language, "view-plate", &[])) - 4.0;
    let inspector = left_of(tr_in(language, "inspector-heading", &[])) - 4.0;
    let top = top_of(tr_in(language, "layers-heading", &[])) - 4.0;
    let bottom = top_of(tr_in(language, "timeline-play", &[])) - 4.0;
    assert!(
        central < inspector && top < bottom && bottom.is_finite(),
        "{what}: the panels' edges not found ({central}, {inspector}, {top}, {bottom})"
    );
    let mut problems = Vec::new();
    let beside = widgets
        .iter()
        .filter(|w| (top..bottom).contains(&w.rect.center().y));
    for w in beside {
        for edge in [central, inspector] {
            if w.rect.left() < edge - 1.0 && w.rect.right() > edge + 1.0 {
                problems.push(format!(
                    "{what}: {:?} {:?} {:?} is cut by the panel edge at x {edge}",
                    w.role, w.text, w.rect
                ));
            }
        }
    }
    problems
}

/// The widgets that `open` brings up (a menu, a dialog): those that were not there before.
fn opened_by(
    harness: &mut Harness<'static, MatteboxApp>,
    open: impl FnOnce(&mut Harness<'static, MatteboxApp>),
) -> Vec<Widget> {
    let before: std::collections::HashSet<String> =
        widgets(harness).into_iter().map(|w| w.id).collect();
    open(harness);
    harness.run_steps(3);
    widgets(harness)
        .into_iter()
        .filter(|w| !before.contains(&w.id))
        .collect()
}

/// Closes whatever menu or dialog is open, moves the pointer off the window (no tooltip comes
/// up) and clears the toasts (they lie over the panels by design).
fn close_popups(harness: &mut Harness<'static, MatteboxApp>) {
    harness.remove_cursor();
    harness.key_press(egui::Key::Escape);
    harness.state_mut().state.toasts.clear();
    harness.state_mut().dialog = Dialog::None;
    harness.run_steps(3);
}

#[test]
fn snapshot_zh_hk_empty_window() {
    let _env = test_env();
    let mut harness = app_in(None, Language::ChineseHongKong);
    harness.get_by_label_contains("開啟鏡頭或專案：檔案 > 開啟");
    harness.get_by_label("檔案");
    assert!(
        harness.query_by_label("File").is_none(),
        "the menu bar is English"
    );
    snapshot(&mut harness, "app_zh_hk_empty");
}

#[test]
fn snapshot_zh_hk_shot_loaded() {
    let _env = test_env();
    let mut harness = app_in(
        Some(sample_project("zh_shot_loaded")),
        Language::ChineseHongKong,
    );
    harness.get_by_label("此幀尚未有通道。");
    harness.get_by_label("生成通道");
    harness.get_by_label("圖層");
    harness.get_by_label("屬性");
    // The timeline's frame label in Chinese.
    assert!(
        harness
            .query_all_by(|n| n.value().is_some_and(|v| v.starts_with("幀 1001  (1/6)")))
            .next()
            .is_some(),
        "the timeline's frame label is not in Chinese"
    );
    snapshot(&mut harness, "app_zh_hk_shot_loaded");
}

/// Every panel, menu (and Edit's submenus) and dialog fits the 1280×800 window in zh-HK, and in
/// English too: no widget leaves the window and none overlaps another (a menu's or dialog's
/// widgets among themselves; they lie over the panels by design). The View menu's snapshot
/// shows the language list.
#[test]
fn menus_panels_and_dialogs_fit_1280x800_in_both_languages() {
    // The checks can fail: two buttons on top of each other, one past the window's edge.
    let button = |text: &str, min: (f32, f32)| Widget {
        id: text.into(),
        role: Role::Button,
        text: text.into(),
        rect: egui::Rect::from_min_size(egui::pos2(min.0, min.1), egui::vec2(60.0, 20.0)),
    };
    let control = [button("a", (10.0, 10.0)), button("b", (40.0, 15.0))];
    assert_eq!(layout_problems("control", &control).len(), 1);
    let control = [button("a", (1250.0, 10.0))];
    assert_eq!(layout_problems("control", &control).len(), 1);
    let _env = test_env();
    for language in Language::ALL {
        let mut harness = app_in(Some(sample_project("fit")), language);
        close_popups(&mut harness);
        let mut problems = Vec::new();
        // The panels, with nothing selected, then with each layer in the inspector and a
        // camera key's settings.
        let panels = |what: &str, harness: &Harness<'static, MatteboxApp>| {
            let all = widgets(harness);
            assert!(all.len() > 50, "{what}: only {} widgets", all.len());
            let mut found = layout_problems(what, &all);
            found.extend(clipped_by_panels(what, language, &all));
            found
        };
        problems.extend(panels("the window", &harness));
        let layers = harness.state().state.layers().len();
        for i in 0..layers {
            harness.state_mut().act(Action::Select(Some(i)));
            harness.run_steps(3);
            problems.extend(panels(&format!("layer {i} selected"), &harness));
        }
        harness.state_mut().act(Action::AddKeyHere);
        close_popups(&mut harness);
        problems.extend(panels("a camera key added", &harness));
        let menus = [
            ("File", "檔案"),
            ("Edit", "編輯"),
            ("View", "檢視"),
            ("Passes", "通道"),
            ("Help", "説明"),
        ];
        for (en, zh) in menus {
            let name = if language == Language::English {
                en
            } else {
                zh
            };
            let opened = opened_by(&mut harness, |h| h.get_by_label(name).click());
            assert!(!opened.is_empty(), "the {name} menu did not open");
            problems.extend(layout_problems(&format!("the {name} menu"), &opened));
            if name == "檢視" {
                harness.get_by_label("繁體中文（香港）");
                harness.get_by_label("English");
                snapshot(&mut harness, "app_zh_hk_menu_view");
            }
            close_popups(&mut harness);
        }
        let submenus = [
            ("Input colour space", "輸入色彩空間"),
            ("Working space", "工作色彩空間"),
        ];
        for (en, zh) in submenus {
            let name = if language == Language::English {
                en
            } else {
                zh
            };
            let edit = if language == Language::English {
                "Edit"
            } else {
                "編輯"
            };
            harness.get_by_label(edit).click();
            harness.run_steps(3);
            let opened = opened_by(&mut harness, |h| h.get_by_label(name).hover());
            assert!(opened.len() >= 2, "the {name} submenu did not open");
            problems.extend(layout_problems(&format!("the {name} submenu"), &opened));
            close_popups(&mut harness);
        }
        let project = harness
            .state()
            .state
            .doc
            .as_ref()
            .unwrap()
            .path
            .clone()
            .unwrap();
        let dialogs = [
            Dialog::Open(String::new()),
            Dialog::SaveAs(project.display().to_string()),
            Dialog::ConfirmQuit,
            Dialog::Recover(project.with_extension("json.autosave")),
            Dialog::ConfirmReplace {
                then: Action::Open(project.clone()),
                save_path: project.display().to_string(),
            },
            Dialog::Shortcuts,
            Dialog::Problems,
        ];
        for dialog in dialogs {
            let what = format!("{dialog:?}");
            let opened = opened_by(&mut harness, |h| h.state_mut().dialog = dialog);
            assert!(opened.len() >= 2, "{what} did not open");
            problems.extend(layout_problems(&what, &opened));
            close_popups(&mut harness);
        }
        // The Export dialog, from the File menu.
        let (file, export) = if language == Language::English {
            ("File", "Export…")
        } else {
            ("檔案", "匯出…")
        };
        harness.get_by_label(file).click();
        harness.run_steps(3);
        let opened = opened_by(&mut harness, |h| h.get_by_label(export).click());
        assert!(opened.len() >= 10, "the Export dialog did not open");
        problems.extend(layout_problems("the Export dialog", &opened));
        close_popups(&mut harness);
        assert!(
            problems.is_empty(),
            "{}: {} layout problem(s):\n{}",
            language.code(),
            problems.len(),
            problems.join("\n")
        );
    }
}

/// View ▸ Language switches the whole window at once, with no restart, and the settings file
/// keeps the choice; switching back restores English.
#[test]
fn view_language_switches_at_run_time_and_is_kept() {
    let _env = test_env();
    let mut harness = app_in(Some(sample_project("switch")), Language::English);
    let settings = mattebox::app::settings::Settings::path();
    harness.get_by_label("File");
    harness.get_by_label("Layers");
    harness.get_by_label("View").click();
    harness.run_steps(2);
    harness.get_by_label("繁體中文（香港）").click();
    harness.run_steps(3);
    close_popups(&mut harness);
    assert_eq!(mattebox::app::i18n::language(), Language::ChineseHongKong);
    harness.get_by_label("檔案");
    harness.get_by_label("圖層");
    harness.get_by_label("此幀尚未有通道。");
    assert!(harness.query_by_label("File").is_none());
    assert!(harness.query_by_label("Layers").is_none());
    let saved = mattebox::app::settings::Settings::load_from(&settings).unwrap();
    assert_eq!(
        saved.language.as_deref(),
        Some("zh-HK"),
        "{}",
        settings.display()
    );
    // The status bar's device line follows too.
    let status = harness.get_by_label_contains("wgpu: ");
    let text = status
        .accesskit_node()
        .label()
        .or(status.accesskit_node().value())
        .unwrap_or_default();
    assert!(text.contains("預覽使用"), "{text}");

    harness.get_by_label("檢視").click();
    harness.run_steps(2);
    harness.get_by_label("English").click();
    harness.run_steps(3);
    close_popups(&mut harness);
    harness.get_by_label("File");
    harness.get_by_label("No passes for this frame yet.");
    let saved = mattebox::app::settings::Settings::load_from(&settings).unwrap();
    assert_eq!(saved.language.as_deref(), Some("en"));
}

/// A file dropped on the window, as the windowing backend hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_dropped_onnx_file_is_added_as_a_model() {
    let _env = test_env();
    let mut harness = app(None);
    // A models folder of its own, and the real U-2-Netp under a name of its own.
    let models = scratch().join("added-models");
    let _ = std::fs::remove_dir_all(&models);
    std::fs::create_dir_all(&models).unwrap();
    let source = scratch().join("my_u2netp.onnx");
    std::fs::copy(common::repo().join("models/u2netp.onnx"), &source).unwrap();
    harness.state_mut().manifest = Ok(mattebox::infer::Manifest::load(Some(&models), &[]).unwrap());
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(source)));
    wait_until(
        &mut harness,
        "the model added",
        Duration::from_secs(120),
        |h| {
            h.state().adding_model.is_none()
                && h.state()
                    .state
                    .toasts
                    .iter()
                    .any(|t| t.text.contains("my-u2netp"))
        },
    );
    let toast = harness
        .state()
        .state
        .toasts
        .iter()
        .map(|t| t.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        toast.contains("model my-u2netp added (U²-Net)") && toast.contains("sample frame"),
        "{toast}"
    );
    assert!(models.join("my-u2netp.toml").is_file());
    assert!(models.join("my_u2netp.onnx").is_file());
    // The Passes menu offers it now.
    let manifest = harness.state().manifest.as_ref().unwrap();
    assert!(manifest.models.iter().any(|m| m.id == "my-u2netp"));
}
