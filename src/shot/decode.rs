//! Decoding one frame into a linear-light [`Plate`].
//!
//! The file's contents, not its extension, decide the format. Mattebox reads:
//!
//! - **PNG**: 8 or 16 bits; grey, grey and alpha, RGB, RGBA, and palette (indexed) images with
//!   their transparency (`tRNS`); grey and palettes of 1, 2 or 4 bits are widened to 8.
//! - **JPEG**: grey and colour.
//! - **TIFF**: 8 or 16 bits (grey, grey and alpha, RGB, RGBA, CMYK taken as RGB), and 32-bit float
//!   RGB or RGBA.
//! - **OpenEXR** (flat, scan lines or tiles, half, float or uint samples): `R G B`, or greyscale
//!   `Y`, each with an optional `A`. The first part that has `R G B` is read (else the first
//!   with `Y`), at its largest resolution level; the plate is its display window.
//!
//! Grey becomes R = G = B. Integer sources are taken as sRGB-encoded and decoded to linear light
//! through a look-up table; float sources (EXR, float TIFF) are already linear and are copied.
//! Alpha is never colour-converted, and a missing alpha is 1. OpenEXR stores premultiplied
//! colour, so it is un-premultiplied to the plate's straight alpha (where alpha is above 0). An
//! orientation in the file (EXIF in JPEG and PNG, the TIFF tag) is applied as a photo viewer
//! does, so the plate, and [`dimensions`], are the picture the right way up. No ICC profile is
//! applied.
//!
//! A valid file Mattebox cannot use is [`ShotError::Unsupported`], naming what it has (a deep
//! EXR, an EXR with no `R G B` or `Y` channels, a palette TIFF, ...); a damaged file (truncated,
//! corrupt) is [`ShotError::Decode`]; either names the file.
//!
//! The header is read first and checked against [`DecodeLimits`] before any pixel is decoded, so
//! a small file claiming a huge image (a decompression bomb) costs nothing.

use std::fs::{self, File};
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::LazyLock;

use exr::meta::MetaData;
use exr::meta::header::Header;
use exr::prelude::{ReadChannels, ReadLayers, ReadSpecificChannel, Vec2, read};
use image::metadata::Orientation;
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

/// Reads only the header of `path`: the width and height in pixels of the picture as shown (a
/// quarter-turn orientation swaps them), checked against `limits`.
pub fn dimensions(path: &Path, limits: &DecodeLimits) -> Result<(u32, u32), ShotError> {
    Ok(match open(path, limits)? {
        Opened::Image {
            decoder,
            orientation,
        } => {
            let (width, height) = decoder.dimensions();
            if turns_quarter(orientation) {
                (height, width)
            } else {
                (width, height)
            }
        }
        Opened::Exr(exr) => (exr.width, exr.height),
    })
}

/// Decodes `path` into a linear-light, straight-alpha RGBA [`Plate`].
pub fn decode(path: &Path, limits: &DecodeLimits) -> Result<Plate, ShotError> {
    match open(path, limits)? {
        Opened::Image {
            decoder,
            orientation,
        } => decode_image(path, limits, decoder, orientation),
        Opened::Exr(exr) => exr.decode(path, limits),
    }
}

/// A file whose header has been read and checked, ready to decode.
enum Opened<D> {
    /// PNG, JPEG or TIFF, through the `image` crate.
    Image {
        /// The decoder, past the header.
        decoder: D,
        /// How the stored picture is turned to be shown.
        orientation: Orientation,
    },
    /// OpenEXR, through the `exr` crate (which reads greyscale and any part).
    Exr(ExrFile),
}

/// Opens `path`, recognises its format from its first bytes, reads its header and checks it
/// against `limits`; no pixel is decoded.
fn open(path: &Path, limits: &DecodeLimits) -> Result<Opened<impl ImageDecoder>, ShotError> {
    let io_error = |source: io::Error| io_error(path, source);
    if fs::metadata(path).map_err(io_error)?.len() == 0 {
        return Err(ShotError::Empty {
            path: path.to_owned(),
        });
    }
    let mut reader = ImageReader::open(path).map_err(io_error)?;
    // Forget the extension's guess, so only the contents decide.
    reader.clear_format();
    let mut reader = reader.with_guessed_format().map_err(io_error)?;
    match reader.format() {
        None => {
            return Err(ShotError::NotAnImage {
                path: path.to_owned(),
            });
        }
        Some(ImageFormat::OpenExr) => {
            return Ok(Opened::Exr(ExrFile::open(
                path,
                reader.into_inner(),
                limits,
            )?));
        }
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Tiff) => {}
        Some(other) => {
            return Err(ShotError::UnsupportedFormat {
                path: path.to_owned(),
                format: format!("{other:?}"),
            });
        }
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(path, e))?;
    let (width, height) = decoder.dimensions();
    check_pixels(path, width, height, limits)?;
    let orientation = decoder.orientation().map_err(|e| image_error(path, e))?;
    Ok(Opened::Image {
        decoder,
        orientation,
    })
}

/// Refuses a header that claims more than [`DecodeLimits::max_pixels`].
fn check_pixels(
    path: &Path,
    width: u32,
    height: u32,
    limits: &DecodeLimits,
) -> Result<(), ShotError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ShotError::TooLarge {
            path: path.to_owned(),
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// Refuses a decode that would allocate more than [`DecodeLimits::max_alloc_bytes`].
fn check_memory(path: &Path, needed_bytes: u64, limits: &DecodeLimits) -> Result<(), ShotError> {
    if needed_bytes > limits.max_alloc_bytes {
        return Err(ShotError::MemoryLimit {
            path: path.to_owned(),
            needed_bytes,
            max_alloc_bytes: limits.max_alloc_bytes,
        });
    }
    Ok(())
}

/// Whether showing the picture turns it a quarter, swapping its width and height.
fn turns_quarter(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Decodes a PNG, JPEG or TIFF, turns it the way it is shown, and converts it to linear RGBA.
fn decode_image(
    path: &Path,
    limits: &DecodeLimits,
    decoder: impl ImageDecoder,
    orientation: Orientation,
) -> Result<Plate, ShotError> {
    let (width, height) = decoder.dimensions();
    let plate_bytes = u64::from(width) * u64::from(height) * 16;
    let decoded_bytes = decoder.total_bytes();
    // A quarter turn cannot be done in place: the decoded image is copied once.
    let turned_bytes = if turns_quarter(orientation) {
        decoded_bytes
    } else {
        0
    };
    let needed_bytes = decoded_bytes
        .saturating_add(turned_bytes)
        .saturating_add(plate_bytes);
    check_memory(path, needed_bytes, limits)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(path, e))?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
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
        DynamicImage::ImageRgba32F(b) => (b.into_raw(), 32),
        other => {
            return Err(ShotError::Unsupported {
                path: path.to_owned(),
                what: format!("an image of pixel layout {:?}", other.color()),
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

/// An operating system error reading `path`, with a missing file told apart.
fn io_error(path: &Path, source: io::Error) -> ShotError {
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
        ImageError::Unsupported(e) => {
            return ShotError::Unsupported {
                path: path.to_owned(),
                what: e.to_string(),
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

/// Which channels of an EXR part become the plate's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExrColour {
    /// `R G B`.
    Rgb,
    /// Greyscale `Y`, shown as R = G = B.
    Grey,
}

/// An OpenEXR whose header has been read and checked, and whose part and channels are chosen.
struct ExrFile {
    /// The file, to be read again from its start (the `exr` crate validates as it reads).
    file: BufReader<File>,
    /// The colour channels read.
    colour: ExrColour,
    /// Whether the part has an `A` channel (else alpha is 1).
    has_alpha: bool,
    /// The display window's width, the plate's.
    width: u32,
    /// The display window's height, the plate's.
    height: u32,
    /// Where the data window starts inside the display window.
    data_offset: (i64, i64),
}

/// The most channel names an error message lists.
const LISTED_CHANNELS: usize = 12;

impl ExrFile {
    /// Reads the headers from `file` (positioned anywhere), refuses what Mattebox cannot use,
    /// chooses the part and checks its size against `limits`.
    fn open(
        path: &Path,
        mut file: BufReader<File>,
        limits: &DecodeLimits,
    ) -> Result<ExrFile, ShotError> {
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io_error(path, e))?;
        // Unvalidated, so a deep file is named for what it is rather than refused in passing.
        let meta =
            MetaData::read_from_buffered(&mut file, false).map_err(|e| exr_error(path, e))?;
        let unsupported = |what: String| ShotError::Unsupported {
            path: path.to_owned(),
            what,
        };
        if meta.headers.iter().any(|h| h.deep) {
            return Err(unsupported(
                "a deep OpenEXR (several samples per pixel); Mattebox reads flat images".to_owned(),
            ));
        }
        let has =
            |header: &Header, name: &str| header.channels.list.iter().any(|c| c.name.eq(name));
        let rgb = meta
            .headers
            .iter()
            .find(|h| ["R", "G", "B"].iter().all(|c| has(h, c)));
        let (header, colour) = match rgb {
            Some(header) => (header, ExrColour::Rgb),
            None => match meta.headers.iter().find(|h| has(h, "Y")) {
                Some(header) if has(header, "RY") || has(header, "BY") => {
                    return Err(unsupported(format!(
                        "an OpenEXR in luminance and chroma (channels {}); Mattebox reads R G B or Y",
                        channel_names(&meta.headers)
                    )));
                }
                Some(header) => (header, ExrColour::Grey),
                None => {
                    return Err(unsupported(format!(
                        "an OpenEXR with channels {}: no R G B or Y channel",
                        channel_names(&meta.headers)
                    )));
                }
            },
        };
        let display = header.shared_attributes.display_window;
        let data_size = header.layer_size;
        let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        let (width, height) = (to_u32(display.size.width()), to_u32(display.size.height()));
        check_pixels(path, width, height, limits)?;
        // The data window is what the file stores and the reader allocates for.
        check_pixels(
            path,
            to_u32(data_size.width()),
            to_u32(data_size.height()),
            limits,
        )?;
        // In i64: a hostile header's i32 corners could overflow a difference in i32.
        let data = header.own_attributes.layer_position;
        let data_offset = (
            i64::from(data.x()) - i64::from(display.position.x()),
            i64::from(data.y()) - i64::from(display.position.y()),
        );
        Ok(ExrFile {
            file,
            colour,
            has_alpha: has(header, "A"),
            width,
            height,
            data_offset,
        })
    }

    /// Reads the chosen part's pixels straight into the plate (no other full-size buffer), then
    /// un-premultiplies them.
    fn decode(mut self, path: &Path, limits: &DecodeLimits) -> Result<Plate, ShotError> {
        let (width, height) = (self.width, self.height);
        let plate_bytes = u64::from(width) * u64::from(height) * 16;
        check_memory(path, plate_bytes, limits)?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| io_error(path, e))?;
        let chunks = exr::block::read(self.file, false).map_err(|e| exr_error(path, e))?;
        let (w, h) = (width as usize, height as usize);
        // Outside the data window: black, transparent where the file has alpha.
        let empty = [0.0, 0.0, 0.0, if self.has_alpha { 0.0 } else { 1.0 }];
        let plate = move || empty.repeat(w * h);
        let (dx, dy) = self.data_offset;
        // The plate index of a data-window pixel, if it lies inside the display window.
        let index = move |p: Vec2<usize>| {
            let x = p.x() as i64 + dx;
            let y = p.y() as i64 + dy;
            let inside = (0..w as i64).contains(&x) && (0..h as i64).contains(&y);
            inside.then(|| (y as usize * w + x as usize) * 4)
        };
        let put = move |plate: &mut Vec<f32>, p: Vec2<usize>, rgba: [f32; 4]| {
            if let Some(i) = index(p)
                && let Some(px) = plate.get_mut(i..i + 4)
            {
                px.copy_from_slice(&rgba);
            }
        };
        let reader = read().no_deep_data().largest_resolution_level();
        let rgba = match self.colour {
            ExrColour::Rgb => reader
                .rgba_channels(
                    move |_, _| plate(),
                    move |rgba, p, (r, g, b, a): (f32, f32, f32, f32)| put(rgba, p, [r, g, b, a]),
                )
                .first_valid_layer()
                .all_attributes()
                .from_chunks(chunks)
                .map(|image| image.layer_data.channel_data.pixels),
            ExrColour::Grey => reader
                .specific_channels()
                .required("Y")
                .optional("A", 1.0)
                .collect_pixels(
                    move |_, _| plate(),
                    move |rgba, p, (y, a): (f32, f32)| put(rgba, p, [y, y, y, a]),
                )
                .first_valid_layer()
                .all_attributes()
                .from_chunks(chunks)
                .map(|image| image.layer_data.channel_data.pixels),
        };
        let mut rgba = rgba.map_err(|e| exr_error(path, e))?;
        unpremultiply(&mut rgba);
        Ok(Plate {
            width,
            height,
            rgba,
            source_bits: 32,
        })
    }
}

/// Every channel name of every part, sorted and deduplicated, the first few, for messages.
fn channel_names(headers: &[Header]) -> String {
    let mut names: Vec<String> = headers
        .iter()
        .flat_map(|h| h.channels.list.iter().map(|c| c.name.to_string()))
        .collect();
    names.sort();
    names.dedup();
    let more = names.len().saturating_sub(LISTED_CHANNELS);
    names.truncate(LISTED_CHANNELS);
    let mut list = names.join(", ");
    if list.is_empty() {
        list = "(none)".to_owned();
    }
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    list
}

/// Puts an `exr` error into plain words, naming the file.
fn exr_error(path: &Path, error: exr::error::Error) -> ShotError {
    let reason = match error {
        exr::error::Error::Io(source) => return io_error(path, source),
        exr::error::Error::NotSupported(what) => {
            return ShotError::Unsupported {
                path: path.to_owned(),
                what: format!("an OpenEXR using a feature Mattebox cannot read ({what})"),
            };
        }
        // The `exr` crate reports a file that ends early this way too.
        exr::error::Error::Invalid(what) => format!("the file is corrupt or truncated ({what})"),
        exr::error::Error::Aborted => "reading was cancelled".to_owned(),
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

    /// Writes a flat single-part EXR with the `exr` crate, one channel per (name, samples).
    fn write_exr(
        path: &Path,
        size: (usize, usize),
        channels: Vec<(&str, exr::image::FlatSamples)>,
    ) {
        use exr::prelude::*;
        let channels: SmallVec<[AnyChannel<FlatSamples>; 4]> = channels
            .into_iter()
            .map(|(name, samples)| AnyChannel::new(name, samples))
            .collect();
        let layer = Layer::new(
            size,
            LayerAttributes::default(),
            Encoding::FAST_LOSSLESS,
            AnyChannels::sort(channels),
        );
        if let Err(e) = Image::from_layer(layer).write().to_file(path) {
            panic!("writing {}: {e}", path.display());
        }
    }

    fn unsupported(path: &Path) -> String {
        let e = err(path);
        assert!(matches!(e, ShotError::Unsupported { .. }), "{e:?}");
        assert_names(&e, path);
        let again = match dimensions(path, &DecodeLimits::default()) {
            Ok(d) => panic!("dimensions of an unusable file: {d:?}"),
            Err(e) => e,
        };
        assert!(matches!(again, ShotError::Unsupported { .. }), "{again:?}");
        e.to_string()
    }

    #[test]
    fn exr_grey_y_only_is_grey_rgb() {
        use exr::prelude::f16;
        let d = dir();
        let path = d.path().join("grey.1001.exr");
        // 3x2, row-major: 0, 0.5, 1 / 2, 4, 0.25 (above 1 kept: the plate is linear, not clipped).
        let y = [0.0, 0.5, 1.0, 2.0, 4.0, 0.25];
        let samples = y.iter().map(|&v| f16::from_f32(v)).collect();
        write_exr(
            &path,
            (3, 2),
            vec![("Y", exr::image::FlatSamples::F16(samples))],
        );
        assert_eq!(
            dimensions(&path, &DecodeLimits::default()).ok(),
            Some((3, 2))
        );
        let plate = ok(&path);
        assert_eq!((plate.width, plate.height, plate.source_bits), (3, 2, 32));
        for (p, &v) in plate.rgba.chunks_exact(4).zip(&y) {
            assert_eq!(p, &[v, v, v, 1.0], "R = G = B = Y, alpha 1");
        }
    }

    #[test]
    fn exr_grey_y_and_alpha_is_unpremultiplied() {
        let d = dir();
        let path = d.path().join("grey_alpha.exr");
        // Premultiplied, as EXR stores it: 0.25 over alpha 0.5 is grey 0.5.
        write_exr(
            &path,
            (3, 1),
            vec![
                ("Y", exr::image::FlatSamples::F32(vec![0.25, 0.0, 0.8])),
                ("A", exr::image::FlatSamples::F32(vec![0.5, 0.0, 1.0])),
            ],
        );
        let plate = ok(&path);
        assert_eq!(&plate.rgba[..4], &[0.5, 0.5, 0.5, 0.5]);
        assert_eq!(
            &plate.rgba[4..8],
            &[0.0, 0.0, 0.0, 0.0],
            "transparent stays 0"
        );
        assert_eq!(&plate.rgba[8..], &[0.8, 0.8, 0.8, 1.0]);
    }

    #[test]
    fn exr_data_window_sits_in_the_display_window() {
        use exr::prelude::*;
        let d = dir();
        let path = d.path().join("window.exr");
        // A 4x3 display window whose data is the 2x1 strip starting at (1, 1).
        let channels =
            ["R", "G", "B"].map(|name| AnyChannel::new(name, FlatSamples::F32(vec![0.5, 2.0])));
        let mut layer = Layer::new(
            (2, 1),
            LayerAttributes::default(),
            Encoding::UNCOMPRESSED,
            AnyChannels::sort(SmallVec::from_vec(channels.to_vec())),
        );
        layer.attributes.layer_position = Vec2(1, 1);
        let image = Image::new(
            ImageAttributes::new(IntegerBounds::new((0, 0), (4, 3))),
            layer,
        );
        if let Err(e) = image.write().to_file(&path) {
            panic!("{e}");
        }
        let plate = ok(&path);
        assert_eq!((plate.width, plate.height), (4, 3));
        let px = |x: usize, y: usize| &plate.rgba[(y * 4 + x) * 4..][..4];
        assert_eq!(px(1, 1), &[0.5, 0.5, 0.5, 1.0]);
        assert_eq!(px(2, 1), &[2.0, 2.0, 2.0, 1.0]);
        assert_eq!(px(0, 0), &[0.0, 0.0, 0.0, 1.0], "outside the data: black");
        assert_eq!(px(3, 2), &[0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn exr_without_colour_channels_is_unsupported() {
        let d = dir();
        let path = d.path().join("depth_only.exr");
        write_exr(
            &path,
            (2, 2),
            vec![
                ("X", exr::image::FlatSamples::F32(vec![0.0; 4])),
                ("Z", exr::image::FlatSamples::F32(vec![1.0; 4])),
            ],
        );
        let message = unsupported(&path);
        assert!(message.contains("channels X, Z"), "{message}");
        assert!(message.contains("no R G B or Y channel"), "{message}");
        assert!(!message.contains("corrupt"), "{message}");
    }

    #[test]
    fn exr_luminance_chroma_is_unsupported() {
        let d = dir();
        let path = d.path().join("yc.exr");
        let full = || exr::image::FlatSamples::F32(vec![0.5; 4]);
        write_exr(
            &path,
            (2, 2),
            vec![("Y", full()), ("RY", full()), ("BY", full())],
        );
        let message = unsupported(&path);
        assert!(message.contains("luminance and chroma"), "{message}");
        assert!(message.contains("BY, RY, Y"), "{message}");
    }

    /// A genuine deep scan-line OpenEXR (single part, 1x1, one `Z` sample), written byte by byte:
    /// no Rust crate writes deep data. OpenImageIO reads it as deep.
    fn deep_exr() -> Vec<u8> {
        fn attribute(out: &mut Vec<u8>, name: &str, kind: &str, value: &[u8]) {
            for s in [name, kind] {
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
            out.extend_from_slice(&(value.len() as i32).to_le_bytes());
            out.extend_from_slice(value);
        }
        let int = |v: i32| v.to_le_bytes().to_vec();
        let float = |v: f32| v.to_le_bytes().to_vec();
        let mut out = vec![0x76, 0x2f, 0x31, 0x01];
        // Version 2, with the "non-image" (deep data) flag.
        out.extend_from_slice(&(2u32 | 0x800).to_le_bytes());
        // One channel: "Z", FLOAT (2), not linear, sampling 1 x 1; then the list's end.
        let mut channels = b"Z\0".to_vec();
        channels.extend_from_slice(&2i32.to_le_bytes());
        channels.extend_from_slice(&[0, 0, 0, 0]);
        channels.extend_from_slice(&1i32.to_le_bytes());
        channels.extend_from_slice(&1i32.to_le_bytes());
        channels.push(0);
        attribute(&mut out, "channels", "chlist", &channels);
        attribute(&mut out, "compression", "compression", &[0]);
        attribute(&mut out, "dataWindow", "box2i", &[0; 16]);
        attribute(&mut out, "displayWindow", "box2i", &[0; 16]);
        attribute(&mut out, "lineOrder", "lineOrder", &[0]);
        attribute(&mut out, "pixelAspectRatio", "float", &float(1.0));
        attribute(&mut out, "screenWindowCenter", "v2f", &[0; 8]);
        attribute(&mut out, "screenWindowWidth", "float", &float(1.0));
        attribute(&mut out, "name", "string", b"deep");
        attribute(&mut out, "type", "string", b"deepscanline");
        attribute(&mut out, "version", "int", &int(1));
        attribute(&mut out, "maxSamplesPerPixel", "int", &int(1));
        attribute(&mut out, "chunkCount", "int", &int(1));
        out.push(0);
        // The offset table: one chunk, right after it.
        let chunk_at = out.len() as u64 + 8;
        out.extend_from_slice(&chunk_at.to_le_bytes());
        // The chunk: y, packed offset-table size, packed and unpacked sample sizes, the
        // cumulative sample count per pixel, the samples.
        out.extend_from_slice(&0i32.to_le_bytes());
        for size in [4u64, 4, 4] {
            out.extend_from_slice(&size.to_le_bytes());
        }
        out.extend_from_slice(&1i32.to_le_bytes());
        out.extend_from_slice(&1.5f32.to_le_bytes());
        out
    }

    #[test]
    fn deep_exr_is_unsupported() {
        let d = dir();
        let path = d.path().join("deep.1001.exr");
        write(&path, &deep_exr());
        let message = unsupported(&path);
        assert!(message.contains("deep OpenEXR"), "{message}");
        assert!(!message.contains("corrupt"), "{message}");
    }

    #[test]
    fn exr_memory_limit() {
        let d = dir();
        let path = d.path().join("grey.exr");
        write_exr(
            &path,
            (4, 4),
            vec![("Y", exr::image::FlatSamples::F32(vec![1.0; 16]))],
        );
        let limits = DecodeLimits {
            max_pixels: 1 << 20,
            max_alloc_bytes: 64,
        };
        let e = match decode(&path, &limits) {
            Ok(_) => panic!("decoded past the memory limit"),
            Err(e) => e,
        };
        assert!(matches!(e, ShotError::MemoryLimit { .. }), "{e:?}");
    }

    #[test]
    fn grey_png_8_and_16_bits() {
        let d = dir();
        let gray8: ImageBuffer<Luma<u8>, Vec<u8>> =
            ImageBuffer::from_fn(3, 1, |x, _| Luma([[0, 60, 255][x as usize]]));
        let path = d.path().join("grey8.png");
        save(&gray8, &path);
        let plate = ok(&path);
        assert_eq!(plate.source_bits, 8);
        for (p, s) in plate.rgba.chunks_exact(4).zip(gray8.pixels()) {
            let g = SRGB8[usize::from(s[0])];
            assert_eq!(p, &[g, g, g, 1.0]);
        }

        let gray16: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_fn(3, 1, |x, _| Luma([[1, 1000, 40000][x as usize]]));
        let path = d.path().join("grey16.png");
        save(&gray16, &path);
        let plate = ok(&path);
        assert_eq!(plate.source_bits, 16, "16 bits are kept, not cut to 8");
        for (p, s) in plate.rgba.chunks_exact(4).zip(gray16.pixels()) {
            let g = SRGB16[usize::from(s[0])];
            assert_eq!(p, &[g, g, g, 1.0]);
        }
    }

    #[test]
    fn grey_tiff_8_and_16_bits() {
        let d = dir();
        let gray8: ImageBuffer<Luma<u8>, Vec<u8>> =
            ImageBuffer::from_fn(4, 2, |x, y| Luma([(x * 60 + y * 7) as u8]));
        let path = d.path().join("grey8.tif");
        save(&gray8, &path);
        let plate = ok(&path);
        assert_eq!((plate.width, plate.height, plate.source_bits), (4, 2, 8));
        for (p, s) in plate.rgba.chunks_exact(4).zip(gray8.pixels()) {
            let g = SRGB8[usize::from(s[0])];
            assert_eq!(p, &[g, g, g, 1.0]);
        }

        let gray16: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_fn(4, 2, |x, y| Luma([(x * 16000 + y * 321) as u16]));
        let path = d.path().join("grey16.tiff");
        save(&gray16, &path);
        let plate = ok(&path);
        assert_eq!((plate.width, plate.height, plate.source_bits), (4, 2, 16));
        for (p, s) in plate.rgba.chunks_exact(4).zip(gray16.pixels()) {
            let g = SRGB16[usize::from(s[0])];
            assert_eq!(p, &[g, g, g, 1.0]);
        }
    }

    /// A PNG chunk: length, type, data, CRC of type and data.
    fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }

    /// A zlib stream holding `data` in one stored (uncompressed) deflate block.
    fn zlib_stored(data: &[u8]) -> Vec<u8> {
        let len = data.len() as u16;
        let mut out = vec![0x78, 0x01, 0x01];
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(data);
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        out.extend_from_slice(&((b << 16) | a).to_be_bytes());
        out
    }

    #[test]
    fn palette_png_with_transparency() {
        let d = dir();
        // 3x2, 2 bits per index, four palette entries; tRNS gives entry 2 half alpha, entry 3 none.
        let palette = [[255u8, 0, 0], [0, 255, 0], [0, 0, 255], [200, 100, 50]];
        let trns = [255u8, 255, 128, 0];
        let indices = [[0usize, 1, 2], [3, 2, 1]];
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&3u32.to_be_bytes());
        ihdr.extend_from_slice(&2u32.to_be_bytes());
        ihdr.extend_from_slice(&[2, 3, 0, 0, 0]);
        png_chunk(&mut png, b"IHDR", &ihdr);
        png_chunk(&mut png, b"PLTE", palette.as_flattened());
        png_chunk(&mut png, b"tRNS", &trns);
        let mut rows = Vec::new();
        for row in indices {
            let packed = row.iter().enumerate().fold(0u8, |byte, (i, &index)| {
                byte | ((index as u8) << (6 - 2 * i))
            });
            rows.extend_from_slice(&[0, packed]);
        }
        png_chunk(&mut png, b"IDAT", &zlib_stored(&rows));
        png_chunk(&mut png, b"IEND", &[]);
        let path = d.path().join("indexed.png");
        write(&path, &png);

        let plate = ok(&path);
        assert_eq!((plate.width, plate.height, plate.source_bits), (3, 2, 8));
        for (p, index) in plate.rgba.chunks_exact(4).zip(indices.as_flattened()) {
            let [r, g, b] = palette[*index].map(|c| SRGB8[usize::from(c)]);
            let a = f32::from(trns[*index]) / 255.0;
            assert_eq!(p, &[r, g, b, a], "palette entry {index}");
        }
    }

    #[test]
    fn png_alpha_is_kept_straight() {
        let d = dir();
        // Colour under alpha 0 and under half alpha is kept as is, never premultiplied.
        let src: ImageBuffer<Rgba<u8>, Vec<u8>> = ImageBuffer::from_fn(3, 1, |x, _| {
            [
                Rgba([255, 128, 0, 0]),
                Rgba([10, 200, 90, 128]),
                Rgba([1, 2, 3, 255]),
            ][x as usize]
        });
        let path = d.path().join("cutout.png");
        save(&src, &path);
        let plate = ok(&path);
        for (p, s) in plate.rgba.chunks_exact(4).zip(src.pixels()) {
            let [r, g, b] = [s[0], s[1], s[2]].map(|c| SRGB8[usize::from(c)]);
            assert_eq!(p, &[r, g, b, f32::from(s[3]) / 255.0]);
        }

        let src16: ImageBuffer<LumaA<u16>, Vec<u16>> =
            ImageBuffer::from_pixel(1, 1, LumaA([30000, 1234]));
        let path = d.path().join("cutout16.png");
        save(&src16, &path);
        let plate = ok(&path);
        let g = SRGB16[30000];
        assert_eq!(plate.rgba, vec![g, g, g, 1234.0 / 65535.0]);
    }

    /// A real JPEG, 64x32, red in its stored top-left 32x16 quarter and blue elsewhere, with an
    /// EXIF APP1 segment carrying `orientation` (the camera's tag).
    fn jpeg_with_orientation(orientation: u16) -> Vec<u8> {
        let src: ImageBuffer<Rgb<u8>, Vec<u8>> = ImageBuffer::from_fn(64, 32, |x, y| {
            if x < 32 && y < 16 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let mut jpeg = Vec::new();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95);
        if let Err(e) = src.write_with_encoder(encoder) {
            panic!("encoding a JPEG: {e}");
        }
        // Exif: a big-endian TIFF header and one IFD with the Orientation tag (0x0112, SHORT).
        let mut tiff = b"MM\0\x2a".to_vec();
        tiff.extend_from_slice(&8u32.to_be_bytes());
        tiff.extend_from_slice(&1u16.to_be_bytes());
        tiff.extend_from_slice(&0x0112u16.to_be_bytes());
        tiff.extend_from_slice(&3u16.to_be_bytes());
        tiff.extend_from_slice(&1u32.to_be_bytes());
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&0u32.to_be_bytes());
        let mut app1 = vec![0xff, 0xe1];
        app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
        app1.extend_from_slice(b"Exif\0\0");
        app1.extend_from_slice(&tiff);
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        jpeg.splice(2..2, app1);
        jpeg
    }

    #[test]
    fn jpeg_exif_orientation_is_applied() {
        let d = dir();
        // Where a viewer shows the stored top-left quarter (red), per EXIF orientation, and the
        // size it shows: 1 as stored, 3 turned half, 6 turned a quarter clockwise, 8 anticlockwise.
        let cases = [
            (1, (64, 32), (16, 8)),
            (3, (64, 32), (48, 24)),
            (6, (32, 64), (24, 16)),
            (8, (32, 64), (8, 48)),
        ];
        for (orientation, size, red_at) in cases {
            let path = d.path().join(format!("photo{orientation}.jpg"));
            write(&path, &jpeg_with_orientation(orientation));
            assert_eq!(
                dimensions(&path, &DecodeLimits::default()).ok(),
                Some(size),
                "orientation {orientation}"
            );
            let plate = ok(&path);
            assert_eq!(
                (plate.width, plate.height),
                size,
                "orientation {orientation}"
            );
            let (w, h) = (size.0 as usize, size.1 as usize);
            let px = |x: usize, y: usize| &plate.rgba[(y * w + x) * 4..][..4];
            let red = |p: &[f32]| p[0] > 0.8 && p[2] < 0.1;
            let blue = |p: &[f32]| p[2] > 0.8 && p[0] < 0.1;
            assert!(red(px(red_at.0, red_at.1)), "orientation {orientation}");
            // The opposite corner's quarter is blue.
            assert!(
                blue(px(w - 1 - red_at.0, h - 1 - red_at.1)),
                "orientation {orientation}"
            );
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
