//! The app's two languages (assets/i18n/en and zh-HK): both files parse and hold the same
//! messages with the same variables, every message the code asks for exists and every message
//! is used, no Chinese message is left in English (apart from `SAME_IN_BOTH`), the Chinese is
//! Traditional as Hong Kong writes it (OpenCC's `s2hk` and `t2hk` leave every string
//! unchanged), and the fonts the app loads (the system's Noto Sans CJK HK face and the bundled
//! subset) have a glyph for every character of both languages. Also: the locale picks the
//! language, and the settings file keeps the choice.
//!
//! OpenCC runs in the project's `.venv` (scripts/setup.sh installs `opencc` there). On CI
//! (CI=true) a missing OpenCC or system CJK font fails the tests; elsewhere they say so and
//! skip that part.
#![cfg(feature = "gui")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use mattebox::app::fonts;
use mattebox::app::i18n::{self, Language, MessageText};
use mattebox::app::settings::Settings;

/// Messages that read the same in both languages: names, units and numbers only.
const SAME_IN_BOTH: &[&str] = &[
    // "Mattebox": the program's name.
    "title-empty",
    // "wgpu: …": the graphics library's name and the adapter's.
    "status-wgpu",
    // "passes 3/6": the job's name is a translated variable, the rest is numbers.
    "status-job",
    // "24.0 fps".
    "timeline-fps",
];

/// Held by the tests that switch the app's language (one value for the whole process).
static LANGUAGE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn on_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn messages(language: Language) -> BTreeMap<String, MessageText> {
    let list = i18n::messages(language)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", language.code()));
    let count = list.len();
    let map: BTreeMap<String, MessageText> = list.into_iter().map(|m| (m.id.clone(), m)).collect();
    assert_eq!(map.len(), count, "{} has a message twice", language.code());
    map
}

#[test]
fn both_languages_hold_the_same_messages_with_the_same_variables() {
    let en = messages(Language::English);
    let zh = messages(Language::ChineseHongKong);
    assert!(en.len() > 200, "only {} English messages?", en.len());
    let en_ids: BTreeSet<&String> = en.keys().collect();
    let zh_ids: BTreeSet<&String> = zh.keys().collect();
    assert_eq!(
        en_ids.difference(&zh_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "English messages with no zh-HK translation"
    );
    assert_eq!(
        zh_ids.difference(&en_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "zh-HK messages that English does not have"
    );
    for (id, m) in &en {
        assert_eq!(
            m.variables, zh[id].variables,
            "{id}: the translation uses other variables"
        );
    }
    // What the app formats is what the files say, with the variables filled in.
    assert_eq!(
        i18n::tr_in(
            Language::English,
            "title-doc",
            &[("project", "a.json".into()), ("frame", "1001".into())]
        ),
        "Mattebox — a.json — frame 1001"
    );
    assert_eq!(
        i18n::tr_in(
            Language::ChineseHongKong,
            "title-doc",
            &[("project", "a.json".into()), ("frame", "1001".into())]
        ),
        "Mattebox — a.json — 第 1001 幀"
    );
    // No isolation marks (U+2068, U+2069) around placeables: egui would draw boxes.
    let with_path = i18n::tr_in(
        Language::ChineseHongKong,
        "status-saved",
        &[("path", "/tmp/鏡頭 01.json".into())],
    );
    assert_eq!(with_path, "已儲存 /tmp/鏡頭 01.json");
    // A message no file has comes back as its id (the tests above and below keep that from
    // happening in the app).
    assert_eq!(
        i18n::tr_in(Language::ChineseHongKong, "no-such-message", &[]),
        "no-such-message"
    );
}

#[test]
fn no_message_is_left_untranslated() {
    let en = messages(Language::English);
    let zh = messages(Language::ChineseHongKong);
    let mut same = Vec::new();
    for (id, m) in &en {
        let listed = SAME_IN_BOTH.contains(&id.as_str());
        let equal = zh[id].text == m.text;
        if equal != listed {
            same.push(format!(
                "{id}: {:?} / {:?} (listed: {listed})",
                m.text, zh[id].text
            ));
        }
    }
    assert!(
        same.is_empty(),
        "messages the same in both languages but not in SAME_IN_BOTH, or listed but translated:\n{}",
        same.join("\n")
    );
    // Every translated message says something in Chinese, or is a name and numbers with
    // Chinese punctuation (`{ $id }  （{ $licence }）`).
    for (id, m) in &zh {
        if SAME_IN_BOTH.contains(&id.as_str()) {
            continue;
        }
        assert!(
            !m.text.is_ascii(),
            "{id}: {:?} has no Chinese in it",
            m.text
        );
    }
}

/// Every `t!("id")`, `tr("id")` and `tr_in(…, "id")` of src/app/ names a message, and every
/// message is named somewhere in src/app/ (no dead translations).
#[test]
fn every_message_the_code_uses_exists_and_every_message_is_used() {
    let en = messages(Language::English);
    let mut used = BTreeSet::new();
    let mut literals = BTreeSet::new();
    for entry in std::fs::read_dir(common::repo().join("src/app")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        // The code, not its comments (whose examples name no real message).
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        for marker in ["t!(\"", "tr(\"", "tr_in(language, \"", "tr_in(self, \""] {
            for (at, _) in text.match_indices(marker) {
                // A whole name: not `format!(` or `eprintln!(`.
                let before = text[..at].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' {
                    continue;
                }
                let rest = &text[at + marker.len()..];
                if let Some(id) = rest.split('"').next() {
                    used.insert(id.to_string());
                }
            }
        }
        for literal in text.split('"').skip(1).step_by(2) {
            literals.insert(literal.to_string());
        }
    }
    assert!(
        used.len() > 150,
        "only {} message ids found in src/app",
        used.len()
    );
    let unknown: Vec<&String> = used.iter().filter(|id| !en.contains_key(*id)).collect();
    assert!(
        unknown.is_empty(),
        "the code asks for messages the files lack: {unknown:?}"
    );
    let unused: Vec<&String> = en.keys().filter(|id| !literals.contains(*id)).collect();
    assert!(unused.is_empty(), "messages no code uses: {unused:?}");
}

/// OpenCC (`s2hk`: Simplified to Hong Kong Traditional, and `t2hk`: Traditional to Hong Kong's
/// standard forms) leaves every zh-HK string as it is: no Simplified character, no
/// Taiwan-only variant. The converter can fail: a Simplified string is changed.
#[test]
fn chinese_strings_are_hong_kong_traditional() {
    let zh = messages(Language::ChineseHongKong);
    let mut strings: Vec<String> = zh.values().map(|m| m.text.clone()).collect();
    let glossary = std::fs::read_to_string(common::repo().join("assets/i18n/glossary.md")).unwrap();
    strings.extend(glossary.lines().map(str::to_string));
    // A control: Simplified text that OpenCC must change (so a no-op converter fails).
    let control = "导出图层".to_string();
    strings.push(control.clone());
    let python = common::repo().join(".venv/bin/python");
    let script = r#"
import json, sys
try:
    import opencc
except ImportError as e:
    print(e, file=sys.stderr)
    sys.exit(3)
strings = json.load(sys.stdin)
out = {name: [opencc.OpenCC(name).convert(s) for s in strings] for name in ("s2hk", "t2hk")}
json.dump(out, sys.stdout, ensure_ascii=False)
"#;
    let child = Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !on_ci(),
                "{}: {e}; run `bash scripts/setup.sh`",
                python.display()
            );
            eprintln!(
                "skipped: {}: {e} (run `bash scripts/setup.sh`)",
                python.display()
            );
            return;
        }
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(serde_json::to_string(&strings).unwrap().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(
            !on_ci(),
            "{why}: scripts/setup.sh installs opencc into .venv"
        );
        eprintln!("skipped: {why} (run `bash scripts/setup.sh`)");
        return;
    }
    assert!(
        out.status.success(),
        "OpenCC failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let converted: BTreeMap<String, Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    for (config, results) in &converted {
        assert_eq!(results.len(), strings.len());
        let control_out = &results[strings.len() - 1];
        if config == "s2hk" {
            assert_eq!(
                control_out, "導出圖層",
                "OpenCC s2hk did not convert the control"
            );
        }
        let changed: Vec<String> = strings[..strings.len() - 1]
            .iter()
            .zip(results)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{a:?} -> {b:?}"))
            .collect();
        assert!(
            changed.is_empty(),
            "OpenCC {config} changes these strings (not Hong Kong Traditional):\n{}",
            changed.join("\n")
        );
    }
}

/// Every character of both languages' strings has a glyph in the fonts the app loads: egui's
/// own plus the bundled subset, and egui's plus the system's Noto Sans CJK HK face. egui's
/// own fonts alone lack the Chinese ones (so the check can fail).
#[test]
fn the_fonts_have_every_character_of_both_languages() {
    let mut chars = i18n::characters(Language::English);
    let chinese = i18n::characters(Language::ChineseHongKong);
    assert!(
        chinese.len() > 300,
        "only {} zh-HK characters?",
        chinese.len()
    );
    chars.extend(chinese.iter().copied());

    let egui_only = fonts::definitions(None);
    let lacking = fonts::missing(&egui_only, chinese.iter().copied());
    assert!(
        lacking.len() > 300,
        "egui's own fonts have Chinese? they lack only {}",
        lacking.len()
    );
    assert!(
        fonts::missing(&egui_only, i18n::characters(Language::English)).is_empty(),
        "egui's own fonts lack some English UI text"
    );

    let (bundled, data) = fonts::bundled().unwrap();
    assert_eq!(bundled.family, "Noto Sans CJK HK");
    let size = data.len();
    assert!(
        (300_000..=2_000_000).contains(&size),
        "the bundled subset is {size} bytes"
    );
    let with_bundled = fonts::definitions(Some((data, bundled.index)));
    let missing = fonts::missing(&with_bundled, chars.iter().copied());
    assert!(
        missing.is_empty(),
        "the bundled subset lacks {:?}: run `.venv/bin/python scripts/make_font_subset.py`",
        missing.iter().collect::<String>()
    );
    // Common Traditional text beyond the UI's: a sentence of a Hong Kong newspaper's kind.
    let sample = "香港電影後期製作公司今日發表全新視覺特效作品，導演與攝影師在維多利亞港拍攝夜景。";
    let missing = fonts::missing(&with_bundled, sample.chars());
    assert!(
        missing.is_empty(),
        "the subset lacks common characters {missing:?}"
    );

    match fonts::find_system() {
        Ok((font, data)) => {
            assert_eq!(font.family, "Noto Sans CJK HK", "{font:?}");
            let with_system = fonts::definitions(Some((data, font.index)));
            let missing = fonts::missing(&with_system, chars.iter().copied());
            assert!(missing.is_empty(), "{font:?} lacks {missing:?}");
        }
        Err(why) => {
            assert!(!on_ci(), "on CI the system CJK font must be there: {why}");
            eprintln!("skipped the system font: {why}");
        }
    }
}

#[test]
fn the_locale_picks_the_language() {
    use Language::{ChineseHongKong as Zh, English as En};
    for (locale, want) in [
        ("zh_HK.UTF-8", Some(Zh)),
        ("zh-HK", Some(Zh)),
        ("zh_TW.UTF-8", Some(Zh)),
        ("zh_MO", Some(Zh)),
        ("zh-Hant-HK", Some(Zh)),
        ("zh", Some(Zh)),
        ("zh_CN.UTF-8", None),
        ("zh-Hans", None),
        ("en_GB.UTF-8", Some(En)),
        ("en", Some(En)),
        ("C", Some(En)),
        ("C.UTF-8", Some(En)),
        ("POSIX", Some(En)),
        ("fr_FR.UTF-8", None),
        ("", None),
    ] {
        assert_eq!(Language::from_locale(locale), want, "{locale:?}");
    }
    // LC_ALL over LC_MESSAGES over LANG, the first that is set and not empty; an unsupported
    // one gives English (it is still the user's choice over LANG).
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let pick = |vars| i18n::system_language(env(vars));
    assert_eq!(pick(&[("LANG", "zh_HK.UTF-8")]).0, Zh);
    assert_eq!(
        pick(&[("LANG", "zh_HK.UTF-8")]).1,
        "LANG=zh_HK.UTF-8",
        "the log says where the language came from"
    );
    assert_eq!(
        pick(&[("LANG", "zh_HK.UTF-8"), ("LC_MESSAGES", "en_US.UTF-8")]).0,
        En
    );
    assert_eq!(
        pick(&[("LC_ALL", "zh_HK.UTF-8"), ("LC_MESSAGES", "en_US.UTF-8")]).0,
        Zh
    );
    assert_eq!(pick(&[("LC_ALL", ""), ("LANG", "zh_HK.UTF-8")]).0, Zh);
    assert_eq!(pick(&[("LANG", "de_DE.UTF-8")]).0, En);
}

/// The settings file keeps the language chosen, written atomically (no temp file left), and a
/// saved choice is what the app starts in (unless `MATTEBOX_LANG` says otherwise).
#[test]
fn the_settings_keep_the_language() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config/settings.json");
    assert_eq!(Settings::load_from(&path).unwrap(), Settings::default());
    let chosen = Settings {
        language: Some("zh-HK".into()),
    };
    chosen.save_to(&path).unwrap();
    assert_eq!(Settings::load_from(&path).unwrap(), chosen);
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["settings.json"], "a temp file was left behind");
    std::fs::write(&path, "{ not json").unwrap();
    let err = Settings::load_from(&path).unwrap_err();
    assert!(err.contains("settings.json"), "{err}");

    if std::env::var_os("MATTEBOX_LANG").is_none() {
        let (language, why) = i18n::startup_language(Some("zh-HK"));
        assert_eq!(
            (language, why.as_str()),
            (Language::ChineseHongKong, "the settings")
        );
        let (language, _) = i18n::startup_language(Some("en"));
        assert_eq!(language, Language::English);
    }
}

/// The library's shot and frame errors as the app shows them: in English exactly the library's
/// own text (what the command line prints), in zh-HK translated with the file name as it is.
#[test]
fn shot_errors_are_translated_with_their_file_names_kept() {
    let _language = LANGUAGE.lock().unwrap_or_else(|e| e.into_inner());
    use mattebox::shot::{FrameRange, ShotError};
    use std::path::PathBuf;
    let path = PathBuf::from("/shots/鏡頭 A/plate.1001.exr");
    let range = FrameRange {
        first: 1001,
        last: 1010,
    };
    let errors = [
        ShotError::NotFound { path: path.clone() },
        ShotError::Io {
            path: path.clone(),
            source: std::io::Error::other("permission denied"),
        },
        ShotError::NoFrames { path: path.clone() },
        ShotError::NotAnImageFile { path: path.clone() },
        ShotError::Empty { path: path.clone() },
        ShotError::NotAnImage { path: path.clone() },
        ShotError::UnsupportedFormat {
            path: path.clone(),
            format: "WebP".into(),
        },
        ShotError::Unsupported {
            path: path.clone(),
            what: "a deep EXR".into(),
        },
        ShotError::Decode {
            path: path.clone(),
            reason: "truncated".into(),
        },
        ShotError::TooLarge {
            path: path.clone(),
            width: 90000,
            height: 90000,
            max_pixels: 1 << 30,
        },
        ShotError::MemoryLimit {
            path: path.clone(),
            needed_bytes: 1 << 40,
            max_alloc_bytes: 1 << 33,
        },
        ShotError::NoNumberedFrames {
            path: path.clone(),
            range,
        },
        ShotError::RangeEmpty {
            path: path.clone(),
            range,
            first: 1,
            last: 6,
        },
    ];
    let shown = path.display().to_string();
    for error in &errors {
        i18n::set_language(Language::English);
        assert_eq!(i18n::shot_error(error), error.to_string());
        i18n::set_language(Language::ChineseHongKong);
        let chinese = i18n::shot_error(error);
        i18n::set_language(Language::English);
        assert_ne!(chinese, error.to_string(), "{error:?} is not translated");
        assert!(chinese.contains(&shown), "{chinese} lost the file name");
        assert!(
            chinese
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{chinese}"
        );
    }
}

/// The same for a project file's errors, on real files: a missing one, one that is not JSON, one
/// with no version and one from a newer Mattebox; a field-level problem stays as the library
/// words it.
#[test]
fn project_errors_are_translated_with_their_file_names_kept() {
    let _language = LANGUAGE.lock().unwrap_or_else(|e| e.into_inner());
    use mattebox::project::Project;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: Option<&str>| {
        let path = dir.path().join(name);
        if let Some(text) = text {
            std::fs::write(&path, text).unwrap();
        }
        path
    };
    let cases = [
        file("missing 專案.mattebox.json", None),
        file("broken.mattebox.json", Some("{ \"version\": 1,\n  oops")),
        file("no_version.mattebox.json", Some("{ \"shot\": {} }")),
        file("newer.mattebox.json", Some("{ \"version\": 99 }")),
    ];
    for path in &cases {
        let error = Project::load(path).expect_err("these files do not load");
        i18n::set_language(Language::English);
        assert_eq!(i18n::project_error(&error), error.to_string());
        i18n::set_language(Language::ChineseHongKong);
        let chinese = i18n::project_error(&error);
        i18n::set_language(Language::English);
        assert_ne!(chinese, error.to_string(), "{error:?} is not translated");
        assert!(
            chinese.contains(&path.display().to_string()),
            "{chinese} lost the file name"
        );
        assert!(
            chinese
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{chinese}"
        );
    }
}
