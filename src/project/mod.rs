//! The project document: which shot, which models make its passes, the scene, the layer stack,
//! the camera move and what to export. It is saved as versioned, pretty-printed JSON
//! (`*.mattebox.json`), always atomically, and every change to it is one [`Edit`].
//!
//! - [`Project::load`] reads a file: syntax first (errors give the line and column), then the
//!   `version` (a file from a newer Mattebox is refused, an older one is migrated), then the full
//!   document (a field Mattebox does not know is refused and named, so a typo is never silently
//!   ignored), and only then every value is clamped into range, with one warning per clamp.
//!   Nothing is returned half-loaded.
//! - [`Project::save`] writes the whole document atomically (`export::atomic`).
//! - [`Project::apply`] applies one [`Edit`] and returns its inverse; [`History`] keeps those
//!   inverses for undo and redo and knows whether the project changed since it was saved.
//! - [`Project::template`] is a sensible starting project for a new shot.
//!
//! Relative paths in the document (the shot's source, background images) are relative to the
//! folder holding the project file; they are resolved with [`Project::resolve`] and never
//! rewritten in the document, so a project folder can be moved as a whole.
//!
//! # Clamps
//!
//! A value outside its range is clamped, on load and in every edit; a non-finite number (which
//! JSON cannot hold, but an edit can) is reset to the field's default first. Paths are as in the
//! JSON document, e.g. `layers[2].kind.feather_px`.
//!
//! | field | range |
//! |---|---|
//! | `shot.fps` | 1..=1000 |
//! | `shot.last` | >= `shot.first` (raised to it) |
//! | `passes.depth_model`, `passes.matte_model` | not empty (else the default) |
//! | `scene.near_m` | 0.05..=10000 |
//! | `scene.far_m` | > `scene.near_m` (at least `near_m` + 0.01) |
//! | `scene.fov_deg` | 1..=170 |
//! | `scene.sensor_width_mm` | 1..=200 |
//! | `scene.depth_curve` | 0.1..=10 |
//! | `layers[i].opacity` | 0..=1 |
//! | cut-out `matte` | not empty (else `fg`) |
//! | cut-out `erode_px` | -64..=64 |
//! | cut-out `feather_px` | 0..=64 |
//! | cut-out `decontaminate_radius_px` | 1..=64 |
//! | background `colour[c]` (solid) | 0..=64 |
//! | background `radius_px` (blurred plate) | 0..=256 |
//! | fog `colour[c]` | 0..=64 |
//! | fog `near_m` | 0..=1000000 |
//! | fog `far_m` | > `near_m` (at least `near_m` + 0.01) |
//! | fog `density` | 0..=1 |
//! | depth of field `focus_m` | 0.05..=10000 |
//! | depth of field `f_stop` | 0.5..=64 |
//! | depth of field `max_blur_px` | 0..=64 |
//! | grade `near_m` | 0..=1000000 |
//! | grade `far_m` | >= `near_m` |
//! | grade `softness_m` | >= 0 |
//! | grade `exposure_stops` | -10..=10 |
//! | grade `contrast`, `saturation` | 0..=4 |
//! | grade `gain[c]` | 0..=16 |
//! | `camera.keys` | sorted by `frame` (stable: keys on one frame keep their order) |
//! | `camera.keys[i].zoom` | 0.1..=10 |
//! | other `camera.keys[i]` numbers | finite only |
//! | `camera.pivot_m` | >= 0.01 |
//! | `camera.still_duration_frames` | 1..=100000 |
//! | `camera.prepare` | `edge_ratio` 1.001..=4, `dilate_px` 0..=16, `fill_band` 0..=0.25, `thickness` 0.001..=1 |
//! | `matte_strokes[i].radius_px` | 0.5..=500 |
//! | `matte_strokes[i].softness` | 0..=1 |
//! | `matte_strokes[i].points` | finite points only (others dropped); at most 100000 (the rest dropped) |
//! | `matte_strokes[i]` | removed when it has no points left |

mod clamp;
mod edit;
mod load;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::composite::camera::{CameraKey, CameraMove, Ease};
use crate::composite::layers::{
    BackgroundSettings, BlendMode, CutoutSettings, DofSettings, FogSettings, GradeSettings, Layer,
    LayerKind, SceneSettings,
};
use crate::composite::refine::MatteStroke;
use crate::export::{ExportError, ExrCompression};
use crate::process::Formats;
use crate::shot::{ColourSpace, FrameRange, PlateColour, WorkingSpace};

pub use self::clamp::Clamp;
pub use self::edit::{DEFAULT_UNDO_DEPTH, Edit, EditError, History};
pub use self::load::{CURRENT_VERSION, PROJECT_EXTENSION};

/// A Mattebox project: everything needed to turn a shot into passes, a composite and exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// The document's format version. Files written by this build carry [`CURRENT_VERSION`];
    /// older files are migrated on load, newer ones are refused. Required.
    pub version: u32,
    /// The shot the project works on. Required.
    pub shot: ShotRef,
    /// Which models make the depth and matte passes.
    #[serde(default)]
    pub passes: PassSettings,
    /// How the shot's relative depth maps to metres, and the lens.
    #[serde(default)]
    pub scene: SceneSettings,
    /// The layer stack, bottom (index 0) first.
    #[serde(default)]
    pub layers: Vec<Layer>,
    /// The 2.5D camera move.
    #[serde(default)]
    pub camera: CameraMove,
    /// What an export writes.
    #[serde(default)]
    pub export: ExportSettings,
    /// Colour management: the working space.
    #[serde(default)]
    pub colour: ColourSettings,
    /// The artist's brush strokes over the AI passes, painted in order when a frame's inputs are
    /// built (`render::apply_overrides`); the pass files are never changed. The matte brush
    /// (`mode` add or subtract) refines the matte; the depth brush (push or pull, by `amount`
    /// stops) moves the depth, after the subject depth. Each applies to one frame (by the
    /// sequence's number) or, with `frame: null`, to every frame. Default none.
    #[serde(default)]
    pub matte_strokes: Vec<MatteStroke>,
    /// Where the matted subject sits in depth (`composite::subject`): the model's depth
    /// (default), a distance, or in front of its surroundings by a margin.
    #[serde(default)]
    pub subject_depth: crate::composite::subject::SubjectDepth,
}

/// Which frames the project works on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotRef {
    /// An image file, a folder of frames, or a sequence pattern (`name.####.png`), as
    /// `shot::Shot::open` takes. A relative path is relative to the project file's folder.
    /// Required.
    pub source: PathBuf,
    /// The first frame number to use (the sequence's own numbering); `null` starts at the
    /// shot's first frame.
    #[serde(default)]
    pub first: Option<u32>,
    /// The last frame number to use; `null` ends at the shot's last frame. Clamped to
    /// >= `first` when both are set.
    #[serde(default)]
    pub last: Option<u32>,
    /// Frames per second, for playback and the animatic. Clamped to 1..=1000; default 24.
    #[serde(default = "default_fps")]
    pub fps: f32,
    /// The colour space the shot's files are in, by name (`srgb`, `rec709`, `rec1886`,
    /// `linear`, `acescg`, `aces2065-1`, `linear-rec2020`, `raw`, or an OpenColorIO / Nuke /
    /// oiiotool alias such as `ACEScg` or `sRGB - Texture`, any case), or `auto`: sRGB for 8-
    /// and 16-bit files, linear for float files. Default `auto`; an unknown name is refused on
    /// load.
    #[serde(default, with = "crate::shot::colour::auto_or_space")]
    pub colour_space: Option<ColourSpace>,
}

fn default_fps() -> f32 {
    24.0
}

impl ShotRef {
    /// The whole shot at `source`, at 24 fps.
    pub fn new(source: PathBuf) -> ShotRef {
        ShotRef {
            source,
            first: None,
            last: None,
            fps: default_fps(),
            colour_space: None,
        }
    }

    /// The selected frame range, when both ends are set.
    pub fn range(&self) -> Option<FrameRange> {
        match (self.first, self.last) {
            (Some(first), Some(last)) => Some(FrameRange { first, last }),
            _ => None,
        }
    }
}

/// The models that make the passes, by their ids in the model manifest (`models/*.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PassSettings {
    /// The depth model's id. Not empty (an empty id is reset to `fastdepth`).
    pub depth_model: String,
    /// The matte (segmentation) model's id; its matte is named `fg`. Not empty (an empty id is
    /// reset to `u2netp`).
    pub matte_model: String,
    /// Whether a sequence's depth and mattes go through the temporal filter
    /// (`passes::temporal`), which steadies them where the plate is still. On by default.
    pub temporal: bool,
}

impl Default for PassSettings {
    fn default() -> Self {
        PassSettings {
            depth_model: "fastdepth".into(),
            matte_model: "u2netp".into(),
            temporal: true,
        }
    }
}

impl PassSettings {
    /// The temporal filter these settings ask for, if any.
    pub fn temporal_settings(&self) -> Option<crate::passes::temporal::TemporalSettings> {
        self.temporal
            .then(crate::passes::temporal::TemporalSettings::default)
    }
}

/// Colour management (see `shot::colour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ColourSettings {
    /// The space the plates are converted to and the compositor works in, which the EXRs are
    /// written in: `linear` (linear Rec.709/sRGB primaries, the default) or `acescg`. Model
    /// inputs and previews are converted back to sRGB-encoded Rec.709 whatever it is.
    pub working_space: WorkingSpace,
}

/// What an export writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportSettings {
    /// The per-frame pass files: `exr` (one multi-layer OpenEXR per frame) and `png` (PNG
    /// passes). Both flags are required inside `formats`; default `exr` only.
    pub formats: Formats,
    /// Also render the layer stack and camera move into composited frames. Default true.
    pub composite: bool,
    /// Also write an animatic: the composited frames as a preview sequence for editorial.
    /// Default false.
    pub animatic: bool,
    /// The EXR compression: `none`, `zip`, `zips`, `piz` or `rle`. Default `zip`; any other
    /// name is refused on load.
    pub exr_compression: ExrCompression,
    /// Record source paths in the EXR headers as absolute paths. Default false: relative to the
    /// folder holding each file, so exports sent elsewhere name none of the user's folders.
    pub absolute_paths: bool,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            formats: Formats::default(),
            composite: true,
            animatic: false,
            exr_compression: ExrCompression::default(),
            absolute_paths: false,
        }
    }
}

/// Why a project file could not be loaded or saved. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file could not be read.
    #[error("cannot read the project {}: {error}", path.display())]
    Read {
        /// The project file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is not valid JSON (or not text at all).
    #[error("{}:{line}:{column}: not a valid project file: {reason}", path.display())]
    Malformed {
        /// The project file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the JSON parser said.
        reason: String,
    },
    /// The document has no `version` field.
    #[error(
        "{}: not a Mattebox project: it has no \"version\" field (this build writes version {})",
        path.display(),
        CURRENT_VERSION
    )]
    NoVersion {
        /// The project file.
        path: PathBuf,
    },
    /// The document was written by a newer Mattebox.
    #[error(
        "{}: written by a newer Mattebox: project version {found}, this build reads up to {supported}",
        path.display()
    )]
    TooNew {
        /// The project file.
        path: PathBuf,
        /// The file's version.
        found: u64,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Valid JSON, but not a valid project (a value of the wrong type, a missing field, an
    /// unknown layer type, a field Mattebox does not know).
    #[error("{}{}: {reason}", path.display(), at_line(*line, *column))]
    Invalid {
        /// The project file.
        path: PathBuf,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The file could not be written (the previous file, if any, is left as it was).
    #[error(transparent)]
    Write(#[from] ExportError),
}

fn at_line(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

impl ProjectError {
    /// The project file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            ProjectError::Read { path, .. }
            | ProjectError::Malformed { path, .. }
            | ProjectError::NoVersion { path }
            | ProjectError::TooNew { path, .. }
            | ProjectError::Invalid { path, .. } => path,
            ProjectError::Write(error) => error.path(),
        }
    }
}

impl Project {
    /// A starting project for the whole shot at `source`, with the camera move laid out for a
    /// still (over `camera.still_duration_frames`). For a sequence, use
    /// [`Project::template_for`] with the shot's frame numbers, so the move spans the shot.
    pub fn template(source: PathBuf) -> Project {
        Project::template_for(source, None)
    }

    /// A starting project for the shot at `source` whose frames are numbered `frames` (`None`
    /// or a single frame: a still).
    ///
    /// Layers, bottom to top: the plate blurred as a background, the foreground cut out over
    /// it, depth fog, depth of field focused on the foreground, and a subtle warm lift on the
    /// foreground. The camera pushes in gently with a little orbit around the foreground, over
    /// the whole shot, easing in and out.
    pub fn template_for(source: PathBuf, frames: Option<FrameRange>) -> Project {
        let scene = SceneSettings::default();
        // The foreground subject sits a little beyond the nearest depth.
        let subject_m = scene.near_m * 1.1;
        let layer = |name: &str, kind: LayerKind| Layer {
            name: name.into(),
            visible: true,
            opacity: 1.0,
            blend: BlendMode::Over,
            kind,
        };
        let layers = vec![
            layer(
                "Background",
                LayerKind::Background(BackgroundSettings::BlurredPlate { radius_px: 24.0 }),
            ),
            layer("Cut-out", LayerKind::Cutout(CutoutSettings::default())),
            layer(
                "Depth fog",
                LayerKind::DepthFog(FogSettings {
                    near_m: scene.near_m * 2.0,
                    far_m: scene.far_m,
                    density: 0.35,
                    ..FogSettings::default()
                }),
            ),
            layer(
                "Depth of field",
                LayerKind::DepthOfField(DofSettings {
                    focus_m: subject_m,
                    f_stop: 1.4,
                    ..DofSettings::default()
                }),
            ),
            layer(
                "Depth grade",
                LayerKind::DepthGrade(GradeSettings {
                    near_m: 0.0,
                    far_m: scene.near_m * 2.0,
                    softness_m: 1.0,
                    exposure_stops: 0.15,
                    contrast: 1.05,
                    saturation: 1.05,
                    gain: [1.04, 1.0, 0.95],
                }),
            ),
        ];

        let mut camera = CameraMove {
            pivot_m: subject_m,
            ..CameraMove::default()
        };
        let (start, end) = match frames {
            Some(range) if range.last > range.first => (range.first as f32, range.last as f32),
            _ => (0.0, (camera.still_duration_frames - 1) as f32),
        };
        camera.keys = vec![
            CameraKey {
                frame: start,
                ease: Ease::EaseInOut,
                ..CameraKey::default()
            },
            CameraKey {
                frame: end,
                dolly_m: 0.12,
                orbit_deg: 4.0,
                ease: Ease::EaseInOut,
                ..CameraKey::default()
            },
        ];

        Project {
            version: CURRENT_VERSION,
            shot: ShotRef::new(source),
            passes: PassSettings::default(),
            scene,
            layers,
            camera,
            export: ExportSettings::default(),
            colour: ColourSettings::default(),
            matte_strokes: Vec::new(),
            subject_depth: Default::default(),
        }
    }

    /// Resolves a path from the document against `base`, the folder holding the project file:
    /// an absolute path is returned as it is, a relative one is joined to `base`.
    pub fn resolve(&self, base: &Path, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        }
    }

    /// How the shot's plates enter the pipeline: its input colour space and the working space.
    pub fn plate_colour(&self) -> PlateColour {
        PlateColour {
            input: self.shot.colour_space,
            working: self.colour.working_space,
        }
    }

    /// The shot's source, resolved against `base`, the folder holding the project file.
    pub fn shot_source(&self, base: &Path) -> PathBuf {
        self.resolve(base, &self.shot.source)
    }

    /// Clamps every value into its range (see the module's table), adding one warning per
    /// change to `warnings`. A project that is already in range is left exactly as it is.
    pub fn clamp_all(&mut self, warnings: &mut Vec<String>) {
        self.shot.clamp("shot", warnings);
        self.passes.clamp("passes", warnings);
        self.scene.clamp("scene", warnings);
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.clamp(&format!("layers[{i}]"), warnings);
        }
        self.camera.clamp("camera", warnings);
        clamp::strokes(&mut self.matte_strokes, "matte_strokes", warnings);
        self.subject_depth = self.subject_depth.clamped(warnings);
    }
}
