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
    /// The orbit pivot's distance ahead of the source camera (metres). Clamped to >= 0.01.
    pub pivot_m: f32,
    /// For a single still: how many frames the move plays over. Clamped to 1..=100000.
    pub still_duration_frames: u32,
    /// How depth edges and revealed background are handled (each field clamped as documented
    /// on `PrepareSettings`).
    pub prepare: crate::composite::prepare::PrepareSettings,
}

impl Default for CameraMove {
    fn default() -> Self {
        CameraMove {
            keys: Vec::new(),
            pivot_m: 4.0,
            still_duration_frames: 48,
            prepare: Default::default(),
        }
    }
}

/// The new camera for one frame of a move, in the source camera's coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraPose {
    /// The new camera's axes (columns: right, down, forward) expressed in source coordinates.
    pub rotation: glam::Mat3,
    /// The new camera's centre in source coordinates (metres).
    pub position: glam::Vec3,
    /// Focal-length multiplier relative to the source lens (2 halves the field of view).
    pub zoom: f32,
}

impl Default for CameraPose {
    fn default() -> Self {
        CameraPose::IDENTITY
    }
}

impl CameraPose {
    /// The source camera itself.
    pub const IDENTITY: CameraPose = CameraPose {
        rotation: glam::Mat3::IDENTITY,
        position: glam::Vec3::ZERO,
        zoom: 1.0,
    };

    /// A point in source coordinates, in the new camera's coordinates.
    pub fn to_camera(&self, point: glam::Vec3) -> glam::Vec3 {
        self.rotation.transpose() * (point - self.position)
    }

    /// Is this the source view (within float rounding)?
    pub fn is_identity(&self) -> bool {
        self.rotation.abs_diff_eq(glam::Mat3::IDENTITY, 1e-6)
            && self.position.abs_diff_eq(glam::Vec3::ZERO, 1e-6)
            && (self.zoom - 1.0).abs() <= 1e-6
    }
}

impl Ease {
    /// The eased fraction of a segment at `t` in `0..=1`: 0 at 0, 1 at 1 (except `Hold`, which
    /// stays at 0 until the next key takes over).
    pub fn apply(self, t: f32) -> f32 {
        let t = t.clamp(0.0, 1.0);
        match self {
            Ease::Linear => t,
            Ease::EaseIn => t * t,
            Ease::EaseOut => 1.0 - (1.0 - t) * (1.0 - t),
            Ease::EaseInOut => t * t * (3.0 - 2.0 * t),
            Ease::Hold => 0.0,
        }
    }
}

impl CameraKey {
    /// Does this key leave the camera at the source view?
    pub fn is_identity(&self) -> bool {
        self.dolly_m == 0.0
            && self.truck_m == 0.0
            && self.pedestal_m == 0.0
            && self.pan_deg == 0.0
            && self.tilt_deg == 0.0
            && self.roll_deg == 0.0
            && self.orbit_deg == 0.0
            && clamp_zoom(self.zoom) == 1.0
    }

    /// The channels at `t` (eased fraction) of the way from `self` to `next`; zoom is
    /// interpolated in log space so that a zoom from 1 to 4 passes 2 halfway.
    fn lerp(&self, next: &CameraKey, t: f32) -> CameraKey {
        let l = |a: f32, b: f32| a + (b - a) * t;
        let (z0, z1) = (clamp_zoom(self.zoom).ln(), clamp_zoom(next.zoom).ln());
        CameraKey {
            frame: l(self.frame, next.frame),
            dolly_m: l(self.dolly_m, next.dolly_m),
            truck_m: l(self.truck_m, next.truck_m),
            pedestal_m: l(self.pedestal_m, next.pedestal_m),
            pan_deg: l(self.pan_deg, next.pan_deg),
            tilt_deg: l(self.tilt_deg, next.tilt_deg),
            roll_deg: l(self.roll_deg, next.roll_deg),
            zoom: l(z0, z1).exp(),
            orbit_deg: l(self.orbit_deg, next.orbit_deg),
            ease: self.ease,
        }
    }

    /// The pose these channel values describe, orbiting about `(0, 0, pivot_m)`.
    ///
    /// Order: orbit first (position and orientation turn about the pivot's vertical axis), then
    /// dolly/truck/pedestal along the orbited camera's own axes, then pan, tilt and roll about
    /// the camera's centre. With y down, a positive angle about y turns +z towards +x: pan right
    /// is a positive angle, while orbiting right (the camera moves right and turns left to keep
    /// facing the pivot) is a negative one; tilt up is a positive angle about x; positive roll
    /// turns the camera's x axis towards +y (clockwise as seen from behind the camera).
    pub fn pose(&self, pivot_m: f32) -> CameraPose {
        let pivot = glam::Vec3::new(0.0, 0.0, pivot_m.max(1e-3));
        let orbit = glam::Mat3::from_rotation_y(-self.orbit_deg.to_radians());
        let orbited = pivot - orbit * pivot;
        let offset = glam::Vec3::new(self.truck_m, -self.pedestal_m, self.dolly_m);
        let position = orbited + orbit * offset;
        let look = glam::Mat3::from_rotation_y(self.pan_deg.to_radians())
            * glam::Mat3::from_rotation_x(self.tilt_deg.to_radians())
            * glam::Mat3::from_rotation_z(self.roll_deg.to_radians());
        CameraPose {
            rotation: orbit * look,
            position,
            zoom: clamp_zoom(self.zoom),
        }
    }
}

/// The zoom range the schema documents.
fn clamp_zoom(zoom: f32) -> f32 {
    if zoom.is_finite() {
        zoom.clamp(0.1, 10.0)
    } else {
        1.0
    }
}

impl CameraMove {
    /// Does the move leave the camera at the source view on every frame?
    pub fn is_static(&self) -> bool {
        self.keys.iter().all(CameraKey::is_identity)
    }

    /// The channel values at `frame`: held before the first key and after the last, each
    /// segment eased by its starting key's `Ease`.
    pub fn key_at(&self, frame: f32) -> CameraKey {
        let mut keys: Vec<&CameraKey> = self.keys.iter().collect();
        keys.sort_by(|a, b| a.frame.total_cmp(&b.frame));
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return CameraKey {
                frame,
                ..CameraKey::default()
            };
        };
        if frame <= first.frame || keys.len() == 1 {
            return (*first).clone();
        }
        if frame >= last.frame {
            return (*last).clone();
        }
        // The segment [a, b] with a.frame <= frame < b.frame.
        let i = keys
            .partition_point(|k| k.frame <= frame)
            .clamp(1, keys.len() - 1);
        let (a, b) = (keys[i - 1], keys[i]);
        let span = b.frame - a.frame;
        let t = if span > 0.0 {
            (frame - a.frame) / span
        } else {
            1.0
        };
        a.lerp(b, a.ease.apply(t))
    }

    /// The camera pose at `frame`.
    pub fn pose_at(&self, frame: f32) -> CameraPose {
        self.key_at(frame).pose(self.pivot_m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;

    fn key(frame: f32, ease: Ease) -> CameraKey {
        CameraKey {
            frame,
            ease,
            ..CameraKey::default()
        }
    }

    #[test]
    fn easing_hits_its_endpoints_and_never_goes_backwards() {
        for ease in [Ease::Linear, Ease::EaseIn, Ease::EaseOut, Ease::EaseInOut] {
            assert_eq!(ease.apply(0.0), 0.0, "{ease:?}");
            assert_eq!(ease.apply(1.0), 1.0, "{ease:?}");
            let mut last = 0.0;
            for i in 1..=100 {
                let v = ease.apply(i as f32 / 100.0);
                assert!(v >= last, "{ease:?} goes backwards at {i}");
                last = v;
            }
        }
        // Ease-in starts slower than linear, ease-out faster; ease-in-out is symmetric.
        assert!(Ease::EaseIn.apply(0.25) < 0.25);
        assert!(Ease::EaseOut.apply(0.25) > 0.25);
        assert!((Ease::EaseInOut.apply(0.5) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn a_move_is_held_outside_its_keys_and_eased_between() {
        let mut a = key(10.0, Ease::Linear);
        a.truck_m = 1.0;
        let mut b = key(20.0, Ease::Linear);
        b.truck_m = 3.0;
        // Keys out of order are sorted by frame.
        let m = CameraMove {
            keys: vec![b.clone(), a.clone()],
            ..CameraMove::default()
        };
        assert_eq!(m.key_at(0.0).truck_m, 1.0);
        assert_eq!(m.key_at(10.0).truck_m, 1.0);
        assert!((m.key_at(15.0).truck_m - 2.0).abs() < 1e-6);
        assert_eq!(m.key_at(20.0).truck_m, 3.0);
        assert_eq!(m.key_at(99.0).truck_m, 3.0);
        // The truck moves the camera right in source coordinates.
        assert!((m.pose_at(15.0).position - Vec3::new(2.0, 0.0, 0.0)).length() < 1e-6);
    }

    #[test]
    fn hold_keeps_the_values_until_the_next_key() {
        let mut a = key(0.0, Ease::Hold);
        a.dolly_m = 0.5;
        let mut b = key(10.0, Ease::Linear);
        b.dolly_m = 2.0;
        let m = CameraMove {
            keys: vec![a, b],
            ..CameraMove::default()
        };
        assert_eq!(m.key_at(9.99).dolly_m, 0.5);
        assert_eq!(m.key_at(10.0).dolly_m, 2.0);
    }

    #[test]
    fn orbit_keeps_the_pivot_at_the_image_centre_and_circles_it() {
        let pivot_m = 5.0;
        for deg in [-30.0f32, -5.0, 10.0, 45.0] {
            let mut k = key(0.0, Ease::Linear);
            k.orbit_deg = deg;
            let pose = k.pose(pivot_m);
            let p = pose.to_camera(Vec3::new(0.0, 0.0, pivot_m));
            assert!(p.x.abs() < 1e-5 && p.y.abs() < 1e-5, "{deg}: {p}");
            assert!(
                (p.z - pivot_m).abs() < 1e-4,
                "{deg}: stays {pivot_m} m away"
            );
            // Orbiting right moves the camera right.
            assert_eq!(pose.position.x > 0.0, deg > 0.0, "{deg}");
        }
    }

    #[test]
    fn pan_tilt_and_pedestal_point_the_way_their_names_say() {
        let mut k = key(0.0, Ease::Linear);
        k.pan_deg = 10.0;
        assert!(k.pose(4.0).rotation.z_axis.x > 0.0, "pan right looks right");
        let mut k = key(0.0, Ease::Linear);
        k.tilt_deg = 10.0;
        assert!(
            k.pose(4.0).rotation.z_axis.y < 0.0,
            "tilt up looks up (y is down)"
        );
        let mut k = key(0.0, Ease::Linear);
        k.pedestal_m = 1.0;
        assert!(k.pose(4.0).position.y < 0.0, "pedestal up moves up");
    }

    #[test]
    fn zoom_is_interpolated_in_log_space() {
        let a = CameraKey {
            zoom: 1.0,
            ease: Ease::Linear,
            ..key(0.0, Ease::Linear)
        };
        let b = CameraKey {
            zoom: 4.0,
            ..key(10.0, Ease::Linear)
        };
        let m = CameraMove {
            keys: vec![a, b],
            ..CameraMove::default()
        };
        assert!((m.pose_at(5.0).zoom - 2.0).abs() < 1e-5);
        assert!(m.pose_at(2.5).zoom < m.pose_at(7.5).zoom);
    }

    #[test]
    fn a_move_without_offsets_is_static() {
        assert!(CameraMove::default().is_static());
        assert!(CameraMove::default().pose_at(3.0).is_identity());
        let m = CameraMove {
            keys: vec![key(0.0, Ease::Linear), key(5.0, Ease::EaseIn)],
            ..CameraMove::default()
        };
        assert!(m.is_static());
        let mut moving = m.clone();
        moving.keys[1].orbit_deg = 1.0;
        assert!(!moving.is_static());
    }
}
