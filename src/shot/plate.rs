//! The decoded picture of one frame, in linear light.

/// One decoded frame: linear-light RGBA in `f32`, straight (un-premultiplied) alpha, row-major.
///
/// Sources are never modified; a `Plate` is always a fresh decode.
#[derive(Debug, Clone, PartialEq)]
pub struct Plate {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` linear values: R, G, B, A.
    pub rgba: Vec<f32>,
    /// Bits per channel of the source file (8, 16 or 32), so PNG exports keep its precision.
    pub source_bits: u8,
}

impl Plate {
    /// Number of pixels.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Rec. 709 luminance of every pixel, in linear light; the guide image for edge-aware upsampling.
    pub fn luminance(&self) -> Vec<f32> {
        self.luminance_weighted([0.2126, 0.7152, 0.0722])
    }

    /// The luminance of every pixel with these weights of R, G and B (for a plate in another
    /// working space: `WorkingSpace::luminance_weights`).
    pub fn luminance_weighted(&self, [r, g, b]: [f32; 3]) -> Vec<f32> {
        self.rgba
            .chunks_exact(4)
            .map(|p| r * p[0] + g * p[1] + b * p[2])
            .collect()
    }
}
