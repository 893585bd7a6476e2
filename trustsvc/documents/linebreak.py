"""Where a line of mixed Chinese and Latin text may break, and breaking it to a width.

A simplified Unicode line breaking algorithm (UAX #14) with the Chinese
typesetting rules of W3C "Requirements for Chinese Text Layout" (clreq) §3.1:

- Chinese characters may break between any two of them, except that closing
  punctuation (，。、；：！？）》」 …) never starts a line and opening punctuation
  (（《「 …) never ends one: they stay with their neighbour.
- Latin words, numbers and identifiers (a run of ASCII letters, digits and
  ``- _ . / : @ # & = ? % + ~``) are never broken; a line breaks at the spaces
  between them (the space is dropped at the break) or where Chinese text begins.
- A number stays with the date and time units written against it
  (``2026年12月01日``, ``12时30分``): a date is one unit.
- Only a unit wider than the whole line is broken inside, and then after one
  of ``. / - _ : @ , =`` when one fits (an identifier such as
  ``91330100MA2XXXXX0F.330100.1.abc`` breaks after a dot), otherwise between
  any two characters: the one place a word is cut, because it cannot fit.

Widths come from the caller (a function of the text at size 1), so this is
pure and works for any font.
"""

from __future__ import annotations

from collections.abc import Callable

_CLOSING = frozenset("，。、；：！？）》」』】〕〉”’,.;:!?)]}%…·")
_OPENING = frozenset("（《「『【〔〈“‘([{")
_WORD_PUNCTUATION = frozenset("-_./:@#&=?%+~'")
#: Units written against a number, which keep a date or time whole.
_NUMBER_UNITS = frozenset("年月日时分秒号")
#: Inside a unit too long for a line: break after one of these, preferably.
_SOFT_BREAKS = frozenset("./-_:@,=")

Measure = Callable[[str], float]


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in _WORD_PUNCTUATION)


def _joins(previous: str, ch: str, glue_next: bool) -> bool:
    """Whether ``ch`` must stay on the line of the character before it."""
    if glue_next:
        return True
    if previous == " " or ch == " ":
        return False
    if ch in _CLOSING:
        return True
    if _is_word(ch) and _is_word(previous):
        return True
    # 2026年12月: the unit stays with the number before it, the number after a unit with it.
    if ch in _NUMBER_UNITS and previous.isdigit():
        return True
    return ch.isdigit() and previous in _NUMBER_UNITS


def units(text: str) -> list[str]:
    """The text cut at every place a line may break; spaces are units of their own."""
    parts: list[str] = []
    glue_next = False
    for index, ch in enumerate(text):
        previous = text[index - 1] if index else ""
        if parts and _joins(previous, ch, glue_next):
            parts[-1] += ch
        else:
            parts.append(ch)
        glue_next = ch in _OPENING
    return parts


def _split_long(unit: str, limit: float, room: float, measure: Measure) -> list[str]:
    """A unit wider than a line, cut into pieces, the first fitting ``room``."""
    pieces: list[str] = []
    rest = unit
    while rest and measure(rest) > room:
        # The longest prefix that fits, ended after a soft break if there is one.
        fit = 1
        while fit < len(rest) and measure(rest[: fit + 1]) <= room:
            fit += 1
        soft = max((i + 1 for i in range(fit) if rest[i] in _SOFT_BREAKS), default=0)
        cut = soft if soft > 0 and soft < len(rest) else fit
        pieces.append(rest[:cut])
        rest = rest[cut:]
        room = limit
    if rest:
        pieces.append(rest)
    return pieces


def break_lines(
    text: str, limit: float, measure: Measure, first_limit: float | None = None
) -> list[str]:
    """``text`` as lines no wider than ``limit`` (the first no wider than ``first_limit``).

    White space runs count as one space; spaces at a break are dropped.
    """
    text = " ".join(text.split())
    lines: list[str] = []
    current = ""
    room = limit if first_limit is None else first_limit

    def flush() -> None:
        nonlocal current, room
        lines.append(current.rstrip(" "))
        current, room = "", limit

    for unit in units(text):
        if unit == " " and not current:
            continue
        if measure(current + unit) <= room + 1e-9:
            current += unit
            continue
        if unit == " ":
            flush()
            continue
        if current.strip() and measure(unit) <= limit + 1e-9:
            flush()
            current = unit
            continue
        # Wider than a whole line: the one case where a unit is cut.
        space = room - measure(current)
        pieces = _split_long(unit, limit, space if current.strip() else room, measure)
        if current.strip() and measure(current + pieces[0]) > room + 1e-9:
            flush()
            pieces = _split_long(unit, limit, room, measure)
        for piece in pieces[:-1]:
            current += piece
            flush()
        current += pieces[-1]
    if current or not lines:
        flush()
    return lines
