"""Checks of what outsiders send, before any route reads it: JSON bodies, forms, URLs.

JSON follows RFC 8259 strictly (I-JSON, RFC 7493): UTF-8 without a byte
order mark, no duplicate member names, no lone surrogate escapes (text that
cannot be encoded would fail later, in the database or in a response, as a
500), no NaN or Infinity, nesting and sizes bounded. Forms
(``application/x-www-form-urlencoded``, WHATWG URL §5) and percent-encoded
paths and queries must decode to UTF-8. A refusal names what is wrong.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from trustsvc.errors import InvalidInputError
from trustsvc.text import is_encodable

#: Deeper than any body of this API; a hostile body is refused at this depth.
MAX_JSON_DEPTH = 32
#: Characters of one form field; every field of our forms is far shorter.
MAX_FORM_FIELD = 1000
MAX_FORM_FIELDS = 20


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    built: dict[str, Any] = {}
    for key, value in pairs:
        if key in built:
            raise _DuplicateKey(key)
        built[key] = value
    return built


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _describe(path: list[str]) -> str:
    return "/" + "/".join(path) if path else "the body"


def _check_tree(value: Any) -> None:
    """Depth and encodability of every key and string, without recursion."""
    pending: list[tuple[Any, int, list[str]]] = [(value, 0, [])]
    while pending:
        item, depth, path = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInputError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            if not is_encodable(item):
                raise InvalidInputError(
                    f"JSON text at {_describe(path)} holds a lone surrogate (\\ud800-\\udfff)"
                )
        elif isinstance(item, dict):
            for key, member in item.items():
                if not is_encodable(key):
                    raise InvalidInputError(
                        f"a JSON member name in {_describe(path)} holds a lone surrogate"
                    )
                pending.append((member, depth + 1, [*path, key[:40]]))
        elif isinstance(item, list):
            pending.extend((member, depth + 1, [*path, str(i)]) for i, member in enumerate(item))


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``, or ``InvalidInputError`` saying why it is not acceptable."""
    if body.startswith(b"\xef\xbb\xbf"):
        raise InvalidInputError("JSON must not start with a byte order mark (RFC 8259 §8.1)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"JSON is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise InvalidInputError(f"JSON member {str(exc)[:40]!r} is given twice") from None
    except RecursionError:
        raise InvalidInputError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"JSON is malformed: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:
        # parse_constant, or an integer of more digits than Python converts.
        raise InvalidInputError(f"JSON is not acceptable: {exc}") from None
    _check_tree(value)
    return value


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
