//! The project document on real files: saving and loading round-trips, every edit undone
//! exactly, undo/redo history, and each way a project file can be wrong reported with the file,
//! the place and the field.

use std::fs;
use std::path::{Path, PathBuf};

use mattebox::composite::camera::{CameraKey, CameraMove, Ease};
use mattebox::composite::layers::{
    BackgroundSettings, BlendMode, CutoutSettings, DepthMapping, DofSettings, FogFalloff,
    FogSettings, GradeSettings, Layer, LayerKind, SceneSettings,
};
use mattebox::composite::refine::{BrushMode, MatteStroke};
use mattebox::export::ExrCompression;
use mattebox::process::Formats;
use mattebox::project::{
    CURRENT_VERSION, ColourSettings, Edit, EditError, ExportSettings, History, PassSettings,
    Project, ProjectError, ShotRef,
};
use mattebox::shot::{ColourSpace, FrameRange, Shot, WorkingSpace};
use serde_json::{Value, json};

const SAMPLE_RANGE: FrameRange = FrameRange {
    first: 1001,
    last: 1006,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample_template() -> Project {
    Project::template_for(PathBuf::from("sample_shot"), Some(SAMPLE_RANGE))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes `document` to a project file in `dir` and loads it.
fn load_json(dir: &Path, document: &Value) -> Result<(Project, Vec<String>), ProjectError> {
    let path = dir.join("shot.mattebox.json");
    fs::write(&path, serde_json::to_string_pretty(document).unwrap()).unwrap();
    Project::load(&path)
}

fn template_json() -> Value {
    serde_json::to_value(sample_template()).unwrap()
}

#[test]
fn the_template_round_trips_through_save_and_load_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shot.mattebox.json");
    for project in [
        sample_template(),
        Project::template(PathBuf::from("/shots/still.exr")),
    ] {
        project.save(&path).unwrap();
        let (loaded, warnings) = Project::load(&path).unwrap();
        assert_eq!(loaded, project);
        assert!(warnings.is_empty(), "{warnings:?}");
        // Saving what was loaded writes the same bytes: nothing drifts through a round trip.
        let first = fs::read(&path).unwrap();
        loaded.save(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), first);
    }
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"), "no trailing newline");
    assert!(
        text.contains("\n  \"version\": 1,\n"),
        "not pretty JSON:\n{text}"
    );
    assert_eq!(entries(dir.path()), ["shot.mattebox.json"]);
}

#[test]
fn the_template_is_a_sensible_starting_point() {
    let project = sample_template();
    let kinds: Vec<&str> = project
        .layers
        .iter()
        .map(|l| match &l.kind {
            LayerKind::Background(BackgroundSettings::BlurredPlate { radius_px }) => {
                assert_eq!(*radius_px, 24.0);
                "background"
            }
            LayerKind::Cutout(c) => {
                assert_eq!(c.matte, "fg");
                "cutout"
            }
            LayerKind::DepthFog(_) => "fog",
            LayerKind::DepthOfField(d) => {
                // Focused on the foreground: near the scene's nearest depth.
                assert!(d.focus_m > project.scene.near_m && d.focus_m < 2.0 * project.scene.near_m);
                "dof"
            }
            LayerKind::DepthGrade(g) => {
                // A warm lift: more red than blue, a little brighter.
                assert!(g.gain[0] > g.gain[2] && g.exposure_stops > 0.0);
                "grade"
            }
            other => panic!("unexpected layer {other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["background", "cutout", "fog", "dof", "grade"]);
    assert!(project.layers.iter().all(|l| l.visible && l.opacity == 1.0));

    // The move spans the whole shot: a push-in with a little orbit, easing in and out.
    let keys = &project.camera.keys;
    assert_eq!(keys.len(), 2);
    assert_eq!((keys[0].frame, keys[1].frame), (1001.0, 1006.0));
    assert!(keys[1].dolly_m > 0.0 && keys[1].orbit_deg != 0.0);
    assert!(keys.iter().all(|k| k.ease == Ease::EaseInOut));
    assert_eq!((project.shot.first, project.shot.last), (None, None));

    // A still plays its move over the still duration.
    let still = Project::template(PathBuf::from("plate.png"));
    let frames: Vec<f32> = still.camera.keys.iter().map(|k| k.frame).collect();
    assert_eq!(
        frames,
        [0.0, (still.camera.still_duration_frames - 1) as f32]
    );
}

/// Rewrites the sample project (run with `--ignored` after changing the template).
#[test]
#[ignore]
fn regenerate_sample_project() {
    sample_template()
        .save(&repo().join("assets/sample_shot.mattebox.json"))
        .unwrap();
}

#[test]
fn the_sample_project_loads_with_no_warnings_and_finds_its_shot() {
    let path = repo().join("assets/sample_shot.mattebox.json");
    let (project, warnings) = Project::load(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        project,
        sample_template(),
        "the sample is stale: run `cargo test --test project -- --ignored regenerate`"
    );
    // The relative source resolves against the project file's folder, wherever the tests run.
    assert_eq!(project.shot.source, PathBuf::from("sample_shot"));
    let source = project.shot_source(path.parent().unwrap());
    let shot = Shot::open(&source).unwrap();
    let numbers: Vec<u32> = shot.frames.iter().filter_map(|f| f.number).collect();
    assert_eq!(numbers.first(), Some(&SAMPLE_RANGE.first));
    assert_eq!(numbers.last(), Some(&SAMPLE_RANGE.last));
}

#[test]
fn paths_resolve_against_the_project_folder_unless_absolute() {
    let project = sample_template();
    let base = Path::new("/projects/shot_010");
    assert_eq!(
        project.resolve(base, Path::new("bg/sky.exr")),
        Path::new("/projects/shot_010/bg/sky.exr")
    );
    assert_eq!(
        project.resolve(base, Path::new("/library/sky.exr")),
        Path::new("/library/sky.exr")
    );
}

// ---------------------------------------------------------------------------------------------
// Edits

/// A small deterministic generator (xorshift64*), so a failing sequence can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// A value in lo..hi, now and then far outside it (to exercise the clamps).
    fn value(&mut self, lo: f32, hi: f32) -> f32 {
        let t = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        match self.below(8) {
            0 => lo - 1000.0 * t - 1.0,
            1 => hi + 1000.0 * t + 1.0,
            _ => lo + (hi - lo) * t,
        }
    }
    fn flag(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

fn random_layer(rng: &mut Rng) -> Layer {
    let kind = match rng.below(8) {
        0 => LayerKind::Plate,
        1 => LayerKind::Cutout(CutoutSettings {
            matte: ["fg", "", "hair"][rng.below(3)].into(),
            erode_px: rng.value(-64.0, 64.0),
            feather_px: rng.value(0.0, 64.0),
            decontaminate: rng.flag(),
            decontaminate_radius_px: rng.value(1.0, 64.0),
        }),
        2 => LayerKind::Background(BackgroundSettings::Solid {
            colour: [
                rng.value(0.0, 2.0),
                rng.value(0.0, 2.0),
                rng.value(0.0, 2.0),
            ],
        }),
        3 => LayerKind::Background(BackgroundSettings::Image {
            path: PathBuf::from("bg/sky.exr"),
        }),
        4 => LayerKind::Background(BackgroundSettings::BlurredPlate {
            radius_px: rng.value(0.0, 256.0),
        }),
        5 => LayerKind::DepthFog(FogSettings {
            colour: [0.5, rng.value(0.0, 1.0), 0.7],
            near_m: rng.value(0.0, 10.0),
            far_m: rng.value(0.0, 50.0),
            density: rng.value(0.0, 1.0),
            falloff: [
                FogFalloff::Linear,
                FogFalloff::Smooth,
                FogFalloff::Exponential,
            ][rng.below(3)],
        }),
        6 => LayerKind::DepthOfField(DofSettings {
            focus_m: rng.value(0.05, 100.0),
            f_stop: rng.value(0.5, 64.0),
            max_blur_px: rng.value(0.0, 64.0),
        }),
        _ => LayerKind::DepthGrade(GradeSettings {
            near_m: rng.value(0.0, 10.0),
            far_m: rng.value(0.0, 20.0),
            softness_m: rng.value(0.0, 2.0),
            exposure_stops: rng.value(-10.0, 10.0),
            contrast: rng.value(0.0, 4.0),
            saturation: rng.value(0.0, 4.0),
            gain: [rng.value(0.0, 16.0), 1.0, 1.0],
        }),
    };
    Layer {
        name: format!("layer {}", rng.below(100)),
        visible: rng.flag(),
        opacity: rng.value(0.0, 1.0),
        blend: random_blend(rng),
        kind,
    }
}

fn random_blend(rng: &mut Rng) -> BlendMode {
    [
        BlendMode::Over,
        BlendMode::Add,
        BlendMode::Multiply,
        BlendMode::Screen,
    ][rng.below(4)]
}

fn random_key(rng: &mut Rng) -> CameraKey {
    CameraKey {
        // Few distinct frames, so keys often share one.
        frame: 1001.0 + rng.below(4) as f32,
        dolly_m: rng.value(-1.0, 1.0),
        orbit_deg: rng.value(-10.0, 10.0),
        zoom: rng.value(0.1, 10.0),
        ease: [Ease::Linear, Ease::EaseInOut, Ease::Hold][rng.below(3)],
        ..CameraKey::default()
    }
}

/// A matte stroke with values now and then out of range, and now and then no points at all.
fn random_stroke(rng: &mut Rng) -> MatteStroke {
    let count = if rng.below(12) == 0 {
        0
    } else {
        [1, 2, 5][rng.below(3)]
    };
    MatteStroke {
        amount: 1.0,
        // Few distinct frames, so clearing a frame often finds strokes.
        frame: [None, Some(1001), Some(1002)][rng.below(3)],
        mode: [BrushMode::Add, BrushMode::Subtract][rng.below(2)],
        radius_px: rng.value(0.5, 500.0),
        softness: rng.value(0.0, 1.0),
        points: (0..count)
            .map(|_| [rng.value(0.0, 512.0), rng.value(0.0, 384.0)])
            .collect(),
    }
}

/// An edit of every kind, with indices now and then one or two past the end.
fn random_edit(rng: &mut Rng, project: &Project) -> Edit {
    let layers = project.layers.len();
    let keys = project.camera.keys.len();
    let strokes = project.matte_strokes.len();
    let layer_index = |rng: &mut Rng| {
        let past_end = usize::from(rng.below(10) == 0);
        rng.below(layers + past_end)
    };
    match rng.below(21) {
        0 => Edit::SetShot(ShotRef {
            source: PathBuf::from(["sample_shot", "/abs/plates/a.####.exr"][rng.below(2)]),
            first: Some(1000 + rng.below(20) as u32),
            last: Some(1000 + rng.below(20) as u32),
            fps: rng.value(1.0, 120.0),
            colour_space: [None, Some(ColourSpace::AcesCg), Some(ColourSpace::Rec709)]
                [rng.below(3)],
        }),
        1 => Edit::SetPasses(PassSettings {
            depth_model: ["fastdepth", "midas-v21-small", ""][rng.below(3)].into(),
            matte_model: ["u2netp", "u2net"][rng.below(2)].into(),
            temporal: rng.below(2) == 0,
        }),
        2 => Edit::SetScene(SceneSettings {
            depth_mapping: [DepthMapping::Scene, DepthMapping::Metric][rng.below(2)],
            near_m: rng.value(0.05, 10.0),
            far_m: rng.value(0.05, 100.0),
            fov_deg: rng.value(1.0, 170.0),
            sensor_width_mm: rng.value(1.0, 200.0),
            depth_curve: rng.value(0.1, 10.0),
        }),
        3 => Edit::AddLayer {
            index: rng.below(layers + 2),
            layer: random_layer(rng),
        },
        4 => Edit::RemoveLayer {
            index: layer_index(rng),
        },
        5 => Edit::MoveLayer {
            from: layer_index(rng),
            to: layer_index(rng),
        },
        6 => Edit::SetLayer {
            index: layer_index(rng),
            layer: random_layer(rng),
        },
        7 => Edit::SetVisible {
            index: layer_index(rng),
            visible: rng.flag(),
        },
        8 => Edit::SetOpacity {
            index: layer_index(rng),
            opacity: [rng.value(0.0, 1.0), f32::NAN][usize::from(rng.below(10) == 0)],
        },
        9 => Edit::SetBlend {
            index: layer_index(rng),
            blend: random_blend(rng),
        },
        10 => Edit::RenameLayer {
            index: layer_index(rng),
            name: format!("renamed {}", rng.below(1000)),
        },
        11 => Edit::AddKey(random_key(rng)),
        12 => Edit::RemoveKey {
            index: rng.below(keys + 1),
        },
        13 => Edit::SetKey {
            index: rng.below(keys + 1),
            key: random_key(rng),
        },
        14 => Edit::SetCamera(CameraMove {
            keys: (0..rng.below(4)).map(|_| random_key(rng)).collect(),
            pivot_m: rng.value(0.01, 20.0),
            still_duration_frames: rng.below(200) as u32,
            ..CameraMove::default()
        }),
        16 => Edit::AddStroke(random_stroke(rng)),
        17 => Edit::RemoveStroke {
            index: rng.below(strokes + 1),
        },
        18 => Edit::InsertStroke {
            index: rng.below(strokes + 2),
            stroke: random_stroke(rng),
        },
        19 => Edit::ClearStrokes {
            frame: [None, Some(1001), Some(1002), Some(7)][rng.below(4)],
        },
        20 => Edit::SetStrokes {
            strokes: (0..rng.below(4)).map(|_| random_stroke(rng)).collect(),
        },
        _ => Edit::SetExport(ExportSettings {
            formats: Formats {
                exr: rng.flag(),
                png: rng.flag(),
            },
            composite: rng.flag(),
            animatic: rng.flag(),
            exr_compression: ExrCompression::ALL[rng.below(5)],
            absolute_paths: rng.flag(),
        }),
    }
}

fn edit_name(edit: &Edit) -> String {
    serde_json::to_value(edit).unwrap()["edit"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The project's values are all in range: clamping it changes nothing.
fn assert_in_range(project: &Project, after: &Edit) {
    let mut copy = project.clone();
    let mut warnings = Vec::new();
    copy.clamp_all(&mut warnings);
    assert!(warnings.is_empty(), "after {after:?}: {warnings:?}");
}

#[test]
fn every_edit_is_undone_exactly_by_its_inverse() {
    let mut applied = std::collections::BTreeSet::new();
    let mut errors = 0;
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let original = sample_template();
        let mut project = original.clone();
        let mut states = vec![project.clone()];
        let mut inverses = Vec::new();
        for _ in 0..60 {
            let edit = random_edit(&mut rng, &project);
            let before = project.clone();
            // Every edit survives JSON, as a scripted or logged edit must (a NaN cannot: JSON
            // has no NaN).
            if !matches!(edit, Edit::SetOpacity { opacity, .. } if opacity.is_nan()) {
                let text = serde_json::to_string(&edit).unwrap();
                let scripted: Edit = serde_json::from_str(&text).unwrap();
                assert_eq!(scripted, edit, "{text}");
            }
            match project.apply(edit.clone()) {
                Ok(inverse) => {
                    applied.insert(edit_name(&edit));
                    assert_in_range(&project, &edit);
                    // The inverse undoes this edit alone, exactly.
                    let mut undone = project.clone();
                    let redo = undone.apply(inverse.clone()).unwrap();
                    assert_eq!(undone, before, "{edit:?} undone by {inverse:?}");
                    // And undoing the undo redoes it.
                    undone.apply(redo).unwrap();
                    assert_eq!(undone, project, "{edit:?} redone");
                    inverses.push(inverse);
                    states.push(project.clone());
                }
                Err(error) => {
                    errors += 1;
                    assert_eq!(project, before, "a failed {edit:?} changed the project");
                    let message = error.to_string();
                    assert!(
                        message.contains("there is no") || error == EditError::EmptyStroke,
                        "{message}"
                    );
                }
            }
        }
        // Undoing everything, newest first, passes back through every state to the original.
        while let Some(inverse) = inverses.pop() {
            states.pop();
            project.apply(inverse).unwrap();
            assert_eq!(Some(&project), states.last());
        }
        assert_eq!(project, original);
    }
    assert_eq!(applied.len(), 21, "variants applied: {applied:?}");
    assert!(errors > 0, "no bad index was tried");
}

#[test]
fn bad_indices_name_the_index_and_the_count() {
    let mut project = sample_template();
    let before = project.clone();
    let error = project.apply(Edit::RemoveLayer { index: 7 }).unwrap_err();
    assert_eq!(error, EditError::NoLayer { index: 7, count: 5 });
    assert_eq!(
        error.to_string(),
        "there is no layer 7: the project has 5 layers"
    );
    // Inserting may go one past the top, but no further.
    let layer = project.layers[0].clone();
    let error = project
        .apply(Edit::AddLayer {
            index: 6,
            layer: layer.clone(),
        })
        .unwrap_err();
    assert_eq!(error, EditError::NoLayer { index: 6, count: 5 });
    let error = project
        .apply(Edit::MoveLayer { from: 0, to: 5 })
        .unwrap_err();
    assert_eq!(error, EditError::NoLayer { index: 5, count: 5 });
    let error = project
        .apply(Edit::SetKey {
            index: 2,
            key: CameraKey::default(),
        })
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "there is no camera key 2: the camera move has 2 keys"
    );
    assert_eq!(project, before);
    project.apply(Edit::AddLayer { index: 5, layer }).unwrap();
    assert_eq!(project.layers.len(), 6);
}

#[test]
fn edits_clamp_their_values_and_say_so() {
    let mut project = sample_template();
    let mut warnings = Vec::new();
    let inverse = project
        .apply_noting(
            Edit::SetOpacity {
                index: 1,
                opacity: 3.0,
            },
            &mut warnings,
        )
        .unwrap();
    assert_eq!(project.layers[1].opacity, 1.0);
    assert_eq!(warnings, ["layers[1].opacity 3 clamped to 1"]);
    assert_eq!(
        inverse,
        Edit::SetOpacity {
            index: 1,
            opacity: 1.0
        }
    );

    // A key added out of order lands in frame order; zoom is clamped.
    let key = CameraKey {
        frame: 1003.0,
        zoom: 50.0,
        ..CameraKey::default()
    };
    let inverse = project.apply(Edit::AddKey(key)).unwrap();
    assert_eq!(inverse, Edit::RemoveKey { index: 1 });
    let frames: Vec<f32> = project.camera.keys.iter().map(|k| k.frame).collect();
    assert_eq!(frames, [1001.0, 1003.0, 1006.0]);
    assert_eq!(project.camera.keys[1].zoom, 10.0);
}

#[test]
fn a_scripted_edit_reads_as_plain_json() {
    let edit: Edit = serde_json::from_value(json!({
        "edit": "set_layer",
        "index": 1,
        "layer": {
            "name": "Hero",
            "kind": { "type": "cutout", "feather_px": 3 }
        }
    }))
    .unwrap();
    let mut project = sample_template();
    project.apply(edit).unwrap();
    let hero = &project.layers[1];
    assert_eq!(hero.name, "Hero");
    assert!(hero.visible && hero.opacity == 1.0);
    assert_eq!(
        hero.kind,
        LayerKind::Cutout(CutoutSettings {
            feather_px: 3.0,
            ..CutoutSettings::default()
        })
    );
    assert_eq!(
        serde_json::to_value(Edit::SetVisible {
            index: 2,
            visible: false
        })
        .unwrap(),
        json!({ "edit": "set_visible", "index": 2, "visible": false })
    );
}

#[test]
fn history_undoes_redoes_and_tracks_unsaved_changes() {
    let original = sample_template();
    let mut project = original.clone();
    let mut history = History::default();
    assert!(!history.can_undo() && !history.can_redo() && !history.is_dirty());
    assert!(!history.undo(&mut project).unwrap());

    history
        .apply(&mut project, Edit::RemoveLayer { index: 2 })
        .unwrap();
    history
        .apply(
            &mut project,
            Edit::RenameLayer {
                index: 0,
                name: "Sky".into(),
            },
        )
        .unwrap();
    let edited = project.clone();
    assert!(history.is_dirty() && history.can_undo());
    history.mark_saved();
    assert!(!history.is_dirty());

    assert!(history.undo(&mut project).unwrap());
    assert!(history.undo(&mut project).unwrap());
    assert_eq!(project, original);
    assert!(history.is_dirty() && history.can_redo() && !history.can_undo());

    // Redo after undo comes back to the saved state, which is clean again.
    assert!(history.redo(&mut project).unwrap());
    assert!(history.redo(&mut project).unwrap());
    assert_eq!(project, edited);
    assert!(!history.is_dirty() && !history.can_redo());

    // A new edit after an undo clears the redo list; the saved state is then out of reach.
    history.undo(&mut project).unwrap();
    assert!(history.can_redo());
    history
        .apply(
            &mut project,
            Edit::SetVisible {
                index: 0,
                visible: false,
            },
        )
        .unwrap();
    assert!(!history.can_redo());
    assert!(!history.redo(&mut project).unwrap());
    assert!(history.is_dirty());

    // A failed edit records nothing.
    let before = project.clone();
    assert!(
        history
            .apply(&mut project, Edit::RemoveKey { index: 9 })
            .is_err()
    );
    assert_eq!(project, before);
    history.undo(&mut project).unwrap();
    history.undo(&mut project).unwrap();
    assert_eq!(project, original);
    assert!(!history.can_undo());
}

#[test]
fn history_forgets_the_oldest_edits_beyond_its_depth() {
    let mut project = sample_template();
    let mut history = History::new(3);
    for i in 0..5 {
        history
            .apply(
                &mut project,
                Edit::RenameLayer {
                    index: 0,
                    name: format!("name {i}"),
                },
            )
            .unwrap();
    }
    let mut undone = 0;
    while history.undo(&mut project).unwrap() {
        undone += 1;
    }
    assert_eq!(undone, 3);
    assert_eq!(project.layers[0].name, "name 1");
}

// ---------------------------------------------------------------------------------------------
// Files that are wrong

#[test]
fn a_truncated_file_is_reported_at_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.mattebox.json");
    sample_template().save(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    // Cut in the middle of line 20's text.
    let line_20 = text.lines().nth(19).unwrap();
    let indent = line_20.len() - line_20.trim_start().len();
    let cut: usize = text
        .split_inclusive('\n')
        .take(19)
        .map(str::len)
        .sum::<usize>()
        + indent
        + line_20.trim_start().len() / 2;
    fs::write(&path, &text[..cut]).unwrap();
    let error = Project::load(&path).unwrap_err();
    let message = error.to_string();
    match &error {
        ProjectError::Malformed {
            path: p,
            line,
            reason,
            ..
        } => {
            assert_eq!(p, &path);
            assert_eq!(*line, 20, "{message}");
            assert!(reason.contains("EOF"), "{message}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert!(
        message.starts_with(&format!("{}:20:", path.display())),
        "{message}"
    );
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.mattebox.json");
    fs::write(
        &path,
        "{\n  \"version\": 1,\n  \"shot\": { \"source\": \"a\" },,\n}\n",
    )
    .unwrap();
    match Project::load(&path).unwrap_err() {
        ProjectError::Malformed { line, column, .. } => assert_eq!((line, column), (3, 29)),
        other => panic!("expected Malformed, got {other:?}"),
    }
    // A binary file picked by mistake is not read as a project.
    let png = repo().join("assets/sample_shot/astronaut.1001.png");
    let error = Project::load(&png).unwrap_err();
    assert!(
        matches!(error, ProjectError::Malformed { line: 1, .. }),
        "{error}"
    );
}

#[test]
fn a_newer_version_is_refused_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut document = template_json();
    document["version"] = json!(7);
    let error = load_json(dir.path(), &document).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            error,
            ProjectError::TooNew {
                found: 7,
                supported: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        message
            .contains("written by a newer Mattebox: project version 7, this build reads up to 1"),
        "{message}"
    );
    assert!(message.contains("shot.mattebox.json"), "{message}");
    assert_eq!(CURRENT_VERSION, 1);
}

#[test]
fn colour_settings_load_by_name_or_alias_and_default_for_older_files() {
    let dir = tempfile::tempdir().unwrap();
    // A file from before colour management: auto input, linear Rec.709 working space.
    let mut document = template_json();
    document["shot"]
        .as_object_mut()
        .unwrap()
        .remove("colour_space");
    document.as_object_mut().unwrap().remove("colour");
    let (project, warnings) = load_json(dir.path(), &document).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(project.shot.colour_space, None);
    assert_eq!(project.colour.working_space, WorkingSpace::Linear);
    assert!(project.plate_colour().is_default());

    // OpenColorIO's names, any case; saved back under Mattebox's names.
    document["shot"]["colour_space"] = json!("Utility - Rec.709 - Camera");
    document["colour"] = json!({ "working_space": "ACEScg" });
    let (project, _) = load_json(dir.path(), &document).unwrap();
    assert_eq!(project.shot.colour_space, Some(ColourSpace::Rec709));
    assert_eq!(project.colour.working_space, WorkingSpace::AcesCg);
    let path = dir.path().join("saved.mattebox.json");
    project.save(&path).unwrap();
    let saved: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["shot"]["colour_space"], json!("rec709"));
    assert_eq!(saved["colour"]["working_space"], json!("acescg"));
    assert_eq!(Project::load(&path).unwrap().0, project);
    document["shot"]["colour_space"] = json!("AUTO");
    assert_eq!(
        load_json(dir.path(), &document)
            .unwrap()
            .0
            .shot
            .colour_space,
        None
    );

    // An unknown name is refused, naming the file, the place and the accepted names.
    document["shot"]["colour_space"] = json!("p3-d65");
    let error = load_json(dir.path(), &document).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ProjectError::Invalid { .. }), "{error:?}");
    assert!(message.contains("shot.mattebox.json:"), "{message}");
    assert!(message.contains("\"p3-d65\""), "{message}");
    assert!(
        message.contains("acescg") && message.contains("linear-rec2020"),
        "{message}"
    );
    document["shot"]["colour_space"] = json!("srgb");
    document["colour"]["working_space"] = json!("rec2020");
    let message = load_json(dir.path(), &document).unwrap_err().to_string();
    assert!(
        message.contains("unknown working space \"rec2020\""),
        "{message}"
    );
    // A misspelt field in the colour settings is refused like any other.
    document["colour"] = json!({ "working_spaec": "acescg" });
    let message = load_json(dir.path(), &document).unwrap_err().to_string();
    assert!(message.contains("working_spaec"), "{message}");
}

#[test]
fn colour_edits_undo_exactly() {
    let mut project = sample_template();
    let before = project.clone();
    let undo_working = project
        .apply(Edit::SetColour(ColourSettings {
            working_space: WorkingSpace::AcesCg,
        }))
        .unwrap();
    let undo_input = project
        .apply(Edit::SetShot(ShotRef {
            colour_space: Some(ColourSpace::LinearRec2020),
            ..project.shot.clone()
        }))
        .unwrap();
    assert_eq!(project.plate_colour().working, WorkingSpace::AcesCg);
    assert_eq!(
        project.plate_colour().input,
        Some(ColourSpace::LinearRec2020)
    );
    project.apply(undo_input).unwrap();
    project.apply(undo_working).unwrap();
    assert_eq!(project, before);
    // Edits are serde values too.
    let edit = Edit::SetColour(ColourSettings {
        working_space: WorkingSpace::AcesCg,
    });
    let text = serde_json::to_string(&edit).unwrap();
    assert_eq!(text, r#"{"edit":"set_colour","working_space":"acescg"}"#);
}

#[test]
fn a_missing_or_odd_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut document = template_json();
    document.as_object_mut().unwrap().remove("version");
    let error = load_json(dir.path(), &document).unwrap_err();
    assert!(matches!(error, ProjectError::NoVersion { .. }), "{error:?}");
    assert!(error.to_string().contains("no \"version\""), "{error}");

    for odd in [json!(0), json!("1"), json!(1.5), json!(-1)] {
        document["version"] = odd.clone();
        let error = load_json(dir.path(), &document).unwrap_err();
        assert!(
            matches!(error, ProjectError::Invalid { .. }),
            "{odd}: {error:?}"
        );
        assert!(error.to_string().contains("\"version\" must be"), "{error}");
    }
    let error = load_json(dir.path(), &json!([1, 2])).unwrap_err();
    assert!(error.to_string().contains("is a JSON object"), "{error}");
}

#[test]
fn an_unknown_field_is_refused_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&[], "layerz"),
        (&["shot"], "frist"),
        (&["layers", "1", "kind"], "feathr_px"),
        (&["layers", "0", "kind"], "radius"),
        (&["camera", "keys", "1"], "dolly"),
        (&["export", "formats"], "jpeg"),
    ];
    for (at, name) in cases {
        let mut document = template_json();
        let mut place = &mut document;
        for step in at {
            place = match step.parse::<usize>() {
                Ok(i) => &mut place[i],
                Err(_) => &mut place[*step],
            };
        }
        place.as_object_mut().unwrap().insert(name.into(), json!(1));
        let error = load_json(dir.path(), &document).unwrap_err();
        let message = error.to_string();
        let ProjectError::Invalid { line, reason, .. } = &error else {
            panic!("{name}: expected Invalid, got {error:?}");
        };
        assert!(
            reason.contains(&format!("unknown field `{name}`")),
            "{message}"
        );
        let path =
            at.iter()
                .chain([&name])
                .fold(String::new(), |acc, s| match s.parse::<usize>() {
                    Ok(i) => format!("{acc}[{i}]"),
                    Err(_) if acc.is_empty() => s.to_string(),
                    Err(_) => format!("{acc}.{s}"),
                });
        assert!(reason.contains(&format!("(at {path})")), "{message}");
        // The written line holding the field.
        let text = fs::read_to_string(dir.path().join("shot.mattebox.json")).unwrap();
        let expected = text
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("\"{name}\"")))
            .unwrap()
            + 1;
        assert_eq!(*line, Some(expected), "{message}");
    }
}

#[test]
fn a_wrong_type_or_unknown_name_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut document = template_json();
    document["scene"]["fov_deg"] = json!("wide");
    let error = load_json(dir.path(), &document).unwrap_err();
    let ProjectError::Invalid { line, reason, .. } = &error else {
        panic!("expected Invalid, got {error:?}");
    };
    assert!(reason.contains("invalid type: string \"wide\""), "{error}");
    assert!(line.is_some(), "{error}");
    assert!(error.to_string().contains(".json:"), "{error}");

    let mut document = template_json();
    document["layers"][2]["kind"]["type"] = json!("depth_smoke");
    let error = load_json(dir.path(), &document).unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `depth_smoke`"),
        "{error}"
    );

    let mut document = template_json();
    document["export"]["exr_compression"] = json!("zpi");
    let error = load_json(dir.path(), &document).unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `zpi`"),
        "{error}"
    );
}

#[test]
fn out_of_range_values_are_clamped_with_a_warning_naming_each_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut document = template_json();
    document["layers"][1]["kind"]["feather_px"] = json!(500);
    document["layers"][3]["opacity"] = json!(1.5);
    document["layers"][2]["kind"]["far_m"] = json!(1);
    document["scene"]["fov_deg"] = json!(0);
    document["shot"]["fps"] = json!(5000);
    document["shot"]["first"] = json!(1010);
    document["shot"]["last"] = json!(1001);
    document["camera"]["still_duration_frames"] = json!(0);
    document["passes"]["depth_model"] = json!("");
    // Keys out of order are sorted.
    let keys = document["camera"]["keys"].as_array_mut().unwrap();
    keys.reverse();
    let (project, warnings) = load_json(dir.path(), &document).unwrap();

    let expected = [
        "shot.fps 5000 clamped to 1000",
        "shot.last 1001 clamped to 1010 (shot.first)",
        "passes.depth_model \"\" is empty; reset to \"fastdepth\"",
        "scene.fov_deg 0 clamped to 1",
        "layers[1].kind.feather_px 500 clamped to 64",
        "layers[2].kind.far_m 1 clamped to 3.01 (just beyond near_m 3)",
        "layers[3].opacity 1.5 clamped to 1",
        "camera.keys were not in frame order; sorted by frame",
        "camera.still_duration_frames 0 clamped to 1",
    ];
    assert_eq!(warnings, expected);

    let LayerKind::Cutout(cutout) = &project.layers[1].kind else {
        panic!("layer 1 is not the cut-out");
    };
    assert_eq!(cutout.feather_px, 64.0);
    assert_eq!(project.layers[3].opacity, 1.0);
    assert_eq!(project.shot.fps, 1000.0);
    assert_eq!(
        (project.shot.first, project.shot.last),
        (Some(1010), Some(1010))
    );
    assert_eq!(project.camera.keys, sample_template().camera.keys);

    // What was clamped saves and loads back cleanly.
    let path = dir.path().join("clamped.mattebox.json");
    project.save(&path).unwrap();
    let (again, warnings) = Project::load(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(again, project);
}

#[test]
fn matte_strokes_and_the_depth_curve_are_clamped_on_load_and_checked_for_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut document = template_json();
    document["scene"]["depth_curve"] = json!(50);
    document["matte_strokes"] = json!([
        { "frame": 1001, "mode": "add", "radius_px": 1000, "softness": -1,
          "points": [[10, 20], [30, 40]] },
        { "frame": null, "mode": "subtract", "radius_px": 12, "points": [] },
        { "mode": "subtract", "radius_px": 0.1, "softness": 0.25, "points": [[5, 5]] },
    ]);
    let (project, warnings) = load_json(dir.path(), &document).unwrap();
    assert_eq!(
        warnings,
        [
            "scene.depth_curve 50 clamped to 10",
            "matte_strokes[0].radius_px 1000 clamped to 500",
            "matte_strokes[0].softness -1 clamped to 0",
            "matte_strokes[1] has no points; removed",
            "matte_strokes[2].radius_px 0.1 clamped to 0.5",
        ]
    );
    assert_eq!(project.scene.depth_curve, 10.0);
    let expected = vec![
        MatteStroke {
            amount: 1.0,
            frame: Some(1001),
            mode: BrushMode::Add,
            radius_px: 500.0,
            softness: 0.0,
            points: vec![[10.0, 20.0], [30.0, 40.0]],
        },
        // A missing frame applies to every frame; a missing softness is the default.
        MatteStroke {
            amount: 1.0,
            frame: None,
            mode: BrushMode::Subtract,
            radius_px: 0.5,
            softness: 0.25,
            points: vec![[5.0, 5.0]],
        },
    ];
    assert_eq!(project.matte_strokes, expected);

    // A typo inside a stroke is refused and named, like anywhere else.
    let mut document = template_json();
    document["matte_strokes"] = json!([
        { "frame": 1001, "mode": "add", "radius_px": 10, "points": [[1, 2]], "radius": 3 }
    ]);
    let error = load_json(dir.path(), &document).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown field `radius` (at matte_strokes[0].radius)"),
        "{error}"
    );
    let mut document = template_json();
    document["matte_strokes"] = json!([{ "mode": "erase", "radius_px": 10, "points": [[1, 2]] }]);
    let error = load_json(dir.path(), &document).unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `erase`"),
        "{error}"
    );
}

#[test]
fn a_stroke_edit_clamps_and_refuses_a_stroke_with_no_finite_point() {
    let mut project = sample_template();
    let mut warnings = Vec::new();
    let stroke = MatteStroke {
        amount: 1.0,
        frame: Some(1001),
        mode: BrushMode::Add,
        radius_px: f32::NAN,
        softness: 2.0,
        points: vec![[f32::INFINITY, 1.0], [3.0, 4.0]],
    };
    let inverse = project
        .apply_noting(Edit::AddStroke(stroke), &mut warnings)
        .unwrap();
    assert_eq!(inverse, Edit::RemoveStroke { index: 0 });
    assert_eq!(
        project.matte_strokes[0],
        MatteStroke {
            amount: 1.0,
            frame: Some(1001),
            mode: BrushMode::Add,
            radius_px: 20.0,
            softness: 1.0,
            points: vec![[3.0, 4.0]],
        }
    );
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    let before = project.clone();
    let only_nan = MatteStroke {
        amount: 1.0,
        points: vec![[f32::NAN, 0.0]],
        ..project.matte_strokes[0].clone()
    };
    assert_eq!(
        project.apply(Edit::AddStroke(only_nan.clone())),
        Err(EditError::EmptyStroke)
    );
    assert_eq!(
        project.apply(Edit::InsertStroke {
            index: 3,
            stroke: only_nan
        }),
        Err(EditError::NoStroke { index: 3, count: 1 })
    );
    assert_eq!(project, before);
}

#[test]
fn missing_optional_parts_take_their_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let (project, warnings) = load_json(
        dir.path(),
        &json!({ "version": 1, "shot": { "source": "plates" } }),
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(project.shot, ShotRef::new(PathBuf::from("plates")));
    assert_eq!(project.passes, PassSettings::default());
    assert_eq!(project.passes.depth_model, "fastdepth");
    assert_eq!(project.passes.matte_model, "u2netp");
    assert_eq!(project.scene, SceneSettings::default());
    assert!(project.layers.is_empty());
    assert_eq!(project.camera, CameraMove::default());
    assert_eq!(project.export, ExportSettings::default());
    assert_eq!(project.export.exr_compression, ExrCompression::Zip);
    assert_eq!(project.scene.depth_curve, 1.0);
    assert!(project.matte_strokes.is_empty());
}

#[test]
fn a_project_with_a_nan_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.mattebox.json");
    let mut project = sample_template();
    project.scene.far_m = f32::NAN;
    let error = project.save(&path).unwrap_err();
    assert!(error.to_string().contains("scene.far_m NaN"), "{error}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_failed_save_keeps_the_previous_file_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let old = sample_template();
    let mut new = old.clone();
    new.apply(Edit::RemoveLayer { index: 0 }).unwrap();

    // A name so long that the temporary file's name (".{name}.XXXXXX.tmp") cannot exist,
    // though the project file itself can: the save fails before touching it, even for root.
    let long = format!("{}.mattebox.json", "s".repeat(240));
    let path = dir.path().join(&long);
    let short = dir.path().join("p.mattebox.json");
    old.save(&short).unwrap();
    fs::rename(&short, &path).unwrap();
    let before = fs::read(&path).unwrap();
    let error = new.save(&path).unwrap_err();
    assert!(matches!(error, ProjectError::Write(_)), "{error:?}");
    assert_eq!(error.path(), path);
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(entries(dir.path()), std::slice::from_ref(&long));
    assert_eq!(Project::load(&path).unwrap().0, old);

    // A missing folder, and a "folder" that is a file.
    let missing = dir.path().join("no/such/folder/p.mattebox.json");
    let error = new.save(&missing).unwrap_err();
    assert!(error.to_string().contains("no/such/folder"), "{error}");
    let blocker = dir.path().join("blocker");
    fs::write(&blocker, b"x").unwrap();
    let error = new.save(&blocker.join("p.mattebox.json")).unwrap_err();
    assert!(error.to_string().contains("Not a directory"), "{error}");
    assert_eq!(entries(dir.path()), ["blocker".to_string(), long]);

    // A read-only folder (root ignores permissions, so this part needs a normal user).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        let path = locked.join("p.mattebox.json");
        old.save(&path).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        let probe = locked.join("probe");
        if fs::write(&probe, b"").is_ok() {
            fs::remove_file(&probe).unwrap();
            eprintln!("skipping the read-only folder case: permissions are not enforced here");
        } else {
            let error = new.save(&path).unwrap_err();
            assert!(error.to_string().contains("Permission denied"), "{error}");
            assert_eq!(Project::load(&path).unwrap().0, old);
            assert_eq!(entries(&locked), ["p.mattebox.json"]);
        }
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.mattebox.json");
    let error = Project::load(&path).unwrap_err();
    assert!(matches!(error, ProjectError::Read { .. }), "{error:?}");
    assert_eq!(error.path(), path);
    assert!(error.to_string().contains("gone.mattebox.json"), "{error}");
}
