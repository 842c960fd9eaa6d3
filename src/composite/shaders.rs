//! The WGSL sources, embedded at build time (see `build.rs`), and the `#include` resolver.
//!
//! A line `#include "common.wgsl"` is replaced by that file's text (each file at most once per
//! shader, includes may nest). That is the whole preprocessor: shared code lives in include files
//! such as `common.wgsl`; each op's shader is a complete compute shader once resolved.

use super::CompositeError;

mod files {
    include!(concat!(env!("OUT_DIR"), "/shaders.rs"));
}

/// Every embedded file name, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    files::FILES.iter().map(|(name, _)| *name)
}

/// The raw text of one file.
pub fn raw(name: &str) -> Option<&'static str> {
    files::FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

/// The source of `name` with its includes resolved.
pub fn source(name: &str) -> Result<String, CompositeError> {
    let mut included = Vec::new();
    let mut out = String::new();
    resolve(name, &mut included, &mut out, 0)?;
    Ok(out)
}

fn resolve(
    name: &str,
    included: &mut Vec<String>,
    out: &mut String,
    depth: usize,
) -> Result<(), CompositeError> {
    if depth > 8 {
        return Err(CompositeError::Shader {
            name: name.to_string(),
            message: "includes nest deeper than 8 levels".into(),
        });
    }
    let text = raw(name).ok_or_else(|| CompositeError::Shader {
        name: name.to_string(),
        message: "no such shader file".into(),
    })?;
    included.push(name.to_string());
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("#include") {
            let target = rest.trim().trim_matches('"');
            if !included.iter().any(|n| n == target) {
                resolve(target, included, out, depth + 1)?;
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(())
}

/// Is this file an op shader (it has a compute entry point), as opposed to an include?
pub fn is_entry(name: &str) -> bool {
    raw(name).is_some_and(|s| s.contains("@compute"))
}
