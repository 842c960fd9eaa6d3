//! The per-shot sidecar manifest, `mattebox.json`, written beside a shot's exports: which
//! software, models and settings made them, and for each frame its source, the source's hash,
//! the files written and whether it succeeded.
//!
//! A later run reads it to skip frames whose source and settings are unchanged.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{ExportError, PassStamp, atomic::write_atomic};
use crate::passes::DepthRange;

/// The sidecar's file name inside a shot's export folder.
pub const SIDECAR_NAME: &str = "mattebox.json";

/// The sidecar format version this build writes, and the newest it reads.
pub const SIDECAR_VERSION: u32 = 1;

/// Everything Mattebox records about one shot's export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotSidecar {
    /// Format version, [`SIDECAR_VERSION`] when written by this build.
    pub version: u32,
    /// Software name and version, usually [`crate::SOFTWARE`].
    pub software: String,
    /// The shot's source: a still, a folder, or a sequence pattern such as `plate.####.exr`.
    pub source: PathBuf,
    /// When the sidecar was written, in seconds since 1970-01-01 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_unix_s: Option<u64>,
    /// The ONNX Runtime execution provider that ran the models, e.g. `CUDA` or `CPU`.
    pub execution_provider: String,
    /// How the depth pass was made, if there is one.
    pub depth: Option<PassStamp>,
    /// The shot-wide raw depth values shown as near and far in previews.
    pub depth_range: Option<DepthRange>,
    /// How each matte was made.
    #[serde(default)]
    pub mattes: Vec<PassStamp>,
    /// A key over every setting that changes the output; a frame is redone when it differs.
    pub settings_key: String,
    /// One entry per frame, in sequence order.
    #[serde(default)]
    pub frames: Vec<SidecarFrame>,
}

/// What happened to one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SidecarFrame {
    /// The sequence's own frame number, if the source is a sequence.
    pub frame: Option<u32>,
    /// The frame's source file.
    pub source: PathBuf,
    /// Hash of the source file's contents (BLAKE3, hex), to notice a changed plate.
    pub source_hash: String,
    /// The files written for this frame, relative to the sidecar's folder.
    #[serde(default)]
    pub outputs: Vec<PathBuf>,
    /// Whether the frame was exported.
    pub status: FrameStatus,
}

/// Whether a frame was exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FrameStatus {
    /// Every output was written.
    Done,
    /// The frame failed; the error says why.
    Failed {
        /// The error message, as shown to the user.
        error: String,
    },
    /// The frame was not processed (unchanged since the last run, or outside the range asked
    /// for).
    Skipped,
}

impl ShotSidecar {
    /// The current time in seconds since 1970-01-01 UTC, for [`ShotSidecar::created_unix_s`];
    /// `None` if the system clock is before 1970.
    pub fn now_unix_s() -> Option<u64> {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }
}

/// Writes the sidecar as pretty-printed JSON at `path`, atomically.
pub fn write_sidecar(path: &Path, sidecar: &ShotSidecar) -> Result<(), ExportError> {
    write_atomic(path, |writer| {
        serde_json::to_writer_pretty(&mut *writer, sidecar)
            .map_err(|e| ExportError::write(path, e.into()))?;
        std::io::Write::write_all(writer, b"\n").map_err(|e| ExportError::write(path, e))
    })
}

/// Reads a sidecar. A syntax or format error names the file and serde's line and column; a
/// sidecar from a newer Mattebox is refused with [`ExportError::SidecarVersion`].
pub fn read_sidecar(path: &Path) -> Result<ShotSidecar, ExportError> {
    let bytes = std::fs::read(path).map_err(|e| ExportError::read(path, e))?;
    let parse_error = |error| ExportError::SidecarParse {
        path: path.to_path_buf(),
        error,
    };
    // Check the version first so that a newer format says "upgrade", not "missing field".
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    let Version { version } = serde_json::from_slice(&bytes).map_err(parse_error)?;
    if version > SIDECAR_VERSION {
        return Err(ExportError::SidecarVersion {
            path: path.to_path_buf(),
            found: version,
            supported: SIDECAR_VERSION,
        });
    }
    serde_json::from_slice(&bytes).map_err(parse_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::DepthSemantics;

    fn sample() -> ShotSidecar {
        ShotSidecar {
            version: SIDECAR_VERSION,
            software: crate::SOFTWARE.into(),
            source: "/shots/sh010/plate.####.exr".into(),
            created_unix_s: ShotSidecar::now_unix_s(),
            execution_provider: "CUDA".into(),
            depth: Some(PassStamp {
                pass: "depth".into(),
                model_id: "depth-anything-v2-small".into(),
                model_sha256: "0".repeat(64),
                licence: "Apache-2.0".into(),
                semantics: Some(DepthSemantics::RelativeInverse),
            }),
            depth_range: Some(DepthRange {
                near: 12.5,
                far: 0.25,
            }),
            mattes: vec![PassStamp {
                pass: "fg".into(),
                model_id: "birefnet-lite".into(),
                model_sha256: "1".repeat(64),
                licence: "MIT".into(),
                semantics: None,
            }],
            settings_key: "abc123".into(),
            frames: vec![
                SidecarFrame {
                    frame: Some(1001),
                    source: "/shots/sh010/plate.1001.exr".into(),
                    source_hash: "f".repeat(64),
                    outputs: vec!["sh010.1001.exr".into(), "depth/sh010.1001.png".into()],
                    status: FrameStatus::Done,
                },
                SidecarFrame {
                    frame: Some(1002),
                    source: "/shots/sh010/plate.1002.exr".into(),
                    source_hash: "e".repeat(64),
                    outputs: vec![],
                    status: FrameStatus::Failed {
                        error: "cannot decode".into(),
                    },
                },
                SidecarFrame {
                    frame: Some(1003),
                    source: "/shots/sh010/plate.1003.exr".into(),
                    source_hash: "d".repeat(64),
                    outputs: vec![],
                    status: FrameStatus::Skipped,
                },
            ],
        }
    }

    #[test]
    fn sidecar_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIDECAR_NAME);
        let sidecar = sample();
        write_sidecar(&path, &sidecar).unwrap();
        assert_eq!(read_sidecar(&path).unwrap(), sidecar);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"state\": \"failed\""), "{text}");
        assert!(
            text.contains("\"semantics\": \"relative_inverse\""),
            "{text}"
        );
    }

    #[test]
    fn a_broken_sidecar_names_the_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIDECAR_NAME);
        std::fs::write(&path, "{\n  \"version\": 1,\n  \"software\": \n}").unwrap();
        let message = read_sidecar(&path).unwrap_err().to_string();
        assert!(message.contains(&*path.to_string_lossy()), "{message}");
        assert!(message.contains("line 4 column 1"), "{message}");
    }

    #[test]
    fn a_newer_sidecar_asks_for_an_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIDECAR_NAME);
        std::fs::write(&path, "{\"version\": 99, \"whatever\": true}").unwrap();
        let err = read_sidecar(&path).unwrap_err();
        assert!(
            matches!(err, ExportError::SidecarVersion { found: 99, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade"), "{err}");
    }

    #[test]
    fn a_missing_sidecar_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIDECAR_NAME);
        let message = read_sidecar(&path).unwrap_err().to_string();
        assert!(message.starts_with("cannot read "), "{message}");
        assert!(message.contains(&*path.to_string_lossy()), "{message}");
    }
}
