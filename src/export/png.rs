//! PNG exports: the plate and cut-outs for review (sRGB-encoded), and the depth and matte passes
//! as 16-bit grayscale data previews (never 8-bit, never tonemapped beyond the shot's locked
//! near/far range).
//!
//! All PNGs are written atomically with fast compression and adaptive filtering; sRGB encoding
//! uses [`crate::shot::colour`].

use std::path::Path;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use super::{ExportError, atomic::write_atomic, check_len, check_size};
use crate::passes::{DepthMap, DepthRange, Matte};
use crate::shot::Plate;
use crate::shot::colour::{linear_to_srgb_u8, linear_to_srgb_u16};

/// Alpha at or above this counts as fully opaque (half a 16-bit step below 1).
const OPAQUE: f32 = 1.0 - 0.5 / 65535.0;

/// Writes the plate as an sRGB-encoded PNG: 16-bit if the source had more than 8 bits per
/// channel, else 8-bit; RGB if every pixel is opaque, else RGBA with straight alpha.
pub fn write_plate_png(path: &Path, plate: &Plate) -> Result<(), ExportError> {
    check_len(
        path,
        "plate",
        plate.rgba.len(),
        plate.width,
        plate.height,
        4,
    )?;
    let opaque = plate.rgba.chunks_exact(4).all(|px| px[3] >= OPAQUE);
    let wide = plate.source_bits > 8;
    let (bytes, colour) = match (wide, opaque) {
        (false, true) => (
            plate
                .rgba
                .chunks_exact(4)
                .flat_map(|px| {
                    [
                        linear_to_srgb_u8(px[0]),
                        linear_to_srgb_u8(px[1]),
                        linear_to_srgb_u8(px[2]),
                    ]
                })
                .collect(),
            ExtendedColorType::Rgb8,
        ),
        (false, false) => (
            plate
                .rgba
                .chunks_exact(4)
                .flat_map(|px| {
                    [
                        linear_to_srgb_u8(px[0]),
                        linear_to_srgb_u8(px[1]),
                        linear_to_srgb_u8(px[2]),
                        linear_u8(px[3]),
                    ]
                })
                .collect(),
            ExtendedColorType::Rgba8,
        ),
        (true, true) => (
            u16_bytes(plate.rgba.chunks_exact(4).flat_map(|px| {
                [
                    linear_to_srgb_u16(px[0]),
                    linear_to_srgb_u16(px[1]),
                    linear_to_srgb_u16(px[2]),
                ]
            })),
            ExtendedColorType::Rgb16,
        ),
        (true, false) => (
            u16_bytes(plate.rgba.chunks_exact(4).flat_map(|px| {
                [
                    linear_to_srgb_u16(px[0]),
                    linear_to_srgb_u16(px[1]),
                    linear_to_srgb_u16(px[2]),
                    linear_u16(px[3]),
                ]
            })),
            ExtendedColorType::Rgba16,
        ),
    };
    encode(path, &bytes, plate.width, plate.height, colour)
}

/// Writes a depth preview: 16-bit grayscale, white = `range.near`, black = `range.far`,
/// clamped. The range is the shot's locked one, so a sequence's previews do not flicker.
pub fn write_depth_png(
    path: &Path,
    depth: &DepthMap,
    range: &DepthRange,
) -> Result<(), ExportError> {
    check_len(
        path,
        "depth map",
        depth.values.len(),
        depth.width,
        depth.height,
        1,
    )?;
    let bytes = u16_bytes(
        depth
            .values
            .iter()
            .map(|&raw| linear_u16(range.nearness(raw))),
    );
    encode(
        path,
        &bytes,
        depth.width,
        depth.height,
        ExtendedColorType::L16,
    )
}

/// Writes a matte as 16-bit grayscale: linear coverage 0..1 to 0..65535, not sRGB-encoded.
pub fn write_matte_png(path: &Path, matte: &Matte) -> Result<(), ExportError> {
    check_len(
        path,
        "matte",
        matte.alpha.len(),
        matte.width,
        matte.height,
        1,
    )?;
    let bytes = u16_bytes(matte.alpha.iter().map(|&a| linear_u16(a)));
    encode(
        path,
        &bytes,
        matte.width,
        matte.height,
        ExtendedColorType::L16,
    )
}

/// Writes the plate cut out by a matte: RGBA with straight alpha = plate alpha × matte, colour
/// sRGB-encoded; 16-bit if the source had more than 8 bits per channel, else 8-bit.
pub fn write_cutout_png(path: &Path, plate: &Plate, matte: &Matte) -> Result<(), ExportError> {
    check_len(
        path,
        "plate",
        plate.rgba.len(),
        plate.width,
        plate.height,
        4,
    )?;
    check_size(
        path,
        || format!("matte {:?}", matte.name),
        (matte.width, matte.height),
        (plate.width, plate.height),
    )?;
    check_len(
        path,
        "matte",
        matte.alpha.len(),
        matte.width,
        matte.height,
        1,
    )?;
    let pixels = plate.rgba.chunks_exact(4).zip(matte.alpha.iter());
    if plate.source_bits > 8 {
        let bytes = u16_bytes(pixels.flat_map(|(px, &m)| {
            [
                linear_to_srgb_u16(px[0]),
                linear_to_srgb_u16(px[1]),
                linear_to_srgb_u16(px[2]),
                linear_u16(px[3] * m),
            ]
        }));
        encode(
            path,
            &bytes,
            plate.width,
            plate.height,
            ExtendedColorType::Rgba16,
        )
    } else {
        let bytes: Vec<u8> = pixels
            .flat_map(|(px, &m)| {
                [
                    linear_to_srgb_u8(px[0]),
                    linear_to_srgb_u8(px[1]),
                    linear_to_srgb_u8(px[2]),
                    linear_u8(px[3] * m),
                ]
            })
            .collect();
        encode(
            path,
            &bytes,
            plate.width,
            plate.height,
            ExtendedColorType::Rgba8,
        )
    }
}

/// Encodes `bytes` (16-bit samples in native byte order) as a PNG at `path`, atomically.
fn encode(
    path: &Path,
    bytes: &[u8],
    width: u32,
    height: u32,
    colour: ExtendedColorType,
) -> Result<(), ExportError> {
    write_atomic(path, |writer| {
        PngEncoder::new_with_quality(writer, CompressionType::Fast, FilterType::Adaptive)
            .write_image(bytes, width, height, colour)
            .map_err(|error| match error {
                image::ImageError::IoError(error) => {
                    ExportError::write(path, super::atomic::plain_io_error(error))
                }
                error => ExportError::Png {
                    path: path.to_path_buf(),
                    error,
                },
            })
    })
}

fn u16_bytes(samples: impl Iterator<Item = u16>) -> Vec<u8> {
    samples.flat_map(u16::to_ne_bytes).collect()
}

fn linear_u8(v: f32) -> u8 {
    // NaN clamps to 0 through the saturating float-to-int cast.
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

fn linear_u16(v: f32) -> u16 {
    (v.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::DepthSemantics;
    use image::{DynamicImage, ImageDecoder, codecs::png::PngDecoder};
    use std::fs::File;
    use std::io::BufReader;

    fn decode(path: &Path) -> DynamicImage {
        image::open(path).unwrap()
    }

    fn colour_type(path: &Path) -> image::ColorType {
        PngDecoder::new(BufReader::new(File::open(path).unwrap()))
            .unwrap()
            .color_type()
    }

    fn plate(w: u32, h: u32, alpha: f32, bits: u8) -> Plate {
        let rgba = (0..w * h)
            .flat_map(|i| [(i % w) as f32 / w as f32, 0.5, 0.0, alpha])
            .collect();
        Plate {
            width: w,
            height: h,
            rgba,
            source_bits: bits,
        }
    }

    fn matte(w: u32, h: u32) -> Matte {
        Matte {
            name: "fg".into(),
            width: w,
            height: h,
            alpha: (0..w * h)
                .map(|i| (i / w) as f32 / (h - 1) as f32)
                .collect(),
        }
    }

    #[test]
    fn quantisers_clamp() {
        assert_eq!(linear_u8(f32::NAN), 0);
        assert_eq!(linear_u8(-1.0), 0);
        assert_eq!(linear_u16(2.0), 65535);
        assert_eq!(linear_to_srgb_u8(0.5), 188);
    }

    #[test]
    fn depth_png_is_16_bit_and_near_is_brighter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("depth.png");
        // Metric: the left column is 1 m away, the right 5 m.
        let depth = DepthMap {
            width: 16,
            height: 4,
            values: (0..64).map(|i| 1.0 + (i % 16) as f32 * 0.25).collect(),
            semantics: DepthSemantics::Metric,
        };
        let range = DepthRange {
            near: 1.0,
            far: 4.75,
        };
        write_depth_png(&path, &depth, &range).unwrap();
        assert_eq!(colour_type(&path), image::ColorType::L16);
        let img = decode(&path).into_luma16();
        let near = img.get_pixel(0, 0)[0];
        let far = img.get_pixel(15, 0)[0];
        assert_eq!(near, 65535);
        assert_eq!(far, 0);
        assert!(img.get_pixel(5, 2)[0] > img.get_pixel(6, 2)[0]);
    }

    #[test]
    fn matte_png_is_linear_16_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matte.png");
        let m = Matte {
            name: "fg".into(),
            width: 3,
            height: 1,
            alpha: vec![0.0, 0.5, 1.0],
        };
        write_matte_png(&path, &m).unwrap();
        assert_eq!(colour_type(&path), image::ColorType::L16);
        let img = decode(&path).into_luma16();
        assert_eq!(img.as_raw(), &vec![0, 32768, 65535]);
    }

    #[test]
    fn cutout_alpha_equals_the_matte() {
        let dir = tempfile::tempdir().unwrap();
        for bits in [8u8, 16] {
            let path = dir.path().join(format!("cutout{bits}.png"));
            let (w, h) = (8, 5);
            let m = matte(w, h);
            write_cutout_png(&path, &plate(w, h, 1.0, bits), &m).unwrap();
            let img = decode(&path);
            if bits > 8 {
                assert_eq!(colour_type(&path), image::ColorType::Rgba16);
                let img = img.into_rgba16();
                for (px, &a) in img.pixels().zip(m.alpha.iter()) {
                    assert_eq!(px[3], linear_u16(a));
                    assert_eq!(px[1], linear_to_srgb_u16(0.5));
                }
            } else {
                assert_eq!(colour_type(&path), image::ColorType::Rgba8);
                let img = img.into_rgba8();
                for (px, &a) in img.pixels().zip(m.alpha.iter()) {
                    assert_eq!(px[3], linear_u8(a));
                    // Straight alpha: colour is not darkened where the matte is thin.
                    assert_eq!(px[1], 188);
                }
            }
        }
        let err = write_cutout_png(
            &dir.path().join("bad.png"),
            &plate(8, 5, 1.0, 8),
            &matte(4, 5),
        )
        .unwrap_err();
        assert!(matches!(err, ExportError::SizeMismatch { .. }), "{err:?}");
    }

    #[test]
    fn plate_png_keeps_bit_depth_and_drops_alpha_only_when_opaque() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (8u8, 1.0f32, image::ColorType::Rgb8),
            (8, 0.5, image::ColorType::Rgba8),
            (16, 1.0, image::ColorType::Rgb16),
            (32, 0.5, image::ColorType::Rgba16),
        ];
        for (bits, alpha, expected) in cases {
            let path = dir.path().join(format!("plate{bits}_{alpha}.png"));
            write_plate_png(&path, &plate(4, 4, alpha, bits)).unwrap();
            assert_eq!(colour_type(&path), expected, "{bits} bits, alpha {alpha}");
        }
        let img = decode(&dir.path().join("plate8_1.png")).into_rgb8();
        assert_eq!(img.get_pixel(0, 0).0, [0, 188, 0]);
    }
}
