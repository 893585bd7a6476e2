"""Rendering an e-license: data in, one A4 page of PDF out (pure: no I/O, no clock).

The page follows the shape of paper licenses: a framed page, the title large
at the top, the license number, the facts in a two-column table (or, for
approval decisions, header facts then paragraphs of text), the validity, the
issuing department and date at the bottom right where the round seal will sit,
the verification QR code at the bottom left, and the GB/T 36904 identifier in
small type. The seal itself is not drawn here: it is the appearance of the
seal signature, applied at ``RenderedLicense.seal_box``.

The output is deterministic (reportlab's invariant mode): the same data gives
the same bytes. Fonts are embedded as subsets. PDF/A-2b is not claimed: the
open-source reportlab canvas writes no XMP metadata or OutputIntent, which
PDF/A needs; see the README.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Literal

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from trustsvc.errors import LicenseTextTooLongError
from trustsvc.licenses.fonts import char_widths, document_lock, font_runs, text_width

PAGE_WIDTH, PAGE_HEIGHT = A4
_MARGIN = 36.0
_INK = (0.1, 0.1, 0.1)
_FRAME = (0.55, 0.12, 0.1)
_MUTED = (0.35, 0.35, 0.35)
#: The seal's diameter on the page, as on paper (42 mm is the common size).
SEAL_DIAMETER = 42 * mm
_QR_SIZE = 30 * mm
# The content area between the title block and the bottom block.
_CONTENT_LEFT = 78.0
_CONTENT_RIGHT = PAGE_WIDTH - 78.0
_CONTENT_TOP = PAGE_HEIGHT - 178.0
_CONTENT_BOTTOM = 262.0
_LABEL_WIDTH = 112.0
_SIZES = (12.0, 11.0, 10.0, 9.0, 8.0)
# Characters that must not start a line (GB/T 15834 usage): they stay with the text before.
_NO_LINE_START = set("，。、；：？！）》」』】〕,.;:?!)]%")


@dataclass(frozen=True)
class LicenseDocument:
    """What a license page shows, already in the words to print."""

    title_zh: str
    title_en: str | None
    style: Literal["table", "document"]
    rows: tuple[tuple[str, str], ...]
    holder_line: str
    issuer_name: str
    issue_date: date
    valid_from: date
    valid_until: date | None
    license_number: str
    identifier: str
    verify_url: str
    paragraphs: tuple[str, ...] = ()
    seal_caption: str | None = None


@dataclass(frozen=True)
class RenderedLicense:
    pdf: bytes
    #: (x1, y1, x2, y2) in points on page 1: where the seal signature goes.
    seal_box: tuple[float, float, float, float]
    page_size: tuple[float, float]


def chinese_date(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def validity_text(valid_from: date, valid_until: date | None) -> str:
    if valid_until is None:
        return f"{chinese_date(valid_from)} 至 长期"
    return f"{chinese_date(valid_from)} 至 {chinese_date(valid_until)}"


def wrap(text: str, font_name: str, size: float, width: float) -> list[str]:
    """Break text into lines no wider than ``width``; CJK text breaks between any characters.

    A Latin word is not split unless it is longer than a line, and closing
    punctuation never starts a line.
    """
    lines: list[str] = []
    for source in text.splitlines() or [""]:
        widths = char_widths(font_name, source)
        start, used, index = 0, 0.0, 0
        while index < len(source):
            advance = widths[index] * size
            if used + advance > width and index > start:
                cut = index
                if source[cut] in _NO_LINE_START:
                    cut += 1  # hang the punctuation rather than start a line with it
                elif source[cut].isascii() and source[cut].isalnum():
                    space = source.rfind(" ", start, cut)
                    if space > start:
                        cut = space + 1
                lines.append(source[start:cut].rstrip())
                start, used, index = cut, 0.0, cut
                continue
            used += advance
            index += 1
        lines.append(source[start:].rstrip())
    return lines


def _draw(canvas: Canvas, x: float, y: float, text: str, font_name: str, size: float) -> None:
    """Draw text starting at (x, y), each run in the font that has its glyphs."""
    if not text:
        return
    text_object = canvas.beginText(x, y)
    for run_font, run in font_runs(font_name, text):
        text_object.setFont(run_font, size)
        text_object.textOut(run)
    canvas.drawText(text_object)


def _draw_centred(
    canvas: Canvas, y: float, text: str, font_name: str, size: float, spacing: float = 0
) -> None:
    width = text_width(font_name, text, size) + spacing * max(len(text) - 1, 0)
    x = (PAGE_WIDTH - width) / 2
    if spacing:
        for ch in text:
            _draw(canvas, x, y, ch, font_name, size)
            x += text_width(font_name, ch, size) + spacing
    else:
        _draw(canvas, x, y, text, font_name, size)


def _draw_right(
    canvas: Canvas, right: float, y: float, text: str, font_name: str, size: float
) -> float:
    width = text_width(font_name, text, size)
    _draw(canvas, right - width, y, text, font_name, size)
    return width


def _frame(canvas: Canvas) -> None:
    canvas.setStrokeColorRGB(*_FRAME)
    canvas.setLineWidth(2.2)
    canvas.rect(_MARGIN, _MARGIN, PAGE_WIDTH - 2 * _MARGIN, PAGE_HEIGHT - 2 * _MARGIN)
    canvas.setLineWidth(0.6)
    inset = _MARGIN + 5
    canvas.rect(inset, inset, PAGE_WIDTH - 2 * inset, PAGE_HEIGHT - 2 * inset)


def _title_block(canvas: Canvas, document: LicenseDocument, font_name: str) -> None:
    canvas.setFillColorRGB(*_MUTED)
    _draw_right(
        canvas,
        _CONTENT_RIGHT,
        PAGE_HEIGHT - 66,
        f"证照编号：{document.license_number}",
        font_name,
        9,
    )
    canvas.setFillColorRGB(*_INK)
    title_size = 30.0 if len(document.title_zh) <= 6 else 24.0
    spacing = 12.0 if len(document.title_zh) <= 5 else 2.0
    _draw_centred(canvas, PAGE_HEIGHT - 118, document.title_zh, font_name, title_size, spacing)
    if document.title_en:
        canvas.setFillColorRGB(*_MUTED)
        _draw_centred(canvas, PAGE_HEIGHT - 140, document.title_en.upper(), font_name, 10, 1.0)
        canvas.setFillColorRGB(*_INK)


@dataclass(frozen=True)
class _Block:
    """Laid-out lines of one table row or paragraph."""

    label: str | None
    lines: tuple[str, ...]
    indent_first: float


def _layout_table(
    document: LicenseDocument, font_name: str, size: float
) -> tuple[list[_Block], float]:
    value_width = _CONTENT_RIGHT - _CONTENT_LEFT - _LABEL_WIDTH
    leading = size * 1.75
    blocks = [_Block(None, (document.holder_line,), 0)]
    height = leading * 1.4
    for label, value in document.rows:
        lines = tuple(wrap(value, font_name, size, value_width))
        blocks.append(_Block(label, lines, 0))
        height += leading * len(lines) + size * 0.6
    return blocks, height


def _layout_document(
    document: LicenseDocument, font_name: str, size: float
) -> tuple[list[_Block], float]:
    width = _CONTENT_RIGHT - _CONTENT_LEFT
    leading = size * 1.75
    blocks: list[_Block] = []
    height = 0.0
    for label, value in document.rows:
        lines = tuple(wrap(value, font_name, size, width - _LABEL_WIDTH))
        blocks.append(_Block(label, lines, 0))
        height += leading * len(lines)
    blocks.append(_Block(None, (document.holder_line,), 0))
    height += leading * 1.6
    indent = text_width(font_name, "国国", size)
    for paragraph in document.paragraphs:
        # Indent the first line by two characters, as Chinese prose is set.
        first, *rest = wrap(paragraph.strip(), font_name, size, width - indent) or [""]
        remainder = "".join(rest)
        paragraph_lines = (
            [first, *wrap(remainder, font_name, size, width)] if remainder else [first]
        )
        blocks.append(_Block(None, tuple(paragraph_lines), indent))
        height += leading * len(paragraph_lines) + size * 0.4
    return blocks, height


def _content(canvas: Canvas, document: LicenseDocument, font_name: str) -> None:
    available = _CONTENT_TOP - _CONTENT_BOTTOM
    layout = _layout_document if document.style == "document" else _layout_table
    for size in _SIZES:
        blocks, height = layout(document, font_name, size)
        if height <= available:
            break
    else:
        raise LicenseTextTooLongError(
            f"the text of this {document.title_zh} does not fit on one page "
            f"even at {_SIZES[-1]} pt; shorten the long fields"
        )
    leading = size * 1.75
    y = _CONTENT_TOP
    for block in blocks:
        if (
            block.label is None
            and not block.indent_first
            and block.lines == (document.holder_line,)
        ):
            _draw(canvas, _CONTENT_LEFT, y, document.holder_line, font_name, size + 1)
            y -= leading * 1.4 if document.style == "table" else leading * 1.6
            continue
        if block.label is not None:
            canvas.setFillColorRGB(*_MUTED)
            _draw(canvas, _CONTENT_LEFT, y, block.label, font_name, size)
            canvas.setFillColorRGB(*_INK)
            for line in block.lines:
                _draw(canvas, _CONTENT_LEFT + _LABEL_WIDTH, y, line, font_name, size)
                y -= leading
            if document.style == "table":
                y -= size * 0.6
            continue
        for number, line in enumerate(block.lines):
            _draw(
                canvas,
                _CONTENT_LEFT + (block.indent_first if number == 0 else 0),
                y,
                line,
                font_name,
                size,
            )
            y -= leading
        y -= size * 0.4


def _qr(canvas: Canvas, x: float, y: float, size: float, url: str) -> None:
    """The QR code as vector modules: sharp at any zoom, read from print or screen."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    module = size / len(matrix)
    canvas.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            # One rectangle per run of dark modules; slightly overlapping avoids hairline gaps.
            canvas.rect(
                x + start * module,
                top,
                (column - start) * module + 0.05,
                module + 0.05,
                stroke=0,
                fill=1,
            )


def _bottom_block(
    canvas: Canvas, document: LicenseDocument, font_name: str
) -> tuple[float, float, float, float]:
    canvas.setFillColorRGB(*_INK)
    _draw(
        canvas,
        _CONTENT_LEFT,
        226,
        f"有效期限：{validity_text(document.valid_from, document.valid_until)}",
        font_name,
        11,
    )
    # QR code, bottom left, with its caption.
    qr_x, qr_y = _CONTENT_LEFT, 82.0
    _qr(canvas, qr_x, qr_y, _QR_SIZE, document.verify_url)
    canvas.setFillColorRGB(*_MUTED)
    caption = "扫码核验 Scan to verify"
    _draw(
        canvas,
        qr_x + (_QR_SIZE - text_width(font_name, caption, 7.5)) / 2,
        qr_y - 12,
        caption,
        font_name,
        7.5,
    )
    # Issuer and date, bottom right: the seal sits over them, as on paper.
    canvas.setFillColorRGB(*_INK)
    issuer_size = 13.0 if len(document.issuer_name) <= 14 else 10.5
    issuer_width = _draw_right(
        canvas, _CONTENT_RIGHT, 158, document.issuer_name, font_name, issuer_size
    )
    date_text = chinese_date(document.issue_date)
    date_width = _draw_right(canvas, _CONTENT_RIGHT, 136, date_text, font_name, 12)
    centre_x = _CONTENT_RIGHT - max(issuer_width, date_width) / 2
    centre_x = min(centre_x, _CONTENT_RIGHT - SEAL_DIAMETER / 2 + 8)
    centre_y = 150.0
    # The identifier, small, across the bottom.
    canvas.setFillColorRGB(*_MUTED)
    _draw_centred(canvas, 52, f"证照标识 {document.identifier}", font_name, 6.5)
    radius = SEAL_DIAMETER / 2
    return (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius)


def render_license(document: LicenseDocument, font_name: str) -> RenderedLicense:
    """One A4 page for ``document``, set in the registered font ``font_name``."""
    buffer = io.BytesIO()
    # reportlab keeps a font's subset state on the shared font object: one document at a time.
    with document_lock(font_name):
        canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
        canvas.setTitle(f"{document.title_zh} {document.license_number}")
        canvas.setAuthor(document.issuer_name)
        canvas.setSubject(document.identifier)
        canvas.setCreator("trustsvc")
        _frame(canvas)
        _title_block(canvas, document, font_name)
        _content(canvas, document, font_name)
        seal_box = _bottom_block(canvas, document, font_name)
        canvas.showPage()
        canvas.save()
    return RenderedLicense(buffer.getvalue(), seal_box, (PAGE_WIDTH, PAGE_HEIGHT))
