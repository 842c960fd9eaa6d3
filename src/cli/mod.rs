//! The headless commands: `process`, `render`, `models`, `info`, `farm`. Errors are reported once, here, at the
//! binary's edge (anyhow); exit codes: 0 all good, 1 some frames failed, 2 the job could not run.

mod farm;
mod info;
mod models;
mod process;
mod progress;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Mattebox: AI depth and matte passes for shots, exported as layered EXR and PNG.
#[derive(Debug, Parser)]
#[command(name = "mattebox", version, about, long_about = None)]
struct Cli {
    /// A shot or project to open in the desktop app (no command: the app opens).
    input: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run depth and matte models over a shot and export layered frames.
    Process(process::ProcessArgs),
    /// Composite a project's layers (with its camera move) into frames and an animatic.
    Render(render::RenderArgs),
    /// List, verify, add or fetch models.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Show an EXR's layers, channels, sizes and metadata.
    Info(info::InfoArgs),
    /// Render on a farm: submit a shot as a job array, follow it, resubmit what failed.
    #[command(subcommand)]
    Farm(farm::FarmCommand),
}

/// Where models and ONNX Runtime come from; shared by the commands that load models.
#[derive(Debug, Clone, Args)]
struct RuntimeArgs {
    /// The ONNX Runtime library (else ORT_DYLIB_PATH, next to the binary, vendor/onnxruntime).
    #[arg(long, value_name = "FILE")]
    ort_lib: Option<PathBuf>,
    /// The models folder (else MATTEBOX_MODELS_DIR, models/ next to the binary, the project's models/).
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// Extra manifest files with [[model]] entries (repeatable).
    #[arg(long, value_name = "FILE")]
    manifest: Vec<PathBuf>,
    /// Execution provider: auto (CUDA if present, else CPU), cpu or cuda.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    device: mattebox::infer::Device,
    /// Fail instead of falling back to the CPU when no GPU provider works.
    #[arg(long)]
    require_gpu: bool,
    /// Threads per model run (0 = one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
}

/// Options shared by the frame jobs (`process`, `render`).
#[derive(Debug, Clone, Args)]
struct JobArgs {
    /// Worker threads for decoding and for writing (default: one per core).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Ignore the pass cache: run every model on every frame.
    #[arg(long)]
    no_cache: bool,
    /// The pass cache folder (else MATTEBOX_CACHE_DIR, else ~/.cache/mattebox/passes).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Redo frames whose outputs are already complete and current.
    #[arg(long)]
    force: bool,
    /// Allow the output folder to be inside the shot's folder.
    #[arg(long)]
    allow_inside_input: bool,
    /// Refuse images with more pixels than this (decompression-bomb guard).
    #[arg(long, value_name = "N")]
    max_pixels: Option<u64>,
    /// Print one JSON object per event on stdout instead of a progress bar.
    #[arg(long)]
    json: bool,
    /// Record source paths in the EXR headers as absolute paths (default: relative to the folder
    /// holding each file, so files sent elsewhere name none of your folders).
    #[arg(long)]
    absolute_paths: bool,
    /// Use the shot-wide depth range locked in FILE (by `mattebox farm lock-depth`) instead of
    /// sampling the shot: what every chunk of a farm job is given.
    #[arg(long, value_name = "FILE")]
    depth_range_lock: Option<PathBuf>,
    /// The temporal filter that steadies a sequence's depth and mattes where the plate is still:
    /// on or off (each frame as the models made it). Default: on for `process`, the project's
    /// for `render`.
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    temporal: Option<bool>,
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("{s:?} is neither on nor off")),
    }
}

impl JobArgs {
    fn depth_lock(&self) -> anyhow::Result<Option<mattebox::process::DepthLock>> {
        self.depth_range_lock
            .as_deref()
            .map(mattebox::process::DepthLock::read)
            .transpose()
            .map_err(Into::into)
    }

    fn cache(&self) -> Option<mattebox::passes::cache::PassCache> {
        (!self.no_cache).then(|| {
            mattebox::passes::cache::PassCache::new(
                self.cache_dir
                    .clone()
                    .unwrap_or_else(mattebox::passes::cache::default_cache_dir),
            )
        })
    }

    fn limits(&self) -> mattebox::shot::decode::DecodeLimits {
        let mut limits = mattebox::shot::decode::DecodeLimits::default();
        if let Some(max) = self.max_pixels {
            limits.max_pixels = max;
        }
        limits
    }
}

fn parse_device(s: &str) -> Result<mattebox::infer::Device, String> {
    s.parse()
}

impl RuntimeArgs {
    fn manifest(&self) -> anyhow::Result<mattebox::infer::Manifest> {
        Ok(mattebox::infer::Manifest::load(
            self.models_dir.as_deref(),
            &self.manifest,
        )?)
    }

    fn runtime(&self) -> anyhow::Result<mattebox::infer::Runtime> {
        Ok(mattebox::infer::Runtime::new(
            mattebox::infer::RuntimeOptions {
                library: self.ort_lib.clone(),
                device: self.device,
                require_gpu: self.require_gpu,
                intra_threads: self.threads,
            },
        )?)
    }
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Process(args)) => process::run(args),
        Some(Command::Render(args)) => render::run(args),
        Some(Command::Models(cmd)) => models::run(cmd),
        Some(Command::Info(args)) => info::run(args),
        Some(Command::Farm(cmd)) => farm::run(cmd),
        None => {
            #[cfg(feature = "gui")]
            {
                return match mattebox::app::run(cli.input) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!(
                            "mattebox: the app could not start: {e}\n\
                             Without a display, use the headless commands, for example:\n  \
                             mattebox render assets/sample_shot.mattebox.json --out out/sample\n\
                             See `mattebox --help` for all commands."
                        );
                        ExitCode::from(2)
                    }
                };
            }
            #[cfg(not(feature = "gui"))]
            {
                let what = cli
                    .input
                    .map(|p| format!(" on {}", p.display()))
                    .unwrap_or_default();
                eprintln!(
                    "mattebox: this build has no desktop app{what} (built without the `gui` feature).\n\
                     Run the headless commands instead, for example:\n  \
                     mattebox render assets/sample_shot.mattebox.json --out out/sample\n\
                     See `mattebox --help` for all commands."
                );
                return ExitCode::from(2);
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mattebox: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
