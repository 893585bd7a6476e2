"""C2SP tlog-tiles resource paths: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``.

Parsed with bounds before any other work: N is written in groups of three
digits, every group but the last prefixed with ``x`` (``x001/x234/067``); W,
the width of a partial tile, is 1 to 255; L is a level of 0 to 63. Anything
else is not a tile path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trustsvc.errors import NotFoundError

_GROUP = re.compile(r"x[0-9]{3}")
_LAST = re.compile(r"[0-9]{3}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
#: Seven groups reach 10**21 tiles, past any 64-bit tree; longer is not a tile path.
_MAX_GROUPS = 7
_MAX_PATH = 64


@dataclass(frozen=True)
class TilePath:
    """A tile asked for: ``level`` None for an entry bundle; ``width`` None for a full tile."""

    level: int | None
    index: int
    width: int | None


def encode_index(index: int) -> str:
    """N as tlog-tiles writes it in a path."""
    if index < 0:
        raise ValueError("a tile index is 0 or more")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int | None, index: int, width: int | None = None) -> str:
    """The path (after ``tile/``) of a tile or entry bundle."""
    head = "entries" if level is None else str(level)
    tail = "" if width is None else f".p/{width}"
    return f"{head}/{encode_index(index)}{tail}"


def parse_tile_path(path: str) -> TilePath:
    """Parse what follows ``tile/``; a path that is not a tile's is NotFoundError."""
    if len(path) > _MAX_PATH:
        raise NotFoundError("not a tile path")
    parts = path.split("/")
    if len(parts) < 2:
        raise NotFoundError("not a tile path")
    head, rest = parts[0], parts[1:]
    level: int | None
    if head == "entries":
        level = None
    elif _LEVEL.fullmatch(head) and int(head) <= 63:
        level = int(head)
    else:
        raise NotFoundError("not a tile path")
    width: int | None = None
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or int(rest[-1]) > 255:
            raise NotFoundError("not a tile path: a partial tile is 1 to 255 wide")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][:-2]]
    if not 1 <= len(rest) <= _MAX_GROUPS:
        raise NotFoundError("not a tile path")
    if not all(_GROUP.fullmatch(g) for g in rest[:-1]) or not _LAST.fullmatch(rest[-1]):
        raise NotFoundError("not a tile path")
    index = int("".join(g.removeprefix("x") for g in rest))
    if encode_index(index) != "/".join(rest):
        # One spelling per index: no leading x000 groups.
        raise NotFoundError("not a tile path: the index is not in its shortest form")
    return TilePath(level, index, width)
