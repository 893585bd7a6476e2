from __future__ import annotations

import base64
import secrets
from datetime import date

import pytest

from tests.helpers import DEPARTMENT_A
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.codes.identifiers import LicenseIdentifier, parse_identifier
from trustsvc.db import Database
from trustsvc.departments.registry import active_seal
from trustsvc.licenses.library import Action
from trustsvc.licenses.service import IssueRequest, LicenseService
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.certificates import seal_key_id
from trustsvc.pki.keystore import generate_private_key
from trustsvc.settings import KeyAlgorithm
from trustsvc.verification.report import Verdict
from trustsvc.verification.tokens import TokenClaims, content_hash, parse_token, sign_token
from trustsvc.verification.verifier import Verifier


def _issued_token(licenses: LicenseService) -> tuple[str, str]:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    view = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    [link] = read_qr_codes(licenses.document(view.identifier))
    return view.identifier, link.rsplit("/v/", 1)[1]


@pytest.fixture
def verifier(licenses: LicenseService) -> Verifier:
    return Verifier(licenses.services, allow_fetching=False)


def test_the_printed_token_verifies_online_and_offline(
    licenses: LicenseService, verifier: Verifier
) -> None:
    identifier, token = _issued_token(licenses)
    online = verifier.verify_token(token)
    assert online.verdict is Verdict.VALID
    assert online.facts.identifier == identifier and online.facts.status == "valid"
    assert verifier.verify_token(token, offline=True).verdict is Verdict.VALID_OFFLINE


def test_offline_reads_no_database(
    licenses: LicenseService, verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identifier, token = _issued_token(licenses)

    def no_database(_self: Database) -> None:
        raise AssertionError("offline verification touched the database")

    monkeypatch.setattr(Database, "begin", no_database)
    assert verifier.verify_token(token, offline=True).verdict is Verdict.VALID_OFFLINE


def test_a_token_altered_in_any_byte_is_refused(
    licenses: LicenseService, verifier: Verifier
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
    licenses: LicenseService, verifier: Verifier
) -> None:
    _identifier, token = _issued_token(licenses)
    claims = parse_token(token).claims
    forged = sign_token(claims, generate_private_key(KeyAlgorithm.EC_P256), secrets.token_bytes(8))
    report = verifier.verify_token(forged)
    assert report.verdict is Verdict.UNTRUSTED_ISSUER
    assert [r.code for r in report.reasons] == ["token_unknown_key"]
    # Borrowing the real key id does not help: the signature must match that key.
    material = active_seal(licenses.services, DEPARTMENT_A).material
    impostor = sign_token(
        claims, generate_private_key(KeyAlgorithm.EC_P256), seal_key_id(material.certificate)
    )
    assert verifier.verify_token(impostor).verdict is Verdict.INVALID_SIGNATURE


def test_a_genuine_token_for_an_unknown_identifier(
    licenses: LicenseService, verifier: Verifier
) -> None:
    _identifier, token = _issued_token(licenses)
    real = parse_token(token).claims
    parsed = parse_identifier(real.identifier)
    unknown = str(LicenseIdentifier(parsed.type_code, parsed.issuer_code, "209900000099", 1))
    material = active_seal(licenses.services, DEPARTMENT_A).material
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
    licenses: LicenseService, verifier: Verifier
) -> None:
    identifier, token = _issued_token(licenses)
    licenses.transition(identifier, Action.REVOKE, "clerk", "吊销")
    report = verifier.verify_token(token)
    assert report.verdict is Verdict.NOT_CURRENT
    assert [r.code for r in report.reasons] == ["license_revoked"]


@pytest.mark.parametrize("text", ["", "not a token", "A" * 5000, "%%%%"])
def test_garbage_is_malformed(verifier: Verifier, text: str) -> None:
    assert verifier.verify_token(text).verdict is Verdict.MALFORMED_INPUT
