"""TrueType subsets for embedding: the glyphs one page uses, as a font program of their own.

A subset keeps the tables a PDF viewer needs to draw a simple TrueType font
(ISO 32000-1 §9.9: head, hhea, loca, maxp, cvt, prep, glyf, hmtx, fpgm) with
name, OS/2 and post, and a single cmap subtable (Macintosh, format 6) mapping
the page's one-byte codes to the new glyph numbers, as PDF/A-2 (ISO 19005-2
§6.2.11.6) wants of a symbolic TrueType font. The glyphs a composite glyph is
made of are kept and renumbered.

What is the same for every subset of a font (the copied tables, where each
glyph lies) is read once per font; a subset then costs a slice per glyph,
where reportlab's subsetter re-reads the font's tables for every document.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from reportlab.pdfbase.ttfonts import TTFont, TTFontFace, TTFontMaker

# Composite glyph flags (the OpenType 'glyf' table).
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080


@dataclass(frozen=True)
class _Component:
    #: Byte offset, inside the glyph, of the component's glyph index.
    offset: int
    glyph: int


@dataclass(frozen=True)
class _FontTables:
    """What every subset of one font copies or looks up."""

    copied: tuple[tuple[str, bytes], ...]
    head: bytes
    hhea: bytes
    maxp: bytes
    post: bytes
    glyf: bytes
    #: Offset of each glyph in ``glyf``, with the end of the last one appended.
    positions: tuple[int, ...]
    metrics: tuple[tuple[int, int], ...]
    char_to_glyph: dict[int, int]
    #: The components of each glyph looked at so far (none for a simple glyph).
    components: dict[int, tuple[_Component, ...]] = field(default_factory=dict)


@functools.cache
def _tables(face: TTFontFace) -> _FontTables:
    copied = []
    for tag in ("name", "OS/2", "cvt ", "fpgm", "prep"):
        if tag in face.table:  # cvt, fpgm and prep are optional
            copied.append((tag, bytes(face.get_table(tag))))
    post = b"\x00\x03\x00\x00" + bytes(face.get_table("post")[4:16]) + b"\x00" * 16
    return _FontTables(
        copied=tuple(copied),
        head=bytes(face.get_table("head")),
        hhea=bytes(face.get_table("hhea")),
        maxp=bytes(face.get_table("maxp")),
        post=post,
        glyf=bytes(face.get_table("glyf")),
        positions=tuple(face.glyphPos),
        metrics=tuple((int(aw), int(lsb)) for aw, lsb in face.hmetrics),
        char_to_glyph=dict(face.charToGlyph),
    )


def _components(tables: _FontTables, glyph: int) -> tuple[_Component, ...]:
    known = tables.components.get(glyph)
    if known is None:
        known = tables.components[glyph] = _read_components(tables, glyph)
    return known


def _read_components(tables: _FontTables, glyph: int) -> tuple[_Component, ...]:
    start, end = tables.positions[glyph], tables.positions[glyph + 1]
    data = tables.glyf
    if end - start < 10 or struct.unpack_from(">h", data, start)[0] >= 0:
        return ()
    components = []
    offset = 10
    flags = _MORE_COMPONENTS
    while flags & _MORE_COMPONENTS:
        flags, index = struct.unpack_from(">HH", data, start + offset)
        components.append(_Component(offset + 2, index))
        offset += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
        if flags & _WE_HAVE_A_SCALE:
            offset += 2
        elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
            offset += 4
        elif flags & _WE_HAVE_A_TWO_BY_TWO:
            offset += 8
    return tuple(components)


def subset_program(font: TTFont, chars: Sequence[str]) -> bytes:
    """A font program holding the glyphs of ``chars``, character n of them at code n + 1.

    Code 0 is the missing glyph (.notdef).
    """
    tables = _tables(font.face)
    glyph_map = [0]  # new glyph number -> original
    new_number = {0: 0}  # original -> new
    codes = [0]
    for ch in chars:
        original = tables.char_to_glyph.get(ord(ch), 0)
        if original not in new_number:
            new_number[original] = len(glyph_map)
            glyph_map.append(original)
        codes.append(new_number[original])
    components: dict[int, tuple[_Component, ...]] = {}
    index = 0
    while index < len(glyph_map):  # composites may add glyphs as the list is walked
        parts = _components(tables, glyph_map[index])
        components[glyph_map[index]] = parts
        for part in parts:
            if part.glyph not in new_number:
                new_number[part.glyph] = len(glyph_map)
                glyph_map.append(part.glyph)
        index += 1

    glyphs: list[bytes] = []
    offsets = [0]
    position = 0
    for original in glyph_map:
        data = tables.glyf[tables.positions[original] : tables.positions[original + 1]]
        parts = components[original]
        if parts:
            patched = bytearray(data)
            for part in parts:
                struct.pack_into(">H", patched, part.offset, new_number[part.glyph])
            data = bytes(patched)
        padding = -len(data) % 4
        glyphs.append(data + b"\x00" * padding)
        position += len(data) + padding
        offsets.append(position)

    count = len(glyph_map)
    metrics = [tables.metrics[g] for g in glyph_map]
    # Trailing glyphs of the advance of the last full metric keep only their side bearing.
    full = count
    while full > 1 and metrics[full - 1][0] == metrics[full - 2][0]:
        full -= 1
    # reportlab reads side bearings unsigned; they are written back as read.
    hmtx = struct.pack(
        f">{2 * full + count - full}H",
        *(v for aw, lsb in metrics[:full] for v in (aw, lsb)),
        *(lsb for _aw, lsb in metrics[full:]),
    )
    long_offsets = position > 0x1FFFE
    loca = (
        struct.pack(f">{len(offsets)}L", *offsets)
        if long_offsets
        else struct.pack(f">{len(offsets)}H", *(o >> 1 for o in offsets))
    )
    cmap = struct.pack(
        f">4HL5H{len(codes)}H",
        0,  # version
        1,  # one subtable
        1,  # Macintosh
        0,  # Roman
        12,  # its offset
        6,  # format 6: trimmed table
        10 + 2 * len(codes),
        0,  # language
        0,  # first code
        len(codes),
        *codes,
    )

    maker = TTFontMaker()
    for tag, data in tables.copied:
        maker.add(tag, data)
    maker.add("post", tables.post)
    maker.add("hmtx", hmtx)
    maker.add("hhea", tables.hhea[:34] + struct.pack(">H", full) + tables.hhea[36:])
    maker.add("maxp", tables.maxp[:4] + struct.pack(">H", count) + tables.maxp[6:])
    maker.add("cmap", cmap)
    maker.add("glyf", b"".join(glyphs))
    maker.add("loca", loca)
    maker.add("head", tables.head[:50] + struct.pack(">H", int(long_offsets)) + tables.head[52:])
    program: bytes = maker.makeStream()
    return program
