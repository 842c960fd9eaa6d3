//! The app's own settings (`settings.json` in [`config_dir`](super::config_dir)): what the
//! user chose that is not part of a project, today the language. Written atomically (a temp
//! file in the same folder, then a rename), so a crash never leaves half a file; a missing or
//! unreadable file gives the defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The language chosen in View ▸ Language (`en`, `zh-HK`); none: the system's locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Settings {
    /// The settings file.
    pub fn path() -> PathBuf {
        super::config_dir().join("settings.json")
    }

    /// Reads the settings file; the defaults when there is none, and when it cannot be read
    /// (said on stderr).
    pub fn load() -> Settings {
        let path = Settings::path();
        match Settings::load_from(&path) {
            Ok(settings) => settings,
            Err(why) => {
                eprintln!("mattebox: {why}; using the default settings");
                Settings::default()
            }
        }
    }

    /// Reads `path`: the defaults when it does not exist, `Err` naming the file when it is
    /// not valid.
    pub fn load_from(path: &Path) -> Result<Settings, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the settings file atomically.
    pub fn save(&self) -> Result<(), String> {
        self.save_to(&Settings::path())
    }

    /// Writes `path` atomically (a temp file beside it, then a rename).
    pub fn save_to(&self, path: &Path) -> Result<(), String> {
        write_json(path, self)
    }
}

/// Writes `value` as JSON to `path` atomically, creating its folder: the app's own files in
/// [`config_dir`](super::config_dir) (settings, recent files).
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    crate::export::atomic::write_atomic(path, |w| {
        serde_json::to_writer_pretty(w, value)
            .map_err(|e| crate::export::ExportError::invalid(path, e.to_string()))
    })
    .map_err(|e| e.to_string())
}
