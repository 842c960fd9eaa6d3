//! The 2.5D camera move: keyframes with easing, evaluated to a camera pose per frame.
//!
//! Coordinates are the source camera's: x right, y down, z forward (the image's own axes), metres.

use serde::{Deserialize, Serialize};

/// Easing of the segment that starts at a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ease {
    /// Constant speed.
    Linear,
    /// Starts slowly.
    EaseIn,
    /// Ends slowly.
    EaseOut,
    /// Starts and ends slowly (smoothstep).
    #[default]
    EaseInOut,
    /// Holds this key's values until the next key.
    Hold,
}

/// One camera-move keyframe. All offsets are relative to the source camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraKey {
    /// The frame this key sits on: a frame number of the shot, or for a still, a frame of the
    /// move's duration counted from 0.
    pub frame: f32,
    /// Forward along the view axis (metres).
    pub dolly_m: f32,
    /// Sideways, right positive (metres).
    pub truck_m: f32,
    /// Up positive (metres).
    pub pedestal_m: f32,
    /// Rotation left/right, right positive (degrees).
    pub pan_deg: f32,
    /// Rotation up/down, up positive (degrees).
    pub tilt_deg: f32,
    /// Rotation about the view axis (degrees).
    pub roll_deg: f32,
    /// Focal-length multiplier: 2 halves the field of view. Clamped to 0.1..=10.
    pub zoom: f32,
    /// Orbit around the pivot (a point `pivot_m` ahead of the source camera), right positive
    /// (degrees).
    pub orbit_deg: f32,
    /// Easing of the segment from this key to the next.
    pub ease: Ease,
}

impl Default for CameraKey {
    fn default() -> Self {
        CameraKey {
            frame: 0.0,
            dolly_m: 0.0,
            truck_m: 0.0,
            pedestal_m: 0.0,
            pan_deg: 0.0,
            tilt_deg: 0.0,
            roll_deg: 0.0,
            zoom: 1.0,
            orbit_deg: 0.0,
            ease: Ease::EaseInOut,
        }
    }
}

/// A keyframed camera move. With no keys the camera stays at the source view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraMove {
    /// Keys, kept sorted by frame.
    pub keys: Vec<CameraKey>,
    /// The orbit pivot's distance ahead of the source camera (metres). Clamped to > 0.
    pub pivot_m: f32,
    /// For a single still: how many frames the move plays over. Clamped to 1..=100000.
    pub still_duration_frames: u32,
}

impl Default for CameraMove {
    fn default() -> Self {
        CameraMove {
            keys: Vec::new(),
            pivot_m: 4.0,
            still_duration_frames: 48,
        }
    }
}
