//! The artist's overrides of the AI passes, on real data: matte brush strokes over a real u2netp
//! matte of the sample shot, the depth curve over real fastdepth depth, strokes saved, loaded and
//! undone through the project, and a real `mattebox render` honouring a stroke.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use mattebox::composite::image::Image;
use mattebox::composite::layers::{
    BackgroundSettings, CutoutSettings, DepthMapping, Layer, LayerKind, SceneSettings,
};
use mattebox::composite::refine::{BrushMode, MatteStroke, apply_strokes};
use mattebox::infer::Task;
use mattebox::passes::{DepthRange, DepthSemantics, depth_range_from_samples, depth_to_plate};
use mattebox::project::{Edit, History, Project};
use serde_json::json;

const FRAME: &str = "astronaut.1001.png";
const W: u32 = 512;
const H: u32 = 384;

/// The sample frame's aux (distance, real u2netp matte, nearness), made once per test binary.
/// The subject's head is around (250, 80); everything right of x = 400 is background.
fn real_aux() -> &'static Image {
    static AUX: OnceLock<Image> = OnceLock::new();
    AUX.get_or_init(|| common::real_frame(FRAME, W, H).1)
}

fn at(image: &Image, x: u32, y: u32) -> [f32; 4] {
    image.pixels[(y * image.width + x) as usize]
}

fn stroke(frame: Option<u32>, mode: BrushMode, radius_px: f32, softness: f32) -> MatteStroke {
    MatteStroke {
        amount: 1.0,
        frame,
        mode,
        radius_px,
        softness,
        points: Vec::new(),
    }
}

/// The distance from pixel (x, y)'s centre to the segment a-b.
fn distance_to(x: u32, y: u32, a: [f32; 2], b: [f32; 2]) -> f32 {
    let p = [x as f32 + 0.5, y as f32 + 0.5];
    let ab = [b[0] - a[0], b[1] - a[1]];
    let len_sq = ab[0] * ab[0] + ab[1] * ab[1];
    let t = if len_sq > 0.0 {
        (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / len_sq).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - ab[0] * t).hypot(p[1] - a[1] - ab[1] * t)
}

/// Every pixel whose centre is farther than `radius` from the segment a-b is bit-identical.
fn assert_untouched_beyond(before: &Image, after: &Image, a: [f32; 2], b: [f32; 2], radius: f32) {
    let mut checked = 0;
    for y in 0..before.height {
        for x in 0..before.width {
            if distance_to(x, y, a, b) > radius {
                let (p, q) = (at(before, x, y), at(after, x, y));
                assert_eq!(p.map(f32::to_bits), q.map(f32::to_bits), "({x}, {y})");
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
}

#[test]
fn an_add_stroke_across_the_background_covers_it_under_the_brush_and_nowhere_else() {
    let before = real_aux();
    let (a, b) = ([410.0, 200.0], [500.0, 230.0]);
    // The stroke's path really is background in the AI matte.
    for x in (410..=500).step_by(10) {
        let y = 200 + (x - 410) / 3;
        assert!(at(before, x, y)[1] < 0.1, "({x}, {y}) is not background");
    }
    let mut add = stroke(Some(1001), BrushMode::Add, 20.0, 0.5);
    add.points = vec![a, b];
    let mut after = before.clone();
    apply_strokes(&mut after, &[add], Some(1001));

    // Within the hard core (radius 10) the matte is fully on; the ramp is on in between.
    for y in 0..H {
        for x in 0..W {
            let d = distance_to(x, y, a, b);
            let g = at(&after, x, y)[1];
            if d <= 10.0 {
                assert!(g > 0.999, "({x}, {y}) at {d} px: {g}");
            } else if d < 19.0 {
                assert!(g > at(before, x, y)[1], "({x}, {y}) at {d} px: {g}");
            }
        }
    }
    assert_untouched_beyond(before, &after, a, b, 20.0);
}

#[test]
fn a_subtract_stroke_over_the_face_clears_the_matte_there() {
    let before = real_aux();
    let centre = [250.0, 80.0];
    assert!(at(before, 250, 80)[1] > 0.9, "the face is not in the matte");
    let mut dab = stroke(None, BrushMode::Subtract, 30.0, 0.3);
    dab.points = vec![centre];
    let mut after = before.clone();
    apply_strokes(&mut after, &[dab], Some(1001));
    for y in 50..110 {
        for x in 220..280 {
            let d = distance_to(x, y, centre, centre);
            if d <= 21.0 {
                assert!(at(&after, x, y)[1] < 1e-6, "({x}, {y}) at {d} px");
            }
            // Distance and nearness are never touched.
            assert_eq!(at(&after, x, y)[0], at(before, x, y)[0]);
            assert_eq!(at(&after, x, y)[2], at(before, x, y)[2]);
        }
    }
    assert_untouched_beyond(before, &after, centre, centre, 30.0);
    // The rest of the subject keeps its matte.
    assert!(at(&after, 200, 300)[1] > 0.9);
}

#[test]
fn softness_makes_a_monotone_falloff_from_the_centre_to_the_radius() {
    let before = real_aux();
    // A dab inside the subject's body, where the AI matte is near 1: the coverage is what the
    // subtract stroke took away, c = 1 - after / before.
    let (cx, cy, radius) = (200u32, 310u32, 40.0);
    for x in cx - 40..=cx + 40 {
        assert!(at(before, x, cy)[1] > 0.5, "({x}, {cy}) is not in the body");
    }
    let coverage = |softness: f32| -> Vec<(f32, f32)> {
        let mut dab = stroke(None, BrushMode::Subtract, radius, softness);
        dab.points = vec![[cx as f32 + 0.5, cy as f32 + 0.5]];
        let mut after = before.clone();
        apply_strokes(&mut after, &[dab], None);
        (cx..=cx + 45)
            .map(|x| {
                let d = (x - cx) as f32;
                (d, 1.0 - at(&after, x, cy)[1] / at(before, x, cy)[1])
            })
            .collect()
    };
    for softness in [0.0, 0.5, 1.0] {
        let profile = coverage(softness);
        for pair in profile.windows(2) {
            assert!(
                pair[1].1 <= pair[0].1 + 1e-5,
                "softness {softness}: {pair:?}"
            );
        }
        assert!(profile[0].1 > 0.999, "full at the centre: {profile:?}");
        for &(d, c) in &profile {
            if d >= radius {
                assert!(c.abs() < 1e-6, "softness {softness}: {c} at {d} px");
            }
        }
    }
    let c_at = |profile: &[(f32, f32)], d: f32| profile.iter().find(|p| p.0 == d).unwrap().1;
    // Hard: full up to the radius. Half soft: full to half the radius, then easing. Fully soft:
    // half covered at half the radius (smoothstep is symmetric).
    let (hard, half, soft) = (coverage(0.0), coverage(0.5), coverage(1.0));
    assert!(c_at(&hard, 39.0) > 0.999);
    assert!(c_at(&half, 19.0) > 0.999 && c_at(&half, 30.0) < 0.99);
    assert!((c_at(&soft, 20.0) - 0.5).abs() < 0.01, "{soft:?}");
    assert!(c_at(&soft, 10.0) < 0.999 && c_at(&soft, 10.0) > c_at(&soft, 20.0));
}

#[test]
fn a_stroke_on_one_frame_leaves_the_other_frames_alone() {
    let before = real_aux();
    let mut on_1002 = stroke(Some(1002), BrushMode::Subtract, 50.0, 0.0);
    on_1002.points = vec![[250.0, 80.0], [250.0, 300.0]];
    let mut frame_1001 = before.clone();
    apply_strokes(&mut frame_1001, std::slice::from_ref(&on_1002), Some(1001));
    assert_eq!(&frame_1001, before);
    // Nor a still (no frame number).
    let mut still = before.clone();
    apply_strokes(&mut still, std::slice::from_ref(&on_1002), None);
    assert_eq!(&still, before);
    let mut frame_1002 = before.clone();
    apply_strokes(&mut frame_1002, std::slice::from_ref(&on_1002), Some(1002));
    assert_eq!(at(&frame_1002, 250, 200)[1], 0.0);
    // A stroke with no frame applies to every frame.
    let every = MatteStroke {
        amount: 1.0,
        frame: None,
        ..on_1002
    };
    let mut frame_1001 = before.clone();
    apply_strokes(&mut frame_1001, &[every], Some(1001));
    assert_eq!(frame_1001, frame_1002);
}

#[test]
fn strokes_apply_in_order_and_twenty_strokes_are_quick_at_1080p() {
    // Subtract then add over the face: the add wins; the other order: the subtract wins.
    let before = real_aux();
    let mut cut = stroke(None, BrushMode::Subtract, 30.0, 0.0);
    cut.points = vec![[250.0, 80.0]];
    let mut paint = stroke(None, BrushMode::Add, 30.0, 0.0);
    paint.points = vec![[250.0, 80.0]];
    let mut aux = before.clone();
    apply_strokes(&mut aux, &[cut.clone(), paint.clone()], None);
    assert_eq!(at(&aux, 250, 80)[1], 1.0);
    let mut aux = before.clone();
    apply_strokes(&mut aux, &[paint, cut], None);
    assert_eq!(at(&aux, 250, 80)[1], 0.0);

    // The real matte at 1080p, with 20 strokes of 50-point wavy lines across it.
    let mut big = before.resized(1920, 1080).unwrap();
    let strokes: Vec<MatteStroke> = (0..20)
        .map(|i| {
            let mut s = stroke(
                None,
                [BrushMode::Add, BrushMode::Subtract][i % 2],
                40.0,
                0.5,
            );
            s.points = (0..50)
                .map(|k| {
                    let x = 100.0 + 34.0 * k as f32;
                    [x, 50.0 + 50.0 * i as f32 + 20.0 * (x / 90.0).sin()]
                })
                .collect();
            s
        })
        .collect();
    let started = Instant::now();
    apply_strokes(&mut big, &strokes, Some(1001));
    let elapsed = started.elapsed();
    println!("20 strokes over 1920x1080: {elapsed:?}");
    // A few milliseconds in a release build; this bound only catches a visit of every pixel for
    // every segment in the unoptimised test build.
    assert!(elapsed.as_secs_f32() < 2.0, "{elapsed:?}");
}

/// Real fastdepth depth of the sample frame: (raw depth, its meaning, the shot-wide range).
fn real_depth() -> (Vec<f32>, DepthSemantics, DepthRange, u32, u32) {
    let path = common::repo().join("assets/sample_shot").join(FRAME);
    let plate = mattebox::shot::decode::decode(&path, &Default::default()).unwrap();
    let guide = mattebox::passes::upsample::guide_from_luminance(&plate.luminance());
    let mut model = common::model("fastdepth", Task::Depth);
    let semantics = model.entry.output.semantics.depth().unwrap();
    let raw = model.run(&plate).unwrap();
    let depth = depth_to_plate(&raw, semantics, &guide, plate.width, plate.height).unwrap();
    let range = depth_range_from_samples(&mut depth.values.clone(), semantics).unwrap();
    (depth.values, semantics, range, plate.width, plate.height)
}

#[test]
fn the_depth_curve_moves_mid_distances_and_keeps_the_near_and_far_ends() {
    let (depth, semantics, range, w, h) = real_depth();
    let aux = |scene: &SceneSettings, semantics: DepthSemantics| {
        mattebox::render::aux_image(
            w,
            h,
            Some(&depth),
            Some(semantics),
            Some(range),
            None,
            scene,
        )
    };
    let scene = |depth_curve: f32| SceneSettings {
        depth_curve,
        ..SceneSettings::default()
    };
    let linear = aux(&scene(1.0), semantics);
    let farther = aux(&scene(2.0), semantics);
    let nearer = aux(&scene(0.5), semantics);
    let (near_m, far_m) = (scene(1.0).near_m, scene(1.0).far_m);
    let (mut mid, mut ends) = (0, 0);
    for ((l, f), n) in linear
        .pixels
        .iter()
        .zip(&farther.pixels)
        .zip(&nearer.pixels)
    {
        let nearness = l[2];
        if nearness == 0.0 || nearness == 1.0 {
            // The shot's nearest and farthest depths stay at near_m and far_m.
            ends += 1;
            assert_eq!((f[0], n[0]), (l[0], l[0]));
            let end = if nearness == 1.0 { near_m } else { far_m };
            assert!((l[0] - end).abs() < 1e-3 * end, "{l:?}");
        } else if (0.1..0.9).contains(&nearness) {
            mid += 1;
            assert!(f[0] > l[0] && n[0] < l[0], "{nearness}: {f:?} {l:?} {n:?}");
            // The stored nearness is the curved one, consistent with the distance.
            assert!((f[2] - nearness * nearness).abs() < 1e-6);
        }
        // The order of depths is kept: a curve never swaps near and far.
        assert!(f[0] >= near_m * 0.999 && f[0] <= far_m * 1.001);
    }
    assert!(mid > 10_000 && ends > 100, "mid {mid}, ends {ends}");
    let order = |img: &Image, i: usize, j: usize| img.pixels[i][0].total_cmp(&img.pixels[j][0]);
    for (i, j) in [(0, 1000), (5000, 90_000), (123, 150_000)] {
        assert_eq!(order(&linear, i, j), order(&farther, i, j));
    }

    // Metres from a metric model, used as metres, are not reshaped.
    let metric = SceneSettings {
        depth_mapping: DepthMapping::Metric,
        ..scene(3.0)
    };
    let metric_linear = SceneSettings {
        depth_curve: 1.0,
        ..metric.clone()
    };
    let a = aux(&metric, DepthSemantics::Metric);
    let b = aux(&metric_linear, DepthSemantics::Metric);
    assert!(a.pixels.iter().zip(&b.pixels).all(|(p, q)| p[0] == q[0]));
}

fn sample_strokes() -> Vec<MatteStroke> {
    vec![
        MatteStroke {
            amount: 1.0,
            frame: Some(1001),
            mode: BrushMode::Add,
            radius_px: 12.5,
            softness: 0.25,
            points: vec![[410.0, 200.0], [455.5, 215.25], [500.0, 230.0]],
        },
        MatteStroke {
            amount: 1.0,
            frame: None,
            mode: BrushMode::Subtract,
            radius_px: 30.0,
            softness: 0.5,
            points: vec![[250.0, 80.0]],
        },
        MatteStroke {
            amount: 1.0,
            frame: Some(1002),
            mode: BrushMode::Subtract,
            radius_px: 8.0,
            softness: 0.0,
            points: vec![[10.0, 10.0], [20.0, 10.0]],
        },
    ]
}

#[test]
fn strokes_are_plain_json_round_trip_through_save_and_load_and_undo_exactly() {
    // The JSON shapes the app and scripts write.
    let stroke = sample_strokes().remove(0);
    assert_eq!(
        serde_json::to_value(Edit::AddStroke(stroke.clone())).unwrap(),
        json!({
            "edit": "add_stroke", "frame": 1001, "mode": "add", "radius_px": 12.5,
            "softness": 0.25, "points": [[410.0, 200.0], [455.5, 215.25], [500.0, 230.0]]
        })
    );
    assert_eq!(
        serde_json::to_value(Edit::RemoveStroke { index: 2 }).unwrap(),
        json!({ "edit": "remove_stroke", "index": 2 })
    );
    assert_eq!(
        serde_json::to_value(Edit::ClearStrokes { frame: None }).unwrap(),
        json!({ "edit": "clear_strokes", "frame": null })
    );
    let edit: Edit = serde_json::from_value(json!({
        "edit": "insert_stroke", "index": 0,
        "stroke": { "mode": "subtract", "radius_px": 4, "points": [[1, 2]] }
    }))
    .unwrap();
    assert_eq!(
        edit,
        Edit::InsertStroke {
            index: 0,
            stroke: MatteStroke {
                amount: 1.0,
                frame: None,
                mode: BrushMode::Subtract,
                radius_px: 4.0,
                softness: 0.5,
                points: vec![[1.0, 2.0]],
            }
        }
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strokes.mattebox.json");
    let original = Project::template(PathBuf::from("sample_shot"));
    let mut project = original.clone();
    let mut history = History::default();
    let mut states = vec![project.clone()];
    for s in sample_strokes() {
        history.apply(&mut project, Edit::AddStroke(s)).unwrap();
        states.push(project.clone());
    }
    assert_eq!(project.matte_strokes, sample_strokes());
    history
        .apply(&mut project, Edit::RemoveStroke { index: 1 })
        .unwrap();
    states.push(project.clone());
    history
        .apply(&mut project, Edit::ClearStrokes { frame: Some(1001) })
        .unwrap();
    states.push(project.clone());
    assert_eq!(project.matte_strokes, [sample_strokes()[2].clone()]);

    // Saved and loaded back exactly, at every step.
    for state in &states {
        state.save(&path).unwrap();
        let (loaded, warnings) = Project::load(&path).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(&loaded, state);
    }
    // Undo walks back through every state to the original; redo walks forward again.
    states.pop();
    while history.undo(&mut project).unwrap() {
        assert_eq!(Some(&project), states.last());
        states.pop();
    }
    assert_eq!(project, original);
    while history.redo(&mut project).unwrap() {}
    assert_eq!(project.matte_strokes, [sample_strokes()[2].clone()]);
}

fn render(project: &Path, out: &Path) -> String {
    common::quiet_vulkan();
    let output = common::bin()
        .arg("render")
        .arg(project)
        .arg("--out")
        .arg(out)
        .arg("--cache-dir")
        .arg(out.with_extension("cache"))
        .args(["--renderer", "cpu", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "render failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn channel<'a>(channels: &'a [(String, Vec<f32>)], name: &str) -> &'a [f32] {
    &channels.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn a_render_honours_a_subtract_stroke_over_the_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    common::small_shot(&shot, 1);
    let project_path = tmp.path().join("p.mattebox.json");
    // The cut-out over a solid background, no camera move.
    let background = [0.2f32, 0.4, 0.6];
    let mut project = Project::template(shot.clone());
    project.camera.keys.clear();
    let layer = |name: &str, kind| Layer {
        name: name.into(),
        visible: true,
        opacity: 1.0,
        blend: Default::default(),
        kind,
    };
    project.layers = vec![
        layer(
            "Background",
            LayerKind::Background(BackgroundSettings::Solid { colour: background }),
        ),
        layer("Cut-out", LayerKind::Cutout(CutoutSettings::default())),
    ];
    project.save(&project_path).unwrap();
    let out = tmp.path().join("out");
    let exr = out.join("composite/astronaut.1001.exr");
    render(&project_path, &out);
    let plain = common::exr_channels(&exr);

    // A hard stroke down the middle, 100 px wide each side: the whole subject (x 15..180 of 256).
    let (a, b) = ([100.0, -10.0], [100.0, 200.0]);
    let mut cut = stroke(Some(1001), BrushMode::Subtract, 100.0, 0.0);
    cut.points = vec![a, b];
    project.apply(Edit::AddStroke(cut)).unwrap();
    project.save(&project_path).unwrap();
    // The stroke is part of what made the frame: the rerun redoes it.
    let log = render(&project_path, &out);
    let redone = log
        .lines()
        .filter(|l| l.contains("\"frame_done\"") && l.contains("\"render\""))
        .count();
    assert_eq!(redone, 1, "{log}");
    let stroked = common::exr_channels(&exr);

    let (mut subject, mut inside) = (0, 0);
    for y in 0..192u32 {
        for x in 0..256u32 {
            let i = (y * 256 + x) as usize;
            let d = distance_to(x, y, a, b);
            let rgb = |c: &[(String, Vec<f32>)]| ["R", "G", "B"].map(|name| channel(c, name)[i]);
            let off_background =
                |v: [f32; 3]| v.iter().zip(background).any(|(p, q)| (p - q).abs() > 0.01);
            // Inside the stroke (clear of the cut-out's 1 px feather), only the background shows,
            // and the composite's matte is empty.
            if d < 97.0 {
                inside += 1;
                subject += usize::from(off_background(rgb(&plain)));
                assert!(
                    !off_background(rgb(&stroked)),
                    "({x}, {y}): {:?}",
                    rgb(&stroked)
                );
                assert!(channel(&stroked, "matte_fg.A")[i] < 1e-3, "({x}, {y})");
            }
        }
    }
    // Without the stroke, much of that area was the subject.
    assert!(subject > inside / 4, "subject {subject} of {inside}");
}
