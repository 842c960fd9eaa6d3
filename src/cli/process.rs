//! `mattebox process INPUT --out DIR`: depth and matte passes over a shot, exported as layered
//! frames, with a progress bar on a terminal and plain or JSON lines when piped.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Args;
use mattebox::export::ExrCompression;
use mattebox::process::{Event, Formats, PassModels, ProcessOptions, process_shot};
use mattebox::shot::{ColourSpace, FrameRange, PlateColour, Shot, WorkingSpace};

use super::progress::Reporter;
use super::{JobArgs, RuntimeArgs};

/// Arguments of `mattebox process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// A still, a folder of frames, or a sequence pattern (name.####.png, name.%04d.exr).
    input: PathBuf,
    /// The output folder (created if needed; never the input folder).
    #[arg(long, short)]
    out: PathBuf,
    /// Only these frames, by the sequence's own numbers: 1001-1050, or 1001.
    #[arg(long, value_name = "A-B")]
    frames: Option<FrameRange>,
    /// The depth model id from the manifest, or `none`.
    #[arg(long, default_value = "fastdepth", value_name = "MODEL")]
    depth: String,
    /// The matte model id from the manifest, or `none`.
    #[arg(long, default_value = "u2netp", value_name = "MODEL")]
    matte: String,
    /// Output formats: exr, png or exr,png.
    #[arg(long, default_value = "exr")]
    format: Formats,
    /// EXR compression: zip, zips, piz, rle or none.
    #[arg(long, default_value = "zip")]
    exr_compression: ExrCompression,
    /// The shot's frame rate, recorded in the EXRs (framesPerSecond): 24, 25, 23.976, ...
    #[arg(long, value_name = "FPS", value_parser = parse_fps)]
    fps: Option<f32>,
    #[command(flatten)]
    colour: ColourArgs,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// Runs `mattebox process`.
pub fn run(args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let shot = Shot::open(&args.input)?;
    if let Some(range) = args.frames {
        // Check the range early for a clear message. The job gets the whole shot (its depth range
        // is sampled over all frames, so farm chunks agree) and filters by the range itself.
        let mut probe = shot.clone();
        probe.select(range)?;
    }
    let manifest = args.runtime.manifest()?;
    let rt = args.runtime.runtime()?;
    let mut models = PassModels::load(&rt, &manifest, &args.depth, &args.matte)?;
    let json = args.job.json;
    let reporter = Reporter::new(json);
    let say = |line: String| reporter.info(line);
    say(format!(
        "ONNX Runtime {} ({})",
        rt.version,
        rt.library.display()
    ));
    for m in [&models.depth, &models.matte].into_iter().flatten() {
        let mut line = format!(
            "{} `{}` on {} (sha256 {}…)",
            m.entry.task.as_str(),
            m.entry.id,
            m.provider.name(),
            &m.sha256[..12]
        );
        if let Some(why) = &m.fallback_reason {
            line.push_str(&format!("; CUDA not used: {why}"));
        }
        say(line);
    }

    let mut options = ProcessOptions::new(&args.out);
    options.range = args.frames;
    options.formats = args.format;
    options.exr_compression = args.exr_compression;
    if let Some(j) = args.job.jobs {
        options.jobs = j.max(1);
    }
    options.cache = args.job.cache();
    options.force = args.job.force;
    options.allow_inside_input = args.job.allow_inside_input;
    options.limits = args.job.limits();
    options.absolute_paths = args.job.absolute_paths;
    options.fps = args.fps;
    options.depth_lock = args.job.depth_lock()?;
    options.colour = args.colour.apply(PlateColour::default());
    options.temporal = args
        .job
        .temporal
        .unwrap_or(true)
        .then(mattebox::passes::temporal::TemporalSettings::default);

    let cancel = AtomicBool::new(false);
    let mut on_event = |event: Event| reporter.event(event);
    let summary = process_shot(&shot, &mut models, &options, &cancel, &mut on_event)
        .with_context(|| format!("cannot process {}", args.input.display()))?;
    reporter.finish();
    let t = &summary.timings;
    if json {
        println!(
            "{}",
            serde_json::json!({ "event": "finished", "summary": summary })
        );
    } else {
        eprintln!(
            "{} done, {} already current, {} failed of {} frame(s) in {:.1} s (inference {:.1} s, {} model runs, {} cache hits) on {}",
            summary.done,
            summary.skipped,
            summary.failed.len(),
            summary.total,
            t.wall_s,
            t.inference_s,
            t.model_runs,
            t.cache_hits,
            summary.execution_provider
        );
        if let Some(r) = summary.depth_range {
            eprintln!(
                "shot-wide depth range: near {:.4}, far {:.4} (raw model units)",
                r.near, r.far
            );
        }
        if !summary.failed.is_empty() {
            eprintln!("failed frames:");
            for f in &summary.failed {
                eprintln!("  {}: {}", f.source.display(), f.error);
            }
        }
        println!("layered frames written to {}", summary.out_dir.display());
        println!("sidecar: {}", summary.sidecar.display());
    }
    Ok(if summary.failed.is_empty() && !summary.cancelled {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The colour arguments of `process` and `render`.
#[derive(Debug, Args)]
pub struct ColourArgs {
    /// The shot's input colour space: auto (srgb for 8/16-bit files, linear for float), srgb,
    /// rec709 (the BT.709 camera curve), rec1886 (gamma 2.4 Rec.709), linear (Rec.709
    /// primaries), acescg, aces2065-1, linear-rec2020 or raw (data: no conversion).
    /// OpenColorIO's, Nuke's and oiiotool's names are accepted too, in any case: ACEScg,
    /// "sRGB - Texture", "Linear Rec.709 (sRGB)", "Camera Rec.709", ... (see the README).
    /// `render`: default the project's.
    #[arg(long, value_name = "SPACE", value_parser = parse_colorspace)]
    pub colorspace: Option<InputChoice>,
    /// The working space: linear (linear Rec.709/sRGB primaries, the default) or acescg.
    /// `render`: default the project's.
    #[arg(long, value_name = "SPACE")]
    pub working_space: Option<WorkingSpace>,
}

impl ColourArgs {
    /// `colour` with the arguments given put in.
    pub fn apply(&self, mut colour: PlateColour) -> PlateColour {
        if let Some(InputChoice(input)) = self.colorspace {
            colour.input = input;
        }
        if let Some(working) = self.working_space {
            colour.working = working;
        }
        colour
    }
}

/// `--colorspace`: a colour space, or `None` for auto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputChoice(pub Option<ColourSpace>);

fn parse_colorspace(s: &str) -> Result<InputChoice, String> {
    ColourSpace::parse_choice(s)
        .map(InputChoice)
        .map_err(|e| e.to_string())
}

fn parse_fps(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(fps) if fps.is_finite() && (1.0..=1000.0).contains(&fps) => Ok(fps),
        _ => Err(format!("{s:?} is not a frame rate from 1 to 1000")),
    }
}
