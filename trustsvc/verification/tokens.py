"""Signed QR payloads: COSE_Sign1 (RFC 9052) over a small CBOR map, base64url-encoded.

The token printed on a license says which license it is (identifier, type,
issuer, validity, a hash of the license content) and is signed with the
issuing department's seal key, named by a key id (the first 8 bytes of the
SHA-256 of the seal certificate). Offline, a verifier holding the seal
certificates and the trust anchors checks the signature; online, the library
adds the current status. ES256 (RFC 9053) for EC seal keys, PS256 for RSA.

CBOR with integer keys keeps the token short enough for a QR code a phone
reads off paper; signing costs one ECDSA signature (tens of microseconds).

Decoding is strict, because anyone who can reach a QR page sends us tokens
(issue 10): the size is checked before any base64 or CBOR work, and the CBOR
is read by a small walker over a closed subset (RFC 8949 §4.2.1 deterministic
encoding: shortest-form heads, definite lengths, map keys in order and once),
which never builds anything the schema does not name: no tags but the
COSE_Sign1 tag, no floats or simple values, no nesting beyond the schema, no
trailing bytes. A token therefore has one encoding; version 2 tokens also
need a low-S ECDSA signature (s <= n/2) for the same reason.

Versions: version 1 (no version key, no signing time) is what was printed
before issue 10 and is still read; version 2 (key 0 = 2) carries the time it
was signed (key 8, Unix seconds), which lets a verifier refuse tokens signed
after a seal key was compromised. Every token signed now is version 2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from trustsvc.errors import InvalidIdentifierError, InvalidInputError
from trustsvc.keys.store import SigningKey
from trustsvc.licenses.identifiers import parse_identifier

_COSE_SIGN1_TAG = 18
_ALG, _KID = 1, 4
_ES256, _PS256 = -7, -37
#: Payload keys (small integers keep the CBOR short). The type code and the
#: issuer's credit code are parts of the GB/T 36904 identifier, so they are
#: carried there and not repeated.
_VERSION = 0
_IDENTIFIER, _FROM, _UNTIL, _CONTENT_HASH, _KIND, _EXPIRES, _NONCE, _SIGNED_AT = range(1, 9)
#: The format every new token has; version 1 has neither key 0 nor key 8.
TOKEN_VERSION = 2
#: A token of more than this many characters is not one of ours; refused before decoding.
MAX_TOKEN_LENGTH = 2048
_MAX_PROTECTED = 32
_MAX_PAYLOAD = 512
_MAX_IDENTIFIER_BYTES = 128
_KID_LENGTH = 8
_HASH_LENGTH = 16
_NONCE_LENGTH = 16
_ES256_SIGNATURE_LENGTH = 64
#: RSA-PSS signatures are as long as the modulus: 2048, 3072 or 4096 bits.
_PS256_SIGNATURE_LENGTHS = frozenset({256, 384, 512})
#: Days are proleptic Gregorian ordinals (``date.toordinal``), 1900-01-01 to 9999-12-31.
_MIN_DAY, _MAX_DAY = date(1900, 1, 1).toordinal(), date.max.toordinal()
#: Moments are Unix seconds that fit in 32 bits (until 2106).
_MAX_SECONDS = 2**32 - 1
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_UINT, _NINT, _BSTR, _TSTR, _ARRAY, _MAP, _TAG = range(7)


class InvalidTokenError(InvalidInputError):
    code = "invalid-token"


@dataclass(frozen=True)
class TokenClaims:
    """What a license token asserts."""

    identifier: str
    type_code: str
    issuer_code: str
    valid_from: date
    valid_until: date | None
    #: SHA-256 (first 16 bytes) of the license content, see ``content_hash``.
    content_hash: bytes
    #: "license" for the code printed on the document; "presentation" for 亮证 codes.
    kind: str = "license"
    #: Unix time after which a presentation token is refused.
    expires_at: int | None = None
    nonce: bytes | None = None
    #: Unix time the token was signed; None only in version 1 tokens (read, never made).
    signed_at: int | None = None


def content_hash(canonical_content: bytes) -> bytes:
    return hashlib.sha256(canonical_content).digest()[:16]


def license_content_hash(identifier: str, type_code: str, facts: Mapping[str, str]) -> bytes:
    """What a printed token's content hash covers: the identifier, the type and the facts.

    ``facts`` is the license data in its flat form with the holder's ID number
    replaced by its keyed digest; the issuer computes it at issuance and the
    verifier again from the library record.
    """
    canonical = json.dumps(
        {"identifier": identifier, "type": type_code, **facts},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return content_hash(canonical)


def _payload(claims: TokenClaims) -> bytes:
    if claims.signed_at is None:
        raise ValueError("a token carries the time it was signed")
    if claims.kind not in ("license", "presentation"):
        raise ValueError(f"unknown token kind {claims.kind!r}")
    body: dict[int, Any] = {
        _VERSION: TOKEN_VERSION,
        _IDENTIFIER: claims.identifier,
        _FROM: claims.valid_from.toordinal(),
        _CONTENT_HASH: claims.content_hash,
        _SIGNED_AT: claims.signed_at,
    }
    if claims.valid_until is not None:
        body[_UNTIL] = claims.valid_until.toordinal()
    if claims.kind != "license":
        body[_KIND] = claims.kind
    if claims.expires_at is not None:
        body[_EXPIRES] = claims.expires_at
    if claims.nonce is not None:
        body[_NONCE] = claims.nonce
    encoded: bytes = cbor2.dumps(body, canonical=True)
    return encoded


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    encoded: bytes = cbor2.dumps(["Signature1", protected, b"", payload])
    return encoded


def sign_token(claims: TokenClaims, key: SigningKey, kid: bytes) -> str:
    """The base64url version 2 token for ``claims``, signed with a department's seal key."""
    algorithm = _ES256 if isinstance(key, ec.EllipticCurvePrivateKey) else _PS256
    protected: bytes = cbor2.dumps({_ALG: algorithm, _KID: kid}, canonical=True)
    payload = _payload(claims)
    to_be_signed = _sig_structure(protected, payload)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
        # (r, n - s) verifies as well: only the low one is a valid encoding.
        s = min(s, _P256_ORDER - s)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = key.sign(to_be_signed, _pss(), hashes.SHA256())
    message = cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return base64.urlsafe_b64encode(message).rstrip(b"=").decode("ascii")


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@dataclass(frozen=True)
class ParsedToken:
    kid: bytes
    algorithm: int
    claims: TokenClaims
    to_be_signed: bytes
    signature: bytes
    #: 1 (printed before issue 10) or 2.
    version: int = TOKEN_VERSION


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
            value = info
        elif info < 28:
            size = 1 << (info - 24)
            if pos + size > len(data):
                raise InvalidTokenError("token is truncated")
            value = int.from_bytes(data[pos : pos + size], "big")
            pos += size
            if value < (24 if size == 1 else 1 << (4 * size)):
                raise InvalidTokenError("token is not in its one (shortest) encoding")
        else:
            raise InvalidTokenError("token has an indefinite or reserved length")
        self.pos = pos
        return value

    def uint(self, low: int, high: int) -> int:
        value = self.head(_UINT)
        if not low <= value <= high:
            raise InvalidTokenError("token field is out of range")
        return value

    def bstr(self, low: int, high: int) -> bytes:
        length = self.head(_BSTR)
        if not low <= length <= high or self.pos + length > len(self.data):
            raise InvalidTokenError("token field has the wrong length")
        start = self.pos
        self.pos += length
        return self.data[start : self.pos]

    def tstr(self, high: int) -> str:
        length = self.head(_TSTR)
        if length > high or self.pos + length > len(self.data):
            raise InvalidTokenError("token field has the wrong length")
        start = self.pos
        self.pos += length
        try:
            return self.data[start : self.pos].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidTokenError("token text is not UTF-8") from None

    def end(self) -> None:
        if self.pos != len(self.data):
            raise InvalidTokenError("token has bytes after its end")


def _day(reader: _Cbor) -> int:
    return reader.uint(_MIN_DAY, _MAX_DAY)


def _seconds(reader: _Cbor) -> int:
    return reader.uint(0, _MAX_SECONDS)


def _kind(reader: _Cbor) -> str:
    # "license" is the absence of the key: one claim, one encoding.
    if reader.tstr(16) != "presentation":
        raise InvalidTokenError("token kind is unknown")
    return "presentation"


_FIELDS: dict[int, Callable[[_Cbor], object]] = {
    _VERSION: lambda r: r.uint(TOKEN_VERSION, TOKEN_VERSION),
    _IDENTIFIER: lambda r: r.tstr(_MAX_IDENTIFIER_BYTES),
    _FROM: _day,
    _UNTIL: _day,
    _CONTENT_HASH: lambda r: r.bstr(_HASH_LENGTH, _HASH_LENGTH),
    _KIND: _kind,
    _EXPIRES: _seconds,
    _NONCE: lambda r: r.bstr(_NONCE_LENGTH, _NONCE_LENGTH),
    _SIGNED_AT: _seconds,
}
_LICENSE_KEYS = frozenset({_IDENTIFIER, _FROM, _CONTENT_HASH})
_PRESENTATION_KEYS = _LICENSE_KEYS | {_KIND, _EXPIRES, _NONCE}
#: The keys each (version, kind) must carry; valid-until is the only optional one.
_REQUIRED: dict[tuple[int, str], frozenset[int]] = {
    (1, "license"): _LICENSE_KEYS,
    (1, "presentation"): _PRESENTATION_KEYS,
    (2, "license"): _LICENSE_KEYS | {_VERSION, _SIGNED_AT},
    (2, "presentation"): _PRESENTATION_KEYS | {_VERSION, _SIGNED_AT},
}


def _decode_base64url(token: str) -> bytes:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token is too long to be a trustsvc token")
    if not _BASE64URL.fullmatch(token) or len(token) % 4 == 1:
        raise InvalidTokenError("token is not base64url text")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # Unused low bits of the last character must be zero: one text per token.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise InvalidTokenError("token is not in its one base64url encoding")
    return raw


def _protected_header(protected: bytes) -> tuple[int, bytes]:
    reader = _Cbor(protected)
    if reader.head(_MAP) != 2:
        raise InvalidTokenError("token header must hold exactly the algorithm and the key id")
    reader.uint(_ALG, _ALG)
    algorithm = -1 - reader.head(_NINT)
    if algorithm not in (_ES256, _PS256):
        raise InvalidTokenError("token algorithm is not ES256 or PS256")
    reader.uint(_KID, _KID)
    kid = reader.bstr(_KID_LENGTH, _KID_LENGTH)
    reader.end()
    return algorithm, kid


def _payload_fields(payload: bytes) -> dict[int, object]:
    reader = _Cbor(payload)
    count = reader.head(_MAP)
    if count > len(_FIELDS):
        raise InvalidTokenError("token has too many fields")
    values: dict[int, object] = {}
    previous = -1
    for _ in range(count):
        key = reader.uint(0, max(_FIELDS))
        if key <= previous:
            raise InvalidTokenError("token fields are repeated or out of order")
        values[key] = _FIELDS[key](reader)
        previous = key
    reader.end()
    return values


def _check_signature_shape(algorithm: int, signature: bytes, version: int) -> None:
    if algorithm == _ES256:
        if len(signature) != _ES256_SIGNATURE_LENGTH:
            raise InvalidTokenError("token signature has the wrong length")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        # Version 1 tokens were signed without normalising s; see the module docstring.
        high = _P256_ORDER // 2 if version >= 2 else _P256_ORDER - 1
        if not (1 <= r < _P256_ORDER and 1 <= s <= high):
            raise InvalidTokenError("token signature is not in its one (low-S) form")
    elif len(signature) not in _PS256_SIGNATURE_LENGTHS:
        raise InvalidTokenError("token signature has the wrong length")


def parse_token(token: str) -> ParsedToken:
    """Decode a token's structure (not its signature); refuse anything malformed.

    Raises only ``InvalidTokenError``; bounded in time by ``MAX_TOKEN_LENGTH``
    (a few tens of microseconds for any input).
    """
    raw = _decode_base64url(token)
    message = _Cbor(raw)
    if message.head(_TAG) != _COSE_SIGN1_TAG:
        raise InvalidTokenError("token is not a COSE_Sign1 message")
    if message.head(_ARRAY) != 4:
        raise InvalidTokenError("token is not a COSE_Sign1 message")
    protected = message.bstr(1, _MAX_PROTECTED)
    algorithm, kid = _protected_header(protected)
    if message.head(_MAP) != 0:
        raise InvalidTokenError("token's unprotected header must be empty")
    payload = message.bstr(1, _MAX_PAYLOAD)
    signature = message.bstr(1, max(_PS256_SIGNATURE_LENGTHS))
    message.end()
    values = _payload_fields(payload)
    version = 2 if _VERSION in values else 1
    kind = "presentation" if _KIND in values else "license"
    required = _REQUIRED[(version, kind)]
    if not required <= values.keys() <= required | {_UNTIL}:
        raise InvalidTokenError(f"token lacks or adds fields for a version {version} {kind} token")
    _check_signature_shape(algorithm, signature, version)
    claims = _claims(values, kind)
    return ParsedToken(
        kid=kid,
        algorithm=algorithm,
        claims=claims,
        to_be_signed=_sig_structure(protected, payload),
        signature=signature,
        version=version,
    )


def _claims(values: dict[int, object], kind: str) -> TokenClaims:
    text = values[_IDENTIFIER]
    assert isinstance(text, str)
    try:
        identifier = parse_identifier(text)
    except InvalidIdentifierError as exc:
        raise InvalidTokenError("token names no valid GB/T 36904 identifier") from exc
    if str(identifier) != text:
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
        type_code=identifier.type_code,
        issuer_code=identifier.issuer_code,
        valid_from=valid_from,
        valid_until=valid_until,
        content_hash=content,
        kind=kind,
        expires_at=_int(values[_EXPIRES]) if _EXPIRES in values else None,
        nonce=nonce,
        signed_at=_int(values[_SIGNED_AT]) if _SIGNED_AT in values else None,
    )


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def peek_kind(token: str) -> str | None:
    """The kind a token claims ("license", "presentation"), or None if it cannot be read.

    For routing a request only (a presentation check writes, a license check does
    not); it proves nothing, and ``parse_token`` and the signature decide. The
    strict decoder is bounded, so this is safe on the event loop.
    """
    try:
        return parse_token(token).claims.kind
    except InvalidTokenError:
        return None


def signature_is_valid(parsed: ParsedToken, certificate: x509.Certificate) -> bool:
    """Whether the token's signature verifies with the certificate's key."""
    public_key = certificate.public_key()
    try:
        if parsed.algorithm == _ES256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            if len(parsed.signature) != 64 or not isinstance(public_key.curve, ec.SECP256R1):
                return False
            r = int.from_bytes(parsed.signature[:32], "big")
            s = int.from_bytes(parsed.signature[32:], "big")
            public_key.verify(
                encode_dss_signature(r, s), parsed.to_be_signed, ec.ECDSA(hashes.SHA256())
            )
            return True
        if parsed.algorithm == _PS256 and isinstance(public_key, rsa.RSAPublicKey):
            if len(parsed.signature) != (public_key.key_size + 7) // 8:
                return False
            public_key.verify(parsed.signature, parsed.to_be_signed, _pss(), hashes.SHA256())
            return True
    except InvalidSignature:
        return False
    return False
