"""Small helpers the tests share: valid codes, asn1crypto conversions, path validation."""

from __future__ import annotations

import asyncio
import html
import itertools
import re

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from trustsvc.codes.identifiers import credit_code_check_character
from trustsvc.pki.tsa import make_timestamper
from trustsvc.seals.sealer import Sealer
from trustsvc.services import Services


def credit_code(body: str) -> str:
    """A valid unified social credit code from its first 17 characters."""
    assert len(body) == 17
    return body + credit_code_check_character(body)


DEPARTMENT_A = credit_code("11330100MB0000001")
DEPARTMENT_B = credit_code("11330100MB0000002")

_holders = itertools.count(1)


def enterprise_holder() -> dict[str, str]:
    """A made-up enterprise holder not used before in this process (a fresh credit code).

    Business licenses and food business permits are unique per holder: a test
    that issues several needs as many holders.
    """
    return {"holder_id_type": "001", "holder_id": credit_code(f"91330106MA{next(_holders):07d}")}


def make_sealer(services: Services) -> Sealer:
    """A sealer over the home's PKI and built-in TSA, at the default profile."""
    return Sealer(
        make_timestamper(None, services.tsa),
        services.revocation,
        services.pki.issuing,
        services.pki.tsa,
    )


def as_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def current_seal(services: Services, code: str) -> x509.Certificate:
    from sqlalchemy import select

    from trustsvc.db.models import CertificateRecord, CertificateRole, Department

    with services.database.begin() as session:
        record = session.scalars(
            select(CertificateRecord)
            .join(Department)
            .where(
                Department.code == code,
                CertificateRecord.role == CertificateRole.SEAL,
                CertificateRecord.revoked_at.is_(None),
            )
            .order_by(CertificateRecord.id.desc())
        ).first()
        assert record is not None
        return x509.load_der_x509_certificate(record.der)


def validate_seal_certificate(
    services: Services,
    certificate: x509.Certificate,
    end_entity_rule: RevocationCheckingRule,
) -> ValidationPath:
    """Validate like a relying party: only the root trusted, revocation fetched over HTTP."""
    context = ValidationContext(
        trust_roots=[as_asn1(services.pki.root)],
        other_certs=[as_asn1(services.pki.issuing)],
        allow_fetching=True,
        fetcher_backend=RequestsFetcherBackend(),
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=end_entity_rule,
                intermediate_ca_cert_rule=RevocationCheckingRule.CRL_REQUIRED,
            )
        ),
    )
    validator = CertificateValidator(as_asn1(certificate), validation_context=context)
    return asyncio.run(validator.async_validate_usage({"digital_signature", "non_repudiation"}))


def add_purposes(services: Services, *purposes: str, types: tuple[str, ...] = ()) -> None:
    """Put purposes in the purpose catalogue, each seeing ``types`` (default: every type)."""
    from trustsvc.licenses.entitlement import packaged_types
    from trustsvc.sharing.purposes import add_purpose

    for purpose in purposes:
        add_purpose(services, purpose, types or tuple(packaged_types()))


def shown_text(page: str) -> str:
    """A page's text as a reader gets it: the markup between the words taken out (a line-break
    chance such as ``<wbr>`` inside an identifier is no character of it)."""
    return html.unescape(re.sub(r"<[^>]*>", "", page))
