//! The `mattebox` binary: parses the command line and hands off. A subcommand runs headless;
//! no subcommand is reserved for the desktop app.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
