"""Signed QR payloads: COSE_Sign1 (RFC 9052) over a small CBOR map, base64url-encoded.

The token printed on a license says which license it is (identifier, type,
issuer, validity, a hash of the license content) and is signed with the
issuing department's seal key, named by a key id (the first 8 bytes of the
SHA-256 of the seal certificate). Offline, a verifier holding the seal
certificates and the trust anchors checks the signature; online, the library
adds the current status. ES256 (RFC 9053) for EC seal keys, PS256 for RSA.

CBOR with integer keys keeps the token short enough for a QR code a phone
reads off paper; signing costs one ECDSA signature (tens of microseconds).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
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
_IDENTIFIER, _FROM, _UNTIL, _CONTENT_HASH, _KIND, _EXPIRES, _NONCE = range(1, 8)
#: A token of more than this is not one of ours; refuse before parsing.
MAX_TOKEN_LENGTH = 2048


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


def content_hash(canonical_content: bytes) -> bytes:
    return hashlib.sha256(canonical_content).digest()[:16]


def _day(value: date | None) -> int | None:
    return None if value is None else value.toordinal()


def _payload(claims: TokenClaims) -> bytes:
    body: dict[int, Any] = {
        _IDENTIFIER: claims.identifier,
        _FROM: _day(claims.valid_from),
        _CONTENT_HASH: claims.content_hash,
    }
    if claims.valid_until is not None:
        body[_UNTIL] = _day(claims.valid_until)
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
    """The base64url token for ``claims``, signed with a department's seal key."""
    algorithm = _ES256 if isinstance(key, ec.EllipticCurvePrivateKey) else _PS256
    protected: bytes = cbor2.dumps({_ALG: algorithm, _KID: kid}, canonical=True)
    payload = _payload(claims)
    to_be_signed = _sig_structure(protected, payload)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
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


def parse_token(token: str) -> ParsedToken:
    """Decode a token's structure (not its signature); refuse anything malformed."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token is too long to be a trustsvc token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        message = cbor2.loads(raw)
        if not isinstance(message, cbor2.CBORTag) or message.tag != _COSE_SIGN1_TAG:
            raise InvalidTokenError("token is not a COSE_Sign1 message")
        protected, _unprotected, payload, signature = message.value
        header = cbor2.loads(protected)
        body = cbor2.loads(payload)
        identifier = parse_identifier(_text(body[_IDENTIFIER]))
        claims = TokenClaims(
            identifier=str(identifier),
            type_code=identifier.type_code,
            issuer_code=identifier.issuer_code,
            valid_from=date.fromordinal(int(body[_FROM])),
            valid_until=date.fromordinal(int(body[_UNTIL])) if _UNTIL in body else None,
            content_hash=bytes(body[_CONTENT_HASH]),
            kind=_text(body.get(_KIND, "license")),
            expires_at=int(body[_EXPIRES]) if _EXPIRES in body else None,
            nonce=bytes(body[_NONCE]) if _NONCE in body else None,
        )
        return ParsedToken(
            kid=bytes(header[_KID]),
            algorithm=int(header[_ALG]),
            claims=claims,
            to_be_signed=_sig_structure(protected, payload),
            signature=bytes(signature),
        )
    except (InvalidTokenError, InvalidIdentifierError):
        raise
    except (
        binascii.Error,
        cbor2.CBORDecodeError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
    ) as exc:
        raise InvalidTokenError("token is malformed") from exc


def peek_kind(token: str) -> str | None:
    """The kind a token claims ("license", "presentation"), or None if it cannot be read.

    For routing a request only (a presentation check writes, a license check does
    not); it proves nothing, and ``parse_token`` and the signature decide.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        message = cbor2.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        body = cbor2.loads(message.value[2])
        kind = body.get(_KIND, "license")
    except (
        binascii.Error,
        cbor2.CBORDecodeError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
    ):
        return None
    return kind if isinstance(kind, str) else None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTokenError("token field has the wrong type")
    return value


def signature_is_valid(parsed: ParsedToken, certificate: x509.Certificate) -> bool:
    """Whether the token's signature verifies with the certificate's key."""
    public_key = certificate.public_key()
    try:
        if parsed.algorithm == _ES256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            if len(parsed.signature) != 64:
                return False
            r = int.from_bytes(parsed.signature[:32], "big")
            s = int.from_bytes(parsed.signature[32:], "big")
            public_key.verify(
                encode_dss_signature(r, s), parsed.to_be_signed, ec.ECDSA(hashes.SHA256())
            )
            return True
        if parsed.algorithm == _PS256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(parsed.signature, parsed.to_be_signed, _pss(), hashes.SHA256())
            return True
    except InvalidSignature:
        return False
    return False
