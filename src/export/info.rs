//! A readable description of an OpenEXR file's header, for `mattebox info`: parts, sizes,
//! compression, channels grouped by layer, and every attribute. Only the header is read, so it is
//! instant on any file size.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ::exr::meta::MetaData;
use ::exr::meta::attribute::{AttributeValue, BlockType, Compression, SampleType, Text};
use ::exr::meta::header::Header;
use serde::Serialize;

use super::ExportError;

/// Everything `mattebox info` shows about one OpenEXR file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExrInfo {
    /// The file described.
    pub path: PathBuf,
    /// One entry per part (most files have one).
    pub parts: Vec<PartInfo>,
}

/// One part (header) of an OpenEXR file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartInfo {
    /// The part's name, if it has one (multi-part files name their parts).
    pub name: Option<String>,
    /// Data window width in pixels.
    pub width: usize,
    /// Data window height in pixels.
    pub height: usize,
    /// Data window's top-left corner.
    pub origin: (i32, i32),
    /// Compression, as OpenEXR names it (`zip`, `piz`, ...).
    pub compression: String,
    /// `scanline`, or `tiled WxH`, with `deep` in front for deep data.
    pub storage: String,
    /// The channels in file order (alphabetical).
    pub channels: Vec<ChannelInfo>,
    /// Every other header attribute, name to printable value; text values are quoted.
    pub attributes: BTreeMap<String, String>,
}

/// One channel of a part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// Full channel name, e.g. `matte_fg.A`.
    pub name: String,
    /// `half`, `float` or `uint`.
    pub sample_type: String,
}

impl PartInfo {
    /// The channels grouped by layer, in file order: `matte_fg.A` is channel `A` of layer
    /// `matte_fg` (an older file's `matte.fg.A`: of layer `matte.fg`); channels without a dot
    /// (`R`, an older file's `Z`) belong to the unnamed layer `""`.
    pub fn layers(&self) -> Vec<(String, Vec<ChannelInfo>)> {
        let mut layers: Vec<(String, Vec<ChannelInfo>)> = Vec::new();
        for channel in &self.channels {
            let (layer, short) = match channel.name.rsplit_once('.') {
                Some((layer, short)) => (layer, short),
                None => ("", channel.name.as_str()),
            };
            let entry = ChannelInfo {
                name: short.to_string(),
                sample_type: channel.sample_type.clone(),
            };
            match layers.iter_mut().find(|(name, _)| name == layer) {
                Some((_, list)) => list.push(entry),
                None => layers.push((layer.to_string(), vec![entry])),
            }
        }
        layers
    }
}

/// Reads the header of the OpenEXR file at `path` (not the pixels) and describes it.
pub fn describe_exr(path: &Path) -> Result<ExrInfo, ExportError> {
    let meta = MetaData::read_from_file(path, false).map_err(|error| match error {
        ::exr::error::Error::Io(error) => ExportError::read(path, error),
        error => ExportError::ExrRead {
            path: path.to_path_buf(),
            error,
        },
    })?;
    Ok(ExrInfo {
        path: path.to_path_buf(),
        parts: meta.headers.iter().map(describe_part).collect(),
    })
}

fn describe_part(header: &Header) -> PartInfo {
    let window = header.data_window();
    let storage = match header.blocks {
        ::exr::meta::BlockDescription::ScanLines => "scanline".to_string(),
        ::exr::meta::BlockDescription::Tiles(tiles) => format!(
            "tiled {}x{}",
            tiles.tile_size.width(),
            tiles.tile_size.height()
        ),
    };
    let storage = if header.deep {
        format!("deep {storage}")
    } else {
        storage
    };
    let channels = header
        .channels
        .list
        .iter()
        .map(|c| ChannelInfo {
            name: text_to_string(&c.name),
            sample_type: sample_type_name(c.sample_type).to_string(),
        })
        .collect();
    let attributes = header
        .all_named_attributes()
        .filter(|(_, value)| !matches!(value, AttributeValue::ChannelList(_)))
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(name).into_owned(),
                attribute_to_string(&value),
            )
        })
        .collect();
    PartInfo {
        name: header
            .own_attributes
            .layer_name
            .as_ref()
            .map(text_to_string),
        width: window.size.width(),
        height: window.size.height(),
        origin: (window.position.x(), window.position.y()),
        compression: compression_name(header.compression),
        storage,
        channels,
        attributes,
    }
}

fn sample_type_name(sample_type: SampleType) -> &'static str {
    match sample_type {
        SampleType::F16 => "half",
        SampleType::F32 => "float",
        SampleType::U32 => "uint",
    }
}

fn compression_name(compression: Compression) -> String {
    match compression {
        Compression::Uncompressed => "none".into(),
        Compression::RLE => "rle".into(),
        Compression::ZIP1 => "zips".into(),
        Compression::ZIP16 => "zip".into(),
        Compression::PIZ => "piz".into(),
        Compression::PXR24 => "pxr24".into(),
        Compression::B44 => "b44".into(),
        Compression::B44A => "b44a".into(),
        Compression::DWAA(_) => "dwaa".into(),
        Compression::DWAB(_) => "dwab".into(),
        other => other.to_string(),
    }
}

/// OpenEXR strings are bytes; OpenEXR, OIIO and Nuke write UTF-8, older files may hold Latin-1.
fn text_to_string(text: &Text) -> String {
    match std::str::from_utf8(text.as_slice()) {
        Ok(s) => s.to_string(),
        Err(_) => text.as_slice().iter().map(|&b| b as char).collect(),
    }
}

fn attribute_to_string(value: &AttributeValue) -> String {
    use AttributeValue as V;
    match value {
        V::Text(text) => format!("{:?}", text_to_string(text)),
        V::TextVector(texts) => {
            let texts: Vec<String> = texts
                .iter()
                .map(|t| format!("{:?}", text_to_string(t)))
                .collect();
            format!("[{}]", texts.join(", "))
        }
        V::F32(v) => v.to_string(),
        V::F64(v) => v.to_string(),
        V::I32(v) => v.to_string(),
        V::Compression(c) => compression_name(*c),
        V::LineOrder(order) => format!("{order:?}"),
        V::BlockType(block) => match block {
            BlockType::ScanLine => "scanlineimage",
            BlockType::Tile => "tiledimage",
            BlockType::DeepScanLine => "deepscanline",
            BlockType::DeepTile => "deeptile",
        }
        .to_string(),
        V::IntegerBounds(b) => {
            let (x, y) = (b.position.x(), b.position.y());
            let (w, h) = (b.size.width() as i64, b.size.height() as i64);
            format!(
                "({x}, {y}) - ({}, {})  [{w}x{h}]",
                x as i64 + w - 1,
                y as i64 + h - 1
            )
        }
        V::FloatRect(r) => format!(
            "({}, {}) - ({}, {})",
            r.min.x(),
            r.min.y(),
            r.max.x(),
            r.max.y()
        ),
        V::IntVec2(v) => format!("({}, {})", v.x(), v.y()),
        V::FloatVec2(v) => format!("({}, {})", v.x(), v.y()),
        V::IntVec3((a, b, c)) => format!("({a}, {b}, {c})"),
        V::FloatVec3((a, b, c)) => format!("({a}, {b}, {c})"),
        V::Rational((n, d)) => format!("{n}/{d}"),
        V::Chromaticities(c) => format!(
            "red ({}, {}), green ({}, {}), blue ({}, {}), white ({}, {})",
            c.red.x(),
            c.red.y(),
            c.green.x(),
            c.green.y(),
            c.blue.x(),
            c.blue.y(),
            c.white.x(),
            c.white.y()
        ),
        V::Preview(preview) => format!(
            "{}x{} preview image",
            preview.size.width(),
            preview.size.height()
        ),
        V::Bytes { type_hint, bytes } => {
            format!("{} bytes of {:?}", bytes.len(), text_to_string(type_hint))
        }
        other => format!("{other:?}"),
    }
}

impl fmt::Display for ExrInfo {
    /// A report like:
    ///
    /// ```text
    /// shot.1001.exr
    ///   1920x1080 at (0, 0), zip, scanline
    ///   channels:
    ///     (rgba)    A B G R (half)
    ///     depth     Z (float)
    ///     matte_fg  A (half)
    ///   attributes:
    ///     mattebox/depth/model  "depth-anything-v2-small"
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.path.display())?;
        let several = self.parts.len() > 1;
        for (index, part) in self.parts.iter().enumerate() {
            let indent = if several { "    " } else { "  " };
            if several {
                match &part.name {
                    Some(name) => writeln!(f, "  part {index} \"{name}\":")?,
                    None => writeln!(f, "  part {index}:")?,
                }
            }
            writeln!(
                f,
                "{indent}{}x{} at ({}, {}), {}, {}",
                part.width,
                part.height,
                part.origin.0,
                part.origin.1,
                part.compression,
                part.storage
            )?;
            writeln!(f, "{indent}channels:")?;
            let layers = part.layers();
            let layer_width = layers.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
            for (layer, channels) in &layers {
                // Channels of one type print on one line: "R G B A  half".
                let mut runs: Vec<(Vec<&str>, &str)> = Vec::new();
                for channel in channels {
                    match runs.last_mut() {
                        Some((names, ty)) if *ty == channel.sample_type => {
                            names.push(&channel.name)
                        }
                        _ => runs.push((vec![&channel.name], &channel.sample_type)),
                    }
                }
                let runs: Vec<String> = runs
                    .into_iter()
                    .map(|(names, ty)| format!("{} ({ty})", names.join(" ")))
                    .collect();
                let label = if layer.is_empty() { "(rgba)" } else { layer };
                writeln!(
                    f,
                    "{indent}  {label:<width$}  {}",
                    runs.join(", "),
                    width = layer_width.max(6)
                )?;
            }
            writeln!(f, "{indent}attributes:")?;
            let name_width = part.attributes.keys().map(String::len).max().unwrap_or(0);
            for (name, value) in &part.attributes {
                writeln!(f, "{indent}  {name:<name_width$}  {value}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{ExrCompression, FrameMetadata, write_layered_exr};
    use crate::passes::{DepthMap, DepthSemantics, Matte};
    use crate::shot::Plate;

    fn write_sample(path: &Path) {
        let (w, h) = (16u32, 8u32);
        let plate = Plate {
            width: w,
            height: h,
            rgba: vec![0.5; (w * h * 4) as usize],
            source_bits: 8,
        };
        let depth = DepthMap {
            width: w,
            height: h,
            values: vec![2.0; (w * h) as usize],
            semantics: DepthSemantics::Relative,
        };
        let matte = Matte {
            name: "fg".into(),
            width: w,
            height: h,
            alpha: vec![1.0; (w * h) as usize],
        };
        let meta = FrameMetadata {
            software: crate::SOFTWARE.into(),
            source: "/shots/a.png".into(),
            execution_provider: "CPU".into(),
            fps: Some(25.0),
            ..FrameMetadata::default()
        };
        write_layered_exr(
            path,
            &plate,
            Some(&depth),
            &[matte],
            &meta,
            ExrCompression::Piz,
        )
        .unwrap();
    }

    #[test]
    fn describes_channels_by_layer_and_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.exr");
        write_sample(&path);
        let info = describe_exr(&path).unwrap();
        assert_eq!(info.parts.len(), 1);
        let part = &info.parts[0];
        assert_eq!((part.width, part.height), (16, 8));
        assert_eq!(part.compression, "piz");
        assert_eq!(part.storage, "scanline");
        let layers = part.layers();
        let names: Vec<(&str, Vec<&str>)> = layers
            .iter()
            .map(|(l, cs)| (l.as_str(), cs.iter().map(|c| c.name.as_str()).collect()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("", vec!["A", "B", "G", "R"]),
                ("depth", vec!["Z"]),
                ("matte_fg", vec!["A"])
            ]
        );
        assert_eq!(
            part.attributes
                .get("mattebox/depth/semantics")
                .map(String::as_str),
            Some("\"relative\"")
        );
        assert_eq!(
            part.attributes.get("software").map(String::as_str),
            Some(format!("{:?}", crate::SOFTWARE).as_str())
        );

        let report = info.to_string();
        assert!(report.contains("16x8 at (0, 0), piz, scanline"), "{report}");
        assert!(report.contains("A B G R (half)"), "{report}");
        assert!(report.contains("depth     Z (float)"), "{report}");
        assert!(report.contains("matte_fg  A (half)"), "{report}");
        assert!(report.contains("mattebox/executionProvider"), "{report}");
        assert!(report.contains("framesPerSecond"), "{report}");
        assert!(
            report.contains("red (0.64, 0.33), green (0.3, 0.6), blue (0.15, 0.06)"),
            "{report}"
        );

        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["parts"][0]["channels"][5]["name"], "matte_fg.A");
    }

    /// Files from older Mattebox versions (`Z`, `matte.<name>.A`) are still described.
    #[test]
    fn describes_an_older_mattebox_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/inputs.exr");
        let info = describe_exr(&path).unwrap();
        let layers = info.parts[0].layers();
        let names: Vec<&str> = layers.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(names, ["", "matte.fg", "matte.nearness"]);
        let report = info.to_string();
        assert!(report.contains("Z (float)"), "{report}");
        assert!(report.contains("matte.fg"), "{report}");
    }

    #[test]
    fn a_missing_or_bad_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.exr");
        let message = describe_exr(&missing).unwrap_err().to_string();
        assert!(message.starts_with("cannot read "), "{message}");
        assert!(message.contains("missing.exr"), "{message}");

        let bad = dir.path().join("bad.exr");
        std::fs::write(&bad, b"this is not an EXR file at all").unwrap();
        let message = describe_exr(&bad).unwrap_err().to_string();
        assert!(message.contains("bad.exr"), "{message}");
        assert!(message.contains("OpenEXR"), "{message}");
    }
}
