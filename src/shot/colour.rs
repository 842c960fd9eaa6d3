//! Colour: the named colour spaces a shot's plates come in, the working space they are
//! converted to, and the sRGB <-> linear curves (IEC 61966-2-1).
//!
//! # Colour spaces
//!
//! Each shot has an input colour space ([`ColourSpace`]), named as OpenColorIO, Nuke and
//! oiiotool name it (any case; the aliases are in [`ColourSpace::aliases`]); `auto` (no choice)
//! takes 8- and 16-bit files as `srgb` and float files (EXR, float TIFF) as `linear`. When a
//! plate enters the pipeline, [`PlateColour::apply`] converts it from that space to the
//! project's [`WorkingSpace`] (linear Rec.709/sRGB, or ACEScg): the space's curve is undone,
//! then a 3x3 matrix changes the primaries. `raw` is data: its values pass as stored.
//!
//! The matrices are derived from the primaries' chromaticities in double precision, with a
//! Bradford adaptation between the ACES white (D60) and D65, as OpenColorIO's built-in configs
//! do (tests/colour_ocio.rs compares every conversion with OpenColorIO). They are plain 3x3
//! matrices on `glam` types: the colour crates that know these spaces either pin an older
//! `glam` or lack the ACES primaries, and the maths is a few lines.
//!
//! Model inputs, PNG previews and the viewer go back to linear Rec.709 before their sRGB (or
//! Rec.709) encode, whatever the working space ([`WorkingSpace::to_rec709`]).
//!
//! # sRGB curves
//!
//! The exact piecewise curves are [`srgb_to_linear`] and [`linear_to_srgb`]. The quantising
//! helpers [`linear_to_srgb_u8`] and [`linear_to_srgb_u16`] are the fast paths the exporter uses
//! for whole frames; they give the same codes as rounding the exact curve (the 8-bit one exactly,
//! the 16-bit one to within a few hundredths of a code).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The exact sRGB decoding curve (EOTF): an sRGB-encoded value in `0..=1` to linear light.
///
/// Values outside `0..=1` follow the same formula, mirrored for negatives, so out-of-range data
/// survives a round trip.
pub fn srgb_to_linear(v: f32) -> f32 {
    if v.abs() <= 0.04045 {
        v / 12.92
    } else {
        v.signum() * ((v.abs() + 0.055) / 1.055).powf(2.4)
    }
}

/// The exact sRGB encoding curve (inverse EOTF): linear light to an sRGB-encoded value.
///
/// Values outside `0..=1` follow the same formula, mirrored for negatives.
pub fn linear_to_srgb(v: f32) -> f32 {
    if v.abs() <= 0.003_130_8 {
        v * 12.92
    } else {
        v.signum() * (1.055 * v.abs().powf(1.0 / 2.4) - 0.055)
    }
}

/// Linear light to an 8-bit sRGB code: clamped to `0..=1`, NaN gives 0.
///
/// Exact: the same code as `(linear_to_srgb(v) * 255).round()`, from one table look-up and one
/// comparison.
#[inline]
pub fn linear_to_srgb_u8(v: f32) -> u8 {
    let table = &*U8_ENCODE;
    // NaN fails `v > 0.0`, so it becomes 0.
    let v = if v > 0.0 { v.min(1.0) } else { 0.0 };
    // Multiplying by a power of two is exact, so bucket order is value order.
    let bucket = ((v * U8_BUCKETS as f32) as usize).min(U8_BUCKETS - 1);
    let code = table.first_code[bucket];
    code + u8::from(v >= table.thresholds[usize::from(code)])
}

/// Linear light to a 16-bit sRGB code: clamped to `0..=1`, NaN gives 0.
///
/// Fast: below the curve's linear toe it is exact arithmetic; above it, linear interpolation in a
/// table of 256 points per octave, within 0.05 of a code of the exact curve.
#[inline]
pub fn linear_to_srgb_u16(v: f32) -> u16 {
    let v = if v > 0.0 { v.min(1.0) } else { 0.0 };
    let encoded = if v < U16_TABLE_START {
        v * 12.92
    } else if v >= 1.0 {
        1.0
    } else {
        // Within one octave the mantissa is linear in `v`, so its top bits pick the segment and
        // the rest is the interpolation weight.
        let offset = v.to_bits() - U16_TABLE_START.to_bits();
        let index = (offset >> U16_FRACTION_BITS) as usize;
        let weight = (offset & ((1 << U16_FRACTION_BITS) - 1)) as f32
            * (1.0 / (1u32 << U16_FRACTION_BITS) as f32);
        let table = &*U16_ENCODE;
        let (a, b) = (table[index], table[index + 1]);
        a + (b - a) * weight
    };
    (encoded * 65535.0 + 0.5) as u16
}

/// Buckets over `0..=1` for the 8-bit encoder. Two thresholds are at least `1/255/12.92` apart
/// (the slope of the curve only grows), which is wider than a bucket, so a bucket holds at most one.
const U8_BUCKETS: usize = 4096;

/// Table for [`linear_to_srgb_u8`].
struct U8Encode {
    /// `thresholds[k]`: the linear value where code `k + 1` starts; the last is infinite.
    thresholds: [f32; 256],
    /// The code of the lowest value in each bucket, before any threshold inside it.
    first_code: [u8; U8_BUCKETS],
}

static U8_ENCODE: LazyLock<Box<U8Encode>> = LazyLock::new(|| {
    let mut thresholds = [f32::INFINITY; 256];
    for (k, t) in thresholds.iter_mut().take(255).enumerate() {
        *t = srgb_to_linear_f64((k as f64 + 0.5) / 255.0) as f32;
    }
    let mut first_code = [0u8; U8_BUCKETS];
    let mut code = 0usize;
    for (bucket, first) in first_code.iter_mut().enumerate() {
        // Count the thresholds in earlier buckets, bucketed the same way as the look-up.
        while code < 255 && ((thresholds[code] * U8_BUCKETS as f32) as usize) < bucket {
            code += 1;
        }
        *first = code as u8;
    }
    Box::new(U8Encode {
        thresholds,
        first_code,
    })
});

/// Where the 16-bit table starts: 2^-9, just below the end of the curve's linear toe.
const U16_TABLE_START: f32 = 1.0 / 512.0;
/// Octaves from 2^-9 to 1.
const U16_OCTAVES: usize = 9;
/// 2^8 segments per octave.
const U16_SEGMENT_BITS: u32 = 8;
/// Mantissa bits left for the interpolation weight.
const U16_FRACTION_BITS: u32 = 23 - U16_SEGMENT_BITS;

/// The exact curve at each segment start from 2^-9 to 1 inclusive, for [`linear_to_srgb_u16`].
static U16_ENCODE: LazyLock<Vec<f32>> = LazyLock::new(|| {
    let count = (U16_OCTAVES << U16_SEGMENT_BITS) + 1;
    (0..count)
        .map(|i| {
            let bits = U16_TABLE_START.to_bits() + ((i as u32) << U16_FRACTION_BITS);
            linear_to_srgb_f64(f64::from(f32::from_bits(bits))) as f32
        })
        .collect()
});

/// [`srgb_to_linear`] in double precision, for building tables.
pub(crate) fn srgb_to_linear_f64(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// [`linear_to_srgb`] in double precision, for building tables.
fn linear_to_srgb_f64(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

// ------------------------------------------------------------------------------------------
// Colour spaces

/// The colour space a shot's files are in (the input colour space).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColourSpace {
    /// sRGB-encoded Rec.709 primaries (the IEC 61966-2-1 curve): photos, textures, most 8- and
    /// 16-bit files. OpenColorIO's `sRGB Encoded Rec.709 (sRGB)` ("sRGB - Texture").
    Srgb,
    /// Rec.709 primaries with the BT.709 camera curve (OETF, `1.099 L^0.45 - 0.099` with its
    /// linear toe): what Nuke and oiiotool call `rec709`, OpenColorIO's `Camera Rec.709`.
    Rec709,
    /// Rec.709 primaries with a pure 2.4 gamma (BT.1886 with a black of 0): a Rec.709 display
    /// signal. OpenColorIO's `Gamma 2.4 Encoded Rec.709`; `Rec.1886 Rec.709 - Display` is taken
    /// as this curve alone (no inverse view transform).
    Rec1886,
    /// Linear light, Rec.709/sRGB primaries, D65 white. OpenColorIO's `Linear Rec.709 (sRGB)`.
    Linear,
    /// ACEScg: linear, AP1 primaries, the ACES white.
    AcesCg,
    /// ACES2065-1: linear, AP0 primaries, the ACES white.
    Aces2065_1,
    /// Linear light, Rec.2020 primaries, D65 white. OpenColorIO's `Linear Rec.2020`.
    LinearRec2020,
    /// Data, not colour: no conversion at all (the file's values as stored; 8- and 16-bit codes
    /// as 0..1).
    Raw,
}

impl ColourSpace {
    /// Every colour space, in menu order.
    pub const ALL: [ColourSpace; 8] = [
        ColourSpace::Srgb,
        ColourSpace::Rec709,
        ColourSpace::Rec1886,
        ColourSpace::Linear,
        ColourSpace::AcesCg,
        ColourSpace::Aces2065_1,
        ColourSpace::LinearRec2020,
        ColourSpace::Raw,
    ];

    /// The name Mattebox writes (command line, project files, EXR headers).
    pub fn name(self) -> &'static str {
        match self {
            ColourSpace::Srgb => "srgb",
            ColourSpace::Rec709 => "rec709",
            ColourSpace::Rec1886 => "rec1886",
            ColourSpace::Linear => "linear",
            ColourSpace::AcesCg => "acescg",
            ColourSpace::Aces2065_1 => "aces2065-1",
            ColourSpace::LinearRec2020 => "linear-rec2020",
            ColourSpace::Raw => "raw",
        }
    }

    /// The colour space's name in OpenColorIO's built-in studio config (`ocio://studio-config-latest`).
    pub fn ocio_name(self) -> &'static str {
        match self {
            ColourSpace::Srgb => "sRGB Encoded Rec.709 (sRGB)",
            ColourSpace::Rec709 => "Camera Rec.709",
            ColourSpace::Rec1886 => "Gamma 2.4 Encoded Rec.709",
            ColourSpace::Linear => "Linear Rec.709 (sRGB)",
            ColourSpace::AcesCg => "ACEScg",
            ColourSpace::Aces2065_1 => "ACES2065-1",
            ColourSpace::LinearRec2020 => "Linear Rec.2020",
            ColourSpace::Raw => "Raw",
        }
    }

    /// A short description for menus.
    pub fn label(self) -> &'static str {
        match self {
            ColourSpace::Srgb => "sRGB (sRGB-encoded Rec.709)",
            ColourSpace::Rec709 => "Rec.709 (camera curve, BT.709 OETF)",
            ColourSpace::Rec1886 => "Rec.1886 (gamma 2.4 Rec.709 display)",
            ColourSpace::Linear => "Linear Rec.709 (sRGB)",
            ColourSpace::AcesCg => "ACEScg",
            ColourSpace::Aces2065_1 => "ACES2065-1",
            ColourSpace::LinearRec2020 => "Linear Rec.2020",
            ColourSpace::Raw => "Raw (data, no conversion)",
        }
    }

    /// Every other name accepted for this space, any case: OpenColorIO's names and aliases (its
    /// built-in configs and the older ACES 1.x configs), Nuke's and oiiotool's.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            ColourSpace::Srgb => &[
                "sRGB",
                "sRGB Encoded Rec.709 (sRGB)",
                "srgb_encoded_rec709_srgb",
                "sRGB - Texture",
                "srgb_texture",
                "srgb_tx",
                "srgb_rec709_scene",
                "Utility - sRGB - Texture",
                "Input - Generic - sRGB - Texture",
                "sRGB - Display",
                "srgb_display",
                "srgb_rec709_display",
            ],
            ColourSpace::Rec709 => &[
                "Rec709",
                "Rec.709",
                "bt709",
                "bt.709",
                "Camera Rec.709",
                "camera_rec709",
                "rec709_camera",
                "Utility - Rec.709 - Camera",
                "ocio:itu709_rec709_scene",
            ],
            ColourSpace::Rec1886 => &[
                "Rec.1886",
                "bt1886",
                "Rec.1886 Rec.709 - Display",
                "rec1886_rec709_display",
                "g24_rec709_display",
                "Gamma 2.4 Encoded Rec.709",
                "g24_encoded_rec709",
                "g24_rec709",
                "g24_rec709_tx",
                "g24_rec709_scene",
                "rec709_display",
                "Utility - Rec.709 - Display",
                "Gamma 2.4 Rec.709 - Texture",
            ],
            ColourSpace::Linear => &[
                "Linear Rec.709 (sRGB)",
                "lin_rec709_srgb",
                "lin_rec709",
                "lin_rec709_scene",
                "lin_srgb",
                "linear-rec709",
                "linear-srgb",
                "scene-linear-rec709",
                "Utility - Linear - sRGB",
                "Utility - Linear - Rec.709",
            ],
            ColourSpace::AcesCg => &["ACEScg", "ACES - ACEScg", "lin_ap1", "lin_ap1_scene"],
            ColourSpace::Aces2065_1 => &[
                "ACES2065-1",
                "aces2065_1",
                "aces",
                "ACES - ACES2065-1",
                "lin_ap0",
                "lin_ap0_scene",
            ],
            ColourSpace::LinearRec2020 => &[
                "Linear Rec.2020",
                "lin_rec2020",
                "lin_rec2020_scene",
                "Utility - Linear - Rec.2020",
            ],
            ColourSpace::Raw => &["Raw", "Utility - Raw", "data", "Non-Color"],
        }
    }

    /// The space Mattebox assumes for a file of `source_bits` bits per channel when the shot
    /// names none: `srgb` for 8 and 16 bits, `linear` for float (32).
    pub fn default_for_bits(source_bits: u8) -> ColourSpace {
        if source_bits >= 32 {
            ColourSpace::Linear
        } else {
            ColourSpace::Srgb
        }
    }

    /// The primaries, `None` for `raw` (data).
    pub fn primaries(self) -> Option<Primaries> {
        match self {
            ColourSpace::Srgb
            | ColourSpace::Rec709
            | ColourSpace::Rec1886
            | ColourSpace::Linear => Some(Primaries::Rec709),
            ColourSpace::AcesCg => Some(Primaries::Ap1),
            ColourSpace::Aces2065_1 => Some(Primaries::Ap0),
            ColourSpace::LinearRec2020 => Some(Primaries::Rec2020),
            ColourSpace::Raw => None,
        }
    }

    /// The curve from the file's values to linear light.
    pub fn transfer(self) -> Transfer {
        match self {
            ColourSpace::Srgb => Transfer::Srgb,
            ColourSpace::Rec709 => Transfer::Rec709,
            ColourSpace::Rec1886 => Transfer::Gamma24,
            ColourSpace::Linear
            | ColourSpace::AcesCg
            | ColourSpace::Aces2065_1
            | ColourSpace::LinearRec2020
            | ColourSpace::Raw => Transfer::Linear,
        }
    }

    /// Parses a command-line or project choice: `auto` (any case) is `None`, anything else a
    /// colour space by name or alias.
    pub fn parse_choice(name: &str) -> Result<Option<ColourSpace>, UnknownColourSpace> {
        if name.trim().eq_ignore_ascii_case("auto") {
            Ok(None)
        } else {
            name.parse().map(Some)
        }
    }

    /// A choice as [`ColourSpace::parse_choice`] reads it back: `auto` for `None`, else the
    /// space's name.
    pub fn choice_name(choice: Option<ColourSpace>) -> &'static str {
        choice.map_or("auto", ColourSpace::name)
    }

    /// Every accepted name, for messages and help: `srgb (sRGB, sRGB - Texture, ...)`, one per
    /// space, separated by `; `.
    pub fn accepted_names() -> String {
        ColourSpace::ALL
            .iter()
            .map(|s| format!("{} ({})", s.name(), s.aliases().join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for ColourSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A colour space name Mattebox does not know; the message lists the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown colour space {name:?}: use auto or one of {}",
    ColourSpace::accepted_names()
)]
pub struct UnknownColourSpace {
    /// The name given.
    pub name: String,
}

impl FromStr for ColourSpace {
    type Err = UnknownColourSpace;

    /// A name or alias, any case, surrounding spaces ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        ColourSpace::ALL
            .into_iter()
            .find(|space| {
                space.name().eq_ignore_ascii_case(wanted)
                    || space
                        .aliases()
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(wanted))
            })
            .ok_or_else(|| UnknownColourSpace {
                name: s.to_string(),
            })
    }
}

impl serde::Serialize for ColourSpace {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for ColourSpace {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde for an optional input colour space written as `"auto"` when there is none, so that
/// project files always carry the field: `#[serde(with = "crate::shot::colour::auto_or_space")]`.
pub mod auto_or_space {
    use super::ColourSpace;

    /// `None` as `"auto"`, a space as its name.
    pub fn serialize<S: serde::Serializer>(
        value: &Option<ColourSpace>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(ColourSpace::choice_name(*value))
    }

    /// `"auto"` (any case) as `None`, else a name or alias.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<ColourSpace>, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(deserializer)?;
        ColourSpace::parse_choice(&name).map_err(serde::de::Error::custom)
    }
}

/// A colour space's curve, from its encoded values to linear light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transfer {
    /// Already linear.
    Linear,
    /// The sRGB curve ([`srgb_to_linear`]).
    Srgb,
    /// The BT.709 camera curve, as OpenColorIO's `Camera Rec.709` (an `ExponentWithLinear` of
    /// gamma 1/0.45 and offset 0.099: the power part is exactly BT.709's, the linear toe meets
    /// it where their slopes match, at code 0.081; negatives continue the toe).
    Rec709,
    /// A pure 2.4 power; negatives pass through unchanged (as OpenColorIO's `pass_thru`).
    Gamma24,
}

/// Where the BT.709 curve's linear toe ends, as a code value: `offset / (gamma - 1)`.
const REC709_BREAK: f32 = 0.081;
/// The toe's slope from code to linear: the curve's value at [`REC709_BREAK`] divided by it.
const REC709_TOE: f32 = 0.221_543_5;

impl Transfer {
    /// An encoded value to linear light.
    pub fn to_linear(self, v: f32) -> f32 {
        match self {
            Transfer::Linear => v,
            Transfer::Srgb => srgb_to_linear(v),
            Transfer::Rec709 => {
                if v < REC709_BREAK {
                    v * REC709_TOE
                } else {
                    ((v + 0.099) / 1.099).powf(1.0 / 0.45)
                }
            }
            Transfer::Gamma24 => {
                if v > 0.0 {
                    v.powf(2.4)
                } else {
                    v
                }
            }
        }
    }

    /// Linear light to an encoded value (the inverse of [`Transfer::to_linear`]).
    pub fn from_linear(self, v: f32) -> f32 {
        match self {
            Transfer::Linear => v,
            Transfer::Srgb => linear_to_srgb(v),
            Transfer::Rec709 => {
                if v < REC709_BREAK * REC709_TOE {
                    v / REC709_TOE
                } else {
                    1.099 * v.powf(0.45) - 0.099
                }
            }
            Transfer::Gamma24 => {
                if v > 0.0 {
                    v.powf(1.0 / 2.4)
                } else {
                    v
                }
            }
        }
    }
}

/// A set of RGB primaries with its white point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primaries {
    /// Rec.709 / sRGB, D65 white.
    Rec709,
    /// Rec.2020, D65 white.
    Rec2020,
    /// ACES AP0 (ACES2065-1), the ACES white (about D60).
    Ap0,
    /// ACES AP1 (ACEScg), the ACES white.
    Ap1,
}

impl Primaries {
    /// The CIE 1931 xy chromaticities of red, green, blue and white.
    pub fn chromaticities(self) -> [[f64; 2]; 4] {
        const D65: [f64; 2] = [0.3127, 0.3290];
        const ACES_WHITE: [f64; 2] = [0.32168, 0.33767];
        match self {
            Primaries::Rec709 => [[0.64, 0.33], [0.30, 0.60], [0.15, 0.06], D65],
            Primaries::Rec2020 => [[0.708, 0.292], [0.170, 0.797], [0.131, 0.046], D65],
            Primaries::Ap0 => [[0.7347, 0.2653], [0.0, 1.0], [0.0001, -0.0770], ACES_WHITE],
            Primaries::Ap1 => [[0.713, 0.293], [0.165, 0.830], [0.128, 0.044], ACES_WHITE],
        }
    }

    /// The matrix from linear RGB in these primaries to CIE XYZ (Y of white = 1).
    fn to_xyz(self) -> glam::DMat3 {
        let [r, g, b, w] = self.chromaticities();
        let m = glam::DMat3::from_cols(xyz_of(r), xyz_of(g), xyz_of(b));
        let s = m.inverse() * xyz_of(w);
        glam::DMat3::from_cols(m.x_axis * s.x, m.y_axis * s.y, m.z_axis * s.z)
    }
}

/// The XYZ of chromaticity `xy` at Y = 1.
fn xyz_of([x, y]: [f64; 2]) -> glam::DVec3 {
    glam::DVec3::new(x / y, 1.0, (1.0 - x - y) / y)
}

/// The Bradford cone response matrix (rows as in the literature).
fn bradford() -> glam::DMat3 {
    glam::DMat3::from_cols_array(&[
        0.8951, -0.7502, 0.0389, 0.2664, 1.7135, -0.0685, -0.1614, 0.0367, 1.0296,
    ])
}

/// The matrix taking linear RGB in `from` primaries to linear RGB in `to` primaries, with a
/// Bradford adaptation between their white points when they differ (as OpenColorIO's built-in
/// configs do). Computed in double precision.
pub fn conversion_matrix(from: Primaries, to: Primaries) -> glam::Mat3 {
    if from == to {
        return glam::Mat3::IDENTITY;
    }
    let (wf, wt) = (from.chromaticities()[3], to.chromaticities()[3]);
    let adapt = if wf == wt {
        glam::DMat3::IDENTITY
    } else {
        let cone = bradford();
        let (sf, st) = (cone * xyz_of(wf), cone * xyz_of(wt));
        cone.inverse() * glam::DMat3::from_diagonal(st / sf) * cone
    };
    (to.to_xyz().inverse() * adapt * from.to_xyz()).as_mat3()
}

/// The space the pipeline works in: plates are converted to it when they enter, the
/// compositor works in it, and the EXRs are written in it (their `chromaticities` say which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WorkingSpace {
    /// Linear light, Rec.709/sRGB primaries, D65 white (the default).
    #[default]
    Linear,
    /// ACEScg: linear, AP1 primaries, the ACES white.
    AcesCg,
}

impl WorkingSpace {
    /// Every working space, in menu order.
    pub const ALL: [WorkingSpace; 2] = [WorkingSpace::Linear, WorkingSpace::AcesCg];

    /// The colour space it is.
    pub fn colour_space(self) -> ColourSpace {
        match self {
            WorkingSpace::Linear => ColourSpace::Linear,
            WorkingSpace::AcesCg => ColourSpace::AcesCg,
        }
    }

    /// The name Mattebox writes: `linear` or `acescg`.
    pub fn name(self) -> &'static str {
        self.colour_space().name()
    }

    /// OpenColorIO's name: `Linear Rec.709 (sRGB)` or `ACEScg`.
    pub fn ocio_name(self) -> &'static str {
        self.colour_space().ocio_name()
    }

    /// A short description for menus.
    pub fn label(self) -> &'static str {
        self.colour_space().label()
    }

    /// The primaries.
    pub fn primaries(self) -> Primaries {
        match self {
            WorkingSpace::Linear => Primaries::Rec709,
            WorkingSpace::AcesCg => Primaries::Ap1,
        }
    }

    /// The chromaticities of red, green, blue and white, for OpenEXR's `chromaticities`.
    pub fn chromaticities(self) -> [[f32; 2]; 4] {
        self.primaries()
            .chromaticities()
            .map(|[x, y]| [x as f32, y as f32])
    }

    /// The matrix from this space to linear Rec.709, `None` when it is linear Rec.709.
    pub fn to_rec709(self) -> Option<glam::Mat3> {
        match self {
            WorkingSpace::Linear => None,
            other => Some(conversion_matrix(other.primaries(), Primaries::Rec709)),
        }
    }

    /// The weights that give a colour of this space its Rec.709 luminance (that of the colour
    /// converted to linear Rec.709), so a plate's luminance is the same whatever the space.
    pub fn luminance_weights(self) -> [f32; 3] {
        const REC709: [f32; 3] = [0.2126, 0.7152, 0.0722];
        match self.to_rec709() {
            None => REC709,
            Some(m) => (m.transpose() * glam::Vec3::from_array(REC709)).to_array(),
        }
    }

    /// A colour of this space in linear Rec.709 (one colour: the matrix is made on every call;
    /// for images take [`WorkingSpace::to_rec709`] once).
    pub fn rgb_to_rec709(self, rgb: [f32; 3]) -> [f32; 3] {
        match self.to_rec709() {
            None => rgb,
            Some(m) => (m * glam::Vec3::from_array(rgb)).to_array(),
        }
    }

    /// A colour of this space as the models take it: linear Rec.709, sRGB-encoded.
    pub fn rgb_to_srgb(self, rgb: [f32; 3]) -> [f32; 3] {
        self.rgb_to_rec709(rgb).map(linear_to_srgb)
    }

    /// A plate in this space as a plate in linear Rec.709 (for the sRGB-encoded PNG previews):
    /// borrowed as it is when this is linear Rec.709.
    pub fn plate_to_rec709(self, plate: &super::Plate) -> Cow<'_, super::Plate> {
        match self.to_rec709() {
            None => Cow::Borrowed(plate),
            Some(m) => {
                let mut out = plate.clone();
                transform_rgba(&mut out.rgba, |rgb| m * rgb);
                Cow::Owned(out)
            }
        }
    }
}

impl WorkingSpace {
    /// [`WorkingSpace::plate_to_rec709`] for a plate that is not needed afterwards: converted
    /// in place.
    pub fn into_rec709(self, mut plate: super::Plate) -> super::Plate {
        if let Some(m) = self.to_rec709() {
            transform_rgba(&mut plate.rgba, |rgb| m * rgb);
        }
        plate
    }
}

impl fmt::Display for WorkingSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A working space name Mattebox does not know; the message lists the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown working space {name:?}: use linear ({}) or acescg ({})",
    ColourSpace::Linear.aliases().join(", "),
    ColourSpace::AcesCg.aliases().join(", ")
)]
pub struct UnknownWorkingSpace {
    /// The name given.
    pub name: String,
}

impl FromStr for WorkingSpace {
    type Err = UnknownWorkingSpace;

    /// `linear` or `acescg`, or any of their colour spaces' aliases, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownWorkingSpace {
            name: s.to_string(),
        };
        match s.parse::<ColourSpace>().map_err(|_| unknown())? {
            ColourSpace::Linear => Ok(WorkingSpace::Linear),
            ColourSpace::AcesCg => Ok(WorkingSpace::AcesCg),
            _ => Err(unknown()),
        }
    }
}

impl serde::Serialize for WorkingSpace {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for WorkingSpace {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// How plates enter the pipeline: the shot's input colour space and the working space.
///
/// [`PlateColour::apply`] is the one place where a decoded plate is converted; every path that
/// brings a plate in (`shot::load_plate`: the process and render jobs, the app's frame loader)
/// goes through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlateColour {
    /// The shot's input colour space; `None` (auto): by the file's bit depth
    /// ([`ColourSpace::default_for_bits`]).
    pub input: Option<ColourSpace>,
    /// The working space.
    pub working: WorkingSpace,
}

impl PlateColour {
    /// The input space of a file of `source_bits` bits per channel.
    pub fn input_for(&self, source_bits: u8) -> ColourSpace {
        self.input
            .unwrap_or_else(|| ColourSpace::default_for_bits(source_bits))
    }

    /// Whether this is the default (auto input, linear Rec.709 working space), under which every
    /// plate is exactly as decoded.
    pub fn is_default(&self) -> bool {
        *self == PlateColour::default()
    }

    /// Converts a decoded plate from the input space to the working space, in place; alpha is
    /// never touched.
    ///
    /// The decoder took 8- and 16-bit files as sRGB and float files as linear; where the input
    /// space has another curve, that decoding is undone first (for integer files the values
    /// are then the file's codes again, to within f32 rounding). A plate already in the working
    /// space is left exactly as it is.
    pub fn apply(&self, plate: &mut super::Plate) {
        let space = self.input_for(plate.source_bits);
        let decoded_as = ColourSpace::default_for_bits(plate.source_bits).transfer();
        let transfer = space.transfer();
        let matrix = space
            .primaries()
            .map(|p| conversion_matrix(p, self.working.primaries()))
            .filter(|m| *m != glam::Mat3::IDENTITY);
        match (transfer == decoded_as, matrix) {
            (true, None) => {}
            (true, Some(m)) => transform_rgba(&mut plate.rgba, |rgb| m * rgb),
            (false, m) => {
                let m = m.unwrap_or(glam::Mat3::IDENTITY);
                transform_rgba(&mut plate.rgba, |rgb| {
                    let c = rgb
                        .to_array()
                        .map(|v| transfer.to_linear(decoded_as.from_linear(v)));
                    m * glam::Vec3::from_array(c)
                });
            }
        }
    }
}

/// Pixels converted per task.
const COLOUR_CHUNK_PX: usize = 16_384;

/// Applies `f` to the RGB of every RGBA pixel, on rayon's threads for large images.
fn transform_rgba(rgba: &mut [f32], f: impl Fn(glam::Vec3) -> glam::Vec3 + Sync) {
    use rayon::prelude::*;
    rgba.par_chunks_mut(COLOUR_CHUNK_PX * 4).for_each(|chunk| {
        let (pixels, _) = chunk.as_chunks_mut::<4>();
        for p in pixels {
            let out = f(glam::Vec3::new(p[0], p[1], p[2]));
            p[0] = out.x;
            p[1] = out.y;
            p[2] = out.z;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(srgb_to_linear(0.0), 0.0);
        assert!((srgb_to_linear(1.0) - 1.0).abs() < 1e-6);
        assert!((srgb_to_linear(0.5) - 0.214_041_14).abs() < 1e-6);
        assert!((linear_to_srgb(0.214_041_14) - 0.5).abs() < 1e-6);
        assert!((linear_to_srgb(0.001) - 0.012_92).abs() < 1e-7);
        assert!((srgb_to_linear(-0.5) + 0.214_041_14).abs() < 1e-6);
    }

    #[test]
    fn curves_are_inverse() {
        for i in 0..=1000 {
            let v = i as f32 / 1000.0;
            assert!((linear_to_srgb(srgb_to_linear(v)) - v).abs() < 1e-5, "{v}");
        }
    }

    #[test]
    fn every_u8_survives_a_round_trip() {
        for code in 0..=255u8 {
            let linear = srgb_to_linear(f32::from(code) / 255.0);
            assert_eq!(linear_to_srgb_u8(linear), code);
        }
    }

    #[test]
    fn u8_matches_exact_rounding() {
        for i in 0..=200_000 {
            let v = i as f32 / 200_000.0;
            let exact = (linear_to_srgb_f64(f64::from(v)) * 255.0).round() as u8;
            let fast = linear_to_srgb_u8(v);
            // Only a value within f32 rounding of a threshold may differ.
            if fast != exact {
                let t = srgb_to_linear_f64((f64::from(fast.min(exact)) + 0.5) / 255.0);
                assert!((f64::from(v) - t).abs() < 1e-7, "{v}: {fast} vs {exact}");
            }
        }
    }

    #[test]
    fn every_u16_survives_a_round_trip() {
        for code in 0..=65535u16 {
            let linear = srgb_to_linear(f32::from(code) / 65535.0);
            assert_eq!(linear_to_srgb_u16(linear), code);
        }
    }

    #[test]
    fn u16_is_close_to_exact() {
        for i in 0..=1_000_000 {
            let v = i as f32 / 1_000_000.0;
            let exact = linear_to_srgb_f64(f64::from(v)) * 65535.0;
            let fast = f64::from(linear_to_srgb_u16(v));
            assert!((fast - exact).abs() < 0.55, "{v}: {fast} vs {exact}");
        }
    }

    #[test]
    fn out_of_range_and_nan_clamp() {
        assert_eq!(linear_to_srgb_u8(-1.0), 0);
        assert_eq!(linear_to_srgb_u8(2.0), 255);
        assert_eq!(linear_to_srgb_u8(f32::NAN), 0);
        assert_eq!(linear_to_srgb_u8(f32::INFINITY), 255);
        assert_eq!(linear_to_srgb_u16(-1.0), 0);
        assert_eq!(linear_to_srgb_u16(2.0), 65535);
        assert_eq!(linear_to_srgb_u16(f32::NAN), 0);
    }

    fn plate(rgba: Vec<f32>, source_bits: u8) -> crate::shot::Plate {
        crate::shot::Plate {
            width: (rgba.len() / 4) as u32,
            height: 1,
            rgba,
            source_bits,
        }
    }

    #[test]
    fn names_and_aliases_parse_in_any_case() {
        for space in ColourSpace::ALL {
            assert_eq!(space.name().parse::<ColourSpace>(), Ok(space));
            assert_eq!(
                space.name().to_uppercase().parse::<ColourSpace>(),
                Ok(space)
            );
            assert_eq!(space.ocio_name().parse::<ColourSpace>(), Ok(space));
            for alias in space.aliases() {
                assert_eq!(alias.parse::<ColourSpace>(), Ok(space), "{alias}");
                assert_eq!(alias.to_lowercase().parse::<ColourSpace>(), Ok(space));
            }
        }
        assert_eq!("  ACEScg ".parse(), Ok(ColourSpace::AcesCg));
        assert_eq!("sRGB - Texture".parse(), Ok(ColourSpace::Srgb));
        assert_eq!(
            "Rec.1886 Rec.709 - Display".parse(),
            Ok(ColourSpace::Rec1886)
        );
        assert_eq!("rec709".parse(), Ok(ColourSpace::Rec709));
        assert_eq!(ColourSpace::parse_choice("Auto"), Ok(None));
        // No name belongs to two spaces.
        let names = |s: ColourSpace| s.aliases().iter().copied().chain(std::iter::once(s.name()));
        for a in ColourSpace::ALL {
            for b in ColourSpace::ALL.into_iter().filter(|b| *b != a) {
                for name in names(a) {
                    assert!(
                        !names(b).any(|n| n.eq_ignore_ascii_case(name)),
                        "{name} is both {a} and {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_unknown_space_names_the_accepted_ones() {
        let e = "rec2100".parse::<ColourSpace>().unwrap_err().to_string();
        assert!(e.contains("\"rec2100\""), "{e}");
        for space in ColourSpace::ALL {
            assert!(e.contains(space.name()), "{e}");
        }
        assert!(e.contains("auto"), "{e}");
        let e = "srgb".parse::<WorkingSpace>().unwrap_err().to_string();
        assert!(e.contains("linear") && e.contains("acescg"), "{e}");
        assert_eq!("ACEScg".parse(), Ok(WorkingSpace::AcesCg));
        assert_eq!("lin_srgb".parse(), Ok(WorkingSpace::Linear));
    }

    #[test]
    fn serde_uses_the_names() {
        let json = serde_json::to_string(&ColourSpace::Aces2065_1).unwrap();
        assert_eq!(json, "\"aces2065-1\"");
        let back: ColourSpace = serde_json::from_str("\"ACES - ACES2065-1\"").unwrap();
        assert_eq!(back, ColourSpace::Aces2065_1);
        assert!(serde_json::from_str::<ColourSpace>("\"p3\"").is_err());
        let w: WorkingSpace = serde_json::from_str("\"acescg\"").unwrap();
        assert_eq!(w, WorkingSpace::AcesCg);
        assert_eq!(serde_json::to_string(&w).unwrap(), "\"acescg\"");
    }

    #[test]
    fn known_matrices() {
        // ACEScg to linear Rec.709 (the values OpenColorIO and colour-science publish).
        let m = conversion_matrix(Primaries::Ap1, Primaries::Rec709);
        let rows = [
            [1.705_051, -0.621_792, -0.083_259],
            [-0.130_257, 1.140_805, -0.010_548],
            [-0.024_003, -0.128_969, 1.152_972],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, want) in row.iter().enumerate() {
                assert!((m.col(c)[r] - want).abs() < 2e-5, "{r},{c}: {m}");
            }
        }
        // White stays white, both ways, for every pair.
        let all = [
            Primaries::Rec709,
            Primaries::Rec2020,
            Primaries::Ap0,
            Primaries::Ap1,
        ];
        for a in all {
            for b in all {
                let w = conversion_matrix(a, b) * glam::Vec3::ONE;
                assert!(
                    (w - glam::Vec3::ONE).abs().max_element() < 1e-5,
                    "{a:?} {b:?} {w}"
                );
                let round = conversion_matrix(b, a) * conversion_matrix(a, b);
                assert!(round.abs_diff_eq(glam::Mat3::IDENTITY, 1e-5), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn luminance_is_the_same_in_either_working_space() {
        assert_eq!(
            WorkingSpace::Linear.luminance_weights(),
            [0.2126, 0.7152, 0.0722]
        );
        let w = WorkingSpace::AcesCg.luminance_weights();
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{w:?}");
        // Close to AP1's own Y row (0.2722, 0.6741, 0.0537).
        assert!(
            (w[0] - 0.2722).abs() < 0.01 && (w[1] - 0.6741).abs() < 0.01,
            "{w:?}"
        );
        let rec709 = [0.3f32, 0.5, 0.1];
        let ap1 =
            conversion_matrix(Primaries::Rec709, Primaries::Ap1) * glam::Vec3::from_array(rec709);
        let y709 = 0.2126 * rec709[0] + 0.7152 * rec709[1] + 0.0722 * rec709[2];
        assert!((glam::Vec3::from_array(w).dot(ap1) - y709).abs() < 1e-6);
    }

    #[test]
    fn curves_invert() {
        for t in [
            Transfer::Linear,
            Transfer::Srgb,
            Transfer::Rec709,
            Transfer::Gamma24,
        ] {
            for i in -20..=1500 {
                let v = i as f32 / 1000.0;
                let back = t.from_linear(t.to_linear(v));
                assert!((back - v).abs() < 2e-5, "{t:?} {v} {back}");
            }
        }
        // BT.709's curve: code 0.5 is 0.2596 linear; its toe meets the power part.
        assert!((Transfer::Rec709.to_linear(0.5) - 0.259_589).abs() < 1e-5);
        let below = Transfer::Rec709.to_linear(REC709_BREAK - 1e-6);
        let above = Transfer::Rec709.to_linear(REC709_BREAK + 1e-6);
        assert!((above - below).abs() < 1e-5, "{below} {above}");
        assert!((Transfer::Gamma24.to_linear(0.5) - 0.5f32.powf(2.4)).abs() < 1e-7);
    }

    #[test]
    fn the_default_leaves_every_plate_as_decoded() {
        let rgba = vec![0.2, 0.5, 0.9, 0.5, 2.0, -0.1, 0.0, 1.0];
        for bits in [8, 16, 32] {
            let mut p = plate(rgba.clone(), bits);
            PlateColour::default().apply(&mut p);
            assert_eq!(p.rgba, rgba);
            // Naming the default space changes nothing either.
            let mut p = plate(rgba.clone(), bits);
            let colour = PlateColour {
                input: Some(ColourSpace::default_for_bits(bits)),
                working: WorkingSpace::Linear,
            };
            colour.apply(&mut p);
            assert_eq!(p.rgba, rgba);
        }
    }

    #[test]
    fn raw_integer_plates_are_their_codes() {
        let code = 128.0 / 255.0;
        let decoded = srgb_to_linear(code);
        let mut p = plate(vec![decoded, decoded, decoded, 0.25], 8);
        let colour = PlateColour {
            input: Some(ColourSpace::Raw),
            working: WorkingSpace::AcesCg,
        };
        colour.apply(&mut p);
        for v in &p.rgba[..3] {
            assert!((v - code).abs() < 1e-6, "{v}");
        }
        assert_eq!(p.rgba[3], 0.25, "alpha untouched");
    }

    #[test]
    fn rec709_working_space_round_trips_acescg() {
        let rgb = [0.18, 0.5, 0.02];
        let mut p = plate(vec![rgb[0], rgb[1], rgb[2], 1.0], 32);
        PlateColour {
            input: Some(ColourSpace::Linear),
            working: WorkingSpace::AcesCg,
        }
        .apply(&mut p);
        let back = WorkingSpace::AcesCg.rgb_to_rec709([p.rgba[0], p.rgba[1], p.rgba[2]]);
        for c in 0..3 {
            assert!((back[c] - rgb[c]).abs() < 1e-6);
        }
        let shown = WorkingSpace::AcesCg.plate_to_rec709(&p);
        assert!((shown.rgba[1] - 0.5).abs() < 1e-6);
        assert!(matches!(
            WorkingSpace::Linear.plate_to_rec709(&p),
            Cow::Borrowed(_)
        ));
    }
}
