//! sRGB <-> linear light, following IEC 61966-2-1.
//!
//! The exact piecewise curves are [`srgb_to_linear`] and [`linear_to_srgb`]. The quantising
//! helpers [`linear_to_srgb_u8`] and [`linear_to_srgb_u16`] are the fast paths the exporter uses
//! for whole frames; they give the same codes as rounding the exact curve (the 8-bit one exactly,
//! the 16-bit one to within a few hundredths of a code).

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
}
