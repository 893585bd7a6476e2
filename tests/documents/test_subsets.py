"""Font subsets: a valid TrueType program with the page's glyphs, composites renumbered."""

from __future__ import annotations

import io
import struct

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFile

from trustsvc.documents.fonts import find_cjk_font, find_latin_font, font_runs, load_cjk_font
from trustsvc.documents.subsets import subset_program


@pytest.fixture(scope="module")
def fonts() -> dict[str, TTFont]:
    """The registered fonts by role: the CJK font and its Latin companion."""
    name = load_cjk_font(find_cjk_font())
    cjk = pdfmetrics.getFont(font_runs(name, "证")[0][0])
    latin = pdfmetrics.getFont(font_runs(name, "A")[0][0])
    assert isinstance(cjk, TTFont) and isinstance(latin, TTFont)
    return {"cjk": cjk, "latin": latin}


def _components(parsed: TTFontFile, glyph: int) -> list[int]:
    glyf = parsed.get_table("glyf")
    start, end = parsed.glyphPos[glyph], parsed.glyphPos[glyph + 1]
    if end - start < 10 or struct.unpack_from(">h", glyf, start)[0] >= 0:
        return []
    found, offset, more = [], start + 10, True
    while more:
        flags, index = struct.unpack_from(">HH", glyf, offset)
        found.append(index)
        offset += 4 + (4 if flags & 0x0001 else 2)
        offset += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
        more = bool(flags & 0x0020)
    return found


@pytest.mark.parametrize(("role", "text"), [("latin", "Aé0ﬁ Ǆ"), ("cjk", "营业执照证照编号有效期")])
def test_a_subset_is_a_valid_font_with_just_those_glyphs(
    fonts: dict[str, TTFont], role: str, text: str
) -> None:
    font = fonts[role]
    chars = [ch for ch in dict.fromkeys(text) if ord(ch) in font.face.charToGlyph]
    assert len(chars) >= 5
    program = subset_program(font, chars)
    # validate=1: reportlab checks the file's checksum adjustment and table directory.
    parsed = TTFontFile(io.BytesIO(program), validate=1)
    glyphs = len(parsed.glyphPos) - 1
    assert glyphs < len(font.face.glyphPos) // 10
    for code, ch in enumerate(chars, start=1):
        new = parsed.charToGlyph[code]
        assert 0 < new < glyphs
        # The glyph keeps its advance width.
        assert parsed.hmetrics[new][0] == font.face.hmetrics[font.face.charToGlyph[ord(ch)]][0]
    # Every composite glyph refers to glyphs inside the subset.
    for glyph in range(glyphs):
        assert all(0 <= part < glyphs for part in _components(parsed, glyph))


def test_composite_glyphs_bring_their_components() -> None:
    # In DejaVu Sans (installed with the CJK font), é is e with an acute
    # accent: a composite of two glyphs.
    path = find_latin_font()
    assert path.name == "DejaVuSans.ttf"
    latin = TTFont("test-subsets-dejavu", str(path))
    program = subset_program(latin, ["é"])
    parsed = TTFontFile(io.BytesIO(program), validate=1)
    composite = parsed.charToGlyph[1]
    parts = _components(parsed, composite)
    assert len(parts) >= 2 and all(part != 0 for part in parts)
