//! Rendering on a farm: a shot's frames split into chunks, each chunk one task of a job array
//! that runs this same `mattebox` binary with `--frames A-B` on a shared filesystem, between a
//! first job that locks the shot-wide depth range and a last one that finalises the shot.
//!
//! ```text
//!  lock-depth ──afterok──▶ chunk 0 (--frames 1001-1010) ──┐
//!  (depth range,           chunk 1 (--frames 1011-1020) ──┼──afterok──▶ finalise
//!   farm/depth-range.json) …                              ┘  (sidecar from the stamps,
//!                                                             animatic MP4, farm/summary.json)
//! ```
//!
//! The farm manager is behind the [`Engine`] trait; [`slurm::Slurm`] is the one built. The job
//! itself is engine-neutral: a [`FarmPlan`] saved as `<out>/farm/plan.json` says which frames
//! each chunk makes, which argv runs it, where its stamps and log go, and what was submitted.
//! Whether a chunk is done is read from the stamps the frame jobs write (never from the farm's
//! word alone), so `status` is right after the farm has forgotten a job, and resubmitting is safe
//! to repeat: a resubmitted chunk skips its frames that are already current.

mod checks;
mod job;
mod plan;
pub mod slurm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use checks::{
    arch_runs, binary_arch, check_paths_shared, local_filesystem, shell_line, shell_quote,
    short_hostname,
};
pub use job::{
    ChunkState, ChunkStatus, FarmStatus, FinaliseSummary, Resubmitted, finalise, resubmit,
    state_word, status, submit,
};
pub use plan::{
    Chunk, FarmPlan, JobKind, LockStep, PlannedFrame, Resources, Span, Submission, plan_chunks,
};

/// The folder under the output folder that holds the plan, scripts, lock and summary.
pub const FARM_DIR: &str = "farm";
/// The folder under the output folder that holds each task's log.
pub const LOG_DIR: &str = "logs";
/// The plan's file name in [`FARM_DIR`].
pub const PLAN_NAME: &str = "plan.json";
/// The locked depth range's file name in [`FARM_DIR`].
pub const DEPTH_LOCK_NAME: &str = "depth-range.json";
/// The finalise job's summary's file name in [`FARM_DIR`].
pub const SUMMARY_NAME: &str = "summary.json";
/// The plan format version this build writes, and the newest it reads.
pub const PLAN_VERSION: u32 = 1;
/// Frames per chunk when none is given: a task's start (the runtime, the models) costs a few
/// seconds, so a chunk should take minutes, and a failed one costs only a few frames.
pub const DEFAULT_CHUNK: usize = 10;

/// Why a farm command could not go on. Each names the tool, path or job concerned.
#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    /// A farm manager's command is not installed here.
    #[error("`{tool}` is not on the PATH: the {engine} engine needs it ({hint})")]
    ToolMissing {
        /// The command.
        tool: String,
        /// The engine's name.
        engine: &'static str,
        /// How to get it.
        hint: &'static str,
    },
    /// A farm manager's command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A farm manager's command answered something this build does not understand.
    #[error("`{command}` answered {output:?}, not {expected}")]
    Unexpected {
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A path the tasks need lies on a filesystem the farm's nodes cannot see.
    #[error(
        "the {what} {} is on a local filesystem ({fs}) of this machine, which the farm's nodes ({}) cannot see: put it on a shared filesystem (NFS, Lustre, GPFS, CephFS, BeeGFS...), or pass --assume-shared if this one is shared",
        path.display(),
        nodes.join(", ")
    )]
    NotShared {
        /// What the path is (output folder, shot, binary).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The filesystem's type.
        fs: String,
        /// The nodes that would run the tasks.
        nodes: Vec<String>,
    },
    /// A path the tasks need is relative; the nodes start elsewhere.
    #[error("the {what} {} is a relative path: the farm's nodes need absolute paths", path.display())]
    RelativePath {
        /// What the path is.
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// The farm's nodes cannot run this binary.
    #[error("the farm's nodes cannot run {}: {reason}", binary.display())]
    Binary {
        /// The binary.
        binary: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The folder holds no farm job.
    #[error(
        "{} holds no farm job ({} is missing): submit one with `mattebox farm submit`",
        out_dir.display(),
        plan.display()
    )]
    NoPlan {
        /// The output folder.
        out_dir: PathBuf,
        /// The plan file looked for.
        plan: PathBuf,
    },
    /// A plan file cannot be read.
    #[error("{}: not a farm plan this build reads: {reason}", path.display())]
    BadPlan {
        /// The plan file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A new job would write where one is still queued or running.
    #[error(
        "a farm job is still queued or running in {} (chunks {chunks}): wait for it (`mattebox farm status`), or cancel it first",
        out_dir.display()
    )]
    Busy {
        /// The output folder.
        out_dir: PathBuf,
        /// The chunks still in the farm.
        chunks: String,
    },
    /// No engine of that name.
    #[error(
        "unknown farm engine `{0}`: this build has `slurm` (see the README's Farm section to add another)"
    )]
    UnknownEngine(String),
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The shot's sidecar could not be rebuilt, or another export failed.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
}

impl FarmError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FarmError + '_ {
        move |source| FarmError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What an engine says about a job or task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EngineState {
    /// Queued; `reason` is the engine's (Slurm: `Dependency`, `Resources`, `Priority`).
    Pending {
        /// Why it waits.
        reason: String,
    },
    /// Running (or finishing).
    Running,
    /// Ended well.
    Completed,
    /// Ended badly: `name` is the engine's word (Slurm: `CANCELLED`, `FAILED`, `TIMEOUT`,
    /// `OUT_OF_MEMORY`, `NODE_FAIL`), `detail` its reason or exit code.
    Ended {
        /// The engine's state.
        name: String,
        /// Reason or exit code.
        detail: String,
    },
}

/// What an engine knows of a plan's submissions. A job it has forgotten (Slurm keeps ended
/// jobs for `MinJobAge`, 5 minutes by default, when accounting is off) is simply absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineView {
    /// Array tasks by (array job id, chunk index).
    pub tasks: HashMap<(String, usize), EngineState>,
    /// Plain jobs (lock, finalise) by id.
    pub jobs: HashMap<String, EngineState>,
}

/// A task or job that a new finalise job must wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// The job.
    pub job: String,
    /// The array task, if it is one.
    pub task: Option<usize>,
}

/// What to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Submit the depth lock's job first (the chunks depend on it).
    pub lock: bool,
    /// The chunks to put in the array (none: only the finalise job).
    pub chunks: Vec<usize>,
    /// Earlier tasks, still queued or running, that the finalise job also waits for.
    pub wait_for: Vec<Wait>,
}

/// What an engine wrote and ran (or, on a dry run, would write and run).
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// The scripts, with their paths.
    pub scripts: Vec<(PathBuf, String)>,
    /// The commands, as shell lines (a dry run's name the ids they would get as `$LOCK`...).
    pub commands: Vec<String>,
    /// The ids; `None` on a dry run.
    pub submission: Option<Submission>,
}

/// A farm manager. Build a plan, then hand it to one; `status` and `resubmit` go through the
/// engine named in the plan. To add one (OpenCue, Deadline, Tractor), implement this trait in a
/// module of its own beside `slurm.rs` and name it in [`engine_named`]; see the README.
pub trait Engine {
    /// The name given to `--engine` and saved in plans.
    fn name(&self) -> &'static str;

    /// Checks, before anything is submitted, that the engine's tools are here and that its nodes
    /// can run the plan: they see the output folder, the shot and the binary (a shared
    /// filesystem, unless `assume_shared`), and the binary is for their architecture. Returns
    /// notes for the user.
    fn check(&self, plan: &FarmPlan, assume_shared: bool) -> Result<Vec<String>, FarmError>;

    /// Writes the scripts and submits `request`: the lock job, then the array of chunks (after
    /// the lock), then the finalise job (after every chunk and `wait_for`). With `dry_run`,
    /// writes and submits nothing and returns what it would.
    fn submit(
        &self,
        plan: &FarmPlan,
        request: &Request,
        dry_run: bool,
    ) -> Result<Submitted, FarmError>;

    /// What the engine knows of these submissions' jobs and tasks.
    fn query(&self, submissions: &[Submission]) -> Result<EngineView, FarmError>;

    /// Cancels a job (a finalise job that can no longer run).
    fn cancel(&self, job: &str) -> Result<(), FarmError>;
}

/// The engine of a name.
pub fn engine_named(name: &str) -> Result<Box<dyn Engine>, FarmError> {
    match name.to_ascii_lowercase().as_str() {
        "slurm" => Ok(Box::new(slurm::Slurm::default())),
        _ => Err(FarmError::UnknownEngine(name.to_string())),
    }
}
