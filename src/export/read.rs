//! Reading a layered EXR's pass channels back: the compositor's inputs are the pipeline's own
//! exports (`Z` and `matte.<name>.A`), so a render always composites exactly what was exported.

use std::path::{Path, PathBuf};

use super::ExportError;

/// The pass channels of one layered EXR.
#[derive(Debug, Clone, PartialEq)]
pub struct PassChannels {
    /// The file read.
    pub path: PathBuf,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `Z`: the depth model's raw values, if present.
    pub depth: Option<Vec<f32>>,
    /// Every `matte.<name>.A` channel: (name, coverage).
    pub mattes: Vec<(String, Vec<f32>)>,
}

/// Reads `Z` and every `matte.<name>.A` channel of the first part of an EXR.
pub fn read_pass_channels(path: &Path) -> Result<PassChannels, ExportError> {
    let image = ::exr::prelude::read_first_flat_layer_from_file(path)
        .map_err(|e| ExportError::invalid(path, format!("not a readable OpenEXR: {e}")))?;
    let size = image.layer_data.size;
    let (width, height) = (size.width() as u32, size.height() as u32);
    let mut depth = None;
    let mut mattes = Vec::new();
    for channel in &image.layer_data.channel_data.list {
        let name = channel.name.to_string();
        if name == "Z" {
            depth = Some(channel.sample_data.values_as_f32().collect());
        } else if let Some(matte) = name
            .strip_prefix("matte.")
            .and_then(|rest| rest.strip_suffix(".A"))
        {
            mattes.push((
                matte.to_string(),
                channel.sample_data.values_as_f32().collect(),
            ));
        }
    }
    Ok(PassChannels {
        path: path.to_path_buf(),
        width,
        height,
        depth,
        mattes,
    })
}
