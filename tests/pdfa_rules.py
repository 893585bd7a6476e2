"""The rules of PDF/A-2b (ISO 19005-2:2011, level B) that apply to the service's documents.

Not a validator: the rules a one-page, text-and-lines document with an
embedded font, a signature widget and a DSS can break, checked over the file
as a reader sees it (pikepdf, so qpdf's parser, not the writer's own), with
the clause of ISO 19005-2 each one comes from. The XMP packet is parsed as
RDF (rdflib) and checked against the schemas PDF/A-2 predefines (XMP
Specification 2005, as ISO 19005-2 §6.6.2.3.1 lists them); the documents
declare no extension schema, so any other property is a violation.

``violations(pdf)`` returns what is wrong, one line per finding naming its
clause; an empty list means every rule here holds.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime

import pikepdf
import rdflib
from fontTools.ttLib import TTFont
from rdflib.namespace import RDF

#: Properties of the schemas PDF/A-2 predefines, with their XMP value types.
_DC = "http://purl.org/dc/elements/1.1/"
_XMP = "http://ns.adobe.com/xap/1.0/"
_PDF = "http://ns.adobe.com/pdf/1.3/"
_PDFAID = "http://www.aiim.org/pdfa/ns/id/"
_XMP_MM = "http://ns.adobe.com/xap/1.0/mm/"
_XMP_RIGHTS = "http://ns.adobe.com/xap/1.0/rights/"
PREDEFINED: dict[str, dict[str, str]] = {
    _DC: {
        "contributor": "Bag",
        "coverage": "Text",
        "creator": "Seq",
        "date": "Seq",
        "description": "Alt",
        "format": "Text",
        "identifier": "Text",
        "language": "Bag",
        "publisher": "Bag",
        "relation": "Bag",
        "rights": "Alt",
        "source": "Text",
        "subject": "Bag",
        "title": "Alt",
        "type": "Bag",
    },
    _XMP: {
        "Advisory": "Bag",
        "BaseURL": "Text",
        "CreateDate": "Date",
        "CreatorTool": "Text",
        "Identifier": "Bag",
        "Label": "Text",
        "MetadataDate": "Date",
        "ModifyDate": "Date",
        "Nickname": "Text",
        "Rating": "Text",
        "Thumbnails": "Alt",
    },
    # The Adobe PDF schema of PDF/A-2 has no Trapped (it came in a later XMP edition).
    _PDF: {"Keywords": "Text", "PDFVersion": "Text", "Producer": "Text"},
    _PDFAID: {"part": "Text", "conformance": "Text", "amd": "Text"},
    _XMP_MM: {
        name: "Text"
        for name in (
            "DocumentID",
            "InstanceID",
            "Manager",
            "ManagerVariant",
            "ManageTo",
            "ManageUI",
            "RenditionClass",
            "RenditionParams",
            "VersionID",
            "LastURL",
            "SaveID",
        )
    },
    _XMP_RIGHTS: {
        "Certificate": "Text",
        "Marked": "Text",
        "Owner": "Bag",
        "UsageTerms": "Alt",
        "WebStatement": "Text",
    },
}
_ARRAY_TYPES = {"Bag": RDF.Bag, "Seq": RDF.Seq, "Alt": RDF.Alt}
_XMP_DATE = re.compile(r"^\d{4}(-\d\d(-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d))?)?)?$")
_PDF_DATE = re.compile(r"^D:(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(Z|[+-]\d\d'\d\d'?)?$")
_ANNOTATION_FLAGS_FORBIDDEN = {1: "Invisible", 2: "Hidden", 32: "NoView", 256: "ToggleNoView"}
_PRINT = 4
_FORBIDDEN_ANNOTATIONS = {"/Sound", "/Movie", "/Screen", "/3D", "/FileAttachment", "/RichMedia"}
_SIGNATURE_SUBFILTERS = {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached", "/ETSI.RFC3161"}


def violations(pdf: bytes) -> list[str]:
    """Every finding against the rules below; empty when the file meets them all."""
    found: list[str] = []
    found += _file_structure(pdf)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        found += _versions(pdf, document)
        found += _trailer(document)
        objects = list(_dictionaries(document))
        found += _objects(objects)
        found += _fonts(objects)
        found += _output_intent(document)
        found += _annotations(document)
        found += _signatures(pdf, objects)
        found += _metadata(document)
    return found


# ---- file structure, versions, trailer (§6.1) ---------------------------------------


def _file_structure(pdf: bytes) -> list[str]:
    found = []
    header = re.match(rb"%PDF-1\.([0-7])(\r\n|\r|\n)%([^\r\n]*)", pdf)
    if header is None:
        found.append("6.1.2: the header is not %PDF-1.n (n 0 to 7) followed by a line break")
    elif sum(1 for b in header.group(3) if b > 127) < 4:
        found.append("6.1.2: the second line is not a comment of at least four bytes above 127")
    if not pdf.rstrip(b"\r\n").endswith(b"%%EOF"):
        found.append("6.1.3: the file does not end with %%EOF")
    return found


def _version_number(value: str) -> tuple[int, int]:
    major, minor = value.lstrip("/").split(".")
    return int(major), int(minor)


def _versions(pdf: bytes, document: pikepdf.Pdf) -> list[str]:
    """PDF/A-2 is based on PDF 1.7: header, catalog /Version and extensions must say so."""
    found = []
    header = _version_number(pdf[5:8].decode("latin-1"))
    version = header
    if "/Version" in document.Root:
        catalog = _version_number(str(document.Root.Version))
        if catalog > (1, 7):
            found.append(f"6.1.2: the catalog says /Version {catalog}, past PDF 1.7")
        version = max(header, catalog)
    extensions = document.Root.get("/Extensions")
    if extensions is not None:
        for prefix, value in extensions.items():
            entries = list(value) if isinstance(value, pikepdf.Array) else [value]
            for entry in entries:
                base = _version_number(str(entry.BaseVersion))
                # ISO 32000-1 §7.12: an extension's base version is the file's version.
                if base != version:
                    found.append(
                        f"6.1.2 / ISO 32000-1 7.12: extension {prefix} is based on PDF {base}, "
                        f"the file is PDF {version}"
                    )
    return found


def _trailer(document: pikepdf.Pdf) -> list[str]:
    found = []
    identifier = document.trailer.get("/ID")
    if not isinstance(identifier, pikepdf.Array) or len(identifier) != 2:
        found.append("6.1.3: the trailer has no /ID of two strings")
    if "/Encrypt" in document.trailer:
        found.append("6.1.3: the file is encrypted")
    return found


def _dictionaries(document: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary | pikepdf.Stream]:
    for obj in document.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            yield obj
            yield from _direct_dictionaries(obj)


def _direct_dictionaries(
    container: pikepdf.Object,
) -> Iterator[pikepdf.Dictionary]:
    values = (
        container.values() if isinstance(container, pikepdf.Dictionary | pikepdf.Stream) else []
    )
    items = list(container) if isinstance(container, pikepdf.Array) else list(values)
    for value in items:
        if not isinstance(value, pikepdf.Object) or value.is_indirect:
            continue
        if isinstance(value, pikepdf.Dictionary):
            yield value
            yield from _direct_dictionaries(value)
        elif isinstance(value, pikepdf.Array):
            yield from _direct_dictionaries(value)


def _number(value: object, default: float) -> float:
    """A PDF number as pikepdf gives it (int, Decimal), else ``default``."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


# ---- every object: streams, transparency, actions, files (§6.1.7, 6.2.9-10, 6.5, 6.8) ---


def _objects(objects: list[pikepdf.Dictionary | pikepdf.Stream]) -> list[str]:
    found = []
    for obj in objects:
        keys = set(obj.keys())
        where = f"object {obj.objgen}" if obj.is_indirect else "a direct dictionary"
        if isinstance(obj, pikepdf.Stream):
            if keys & {"/F", "/FFilter", "/FDecodeParms"}:
                found.append(f"6.1.7.1: {where} is a stream with external file data")
            filters = obj.get("/Filter")
            names = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
            if any(str(name) in {"/LZWDecode", "/Crypt"} for name in names if name is not None):
                found.append(f"6.1.7.2: {where} uses LZWDecode or Crypt")
        # Transparency: PDF/A-2 allows it, with a blending colour space; the
        # documents use none, so none is allowed here.
        if "/SMask" in keys and str(obj.SMask) != "/None":
            found.append(f"transparency: {where} has a soft mask")
        for alpha in ("/CA", "/ca"):
            if alpha in keys and _number(obj[alpha], 1.0) < 1.0:
                found.append(f"transparency: {where} has {alpha} below 1")
        if "/BM" in keys and str(obj.BM) not in {"/Normal", "/Compatible"}:
            found.append(f"transparency: {where} has blend mode {obj.BM}")
        group = obj.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and str(group.get("/S")) == "/Transparency":
            found.append(f"transparency: {where} is a transparency group")
        if str(obj.get("/Type")) == "/XObject" or "/Subtype" in keys:
            subtype = str(obj.get("/Subtype"))
            if subtype == "/PS" or str(obj.get("/Subtype2")) == "/PS":
                found.append(f"6.2.9: {where} is a PostScript XObject")
            if subtype in {"/Image", "/Form"} and keys & {"/OPI", "/Alternates", "/Ref"}:
                found.append(f"6.2.8/6.2.9: {where} has OPI, alternates or a reference")
            if subtype == "/Image" and bool(obj.get("/Interpolate", False)):
                found.append(f"6.2.8: {where} is an interpolated image")
        if keys & {"/TR", "/HTP"} or str(obj.get("/TR2", "/Default")) != "/Default":
            found.append(f"6.2.5: {where} has a transfer function or halftone phase")
        if str(obj.get("/S")) in {"/JavaScript", "/Launch", "/Sound", "/Movie", "/ResetForm"}:
            found.append(f"6.5.1: {where} is a forbidden action ({obj.S})")
        if "/JS" in keys or "/JavaScript" in keys:
            found.append(f"6.5.1: {where} carries JavaScript")
        if "/EmbeddedFiles" in keys or str(obj.get("/Type")) == "/EmbeddedFile":
            found.append(f"6.8: {where} is or names an embedded file")
        if (
            "/XFA" in keys
            or str(obj.get("/NeedAppearances")) == "True"
            or ("/NeedAppearances" in keys and bool(obj.NeedAppearances))
        ):
            found.append(f"6.4.1/6.4.2: {where} has XFA or NeedAppearances true")
    return found


# ---- fonts (§6.2.11) ----------------------------------------------------------------


def _fonts(objects: list[pikepdf.Dictionary | pikepdf.Stream]) -> list[str]:
    found = []
    for font in objects:
        if str(font.get("/Type")) != "/Font":
            continue
        name = str(font.get("/BaseFont"))
        subtype = str(font.get("/Subtype"))
        if subtype == "/Type3":
            continue
        if "/ToUnicode" not in font:
            found.append(f"6.2.11.7: font {name} has no /ToUnicode")
        if subtype == "/Type0":
            [descendant] = list(font.DescendantFonts)
            descriptor = descendant.get("/FontDescriptor")
        else:
            descriptor = font.get("/FontDescriptor")
        if not isinstance(descriptor, pikepdf.Dictionary):
            found.append(f"6.2.11.4.1: font {name} has no font descriptor")
            continue
        programs = [key for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor]
        if not programs:
            found.append(f"6.2.11.4.1: font {name} is not embedded")
            continue
        if subtype == "/TrueType" and programs == ["/FontFile2"]:
            found += _truetype_widths(name, font, descriptor.FontFile2.read_bytes())
    return found


def _truetype_widths(name: str, font: pikepdf.Dictionary, program: bytes) -> list[str]:
    """§6.2.11.5: /Widths agree with the advance widths in the embedded program."""
    first, last = int(font.FirstChar), int(font.LastChar)
    widths = [float(w) for w in font.Widths]
    if len(widths) != last - first + 1:
        return [f"6.2.11.5: font {name} has {len(widths)} widths for codes {first}-{last}"]
    face = TTFont(io.BytesIO(program))
    scale = 1000 / face["head"].unitsPerEm
    hmtx = face["hmtx"]
    cmap = face["cmap"].getcmap(3, 0) or face["cmap"].getcmap(1, 0)
    if cmap is None:
        return [f"6.2.11.6: symbolic TrueType font {name} has neither a (3,0) nor a (1,0) cmap"]
    found = []
    for code in range(first, last + 1):
        glyph = cmap.cmap.get(code) or cmap.cmap.get(0xF000 + code)
        if glyph is None:
            continue
        advance = hmtx[glyph][0] * scale
        if abs(advance - widths[code - first]) > 1:
            found.append(
                f"6.2.11.5: font {name} code {code}: /Widths says {widths[code - first]}, "
                f"the program {advance:.1f}"
            )
    return found


# ---- output intent (§6.2.3) ---------------------------------------------------------


def _output_intent(document: pikepdf.Pdf) -> list[str]:
    intents = [i for i in document.Root.get("/OutputIntents", []) if i.get("/S") == "/GTS_PDFA1"]
    if len(intents) != 1:
        return ["6.2.3: not exactly one output intent with /S /GTS_PDFA1"]
    profile_stream = intents[0].get("/DestOutputProfile")
    if not isinstance(profile_stream, pikepdf.Stream):
        return ["6.2.3: the PDF/A output intent has no destination profile"]
    profile = profile_stream.read_bytes()
    found = []
    if len(profile) < 128 or profile[36:40] != b"acsp":
        return ["6.2.3: the destination profile is not an ICC profile"]
    if profile[8] != 2:
        found.append(f"6.2.3: the ICC profile is version {profile[8]}.{profile[9] >> 4}, not 2")
    if profile[12:16] not in {b"mntr", b"prtr"}:
        found.append(f"6.2.3: the ICC profile's class is {profile[12:16]!r}, not mntr or prtr")
    if profile[16:20] != b"RGB " or int(profile_stream.get("/N", 0)) != 3:
        found.append("6.2.3: the output intent is not an RGB profile with /N 3")
    return found


# ---- annotations and the signature (§6.3, §6.4.3) -----------------------------------


def _annotations(document: pikepdf.Pdf) -> list[str]:
    found = []
    for number, page in enumerate(document.pages, start=1):
        for annotation in page.obj.get("/Annots", []):
            subtype = str(annotation.get("/Subtype"))
            where = f"page {number}: {subtype} annotation"
            if subtype in _FORBIDDEN_ANNOTATIONS:
                found.append(f"6.3.1: {where} is of a forbidden type")
            flags = int(annotation.get("/F", 0))
            if not flags & _PRINT:
                found.append(f"6.3.2: {where} does not have the Print flag")
            for bit, flag in _ANNOTATION_FLAGS_FORBIDDEN.items():
                if flags & bit:
                    found.append(f"6.3.2: {where} has the {flag} flag")
            x1, y1, x2, y2 = (float(v) for v in annotation.get("/Rect", [0, 0, 0, 0]))
            # §6.3.3 asks no appearance of a popup, a link or a zero-size
            # annotation (an invisible signature field, as a document timestamp's).
            if subtype in {"/Popup", "/Link"} or (x1 == x2 and y1 == y2):
                continue
            appearance = annotation.get("/AP")
            if not isinstance(appearance, pikepdf.Dictionary) or "/N" not in appearance:
                found.append(f"6.3.3: {where} has no normal appearance stream")
            elif set(appearance.keys()) != {"/N"}:
                found.append(f"6.3.3: {where} has appearances besides /N")
            if subtype == "/Widget" and ("/A" in annotation or "/AA" in annotation):
                found.append(f"6.4.1: {where} has actions")
    return found


def _signatures(pdf: bytes, objects: list[pikepdf.Dictionary | pikepdf.Stream]) -> list[str]:
    found = []
    ends = []
    for obj in objects:
        if str(obj.get("/Type")) not in {"/Sig", "/DocTimeStamp"} or "/ByteRange" not in obj:
            continue
        if str(obj.get("/SubFilter")) not in _SIGNATURE_SUBFILTERS:
            found.append(f"6.4.3: signature with SubFilter {obj.get('/SubFilter')}")
        start, first, second, length = (int(n) for n in obj.ByteRange)
        if start != 0 or pdf[first : first + 1] != b"<" or pdf[second - 1 : second] != b">":
            found.append("6.4.3: a signature's byte range does not exclude exactly its /Contents")
        ends.append(second + length)
    # The last signature covers the whole file (earlier ones their own revision).
    if ends and max(ends) != len(pdf):
        found.append("6.4.3: the last signature does not cover the entire file")
    return found


# ---- metadata (§6.6) ----------------------------------------------------------------


def _metadata(document: pikepdf.Pdf) -> list[str]:
    stream = document.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return ["6.6.2.1: the catalog has no metadata stream"]
    if "/Filter" in stream:
        return ["6.6.2.1: the metadata stream is encoded"]
    packet = stream.read_bytes()
    head = re.match(rb"<\?xpacket ([^?]*)\?>", packet.lstrip(b"\xef\xbb\xbf"))
    if head is None or re.search(rb"\b(bytes|encoding)=", head.group(1)):
        return ["6.6.2.1: the XMP packet header is missing or has bytes/encoding attributes"]
    graph = _xmp_graph(packet)
    found = _schemas(graph)
    properties = _simple_properties(graph)
    if properties.get((_PDFAID, "part")) != "2" or properties.get((_PDFAID, "conformance")) != "B":
        found.append("6.6.4: the XMP does not identify PDF/A-2, conformance B")
    found += _info_agrees(document, properties)
    modified = properties.get((_XMP, "ModifyDate"))
    metadata_date = properties.get((_XMP, "MetadataDate"))
    if modified and metadata_date and _iso(metadata_date) < _iso(modified):
        found.append("xmp:MetadataDate is earlier than xmp:ModifyDate")
    return found


def _xmp_graph(packet: bytes) -> rdflib.Graph:
    """The packet's rdf:RDF element, parsed as RDF/XML."""
    root = ET.fromstring(packet)  # noqa: S314  (the service's own output)
    rdf = root if root.tag == f"{{{RDF}}}RDF" else root.find(f"{{{RDF}}}RDF")
    assert rdf is not None, "the XMP packet has no rdf:RDF element"
    graph = rdflib.Graph()
    graph.parse(data=ET.tostring(rdf), format="xml", publicID="urn:pdfa:document")
    return graph


def _split(predicate: rdflib.term.Node) -> tuple[str, str]:
    text = str(predicate)
    cut = max(text.rfind("/"), text.rfind("#")) + 1
    return text[:cut], text[cut:]


def _schemas(graph: rdflib.Graph) -> list[str]:
    """§6.6.2.3.1: only predefined properties, each of its schema's value type."""
    found = []
    document = rdflib.URIRef("urn:pdfa:document")
    for subject, predicate, value in graph.triples((None, None, None)):
        if subject != document:
            continue  # array members and qualifiers, checked through their property
        namespace, name = _split(predicate)
        expected = PREDEFINED.get(namespace, {}).get(name)
        if expected is None:
            found.append(f"6.6.2.3.1: {predicate} is in no predefined or declared schema")
            continue
        if expected in _ARRAY_TYPES:
            if (value, RDF.type, _ARRAY_TYPES[expected]) not in graph:
                found.append(f"6.6.2.3.1: {predicate} is not an rdf:{expected}")
            elif expected == "Alt":
                for member in _members(graph, value):
                    if not isinstance(member, rdflib.Literal) or not member.language:
                        found.append(f"6.6.2.3.1: {predicate} has an item without xml:lang")
        elif not isinstance(value, rdflib.Literal):
            found.append(f"6.6.2.3.1: {predicate} is not a simple value")
        elif expected == "Date" and not _XMP_DATE.match(str(value)):
            found.append(f"6.6.2.3.1: {predicate} is not an XMP date: {value}")
    return found


def _members(graph: rdflib.Graph, container: rdflib.term.Node) -> list[rdflib.term.Node]:
    members = []
    for predicate, value in graph.predicate_objects(container):
        if str(predicate).startswith(str(RDF) + "_"):
            members.append((int(str(predicate)[len(str(RDF)) + 1 :]), value))
    return [value for _index, value in sorted(members)]


def _simple_properties(graph: rdflib.Graph) -> dict[tuple[str, str], str]:
    """Each property's value as text: an array's first item (x-default for an Alt)."""
    document = rdflib.URIRef("urn:pdfa:document")
    values: dict[tuple[str, str], str] = {}
    for predicate, value in graph.predicate_objects(document):
        if isinstance(value, rdflib.Literal):
            values[_split(predicate)] = str(value)
            continue
        members = _members(graph, value)
        default = [
            m for m in members if isinstance(m, rdflib.Literal) and m.language == "x-default"
        ]
        chosen = default or members
        if chosen:
            values[_split(predicate)] = str(chosen[0])
    return values


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pdf_date(text: str) -> datetime | None:
    match = _PDF_DATE.match(text)
    if match is None:
        return None
    zone = match.group(7) or "Z"
    offset = "+00:00" if zone == "Z" else f"{zone[:3]}:{zone[4:6]}"
    return datetime.fromisoformat("{}-{}-{}T{}:{}:{}".format(*match.groups()[:6]) + offset)


#: §6.6.3: Info entries and the XMP properties that must say the same.
_EQUIVALENT = {
    "/Title": (_DC, "title"),
    "/Author": (_DC, "creator"),
    "/Subject": (_DC, "description"),
    "/Keywords": (_PDF, "Keywords"),
    "/Creator": (_XMP, "CreatorTool"),
    "/Producer": (_PDF, "Producer"),
    "/CreationDate": (_XMP, "CreateDate"),
    "/ModDate": (_XMP, "ModifyDate"),
}


def _info_agrees(document: pikepdf.Pdf, xmp: dict[tuple[str, str], str]) -> list[str]:
    info = document.trailer.get("/Info")
    if info is None:
        return []
    found = []
    for key, value in info.items():
        if key not in _EQUIVALENT:
            if key == "/Trapped":
                # Its XMP equivalent, pdf:Trapped, is not predefined (6.6.2.3.1).
                found.append("6.6.3: Info /Trapped has no equivalent in PDF/A-2's XMP schemas")
            continue
        counterpart = xmp.get(_EQUIVALENT[key])
        text = str(value)
        if counterpart is None:
            found.append(f"6.6.3: Info {key} has no XMP equivalent")
        elif key.endswith("Date"):
            date = _pdf_date(text)
            if date is None or date != _iso(counterpart):
                found.append(f"6.6.3: Info {key} {text} differs from XMP {counterpart}")
        elif text != counterpart:
            found.append(f"6.6.3: Info {key} {text!r} differs from XMP {counterpart!r}")
    return found
