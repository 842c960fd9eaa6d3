//! `mattebox render PROJECT --out DIR`: a project's composited frames and animatic, after making
//! any missing passes; same progress, exit codes, resumability and atomic writes as `process`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Args;
use mattebox::composite::gpu::GpuChoice;
use mattebox::export::ExrCompression;
use mattebox::process::{Formats, PassModels};
use mattebox::project::Project;
use mattebox::render::{Phase, RenderOptions, RendererChoice, What, render_project};
use mattebox::shot::FrameRange;

use super::process::ColourArgs;
use super::progress::Reporter;
use super::{JobArgs, RuntimeArgs};

/// Arguments of `mattebox render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A project file (.json). A shot (still, folder or sequence) is rendered with the default
    /// project template.
    project: PathBuf,
    /// The output folder: passes/, composite/, animatic/ (created if needed).
    #[arg(long, short)]
    out: PathBuf,
    /// Only these frames, by the sequence's own numbers: 1001-1050, or 1001.
    #[arg(long, value_name = "A-B")]
    frames: Option<FrameRange>,
    /// auto (the GPU if any adapter works, else the CPU), gpu, or cpu (the CPU reference).
    #[arg(long, default_value = "auto")]
    renderer: RendererChoice,
    /// The GPU adapter: auto, software (llvmpipe/WARP), vulkan, gl, metal or dx12.
    #[arg(long, default_value = "auto", value_name = "ADAPTER")]
    adapter: GpuChoice,
    /// What to write: composite, animatic or composite,animatic.
    #[arg(long, default_value = "composite")]
    what: What,
    /// Composite formats: exr, png or exr,png (the animatic is always PNG, plus MP4).
    #[arg(long, default_value = "exr")]
    format: Formats,
    /// EXR compression: zip, zips, piz, rle or none.
    #[arg(long)]
    exr_compression: Option<ExrCompression>,
    /// Render at half the plate's width and height (pixel settings scaled to match).
    #[arg(long)]
    half: bool,
    /// Write the animatic's PNG frames but no MP4 (a farm chunk: the finalise job makes it).
    #[arg(long)]
    no_movie: bool,
    #[command(flatten)]
    colour: ColourArgs,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// Runs `mattebox render`.
pub fn run(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let reporter = Reporter::new(args.job.json);
    let is_project = args
        .project
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let (mut project, project_path) = if is_project {
        let (project, warnings) = Project::load(&args.project)?;
        for w in warnings {
            reporter.info(format!("warning: {}: {w}", args.project.display()));
        }
        (project, args.project.clone())
    } else {
        // A shot: the template, as if saved next to the current directory.
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let source = if args.project.is_absolute() {
            args.project.clone()
        } else {
            cwd.join(&args.project)
        };
        // Keys on the shot's own frame numbers, so the move plays over the whole sequence.
        let range = mattebox::shot::Shot::open(&source)?.number_range();
        (
            Project::template_for(source, range),
            cwd.join("untitled.mattebox.json"),
        )
    };
    // --colorspace and --working-space override the project's.
    let colour = args.colour.apply(project.plate_colour());
    project.shot.colour_space = colour.input;
    project.colour.working_space = colour.working;
    if let Some(on) = args.job.temporal {
        project.passes.temporal = on;
    }
    let manifest = args.runtime.manifest()?;
    let rt = args.runtime.runtime()?;
    let mut models = PassModels::load(
        &rt,
        &manifest,
        &project.passes.depth_model,
        &project.passes.matte_model,
    )?;
    reporter.info(format!(
        "ONNX Runtime {} ({})",
        rt.version,
        rt.library.display()
    ));

    let mut options = RenderOptions::new(&args.out);
    options.range = args.frames;
    options.scale_divisor = if args.half { 2 } else { 1 };
    options.renderer = match args.renderer {
        RendererChoice::Gpu(_) => RendererChoice::Gpu(args.adapter),
        other => other,
    };
    if args.adapter != GpuChoice::Auto && options.renderer == RendererChoice::Auto {
        options.renderer = RendererChoice::Gpu(args.adapter);
    }
    options.what = args.what;
    options.formats = args.format;
    options.exr_compression = args
        .exr_compression
        .unwrap_or(project.export.exr_compression);
    if let Some(j) = args.job.jobs {
        options.jobs = j.max(1);
    }
    options.cache = args.job.cache();
    options.force = args.job.force;
    options.allow_inside_input = args.job.allow_inside_input;
    options.limits = args.job.limits();
    options.absolute_paths = args.job.absolute_paths;
    options.depth_lock = args.job.depth_lock()?;
    options.movie = !args.no_movie;

    let cancel = AtomicBool::new(false);
    let mut reporter = reporter;
    let summary = {
        let mut on_event = |phase: Phase, event| {
            reporter.set_phase(match phase {
                Phase::Passes => "passes",
                Phase::Frames => "render",
            });
            reporter.event(event);
        };
        render_project(
            &project,
            &project_path,
            &mut models,
            &options,
            &cancel,
            &mut on_event,
        )
        .with_context(|| format!("cannot render {}", args.project.display()))?
    };
    reporter.finish();
    if args.job.json {
        println!(
            "{}",
            serde_json::json!({ "event": "finished", "summary": summary })
        );
    } else {
        eprintln!("renderer: {}", summary.renderer);
        eprintln!(
            "{} done, {} already current, {} failed of {} frame(s) in {:.1} s (rendering {:.1} s; passes: {} made, {} current)",
            summary.done,
            summary.skipped,
            summary.failed.len(),
            summary.total,
            summary.wall_s,
            summary.render_s,
            summary.passes.done,
            summary.passes.skipped,
        );
        if !summary.failed.is_empty() {
            eprintln!("failed frames:");
            for f in &summary.failed {
                eprintln!("  {}: {}", f.source.display(), f.error);
            }
        }
        if let Some(movie) = &summary.movie {
            println!("animatic: {}", movie.display());
        }
        println!("composited frames written to {}", summary.out_dir.display());
    }
    Ok(if summary.failed.is_empty() && !summary.cancelled {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
