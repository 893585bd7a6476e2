"""Strict JSON for what outsiders send: RFC 8259 as I-JSON (RFC 7493) restricts it.

UTF-8 without a byte order mark, no duplicate member names, no lone
surrogate escapes (text that cannot be encoded would fail later, in the
database or in an answer, as a 500), no NaN or Infinity, nesting bounded.
Used for API bodies, batch rows and data files alike; a refusal says what
is wrong and where.
"""

from __future__ import annotations

import json
from typing import Any

from trustsvc.errors import InvalidInputError
from trustsvc.text import is_encodable

#: Deeper than any body of this API; a hostile body is refused at this depth.
MAX_JSON_DEPTH = 32


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


__all__ = ["MAX_JSON_DEPTH", "parse_json"]
