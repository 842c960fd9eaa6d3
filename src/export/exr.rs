//! The multi-layer OpenEXR: one single-part scanline file per frame holding the plate, the depth
//! and every matte, with the models that made them recorded in the header.
//!
//! Channel layout:
//!
//! | channel          | type  | contents                                                     |
//! |------------------|-------|--------------------------------------------------------------|
//! | `R` `G` `B`      | half  | the plate, linear, premultiplied by alpha                    |
//! | `A`              | half  | the plate's alpha                                            |
//! | `depth.Z`        | float | passes: the depth model's raw values, exactly (never tonemapped); composites: distance in scene metres from the render's camera |
//! | `matte_<name>.A` | half  | one per matte: coverage 0..1                                 |
//!
//! Why these names: every data channel sits on a one-level layer, so that every reader shows the
//! depth and every matte on one list. Blender (3.4 and 5.x) reads the file as multilayer with the
//! passes `Combined`, `Alpha`, `depth` and `matte_<name>` on one Image node (a dot anywhere makes
//! Blender read layers; with a bare `Z` and no matte, Blender 5 reads a plain image and drops the
//! depth; with `matte.<name>.A`, the matte lands on a second layer `matte`). Nuke names a channel
//! by joining all parts but the last with `_`: `depth.Z` is its own `depth.Z`, `matte_fg.A` is
//! `matte_fg.alpha`. `oiiotool --info -v` lists the names as they are. Files from older
//! Mattebox versions (`Z`, `matte.<name>.A`) are still read: [`super::read`].
//!
//! The header carries OpenEXR's standard `chromaticities` (the working space's primaries and
//! white: Rec.709/sRGB with D65 by default, AP1 with the ACES white for ACEScg) and
//! `framesPerSecond` (the shot's rate), and text attributes under `mattebox/` that say which
//! software, source file, frame, execution provider and models (id, SHA-256, licence) made the
//! frame, what the depth values mean (for a composite: scene metres, with the mapping from the
//! model's values), and the colour: `mattebox/colour/workingSpace` (`linear` or `acescg`),
//! `mattebox/colour/workingSpaceOcio` (OpenColorIO's name for it) and
//! `mattebox/colour/inputSpace` (the space the source file was read as).
//!
//! The `exr` crate writes the header, offset table and chunks. For ZIP and ZIPS the blocks are
//! deflated by Mattebox's own `export::zip` at a faster setting than the crate's; the files
//! are ordinary OpenEXR.

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::str::FromStr;

use ::exr::block::chunk::{Chunk, CompressedBlock, CompressedScanLineBlock};
use ::exr::block::writer::ChunksWriter;
use ::exr::image::write::WritableImage;
use ::exr::image::{AnyChannel, AnyChannels, Blocks, Encoding, FlatSamples, Image, Layer};
use ::exr::math::Vec2;
use ::exr::meta::attribute::{AttributeValue, Chromaticities, LineOrder, Text};
use ::exr::meta::header::LayerAttributes;
use ::exr::prelude::Compression;
use half::f16;
use half::slice::HalfFloatSliceExt;
use serde::{Deserialize, Serialize};

use super::{
    ExportError, FrameMetadata, SceneDepth, atomic::write_atomic, check_len, check_size, zip,
};
use crate::passes::{DepthMap, Matte};
use crate::shot::{Plate, WorkingSpace};

/// The version of the files' layout (channel names and metadata). It is part of every stamp's
/// key, so a rerun rewrites the frames an older layout wrote. 2: `depth.Z`, `matte_<name>.A`,
/// `chromaticities`, `framesPerSecond`, relative source paths. 3: the working space's
/// `chromaticities` and `mattebox/colour/...`.
pub const LAYOUT_VERSION: u32 = 3;

/// The depth channel: layer `depth`, channel `Z`.
pub const DEPTH_CHANNEL: &str = "depth.Z";

/// The depth channel of files from older Mattebox versions (and of many renderers): a bare `Z`.
/// Read, never written.
pub const LEGACY_DEPTH_CHANNEL: &str = "Z";

/// The channel of the matte `name`: `matte_<name>.A`.
pub fn matte_channel(name: &str) -> String {
    format!("matte_{name}.A")
}

/// The matte name held by a channel: `matte_<name>.A`, or `matte.<name>.A` as older Mattebox
/// versions wrote it; `None` for any other channel.
pub fn matte_name_of_channel(channel: &str) -> Option<&str> {
    let rest = channel.strip_suffix(".A")?;
    let name = rest
        .strip_prefix("matte_")
        .or_else(|| rest.strip_prefix("matte."))?;
    (!name.is_empty() && !name.contains('.')).then_some(name)
}

/// The working space's primaries and white point, as OpenEXR's `chromaticities` attribute.
fn chromaticities(working: WorkingSpace) -> Chromaticities {
    let [r, g, b, w] = working.chromaticities();
    Chromaticities {
        red: Vec2(r[0], r[1]),
        green: Vec2(g[0], g[1]),
        blue: Vec2(b[0], b[1]),
        white: Vec2(w[0], w[1]),
    }
}

/// Longest matte name accepted, so that every header attribute name stays within OpenEXR's
/// 255-byte limit.
const MAX_MATTE_NAME_BYTES: usize = 64;

/// Pixels converted per step: small enough that the f32 staging rows stay in cache.
const CHUNK_PX: usize = 4096;

/// Lossless compression for the EXR, named as in `oiiotool` and Nuke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExrCompression {
    /// No compression: largest files, fastest to write.
    None,
    /// Deflate over blocks of 16 scanlines: the usual choice, good on float data.
    #[default]
    Zip,
    /// Deflate per scanline: slightly larger files, faster partial reads.
    Zips,
    /// Wavelet compression: best on noisy, grainy plates.
    Piz,
    /// Run-length encoding: fast, only good on flat areas.
    Rle,
}

impl ExrCompression {
    /// Every value, in the order listed in help texts.
    pub const ALL: [ExrCompression; 5] = [
        ExrCompression::None,
        ExrCompression::Zip,
        ExrCompression::Zips,
        ExrCompression::Piz,
        ExrCompression::Rle,
    ];

    /// The lowercase name used on the command line and in project files.
    pub fn as_str(self) -> &'static str {
        match self {
            ExrCompression::None => "none",
            ExrCompression::Zip => "zip",
            ExrCompression::Zips => "zips",
            ExrCompression::Piz => "piz",
            ExrCompression::Rle => "rle",
        }
    }

    fn to_exr(self) -> Compression {
        match self {
            ExrCompression::None => Compression::Uncompressed,
            ExrCompression::Zip => Compression::ZIP16,
            ExrCompression::Zips => Compression::ZIP1,
            ExrCompression::Piz => Compression::PIZ,
            ExrCompression::Rle => Compression::RLE,
        }
    }
}

impl fmt::Display for ExrCompression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An EXR compression name that is not one of `none`, `zip`, `zips`, `piz`, `rle`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown EXR compression {0:?}; expected one of none, zip, zips, piz, rle")]
pub struct UnknownCompression(
    /// The name given.
    pub String,
);

impl FromStr for ExrCompression {
    type Err = UnknownCompression;

    /// Parses a name, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExrCompression::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownCompression(s.to_string()))
    }
}

/// Writes one frame as a single-part scanline OpenEXR at `path`, atomically.
///
/// The plate becomes `R G B A` (half, premultiplied), `depth` becomes `depth.Z` (float, its
/// values exactly) and each matte becomes `matte_<name>.A` (half). `meta` goes into the header as
/// `mattebox/...` text attributes, `framesPerSecond` and `chromaticities`; a stamp in
/// `meta.mattes` is matched to a matte by name.
///
/// Fails with [`ExportError::SizeMismatch`] if the depth map or a matte is not the plate's size,
/// and with [`ExportError::InvalidInput`] for an empty, duplicate, or unusable matte name
/// (allowed: ASCII letters, digits, `_` and `-`, at most 64 bytes).
pub fn write_layered_exr(
    path: &Path,
    plate: &Plate,
    depth: Option<&DepthMap>,
    mattes: &[Matte],
    meta: &FrameMetadata,
    compression: ExrCompression,
) -> Result<(), ExportError> {
    let size = (plate.width, plate.height);
    check_len(
        path,
        "plate",
        plate.rgba.len(),
        plate.width,
        plate.height,
        4,
    )?;
    if let Some(depth) = depth {
        check_size(
            path,
            || "depth map".to_string(),
            (depth.width, depth.height),
            size,
        )?;
        check_len(
            path,
            "depth map",
            depth.values.len(),
            depth.width,
            depth.height,
            1,
        )?;
    }
    for (i, matte) in mattes.iter().enumerate() {
        check_matte_name(path, &matte.name)?;
        if mattes[..i].iter().any(|m| m.name == matte.name) {
            return Err(ExportError::invalid(
                path,
                format!("two mattes are both named {:?}", matte.name),
            ));
        }
        check_size(
            path,
            || format!("matte {:?}", matte.name),
            (matte.width, matte.height),
            size,
        )?;
        check_len(
            path,
            "matte",
            matte.alpha.len(),
            matte.width,
            matte.height,
            1,
        )?;
    }

    let image = layered_image(plate, depth, mattes, meta, compression);
    write_atomic(path, |writer| match compression {
        ExrCompression::Zip | ExrCompression::Zips => write_with_fast_zip(path, &image, writer),
        ExrCompression::None | ExrCompression::Piz | ExrCompression::Rle => image
            .write()
            .to_buffered(writer)
            .map_err(|error| exr_write_error(path, error)),
    })
}

/// The frame as an `exr` image: one layer whose channels are sorted by name, the order they
/// take in the header and in every block.
fn layered_image(
    plate: &Plate,
    depth: Option<&DepthMap>,
    mattes: &[Matte],
    meta: &FrameMetadata,
    compression: ExrCompression,
) -> Image<Layer<AnyChannels<FlatSamples>>> {
    let [r, g, b, a] = premultiplied_halves(&plate.rgba);
    let mut channels = vec![
        AnyChannel::new("R", FlatSamples::F16(r)),
        AnyChannel::new("G", FlatSamples::F16(g)),
        AnyChannel::new("B", FlatSamples::F16(b)),
        AnyChannel::new("A", FlatSamples::F16(a)),
    ];
    if let Some(depth) = depth {
        channels.push(AnyChannel::new(
            DEPTH_CHANNEL,
            FlatSamples::F32(depth.values.clone()),
        ));
    }
    for matte in mattes {
        let mut halves = vec![f16::ZERO; matte.alpha.len()];
        halves.convert_from_f32_slice(&matte.alpha);
        channels.push(AnyChannel::new(
            text(&matte_channel(&matte.name)),
            FlatSamples::F16(halves),
        ));
    }

    let mut attributes = LayerAttributes {
        software_name: Some(text(&meta.software)),
        frames_per_second: meta.fps.and_then(fps_rational),
        ..LayerAttributes::default()
    };
    for (name, value) in header_attributes(meta, depth, mattes) {
        attributes
            .other
            .insert(text(&name), AttributeValue::Text(text(&value)));
    }

    let encoding = Encoding {
        compression: compression.to_exr(),
        blocks: Blocks::ScanLines,
        line_order: LineOrder::Increasing,
    };
    let layer = Layer::new(
        Vec2(plate.width as usize, plate.height as usize),
        attributes,
        encoding,
        AnyChannels::sort(channels.into()),
    );
    let mut image = Image::from_layer(layer);
    image.attributes.chromaticities = Some(chromaticities(meta.working_space));
    image
}

/// A frame rate as OpenEXR's rational `framesPerSecond`: whole rates as `n/1`, the NTSC rates
/// (23.976, 29.97, 59.94, ...) as `n*1000/1001`, others to a thousandth. `None` for a rate that
/// is not a positive finite number.
fn fps_rational(fps: f32) -> Option<(i32, u32)> {
    if !fps.is_finite() || fps <= 0.0 || fps > 1e6 {
        return None;
    }
    let fps = f64::from(fps);
    if (fps - fps.round()).abs() < 1e-4 {
        return Some((fps.round() as i32, 1));
    }
    let ntsc = (fps * 1.001).round();
    if (ntsc * 1000.0 / 1001.0 - fps).abs() < 5e-3 {
        return Some(((ntsc * 1000.0) as i32, 1001));
    }
    let thousandths = (fps * 1000.0).round() as u32;
    let divisor = gcd(thousandths, 1000);
    Some(((thousandths / divisor) as i32, 1000 / divisor))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// Writes a ZIP or ZIPS image: the `exr` crate writes the header, the offset table and the
/// chunks, and [`super::zip`] compresses the blocks (see there for why).
fn write_with_fast_zip(
    path: &Path,
    image: &Image<Layer<AnyChannels<FlatSamples>>>,
    writer: &mut BufWriter<File>,
) -> Result<(), ExportError> {
    let headers = image.write().infer_meta_data();
    let layer = &image.layer_data;
    let bug =
        |problem: &str| ExportError::invalid(path, format!("{problem}; this is a bug in Mattebox"));
    let [header] = headers.as_slice() else {
        return Err(bug("the EXR does not have exactly one header"));
    };
    let planes = header
        .channels
        .list
        .iter()
        .map(|description| {
            let channel = layer
                .channel_data
                .list
                .iter()
                .find(|channel| channel.name == description.name)
                .ok_or_else(|| bug("a header channel has no pixels"))?;
            Ok(match &channel.sample_data {
                FlatSamples::F16(samples) => zip::Plane::F16(samples),
                FlatSamples::F32(samples) => zip::Plane::F32(samples),
                FlatSamples::U32(samples) => zip::Plane::U32(samples),
            })
        })
        .collect::<Result<Vec<_>, ExportError>>()?;

    let lines_per_block = header.compression.scan_lines_per_block();
    let top = header.own_attributes.layer_position.y();
    let blocks = zip::compress_blocks(&planes, layer.size.x(), layer.size.y(), lines_per_block)
        .map_err(|error| ExportError::write(path, error))?;
    if blocks.len() != header.chunk_count {
        return Err(bug("the ZIP blocks do not match the header's chunk count"));
    }

    ::exr::block::write(writer, headers, true, |_meta, chunks| {
        for (index, compressed_pixels_le) in blocks.into_iter().enumerate() {
            let y_coordinate = i32::try_from(index * lines_per_block)
                .ok()
                .and_then(|y| y.checked_add(top))
                .ok_or(::exr::error::Error::Invalid("scanline out of range".into()))?;
            chunks.write_chunk(
                index,
                Chunk {
                    layer_index: 0,
                    compressed_block: CompressedBlock::ScanLine(CompressedScanLineBlock {
                        y_coordinate,
                        compressed_pixels_le,
                    }),
                },
            )?;
        }
        Ok(())
    })
    .map_err(|error| exr_write_error(path, error))
}

/// An `exr` crate error as an export error for `path`: plain I/O failures as write errors.
fn exr_write_error(path: &Path, error: ::exr::error::Error) -> ExportError {
    match error {
        ::exr::error::Error::Io(error) => {
            ExportError::write(path, super::atomic::plain_io_error(error))
        }
        error => ExportError::ExrWrite {
            path: path.to_path_buf(),
            error,
        },
    }
}

/// The `mattebox/...` header attributes for one frame, as (name, text) pairs.
fn header_attributes(
    meta: &FrameMetadata,
    depth: Option<&DepthMap>,
    mattes: &[Matte],
) -> Vec<(String, String)> {
    let mut out = vec![
        ("mattebox/software".to_string(), meta.software.clone()),
        (
            "mattebox/source".to_string(),
            meta.source.to_string_lossy().into_owned(),
        ),
        (
            "mattebox/executionProvider".to_string(),
            meta.execution_provider.clone(),
        ),
    ];
    if let Some(frame) = meta.frame {
        out.push(("mattebox/frame".to_string(), frame.to_string()));
    }
    out.push((
        "mattebox/colour/workingSpace".to_string(),
        meta.working_space.name().to_string(),
    ));
    out.push((
        "mattebox/colour/workingSpaceOcio".to_string(),
        meta.working_space.ocio_name().to_string(),
    ));
    if let Some(input) = meta.input_space {
        out.push((
            "mattebox/colour/inputSpace".to_string(),
            input.name().to_string(),
        ));
    }
    if let Some(temporal) = &meta.temporal {
        out.push(("mattebox/passes/temporal".to_string(), temporal.clone()));
    }
    if let Some(depth) = depth {
        let key = |field: &str| format!("mattebox/depth/{field}");
        out.push((key("channel"), DEPTH_CHANNEL.to_string()));
        let model_semantics = meta.depth.as_ref().and_then(|stamp| stamp.semantics);
        match &meta.scene_depth {
            None => {
                let semantics = model_semantics.unwrap_or(depth.semantics);
                out.push((key("semantics"), semantics.as_str().to_string()));
                if let Some(range) = meta.depth_range {
                    out.push((key("near"), range.near.to_string()));
                    out.push((key("far"), range.far.to_string()));
                }
            }
            Some(scene) => out.extend(scene_depth_attributes(
                scene,
                model_semantics,
                meta.depth_range,
            )),
        }
        if let Some(stamp) = &meta.depth {
            out.push((key("model"), stamp.model_id.clone()));
            out.push((key("modelSha256"), stamp.model_sha256.clone()));
            out.push((key("licence"), stamp.licence.clone()));
        }
    }
    for matte in mattes {
        let key = |field: &str| format!("mattebox/matte/{}/{field}", matte.name);
        out.push((key("channel"), matte_channel(&matte.name)));
        if let Some(stamp) = meta.mattes.iter().find(|s| s.pass == matte.name) {
            out.push((key("model"), stamp.model_id.clone()));
            out.push((key("modelSha256"), stamp.model_sha256.clone()));
            out.push((key("licence"), stamp.licence.clone()));
        }
    }
    out
}

/// What a composite's depth holds, and how it was made from the model's values.
fn scene_depth_attributes(
    scene: &SceneDepth,
    model_semantics: Option<crate::passes::DepthSemantics>,
    range: Option<crate::passes::DepthRange>,
) -> Vec<(String, String)> {
    let key = |field: &str| format!("mattebox/depth/{field}");
    let mut out = vec![
        (key("semantics"), "scene_distance".to_string()),
        (key("unit"), "m".to_string()),
        (
            key("description"),
            "distance in scene metres from the render's camera (after the camera move)".to_string(),
        ),
    ];
    if let Some(semantics) = model_semantics {
        out.push((key("modelSemantics"), semantics.as_str().to_string()));
    }
    if scene.metric_as_is {
        out.push((key("mapping"), "metric".to_string()));
        out.push((
            key("formula"),
            "the metric model's metres as they are".to_string(),
        ));
    } else {
        out.push((key("mapping"), "scene".to_string()));
        out.push((
            key("formula"),
            "n = clamp(1 - (raw - modelNear) / (modelFar - modelNear), 0, 1) ^ curve; \
             1 / distance = (1 - n) / farM + n / nearM"
                .to_string(),
        ));
    }
    out.push((key("nearM"), scene.near_m.to_string()));
    out.push((key("farM"), scene.far_m.to_string()));
    out.push((key("curve"), scene.curve.to_string()));
    if let Some(range) = range {
        out.push((key("modelNear"), range.near.to_string()));
        out.push((key("modelFar"), range.far.to_string()));
    }
    out
}

/// Splits straight-alpha RGBA into four premultiplied half-float planes.
fn premultiplied_halves(rgba: &[f32]) -> [Vec<f16>; 4] {
    let pixels = rgba.len() / 4;
    let mut planes: [Vec<f16>; 4] = std::array::from_fn(|_| vec![f16::ZERO; pixels]);
    let mut staging: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0.0; CHUNK_PX]);
    for (chunk_index, chunk) in rgba.chunks(CHUNK_PX * 4).enumerate() {
        let n = chunk.len() / 4;
        let [sr, sg, sb, sa] = &mut staging;
        for (i, px) in chunk.chunks_exact(4).enumerate() {
            let alpha = px[3];
            sr[i] = px[0] * alpha;
            sg[i] = px[1] * alpha;
            sb[i] = px[2] * alpha;
            sa[i] = alpha;
        }
        let start = chunk_index * CHUNK_PX;
        for (plane, stage) in planes.iter_mut().zip(staging.iter()) {
            plane[start..start + n].convert_from_f32_slice(&stage[..n]);
        }
    }
    planes
}

/// Rejects matte names that would break the EXR layer structure or the attribute names.
fn check_matte_name(path: &Path, name: &str) -> Result<(), ExportError> {
    let problem = if name.is_empty() {
        Some("a matte has an empty name".to_string())
    } else if name.len() > MAX_MATTE_NAME_BYTES {
        Some(format!(
            "the matte name {name:?} is longer than {MAX_MATTE_NAME_BYTES} characters"
        ))
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Some(format!(
            "the matte name {name:?} may only hold letters, digits, '_' and '-' \
             (it becomes the EXR layer matte_{name})"
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ExportError::invalid(path, problem)),
        None => Ok(()),
    }
}

/// An EXR text holding `s` as UTF-8 bytes, which is how OpenEXR, OIIO and Nuke read strings.
/// (`exr::Text::from(&str)` panics outside Latin-1.)
fn text(s: &str) -> Text {
    Text::from_slice_unchecked(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::PassStamp;
    use crate::passes::{DepthRange, DepthSemantics};
    use ::exr::prelude::{ReadChannels, ReadLayers, read};
    use std::path::PathBuf;
    use std::process::Command;

    const W: u32 = 64;
    const H: u32 = 48;

    pub(crate) fn gradient_plate(w: u32, h: u32, alpha: f32) -> Plate {
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                rgba.extend_from_slice(&[x as f32 / w as f32, y as f32 / h as f32, 0.25, alpha]);
            }
        }
        Plate {
            width: w,
            height: h,
            rgba,
            source_bits: 8,
        }
    }

    fn z_ramp(w: u32, h: u32) -> DepthMap {
        DepthMap {
            width: w,
            height: h,
            values: (0..w * h).map(|i| 1.0 + i as f32 * 0.001_234_567).collect(),
            semantics: DepthSemantics::Metric,
        }
    }

    fn fg_matte(w: u32, h: u32) -> Matte {
        Matte {
            name: "fg".into(),
            width: w,
            height: h,
            alpha: (0..w * h)
                .map(|i| (i % w) as f32 / (w - 1) as f32)
                .collect(),
        }
    }

    fn stamp(pass: &str, model: &str) -> PassStamp {
        PassStamp {
            pass: pass.into(),
            model_id: model.into(),
            model_sha256: "ab".repeat(32),
            licence: "Apache-2.0".into(),
            semantics: None,
        }
    }

    fn metadata() -> FrameMetadata {
        FrameMetadata {
            software: crate::SOFTWARE.into(),
            source: PathBuf::from("/shots/sh010/plate.1001.exr"),
            frame: Some(1001),
            execution_provider: "CPU".into(),
            depth: Some(PassStamp {
                semantics: Some(DepthSemantics::Metric),
                ..stamp("depth", "depth-pro")
            }),
            depth_range: Some(DepthRange {
                near: 1.0,
                far: 4.75,
            }),
            mattes: vec![stamp("fg", "birefnet-lite")],
            fps: Some(24.0),
            scene_depth: None,
            working_space: WorkingSpace::Linear,
            input_space: Some(crate::shot::ColourSpace::Linear),
            temporal: Some("radius=3 tolerance=0.02".into()),
        }
    }

    fn write_sample(dir: &Path) -> PathBuf {
        let path = dir.join("sh010.1001.exr");
        let plate = gradient_plate(W, H, 0.5);
        write_layered_exr(
            &path,
            &plate,
            Some(&z_ramp(W, H)),
            &[fg_matte(W, H)],
            &metadata(),
            ExrCompression::Zip,
        )
        .unwrap();
        path
    }

    fn attribute(layer_attrs: &LayerAttributes, name: &str) -> Option<String> {
        match layer_attrs.other.get(&text(name))? {
            AttributeValue::Text(t) => Some(String::from_utf8_lossy(t.as_slice()).into_owned()),
            other => Some(format!("{other:?}")),
        }
    }

    #[test]
    fn layered_exr_has_the_channels_nuke_expects() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path());
        let image = read()
            .no_deep_data()
            .largest_resolution_level()
            .all_channels()
            .all_layers()
            .all_attributes()
            .from_file(&path)
            .unwrap();
        assert_eq!(image.layer_data.len(), 1);
        let layer = &image.layer_data[0];
        assert_eq!(layer.size, Vec2(W as usize, H as usize));
        let names: Vec<String> = layer
            .channel_data
            .list
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(names, ["A", "B", "G", "R", "depth.Z", "matte_fg.A"]);

        let channel = |name: &str| {
            layer
                .channel_data
                .list
                .iter()
                .find(|c| c.name == *name)
                .unwrap()
        };
        for name in ["R", "G", "B", "A", "matte_fg.A"] {
            assert!(
                matches!(channel(name).sample_data, FlatSamples::F16(_)),
                "{name}"
            );
        }
        assert!(matches!(
            channel("depth.Z").sample_data,
            FlatSamples::F32(_)
        ));

        // depth.Z holds the raw depth exactly.
        let expected = z_ramp(W, H).values;
        match &channel("depth.Z").sample_data {
            FlatSamples::F32(z) => assert_eq!(z, &expected),
            other => panic!("depth.Z is {other:?}"),
        }
        // Colour is premultiplied: plate R = x / W, alpha 0.5.
        let r: Vec<f32> = channel("R").sample_data.values_as_f32().collect();
        let a: Vec<f32> = channel("A").sample_data.values_as_f32().collect();
        let i = (10 * W + 40) as usize;
        assert!((r[i] - 40.0 / W as f32 * 0.5).abs() < 1e-3, "{}", r[i]);
        assert_eq!(a[i], 0.5);
        let m: Vec<f32> = channel("matte_fg.A").sample_data.values_as_f32().collect();
        assert!((m[(W - 1) as usize] - 1.0).abs() < 1e-3);
        assert_eq!(m[0], 0.0);

        let attrs = &layer.attributes;
        let sha = "ab".repeat(32);
        let expect = [
            ("mattebox/software", crate::SOFTWARE),
            ("mattebox/source", "/shots/sh010/plate.1001.exr"),
            ("mattebox/frame", "1001"),
            ("mattebox/executionProvider", "CPU"),
            ("mattebox/depth/model", "depth-pro"),
            ("mattebox/depth/modelSha256", &sha),
            ("mattebox/depth/semantics", "metric"),
            ("mattebox/depth/near", "1"),
            ("mattebox/depth/far", "4.75"),
            ("mattebox/depth/licence", "Apache-2.0"),
            ("mattebox/matte/fg/model", "birefnet-lite"),
            ("mattebox/matte/fg/modelSha256", &sha),
            ("mattebox/matte/fg/licence", "Apache-2.0"),
            ("mattebox/colour/workingSpace", "linear"),
            ("mattebox/colour/workingSpaceOcio", "Linear Rec.709 (sRGB)"),
            ("mattebox/colour/inputSpace", "linear"),
        ];
        for (name, value) in expect {
            assert_eq!(attribute(attrs, name).as_deref(), Some(value), "{name}");
        }
        assert_eq!(attrs.frames_per_second, Some((24, 1)));
        let rec709 = Chromaticities {
            red: Vec2(0.64, 0.33),
            green: Vec2(0.30, 0.60),
            blue: Vec2(0.15, 0.06),
            white: Vec2(0.3127, 0.3290),
        };
        assert_eq!(
            image.attributes.chromaticities,
            Some(rec709),
            "the working space: Rec.709 primaries, D65 white"
        );
        assert_eq!(
            attrs
                .software_name
                .as_ref()
                .map(|t| t.to_string())
                .as_deref(),
            Some(crate::SOFTWARE)
        );
    }

    #[test]
    fn every_compression_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        for compression in ExrCompression::ALL {
            let path = dir.path().join(format!("{compression}.exr"));
            let plate = gradient_plate(W, H, 1.0);
            write_layered_exr(
                &path,
                &plate,
                Some(&z_ramp(W, H)),
                &[],
                &metadata(),
                compression,
            )
            .unwrap();
            let image = ::exr::prelude::read_first_flat_layer_from_file(&path).unwrap();
            let z = image
                .layer_data
                .channel_data
                .list
                .iter()
                .find(|c| c.name == *DEPTH_CHANNEL)
                .unwrap();
            let z: Vec<f32> = z.sample_data.values_as_f32().collect();
            assert_eq!(z, z_ramp(W, H).values, "{compression}");
        }
    }

    #[test]
    fn size_mismatch_names_the_file_and_both_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.exr");
        let plate = gradient_plate(W, H, 1.0);
        let err = write_layered_exr(
            &path,
            &plate,
            Some(&z_ramp(W / 2, H / 2)),
            &[],
            &metadata(),
            ExrCompression::Zip,
        )
        .unwrap_err();
        assert!(matches!(err, ExportError::SizeMismatch { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("bad.exr"), "{message}");
        assert!(message.contains("32x24"), "{message}");
        assert!(message.contains("64x48"), "{message}");

        let err = write_layered_exr(
            &path,
            &plate,
            None,
            &[fg_matte(W, H + 1)],
            &metadata(),
            ExrCompression::Zip,
        )
        .unwrap_err();
        assert!(matches!(err, ExportError::SizeMismatch { .. }), "{err:?}");
        assert!(err.to_string().contains("\"fg\""), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn bad_or_duplicate_matte_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.exr");
        let plate = gradient_plate(W, H, 1.0);
        for name in ["", "a.b", "fg/hair", "é"] {
            let matte = Matte {
                name: name.into(),
                ..fg_matte(W, H)
            };
            let err = write_layered_exr(
                &path,
                &plate,
                None,
                &[matte],
                &metadata(),
                ExrCompression::Zip,
            )
            .unwrap_err();
            assert!(
                matches!(err, ExportError::InvalidInput { .. }),
                "{name}: {err:?}"
            );
        }
        let err = write_layered_exr(
            &path,
            &plate,
            None,
            &[fg_matte(W, H), fg_matte(W, H)],
            &metadata(),
            ExrCompression::Zip,
        )
        .unwrap_err();
        assert!(err.to_string().contains("two mattes"), "{err}");
    }

    #[test]
    fn non_latin_source_path_is_written_as_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("utf8.exr");
        let meta = FrameMetadata {
            source: PathBuf::from("/shots/東京/plate.exr"),
            ..metadata()
        };
        write_layered_exr(
            &path,
            &gradient_plate(8, 8, 1.0),
            None,
            &[],
            &meta,
            ExrCompression::Zip,
        )
        .unwrap();
        let image = ::exr::prelude::read_first_flat_layer_from_file(&path).unwrap();
        assert_eq!(
            attribute(&image.layer_data.attributes, "mattebox/source").as_deref(),
            Some("/shots/東京/plate.exr")
        );
    }

    #[test]
    fn an_acescg_working_space_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acescg.exr");
        let meta = FrameMetadata {
            working_space: WorkingSpace::AcesCg,
            input_space: Some(crate::shot::ColourSpace::Srgb),
            ..metadata()
        };
        write_layered_exr(
            &path,
            &gradient_plate(8, 8, 1.0),
            None,
            &[],
            &meta,
            ExrCompression::Zip,
        )
        .unwrap();
        let image = ::exr::prelude::read_first_flat_layer_from_file(&path).unwrap();
        let attrs = &image.layer_data.attributes;
        assert_eq!(
            attribute(attrs, "mattebox/colour/workingSpace").as_deref(),
            Some("acescg")
        );
        assert_eq!(
            attribute(attrs, "mattebox/colour/workingSpaceOcio").as_deref(),
            Some("ACEScg")
        );
        assert_eq!(
            attribute(attrs, "mattebox/colour/inputSpace").as_deref(),
            Some("srgb")
        );
        let ap1 = Chromaticities {
            red: Vec2(0.713, 0.293),
            green: Vec2(0.165, 0.830),
            blue: Vec2(0.128, 0.044),
            white: Vec2(0.32168, 0.33767),
        };
        assert_eq!(image.attributes.chromaticities, Some(ap1));
    }

    #[test]
    fn a_composite_says_its_depth_is_scene_metres_and_records_the_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("composite.exr");
        let meta = FrameMetadata {
            depth: Some(PassStamp {
                semantics: Some(DepthSemantics::RelativeInverse),
                ..stamp("depth", "fastdepth")
            }),
            depth_range: Some(DepthRange {
                near: 0.9,
                far: 0.1,
            }),
            scene_depth: Some(SceneDepth {
                metric_as_is: false,
                near_m: 1.5,
                far_m: 30.0,
                curve: 2.0,
            }),
            fps: Some(23.976),
            ..metadata()
        };
        write_layered_exr(
            &path,
            &gradient_plate(W, H, 1.0),
            Some(&z_ramp(W, H)),
            &[fg_matte(W, H)],
            &meta,
            ExrCompression::Zip,
        )
        .unwrap();
        let image = ::exr::prelude::read_first_flat_layer_from_file(&path).unwrap();
        let attrs = &image.layer_data.attributes;
        let expect = [
            ("mattebox/depth/channel", "depth.Z"),
            ("mattebox/depth/semantics", "scene_distance"),
            ("mattebox/depth/unit", "m"),
            ("mattebox/depth/mapping", "scene"),
            ("mattebox/depth/modelSemantics", "relative_inverse"),
            ("mattebox/depth/nearM", "1.5"),
            ("mattebox/depth/farM", "30"),
            ("mattebox/depth/curve", "2"),
            ("mattebox/depth/modelNear", "0.9"),
            ("mattebox/depth/modelFar", "0.1"),
            ("mattebox/depth/model", "fastdepth"),
            ("mattebox/matte/fg/channel", "matte_fg.A"),
        ];
        for (name, value) in expect {
            assert_eq!(attribute(attrs, name).as_deref(), Some(value), "{name}");
        }
        let description = attribute(attrs, "mattebox/depth/description").unwrap();
        assert!(
            description.contains("after the camera move"),
            "{description}"
        );
        // The raw range's pass-file names are not used for metres.
        assert_eq!(attribute(attrs, "mattebox/depth/near"), None);
        assert_eq!(attrs.frames_per_second, Some((24000, 1001)));
    }

    #[test]
    fn frame_rates_become_rationals() {
        assert_eq!(fps_rational(24.0), Some((24, 1)));
        assert_eq!(fps_rational(25.0), Some((25, 1)));
        assert_eq!(fps_rational(23.976), Some((24000, 1001)));
        assert_eq!(fps_rational(29.97), Some((30000, 1001)));
        assert_eq!(fps_rational(59.94), Some((60000, 1001)));
        assert_eq!(fps_rational(12.5), Some((25, 2)));
        assert_eq!(fps_rational(0.0), None);
        assert_eq!(fps_rational(f32::NAN), None);
    }

    #[test]
    fn matte_channels_and_their_names() {
        assert_eq!(matte_channel("fg"), "matte_fg.A");
        assert_eq!(matte_name_of_channel("matte_fg.A"), Some("fg"));
        assert_eq!(
            matte_name_of_channel("matte_hair_fine.A"),
            Some("hair_fine")
        );
        assert_eq!(matte_name_of_channel("matte.fg.A"), Some("fg"));
        for other in [
            "matte_fg.R",
            "matte_.A",
            "matte.a.b.A",
            "fg.A",
            "A",
            "depth.Z",
        ] {
            assert_eq!(matte_name_of_channel(other), None, "{other}");
        }
    }

    #[test]
    fn compression_parses_from_names() {
        assert_eq!(
            "ZIP".parse::<ExrCompression>().unwrap(),
            ExrCompression::Zip
        );
        assert_eq!(
            "piz".parse::<ExrCompression>().unwrap(),
            ExrCompression::Piz
        );
        assert_eq!(ExrCompression::default(), ExrCompression::Zip);
        let err = "dwaa".parse::<ExrCompression>().unwrap_err();
        assert!(err.to_string().contains("none, zip, zips, piz, rle"));
        assert_eq!(
            serde_json::to_string(&ExrCompression::Zips).unwrap(),
            "\"zips\""
        );
    }

    /// `oiiotool --info -v` must show the layers and our metadata. CI installs OpenImageIO
    /// through scripts/setup.sh; without it this test fails on purpose.
    #[test]
    fn oiiotool_lists_the_layers_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path());
        let output = match Command::new("oiiotool")
            .args(["--info", "-v"])
            .arg(&path)
            .output()
        {
            Ok(output) => output,
            Err(e) => panic!(
                "cannot run oiiotool ({e}); install OpenImageIO's tools with scripts/setup.sh"
            ),
        };
        assert!(output.status.success(), "{output:?}");
        let info = String::from_utf8_lossy(&output.stdout);
        for needle in [
            "depth.Z",
            "matte_fg.A",
            "mattebox/depth/semantics",
            "metric",
            "half",
            "float",
        ] {
            assert!(info.contains(needle), "{needle} missing from:\n{info}");
        }
    }

    /// 64 deterministic random bits (splitmix64's finaliser).
    fn random_bits(seed: u64) -> u64 {
        let mut x = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// A deterministic number in -1..1, roughly Gaussian: the sum of four uniform ones.
    fn grain(seed: u64) -> f32 {
        let x = random_bits(seed);
        let sum: f32 = (0..4)
            .map(|k| ((x >> (k * 16)) & 0xffff) as f32 / 65535.0)
            .sum();
        (sum - 2.0) * 0.5
    }

    /// A frame like a real shot's: a plate with 8% film grain over smooth shading, partly
    /// transparent at the top, a smooth depth with the fine noise a model's float output has,
    /// and a soft-edged matte.
    fn grainy_frame(w: u32, h: u32) -> (Plate, DepthMap, Matte) {
        let (fw, fh) = (w as f32, h as f32);
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        let mut depth = Vec::with_capacity((w * h) as usize);
        let mut alpha = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let i = u64::from(y * w + x);
                let (u, v) = (x as f32 / fw, y as f32 / fh);
                let shade = [
                    0.18 + 0.5 * u,
                    0.1 + 0.4 * v,
                    0.05 + 0.02 * (u * 20.0).sin(),
                ];
                for (c, value) in shade.into_iter().enumerate() {
                    rgba.push(value * (1.0 + 0.08 * grain(i * 4 + c as u64)));
                }
                rgba.push((v * 8.0).min(1.0));
                depth.push(2.0 + 3.0 * v + 0.5 * u * u + 0.002 * grain(i * 4 + 3));
                let r = ((x as f32 - fw / 2.0).powi(2) + (y as f32 - fh / 2.0).powi(2)).sqrt();
                alpha.push(((fh / 3.0 - r) / 3.0).clamp(0.0, 1.0));
            }
        }
        let plate = Plate {
            width: w,
            height: h,
            rgba,
            source_bits: 16,
        };
        let depth = DepthMap {
            width: w,
            height: h,
            values: depth,
            semantics: DepthSemantics::Metric,
        };
        let matte = Matte {
            name: "fg".into(),
            width: w,
            height: h,
            alpha,
        };
        (plate, depth, matte)
    }

    /// A frame of white noise in every channel, which deflate cannot shrink: its blocks are
    /// stored raw.
    fn noise_frame(w: u32, h: u32) -> (Plate, DepthMap, Matte) {
        let n = u64::from(w * h);
        // Any finite float or half, from random bits.
        let any = |seed: u64| {
            let value = f32::from_bits(random_bits(seed) as u32);
            if value.is_finite() { value } else { 0.5 }
        };
        let any_half = |seed: u64| {
            let value = f16::from_bits(random_bits(seed) as u16);
            if value.is_finite() {
                value.to_f32()
            } else {
                0.5
            }
        };
        let unit = |seed: u64| (random_bits(seed) >> 40) as f32 / (1u64 << 24) as f32;
        let plate = Plate {
            width: w,
            height: h,
            rgba: (0..n * 4)
                .map(|i| if i % 4 == 3 { unit(i) } else { any_half(i) })
                .collect(),
            source_bits: 16,
        };
        let depth = DepthMap {
            values: (0..n).map(|i| any(n * 4 + i)).collect(),
            ..z_ramp(w, h)
        };
        let matte = Matte {
            alpha: (0..n).map(|i| unit(n * 5 + i)).collect(),
            ..fg_matte(w, h)
        };
        (plate, depth, matte)
    }

    fn write_frame(path: &Path, frame: &(Plate, DepthMap, Matte), compression: ExrCompression) {
        let (plate, depth, matte) = frame;
        write_layered_exr(
            path,
            plate,
            Some(depth),
            std::slice::from_ref(matte),
            &metadata(),
            compression,
        )
        .unwrap();
    }

    /// Writes the frame through the `exr` crate's own compressor, as Mattebox used to.
    fn write_frame_with_exr_crate(
        path: &Path,
        frame: &(Plate, DepthMap, Matte),
        compression: ExrCompression,
        parallel: bool,
    ) {
        let (plate, depth, matte) = frame;
        let image = layered_image(
            plate,
            Some(depth),
            std::slice::from_ref(matte),
            &metadata(),
            compression,
        );
        write_atomic(path, |writer| {
            let write = image.write();
            let write = if parallel {
                write
            } else {
                write.non_parallel()
            };
            write
                .to_buffered(writer)
                .map_err(|error| exr_write_error(path, error))
        })
        .unwrap();
    }

    /// Reads `path` with the `exr` crate and checks every sample's bits against the image the
    /// frame makes.
    fn assert_reads_back_exactly(path: &Path, frame: &(Plate, DepthMap, Matte)) {
        let (plate, depth, matte) = frame;
        let expected = layered_image(
            plate,
            Some(depth),
            std::slice::from_ref(matte),
            &metadata(),
            ExrCompression::Zip,
        );
        let image = ::exr::prelude::read_first_flat_layer_from_file(path).unwrap();
        let found = &image.layer_data.channel_data.list;
        let expected = &expected.layer_data.channel_data.list;
        assert_eq!(found.len(), expected.len());
        for (found, expected) in found.iter().zip(expected) {
            assert_eq!(found.name, expected.name);
            let name = found.name.to_string();
            match (&found.sample_data, &expected.sample_data) {
                (FlatSamples::F16(found), FlatSamples::F16(expected)) => {
                    let found: Vec<u16> = found.iter().map(|v| v.to_bits()).collect();
                    let expected: Vec<u16> = expected.iter().map(|v| v.to_bits()).collect();
                    assert!(found == expected, "{name} differs in {}", path.display());
                }
                (FlatSamples::F32(found), FlatSamples::F32(expected)) => {
                    let found: Vec<u32> = found.iter().map(|v| v.to_bits()).collect();
                    let expected: Vec<u32> = expected.iter().map(|v| v.to_bits()).collect();
                    assert!(found == expected, "{name} differs in {}", path.display());
                }
                (found, expected) => panic!("{name}: {found:?} is not like {expected:?}"),
            }
        }
    }

    /// How many of the file's chunks are stored raw (as large as the uncompressed block).
    fn raw_chunk_count(path: &Path, frame: &(Plate, DepthMap, Matte)) -> usize {
        let width = frame.0.width as usize;
        let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let reader = ::exr::block::read(file, true).unwrap();
        let header = &reader.meta_data().headers[0];
        let raw_block = width * header.channels.bytes_per_pixel;
        let lines = header.compression.scan_lines_per_block();
        let height = header.layer_size.y();
        reader
            .all_chunks(true)
            .unwrap()
            .map(|chunk| match chunk.unwrap().compressed_block {
                CompressedBlock::ScanLine(block) => {
                    let y = block.y_coordinate as usize;
                    let rows = lines.min(height - y);
                    usize::from(block.compressed_pixels_le.len() == raw_block * rows)
                }
                other => panic!("not a scanline chunk: {other:?}"),
            })
            .sum()
    }

    fn oiiotool(args: &[&std::ffi::OsStr]) -> String {
        let output = match Command::new("oiiotool").args(args).output() {
            Ok(output) => output,
            Err(e) => panic!(
                "cannot run oiiotool ({e}); install OpenImageIO's tools with scripts/setup.sh"
            ),
        };
        assert!(output.status.success(), "oiiotool {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `oiiotool --diff` finds no difference at all between the pixels of two files.
    fn assert_oiiotool_decodes_the_same(a: &Path, b: &Path) {
        let diff = oiiotool(&[
            "--fail".as_ref(),
            "0".as_ref(),
            "--warn".as_ref(),
            "0".as_ref(),
            a.as_os_str(),
            b.as_os_str(),
            "--diff".as_ref(),
        ]);
        assert!(diff.contains("PASS"), "{diff}");
    }

    #[test]
    fn zip_and_zips_of_a_grainy_frame_read_back_bit_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let frame = grainy_frame(640, 360);
        for compression in [ExrCompression::Zip, ExrCompression::Zips] {
            let path = dir.path().join(format!("grain.{compression}.exr"));
            write_frame(&path, &frame, compression);
            assert_reads_back_exactly(&path, &frame);
            let size = std::fs::metadata(&path).unwrap().len();
            assert!(size < 640 * 360 * 14 * 3 / 4, "{compression}: {size} bytes");
        }
    }

    #[test]
    fn incompressible_blocks_are_stored_raw_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let frame = noise_frame(256, 40);
        for compression in [ExrCompression::Zip, ExrCompression::Zips] {
            let path = dir.path().join(format!("noise.{compression}.exr"));
            write_frame(&path, &frame, compression);
            assert!(raw_chunk_count(&path, &frame) > 0, "{compression}");
            assert_reads_back_exactly(&path, &frame);
            let theirs = dir.path().join(format!("theirs.{compression}.exr"));
            write_frame_with_exr_crate(&theirs, &frame, compression, true);
            assert_oiiotool_decodes_the_same(&path, &theirs);
        }
    }

    /// OpenImageIO (through the OpenEXR library, as Nuke reads) opens our ZIP and ZIPS files,
    /// converts them, and decodes exactly the pixels of the `exr` crate's own ZIP file.
    #[test]
    fn oiiotool_reads_fast_zip_like_the_exr_crates_zip() {
        let dir = tempfile::tempdir().unwrap();
        let frame = grainy_frame(320, 180);
        for compression in [ExrCompression::Zip, ExrCompression::Zips] {
            let ours = dir.path().join(format!("ours.{compression}.exr"));
            let theirs = dir.path().join(format!("theirs.{compression}.exr"));
            write_frame(&ours, &frame, compression);
            write_frame_with_exr_crate(&theirs, &frame, compression, true);

            let info = oiiotool(&["--info".as_ref(), "-v".as_ref(), ours.as_os_str()]);
            let expected_name = match compression {
                ExrCompression::Zips => "\"zips\"",
                _ => "\"zip\"",
            };
            for needle in ["matte_fg.A", "mattebox/depth/semantics", expected_name] {
                assert!(info.contains(needle), "{needle} missing from:\n{info}");
            }

            let tif = dir.path().join(format!("rgb.{compression}.tif"));
            oiiotool(&[
                ours.as_os_str(),
                "--ch".as_ref(),
                "R,G,B".as_ref(),
                "-o".as_ref(),
                tif.as_os_str(),
            ]);
            assert!(std::fs::metadata(&tif).unwrap().len() > 0);

            assert_oiiotool_decodes_the_same(&ours, &theirs);
        }
    }

    /// Timing for the report, not a test of speed: run with
    /// `cargo test --release --lib time_1080p -- --ignored --nocapture`.
    ///
    /// Prints, for a grainy 1920x1080 frame with RGBA, Z and one matte, the best of seven
    /// writes on all cores and on one, and for ZIP and ZIPS the `exr` crate's own compressor as
    /// a baseline measured in the same run.
    #[test]
    #[ignore]
    fn time_1080p() {
        let dir = tempfile::tempdir().unwrap();
        let frame = grainy_frame(1920, 1080);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let best_of_7 = |write: &dyn Fn()| {
            (0..7)
                .map(|_| {
                    let start = std::time::Instant::now();
                    write();
                    start.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::MAX, f64::min)
        };
        let size = |path: &Path| std::fs::metadata(path).unwrap().len();
        eprintln!(
            "grainy 1920x1080 RGBA+Z+1 matte, {} rayon threads",
            rayon::current_num_threads()
        );
        for compression in ExrCompression::ALL {
            let path = dir.path().join(format!("{compression}.exr"));
            let all = best_of_7(&|| write_frame(&path, &frame, compression));
            let one = best_of_7(&|| one_thread.install(|| write_frame(&path, &frame, compression)));
            eprintln!(
                "{compression:>4}: {all:6.1} ms, one thread {one:6.1} ms, {:>9} bytes",
                size(&path)
            );
            if matches!(compression, ExrCompression::Zip | ExrCompression::Zips) {
                let old = dir.path().join(format!("{compression}.exr-crate.exr"));
                let old_all =
                    best_of_7(&|| write_frame_with_exr_crate(&old, &frame, compression, true));
                let old_one =
                    best_of_7(&|| write_frame_with_exr_crate(&old, &frame, compression, false));
                eprintln!(
                    "      exr crate's own: {old_all:6.1} ms, one thread {old_one:6.1} ms, \
                     {:>9} bytes ({:.1}x / {:.1}x slower, {:.2}x the size)",
                    size(&old),
                    old_all / all,
                    old_one / one,
                    size(&old) as f64 / size(&path) as f64
                );
            }
        }
    }
}
