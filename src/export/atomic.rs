//! Atomic file writing: every export is written to a temporary file beside its destination,
//! flushed and synced to disk, then renamed over the destination in one step.
//!
//! A reader (Nuke, a render farm, a second Mattebox) therefore sees either the old complete
//! file or the new complete file, never a partial one. If anything fails, the temporary file is
//! removed and whatever was at the destination before is left as it was.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::ExportError;

/// Buffer size for export writers: large enough that a frame goes out in few system calls.
const BUFFER_BYTES: usize = 1 << 20;

/// Writes `path` atomically: `write` fills a buffered temporary file created in the same
/// directory (named `.{file name}.XXXXXX.tmp`), which is then flushed, synced, and renamed over
/// `path`.
///
/// On any error, from `write` or from the file system, the temporary file is removed and `path`
/// is not touched. The new file gets the usual permissions of a freshly created file
/// (`0o666` less the umask), not the owner-only permissions of a temporary file.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<(), ExportError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), ExportError>,
{
    let Some(file_name) = path.file_name() else {
        return Err(ExportError::invalid(
            path,
            "the path does not end in a file name",
        ));
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };

    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{}.", file_name.to_string_lossy());
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let temp = builder
        .tempfile_in(dir)
        .map_err(|e| ExportError::write(path, plain_io_error(e)))?;

    // From here on, dropping `temp_path` (on any early return) deletes the temporary file.
    let (file, temp_path) = temp.into_parts();
    let mut writer = BufWriter::with_capacity(BUFFER_BYTES, file);
    write(&mut writer)?;
    writer
        .flush()
        .map_err(|e| ExportError::write(path, plain_io_error(e)))?;
    let file = writer
        .into_inner()
        .map_err(|e| ExportError::write(path, plain_io_error(e.into_error())))?;
    file.sync_all()
        .map_err(|e| ExportError::write(path, plain_io_error(e)))?;
    drop(file);

    temp_path
        .persist(path)
        .map_err(|e| ExportError::write(path, plain_io_error(e.error)))?;

    // Make the rename itself durable. Best effort: some file systems (network mounts, FUSE)
    // refuse to sync a directory, and the file is already complete and in place either way.
    if let Ok(dir_handle) = File::open(dir) {
        let _ = dir_handle.sync_all();
    }
    Ok(())
}

/// Strips the temporary file's path that `tempfile` adds to its errors ("... at path
/// \"/x/.y.exr.abc123.tmp\""): the caller's message already names the destination, and the
/// temporary name would only confuse. Other errors pass through unchanged.
pub(crate) fn plain_io_error(error: io::Error) -> io::Error {
    if error.raw_os_error().is_some() || error.get_ref().is_none() {
        return error;
    }
    let message = error.to_string();
    match message.rsplit_once(" at path \"") {
        Some((plain, _)) => io::Error::new(error.kind(), plain.to_string()),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::Command;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_the_whole_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame.bin");
        write_atomic(&path, |w| {
            w.write_all(b"hello")
                .map_err(|e| ExportError::write(&path, e))
        })
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        assert_eq!(entries(dir.path()), vec!["frame.bin".to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn new_file_is_readable_by_others_not_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame.bin");
        write_atomic(&path, |_| Ok(())).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        // 0o666 less any sane umask keeps the owner's read/write bits and at least one more.
        assert_eq!(mode & 0o600, 0o600);
        assert_ne!(
            mode & 0o077,
            0,
            "mode {mode:o} looks like a temp file's 0600"
        );
    }

    #[test]
    fn a_writer_failing_halfway_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame.exr");
        let result = write_atomic(&path, |w| {
            w.write_all(&[7u8; 4096]).unwrap();
            Err(ExportError::invalid(&path, "stopped halfway"))
        });
        let err = result.unwrap_err();
        assert!(err.to_string().contains("frame.exr"), "{err}");
        assert!(!path.exists());
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    #[test]
    fn a_failed_write_keeps_the_old_complete_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame.exr");
        fs::write(&path, b"old complete file").unwrap();
        let _ = write_atomic(&path, |w| {
            w.write_all(b"new partial").unwrap();
            Err(ExportError::invalid(&path, "stopped halfway"))
        })
        .unwrap_err();
        assert_eq!(fs::read(&path).unwrap(), b"old complete file");
        assert_eq!(entries(dir.path()), vec!["frame.exr".to_string()]);
    }

    #[test]
    fn a_path_under_a_regular_file_fails_naming_the_path() {
        // Tests run as root in CI, where chmod 0555 on a folder does not stop writes; a parent
        // that is a regular file fails for everyone (ENOTDIR).
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not_a_folder");
        fs::write(&blocker, b"x").unwrap();
        let path = blocker.join("frame.exr");
        let err = write_atomic(&path, |_| Ok(())).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("cannot write "), "{message}");
        assert!(message.contains(&*path.to_string_lossy()), "{message}");
        assert!(message.contains("Not a directory"), "{message}");
        assert!(!message.contains(".frame.exr."), "{message}");
    }

    /// A real "No space left on device" on a 64 KiB tmpfs. Needs permission to mount (root
    /// with CAP_SYS_ADMIN); skipped with a note where mounting is not permitted.
    #[test]
    fn a_full_disk_reports_enospc_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mount_point = dir.path().join("tiny");
        fs::create_dir(&mount_point).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&mount_point)
            .output();
        match mounted {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                eprintln!(
                    "skipping the ENOSPC test: cannot mount a tmpfs here ({})",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                return;
            }
            Err(e) => {
                eprintln!("skipping the ENOSPC test: cannot run mount ({e})");
                return;
            }
        }
        let path = mount_point.join("big.exr");
        let result = write_atomic(&path, |w| {
            w.write_all(&vec![1u8; 1 << 20])
                .map_err(|e| ExportError::write(&path, e))
        });
        let left = entries(&mount_point);
        let _ = Command::new("umount").arg(&mount_point).status();
        let err = result.unwrap_err();
        let message = err.to_string();
        assert!(message.contains("big.exr"), "{message}");
        assert!(message.contains("No space left on device"), "{message}");
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
