"""Rules for text that people give the service: names, and any outsider's text.

One place for what a name may contain, so that departments, holders and API
clients follow the same rule: valid Unicode (no lone surrogates, UTF-8
encodable), normalised to NFC (Unicode Standard Annex #15), one line, no
control characters, no bidirectional formatting characters (the overrides,
embeddings, isolates and marks of Unicode Standard Annex #9, which make a
name display as something other than what it is, CVE-2021-42574's "Trojan
Source"), no zero-width characters, not empty after trimming, and bounded in
length. A name is shown on sealed documents and in verification answers;
what looks alike must be alike.
"""

from __future__ import annotations

import unicodedata

from trustsvc.errors import InvalidInputError

#: Bidirectional formatting characters (UAX #9 §2): embeddings and overrides,
#: isolates, and the implicit marks (LRM, RLM, ALM).
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
#: Characters without width that make two equal-looking names differ.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
#: General categories refused in a name: controls, format characters (which
#: include the two sets above), surrogates, private use, unassigned, and the
#: line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def is_encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode that UTF-8 can carry (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_encodable(text: str, what: str) -> str:
    """``text`` unchanged, or ``InvalidInputError`` if it holds a lone surrogate."""
    if not is_encodable(text):
        raise InvalidInputError(f"{what} is not valid Unicode text (it holds a lone surrogate)")
    return text


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def refused_character(text: str) -> tuple[int, str] | None:
    """The first character a name may not hold, with its position, or None."""
    for index, ch in enumerate(text):
        if ch in BIDI_CONTROLS or ch in ZERO_WIDTH:
            return index, ch
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return index, ch
    return None


def clean_name(text: object, what: str, max_length: int = 200, *, collapse: bool = False) -> str:
    """A name, NFC-normalised and trimmed, or ``InvalidInputError`` naming the problem.

    ``collapse`` also turns every run of white space inside into one space.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} must be text, not {type(text).__name__}")
    check_encodable(text, what)
    normalised = unicodedata.normalize("NFC", text)
    normalised = " ".join(normalised.split()) if collapse else normalised.strip()
    found = refused_character(normalised)
    if found is not None:
        index, ch = found
        raise InvalidInputError(
            f"{what} may not contain {_describe(ch)} (position {index + 1}): "
            "control, bidirectional-formatting and zero-width characters are refused"
        )
    if not normalised:
        raise InvalidInputError(f"{what} must not be empty")
    if len(normalised) > max_length:
        raise InvalidInputError(
            f"{what} has {len(normalised)} characters; at most {max_length} allowed"
        )
    return normalised


def clean_text(text: str, what: str, *, multiline: bool = False) -> str:
    """Free text (a field, a reason): valid Unicode, NFC, no controls but line breaks.

    Bidirectional and zero-width characters are allowed here: free text in
    mixed scripts may need them, and it is not what identifies anyone.
    """
    check_encodable(text, what)
    normalised = unicodedata.normalize("NFC", text)
    for index, ch in enumerate(normalised):
        if multiline and ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise InvalidInputError(
                f"{what} may not contain {_describe(ch)} (position {index + 1})"
            )
    return normalised


__all__ = [
    "BIDI_CONTROLS",
    "ZERO_WIDTH",
    "check_encodable",
    "clean_name",
    "clean_text",
    "is_encodable",
    "refused_character",
]
