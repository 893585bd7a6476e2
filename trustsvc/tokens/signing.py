"""Signing QR tokens with a department's seal key: what issuance and presentation use.

Apart from ``trustsvc.tokens.cose`` (the format, and the checks a verifier
makes), so that verification never imports what holds a private key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from trustsvc.pki.keystore import SigningKey
from trustsvc.tokens.cose import (
    ES256,
    P256_ORDER,
    PS256,
    TokenClaims,
    encode_message,
    encode_payload,
    encode_protected,
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
