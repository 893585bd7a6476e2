"""License rendering: one license's data in, one A4 page of PDF out. Pure: no I/O.

The page is laid out like a paper Chinese license: a frame, the title large at
the top, the license number, the facts as a two-column table (or, for a
decision, its header facts and body text), the issuer and issue date at the
bottom right where the seal will be stamped over them, a QR code to verify
(ISO/IEC 18004, error correction M) at the bottom left, and the GB/T 36904
identifier in small type. The stamp itself is not drawn: the PAdES signature
lays it over ``RenderedLicense.seal_box``, so the visible seal and the
cryptographic seal are one and the same.

Text is laid out and wrapped here and written by ``pdfpage`` (content stream,
font subsets, file): Chinese breaks between any two characters, except that
closing punctuation never starts a line and opening punctuation never ends one;
Latin words and numbers are kept whole when they fit, and so are a date with
its 起/止 (2078年05月19日止) and a number with its unit (89.56平方米). A label
breaks only before an opening bracket (法定代表人 / （负责人）), and the label
column is as wide as the widest label up to ``LABEL_COLUMN_EMS``, so the labels
of the shipped types never break. When the text does not
fit, the type shrinks down to ``MINIMUM_SIZE``; below that the error says so
instead of letting text run off the page. Glyph metrics come from the fonts
registered with reportlab (``fonts``).

Output is deterministic (fixed document dates, an ID from the content, font
subsets in the order their characters first appear), so rendering the same
license twice gives the same bytes.

The page is written to meet PDF/A-2b (ISO 19005-2, level B; see ``pdfpage``).
It has not been checked with a PDF/A validator here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import zxingcpp
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from trustsvc.documents.fonts import char_widths, font_runs
from trustsvc.documents.pdfpage import DocumentInfo, PdfPage, number
from trustsvc.errors import InvalidInputError, LicenseTextTooLongError

PAGE_WIDTH, PAGE_HEIGHT = A4
#: The PDF producer, the same in the information dictionary and the XMP metadata.
PRODUCER = "trustsvc"
#: The smallest type the facts and body text may shrink to (about 2.8 mm).
MINIMUM_SIZE = 8.0
#: Diameter of the seal stamped over the issuer and date.
SEAL_DIAMETER = 42 * mm
#: Side of the QR code, quiet zone not included.
QR_SIZE = 30 * mm
#: The widest the label column gets, in ems: 法定代表人（负责人） fits on one line.
LABEL_COLUMN_EMS = 10.0

_INK = (0.1, 0.1, 0.1)
_MUTED = (0.35, 0.35, 0.35)
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
_DARK_RUN = re.compile(rb"\x00+")
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
# Widest letter spacing (in ems) used to justify a line. Ordinary breaks leave
# at most an em or two to spread over a line; a line that ends early because a
# date or an amount moved down whole stays ragged instead of being spread thin.
_JUSTIFY_LIMIT = 0.12
_SPREAD_LABELS_UP_TO = 6  # labels are spread to the column width when all are this short

# Punctuation that must not start a line, and that must not end one.
_CLOSING = frozenset("，。、；：！？）》」』】〕〉”’,.;:!?)]}%…")
_OPENING = frozenset("（《「『【〔〈“‘([{")
_WORD = frozenset("-_./:@#&=?%+~")
# Pieces of a value that are never broken across lines: a date with its 起/止/至
# (2078年05月19日止), a number with its unit (18650.42万元, 89.56平方米, 720日)
# or with the word it counts in an address (101室, 3幢).
_KEEP_TOGETHER = re.compile(
    r"[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日[起止至]?"
    r"|[0-9]+(?:\.[0-9]+)?(?:万元|平方米|公顷|日历天|天|日|元|米|m²|㎡|%"
    r"|号|幢|栋|单元|层|室)"
)


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
    text = _TextWriter(page, font_name)
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


# ---- text ---------------------------------------------------------------------------


class _TextWriter:
    """All the page's text in one text object, switching fonts only when needed."""

    def __init__(self, page: PdfPage, font_name: str) -> None:
        self.page = page
        self.font_name = font_name
        self._ops: list[str] = ["BT"]
        self._font: tuple[str, float] = ("", 0.0)
        self._colour: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._char_space = 0.0

    def width(self, text: str, size: float, char_space: float = 0.0) -> float:
        return sum(char_widths(self.font_name, text)) * size + char_space * max(0, len(text) - 1)

    def line(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        char_space: float = 0.0,
        colour: tuple[float, float, float] = _INK,
    ) -> None:
        ops = self._ops
        ops.append(f"1 0 0 1 {number(x)} {number(y)} Tm")
        if char_space != self._char_space:
            ops.append(f"{number(char_space)} Tc")
            self._char_space = char_space
        if colour != self._colour:
            ops.append(" ".join(number(c) for c in colour) + " rg")
            self._colour = colour
        for font, run in font_runs(self.font_name, text):
            for resource, codes in self.page.encode(font, run):
                if (resource, size) != self._font:
                    ops.append(f"/{resource} {number(size)} Tf")
                    self._font = (resource, size)
                ops.append(f"<{codes}> Tj")

    def centred(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        char_space: float = 0.0,
        colour: tuple[float, float, float] = _INK,
    ) -> float:
        """Centre text on x; return its width."""
        width = self.width(text, size, char_space)
        self.line(x - width / 2, y, text, size, char_space=char_space, colour=colour)
        return width

    def fill_and_stroke(self) -> None:
        """Outline the glyphs as well as fill them (text render mode 2)."""
        self._ops.append("2 Tr")

    def finish(self) -> None:
        self._ops.append("ET")
        self.page.add("\n".join(self._ops))


@dataclass(frozen=True)
class _Token:
    """A piece of text that is not broken across lines if it can be helped."""

    text: str
    widths: tuple[float, ...]

    @property
    def width(self) -> float:
        return sum(self.widths)


@dataclass(frozen=True)
class _Line:
    text: str
    #: Width at size 1.
    width: float
    #: The last line of its paragraph (not justified).
    last: bool


def _tokens(font_name: str, text: str, *, label: bool = False) -> list[_Token]:
    """The text's unbreakable pieces; a label's pieces start only at an opening bracket."""
    widths = char_widths(font_name, text)
    parts: list[list[int]] = []  # character index ranges [start, end)
    if label:
        kept = {i for i, ch in enumerate(text) if ch not in _OPENING}
    else:
        kept = {i for m in _KEEP_TOGETHER.finditer(text) for i in range(m.start() + 1, m.end())}
    glue_next = False
    for index, ch in enumerate(text):
        previous = text[index - 1] if index else ""
        joins = bool(parts) and (
            index in kept
            or glue_next
            or (ch in _CLOSING and previous != " ")
            or (_is_word(ch) and _is_word(previous))
        )
        if joins:
            parts[-1][1] = index + 1
        else:
            parts.append([index, index + 1])
        glue_next = ch in _OPENING
    return [_Token(text[a:b], tuple(widths[a:b])) for a, b in parts]


def _one_line(text: str) -> str:
    """Text with runs of white space (tabs, stray newlines) as single spaces."""
    return " ".join(text.split())


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in _WORD)


def _wrap(tokens: Sequence[_Token], limit: float, first_limit: float | None = None) -> list[_Line]:
    """Break a paragraph into lines of at most ``limit`` (at size 1)."""
    lines: list[_Line] = []
    current: list[str] = []
    width = 0.0
    room = limit if first_limit is None else first_limit

    def flush() -> None:
        nonlocal current, width, room
        text = "".join(current).rstrip(" ")
        trailing = len("".join(current)) - len(text)
        lines.append(_Line(text, width - trailing * _space_width(tokens), last=False))
        current, width, room = [], 0.0, limit

    for token in tokens:
        if token.text == " " and not current:
            continue
        if width + token.width <= room + 1e-9:
            current.append(token.text)
            width += token.width
            continue
        if token.width <= limit and current:
            flush()
            if token.text != " ":
                current.append(token.text)
                width = token.width
            continue
        # Wider than a whole line (a long number or URL): break inside it.
        for ch, w in zip(token.text, token.widths, strict=True):
            if width + w > room + 1e-9 and current:
                flush()
            current.append(ch)
            width += w
    if current or not lines:
        flush()
    last = lines[-1]
    lines[-1] = _Line(last.text, last.width, last=True)
    return lines


def _space_width(tokens: Sequence[_Token]) -> float:
    for token in tokens:
        if token.text == " ":
            return token.widths[0]
    return 0.0


def _justify(line: _Line, size: float, room: float) -> float:
    """Letter spacing that makes the line fill its room, or 0 if it should not be justified."""
    if line.last or len(line.text) < 2:
        return 0.0
    spacing = (room - line.width * size) / (len(line.text) - 1)
    return spacing if 0 < spacing <= _JUSTIFY_LIMIT * size else 0.0


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


def _draw_number(text: _TextWriter, document: LicenseDocument) -> None:
    line = f"证照编号：{_one_line(document.license_number)}"
    size = _fit_size(text, line, 10.0, (_RIGHT - _LEFT) / 2, 7.0, "license number")
    text.line(_RIGHT - text.width(line, size), _NUMBER_BASELINE, line, size, colour=_MUTED)


def _draw_headline(text: _TextWriter, headline: tuple[str, str]) -> None:
    label, value = (_one_line(part) for part in headline)
    room = (_RIGHT - _LEFT) / 2 - 12.0
    text.line(_LEFT, _HEADLINE_LABEL_BASELINE, label, 10.0, colour=_MUTED)
    size = _fit_size(text, value, _HEADLINE_SIZE, room, 9.0, "headline")
    text.line(_LEFT, _HEADLINE_BASELINE, value, size, char_space=size * 0.08)


def _draw_heading(page: PdfPage, text: _TextWriter, document: LicenseDocument) -> float:
    """Title, English title and holder; return where the facts may start."""
    title = _one_line(document.title_zh)
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
    page.add(f"q\n{number(size * 0.025)} w\n" + " ".join(number(c) for c in _INK) + " RG")
    title_text = _TextWriter(page, text.font_name)
    title_text.fill_and_stroke()
    title_text.centred(PAGE_WIDTH / 2, _TITLE_BASELINE, title, size, char_space=spacing * size)
    title_text.finish()
    page.add("Q")

    y = _TITLE_BASELINE
    if document.title_en:
        en = _one_line(document.title_en)
        en_size = _fit_size(text, en, _TITLE_EN_SIZE, room, 8.0, "English title")
        y -= 26.0
        text.centred(PAGE_WIDTH / 2, y, en, en_size, colour=_MUTED)
    if document.style == "document":
        # A decision prints its number (文号) once, under its title, as on paper.
        number_line = _one_line(document.license_number)
        number_size = _fit_size(text, number_line, 13.0, room, 9.0, "license number")
        y -= 22.0
        text.centred(PAGE_WIDTH / 2, y, number_line, number_size)
        y += 10.0  # the holder line sits closer: the number already set the heading off
    y -= 42.0
    holder = _one_line(document.holder_line)
    holder_size = _fit_size(text, holder, _HOLDER_SIZE, room, 10.0, "holder line")
    text.line(_LEFT, y, holder, holder_size)
    return y - holder_size * 1.8


def _fit_size(
    text: _TextWriter, line: str, size: float, room: float, smallest: float, what: str
) -> float:
    natural = text.width(line, 1.0)
    fitted = min(size, room / natural) if natural else size
    if fitted < smallest:
        raise LicenseTextTooLongError(
            f"the {what} ({len(line)} characters) does not fit on one line even at {smallest} pt"
        )
    return fitted


@dataclass(frozen=True)
class _Row:
    label: list[_Line]
    label_spacing: float
    value: list[_Line]


def _draw_facts(text: _TextWriter, document: LicenseDocument, top: float) -> None:
    """The facts table and, for a document, its body; shrunk until they fit."""
    rows = [*document.rows, ("有效期", validity_text(document.valid_from, document.valid_until))]
    font = text.font_name
    labels = [[_tokens(font, _one_line(label), label=True)] for label, _ in rows]
    # A value may hold several lines; a paragraph may too, each set as a paragraph.
    values = [[_tokens(font, _one_line(part)) for part in value.splitlines()] for _, value in rows]
    body = [
        _tokens(font, _one_line(line))
        for paragraph in document.paragraphs
        for line in paragraph.splitlines()
        if line.strip()
    ]
    label_units = max(sum(t.width for t in tokens[0]) for tokens in labels)
    spread = max(len(_one_line(label)) for label, _ in rows) <= _SPREAD_LABELS_UP_TO
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
            label_lines = _wrap(label_tokens[0], label_width / size)
            value_lines = [line for part in value_parts for line in _wrap(part, value_room / size)]
            spacing = 0.0
            if spread and len(label_lines) == 1 and len(label_lines[0].text) > 1:
                line = label_lines[0]
                spacing = (label_width - line.width * size) / (len(line.text) - 1)
            table.append(_Row(label_lines, spacing, value_lines))
        height = sum(max(len(r.label), len(r.value)) * leading for r in table)
        row_gap = _ROW_GAP[document.style] * size
        height += row_gap * (len(table) - 1)
        paragraphs: list[list[_Line]] = []
        if body:
            body_room = (_RIGHT - _LEFT) / size
            paragraphs = [_wrap(p, body_room, body_room - _PARAGRAPH_INDENT) for p in body]
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
            spacing = _justify(line, size, value_room)
            text.line(value_left, y - index * leading, line.text, size, char_space=spacing)
        y -= max(len(row.label), len(row.value)) * leading + row_gap
    if paragraphs:
        y -= size * 1.2 - row_gap
        for paragraph in paragraphs:
            for index, line in enumerate(paragraph):
                indent = _PARAGRAPH_INDENT * size if index == 0 else 0.0
                spacing = _justify(line, size, _RIGHT - _LEFT - indent)
                text.line(_LEFT + indent, y, line.text, size, char_space=spacing)
                y -= leading


def _leading(size: float, style: str) -> float:
    full = _TABLE_SIZE if style == "table" else _DOCUMENT_SIZE
    tightness = min(1.0, max(0.0, (full - size) / (full - MINIMUM_SIZE)))
    return _LEADING - (_LEADING - _TIGHTEST_LEADING) * tightness


def _draw_issuer(text: _TextWriter, document: LicenseDocument) -> tuple[float, float, float, float]:
    """Issuer and date at the bottom right; return the seal's box, centred over them."""
    issuer = _one_line(document.issuer_name)
    issued = chinese_date(document.issue_date)
    issuer_size = _fit_size(text, issuer, 14.0, (_RIGHT - _LEFT) * 0.55, 9.0, "issuer name")
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


def _draw_footer(page: PdfPage, text: _TextWriter, document: LicenseDocument) -> None:
    matrix = _qr_matrix(document.verify_url)
    side = len(matrix)
    module = QR_SIZE / side
    # One path, a rectangle per run of dark modules, written in one piece: a
    # canvas call per rectangle would cost more than encoding the code. The
    # coordinates are whole modules, scaled once by the transformation matrix.
    rectangles = [
        f"{run.start()} {side - 1 - row_index} {run.end() - run.start()} 1 re"
        for row_index, row in enumerate(matrix)
        for run in _DARK_RUN.finditer(row)
    ]
    page.add(
        f"q\n0 0 0 rg\n{number(module)} 0 0 {number(module)} {number(_LEFT)} "
        f"{number(_QR_BOTTOM)} cm\n" + "\n".join(rectangles) + "\nf\nQ"
    )

    # The caption stays out of the quiet zone of four modules (ISO/IEC 18004 §6.3.8).
    centre = _LEFT + QR_SIZE / 2
    caption = _QR_BOTTOM - 4 * module - 9.0 * 0.9
    text.centred(centre, caption, "扫码核验", 9.0, colour=_MUTED)
    text.centred(centre, caption - 9.5, "Scan to verify", 7.0, colour=_MUTED)
    identifier = f"证照标识：{_one_line(document.identifier)}"
    size = _fit_size(text, identifier, 7.5, _RIGHT - _LEFT, 5.0, "identifier")
    text.centred(PAGE_WIDTH / 2, _IDENTIFIER_BASELINE, identifier, size, colour=_MUTED)


def _qr_matrix(data: str) -> list[bytes]:
    """The QR code's rows, one byte per module (0 dark), without the quiet zone.

    zxing-cpp's encoder chooses the mask by the penalty rules of ISO/IEC 18004
    §7.8.3, in C++: under a millisecond, where the pure-Python encoders spend
    ten doing the same.
    """
    if not data:
        raise InvalidInputError("a license needs a verify URL for its QR code")
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    # The stubs do not declare the Image's buffer protocol.
    image = memoryview(code.to_image(scale=1, add_quiet_zones=False))  # type: ignore[arg-type]
    height, width = image.shape or (0, 0)
    pixels = image.tobytes()
    return [pixels[row * width : (row + 1) * width] for row in range(height)]


#: The verification block stamped on a document the service did not draw (an
#: approval decision): the QR code, 扫码核验 and the license number under it.
BLOCK_WIDTH = 36 * mm
BLOCK_HEIGHT = 46 * mm


def render_verification_block(verify_url: str, number_line: str, font_name: str) -> bytes:
    """A one-page PDF of ``BLOCK_WIDTH`` x ``BLOCK_HEIGHT``: the QR code and its captions.

    Drawn as the license's footer is (the same code, quiet zone and captions),
    to be laid over a page of another document as a form XObject.
    """
    page = PdfPage(BLOCK_WIDTH, BLOCK_HEIGHT)
    matrix = _qr_matrix(verify_url)
    side = len(matrix)
    module = QR_SIZE / side
    left = (BLOCK_WIDTH - QR_SIZE) / 2
    bottom = BLOCK_HEIGHT - QR_SIZE - 4 * module
    rectangles = [
        f"{run.start()} {side - 1 - row_index} {run.end() - run.start()} 1 re"
        for row_index, row in enumerate(matrix)
        for run in _DARK_RUN.finditer(row)
    ]
    # A white ground, so the code reads over whatever the page has under it.
    page.add(f"q\n1 1 1 rg\n0 0 {number(BLOCK_WIDTH)} {number(BLOCK_HEIGHT)} re\nf\nQ")
    page.add(
        f"q\n0 0 0 rg\n{number(module)} 0 0 {number(module)} {number(left)} "
        f"{number(bottom)} cm\n" + "\n".join(rectangles) + "\nf\nQ"
    )
    text = _TextWriter(page, font_name)
    centre = BLOCK_WIDTH / 2
    caption = bottom - 4 * module - 8.0 * 0.9
    text.centred(centre, caption, "扫码核验 Scan to verify", 7.0, colour=_MUTED)
    line = _one_line(number_line)
    size = _fit_size(text, line, 7.0, BLOCK_WIDTH - 4.0, 4.0, "license number")
    text.centred(centre, caption - 9.0, line, size, colour=_INK)
    text.finish()
    info = DocumentInfo(
        title="扫码核验",
        author="trustsvc",
        subject=line,
        keywords="",
        creator="trustsvc",
        producer=PRODUCER,
        pdf_date="D:20000101000000Z",
        iso_date="2000-01-01T00:00:00Z",
    )
    return page.pdf(info)
