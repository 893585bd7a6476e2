"""The stamp (印章图样) of a department's seal, drawn from the department's name.

Drawn as the State Council's rules on official seals (国发〔1999〕25号) describe a
round seal: 4.2 cm across, a five-pointed star in the centre, the name around it
"自左而右环行" (along the upper arc, left to right, each character upright
towards the outside), and an optional line (the seal's purpose) under the star;
a department's electronic seal has no national emblem, so the star stands in
for it. All in one seal red with nothing behind it, so the stamp can be laid
over printed text as a signature's visible appearance.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from trustsvc.documents.fonts import char_widths, configure_reportlab, document_lock, font_runs
from trustsvc.errors import InvalidInputError

#: Seal red, #D40000.
SEAL_RED = (0.83, 0.0, 0.0)

# Proportions of a 42 mm seal, as fractions of the diameter.
_RING_WIDTH = 0.032
_NAME_SIZE = 0.15  # character height for a short name (about 6.3 mm at 42 mm)
_NAME_GAP = 0.03  # between the ring and the tops of the characters
_STAR_RADIUS = 0.16  # outer radius of the star (a 13.4 mm star at 42 mm)
_CAPTION_SIZE = 0.085
_CAPTION_MIDDLE = -0.27  # the caption's middle, below the centre
_WIDEST_STEP = 34.0  # degrees between two characters of a short name
_SMALLEST_NAME_SIZE = 0.06  # below this a name is no longer legible on paper
# The name's characters are drawn condensed, as seal engravers do, so that long
# names keep their height; the width factor never goes below the minimum.
_NAME_CONDENSED = 0.85
_NAME_MOST_CONDENSED = 0.6
# Where a CJK glyph's ink is centred vertically, as a fraction of the font size
# above the baseline (the ideographic em box spans about -0.12 to 0.88).
_GLYPH_MIDDLE = 0.36


@dataclass(frozen=True)
class _Glyph:
    """One character of the name, relative to the seal's centre."""

    char: str
    font: str
    x: float
    y: float
    #: Degrees counter-clockwise; 0 is upright at the top of the seal.
    rotation: float


@dataclass(frozen=True)
class _Layout:
    """Everything about a stamp that depends only on its name, size and caption."""

    ring_radius: float
    ring_width: float
    glyphs: tuple[_Glyph, ...]
    name_size: float
    name_scale: float
    star: tuple[tuple[float, float], ...]
    caption: tuple[tuple[str, str], ...]
    caption_size: float
    caption_x: float
    caption_y: float


def draw_stamp(
    canvas: Canvas,
    centre_x: float,
    centre_y: float,
    diameter: float,
    name: str,
    font_name: str,
    caption: str | None = None,
) -> None:
    """Draw the stamp of department ``name`` centred at (centre_x, centre_y), in points."""
    layout = _layout(name.strip(), font_name, round(diameter, 3), _caption(caption))
    canvas.saveState()
    canvas.translate(centre_x, centre_y)
    canvas.setFillColorRGB(*SEAL_RED)
    canvas.setStrokeColorRGB(*SEAL_RED)

    canvas.setLineWidth(layout.ring_width)
    canvas.circle(0, 0, layout.ring_radius, stroke=1, fill=0)

    star = canvas.beginPath()
    star.moveTo(*layout.star[0])
    for point in layout.star[1:]:
        star.lineTo(*point)
    star.close()
    canvas.drawPath(star, stroke=0, fill=1)

    for glyph in layout.glyphs:
        canvas.saveState()
        canvas.translate(glyph.x, glyph.y)
        canvas.rotate(glyph.rotation)
        canvas.scale(layout.name_scale, 1)
        canvas.setFont(glyph.font, layout.name_size)
        canvas.drawCentredString(0, -_GLYPH_MIDDLE * layout.name_size, glyph.char)
        canvas.restoreState()

    if layout.caption:
        text = canvas.beginText(layout.caption_x, layout.caption_y)
        for font, run in layout.caption:
            text.setFont(font, layout.caption_size)
            text.textOut(run)
        canvas.drawText(text)
    canvas.restoreState()


def render_stamp_pdf(
    name: str, font_name: str, diameter_mm: float = 42, caption: str | None = None
) -> bytes:
    """A one-page PDF exactly the stamp's size, holding the stamp alone on no background.

    Suitable as the background of a pyHanko stamp style. Cached: a department
    stamps with the same seal again and again.
    """
    if not 10 <= diameter_mm <= 100:
        raise InvalidInputError(f"a seal's diameter must be 10-100 mm, not {diameter_mm}")
    return _render_stamp_pdf(name.strip(), font_name, float(diameter_mm), _caption(caption))


@functools.lru_cache(maxsize=256)
def _render_stamp_pdf(name: str, font_name: str, diameter_mm: float, caption: str | None) -> bytes:
    side = diameter_mm * mm
    buffer = io.BytesIO()
    # reportlab keeps a font's subset state on the shared font object: one document at a time.
    configure_reportlab()
    with document_lock(font_name):
        # With the CJK font as the initial font, no unembedded Helvetica is referenced.
        canvas = Canvas(
            buffer,
            pagesize=(side, side),
            pageCompression=1,
            invariant=1,
            initialFontName=font_name,  # type: ignore[arg-type]  # the stub says float
        )
        canvas.setTitle(f"印章图样 {name}")
        canvas.setAuthor(name)
        canvas.setCreator("trustsvc")
        draw_stamp(canvas, side / 2, side / 2, side, name, font_name, caption)
        canvas.showPage()
        canvas.save()
    return buffer.getvalue()


def _caption(caption: str | None) -> str | None:
    if caption is None:
        return None
    return caption.strip() or None


@functools.lru_cache(maxsize=256)
def _layout(name: str, font_name: str, diameter: float, caption: str | None) -> _Layout:
    if not name:
        raise InvalidInputError("a stamp needs the department's name")
    radius = diameter / 2
    ring_width = diameter * _RING_WIDTH
    # Keep the whole ring inside the box, so the stamp is exactly diameter wide.
    ring_radius = radius - ring_width / 2 - 0.25
    text_top = ring_radius - ring_width / 2 - diameter * _NAME_GAP

    widths = [w if w > 0 else 1.0 for w in char_widths(font_name, name)]
    count = len(name)
    # Names spread over 200 degrees, long ones over up to 240; a name of a few
    # characters keeps them close together instead of scattering them round the ring.
    span = min(240.0, max(200.0, 200.0 + 4.0 * (count - 12)), _WIDEST_STEP * (count - 1))
    step = math.radians(span / (count - 1)) if count > 1 else 0.0

    size = diameter * _NAME_SIZE
    scale = _NAME_CONDENSED
    for _ in range(4):  # the arc grows as characters shrink; settles in a few rounds
        text_radius = text_top - size * 0.5
        if count == 1:
            break
        room = text_radius * step * 0.9  # leave a tenth of the arc between characters
        widest = max(widths) * size
        scale = min(_NAME_CONDENSED, room / widest)
        if scale < _NAME_MOST_CONDENSED:
            scale = _NAME_MOST_CONDENSED
            size = room / (max(widths) * scale)
    text_radius = text_top - size * 0.5
    if size < diameter * _SMALLEST_NAME_SIZE:
        raise InvalidInputError(
            f"department name {name!r} ({count} characters) is too long for a seal "
            f"{diameter / mm:.0f} mm across"
        )

    glyphs = []
    start = 90.0 + span / 2 if count > 1 else 90.0
    for index, char in enumerate(name):
        angle = start - index * math.degrees(step)
        theta = math.radians(angle)
        glyphs.append(
            _Glyph(
                char=char,
                font=font_runs(font_name, char)[0][0],
                x=text_radius * math.cos(theta),
                y=text_radius * math.sin(theta),
                rotation=angle - 90.0,
            )
        )

    star_outer = diameter * _STAR_RADIUS
    star_inner = star_outer * math.sin(math.radians(18)) / math.sin(math.radians(54))
    star = tuple(
        (
            (star_outer if k % 2 == 0 else star_inner) * math.cos(math.radians(90 + 36 * k)),
            (star_outer if k % 2 == 0 else star_inner) * math.sin(math.radians(90 + 36 * k)),
        )
        for k in range(10)
    )

    caption_runs: tuple[tuple[str, str], ...] = ()
    caption_size = diameter * _CAPTION_SIZE
    caption_x = caption_y = 0.0
    if caption:
        natural = sum(char_widths(font_name, caption))
        middle = diameter * _CAPTION_MIDDLE
        # The caption must stay inside the ring, and clear of the name's last
        # characters where a long name's arc comes down beside it.
        inside_ring = ring_radius - ring_width / 2 - diameter * _NAME_GAP
        lowest_name = text_radius * math.sin(math.radians(90 - span / 2)) - size * 0.6
        for _ in range(3):
            half_height = caption_size * 0.5
            room = _chord(inside_ring, middle - half_height)
            if middle + half_height > lowest_name:
                room = min(room, _chord(text_radius - size * 0.6, middle + half_height))
            caption_size = min(caption_size, room * 0.95 / natural)
        if caption_size < diameter * _SMALLEST_NAME_SIZE * 0.8:
            raise InvalidInputError(f"stamp caption {caption!r} is too long for the seal")
        caption_x = -natural * caption_size / 2
        caption_y = middle - caption_size * _GLYPH_MIDDLE
        caption_runs = tuple(font_runs(font_name, caption))

    return _Layout(
        ring_radius=ring_radius,
        ring_width=ring_width,
        glyphs=tuple(glyphs),
        name_size=size,
        name_scale=scale,
        star=star,
        caption=caption_runs,
        caption_size=caption_size,
        caption_x=caption_x,
        caption_y=caption_y,
    )


def _chord(radius: float, y: float) -> float:
    """Width of a circle of this radius at height y from its centre."""
    return 2 * math.sqrt(max(0.0, radius * radius - y * y))
