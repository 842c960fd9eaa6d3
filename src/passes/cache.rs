//! The on-disk pass cache: a model's raw output for a frame, keyed by the frame file's content,
//! the model file's hash and the model's pre/post-processing, so a second run over the same shot
//! does no inference.
//!
//! Entries are small binary files (`MBXPASS1`, width, height, little-endian `f32` values) under
//! `<cache>/<first two hex digits>/<key>.pass`, written atomically. A damaged entry is a miss.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::infer::RawOutput;

const MAGIC: &[u8; 8] = b"MBXPASS1";

/// A pass cache in a folder.
#[derive(Debug, Clone)]
pub struct PassCache {
    dir: PathBuf,
}

/// The default cache folder: `$MATTEBOX_CACHE_DIR`, else `$XDG_CACHE_HOME/mattebox/passes`,
/// else `~/.cache/mattebox/passes`, else a folder in the system temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MATTEBOX_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("mattebox").join("passes");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h)
            .join(".cache")
            .join("mattebox")
            .join("passes");
    }
    std::env::temp_dir().join("mattebox-passes")
}

/// The content hash of a file (BLAKE3, hex), the frame half of a cache key.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

impl PassCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> PassCache {
        PassCache { dir: dir.into() }
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key for a frame's content hash and a model's cache key.
    pub fn key(frame_hash: &str, model_key: &str) -> String {
        let mut h = blake3::Hasher::new();
        h.update(frame_hash.as_bytes());
        h.update(b"/");
        h.update(model_key.as_bytes());
        h.finalize().to_hex().to_string()
    }

    fn path(&self, key: &str) -> PathBuf {
        let shard = key.get(..2).unwrap_or("00");
        self.dir.join(shard).join(format!("{key}.pass"))
    }

    /// The cached output for `key`, or `None` on a miss or a damaged entry.
    pub fn get(&self, key: &str) -> Option<RawOutput> {
        let mut bytes = Vec::new();
        std::fs::File::open(self.path(key))
            .ok()?
            .read_to_end(&mut bytes)
            .ok()?;
        let header = bytes.get(..16)?;
        if &header[..8] != MAGIC {
            return None;
        }
        let width = u32::from_le_bytes(header[8..12].try_into().ok()?);
        let height = u32::from_le_bytes(header[12..16].try_into().ok()?);
        let n = width as usize * height as usize;
        let body = &bytes[16..];
        if body.len() != n * 4 || n == 0 {
            return None;
        }
        let values = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some(RawOutput {
            width,
            height,
            values,
        })
    }

    /// Stores `output` under `key`, atomically (temp file, then rename).
    pub fn put(&self, key: &str, output: &RawOutput) -> std::io::Result<()> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".pass")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        let mut buf = Vec::with_capacity(16 + output.values.len() * 4);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&output.width.to_le_bytes());
        buf.extend_from_slice(&output.height.to_le_bytes());
        for v in &output.values {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        tmp.write_all(&buf)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PassCache::new(dir.path().join("c"));
        let key = PassCache::key("frame", "model");
        assert!(cache.get(&key).is_none());
        let out = RawOutput {
            width: 3,
            height: 2,
            values: vec![0.0, 1.0, 2.5, -1.0, 4.0, 5.0],
        };
        cache.put(&key, &out).unwrap();
        assert_eq!(cache.get(&key), Some(out));
        assert_ne!(key, PassCache::key("frame", "other model"));
        std::fs::write(cache.path(&key), b"MBXPASS1short").unwrap();
        assert!(cache.get(&key).is_none());
    }
}
