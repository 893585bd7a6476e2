"""Checks of what outsiders send, before any route reads it: JSON bodies, forms, URLs.

JSON is parsed strictly (``trustsvc.strictjson``: I-JSON, RFC 7493). Forms
(``application/x-www-form-urlencoded``, WHATWG URL §5) and percent-encoded
paths and queries must decode to UTF-8. A refusal names what is wrong.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping
from urllib.parse import unquote_to_bytes

from trustsvc.errors import InvalidInputError
from trustsvc.strictjson import MAX_JSON_DEPTH, parse_json

#: Characters of one form field; every field of our forms is far shorter.
MAX_FORM_FIELD = 1000
MAX_FORM_FIELDS = 20


def is_utf8_percent_encoded(raw: bytes) -> bool:
    """Whether percent-decoding ``raw`` (a path, a query, a form) gives UTF-8 text."""
    if b"%" not in raw and raw.isascii():
        return True
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_form(
    body: bytes,
    allowed: Collection[str] | None = None,
    *,
    max_lengths: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """The fields of a urlencoded form: each at most once, UTF-8, NFC, no controls, bounded.

    ``allowed``: the only names accepted (None: any, e.g. where a middleware adds its own).
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidInputError("a form body is percent-encoded ASCII") from None
    fields: dict[str, str] = {}
    parts = [part for part in text.split("&") if part]
    if len(parts) > MAX_FORM_FIELDS:
        raise InvalidInputError(f"a form has at most {MAX_FORM_FIELDS} fields")
    for part in parts:
        raw_name, _, raw_value = part.partition("=")
        try:
            name = unquote_to_bytes(raw_name.replace("+", " ")).decode("utf-8")
            value = unquote_to_bytes(raw_value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError("a form field is not UTF-8 text") from None
        if allowed is not None and name not in allowed:
            raise InvalidInputError(f"unknown form field {name[:40]!r}")
        if name in fields:
            raise InvalidInputError(f"form field {name!r} is given twice")
        limit = (max_lengths or {}).get(name, MAX_FORM_FIELD)
        if len(value) > limit:
            raise InvalidInputError(f"form field {name!r} is longer than {limit} characters")
        value = unicodedata.normalize("NFC", value)
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
            raise InvalidInputError(f"form field {name!r} contains control characters")
        fields[name] = value
    return fields


__all__ = ["MAX_JSON_DEPTH", "is_utf8_percent_encoded", "parse_form", "parse_json"]
