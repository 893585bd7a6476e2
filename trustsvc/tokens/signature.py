"""Checking a QR token's signature with a seal certificate's public key (ES256 or PS256,
RFC 9053): what a verifier does with a decoded token. No private key is near it."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from trustsvc.tokens.format import ES256, PS256, ParsedToken, pss_padding


def signature_is_valid(parsed: ParsedToken, certificate: x509.Certificate) -> bool:
    """Whether the token's signature verifies with the certificate's key."""
    return signature_is_valid_for(parsed, certificate.public_key())


def signature_is_valid_for(parsed: ParsedToken, public_key: PublicKeyTypes) -> bool:
    """Whether the token's signature verifies with this key (a seal certificate's, read once)."""
    try:
        if parsed.algorithm == ES256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            if len(parsed.signature) != 64 or not isinstance(public_key.curve, ec.SECP256R1):
                return False
            r = int.from_bytes(parsed.signature[:32], "big")
            s = int.from_bytes(parsed.signature[32:], "big")
            public_key.verify(
                encode_dss_signature(r, s), parsed.to_be_signed, ec.ECDSA(hashes.SHA256())
            )
            return True
        if parsed.algorithm == PS256 and isinstance(public_key, rsa.RSAPublicKey):
            if len(parsed.signature) != (public_key.key_size + 7) // 8:
                return False
            public_key.verify(parsed.signature, parsed.to_be_signed, pss_padding(), hashes.SHA256())
            return True
    except InvalidSignature:
        return False
    return False
