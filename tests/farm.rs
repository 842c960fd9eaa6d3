//! `mattebox farm` on a real Slurm: `tests/slurm/cluster.sh` starts munged, slurmctld and slurmd
//! for one node on this machine (own config, ports, socket and folders), the real binary submits
//! real job arrays with `sbatch`, and real frames come back. The farm's EXRs are compared with a
//! single-machine `mattebox render` of the same shot: bit-identical pixels and identical
//! headers. A fault test cancels a running task with `scancel`, reads it back from
//! `farm status`, and `farm resubmit` remakes only what is missing.
//!
//! Slurm's daemons need root. Without Slurm or root the cluster test is skipped with a message,
//! except on CI (`CI=true`), where it fails: scripts/setup.sh installs slurm-wlm and munge. The
//! daemons are stopped by their PIDs when the test ends, passed or failed (`Cluster`'s Drop).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

use mattebox::project::Project;
use mattebox::shot::FrameRange;

const FRAMES: std::ops::RangeInclusive<u32> = 1001..=1012;

fn on_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether a program is installed: an executable file of that name on the PATH or in /usr/sbin.
/// (Slurm's client commands fail even `--version` without a configuration, so none is run.)
fn have(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .any(|p| {
            std::fs::metadata(&p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A one-node cluster, stopped (by the PIDs its daemons wrote) when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    fn script() -> PathBuf {
        common::repo().join("tests/slurm/cluster.sh")
    }

    /// Starts one, or says why not (`None`: skipped here; on CI a missing Slurm fails).
    fn start(dir: &Path) -> Option<Cluster> {
        let missing: Vec<&str> = [
            "sbatch",
            "squeue",
            "scontrol",
            "slurmctld",
            "slurmd",
            "munged",
        ]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let why = if !missing.is_empty() {
            Some(format!(
                "{} missing (apt-get install slurm-wlm munge; scripts/setup.sh does)",
                missing.join(", ")
            ))
        } else if !root {
            Some("Slurm's daemons need root".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            assert!(!on_ci(), "the Slurm test cannot run on CI: {why}");
            eprintln!("skipped: the Slurm farm test needs a local cluster: {why}");
            return None;
        }
        // The guard exists before the daemons do, so a failed start is cleaned up too.
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
        };
        let out = Command::new("bash")
            .arg(Cluster::script())
            .arg("start")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster.sh start failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("SLURM_CONF="));
        Some(cluster)
    }

    /// A command pointed at this cluster.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn mattebox(&self) -> Command {
        let mut c = common::bin();
        c.env("SLURM_CONF", &self.conf);
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Cluster::script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn show(what: &str, out: &Output) -> String {
    let text = format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    text
}

fn ok(what: &str, out: Output) -> String {
    let text = show(what, &out);
    assert!(out.status.success(), "{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The shot: 12 frames (the sample shot's 6, then the same mirrored), 160×120.
fn make_shot(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let sources = common::sample_frames();
    for (i, n) in FRAMES.enumerate() {
        let img = image::open(&sources[i % sources.len()])
            .unwrap()
            .resize_exact(160, 120, image::imageops::FilterType::Triangle);
        let img = if i >= sources.len() { img.fliph() } else { img };
        img.save(dir.join(format!("astro.{n}.png"))).unwrap();
    }
    dir.join("astro.####.png")
}

fn status_json(cluster: &Cluster, out: &Path) -> serde_json::Value {
    let o = cluster
        .mattebox()
        .args(["farm", "status", "--json"])
        .arg(out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", show("farm status", &o));
    serde_json::from_str(&text).unwrap()
}

fn chunk_states(status: &serde_json::Value) -> Vec<String> {
    status["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"]["state"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until `done` says yes, printing the status and every log on a timeout.
fn wait_for(
    cluster: &Cluster,
    out: &Path,
    what: &str,
    limit: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let st = status_json(cluster, out);
        if done(&st) {
            println!("{what} after {:.1} s", start.elapsed().as_secs_f64());
            return st;
        }
        if start.elapsed() > limit {
            dump_logs(cluster, out);
            panic!("timed out waiting for {what}; status: {st:#}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn dump_logs(cluster: &Cluster, out: &Path) {
    for dir in [out.join("logs"), cluster.dir.join("log")] {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                println!("--- {}", e.path().display());
                for l in tail.into_iter().rev() {
                    println!("{l}");
                }
            }
        }
    }
}

/// Every chunk is done and the finalise job has ended well, with its summary written.
fn finished(st: &serde_json::Value) -> bool {
    !st["summary"].is_null()
        && st["finalise"][1]["state"] == "completed"
        && chunk_states(st).iter().all(|s| s == "done")
}

fn frame_files(out: &Path) -> Vec<PathBuf> {
    FRAMES
        .flat_map(|n| {
            [
                out.join(format!("passes/astro.{n}.exr")),
                out.join(format!("composite/astro.{n}.exr")),
                out.join(format!("animatic/astro.{n}.png")),
            ]
        })
        .collect()
}

/// The header attributes that may differ between two runs of one shot in two folders. None do
/// here: source paths are relative to each file's folder and the two output folders sit side by
/// side, and nothing in a header depends on the time or the machine.
const MAY_DIFFER: &[&str] = &[];

/// The farm's EXR equals the single-machine one: the same bytes, or else bit-identical
/// channels and headers equal but for [`MAY_DIFFER`].
fn assert_same_exr(farm: &Path, single: &Path) {
    let (a, b) = (std::fs::read(farm).unwrap(), std::fs::read(single).unwrap());
    if a == b {
        return;
    }
    let (ca, cb) = (common::exr_channels(farm), common::exr_channels(single));
    assert_eq!(ca.len(), cb.len(), "{}: channels differ", farm.display());
    for ((na, va), (nb, vb)) in ca.iter().zip(&cb) {
        assert_eq!(na, nb, "{}", farm.display());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(
            bits(va.as_slice()) == bits(vb.as_slice()),
            "{}: channel {na} differs from {}",
            farm.display(),
            single.display()
        );
    }
    let attrs = |p: &Path| -> BTreeMap<String, String> {
        let mut m = mattebox::export::describe_exr(p).unwrap().parts[0]
            .attributes
            .clone();
        m.retain(|k, _| !MAY_DIFFER.contains(&k.as_str()));
        m
    };
    assert_eq!(
        attrs(farm),
        attrs(single),
        "{}: headers differ",
        farm.display()
    );
}

/// Every frame's outputs exist and equal the single-machine run's; the sidecar lists every frame.
fn assert_matches_single(out: &Path, single: &Path) {
    for f in frame_files(out) {
        assert!(f.is_file(), "{} is missing", f.display());
        let rel = f.strip_prefix(out).unwrap();
        let reference = single.join(rel);
        if f.extension().is_some_and(|e| e == "exr") {
            assert_same_exr(&f, &reference);
        } else {
            assert!(
                std::fs::read(&f).unwrap() == std::fs::read(&reference).unwrap(),
                "{} differs from {}",
                f.display(),
                reference.display()
            );
        }
    }
    if have("ffmpeg") {
        assert!(out.join("animatic/astro.mp4").is_file(), "no animatic MP4");
    }
    // The sidecar, rebuilt by the finalise job from every chunk's stamps, lists every frame as
    // the single-machine run's does; only its creation time may differ.
    let sidecar = |dir: &Path| {
        let mut s = mattebox::export::read_sidecar(&dir.join("passes/mattebox.json")).unwrap();
        s.created_unix_s = None;
        s
    };
    let (farm_sidecar, single_sidecar) = (sidecar(out), sidecar(single));
    let numbers: Vec<u32> = farm_sidecar.frames.iter().filter_map(|f| f.frame).collect();
    assert_eq!(numbers, FRAMES.collect::<Vec<_>>());
    assert!(
        farm_sidecar
            .frames
            .iter()
            .all(|f| f.status == mattebox::export::FrameStatus::Done)
    );
    assert_eq!(farm_sidecar, single_sidecar);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("farm/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["done"], 12, "{summary:#}");
    assert_eq!(summary["missing"].as_array().unwrap().len(), 0);
}

/// The files of every frame whose stamp is written (a file written without its stamp, by a task
/// killed in between, is not vouched for and is made again).
fn stamped_files(out: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in FRAMES {
        let pass_stamp = out.join(format!("passes/.mattebox/astro.{n}.json"));
        if pass_stamp.is_file() {
            files.extend([pass_stamp, out.join(format!("passes/astro.{n}.exr"))]);
        }
        let render_stamp = out.join(format!(".mattebox/astro.render.{n}.json"));
        if render_stamp.is_file() {
            files.extend([
                render_stamp,
                out.join(format!("composite/astro.{n}.exr")),
                out.join(format!("animatic/astro.{n}.png")),
            ]);
        }
    }
    files
}

fn mtimes(files: &[PathBuf]) -> Vec<(PathBuf, SystemTime)> {
    files
        .iter()
        .filter(|f| f.is_file())
        .map(|f| (f.clone(), std::fs::metadata(f).unwrap().modified().unwrap()))
        .collect()
}

fn submit(cluster: &Cluster, project: &Path, out: &Path, cache: &Path) -> serde_json::Value {
    let o = cluster
        .mattebox()
        .args(["farm", "submit"])
        .arg(project)
        .arg("--out")
        .arg(out)
        .args(["--what", "composite,animatic", "--chunk", "4"])
        .args(["--renderer", "cpu", "--json", "--cache-dir"])
        .arg(cache)
        .output()
        .unwrap();
    let text = ok("farm submit", o);
    let line = text
        .lines()
        .find(|l| l.contains("\"submitted\""))
        .unwrap_or_else(|| panic!("no submitted line in {text}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_shot_rendered_on_slurm_equals_a_single_machine_render_even_after_a_cancelled_task() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    // munged runs as the `munge` user: it must reach its socket's folder inside this one.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let Some(cluster) = Cluster::start(&tmp.path().join("cluster")) else {
        return;
    };
    println!("cluster up after {:.1} s", started.elapsed().as_secs_f64());
    common::quiet_vulkan();
    let shot = make_shot(&tmp.path().join("shot"));
    let project_path = tmp.path().join("astro.mattebox.json");
    Project::template_for(
        shot.clone(),
        Some(FrameRange {
            first: *FRAMES.start(),
            last: *FRAMES.end(),
        }),
    )
    .save(&project_path)
    .unwrap();

    // The reference: one machine, one run.
    let single = tmp.path().join("single");
    let t = Instant::now();
    ok(
        "single-machine render",
        common::bin()
            .arg("render")
            .arg(&project_path)
            .arg("--out")
            .arg(&single)
            .args(["--what", "composite,animatic", "--renderer", "cpu"])
            .arg("--cache-dir")
            .arg(tmp.path().join("cache-single"))
            .output()
            .unwrap(),
    );
    println!("single-machine render: {:.1} s", t.elapsed().as_secs_f64());

    // Errors name the problem: a binary the nodes cannot run.
    let not_a_binary = tmp.path().join("mattebox-for-another-os");
    std::fs::write(&not_a_binary, "#!/bin/sh\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&not_a_binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o = cluster
        .mattebox()
        .args(["farm", "submit"])
        .arg(&project_path)
        .arg("--out")
        .arg(tmp.path().join("refused"))
        .arg("--binary")
        .arg(&not_a_binary)
        .output()
        .unwrap();
    let text = show("farm submit --binary (not one)", &o);
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("cannot run") && text.contains("not an ELF executable"),
        "{text}"
    );
    assert!(!tmp.path().join("refused/farm/plan.json").exists());

    // 1. The whole shot on the farm: lock, 3 chunks of 4 frames, finalise.
    let farm1 = tmp.path().join("farm");
    let t = Instant::now();
    let submitted = submit(
        &cluster,
        &project_path,
        &farm1,
        &tmp.path().join("cache-farm"),
    );
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "submitting took {:?}",
        t.elapsed()
    );
    assert!(submitted["lock_job"].is_string(), "{submitted:#}");
    assert!(submitted["array_job"].is_string(), "{submitted:#}");
    let ranges: Vec<&str> = submitted["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["frames"].as_str().unwrap())
        .collect();
    assert_eq!(ranges, ["1001-1004", "1005-1008", "1009-1012"]);
    let st = wait_for(
        &cluster,
        &farm1,
        "the farm job",
        Duration::from_secs(600),
        finished,
    );
    println!("farm job: {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(st["finalise"][1]["state"], "completed", "{st:#}");
    assert_matches_single(&farm1, &single);
    // One log per chunk beside the output, named after its frames; the depth lock's.
    for r in ranges {
        let log = std::fs::read_to_string(farm1.join(format!("logs/astro.{r}.log"))).unwrap();
        assert!(log.contains(&format!("mattebox farm: frames {r}")), "{log}");
    }
    let lock_log = std::fs::read_to_string(farm1.join("logs/astro.depth-range.log")).unwrap();
    assert!(lock_log.contains("locked in"), "{lock_log}");
    // The human view says the same.
    let human = ok(
        "farm status",
        cluster
            .mattebox()
            .args(["farm", "status"])
            .arg(&farm1)
            .output()
            .unwrap(),
    );
    assert!(
        human.contains("12 of 12 frame(s) done in 3 chunk(s)"),
        "{human}"
    );
    assert!(human.contains("logs/astro.1005-1008.log"), "{human}");

    // 2. The fault: a task cancelled while it runs.
    let farm2 = tmp.path().join("farm-fault");
    let t = Instant::now();
    let submitted = submit(
        &cluster,
        &project_path,
        &farm2,
        &tmp.path().join("cache-fault"),
    );
    let array = submitted["array_job"].as_str().unwrap().to_string();
    let victim = format!("{array}_0");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let o = cluster
            .command("squeue")
            .args(["-h", "-r", "-t", "all", "-j", &victim, "-o", "%T"])
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if state == "RUNNING" {
            break;
        }
        assert!(
            ["PENDING", "CONFIGURING", ""].contains(&state.as_str()),
            "{victim} is {state} before it could be cancelled"
        );
        assert!(Instant::now() < deadline, "{victim} never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    ok(
        "scancel",
        cluster.command("scancel").arg(&victim).output().unwrap(),
    );
    println!("cancelled {victim} while it ran");
    // The other chunks finish; the cancelled one is reported failed, with its log.
    let st = wait_for(
        &cluster,
        &farm2,
        "the other chunks",
        Duration::from_secs(600),
        |st| {
            chunk_states(st)
                .iter()
                .all(|s| s != "pending" && s != "running")
        },
    );
    assert_eq!(
        chunk_states(&st),
        ["failed", "done", "done"],
        "the cancel came too late, or another chunk failed: {st:#}"
    );
    let chunk0 = &st["chunks"][0];
    let reason = chunk0["state"]["reason"].as_str().unwrap();
    assert!(reason.contains("CANCELLED"), "{st:#}");
    assert!(
        chunk0["log"]
            .as_str()
            .unwrap()
            .ends_with("logs/astro.1001-1004.log")
    );
    assert!(st["summary"].is_null(), "finalised despite a failed chunk");
    let human = ok(
        "farm status",
        cluster
            .mattebox()
            .args(["farm", "status"])
            .arg(&farm2)
            .output()
            .unwrap(),
    );
    assert!(
        human.contains("failed") && human.contains("CANCELLED"),
        "{human}"
    );
    assert!(human.contains("farm resubmit"), "{human}");

    // Resubmitting runs only the cancelled chunk, and in it only its missing frames: every file
    // already written keeps its modification time.
    let before = mtimes(&stamped_files(&farm2));
    assert!(
        before.len() >= 2 * 5 * 4,
        "chunks 1 and 2 are stamped: {before:?}"
    );
    let done_before = chunk0["done"].as_u64().unwrap();
    println!("chunk 0 had {done_before} of 4 frames when cancelled");
    let text = ok(
        "farm resubmit",
        cluster
            .mattebox()
            .args(["farm", "resubmit", "--json"])
            .arg(&farm2)
            .output()
            .unwrap(),
    );
    let re: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(re["frames"], serde_json::json!(["1001-1004"]), "{re:#}");
    assert_eq!(re["submission"]["chunks"], serde_json::json!([0]), "{re:#}");
    assert!(
        re["submission"]["lock_job"].is_null(),
        "the depth was locked already"
    );
    wait_for(
        &cluster,
        &farm2,
        "the resubmitted chunk",
        Duration::from_secs(600),
        finished,
    );
    println!("fault test: {:.1} s", t.elapsed().as_secs_f64());
    for (f, m) in before {
        assert_eq!(
            std::fs::metadata(&f).unwrap().modified().unwrap(),
            m,
            "{} was made again",
            f.display()
        );
    }
    assert_matches_single(&farm2, &single);
    // Nothing is left to do, and saying so changes nothing.
    let text = ok(
        "farm resubmit (again)",
        cluster
            .mattebox()
            .args(["farm", "resubmit"])
            .arg(&farm2)
            .output()
            .unwrap(),
    );
    assert!(text.contains("nothing to resubmit"), "{text}");
    println!("whole test: {:.1} s", started.elapsed().as_secs_f64());
}

/// Without any farm: the dry run prints the scripts and the sbatch lines and writes nothing; a
/// machine without `sbatch` is told so; a folder without a job is named.
#[test]
fn a_dry_run_shows_the_job_array_and_missing_tools_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let shot = make_shot(&tmp.path().join("shot"));
    let project_path = tmp.path().join("astro.mattebox.json");
    Project::template_for(shot, None)
        .save(&project_path)
        .unwrap();
    let out = tmp.path().join("out");
    let o = common::bin()
        .args(["farm", "submit"])
        .arg(&project_path)
        .arg("--out")
        .arg(&out)
        .args(["--chunk", "5", "--partition", "gpu", "--time", "1:00:00"])
        .args(["--mem", "4G", "--cpus-per-task", "2", "--dry-run"])
        .output()
        .unwrap();
    let text = ok("farm submit --dry-run", o);
    for want in [
        "#SBATCH --partition=gpu",
        "#SBATCH --time=1:00:00",
        "#SBATCH --mem=4G",
        "#SBATCH --cpus-per-task=2",
        "0) FRAMES=1001-1005;",
        "1) FRAMES=1006-1010;",
        "2) FRAMES=1011-1012;",
        "LOCK=$(sbatch --parsable",
        "--array=0-2 --dependency=afterok:$LOCK --kill-on-invalid-dep=yes",
        "--dependency=afterok:$ARRAY",
        "farm lock-depth",
        "--depth-range-lock",
        "--colorspace auto --working-space linear",
        "farm finalise",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    assert!(!out.exists(), "a dry run wrote {}", out.display());

    // No sbatch here: the error names it.
    let empty = tmp.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let o = common::bin()
        .env("PATH", &empty)
        .args(["farm", "submit"])
        .arg(&project_path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let text = show("farm submit without sbatch", &o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("`sbatch` is not on the PATH"), "{text}");
    assert!(!out.join("farm/plan.json").exists());

    let o = common::bin()
        .args(["farm", "status"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let text = show("farm status (no job)", &o);
    assert!(!o.status.success());
    assert!(text.contains("holds no farm job"), "{text}");
}

#[test]
fn a_depth_lock_is_refused_by_a_run_in_another_colour_space() {
    // The lock is keyed like the pass cache: model and input colour space. A chunk that would
    // convert the plates otherwise than the lock's sampling did must not use its range.
    let tmp = tempfile::tempdir().unwrap();
    let shot = make_shot(&tmp.path().join("shot"));
    let lock = tmp.path().join("lock.json");
    let cache = tmp.path().join("cache");
    let o = common::bin()
        .args(["farm", "lock-depth"])
        .arg(&shot)
        .arg("--lock")
        .arg(&lock)
        .args(["--colorspace", "rec709", "--cache-dir"])
        .arg(&cache)
        .output()
        .unwrap();
    ok("farm lock-depth --colorspace rec709", o);
    let process = |colour: &str| {
        common::bin()
            .arg("process")
            .arg(&shot)
            .arg("--out")
            .arg(tmp.path().join(format!("out-{colour}")))
            .args([
                "--frames",
                "1001-1001",
                "--matte",
                "none",
                "--colorspace",
                colour,
            ])
            .arg("--depth-range-lock")
            .arg(&lock)
            .arg("--cache-dir")
            .arg(&cache)
            .output()
            .unwrap()
    };
    let o = process("srgb");
    let text = show("process --colorspace srgb with a rec709 lock", &o);
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("the locked depth range does not fit this run")
            && text.contains("input colour space `rec709`")
            && text.contains("as `srgb`"),
        "{text}"
    );
    assert!(!tmp.path().join("out-srgb/astro.1001.exr").exists());
    ok(
        "process --colorspace rec709 with its lock",
        process("rec709"),
    );
    assert!(tmp.path().join("out-rec709/astro.1001.exr").exists());
}
