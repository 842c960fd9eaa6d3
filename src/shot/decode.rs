//! Decoding one frame into a linear-light [`Plate`].
//!
//! The file's contents, not its extension, decide the format: PNG (8 or 16 bits; gray, gray and
//! alpha, RGB, RGBA), JPEG, TIFF (8 or 16 bits, or float) and OpenEXR. Integer sources are taken
//! as sRGB-encoded and decoded to linear light through a look-up table; float sources (EXR,
//! float TIFF) are already linear and are copied. Alpha is never colour-converted, and a missing
//! alpha is 1. OpenEXR stores premultiplied colour, so it is un-premultiplied to the plate's
//! straight alpha (where alpha is above 0). No ICC profile or EXIF orientation is applied.
//!
//! The header is read first and checked against [`DecodeLimits`] before any pixel is decoded, so
//! a small file claiming a huge image (a decompression bomb) costs nothing.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::LazyLock;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use super::colour::srgb_to_linear_f64;
use super::{Plate, ShotError};

/// How large an image Mattebox agrees to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most pixels (width x height) a header may claim.
    pub max_pixels: u64,
    /// The most bytes decoding may allocate: the decoded image plus its `f32` RGBA plate.
    pub max_alloc_bytes: u64,
}

impl Default for DecodeLimits {
    /// 16384 x 16384 pixels (268,435,456), and 8 GiB: enough for the largest such image as float
    /// RGBA (4 GiB) plus its plate (4 GiB).
    fn default() -> DecodeLimits {
        DecodeLimits {
            max_pixels: 16_384 * 16_384,
            max_alloc_bytes: 8 << 30,
        }
    }
}

/// Reads only the header of `path`: its width and height in pixels, checked against `limits`.
pub fn dimensions(path: &Path, limits: &DecodeLimits) -> Result<(u32, u32), ShotError> {
    let (decoder, _) = open_decoder(path, limits)?;
    Ok(decoder.dimensions())
}

/// Decodes `path` into a linear-light, straight-alpha RGBA [`Plate`].
pub fn decode(path: &Path, limits: &DecodeLimits) -> Result<Plate, ShotError> {
    let (decoder, format) = open_decoder(path, limits)?;
    let (width, height) = decoder.dimensions();
    let plate_bytes = u64::from(width) * u64::from(height) * 16;
    let needed_bytes = decoder.total_bytes().saturating_add(plate_bytes);
    if needed_bytes > limits.max_alloc_bytes {
        return Err(ShotError::MemoryLimit {
            path: path.to_owned(),
            needed_bytes,
            max_alloc_bytes: limits.max_alloc_bytes,
        });
    }
    let image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(path, e))?;
    let (rgba, source_bits) = match image {
        DynamicImage::ImageLuma8(b) => (convert::<u8, 1>(&b, srgb8, alpha8), 8),
        DynamicImage::ImageLumaA8(b) => (convert::<u8, 2>(&b, srgb8, alpha8), 8),
        DynamicImage::ImageRgb8(b) => (convert::<u8, 3>(&b, srgb8, alpha8), 8),
        DynamicImage::ImageRgba8(b) => (convert::<u8, 4>(&b, srgb8, alpha8), 8),
        DynamicImage::ImageLuma16(b) => (convert::<u16, 1>(&b, srgb16, alpha16), 16),
        DynamicImage::ImageLumaA16(b) => (convert::<u16, 2>(&b, srgb16, alpha16), 16),
        DynamicImage::ImageRgb16(b) => (convert::<u16, 3>(&b, srgb16, alpha16), 16),
        DynamicImage::ImageRgba16(b) => (convert::<u16, 4>(&b, srgb16, alpha16), 16),
        DynamicImage::ImageRgb32F(b) => (convert::<f32, 3>(&b, copy, copy), 32),
        DynamicImage::ImageRgba32F(b) => {
            let mut rgba = b.into_raw();
            if format == ImageFormat::OpenExr {
                unpremultiply(&mut rgba);
            }
            (rgba, 32)
        }
        other => {
            return Err(ShotError::Decode {
                path: path.to_owned(),
                reason: format!("its pixel layout ({:?}) is not supported", other.color()),
            });
        }
    };
    Ok(Plate {
        width,
        height,
        rgba,
        source_bits,
    })
}

/// Opens `path`, recognises its format from its first bytes, reads its header and checks it
/// against `limits`; no pixel is decoded.
fn open_decoder(
    path: &Path,
    limits: &DecodeLimits,
) -> Result<(impl ImageDecoder, ImageFormat), ShotError> {
    let io_error = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            ShotError::NotFound {
                path: path.to_owned(),
            }
        } else {
            ShotError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    if fs::metadata(path).map_err(io_error)?.len() == 0 {
        return Err(ShotError::Empty {
            path: path.to_owned(),
        });
    }
    let mut reader = ImageReader::open(path).map_err(io_error)?;
    // Forget the extension's guess, so only the contents decide.
    reader.clear_format();
    let mut reader = reader.with_guessed_format().map_err(io_error)?;
    let format = match reader.format() {
        None => {
            return Err(ShotError::NotAnImage {
                path: path.to_owned(),
            });
        }
        Some(
            f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Tiff | ImageFormat::OpenExr),
        ) => f,
        Some(other) => {
            return Err(ShotError::UnsupportedFormat {
                path: path.to_owned(),
                format: format!("{other:?}"),
            });
        }
    };
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let decoder = reader.into_decoder().map_err(|e| image_error(path, e))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ShotError::TooLarge {
            path: path.to_owned(),
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok((decoder, format))
}

/// Puts an `image` error into plain words, naming the file.
fn image_error(path: &Path, error: ImageError) -> ShotError {
    let reason = match error {
        ImageError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the file ends too early; it may be truncated or still being written".to_owned()
        }
        ImageError::IoError(source) => {
            return ShotError::Io {
                path: path.to_owned(),
                source,
            };
        }
        ImageError::Limits(e) => format!("it needs more memory than allowed ({e})"),
        ImageError::Decoding(e) => format!("the file is corrupt or truncated ({e})"),
        other => other.to_string(),
    };
    ShotError::Decode {
        path: path.to_owned(),
        reason,
    }
}

/// sRGB code to linear light, for every 8-bit code.
static SRGB8: LazyLock<[f32; 256]> = LazyLock::new(|| {
    let mut lut = [0.0; 256];
    for (code, v) in lut.iter_mut().enumerate() {
        *v = srgb_to_linear_f64(code as f64 / 255.0) as f32;
    }
    lut
});

/// sRGB code to linear light, for every 16-bit code.
static SRGB16: LazyLock<Box<[f32; 65536]>> = LazyLock::new(|| {
    let mut lut = Box::new([0.0; 65536]);
    for (code, v) in lut.iter_mut().enumerate() {
        *v = srgb_to_linear_f64(code as f64 / 65535.0) as f32;
    }
    lut
});

/// A colour channel of an 8-bit source.
#[inline(always)]
fn srgb8(v: u8, lut: &Luts) -> f32 {
    lut.srgb8[usize::from(v)]
}

/// An alpha channel of an 8-bit source.
#[inline(always)]
fn alpha8(v: u8, _: &Luts) -> f32 {
    f32::from(v) * (1.0 / 255.0)
}

/// A colour channel of a 16-bit source.
#[inline(always)]
fn srgb16(v: u16, lut: &Luts) -> f32 {
    lut.srgb16[usize::from(v)]
}

/// An alpha channel of a 16-bit source.
#[inline(always)]
fn alpha16(v: u16, _: &Luts) -> f32 {
    f32::from(v) * (1.0 / 65535.0)
}

/// A channel of a float source: already linear.
#[inline(always)]
fn copy(v: f32, _: &Luts) -> f32 {
    v
}

/// The look-up tables, fetched once per frame rather than once per pixel.
struct Luts {
    /// See [`SRGB8`].
    srgb8: &'static [f32; 256],
    /// See [`SRGB16`].
    srgb16: &'static [f32; 65536],
}

/// Frames with at least this many pixels are converted on several threads.
const PARALLEL_PIXELS: usize = 1 << 18;

/// Converts interleaved samples with `N` channels (gray, gray+alpha, RGB, RGBA) to linear RGBA
/// in one pass; monomorphised per source layout, so there is no per-pixel dispatch.
fn convert<T, const N: usize>(
    src: &[T],
    colour: impl Fn(T, &Luts) -> f32 + Sync,
    alpha: impl Fn(T, &Luts) -> f32 + Sync,
) -> Vec<f32>
where
    T: Copy + Sync,
{
    let luts = Luts {
        srgb8: &SRGB8,
        srgb16: &SRGB16,
    };
    let (pixels, _) = src.as_chunks::<N>();
    let mut out = vec![0.0f32; pixels.len() * 4];
    let run = |src: &[[T; N]], dst: &mut [f32]| {
        let (dst, _) = dst.as_chunks_mut::<4>();
        for (s, d) in src.iter().zip(dst) {
            *d = match N {
                1 => {
                    let g = colour(s[0], &luts);
                    [g, g, g, 1.0]
                }
                2 => {
                    let g = colour(s[0], &luts);
                    [g, g, g, alpha(s[1], &luts)]
                }
                3 => [
                    colour(s[0], &luts),
                    colour(s[1], &luts),
                    colour(s[2], &luts),
                    1.0,
                ],
                _ => [
                    colour(s[0], &luts),
                    colour(s[1], &luts),
                    colour(s[2], &luts),
                    alpha(s[3], &luts),
                ],
            };
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
    if pixels.len() < PARALLEL_PIXELS || threads < 2 {
        run(pixels, &mut out);
    } else {
        let per_thread = pixels.len().div_ceil(threads);
        std::thread::scope(|scope| {
            for (s, d) in pixels
                .chunks(per_thread)
                .zip(out.chunks_mut(per_thread * 4))
            {
                scope.spawn(|| run(s, d));
            }
        });
    }
    out
}

/// Divides colour by alpha wherever alpha is above 0 (OpenEXR stores premultiplied colour).
fn unpremultiply(rgba: &mut [f32]) {
    let (pixels, _) = rgba.as_chunks_mut::<4>();
    for p in pixels {
        let a = p[3];
        if a > 0.0 && a != 1.0 {
            let inv = 1.0 / a;
            p[0] *= inv;
            p[1] *= inv;
            p[2] *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shot::colour::srgb_to_linear;
    use image::{ImageBuffer, Luma, LumaA, Rgb, Rgb32FImage, Rgba, Rgba32FImage};
    use std::path::PathBuf;

    fn dir() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    fn save<P, C>(img: &ImageBuffer<P, C>, path: &Path)
    where
        P: image::PixelWithColorType,
        [P::Subpixel]: image::EncodableLayout,
        C: std::ops::Deref<Target = [P::Subpixel]>,
    {
        if let Err(e) = img.save(path) {
            panic!("saving {}: {e}", path.display());
        }
    }

    fn write(path: &Path, bytes: &[u8]) {
        if let Err(e) = fs::write(path, bytes) {
            panic!("writing {}: {e}", path.display());
        }
    }

    fn read(path: &Path) -> Vec<u8> {
        match fs::read(path) {
            Ok(b) => b,
            Err(e) => panic!("reading {}: {e}", path.display()),
        }
    }

    fn ok(path: &Path) -> Plate {
        match decode(path, &DecodeLimits::default()) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(path: &Path) -> ShotError {
        match decode(path, &DecodeLimits::default()) {
            Ok(_) => panic!("{} decoded", path.display()),
            Err(e) => e,
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    /// A 3x2 8-bit RGBA test image with varied values.
    fn rgba8() -> ImageBuffer<Rgba<u8>, Vec<u8>> {
        ImageBuffer::from_fn(3, 2, |x, y| {
            Rgba([(x * 80) as u8, (y * 200) as u8, 128, (x * 100 + y) as u8])
        })
    }

    #[test]
    fn png_8bit_layouts_decode_to_linear() {
        let d = dir();
        let src = rgba8();
        let path = d.path().join("rgba8.png");
        save(&src, &path);
        let plate = ok(&path);
        assert_eq!((plate.width, plate.height, plate.source_bits), (3, 2, 8));
        for (p, s) in plate.rgba.chunks_exact(4).zip(src.pixels()) {
            for c in 0..3 {
                assert!(close(p[c], srgb_to_linear(f32::from(s[c]) / 255.0)));
            }
            assert!(close(p[3], f32::from(s[3]) / 255.0), "alpha is linear");
        }

        let rgb: ImageBuffer<Rgb<u8>, Vec<u8>> =
            ImageBuffer::from_fn(2, 2, |x, _| Rgb([255, 0, (x * 255) as u8]));
        let path = d.path().join("rgb8.png");
        save(&rgb, &path);
        let plate = ok(&path);
        assert_eq!(&plate.rgba[..4], &[1.0, 0.0, 0.0, 1.0]);
        assert_eq!(&plate.rgba[4..8], &[1.0, 0.0, 1.0, 1.0]);

        let gray: ImageBuffer<Luma<u8>, Vec<u8>> = ImageBuffer::from_pixel(2, 1, Luma([188]));
        let path = d.path().join("gray8.png");
        save(&gray, &path);
        let plate = ok(&path);
        let g = srgb_to_linear(188.0 / 255.0);
        assert!(plate.rgba[..3].iter().all(|&v| close(v, g)));
        assert_eq!(plate.rgba[3], 1.0);

        let gray_alpha: ImageBuffer<LumaA<u8>, Vec<u8>> =
            ImageBuffer::from_pixel(1, 1, LumaA([255, 51]));
        let path = d.path().join("gray_alpha8.png");
        save(&gray_alpha, &path);
        let plate = ok(&path);
        assert_eq!(&plate.rgba[..3], &[1.0, 1.0, 1.0]);
        assert!(close(plate.rgba[3], 0.2));
    }

    #[test]
    fn png_16bit_decodes_to_linear() {
        let d = dir();
        let src: ImageBuffer<Rgba<u16>, Vec<u16>> = ImageBuffer::from_fn(4, 3, |x, y| {
            Rgba([x as u16 * 9000, y as u16 * 30000, 1, 32768])
        });
        let path = d.path().join("rgba16.png");
        save(&src, &path);
        let plate = ok(&path);
        assert_eq!((plate.width, plate.height, plate.source_bits), (4, 3, 16));
        for (p, s) in plate.rgba.chunks_exact(4).zip(src.pixels()) {
            for c in 0..3 {
                assert!(close(p[c], srgb_to_linear(f32::from(s[c]) / 65535.0)));
            }
            assert!(close(p[3], 32768.0 / 65535.0));
        }

        let gray: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_pixel(1, 1, Luma([65535]));
        let path = d.path().join("gray16.png");
        save(&gray, &path);
        let plate = ok(&path);
        assert_eq!((plate.rgba.clone(), plate.source_bits), (vec![1.0; 4], 16));
    }

    #[test]
    fn exr_is_linear_and_unpremultiplied() {
        let d = dir();
        let rgb = Rgb32FImage::from_fn(2, 2, |x, y| Rgb([4.0, x as f32 * 0.25, -(y as f32)]));
        let path = d.path().join("plate.exr");
        save(&rgb, &path);
        let plate = ok(&path);
        assert_eq!(plate.source_bits, 32);
        assert_eq!(&plate.rgba[..4], &[4.0, 0.0, 0.0, 1.0], "above 1 kept");
        assert_eq!(
            &plate.rgba[12..16],
            &[4.0, 0.25, -1.0, 1.0],
            "negative kept"
        );

        let rgba = Rgba32FImage::from_pixel(1, 1, Rgba([0.5, 0.25, 0.1, 0.5]));
        let path = d.path().join("premultiplied.exr");
        save(&rgba, &path);
        let plate = ok(&path);
        let want = [1.0, 0.5, 0.2, 0.5];
        assert!(plate.rgba.iter().zip(want).all(|(&a, b)| close(a, b)));
    }

    #[test]
    fn jpeg_and_tiff_decode() {
        let d = dir();
        let rgb: ImageBuffer<Rgb<u8>, Vec<u8>> =
            ImageBuffer::from_pixel(16, 8, Rgb([200, 100, 50]));
        let path = d.path().join("still.JPG");
        save(&rgb, &path);
        let plate = ok(&path);
        assert_eq!((plate.width, plate.height, plate.source_bits), (16, 8, 8));
        assert!((plate.rgba[0] - srgb_to_linear(200.0 / 255.0)).abs() < 0.02);

        let rgb16: ImageBuffer<Rgb<u16>, Vec<u16>> =
            ImageBuffer::from_pixel(3, 3, Rgb([65535, 0, 1000]));
        let path = d.path().join("plate16.tif");
        save(&rgb16, &path);
        let plate = ok(&path);
        assert_eq!(plate.source_bits, 16);
        assert!(close(plate.rgba[2], srgb_to_linear(1000.0 / 65535.0)));

        let float = Rgba32FImage::from_pixel(2, 2, Rgba([0.5, 2.0, 0.0, 0.5]));
        let path = d.path().join("float.tiff");
        save(&float, &path);
        let plate = ok(&path);
        assert_eq!(plate.source_bits, 32);
        assert_eq!(
            &plate.rgba[..4],
            &[0.5, 2.0, 0.0, 0.5],
            "TIFF float copied as is"
        );
    }

    #[test]
    fn contents_not_extension_decide() {
        let d = dir();
        let png = d.path().join("real.png");
        save(&rgba8(), &png);
        let misnamed = d.path().join("misnamed.exr");
        write(&misnamed, &read(&png));
        assert_eq!(ok(&misnamed), ok(&png));
    }

    fn assert_names(e: &ShotError, path: &Path) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let message = e.to_string();
        assert!(message.contains(&name.unwrap_or_default()), "{message}");
    }

    #[test]
    fn empty_file() {
        let d = dir();
        let path = d.path().join("empty.0001.png");
        write(&path, b"");
        let e = err(&path);
        assert!(matches!(e, ShotError::Empty { .. }), "{e:?}");
        assert_names(&e, &path);
    }

    #[test]
    fn text_file_named_png() {
        let d = dir();
        let path = d.path().join("notes.png");
        write(&path, b"these are my notes, not a picture\n");
        let e = err(&path);
        assert!(matches!(e, ShotError::NotAnImage { .. }), "{e:?}");
        assert_names(&e, &path);
    }

    #[test]
    fn unsupported_format() {
        let d = dir();
        let path = d.path().join("anim.png");
        write(&path, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
        let e = err(&path);
        assert!(matches!(e, ShotError::UnsupportedFormat { .. }), "{e:?}");
        assert_names(&e, &path);
    }

    #[test]
    fn truncated_png() {
        let d = dir();
        let noise: ImageBuffer<Rgb<u8>, Vec<u8>> = ImageBuffer::from_fn(64, 64, |x, y| {
            let v = x
                .wrapping_mul(2_654_435_761)
                .wrapping_add(y.wrapping_mul(40_503));
            Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
        });
        let whole = d.path().join("whole.png");
        save(&noise, &whole);
        let bytes = read(&whole);
        let path = d.path().join("cut.1001.png");
        write(&path, &bytes[..bytes.len() / 2]);
        let e = err(&path);
        assert!(matches!(e, ShotError::Decode { .. }), "{e:?}");
        assert_names(&e, &path);
    }

    #[test]
    fn corrupt_png() {
        let d = dir();
        let whole = d.path().join("whole.png");
        save(&rgba8(), &whole);
        let mut bytes = read(&whole);
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 8] {
            *b ^= 0xa5;
        }
        let path = d.path().join("corrupt.png");
        write(&path, &bytes);
        let e = err(&path);
        assert!(matches!(e, ShotError::Decode { .. }), "{e:?}");
        assert_names(&e, &path);
    }

    /// CRC-32 (ISO 3309, as PNG uses), bit by bit: slow, but only for tests.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    0xedb8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A real small PNG whose IHDR is patched to claim `width` x `height`, with a correct CRC.
    fn png_claiming(dir: &Path, width: u32, height: u32) -> PathBuf {
        let real = dir.join("small.png");
        save(&rgba8(), &real);
        let mut bytes = read(&real);
        // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), ... CRC at 29..33.
        assert_eq!(&bytes[12..16], b"IHDR");
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let path = dir.join("bomb.png");
        write(&path, &bytes);
        path
    }

    #[test]
    fn crc_is_right() {
        // The PNG encoder's own IHDR CRC must match ours, or the bomb test proves nothing.
        let d = dir();
        let real = d.path().join("small.png");
        save(&rgba8(), &real);
        let bytes = read(&real);
        assert_eq!(bytes[29..33], crc32(&bytes[12..29]).to_be_bytes());
    }

    #[test]
    fn decompression_bomb_is_refused_from_the_header() {
        let d = dir();
        let path = png_claiming(d.path(), 100_000, 100_000);
        let e = err(&path);
        match &e {
            ShotError::TooLarge {
                width,
                height,
                max_pixels,
                ..
            } => assert_eq!(
                (*width, *height, *max_pixels),
                (100_000, 100_000, DecodeLimits::default().max_pixels)
            ),
            other => panic!("{other:?}"),
        }
        assert_names(&e, &path);
        let e = match dimensions(&path, &DecodeLimits::default()) {
            Ok(d) => panic!("{d:?}"),
            Err(e) => e,
        };
        assert!(matches!(e, ShotError::TooLarge { .. }), "{e:?}");
    }

    #[test]
    fn memory_limit() {
        let d = dir();
        let path = d.path().join("frame.png");
        save(&rgba8(), &path);
        let limits = DecodeLimits {
            max_pixels: 1 << 20,
            max_alloc_bytes: 64,
        };
        let e = match decode(&path, &limits) {
            Ok(_) => panic!("decoded past the memory limit"),
            Err(e) => e,
        };
        assert!(matches!(e, ShotError::MemoryLimit { .. }), "{e:?}");
        assert_names(&e, &path);
    }

    #[test]
    fn missing_file() {
        let d = dir();
        let path = d.path().join("gone.png");
        let e = err(&path);
        assert!(matches!(e, ShotError::NotFound { .. }), "{e:?}");
        assert_names(&e, &path);
    }

    #[test]
    fn large_frame_converts_on_threads_like_small() {
        // Above PARALLEL_PIXELS, so the threaded path runs; it must match the per-pixel LUT.
        let d = dir();
        let src: ImageBuffer<Rgb<u8>, Vec<u8>> =
            ImageBuffer::from_fn(640, 480, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
        let path = d.path().join("big.png");
        save(&src, &path);
        let plate = ok(&path);
        assert_eq!(plate.pixel_count(), 640 * 480);
        for (p, s) in plate.rgba.chunks_exact(4).zip(src.pixels()) {
            assert_eq!(p[0], SRGB8[usize::from(s[0])]);
            assert_eq!(p[2], SRGB8[usize::from(s[2])]);
            assert_eq!(p[3], 1.0);
        }
    }

    /// Timing: `cargo test --release --lib shot::decode -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, run in release"]
    fn timing_1080p() {
        let d = dir();
        let src: ImageBuffer<Rgb<u8>, Vec<u8>> =
            ImageBuffer::from_fn(1920, 1080, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
        let luts = Luts {
            srgb8: &SRGB8,
            srgb16: &SRGB16,
        };
        let _ = (srgb8(0, &luts), srgb16(0, &luts));
        let mut best = std::time::Duration::MAX;
        for _ in 0..10 {
            let start = std::time::Instant::now();
            let rgba = convert::<u8, 3>(&src, srgb8, alpha8);
            best = best.min(start.elapsed());
            assert_eq!(rgba.len(), 1920 * 1080 * 4);
        }
        println!("1080p RGB8 convert, best of 10: {best:?}");
        let rgba = convert::<u8, 3>(&src, srgb8, alpha8);
        let start = std::time::Instant::now();
        let codes: Vec<u8> = rgba
            .iter()
            .map(|&v| crate::shot::colour::linear_to_srgb_u8(v))
            .collect();
        println!("1080p RGBA linear_to_srgb_u8: {:?}", start.elapsed());
        let start = std::time::Instant::now();
        let wide: Vec<u16> = rgba
            .iter()
            .map(|&v| crate::shot::colour::linear_to_srgb_u16(v))
            .collect();
        println!("1080p RGBA linear_to_srgb_u16: {:?}", start.elapsed());
        assert_eq!(codes.len(), wide.len());
        let start = std::time::Instant::now();
        let exact: Vec<u8> = rgba
            .iter()
            .map(|&v| {
                (crate::shot::colour::linear_to_srgb(v.clamp(0.0, 1.0)) * 255.0).round() as u8
            })
            .collect();
        println!("1080p RGBA exact powf: {:?}", start.elapsed());
        assert_eq!(codes, exact);
        let path = d.path().join("1080p.png");
        save(&src, &path);
        let start = std::time::Instant::now();
        let plate = ok(&path);
        println!("1080p PNG decode: {:?} ({})", start.elapsed(), plate.width);
    }
}
