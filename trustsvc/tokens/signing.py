"""Building and signing QR tokens with a department's seal key: what issuance and
presentation use (version 3, docs/token.md).

Apart from ``trustsvc.tokens.decoding`` and ``trustsvc.tokens.signature`` (what a
verifier uses), so that verification never imports what holds a private key.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from trustsvc.pki.keystore import SigningKey
from trustsvc.tokens.format import (
    ALG,
    COSE_SIGN1_TAG,
    CTI,
    DAY_EPOCH,
    ES256,
    EXP,
    IAT,
    KID,
    P256_ORDER,
    PROFILE_MEDIA_TYPE,
    PS256,
    TYP,
    V3_CONTENT_HASH,
    V3_DOCUMENT_HASH,
    V3_FROM,
    V3_IDENTIFIER,
    V3_UNTIL,
    TokenClaims,
    pss_padding,
    sig_structure,
)


def sign_token(claims: TokenClaims, key: SigningKey, kid: bytes) -> str:
    """The base64url version 3 token for ``claims``, signed with a department's seal key."""
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey)
    protected = encode_protected(ES256 if is_ec else PS256, kid)
    payload = encode_payload(claims)
    to_be_signed = sig_structure(protected, payload)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
        # (r, n - s) verifies as well: only the low one is a valid encoding.
        s = min(s, P256_ORDER - s)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = key.sign(to_be_signed, pss_padding(), hashes.SHA256())
    return encode_message(protected, payload, signature)


def _epoch_day(day: date) -> int:
    return (day - DAY_EPOCH).days


def encode_payload(claims: TokenClaims) -> bytes:
    """The version 3 claims set (docs/token.md), in deterministic CBOR."""
    if claims.signed_at is None:
        raise ValueError("a token carries the time it was signed")
    body: dict[int, Any] = {
        IAT: claims.signed_at,
        V3_IDENTIFIER: claims.identifier,
        V3_FROM: _epoch_day(claims.valid_from),
    }
    if claims.valid_until is not None:
        body[V3_UNTIL] = _epoch_day(claims.valid_until)
    if claims.kind == "license":
        if claims.expires_at is not None or claims.nonce is not None:
            raise ValueError("a printed token has no expiry and no nonce")
        body[V3_CONTENT_HASH] = claims.content_hash
    elif claims.kind == "presentation":
        if claims.expires_at is None or claims.nonce is None:
            raise ValueError("a presentation code has an expiry and a nonce")
        body[EXP] = claims.expires_at
        body[CTI] = claims.nonce
        body[V3_DOCUMENT_HASH] = claims.content_hash
    else:
        raise ValueError(f"unknown token kind {claims.kind!r}")
    encoded: bytes = cbor2.dumps(body, canonical=True)
    return encoded


def encode_protected(algorithm: int, kid: bytes) -> bytes:
    """Version 3's protected header: the algorithm, the key id and the profile (``typ``)."""
    encoded: bytes = cbor2.dumps(
        {ALG: algorithm, KID: kid, TYP: PROFILE_MEDIA_TYPE}, canonical=True
    )
    return encoded


def encode_message(protected: bytes, payload: bytes, signature: bytes) -> str:
    """The tagged COSE_Sign1 message, base64url without padding: the token's text."""
    message = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return base64.urlsafe_b64encode(message).rstrip(b"=").decode("ascii")
