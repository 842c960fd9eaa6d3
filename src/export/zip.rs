//! OpenEXR's ZIP and ZIPS compression of scanline blocks, done here rather than in the `exr`
//! crate: its deflate runs at a fixed level that takes about four times as long on a grainy
//! plate, and the export has to keep up with inference.
//!
//! A block (16 scanlines for ZIP, 1 for ZIPS) is, for each scanline, each channel's samples for
//! that line in the header's channel order, little-endian. OpenEXR (`ImfZip.cpp`) then reorders
//! the bytes, those at even offsets first and those at odd offsets after them, replaces each
//! byte but the first by its difference from the byte before plus 128 (mod 256), and stores a
//! zlib stream of the result. A block whose stream would not be smaller than its raw bytes is
//! stored raw, as OpenEXR and the `exr` crate do; readers tell the two apart by the size.

use std::io;
use std::ops::Range;

use half::f16;
use rayon::prelude::*;

/// zlib level for every block. On grainy 1080p frames (RGBA half, Z float, one matte), level 1
/// (zlib-ng's "quick" strategy, fixed Huffman codes) takes about a quarter of the time of the
/// `exr` crate's level 4 for files about 10% larger; level 2 already takes twice as long as 1.
const ZLIB_LEVEL: i32 = 1;

/// log2 of the deflate window. An 8 KiB window rather than zlib's usual 32 KiB makes ZIP's
/// 16-line blocks about 25% faster to compress for about 2.5% more bytes: on grainy data most
/// hash hits are false, and the nearer ones are cheaper to check. (ZIPS's single 1080p lines
/// fit a 32 KiB window and would be about 8% faster with it; one setting is kept for both.)
const WINDOW_BITS: i32 = 13;

/// One channel of the image, all of its rows, row-major, as the header declares it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Plane<'a> {
    /// A `half` channel.
    F16(&'a [f16]),
    /// A `float` channel.
    F32(&'a [f32]),
    /// A `uint` channel.
    U32(&'a [u32]),
}

impl Plane<'_> {
    fn len(&self) -> usize {
        match self {
            Plane::F16(samples) => samples.len(),
            Plane::F32(samples) => samples.len(),
            Plane::U32(samples) => samples.len(),
        }
    }

    fn bytes_per_sample(&self) -> usize {
        match self {
            Plane::F16(_) => 2,
            Plane::F32(_) | Plane::U32(_) => 4,
        }
    }
}

/// The chunk contents of every block of a `width` x `height` image, `lines_per_block` scanlines
/// each, in increasing y: a zlib stream of the predicted bytes, or the raw bytes where that
/// is not smaller. `planes` are in the header's channel order.
///
/// Blocks are compressed in parallel on the current rayon pool, so a caller that must leave
/// cores free runs this inside a smaller pool.
pub(crate) fn compress_blocks(
    planes: &[Plane<'_>],
    width: usize,
    height: usize,
    lines_per_block: usize,
) -> io::Result<Vec<Vec<u8>>> {
    let pixels = width * height;
    if lines_per_block == 0 || planes.iter().any(|plane| plane.len() != pixels) {
        return Err(io::Error::other(format!(
            "ZIP compression was given {lines_per_block}-line blocks or planes that are not \
             {width}x{height}; this is a bug in Mattebox"
        )));
    }
    let bytes_per_pixel: usize = planes.iter().map(Plane::bytes_per_sample).sum();
    let block_count = height.div_ceil(lines_per_block);
    (0..block_count)
        .into_par_iter()
        .map_init(Scratch::default, |scratch, block| {
            let start = block * lines_per_block;
            let lines = start..(start + lines_per_block).min(height);
            scratch.compress(planes, width, bytes_per_pixel, lines)
        })
        .collect()
}

/// Buffers reused from block to block on one thread.
#[derive(Default)]
struct Scratch {
    /// The block's bytes, reordered: even offsets, then odd offsets.
    split: Vec<u8>,
    /// `split` after the predictor: what is deflated.
    predicted: Vec<u8>,
    /// The zlib stream, sized for the worst case.
    deflated: Vec<u8>,
}

impl Scratch {
    fn compress(
        &mut self,
        planes: &[Plane<'_>],
        width: usize,
        bytes_per_pixel: usize,
        lines: Range<usize>,
    ) -> io::Result<Vec<u8>> {
        // Every byte of `split` and `predicted` is overwritten and zlib writes `deflated`, so
        // the buffers are only resized, never cleared: zeroing ~1.3 MB per block is not free.
        let raw_len = width * bytes_per_pixel * lines.len();
        self.split.resize(raw_len, 0);
        split_block(&mut self.split, planes, width, lines.clone());

        self.predicted.resize(raw_len, 0);
        predict(&self.split, &mut self.predicted);

        self.deflated.resize(zlib_rs::compress_bound(raw_len), 0);
        let (stream, code) = zlib_rs::compress_slice(
            &mut self.deflated,
            &self.predicted,
            zlib_rs::DeflateConfig {
                window_bits: WINDOW_BITS,
                ..zlib_rs::DeflateConfig::new(ZLIB_LEVEL)
            },
        );
        if code != zlib_rs::ReturnCode::Ok {
            return Err(io::Error::other(format!(
                "zlib could not compress scanlines {}..{} ({code:?})",
                lines.start, lines.end
            )));
        }
        if stream.len() < raw_len {
            Ok(stream.to_vec())
        } else {
            Ok(interleave(&self.split))
        }
    }
}

/// Writes the block's little-endian bytes straight into their reordered places: `split`'s first
/// half gets the bytes at even offsets, its second half those at odd offsets. Every channel's
/// line is an even number of bytes long, so a sample's byte offsets have the same parity in the
/// block as in the sample.
fn split_block(split: &mut [u8], planes: &[Plane<'_>], width: usize, lines: Range<usize>) {
    let half = split.len() / 2;
    let (even, odd) = split.split_at_mut(half);
    let mut at = 0;
    for y in lines {
        let row = y * width..(y + 1) * width;
        for plane in planes {
            match plane {
                Plane::F16(samples) => {
                    let n = width;
                    split_u16(
                        &samples[row.clone()],
                        &mut even[at..at + n],
                        &mut odd[at..at + n],
                    );
                    at += n;
                }
                Plane::F32(samples) => {
                    let n = 2 * width;
                    split_u32(
                        samples[row.clone()].iter().map(|v| v.to_bits()),
                        &mut even[at..at + n],
                        &mut odd[at..at + n],
                    );
                    at += n;
                }
                Plane::U32(samples) => {
                    let n = 2 * width;
                    split_u32(
                        samples[row.clone()].iter().copied(),
                        &mut even[at..at + n],
                        &mut odd[at..at + n],
                    );
                    at += n;
                }
            }
        }
    }
}

fn split_u16(samples: &[f16], even: &mut [u8], odd: &mut [u8]) {
    for ((sample, e), o) in samples.iter().zip(even).zip(odd) {
        let [low, high] = sample.to_bits().to_le_bytes();
        *e = low;
        *o = high;
    }
}

fn split_u32(samples: impl Iterator<Item = u32>, even: &mut [u8], odd: &mut [u8]) {
    for ((bits, e), o) in samples
        .zip(even.chunks_exact_mut(2))
        .zip(odd.chunks_exact_mut(2))
    {
        let [b0, b1, b2, b3] = bits.to_le_bytes();
        e[0] = b0;
        e[1] = b2;
        o[0] = b1;
        o[1] = b3;
    }
}

/// OpenEXR's predictor: the first byte as it is, then each byte's difference from the one
/// before, plus 128, modulo 256.
fn predict(split: &[u8], predicted: &mut [u8]) {
    let (Some(&first), Some(out_first)) = (split.first(), predicted.first_mut()) else {
        return;
    };
    *out_first = first;
    for ((out, &current), &previous) in predicted[1..].iter_mut().zip(&split[1..]).zip(split.iter())
    {
        *out = current.wrapping_sub(previous).wrapping_add(128);
    }
}

/// Undoes the reordering: the raw little-endian block, for a block stored uncompressed.
fn interleave(split: &[u8]) -> Vec<u8> {
    let (even, odd) = split.split_at(split.len() / 2);
    even.iter().zip(odd).flat_map(|(&e, &o)| [e, o]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reordering and predictor agree with the `exr` crate's reading: decompressing and
    /// undoing them gives the raw bytes back.
    #[test]
    fn block_round_trips_through_inflate() {
        let width = 64;
        let halves: Vec<f16> = (0..width * 3)
            .map(|i| f16::from_f32((i / 8) as f32))
            .collect();
        let floats: Vec<f32> = (0..width * 3).map(|i| (i / 4) as f32 * 0.25).collect();
        let planes = [Plane::F16(&halves), Plane::F32(&floats)];
        let blocks = compress_blocks(&planes, width, 3, 2).unwrap();
        assert_eq!(blocks.len(), 2);

        let mut raw = Vec::new();
        for y in 0..2 {
            for v in &halves[y * width..(y + 1) * width] {
                raw.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            for v in &floats[y * width..(y + 1) * width] {
                raw.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
        assert!(
            blocks[0].len() < raw.len(),
            "the test block should compress"
        );
        let mut inflated = vec![0; raw.len()];
        let (bytes, code) =
            zlib_rs::decompress_slice(&mut inflated, &blocks[0], zlib_rs::InflateConfig::default());
        assert_eq!(code, zlib_rs::ReturnCode::Ok);
        let mut bytes = bytes.to_vec();
        for i in 1..bytes.len() {
            bytes[i] = bytes[i].wrapping_add(bytes[i - 1]).wrapping_sub(128);
        }
        assert_eq!(interleave(&bytes), raw);
    }

    #[test]
    fn incompressible_block_is_stored_raw() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: Vec<u32> = (0..64)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u32
            })
            .collect();
        let blocks = compress_blocks(&[Plane::U32(&noise)], 64, 1, 16).unwrap();
        let raw: Vec<u8> = noise.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(blocks, [raw]);
    }

    #[test]
    fn mismatched_planes_are_an_error() {
        let halves = vec![f16::ZERO; 10];
        assert!(compress_blocks(&[Plane::F16(&halves)], 4, 3, 16).is_err());
    }
}
