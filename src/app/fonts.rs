//! The app's fonts: egui's own, then a CJK font from the system as a fallback, so Chinese
//! (layer names, file paths, anything typed) renders instead of empty boxes.
//!
//! The font is found at run time in the system's font folders. Noto Sans CJK (Debian's
//! `fonts-noto-cjk`, SIL OFL) comes first: its `.ttc` collection holds a Hong Kong face, which
//! is the one chosen (by its family name, not by its position in the file). Where the system
//! has none, the app uses its own subset of that face ([`BUNDLED`],
//! `assets/fonts/NotoSansCJKhk-Regular-subset.otf`: every character of the translations and
//! Big5's 5,401 frequent characters, made by `scripts/make_font_subset.py`).
//! `MATTEBOX_CJK_FONT` names another file, `bundled` for the subset, or `none` to load no CJK
//! font (to measure what the font costs). egui's fonts stay first, so Latin text renders
//! exactly as before; the CJK font only supplies the glyphs they lack. [`missing`] tells which
//! characters of a text no loaded font has (the app logs it for its language at start).

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The bundled subset of Noto Sans CJK HK (SIL OFL 1.1; `assets/fonts/OFL.txt`).
pub const BUNDLED: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKhk-Regular-subset.otf");
/// Where the bundled subset comes from, in the repository (what [`CjkFont::path`] says of it).
pub const BUNDLED_PATH: &str = "assets/fonts/NotoSansCJKhk-Regular-subset.otf";

/// The CJK font in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjkFont {
    /// The font file ([`BUNDLED_PATH`] for the bundled subset).
    pub path: PathBuf,
    /// The bundled subset, not a system font.
    pub bundled: bool,
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

/// The bundled subset, as a [`CjkFont`] with its bytes.
pub fn bundled() -> Result<(CjkFont, Vec<u8>), String> {
    let (index, family) = choose_face(BUNDLED).ok_or("the bundled CJK font does not parse")?;
    Ok((
        CjkFont {
            path: PathBuf::from(BUNDLED_PATH),
            bundled: true,
            family,
            index,
        },
        BUNDLED.to_vec(),
    ))
}

/// Finds the CJK font: `MATTEBOX_CJK_FONT` if set (a file, `bundled` or `none`), else the first
/// system candidate that exists and parses, else the bundled subset. Returns the font and its
/// bytes.
pub fn find() -> Result<(CjkFont, Vec<u8>), String> {
    // Set but empty reads as not set (a script may pass it through blank).
    let explicit = std::env::var_os("MATTEBOX_CJK_FONT").filter(|v| !v.is_empty());
    if explicit.as_deref() == Some(std::ffi::OsStr::new("none")) {
        return Err("no CJK font (MATTEBOX_CJK_FONT=none)".into());
    }
    if explicit.as_deref() == Some(std::ffi::OsStr::new("bundled")) {
        return bundled();
    }
    match explicit {
        Some(p) => load(Path::new(&p)).ok_or_else(|| {
            format!(
                "MATTEBOX_CJK_FONT: {} is not a readable font",
                Path::new(&p).display()
            )
        }),
        // No system font: the bundled subset covers the UI and common Traditional text.
        None => find_system().or_else(|_| bundled()),
    }
}

/// The first system CJK font of the candidates (and the same names in the user's font
/// folders) that exists and parses, with its bytes.
pub fn find_system() -> Result<(CjkFont, Vec<u8>), String> {
    let mut tried: Vec<PathBuf> = CANDIDATES.iter().map(PathBuf::from).collect();
    for dir in user_font_dirs() {
        for name in ["NotoSansCJK-Regular.ttc", "NotoSansCJKhk-Regular.otf"] {
            tried.push(dir.join(name));
        }
    }
    tried.iter().find_map(|path| load(path)).ok_or_else(|| {
        "no system CJK font found (Debian: apt-get install fonts-noto-cjk)".to_string()
    })
}

fn load(path: &Path) -> Option<(CjkFont, Vec<u8>)> {
    let data = std::fs::read(path).ok()?;
    let (index, family) = choose_face(&data)?;
    Some((
        CjkFont {
            path: path.to_path_buf(),
            bundled: false,
            family,
            index,
        },
        data,
    ))
}

/// egui's default fonts followed by a CJK font (`data`, face `index`) as the fallback of both
/// families.
pub fn definitions(cjk: Option<(Vec<u8>, u32)>) -> egui::FontDefinitions {
    let mut fonts = egui::FontDefinitions::default();
    if let Some((data, index)) = cjk {
        let mut font_data = egui::FontData::from_owned(data);
        font_data.index = index;
        fonts.font_data.insert("cjk".into(), Arc::new(font_data));
        for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
            fonts.families.entry(family).or_default().push("cjk".into());
        }
    }
    fonts
}

/// The characters of `text` (whitespace aside) that no font of `fonts` has a glyph for, in
/// the proportional or the monospace family: what would show as boxes.
pub fn missing(fonts: &egui::FontDefinitions, text: impl IntoIterator<Item = char>) -> Vec<char> {
    let faces = |family: egui::FontFamily| -> Vec<ttf_parser::Face<'_>> {
        fonts
            .families
            .get(&family)
            .into_iter()
            .flatten()
            .filter_map(|name| fonts.font_data.get(name))
            .filter_map(|data| ttf_parser::Face::parse((*data.font).as_ref(), data.index).ok())
            .collect()
    };
    let families = [
        faces(egui::FontFamily::Proportional),
        faces(egui::FontFamily::Monospace),
    ];
    let mut out: Vec<char> = text
        .into_iter()
        .filter(|c| !c.is_whitespace())
        .filter(|c| {
            !families
                .iter()
                .all(|faces| faces.iter().any(|f| f.glyph_index(*c).is_some()))
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Installs egui's default fonts followed by the CJK fallback (a system font, else the bundled
/// subset), and returns the definitions installed with what became of the CJK font.
pub fn install(ctx: &egui::Context) -> (egui::FontDefinitions, FontStatus) {
    let (fonts, status) = match find() {
        Ok((font, data)) => (definitions(Some((data, font.index))), Ok(font)),
        Err(why) => (definitions(None), Err(why)),
    };
    ctx.set_fonts(fonts.clone());
    (fonts, status)
}
