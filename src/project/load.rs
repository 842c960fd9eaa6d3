//! Reading and writing project files: the JSON syntax, the `version` and its migrations, fields
//! Mattebox does not know, and the clamps, in that order; and the atomic save.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::export::{ExportError, write_atomic};

use super::{Project, ProjectError};

/// The project format this build writes, and the newest it reads.
pub const CURRENT_VERSION: u32 = 1;

/// The file name ending of a project file: `shot.mattebox.json`.
pub const PROJECT_EXTENSION: &str = "mattebox.json";

/// A migration turns a document of one version into the next version's shape, as JSON, so it
/// never depends on today's Rust types. It may fail with a reason (e.g. a value it cannot map).
type Migration = fn(Value) -> Result<Value, String>;

/// `MIGRATIONS[i]` turns a version `i + 1` document into version `i + 2`. The array's length is
/// tied to [`CURRENT_VERSION`], so raising the version without a migration does not compile.
/// (A v1 → v2 migration would be `fn v1_to_v2(doc: Value) -> Result<Value, String>`, editing
/// the JSON and setting `"version": 2`.)
const MIGRATIONS: [Migration; (CURRENT_VERSION - 1) as usize] = [];

/// Larger files are not project files (a project is a few kilobytes); refusing them early keeps
/// a mistaken pick of a plate or an EXR from being read into memory as text.
const MAX_PROJECT_BYTES: u64 = 16 << 20;

impl Project {
    /// Reads the project file at `path`: the project, and one warning per value that was out of
    /// range and clamped (or per migration run).
    ///
    /// Fails, returning nothing, if the file cannot be read, is not JSON (naming the line and
    /// column), has no `version`, comes from a newer Mattebox, has a value of the wrong type or
    /// a field Mattebox does not know (naming it).
    pub fn load(path: &Path) -> Result<(Project, Vec<String>), ProjectError> {
        let read_error = |error| ProjectError::Read {
            path: path.to_path_buf(),
            error,
        };
        let size = fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_PROJECT_BYTES {
            return Err(invalid(
                path,
                None,
                format!(
                    "{size} bytes is too large for a project file; is this a Mattebox project?"
                ),
            ));
        }
        let bytes = fs::read(path).map_err(read_error)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let (line, column) = line_column(&bytes, e.valid_up_to());
            ProjectError::Malformed {
                path: path.to_path_buf(),
                line,
                column,
                reason: "not UTF-8 text; is this a Mattebox project?".into(),
            }
        })?;
        Project::from_json(path, text)
    }

    /// Reads a project document from `text` exactly as [`Project::load`] does; `path` names
    /// the document in errors.
    pub fn from_json(path: &Path, text: &str) -> Result<(Project, Vec<String>), ProjectError> {
        let mut value: Value = serde_json::from_str(text).map_err(|e| ProjectError::Malformed {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            reason: without_position(&e),
        })?;

        let mut warnings = Vec::new();
        let version = version_of(path, &value)?;
        let migrated = version < CURRENT_VERSION;
        if migrated {
            value = migrate(path, value, version, &MIGRATIONS)?;
            warnings.push(format!(
                "upgraded from project version {version} to {CURRENT_VERSION}; saving writes \
                 version {CURRENT_VERSION}, which older Mattebox builds cannot read"
            ));
        }

        // A current document is read from its text, so type errors name a line and column; a
        // migrated one only exists as a JSON value.
        let parsed = if migrated {
            serde_json::from_value::<Project>(value.clone())
        } else {
            serde_json::from_str::<Project>(text)
        };
        let mut project = parsed.map_err(|e| {
            let at = (e.line() > 0).then_some((e.line(), e.column()));
            invalid(path, at, without_position(&e))
        })?;

        // serde's `deny_unknown_fields` does not work through the layer kinds (internally tagged
        // enums), so unknown fields are found by comparing the document with what the parsed
        // project writes back: every field Mattebox knows is written, so a field in the file
        // that is missing from the rewrite is one Mattebox would have ignored.
        let known =
            serde_json::to_value(&project).map_err(|e| invalid(path, None, e.to_string()))?;
        if let Some(unknown) = unknown_field(&value, &known, "") {
            let at = if migrated {
                None
            } else {
                key_position(text, &unknown.name)
            };
            return Err(invalid(path, at, unknown.reason()));
        }

        project.clamp_all(&mut warnings);
        Ok((project, warnings))
    }

    /// Writes the project to `path` as pretty-printed JSON with a trailing newline, atomically:
    /// a reader sees the old file or the new one, never a part, and a failed save leaves the old
    /// file as it was. The file always carries [`CURRENT_VERSION`].
    ///
    /// Refuses (writing nothing) a project with a value out of range, such as a NaN set directly
    /// on a field rather than through an [`super::Edit`]: it would not load back as saved.
    pub fn save(&self, path: &Path) -> Result<(), ProjectError> {
        let mut document = self.clone();
        document.version = CURRENT_VERSION;
        let mut problems = Vec::new();
        document.clamp_all(&mut problems);
        if !problems.is_empty() {
            return Err(ExportError::invalid(
                path,
                format!(
                    "the project has values out of range: {}",
                    problems.join("; ")
                ),
            )
            .into());
        }
        let mut text = serde_json::to_string_pretty(&document)
            .map_err(|e| ExportError::invalid(path, e.to_string()))?;
        text.push('\n');
        write_atomic(path, |w| {
            w.write_all(text.as_bytes())
                .map_err(|e| ExportError::write(path, e))
        })?;
        Ok(())
    }
}

fn invalid(path: &Path, at: Option<(usize, usize)>, reason: String) -> ProjectError {
    ProjectError::Invalid {
        path: path.to_path_buf(),
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        reason,
    }
}

/// serde_json's message without its " at line L column C" (the error reports those itself).
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rsplit_once(" at line ") {
        Some((reason, _)) if error.line() > 0 => reason.to_string(),
        _ => message,
    }
}

/// 1-based line and column (in bytes) of byte `offset`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}

/// The document's `version`, checked: present, a whole number from 1, and not newer than this
/// build reads.
fn version_of(path: &Path, value: &Value) -> Result<u32, ProjectError> {
    let Some(document) = value.as_object() else {
        return Err(invalid(
            path,
            None,
            format!(
                "a project is a JSON object ({{ \"version\": {CURRENT_VERSION}, ... }}), not {}",
                kind_of(value)
            ),
        ));
    };
    let Some(version) = document.get("version") else {
        return Err(ProjectError::NoVersion {
            path: path.to_path_buf(),
        });
    };
    let Some(found) = version.as_u64().filter(|&v| v >= 1) else {
        return Err(invalid(
            path,
            None,
            format!("\"version\" must be a whole number from 1, not {version}"),
        ));
    };
    if found > u64::from(CURRENT_VERSION) {
        return Err(ProjectError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: CURRENT_VERSION,
        });
    }
    // At most CURRENT_VERSION here, so it fits.
    Ok(found as u32)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Runs `migrations` (`migrations[i]` upgrades version `i + 1`) from `version` to the last.
fn migrate(
    path: &Path,
    mut value: Value,
    version: u32,
    migrations: &[Migration],
) -> Result<Value, ProjectError> {
    let start = (version as usize).saturating_sub(1);
    for (from, step) in migrations.iter().enumerate().skip(start) {
        let from = from + 1;
        value = step(value).map_err(|reason| {
            invalid(
                path,
                None,
                format!("cannot upgrade from project version {from}: {reason}"),
            )
        })?;
    }
    Ok(value)
}

/// A field in the document that Mattebox does not know.
struct UnknownField {
    /// Its path, e.g. `layers[1].kind.feathr`.
    path: String,
    /// Its name.
    name: String,
    /// The fields Mattebox knows at that place.
    known: Vec<String>,
}

impl UnknownField {
    fn reason(&self) -> String {
        format!(
            "unknown field `{}` (at {}); the fields there are: {}",
            self.name,
            self.path,
            self.known.join(", ")
        )
    }
}

/// The first field of `given` (the document) that is not in `known` (the parsed project,
/// written back), looking through objects and arrays alike.
fn unknown_field(given: &Value, known: &Value, at: &str) -> Option<UnknownField> {
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => {
            for (name, value) in given {
                let path = if at.is_empty() {
                    name.clone()
                } else {
                    format!("{at}.{name}")
                };
                match known.get(name) {
                    Some(known_value) => {
                        if let Some(found) = unknown_field(value, known_value, &path) {
                            return Some(found);
                        }
                    }
                    None => {
                        return Some(UnknownField {
                            path,
                            name: name.clone(),
                            known: known.keys().cloned().collect(),
                        });
                    }
                }
            }
            None
        }
        (Value::Array(given), Value::Array(known)) => given
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (g, k))| unknown_field(g, k, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// Where the key `"name":` appears in `text`, if it appears exactly once.
fn key_position(text: &str, name: &str) -> Option<(usize, usize)> {
    let quoted = serde_json::to_string(name).ok()?;
    let mut found = text
        .match_indices(&quoted)
        .filter(|(offset, _)| text[offset + quoted.len()..].trim_start().starts_with(':'));
    let (offset, _) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(line_column(text.as_bytes(), offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1_to_v2(mut doc: Value) -> Result<Value, String> {
        doc["version"] = 2.into();
        doc["steps"] = Value::Array(vec!["1->2".into()]);
        Ok(doc)
    }

    fn v2_to_v3(mut doc: Value) -> Result<Value, String> {
        let Some(steps) = doc["steps"].as_array_mut() else {
            return Err("no steps".into());
        };
        steps.push("2->3".into());
        doc["version"] = 3.into();
        Ok(doc)
    }

    #[test]
    fn migrations_run_in_order_from_the_file_version() {
        let path = Path::new("p.mattebox.json");
        let chain: [Migration; 2] = [v1_to_v2, v2_to_v3];
        let doc = migrate(path, serde_json::json!({ "version": 1 }), 1, &chain).unwrap();
        assert_eq!(doc["version"], 3);
        assert_eq!(doc["steps"], serde_json::json!(["1->2", "2->3"]));
        // A version 2 file only runs the second step.
        let doc = serde_json::json!({ "version": 2, "steps": [] });
        let doc = migrate(path, doc, 2, &chain).unwrap();
        assert_eq!(doc["steps"], serde_json::json!(["2->3"]));
        // A failing step names the version it started from.
        let error = migrate(path, serde_json::json!({ "version": 2 }), 2, &chain).unwrap_err();
        assert_eq!(
            error.to_string(),
            "p.mattebox.json: cannot upgrade from project version 2: no steps"
        );
    }

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_column(b"ab\ncd", 0), (1, 1));
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
    }

    #[test]
    fn an_unknown_key_is_located_only_when_it_is_unambiguous() {
        let text = "{\n  \"a\": 1,\n  \"feathr\": 2\n}";
        assert_eq!(key_position(text, "feathr"), Some((3, 3)));
        // A value equal to the name is not a key.
        let text = "{\"x\": \"feathr\", \"feathr\": 1}";
        assert_eq!(key_position(text, "feathr"), Some((1, 17)));
        let text = "{\"feathr\": 1, \"y\": {\"feathr\": 2}}";
        assert_eq!(key_position(text, "feathr"), None);
    }
}
