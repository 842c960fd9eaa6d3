//! The app's fonts: egui's own, then a CJK font from the system as a fallback, so Chinese
//! (layer names, file paths, anything typed) renders instead of empty boxes.
//!
//! The font is found at run time in the system's font folders. Noto Sans CJK (Debian's
//! `fonts-noto-cjk`, SIL OFL) comes first: its `.ttc` collection holds a Hong Kong face, which
//! is the one chosen (by its family name, not by its position in the file). `MATTEBOX_CJK_FONT`
//! names another file, or `none` to load no CJK font (to measure what the font costs).
//! egui's fonts stay first, so Latin text renders exactly as before; the CJK font only supplies
//! the glyphs they lack.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The CJK font in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjkFont {
    /// The font file.
    pub path: PathBuf,
    /// The face's family name, e.g. `Noto Sans CJK HK`.
    pub family: String,
    /// The face's index in the file (a collection holds several).
    pub index: u32,
}

/// What became of the CJK fallback: the font in use, or why there is none.
pub type FontStatus = Result<CjkFont, String>;

/// Font files to try, best first: Noto Sans CJK / Source Han Sans collections (Linux), then the
/// systems' own Chinese fonts (macOS, Windows).
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKhk-Regular.otf",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSans-Regular.ttc",
    "/usr/local/share/fonts/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:\\Windows\\Fonts\\msjh.ttc",
];

/// The user's own font folders, searched for the same file names.
fn user_font_dirs() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return Vec::new();
    };
    vec![
        home.join(".local/share/fonts"),
        home.join(".fonts"),
        home.join("Library/Fonts"),
    ]
}

/// The face of a font file to use, by family name: a Hong Kong face first, then Traditional
/// Chinese, then the first. `None` when the file is not a font.
pub fn choose_face(data: &[u8]) -> Option<(u32, String)> {
    let count = ttf_parser::fonts_in_collection(data).unwrap_or(1);
    let mut faces = Vec::new();
    for index in 0..count {
        let Ok(face) = ttf_parser::Face::parse(data, index) else {
            continue;
        };
        let family = face
            .names()
            .into_iter()
            .filter(|n| {
                n.name_id == ttf_parser::name_id::TYPOGRAPHIC_FAMILY
                    || n.name_id == ttf_parser::name_id::FAMILY
            })
            .find_map(|n| n.to_string())
            .unwrap_or_default();
        faces.push((index, family));
    }
    let rank = |family: &str| {
        let f = family.to_ascii_uppercase();
        // Proportional faces before monospace ones, Hong Kong before Taiwan's Traditional.
        let mono = f.contains("MONO");
        let region = if f.contains(" HK") || f.ends_with("HK") || f.contains("HKSCS") {
            0
        } else if f.contains(" TC") || f.contains(" TW") || f.contains("JHENGHEI") {
            1
        } else {
            2
        };
        (mono, region)
    };
    faces.into_iter().min_by_key(|(i, f)| (rank(f), *i))
}

/// Finds the CJK font: `MATTEBOX_CJK_FONT` if set, else the first candidate that exists and
/// parses. Returns the font and its bytes.
pub fn find() -> Result<(CjkFont, Vec<u8>), String> {
    let explicit = std::env::var_os("MATTEBOX_CJK_FONT");
    if explicit.as_deref() == Some(std::ffi::OsStr::new("none")) {
        return Err("no CJK font (MATTEBOX_CJK_FONT=none)".into());
    }
    let mut tried: Vec<PathBuf> = match &explicit {
        Some(path) => vec![PathBuf::from(path)],
        None => CANDIDATES.iter().map(PathBuf::from).collect(),
    };
    if explicit.is_none() {
        for dir in user_font_dirs() {
            for name in ["NotoSansCJK-Regular.ttc", "NotoSansCJKhk-Regular.otf"] {
                tried.push(dir.join(name));
            }
        }
    }
    for path in &tried {
        if let Some(found) = load(path) {
            return Ok(found);
        }
    }
    Err(match explicit {
        Some(p) => format!(
            "MATTEBOX_CJK_FONT: {} is not a readable font",
            Path::new(&p).display()
        ),
        None => "no CJK font found: Chinese text shows as boxes (Debian: apt-get install fonts-noto-cjk)".into(),
    })
}

fn load(path: &Path) -> Option<(CjkFont, Vec<u8>)> {
    let data = std::fs::read(path).ok()?;
    let (index, family) = choose_face(&data)?;
    Some((
        CjkFont {
            path: path.to_path_buf(),
            family,
            index,
        },
        data,
    ))
}

/// Installs egui's default fonts followed by the CJK fallback, when one is found.
pub fn install(ctx: &egui::Context) -> FontStatus {
    let (font, data) = find()?;
    let mut fonts = egui::FontDefinitions::default();
    let mut font_data = egui::FontData::from_owned(data);
    font_data.index = font.index;
    fonts.font_data.insert("cjk".into(), Arc::new(font_data));
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        fonts.families.entry(family).or_default().push("cjk".into());
    }
    ctx.set_fonts(fonts);
    Ok(font)
}
