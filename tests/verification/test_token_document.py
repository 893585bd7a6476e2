"""docs/token.md's worked example is what the code makes (issue 11, item 9).

The example is rebuilt here from fixed inputs, a P-256 key from a fixed scalar
among them, and compared with the hex and text in the document, which the test
reads. ECDSA signatures are randomised, so the document's signature is checked
by verifying it; everything else must be byte for byte the same.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from trustsvc.licenses.types import example_data, get_type, load_types, validate_license_data
from trustsvc.tokens.decoding import parse_token
from trustsvc.tokens.format import TokenClaims, license_content_hash
from trustsvc.tokens.signing import sign_token

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "token.md"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
#: The example's fixed inputs (docs/token.md, "Worked example").
SCALAR = int.from_bytes(hashlib.sha256(b"trustsvc token example key").digest(), "big")
KID = bytes.fromhex("5e1f0c3a9b7d2e41")
IDENTIFIER = "1.2.156.3005.2.11100000MB0000019L001.11330100MB0000001R.202600000001.001.E"
SIGNED_AT = 1_767_600_000  # 2026-01-05T08:00:00Z
VALID_FROM = date(2026, 1, 5)
EXPIRES_AT = SIGNED_AT + 600
NONCE = bytes(range(16))


def vectors() -> dict[str, str]:
    """Every ``<!-- vector: name -->`` block of the document, whitespace removed for hex."""
    text = DOCUMENT.read_text(encoding="utf-8")
    found = re.findall(r"<!-- vector: ([a-z0-9-]+) -->\s*```[a-z]*\n(.*?)```", text, re.S)
    return {name: body.strip() for name, body in found}


def _hex(value: str) -> bytes:
    return bytes.fromhex("".join(value.split()))


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(SCALAR % P256_ORDER, ec.SECP256R1())


def _license_claims(content: bytes) -> TokenClaims:
    return TokenClaims(
        identifier=IDENTIFIER,
        type_code="11100000MB0000019L001",
        issuer_code="11330100MB0000001R",
        valid_from=VALID_FROM,
        valid_until=None,
        content_hash=content,
        signed_at=SIGNED_AT,
    )


def _facts() -> dict[str, str]:
    """The shipped business-license example, as issuance flattens it."""
    license_type = get_type(load_types(), "business-license")
    data = validate_license_data(license_type, dict(example_data(license_type)), VALID_FROM)
    facts = data.as_dict()
    facts["holder_id"] = "keyed digest: not part of a version 3 content hash"
    return facts


def _verifies(public: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        public.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return s <= P256_ORDER // 2


def test_the_document_has_every_vector() -> None:
    assert set(vectors()) >= {
        "public-key",
        "canonical-content",
        "content-hash",
        "protected",
        "license-payload",
        "sig-structure",
        "signature",
        "license-token",
        "presentation-payload",
    }


def test_the_example_key_is_the_documented_one() -> None:
    numbers = _key().public_key().public_numbers()
    encoded = b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")
    assert _hex(vectors()["public-key"]) == encoded


def test_the_content_hash_is_computed_as_documented() -> None:
    documented = vectors()
    canonical = documented["canonical-content"].encode("utf-8")
    # The rule, as a third party applies it: sorted keys, no spaces, UTF-8, SHA-256, 16 bytes.
    shown = {k: v for k, v in _facts().items() if k not in ("holder_id", "holder_id_type")}
    shown.update(identifier=IDENTIFIER, type="11100000MB0000019L001")
    assert json.loads(canonical) == shown
    assert (
        json.dumps(shown, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        == canonical
    )
    assert hashlib.sha256(canonical).digest()[:16] == _hex(documented["content-hash"])
    # And the code issuance and the verifier use gives the same.
    assert license_content_hash(IDENTIFIER, "11100000MB0000019L001", _facts()) == _hex(
        documented["content-hash"]
    )


def test_the_license_token_is_the_documented_one() -> None:
    documented = vectors()
    key = _key()
    made = sign_token(_license_claims(_hex(documented["content-hash"])), key, KID)
    protected, unprotected, payload, signature = cbor2.loads(
        base64.urlsafe_b64decode(made + "=" * (-len(made) % 4))
    ).value
    assert protected == _hex(documented["protected"])
    assert unprotected == {}
    assert payload == _hex(documented["license-payload"])
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    assert sig_structure == _hex(documented["sig-structure"])
    assert _verifies(key.public_key(), signature, sig_structure)
    # The documented token: the same parts with the documented signature, and it verifies.
    documented_signature = _hex(documented["signature"])
    assert _verifies(key.public_key(), documented_signature, sig_structure)
    token = documented["license-token"].replace("\n", "")
    message = cbor2.CBORTag(18, [protected, {}, payload, documented_signature])
    assert base64.urlsafe_b64encode(cbor2.dumps(message)).rstrip(b"=").decode() == token
    parsed = parse_token(token)
    assert parsed.version == 3 and parsed.kid == KID
    assert parsed.claims == _license_claims(_hex(documented["content-hash"]))


def test_the_presentation_payload_is_the_documented_one() -> None:
    documented = vectors()
    claims = TokenClaims(
        identifier=IDENTIFIER,
        type_code="11100000MB0000019L001",
        issuer_code="11330100MB0000001R",
        valid_from=VALID_FROM,
        valid_until=None,
        content_hash=hashlib.sha256(b"the sealed PDF").digest()[:16],
        kind="presentation",
        expires_at=EXPIRES_AT,
        nonce=NONCE,
        signed_at=SIGNED_AT,
    )
    made = sign_token(claims, _key(), KID)
    payload = cbor2.loads(base64.urlsafe_b64decode(made + "=" * (-len(made) % 4))).value[2]
    assert payload == _hex(documented["presentation-payload"])
    assert parse_token(made).claims == claims


@pytest.mark.parametrize("name", ["license-payload", "presentation-payload"])
def test_the_documented_payloads_are_deterministic_cbor(name: str) -> None:
    payload = _hex(vectors()[name])
    assert cbor2.dumps(cbor2.loads(payload), canonical=True) == payload
