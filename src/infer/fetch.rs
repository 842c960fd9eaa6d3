//! Downloading a manifest entry's file from its `url` (`mattebox models fetch ID`), for users
//! with internet access.
//!
//! The download goes to `<file>.part` and resumes with an HTTP `Range` request when one is
//! there (a server that answers 200 instead of 206 starts it over). When complete, its SHA-256
//! is checked against the entry's pinned hash (a mismatch deletes the partial file), or, when
//! none is pinned, recorded in `<file>.sha256`, which [`super::Model::load`] checks on every
//! later use; then it is renamed into place. Entries flagged `non_commercial` need the licence
//! accepted.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

use super::InferError;
use super::manifest::{ModelEntry, sha256_finish, sha256_hex, sha256_sidecar};

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOutcome {
    /// The model file.
    pub path: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// The file was there already (and its hash checked); nothing was downloaded.
    pub already_present: bool,
    /// A partial download of this many bytes was resumed.
    pub resumed_from: Option<u64>,
    /// Where the hash was recorded, when the entry pins none and this was the first fetch.
    pub recorded: Option<PathBuf>,
}

/// `<file>.part`: the download in progress.
pub fn part_path(model_file: &Path) -> PathBuf {
    let mut name = model_file.as_os_str().to_os_string();
    name.push(".part");
    PathBuf::from(name)
}

fn hash_file(path: &Path) -> Result<(sha2::Sha256, u64), InferError> {
    let io = |source| InferError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let got = file.read(&mut buf).map_err(io)?;
        if got == 0 {
            return Ok((hasher, n));
        }
        hasher.update(&buf[..got]);
        n += got as u64;
    }
}

fn record_hash(sidecar: &Path, sha256: &str) -> Result<(), InferError> {
    crate::export::atomic::write_atomic(sidecar, |w| {
        w.write_all(format!("{sha256}\n").as_bytes())
            .map_err(|e| crate::export::ExportError::write(sidecar, e))
    })
    .map_err(|e| InferError::Write {
        path: sidecar.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Checks a present file's hash: the pinned one, else the recorded one (recording it when
/// there is none yet).
fn check_present(entry: &ModelEntry, path: &Path) -> Result<FetchOutcome, InferError> {
    let bytes = std::fs::read(path).map_err(|source| InferError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let sha256 = sha256_hex(&bytes);
    let mut recorded = None;
    match &entry.sha256 {
        Some(expected) if !expected.eq_ignore_ascii_case(&sha256) => {
            return Err(InferError::HashMismatch {
                path: path.to_path_buf(),
                expected: expected.to_ascii_lowercase(),
                actual: sha256,
            });
        }
        Some(_) => {}
        None => {
            let sidecar = sha256_sidecar(path);
            match std::fs::read_to_string(&sidecar) {
                Ok(text) if text.trim().eq_ignore_ascii_case(&sha256) => {}
                Ok(text) => {
                    return Err(InferError::RecordedHashMismatch {
                        path: path.to_path_buf(),
                        sidecar,
                        recorded: text.trim().to_ascii_lowercase(),
                        actual: sha256,
                    });
                }
                Err(_) => {
                    record_hash(&sidecar, &sha256)?;
                    recorded = Some(sidecar);
                }
            }
        }
    }
    Ok(FetchOutcome {
        path: path.to_path_buf(),
        sha256,
        already_present: true,
        resumed_from: None,
        recorded,
    })
}

/// Downloads `entry`'s file into `models_dir` (see the module's doc). `progress` is called with
/// the bytes so far and the total when the server says it.
pub fn fetch(
    entry: &ModelEntry,
    models_dir: &Path,
    accept_licence: bool,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<FetchOutcome, InferError> {
    let path = entry.path_in(models_dir);
    let Some(url) = entry.url.clone() else {
        return Err(InferError::Fetch {
            id: entry.id.clone(),
            reason: format!(
                "its manifest entry has no `url`; download the file yourself and put it at {}",
                path.display()
            ),
        });
    };
    if entry.non_commercial && !accept_licence {
        return Err(InferError::Fetch {
            id: entry.id.clone(),
            reason: format!(
                "its weights' licence ({}) does not allow commercial use; pass --accept-licence to download it for use under that licence",
                entry.licence
            ),
        });
    }
    if path.is_file() {
        return check_present(entry, &path);
    }
    let download_err = |reason: String| InferError::Download {
        url: url.clone(),
        path: path.clone(),
        reason,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| InferError::Write {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    let part = part_path(&path);
    let part_io = |source| InferError::Io {
        path: part.clone(),
        source,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut resumed_from = None;
    // Two tries: a resume the server refuses (416) starts over once.
    let (response, mut file, mut hasher, mut received) = 'request: {
        for _ in 0..2 {
            let offset = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            let mut request = agent.get(&url);
            if offset > 0 {
                request = request.header("Range", format!("bytes={offset}-"));
            }
            let response = request.call().map_err(|e| download_err(e.to_string()))?;
            let status = response.status().as_u16();
            let content_range_ok = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(&format!("bytes {offset}-")));
            match status {
                206 if offset > 0 && content_range_ok => {
                    let (hasher, n) = hash_file(&part)?;
                    let file = OpenOptions::new()
                        .append(true)
                        .open(&part)
                        .map_err(part_io)?;
                    resumed_from = Some(n);
                    break 'request (response, file, hasher, n);
                }
                200 => {
                    // A full answer (no resume, or the server ignores ranges): start over.
                    let file = File::create(&part).map_err(part_io)?;
                    break 'request (response, file, sha2::Sha256::new(), 0);
                }
                416 => {
                    std::fs::remove_file(&part).map_err(part_io)?;
                }
                other => {
                    return Err(download_err(format!("the server answered HTTP {other}")));
                }
            }
        }
        return Err(download_err(
            "the server refused to resume and to start over".into(),
        ));
    };
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| n + received);
    let mut reader = response.into_body().into_with_config().reader();
    let mut buf = vec![0u8; 1 << 20];
    let interrupted = |received: u64, why: String| {
        download_err(format!(
            "interrupted after {received} bytes{} ({why}); the partial file {} is kept: run `mattebox models fetch {}` again to resume",
            total.map(|t| format!(" of {t}")).unwrap_or_default(),
            part.display(),
            entry.id
        ))
    };
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                file.write_all(&buf[..n]).map_err(part_io)?;
                hasher.update(&buf[..n]);
                received += n as u64;
                progress(received, total);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                file.sync_all().map_err(part_io)?;
                return Err(interrupted(received, e.to_string()));
            }
        }
    }
    file.sync_all().map_err(part_io)?;
    drop(file);
    if let Some(total) = total
        && received < total
    {
        return Err(interrupted(received, "the connection closed early".into()));
    }
    let sha256 = sha256_finish(hasher);
    let mut recorded = None;
    match &entry.sha256 {
        Some(expected) if !expected.eq_ignore_ascii_case(&sha256) => {
            std::fs::remove_file(&part).map_err(part_io)?;
            return Err(InferError::DownloadHashMismatch {
                url,
                path,
                expected: expected.to_ascii_lowercase(),
                actual: sha256,
            });
        }
        Some(_) => {}
        None => {
            let sidecar = sha256_sidecar(&path);
            record_hash(&sidecar, &sha256)?;
            recorded = Some(sidecar);
        }
    }
    std::fs::rename(&part, &path).map_err(|e| InferError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(FetchOutcome {
        path,
        sha256,
        already_present: false,
        resumed_from,
        recorded,
    })
}
