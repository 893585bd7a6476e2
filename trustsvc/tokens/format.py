"""The QR token format, both directions' common ground: COSE_Sign1 (RFC 9052) over a
small CBOR map, base64url.

What a token says (``TokenClaims``, ``TokenKind``), what a decoded one holds
(``ParsedToken``), the header and claim keys, the content hashes, and the COSE
Sig_structure both the signer and the verifier build. Building and signing a
token is ``trustsvc.tokens.signing``; reading one that an outsider sends is
``trustsvc.tokens.decoding``; checking its signature is
``trustsvc.tokens.signature``.

The token printed on a license says which license it is (identifier, type,
issuer, validity, a hash of the license content) and is signed with the
issuing department's seal key, named by a key id (the first 8 bytes of the
SHA-256 of the seal certificate). Offline, a verifier holding the seal
certificates and the trust anchors checks the signature; online, the library
adds the current status. ES256 (RFC 9053) for EC seal keys, PS256 for RSA.

Versions: version 1 (no version key, no signing time) is what was printed
before issue 10 and is still read; version 2 (key 0 = 2) carries the time it
was signed (key 8, Unix seconds), which lets a verifier refuse tokens signed
after a seal key was compromised; both stay readable because they are on
paper. Version 3 (issue 11) is the documented profile, docs/token.md: a CWT
(RFC 8392) whose protected header names the profile and its version (COSE
``typ``, RFC 9596), with the registered claims iat / exp / cti used in their
registered meanings and private-use claim keys (< -65536) for the rest, dates
as days since 1970-01-01 (the count of RFC 8943 tag 100, untagged), and a
content hash a third party can recompute from the printed license. Every
token signed now is version 3.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from trustsvc.errors import InvalidInputError

COSE_SIGN1_TAG = 18
ALG, KID = 1, 4
#: COSE algorithms (RFC 9053): ES256 for EC seal keys, PS256 for RSA ones.
ES256, PS256 = -7, -37
#: The format every new token has (docs/token.md); 1 and 2 are still read.
TOKEN_VERSION = 3
#: Version 3's COSE ``typ`` (RFC 9596, header 16): the profile and its version.
PROFILE_MEDIA_TYPE = "application/x.trustsvc-token;v=3"
TYP = 16
#: Version 3's claims: the CWT-registered ones (RFC 8392 §3.1.4, 3.1.6, 3.1.7) in their
#: registered meanings, and private-use keys (the CWT registry's range below -65536).
EXP, IAT, CTI = 4, 6, 7
V3_IDENTIFIER, V3_FROM, V3_UNTIL, V3_CONTENT_HASH, V3_DOCUMENT_HASH = range(-65537, -65542, -1)
#: Version 3 dates are days since this day (RFC 8943's tag 100 epoch), without the tag.
DAY_EPOCH = date(1970, 1, 1)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class TokenKind(StrEnum):
    """What a token is: the code printed on a license, or a holder's presentation code (亮证)."""

    LICENSE = "license"
    PRESENTATION = "presentation"


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
    #: The code printed on the document, or a presentation (亮证) code.
    kind: TokenKind = TokenKind.LICENSE
    #: Unix time after which a presentation token is refused.
    expires_at: int | None = None
    nonce: bytes | None = None
    #: Unix time the token was signed; None only in version 1 tokens (read, never made).
    signed_at: int | None = None


def content_hash(canonical_content: bytes) -> bytes:
    return hashlib.sha256(canonical_content).digest()[:16]


#: Facts a version 3 content hash leaves out: what the printed license does not show
#: (the holder's ID number is kept as a keyed digest a third party cannot recompute).
_UNPRINTED_FACTS = frozenset({"holder_id", "holder_id_type"})


def license_content_hash(
    identifier: str, type_code: str, facts: Mapping[str, str], version: int = TOKEN_VERSION
) -> bytes:
    """What a printed token's content hash covers: the identifier, the type and the facts.

    ``facts`` is the license data in its flat form with the holder's ID number
    replaced by its keyed digest; the issuer computes it at issuance and the
    verifier again from the library record. Versions 1 and 2 cover all of it;
    version 3 only what the license shows (docs/token.md, "Content hash"), so
    that whoever holds the license can recompute it: SHA-256, first 16 bytes,
    of the RFC 8785 (JCS) form of a JSON object of strings, which for such an
    object is exactly this ``json.dumps``.
    """
    shown = facts if version < 3 else {k: v for k, v in facts.items() if k not in _UNPRINTED_FACTS}
    canonical = json.dumps(
        {"identifier": identifier, "type": type_code, **shown},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return content_hash(canonical)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The COSE Sig_structure (RFC 9052 §4.4): ["Signature1", protected, b"", payload].

    Written out byte for byte (what ``cbor2.dumps`` of that list gives; the format
    tests compare the two): it is built for every token checked.
    """
    return (
        b"".join(
            (_SIG_STRUCTURE_HEAD, bstr_head(len(protected)), protected, b"\x40"),
        )
        + bstr_head(len(payload))
        + payload
    )


#: An array of four, then the text "Signature1".
_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1"


def bstr_head(length: int) -> bytes:
    """The shortest CBOR head of a byte string of ``length`` bytes (RFC 8949 §4.2.1)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


def pss_padding() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@dataclass(frozen=True)
class ParsedToken:
    kid: bytes
    algorithm: int
    claims: TokenClaims
    to_be_signed: bytes
    signature: bytes
    #: 1 (printed before issue 10), 2 (before issue 11) or 3.
    version: int = TOKEN_VERSION
