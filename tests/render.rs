//! `mattebox render` end to end: the real binary, real models, the sample shot, real files.

mod common;

use std::path::Path;
use std::process::Output;

use mattebox::composite::camera::{CameraKey, CameraMove, Ease};
use mattebox::composite::layers::{BackgroundSettings, LayerKind};
use mattebox::project::Project;
use mattebox::shot::FrameRange;

fn render(project: &Path, out: &Path, extra: &[&str]) -> Output {
    common::quiet_vulkan();
    let cache = out.with_extension("cache");
    let output = common::bin()
        .arg("render")
        .arg(project)
        .arg("--out")
        .arg(out)
        .arg("--cache-dir")
        .arg(&cache)
        .args(extra)
        .output()
        .unwrap();
    println!(
        "render {} {extra:?}: {}\n{}",
        project.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn project_for(shot: &Path, range: Option<FrameRange>, path: &Path) -> Project {
    let project = Project::template_for(shot.to_path_buf(), range);
    project.save(path).unwrap();
    project
}

#[test]
fn gpu_and_cpu_renders_agree_and_the_exr_has_the_layers_compositors_expect() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    common::small_shot(&shot, 2);
    let project_path = tmp.path().join("sample.mattebox.json");
    project_for(
        &shot,
        Some(FrameRange {
            first: 1001,
            last: 1002,
        }),
        &project_path,
    );
    let gpu_out = tmp.path().join("gpu");
    let cpu_out = tmp.path().join("cpu");
    let g = render(
        &project_path,
        &gpu_out,
        &["--renderer", "gpu", "--format", "exr,png"],
    );
    assert!(g.status.success());
    let stderr = String::from_utf8_lossy(&g.stderr);
    assert!(
        stderr.contains("renderer: "),
        "the adapter is printed: {stderr}"
    );
    let c = render(&project_path, &cpu_out, &["--renderer", "cpu"]);
    assert!(c.status.success());
    assert!(String::from_utf8_lossy(&c.stderr).contains("renderer: CPU reference"));

    for frame in ["astronaut.1001.exr", "astronaut.1002.exr"] {
        let gpu = common::exr_channels(&gpu_out.join("composite").join(frame));
        let cpu = common::exr_channels(&cpu_out.join("composite").join(frame));
        let names: Vec<&str> = gpu.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "R",
            "G",
            "B",
            "A",
            "depth.Z",
            "matte_fg.A",
            "matte_disocclusion.A",
        ] {
            assert!(names.contains(&want), "{frame}: {names:?} lacks {want}");
        }
        for ((name, a), (_, b)) in gpu.iter().zip(&cpu) {
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs() / x.abs().max(1.0))
                .fold(0.0f32, f32::max);
            // Half floats round at 1/2048 relative; both renderers agree to ~1e-6 before that.
            assert!(
                worst <= 2e-3,
                "{frame} {name}: GPU vs CPU differ by {worst}"
            );
        }
        // The camera move pushes in: the frames differ from the source plate's framing, and the
        // composite is opaque (cut-out over a background).
        let alpha = &gpu.iter().find(|(n, _)| n == "A").unwrap().1;
        assert!(
            alpha.iter().all(|&a| a > 0.99),
            "{frame}: composite is opaque"
        );
        let z = &gpu.iter().find(|(n, _)| n == "depth.Z").unwrap().1;
        assert!(
            z.iter().all(|&d| d.is_finite() && d > 0.0),
            "{frame}: depth.Z is a positive distance in metres"
        );
        assert!(
            gpu_out
                .join("composite")
                .join(frame.replace(".exr", ".png"))
                .is_file()
        );
    }
    // A real reader opens the composite and lists its layers.
    if let Ok(out) = std::process::Command::new("oiiotool")
        .arg("--info")
        .arg("-v")
        .arg(gpu_out.join("composite/astronaut.1001.exr"))
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("matte_fg.A") && text.contains("depth.Z"),
            "{text}"
        );
    }
}

#[test]
fn a_rerun_skips_current_frames_and_an_edit_redoes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    common::small_shot(&shot, 2);
    let project_path = tmp.path().join("p.mattebox.json");
    let mut project = project_for(&shot, None, &project_path);
    let out = tmp.path().join("out");
    assert!(render(&project_path, &out, &[]).status.success());
    let again = render(&project_path, &out, &["--json"]);
    assert!(again.status.success());
    let stdout = String::from_utf8_lossy(&again.stdout);
    let skipped = stdout
        .lines()
        .filter(|l| l.contains("\"frame_skipped\"") && l.contains("\"render\""))
        .count();
    assert_eq!(skipped, 2, "{stdout}");
    let made = stdout
        .lines()
        .filter(|l| l.contains("\"frame_done\""))
        .count();
    assert_eq!(made, 0, "nothing is redone: {stdout}");

    // An edit to a layer redoes the frames (the passes stay current).
    for layer in &mut project.layers {
        if let LayerKind::DepthFog(f) = &mut layer.kind {
            f.density = 0.9;
        }
    }
    project.save(&project_path).unwrap();
    let edited = render(&project_path, &out, &["--json"]);
    assert!(edited.status.success());
    let stdout = String::from_utf8_lossy(&edited.stdout);
    let redone = stdout
        .lines()
        .filter(|l| l.contains("\"frame_done\"") && l.contains("\"render\""))
        .count();
    let passes_redone = stdout
        .lines()
        .filter(|l| l.contains("\"frame_done\"") && l.contains("\"passes\""))
        .count();
    assert_eq!((redone, passes_redone), (2, 0), "{stdout}");
}

#[test]
fn a_still_with_a_move_becomes_an_animatic_of_moving_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("still");
    let frames = common::small_shot(&shot, 1);
    let still = shot.join("hero.png");
    std::fs::rename(&frames[0], &still).unwrap();
    let project_path = tmp.path().join("still.mattebox.json");
    let mut project = Project::template(still.clone());
    project.camera = CameraMove {
        still_duration_frames: 3,
        pivot_m: 2.0,
        keys: vec![
            CameraKey {
                frame: 0.0,
                ease: Ease::Linear,
                ..CameraKey::default()
            },
            CameraKey {
                frame: 2.0,
                dolly_m: 0.4,
                orbit_deg: 8.0,
                ..CameraKey::default()
            },
        ],
        ..CameraMove::default()
    };
    project.save(&project_path).unwrap();
    let out = tmp.path().join("out");
    let r = render(&project_path, &out, &["--what", "animatic"]);
    assert!(r.status.success());
    let pngs: Vec<image::RgbImage> = (1..=3)
        .map(|i| {
            let p = out.join(format!("animatic/hero.{i:04}.png"));
            image::open(&p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .to_rgb8()
        })
        .collect();
    let differ = |a: &image::RgbImage, b: &image::RgbImage| {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .filter(|(x, y)| x.abs_diff(**y) > 8)
            .count() as f64
            / a.as_raw().len() as f64
    };
    let d12 = differ(&pngs[0], &pngs[1]);
    let d23 = differ(&pngs[1], &pngs[2]);
    println!("changed between frames: {d12:.3}, {d23:.3}");
    assert!(d12 > 0.05 && d23 > 0.05, "the camera moves every frame");
    // With ffmpeg installed (scripts/setup.sh installs it), the animatic is also a movie.
    if std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok()
    {
        let movie = out.join("animatic/hero.mp4");
        let meta = std::fs::metadata(&movie).unwrap();
        assert!(meta.len() > 1000, "{}", movie.display());
        assert!(String::from_utf8_lossy(&r.stdout).contains("hero.mp4"));
    }
    assert!(
        !std::fs::read_dir(out.join("animatic")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.')),
        "no temporary files are left"
    );
}

#[test]
fn bad_projects_are_refused_with_the_file_and_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    common::small_shot(&shot, 1);
    let out = tmp.path().join("out");

    // A missing background image stops the job before any frame, naming the file.
    let project_path = tmp.path().join("missing_bg.mattebox.json");
    let mut project = Project::template(shot.clone());
    project.layers[0].kind = LayerKind::Background(BackgroundSettings::Image {
        path: "plates/nowhere.png".into(),
    });
    project.save(&project_path).unwrap();
    let r = render(&project_path, &out, &[]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("nowhere.png"), "{err}");
    assert!(!out.join("composite").exists(), "nothing was written");

    // A malformed project names the line.
    let bad = tmp.path().join("bad.mattebox.json");
    let text = std::fs::read_to_string(&project_path).unwrap();
    std::fs::write(&bad, &text[..text.len() / 2]).unwrap();
    let r = render(&bad, &out, &[]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    // `file:line:column: reason`, as compilers write it.
    let at = err.find("bad.mattebox.json:").expect("the file is named");
    let rest = &err[at + "bad.mattebox.json:".len()..];
    assert!(rest.starts_with(|c: char| c.is_ascii_digit()), "{err}");

    // A newer project is refused, with its version.
    let newer = tmp.path().join("newer.mattebox.json");
    std::fs::write(
        &newer,
        text.replacen("\"version\": 1", "\"version\": 99", 1),
    )
    .unwrap();
    let r = render(&newer, &out, &[]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("99"), "{err}");
}

#[test]
fn a_corrupt_frame_fails_alone_and_the_others_are_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    let frames = common::small_shot(&shot, 3);
    std::fs::write(&frames[1], b"\x89PNG\r\n\x1a\n truncated").unwrap();
    let project_path = tmp.path().join("p.mattebox.json");
    project_for(&shot, None, &project_path);
    let out = tmp.path().join("out");
    let r = render(&project_path, &out, &[]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("astronaut.1002.png"), "{err}");
    assert!(out.join("composite/astronaut.1001.exr").is_file());
    assert!(out.join("composite/astronaut.1003.exr").is_file());
    assert!(!out.join("composite/astronaut.1002.exr").exists());
}

#[test]
fn passes_of_another_size_are_resampled_to_the_plate_with_a_warning() {
    use mattebox::export::FrameMetadata;
    use mattebox::export::exr::{ExrCompression, write_layered_exr};
    use mattebox::passes::{DepthMap, DepthRange, DepthSemantics, Matte};
    let tmp = tempfile::tempdir().unwrap();
    let plate =
        mattebox::shot::decode::decode(&common::sample_frames()[0], &Default::default()).unwrap();
    // Passes at half the plate's size: near (1 m) on the left half, far (10 m) on the right.
    let (w, h) = (plate.width / 2, plate.height / 2);
    let depth: Vec<f32> = (0..w * h)
        .map(|i| if i % w < w / 2 { 1.0 } else { 10.0 })
        .collect();
    let small = mattebox::shot::Plate {
        width: w,
        height: h,
        rgba: vec![0.5; (w * h * 4) as usize],
        source_bits: 8,
    };
    let exr = tmp.path().join("half.exr");
    write_layered_exr(
        &exr,
        &small,
        Some(&DepthMap {
            width: w,
            height: h,
            values: depth,
            semantics: DepthSemantics::Metric,
        }),
        &[Matte {
            name: "fg".into(),
            width: w,
            height: h,
            alpha: vec![1.0; (w * h) as usize],
        }],
        &FrameMetadata {
            software: mattebox::SOFTWARE.into(),
            source: "half".into(),
            frame: None,
            execution_provider: "CPU".into(),
            ..FrameMetadata::default()
        },
        ExrCompression::Zip,
    )
    .unwrap();
    let mut warnings = Vec::new();
    let (plate_img, aux) = mattebox::render::frame_inputs(
        &plate,
        &exr,
        Some(DepthSemantics::Metric),
        Some(DepthRange {
            near: 1.0,
            far: 10.0,
        }),
        &mattebox::composite::layers::SceneSettings {
            depth_mapping: mattebox::composite::layers::DepthMapping::Metric,
            ..Default::default()
        },
        &mut |w| warnings.push(w),
    )
    .unwrap();
    assert_eq!((aux.width, aux.height), (plate.width, plate.height));
    assert_eq!(
        (plate_img.width, plate_img.height),
        (plate.width, plate.height)
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("half.exr") && warnings[0].contains("resampled"));
    // The depth kept its layout: near on the left, far on the right.
    let row = plate.height as usize / 2 * plate.width as usize;
    assert!((aux.pixels[row + 10][0] - 1.0).abs() < 0.05);
    assert!((aux.pixels[row + plate.width as usize - 10][0] - 10.0).abs() < 0.5);
}

#[test]
fn with_no_usable_adapter_auto_falls_back_to_the_cpu_and_gpu_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    common::small_shot(&shot, 1);
    let project_path = tmp.path().join("p.mattebox.json");
    project_for(&shot, None, &project_path);
    common::quiet_vulkan();
    // Vulkan only, with no Vulkan driver: there is no adapter at all.
    let run = |out: &Path, renderer: &str| {
        common::bin()
            .arg("render")
            .arg(&project_path)
            .arg("--out")
            .arg(out)
            .arg("--cache-dir")
            .arg(tmp.path().join("cache"))
            .args(["--renderer", renderer])
            .env("WGPU_BACKEND", "vulkan")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .output()
            .unwrap()
    };
    let auto = run(&tmp.path().join("auto"), "auto");
    let err = String::from_utf8_lossy(&auto.stderr);
    assert!(auto.status.success(), "{err}");
    assert!(err.contains("rendering on the CPU instead"), "{err}");
    assert!(err.contains("renderer: CPU reference"), "{err}");
    assert!(
        tmp.path()
            .join("auto/composite")
            .read_dir()
            .unwrap()
            .count()
            > 0
    );
    let gpu = run(&tmp.path().join("gpu"), "gpu");
    let err = String::from_utf8_lossy(&gpu.stderr);
    assert_eq!(gpu.status.code(), Some(2), "{err}");
    assert!(err.contains("no GPU adapter"), "{err}");
}

/// Background pixels (matte < 0.25: the soft edge between is neither) within `r` pixels of one
/// the matte holds (>= 0.5).
fn ring(matte: &[f32], w: usize, h: usize, r: usize) -> Vec<bool> {
    let core: Vec<bool> = matte.iter().map(|&m| m >= 0.5).collect();
    let mut rows = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            rows[y * w + x] = (x.saturating_sub(r)..=(x + r).min(w - 1)).any(|xx| core[y * w + xx]);
        }
    }
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            matte[i] < 0.25 && (y.saturating_sub(r)..=(y + r).min(h - 1)).any(|yy| rows[yy * w + x])
        })
        .collect()
}

/// The nearest of the ring and the farthest of the subject.
fn subject_and_ring(distance: &[f32], matte: &[f32], w: usize, h: usize) -> (f32, f32) {
    let ring = ring(matte, w, h, (w as f32 * 0.02).ceil() as usize);
    assert!(ring.iter().any(|&r| r), "the subject has surroundings");
    let far_subject = distance
        .iter()
        .zip(matte)
        .filter(|(_, m)| **m >= 0.5)
        .map(|(d, _)| *d)
        .fold(f32::NEG_INFINITY, f32::max);
    let near_ring = distance
        .iter()
        .zip(&ring)
        .filter(|(_, r)| **r)
        .map(|(d, _)| *d)
        .fold(f32::INFINITY, f32::min);
    (far_subject, near_ring)
}

#[test]
fn a_subject_put_in_front_is_nearer_than_its_surroundings_in_the_exr_and_the_viewer() {
    use mattebox::composite::subject::SubjectDepth;
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    common::small_shot(&shot, 1);
    let project_path = tmp.path().join("subject.mattebox.json");
    let mut project = Project::template_for(shot.clone(), None);
    project.camera = CameraMove::default();
    project.subject_depth = SubjectDepth::InFront { margin_m: 0.25 };
    project.save(&project_path).unwrap();
    let out = tmp.path().join("out");
    assert!(
        render(&project_path, &out, &["--format", "exr"])
            .status
            .success()
    );

    // The exported Z (the render's aux distance, in scene metres).
    let exr = common::exr_channels(&out.join("composite/astronaut.1001.exr"));
    let get = |n: &str| exr.iter().find(|(c, _)| c == n).unwrap().1.clone();
    let (z, matte) = (get("depth.Z"), get("matte_fg.A"));
    let n = z.len();
    let (w, h) = (512usize, n / 512);
    assert_eq!(w * h, n);
    assert!(
        matte.iter().filter(|&&m| m >= 0.5).count() > n / 20,
        "the matte holds the subject"
    );
    let (subject, surroundings) = subject_and_ring(&z, &matte, w, h);
    println!("exported Z: subject at most {subject} m, surroundings from {surroundings} m");
    assert!(
        subject < surroundings,
        "the subject ({subject} m) is not in front of its surroundings ({surroundings} m)"
    );

    // The viewer builds its inputs with the same overrides.
    let request = mattebox::app::jobs::LoadRequest {
        key: 1,
        source: shot.join("astronaut.1001.png"),
        number: Some(1001),
        pass_exr: out.join("passes/astronaut.1001.exr"),
        sidecar: out.join("passes/mattebox.json"),
        scene: project.scene.clone(),
        camera: project.camera.clone(),
        project: std::sync::Arc::new(project.clone()),
        base_dir: tmp.path().to_path_buf(),
        proxy: mattebox::app::jobs::Proxy::Full,
        max_width: None,
    };
    let loaded = mattebox::app::jobs::load(&request);
    assert!(loaded.error.is_none(), "{:?}", loaded.error);
    let aux = loaded.aux.expect("the viewer has passes");
    let distance: Vec<f32> = aux.pixels.iter().map(|p| p[0]).collect();
    let viewer_matte: Vec<f32> = aux.pixels.iter().map(|p| p[1]).collect();
    let (subject, surroundings) = subject_and_ring(
        &distance,
        &viewer_matte,
        aux.width as usize,
        aux.height as usize,
    );
    println!("viewer: subject at most {subject} m, surroundings from {surroundings} m");
    assert!(
        subject < surroundings,
        "viewer: {subject} m vs {surroundings} m"
    );
}
