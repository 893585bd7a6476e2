from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from datetime import UTC, date
from typing import NoReturn

import pytest
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from sqlalchemy import Engine

from tests.helpers import DEPARTMENT_A
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.bootstrap import (
    build_verifier,
    database_library,
    offline_verifier,
    online_trust_material,
)
from trustsvc.codes.identifiers import LicenseIdentifier, parse_identifier
from trustsvc.db import Database
from trustsvc.departments.seals import active_seal
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.certificates import seal_key_id
from trustsvc.pki.keystore import generate_private_key
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm
from trustsvc.tokens.decoding import parse_token
from trustsvc.tokens.format import ParsedToken, TokenClaims, content_hash
from trustsvc.tokens.signing import sign_token
from trustsvc.verification import token_checks
from trustsvc.verification.report import Verdict
from trustsvc.verification.verifier import Verifier


def _issued_token(licenses: IssuingService) -> tuple[str, str]:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    view = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    [link] = read_qr_codes(licenses.document(view.identifier))
    return view.identifier, link.rsplit("/v/", 1)[1]


@pytest.fixture
def verifier(services: Services, licenses: IssuingService) -> Verifier:
    return build_verifier(services, allow_fetching=False)


def test_the_printed_token_verifies_online_and_offline(
    licenses: IssuingService, verifier: Verifier
) -> None:
    identifier, token = _issued_token(licenses)
    online = verifier.verify_token(token)
    assert online.verdict is Verdict.VALID
    assert online.facts.identifier == identifier and online.facts.status == "valid"
    assert verifier.verify_token(token, offline=True).verdict is Verdict.VALID_OFFLINE


class _AskedLibrary:
    """A library lookup that notes every question asked of it (then answers it)."""

    def __init__(self, library: object) -> None:
        self._library = library
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> object:
        self.asked.append(name)
        return getattr(self._library, name)


def test_an_offline_check_asks_the_library_nothing(
    services: Services, licenses: IssuingService
) -> None:
    """Online and offline checks of one token by one verifier: only the online one asks."""
    _identifier, token = _issued_token(licenses)
    asked = _AskedLibrary(database_library(services))
    verifier = Verifier(online_trust_material(services), asked, allow_fetching=False)  # type: ignore[arg-type]
    report = verifier.verify_token(token, offline=True)
    assert report.verdict is Verdict.VALID_OFFLINE
    assert "offline_not_checked" in [r.code for r in report.reasons]
    assert asked.asked == []
    assert verifier.verify_token(token).verdict is Verdict.VALID
    assert asked.asked != []  # the online check did ask: the recording works


def test_offline_reads_no_database(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An offline verifier opens no connection at all (a refused one is noted: the
    verifier would turn the error into a verdict, which could hide it)."""
    _identifier, token = _issued_token(licenses)
    document = licenses.document(_identifier)
    touched: list[str] = []

    def refuse(name: str) -> Callable[..., NoReturn]:
        def refused(*_args: object, **_kwargs: object) -> NoReturn:
            touched.append(name)
            raise AssertionError("offline verification touched the database")

        return refused

    monkeypatch.setattr(Database, "begin", refuse("begin"))
    monkeypatch.setattr(Engine, "connect", refuse("connect"))
    monkeypatch.setattr(Engine, "raw_connection", refuse("raw_connection"))
    verifier = offline_verifier(services.settings, services.clock)
    assert verifier.library is None
    assert verifier.verify_token(token).verdict is Verdict.VALID_OFFLINE
    assert verifier.verify_pdf(document).verdict is Verdict.VALID_OFFLINE
    assert touched == []


def test_a_token_altered_in_any_byte_is_refused(
    licenses: IssuingService, verifier: Verifier
) -> None:
    _identifier, token = _issued_token(licenses)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for position in range(len(raw)):
        altered = bytearray(raw)
        altered[position] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode()
        report = verifier.verify_token(text, offline=True)
        assert report.verdict is not Verdict.VALID, position


def test_a_token_signed_by_an_unknown_key_is_refused(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    _identifier, token = _issued_token(licenses)
    claims = parse_token(token).claims
    forged = sign_token(claims, generate_private_key(KeyAlgorithm.EC_P256), secrets.token_bytes(8))
    report = verifier.verify_token(forged)
    assert report.verdict is Verdict.UNTRUSTED_ISSUER
    assert [r.code for r in report.reasons] == ["token_unknown_key"]
    # Borrowing the real key id does not help: the signature must match that key.
    material = active_seal(services, DEPARTMENT_A).material
    impostor = sign_token(
        claims, generate_private_key(KeyAlgorithm.EC_P256), seal_key_id(material.certificate)
    )
    assert verifier.verify_token(impostor).verdict is Verdict.INVALID_SIGNATURE


def test_a_genuine_token_for_an_unknown_identifier(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    _identifier, token = _issued_token(licenses)
    real = parse_token(token).claims
    parsed = parse_identifier(real.identifier)
    unknown = str(LicenseIdentifier(parsed.type_code, parsed.issuer_code, "209900000099", 1))
    material = active_seal(services, DEPARTMENT_A).material
    claims = TokenClaims(
        unknown,
        real.type_code,
        real.issuer_code,
        date(2026, 1, 1),
        None,
        content_hash(b"x"),
        signed_at=real.signed_at,
    )
    genuine = sign_token(claims, material.key, seal_key_id(material.certificate))
    assert verifier.verify_token(genuine).verdict is Verdict.UNKNOWN_TO_LIBRARY
    # Offline, only the signature can be judged.
    assert verifier.verify_token(genuine, offline=True).verdict is Verdict.VALID_OFFLINE


def test_a_revoked_license_token_is_not_current_online(
    licenses: IssuingService, verifier: Verifier
) -> None:
    identifier, token = _issued_token(licenses)
    licenses.transition(identifier, Action.REVOKE, "clerk", "吊销")
    report = verifier.verify_token(token)
    assert report.verdict is Verdict.NOT_CURRENT
    assert [r.code for r in report.reasons] == ["license_revoked"]


@pytest.mark.parametrize("text", ["", "not a token", "A" * 5000, "%%%%"])
def test_garbage_is_malformed(verifier: Verifier, text: str) -> None:
    assert verifier.verify_token(text).verdict is Verdict.MALFORMED_INPUT


def test_a_printed_token_scanned_again_skips_only_decoding_and_the_signature(
    licenses: IssuingService, verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    identifier, token = _issued_token(licenses)
    verified: list[bytes] = []
    real_check = token_checks.signature_is_valid_for

    def counted(parsed: ParsedToken, key: PublicKeyTypes) -> bool:
        verified.append(parsed.signature)
        return real_check(parsed, key)

    decoded: list[str] = []
    real_parse = token_checks.parse_token

    def counted_parse(text: str) -> ParsedToken:
        decoded.append(text)
        return real_parse(text)

    monkeypatch.setattr(token_checks, "signature_is_valid_for", counted)
    monkeypatch.setattr(token_checks, "parse_token", counted_parse)
    first = verifier.verify_token(token)
    assert first.verdict is Verdict.VALID
    # A printed token is dated by its license's issuance (it was sealed then).
    issued_at = licenses.show(identifier).issued_at
    assert first.facts.signing_time == issued_at.astimezone(UTC)
    assert verifier.verify_token(token, offline=True).facts.signing_time is None
    assert verifier.verify_token(f" {token}\n").verdict is Verdict.VALID
    assert len(verified) == 1  # the second scan reused the first one's signature check
    assert decoded == [token]  # and what the text decoded to
    # Altered bytes are new bytes: their signature is checked, and refused.
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-1] ^= 0x01
    altered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert verifier.verify_token(altered).verdict is Verdict.INVALID_SIGNATURE
    assert len(verified) == 2
    # A text whose signature failed is decoded afresh each time, never kept.
    assert verifier.verify_token(altered).verdict is Verdict.INVALID_SIGNATURE
    assert len(verified) == 3 and decoded == [token, altered, altered]
    # The library is still asked every time: a revocation shows at the next scan.
    licenses.transition(identifier, Action.REVOKE, "clerk", "吊销")
    assert verifier.verify_token(token).verdict is Verdict.NOT_CURRENT
    assert len(verified) == 3 and decoded == [token, altered, altered]
