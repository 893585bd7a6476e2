"""Minimal DER writing for the few structures the service assembles per signature.

asn1crypto builds and checks every structure the service parses or emits; but
encoding a whole CMS object through it costs milliseconds, almost all of it
re-encoding parts that are the same every time. The hot paths (timestamp
tokens, seal signatures) therefore encode their constant parts once with
asn1crypto and join them with the few per-signature values here. Tests parse
the result with asn1crypto and require the re-encoding to match byte for byte.
"""

from __future__ import annotations

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
CONTEXT_0 = 0xA0  # [0], constructed
CONTEXT_1 = 0xA1  # [1], constructed


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def integer(value: int) -> bytes:
    """A non-negative INTEGER, minimally encoded."""
    if value < 0:
        raise ValueError("only non-negative integers are encoded here")
    return tlv(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def set_of(elements: list[bytes], tag: int = SET) -> bytes:
    """A SET OF, its elements in the order DER requires (sorted by their encodings)."""
    return tlv(tag, b"".join(sorted(elements)))
