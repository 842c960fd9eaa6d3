//! The `mattebox` binary: parses the command line and hands off. A subcommand runs headless;
//! no subcommand is reserved for the desktop app.

mod cli;

fn main() -> std::process::ExitCode {
    #[cfg(all(unix, not(target_vendor = "apple")))]
    give_graphics_a_runtime_dir();
    cli::main()
}

/// Sets `XDG_RUNTIME_DIR` to a private folder when it is unset or unusable (a farm node, a
/// container, ssh, cron). When wgpu starts, Mesa's drivers try Wayland, and libwayland prints
/// "error: XDG_RUNTIME_DIR is invalid or not set" without one, on runs that succeed.
#[cfg(all(unix, not(target_vendor = "apple")))]
fn give_graphics_a_runtime_dir() {
    let usable = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .is_some_and(|dir| dir.is_absolute() && dir.is_dir());
    if usable {
        return;
    }
    if let Some(dir) = private_runtime_dir() {
        // SAFETY: this runs first in `main`, before any thread exists, so nothing else reads or
        // writes the environment at the same time.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir) };
    }
}

/// `<temp>/mattebox-runtime-<uid>`, mode 0700, created if missing; `None` if it cannot be made or
/// is not a folder of our own (a link, or another user's).
#[cfg(all(unix, not(target_vendor = "apple")))]
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = std::env::temp_dir().join(format!("mattebox-runtime-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    if !meta.is_dir() || meta.uid() != uid {
        return None;
    }
    if meta.mode() & 0o777 != 0o700 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    Some(dir)
}
