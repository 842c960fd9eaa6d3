//! The app's languages: every string the app shows goes through here. English (the source)
//! and Traditional Chinese for Hong Kong (`zh-HK`), as Project Fluent files in
//! `assets/i18n/<language>/mattebox.ftl`, embedded in the binary (`include_str!`), with the
//! glossary of Hong Kong post-production terms beside them (`assets/i18n/glossary.md`).
//!
//! The language in use is one value for the whole app ([`set_language`], [`language`]), so
//! that the UI, the state's toasts and the job threads' messages all read it without a
//! context passed around; [`t!`](crate::app::i18n::t) formats a message in it. At start the
//! app takes `MATTEBOX_LANG`, else the choice saved in its settings, else the system's
//! locale ([`startup_language`]); View ▸ Language changes it at once. The command line and
//! the log stay English. A message missing from a language falls back to English, then to
//! its id (tests/i18n.rs checks that none is missing).

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast;

/// The English messages (the source language).
pub const ENGLISH_FTL: &str = include_str!("../../assets/i18n/en/mattebox.ftl");
/// The Hong Kong Traditional Chinese messages.
pub const CHINESE_HK_FTL: &str = include_str!("../../assets/i18n/zh-HK/mattebox.ftl");

/// A language of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Language {
    /// English, the source language and the fallback.
    #[default]
    English,
    /// Traditional Chinese as Hong Kong writes it (`zh-HK`).
    ChineseHongKong,
}

impl Language {
    /// Every language, in the menu's order.
    pub const ALL: [Language; 2] = [Language::English, Language::ChineseHongKong];

    /// The BCP 47 tag: `en`, `zh-HK` (what the settings file keeps).
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::ChineseHongKong => "zh-HK",
        }
    }

    /// The language's Fluent file.
    pub fn ftl(self) -> &'static str {
        match self {
            Language::English => ENGLISH_FTL,
            Language::ChineseHongKong => CHINESE_HK_FTL,
        }
    }

    /// The language's own name (`English`, `繁體中文（香港）`), as the menu lists it.
    pub fn name(self) -> String {
        tr_in(self, "language-name", &[])
    }

    /// The language a locale or tag asks for: `en`, `en_GB.UTF-8`, `C` and `POSIX` are
    /// English; Chinese in Traditional characters (`zh_HK.UTF-8`, `zh-TW`, `zh-Hant`, `zh_MO`,
    /// plain `zh`) is `zh-HK`. `None` for the others (Simplified Chinese included: the app has
    /// no Simplified translation), which the caller answers with English.
    pub fn from_locale(locale: &str) -> Option<Language> {
        let tag = locale
            .split(['.', '@'])
            .next()
            .unwrap_or_default()
            .replace('_', "-")
            .to_ascii_lowercase();
        let mut parts = tag.split('-');
        match parts.next()? {
            "en" | "c" | "posix" => Some(Language::English),
            "zh" => {
                let simplified = parts.any(|p| matches!(p, "hans" | "cn" | "sg" | "my"));
                (!simplified).then_some(Language::ChineseHongKong)
            }
            _ => None,
        }
    }
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Makes `language` the one every message is formatted in from now on.
pub fn set_language(language: Language) {
    CURRENT.store(language as u8, Ordering::Relaxed);
}

/// The language in use.
pub fn language() -> Language {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Language::ChineseHongKong,
        _ => Language::English,
    }
}

/// The language the system's locale asks for, and where it came from (for the log): the
/// first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set and not empty, as POSIX orders them
/// (an unsupported one gives English), else the platform's locale (`sys-locale`: macOS's and
/// Windows' own settings). `var` looks a variable up (`std::env::var` in use).
pub fn system_language(var: impl Fn(&str) -> Option<String>) -> (Language, String) {
    for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
        if let Some(value) = var(name).filter(|v| !v.is_empty()) {
            let language = Language::from_locale(&value).unwrap_or_default();
            return (language, format!("{name}={value}"));
        }
    }
    match sys_locale::get_locale() {
        Some(locale) => (
            Language::from_locale(&locale).unwrap_or_default(),
            format!("the system locale {locale}"),
        ),
        None => (Language::English, "no locale set".into()),
    }
}

/// The language to start in, and why: `MATTEBOX_LANG` (tests and scripts), else `saved` (the
/// user's choice in View ▸ Language, from the settings file), else the system's locale.
pub fn startup_language(saved: Option<&str>) -> (Language, String) {
    let env = |name: &str| std::env::var(name).ok();
    if let Some(value) = env("MATTEBOX_LANG").filter(|v| !v.is_empty()) {
        if let Some(language) = Language::from_locale(&value) {
            return (language, format!("MATTEBOX_LANG={value}"));
        }
        eprintln!("mattebox: MATTEBOX_LANG={value} is not a language of the app (en, zh-HK)");
    }
    if let Some(language) = saved.and_then(Language::from_locale) {
        return (language, "the settings".into());
    }
    system_language(env)
}

type Bundle = FluentBundle<FluentResource>;

fn bundle(language: Language) -> &'static Bundle {
    static BUNDLES: OnceLock<[Bundle; 2]> = OnceLock::new();
    &BUNDLES.get_or_init(|| Language::ALL.map(make_bundle))[language as usize]
}

fn make_bundle(language: Language) -> Bundle {
    let id = language.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around placeables: egui would draw them as boxes, and file
    // names and numbers read the same either way.
    bundle.set_use_isolating(false);
    let resource =
        FluentResource::try_new(language.ftl().to_string()).unwrap_or_else(|(partial, errors)| {
            eprintln!(
                "mattebox: {} messages: {} syntax error(s), first: {:?}",
                language.code(),
                errors.len(),
                errors.first()
            );
            partial
        });
    if let Err(errors) = bundle.add_resource(resource) {
        eprintln!(
            "mattebox: {} messages: {} duplicate(s), first: {:?}",
            language.code(),
            errors.len(),
            errors.first()
        );
    }
    bundle
}

/// Message `id` in `language` with `args` (name, value: values are text, formatted by the
/// caller, so numbers read the same in every language). Falls back to English, then to `id`.
pub fn tr_in(language: Language, id: &str, args: &[(&str, String)]) -> String {
    let bundle = bundle(language);
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        return match language {
            Language::English => id.to_string(),
            _ => tr_in(Language::English, id, args),
        };
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    bundle
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned()
}

/// Message `id` in the language in use.
pub fn tr(id: &str) -> String {
    tr_in(language(), id, &[])
}

/// Message `id` in the language in use, with `args`.
pub fn tr_args(id: &str, args: &[(&str, String)]) -> String {
    tr_in(language(), id, args)
}

/// `t!("id")` or `t!("id", name = value, …)`: message `id` in the language in use, each value
/// formatted with `to_string()`.
macro_rules! t {
    ($id:literal) => {
        $crate::app::i18n::tr($id)
    };
    ($id:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::app::i18n::tr_args($id, &[$((stringify!($name), ($value).to_string())),+])
    };
}
pub(crate) use t;

/// One message of a language's file, for checks: its id, its text with each placeable written
/// `{ $name }` (string literals as their text), and the variables it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText {
    /// The message's id.
    pub id: String,
    /// What it says, placeables as `{ $name }`.
    pub text: String,
    /// The variables it uses.
    pub variables: BTreeSet<String>,
}

/// Every message of `language`'s file, in file order; `Err` lists the file's syntax errors.
pub fn messages(language: Language) -> Result<Vec<MessageText>, String> {
    let resource = fluent_syntax::parser::parse(language.ftl()).map_err(|(_, errors)| {
        errors
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let mut out = Vec::new();
    for entry in resource.body {
        match entry {
            ast::Entry::Message(m) => {
                let mut text = String::new();
                let mut variables = BTreeSet::new();
                if let Some(value) = &m.value {
                    pattern_text(value, &mut text, &mut variables);
                }
                for attribute in &m.attributes {
                    pattern_text(&attribute.value, &mut text, &mut variables);
                }
                out.push(MessageText {
                    id: m.id.name.to_string(),
                    text,
                    variables,
                });
            }
            ast::Entry::Junk { content } => return Err(format!("junk: {content}")),
            _ => {}
        }
    }
    Ok(out)
}

fn pattern_text(pattern: &ast::Pattern<&str>, text: &mut String, vars: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        match element {
            ast::PatternElement::TextElement { value } => text.push_str(value),
            ast::PatternElement::Placeable { expression } => {
                expression_text(expression, text, vars)
            }
        }
    }
}

fn expression_text(
    expression: &ast::Expression<&str>,
    text: &mut String,
    vars: &mut BTreeSet<String>,
) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_text(selector, text, vars);
            for variant in variants {
                pattern_text(&variant.value, text, vars);
            }
        }
        ast::Expression::Inline(inline) => inline_text(inline, text, vars),
    }
}

fn inline_text(
    inline: &ast::InlineExpression<&str>,
    text: &mut String,
    vars: &mut BTreeSet<String>,
) {
    match inline {
        ast::InlineExpression::StringLiteral { value } => text.push_str(value),
        ast::InlineExpression::VariableReference { id } => {
            text.push_str(&format!("{{ ${} }}", id.name));
            vars.insert(id.name.to_string());
        }
        ast::InlineExpression::Placeable { expression } => expression_text(expression, text, vars),
        other => text.push_str(&format!("{other:?}")),
    }
}

/// Every character `language`'s messages can show (placeables' names left out), for the
/// fonts' coverage.
pub fn characters(language: Language) -> BTreeSet<char> {
    let mut chars = BTreeSet::new();
    for m in messages(language).unwrap_or_default() {
        let mut text = m.text;
        for var in &m.variables {
            text = text.replace(&format!("{{ ${var} }}"), "");
        }
        chars.extend(text.chars().filter(|c| !c.is_whitespace()));
    }
    chars
}

/// A shot or frame error of the library as the app shows it, in the language in use: the
/// library's own wording translated, file names as they are, and a reason that comes from the
/// system or a decoder left as it is (in English, the same text as the error's `Display`).
pub fn shot_error(error: &crate::shot::ShotError) -> String {
    use crate::shot::ShotError as E;
    match error {
        E::NotFound { path } => t!("error-not-found", path = path.display()),
        E::Io { path, source } => t!("error-read", path = path.display(), reason = source),
        E::NoFrames { path } => t!("error-no-frames", path = path.display()),
        E::NotAnImageFile { path } => t!("error-not-an-image-file", path = path.display()),
        E::Empty { path } => t!("error-empty", path = path.display()),
        E::NotAnImage { path } => t!("error-not-an-image", path = path.display()),
        E::UnsupportedFormat { path, format } => {
            t!(
                "error-unsupported-format",
                path = path.display(),
                format = format
            )
        }
        E::Unsupported { path, what } => {
            t!("error-unsupported", path = path.display(), what = what)
        }
        E::Decode { path, reason } => {
            t!("error-decode", path = path.display(), reason = reason)
        }
        E::TooLarge {
            path,
            width,
            height,
            max_pixels,
        } => t!(
            "error-too-large",
            path = path.display(),
            width = width,
            height = height,
            max = max_pixels
        ),
        E::MemoryLimit {
            path,
            needed_bytes,
            max_alloc_bytes,
        } => t!(
            "error-memory-limit",
            path = path.display(),
            needed = needed_bytes,
            max = max_alloc_bytes
        ),
        E::NoNumberedFrames { path, range } => {
            t!(
                "error-no-numbered-frames",
                path = path.display(),
                range = range
            )
        }
        E::RangeEmpty {
            path,
            range,
            first,
            last,
        } => t!(
            "error-range-empty",
            path = path.display(),
            range = range,
            first = first,
            last = last
        ),
    }
}

/// A project file's error as the app shows it, in the language in use: the library's own
/// wording translated, the file name as it is, what the system or the JSON parser said left as
/// it is (in English, the error's `Display`). A field-level problem (`Invalid`) and a failed
/// write stay as the library words them.
pub fn project_error(error: &crate::project::ProjectError) -> String {
    use crate::project::ProjectError as E;
    match error {
        E::Read { path, error } => {
            t!("error-project-read", path = path.display(), reason = error)
        }
        E::Malformed {
            path,
            line,
            column,
            reason,
        } => t!(
            "error-project-malformed",
            path = path.display(),
            line = line,
            column = column,
            reason = reason
        ),
        E::NoVersion { path } => t!(
            "error-project-no-version",
            path = path.display(),
            version = crate::project::CURRENT_VERSION
        ),
        E::TooNew {
            path,
            found,
            supported,
        } => t!(
            "error-project-too-new",
            path = path.display(),
            found = found,
            supported = supported
        ),
        E::Invalid { .. } | E::Write(_) => error.to_string(),
    }
}
