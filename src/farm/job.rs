//! What `submit`, `status`, `resubmit` and `finalise` do with a plan through an engine: a
//! chunk's state is the engine's word for its task, checked against the stamps.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    Engine, EngineState, FarmError, FarmPlan, JobKind, LOG_DIR, PlannedFrame, Request,
    SUMMARY_NAME, Submitted, Wait,
};
use crate::export::ShotSidecar;
use crate::shot::Frame;
use std::path::PathBuf;

/// A chunk's state, from the engine's word and the stamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChunkState {
    /// Queued.
    Pending {
        /// The engine's reason.
        reason: String,
    },
    /// Running.
    Running,
    /// Every frame is stamped done.
    Done,
    /// Not in the farm any more, and frames are missing.
    Failed {
        /// Why: the engine's state, or that frames are missing.
        reason: String,
    },
}

impl ChunkState {
    /// `pending`, `running`, `done` or `failed`.
    pub fn word(&self) -> &'static str {
        match self {
            ChunkState::Pending { .. } => "pending",
            ChunkState::Running => "running",
            ChunkState::Done => "done",
            ChunkState::Failed { .. } => "failed",
        }
    }

    /// Still queued or running.
    pub fn in_farm(&self) -> bool {
        matches!(self, ChunkState::Pending { .. } | ChunkState::Running)
    }
}

/// One chunk in [`FarmStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkStatus {
    /// The chunk's index.
    pub index: usize,
    /// `1001-1010`.
    pub frames: String,
    /// Its state.
    pub state: ChunkState,
    /// Its frames stamped done.
    pub done: usize,
    /// Its frames.
    pub total: usize,
    /// Its frames not done, by label.
    pub missing: Vec<String>,
    /// Its log.
    pub log: PathBuf,
    /// The engine's id of its latest task (`45_3`).
    pub task: Option<String>,
}

/// What `mattebox farm status` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FarmStatus {
    /// The output folder.
    pub out_dir: PathBuf,
    /// The engine.
    pub engine: String,
    /// Every chunk.
    pub chunks: Vec<ChunkStatus>,
    /// The depth lock: its job's state, or whether the file exists.
    pub lock: Option<String>,
    /// The latest finalise job's id and state (`None` in the state: the engine forgot it).
    pub finalise: Option<(String, Option<EngineState>)>,
    /// Whether the finalise job has written its summary.
    pub summary: Option<PathBuf>,
}

impl FarmStatus {
    /// The chunks that resubmit would run again.
    pub fn to_resubmit(&self) -> Vec<usize> {
        self.chunks
            .iter()
            .filter(|c| matches!(c.state, ChunkState::Failed { .. }))
            .map(|c| c.index)
            .collect()
    }
}

/// The latest submission of each chunk: (submission, array job).
fn latest_tasks(plan: &FarmPlan) -> HashMap<usize, String> {
    let mut latest = HashMap::new();
    for s in &plan.submissions {
        if let Some(array) = &s.array_job {
            for &c in &s.chunks {
                latest.insert(c, array.clone());
            }
        }
    }
    latest
}

/// Each chunk's state: the engine's word for its latest task where it has one, and the stamps.
/// A chunk the engine no longer knows is done when every frame is stamped, else failed.
pub fn status(plan: &FarmPlan, engine: &dyn Engine) -> Result<FarmStatus, FarmError> {
    let view = engine.query(&plan.submissions)?;
    let latest = latest_tasks(plan);
    let chunks = plan
        .chunks
        .iter()
        .map(|chunk| {
            let missing: Vec<String> = chunk
                .outputs
                .iter()
                .filter(|f| !plan.frame_is_done(f))
                .map(PlannedFrame::label)
                .collect();
            let total = chunk.outputs.len();
            let done = total - missing.len();
            let task = latest.get(&chunk.index).cloned();
            let said = task
                .as_ref()
                .and_then(|job| view.tasks.get(&(job.clone(), chunk.index)));
            let state = match (said, missing.is_empty()) {
                (Some(EngineState::Pending { reason }), _) => ChunkState::Pending {
                    reason: reason.clone(),
                },
                (Some(EngineState::Running), _) => ChunkState::Running,
                (_, true) => ChunkState::Done,
                (Some(EngineState::Ended { name, detail }), false) => ChunkState::Failed {
                    reason: if detail.is_empty() {
                        name.clone()
                    } else {
                        format!("{name} ({detail})")
                    },
                },
                (Some(EngineState::Completed), false) => ChunkState::Failed {
                    reason: format!("the task ended, but {} frame(s) are missing", missing.len()),
                },
                (None, false) => ChunkState::Failed {
                    reason: if task.is_some() {
                        format!(
                            "no longer in the farm, and {} frame(s) are missing",
                            missing.len()
                        )
                    } else {
                        "never submitted".to_string()
                    },
                },
            };
            ChunkStatus {
                index: chunk.index,
                frames: chunk.range_label(),
                state,
                done,
                total,
                missing,
                log: chunk.log.clone(),
                task: task.map(|job| format!("{job}_{}", chunk.index)),
            }
        })
        .collect();
    let lock = plan.lock.as_ref().map(|l| {
        let job = plan
            .submissions
            .iter()
            .rev()
            .find_map(|s| s.lock_job.clone());
        let state = job.as_ref().and_then(|j| view.jobs.get(j));
        match (state, l.file.is_file()) {
            (_, true) => "locked".to_string(),
            (Some(s), false) => format!("job {}: {}", job.unwrap_or_default(), state_word(s)),
            (None, false) => "not locked".to_string(),
        }
    });
    let finalise = plan.submissions.last().map(|s| {
        (
            s.finalise_job.clone(),
            view.jobs.get(&s.finalise_job).cloned(),
        )
    });
    let summary = plan.farm_dir().join(SUMMARY_NAME);
    Ok(FarmStatus {
        out_dir: plan.out_dir.clone(),
        engine: plan.engine.clone(),
        chunks,
        lock,
        finalise,
        summary: summary.is_file().then_some(summary),
    })
}

/// An engine state in a word or two: `pending (Dependency)`, `running`, `CANCELLED (0:15)`.
pub fn state_word(state: &EngineState) -> String {
    match state {
        EngineState::Pending { reason } if reason.is_empty() || reason == "None" => {
            "pending".into()
        }
        EngineState::Pending { reason } => format!("pending ({reason})"),
        EngineState::Running => "running".into(),
        EngineState::Completed => "completed".into(),
        EngineState::Ended { name, detail } if detail.is_empty() => name.clone(),
        EngineState::Ended { name, detail } => format!("{name} ({detail})"),
    }
}

/// Saves the plan, then submits it whole: the lock (unless already locked), every chunk, the
/// finalise job. Refuses while an earlier job in the folder is still in the farm.
pub fn submit(
    plan: &mut FarmPlan,
    engine: &dyn Engine,
    dry_run: bool,
) -> Result<Submitted, FarmError> {
    if !dry_run && let Ok(old) = FarmPlan::load(&plan.out_dir) {
        let busy: Vec<String> = status(&old, engine)?
            .chunks
            .iter()
            .filter(|c| c.state.in_farm())
            .map(|c| c.frames.clone())
            .collect();
        if !busy.is_empty() {
            return Err(FarmError::Busy {
                out_dir: plan.out_dir.clone(),
                chunks: busy.join(", "),
            });
        }
    }
    let request = Request {
        lock: plan.lock.as_ref().is_some_and(|l| !l.file.is_file()),
        chunks: plan.chunks.iter().map(|c| c.index).collect(),
        wait_for: Vec::new(),
    };
    if !dry_run {
        for dir in [plan.farm_dir(), plan.out_dir.join(LOG_DIR)] {
            std::fs::create_dir_all(&dir).map_err(FarmError::io(&dir))?;
        }
        plan.submissions.clear();
        plan.save()?;
    }
    let submitted = engine.submit(plan, &request, dry_run)?;
    if let Some(s) = &submitted.submission {
        plan.submissions.push(s.clone());
        plan.save()?;
    }
    Ok(submitted)
}

/// What `resubmit` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Resubmitted {
    /// The chunks submitted again.
    pub chunks: Vec<usize>,
    /// Chunks still in the farm, which the new finalise job waits for.
    pub waiting: Vec<usize>,
    /// The earlier finalise job, cancelled (it waited on a task that failed).
    pub cancelled: Option<String>,
    /// What was submitted; `None` when nothing needed to be.
    pub submitted: Option<Submitted>,
}

/// Submits again only the chunks with missing or failed frames (their frames already done are
/// skipped by their stamps), the depth lock if it is missing, and a new finalise job that waits
/// for them and for the chunks still in the farm; cancels the earlier finalise job if it is
/// still queued. With nothing failed and the finalise done, submits nothing.
pub fn resubmit(
    plan: &mut FarmPlan,
    engine: &dyn Engine,
    dry_run: bool,
) -> Result<Resubmitted, FarmError> {
    let st = status(plan, engine)?;
    let chunks = st.to_resubmit();
    let latest = latest_tasks(plan);
    let waiting: Vec<usize> = st
        .chunks
        .iter()
        .filter(|c| c.state.in_farm())
        .map(|c| c.index)
        .collect();
    let finalise_state = st.finalise.as_ref().and_then(|(_, s)| s.clone());
    let finalise_pending = matches!(finalise_state, Some(EngineState::Pending { .. }));
    let finalise_ok =
        st.summary.is_some() && matches!(finalise_state, None | Some(EngineState::Completed));
    if chunks.is_empty() && (finalise_ok || finalise_pending || !waiting.is_empty()) {
        return Ok(Resubmitted {
            chunks,
            waiting,
            cancelled: None,
            submitted: None,
        });
    }
    let request = Request {
        lock: plan.lock.as_ref().is_some_and(|l| !l.file.is_file()),
        chunks: chunks.clone(),
        wait_for: waiting
            .iter()
            .filter_map(|c| {
                latest.get(c).map(|job| Wait {
                    job: job.clone(),
                    task: Some(*c),
                })
            })
            .collect(),
    };
    let mut cancelled = None;
    if !dry_run
        && finalise_pending
        && let Some((job, _)) = &st.finalise
    {
        engine.cancel(job)?;
        cancelled = Some(job.clone());
    }
    let submitted = engine.submit(plan, &request, dry_run)?;
    if let Some(s) = &submitted.submission {
        plan.submissions.push(s.clone());
        plan.save()?;
    }
    Ok(Resubmitted {
        chunks,
        waiting,
        cancelled,
        submitted: Some(submitted),
    })
}

/// What the finalise job found and did, saved as `<out>/farm/summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinaliseSummary {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Frames in the job.
    pub frames: usize,
    /// Frames stamped done.
    pub done: usize,
    /// Frames missing, by label.
    pub missing: Vec<String>,
    /// The chunks with missing frames, by range.
    pub incomplete_chunks: Vec<String>,
    /// The shot's sidecar, rebuilt from the stamps.
    pub sidecar: Option<PathBuf>,
    /// The frames the sidecar lists as done.
    pub sidecar_frames: usize,
    /// The animatic movie.
    pub movie: Option<PathBuf>,
    /// Notes (no ffmpeg, a sidecar that could not be rebuilt).
    pub warnings: Vec<String>,
    /// When, in seconds since 1970-01-01 UTC.
    pub finished_unix_s: Option<u64>,
}

/// The finalise job: checks every chunk's frames against the stamps, rebuilds the shot's
/// sidecar from them, makes the animatic movie when the job has an animatic and no frame is
/// missing, and writes the summary. Reads no frame but the animatic's (through ffmpeg).
pub fn finalise(plan: &FarmPlan) -> Result<FinaliseSummary, FarmError> {
    let mut missing = Vec::new();
    let mut incomplete_chunks = Vec::new();
    for chunk in &plan.chunks {
        let before = missing.len();
        missing.extend(
            chunk
                .outputs
                .iter()
                .filter(|f| !plan.frame_is_done(f))
                .map(PlannedFrame::label),
        );
        if missing.len() > before {
            incomplete_chunks.push(chunk.range_label());
        }
    }
    let frames = plan.frames().count();
    let mut warnings = Vec::new();
    let pass_dir = match &plan.job {
        JobKind::Passes { out } => out,
        JobKind::Render { passes, .. } => passes,
    };
    let (sidecar, sidecar_frames) = match crate::process::rebuild_sidecar(pass_dir) {
        Ok((path, n)) => (Some(path), n),
        Err(e) => {
            warnings.push(format!("the shot's sidecar was not rebuilt: {e}"));
            (None, 0)
        }
    };
    let mut movie = None;
    if let JobKind::Render {
        animatic: true,
        fps,
        ..
    } = &plan.job
    {
        if missing.is_empty() {
            let names: Vec<Frame> = plan.frames().map(PlannedFrame::frame).collect();
            match crate::render::make_animatic_movie(&plan.out_dir, &names, *fps) {
                Ok(Some(m)) => movie = Some(m),
                Ok(None) => warnings.push(
                    "ffmpeg is not on the PATH of the node: the animatic is a PNG sequence only"
                        .into(),
                ),
                Err(e) => warnings.push(format!("animatic movie: {e}")),
            }
        } else {
            warnings.push("frames are missing: no animatic movie was made".into());
        }
    }
    let summary = FinaliseSummary {
        out_dir: plan.out_dir.clone(),
        frames,
        done: frames - missing.len(),
        missing,
        incomplete_chunks,
        sidecar,
        sidecar_frames,
        movie,
        warnings,
        finished_unix_s: ShotSidecar::now_unix_s(),
    };
    let path = plan.farm_dir().join(SUMMARY_NAME);
    crate::export::write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &summary)
            .map_err(|e| crate::export::ExportError::write(&path, e.into()))
    })?;
    Ok(summary)
}
