"""Every certificate, CRL and OCSP answer the PKI makes passes pkilint without an error.

RFC 5280 for all certificates; ETSI EN 319 412-2/-3 (non-qualified legal
person) for seal certificates; pkilint's CRL and OCSP response linters for the
revocation data. Warnings are allowed where the README says why (the seal's
digitalSignature + nonRepudiation key usage).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import DEPARTMENT_A, current_seal
from tests.homes import HomeTemplates
from tests.pki import lint
from trustsvc.api.app import create_app
from trustsvc.bootstrap import initialise_home, open_services
from trustsvc.clock import FixedClock
from trustsvc.db.models import CertificateRecord, CertificateRole
from trustsvc.departments.registry import add_department
from trustsvc.departments.seals import revoke_seal
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm, Settings

#: An operator arc for tests: under RFC 5612's documentation arc, like the default.
TEST_ARC = "1.3.6.1.4.1.32473.7"


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.fixture(params=[KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_3072], ids=["ec", "rsa"])
def deployed(
    request: pytest.FixtureRequest,
    settings: Settings,
    clock: FixedClock,
    home_templates: HomeTemplates,
) -> Iterator[Services]:
    """A home set up as production would be: https for people, http for PKI pointers."""
    production_like = settings.model_copy(
        update={
            "key_algorithm": request.param,
            "oid_arc": TEST_ARC,
            "pki_base_url": "http://pki.licenses.example.cn",
            "public_base_url": "https://licenses.example.cn",
        }
    )
    # A copy of one such home per process: RSA-3072 keys are slow to make.
    if not home_templates.install(production_like):
        initialise_home(production_like, clock)
    services = open_services(production_like, clock)
    try:
        add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100")
        yield services
    finally:
        services.close()


def _policies(certificate: x509.Certificate) -> list[str]:
    extension = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    return [policy.policy_identifier.dotted_string for policy in extension.value]


def test_every_certificate_passes_rfc5280_and_carries_the_operator_policy(
    deployed: Services,
) -> None:
    responder, _key = deployed.revocation.responder.current()
    certificates = {
        **deployed.pki.certificates,
        "responder": responder,
        "seal": current_seal(deployed, DEPARTMENT_A),
    }
    for label, certificate in certificates.items():
        assert lint.errors(lint.rfc5280_certificate(_der(certificate))) == [], label
        assert _policies(certificate) == [f"{TEST_ARC}.1.1"], label


def test_the_seal_certificate_passes_etsi_en_319_412_for_a_legal_person(
    deployed: Services,
) -> None:
    der = _der(current_seal(deployed, DEPARTMENT_A))
    # pkilint's own detection agrees: a non-qualified legal-person certificate.
    assert lint.detected_etsi_type(der) is lint.SEAL_TYPE
    findings = lint.etsi_certificate(der)
    assert lint.errors(findings) == []
    # The one warning left is the documented key usage choice (type B).
    assert {code for severity, code, _ in findings if severity == "WARNING"} <= {
        "etsi.en_319_412_2.nat-4.3.2-1.mixed_key_usage_setting"
    }


def test_an_https_pki_base_is_what_etsi_refuses(settings: Settings, clock: FixedClock) -> None:
    """Why TRUSTSVC_PKI_BASE_URL exists: EN 319 412-2 GEN-4.3.11-4 wants http:// CRL pointers."""
    https_only = settings.model_copy(update={"public_base_url": "https://licenses.example.cn"})
    initialise_home(https_only, clock)
    services = open_services(https_only, clock)
    try:
        add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100")
        codes = {
            code
            for _, code, _ in lint.errors(
                lint.etsi_certificate(_der(current_seal(services, DEPARTMENT_A)))
            )
        }
    finally:
        services.close()
    assert (
        "etsi.en_319_412_2.gen-4.3.11-4.http_or_ldap_crldp_distribution_point_uri_missing" in codes
    )


def test_crls_of_both_cas_pass_with_and_without_entries(deployed: Services) -> None:
    for ca in ("root", "issuing"):
        assert lint.errors(lint.crl_findings(deployed.revocation.current_crl(ca))) == [], ca
    revoke_seal(deployed, DEPARTMENT_A, "key_compromise")
    with deployed.database.begin() as session:
        # The root revokes its TSA certificate (no command does; the CRL must still be right).
        tsa = session.scalars(
            select(CertificateRecord).where(CertificateRecord.role == CertificateRole.TSA)
        ).one()
        tsa.revoked_at = deployed.clock.now()
        tsa.revocation_reason = "superseded"
    deployed.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    for ca in ("root", "issuing"):
        der = deployed.revocation.current_crl(ca)
        assert len(x509.load_der_x509_crl(der)) == 1, ca
        assert lint.errors(lint.crl_findings(der)) == [], ca


def _request(certificate: x509.Certificate, issuer: x509.Certificate) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256())
    builder = builder.add_extension(x509.OCSPNonce(b"0123456789abcdef"), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def test_ocsp_answers_good_revoked_unknown_and_refusals_pass(deployed: Services) -> None:
    revocation = deployed.revocation
    issuing = deployed.pki.issuing
    seal = current_seal(deployed, DEPARTMENT_A)
    answers = {"good": revocation.ocsp_response(_request(seal, issuing))}
    # A serial the issuing CA never gave: the root's TSA certificate, asked of the issuing CA.
    stranger = x509.load_der_x509_certificate(_der(deployed.pki.tsa))
    unknown_request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            ocsp.OCSPRequestBuilder()
            .add_certificate(seal, issuing, hashes.SHA256())
            .build()
            .issuer_name_hash,
            ocsp.OCSPRequestBuilder()
            .add_certificate(seal, issuing, hashes.SHA256())
            .build()
            .issuer_key_hash,
            stranger.serial_number,
            hashes.SHA256(),
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    answers["unknown"] = revocation.ocsp_response(unknown_request)
    answers["unauthorized"] = revocation.ocsp_response(
        _request(deployed.pki.tsa, deployed.pki.root)
    )
    answers["malformed"] = revocation.ocsp_response(b"\x30\x03\x02\x01\x00")
    revoke_seal(deployed, DEPARTMENT_A, "key_compromise")
    answers["revoked"] = revocation.ocsp_response(_request(seal, issuing))
    statuses = {
        label: (
            ocsp.load_der_ocsp_response(der).certificate_status
            if ocsp.load_der_ocsp_response(der).response_status
            is ocsp.OCSPResponseStatus.SUCCESSFUL
            else ocsp.load_der_ocsp_response(der).response_status
        )
        for label, der in answers.items()
    }
    assert statuses == {
        "good": ocsp.OCSPCertStatus.GOOD,
        "unknown": ocsp.OCSPCertStatus.UNKNOWN,
        "unauthorized": ocsp.OCSPResponseStatus.UNAUTHORIZED,
        "malformed": ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
        "revoked": ocsp.OCSPCertStatus.REVOKED,
    }
    for label, der in answers.items():
        assert lint.errors(lint.ocsp_findings(der)) == [], label


# ---- the responder certificate: short-lived, renewed, with AIA ----------------------


def test_the_responder_certificate_is_short_lived_with_nocheck_and_aia(
    services: Services,
) -> None:
    responder, _key = services.revocation.responder.current()
    life = responder.not_valid_after_utc - responder.not_valid_before_utc
    assert life <= timedelta(days=7, minutes=5)
    assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    aia = responder.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (
            AuthorityInformationAccessOID.CA_ISSUERS,
            f"{services.settings.pki_url_base}/pki/certs/issuing.der",
        )
    ]


def _responder_records(services: Services) -> int:
    with services.database.begin() as session:
        return len(
            session.scalars(
                select(CertificateRecord).where(CertificateRecord.role == CertificateRole.OCSP)
            ).all()
        )


def test_the_responder_renews_past_half_its_life(services: Services, clock: FixedClock) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    seal = current_seal(services, DEPARTMENT_A)
    request = _request(seal, services.pki.issuing)
    first = ocsp.load_der_ocsp_response(services.revocation.ocsp_response(request))
    assert first.certificates == [services.pki.ocsp]
    clock.advance(timedelta(days=3))
    assert ocsp.load_der_ocsp_response(services.revocation.ocsp_response(request)).certificates == [
        services.pki.ocsp
    ]
    assert _responder_records(services) == 1

    clock.advance(timedelta(days=1))  # past 3.5 days
    renewed = ocsp.load_der_ocsp_response(services.revocation.ocsp_response(request))
    responder = renewed.certificates[0]
    assert responder != services.pki.ocsp
    assert responder.public_key() != services.pki.ocsp.public_key()
    assert responder.not_valid_before_utc <= clock.now() < responder.not_valid_after_utc
    assert responder.issuer == services.pki.issuing.subject
    assert renewed.certificate_status is ocsp.OCSPCertStatus.GOOD
    # The issuing CA signed it, and it signed the answer.
    responder.verify_directly_issued_by(services.pki.issuing)
    assert (
        renewed.responder_key_hash
        == x509.SubjectKeyIdentifier.from_public_key(responder.public_key()).digest
    )
    # Recorded like any certificate the CA issues, and published as the responder.
    assert _responder_records(services) == 2
    assert lint.errors(lint.rfc5280_certificate(_der(responder))) == []
    app = create_app(services.settings, services=services)
    with TestClient(app, base_url=services.settings.public_base_url) as http:
        assert http.get("/pki/certs/ocsp.der").content == _der(responder)
        assert http.get("/pki/certs/ocsp.pem").content == responder.public_bytes(
            serialization.Encoding.PEM
        )
        assert http.get("/pki/certs/issuing.der").content == _der(services.pki.issuing)


def test_a_long_lived_responder_of_an_older_home_is_replaced_at_once(
    settings: Settings, clock: FixedClock
) -> None:
    initialise_home(settings, clock)
    # A shorter configured life than the home's responder has: as for homes whose
    # responder was made for three years.
    shorter = settings.model_copy(update={"ocsp_responder_lifetime_hours": 24})
    services = open_services(shorter, clock)
    try:
        responder, _key = services.revocation.responder.current()
        assert responder != services.pki.ocsp
        life = responder.not_valid_after_utc - responder.not_valid_before_utc
        assert life <= timedelta(hours=24, minutes=5)
        assert services.revocation.responder.current()[0] is responder
    finally:
        services.close()
