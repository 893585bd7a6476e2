"""The strict token decoder: one encoding per token, bounded work, only InvalidTokenError."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.verification import hostile_tokens as H
from trustsvc.tokens.decoding import parse_token, peek_kind
from trustsvc.tokens.format import InvalidTokenError, sig_structure
from trustsvc.tokens.signature import signature_is_valid

KEY = ec.generate_private_key(ec.SECP256R1())
GENUINE = H.genuine(KEY)
VERSION_2 = H.version_2(KEY)
#: Every hostile variant of a version 3 license token, a version 3 presentation code and a
#: version 2 license token (the versions still read).
HOSTILE = {
    **{f"v3 {name}": token for name, token in H.hostile(GENUINE).items()},
    **{f"v3 presentation {name}": token for name, token in H.hostile(H.presentation(KEY)).items()},
    **{f"v2 {name}": token for name, token in H.hostile(VERSION_2).items()},
}


def _refused_quickly(token: str) -> InvalidTokenError:
    started = time.thread_time()
    with pytest.raises(InvalidTokenError) as refused:
        parse_token(token)
    assert time.thread_time() - started < 0.05
    assert peek_kind(token) is None
    return refused.value


def test_a_new_token_is_version_3_with_its_signing_time() -> None:
    parsed = parse_token(GENUINE)
    assert parsed.version == 3
    assert parsed.claims == H.claims()
    protected = cbor2.loads(H.parts_of(GENUINE)[0])
    assert protected == {1: -7, 4: H.KID, 16: "application/x.trustsvc-token;v=3"}
    body = H.payload_of(GENUINE)
    assert body[H.IAT] == 1_780_000_000 and body[H.FROM_KEY] == 20454  # 2026-01-01
    code = parse_token(H.presentation(KEY))
    assert code.version == 3 and code.claims.kind == "presentation"
    assert code.claims.expires_at == 1_780_000_300 and code.claims.nonce == bytes(16)


def test_version_2_tokens_still_read() -> None:
    """Printed between issues 10 and 11: same claims, same strictness."""
    parsed = parse_token(VERSION_2)
    assert parsed.version == 2 and parsed.claims == H.claims()
    assert signature_is_valid(parsed, _self_signed(KEY))


def test_sign_token_makes_low_s_signatures() -> None:
    for _ in range(40):
        signature = parse_token(H.genuine(KEY)).signature
        assert int.from_bytes(signature[32:], "big") <= H.P256_ORDER // 2


def test_the_high_s_twin_of_a_new_token_is_refused() -> None:
    twin = H.high_s(GENUINE)
    # It is a valid ECDSA signature over the same bytes: only the rule refuses it.
    parts = H.parts_of(twin)
    assert parts[2] == H.parts_of(GENUINE)[2]
    assert "low-S" in str(_refused_quickly(twin))


@pytest.mark.parametrize("high_s", [False, True], ids=["low-S", "high-S"])
def test_tokens_printed_before_issue_10_still_read(high_s: bool) -> None:
    """Version 1, exactly as the old encoder wrote it, with either signature."""
    old = H.legacy(KEY, H.claims(signed_at=None), high_s=high_s)
    parsed = parse_token(old)
    assert parsed.version == 1 and parsed.claims == H.claims(signed_at=None)
    certificate = _self_signed(KEY)
    assert signature_is_valid(parsed, certificate)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_tokens_are_refused_quickly(name: str) -> None:
    _refused_quickly(HOSTILE[name])


def test_only_one_encoding_reads() -> None:
    """Re-encoding what was read gives the same bytes: nothing else was accepted."""
    for token in (GENUINE, H.presentation(KEY), VERSION_2):
        raw = H.raw(token)
        assert cbor2.dumps(cbor2.loads(raw), canonical=True) == raw
        parts = H.parts_of(token)
        for encoded in (parts[0], parts[2]):
            assert cbor2.dumps(cbor2.loads(encoded), canonical=True) == encoded


def test_the_tag_4_bomb_is_refused_within_50_ms_in_a_fresh_process(tmp_path: Path) -> None:
    """Issue 10's bomb. Before the fix ``int()`` ran for minutes: the child is killed at 20 s."""
    bomb = H.tag4_bomb(VERSION_2)
    assert len(bomb) < 300
    outcome, _kind, seconds = H.decode_in_a_fresh_process(bomb, tmp_path)
    assert outcome == "refused"
    assert seconds < 0.05


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token test")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize("protected_length", [0, 1, 23, 24, 64, 255, 256])
@pytest.mark.parametrize("payload_length", [1, 23, 24, 255, 256, 512, 70_000])
def test_the_sig_structure_is_cbors_encoding_of_the_list(
    protected_length: int, payload_length: int
) -> None:
    """Written out by hand for speed, it must be exactly what a CBOR encoder makes of it."""
    protected, payload = b"p" * protected_length, b"q" * payload_length
    expected = cbor2.dumps(["Signature1", protected, b"", payload])
    assert sig_structure(protected, payload) == expected
