"""Key compromise stops tokens, not only PDFs (issue 10, item 2); online checks bind a token
to the library record; offline answers say what they did not check."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from tests.helpers import DEPARTMENT_A
from tests.verification import hostile_tokens as H
from trustsvc.bootstrap import build_verifier
from trustsvc.clock import FixedClock
from trustsvc.codes.identifiers import LicenseIdentifier, parse_identifier
from trustsvc.departments.seals import active_seal, new_seal, revoke_seal
from trustsvc.errors import InvalidInputError
from trustsvc.licenses import production as license_service
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type, validate_license_data
from trustsvc.pki.certificates import seal_key_id
from trustsvc.seals.sealer import SealMaterial
from trustsvc.services import Services
from trustsvc.tokens.decoding import parse_token
from trustsvc.tokens.format import TokenClaims, content_hash, license_content_hash
from trustsvc.tokens.signing import sign_token
from trustsvc.verification.report import Verdict
from trustsvc.verification.verifier import Verifier


def _issue(licenses: IssuingService, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Issue a license; its identifier and the token printed on it (as issuance signed it)."""
    printed: list[str] = []

    def recording(*args: object) -> str:
        token = sign_token(*args)  # type: ignore[arg-type]
        printed.append(token)
        return token

    monkeypatch.setattr(license_service, "sign_token", recording)
    data = dict(example_data(get_type(licenses.types, "business-license")))
    view = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    return view.identifier, printed[-1]


def _signed_now(services: Services, material: SealMaterial, claims: TokenClaims) -> str:
    """A token signed with a seal key now (as a thief holding the key would)."""
    moment = int(services.clock.now().timestamp())
    return sign_token(
        replace(claims, signed_at=moment), material.key, seal_key_id(material.certificate)
    )


def _printed_before_issue_11(licenses: IssuingService, claims: TokenClaims) -> TokenClaims:
    """The claims as a version 1 / 2 token of the same license carried them: the content
    hash over all facts, the holder's ID number as its keyed digest."""
    license_type = get_type(licenses.types, "business-license")
    data = validate_license_data(license_type, dict(example_data(license_type)), claims.valid_from)
    facts = data.as_dict()
    facts["holder_id"] = licenses.data_key.digest(data.holder_id_type.value, data.holder_id)
    old_hash = license_content_hash(claims.identifier, license_type.code, facts, version=1)
    return replace(claims, content_hash=old_hash, signed_at=None)


def _made_up(claims: TokenClaims) -> TokenClaims:
    parsed = parse_identifier(claims.identifier)
    unknown = LicenseIdentifier(parsed.type_code, parsed.issuer_code, "209900000099", 1)
    return replace(claims, identifier=str(unknown), content_hash=content_hash(b"made up"))


def _codes(services: Services, token: str, offline: bool = False) -> list[str]:
    report = build_verifier(services, allow_fetching=False).verify_token(token, offline=offline)
    return [r.code for r in report.reasons]


def _verdict(services: Services, token: str) -> Verdict:
    return build_verifier(services, allow_fetching=False).verify_token(token).verdict


@pytest.fixture
def verifier(services: Services, licenses: IssuingService) -> Verifier:
    return build_verifier(services, allow_fetching=False)


# ---- key compromise ----------------------------------------------------------------


def test_after_a_compromise_without_a_date_every_token_of_the_key_is_refused(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identifier, token = _issue(licenses, monkeypatch)
    key = active_seal(services, DEPARTMENT_A).material
    claims = parse_token(token).claims
    before_revocation = _signed_now(services, key, _made_up(claims))
    clock.advance(timedelta(hours=1))
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    clock.advance(timedelta(minutes=1))
    after = _signed_now(services, key, _made_up(claims))
    for refused in (token, before_revocation, after, _signed_now(services, key, claims)):
        assert "token_seal_revoked" in _codes(services, refused)
        assert _verdict(services, refused) is Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED


def test_after_a_compromise_with_a_date_what_was_signed_before_it_stands(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    identifier, token = _issue(licenses, monkeypatch)
    key = active_seal(services, DEPARTMENT_A).material
    claims = parse_token(token).claims
    clock.advance(timedelta(hours=2))
    invalid_since = clock.now() - timedelta(hours=1)
    stolen = _signed_now(services, key, claims)
    made_up = _signed_now(services, key, _made_up(claims))
    clock.advance(timedelta(minutes=5))
    [seal] = revoke_seal(services, DEPARTMENT_A, "key_compromise", invalid_since=invalid_since)
    assert seal.invalidity_date == invalid_since
    assert _verdict(services, token) is Verdict.VALID
    assert _codes(services, stolen) == ["token_seal_revoked"]
    assert _codes(services, made_up) == ["token_seal_revoked", "unknown_to_library"]
    # At the invalidity date exactly: refused ("at or after").
    clock.current = invalid_since
    assert "token_seal_revoked" in _codes(services, _signed_now(services, key, claims))
    assert identifier == claims.identifier


def test_a_printed_version_1_token_is_dated_by_the_library(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens printed before signing times existed: the record says when they were signed."""
    _identifier, token = _issue(licenses, monkeypatch)
    claims = parse_token(token).claims
    material = active_seal(services, DEPARTMENT_A).material
    assert isinstance(material.key, ec.EllipticCurvePrivateKey)
    kid = seal_key_id(material.certificate)
    old = H.legacy(material.key, _printed_before_issue_11(licenses, claims), kid=kid, high_s=True)
    forged_old = H.legacy(material.key, _made_up(replace(claims, signed_at=None)), kid=kid)
    assert _verdict(services, old) is Verdict.VALID
    clock.advance(timedelta(hours=2))
    revoke_seal(
        services,
        DEPARTMENT_A,
        "key_compromise",
        invalid_since=clock.now() - timedelta(hours=1),
    )
    assert _verdict(services, old) is Verdict.VALID
    assert "token_seal_revoked" in _codes(services, forged_old)


def test_after_a_compromise_without_a_date_old_tokens_are_refused_too(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identifier, token = _issue(licenses, monkeypatch)
    claims = parse_token(token).claims
    material = active_seal(services, DEPARTMENT_A).material
    assert isinstance(material.key, ec.EllipticCurvePrivateKey)
    old = H.legacy(
        material.key, replace(claims, signed_at=None), kid=seal_key_id(material.certificate)
    )
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    assert "token_seal_revoked" in _codes(services, old)


def test_a_key_retired_for_another_reason_refuses_what_it_signs_after(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identifier, token = _issue(licenses, monkeypatch)
    key = active_seal(services, DEPARTMENT_A).material
    claims = parse_token(token).claims
    clock.advance(timedelta(days=1))
    revoke_seal(services, DEPARTMENT_A, "superseded")
    assert _verdict(services, token) is Verdict.VALID
    clock.advance(timedelta(seconds=1))
    assert "token_seal_revoked" in _codes(services, _signed_now(services, key, claims))


def test_pdf_seals_follow_the_same_rule(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seal timestamped before the invalidity date stands; without a date none does."""
    identifier, _token = _issue(licenses, monkeypatch)
    pdf = licenses.document(identifier)
    verifier = build_verifier(services, allow_fetching=False)
    sealed_at = clock.now()
    clock.advance(timedelta(hours=2))
    revoke_seal(
        services,
        DEPARTMENT_A,
        "key_compromise",
        invalid_since=sealed_at + timedelta(hours=1),
    )
    assert verifier.verify_pdf(pdf).verdict is Verdict.VALID
    _set_invalidity(services, sealed_at - timedelta(seconds=1))
    report = verifier.verify_pdf(pdf)
    assert report.verdict is Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED
    assert "seal_certificate_revoked" in [r.code for r in report.reasons]
    _set_invalidity(services, None)
    assert verifier.verify_pdf(pdf).verdict is Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED


def _set_invalidity(services: Services, moment: datetime | None) -> None:
    from sqlalchemy import update

    from trustsvc.db.models import CertificateRecord

    with services.database.begin() as session:
        session.execute(
            update(CertificateRecord)
            .where(CertificateRecord.revoked_at.is_not(None))
            .values(invalidity_date=moment)
        )


# ---- CRL and OCSP ------------------------------------------------------------------


def test_the_invalidity_date_is_in_the_crl_and_the_ocsp_answer(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    services = services
    certificate = active_seal(services, DEPARTMENT_A).material.certificate
    clock.advance(timedelta(hours=1))
    invalid_since = clock.now() - timedelta(minutes=30)
    revoke_seal(services, DEPARTMENT_A, "key_compromise", invalid_since=invalid_since)

    crl = x509.load_der_x509_crl(services.revocation.current_crl("issuing"))
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    assert entry is not None
    extension = entry.extensions.get_extension_for_class(x509.InvalidityDate)
    assert extension.value.invalidity_date_utc == invalid_since

    der = services.revocation.ocsp_for(certificate)
    answer = ocsp.load_der_ocsp_response(der)
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is x509.ReasonFlags.key_compromise
    single = answer.single_extensions.get_extension_for_class(x509.InvalidityDate)
    assert single.value.invalidity_date_utc == invalid_since
    # Signed again after the extension was added: the responder's signature holds.
    responder = answer.certificates[0].public_key()
    if isinstance(responder, ec.EllipticCurvePublicKey):
        responder.verify(
            answer.signature,
            answer.tbs_response_bytes,
            ec.ECDSA(answer.signature_hash_algorithm),  # type: ignore[arg-type]
        )
    else:
        assert isinstance(responder, rsa.RSAPublicKey)
        responder.verify(
            answer.signature,
            answer.tbs_response_bytes,
            padding.PKCS1v15(),
            answer.signature_hash_algorithm,  # type: ignore[arg-type]
        )
    parsed = asn1_ocsp.OCSPResponse.load(der)
    [response] = parsed["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]
    assert response["single_extensions"][0]["extn_id"].native == "invalidity_date"
    assert response["single_extensions"][0]["extn_value"].native == invalid_since


def test_an_invalidity_date_is_checked(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    services = services
    with pytest.raises(InvalidInputError, match="future"):
        revoke_seal(
            services, DEPARTMENT_A, "key_compromise", invalid_since=clock.now() + timedelta(1)
        )
    with pytest.raises(InvalidInputError, match="before seal"):
        revoke_seal(
            services, DEPARTMENT_A, "key_compromise", invalid_since=clock.now() - timedelta(3650)
        )
    with pytest.raises(InvalidInputError, match="key_compromise"):
        revoke_seal(services, DEPARTMENT_A, "superseded", invalid_since=clock.now())
    with pytest.raises(InvalidInputError, match="time zone"):
        revoke_seal(
            services, DEPARTMENT_A, "key_compromise", invalid_since=clock.now().replace(tzinfo=None)
        )
    # Nothing was revoked by the refused attempts.
    assert active_seal(services, DEPARTMENT_A).material.certificate is not None


# ---- the token against the library -------------------------------------------------


def test_a_token_that_contradicts_the_library_is_refused(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identifier, token = _issue(licenses, monkeypatch)
    key = active_seal(services, DEPARTMENT_A).material
    claims = parse_token(token).claims
    assert _verdict(services, token) is Verdict.VALID
    other_content = _signed_now(
        services, key, replace(claims, content_hash=content_hash(b"forged"))
    )
    assert _codes(services, other_content) == ["token_contradicts_library"]
    earlier = replace(claims, valid_from=claims.valid_from - timedelta(1))
    longer = _signed_now(services, key, earlier)
    assert _codes(services, longer) == ["token_contradicts_library"]
    # Signed by another seal of the same department than the one that sealed the license.
    clock.advance(timedelta(minutes=1))
    new_seal(services, DEPARTMENT_A)
    renewed = active_seal(services, DEPARTMENT_A).material
    assert _codes(services, _signed_now(services, renewed, claims)) == ["token_contradicts_library"]


# ---- offline -----------------------------------------------------------------------


def test_an_offline_answer_says_what_it_did_not_check(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identifier, token = _issue(licenses, monkeypatch)
    report = build_verifier(services, allow_fetching=False).verify_token(token, offline=True)
    assert report.verdict is Verdict.VALID_OFFLINE and report.scope == "offline"
    [qualifier] = report.reasons
    assert qualifier.code == "offline_not_checked"
    assert "未联网核对印章吊销和证照状态" in qualifier.message_zh
    assert "seal revocation and license status were not" in qualifier.message_en
    # Online, nothing of the kind.
    assert build_verifier(services, allow_fetching=False).verify_token(token).reasons == ()
