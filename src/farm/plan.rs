//! The engine-neutral farm job: which frames each chunk makes, which `mattebox` arguments run
//! it, where its stamps and log go, and what was submitted; saved as `<out>/farm/plan.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FARM_DIR, FarmError, PLAN_NAME, PLAN_VERSION};
use crate::shot::{Frame, FrameRange};

/// What the chunks make, and where their stamps say a frame is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobKind {
    /// `mattebox process`: depth and matte passes, stamped in `out`.
    Passes {
        /// The folder the passes, their stamps and the shot's sidecar go to.
        out: PathBuf,
    },
    /// `mattebox render`: composited frames and/or the animatic, stamped in the output folder,
    /// after the passes in `passes`.
    Render {
        /// The folder of the passes (and the shot's sidecar).
        passes: PathBuf,
        /// Whether the animatic is made (its MP4 by the finalise job).
        animatic: bool,
        /// The shot's frame rate, for the MP4.
        fps: f32,
    },
}

/// A frame a chunk makes: what selects it and where it is stamped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedFrame {
    /// The source frame's number, which `--frames` selects; `None` for a still.
    pub source_number: Option<u32>,
    /// The output's name part (`Frame::name`).
    pub name: String,
    /// The output's frame number (`Frame::number`).
    pub number: Option<u32>,
    /// The output number's digits (`Frame::padding`).
    pub padding: usize,
    /// The stamp that says the frame is done.
    pub stamp: PathBuf,
}

impl PlannedFrame {
    /// The output frame, for `Frame::output_name`.
    pub fn frame(&self) -> Frame {
        Frame {
            path: PathBuf::new(),
            name: self.name.clone(),
            number: self.number,
            padding: self.padding,
        }
    }

    /// The output's name, for messages: `run.1001`.
    pub fn label(&self) -> String {
        self.frame()
            .output_name(None, "")
            .trim_end_matches('.')
            .to_string()
    }
}

/// Frame numbers, inclusive, as stored in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The first frame number.
    pub first: u32,
    /// The last frame number.
    pub last: u32,
}

impl From<Span> for FrameRange {
    fn from(s: Span) -> FrameRange {
        FrameRange {
            first: s.first,
            last: s.last,
        }
    }
}

/// One task of the job array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Its index in the array, from 0.
    pub index: usize,
    /// The source frames it selects with `--frames`; `None`: the whole shot (a still, or frames
    /// without numbers).
    pub frames: Option<Span>,
    /// The frames it makes.
    pub outputs: Vec<PlannedFrame>,
    /// Its log, beside the output, named after the frame range.
    pub log: PathBuf,
}

impl Chunk {
    /// `1001-1010`, or `all` for a chunk without `--frames`.
    pub fn range_label(&self) -> String {
        match self.frames {
            Some(s) => FrameRange::from(s).to_string(),
            None => "all".to_string(),
        }
    }
}

/// The job that locks the depth range before the chunks run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockStep {
    /// Its `mattebox` arguments.
    pub args: Vec<String>,
    /// The lock file it writes, which every chunk reads.
    pub file: PathBuf,
    /// Its log.
    pub log: PathBuf,
}

/// What every task asks of the farm; `None` leaves the site's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// The partition (queue).
    pub partition: Option<String>,
    /// The time limit per task, in the engine's syntax (Slurm: `30`, `2:00:00`, `1-0`).
    pub time: Option<String>,
    /// Memory per task, in the engine's syntax (Slurm: `8G`).
    pub mem: Option<String>,
    /// CPU cores per task.
    pub cpus_per_task: Option<u32>,
}

/// One submission of (part of) the job: the engine's ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// When, in seconds since 1970-01-01 UTC.
    pub submitted_unix_s: Option<u64>,
    /// The depth lock's job, if it was submitted.
    pub lock_job: Option<String>,
    /// The job array's id, if chunks were submitted.
    pub array_job: Option<String>,
    /// The chunks in the array (its task ids are the chunks' indices).
    pub chunks: Vec<usize>,
    /// The finalise job.
    pub finalise_job: String,
}

/// A farm job: everything `submit`, `status`, `resubmit` and `finalise` need, saved as
/// `<out>/farm/plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FarmPlan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The engine's name.
    pub engine: String,
    /// The shot's name, for job and log names.
    pub name: String,
    /// The shot or project, absolute.
    pub input: PathBuf,
    /// The output folder, absolute.
    pub out_dir: PathBuf,
    /// The folder the tasks run in (where relative paths in their arguments start).
    pub workdir: PathBuf,
    /// The `mattebox` binary every task runs.
    pub binary: PathBuf,
    /// What the chunks make.
    pub job: JobKind,
    /// The depth lock's job; `None` when there is no depth pass or the lock was given.
    pub lock: Option<LockStep>,
    /// The `mattebox` arguments of every chunk; the chunk's `--frames A-B` follows them.
    pub task_args: Vec<String>,
    /// The chunks.
    pub chunks: Vec<Chunk>,
    /// What every task asks of the farm.
    pub resources: Resources,
    /// The finalise job's log.
    pub finalise_log: PathBuf,
    /// Every submission, oldest first.
    #[serde(default)]
    pub submissions: Vec<Submission>,
}

impl FarmPlan {
    /// The plan file of an output folder.
    pub fn path_in(out_dir: &Path) -> PathBuf {
        out_dir.join(FARM_DIR).join(PLAN_NAME)
    }

    /// The folder of the plan, scripts, lock and summary.
    pub fn farm_dir(&self) -> PathBuf {
        self.out_dir.join(FARM_DIR)
    }

    /// Reads the plan of an output folder.
    pub fn load(out_dir: &Path) -> Result<FarmPlan, FarmError> {
        let path = FarmPlan::path_in(out_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FarmError::NoPlan {
                    out_dir: out_dir.to_path_buf(),
                    plan: path,
                });
            }
            Err(e) => return Err(FarmError::io(&path)(e)),
        };
        let bad = |reason: String| FarmError::BadPlan {
            path: path.clone(),
            reason,
        };
        let plan: FarmPlan = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if plan.version > PLAN_VERSION {
            return Err(bad(format!(
                "version {} is newer than this build's {PLAN_VERSION}",
                plan.version
            )));
        }
        Ok(plan)
    }

    /// Writes the plan atomically (folders created).
    pub fn save(&self) -> Result<(), FarmError> {
        let dir = self.farm_dir();
        std::fs::create_dir_all(&dir).map_err(FarmError::io(&dir))?;
        let path = FarmPlan::path_in(&self.out_dir);
        crate::export::write_atomic(&path, |w| {
            serde_json::to_writer_pretty(&mut *w, self)
                .map_err(|e| crate::export::ExportError::write(&path, e.into()))
        })?;
        Ok(())
    }

    /// Every frame of the job, in order.
    pub fn frames(&self) -> impl Iterator<Item = &PlannedFrame> {
        self.chunks.iter().flat_map(|c| c.outputs.iter())
    }

    /// Whether a frame's stamp says it is done, with its outputs present.
    pub fn frame_is_done(&self, frame: &PlannedFrame) -> bool {
        match &self.job {
            JobKind::Passes { out } => crate::process::stamp_is_done(&frame.stamp, out),
            JobKind::Render { .. } => {
                crate::render::render_stamp_is_done(&frame.stamp, &self.out_dir)
            }
        }
    }

    /// The finalise job's arguments.
    pub fn finalise_args(&self) -> Vec<String> {
        vec![
            "farm".into(),
            "finalise".into(),
            self.out_dir.to_string_lossy().into_owned(),
        ]
    }

    /// A chunk's arguments: the task arguments, then its `--frames`.
    pub fn chunk_args(&self, chunk: &Chunk) -> Vec<String> {
        let mut args = self.task_args.clone();
        if let Some(s) = chunk.frames {
            args.push("--frames".into());
            args.push(FrameRange::from(s).to_string());
        }
        args
    }
}

/// Splits a shot's output frames into chunks of about `chunk` source frames, in order, each
/// chunk's log in `log_dir` named `<name>.<first>-<last>.log`. Frames are grouped by source
/// number (a folder of two sequences keeps a number's frames together). A shot with a frame
/// that has no number (a still) is one chunk over the whole shot.
pub fn plan_chunks(
    frames: Vec<PlannedFrame>,
    chunk: usize,
    name: &str,
    log_dir: &Path,
) -> Vec<Chunk> {
    let chunk = chunk.max(1);
    if frames.is_empty() {
        return Vec::new();
    }
    if frames.iter().any(|f| f.source_number.is_none()) {
        return vec![Chunk {
            index: 0,
            frames: None,
            outputs: frames,
            log: log_dir.join(format!("{name}.all.log")),
        }];
    }
    let mut numbers: Vec<u32> = frames.iter().filter_map(|f| f.source_number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .chunks(chunk)
        .enumerate()
        .filter_map(|(index, group)| {
            let (first, last) = (*group.first()?, *group.last()?);
            let outputs: Vec<PlannedFrame> = frames
                .iter()
                .filter(|f| f.source_number.is_some_and(|n| (first..=last).contains(&n)))
                .cloned()
                .collect();
            let span = Span { first, last };
            Some(Chunk {
                index,
                frames: Some(span),
                outputs,
                log: log_dir.join(format!("{name}.{}.log", FrameRange::from(span))),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(numbers: &[u32]) -> Vec<PlannedFrame> {
        numbers
            .iter()
            .map(|&n| PlannedFrame {
                source_number: Some(n),
                name: "run".into(),
                number: Some(n),
                padding: 4,
                stamp: PathBuf::from(format!("/out/.mattebox/run.{n}.json")),
            })
            .collect()
    }

    #[test]
    fn chunks_follow_the_sequences_own_numbers_and_name_their_logs_by_range() {
        let chunks = plan_chunks(
            frames(&[1001, 1002, 1003, 1005, 1006]),
            2,
            "run",
            Path::new("/out/logs"),
        );
        let spans: Vec<String> = chunks.iter().map(Chunk::range_label).collect();
        assert_eq!(spans, ["1001-1002", "1003-1005", "1006"]);
        assert_eq!(chunks[1].outputs.len(), 2);
        assert_eq!(chunks[1].log, Path::new("/out/logs/run.1003-1005.log"));
        assert_eq!(
            chunks.iter().map(|c| c.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }

    #[test]
    fn a_still_is_one_chunk_without_frames() {
        let mut f = frames(&[1, 2, 3]);
        for x in &mut f {
            x.source_number = None;
        }
        let chunks = plan_chunks(f, 1, "hero", Path::new("/l"));
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].frames, None);
        assert_eq!(chunks[0].outputs.len(), 3);
        assert_eq!(chunks[0].range_label(), "all");
    }
}
