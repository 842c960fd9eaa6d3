//! What an engine checks before submitting: the paths are absolute and on a filesystem the
//! nodes see, the binary is for their architecture; and quoting for the scripts.

use std::path::Path;

use super::{FarmError, FarmPlan};

/// A word for the shell: itself when it is plain, else in single quotes.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A command line for the shell.
pub fn shell_line<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> String {
    words
        .into_iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The nearest existing folder at or above `path`.
fn existing_ancestor(path: &Path) -> Option<&Path> {
    path.ancestors().find(|p| p.exists())
}

/// The filesystem a path lies on, when it is one that only this machine sees (ext4, xfs,
/// tmpfs...): its name. `None` for network and cluster filesystems, and where unknown.
pub fn local_filesystem(path: &Path) -> Option<&'static str> {
    let magic = fs_magic(existing_ancestor(path)?)?;
    // From linux/magic.h and the filesystems' own headers.
    Some(match magic {
        0xEF53 => "ext2/3/4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x8584_58F6 => "ramfs",
        0xF2F5_2010 => "f2fs",
        0x2FC1_2FC1 => "zfs",
        0x4D44 => "vfat",
        0x2011_BAB0 => "exfat",
        0x5346_544E => "ntfs",
        0x7371_7368 => "squashfs",
        _ => return None,
    })
}

#[cfg(target_os = "linux")]
fn fs_magic(path: &Path) -> Option<u32> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path and `st` is writable memory of statfs's size.
    let rc = unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statfs returned 0, so it filled `st` (which was zeroed besides).
    let st = unsafe { st.assume_init() };
    // The magic numbers are 32-bit; f_type's width varies by architecture.
    Some(st.f_type as u32)
}

#[cfg(not(target_os = "linux"))]
fn fs_magic(_path: &Path) -> Option<u32> {
    None
}

/// The machine architecture an ELF binary is for, in `uname -m`'s words (`x86_64`, `aarch64`);
/// an error when it is not an executable ELF file.
pub fn binary_arch(binary: &Path) -> Result<String, FarmError> {
    use std::io::Read;
    let fail = |reason: String| FarmError::Binary {
        binary: binary.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(binary).map_err(|e| fail(format!("cannot open it: {e}")))?;
    let mut header = Vec::with_capacity(20);
    file.take(20)
        .read_to_end(&mut header)
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    if header.len() < 20 || !header.starts_with(b"\x7fELF") {
        return Err(fail(
            "it is not an ELF executable (Linux nodes run ELF binaries)".into(),
        ));
    }
    let machine = if header[5] == 2 {
        u16::from_be_bytes([header[18], header[19]])
    } else {
        u16::from_le_bytes([header[18], header[19]])
    };
    Ok(match machine {
        0x3E => "x86_64".into(),
        0xB7 => "aarch64".into(),
        0x03 => "i686".into(),
        0x28 => "arm".into(),
        0xF3 => "riscv64".into(),
        0x15 => "ppc64le".into(),
        0x16 => "s390x".into(),
        other => format!("ELF machine {other:#x}"),
    })
}

/// Whether a node's reported architecture (`uname -m`) runs binaries built for `arch`.
pub fn arch_runs(node_arch: &str, arch: &str) -> bool {
    fn same(a: &str) -> &str {
        match a {
            "amd64" => "x86_64",
            "arm64" => "aarch64",
            "ppc64" | "ppc64le" => "ppc64le",
            other => other,
        }
    }
    same(node_arch) == same(arch) || (same(node_arch) == "x86_64" && arch == "i686")
}

/// This machine's host name, short (`node1` of `node1.example.org`).
pub fn short_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable and its length is passed; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    name.split('.').next().map(str::to_string)
}

/// Checks that a job's paths are absolute and, unless every node is this machine, on a
/// filesystem the nodes can see. `nodes` are the engine's node names.
pub fn check_paths_shared(
    plan: &FarmPlan,
    nodes: &[String],
    assume_shared: bool,
) -> Result<(), FarmError> {
    let here = short_hostname();
    let only_here = !nodes.is_empty()
        && nodes.iter().all(|n| {
            here.as_deref()
                .is_some_and(|h| n.split('.').next() == Some(h))
                || n == "localhost"
        });
    let paths = [
        ("output folder", &plan.out_dir),
        ("shot or project", &plan.input),
        ("binary", &plan.binary),
        ("working folder", &plan.workdir),
    ];
    for (what, path) in paths {
        if !path.is_absolute() {
            return Err(FarmError::RelativePath {
                what,
                path: path.clone(),
            });
        }
        if only_here || assume_shared {
            continue;
        }
        if let Some(fs) = local_filesystem(path) {
            return Err(FarmError::NotShared {
                what,
                path: path.clone(),
                fs: fs.to_string(),
                nodes: nodes.to_vec(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::farm::{JobKind, PLAN_VERSION, Resources};
    use std::path::PathBuf;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/a/b-c_1.exr"), "/a/b-c_1.exr");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn the_binary_under_test_is_for_this_machine() {
        let exe = std::env::current_exe().unwrap();
        let arch = binary_arch(&exe).unwrap();
        assert!(arch_runs(std::env::consts::ARCH, &arch), "{arch}");
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), "#!/bin/sh\necho hi\n").unwrap();
        let err = binary_arch(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("not an ELF executable"), "{err}");
        assert!(!arch_runs("aarch64", "x86_64"));
    }

    #[test]
    fn a_temporary_folder_is_local_and_a_relative_path_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let plan = FarmPlan {
            version: PLAN_VERSION,
            engine: "slurm".into(),
            name: "run".into(),
            input: tmp.path().join("shot"),
            out_dir: tmp.path().join("out/not/yet"),
            workdir: tmp.path().to_path_buf(),
            binary: std::env::current_exe().unwrap(),
            job: JobKind::Passes {
                out: tmp.path().join("out"),
            },
            lock: None,
            task_args: Vec::new(),
            chunks: Vec::new(),
            resources: Resources::default(),
            finalise_log: tmp.path().join("f.log"),
            submissions: Vec::new(),
        };
        let nodes = vec!["some-other-node-1".to_string(), "node-2".to_string()];
        if local_filesystem(tmp.path()).is_some() {
            let err = check_paths_shared(&plan, &nodes, false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("local filesystem"), "{err}");
            assert!(err.contains("node-2"), "{err}");
        }
        check_paths_shared(&plan, &nodes, true).unwrap();
        let here = vec![short_hostname().unwrap()];
        check_paths_shared(&plan, &here, false).unwrap();
        let relative = FarmPlan {
            out_dir: PathBuf::from("out"),
            ..plan
        };
        let err = check_paths_shared(&relative, &here, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("relative"), "{err}");
    }
}
