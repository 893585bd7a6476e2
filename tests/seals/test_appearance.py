"""The stamp: a page exactly its size, the name read left to right round the top."""

from __future__ import annotations

import io
import math

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.documents.test_render import read_page
from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.errors import InvalidInputError
from trustsvc.seals.appearance import render_stamp_pdf

NAME = "杭州市西湖区市场监督管理局"
MM = 72 / 25.4


@pytest.fixture(scope="module")
def font_name() -> str:
    return load_cjk_font(find_cjk_font())


def media_box(pdf: bytes) -> list[float]:
    reader = PdfFileReader(io.BytesIO(pdf))
    pages = reader.root["/Pages"]
    assert int(pages["/Count"]) == 1
    return [float(v) for v in pages["/Kids"][0].get_object()["/MediaBox"]]


@pytest.mark.parametrize("diameter", [42.0, 38.0, 58.0])
def test_one_page_exactly_the_stamps_size(font_name: str, diameter: float) -> None:
    pdf = render_stamp_pdf(NAME, font_name, diameter_mm=diameter)
    assert media_box(pdf) == pytest.approx([0, 0, diameter * MM, diameter * MM])


def test_nothing_is_painted_behind_the_stamp(font_name: str) -> None:
    page = read_page(render_stamp_pdf(NAME, font_name, caption="电子证照专用章"))
    assert page.filled == []  # no background rectangle: the page shows through


@pytest.mark.parametrize(
    "name",
    [
        NAME,
        "民政局",
        "浙江省杭州市西湖区人民政府行政审批服务管理办公室",  # 24 characters
        "第2市场监督管理所",  # a digit, drawn by the Latin companion font
    ],
)
def test_the_name_reads_left_to_right_upright_round_the_top(font_name: str, name: str) -> None:
    diameter = 42 * MM
    centre = diameter / 2
    glyphs = read_page(render_stamp_pdf(name, font_name)).glyphs
    assert "".join(g.char for g in glyphs) == name
    angles = []
    for glyph in glyphs:
        # The glyph's middle, half an advance along its baseline from its origin.
        mid_x = (glyph.x + glyph.end_x) / 2 - centre
        mid_y = (glyph.y + glyph.end_y) / 2 - centre
        radius = math.hypot(mid_x, mid_y)
        assert radius < diameter / 2
        # Upright towards the outside: the glyph's up points away from the centre.
        up = glyph.up
        cosine = (up[0] * mid_x + up[1] * mid_y) / (math.hypot(*up) * radius)
        assert cosine > 0.99
        angles.append(math.degrees(math.atan2(mid_y, mid_x)) % 360)
    # Clockwise from the left over the top to the right: the angles fall (the
    # arc may reach below the horizontal on the right, past 360 degrees).
    unwrapped = [a - 360 if a > 270 else a for a in angles]
    assert unwrapped == sorted(unwrapped, reverse=True)
    # Spread symmetrically about the top.
    assert (unwrapped[0] + unwrapped[-1]) / 2 == pytest.approx(90, abs=0.5)
    assert unwrapped[0] - unwrapped[-1] <= 241
    if len(name) >= 12:
        assert unwrapped[0] - unwrapped[-1] >= 199


def test_a_long_name_gets_smaller_characters_that_stay_inside(font_name: str) -> None:
    short = read_page(render_stamp_pdf("杭州市民政局", font_name))
    long_name = "浙江省杭州市西湖区人民政府行政审批服务管理办公室第二分部"  # 27 characters
    long = read_page(render_stamp_pdf(long_name, font_name))
    assert max(g.size for g in long.glyphs) < max(g.size for g in short.glyphs)
    for glyph in long.glyphs:
        for x, y in ((glyph.x, glyph.y), (glyph.end_x, glyph.end_y)):
            assert math.hypot(x - 21 * MM, y - 21 * MM) < 21 * MM


def test_the_caption_is_horizontal_under_the_star(font_name: str) -> None:
    page = read_page(render_stamp_pdf(NAME, font_name, caption="电子证照专用章"))
    # Upright glyphs below the centre: the name's lowest characters are tilted.
    caption = [g for g in page.glyphs if abs(g.up[0]) < 1e-6 and g.y < 15 * MM]
    assert "".join(g.char for g in caption) == "电子证照专用章"
    left, right = caption[0].x, caption[-1].end_x
    assert (left + right) / 2 == pytest.approx(21 * MM)


def test_stamps_are_cached_per_name_size_and_caption(font_name: str) -> None:
    first = render_stamp_pdf(NAME, font_name, caption="电子证照专用章")
    assert render_stamp_pdf(NAME, font_name, caption="电子证照专用章") is first
    assert render_stamp_pdf(NAME, font_name, caption="行政许可专用章") != first
    assert render_stamp_pdf(NAME, font_name) != first
    assert render_stamp_pdf(NAME, font_name, diameter_mm=40, caption="电子证照专用章") != first


def test_impossible_stamps_are_refused(font_name: str) -> None:
    with pytest.raises(InvalidInputError, match="needs the department's name"):
        render_stamp_pdf("  ", font_name)
    with pytest.raises(InvalidInputError, match="too long for a seal"):
        render_stamp_pdf("某" * 80, font_name)
    with pytest.raises(InvalidInputError, match="diameter"):
        render_stamp_pdf(NAME, font_name, diameter_mm=5)
