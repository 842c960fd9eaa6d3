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

/// Points lavapipe at a private 0700 runtime directory (it warns without one). Call before
/// creating a wgpu instance.
pub fn quiet_vulkan() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir = std::env::temp_dir().join(format!("mattebox-xdg-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            // SAFETY: set once, before any thread of this test binary reads the environment
            // through wgpu (every GPU test calls this first).
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir) };
        }
    });
}

/// A real photo (a sample-shot frame such as `astronaut.1001.png`, or one of scikit-image's)
/// decoded to linear light, premultiplied, and resized to `width × height`.
pub fn photo_image(name: &str, width: u32, height: u32) -> mattebox::composite::image::Image {
    let sample = repo().join("assets/sample_shot").join(name);
    let path = if sample.is_file() {
        sample
    } else {
        photo(name)
    };
    let plate = mattebox::shot::decode::decode(&path, &Default::default()).unwrap();
    mattebox::composite::image::Image::from_plate(&plate)
        .resized(width, height)
        .unwrap()
}

/// A real frame with real passes, as the compositor sees it: the sample shot's (or a
/// scikit-image) photo, its depth from `fastdepth` and its matte from `u2netp` (run here on the
/// real models, upsampled by the pipeline's guided filter), mapped to scene metres with the
/// default scene, all resized to `width × height`. Returns (premultiplied plate, aux).
pub fn real_frame(
    name: &str,
    width: u32,
    height: u32,
) -> (
    mattebox::composite::image::Image,
    mattebox::composite::image::Image,
) {
    use mattebox::passes::{depth_range_from_samples, depth_to_plate, matte_to_plate};
    let sample = repo().join("assets/sample_shot").join(name);
    let path = if sample.is_file() {
        sample
    } else {
        photo(name)
    };
    let plate = mattebox::shot::decode::decode(&path, &Default::default()).unwrap();
    let guide = mattebox::passes::upsample::guide_from_luminance(&plate.luminance());
    let mut depth_model = model("fastdepth", Task::Depth);
    let semantics = depth_model.entry.output.semantics.depth().unwrap();
    let raw = depth_model.run(&plate).unwrap();
    let depth = depth_to_plate(&raw, semantics, &guide, plate.width, plate.height).unwrap();
    let mut matte_model = model("u2netp", Task::Matte);
    let raw = matte_model.run(&plate).unwrap();
    let matte = matte_to_plate(&raw, "fg", &guide, plate.width, plate.height).unwrap();
    let range = depth_range_from_samples(&mut depth.values.clone(), semantics);
    let aux = mattebox::render::aux_image(
        plate.width,
        plate.height,
        Some(&depth.values),
        Some(semantics),
        range,
        Some(&matte.alpha),
        &Default::default(),
    );
    let plate = mattebox::composite::image::Image::from_plate(&plate);
    // Catmull-Rom overshoots a little at edges: keep colour non-negative and the matte in 0..1,
    // as real passes are.
    let mut plate = plate.resized(width, height).unwrap();
    for p in &mut plate.pixels {
        for c in p.iter_mut() {
            *c = c.max(0.0);
        }
    }
    let mut aux = aux.resized(width, height).unwrap();
    for p in &mut aux.pixels {
        p[1] = p[1].clamp(0.0, 1.0);
        p[2] = p[2].clamp(0.0, 1.0);
    }
    (plate, aux)
}

/// The first `n` sample frames, reduced to 256×192 (a render's cost scales with pixels).
pub fn small_shot(dir: &Path, n: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    sample_frames()
        .into_iter()
        .take(n)
        .map(|src| {
            let dst = dir.join(src.file_name().unwrap());
            image::open(&src)
                .unwrap()
                .resize_exact(256, 192, image::imageops::FilterType::Triangle)
                .save(&dst)
                .unwrap();
            dst
        })
        .collect()
}

/// Every channel of an EXR's first part, by name, as f32.
pub fn exr_channels(path: &Path) -> Vec<(String, Vec<f32>)> {
    let image = exr::prelude::read_first_flat_layer_from_file(path).unwrap();
    image
        .layer_data
        .channel_data
        .list
        .iter()
        .map(|c| (c.name.to_string(), c.sample_data.values_as_f32().collect()))
        .collect()
}
