//! PNG exports: the plate and cut-outs for review (sRGB-encoded), and the depth and matte passes
//! as 16-bit grayscale data previews (never 8-bit, never tonemapped beyond the shot's locked
//! near/far range).
//!
//! All PNGs are written atomically with fast compression and adaptive filtering; sRGB encoding
//! uses [`crate::shot::colour`]. Pictures (plate, cut-out, composite, animatic) carry an `sRGB`
//! chunk, with the `gAMA` and `cHRM` values the PNG specification gives for readers that do not
//! know it. Data (depth, matte) carries no colour chunk: a `tEXt` chunk `mattebox:data` names
//! the pass and `Description` says what the values mean, so that nothing colour-manages them.
//! Every PNG says which software wrote it (`Software`).

use std::path::Path;

use super::{ExportError, atomic::write_atomic, check_len, check_size};
use crate::passes::{DepthMap, DepthRange, Matte};
use crate::shot::Plate;
use crate::shot::colour::{linear_to_srgb_u8, linear_to_srgb_u16};

/// The `tEXt` keyword that marks a data PNG, with the pass's kind (`depth`, `matte`) as its text.
pub const DATA_KEYWORD: &str = "mattebox:data";

/// The colour type and bit depth of a PNG's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Samples {
    L16,
    Rgb8,
    Rgba8,
    Rgb16,
    Rgba16,
}

/// What a PNG holds, which decides its colour and text chunks.
enum Content {
    /// An sRGB-encoded picture.
    Picture,
    /// Data that is not a picture: the kind (`depth`, `matte`) and what its values mean.
    Data {
        kind: &'static str,
        description: String,
    },
}

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
            Samples::Rgb8,
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
            Samples::Rgba8,
        ),
        (true, true) => (
            u16_bytes(plate.rgba.chunks_exact(4).flat_map(|px| {
                [
                    linear_to_srgb_u16(px[0]),
                    linear_to_srgb_u16(px[1]),
                    linear_to_srgb_u16(px[2]),
                ]
            })),
            Samples::Rgb16,
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
            Samples::Rgba16,
        ),
    };
    encode(
        path,
        &bytes,
        plate.width,
        plate.height,
        colour,
        Content::Picture,
    )
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
    let description = format!(
        "Mattebox depth pass: data, not a picture (no colour space). 16-bit nearness, linear in \
         the model's raw {} values: 65535 = {} (near), 0 = {} (far), clamped.",
        depth.semantics.as_str(),
        range.near,
        range.far
    );
    encode(
        path,
        &bytes,
        depth.width,
        depth.height,
        Samples::L16,
        Content::Data {
            kind: "depth",
            description,
        },
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
    let description = format!(
        "Mattebox matte {:?}: data, not a picture (no colour space). 16-bit linear coverage: \
         0 = none, 65535 = full.",
        matte.name
    );
    encode(
        path,
        &bytes,
        matte.width,
        matte.height,
        Samples::L16,
        Content::Data {
            kind: "matte",
            description,
        },
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
            Samples::Rgba16,
            Content::Picture,
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
            Samples::Rgba8,
            Content::Picture,
        )
    }
}

/// Encodes `bytes` (16-bit samples big-endian, as PNG stores them) as a PNG at `path`,
/// atomically, with the chunks `content` asks for.
fn encode(
    path: &Path,
    bytes: &[u8],
    width: u32,
    height: u32,
    samples: Samples,
    content: Content,
) -> Result<(), ExportError> {
    let (colour, depth) = match samples {
        Samples::L16 => (::png::ColorType::Grayscale, ::png::BitDepth::Sixteen),
        Samples::Rgb8 => (::png::ColorType::Rgb, ::png::BitDepth::Eight),
        Samples::Rgba8 => (::png::ColorType::Rgba, ::png::BitDepth::Eight),
        Samples::Rgb16 => (::png::ColorType::Rgb, ::png::BitDepth::Sixteen),
        Samples::Rgba16 => (::png::ColorType::Rgba, ::png::BitDepth::Sixteen),
    };
    write_atomic(path, |writer| {
        let error = |error: ::png::EncodingError| match error {
            ::png::EncodingError::IoError(error) => {
                ExportError::write(path, super::atomic::plain_io_error(error))
            }
            error => ExportError::Png {
                path: path.to_path_buf(),
                error,
            },
        };
        let mut encoder = ::png::Encoder::new(writer, width, height);
        encoder.set_color(colour);
        encoder.set_depth(depth);
        encoder.set_compression(::png::Compression::Fast);
        encoder.set_filter(::png::Filter::Adaptive);
        encoder
            .add_text_chunk("Software".into(), crate::SOFTWARE.into())
            .map_err(error)?;
        match content {
            Content::Picture => {
                encoder.set_source_srgb(::png::SrgbRenderingIntent::Perceptual);
                // The fallbacks the PNG specification gives with an sRGB chunk.
                encoder.set_source_gamma(::png::ScaledFloat::from_scaled(45455));
                encoder.set_source_chromaticities(::png::SourceChromaticities::new(
                    (0.3127, 0.3290),
                    (0.64, 0.33),
                    (0.30, 0.60),
                    (0.15, 0.06),
                ));
            }
            Content::Data { kind, description } => {
                encoder
                    .add_text_chunk(DATA_KEYWORD.into(), kind.into())
                    .map_err(error)?;
                encoder
                    .add_text_chunk("Description".into(), description)
                    .map_err(error)?;
            }
        }
        let mut png = encoder.write_header().map_err(error)?;
        png.write_image_data(bytes).map_err(error)?;
        png.finish().map_err(error)
    })
}

fn u16_bytes(samples: impl Iterator<Item = u16>) -> Vec<u8> {
    samples.flat_map(u16::to_be_bytes).collect()
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

    /// The types of the PNG's chunks in file order, read from the bytes, and its text chunks.
    fn chunks(path: &Path) -> (Vec<String>, Vec<(String, String)>) {
        let bytes = std::fs::read(path).unwrap();
        let mut types = Vec::new();
        let mut at = 8;
        while at + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            types.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
            at += 12 + len;
        }
        let mut decoder = ::png::Decoder::new(BufReader::new(File::open(path).unwrap()));
        decoder.set_ignore_text_chunk(false);
        let reader = decoder.read_info().unwrap();
        let texts = reader
            .info()
            .uncompressed_latin1_text
            .iter()
            .map(|t| (t.keyword.clone(), t.text.clone()))
            .collect();
        (types, texts)
    }

    #[test]
    fn pictures_are_tagged_srgb_and_data_says_it_is_data() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (8, 5);
        let plate_path = dir.path().join("plate.png");
        write_plate_png(&plate_path, &plate(w, h, 1.0, 16)).unwrap();
        let cutout_path = dir.path().join("cutout.png");
        write_cutout_png(&cutout_path, &plate(w, h, 1.0, 8), &matte(w, h)).unwrap();
        for path in [&plate_path, &cutout_path] {
            let (types, texts) = chunks(path);
            for colour in ["sRGB", "gAMA", "cHRM"] {
                assert!(
                    types.contains(&colour.into()),
                    "{}: {types:?}",
                    path.display()
                );
            }
            assert!(texts.iter().all(|(k, _)| k != DATA_KEYWORD), "{texts:?}");
            assert!(texts.contains(&("Software".into(), crate::SOFTWARE.into())));
        }

        let depth_path = dir.path().join("depth.png");
        let depth = DepthMap {
            width: w,
            height: h,
            values: vec![2.0; (w * h) as usize],
            semantics: DepthSemantics::RelativeInverse,
        };
        let range = DepthRange {
            near: 0.9,
            far: 0.1,
        };
        write_depth_png(&depth_path, &depth, &range).unwrap();
        let matte_path = dir.path().join("matte.png");
        write_matte_png(&matte_path, &matte(w, h)).unwrap();
        for (path, kind) in [(&depth_path, "depth"), (&matte_path, "matte")] {
            let (types, texts) = chunks(path);
            for colour in ["sRGB", "gAMA", "cHRM", "iCCP"] {
                assert!(!types.contains(&colour.into()), "{kind}: {types:?}");
            }
            assert!(
                texts.contains(&(DATA_KEYWORD.into(), kind.into())),
                "{kind}: {texts:?}"
            );
            let description = &texts.iter().find(|(k, _)| k == "Description").unwrap().1;
            assert!(description.contains("not a picture"), "{description}");
        }
        let description = chunks(&depth_path).1;
        let description = &description
            .iter()
            .find(|(k, _)| k == "Description")
            .unwrap()
            .1;
        assert!(
            description.contains("relative_inverse")
                && description.contains("65535 = 0.9 (near)")
                && description.contains("0 = 0.1 (far)"),
            "{description}"
        );
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
