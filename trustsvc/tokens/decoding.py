"""Reading a QR token that anyone may send: the strict, bounded decoder (issue 10).

Anyone who can reach a QR page sends us tokens: the size is checked before
any base64 or CBOR work, and the CBOR is read by a small walker over a closed
subset (RFC 8949 §4.2.1 deterministic encoding: shortest-form heads, definite
lengths, map keys in order and once), which never builds anything the schema
does not name: no tags but the COSE_Sign1 tag, no floats or simple values, no
nesting beyond the schema, no trailing bytes. A token therefore has one
encoding; version 2 tokens also need a low-S ECDSA signature (s <= n/2) for
the same reason. Decoding proves nothing by itself: the signature is checked
by ``trustsvc.tokens.signature``. Nothing here can sign.
"""

from __future__ import annotations

import base64
import re
from datetime import date
from functools import lru_cache

import cbor2

from trustsvc.codes.identifiers import parse_identifier
from trustsvc.errors import InvalidIdentifierError
from trustsvc.tokens.format import (
    CTI,
    DAY_EPOCH,
    ES256,
    EXP,
    IAT,
    P256_ORDER,
    PROFILE_MEDIA_TYPE,
    PS256,
    TYP,
    V3_CONTENT_HASH,
    V3_DOCUMENT_HASH,
    V3_FROM,
    V3_IDENTIFIER,
    V3_UNTIL,
    InvalidTokenError,
    ParsedToken,
    TokenClaims,
    TokenKind,
    sig_structure,
)

#: Payload keys (small integers keep the CBOR short). The type code and the
#: issuer's credit code are parts of the GB/T 36904 identifier, so they are
#: carried there and not repeated.
_VERSION = 0
_IDENTIFIER, _FROM, _UNTIL, _CONTENT_HASH, _KIND, _EXPIRES, _NONCE, _SIGNED_AT = range(1, 9)
#: A token of more than this many characters is not one of ours; refused before decoding.
MAX_TOKEN_LENGTH = 2048
_MAX_PROTECTED = 64
_MAX_PAYLOAD = 512
_MAX_IDENTIFIER_BYTES = 128
_KID_LENGTH = 8
_HASH_LENGTH = 16
_NONCE_LENGTH = 16
_ES256_SIGNATURE_LENGTH = 64
#: RSA-PSS signatures are as long as the modulus: 2048, 3072 or 4096 bits.
_PS256_SIGNATURE_LENGTHS = frozenset({256, 384, 512})
#: Days are proleptic Gregorian ordinals (``date.toordinal``), 1900-01-01 to 9999-12-31
#: (versions 1 and 2), or days since 1970-01-01 over the same range (version 3).
_FIRST_DAY = date(1900, 1, 1)
_MIN_DAY, _MAX_DAY = _FIRST_DAY.toordinal(), date.max.toordinal()
_MIN_EPOCH_DAY = (_FIRST_DAY - DAY_EPOCH).days
_MAX_EPOCH_DAY = (date.max - DAY_EPOCH).days
#: Moments are Unix seconds that fit in 32 bits (until 2106).
_MAX_SECONDS = 2**32 - 1
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: By the text's length modulo 4: the low bits of its last character that carry no data.
_UNUSED_BITS = {0: 0, 2: 0b1111, 3: 0b11}
_UINT, _NINT, _BSTR, _TSTR, _ARRAY, _MAP, _TAG = range(7)


class _Cbor:
    """Reads CBOR items of exactly the expected type from a bounded buffer.

    Only definite, shortest-form heads are accepted (RFC 8949 §4.2.1); every
    read names the major type it expects, so an item of any other type (a
    tag, a float, a nested array) is refused without being decoded.
    """

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def head(self, major: int) -> int:
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise InvalidTokenError("token is truncated")
        initial = data[pos]
        if initial >> 5 != major:
            raise InvalidTokenError("token field has the wrong type")
        info = initial & 0x1F
        pos += 1
        if info < 24:
            self.pos = pos
            return info
        if info < 28:
            size = 1 << (info - 24)
            if pos + size > len(data):
                raise InvalidTokenError("token is truncated")
            value = int.from_bytes(data[pos : pos + size], "big")
            pos += size
            if value < (24 if size == 1 else 1 << (4 * size)):
                raise InvalidTokenError("token is not in its one (shortest) encoding")
            self.pos = pos
            return value
        raise InvalidTokenError("token has an indefinite or reserved length")

    def bstr(self, low: int, high: int) -> bytes:
        length = self.head(_BSTR)
        if not low <= length <= high or self.pos + length > len(self.data):
            raise InvalidTokenError("token field has the wrong length")
        start = self.pos
        self.pos += length
        return self.data[start : self.pos]

    def end(self) -> None:
        if self.pos != len(self.data):
            raise InvalidTokenError("token has bytes after its end")


#: Each payload key's CBOR major type and bounds: the value's range for an
#: unsigned integer, the length's for a byte or text string.
_FIELDS: dict[int, tuple[int, int, int]] = {
    # Key 0 is version 2's marker; version 3 is told by its header.
    _VERSION: (_UINT, 2, 2),
    _IDENTIFIER: (_TSTR, 1, _MAX_IDENTIFIER_BYTES),
    _FROM: (_UINT, _MIN_DAY, _MAX_DAY),
    _UNTIL: (_UINT, _MIN_DAY, _MAX_DAY),
    _CONTENT_HASH: (_BSTR, _HASH_LENGTH, _HASH_LENGTH),
    # "license" is the absence of the key: one claim, one encoding.
    _KIND: (_TSTR, len("presentation"), len("presentation")),
    _EXPIRES: (_UINT, 0, _MAX_SECONDS),
    _NONCE: (_BSTR, _NONCE_LENGTH, _NONCE_LENGTH),
    _SIGNED_AT: (_UINT, 0, _MAX_SECONDS),
}
_LAST_KEY = max(_FIELDS)
_LICENSE_KEYS = frozenset({_IDENTIFIER, _FROM, _CONTENT_HASH})
_PRESENTATION_KEYS = _LICENSE_KEYS | {_KIND, _EXPIRES, _NONCE}
#: The keys each (version, kind) must carry; valid-until is the only optional one.
_REQUIRED: dict[tuple[int, str], frozenset[int]] = {
    (1, "license"): _LICENSE_KEYS,
    (1, "presentation"): _PRESENTATION_KEYS,
    (2, "license"): _LICENSE_KEYS | {_VERSION, _SIGNED_AT},
    (2, "presentation"): _PRESENTATION_KEYS | {_VERSION, _SIGNED_AT},
}
#: Every key set a token may have, and the (version, kind) it makes.
_SHAPES: dict[frozenset[int], tuple[int, str]] = {
    keys: shape for shape, required in _REQUIRED.items() for keys in (required, required | {_UNTIL})
}


def _decode_base64url(token: str) -> bytes:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token is too long to be a trustsvc token")
    if not _BASE64URL.fullmatch(token) or len(token) % 4 == 1:
        raise InvalidTokenError("token is not base64url text")
    # The last character's unused low bits must be zero: one text per token.
    unused = _UNUSED_BITS[len(token) % 4]
    if unused and _BASE64URL_ALPHABET.index(token[-1]) & unused:
        raise InvalidTokenError("token is not in its one base64url encoding")
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


#: The only two protected headers there are, {1: alg, 4: h'<8 bytes>'}, up to the key id:
#: a map of two, key 1, -7 (ES256) or -37 (PS256), key 4, a byte string of 8.
_PROTECTED_PREFIXES = {
    b"\xa2\x01\x26\x04\x48": ES256,
    b"\xa2\x01\x38\x24\x04\x48": PS256,
}


#: Version 3's protected header, {1: alg, 4: h'<8 bytes>', 16: typ}, around the key id.
_V3_PROTECTED_PREFIXES = {
    b"\xa3\x01\x26\x04\x48": ES256,
    b"\xa3\x01\x38\x24\x04\x48": PS256,
}
_V3_PROTECTED_SUFFIX: bytes = cbor2.dumps(TYP) + cbor2.dumps(PROFILE_MEDIA_TYPE)


def _protected_header(protected: bytes) -> tuple[int, bytes, bool]:
    """The algorithm, the key id, and whether the header is version 3's."""
    prefix = protected[: len(protected) - _KID_LENGTH]
    algorithm = _PROTECTED_PREFIXES.get(prefix)
    if algorithm is not None:
        return algorithm, protected[len(prefix) :], False
    if protected.endswith(_V3_PROTECTED_SUFFIX):
        head = protected[: len(protected) - len(_V3_PROTECTED_SUFFIX) - _KID_LENGTH]
        algorithm = _V3_PROTECTED_PREFIXES.get(head)
        if algorithm is not None:
            return algorithm, protected[len(head) : len(head) + _KID_LENGTH], True
    raise InvalidTokenError(
        "token header must be exactly {1: ES256 or PS256, 4: an 8-byte key id"
        f"[, 16: {PROFILE_MEDIA_TYPE!r}]}}"
    )


def _payload_fields(payload: bytes) -> dict[int, object]:
    reader = _Cbor(payload)
    count = reader.head(_MAP)
    if count > len(_FIELDS):
        raise InvalidTokenError("token has too many fields")
    values: dict[int, object] = {}
    previous = -1
    for _ in range(count):
        # Every key is a one-byte unsigned integer (0 to 8), whose byte is its value.
        key = payload[reader.pos] if reader.pos < len(payload) else _LAST_KEY + 1
        if key <= previous or key > _LAST_KEY:
            raise InvalidTokenError("token fields are unknown, repeated or out of order")
        reader.pos += 1
        major, low, high = _FIELDS[key]
        value = reader.head(major)
        if not low <= value <= high:
            raise InvalidTokenError("token field is out of range or has the wrong length")
        if major == _UINT:
            values[key] = value
        else:
            start = reader.pos
            reader.pos = end = start + value
            if end > len(payload):
                raise InvalidTokenError("token is truncated")
            values[key] = payload[start:end]
        previous = key
    reader.end()
    if values.get(_KIND, b"presentation") != b"presentation":
        raise InvalidTokenError("token kind is unknown")
    return values


#: Version 3's claims in their one order (RFC 8949 §4.2.1: by the bytes of the encoded
#: key), each as its encoded key, the CBOR major types its value may have, and the bounds
#: of the value (an integer) or of the length (a byte or text string).
_V3_FIELDS: tuple[tuple[bytes, int, tuple[int, ...], int, int], ...] = tuple(
    (cbor2.dumps(key), key, majors, low, high)
    for key, majors, low, high in (
        (EXP, (_UINT,), 0, _MAX_SECONDS),
        (IAT, (_UINT,), 0, _MAX_SECONDS),
        (CTI, (_BSTR,), _NONCE_LENGTH, _NONCE_LENGTH),
        (V3_IDENTIFIER, (_TSTR,), 1, _MAX_IDENTIFIER_BYTES),
        (V3_FROM, (_UINT, _NINT), _MIN_EPOCH_DAY, _MAX_EPOCH_DAY),
        (V3_UNTIL, (_UINT, _NINT), _MIN_EPOCH_DAY, _MAX_EPOCH_DAY),
        (V3_CONTENT_HASH, (_BSTR,), _HASH_LENGTH, _HASH_LENGTH),
        (V3_DOCUMENT_HASH, (_BSTR,), _HASH_LENGTH, _HASH_LENGTH),
    )
)
#: Each version 3 key's encoding, to its place in the one order.
_V3_INDEX = {field[0]: index for index, field in enumerate(_V3_FIELDS)}
assert all(len(key) == (5 if key[0] == 0x3A else 1) for key in _V3_INDEX)
_V3_LICENSE = frozenset({IAT, V3_IDENTIFIER, V3_FROM, V3_CONTENT_HASH})
_V3_PRESENTATION = frozenset({EXP, IAT, CTI, V3_IDENTIFIER, V3_FROM, V3_DOCUMENT_HASH})
_V3_SHAPES: dict[frozenset[int], str] = {
    keys: kind
    for required, kind in ((_V3_LICENSE, "license"), (_V3_PRESENTATION, "presentation"))
    for keys in (required, required | {V3_UNTIL})
}
#: Where each version 3 claim goes in the version 1 / 2 numbering ``_claims`` reads.
_V3_AS_OLD = {
    EXP: _EXPIRES,
    IAT: _SIGNED_AT,
    CTI: _NONCE,
    V3_IDENTIFIER: _IDENTIFIER,
    V3_FROM: _FROM,
    V3_UNTIL: _UNTIL,
    V3_CONTENT_HASH: _CONTENT_HASH,
    V3_DOCUMENT_HASH: _CONTENT_HASH,
}
_ORDINAL_OF_EPOCH = DAY_EPOCH.toordinal()
#: What the decoder needs of each version 3 key, in the one order: the key, its majors and
#: bounds, where it goes in the version 1 / 2 numbering, and whether it is a day.
_V3_PLAN = tuple(
    (key, majors, low, high, _V3_AS_OLD[key], key in (V3_FROM, V3_UNTIL))
    for _encoded, key, majors, low, high in _V3_FIELDS
)


def _v3_payload_fields(payload: bytes) -> tuple[dict[int, object], str]:
    """Version 3's claims, in the version 1 / 2 numbering, and the kind their keys make."""
    reader = _Cbor(payload)
    count = reader.head(_MAP)
    if count > len(_V3_FIELDS):
        raise InvalidTokenError("token has too many fields")
    values: dict[int, object] = {}
    seen: set[int] = set()
    index = 0
    for _ in range(count):
        # The next key must be one of those after the previous one, byte for byte: a
        # small key is one byte, a private-use one five (0x3a and four bytes).
        pos = reader.pos
        width = 5 if payload[pos : pos + 1] == b"\x3a" else 1
        found = _V3_INDEX.get(payload[pos : pos + width])
        if found is None or found < index:
            raise InvalidTokenError("token fields are unknown, repeated or out of order")
        index = found
        key, majors, low, high, old, is_day = _V3_PLAN[index]
        index += 1
        reader.pos = pos = pos + width
        major = payload[pos] >> 5 if pos < len(payload) else -1
        if major not in majors:
            raise InvalidTokenError("token field has the wrong type")
        argument = reader.head(major)
        value = -1 - argument if major == _NINT else argument
        if not low <= value <= high:
            raise InvalidTokenError("token field is out of range or has the wrong length")
        if major >= _BSTR:  # a byte or text string (the only other majors are integers)
            start = reader.pos
            reader.pos = end = start + value
            if end > len(payload):
                raise InvalidTokenError("token is truncated")
            values[old] = payload[start:end]
        elif is_day:
            values[old] = value + _ORDINAL_OF_EPOCH
        else:
            values[old] = value
        seen.add(key)
    reader.end()
    kind = _V3_SHAPES.get(frozenset(seen))
    if kind is None:
        raise InvalidTokenError("token lacks or adds fields for its version and kind")
    return values, kind


def _check_signature_shape(algorithm: int, signature: bytes, version: int) -> None:
    if algorithm == ES256:
        if len(signature) != _ES256_SIGNATURE_LENGTH:
            raise InvalidTokenError("token signature has the wrong length")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        # Version 1 tokens were signed without normalising s; see the module docstring.
        high = P256_ORDER // 2 if version >= 2 else P256_ORDER - 1
        if not (1 <= r < P256_ORDER and 1 <= s <= high):
            raise InvalidTokenError("token signature is not in its one (low-S) form")
    elif len(signature) not in _PS256_SIGNATURE_LENGTHS:
        raise InvalidTokenError("token signature has the wrong length")


def parse_token(token: str) -> ParsedToken:
    """Decode a token's structure (not its signature); refuse anything malformed.

    Raises only ``InvalidTokenError``; bounded in time by ``MAX_TOKEN_LENGTH``
    (a few tens of microseconds for any input).
    """
    raw = _decode_base64url(token)
    # Tag 18 and an array of four, each a one-byte head.
    if raw[:2] != b"\xd2\x84":
        raise InvalidTokenError("token is not a COSE_Sign1 message")
    message = _Cbor(raw)
    message.pos = 2
    protected = message.bstr(1, _MAX_PROTECTED)
    algorithm, kid, profiled = _protected_header(protected)
    if message.head(_MAP) != 0:
        raise InvalidTokenError("token's unprotected header must be empty")
    payload = message.bstr(1, _MAX_PAYLOAD)
    signature = message.bstr(1, max(_PS256_SIGNATURE_LENGTHS))
    message.end()
    if profiled:
        values, kind = _v3_payload_fields(payload)
        version = 3
    else:
        values = _payload_fields(payload)
        shape = _SHAPES.get(frozenset(values))
        if shape is None:
            raise InvalidTokenError("token lacks or adds fields for its version and kind")
        version, kind = shape
    _check_signature_shape(algorithm, signature, version)
    claims = _claims(values, kind)
    return ParsedToken(
        kid=kid,
        algorithm=algorithm,
        claims=claims,
        to_be_signed=sig_structure(protected, payload),
        signature=signature,
        version=version,
    )


@lru_cache(maxsize=4096)
def _identifier_codes(text: str) -> tuple[str, str]:
    """The type and issuer code of a valid identifier (every check, check characters
    included, made once per identifier text: the same licenses are checked over and over;
    an invalid one raises, and what raises is not kept)."""
    identifier = parse_identifier(text)
    return identifier.type_code, identifier.issuer_code


def _claims(values: dict[int, object], kind: str) -> TokenClaims:
    encoded = values[_IDENTIFIER]
    assert isinstance(encoded, bytes)
    try:
        text = encoded.decode("utf-8")
        type_code, issuer_code = _identifier_codes(text)
    except (UnicodeDecodeError, InvalidIdentifierError) as exc:
        raise InvalidTokenError("token names no valid GB/T 36904 identifier") from exc
    # parse_identifier reads the upper-case, unpadded form: only that one is written.
    if text != text.strip().upper():
        raise InvalidTokenError("token's identifier is not in its one written form")
    valid_from = date.fromordinal(_int(values[_FROM]))
    valid_until = date.fromordinal(_int(values[_UNTIL])) if _UNTIL in values else None
    if valid_until is not None and valid_until < valid_from:
        raise InvalidTokenError("token's validity ends before it starts")
    content = values[_CONTENT_HASH]
    nonce = values.get(_NONCE)
    assert isinstance(content, bytes) and (nonce is None or isinstance(nonce, bytes))
    return TokenClaims(
        identifier=text,
        type_code=type_code,
        issuer_code=issuer_code,
        valid_from=valid_from,
        valid_until=valid_until,
        content_hash=content,
        kind=TokenKind(kind),
        expires_at=_int(values[_EXPIRES]) if _EXPIRES in values else None,
        nonce=nonce,
        signed_at=_int(values[_SIGNED_AT]) if _SIGNED_AT in values else None,
    )


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def try_parse_token(token: str) -> ParsedToken | None:
    """The token decoded, or None if it is not one: for routing a request.

    A route that must know the kind (a presentation check writes, a license
    check does not) decodes once and hands the result to the verifier, which
    decides; decoding proves nothing by itself. The strict decoder is bounded,
    so this is safe on the event loop.
    """
    try:
        return parse_token(token)
    except InvalidTokenError:
        return None


def peek_kind(token: str) -> str | None:
    """The kind a token claims ("license", "presentation"), or None if it cannot be read."""
    parsed = try_parse_token(token)
    return None if parsed is None else parsed.claims.kind
