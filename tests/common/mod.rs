//! Shared helpers for the integration tests: where the real models, photos and sample shot are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mattebox::infer::{Manifest, Model, Runtime, RuntimeOptions, Task};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real photo from scikit-image's data folder (fetched by scripts/setup.sh).
pub fn photo(name: &str) -> PathBuf {
    let p = repo().join("vendor/skimage-data").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `bash scripts/setup.sh`",
        p.display()
    );
    p
}

/// The bundled sample shot's frames, sorted.
pub fn sample_frames() -> Vec<PathBuf> {
    let dir = repo().join("assets/sample_shot");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    v.sort();
    assert!(v.len() >= 3, "the sample shot needs frames");
    v
}

/// Copies the first `n` sample frames into `dir` (created), returning their new paths.
pub fn copy_sample_frames(dir: &Path, n: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    sample_frames()
        .into_iter()
        .take(n)
        .map(|src| {
            let dst = dir.join(src.file_name().unwrap());
            std::fs::copy(&src, &dst).unwrap();
            dst
        })
        .collect()
}

/// The ONNX Runtime shared by every test in a binary (it can be loaded once per process).
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(RuntimeOptions {
            intra_threads: 2,
            ..RuntimeOptions::default()
        })
        .expect("ONNX Runtime: run `bash scripts/setup.sh`")
    })
}

/// The project's manifest with its models folder.
pub fn manifest() -> Manifest {
    Manifest::load(Some(&repo().join("models")), &[]).unwrap()
}

/// Loads a bundled model.
pub fn model(id: &str, task: Task) -> Model {
    let m = manifest();
    Model::load(runtime(), m.get(id, task).unwrap(), &m.models_dir).unwrap()
}

/// The built binary.
pub fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mattebox"));
    c.env_remove("ORT_DYLIB_PATH");
    c
}
