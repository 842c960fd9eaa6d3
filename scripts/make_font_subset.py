#!/usr/bin/env python3
"""Makes the app's bundled CJK font: assets/fonts/NotoSansCJKhk-Regular-subset.otf.

The Hong Kong face of Noto Sans CJK Regular (Debian's fonts-noto-cjk, SIL OFL 1.1), chosen by
its family name from the collection, cut down with fontTools' subsetter (what `pyftsubset`
runs) to:
  - every character of the app's translations (assets/i18n/*/mattebox.ftl),
  - the 5,401 frequently used Traditional characters (Big5's first level, 常用字),
  - CJK symbols and punctuation (U+3000-303F) and the full-width forms (U+FF00-FFEF),
  - printable ASCII.
No hinting and no OpenType layout features (egui maps characters to glyphs one to one).
The app loads it only when the system has no CJK font (src/app/fonts.rs). It also writes
assets/fonts/OFL.txt: the font's copyright and the licence text.

    .venv/bin/python scripts/make_font_subset.py [SOURCE.ttc]

scripts/setup.sh installs fonttools into .venv and fonts-noto-cjk; run this again after
changing a translation (tests/i18n.rs fails while the subset lacks a character the
translations use).
"""

import pathlib
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = pathlib.Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FAMILY = "Noto Sans CJK HK"
OUT = ROOT / "assets/fonts/NotoSansCJKhk-Regular-subset.otf"
LICENCE = ROOT / "assets/fonts/OFL.txt"
DEBIAN_COPYRIGHT = pathlib.Path("/usr/share/doc/fonts-noto-cjk/copyright")


def hk_face(path: pathlib.Path) -> int:
    """The index of the Hong Kong face in the collection, by its family name."""
    for index, font in enumerate(TTCollection(str(path)).fonts):
        if font["name"].getDebugName(1) == FAMILY:
            return index
    sys.exit(f"make_font_subset.py: {path} has no face named {FAMILY!r}")


def big5_level1() -> str:
    """Big5's frequently used characters (常用字, 0xA440-0xC67E), in code order."""
    chars = []
    for hi in range(0xA4, 0xC7):
        for lo in [*range(0x40, 0x7F), *range(0xA1, 0xFF)]:
            if (hi, lo) > (0xC6, 0x7E):
                break
            try:
                chars.append(bytes([hi, lo]).decode("big5"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def translation_chars() -> str:
    chars = set()
    for ftl in sorted((ROOT / "assets/i18n").glob("*/mattebox.ftl")):
        chars.update(ftl.read_text(encoding="utf-8"))
    return "".join(sorted(c for c in chars if c.isprintable()))


def ofl_text() -> str:
    """The SIL OFL 1.1 text as Debian's copyright file carries it (de-indented)."""
    lines = DEBIAN_COPYRIGHT.read_text(encoding="utf-8").splitlines()
    # The licence's own paragraph (the "Files:" stanzas name it too, without its text).
    start = next(
        i + 1
        for i, line in enumerate(lines[:-1])
        if line == "License: SIL-1.1" and lines[i + 1].startswith(" ")
    )
    out = []
    for line in lines[start:]:
        if not line.startswith(" "):
            break
        text = line[1:]
        out.append("" if text == "." else text)
    return "\n".join(out) + "\n"


def main() -> None:
    source = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    index = hk_face(source)
    options = subset.Options()
    options.font_number = index
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.recalc_timestamp = False
    font = subset.load_font(str(source), options)
    text = translation_chars() + big5_level1()
    unicodes = [*range(0x20, 0x7F), *range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text, unicodes=unicodes)
    subsetter.subset(font)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(OUT), options)
    names = font["name"]
    LICENCE.write_text(
        f"{OUT.name}: a subset of {names.getDebugName(4)} "
        f"(version {names.getDebugName(5)}), made by scripts/make_font_subset.py from\n"
        f"{source.name} (Debian's fonts-noto-cjk). It is a Modified Version under the licence\n"
        "below, distributed under that licence; the font's name does not use the Reserved\n"
        "Font Name 'Source'.\n\n"
        f"{names.getDebugName(0)}\n\n{ofl_text()}",
        encoding="utf-8",
    )
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size} bytes, "
          f"{len(font.getGlyphOrder())} glyphs, face {index} of {source}")


if __name__ == "__main__":
    main()
