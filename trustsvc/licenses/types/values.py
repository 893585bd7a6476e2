"""One value of license data in its canonical text form: text, numbers and dates.

Each function takes what an outsider sent (JSON or a CSV cell) and returns the
normalised value, or raises ``InvalidInputError`` saying what is wrong with it;
the caller names the key.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from decimal import Decimal

from trustsvc.errors import InvalidInputError
from trustsvc.text import check_encodable

_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Control characters other than tab and newline never belong in license text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def require_text(value: object) -> str:
    """The value stripped, if it is text."""
    if not isinstance(value, str):
        raise InvalidInputError(f"must be text, not {type(value).__name__}")
    return value.strip()


def normalise_text(value: object, *, multiline: bool = False) -> str:
    """NFC text that fits the page's encoding, on one line unless ``multiline``."""
    text = unicodedata.normalize("NFC", check_encodable(require_text(value), "the text"))
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    elif "\n" in text or "\r" in text:
        raise InvalidInputError("must be one line")
    if _CONTROL.search(text):
        raise InvalidInputError("contains control characters")
    return text


def normalise_number(value: object) -> str:
    """A decimal number in plain notation, from a JSON number or digits."""
    if isinstance(value, bool):
        raise InvalidInputError("must be a number, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError("must be a finite number")
        return format(Decimal(repr(value)), "f")
    text = require_text(value)
    if not _NUMBER.fullmatch(text):
        raise InvalidInputError(f"{shown(text)} is not a number (digits, optional decimals)")
    return format(Decimal(text), "f")


def normalise_date(value: object) -> date:
    """A calendar date written YYYY-MM-DD."""
    text = require_text(value)
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise InvalidInputError(f"{shown(text)} is not a date in YYYY-MM-DD form")


def shown(value: str) -> str:
    """The value quoted for a message, cut short: input is echoed only as far as it helps."""
    return repr(value if len(value) <= 40 else value[:40] + "…")
