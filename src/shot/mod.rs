//! Finding frames (stills, folders, numbered sequences `name.####.ext`), decoding them, and colour.
//!
//! [`Shot::open`] turns what the user gave (an image file, a folder, or a pattern such as
//! `plates/run.####.png` or `plates/run.%04d.exr`) into a list of [`Frame`]s from directory
//! listings alone: no image data or header is read, so a shot of thousands of frames opens at
//! once. [`decode::decode`] turns one frame into a linear-light [`Plate`]; [`colour`] holds the
//! colour spaces and the sRGB curves, and [`load_plate`] is how a plate enters the pipeline:
//! decoded, then converted from the shot's input colour space to the working space.
//!
//! Frame numbers are the source's own, often starting at 1001; they are never renumbered.

pub mod colour;
pub mod decode;
mod plate;
pub mod sequence;

pub use colour::{ColourSpace, PlateColour, WorkingSpace};
pub use plate::Plate;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use decode::DecodeLimits;
use sequence::FileName;

/// Decodes `path` ([`decode::decode`]) and converts it from the shot's input colour space to
/// the working space ([`PlateColour::apply`]): the one way plates enter the pipeline (the
/// process and render jobs, the app's frame loader).
pub fn load_plate(
    path: &Path,
    limits: &DecodeLimits,
    colour: &PlateColour,
) -> Result<Plate, ShotError> {
    let mut plate = decode::decode(path, limits)?;
    colour.apply(&mut plate);
    Ok(plate)
}

/// The extensions of the image files a shot is made of, in lower case.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "tif", "tiff", "exr"];

/// Everything that can go wrong finding, reading or decoding frames; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ShotError {
    /// The path does not exist.
    #[error("no such file or folder: {}", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// The operating system refused to read a file or folder.
    #[error("could not read {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A folder or pattern with no image files in it.
    #[error("no image files found in {}", path.display())]
    NoFrames {
        /// The folder or pattern.
        path: PathBuf,
    },
    /// A file given directly whose extension is not one Mattebox reads.
    #[error(
        "{} is not an image file Mattebox reads (it reads png, jpg, jpeg, tif, tiff and exr)",
        path.display()
    )]
    NotAnImageFile {
        /// The file.
        path: PathBuf,
    },
    /// The file is 0 bytes long.
    #[error("{} is empty (0 bytes)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file's contents are not an image, whatever its extension says.
    #[error("{} is not an image: its contents are not PNG, JPEG, TIFF or OpenEXR", path.display())]
    NotAnImage {
        /// The file.
        path: PathBuf,
    },
    /// The file is an image in a format Mattebox does not read.
    #[error("{} is a {format} image, which Mattebox does not read", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format its contents are in.
        format: String,
    },
    /// A valid image that Mattebox cannot use: a pixel layout, a set of channels or a feature
    /// it does not read (a deep EXR, an EXR with no colour channels, a palette TIFF, ...).
    #[error("{} is unsupported: it is {what}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What the file has, in words: "a deep OpenEXR ...", "an OpenEXR with channels X, Z ...".
        what: String,
    },
    /// The file is damaged: truncated, or corrupt.
    #[error("could not decode {}: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said, in words.
        reason: String,
    },
    /// The header claims more pixels than allowed (checked before decoding, against
    /// decompression bombs).
    #[error(
        "{} is {width}x{height} pixels, more than the limit of {max_pixels} pixels",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Width in pixels, from the header.
        width: u32,
        /// Height in pixels, from the header.
        height: u32,
        /// The limit, [`DecodeLimits::max_pixels`].
        max_pixels: u64,
    },
    /// Decoding would need more memory than allowed.
    #[error(
        "decoding {} needs {needed_bytes} bytes, more than the limit of {max_alloc_bytes} bytes",
        path.display()
    )]
    MemoryLimit {
        /// The file.
        path: PathBuf,
        /// Bytes for the decoded image and its linear plate.
        needed_bytes: u64,
        /// The limit, [`DecodeLimits::max_alloc_bytes`].
        max_alloc_bytes: u64,
    },
    /// A frame range was given for a shot whose frames have no numbers.
    #[error(
        "frame range {range} cannot apply to {}: its frames have no frame numbers",
        path.display()
    )]
    NoNumberedFrames {
        /// The shot's source.
        path: PathBuf,
        /// The range asked for.
        range: FrameRange,
    },
    /// A frame range that selects none of the shot's frames.
    #[error(
        "frame range {range} selects no frames of {}, whose frames run from {first} to {last}",
        path.display()
    )]
    RangeEmpty {
        /// The shot's source.
        path: PathBuf,
        /// The range asked for.
        range: FrameRange,
        /// The shot's first frame number.
        first: u32,
        /// The shot's last frame number.
        last: u32,
    },
}

/// One frame of a shot: a file and where it sits in its sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The image file.
    pub path: PathBuf,
    /// The sequence's name part: `run` for `shots/run.1001.png`, `hero` for a still `hero.png`.
    pub name: String,
    /// The source's own frame number, if the name has one; never renumbered.
    pub number: Option<u32>,
    /// How many digits the source writes the number with: 4 for `0042`; 0 for a still.
    pub padding: usize,
}

impl Frame {
    /// Builds a frame from its path, reading the name and number from the file name.
    pub fn from_path(path: PathBuf) -> Frame {
        let parsed = parse_path(&path);
        Frame {
            path,
            name: parsed.name,
            number: parsed.number,
            padding: parsed.padding,
        }
    }

    /// The file name for an output of this frame, in the house convention `name[.suffix].####.ext`.
    ///
    /// `run.1001.exr`, or `run.depth.1001.png` with suffix `depth`; for a still, `hero.exr` or
    /// `hero.depth.png`. The number keeps the source's padding. Sources written `run_1001.png`
    /// or `run1001.png` also come out as `run.1001.ext`.
    pub fn output_name(&self, suffix: Option<&str>, ext: &str) -> String {
        let mut parts: Vec<String> = Vec::with_capacity(3);
        if !self.name.is_empty() {
            parts.push(self.name.clone());
        }
        if let Some(suffix) = suffix.filter(|s| !s.is_empty()) {
            parts.push(suffix.to_owned());
        }
        if let Some(number) = self.number {
            parts.push(format!("{number:0width$}", width = self.padding));
        }
        if parts.is_empty() {
            parts.push("frame".to_owned());
        }
        let ext = ext.trim_start_matches('.');
        format!("{}.{ext}", parts.join("."))
    }

    /// The file name, for messages.
    pub fn label(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// An inclusive range of frame numbers, written `1001-1050`, or `1001` for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRange {
    /// The first frame number, included.
    pub first: u32,
    /// The last frame number, included.
    pub last: u32,
}

impl FrameRange {
    /// Whether `number` is in the range.
    pub fn contains(&self, number: u32) -> bool {
        (self.first..=self.last).contains(&number)
    }
}

impl fmt::Display for FrameRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Why a frame range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a frame range: {reason} (write it like 1001-1050, or 1001 for one frame)")]
pub struct ParseFrameRangeError {
    /// What was given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for FrameRange {
    type Err = ParseFrameRangeError;

    fn from_str(s: &str) -> Result<FrameRange, ParseFrameRangeError> {
        let fail = |reason| ParseFrameRangeError {
            text: s.to_owned(),
            reason,
        };
        let number = |t: &str| {
            let t = t.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail("frame numbers are whole numbers, 0 or more"));
            }
            t.parse::<u32>()
                .map_err(|_| fail("a frame number is too large"))
        };
        let range = match s.split_once('-') {
            Some((first, last)) => FrameRange {
                first: number(first)?,
                last: number(last)?,
            },
            None => {
                let n = number(s)?;
                FrameRange { first: n, last: n }
            }
        };
        if range.first > range.last {
            return Err(fail("the first frame comes after the last"));
        }
        Ok(range)
    }
}

/// A frame whose size differs from the shot's first frame; see [`Shot::check_sizes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeMismatch {
    /// The frame's file.
    pub path: PathBuf,
    /// The frame's width in pixels.
    pub width: u32,
    /// The frame's height in pixels.
    pub height: u32,
    /// The first frame's width in pixels.
    pub expected_width: u32,
    /// The first frame's height in pixels.
    pub expected_height: u32,
}

impl fmt::Display for SizeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {}x{}, but the shot's first frame is {}x{}",
            self.path.display(),
            self.width,
            self.height,
            self.expected_width,
            self.expected_height
        )
    }
}

/// The frames a user points Mattebox at, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shot {
    /// What the user gave: an image file, a folder, or a sequence pattern.
    pub source: PathBuf,
    /// The frames, sorted by (name, number, file name).
    pub frames: Vec<Frame>,
}

impl Shot {
    /// The sequence's first to last frame number; `None` for a single frame or unnumbered frames.
    pub fn number_range(&self) -> Option<FrameRange> {
        let mut numbers = self.frames.iter().filter_map(|f| f.number);
        let first = numbers.next()?;
        let (first, last) = numbers.fold((first, first), |(lo, hi), n| (lo.min(n), hi.max(n)));
        (self.frames.len() > 1).then_some(FrameRange { first, last })
    }

    /// Finds the frames of `input`, from directory listings only (no image is read).
    ///
    /// - An image file is a shot of one frame (its number read from the name if it has one).
    /// - A folder is every image file in it (png, jpg, jpeg, tif, tiff, exr, any case); hidden
    ///   files, other files and subfolders are ignored.
    /// - A path that does not exist but whose file name is a pattern, `dir/name.####.png` (one
    ///   `#` per digit) or `dir/name.%04d.exr` (`%d` for unpadded), is the matching files in `dir`.
    pub fn open(input: &Path) -> Result<Shot, ShotError> {
        let frames = match fs::metadata(input) {
            Ok(meta) if meta.is_dir() => scan_dir(input, |_| true)?,
            Ok(_) => {
                if !has_image_extension(input) {
                    return Err(ShotError::NotAnImageFile {
                        path: input.to_owned(),
                    });
                }
                vec![Frame::from_path(input.to_owned())]
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => open_pattern(input)?,
            Err(source) => {
                return Err(ShotError::Io {
                    path: input.to_owned(),
                    source,
                });
            }
        };
        if frames.is_empty() {
            return Err(ShotError::NoFrames {
                path: input.to_owned(),
            });
        }
        Ok(Shot {
            source: input.to_owned(),
            frames,
        })
    }

    /// Keeps only the frames numbered within `range`.
    ///
    /// A range asks for numbered frames, so frames without a number (stills) are dropped; if no
    /// frame has a number it is [`ShotError::NoNumberedFrames`]. A range that selects nothing is
    /// [`ShotError::RangeEmpty`], naming the shot's first and last numbers. On error the shot is
    /// unchanged.
    pub fn select(&mut self, range: FrameRange) -> Result<(), ShotError> {
        let numbers = self.frames.iter().filter_map(|f| f.number);
        let (Some(first), Some(last)) = (numbers.clone().min(), numbers.max()) else {
            return Err(ShotError::NoNumberedFrames {
                path: self.source.clone(),
                range,
            });
        };
        let in_range = |f: &Frame| f.number.is_some_and(|n| range.contains(n));
        if !self.frames.iter().any(in_range) {
            return Err(ShotError::RangeEmpty {
                path: self.source.clone(),
                range,
                first,
                last,
            });
        }
        self.frames.retain(in_range);
        Ok(())
    }

    /// Reads every frame's header (not its pixels) and lists the frames whose size differs from
    /// the first frame's. Mixed sizes are reported, never silently resized.
    ///
    /// Fails on the first frame whose header cannot be read or is over `limits`.
    pub fn check_sizes(&self, limits: &DecodeLimits) -> Result<Vec<SizeMismatch>, ShotError> {
        compare_sizes(&self.frames, limits, true)
    }
}

/// Like [`Shot::check_sizes`] over any frames, but frames whose header cannot be read are
/// skipped (their error is reported when they are decoded); the first readable frame sets the
/// expected size.
pub fn mixed_sizes<'a>(
    frames: impl IntoIterator<Item = &'a Frame>,
    limits: &DecodeLimits,
) -> Vec<SizeMismatch> {
    compare_sizes(frames, limits, false).unwrap_or_default()
}

/// The one header-reading loop behind [`Shot::check_sizes`] and [`mixed_sizes`]; `strict`
/// makes an unreadable header an error instead of a skipped frame.
fn compare_sizes<'a>(
    frames: impl IntoIterator<Item = &'a Frame>,
    limits: &DecodeLimits,
    strict: bool,
) -> Result<Vec<SizeMismatch>, ShotError> {
    let mut expected = None;
    let mut mismatches = Vec::new();
    for frame in frames {
        let (width, height) = match decode::dimensions(&frame.path, limits) {
            Ok(size) => size,
            Err(e) if strict => return Err(e),
            Err(_) => continue,
        };
        let (expected_width, expected_height) = *expected.get_or_insert((width, height));
        if (width, height) != (expected_width, expected_height) {
            mismatches.push(SizeMismatch {
                path: frame.path.clone(),
                width,
                height,
                expected_width,
                expected_height,
            });
        }
    }
    Ok(mismatches)
}

/// The frames of a pattern path that does not exist, or `NotFound` if it is not a pattern.
fn open_pattern(input: &Path) -> Result<Vec<Frame>, ShotError> {
    let not_found = || ShotError::NotFound {
        path: input.to_owned(),
    };
    let pattern = input
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(sequence::parse_pattern)
        .ok_or_else(not_found)?;
    let dir = match input.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(not_found());
    }
    if !is_image_extension(&pattern.extension) {
        return Err(ShotError::NotAnImageFile {
            path: input.to_owned(),
        });
    }
    scan_dir(dir, |file| pattern.matches(file))
}

/// The image files in `dir` (not hidden, not folders) that `keep` accepts, sorted by
/// (name, number, file name).
fn scan_dir(dir: &Path, keep: impl Fn(&FileName) -> bool) -> Result<Vec<Frame>, ShotError> {
    let io_error = |source: io::Error| ShotError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut frames = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let file_name = entry.file_name();
        let name = file_name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let parsed = sequence::parse_file_name(&name);
        if !is_image_extension(&parsed.extension) || !keep(&parsed) {
            continue;
        }
        let path = entry.path();
        // `file_type` does not follow links, and costs no `stat`; only a link needs one.
        let is_file = match entry.file_type() {
            Ok(t) if t.is_symlink() => path.is_file(),
            Ok(t) => t.is_file(),
            Err(_) => false,
        };
        if is_file {
            frames.push(Frame {
                path,
                name: parsed.name,
                number: parsed.number,
                padding: parsed.padding,
            });
        }
    }
    frames.sort_by(|a, b| {
        (&a.name, a.number, a.path.file_name()).cmp(&(&b.name, b.number, b.path.file_name()))
    });
    Ok(frames)
}

/// The file name of `path` taken apart (lossily, if it is not UTF-8).
fn parse_path(path: &Path) -> FileName {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    sequence::parse_file_name(&name)
}

/// Whether `ext` (no dot) is one of [`IMAGE_EXTENSIONS`], ignoring case.
fn is_image_extension(ext: &str) -> bool {
    IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
}

/// Whether `path` ends in one of [`IMAGE_EXTENSIONS`], ignoring case.
fn has_image_extension(path: &Path) -> bool {
    is_image_extension(&parse_path(path).extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    /// Empty files: opening a shot must not read them.
    fn touch(dir: &Path, names: &[&str]) {
        for name in names {
            if let Err(e) = fs::write(dir.join(name), b"") {
                panic!("writing {name}: {e}");
            }
        }
    }

    fn open(path: &Path) -> Shot {
        match Shot::open(path) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn open_err(path: &Path) -> ShotError {
        match Shot::open(path) {
            Ok(s) => panic!("opened {s:?}"),
            Err(e) => e,
        }
    }

    fn labels(shot: &Shot) -> Vec<String> {
        shot.frames.iter().map(Frame::label).collect()
    }

    fn range(text: &str) -> FrameRange {
        match text.parse() {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn folder_lists_image_files_in_order() {
        let d = dir();
        touch(
            d.path(),
            &[
                "run.1002.png",
                "run.1001.png",
                "run.0999.png",
                "hero.png",
                "UPPER.JPG",
                "scan.tiff",
                "depth.1001.exr",
                ".hidden.png",
                "._run.1001.png",
                "notes.txt",
                "run.1001.png.bak",
            ],
        );
        if let Err(e) = fs::create_dir(d.path().join("sub.png")) {
            panic!("{e}");
        }
        let shot = open(d.path());
        assert_eq!(shot.source, d.path());
        assert_eq!(
            labels(&shot),
            [
                "UPPER.JPG",
                "depth.1001.exr",
                "hero.png",
                "run.0999.png",
                "run.1001.png",
                "run.1002.png",
                "scan.tiff",
            ]
        );
        let run = &shot.frames[4];
        assert_eq!(
            (run.name.as_str(), run.number, run.padding),
            ("run", Some(1001), 4)
        );
        let hero = &shot.frames[2];
        assert_eq!(
            (hero.name.as_str(), hero.number, hero.padding),
            ("hero", None, 0)
        );
    }

    #[test]
    fn single_file_is_one_frame() {
        let d = dir();
        touch(
            d.path(),
            &["run.1001.png", "run.1002.png", "hero.PNG", "notes.txt"],
        );
        let shot = open(&d.path().join("run.1001.png"));
        assert_eq!(labels(&shot), ["run.1001.png"]);
        assert_eq!(shot.frames[0].number, Some(1001));
        let shot = open(&d.path().join("hero.PNG"));
        assert_eq!(
            (shot.frames[0].name.as_str(), shot.frames[0].number),
            ("hero", None)
        );

        let path = d.path().join("notes.txt");
        let e = open_err(&path);
        assert!(matches!(e, ShotError::NotAnImageFile { .. }), "{e:?}");
        assert!(e.to_string().contains("notes.txt"), "{e}");
    }

    #[test]
    fn patterns_match_their_sequence_only() {
        let d = dir();
        let plates = d.path().join("plates");
        if let Err(e) = fs::create_dir(&plates) {
            panic!("{e}");
        }
        touch(
            &plates,
            &[
                "tëst shot.0001.png",
                "tëst shot.0002.png",
                "tëst shot.10000.png",
                "tëst shot.001.png",
                "tëst shot_0001.png",
                "tëst shot.0001.exr",
                "other.0001.png",
            ],
        );
        let shot = open(&plates.join("tëst shot.####.png"));
        assert_eq!(
            labels(&shot),
            [
                "tëst shot.0001.png",
                "tëst shot.0002.png",
                "tëst shot.10000.png"
            ]
        );
        let shot = open(&plates.join("tëst shot.%04d.exr"));
        assert_eq!(labels(&shot), ["tëst shot.0001.exr"]);
        let shot = open(&plates.join("tëst shot_####.png"));
        assert_eq!(labels(&shot), ["tëst shot_0001.png"]);
        assert_eq!(
            shot.frames[0].output_name(None, "exr"),
            "tëst shot.0001.exr"
        );
    }

    #[test]
    fn nothing_to_open() {
        let d = dir();
        let e = open_err(d.path());
        assert!(matches!(e, ShotError::NoFrames { .. }), "{e:?}");
        assert!(e.to_string().starts_with("no image files found in"), "{e}");

        touch(d.path(), &["run.0001.png"]);
        let pattern = d.path().join("walk.####.png");
        let e = open_err(&pattern);
        assert!(matches!(e, ShotError::NoFrames { .. }), "{e:?}");
        assert!(e.to_string().contains("walk.####.png"), "{e}");

        let missing = d.path().join("missing.png");
        let e = open_err(&missing);
        assert!(matches!(e, ShotError::NotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("missing.png"), "{e}");

        let e = open_err(&d.path().join("nowhere").join("run.####.png"));
        assert!(matches!(e, ShotError::NotFound { .. }), "{e:?}");
    }

    #[test]
    fn output_names() {
        let frame = Frame::from_path(PathBuf::from("shots/run.1001.png"));
        assert_eq!(frame.label(), "run.1001.png");
        assert_eq!(frame.output_name(None, "exr"), "run.1001.exr");
        assert_eq!(
            frame.output_name(Some("depth"), "png"),
            "run.depth.1001.png"
        );
        let still = Frame::from_path(PathBuf::from("hero.png"));
        assert_eq!(still.output_name(None, "exr"), "hero.exr");
        assert_eq!(still.output_name(Some("depth"), ".png"), "hero.depth.png");
        let padded = Frame::from_path(PathBuf::from("run_0042.tif"));
        assert_eq!(
            padded.output_name(Some("matte"), "png"),
            "run.matte.0042.png"
        );
        let bare = Frame::from_path(PathBuf::from("0007.png"));
        assert_eq!(bare.output_name(Some("depth"), "exr"), "depth.0007.exr");
    }

    #[test]
    fn frame_ranges_parse() {
        assert_eq!(
            range("1001-1050"),
            FrameRange {
                first: 1001,
                last: 1050
            }
        );
        assert_eq!(
            range(" 1001 - 1050 "),
            FrameRange {
                first: 1001,
                last: 1050
            }
        );
        assert_eq!(
            range("1001"),
            FrameRange {
                first: 1001,
                last: 1001
            }
        );
        assert_eq!(range("1001-1050").to_string(), "1001-1050");
        assert_eq!(range("7").to_string(), "7");
        for bad in [
            "",
            "a-b",
            "1050-1001",
            "-5",
            "1001-",
            "1.5",
            "99999999999",
            "1-2-3",
        ] {
            match bad.parse::<FrameRange>() {
                Ok(r) => panic!("{bad:?} parsed as {r:?}"),
                Err(e) => assert!(e.to_string().contains("is not a frame range"), "{e}"),
            }
        }
    }

    #[test]
    fn select_keeps_the_range() {
        let d = dir();
        touch(
            d.path(),
            &["run.1001.png", "run.1002.png", "run.1003.png", "hero.png"],
        );
        let mut shot = open(d.path());
        if let Err(e) = shot.select(range("1002-1010")) {
            panic!("{e}");
        }
        assert_eq!(labels(&shot), ["run.1002.png", "run.1003.png"]);

        let mut shot = open(d.path());
        let before = shot.clone();
        let e = match shot.select(range("1-10")) {
            Ok(()) => panic!("selected {shot:?}"),
            Err(e) => e,
        };
        assert!(
            matches!(
                e,
                ShotError::RangeEmpty {
                    first: 1001,
                    last: 1003,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("1-10") && e.to_string().contains("1001 to 1003"),
            "{e}"
        );
        assert_eq!(shot, before, "unchanged on error");

        let mut still = open(&d.path().join("hero.png"));
        let e = match still.select(range("1001")) {
            Ok(()) => panic!("selected {still:?}"),
            Err(e) => e,
        };
        assert!(matches!(e, ShotError::NoNumberedFrames { .. }), "{e:?}");
        assert!(e.to_string().contains("hero.png"), "{e}");
    }

    #[test]
    fn mixed_sizes_are_reported() {
        let d = dir();
        for (name, w) in [
            ("run.1001.png", 4),
            ("run.1002.png", 4),
            ("run.1003.png", 5),
        ] {
            let img = image::RgbImage::new(w, 3);
            if let Err(e) = img.save(d.path().join(name)) {
                panic!("{e}");
            }
        }
        let shot = open(d.path());
        let report = match shot.check_sizes(&DecodeLimits::default()) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(report.len(), 1);
        assert_eq!((report[0].width, report[0].expected_width), (5, 4));
        assert!(
            report[0].to_string().contains("run.1003.png is 5x3"),
            "{}",
            report[0]
        );

        // An unreadable header: the strict check fails on it, the lenient one skips it.
        if let Err(e) = std::fs::write(d.path().join("run.1000.png"), b"not a png") {
            panic!("{e}");
        }
        let shot = open(d.path());
        assert!(shot.check_sizes(&DecodeLimits::default()).is_err());
        let report = mixed_sizes(&shot.frames, &DecodeLimits::default());
        assert_eq!(report.len(), 1);
        assert_eq!((report[0].width, report[0].expected_width), (5, 4));
    }
}
