//! `mattebox farm submit|status|resubmit`: a shot on a render farm, as a job array of
//! `mattebox process` / `mattebox render --frames A-B` tasks (see `mattebox::farm`), and the two
//! steps the farm runs around them, `farm lock-depth` and `farm finalise`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use mattebox::composite::gpu::GpuChoice;
use mattebox::export::ExrCompression;
use mattebox::farm::{
    self, ChunkState, DEFAULT_CHUNK, FarmPlan, JobKind, LockStep, PlannedFrame, Resources,
    Submitted,
};
use mattebox::process::{DepthLock, Formats, PassModels, ProcessOptions};
use mattebox::project::Project;
use mattebox::render::{RendererChoice, What};
use mattebox::shot::colour::{ColourSpace, PlateColour};
use mattebox::shot::{FrameRange, Shot};

use super::process::ColourArgs;
use super::progress::Reporter;
use super::{JobArgs, RuntimeArgs};

/// `mattebox farm ...`.
#[derive(Debug, Subcommand)]
pub enum FarmCommand {
    /// Split a shot into chunks and submit them as a job array, after a job that locks the
    /// shot's depth range and before one that finalises it; prints the job ids.
    Submit(Box<SubmitArgs>),
    /// Each chunk's state (pending, running, done or failed) with its log.
    Status(StatusArgs),
    /// Submit again only the chunks with missing or failed frames.
    Resubmit(ResubmitArgs),
    /// Run by the farm's first job: lock the shot-wide depth range in a file for every chunk.
    LockDepth(LockDepthArgs),
    /// Run by the farm's last job: rebuild the shot's sidecar from the stamps, make the
    /// animatic movie when asked, write farm/summary.json.
    Finalise(FinaliseArgs),
}

/// Arguments of `mattebox farm submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// A project file (.json), or a shot: a still, a folder or a sequence pattern.
    input: PathBuf,
    /// The output folder, on a filesystem every node sees.
    #[arg(long, short)]
    out: PathBuf,
    /// The farm manager.
    #[arg(long, default_value = "slurm")]
    engine: String,
    /// `passes`, or what a render writes: composite, animatic or composite,animatic (default:
    /// composite for a project, passes for a shot).
    #[arg(long, value_parser = parse_farm_what)]
    what: Option<FarmWhat>,
    /// Frames per task.
    #[arg(long, default_value_t = DEFAULT_CHUNK, value_name = "N")]
    chunk: usize,
    /// Only these frames, by the sequence's own numbers (else the project's range, else all).
    #[arg(long, value_name = "A-B")]
    frames: Option<FrameRange>,
    #[command(flatten)]
    resources: ResourceArgs,
    /// Print the scripts and the commands, and submit nothing.
    #[arg(long)]
    dry_run: bool,
    /// The output, the shot and the binary are on a filesystem the nodes see, though it looks
    /// local from here.
    #[arg(long)]
    assume_shared: bool,
    /// The mattebox binary the nodes run (default: this one).
    #[arg(long, value_name = "FILE")]
    binary: Option<PathBuf>,
    /// A shot's depth model id (a project names its own), or `none`.
    #[arg(long, value_name = "MODEL")]
    depth: Option<String>,
    /// A shot's matte model id (a project names its own), or `none`.
    #[arg(long, value_name = "MODEL")]
    matte: Option<String>,
    /// Output formats: exr, png or exr,png.
    #[arg(long, value_parser = checked::<Formats>)]
    format: Option<String>,
    /// EXR compression: zip, zips, piz, rle or none.
    #[arg(long, value_parser = checked::<ExrCompression>)]
    exr_compression: Option<String>,
    /// A shot's frame rate for its passes (a project has its own).
    #[arg(long, value_name = "FPS", value_parser = parse_fps)]
    fps: Option<String>,
    /// A render's renderer: auto, gpu or cpu.
    #[arg(long, value_parser = checked::<RendererChoice>)]
    renderer: Option<String>,
    /// A render's GPU adapter: auto, software, vulkan, gl, metal or dx12.
    #[arg(long, value_name = "ADAPTER", value_parser = checked::<GpuChoice>)]
    adapter: Option<String>,
    /// Render at half the plate's width and height.
    #[arg(long)]
    half: bool,
    #[command(flatten)]
    colour: ColourArgs,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
    /// More arguments for every chunk's `mattebox process` or `render`, after `--`.
    #[arg(last = true, value_name = "TASK ARGS")]
    extra: Vec<String>,
}

/// What each task asks the farm for (`farm submit`, and `farm resubmit` where it changes).
#[derive(Debug, Args)]
pub struct ResourceArgs {
    /// The partition (queue) the jobs go to.
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// The time limit per task, as Slurm reads it: 30, 2:00:00, 1-0.
    #[arg(long, value_name = "LIMIT")]
    time: Option<String>,
    /// Memory per task, as Slurm reads it: 8G.
    #[arg(long, value_name = "SIZE")]
    mem: Option<String>,
    /// CPU cores per task.
    #[arg(long, value_name = "N")]
    cpus_per_task: Option<u32>,
}

/// Arguments of `mattebox farm status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The output folder of a submitted job.
    out: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `mattebox farm resubmit`.
#[derive(Debug, Args)]
pub struct ResubmitArgs {
    /// The output folder of a submitted job.
    out: PathBuf,
    /// Print the scripts and the commands, and submit nothing.
    #[arg(long)]
    dry_run: bool,
    /// What the resubmitted tasks ask for, where it changes (a longer --time after a TIMEOUT,
    /// more --mem after OUT_OF_MEMORY); the rest as submitted.
    #[command(flatten)]
    resources: ResourceArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `mattebox farm lock-depth`.
#[derive(Debug, Args)]
pub struct LockDepthArgs {
    /// The shot: a still, a folder or a sequence pattern (its every frame counts).
    input: PathBuf,
    /// The lock file to write.
    #[arg(long, value_name = "FILE")]
    lock: PathBuf,
    /// The depth model id.
    #[arg(long, default_value = "fastdepth", value_name = "MODEL")]
    depth: String,
    /// Ignore the pass cache.
    #[arg(long)]
    no_cache: bool,
    /// The pass cache folder (else MATTEBOX_CACHE_DIR, else ~/.cache/mattebox/passes).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Refuse images with more pixels than this.
    #[arg(long, value_name = "N")]
    max_pixels: Option<u64>,
    #[command(flatten)]
    colour: ColourArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// Arguments of `mattebox farm finalise`.
#[derive(Debug, Args)]
pub struct FinaliseArgs {
    /// The output folder of a submitted job.
    out: PathBuf,
}

/// What a farm job makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FarmWhat {
    /// Depth and matte passes (`mattebox process`).
    Passes,
    /// A render (`mattebox render --what ...`).
    Render(What),
}

fn parse_farm_what(s: &str) -> Result<FarmWhat, String> {
    if s.trim().eq_ignore_ascii_case("passes") {
        return Ok(FarmWhat::Passes);
    }
    s.parse::<What>()
        .map(FarmWhat::Render)
        .map_err(|e| format!("{e}, or passes"))
}

/// Checks that a value parses as `T`, and keeps its text to hand on to the tasks.
fn checked<T>(s: &str) -> Result<String, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

fn parse_fps(s: &str) -> Result<String, String> {
    match s.trim().parse::<f32>() {
        Ok(fps) if fps.is_finite() && (1.0..=1000.0).contains(&fps) => Ok(s.trim().to_string()),
        _ => Err(format!("{s:?} is not a frame rate from 1 to 1000")),
    }
}

/// Runs `mattebox farm ...`.
pub fn run(cmd: FarmCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FarmCommand::Submit(args) => submit(*args),
        FarmCommand::Status(args) => status(args),
        FarmCommand::Resubmit(args) => resubmit(args),
        FarmCommand::LockDepth(args) => lock_depth(args),
        FarmCommand::Finalise(args) => finalise(args),
    }
}

/// A path made absolute against the current folder (the nodes start elsewhere).
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    Ok(cwd.join(path))
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The model runtime's arguments, for the tasks.
fn runtime_args(r: &RuntimeArgs) -> anyhow::Result<Vec<String>> {
    let mut a: Vec<String> = Vec::new();
    if let Some(lib) = &r.ort_lib {
        a.extend(["--ort-lib".into(), text(&absolute(lib)?)]);
    }
    if let Some(dir) = &r.models_dir {
        a.extend(["--models-dir".into(), text(&absolute(dir)?)]);
    }
    for m in &r.manifest {
        a.extend(["--manifest".into(), text(&absolute(m)?)]);
    }
    let device = match r.device {
        mattebox::infer::Device::Auto => "auto",
        mattebox::infer::Device::Cpu => "cpu",
        mattebox::infer::Device::Cuda => "cuda",
    };
    a.extend(["--device".into(), device.into()]);
    if r.require_gpu {
        a.push("--require-gpu".into());
    }
    if r.threads != 0 {
        a.extend(["--threads".into(), r.threads.to_string()]);
    }
    Ok(a)
}

/// The pass cache's arguments, for the lock and the tasks.
fn cache_args(j: &JobArgs) -> anyhow::Result<Vec<String>> {
    let mut a: Vec<String> = Vec::new();
    if j.no_cache {
        a.push("--no-cache".into());
    }
    if let Some(dir) = &j.cache_dir {
        a.extend(["--cache-dir".into(), text(&absolute(dir)?)]);
    }
    if let Some(n) = j.max_pixels {
        a.extend(["--max-pixels".into(), n.to_string()]);
    }
    Ok(a)
}

/// The frame job's own arguments, for the tasks.
fn job_args(j: &JobArgs) -> anyhow::Result<Vec<String>> {
    let mut a = cache_args(j)?;
    if let Some(n) = j.jobs {
        a.extend(["--jobs".into(), n.to_string()]);
    }
    if let Some(on) = j.temporal {
        a.extend(["--temporal".into(), if on { "on" } else { "off" }.into()]);
    }
    for (on, flag) in [
        (j.force, "--force"),
        (j.allow_inside_input, "--allow-inside-input"),
        (j.absolute_paths, "--absolute-paths"),
    ] {
        if on {
            a.push(flag.into());
        }
    }
    Ok(a)
}

/// The shot's name for jobs and logs.
fn shot_name(shot: &Shot) -> String {
    let name = shot
        .frames
        .first()
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "frame".into()
    } else {
        name
    }
}

/// Builds the plan: which frames, which chunks, which argv, where stamps and logs go.
fn build_plan(args: &SubmitArgs) -> anyhow::Result<(FarmPlan, Vec<String>)> {
    let mut notes = Vec::new();
    let input = absolute(&args.input)?;
    let out_dir = absolute(&args.out)?;
    let workdir = std::env::current_dir().context("cannot read the current folder")?;
    let binary = match &args.binary {
        Some(b) => absolute(b)?,
        None => std::env::current_exe().context("cannot find this mattebox binary")?,
    };
    let is_project = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let what = args.what.unwrap_or(if is_project {
        FarmWhat::Render(What::default())
    } else {
        FarmWhat::Passes
    });
    let project = if is_project {
        let (project, warnings) = Project::load(&input)?;
        notes.extend(
            warnings
                .into_iter()
                .map(|w| format!("warning: {}: {w}", input.display())),
        );
        if args.depth.is_some() || args.matte.is_some() {
            bail!(
                "--depth and --matte choose a shot's models; the project {} names its own (passes.depth_model, passes.matte_model)",
                input.display()
            );
        }
        Some(project)
    } else {
        None
    };
    let base_dir = input.parent().map(Path::to_path_buf).unwrap_or_default();
    let source = match &project {
        Some(p) => p.shot_source(&base_dir),
        None => input.clone(),
    };
    let shot = Shot::open(&source)?;
    // The shot's colour, spelt out for every step (a shot's passes get no project to read it
    // from), so the lock, the chunks and a single-machine run all convert plates alike.
    let colour = args.colour.apply(
        project
            .as_ref()
            .map(Project::plate_colour)
            .unwrap_or_default(),
    );
    let colour_flags = colour_args(&colour);
    let range = args
        .frames
        .or(project.as_ref().and_then(|p| p.shot.range()));
    let mut selected = shot.clone();
    if let Some(r) = range {
        selected.select(r)?;
    }
    let name = shot_name(&shot);
    let farm_dir = out_dir.join(farm::FARM_DIR);
    let log_dir = out_dir.join(farm::LOG_DIR);
    let lock_file = farm_dir.join(farm::DEPTH_LOCK_NAME);
    let given_lock = args
        .job
        .depth_range_lock
        .as_deref()
        .map(absolute)
        .transpose()?;
    let runtime = runtime_args(&args.runtime)?;
    let mut chunk = args.chunk.max(1);

    let (depth_model, job, mut task_args, frames) = match what {
        FarmWhat::Passes => {
            let (pass_dir, depth, matte) = match &project {
                Some(p) => (
                    out_dir.join("passes"),
                    p.passes.depth_model.clone(),
                    p.passes.matte_model.clone(),
                ),
                None => (
                    out_dir.clone(),
                    args.depth.clone().unwrap_or_else(|| "fastdepth".into()),
                    args.matte.clone().unwrap_or_else(|| "u2netp".into()),
                ),
            };
            let mut a: Vec<String> = vec![
                "process".into(),
                text(&source),
                "--out".into(),
                text(&pass_dir),
                "--depth".into(),
                depth.clone(),
                "--matte".into(),
                matte,
            ];
            // A project's passes as `render` makes them, so a later render finds them current.
            let (format, compression, fps) = match &project {
                Some(p) => (
                    args.format.clone().or(Some("exr".into())),
                    args.exr_compression
                        .clone()
                        .or(Some(p.export.exr_compression.as_str().to_string())),
                    Some(p.shot.fps.to_string()),
                ),
                None => (
                    args.format.clone(),
                    args.exr_compression.clone(),
                    args.fps.clone(),
                ),
            };
            for (flag, value) in [
                ("--format", format),
                ("--exr-compression", compression),
                ("--fps", fps),
            ] {
                if let Some(v) = value {
                    a.extend([flag.into(), v]);
                }
            }
            a.extend(colour_flags.iter().cloned());
            // A shot's passes have no project to read the filter's setting from.
            if args.job.temporal.is_none() && project.as_ref().is_some_and(|p| !p.passes.temporal) {
                a.extend(["--temporal".into(), "off".into()]);
            }
            if project
                .as_ref()
                .is_some_and(|p| p.export.absolute_paths && !args.job.absolute_paths)
            {
                a.push("--absolute-paths".into());
            }
            let frames: Vec<PlannedFrame> = selected
                .frames
                .iter()
                .map(|f| PlannedFrame {
                    source_number: f.number,
                    name: f.name.clone(),
                    number: f.number,
                    padding: f.padding,
                    stamp: mattebox::process::frame_stamp_path(&pass_dir, f),
                })
                .collect();
            (depth, JobKind::Passes { out: pass_dir }, a, frames)
        }
        FarmWhat::Render(what_render) => {
            let project = match project {
                Some(p) => p,
                None => Project::template_for(source.clone(), shot.number_range()),
            };
            let names = mattebox::render::output_names(&project, &selected);
            let one_to_one = names.len() == selected.frames.len();
            if !project.camera.is_static() && selected.frames.len() > 1 && chunk < 2 {
                // A one-frame render with a camera move is read as a still's whole move.
                notes.push("a render with a camera move takes at least 2 frames per chunk".into());
                chunk = 2;
            }
            let frames: Vec<PlannedFrame> = names
                .iter()
                .enumerate()
                .map(|(i, n)| PlannedFrame {
                    source_number: if one_to_one {
                        selected.frames.get(i).and_then(|f| f.number)
                    } else {
                        None
                    },
                    name: n.name.clone(),
                    number: n.number,
                    padding: n.padding,
                    stamp: mattebox::render::render_stamp_path(&out_dir, n),
                })
                .collect();
            let what_text = match (what_render.composite, what_render.animatic) {
                (true, true) => "composite,animatic",
                (false, true) => "animatic",
                _ => "composite",
            };
            let mut a: Vec<String> = vec![
                "render".into(),
                text(&input),
                "--out".into(),
                text(&out_dir),
                "--what".into(),
                what_text.into(),
            ];
            for (flag, value) in [
                ("--renderer", &args.renderer),
                ("--adapter", &args.adapter),
                ("--format", &args.format),
                ("--exr-compression", &args.exr_compression),
            ] {
                if let Some(v) = value {
                    a.extend([flag.into(), v.clone()]);
                }
            }
            if args.half {
                a.push("--half".into());
            }
            a.extend(colour_flags.iter().cloned());
            if what_render.animatic {
                a.push("--no-movie".into());
            }
            let job = JobKind::Render {
                passes: out_dir.join("passes"),
                animatic: what_render.animatic,
                fps: project.shot.fps,
            };
            (project.passes.depth_model.clone(), job, a, frames)
        }
    };
    task_args.extend(runtime.iter().cloned());
    task_args.extend(job_args(&args.job)?);

    let has_depth = !depth_model.eq_ignore_ascii_case("none");
    let lock = match (&given_lock, has_depth) {
        (Some(file), true) => {
            task_args.extend(["--depth-range-lock".into(), text(file)]);
            None
        }
        (None, true) => {
            task_args.extend(["--depth-range-lock".into(), text(&lock_file)]);
            let mut a: Vec<String> = vec![
                "farm".into(),
                "lock-depth".into(),
                text(&source),
                "--lock".into(),
                text(&lock_file),
                "--depth".into(),
                depth_model,
            ];
            a.extend(colour_flags.iter().cloned());
            a.extend(runtime);
            a.extend(cache_args(&args.job)?);
            Some(LockStep {
                args: a,
                file: lock_file,
                log: log_dir.join(format!("{name}.depth-range.log")),
            })
        }
        (_, false) => None,
    };
    task_args.extend(args.extra.iter().cloned());

    let chunks = farm::plan_chunks(frames, chunk, &name, &log_dir);
    if chunks.is_empty() {
        bail!("no frame of {} to render", source.display());
    }
    let plan = FarmPlan {
        version: farm::PLAN_VERSION,
        engine: args.engine.to_ascii_lowercase(),
        name: name.clone(),
        input,
        out_dir,
        workdir,
        binary,
        job,
        lock,
        task_args,
        chunks,
        resources: Resources {
            partition: args.resources.partition.clone(),
            time: args.resources.time.clone(),
            mem: args.resources.mem.clone(),
            cpus_per_task: args.resources.cpus_per_task,
        },
        finalise_log: log_dir.join(format!("{name}.finalise.log")),
        submissions: Vec::new(),
    };
    Ok((plan, notes))
}

fn print_dry_run(submitted: &Submitted) {
    for (path, text) in &submitted.scripts {
        println!("# ---- {} ----", path.display());
        print!("{text}");
        println!();
    }
    println!("# ---- commands ----");
    for c in &submitted.commands {
        println!("{c}");
    }
}

fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let json = args.job.json;
    let say = |line: String| {
        if json {
            println!(
                "{}",
                serde_json::json!({ "event": "info", "message": line })
            );
        } else {
            eprintln!("{line}");
        }
    };
    let engine = farm::engine_named(&args.engine)?;
    let (mut plan, notes) = build_plan(&args)?;
    notes.into_iter().for_each(&say);
    match engine.check(&plan, args.assume_shared) {
        Ok(notes) => notes.into_iter().for_each(&say),
        Err(e) if args.dry_run => say(format!("warning: not submittable here: {e}")),
        Err(e) => return Err(e.into()),
    }
    let submitted = farm::submit(&mut plan, engine.as_ref(), args.dry_run)?;
    if args.dry_run {
        print_dry_run(&submitted);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(s) = &submitted.submission else {
        bail!("the engine returned no job ids");
    };
    if args.job.json {
        println!(
            "{}",
            serde_json::json!({
                "event": "submitted",
                "engine": plan.engine,
                "out": plan.out_dir,
                "lock_job": s.lock_job,
                "array_job": s.array_job,
                "finalise_job": s.finalise_job,
                "chunks": plan.chunks.iter().map(|c| serde_json::json!({
                    "index": c.index, "frames": c.range_label(), "log": c.log,
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        if let Some(l) = &s.lock_job {
            println!("depth lock: job {l}");
        }
        if let Some(a) = &s.array_job {
            println!(
                "chunks: job array {a} ({} tasks of up to {} frames: {})",
                plan.chunks.len(),
                args.chunk.max(1),
                plan.chunks
                    .iter()
                    .map(|c| c.range_label())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        println!("finalise: job {}", s.finalise_job);
        println!(
            "logs: {}\nfollow it with: mattebox farm status {}",
            plan.out_dir.join(farm::LOG_DIR).display(),
            plan.out_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let plan = FarmPlan::load(&absolute(&args.out)?)?;
    let engine = farm::engine_named(&plan.engine)?;
    let st = farm::status(&plan, engine.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string(&st)?);
        return Ok(ExitCode::SUCCESS);
    }
    let total: usize = st.chunks.iter().map(|c| c.total).sum();
    let done: usize = st.chunks.iter().map(|c| c.done).sum();
    println!(
        "{} ({}): {done} of {total} frame(s) done in {} chunk(s)",
        st.out_dir.display(),
        st.engine,
        st.chunks.len()
    );
    if let Some(lock) = &st.lock {
        println!("depth range: {lock}");
    }
    println!(
        "{:>5}  {:<12} {:<8} {:>7}  {:<10} log",
        "chunk", "frames", "state", "done", "task"
    );
    for c in &st.chunks {
        let rel = c.log.strip_prefix(&st.out_dir).unwrap_or(&c.log);
        println!(
            "{:>5}  {:<12} {:<8} {:>7}  {:<10} {}",
            c.index,
            c.frames,
            c.state.word(),
            format!("{}/{}", c.done, c.total),
            c.task.as_deref().unwrap_or("-"),
            rel.display()
        );
        match &c.state {
            ChunkState::Failed { reason } => println!("       {reason}"),
            ChunkState::Pending { reason } if !reason.is_empty() && reason != "None" => {
                println!("       waiting: {reason}")
            }
            _ => {}
        }
    }
    match &st.finalise {
        Some((job, Some(state))) => println!("finalise: job {job}, {}", farm::state_word(state)),
        Some((job, None)) => println!("finalise: job {job}, no longer in the farm"),
        None => {}
    }
    if let Some(summary) = &st.summary {
        println!("summary: {}", summary.display());
    }
    let failed = st.to_resubmit();
    if !failed.is_empty() {
        println!(
            "{} chunk(s) failed: `mattebox farm resubmit {}` runs them again",
            failed.len(),
            st.out_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn resubmit(args: ResubmitArgs) -> anyhow::Result<ExitCode> {
    let mut plan = FarmPlan::load(&absolute(&args.out)?)?;
    let engine = farm::engine_named(&plan.engine)?;
    let r = &mut plan.resources;
    let new = &args.resources;
    r.partition = new.partition.clone().or(r.partition.take());
    r.time = new.time.clone().or(r.time.take());
    r.mem = new.mem.clone().or(r.mem.take());
    r.cpus_per_task = new.cpus_per_task.or(r.cpus_per_task);
    let done = farm::resubmit(&mut plan, engine.as_ref(), args.dry_run)?;
    let ranges = |chunks: &[usize]| {
        chunks
            .iter()
            .filter_map(|i| plan.chunks.get(*i).map(|c| c.range_label()))
            .collect::<Vec<_>>()
    };
    if args.dry_run {
        if let Some(s) = &done.submitted {
            print_dry_run(s);
        } else {
            println!("# nothing to resubmit");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let submission = done.submitted.as_ref().and_then(|s| s.submission.clone());
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "event": "resubmitted",
                "chunks": done.chunks,
                "frames": ranges(&done.chunks),
                "waiting": done.waiting,
                "cancelled": done.cancelled,
                "submission": submission,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(c) = &done.cancelled {
        println!("cancelled the earlier finalise job {c} (it waited on a failed task)");
    }
    match submission {
        None => println!(
            "nothing to resubmit: {}",
            if done.waiting.is_empty() {
                "every chunk is done and finalised".to_string()
            } else {
                format!(
                    "no chunk failed; {} still in the farm",
                    ranges(&done.waiting).join(", ")
                )
            }
        ),
        Some(s) => {
            if let Some(l) = &s.lock_job {
                println!("depth lock: job {l}");
            }
            match &s.array_job {
                Some(a) => println!(
                    "resubmitted frames {} as job array {a} (their frames already done are skipped)",
                    ranges(&done.chunks).join(", ")
                ),
                None => println!("every chunk is done; finalising again"),
            }
            if !done.waiting.is_empty() {
                println!(
                    "the finalise job also waits for {}",
                    ranges(&done.waiting).join(", ")
                );
            }
            println!("finalise: job {}", s.finalise_job);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--colorspace` and `--working-space` as the tasks' command lines spell them.
fn colour_args(colour: &PlateColour) -> Vec<String> {
    vec![
        "--colorspace".into(),
        ColourSpace::choice_name(colour.input).into(),
        "--working-space".into(),
        colour.working.name().into(),
    ]
}

fn lock_depth(args: LockDepthArgs) -> anyhow::Result<ExitCode> {
    let shot = Shot::open(&args.input)?;
    let manifest = args.runtime.manifest()?;
    let rt = args.runtime.runtime()?;
    let models = PassModels::load(&rt, &manifest, &args.depth, "none")?;
    let Some(mut model) = models.depth else {
        bail!("no depth model (`--depth none`): there is no depth range to lock");
    };
    let mut options = ProcessOptions::new(PathBuf::new());
    options.cache = (!args.no_cache).then(|| {
        mattebox::passes::cache::PassCache::new(
            args.cache_dir
                .clone()
                .unwrap_or_else(mattebox::passes::cache::default_cache_dir),
        )
    });
    if let Some(max) = args.max_pixels {
        options.limits.max_pixels = max;
    }
    options.colour = args.colour.apply(PlateColour::default());
    let reporter = Reporter::new(false);
    let cancel = AtomicBool::new(false);
    let lock = DepthLock::compute(&shot, &mut model, &options, &cancel, &mut |e| {
        reporter.event(e)
    });
    if let Some(dir) = args.lock.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    lock.write(&args.lock)?;
    match lock.depth_range {
        Some(r) => println!(
            "depth range of {} ({} frames, `{}`): near {}, far {} (raw model units), locked in {}",
            shot.source.display(),
            shot.frames.len(),
            lock.depth_model,
            r.near,
            r.far,
            args.lock.display()
        ),
        None => println!(
            "no sampled frame of {} could be read: no depth range (locked as none in {})",
            shot.source.display(),
            args.lock.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn finalise(args: FinaliseArgs) -> anyhow::Result<ExitCode> {
    let plan = FarmPlan::load(&absolute(&args.out)?)?;
    let summary = farm::finalise(&plan)?;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    println!("{} of {} frame(s) done", summary.done, summary.frames);
    if let Some(s) = &summary.sidecar {
        println!(
            "sidecar: {} ({} frames)",
            s.display(),
            summary.sidecar_frames
        );
    }
    if let Some(m) = &summary.movie {
        println!("animatic: {}", m.display());
    }
    println!(
        "summary: {}",
        plan.farm_dir().join(farm::SUMMARY_NAME).display()
    );
    if summary.missing.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "missing frames in chunks {}: {}",
            summary.incomplete_chunks.join(", "),
            summary.missing.join(", ")
        );
        Ok(ExitCode::from(1))
    }
}
