"""One PDF page written directly: its content stream, subset fonts and PDF/A-2b parts.

A license is one page of text, lines and a QR code; a general PDF library
spends most of its time on what such a page does not need (an object model
formatted number by number, fonts re-read for every document). Here the
content stream is built as text, each font is embedded as simple TrueType
subsets of up to 255 characters (ISO 32000-1 §9.6.4, with /Widths and a
/ToUnicode map so the text can be copied and searched), and the file is
written in one pass with its cross-reference table.

The file is prepared to meet PDF/A-2b (ISO 19005-2, level B, based on PDF 1.7
= ISO 32000-1, hence the ``%PDF-1.7`` header): every font embedded as a
subset, no encryption, an sRGB output intent (the standard sRGB IEC 61966-2.1
ICC v2 profile shipped in ``licenses/icc``), XMP metadata with
``pdfaid:part=2``, ``pdfaid:conformance=B``, only properties of PDF/A-2's
predefined schemas (so no ``pdf:Trapped``, and no ``/Trapped`` in the
information dictionary either), the same title, author, subject, keywords,
creator, producer and dates as the document information dictionary, and a
file identifier. Output is deterministic: the same page gives the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from dataclasses import dataclass, field
from importlib import resources
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from trustsvc.documents.subsets import subset_program

#: The PDF producer of every page the service writes, in the information dictionary and the XMP.
PRODUCER = "trustsvc"
#: Characters per font subset: one-byte codes 1-255 (0 is the missing glyph).
_SUBSET_SIZE = 255
_FLAG_SYMBOLIC = 4
_FLAG_NONSYMBOLIC = 32


def number(value: float) -> str:
    """A PDF number: at most four decimals, no trailing zeros."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@dataclass(frozen=True)
class DocumentInfo:
    """What the information dictionary and the XMP metadata both say."""

    title: str
    author: str
    subject: str
    keywords: str
    creator: str
    producer: str
    #: PDF date string (``D:20261122000000+08'00'``) and the same moment in ISO 8601.
    pdf_date: str
    iso_date: str


@dataclass
class _Subset:
    resource: str
    chars: list[str] = field(default_factory=list)


@dataclass
class _PageFont:
    """One font as used on this page: which character has which subset and code."""

    font: TTFont
    codes: dict[str, tuple[int, int]] = field(default_factory=dict)
    subsets: list[_Subset] = field(default_factory=list)


class PdfPage:
    """A page being drawn; ``pdf()`` writes the file."""

    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height
        self._content: list[str] = []
        self._fonts: dict[str, _PageFont] = {}
        self._resources = 0

    def add(self, operators: str) -> None:
        """Append content stream operators, as written."""
        self._content.append(operators)

    def encode(self, font_name: str, text: str) -> list[tuple[str, str]]:
        """``text`` in a registered font as (font resource, hex string) pieces, one per subset."""
        used = self._fonts.get(font_name)
        if used is None:
            font = pdfmetrics.getFont(font_name)
            assert isinstance(font, TTFont)
            used = self._fonts[font_name] = _PageFont(font)
        pieces: list[tuple[str, str]] = []
        current = -1
        codes = bytearray()
        for ch in text:
            found = used.codes.get(ch)
            if found is None:
                if not used.subsets or len(used.subsets[-1].chars) == _SUBSET_SIZE:
                    self._resources += 1
                    used.subsets.append(_Subset(f"F{self._resources}"))
                subset = used.subsets[-1]
                subset.chars.append(ch)
                found = used.codes[ch] = (len(used.subsets) - 1, len(subset.chars))
            index, code = found
            if index != current:
                if codes:
                    pieces.append((used.subsets[current].resource, codes.hex()))
                current, codes = index, bytearray()
            codes.append(code)
        if codes:
            pieces.append((used.subsets[current].resource, codes.hex()))
        return pieces

    def pdf(self, info: DocumentInfo) -> bytes:
        """The whole file: catalog, page, fonts, metadata, output intent."""
        writer = _Writer()
        catalog, pages, page = writer.reserve(), writer.reserve(), writer.reserve()
        fonts = [
            (subset.resource, self._font_object(writer, used, subset))
            for used in self._fonts.values()
            for subset in used.subsets
        ]
        fonts.sort(key=lambda item: int(item[0][1:]))
        content = writer.stream("", "\n".join(self._content).encode("latin-1"))
        font_entries = " ".join(f"/{name} {ref} 0 R" for name, ref in fonts)
        writer.set(
            page,
            f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {number(self.width)} "
            f"{number(self.height)}] /Resources << /Font << {font_entries} >> >> "
            f"/Contents {content} 0 R >>",
        )
        writer.set(pages, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>")
        metadata = writer.stream("/Type /Metadata /Subtype /XML", _xmp(info), compress=False)
        profile = writer.add(_srgb_profile_stream())
        writer.set(
            catalog,
            f"<< /Type /Catalog /Pages {pages} 0 R /Metadata {metadata} 0 R "
            "/OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 "
            "/OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) "
            f"/DestOutputProfile {profile} 0 R >>] >>",
        )
        info_object = writer.add(
            "<< "
            f"/Title {_text(info.title)} /Author {_text(info.author)} "
            f"/Subject {_text(info.subject)} /Keywords {_text(info.keywords)} "
            f"/Creator {_text(info.creator)} /Producer {_text(info.producer)} "
            f"/CreationDate ({info.pdf_date}) /ModDate ({info.pdf_date}) >>"
        )
        return writer.finish(catalog, info_object)

    def _font_object(self, writer: _Writer, used: _PageFont, subset: _Subset) -> int:
        font, face = used.font, used.font.face
        program = subset_program(font, subset.chars)
        name = face.name.decode("latin-1") if isinstance(face.name, bytes) else str(face.name)
        base_font = f"{_subset_tag(name, subset.chars)}+{name}"
        file_ref = writer.stream(f"/Length1 {len(program)}", program)
        flags = (face.flags & ~_FLAG_NONSYMBOLIC) | _FLAG_SYMBOLIC
        descriptor = writer.add(
            f"<< /Type /FontDescriptor /FontName /{base_font} /Flags {flags} "
            f"/FontBBox [{' '.join(number(v) for v in face.bbox)}] "
            f"/ItalicAngle {number(face.italicAngle)} /Ascent {number(face.ascent)} "
            f"/Descent {number(face.descent)} /CapHeight {number(face.capHeight)} "
            f"/StemV {number(face.stemV)} /MissingWidth {number(face.defaultWidth)} "
            f"/FontFile2 {file_ref} 0 R >>"
        )
        widths = " ".join(
            number(w)
            for w in (face.defaultWidth, *(face.getCharWidth(ord(ch)) for ch in subset.chars))
        )
        to_unicode = writer.stream("", _to_unicode(subset.chars))
        return writer.add(
            f"<< /Type /Font /Subtype /TrueType /BaseFont /{base_font} /FirstChar 0 "
            f"/LastChar {len(subset.chars)} /Widths [{widths}] "
            f"/FontDescriptor {descriptor} 0 R /ToUnicode {to_unicode} 0 R >>"
        )


class _Writer:
    """Numbered objects, then the file with its cross-reference table."""

    def __init__(self) -> None:
        self._objects: list[bytes | None] = []

    def reserve(self) -> int:
        self._objects.append(None)
        return len(self._objects)

    def set(self, number: int, body: str | bytes) -> None:
        self._objects[number - 1] = body.encode("latin-1") if isinstance(body, str) else body

    def add(self, body: str | bytes) -> int:
        number = self.reserve()
        self.set(number, body)
        return number

    def stream(self, entries: str, data: bytes, compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data)
            entries = f"{entries} /Filter /FlateDecode".strip()
        head = f"<< {entries} /Length {len(data)} >>\nstream\n".encode("latin-1")
        return self.add(head + data + b"\nendstream")

    def finish(self, root: int, info: int) -> bytes:
        parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
        offsets = []
        position = len(parts[0])
        for index, body in enumerate(self._objects, start=1):
            assert body is not None, f"object {index} was reserved but never written"
            chunk = b"%d 0 obj\n%b\nendobj\n" % (index, body)
            offsets.append(position)
            parts.append(chunk)
            position += len(chunk)
        body_digest = hashlib.sha256(b"".join(parts)).hexdigest()[:32]
        size = len(self._objects) + 1
        xref = "".join(f"{offset:010d} 00000 n\r\n" for offset in offsets)
        parts.append(
            (
                f"xref\n0 {size}\n0000000000 65535 f\r\n{xref}"
                f"trailer\n<< /Size {size} /Root {root} 0 R /Info {info} 0 R "
                f"/ID [<{body_digest}> <{body_digest}>] >>\n"
                f"startxref\n{position}\n%%EOF\n"
            ).encode("latin-1")
        )
        return b"".join(parts)


def _text(value: str) -> str:
    """A PDF text string: literal when plain ASCII, else UTF-16BE with its byte order mark."""
    if value.isascii() and value.isprintable():
        return "(" + value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"
    return "<feff" + value.encode("utf-16-be").hex() + ">"


def _subset_tag(font: str, chars: list[str]) -> str:
    """Six capital letters naming a subset (ISO 32000-1 §9.6.4), from what it holds."""
    digest = hashlib.sha256((font + "".join(chars)).encode()).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])


def _to_unicode(chars: list[str]) -> bytes:
    entries = []
    for code, ch in enumerate(chars, start=1):
        units = ch.encode("utf-16-be").hex().upper()
        entries.append(f"<{code:02X}> <{units}>")
    blocks = [
        f"{len(entries[i : i + 100])} beginbfchar\n"
        + "\n".join(entries[i : i + 100])
        + "\nendbfchar"
        for i in range(0, len(entries), 100)
    ]
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def _xmp(info: DocumentInfo) -> bytes:
    fields = {
        "title": escape(info.title),
        "author": escape(info.author),
        "subject": escape(info.subject),
        "keywords": escape(info.keywords),
        "creator": escape(info.creator),
        "producer": escape(info.producer),
        "date": escape(info.iso_date),
    }
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
<xmp:CreatorTool>{fields["creator"]}</xmp:CreatorTool>
<xmp:CreateDate>{fields["date"]}</xmp:CreateDate>
<xmp:ModifyDate>{fields["date"]}</xmp:ModifyDate>
<xmp:MetadataDate>{fields["date"]}</xmp:MetadataDate>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return packet.encode("utf-8")


#: The sRGB IEC 61966-2.1 profile, ICC version 2 (PDF/A-2 validators expect v2;
#: see licenses/icc/README.md for its origin and licence).
SRGB_PROFILE = "sRGB-IEC61966-2.1-v2.icc"


@functools.cache
def srgb_profile() -> bytes:
    """The output intent's ICC profile, read once per process."""
    return resources.files("trustsvc.documents").joinpath("icc", SRGB_PROFILE).read_bytes()


@functools.cache
def _srgb_profile_stream() -> bytes:
    """The sRGB ICC profile as a stream object body, compressed once per process."""
    data = zlib.compress(srgb_profile())
    return b"<< /N 3 /Filter /FlateDecode /Length %d >>\nstream\n%b\nendstream" % (len(data), data)
