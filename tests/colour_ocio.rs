//! Mattebox's colour conversions against OpenColorIO (PyPI `opencolorio`, its built-in studio
//! config `ocio://studio-config-latest`), on test patches: every input space to every working
//! space (float plates, and 8- and 16-bit files through the decoder), the models' input
//! (working space to sRGB-encoded Rec.709) and the viewer's display transforms. Every value is
//! within 1e-4 of OpenColorIO's (relative above 1).
//!
//! `scripts/ocio_reference.py` prints OpenColorIO's results as JSON; it runs in the project's
//! `.venv` (scripts/setup.sh installs `opencolorio` there). On CI (CI=true) a missing
//! OpenColorIO fails the tests; elsewhere they are skipped with a message.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use mattebox::shot::colour::srgb_to_linear;
use mattebox::shot::decode::DecodeLimits;
use mattebox::shot::{ColourSpace, Plate, PlateColour, WorkingSpace, load_plate};
use serde_json::{Value, json};

/// The agreement asked for: absolute, relative above 1.
const TOLERANCE: f64 = 1e-4;
/// OpenColorIO's built-in studio config: it has every space Mattebox names (the default CG
/// config lacks `Camera Rec.709`).
const CONFIG: &str = "ocio://studio-config-latest";

/// OpenColorIO's results: `results[i][j]` is `conversions[i]` applied to `patches[j]`. `None`
/// (the test is skipped) when OpenColorIO is not installed, except on CI.
fn ocio(conversions: &[(&str, &str)], patches: &[[f32; 3]]) -> Option<Vec<Vec<[f64; 3]>>> {
    let python = common::repo().join(".venv/bin/python");
    let script = common::repo().join("scripts/ocio_reference.py");
    let on_ci = std::env::var("CI").as_deref() == Ok("true");
    let child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            assert!(
                !on_ci,
                "{}: {e}; run `bash scripts/setup.sh`",
                python.display()
            );
            eprintln!(
                "skipped: {}: {e} (run `bash scripts/setup.sh`)",
                python.display()
            );
            return None;
        }
    };
    let request = json!({
        "config": CONFIG,
        "conversions": conversions.iter().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
        "patches": patches,
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(
            !on_ci,
            "{why}: scripts/setup.sh installs opencolorio into .venv"
        );
        eprintln!("skipped: {why} (run `bash scripts/setup.sh`)");
        return None;
    }
    assert!(
        out.status.success(),
        "ocio_reference.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "OpenColorIO {} with {}",
        reply["ocio_version"], reply["config"]
    );
    let results = reply["results"].as_array().unwrap();
    assert_eq!(results.len(), conversions.len());
    Some(
        results
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| [0, 1, 2].map(|c| p[c].as_f64().unwrap()))
                    .collect()
            })
            .collect(),
    )
}

/// The test patches: greys across the curves' toes and shoulders, primaries and secondaries,
/// mixed colours, values above 1, and small negatives (inside the sRGB curve's linear toe,
/// where Mattebox and OpenColorIO agree; further down Mattebox mirrors the curve, OpenColorIO
/// continues the toe).
fn patches() -> Vec<[f32; 3]> {
    let mut p: Vec<[f32; 3]> = [
        0.0, 0.001, 0.003, 0.01, 0.017, 0.03, 0.04, 0.05, 0.081, 0.1, 0.18, 0.25, 0.5, 0.75, 0.9,
        1.0,
    ]
    .iter()
    .map(|&v| [v, v, v])
    .collect();
    p.extend([
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 1.0],
        [1.0, 0.0, 1.0],
        [0.8, 0.3, 0.1],
        [0.05, 0.4, 0.7],
        [0.2, 0.02, 0.6],
        [0.9, 0.75, 0.6],
        [1.5, 1.2, 0.9],
        [4.0, 2.0, 1.0],
        [16.0, 8.0, 0.5],
        [-0.02, 0.3, 0.5],
        [0.1, -0.01, 0.2],
    ]);
    p
}

/// The largest error of `ours` against OpenColorIO's `theirs`, relative above 1.
fn worst(ours: &[[f32; 3]], theirs: &[[f64; 3]]) -> (f64, usize) {
    assert_eq!(ours.len(), theirs.len());
    let mut worst = (0.0, 0);
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        for c in 0..3 {
            let e = (f64::from(a[c]) - b[c]).abs() / b[c].abs().max(1.0);
            if e > worst.0 {
                worst = (e, i);
            }
        }
    }
    worst
}

fn float_plate(patches: &[[f32; 3]]) -> Plate {
    Plate {
        width: patches.len() as u32,
        height: 1,
        rgba: patches
            .iter()
            .flat_map(|p| [p[0], p[1], p[2], 1.0])
            .collect(),
        source_bits: 32,
    }
}

fn rgb_of(plate: &Plate) -> Vec<[f32; 3]> {
    plate
        .rgba
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// Every (input, working) pair, named as OpenColorIO names them.
fn pairs() -> Vec<(ColourSpace, WorkingSpace)> {
    ColourSpace::ALL
        .into_iter()
        .flat_map(|s| WorkingSpace::ALL.map(|w| (s, w)))
        .collect()
}

#[test]
fn every_input_space_to_every_working_space_matches_ocio() {
    let patches = patches();
    let pairs = pairs();
    let names: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(s, w)| (s.ocio_name(), w.ocio_name()))
        .collect();
    let Some(theirs) = ocio(&names, &patches) else {
        return;
    };
    for ((space, working), theirs) in pairs.iter().zip(&theirs) {
        let mut plate = float_plate(&patches);
        PlateColour {
            input: Some(*space),
            working: *working,
        }
        .apply(&mut plate);
        let (e, i) = worst(&rgb_of(&plate), theirs);
        eprintln!("{space} -> {working}: max error {e:.2e}");
        assert!(
            e <= TOLERANCE,
            "{space} -> {working}: patch {:?} is {:?}, OpenColorIO says {:?} (error {e:.2e})",
            patches[i],
            rgb_of(&plate)[i],
            theirs[i]
        );
    }
}

#[test]
fn eight_and_sixteen_bit_files_match_ocio_on_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let codes8: Vec<[u8; 3]> = vec![
        [0, 0, 0],
        [1, 2, 3],
        [10, 20, 30],
        [21, 64, 128],
        [128, 128, 128],
        [200, 100, 50],
        [255, 255, 255],
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
    ];
    let codes16: Vec<[u16; 3]> = vec![
        [0, 0, 0],
        [65, 300, 2654],
        [5308, 16384, 32768],
        [40000, 50000, 65535],
        [65535, 0, 12345],
    ];
    let png8 = dir.path().join("codes8.png");
    image::RgbImage::from_fn(codes8.len() as u32, 1, |x, _| {
        image::Rgb(codes8[x as usize])
    })
    .save(&png8)
    .unwrap();
    let png16 = dir.path().join("codes16.png");
    image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_fn(codes16.len() as u32, 1, |x, _| {
        image::Rgb(codes16[x as usize])
    })
    .save(&png16)
    .unwrap();
    let files = [
        (
            &png8,
            codes8
                .iter()
                .map(|c| c.map(|v| f32::from(v) / 255.0))
                .collect::<Vec<_>>(),
        ),
        (
            &png16,
            codes16
                .iter()
                .map(|c| c.map(|v| f32::from(v) / 65535.0))
                .collect::<Vec<_>>(),
        ),
    ];
    let pairs = pairs();
    let names: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(s, w)| (s.ocio_name(), w.ocio_name()))
        .collect();
    for (file, values) in &files {
        let Some(theirs) = ocio(&names, values) else {
            return;
        };
        for ((space, working), theirs) in pairs.iter().zip(&theirs) {
            let colour = PlateColour {
                input: Some(*space),
                working: *working,
            };
            let plate = load_plate(file, &DecodeLimits::default(), &colour).unwrap();
            let (e, i) = worst(&rgb_of(&plate), theirs);
            eprintln!(
                "{} bits, {space} -> {working}: max error {e:.2e}",
                plate.source_bits
            );
            assert!(
                e <= TOLERANCE,
                "{}: {space} -> {working}: code {:?} is {:?}, OpenColorIO says {:?} ({e:.2e})",
                file.display(),
                values[i],
                rgb_of(&plate)[i],
                theirs[i]
            );
        }
    }
    // Auto is sRGB for both.
    let auto = load_plate(&png8, &DecodeLimits::default(), &PlateColour::default()).unwrap();
    assert!((auto.rgba[4 * 4] - srgb_to_linear(128.0 / 255.0)).abs() < 1e-6);
}

/// Patches that stay inside Rec.709's gamut in both working spaces (the models' and the PNGs'
/// sRGB encode mirrors negatives, where OpenColorIO continues the toe).
fn in_gamut(patches: &[[f32; 3]], working: WorkingSpace) -> Vec<[f32; 3]> {
    patches
        .iter()
        .copied()
        .filter(|p| p.iter().all(|v| *v >= 0.0))
        .filter(|p| working.rgb_to_rec709(*p).iter().all(|v| *v >= -0.003))
        .collect()
}

#[test]
fn model_inputs_are_srgb_encoded_rec709_as_ocio_makes_them() {
    for working in WorkingSpace::ALL {
        let patches = in_gamut(&patches(), working);
        let Some(theirs) = ocio(
            &[(working.ocio_name(), ColourSpace::Srgb.ocio_name())],
            &patches,
        ) else {
            return;
        };
        let ours: Vec<[f32; 3]> = patches.iter().map(|p| working.rgb_to_srgb(*p)).collect();
        let (e, i) = worst(&ours, &theirs[0]);
        eprintln!("{working} -> model input (sRGB Rec.709): max error {e:.2e}");
        assert!(
            e <= TOLERANCE,
            "{working}: patch {:?} gives {:?}, OpenColorIO {:?}",
            patches[i],
            ours[i],
            theirs[0][i]
        );
        // The PNG previews: the same conversion, then the 8-bit encoder.
        let plate = float_plate(&patches);
        let shown = working.plate_to_rec709(&plate);
        for (p, t) in shown.rgba.chunks_exact(4).zip(&theirs[0]) {
            for c in 0..3 {
                let code = mattebox::shot::colour::linear_to_srgb_u8(p[c]);
                let want = (t[c].clamp(0.0, 1.0) * 255.0).round();
                assert!((f64::from(code) - want).abs() <= 1.0, "{p:?} {t:?}");
            }
        }
    }
}

/// The viewer's CPU twin (`DisplaySettings::codes`, what `display.wgsl` computes): the working
/// space to Rec.709, then the sRGB or the BT.709 curve, against OpenColorIO's
/// `sRGB Encoded Rec.709 (sRGB)` and `Camera Rec.709`, to within one 8-bit code.
#[cfg(feature = "gui")]
#[test]
fn the_viewer_shows_what_ocio_shows() {
    use mattebox::app::state::{DisplaySettings, Transform};
    for working in WorkingSpace::ALL {
        let patches = in_gamut(&patches(), working);
        let transforms = [
            (Transform::Srgb, ColourSpace::Srgb),
            (Transform::Rec709, ColourSpace::Rec709),
        ];
        let names: Vec<(&str, &str)> = transforms
            .iter()
            .map(|(_, s)| (working.ocio_name(), s.ocio_name()))
            .collect();
        let Some(theirs) = ocio(&names, &patches) else {
            return;
        };
        for ((transform, _), theirs) in transforms.iter().zip(&theirs) {
            let display = DisplaySettings {
                transform: *transform,
                ..DisplaySettings::default()
            };
            for (p, t) in patches.iter().zip(theirs) {
                let ours = display.codes(*p, working);
                for c in 0..3 {
                    let want = (t[c].clamp(0.0, 1.0) * 255.0).round();
                    assert!(
                        (f64::from(ours[c]) - want).abs() <= 1.0,
                        "{working} {transform:?}: {p:?} shows {ours:?}, OpenColorIO {t:?}"
                    );
                }
            }
        }
    }
}
