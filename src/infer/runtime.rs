//! Finding and loading the ONNX Runtime shared library, and choosing the execution provider.
//!
//! The library is looked for in this order (the first that exists wins):
//! 1. an explicit path (`--ort-lib`, [`RuntimeOptions::library`]);
//! 2. the `ORT_DYLIB_PATH` environment variable;
//! 3. next to the executable (`libonnxruntime.so`, or `onnxruntime/libonnxruntime.so`);
//! 4. the project's setup location, `vendor/onnxruntime/libonnxruntime.so` in the source tree,
//!    which `scripts/setup.sh` fills from the PyPI `onnxruntime` wheel.
//!
//! An explicit path or `ORT_DYLIB_PATH`, when given, is used as is: if it names no file, that is
//! an error rather than a silent fall-back to another copy.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};

use super::InferError;

/// File name of the runtime library on this platform.
#[cfg(target_os = "linux")]
pub const LIBRARY_NAME: &str = "libonnxruntime.so";
/// File name of the runtime library on this platform.
#[cfg(target_os = "macos")]
pub const LIBRARY_NAME: &str = "libonnxruntime.dylib";
/// File name of the runtime library on this platform.
#[cfg(windows)]
pub const LIBRARY_NAME: &str = "onnxruntime.dll";

/// Which execution provider to run models on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// CUDA when the GPU runtime is installed and a GPU is present, else the CPU.
    #[default]
    Auto,
    /// The CPU only.
    Cpu,
    /// CUDA only; fails when it cannot be used.
    Cuda,
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            other => Err(format!("unknown device `{other}`: use auto, cpu or cuda")),
        }
    }
}

/// How to set up the runtime.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// An explicit library path, searched first.
    pub library: Option<PathBuf>,
    /// The execution provider choice.
    pub device: Device,
    /// Fail instead of falling back to the CPU when no GPU provider works.
    pub require_gpu: bool,
    /// Threads per inference (0 = ONNX Runtime's default: one per physical core).
    pub intra_threads: usize,
}

/// The execution provider a session actually runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// `CPUExecutionProvider`.
    Cpu,
    /// `CUDAExecutionProvider`.
    Cuda,
}

impl Provider {
    /// ONNX Runtime's name for it, recorded in every export.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Cpu => "CPUExecutionProvider",
            Provider::Cuda => "CUDAExecutionProvider",
        }
    }
}

/// A loaded ONNX Runtime: the environment that sessions are built from.
pub struct Runtime {
    pub(crate) env: Environment,
    /// The library file in use.
    pub library: PathBuf,
    /// The runtime's version string, e.g. `1.31.1`.
    pub version: String,
    pub(crate) options: RuntimeOptions,
    /// Whether this build of ONNX Runtime includes the CUDA provider.
    pub cuda_compiled_in: bool,
}

/// The places searched for the library, in order, for an explicit path `explicit`.
pub fn library_candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let beside = format!("onnxruntime/{LIBRARY_NAME}");
    let project = format!("vendor/onnxruntime/{LIBRARY_NAME}");
    super::search_order(
        explicit,
        "ORT_DYLIB_PATH",
        &[LIBRARY_NAME, &beside],
        &project,
    )
}

/// Finds the runtime library in the documented order. An explicit path, or `ORT_DYLIB_PATH`,
/// is the user's choice: when it names no file, that is an error, not a cue to look elsewhere.
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf, InferError> {
    let chosen = explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("ORT_DYLIB_PATH")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    });
    let candidates = match chosen {
        Some(p) => vec![p],
        None => library_candidates(None),
    };
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let searched = candidates
        .iter()
        .map(|p| format!("  {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n");
    Err(InferError::RuntimeMissing { searched })
}

/// The library path the process loaded; ONNX Runtime can be loaded only once per process.
static LOADED: OnceLock<PathBuf> = OnceLock::new();

/// The process's one ONNX Runtime environment: `ort` builds at most one per process (even after
/// the first is dropped), so every `Runtime` shares it (the app runs a job, then another).
static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

impl Runtime {
    /// Finds and loads ONNX Runtime and creates the environment.
    pub fn new(options: RuntimeOptions) -> Result<Runtime, InferError> {
        let library = locate_library(options.library.as_deref())?;
        let library = library.canonicalize().unwrap_or(library);
        let load_err = |reason: String| InferError::RuntimeLoad {
            path: library.clone(),
            reason,
        };
        let builder = match LOADED.get() {
            // Already loaded in this process (tests, the app re-creating a runtime): reuse it.
            Some(_) => ort::init(),
            None => {
                let b = ort::init_from(&library).map_err(|e| load_err(e.to_string()))?;
                let _ = LOADED.set(library.clone());
                b
            }
        };
        let env = {
            let mut shared = ENVIRONMENT
                .lock()
                .map_err(|_| load_err("the environment lock is poisoned".into()))?;
            match shared.as_ref() {
                Some(env) => env.clone(),
                None => {
                    let env = builder
                        .with_name("mattebox")
                        .build()
                        .map_err(|e| load_err(e.to_string()))?;
                    *shared = Some(env.clone());
                    env
                }
            }
        };
        // The build string reads like "ORT Build Info: git-branch=rel-1.31.1, git-commit-id=…".
        let info = ort::info();
        let version = info
            .find("git-branch=rel-")
            .map(|i| &info[i + "git-branch=rel-".len()..])
            .and_then(|rest| rest.split([',', ' ']).next())
            .filter(|v| !v.is_empty())
            .or_else(|| {
                // Else the versioned file name, e.g. libonnxruntime.so.1.31.1.
                library
                    .file_name()?
                    .to_str()?
                    .strip_prefix(LIBRARY_NAME)?
                    .strip_prefix('.')
            })
            .unwrap_or("unknown")
            .to_string();
        let cuda_compiled_in = ep::CUDA::is_available().unwrap_or(false);
        let library = LOADED.get().cloned().unwrap_or(library);
        let runtime = Runtime {
            env,
            library,
            version,
            options,
            cuda_compiled_in,
        };
        if runtime.options.device == Device::Cuda || runtime.options.require_gpu {
            if !runtime.cuda_compiled_in {
                return Err(InferError::GpuUnavailable {
                    reason: format!(
                        "the ONNX Runtime at {} was built without the CUDA provider; \
                         run `bash scripts/setup.sh --gpu` to fetch onnxruntime-gpu",
                        runtime.library.display()
                    ),
                });
            }
            if runtime.options.device == Device::Cpu {
                return Err(InferError::GpuUnavailable {
                    reason: "--require-gpu conflicts with --device cpu".to_string(),
                });
            }
        }
        Ok(runtime)
    }

    /// Whether sessions should try the CUDA provider first.
    pub(crate) fn wants_cuda(&self) -> bool {
        match self.options.device {
            Device::Cpu => false,
            Device::Cuda => true,
            Device::Auto => self.cuda_compiled_in,
        }
    }

    /// Whether a failure to use CUDA is an error rather than a fallback to the CPU.
    pub(crate) fn cuda_is_required(&self) -> bool {
        self.options.device == Device::Cuda || self.options.require_gpu
    }

    /// The options this runtime was made with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }
}
