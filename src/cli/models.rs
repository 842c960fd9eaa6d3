//! `mattebox models list`, `verify`, `add` and `fetch`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use mattebox::infer::Model;
use mattebox::infer::add::{AddOptions, AddOutcome, add_model};

use super::RuntimeArgs;

/// The `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List every model in the manifest, with its task, licence and whether its file is present.
    List {
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check each present model file's SHA-256 and load it in ONNX Runtime to check its inputs
    /// and outputs against the manifest. Bundled models that are missing count as failures.
    Verify {
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// Only these model ids (default: all).
        ids: Vec<String>,
    },
    /// Add an ONNX model you have: inspect its graph, recognise its family (Depth Anything V2,
    /// MiDaS, U²-Net, IS-Net, BiRefNet), copy it into the models folder with its SHA-256 pinned,
    /// check it once on a sample frame and write its entry as <id>.toml. A graph of no known
    /// family gets <id>.toml.template to fill in.
    Add {
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// The .onnx file.
        file: PathBuf,
        /// The entry's id (default: from the file name).
        #[arg(long)]
        id: Option<String>,
        /// The task, depth or matte: checked against the recognised family, and filled into
        /// an unknown graph's template.
        #[arg(long, value_parser = parse_task)]
        task: Option<mattebox::infer::Task>,
        /// Inspect, propose and check only: copy and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace an existing entry of this id (and a different file of this name).
        #[arg(long)]
        force: bool,
        /// The frame the check runs on (default: the sample shot's first frame).
        #[arg(long, value_name = "IMAGE")]
        sample: Option<PathBuf>,
    },
    /// Download a model whose manifest entry has a `url` (internet access needed). Resumes a
    /// partial download; checks the pinned SHA-256, or records it on the first fetch.
    Fetch {
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// The model ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Accept a non-commercial licence (the weights may then be used only as it allows).
        #[arg(long)]
        accept_licence: bool,
    },
}

fn parse_task(s: &str) -> Result<mattebox::infer::Task, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "depth" => Ok(mattebox::infer::Task::Depth),
        "matte" => Ok(mattebox::infer::Task::Matte),
        other => Err(format!("unknown task `{other}`: use depth or matte")),
    }
}

/// Runs a `models` subcommand.
pub fn run(cmd: ModelsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelsCommand::List { runtime, json } => {
            let manifest = runtime.manifest()?;
            if !json {
                println!("models folder: {}", manifest.models_dir.display());
                println!("{:<26} {:<6} {:<8} licence", "id", "task", "file");
            }
            for m in &manifest.models {
                let present = m.path_in(&manifest.models_dir).is_file();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": m.id, "task": m.task.as_str(), "file": m.path_in(&manifest.models_dir),
                            "present": present, "licence": m.licence, "sha256": m.sha256, "url": m.url,
                            "semantics": m.output.semantics, "description": m.description,
                        })
                    );
                } else {
                    println!(
                        "{:<26} {:<6} {:<8} {}",
                        m.id,
                        m.task.as_str(),
                        if present { "present" } else { "missing" },
                        m.licence
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Verify { runtime, ids } => {
            let manifest = runtime.manifest()?;
            let rt = runtime.runtime()?;
            println!("ONNX Runtime {} from {}", rt.version, rt.library.display());
            let mut failures = 0;
            for m in &manifest.models {
                if !ids.is_empty() && !ids.contains(&m.id) {
                    continue;
                }
                let path = m.path_in(&manifest.models_dir);
                if !path.is_file() {
                    // Bundled models (pinned hash) are expected; user profiles are optional.
                    if m.sha256.is_some() && (m.id != "u2net" || ids.contains(&m.id)) {
                        println!(
                            "FAIL {:<26} missing {} (run `bash scripts/setup.sh`)",
                            m.id,
                            path.display()
                        );
                        failures += 1;
                    } else {
                        println!("skip {:<26} not installed ({})", m.id, path.display());
                    }
                    continue;
                }
                match Model::load(&rt, m, &manifest.models_dir) {
                    Ok(model) => println!(
                        "ok   {:<26} sha256 {} on {}",
                        m.id,
                        model.sha256,
                        model.provider.name()
                    ),
                    Err(e) => {
                        println!("FAIL {:<26} {e}", m.id);
                        failures += 1;
                    }
                }
            }
            Ok(if failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        ModelsCommand::Add {
            runtime,
            file,
            id,
            task,
            dry_run,
            force,
            sample,
        } => {
            let manifest = runtime.manifest()?;
            let rt = runtime.runtime()?;
            let options = AddOptions {
                id,
                task,
                dry_run,
                force,
                sample,
            };
            match add_model(&rt, &manifest, &file, &options)? {
                AddOutcome::Added {
                    family,
                    entry,
                    written,
                    text,
                    check,
                } => {
                    println!(
                        "{}: recognised as {} ({} model)",
                        file.display(),
                        family.name(),
                        entry.task.as_str()
                    );
                    println!(
                        "check: ran on {} ({}): output {}x{}, values {:.4}..{:.4}",
                        check
                            .sample
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "a test card".into()),
                        check.provider,
                        check.width,
                        check.height,
                        check.min,
                        check.max
                    );
                    println!("{text}");
                    match written {
                        Some(path) => println!(
                            "wrote {}; use it with --{} {}. Check its licence field.",
                            path.display(),
                            entry.task.as_str(),
                            entry.id
                        ),
                        None => println!("dry run: nothing written"),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                AddOutcome::Unknown {
                    graph,
                    written,
                    text,
                } => {
                    match &written {
                        Some(path) => println!("{text}\nwrote the template {}", path.display()),
                        None => println!("{text}"),
                    }
                    eprintln!(
                        "mattebox: {} is of no model family Mattebox knows (Depth Anything V2, MiDaS, U²-Net, IS-Net, BiRefNet); its graph:\n{graph}\
                         Fill in the TODO fields of the template (task, licence, input size, resize, normalisation, output semantics and post-processing, from the model's reference pipeline), rename it to .toml in {}, then run `mattebox models verify`.",
                        file.display(),
                        manifest.models_dir.display()
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
        ModelsCommand::Fetch {
            runtime,
            ids,
            accept_licence,
        } => {
            let manifest = runtime.manifest()?;
            for id in &ids {
                let Some(entry) = manifest.models.iter().find(|m| &m.id == id) else {
                    anyhow::bail!(
                        "no model named `{id}` in the manifest (known: {})",
                        manifest
                            .models
                            .iter()
                            .map(|m| m.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                };
                println!("{id}: licence {}", entry.licence);
                if let Some(url) = &entry.url {
                    println!("{id}: from {url}");
                }
                let bar = indicatif::ProgressBar::hidden();
                if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                let outcome = mattebox::infer::fetch::fetch(
                    entry,
                    &manifest.models_dir,
                    accept_licence,
                    &mut |done, total| {
                        if let Some(total) = total {
                            bar.set_length(total);
                        }
                        bar.set_position(done);
                    },
                );
                bar.finish_and_clear();
                let outcome = outcome?;
                if outcome.already_present {
                    println!(
                        "{id}: {} is already here, SHA-256 {} checked",
                        outcome.path.display(),
                        outcome.sha256
                    );
                } else {
                    if let Some(n) = outcome.resumed_from {
                        println!("{id}: resumed a partial download at {n} bytes");
                    }
                    println!(
                        "{id}: downloaded {}, SHA-256 {}{}",
                        outcome.path.display(),
                        outcome.sha256,
                        if entry.sha256.is_some() {
                            " (matches the manifest)"
                        } else {
                            ""
                        }
                    );
                }
                if let Some(sidecar) = &outcome.recorded {
                    println!(
                        "{id}: no hash is pinned in the manifest: recorded it in {}, checked on every later use",
                        sidecar.display()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
