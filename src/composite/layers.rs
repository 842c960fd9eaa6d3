//! The user's layer stack, as saved in the project file: each layer's kind and its settings.
//!
//! These are the artist-facing parameters (pixels, metres, stops). `composite::plan` turns them
//! into a render plan of shader ops; ranges are enforced by each settings type's `clamp`, and the
//! clamping is what the project schema documents.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How a layer is combined with the layers below it (premultiplied alpha throughout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlendMode {
    /// Porter–Duff over: `src + dst * (1 - src.a)`.
    #[default]
    Over,
    /// `src + dst` (alpha: over).
    Add,
    /// `src * dst + src * (1 - dst.a) + dst * (1 - src.a)`.
    Multiply,
    /// `src + dst - src * dst`.
    Screen,
}

impl BlendMode {
    /// The code the blend shader uses (0 over, 1 add, 2 multiply, 3 screen).
    pub fn code(self) -> u32 {
        match self {
            BlendMode::Over => 0,
            BlendMode::Add => 1,
            BlendMode::Multiply => 2,
            BlendMode::Screen => 3,
        }
    }
}

/// One entry of the layer stack. The stack is ordered bottom (index 0) to top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// The name shown in the layers panel.
    pub name: String,
    /// Hidden layers are skipped.
    #[serde(default = "yes")]
    pub visible: bool,
    /// 0..1; clamped.
    #[serde(default = "one")]
    pub opacity: f32,
    /// How the layer combines with what is below it.
    #[serde(default)]
    pub blend: BlendMode,
    /// What the layer draws.
    pub kind: LayerKind,
}

fn yes() -> bool {
    true
}

fn one() -> f32 {
    1.0
}

/// What a layer draws. *Source* layers (plate, cut-out, background) draw an image that is blended
/// over the stack; *depth effects* (fog, depth of field, grade) filter what is below them, using
/// the shot's depth (after the camera move).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerKind {
    /// The source plate, as it is.
    Plate,
    /// The plate through a matte, with edge treatment.
    Cutout(CutoutSettings),
    /// A new background: a solid colour, an image, or the plate blurred.
    Background(BackgroundSettings),
    /// Depth fog.
    DepthFog(FogSettings),
    /// Depth of field.
    DepthOfField(DofSettings),
    /// A colour grade inside a depth band.
    DepthGrade(GradeSettings),
}

/// Cut-out: the plate through a matte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CutoutSettings {
    /// Which matte (the EXR channel `matte_<name>.A`); `fg` is the segmentation model's. An empty
    /// name is reset to `fg`.
    pub matte: String,
    /// Shrinks the matte by this many pixels (a grayscale erosion); negative values grow it.
    /// Clamped to -64..=64.
    pub erode_px: f32,
    /// Softens the matte edge with a blur of this radius in pixels. Clamped to 0..=64.
    pub feather_px: f32,
    /// Removes the old background's colour from semi-transparent edge pixels, so no halo remains.
    pub decontaminate: bool,
    /// How far (pixels) decontamination looks for clean foreground and background colour.
    /// Clamped to 1..=64.
    pub decontaminate_radius_px: f32,
}

impl Default for CutoutSettings {
    fn default() -> Self {
        CutoutSettings {
            matte: "fg".into(),
            erode_px: 0.0,
            feather_px: 1.0,
            decontaminate: true,
            decontaminate_radius_px: 8.0,
        }
    }
}

/// Where a background layer's picture comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum BackgroundSettings {
    /// One linear-light colour.
    Solid {
        /// Linear RGB, each clamped to 0..=64.
        colour: [f32; 3],
    },
    /// An image file, scaled to cover the frame (centred, aspect kept, overflow cropped).
    Image {
        /// The image file (PNG, JPEG, TIFF, EXR); relative paths are relative to the project file.
        path: PathBuf,
    },
    /// The plate itself, blurred.
    BlurredPlate {
        /// Blur radius in pixels. Clamped to 0..=256.
        radius_px: f32,
    },
}

impl Default for BackgroundSettings {
    fn default() -> Self {
        BackgroundSettings::Solid {
            colour: [0.18, 0.18, 0.18],
        }
    }
}

/// How fog density grows between `near_m` and `far_m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FogFalloff {
    /// Straight ramp from near to far.
    Linear,
    /// Smoothstep ramp from near to far.
    Smooth,
    /// `1 - exp(-k t)`: thickens quickly, then saturates (k = 4).
    #[default]
    Exponential,
}

/// Depth fog: the stack fades towards a colour with distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FogSettings {
    /// Linear RGB fog colour, each clamped to 0..=64.
    pub colour: [f32; 3],
    /// No fog nearer than this (metres). Clamped to 0..=1000000.
    pub near_m: f32,
    /// Full `density` at and beyond this (metres). Clamped to >= near_m + 0.01.
    pub far_m: f32,
    /// The fog's opacity at `far_m`, 0..=1.
    pub density: f32,
    /// The shape of the ramp.
    pub falloff: FogFalloff,
}

impl Default for FogSettings {
    fn default() -> Self {
        FogSettings {
            colour: [0.6, 0.65, 0.7],
            near_m: 2.0,
            far_m: 20.0,
            density: 0.6,
            falloff: FogFalloff::Exponential,
        }
    }
}

/// Depth of field, as a thin lens of the scene's focal length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DofSettings {
    /// The distance in focus (metres). Clamped to 0.05..=10000.
    pub focus_m: f32,
    /// Aperture as an f-number (smaller = shallower). Clamped to 0.5..=64.
    pub f_stop: f32,
    /// The largest blur radius in pixels. Clamped to 0..=64.
    pub max_blur_px: f32,
}

impl Default for DofSettings {
    fn default() -> Self {
        DofSettings {
            focus_m: 3.0,
            f_stop: 2.8,
            max_blur_px: 16.0,
        }
    }
}

/// A colour grade inside a depth band with soft edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradeSettings {
    /// Near edge of the band (metres). Clamped to 0..=1000000.
    pub near_m: f32,
    /// Far edge of the band (metres). Clamped to >= near_m + 0.01.
    pub far_m: f32,
    /// Width of the soft edge on each side (metres). Clamped to >= 0.
    pub softness_m: f32,
    /// Exposure change in stops. Clamped to -10..=10.
    pub exposure_stops: f32,
    /// Contrast around 18% grey (1 = unchanged). Clamped to 0..=4.
    pub contrast: f32,
    /// Saturation (1 = unchanged, 0 = grey). Clamped to 0..=4.
    pub saturation: f32,
    /// Per-channel gain (tint), each clamped to 0..=16.
    pub gain: [f32; 3],
}

impl Default for GradeSettings {
    fn default() -> Self {
        GradeSettings {
            near_m: 0.0,
            far_m: 5.0,
            softness_m: 1.0,
            exposure_stops: 0.0,
            contrast: 1.0,
            saturation: 1.0,
            gain: [1.0, 1.0, 1.0],
        }
    }
}

/// How the depth pass becomes distance in metres for the compositor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepthMapping {
    /// Every model's depth is normalised by the shot-wide range (1st/99th percentiles) and
    /// mapped to `near_m..far_m`, linear in inverse distance: the layers' distances mean the same
    /// with any model, and the artist sets the scene's scale.
    #[default]
    Scene,
    /// Metric models' own metres are used as they are; relative models are mapped as in `scene`.
    Metric,
}

/// The scene the passes describe: how depth maps to metres, and the lens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SceneSettings {
    /// How the depth pass becomes distance.
    pub depth_mapping: DepthMapping,
    /// Distance (metres) given to the nearest depth in the shot (the depth range's near end) when
    /// the model's depth is relative. Clamped to 0.05..=10000.
    pub near_m: f32,
    /// Distance (metres) given to the farthest depth. Clamped to >= near_m + 0.01.
    pub far_m: f32,
    /// The plate's horizontal field of view in degrees. Clamped to 1..=170.
    pub fov_deg: f32,
    /// Sensor (film back) width in millimetres, for the depth of field's focal length. Clamped
    /// to 1..=200.
    pub sensor_width_mm: f32,
    /// Reshapes relative depth before it becomes metres: the normalised nearness (1 nearest, 0
    /// farthest) is raised to this power, `nearness' = nearness ^ depth_curve`. 1 leaves it
    /// linear; above 1 pushes mid distances farther, below 1 pulls them nearer; the nearest and
    /// farthest depths stay at `near_m` and `far_m`. Metric depth used as metres
    /// (`depth_mapping: metric` with a metric model) is not reshaped. Clamped to 0.1..=10;
    /// default 1.
    pub depth_curve: f32,
}

impl Default for SceneSettings {
    fn default() -> Self {
        SceneSettings {
            depth_mapping: DepthMapping::Scene,
            near_m: 1.5,
            far_m: 30.0,
            fov_deg: 50.0,
            sensor_width_mm: 36.0,
            depth_curve: 1.0,
        }
    }
}

impl SceneSettings {
    /// Focal length in millimetres implied by the field of view and sensor width.
    pub fn focal_mm(&self) -> f32 {
        0.5 * self.sensor_width_mm / (0.5 * self.fov_deg.to_radians()).tan()
    }

    /// Focal length in pixels for an image `width` pixels wide.
    pub fn focal_px(&self, width: u32) -> f32 {
        0.5 * width as f32 / (0.5 * self.fov_deg.to_radians()).tan()
    }

    /// A normalised nearness (0..=1) reshaped by `depth_curve`: `nearness ^ depth_curve`, so 0
    /// and 1 are kept. Exactly `nearness` when the curve is 1.
    pub fn curved_nearness(&self, nearness: f32) -> f32 {
        if self.depth_curve == 1.0 {
            nearness
        } else {
            nearness.clamp(0.0, 1.0).powf(self.depth_curve)
        }
    }

    /// Distance in metres of a normalised nearness (1 = nearest, 0 = farthest): linear in
    /// inverse distance, as disparity is.
    pub fn distance_m(&self, nearness: f32) -> f32 {
        let inv = (1.0 / self.far_m) * (1.0 - nearness) + (1.0 / self.near_m) * nearness;
        1.0 / inv.max(1e-6)
    }

    /// The (curved) nearness of a distance in metres: [`SceneSettings::distance_m`]'s inverse,
    /// beyond 0..1 for distances outside `near_m..far_m`.
    pub fn nearness_at(&self, distance_m: f32) -> f32 {
        let (inv_far, inv_near) = (1.0 / self.far_m, 1.0 / self.near_m);
        let span = inv_near - inv_far;
        if !(span.is_finite() && span.abs() > 1e-12) {
            return 0.0;
        }
        (1.0 / distance_m.max(1e-6) - inv_far) / span
    }
}
