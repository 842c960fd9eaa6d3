//! The compositor's working image: linear-light RGBA `f32`, the CPU twin of an `rgba32float` texture.
//!
//! Every slot of a render plan is one `Image` of the frame's size. Colour slots hold premultiplied
//! RGBA unless an op says otherwise; the *aux* slot holds `(distance_m, matte, nearness, flag)`.
//! The sampling helpers here are the exact CPU counterparts of `load_clamped` and
//! `sample_bilinear` in `shaders/common.wgsl`, formula for formula, so that the CPU reference and
//! the GPU path agree to rounding.

use rayon::prelude::*;

/// A width × height grid of RGBA `f32` pixels, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` pixels, row-major, top row first.
    pub pixels: Vec<[f32; 4]>,
}

impl Image {
    /// A transparent-black image.
    pub fn new(width: u32, height: u32) -> Image {
        Image {
            width,
            height,
            pixels: vec![[0.0; 4]; width as usize * height as usize],
        }
    }

    /// An image filled with one value.
    pub fn filled(width: u32, height: u32, value: [f32; 4]) -> Image {
        Image {
            width,
            height,
            pixels: vec![value; width as usize * height as usize],
        }
    }

    /// An image computed pixel by pixel (in parallel, by rows): `f(x, y)`.
    pub fn from_fn(width: u32, height: u32, f: impl Fn(u32, u32) -> [f32; 4] + Sync) -> Image {
        let mut image = Image::new(width, height);
        image.fill_with(f);
        image
    }

    /// Overwrites every pixel with `f(x, y)`, in parallel by rows.
    pub fn fill_with(&mut self, f: impl Fn(u32, u32) -> [f32; 4] + Sync) {
        self.fill_rows(|y, row| {
            for (x, px) in row.iter_mut().enumerate() {
                *px = f(x as u32, y);
            }
        });
    }

    /// Overwrites every row with `f(y, row)`, in parallel by rows (for ops that read their
    /// inputs row by row through [`ScaledReader`]s).
    pub fn fill_rows(&mut self, f: impl Fn(u32, &mut [[f32; 4]]) + Sync) {
        let width = self.width as usize;
        if width == 0 {
            return;
        }
        self.pixels
            .par_chunks_mut(width)
            .enumerate()
            .for_each(|(y, row)| f(y as u32, row));
    }

    /// The pixel at `(x, y)`, with coordinates clamped to the edge (WGSL `load_clamped`).
    #[inline(always)]
    pub fn load_clamped(&self, x: i32, y: i32) -> [f32; 4] {
        let x = x.clamp(0, self.width as i32 - 1) as usize;
        let y = y.clamp(0, self.height as i32 - 1) as usize;
        self.pixels[y * self.width as usize + x]
    }

    /// Bilinear sample at a position in pixel units, where pixel `(i, j)` has its centre at
    /// `(i + 0.5, j + 0.5)`; clamp-to-edge (WGSL `sample_bilinear`).
    #[inline(always)]
    pub fn sample_bilinear(&self, px: f32, py: f32) -> [f32; 4] {
        let qx = px - 0.5;
        let qy = py - 0.5;
        let fx = qx.floor();
        let fy = qy.floor();
        let wx = qx - fx;
        let wy = qy - fy;
        let ix = fx as i32;
        let iy = fy as i32;
        let a = self.load_clamped(ix, iy);
        let b = self.load_clamped(ix + 1, iy);
        let c = self.load_clamped(ix, iy + 1);
        let d = self.load_clamped(ix + 1, iy + 1);
        let top = mix4(a, b, wx);
        let bottom = mix4(c, d, wx);
        mix4(top, bottom, wy)
    }

    /// The pixel `(x, y)` of a full-size image read from this one, which may be that image
    /// reduced by `factor`: then a bilinear sample at the pixel's centre scaled down (WGSL
    /// `read_scaled`).
    #[inline]
    pub fn read_scaled(&self, x: i32, y: i32, factor: f32) -> [f32; 4] {
        if factor > 1.0 {
            self.sample_bilinear((x as f32 + 0.5) / factor, (y as f32 + 0.5) / factor)
        } else {
            self.load_clamped(x, y)
        }
    }

    /// Row `y` clamped to the image (the row `load_clamped` reads for any `x` at that `y`).
    #[inline]
    pub fn row_clamped(&self, y: i32) -> &[[f32; 4]] {
        let w = self.width as usize;
        let y = y.clamp(0, self.height as i32 - 1).max(0) as usize;
        self.pixels.get(y * w..(y + 1) * w).unwrap_or(&[])
    }

    /// A plate as a premultiplied working image.
    pub fn from_plate(plate: &crate::shot::Plate) -> Image {
        let pixels = plate
            .rgba
            .chunks_exact(4)
            .map(|p| [p[0] * p[3], p[1] * p[3], p[2] * p[3], p[3]])
            .collect();
        Image {
            width: plate.width,
            height: plate.height,
            pixels,
        }
    }

    /// This image resampled to `width × height` (Catmull–Rom for enlarging and reducing; on
    /// premultiplied data, so edges do not darken), stretching it if the aspect differs.
    pub fn resized(&self, width: u32, height: u32) -> Result<Image, String> {
        use fast_image_resize as fir;
        if (width, height) == (self.width, self.height) {
            return Ok(self.clone());
        }
        let mut out = Image::new(width, height);
        let src = fir::images::ImageRef::new(
            self.width,
            self.height,
            bytemuck::cast_slice(&self.pixels),
            fir::PixelType::F32x4,
        )
        .map_err(|e| e.to_string())?;
        let mut dst = fir::images::Image::from_slice_u8(
            width,
            height,
            bytemuck::cast_slice_mut(&mut out.pixels),
            fir::PixelType::F32x4,
        )
        .map_err(|e| e.to_string())?;
        let options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom))
            .use_alpha(false);
        fir::Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// This image scaled to cover `width × height` with its aspect kept, centred, the overflow
    /// cropped (how a background picture fills the frame).
    pub fn cover(&self, width: u32, height: u32) -> Result<Image, String> {
        if self.width == 0 || self.height == 0 {
            return Err("the image is empty".into());
        }
        let scale = (width as f32 / self.width as f32).max(height as f32 / self.height as f32);
        let sw = ((self.width as f32 * scale).round() as u32).max(width);
        let sh = ((self.height as f32 * scale).round() as u32).max(height);
        let scaled = self.resized(sw, sh)?;
        let (ox, oy) = ((sw - width) / 2, (sh - height) / 2);
        Ok(Image::from_fn(width, height, |x, y| {
            scaled.pixels[(y + oy) as usize * sw as usize + (x + ox) as usize]
        }))
    }

    /// The raw pixel data as bytes (for texture upload).
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.pixels)
    }
}

/// `read_scaled` row by row: reads the pixels of a `width`-wide full-size image from `image`,
/// which may be that image reduced by `factor`, with each column's bilinear taps worked out once
/// per op instead of once per pixel. Values are bit-identical to [`Image::read_scaled`].
pub struct ScaledReader<'a> {
    image: &'a Image,
    factor: f32,
    /// Per output column when reduced: the two source columns and the weight of the second.
    columns: Vec<(u32, u32, f32)>,
}

/// One output row of a [`ScaledReader`].
pub struct ScaledRow<'a> {
    top: &'a [[f32; 4]],
    bottom: &'a [[f32; 4]],
    wy: f32,
    /// The bilinear taps, or `None` for a same-size read (the pixel itself, clamped).
    columns: Option<&'a [(u32, u32, f32)]>,
}

impl<'a> ScaledReader<'a> {
    /// A reader of `image` for output rows `width` pixels wide.
    pub fn new(image: &'a Image, width: u32, factor: f32) -> ScaledReader<'a> {
        let last = image.width as i32 - 1;
        let columns = if factor > 1.0 {
            (0..width as i32)
                .map(|x| {
                    let qx = (x as f32 + 0.5) / factor - 0.5;
                    let fx = qx.floor();
                    let ix = fx as i32;
                    (
                        ix.clamp(0, last).max(0) as u32,
                        (ix + 1).clamp(0, last).max(0) as u32,
                        qx - fx,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        ScaledReader {
            image,
            factor,
            columns,
        }
    }

    /// The taps of output row `y`.
    pub fn row(&self, y: u32) -> ScaledRow<'_> {
        if self.factor > 1.0 {
            let qy = (y as f32 + 0.5) / self.factor - 0.5;
            let fy = qy.floor();
            let iy = fy as i32;
            ScaledRow {
                top: self.image.row_clamped(iy),
                bottom: self.image.row_clamped(iy + 1),
                wy: qy - fy,
                columns: Some(&self.columns),
            }
        } else {
            let row = self.image.row_clamped(y as i32);
            ScaledRow {
                top: row,
                bottom: row,
                wy: 0.0,
                columns: None,
            }
        }
    }
}

impl ScaledRow<'_> {
    /// The value at output column `x` (transparent black for an empty image).
    #[inline(always)]
    pub fn at(&self, x: usize) -> [f32; 4] {
        let get = |row: &[[f32; 4]], i: usize| row.get(i).copied().unwrap_or([0.0; 4]);
        match self.columns {
            None => get(self.top, x.min(self.top.len().saturating_sub(1))),
            Some(columns) => {
                let Some(&(i0, i1, wx)) = columns.get(x) else {
                    return [0.0; 4];
                };
                let (i0, i1) = (i0 as usize, i1 as usize);
                let t = mix4(get(self.top, i0), get(self.top, i1), wx);
                let b = mix4(get(self.bottom, i0), get(self.bottom, i1), wx);
                mix4(t, b, self.wy)
            }
        }
    }
}

/// WGSL `mix(a, b, t)`: `a * (1 - t) + b * t`, per channel.
#[inline]
pub fn mix4(a: [f32; 4], b: [f32; 4], t: f32) -> [f32; 4] {
    [
        mix(a[0], b[0], t),
        mix(a[1], b[1], t),
        mix(a[2], b[2], t),
        mix(a[3], b[3], t),
    ]
}

/// WGSL `mix(a, b, t)` for scalars: `a * (1 - t) + b * t`.
#[inline]
pub fn mix(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// WGSL `smoothstep(e0, e1, x)`.
#[inline]
pub fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Rec. 709 luminance of linear RGB (WGSL `luminance`).
#[inline]
pub fn luminance(c: [f32; 4]) -> f32 {
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_hits_pixel_centres_and_interpolates_between() {
        let img = Image::from_fn(2, 1, |x, _| [x as f32, 0.0, 0.0, 1.0]);
        assert_eq!(img.sample_bilinear(0.5, 0.5)[0], 0.0);
        assert_eq!(img.sample_bilinear(1.5, 0.5)[0], 1.0);
        assert!((img.sample_bilinear(1.0, 0.5)[0] - 0.5).abs() < 1e-6);
        // Clamp to edge outside the image.
        assert_eq!(img.sample_bilinear(-3.0, 0.5)[0], 0.0);
        assert_eq!(img.sample_bilinear(9.0, 7.0)[0], 1.0);
    }
}
