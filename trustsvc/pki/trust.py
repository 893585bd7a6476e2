"""The operator's trust list: roots besides the service's own whose seals are accepted.

A root is added deliberately, by an operator, from a PEM or DER file; it must
be a CA certificate. Verification trusts the service's root plus these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import select

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.db import Context
from trustsvc.db.models import CertificateRecord, CertificateRole
from trustsvc.errors import ConflictError, InvalidInputError
from trustsvc.pki.certificates import fingerprint, new_record


@dataclass(frozen=True)
class TrustAnchor:
    subject: str
    fingerprint_sha256: str
    not_after: datetime


def _load(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise InvalidInputError("not an X.509 certificate (PEM or DER)") from exc


def add_trust_anchor(
    services: Context, data: bytes, operator: Operator | None = None
) -> TrustAnchor:
    certificate = _load(data)
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise InvalidInputError("a trust anchor must be a CA certificate (basicConstraints CA)")
    with services.database.begin() as session:
        existing = session.scalar(
            select(CertificateRecord).where(
                CertificateRecord.fingerprint_sha256 == fingerprint(certificate)
            )
        )
        if existing is not None:
            raise ConflictError("this certificate is known already")
        now = services.clock.now()
        session.add(new_record(certificate, CertificateRole.TRUST_ANCHOR, None, now))
        record_operation(
            session,
            operator or Operator.local(),
            OperatorAction.TRUST_ADD,
            fingerprint(certificate),
            now,
            {
                "subject": certificate.subject.rfc4514_string(),
                "not_after": certificate.not_valid_after_utc.isoformat(),
            },
        )
    return TrustAnchor(
        certificate.subject.rfc4514_string(),
        fingerprint(certificate),
        certificate.not_valid_after_utc,
    )


def trust_anchors(services: Context) -> list[TrustAnchor]:
    with services.database.begin() as session:
        records = session.scalars(
            select(CertificateRecord).where(CertificateRecord.role == CertificateRole.TRUST_ANCHOR)
        ).all()
        return [TrustAnchor(r.subject, r.fingerprint_sha256, r.not_after) for r in records]
