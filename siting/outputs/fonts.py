"""The one font every picture is drawn in: Noto Sans SC, shipped as a package so that a document
never depends on a system font; registered with matplotlib, with :func:`drawable` for text
from data that holds characters the font has no glyph for."""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties


def font_path() -> Path:
    """The shipped CJK font (Noto Sans SC Regular, SIL OFL 1.1)."""
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


def font() -> FontProperties:
    """The shipped font registered with matplotlib and as properties for every text."""
    from matplotlib import font_manager

    path = str(font_path())
    if path not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path)


def drawable(text: object) -> str:
    """``text`` as the font can draw it: line and paragraph separators, control characters and
    characters the font has no glyph for become spaces (a name from data may hold any of them;
    matplotlib would warn and draw boxes)."""
    face = _face()
    out = []
    for ch in str(text):
        kind = unicodedata.category(ch)
        missing = kind[0] == "C" or kind in ("Zl", "Zp") or face.get_char_index(ord(ch)) == 0
        out.append(" " if missing else ch)
    return " ".join("".join(out).split())


@functools.cache
def _face() -> Any:
    """The shipped font as FreeType opened it for matplotlib (glyph lookups per character: 0.02
    s, where reading the whole character map with fontTools took 0.18 s of every run)."""
    from matplotlib.font_manager import get_font

    return get_font(str(font_path()))
