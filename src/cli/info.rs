//! `mattebox info FILE.exr`: an EXR's layers, channels, sizes and metadata.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `mattebox info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The OpenEXR file(s) to describe.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints each file's description; a bad file is reported and the others still printed.
pub fn run(args: InfoArgs) -> anyhow::Result<ExitCode> {
    let mut code = ExitCode::SUCCESS;
    for file in &args.files {
        match mattebox::export::describe_exr(file) {
            Ok(info) if args.json => println!("{}", serde_json::to_string_pretty(&info)?),
            Ok(info) => println!("{info}"),
            Err(e) => {
                eprintln!("mattebox: error: {e}");
                code = ExitCode::from(1);
            }
        }
    }
    Ok(code)
}
