"""Setting a license's text to a width: its unbreakable pieces, its lines, their justification.

The rules are those of a paper Chinese license (see ``render``): Chinese breaks
between any two characters, except that closing punctuation never starts a
line and opening punctuation never ends one; Latin words and numbers are kept
whole when they fit, and so are a date with its 起/止 and a number with its
unit; a label breaks only before an opening bracket. Widths are per character
at size 1, from the fonts registered with reportlab, so a line's width is a sum
and never re-measured.

``linebreak`` breaks the text of the service's other pages (the printed
report, the 加注件's note) to a measured width; this module is the license
page's own, with its label and keep-together rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from trustsvc.documents.fonts import char_widths

# Widest letter spacing (in ems) used to justify a line. Ordinary breaks leave
# at most an em or two to spread over a line; a line that ends early because a
# date or an amount moved down whole stays ragged instead of being spread thin.
_JUSTIFY_LIMIT = 0.12
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
class Piece:
    """A piece of text that is not broken across lines if it can be helped."""

    text: str
    widths: tuple[float, ...]

    @property
    def width(self) -> float:
        return sum(self.widths)


@dataclass(frozen=True)
class Line:
    text: str
    #: Width at size 1.
    width: float
    #: The last line of its paragraph (not justified).
    last: bool


def pieces(font_name: str, text: str, *, label: bool = False) -> list[Piece]:
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
    return [Piece(text[a:b], tuple(widths[a:b])) for a, b in parts]


def one_line(text: str) -> str:
    """Text with runs of white space (tabs, stray newlines) as single spaces."""
    return " ".join(text.split())


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in _WORD)


def wrap(parts: Sequence[Piece], limit: float, first_limit: float | None = None) -> list[Line]:
    """Break a paragraph into lines of at most ``limit`` (at size 1)."""
    lines: list[Line] = []
    current: list[str] = []
    width = 0.0
    room = limit if first_limit is None else first_limit

    def flush() -> None:
        nonlocal current, width, room
        text = "".join(current).rstrip(" ")
        trailing = len("".join(current)) - len(text)
        lines.append(Line(text, width - trailing * _space_width(parts), last=False))
        current, width, room = [], 0.0, limit

    for piece in parts:
        if piece.text == " " and not current:
            continue
        if width + piece.width <= room + 1e-9:
            current.append(piece.text)
            width += piece.width
            continue
        if piece.width <= limit and current:
            flush()
            if piece.text != " ":
                current.append(piece.text)
                width = piece.width
            continue
        # Wider than a whole line (a long number or URL): break inside it.
        for ch, w in zip(piece.text, piece.widths, strict=True):
            if width + w > room + 1e-9 and current:
                flush()
            current.append(ch)
            width += w
    if current or not lines:
        flush()
    last = lines[-1]
    lines[-1] = Line(last.text, last.width, last=True)
    return lines


def _space_width(parts: Sequence[Piece]) -> float:
    for piece in parts:
        if piece.text == " ":
            return piece.widths[0]
    return 0.0


def justify(line: Line, size: float, room: float) -> float:
    """Letter spacing that makes the line fill its room, or 0 if it should not be justified."""
    if line.last or len(line.text) < 2:
        return 0.0
    spacing = (room - line.width * size) / (len(line.text) - 1)
    return spacing if 0 < spacing <= _JUSTIFY_LIMIT * size else 0.0
