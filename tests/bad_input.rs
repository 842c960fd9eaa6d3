//! Bad input gets a clear error that names the file and the problem; nothing half-written is
//! left behind; a failing frame never takes down the others. Run through the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

fn run(args: &[&std::ffi::OsStr]) -> (Output, String) {
    let o = bin().args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o, text)
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

/// `mattebox process SHOT --out OUT EXTRA...`.
fn process(
    shot: &std::ffi::OsStr,
    out: &std::ffi::OsStr,
    extra: &[&std::ffi::OsStr],
) -> (Output, String) {
    let mut args = vec![os("process"), shot, os("--out"), out];
    args.extend_from_slice(extra);
    run(&args)
}

/// CRC-32 as PNG uses it, to craft a header that claims a huge image.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A real PNG whose header is patched to claim 100000x100000 pixels (a decompression bomb).
fn bomb_png(path: &Path) {
    let mut png = Vec::new();
    image::RgbImage::new(4, 4)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // Signature (8) + length (4), then "IHDR" at 12..16, width 16..20, height 20..24, CRC after 13 bytes.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(path, png).unwrap();
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(leftovers(&p));
            } else if p.to_string_lossy().ends_with(".tmp") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn bad_frames_fail_alone_with_their_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("plates with spaces ü");
    let good = copy_sample_frames(&shot, 2); // astronaut.1001, astronaut.1002
    let bytes = std::fs::read(&good[0]).unwrap();
    std::fs::write(shot.join("astronaut.1003.png"), &bytes[..bytes.len() / 2]).unwrap(); // truncated
    std::fs::write(
        shot.join("astronaut.1004.png"),
        b"this is a text file, not a picture",
    )
    .unwrap();
    std::fs::write(shot.join("astronaut.1005.png"), b"").unwrap();
    bomb_png(&shot.join("astronaut.1006.png"));
    let out = tmp.path().join("out");
    let cache = tmp.path().join("cache");
    let (o, text) = process(
        shot.as_os_str(),
        out.as_os_str(),
        &[os("--cache-dir"), cache.as_os_str()],
    );
    assert_eq!(o.status.code(), Some(1), "some frames failed: {text}");
    for (frame, problem) in [
        ("astronaut.1003.png", ""),
        ("astronaut.1004.png", ""),
        ("astronaut.1005.png", "empty"),
        ("astronaut.1006.png", "100000x100000"),
    ] {
        let full = shot.join(frame).display().to_string();
        assert!(
            text.lines()
                .any(|l| l.contains(&full) && l.contains(problem)),
            "no error names {full} with `{problem}`:\n{text}"
        );
    }
    // The good frames were written; the bad ones left nothing, not even temp files.
    assert!(out.join("astronaut.1001.exr").is_file());
    assert!(out.join("astronaut.1002.exr").is_file());
    for n in 1003..=1006 {
        assert!(!out.join(format!("astronaut.{n}.exr")).exists());
    }
    assert!(leftovers(&out).is_empty());
    // The sources were not touched.
    assert_eq!(std::fs::read(&good[0]).unwrap(), bytes);
    let sidecar = mattebox::export::read_sidecar(&out.join("mattebox.json")).unwrap();
    let failed = sidecar
        .frames
        .iter()
        .filter(|f| matches!(f.status, mattebox::export::FrameStatus::Failed { .. }))
        .count();
    assert_eq!(failed, 4);
}

#[test]
fn an_empty_folder_and_a_missing_input_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = tmp.path().join("out");
    let (o, text) = process(empty.as_os_str(), out.as_os_str(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text.contains(&empty.display().to_string()) && text.contains("no image"),
        "{text}"
    );

    let missing = tmp.path().join("nope.####.png");
    let (o, text) = process(missing.as_os_str(), out.as_os_str(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text.contains("nope"), "{text}");
}

#[test]
fn missing_and_corrupt_models_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let out = tmp.path().join("out");
    let shot = repo().join("assets/sample_shot");
    let (o, text) = process(
        shot.as_os_str(),
        out.as_os_str(),
        &[os("--models-dir"), models.as_os_str()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text.contains(&models.join("fastdepth.onnx").display().to_string())
            && text.contains("missing"),
        "{text}"
    );
    assert!(
        text.contains("scripts/setup.sh"),
        "says how to fix it: {text}"
    );

    // A file with the right name but the wrong bytes.
    let mut bytes = std::fs::read(repo().join("models/fastdepth.onnx")).unwrap();
    bytes.push(0);
    std::fs::write(models.join("fastdepth.onnx"), bytes).unwrap();
    let (o, text) = process(
        shot.as_os_str(),
        out.as_os_str(),
        &[
            os("--models-dir"),
            models.as_os_str(),
            os("--matte"),
            os("none"),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text.contains("fastdepth.onnx") && text.contains("SHA-256") && text.contains("6275c23f"),
        "{text}"
    );
    assert!(!out.join("astronaut.1001.exr").exists());
}

#[test]
fn a_model_whose_input_does_not_match_its_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // The real u2netp file declared with the wrong input size.
    let manifest = tmp.path().join("wrong.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[model]]\nid = \"u2netp-wrong\"\ntask = \"matte\"\nfile = \"{}\"\nlicence = \"test\"\n\
             input = {{ name = \"input.1\", width = 256, height = 256 }}\nnormalise = {{}}\n\
             output = {{ semantics = \"alpha\" }}\n",
            repo().join("models/u2netp.onnx").display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let shot = repo().join("assets/sample_shot");
    let (o, text) = process(
        shot.as_os_str(),
        out.as_os_str(),
        &[
            os("--manifest"),
            manifest.as_os_str(),
            os("--matte"),
            os("u2netp-wrong"),
            os("--depth"),
            os("none"),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text.contains("u2netp.onnx") && text.contains("320") && text.contains("256"),
        "{text}"
    );
}

fn mount_tmpfs(dir: &Path, opts: &str) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

fn umount(dir: &Path) {
    let _ = std::process::Command::new("umount").arg(dir).status();
}

#[test]
fn a_read_only_output_folder_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let ro = tmp.path().join("ro");
    let shot = repo().join("assets/sample_shot");
    let out = if mount_tmpfs(&ro, "ro,size=64k") {
        ro.join("out")
    } else {
        // Without mount rights (and as root, mode bits do not stop writes), a folder whose
        // parent is a regular file is the unwritable folder we can make.
        eprintln!("note: cannot mount a read-only tmpfs here; using a path under a regular file");
        std::fs::write(tmp.path().join("file"), b"x").unwrap();
        tmp.path().join("file/out")
    };
    let (o, text) = process(shot.as_os_str(), out.as_os_str(), &[]);
    umount(&ro);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&out.display().to_string()) && text.contains("cannot write"),
        "{text}"
    );
}

#[test]
fn a_full_disk_fails_the_frames_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    if !mount_tmpfs(&small, "size=96k") {
        eprintln!(
            "note: cannot mount a tmpfs here; the full-disk path is covered by export::atomic's tests"
        );
        return;
    }
    let shot = repo().join("assets/sample_shot");
    let out = small.join("out");
    let cache = tmp.path().join("cache");
    let (o, text) = process(
        shot.as_os_str(),
        out.as_os_str(),
        &[
            os("--frames"),
            os("1001-1002"),
            os("--cache-dir"),
            cache.as_os_str(),
        ],
    );
    let left = leftovers(&out);
    let exrs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "exr"))
        .collect();
    umount(&small);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("No space left on device") && text.contains("astronaut.1001.exr"),
        "{text}"
    );
    assert!(left.is_empty(), "temp files left behind: {left:?}");
    assert!(exrs.is_empty(), "no half-written EXR");
}

#[test]
fn without_a_display_the_app_says_so_and_points_to_the_headless_commands() {
    let o = bin()
        .arg("assets/sample_shot")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("the app could not start"), "{text}");
    assert!(text.contains("mattebox render"), "{text}");
}

#[test]
fn the_input_folder_is_never_written_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    copy_sample_frames(&shot, 1);
    let inside = shot.join("out");
    let cache = tmp.path().join("cache");
    let (o, text) = process(
        shot.as_os_str(),
        inside.as_os_str(),
        &[os("--cache-dir"), cache.as_os_str()],
    );
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("inside the input folder") && text.contains("--allow-inside-input"),
        "{text}"
    );
    assert!(!inside.exists(), "nothing was created in the input folder");

    let (o, text) = process(
        shot.as_os_str(),
        inside.as_os_str(),
        &[
            os("--cache-dir"),
            cache.as_os_str(),
            os("--allow-inside-input"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(inside.join("astronaut.1001.exr").is_file());
}

#[test]
fn a_missing_onnx_runtime_says_how_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("libonnxruntime.so");
    let out = tmp.path().join("out");
    let shot = repo().join("assets/sample_shot");
    let (o, text) = process(
        shot.as_os_str(),
        out.as_os_str(),
        &[os("--ort-lib"), lib.as_os_str()],
    );
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&lib.display().to_string()) && text.contains("scripts/setup.sh"),
        "{text}"
    );
    assert!(
        !out.exists(),
        "nothing is written when the runtime is missing"
    );
}
