"""Strict text encodings shared by the C2SP formats: standard base64 (RFC 4648 §4) that
round-trips exactly, and ASCII decimals with no leading zeroes."""

from __future__ import annotations

import base64
import binascii
import re

from trustsvc.tlog.errors import FormatError

#: Tree sizes and indexes are uint64 on the wire; 2**63 - 1 keeps them in signed ranges too.
MAX_UINT63 = (1 << 63) - 1

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def decode_base64(text: str, what: str, *, max_bytes: int) -> bytes:
    """Standard base64, canonical (re-encodes to the same text), at most ``max_bytes``."""
    if len(text) > 4 * ((max_bytes + 2) // 3) or len(text) % 4 or not _BASE64.fullmatch(text):
        raise FormatError(f"{what} is not standard base64 of at most {max_bytes} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{what} is not standard base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise FormatError(f"{what} is not canonical base64")
    return data


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_decimal(text: str, what: str) -> int:
    """An ASCII decimal with no leading zeroes, at most 2**63 - 1."""
    if not _DECIMAL.fullmatch(text):
        raise FormatError(f"{what} is not a decimal with no leading zeroes")
    value = int(text)
    if value > MAX_UINT63:
        raise FormatError(f"{what} is larger than 2**63 - 1")
    return value
