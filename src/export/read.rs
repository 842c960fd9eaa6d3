//! Reading a layered EXR's pass channels back: the compositor's inputs are the pipeline's own
//! exports (`depth.Z` and `matte_<name>.A`), so a render always composites exactly what was
//! exported. Files from older Mattebox versions (`Z`, `matte.<name>.A`) read the same way.

use std::path::{Path, PathBuf};

use super::ExportError;
use super::exr::{DEPTH_CHANNEL, LEGACY_DEPTH_CHANNEL, matte_name_of_channel};

/// The pass channels of one layered EXR.
#[derive(Debug, Clone, PartialEq)]
pub struct PassChannels {
    /// The file read.
    pub path: PathBuf,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `depth.Z` (or an older file's `Z`): the depth model's raw values, if present.
    pub depth: Option<Vec<f32>>,
    /// Every `matte_<name>.A` (or older `matte.<name>.A`) channel: (name, coverage), in file
    /// order; a name found under both spellings is listed once, with the current one's values.
    pub mattes: Vec<(String, Vec<f32>)>,
}

/// Reads the depth and every matte channel of the first part of an EXR.
pub fn read_pass_channels(path: &Path) -> Result<PassChannels, ExportError> {
    let image = ::exr::prelude::read_first_flat_layer_from_file(path)
        .map_err(|e| ExportError::invalid(path, format!("not a readable OpenEXR: {e}")))?;
    let size = image.layer_data.size;
    let (width, height) = (size.width() as u32, size.height() as u32);
    let mut depth = None;
    let mut legacy_depth = None;
    let mut mattes: Vec<(String, Vec<f32>)> = Vec::new();
    let mut legacy_mattes: Vec<(String, Vec<f32>)> = Vec::new();
    for channel in &image.layer_data.channel_data.list {
        let name = channel.name.to_string();
        let values = || channel.sample_data.values_as_f32().collect::<Vec<f32>>();
        if name == DEPTH_CHANNEL {
            depth = Some(values());
        } else if name == LEGACY_DEPTH_CHANNEL {
            legacy_depth = Some(values());
        } else if let Some(matte) = matte_name_of_channel(&name) {
            let list = if name.starts_with("matte.") {
                &mut legacy_mattes
            } else {
                &mut mattes
            };
            list.push((matte.to_string(), values()));
        }
    }
    for (name, values) in legacy_mattes {
        if !mattes.iter().any(|(n, _)| *n == name) {
            mattes.push((name, values));
        }
    }
    Ok(PassChannels {
        path: path.to_path_buf(),
        width,
        height,
        depth: depth.or(legacy_depth),
        mattes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{ExrCompression, FrameMetadata, write_layered_exr};
    use crate::passes::{DepthMap, DepthSemantics, Matte};
    use crate::shot::Plate;
    use ::exr::prelude::{
        AnyChannel, AnyChannels, Encoding, FlatSamples, Image, Layer, LayerAttributes,
        WritableImage,
    };

    const W: usize = 8;
    const H: usize = 4;

    /// Writes an EXR with exactly these float channels, as another writer (or an older Mattebox)
    /// would.
    fn write_channels(path: &Path, channels: &[(&str, f32)]) {
        let list: Vec<AnyChannel<FlatSamples>> = channels
            .iter()
            .map(|&(name, value)| AnyChannel::new(name, FlatSamples::F32(vec![value; W * H])))
            .collect();
        let layer = Layer::new(
            (W, H),
            LayerAttributes::default(),
            Encoding::FAST_LOSSLESS,
            AnyChannels::sort(list.into()),
        );
        Image::from_layer(layer).write().to_file(path).unwrap();
    }

    #[test]
    fn older_mattebox_names_read_like_the_current_ones() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.exr");
        write_channels(
            &old,
            &[
                ("R", 0.5),
                ("G", 0.5),
                ("B", 0.5),
                ("A", 1.0),
                ("Z", 3.0),
                ("matte.fg.A", 0.25),
                ("matte.nearness.A", 0.75),
            ],
        );
        let passes = read_pass_channels(&old).unwrap();
        assert_eq!((passes.width, passes.height), (W as u32, H as u32));
        assert_eq!(passes.depth, Some(vec![3.0; W * H]));
        let names: Vec<&str> = passes.mattes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["fg", "nearness"]);
        assert_eq!(passes.mattes[0].1, vec![0.25; W * H]);

        // The current names win over the old ones in a file that has both.
        let both = dir.path().join("both.exr");
        write_channels(
            &both,
            &[
                ("Z", 1.0),
                ("depth.Z", 2.0),
                ("matte.fg.A", 0.25),
                ("matte_fg.A", 0.5),
                ("other.A", 1.0),
            ],
        );
        let passes = read_pass_channels(&both).unwrap();
        assert_eq!(passes.depth, Some(vec![2.0; W * H]));
        assert_eq!(passes.mattes.len(), 1);
        assert_eq!(passes.mattes[0], ("fg".to_string(), vec![0.5; W * H]));
    }

    #[test]
    fn the_writers_own_files_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.exr");
        let plate = Plate {
            width: W as u32,
            height: H as u32,
            rgba: vec![0.5; W * H * 4],
            source_bits: 8,
        };
        let depth = DepthMap {
            width: W as u32,
            height: H as u32,
            values: (0..W * H).map(|i| i as f32).collect(),
            semantics: DepthSemantics::Relative,
        };
        let matte = |name: &str, value: f32| Matte {
            name: name.into(),
            width: W as u32,
            height: H as u32,
            alpha: vec![value; W * H],
        };
        write_layered_exr(
            &path,
            &plate,
            Some(&depth),
            &[matte("fg", 1.0), matte("hair_fine", 0.5)],
            &FrameMetadata::default(),
            ExrCompression::Zip,
        )
        .unwrap();
        let passes = read_pass_channels(&path).unwrap();
        assert_eq!(passes.depth.as_ref(), Some(&depth.values));
        let names: Vec<&str> = passes.mattes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["fg", "hair_fine"]);
        assert_eq!(passes.mattes[1].1, vec![0.5; W * H]);
    }
}
