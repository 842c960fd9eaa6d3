//! `mattebox models list` and `mattebox models verify`.

use std::process::ExitCode;

use clap::Subcommand;
use mattebox::infer::Model;

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
                            "present": present, "licence": m.licence, "sha256": m.sha256,
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
    }
}
