"""License rendering: one license's data in, one A4 page of PDF out. Pure: no I/O.

The page is laid out like a paper Chinese license: a frame, the title large at
the top, the license number, the facts as a two-column table (or, for a
decision, its header facts and body text), the issuer and issue date at the
bottom right where the seal will be stamped over them, a QR code to verify
(ISO/IEC 18004, error correction M) at the bottom left, and the GB/T 36904
identifier in small type. The stamp itself is not drawn: the PAdES signature
lays it over ``RenderedLicense.seal_box``, so the visible seal and the
cryptographic seal are one and the same.

Text is set with reportlab's canvas (no platypus) and wrapped here: Chinese
breaks between any two characters, except that closing punctuation never starts
a line and opening punctuation never ends one; Latin words and numbers are kept
whole when they fit. When the text does not fit, the type shrinks down to
``MINIMUM_SIZE``; below that the error says so instead of letting text run off
the page.

Output is deterministic (fixed document dates and ID, fonts subset in a fixed
order), so rendering the same license twice gives the same bytes.

The page is written to meet PDF/A-2b (ISO 19005-2, level B): every font is
embedded (as a subset), no encryption, an sRGB output intent (the ICC profile
comes from Little CMS through Pillow, a reportlab dependency), XMP metadata with
``pdfaid:part=2``, ``pdfaid:conformance=B`` and the same title, author,
subject, keywords, creator, producer and dates as the document information
dictionary. It has not been checked with a PDF/A validator here.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from xml.sax.saxutils import escape

import zxingcpp
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import (
    XMP,
    PDFArray,
    PDFDictionary,
    PDFName,
    PDFStream,
    PDFString,
    PDFZCompress,
)
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from trustsvc.errors import InvalidInputError, LicenseTextTooLongError
from trustsvc.licenses.fonts import char_widths, configure_reportlab, document_lock, font_runs

PAGE_WIDTH, PAGE_HEIGHT = A4
#: The PDF producer, the same in the information dictionary and the XMP metadata.
PRODUCER = "trustsvc (ReportLab)"
#: The smallest type the facts and body text may shrink to (about 2.8 mm).
MINIMUM_SIZE = 8.0
#: Diameter of the seal stamped over the issuer and date.
SEAL_DIAMETER = 42 * mm
#: Side of the QR code, quiet zone not included.
QR_SIZE = 30 * mm

_INK = (0.1, 0.1, 0.1)
_MUTED = (0.35, 0.35, 0.35)
_FRAME = (0.62, 0.45, 0.2)

# Horizontal and vertical positions, in points from the page's bottom left.
_FRAME_OUTER = 28.0
_FRAME_INNER = 33.0
_LEFT = 72.0
_RIGHT = PAGE_WIDTH - 72.0
_NUMBER_BASELINE = PAGE_HEIGHT - 62.0
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
_JUSTIFY_LIMIT = 0.5  # widest letter spacing (in ems) used to justify a line
_SPREAD_LABELS_UP_TO = 6  # labels are spread to the column width when all are this short

# Punctuation that must not start a line, and that must not end one.
_CLOSING = frozenset("，。、；：！？）》」』】〕〉”’,.;:!?)]}%…")
_OPENING = frozenset("（《「『【〔〈“‘([{")
_WORD = frozenset("-_./:@#&=?%+~")


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


@dataclass(frozen=True)
class RenderedLicense:
    """A rendered license, ready to be sealed."""

    #: The PDF, one A4 page.
    pdf: bytes
    #: (x1, y1, x2, y2) in points on page 1: where the visible seal goes.
    seal_box: tuple[float, float, float, float]
    #: (width, height) of the page in points.
    page_size: tuple[float, float]


def render_license(document: LicenseDocument, font_name: str) -> RenderedLicense:
    """Render the license on one A4 page, with ``font_name`` from ``load_cjk_font``."""
    if document.style == "document" and not document.paragraphs:
        raise InvalidInputError("a document-style license needs at least one body paragraph")
    configure_reportlab()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=A4,
        pageCompression=1,
        invariant=1,
        # XMP metadata and output intents came with PDF 1.4.
        pdfVersion=(1, 4),
        # The CJK font as the initial font: no unembedded Helvetica is referenced
        # (types-reportlab declares this parameter a float by mistake).
        initialFontName=font_name,  # type: ignore[arg-type]
    )
    _describe(canvas, document)
    _draw_frame(canvas)
    text = _TextWriter(canvas, font_name)
    _draw_number(text, document)
    top = _draw_heading(canvas, text, document)
    _draw_facts(text, document, top)
    seal_box = _draw_issuer(text, document)
    _draw_footer(canvas, text, document)
    text.finish()
    canvas.showPage()
    with document_lock(font_name):
        canvas.save()
    return RenderedLicense(
        pdf=buffer.getvalue(), seal_box=seal_box, page_size=(PAGE_WIDTH, PAGE_HEIGHT)
    )


def chinese_date(day: date) -> str:
    """A date as printed on Chinese documents: 2026年11月22日."""
    return f"{day.year}年{day.month}月{day.day}日"


def validity_text(valid_from: date, valid_until: date | None) -> str:
    """The validity period as printed: 2026年11月22日 至 2031年11月21日 (or 至 长期)."""
    until = "长期" if valid_until is None else chinese_date(valid_until)
    return f"{chinese_date(valid_from)} 至 {until}"


# ---- text ---------------------------------------------------------------------------


class _TextWriter:
    """All the page's text in one text object, switching fonts only when needed."""

    def __init__(self, canvas: Canvas, font_name: str) -> None:
        self.canvas = canvas
        self.font_name = font_name
        self._text: PDFTextObject = canvas.beginText()
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
        t = self._text
        t.setTextOrigin(x, y)
        if char_space != self._char_space:
            t.setCharSpace(char_space)
            self._char_space = char_space
        if colour != self._colour:
            t.setFillColorRGB(*colour)
            self._colour = colour
        for font, run in font_runs(self.font_name, text):
            if (font, size) != self._font:
                t.setFont(font, size)
                self._font = (font, size)
            t.textOut(run)

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
        self._text.setTextRenderMode(2)

    def finish(self) -> None:
        self.canvas.drawText(self._text)


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


def _tokens(font_name: str, text: str) -> list[_Token]:
    widths = char_widths(font_name, text)
    parts: list[list[int]] = []  # character index ranges [start, end)
    glue_next = False
    for index, ch in enumerate(text):
        previous = text[index - 1] if index else ""
        joins = bool(parts) and (
            glue_next
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


def _describe(canvas: Canvas, document: LicenseDocument) -> None:
    """Document information and the PDF/A-2b declaration (see the module docstring)."""
    subject = f"{document.title_zh} {document.license_number}"
    canvas.setTitle(document.title_zh)
    canvas.setAuthor(document.issuer_name)
    canvas.setSubject(subject)
    canvas.setKeywords(document.identifier)
    canvas.setCreator("trustsvc")
    canvas.setProducer(PRODUCER)
    # The document's date is the issue date (midnight, Beijing time), not the
    # moment of rendering, so the same license always renders to the same bytes.
    day = document.issue_date
    canvas.setDateFormatter(lambda *_: f"D:{day:%Y%m%d}000000+08'00'")
    iso_date = f"{day:%Y-%m-%d}T00:00:00+08:00"

    xmp = _xmp(
        title=document.title_zh,
        author=document.issuer_name,
        subject=subject,
        keywords=document.identifier,
        producer=PRODUCER,
        date=iso_date,
    )
    canvas.setCatalogEntry("Metadata", XMP(creator=lambda _doc: xmp))
    profile = PDFStream(
        dictionary=PDFDictionary({"N": 3}), content=_srgb_profile(), filters=[PDFZCompress]
    )
    intent = PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString("sRGB IEC61966-2.1"),
            "Info": PDFString("sRGB IEC61966-2.1"),
            "DestOutputProfile": profile,  # a stream: written as a reference
        }
    )
    # reportlab's catalog writes only the entries it knows; OutputIntents is not
    # one, and the canvas has no public way to reach the catalog object.
    catalog: Any = canvas._doc.Catalog  # type: ignore[attr-defined]
    catalog.__NoDefault__ = [*catalog.__NoDefault__, "OutputIntents"]
    catalog.OutputIntents = PDFArray([intent])


def _xmp(
    *, title: str, author: str, subject: str, keywords: str, producer: str, date: str
) -> bytes:
    fields = {k: escape(v) for k, v in locals().items()}
    packet = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about=""
 xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<pdfaid:part>2</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{fields["title"]}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{fields["author"]}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{fields["subject"]}</rdf:li></rdf:Alt>\
</dc:description>
<pdf:Keywords>{fields["keywords"]}</pdf:Keywords>
<pdf:Producer>{fields["producer"]}</pdf:Producer>
<pdf:Trapped>False</pdf:Trapped>
<xmp:CreatorTool>trustsvc</xmp:CreatorTool>
<xmp:CreateDate>{fields["date"]}</xmp:CreateDate>
<xmp:ModifyDate>{fields["date"]}</xmp:ModifyDate>
<xmp:MetadataDate>{fields["date"]}</xmp:MetadataDate>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return packet.encode("utf-8")


@functools.cache
def _srgb_profile() -> bytes:
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    # Little CMS stamps the profile with the time it was made; fix it so the
    # PDF stays the same from run to run. The profile ID is left unset (zeros),
    # so no checksum covers the date.
    profile[24:36] = bytes.fromhex("07d000010001000000000000")  # 2000-01-01
    return bytes(profile)


def _draw_frame(canvas: Canvas) -> None:
    canvas.setStrokeColorRGB(*_FRAME)
    canvas.setLineWidth(2.2)
    inset = _FRAME_OUTER
    canvas.rect(inset, inset, PAGE_WIDTH - 2 * inset, PAGE_HEIGHT - 2 * inset)
    canvas.setLineWidth(0.6)
    inset = _FRAME_INNER
    canvas.rect(inset, inset, PAGE_WIDTH - 2 * inset, PAGE_HEIGHT - 2 * inset)


def _draw_number(text: _TextWriter, document: LicenseDocument) -> None:
    line = f"证照编号：{_one_line(document.license_number)}"
    size = _fit_size(text, line, 10.0, (_RIGHT - _LEFT) / 2, 7.0, "license number")
    text.line(_RIGHT - text.width(line, size), _NUMBER_BASELINE, line, size, colour=_MUTED)


def _draw_heading(canvas: Canvas, text: _TextWriter, document: LicenseDocument) -> float:
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
    canvas.saveState()
    canvas.setLineWidth(size * 0.025)
    canvas.setStrokeColorRGB(*_INK)
    title_text = _TextWriter(canvas, text.font_name)
    title_text.fill_and_stroke()
    title_text.centred(PAGE_WIDTH / 2, _TITLE_BASELINE, title, size, char_space=spacing * size)
    title_text.finish()
    canvas.restoreState()

    y = _TITLE_BASELINE
    if document.title_en:
        en = _one_line(document.title_en)
        en_size = _fit_size(text, en, _TITLE_EN_SIZE, room, 8.0, "English title")
        y -= 26.0
        text.centred(PAGE_WIDTH / 2, y, en, en_size, colour=_MUTED)
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
    labels = [[_tokens(font, _one_line(label))] for label, _ in rows]
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
        label_width = min(label_units, 8.0) * size
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


def _draw_footer(canvas: Canvas, text: _TextWriter, document: LicenseDocument) -> None:
    matrix = _qr_matrix(document.verify_url)
    module = QR_SIZE / len(matrix)
    # One path, a rectangle per run of dark modules, written in one piece: a
    # canvas call per rectangle would cost more than encoding the code.
    rectangles = []
    for row_index, row in enumerate(matrix):
        y = _QR_BOTTOM + QR_SIZE - (row_index + 1) * module
        for run in _DARK_RUN.finditer(row):
            x, width = _LEFT + run.start() * module, (run.end() - run.start()) * module
            rectangles.append(f"{x:.3f} {y:.3f} {width:.3f} {module:.3f} re")
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.addLiteral("\n".join(rectangles) + "\nf")
    canvas.restoreState()

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
