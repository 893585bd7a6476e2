"""The tree as static tiles per C2SP tlog-tiles (c2sp.org/tlog-tiles): tile and entry
bundle paths, the bytes of full and partial tiles read from stored hashes, and entry
bundles (big-endian uint16 length-prefixed entries).

A tile at level ``L`` holds hashes of subtrees of ``256**L`` leaves, which are exactly
the stored hashes at Merkle level ``8 * L`` (``merkle.stored_hash_index``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from trustsvc.tlog.encoding import MAX_UINT63
from trustsvc.tlog.errors import FormatError
from trustsvc.tlog.merkle import HASH_SIZE, HashReader, leaf_hash, stored_hash_index

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
#: Entries in a bundle are uint16 length-prefixed.
MAX_ENTRY_BYTES = 0xFFFF
MAX_TILE_PATH = 128

_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


@dataclass(frozen=True)
class Tile:
    """One tile (``level`` 0..63) or entry bundle (``level is None``) of ``width`` hashes."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.level is not None and not 0 <= self.level <= MAX_LEVEL:
            raise FormatError(f"a tile level is 0 to {MAX_LEVEL}")
        if not 0 <= self.index <= MAX_UINT63:
            raise FormatError("a tile index is 0 to 2**63 - 1")
        if not 1 <= self.width <= TILE_WIDTH:
            raise FormatError(f"a tile is 1 to {TILE_WIDTH} hashes wide")

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def hash_level(self) -> int:
        """The Merkle level of the hashes in the tile (0 for entry bundles)."""
        return TILE_HEIGHT * (self.level or 0)

    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``, relative to the prefix."""
        level = "entries" if self.level is None else str(self.level)
        text = f"tile/{level}/{encode_index(self.index)}"
        return f"{text}.p/{self.width}" if self.is_partial else text

    def first_leaf(self) -> int:
        """The first leaf the tile covers (its start index)."""
        return int(self.index * TILE_WIDTH ** ((self.level or 0) + 1))


def encode_index(index: int) -> str:
    """``1234067`` -> ``x001/x234/067``: zero-padded 3-digit elements, all but the last
    with an ``x``."""
    if index < 0:
        raise FormatError("a tile index is 0 or more")
    parts = []
    while True:
        parts.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    parts.reverse()
    return "/".join([f"x{p}" for p in parts[:-1]] + [parts[-1]])


def parse_tile_path(path: str) -> Tile:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (no leading slash)."""
    if len(path) > MAX_TILE_PATH:
        raise FormatError("a tile path is too long")
    m = _PATH.fullmatch(path)
    if m is None:
        raise FormatError("not a tile path: tile/<L>/<N>[.p/<W>] with 3-digit elements")
    elements = m["index"].replace("x", "").split("/")
    if len(elements) > 1 and elements[0] == "000":
        raise FormatError("a tile index has no leading zero elements")
    index = int("".join(elements))
    width = int(m["width"]) if m["width"] else TILE_WIDTH
    if m["width"] and width >= TILE_WIDTH:
        raise FormatError(f"a partial tile is 1 to {TILE_WIDTH - 1} hashes wide")
    level = None if m["level"] == "entries" else int(m["level"])
    return Tile(level=level, index=index, width=width)


def tile_for(level: int | None, index: int, tree_size: int) -> Tile:
    """The tile ``index`` at ``level`` as it is in a tree of ``tree_size`` leaves (full, or
    the partial rightmost one); ``FormatError`` if the tree does not reach it."""
    hashes_at_level = tree_size >> (TILE_HEIGHT * (level or 0))
    full = hashes_at_level // TILE_WIDTH
    if index < full:
        return Tile(level, index)
    width = hashes_at_level % TILE_WIDTH
    if index == full and width:
        return Tile(level, index, width)
    raise FormatError(f"the tree of size {tree_size} has no such tile")


def tiles_for_size(tree_size: int) -> list[Tile]:
    """The partial tiles a checkpoint of ``tree_size`` needs, lowest level first."""
    tiles = []
    level = 0
    while (tree_size >> (TILE_HEIGHT * level)) > 0 and level <= MAX_LEVEL:
        width = (tree_size >> (TILE_HEIGHT * level)) % TILE_WIDTH
        if width:
            tiles.append(Tile(level, (tree_size >> (TILE_HEIGHT * level)) // TILE_WIDTH, width))
        level += 1
    return tiles


def tile_hash_indexes(tile: Tile) -> list[int]:
    """The stored-hash indexes a hash tile is read from."""
    if tile.level is None:
        raise FormatError("an entry bundle is not read from stored hashes")
    first = tile.index * TILE_WIDTH
    return [stored_hash_index(tile.hash_level, first + i) for i in range(tile.width)]


def read_tile(tile: Tile, reader: HashReader) -> bytes:
    """A hash tile's bytes: ``width`` concatenated 32-byte hashes."""
    hashes = reader.read_hashes(tile_hash_indexes(tile))
    if len(hashes) != tile.width or any(len(h) != HASH_SIZE for h in hashes):
        raise FormatError("the hash reader did not return the tile's hashes")
    return b"".join(hashes)


def split_tile(tile: Tile, data: bytes) -> list[bytes]:
    """A hash tile's bytes back into its hashes, checking its length."""
    if len(data) != tile.width * HASH_SIZE:
        raise FormatError(f"the tile {tile.path()} is not {tile.width * HASH_SIZE} bytes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length, then its bytes."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise FormatError(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise FormatError(f"a log entry is at most {MAX_ENTRY_BYTES} bytes")
        parts.append(struct.pack(">H", len(entry)) + entry)
    return b"".join(parts)


def parse_entry_bundle(data: bytes, width: int = TILE_WIDTH) -> list[bytes]:
    """The entries of a bundle that should hold ``width`` of them."""
    if not 1 <= width <= TILE_WIDTH:
        raise FormatError(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    if len(data) > width * (2 + MAX_ENTRY_BYTES):
        raise FormatError("the entry bundle is too large for its width")
    entries = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise FormatError("the entry bundle ends inside a length")
        (length,) = struct.unpack(">H", data[at : at + 2])
        at += 2
        if at + length > len(data):
            raise FormatError("the entry bundle ends inside an entry")
        entries.append(data[at : at + length])
        at += length
        if len(entries) > width:
            raise FormatError(f"the entry bundle holds more than {width} entries")
    if len(entries) != width:
        raise FormatError(f"the entry bundle holds {len(entries)} entries, not {width}")
    return entries


def check_entry_bundle(bundle: Sequence[bytes], level0_tile: bytes) -> None:
    """Check each entry hashes to its place in the matching level-0 tile."""
    if len(level0_tile) != len(bundle) * HASH_SIZE:
        raise FormatError("the entry bundle and the level-0 tile differ in width")
    for i, entry in enumerate(bundle):
        if leaf_hash(entry) != level0_tile[i * HASH_SIZE : (i + 1) * HASH_SIZE]:
            raise FormatError(f"entry {i} of the bundle does not hash to its tile")
