//! The RAM preview: composited display frames kept in memory so that a shot plays back at its
//! frame rate once each frame has been drawn once, as After Effects' RAM preview and Nuke's
//! viewer cache do.
//!
//! An entry holds everything the viewer shows of a frame at one proxy size: the plate, the aux
//! (depth, matte), the composite and its aux, as half floats (8 bytes a pixel and image: half
//! the memory of the compositor's f32, and exactly what an `rgba16float` texture takes). One entry
//! serves every view (plate, depth, matte, composite, a wipe between them), so switching views
//! renders nothing again. Entries are keyed by the timeline index, a key of the document's
//! content (layers, scene, camera, strokes, solo, pass files: see the app) and the proxy
//! divisor, so an undo back to an earlier state finds that state's frames still cached.
//!
//! The cache is bounded by a byte budget and evicts the least recently used frames. The default
//! budget follows the machine's memory ([`default_budget_bytes`]).

use std::sync::Arc;

use half::f16;
use half::slice::HalfFloatSliceExt;
use lru::LruCache;

use super::image::Image;

/// An RGBA image of half floats, row-major (the cache's storage, an `rgba16float` texture's
/// layout).
#[derive(Debug, Clone, PartialEq)]
pub struct HalfImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `4 · width · height` values, RGBA interleaved.
    pub data: Vec<f16>,
}

impl HalfImage {
    /// The image rounded to half floats (values beyond ±65504 become infinite, as on the GPU).
    pub fn from_image(image: &Image) -> HalfImage {
        let flat: &[f32] = bytemuck::cast_slice(&image.pixels);
        let mut data = vec![f16::ZERO; flat.len()];
        data.convert_from_f32_slice(flat);
        HalfImage {
            width: image.width,
            height: image.height,
            data,
        }
    }

    /// The image as f32.
    pub fn to_image(&self) -> Image {
        let mut flat = vec![0.0f32; self.data.len()];
        self.data.convert_to_f32_slice(&mut flat);
        Image {
            width: self.width,
            height: self.height,
            pixels: bytemuck::cast_slice(&flat).to_vec(),
        }
    }

    /// The pixel at `(x, y)` as f32, or `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[f32; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = 4 * (y as usize * self.width as usize + x as usize);
        let p = self.data.get(i..i + 4)?;
        Some([p[0].to_f32(), p[1].to_f32(), p[2].to_f32(), p[3].to_f32()])
    }

    /// The bytes it holds.
    pub fn bytes(&self) -> usize {
        self.data.len() * 2
    }

    /// The raw bytes (for a texture upload).
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.data)
    }
}

/// Everything the viewer shows of one frame at one proxy size.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedFrame {
    /// The premultiplied plate.
    pub plate: HalfImage,
    /// `(distance_m, matte, nearness, 0)` of the plate, when the frame has passes.
    pub aux: Option<HalfImage>,
    /// The composite (premultiplied) and its aux `(distance_m, matte, nearness, disoccluded)`.
    pub composite: Option<(HalfImage, HalfImage)>,
    /// Preview size / full size.
    pub scale: f32,
    /// The full-size plate's width and height.
    pub full_size: (u32, u32),
}

impl CachedFrame {
    /// The bytes the entry holds.
    pub fn bytes(&self) -> usize {
        self.plate.bytes()
            + self.aux.as_ref().map_or(0, HalfImage::bytes)
            + self
                .composite
                .as_ref()
                .map_or(0, |(c, a)| c.bytes() + a.bytes())
    }
}

/// Identifies a cached frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The timeline index (a still with a move has one per output frame).
    pub index: usize,
    /// A key of everything else the frame depends on: the document's content, the pass files.
    pub doc: u64,
    /// The proxy divisor (1 full, 2 half, 4 quarter).
    pub proxy: u32,
}

/// How full the cache is (for the UI and the benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Frames held.
    pub frames: usize,
    /// Bytes held.
    pub bytes: usize,
    /// The budget in bytes.
    pub budget: usize,
    /// Frames evicted to stay within the budget, since the cache was made.
    pub evicted: u64,
}

/// Composited display frames in memory, least recently used evicted first, within a budget.
pub struct FrameCache {
    entries: LruCache<CacheKey, Arc<CachedFrame>>,
    bytes: usize,
    budget: usize,
    evicted: u64,
}

impl FrameCache {
    /// An empty cache that holds at most `budget_bytes`.
    pub fn new(budget_bytes: usize) -> FrameCache {
        FrameCache {
            entries: LruCache::unbounded(),
            bytes: 0,
            budget: budget_bytes,
            evicted: 0,
        }
    }

    /// The frame for `key`, marked as the most recently used.
    pub fn get(&mut self, key: &CacheKey) -> Option<Arc<CachedFrame>> {
        self.entries.get(key).cloned()
    }

    /// Is `key` cached? (Does not count as a use.)
    pub fn contains(&self, key: &CacheKey) -> bool {
        self.entries.contains(key)
    }

    /// Would a frame of `bytes` fit without evicting anything?
    pub fn has_room_for(&self, bytes: usize) -> bool {
        self.bytes + bytes <= self.budget
    }

    /// Keeps `frame` under `key`, evicting the least recently used frames until it fits. A frame
    /// larger than the whole budget is not kept; returns whether it was.
    pub fn insert(&mut self, key: CacheKey, frame: Arc<CachedFrame>) -> bool {
        let size = frame.bytes();
        if size > self.budget {
            return false;
        }
        if let Some(old) = self.entries.pop(&key) {
            self.bytes -= old.bytes();
        }
        while self.bytes + size > self.budget {
            match self.entries.pop_lru() {
                Some((_, old)) => {
                    self.bytes -= old.bytes();
                    self.evicted += 1;
                }
                None => break,
            }
        }
        self.bytes += size;
        self.entries.put(key, frame);
        true
    }

    /// Changes the budget, evicting what no longer fits.
    pub fn set_budget(&mut self, budget_bytes: usize) {
        self.budget = budget_bytes;
        while self.bytes > self.budget {
            match self.entries.pop_lru() {
                Some((_, old)) => {
                    self.bytes -= old.bytes();
                    self.evicted += 1;
                }
                None => break,
            }
        }
    }

    /// Drops every frame.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Which of the timeline's `len` frames are cached for `doc` at `proxy` (the timeline's
    /// cache bar).
    pub fn cached_indices(&self, doc: u64, proxy: u32, len: usize) -> Vec<bool> {
        let mut out = vec![false; len];
        for (k, _) in self.entries.iter() {
            if k.doc == doc && k.proxy == proxy && k.index < len {
                out[k.index] = true;
            }
        }
        out
    }

    /// How full it is.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            frames: self.entries.len(),
            bytes: self.bytes,
            budget: self.budget,
            evicted: self.evicted,
        }
    }
}

/// The default RAM preview budget: an eighth of the machine's memory, at least 256 MiB and at
/// most 8 GiB (1 GiB on an 8 GiB laptop, 3 GiB on a 24 GiB workstation). 1 GiB where the memory
/// cannot be read.
pub fn default_budget_bytes() -> usize {
    const MIB: usize = 1 << 20;
    match total_memory_bytes() {
        Some(total) => (total / 8).clamp(256 * MIB, 8192 * MIB),
        None => 1024 * MIB,
    }
}

/// The machine's physical memory in bytes, where the OS says.
pub fn total_memory_bytes() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, v: f32) -> Arc<CachedFrame> {
        let img = Image::filled(w, h, [v, v, v, 1.0]);
        Arc::new(CachedFrame {
            plate: HalfImage::from_image(&img),
            aux: Some(HalfImage::from_image(&img)),
            composite: Some((HalfImage::from_image(&img), HalfImage::from_image(&img))),
            scale: 1.0,
            full_size: (w, h),
        })
    }

    fn key(index: usize) -> CacheKey {
        CacheKey {
            index,
            doc: 7,
            proxy: 1,
        }
    }

    #[test]
    fn the_least_recently_used_frame_goes_first_and_the_budget_holds() {
        let one = frame(10, 10, 0.5).bytes();
        assert_eq!(one, 4 * 10 * 10 * 4 * 2);
        let mut cache = FrameCache::new(3 * one);
        for i in 0..3 {
            assert!(cache.insert(key(i), frame(10, 10, i as f32)));
        }
        // Using frame 0 makes frame 1 the oldest.
        assert!(cache.get(&key(0)).is_some());
        assert!(cache.insert(key(3), frame(10, 10, 3.0)));
        assert!(cache.contains(&key(0)));
        assert!(
            !cache.contains(&key(1)),
            "the least recently used was evicted"
        );
        assert!(cache.contains(&key(2)) && cache.contains(&key(3)));
        let s = cache.stats();
        assert_eq!((s.frames, s.bytes, s.evicted), (3, 3 * one, 1));
        assert_eq!(
            cache.cached_indices(7, 1, 5),
            vec![true, false, true, true, false]
        );
        assert_eq!(cache.cached_indices(8, 1, 5), vec![false; 5]);
        cache.set_budget(one);
        assert_eq!(cache.stats().frames, 1);
        assert!(cache.contains(&key(3)), "the newest stays");
        assert!(
            !cache.insert(key(9), frame(20, 20, 1.0)),
            "larger than the budget"
        );
    }

    #[test]
    fn half_images_round_trip_within_half_precision() {
        let img = Image::from_fn(7, 5, |x, y| {
            [x as f32 * 0.1, y as f32 * 3.7, 1.0 / (1.0 + x as f32), 0.25]
        });
        let h = HalfImage::from_image(&img);
        let back = h.to_image();
        for (a, b) in img.pixels.iter().zip(&back.pixels) {
            for c in 0..4 {
                assert!(
                    (a[c] - b[c]).abs() <= a[c].abs() * 1e-3 + 1e-4,
                    "{a:?} {b:?}"
                );
            }
        }
        assert_eq!(h.pixel(6, 4), Some(back.pixels[34]));
        assert_eq!(h.pixel(7, 0), None);
    }

    #[test]
    fn the_default_budget_follows_the_machine() {
        let b = default_budget_bytes();
        assert!((256 << 20..=8192 << 20).contains(&b));
        if let Some(total) = total_memory_bytes() {
            assert!(b <= total / 4);
        }
    }
}
