"""What callers see of a department and its seal certificates, and the one lookup of a
department's row by credit code that registering and sealing share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.db.models import CertificateRecord, CertificateRole, Department
from trustsvc.errors import (
    NotFoundError,
)


@dataclass(frozen=True)
class SealInfo:
    serial_hex: str
    subject: str
    fingerprint_sha256: str
    not_before: datetime
    not_after: datetime
    issued_by_service: bool
    revoked_at: datetime | None
    revocation_reason: str | None
    #: RFC 5280 invalidityDate: since when the key is unfit (key compromise only).
    invalidity_date: datetime | None = None

    @classmethod
    def of(cls, record: CertificateRecord) -> SealInfo:
        return cls(
            serial_hex=record.serial_hex,
            subject=record.subject,
            fingerprint_sha256=record.fingerprint_sha256,
            not_before=record.not_before,
            not_after=record.not_after,
            issued_by_service=record.issuer_ca is not None,
            revoked_at=record.revoked_at,
            revocation_reason=record.revocation_reason,
            invalidity_date=record.invalidity_date,
        )


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name: str
    region_code: str | None
    created_at: datetime
    seals: tuple[SealInfo, ...]
    #: Its kind (``DepartmentKind`` slug), which license types' issuer rules name.
    kind: str | None = None

    @classmethod
    def of(cls, department: Department) -> DepartmentInfo:
        seals = sorted(
            (r for r in department.certificates if r.role is CertificateRole.SEAL),
            key=lambda r: r.not_before,
        )
        return cls(
            code=department.code,
            name=department.name,
            region_code=department.region_code,
            created_at=department.created_at,
            seals=tuple(SealInfo.of(r) for r in seals),
            kind=department.kind,
        )


def find_department(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFoundError(f"no department with credit code {code}")
    return department
