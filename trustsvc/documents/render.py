"""License rendering: one license's data in, one A4 page of PDF out. Pure: no I/O.

The page is laid out like a paper Chinese license: a frame, the title large at
the top, the license number, the facts as a two-column table (or, for a
decision, its header facts and body text), the issuer and issue date at the
bottom right where the seal will be stamped over them, a QR code to verify
(ISO/IEC 18004, error correction M) at the bottom left, and the GB/T 36904
identifier in small type. The stamp itself is not drawn: the PAdES signature
lays it over ``RenderedLicense.seal_box``, so the visible seal and the
cryptographic seal are one and the same.

The text is cut into pieces and lines by ``paragraphs`` (Chinese breaks between
any two characters, except that closing punctuation never starts a line and
opening punctuation never ends one; a date with its 起/止 and a number with its
unit stay whole; a label breaks only before an opening bracket), placed by
``textwriter`` and written by ``pdfpage`` (content stream, font subsets, file);
the QR code is drawn by ``qr``. The label column is as wide as the widest label
up to ``LABEL_COLUMN_EMS``, so the labels of the shipped types never break. When
the text does not fit, the type shrinks down to ``MINIMUM_SIZE``; below that the
error says so instead of letting text run off the page.

Output is deterministic (fixed document dates, an ID from the content, font
subsets in the order their characters first appear), so rendering the same
license twice gives the same bytes.

The page is written to meet PDF/A-2b (ISO 19005-2, level B; see ``pdfpage``).
It has not been checked with a PDF/A validator here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from trustsvc.documents.paragraphs import Line, justify, one_line, pieces, wrap
from trustsvc.documents.pdfpage import PRODUCER, DocumentInfo, PdfPage, number
from trustsvc.documents.qr import QR_SIZE, draw_qr, module_side, qr_matrix
from trustsvc.documents.textwriter import INK, MUTED, TextWriter
from trustsvc.errors import InvalidInputError, LicenseTextTooLongError

PAGE_WIDTH, PAGE_HEIGHT = A4
#: The smallest type the facts and body text may shrink to (about 2.8 mm).
MINIMUM_SIZE = 8.0
#: Diameter of the seal stamped over the issuer and date.
SEAL_DIAMETER = 42 * mm
#: The widest the label column gets, in ems: 法定代表人（负责人） fits on one line.
LABEL_COLUMN_EMS = 10.0

_FRAME = (0.62, 0.45, 0.2)

# Horizontal and vertical positions, in points from the page's bottom left.
_FRAME_OUTER = 28.0
_FRAME_INNER = 33.0
_LEFT = 72.0
_RIGHT = PAGE_WIDTH - 72.0
_NUMBER_BASELINE = PAGE_HEIGHT - 62.0
# A headline (统一社会信用代码) at the top left: its label, then its value larger.
_HEADLINE_LABEL_BASELINE = PAGE_HEIGHT - 56.0
_HEADLINE_BASELINE = PAGE_HEIGHT - 74.0
_HEADLINE_SIZE = 14.0
_TITLE_BASELINE = PAGE_HEIGHT - 116.0
_TITLE_SIZE = 32.0
_TITLE_EN_SIZE = 12.0
_HOLDER_SIZE = 14.0
_IDENTIFIER_BASELINE = 45.0
_QR_BOTTOM = 96.0
_ISSUER_BASELINE = 150.0
_DATE_BASELINE = 128.0
# Text stops above the seal and the QR code; everything below is theirs.
_BODY_BOTTOM = 214.0

_TABLE_SIZE = 13.0
_DOCUMENT_SIZE = 12.5
# Line height as a multiple of the type size: airy at full size, tighter as
# the type shrinks to fit long text.
_LEADING = 1.6
_TIGHTEST_LEADING = 1.4
# Between rows, in ems: a table's rows stand apart, a decision's header facts
# read as one block.
_ROW_GAP = {"table": 0.7, "document": 0.2}
_LABEL_GAP = 1.5  # between a label and its value, in ems
_PARAGRAPH_INDENT = 2.0  # ems, as Chinese paragraphs are indented by two characters
_SPREAD_LABELS_UP_TO = 6  # labels are spread to the column width when all are this short


@dataclass(frozen=True)
class LicenseDocument:
    """What is printed on one license."""

    #: The license type's name, printed large: 营业执照.
    title_zh: str
    #: An English title printed under it, if the license type has one.
    title_en: str | None
    #: "table": facts in two columns (permits, certificates); "document": header
    #: facts then body paragraphs (decisions, approvals).
    style: Literal["table", "document"]
    #: (label, value) pairs; a value may hold several lines separated by newlines.
    rows: tuple[tuple[str, str], ...]
    #: The holder as printed under the title: 持证主体：杭州某某科技有限公司.
    holder_line: str
    #: The issuing department, printed over the issue date where the seal goes.
    issuer_name: str
    issue_date: date
    valid_from: date
    #: None for a license valid without end (长期).
    valid_until: date | None
    #: 证照编号, printed at the top.
    license_number: str
    #: The GB/T 36904 identifier, printed small at the bottom.
    identifier: str
    #: What the QR code holds.
    verify_url: str
    #: Body paragraphs of a "document" style license.
    paragraphs: tuple[str, ...] = ()
    #: The line under the star of the seal stamped on this license, if any.
    seal_caption: str | None = None
    #: (label, value) printed prominently at the top left, as the 营业执照 prints
    #: its 统一社会信用代码.
    headline: tuple[str, str] | None = None


@dataclass(frozen=True)
class RenderedLicense:
    """A rendered license, ready to be sealed."""

    #: The PDF, one A4 page.
    pdf: bytes
    #: (x1, y1, x2, y2) in points on page 1: where the visible seal goes.
    seal_box: tuple[float, float, float, float]
    #: (width, height) of the page in points.
    page_size: tuple[float, float]
    #: The page (from 0) the seal goes on.
    seal_page: int = 0


def render_license(document: LicenseDocument, font_name: str) -> RenderedLicense:
    """Render the license on one A4 page, with ``font_name`` from ``load_cjk_font``."""
    if document.style == "document" and not document.paragraphs:
        raise InvalidInputError("a document-style license needs at least one body paragraph")
    page = PdfPage(PAGE_WIDTH, PAGE_HEIGHT)
    _draw_frame(page)
    text = TextWriter(page, font_name)
    if document.headline is not None:
        _draw_headline(text, document.headline)
    if document.style == "table":
        _draw_number(text, document)
    top = _draw_heading(page, text, document)
    _draw_facts(text, document, top)
    seal_box = _draw_issuer(text, document)
    _draw_footer(page, text, document)
    text.finish()
    return RenderedLicense(
        pdf=page.pdf(_describe(document)), seal_box=seal_box, page_size=(PAGE_WIDTH, PAGE_HEIGHT)
    )


def chinese_date(day: date) -> str:
    """A date as printed on Chinese licenses: 2026年05月09日, month and day in two digits."""
    return f"{day.year:04d}年{day.month:02d}月{day.day:02d}日"


def validity_text(valid_from: date, valid_until: date | None) -> str:
    """The validity period as printed: 2026年11月22日 至 2031年11月21日 (or 至 长期)."""
    until = "长期" if valid_until is None else chinese_date(valid_until)
    return f"{chinese_date(valid_from)} 至 {until}"


# ---- the page -----------------------------------------------------------------------


def _describe(document: LicenseDocument) -> DocumentInfo:
    """Document information, repeated in the XMP metadata (see the module docstring)."""
    # The document's date is the issue date (midnight, Beijing time), not the
    # moment of rendering, so the same license always renders to the same bytes.
    day = document.issue_date
    return DocumentInfo(
        title=document.title_zh,
        author=document.issuer_name,
        subject=f"{document.title_zh} {document.license_number}",
        keywords=document.identifier,
        creator="trustsvc",
        producer=PRODUCER,
        pdf_date=f"D:{day:%Y%m%d}000000+08'00'",
        iso_date=f"{day:%Y-%m-%d}T00:00:00+08:00",
    )


def _draw_frame(page: PdfPage) -> None:
    outer = _FRAME_OUTER
    inner = _FRAME_INNER
    page.add(
        " ".join(number(c) for c in _FRAME)
        + " RG\n2.2 w\n"
        + f"{number(outer)} {number(outer)} {number(PAGE_WIDTH - 2 * outer)} "
        + f"{number(PAGE_HEIGHT - 2 * outer)} re S\n0.6 w\n"
        + f"{number(inner)} {number(inner)} {number(PAGE_WIDTH - 2 * inner)} "
        + f"{number(PAGE_HEIGHT - 2 * inner)} re S"
    )


def _draw_number(text: TextWriter, document: LicenseDocument) -> None:
    line = f"证照编号：{one_line(document.license_number)}"
    size = text.fit(line, 10.0, (_RIGHT - _LEFT) / 2, 7.0, "license number")
    text.line(_RIGHT - text.width(line, size), _NUMBER_BASELINE, line, size, colour=MUTED)


def _draw_headline(text: TextWriter, headline: tuple[str, str]) -> None:
    label, value = (one_line(part) for part in headline)
    room = (_RIGHT - _LEFT) / 2 - 12.0
    text.line(_LEFT, _HEADLINE_LABEL_BASELINE, label, 10.0, colour=MUTED)
    size = text.fit(value, _HEADLINE_SIZE, room, 9.0, "headline")
    text.line(_LEFT, _HEADLINE_BASELINE, value, size, char_space=size * 0.08)


def _draw_heading(page: PdfPage, text: TextWriter, document: LicenseDocument) -> float:
    """Title, English title and holder; return where the facts may start."""
    title = one_line(document.title_zh)
    # Short titles are spaced out, as on paper (营 业 执 照); long ones are set solid.
    spacing = 0.6 if len(title) <= 4 else 0.3 if len(title) <= 7 else 0.05
    size = _TITLE_SIZE
    room = _RIGHT - _LEFT
    while text.width(title, size, spacing * size) > room and size > 16:
        size -= 1
    if text.width(title, size, spacing * size) > room:
        raise LicenseTextTooLongError(f"title {title!r} is too long for one line")
    # A slight outline thickens the title: the one font has no bold face. The
    # saved graphics state keeps the outline and letter spacing to the title.
    page.add(f"q\n{number(size * 0.025)} w\n" + " ".join(number(c) for c in INK) + " RG")
    title_text = TextWriter(page, text.font_name)
    title_text.fill_and_stroke()
    title_text.centred(PAGE_WIDTH / 2, _TITLE_BASELINE, title, size, char_space=spacing * size)
    title_text.finish()
    page.add("Q")

    y = _TITLE_BASELINE
    if document.title_en:
        en = one_line(document.title_en)
        en_size = text.fit(en, _TITLE_EN_SIZE, room, 8.0, "English title")
        y -= 26.0
        text.centred(PAGE_WIDTH / 2, y, en, en_size, colour=MUTED)
    if document.style == "document":
        # A decision prints its number (文号) once, under its title, as on paper.
        number_line = one_line(document.license_number)
        number_size = text.fit(number_line, 13.0, room, 9.0, "license number")
        y -= 22.0
        text.centred(PAGE_WIDTH / 2, y, number_line, number_size)
        y += 10.0  # the holder line sits closer: the number already set the heading off
    y -= 42.0
    holder = one_line(document.holder_line)
    holder_size = text.fit(holder, _HOLDER_SIZE, room, 10.0, "holder line")
    text.line(_LEFT, y, holder, holder_size)
    return y - holder_size * 1.8


@dataclass(frozen=True)
class _Row:
    label: list[Line]
    label_spacing: float
    value: list[Line]


def _draw_facts(text: TextWriter, document: LicenseDocument, top: float) -> None:
    """The facts table and, for a document, its body; shrunk until they fit."""
    rows = [*document.rows, ("有效期", validity_text(document.valid_from, document.valid_until))]
    font = text.font_name
    labels = [[pieces(font, one_line(label), label=True)] for label, _ in rows]
    # A value may hold several lines; a paragraph may too, each set as a paragraph.
    values = [[pieces(font, one_line(part)) for part in value.splitlines()] for _, value in rows]
    body = [
        pieces(font, one_line(line))
        for paragraph in document.paragraphs
        for line in paragraph.splitlines()
        if line.strip()
    ]
    label_units = max(sum(t.width for t in tokens[0]) for tokens in labels)
    spread = max(len(one_line(label)) for label, _ in rows) <= _SPREAD_LABELS_UP_TO
    table_left = _LEFT + (16.0 if document.style == "table" else 0.0)
    table_right = _RIGHT - (16.0 if document.style == "table" else 0.0)
    size = _TABLE_SIZE if document.style == "table" else _DOCUMENT_SIZE
    room = top - _BODY_BOTTOM

    while True:
        label_width = min(label_units, LABEL_COLUMN_EMS) * size
        value_left = table_left + label_width + _LABEL_GAP * size
        value_room = table_right - value_left
        leading = size * _leading(size, document.style)
        table = []
        for label_tokens, value_parts in zip(labels, values, strict=True):
            label_lines = wrap(label_tokens[0], label_width / size)
            value_lines = [line for part in value_parts for line in wrap(part, value_room / size)]
            spacing = 0.0
            if spread and len(label_lines) == 1 and len(label_lines[0].text) > 1:
                line = label_lines[0]
                spacing = (label_width - line.width * size) / (len(line.text) - 1)
            table.append(_Row(label_lines, spacing, value_lines))
        height = sum(max(len(r.label), len(r.value)) * leading for r in table)
        row_gap = _ROW_GAP[document.style] * size
        height += row_gap * (len(table) - 1)
        paragraphs: list[list[Line]] = []
        if body:
            body_room = (_RIGHT - _LEFT) / size
            paragraphs = [wrap(p, body_room, body_room - _PARAGRAPH_INDENT) for p in body]
            height += size * 1.2 + sum(len(p) for p in paragraphs) * leading
        if height <= room:
            break
        if size - 0.5 < MINIMUM_SIZE:
            raise LicenseTextTooLongError(
                f"the text of {document.title_zh!r} does not fit on one page even at "
                f"{MINIMUM_SIZE} pt ({height:.0f} pt high, {room:.0f} pt available); "
                "shorten it or split it into attachments"
            )
        size -= 0.5

    y = top
    for row in table:
        for index, line in enumerate(row.label):
            text.line(
                table_left, y - index * leading, line.text, size, char_space=row.label_spacing
            )
        for index, line in enumerate(row.value):
            spacing = justify(line, size, value_room)
            text.line(value_left, y - index * leading, line.text, size, char_space=spacing)
        y -= max(len(row.label), len(row.value)) * leading + row_gap
    if paragraphs:
        y -= size * 1.2 - row_gap
        for paragraph in paragraphs:
            for index, line in enumerate(paragraph):
                indent = _PARAGRAPH_INDENT * size if index == 0 else 0.0
                spacing = justify(line, size, _RIGHT - _LEFT - indent)
                text.line(_LEFT + indent, y, line.text, size, char_space=spacing)
                y -= leading


def _leading(size: float, style: str) -> float:
    full = _TABLE_SIZE if style == "table" else _DOCUMENT_SIZE
    tightness = min(1.0, max(0.0, (full - size) / (full - MINIMUM_SIZE)))
    return _LEADING - (_LEADING - _TIGHTEST_LEADING) * tightness


def _draw_issuer(text: TextWriter, document: LicenseDocument) -> tuple[float, float, float, float]:
    """Issuer and date at the bottom right; return the seal's box, centred over them."""
    issuer = one_line(document.issuer_name)
    issued = chinese_date(document.issue_date)
    issuer_size = text.fit(issuer, 14.0, (_RIGHT - _LEFT) * 0.55, 9.0, "issuer name")
    date_size = 13.0
    block = max(text.width(issuer, issuer_size), text.width(issued, date_size))
    radius = SEAL_DIAMETER / 2
    # Issuer and date centred on one axis, as an official document signs off;
    # the seal covers both ("骑年盖月"), staying inside the inner frame.
    axis = min(_RIGHT - block / 2, PAGE_WIDTH - _FRAME_INNER - 8.0 - radius)
    text.centred(axis, _ISSUER_BASELINE, issuer, issuer_size)
    text.centred(axis, _DATE_BASELINE, issued, date_size)
    centre_y = (_ISSUER_BASELINE + _DATE_BASELINE) / 2 + date_size * 0.4
    return (axis - radius, centre_y - radius, axis + radius, centre_y + radius)


def _draw_footer(page: PdfPage, text: TextWriter, document: LicenseDocument) -> None:
    matrix = qr_matrix(document.verify_url)
    module = module_side(matrix)
    draw_qr(page, matrix, _LEFT, _QR_BOTTOM)

    # The caption stays out of the quiet zone of four modules (ISO/IEC 18004 §6.3.8).
    centre = _LEFT + QR_SIZE / 2
    caption = _QR_BOTTOM - 4 * module - 9.0 * 0.9
    text.centred(centre, caption, "扫码核验", 9.0, colour=MUTED)
    text.centred(centre, caption - 9.5, "Scan to verify", 7.0, colour=MUTED)
    identifier = f"证照标识：{one_line(document.identifier)}"
    size = text.fit(identifier, 7.5, _RIGHT - _LEFT, 5.0, "identifier")
    text.centred(PAGE_WIDTH / 2, _IDENTIFIER_BASELINE, identifier, size, colour=MUTED)
