"""Turning certificates into database records, and finding them again."""

from __future__ import annotations

import hashlib
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.db.models import CertificateRecord, CertificateRole


def serial_hex(serial_number: int) -> str:
    return format(serial_number, "x")


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def new_record(
    certificate: x509.Certificate,
    role: CertificateRole,
    issuer_ca: str | None,
    now: datetime,
    key_id: str | None = None,
    department_id: int | None = None,
) -> CertificateRecord:
    return CertificateRecord(
        role=role,
        issuer_ca=issuer_ca,
        serial_hex=serial_hex(certificate.serial_number),
        subject=certificate.subject.rfc4514_string()[:500],
        fingerprint_sha256=fingerprint(certificate),
        der=certificate.public_bytes(serialization.Encoding.DER),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        key_id=key_id,
        department_id=department_id,
        created_at=now,
    )


def find_issued(session: Session, issuer_ca: str, serial_number: int) -> CertificateRecord | None:
    """A certificate one of the service's CAs issued, by serial number."""
    return session.scalar(
        select(CertificateRecord).where(
            CertificateRecord.issuer_ca == issuer_ca,
            CertificateRecord.serial_hex == serial_hex(serial_number),
        )
    )


def load(record: CertificateRecord) -> x509.Certificate:
    return x509.load_der_x509_certificate(record.der)


def seal_key_id(certificate: x509.Certificate) -> bytes:
    """The short name QR tokens give a seal certificate: the first 8 bytes of its SHA-256."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]
