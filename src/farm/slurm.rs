//! The Slurm engine: a plan becomes three batch scripts in `<out>/farm/` and three `sbatch`
//! calls: the depth lock, the chunks as one job array (`--array`, after the lock), and the
//! finalise job (`--dependency=afterok` on the array). Both dependent jobs are submitted with
//! `--kill-on-invalid-dep=yes`, so a failed lock or chunk cancels what waits on it instead of
//! leaving it queued for ever.
//!
//! State comes from `squeue` (one line per array task, every state) and `scontrol` (a failed
//! task's exit code), never from `sacct`: many sites, and every test cluster, run without
//! accounting. Slurm forgets an ended job after `MinJobAge`; the stamps still tell.

use std::process::Command;

use super::{
    Engine, EngineState, EngineView, FarmError, FarmPlan, Request, Submission, Submitted,
    arch_runs, binary_arch, check_paths_shared, shell_line, shell_quote,
};
use crate::export::ShotSidecar;

/// The Slurm engine, running Slurm's client commands found on the PATH (they find the cluster
/// through `SLURM_CONF` or `/etc/slurm/slurm.conf`).
#[derive(Debug, Clone, Default)]
pub struct Slurm {}

const HINT: &str = "install Slurm's client commands (Debian: apt-get install slurm-client), or submit from a machine of the cluster";

/// The file names of the scripts in `<out>/farm/`.
const LOCK_SCRIPT: &str = "lock-depth.sbatch";
const CHUNKS_SCRIPT: &str = "chunks.sbatch";
const FINALISE_SCRIPT: &str = "finalise.sbatch";

impl Slurm {
    /// Runs a Slurm command and returns its stdout.
    fn run(&self, tool: &str, args: &[&str]) -> Result<String, FarmError> {
        let output = Command::new(tool).args(args).output().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                FarmError::ToolMissing {
                    tool: tool.to_string(),
                    engine: "slurm",
                    hint: HINT,
                }
            } else {
                FarmError::Command {
                    command: shell_line(std::iter::once(tool).chain(args.iter().copied())),
                    status: "not started".into(),
                    stderr: e.to_string(),
                }
            }
        })?;
        if !output.status.success() {
            return Err(FarmError::Command {
                command: shell_line(std::iter::once(tool).chain(args.iter().copied())),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The nodes of the partition (or of every partition).
    fn nodes(&self, partition: Option<&str>) -> Result<Vec<String>, FarmError> {
        let mut args = vec!["-h", "-N", "-o", "%N"];
        if let Some(p) = partition {
            args.extend(["-p", p]);
        }
        let out = self.run("sinfo", &args)?;
        let mut nodes: Vec<String> = out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        nodes.sort();
        nodes.dedup();
        Ok(nodes)
    }

    /// Each node's architecture, as `scontrol show node` reports it (`uname -m`).
    fn node_arches(&self) -> Result<Vec<(String, String)>, FarmError> {
        let out = self.run("scontrol", &["-o", "show", "node"])?;
        Ok(out
            .lines()
            .filter_map(|line| {
                let fields = key_values(line);
                let name = fields.get("NodeName")?.to_string();
                let arch = fields.get("Arch")?.to_string();
                Some((name, arch))
            })
            .collect())
    }

    /// Submits a script; returns the job id.
    fn sbatch(&self, args: &[String]) -> Result<String, FarmError> {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.run("sbatch", &refs)?;
        parse_job_id(&out).ok_or_else(|| FarmError::Unexpected {
            command: shell_line(std::iter::once("sbatch").chain(refs.iter().copied())),
            output: out.trim().to_string(),
            expected: "a job id (sbatch --parsable)",
        })
    }
}

impl Engine for Slurm {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn check(&self, plan: &FarmPlan, assume_shared: bool) -> Result<Vec<String>, FarmError> {
        self.run("sbatch", &["--version"])?;
        let nodes = self.nodes(plan.resources.partition.as_deref())?;
        if nodes.is_empty() {
            return Err(FarmError::Unexpected {
                command: "sinfo -h -N -o %N".into(),
                output: String::new(),
                expected: match &plan.resources.partition {
                    Some(_) => "the partition's nodes",
                    None => "the cluster's nodes",
                },
            });
        }
        check_paths_shared(plan, &nodes, assume_shared)?;
        let meta = std::fs::metadata(&plan.binary).map_err(|e| FarmError::Binary {
            binary: plan.binary.clone(),
            reason: e.to_string(),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                return Err(FarmError::Binary {
                    binary: plan.binary.clone(),
                    reason: "it is not an executable file".into(),
                });
            }
        }
        let arch = binary_arch(&plan.binary)?;
        let wrong: Vec<String> = self
            .node_arches()?
            .into_iter()
            .filter(|(name, node_arch)| {
                nodes.contains(name) && node_arch != "(null)" && !arch_runs(node_arch, &arch)
            })
            .map(|(name, node_arch)| format!("{name} is {node_arch}"))
            .collect();
        if !wrong.is_empty() {
            return Err(FarmError::Binary {
                binary: plan.binary.clone(),
                reason: format!(
                    "it is built for {arch}, but {}: build Mattebox for the nodes and submit with that binary",
                    wrong.join(", ")
                ),
            });
        }
        Ok(vec![format!(
            "slurm: {} node(s) ({}), binary for {arch}",
            nodes.len(),
            nodes.join(", ")
        )])
    }

    fn submit(
        &self,
        plan: &FarmPlan,
        request: &Request,
        dry_run: bool,
    ) -> Result<Submitted, FarmError> {
        let dir = plan.farm_dir();
        let lock_path = dir.join(LOCK_SCRIPT);
        let chunks_path = dir.join(CHUNKS_SCRIPT);
        let finalise_path = dir.join(FINALISE_SCRIPT);
        let mut scripts = Vec::new();
        if let (true, Some(lock)) = (request.lock, &plan.lock) {
            scripts.push((lock_path.clone(), lock_script(plan, lock)));
        }
        if !request.chunks.is_empty() {
            scripts.push((chunks_path.clone(), chunks_script(plan)));
        }
        scripts.push((finalise_path.clone(), finalise_script(plan)));

        let lock_args = vec!["--parsable".to_string(), path_arg(&lock_path)];
        let chunk_args = |lock: Option<&str>| {
            let mut a = vec![
                "--parsable".to_string(),
                format!("--array={}", array_spec(&request.chunks)),
            ];
            if let Some(lock) = lock {
                a.push(format!("--dependency=afterok:{lock}"));
                a.push("--kill-on-invalid-dep=yes".into());
            }
            a.push(path_arg(&chunks_path));
            a
        };
        let finalise_args = |array: Option<&str>| {
            let mut after: Vec<String> = array.map(str::to_string).into_iter().collect();
            after.extend(request.wait_for.iter().map(|w| match w.task {
                Some(t) => format!("{}_{t}", w.job),
                None => w.job.clone(),
            }));
            let mut a = vec!["--parsable".to_string()];
            if !after.is_empty() {
                a.push(format!("--dependency=afterok:{}", after.join(":")));
                a.push("--kill-on-invalid-dep=yes".into());
            }
            a.push(path_arg(&finalise_path));
            a
        };
        let has_lock = request.lock && plan.lock.is_some();
        let has_chunks = !request.chunks.is_empty();

        if dry_run {
            let sb =
                |args: Vec<String>| shell_line(std::iter::once("sbatch".to_string()).chain(args));
            let mut commands = Vec::new();
            if has_lock {
                commands.push(format!("LOCK=$({})", sb(lock_args)));
            }
            if has_chunks {
                let line = sb(chunk_args(has_lock.then_some("PLACEHOLDER_LOCK")));
                commands.push(format!(
                    "ARRAY=$({})",
                    line.replace("PLACEHOLDER_LOCK", "$LOCK")
                ));
            }
            let line = sb(finalise_args(has_chunks.then_some("PLACEHOLDER_ARRAY")));
            commands.push(line.replace("PLACEHOLDER_ARRAY", "$ARRAY"));
            return Ok(Submitted {
                scripts,
                commands,
                submission: None,
            });
        }

        std::fs::create_dir_all(&dir).map_err(FarmError::io(&dir))?;
        for (path, text) in &scripts {
            crate::export::write_atomic(path, |w| {
                std::io::Write::write_all(w, text.as_bytes())
                    .map_err(|e| crate::export::ExportError::write(path, e))
            })?;
        }
        let mut commands = Vec::new();
        let mut run = |args: Vec<String>| -> Result<String, FarmError> {
            commands.push(shell_line(
                std::iter::once("sbatch".to_string()).chain(args.iter().cloned()),
            ));
            self.sbatch(&args)
        };
        let lock_job = if has_lock {
            Some(run(lock_args)?)
        } else {
            None
        };
        let array_job = if has_chunks {
            Some(run(chunk_args(lock_job.as_deref()))?)
        } else {
            None
        };
        let finalise_job = run(finalise_args(array_job.as_deref()))?;
        Ok(Submitted {
            scripts,
            commands,
            submission: Some(Submission {
                submitted_unix_s: ShotSidecar::now_unix_s(),
                lock_job,
                array_job,
                chunks: request.chunks.clone(),
                finalise_job,
            }),
        })
    }

    fn query(&self, submissions: &[Submission]) -> Result<EngineView, FarmError> {
        let mut view = EngineView::default();
        let mut ids: Vec<&str> = Vec::new();
        for s in submissions {
            ids.extend(s.lock_job.as_deref());
            ids.extend(s.array_job.as_deref());
            ids.push(&s.finalise_job);
        }
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            // One job at a time: squeue refuses a whole list when one id is unknown.
            let out = match self.run(
                "squeue",
                &["-h", "-r", "-t", "all", "-j", id, "-o", "%i|%T|%r"],
            ) {
                Ok(out) => out,
                // Slurm has forgotten it (ended more than MinJobAge ago): the stamps tell.
                Err(FarmError::Command { stderr, .. }) if stderr.contains("Invalid job id") => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            for (task, state) in parse_squeue(&out) {
                let state = match state {
                    EngineState::Ended { name, detail } => {
                        let detail = self.exit_detail(&task).unwrap_or(detail);
                        EngineState::Ended { name, detail }
                    }
                    other => other,
                };
                match task.split_once('_') {
                    Some((job, t)) => {
                        if let Ok(t) = t.parse::<usize>() {
                            view.tasks.insert((job.to_string(), t), state);
                        }
                    }
                    None => {
                        view.jobs.insert(task, state);
                    }
                }
            }
        }
        Ok(view)
    }

    fn cancel(&self, job: &str) -> Result<(), FarmError> {
        self.run("scancel", &[job]).map(|_| ())
    }
}

impl Slurm {
    /// A failed task's exit code and reason, from `scontrol show job`.
    fn exit_detail(&self, task: &str) -> Option<String> {
        let out = self.run("scontrol", &["-o", "show", "job", task]).ok()?;
        let line = out.lines().next()?;
        let fields = key_values(line);
        let mut parts = Vec::new();
        if let Some(code) = fields.get("ExitCode") {
            parts.push(format!("exit code {code}"));
        }
        if let Some(reason) = fields.get("Reason").filter(|r| **r != "None") {
            parts.push(reason.to_string());
        }
        Some(parts.join(", "))
    }
}

/// `KEY=value` words of an `scontrol -o` line.
fn key_values(line: &str) -> std::collections::HashMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect()
}

/// The job id of `sbatch --parsable` (`123`, or `123;cluster`).
fn parse_job_id(out: &str) -> Option<String> {
    let id = out.trim().split(';').next()?.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

/// `squeue -h -r -o %i|%T|%r` lines as (job or `job_task`, state).
fn parse_squeue(out: &str) -> Vec<(String, EngineState)> {
    out.lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, '|');
            let id = parts.next()?.trim();
            let state = parts.next()?.trim();
            let reason = parts.next().unwrap_or("").trim();
            if id.is_empty() || state.is_empty() {
                return None;
            }
            let state = match state {
                "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD"
                | "CONFIGURING" => EngineState::Pending {
                    reason: reason.to_string(),
                },
                "RUNNING" | "COMPLETING" | "SUSPENDED" | "RESIZING" | "SIGNALING" | "STAGE_OUT" => {
                    EngineState::Running
                }
                "COMPLETED" => EngineState::Completed,
                other => EngineState::Ended {
                    name: other.to_string(),
                    detail: if reason == "None" {
                        String::new()
                    } else {
                        reason.to_string()
                    },
                },
            };
            Some((id.to_string(), state))
        })
        .collect()
}

/// Array indices for `--array`: runs of consecutive indices as ranges, `0-3,7,9-10`.
pub fn array_spec(indices: &[usize]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

fn path_arg(path: &std::path::Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `#SBATCH` lines: the job's name, log, folder and resources.
fn header(plan: &FarmPlan, what: &str, job_name: &str, output: &str, append: bool) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!(
        "# {what}\n# Written by {} (`mattebox farm submit`); `sbatch` it as the commands printed by\n# `mattebox farm submit --dry-run` do, or adapt it to your site.\n",
        crate::SOFTWARE
    ));
    let mut directive = |flag: &str, value: &str| {
        s.push_str(&format!("#SBATCH --{flag}={}\n", sbatch_value(value)));
    };
    directive("job-name", job_name);
    directive("output", output);
    if append {
        directive("open-mode", "append");
    }
    directive("chdir", &plan.workdir.to_string_lossy());
    directive("ntasks", "1");
    let r = &plan.resources;
    if let Some(p) = &r.partition {
        directive("partition", p);
    }
    if let Some(t) = &r.time {
        directive("time", t);
    }
    if let Some(m) = &r.mem {
        directive("mem", m);
    }
    if let Some(c) = r.cpus_per_task {
        directive("cpus-per-task", &c.to_string());
    }
    s
}

/// A `#SBATCH` value, in double quotes when it has a space.
fn sbatch_value(v: &str) -> String {
    if v.contains(char::is_whitespace) {
        format!("\"{}\"", v.replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// The lines that refuse to start when the node cannot run the binary, saying why.
fn binary_check(plan: &FarmPlan) -> String {
    let bin = shell_quote(&plan.binary.to_string_lossy());
    format!(
        r#"BIN={bin}
if [ ! -x "$BIN" ]; then
    echo "mattebox farm: $BIN is not an executable file on $(hostname): the nodes must see the same binary, on a shared filesystem" >&2
    exit 2
fi
if ! "$BIN" --version >/dev/null 2>&1; then
    echo "mattebox farm: $BIN cannot run on $(hostname) ($(uname -m)): $("$BIN" --version 2>&1 | head -n 3)" >&2
    exit 2
fi
"#
    )
}

fn lock_script(plan: &FarmPlan, lock: &super::LockStep) -> String {
    let mut s = header(
        plan,
        &format!(
            "Locks the shot-wide depth range of {} once, before any chunk runs.",
            plan.input.display()
        ),
        &format!("mattebox-lock-{}", plan.name),
        &lock.log.to_string_lossy(),
        true,
    );
    s.push_str("set -u\n");
    s.push_str(r#"echo "== mattebox farm: depth lock, Slurm job ${SLURM_JOB_ID:-?}, on $(hostname), $(date -u '+%Y-%m-%d %H:%M:%S UTC')""#);
    s.push('\n');
    s.push_str(&binary_check(plan));
    s.push_str(&format!(
        "exec \"$BIN\" {}\n",
        shell_line(lock.args.iter().map(String::as_str))
    ));
    s
}

fn chunks_script(plan: &FarmPlan) -> String {
    let slurm_log = plan.out_dir.join(super::LOG_DIR).join("slurm-%A_%a.out");
    let mut s = header(
        plan,
        &format!(
            "The chunks of {}: array task N makes chunk N's frames; each chunk's log is\n# logs/<shot>.<first>-<last>.log (Slurm's own messages: logs/slurm-<job>_<task>.out).",
            plan.input.display()
        ),
        &format!("mattebox-{}", plan.name),
        &slurm_log.to_string_lossy(),
        true,
    );
    s.push_str("set -u\ncase \"${SLURM_ARRAY_TASK_ID:-}\" in\n");
    for chunk in &plan.chunks {
        let frames = chunk
            .frames
            .map(|f| crate::shot::FrameRange::from(f).to_string())
            .unwrap_or_default();
        s.push_str(&format!(
            "    {}) FRAMES={}; LOG={} ;;\n",
            chunk.index,
            shell_quote(&frames),
            shell_quote(&chunk.log.to_string_lossy())
        ));
    }
    s.push_str(
        r#"    *)
        echo "mattebox farm: no chunk '${SLURM_ARRAY_TASK_ID:-}' in this job: submit it with sbatch --array" >&2
        exit 2
        ;;
esac
exec >>"$LOG" 2>&1
echo "== mattebox farm: frames ${FRAMES:-all}, Slurm job ${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID}, on $(hostname), $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
"#,
    );
    s.push_str(&binary_check(plan));
    s.push_str(&format!(
        "exec \"$BIN\" {} ${{FRAMES:+--frames \"$FRAMES\"}}\n",
        shell_line(plan.task_args.iter().map(String::as_str))
    ));
    s
}

fn finalise_script(plan: &FarmPlan) -> String {
    let mut s = header(
        plan,
        "Runs once every chunk has succeeded: rebuilds the shot's sidecar from the stamps, makes\n# the animatic movie when asked, and writes farm/summary.json.",
        &format!("mattebox-finalise-{}", plan.name),
        &plan.finalise_log.to_string_lossy(),
        true,
    );
    s.push_str("set -u\n");
    s.push_str(r#"echo "== mattebox farm: finalise, Slurm job ${SLURM_JOB_ID:-?}, on $(hostname), $(date -u '+%Y-%m-%d %H:%M:%S UTC')""#);
    s.push('\n');
    s.push_str(&binary_check(plan));
    s.push_str(&format!(
        "exec \"$BIN\" {}\n",
        shell_line(plan.finalise_args())
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_indices_compress_to_ranges() {
        assert_eq!(array_spec(&[0, 1, 2]), "0-2");
        assert_eq!(array_spec(&[5, 0, 1, 3, 7, 8]), "0-1,3,5,7-8");
        assert_eq!(array_spec(&[4]), "4");
    }

    #[test]
    fn sbatch_and_squeue_answers_are_read() {
        assert_eq!(parse_job_id("123\n").as_deref(), Some("123"));
        assert_eq!(parse_job_id("77;cluster\n").as_deref(), Some("77"));
        assert_eq!(parse_job_id("Submitted batch job 5"), None);
        let rows = parse_squeue(
            "45_0|COMPLETED|None\n45_1|CANCELLED|None\n45_2|RUNNING|None\n46|PENDING|Dependency\n",
        );
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0], ("45_0".into(), EngineState::Completed));
        assert_eq!(
            rows[1].1,
            EngineState::Ended {
                name: "CANCELLED".into(),
                detail: String::new()
            }
        );
        assert_eq!(rows[2].1, EngineState::Running);
        assert_eq!(
            rows[3].1,
            EngineState::Pending {
                reason: "Dependency".into()
            }
        );
        let kv = key_values("JobId=45 ArrayTaskId=1 JobState=CANCELLED Reason=None ExitCode=0:15");
        assert_eq!(kv.get("ExitCode"), Some(&"0:15"));
    }
}
