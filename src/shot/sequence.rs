//! Frame numbers in file names, and sequence patterns such as `name.####.ext` and `name.%04d.ext`.
//!
//! A frame number is the run of ASCII digits right before the extension. The character before
//! the digits is the [`Separator`]: `.` (the house convention, `run.1001.png`), `_`
//! (`run_1001.png`), `-` (`run-1001.png`) or nothing (`run1001.png`). The name is the text before
//! the separator, so all four give the name `run`. The separator is kept in [`FileName`] so a
//! pattern only matches files written the same way; output names always use `.` (see
//! [`super::Frame::output_name`]).
//!
//! A name with no digits before the extension, or with a number too large for `u32` (a
//! timestamp such as `IMG_20240101123456.jpg`), is a still: its name is the whole stem.

/// How the frame number is joined to the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Separator {
    /// `name.1001.ext`: the convention of the field.
    Dot,
    /// `name_1001.ext`.
    Underscore,
    /// `name-1001.ext`.
    Dash,
    /// `name1001.ext`, or a still with no number.
    None,
}

impl Separator {
    /// The separator as written in a file name (empty for [`Separator::None`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Separator::Dot => ".",
            Separator::Underscore => "_",
            Separator::Dash => "-",
            Separator::None => "",
        }
    }

    /// Splits a trailing separator off `prefix`.
    fn split(prefix: &str) -> (&str, Separator) {
        for (ch, sep) in [
            ('.', Separator::Dot),
            ('_', Separator::Underscore),
            ('-', Separator::Dash),
        ] {
            if let Some(name) = prefix.strip_suffix(ch) {
                return (name, sep);
            }
        }
        (prefix, Separator::None)
    }
}

/// A file name taken apart: `run.1001.png` is name `run`, separator `.`, number 1001, padding 4,
/// extension `png`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The text before the separator (the whole stem for a still).
    pub name: String,
    /// How the number is joined to the name.
    pub separator: Separator,
    /// The frame number as written, if there is one.
    pub number: Option<u32>,
    /// How many digits the number is written with (0 for a still): 4 for `0042`.
    pub padding: usize,
    /// The extension as written, without the dot (empty if there is none).
    pub extension: String,
}

/// Takes a file name (no folder) apart into name, separator, frame number and extension.
pub fn parse_file_name(file_name: &str) -> FileName {
    let (stem, extension) = split_extension(file_name);
    let digits = trailing_digits(stem);
    let number = if digits.is_empty() {
        None
    } else {
        digits.parse::<u32>().ok()
    };
    match number {
        Some(number) => {
            let (name, separator) = Separator::split(&stem[..stem.len() - digits.len()]);
            FileName {
                name: name.to_owned(),
                separator,
                number: Some(number),
                padding: digits.len(),
                extension: extension.to_owned(),
            }
        }
        None => FileName {
            name: stem.to_owned(),
            separator: Separator::None,
            number: None,
            padding: 0,
            extension: extension.to_owned(),
        },
    }
}

/// A sequence pattern: `name.####.ext` (one `#` per digit) or printf style `name.%04d.ext`
/// (`%d` for unpadded numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The text before the separator.
    pub name: String,
    /// How the number is joined to the name.
    pub separator: Separator,
    /// Minimum digits; numbers wider than this are written in full, as Nuke and `%04d` do.
    /// 0 for `%d`.
    pub padding: usize,
    /// The extension, without the dot; matched ignoring case.
    pub extension: String,
}

/// Reads a sequence pattern from a file name (no folder); `None` if it is not one.
pub fn parse_pattern(file_name: &str) -> Option<Pattern> {
    let (stem, extension) = split_extension(file_name);
    let (prefix, padding) = if let Some(before) = stem.strip_suffix('#') {
        let hashes = 1 + before.len() - before.trim_end_matches('#').len();
        (&stem[..stem.len() - hashes], hashes)
    } else {
        let before = stem.strip_suffix('d')?;
        let at = before.rfind('%')?;
        let width = &before[at + 1..];
        let padding = if width.is_empty() {
            0
        } else if width.starts_with('0') && width.bytes().all(|b| b.is_ascii_digit()) {
            width.parse().ok()?
        } else {
            return None;
        };
        (&stem[..at], padding)
    };
    let (name, separator) = Separator::split(prefix);
    Some(Pattern {
        name: name.to_owned(),
        separator,
        padding,
        extension: extension.to_owned(),
    })
}

impl Pattern {
    /// Whether a file belongs to this sequence: same name, separator and extension (ignoring
    /// case), and its number written exactly as the pattern's padding would write it.
    pub fn matches(&self, file: &FileName) -> bool {
        let Some(number) = file.number else {
            return false;
        };
        file.name == self.name
            && file.separator == self.separator
            && file.extension.eq_ignore_ascii_case(&self.extension)
            && number_width(number).max(self.padding) == file.padding
    }

    /// The pattern written back, e.g. `run.####.png`, for messages.
    pub fn display(&self) -> String {
        format!(
            "{}{}{}.{}",
            self.name,
            self.separator.as_str(),
            "#".repeat(self.padding.max(1)),
            self.extension
        )
    }
}

/// Digits needed to write `number` without padding.
fn number_width(number: u32) -> usize {
    number.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Splits `name.ext` into `("name", "ext")`; a name without a dot (or only a leading one) has no
/// extension.
fn split_extension(file_name: &str) -> (&str, &str) {
    match file_name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, ext),
        _ => (file_name, ""),
    }
}

/// The run of ASCII digits at the end of `s`.
fn trailing_digits(s: &str) -> &str {
    let start = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(
        name: &str,
        sep: Separator,
        number: Option<u32>,
        padding: usize,
        ext: &str,
    ) -> FileName {
        FileName {
            name: name.to_owned(),
            separator: sep,
            number,
            padding,
            extension: ext.to_owned(),
        }
    }

    #[test]
    fn dotted_sequence() {
        assert_eq!(
            parse_file_name("run.1001.png"),
            parsed("run", Separator::Dot, Some(1001), 4, "png")
        );
        assert_eq!(
            parse_file_name("run.0042.exr"),
            parsed("run", Separator::Dot, Some(42), 4, "exr")
        );
        assert_eq!(
            parse_file_name("shot.v2.0007.tif"),
            parsed("shot.v2", Separator::Dot, Some(7), 4, "tif")
        );
    }

    #[test]
    fn underscore_dash_and_bare_numbers() {
        assert_eq!(
            parse_file_name("run_1001.png"),
            parsed("run", Separator::Underscore, Some(1001), 4, "png")
        );
        assert_eq!(
            parse_file_name("run-01.jpg"),
            parsed("run", Separator::Dash, Some(1), 2, "jpg")
        );
        assert_eq!(
            parse_file_name("run1001.PNG"),
            parsed("run", Separator::None, Some(1001), 4, "PNG")
        );
        assert_eq!(
            parse_file_name("0001.png"),
            parsed("", Separator::None, Some(1), 4, "png")
        );
    }

    #[test]
    fn stills() {
        assert_eq!(
            parse_file_name("hero.png"),
            parsed("hero", Separator::None, None, 0, "png")
        );
        assert_eq!(
            parse_file_name("IMG_20240101123456.jpg"),
            parsed("IMG_20240101123456", Separator::None, None, 0, "jpg")
        );
        assert_eq!(
            parse_file_name("noextension"),
            parsed("noextension", Separator::None, None, 0, "")
        );
    }

    #[test]
    fn spaces_and_non_ascii() {
        assert_eq!(
            parse_file_name("tëst shot.0001.png"),
            parsed("tëst shot", Separator::Dot, Some(1), 4, "png")
        );
        assert_eq!(
            parse_file_name("снимок 12.exr"),
            parsed("снимок ", Separator::None, Some(12), 2, "exr")
        );
        // Non-ASCII digits are not frame numbers.
        assert_eq!(parse_file_name("plate٣.png").number, None);
    }

    #[test]
    fn hash_patterns() {
        let p = parse_pattern("run.####.png");
        assert_eq!(
            p,
            Some(Pattern {
                name: "run".into(),
                separator: Separator::Dot,
                padding: 4,
                extension: "png".into()
            })
        );
        let p = parse_pattern("tëst shot_#.exr");
        assert_eq!(
            p,
            Some(Pattern {
                name: "tëst shot".into(),
                separator: Separator::Underscore,
                padding: 1,
                extension: "exr".into()
            })
        );
    }

    #[test]
    fn printf_patterns() {
        let p = parse_pattern("run.%04d.exr");
        assert_eq!(
            p,
            Some(Pattern {
                name: "run".into(),
                separator: Separator::Dot,
                padding: 4,
                extension: "exr".into()
            })
        );
        assert_eq!(parse_pattern("run.%d.exr").map(|p| p.padding), Some(0));
        assert_eq!(parse_pattern("run.%4d.exr"), None);
        assert_eq!(parse_pattern("run.%0xd.exr"), None);
        assert_eq!(parse_pattern("run.1001.exr"), None);
        assert_eq!(parse_pattern("hero.png"), None);
        assert_eq!(
            parse_pattern("100%d.png").map(|p| p.name),
            Some("100".into())
        );
    }

    #[test]
    fn pattern_matching() {
        let Some(p) = parse_pattern("run.####.png") else {
            panic!("not a pattern");
        };
        assert!(p.matches(&parse_file_name("run.1001.png")));
        assert!(p.matches(&parse_file_name("run.0001.PNG")));
        assert!(p.matches(&parse_file_name("run.10000.png")));
        assert!(!p.matches(&parse_file_name("run.001.png")));
        assert!(!p.matches(&parse_file_name("run.00001.png")));
        assert!(!p.matches(&parse_file_name("run_1001.png")));
        assert!(!p.matches(&parse_file_name("run.1001.exr")));
        assert!(!p.matches(&parse_file_name("runner.1001.png")));
        assert!(!p.matches(&parse_file_name("run.png")));
        assert_eq!(p.display(), "run.####.png");

        let Some(p) = parse_pattern("run.%d.png") else {
            panic!("not a pattern");
        };
        assert!(p.matches(&parse_file_name("run.0.png")));
        assert!(p.matches(&parse_file_name("run.7.png")));
        assert!(p.matches(&parse_file_name("run.1001.png")));
        assert!(!p.matches(&parse_file_name("run.07.png")));
    }
}
