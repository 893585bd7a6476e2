"""Issuing departments (颁发机构) and their e-seal certificates.

A department is known by its unified social credit code. Its seal is a key in
the seal key store and a certificate, issued by the service's issuing CA or
imported from an outside CA (PKCS#12). A department may hold several seal
certificates over time; the one that seals is the newest that is neither
revoked nor expired.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.codes.identifiers import validate_credit_code
from trustsvc.db.models import CertificateRecord, CertificateRole, Department
from trustsvc.departments.kinds import kind_from_name, parse_kind
from trustsvc.documents.fonts import char_widths, find_cjk_font, load_cjk_font
from trustsvc.errors import (
    DuplicateDepartmentError,
    InvalidInputError,
    NotFoundError,
    SealUnavailableError,
    UnsupportedCharacterError,
)
from trustsvc.pki import ca
from trustsvc.pki.certificates import fingerprint, new_record
from trustsvc.pki.certificates import serial_hex as hex_serial
from trustsvc.pki.home import publish_seal_certificate
from trustsvc.pki.keystore import SigningKey, as_signing_key
from trustsvc.pki.revocation import parse_reason
from trustsvc.seals.sealer import SealMaterial
from trustsvc.services import Services
from trustsvc.text import clean_name

#: GB/T 2260 province-level prefixes (first two digits of a region code).
_PROVINCE_PREFIXES = frozenset(
    {f"{n}" for n in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37)}
    | {f"{n}" for n in (41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65)}
    | {"71", "81", "82"}
)


class SealImportRefusal(StrEnum):
    """Why a PKCS#12 seal was not imported, for a page to say in its own words."""

    UNREADABLE = "unreadable"
    INCOMPLETE = "incomplete"
    KEY_MISMATCH = "key-mismatch"
    NOT_VALID_NOW = "not-valid-now"
    CA_CERTIFICATE = "ca-certificate"
    NO_KEY_USAGE = "no-key-usage"
    WRONG_KEY_USAGE = "wrong-key-usage"
    OTHER_DEPARTMENT = "other-department"
    REGISTERED = "registered"


class SealImportError(InvalidInputError):
    """A PKCS#12 seal that cannot be imported; ``refusal`` says which rule it breaks."""

    code = "seal-import-refused"

    def __init__(self, refusal: SealImportRefusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


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


def validate_region_code(region_code: str) -> str:
    code = region_code.strip()
    if len(code) != 6 or not code.isdigit() or code[:2] not in _PROVINCE_PREFIXES:
        raise InvalidInputError(
            f"region code {region_code!r} is not a 6-digit GB/T 2260 administrative division code"
        )
    return code


def _validate_name(name: str) -> str:
    return clean_name(name, "department name", 200, collapse=True)


def _check_drawable(services: Services, name: str) -> None:
    """Refuse a name the CJK font cannot draw now, rather than at the first issuance.

    The name is typeset on every license and in the seal's stamp; the font is
    read once per process, later checks are lookups in its character map.
    """
    try:
        char_widths(load_cjk_font(find_cjk_font(services.settings.cjk_font)), name)
    except UnsupportedCharacterError as exc:
        raise UnsupportedCharacterError(
            f"department name {name!r} cannot be typeset: {exc.message}"
        ) from exc


def _department(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFoundError(f"no department with credit code {code}")
    return department


def add_department(
    services: Services,
    name: str,
    code: str,
    region_code: str | None = None,
    with_seal: bool = True,
    operator: Operator | None = None,
    kind: str | None = None,
) -> DepartmentInfo:
    """Register a department and, unless told otherwise, issue its seal certificate.

    ``kind`` (a ``DepartmentKind`` slug or Chinese name) decides which license
    types it may issue; when not given it is the kind the official name states
    (…市场监督管理局), or none.
    """
    code = validate_credit_code(code)
    name = _validate_name(name)
    region = validate_region_code(region_code) if region_code else None
    department_kind = parse_kind(kind) if kind else kind_from_name(name)
    _check_drawable(services, name)
    with services.database.begin() as session:
        if session.scalar(select(Department.id).where(Department.code == code)) is not None:
            raise DuplicateDepartmentError(f"department {code} is registered already")
        _refuse_taken_name(session, name)
    key_id = None
    try:
        with services.database.begin() as session:
            now = services.clock.now()
            department = Department(
                code=code,
                name=name,
                region_code=region,
                created_at=now,
                kind=department_kind.value if department_kind else None,
            )
            session.add(department)
            session.flush()
            if with_seal:
                key_id = _issue_seal(services, session, department)
            session.flush()
            session.refresh(department)
            info = DepartmentInfo.of(department)
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.DEPARTMENT_ADD,
                code,
                now,
                {
                    "name": name,
                    "region_code": region,
                    "kind": department_kind.value if department_kind else None,
                    "kind_from_name": kind is None and department_kind is not None,
                    "seal_serial": info.seals[0].serial_hex if info.seals else None,
                },
            )
            return info
    except IntegrityError as exc:
        with services.database.begin() as session:
            _refuse_taken_name(session, name)
        raise DuplicateDepartmentError(f"department {code} is registered already") from exc
    except BaseException:
        # The transaction rolled back; so must the key file it had created.
        if key_id is not None:
            services.seal_keys.delete(key_id)
        raise


def _refuse_taken_name(session: Session, name: str) -> None:
    taken = session.scalar(select(Department.code).where(Department.name == name))
    if taken is not None:
        raise DuplicateDepartmentError(
            f"a department named {name!r} is registered already (credit code {taken})"
        )


def _issue_seal(services: Services, session: Session, department: Department) -> str:
    """Create a seal key and certificate for ``department`` in the open session."""
    key_id = f"seal-{department.code}-{secrets.token_hex(6)}"
    key = services.seal_keys.create(key_id, services.settings.key_algorithm)
    try:
        now = services.clock.now()
        certificate = ca.build_seal_certificate(
            key.public_key(),
            ca.seal_subject(department.name, department.code, department.region_code),
            services.pki.issuing,
            services.pki.key("issuing"),
            services.pki.urls,
            now,
            services.pki.policy,
        )
        session.add(
            new_record(
                certificate,
                CertificateRole.SEAL,
                "issuing",
                now,
                key_id=key_id,
                department_id=department.id,
            )
        )
        session.flush()
        publish_seal_certificate(services.settings.home, certificate)
    except BaseException:
        services.seal_keys.delete(key_id)
        raise
    return key_id


def new_seal(services: Services, code: str, operator: Operator | None = None) -> DepartmentInfo:
    """Issue a further seal certificate (after a revocation, or ahead of expiry)."""
    code = validate_credit_code(code)
    key_id = None
    try:
        with services.database.begin() as session:
            department = _department(session, code)
            key_id = _issue_seal(services, session, department)
            session.refresh(department)
            info = DepartmentInfo.of(department)
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.SEAL_ISSUE,
                code,
                services.clock.now(),
                {"seal_serial": max(info.seals, key=lambda s: s.not_before).serial_hex},
            )
            return info
    except BaseException:
        if key_id is not None:
            services.seal_keys.delete(key_id)
        raise


def set_kind(
    services: Services, code: str, kind: str | None, operator: Operator | None = None
) -> DepartmentInfo:
    """Set (or, with None, clear) a department's kind; licenses already sealed are unaffected."""
    code = validate_credit_code(code)
    department_kind = parse_kind(kind) if kind else None
    with services.database.begin() as session:
        department = _department(session, code)
        previous = department.kind
        department.kind = department_kind.value if department_kind else None
        record_operation(
            session,
            operator or Operator.local(),
            OperatorAction.DEPARTMENT_KIND,
            code,
            services.clock.now(),
            {"from": previous, "to": department.kind},
        )
        session.flush()
        return DepartmentInfo.of(department)


def list_departments(services: Services) -> list[DepartmentInfo]:
    with services.database.begin() as session:
        departments = session.scalars(select(Department).order_by(Department.code)).all()
        return [DepartmentInfo.of(d) for d in departments]


def get_department(services: Services, code: str) -> DepartmentInfo:
    code = validate_credit_code(code)
    with services.database.begin() as session:
        return DepartmentInfo.of(_department(session, code))


def revoke_seal(
    services: Services,
    code: str,
    reason: str = "unspecified",
    serial_hex: str | None = None,
    invalid_since: datetime | None = None,
    operator: Operator | None = None,
) -> list[SealInfo]:
    """Revoke the department's seal certificates (all unrevoked ones, or one by serial).

    The revocation shows at once in the issuing CA's next CRL and in OCSP.
    ``invalid_since`` (RFC 5280 invalidityDate) is when a compromised key
    became unfit: what it signed before stays valid, what it signed since
    does not; without it, everything the key signed is refused.
    """
    code = validate_credit_code(code)
    parse_reason(reason)
    if invalid_since is not None:
        _check_invalid_since(services, reason, invalid_since)
    with services.database.begin() as session:
        department = _department(session, code)
        targets = [
            r
            for r in department.certificates
            if r.role is CertificateRole.SEAL
            and r.revoked_at is None
            and (serial_hex is None or r.serial_hex == serial_hex.lower())
        ]
        if not targets:
            raise NotFoundError(
                f"department {code} has no unrevoked seal certificate"
                + (f" with serial {serial_hex}" if serial_hex else "")
            )
        now = services.clock.now()
        for record in targets:
            if invalid_since is not None and invalid_since < record.not_before:
                raise InvalidInputError(
                    f"the invalidity date {invalid_since.isoformat()} is before seal "
                    f"{record.serial_hex} was valid ({record.not_before.isoformat()})"
                )
            record.revoked_at = now
            record.revocation_reason = reason
            record.invalidity_date = invalid_since
        details: dict[str, object] = {
            "reason": reason,
            "serials": [r.serial_hex for r in targets],
        }
        if invalid_since is not None:
            details["invalid_since"] = invalid_since.isoformat()
        record_operation(
            session,
            operator or Operator.local(),
            OperatorAction.SEAL_REVOKE,
            code,
            now,
            details,
        )
        return [SealInfo.of(r) for r in targets]


def _check_invalid_since(services: Services, reason: str, invalid_since: datetime) -> None:
    """An invalidity date is for a compromised key, aware, and not in the future."""
    if reason != "key_compromise":
        # RFC 5280 allows it with any reason; only a compromise makes it change a verdict.
        raise InvalidInputError("an invalidity date is given only with reason key_compromise")
    if invalid_since.tzinfo is None:
        raise InvalidInputError("the invalidity date needs a time zone")
    if invalid_since > services.clock.now():
        raise InvalidInputError("the invalidity date must not be in the future")


def import_seal(
    services: Services,
    code: str,
    pkcs12_data: bytes,
    pkcs12_password: bytes | None,
    operator: Operator | None = None,
) -> DepartmentInfo:
    """Take a seal certificate and key issued by an outside CA, from a PKCS#12 file."""
    code = validate_credit_code(code)
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(pkcs12_data, pkcs12_password)
    except (ValueError, TypeError) as exc:
        raise SealImportError(
            SealImportRefusal.UNREADABLE,
            "the PKCS#12 file could not be read (wrong password, or not PKCS#12)",
        ) from exc
    if key is None or certificate is None:
        raise SealImportError(
            SealImportRefusal.INCOMPLETE,
            "the PKCS#12 file must hold one private key and its certificate",
        )
    signing_key = as_signing_key(key)
    _check_importable(certificate, signing_key, code, services.clock.now())
    key_id = f"seal-{code}-{secrets.token_hex(6)}"
    services.seal_keys.store(key_id, signing_key)
    try:
        with services.database.begin() as session:
            department = _department(session, code)
            now = services.clock.now()
            known = set(session.scalars(select(CertificateRecord.fingerprint_sha256)).all())
            if fingerprint(certificate) in known:
                raise SealImportError(
                    SealImportRefusal.REGISTERED, "this seal certificate is registered already"
                )
            session.add(
                new_record(
                    certificate,
                    CertificateRole.SEAL,
                    None,
                    now,
                    key_id=key_id,
                    department_id=department.id,
                )
            )
            for chain_certificate in extra:
                if fingerprint(chain_certificate) not in known:
                    session.add(
                        new_record(chain_certificate, CertificateRole.EXTERNAL_CA, None, now)
                    )
                    known.add(fingerprint(chain_certificate))
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.SEAL_IMPORT,
                code,
                now,
                {
                    "seal_serial": hex_serial(certificate.serial_number),
                    "fingerprint_sha256": fingerprint(certificate),
                    "issuer": certificate.issuer.rfc4514_string(),
                },
            )
            session.flush()
            publish_seal_certificate(services.settings.home, certificate)
            session.refresh(department)
            return DepartmentInfo.of(department)
    except BaseException:
        services.seal_keys.delete(key_id)
        raise


def _public_der(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_importable(
    certificate: x509.Certificate, key: SigningKey, code: str, now: datetime
) -> None:
    if _public_der(certificate.public_key()) != _public_der(key.public_key()):
        raise SealImportError(
            SealImportRefusal.KEY_MISMATCH, "the PKCS#12 key does not belong to its certificate"
        )
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SealImportError(
            SealImportRefusal.NOT_VALID_NOW,
            "the seal certificate is not valid now (expired or not yet valid)",
        )
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            raise SealImportError(
                SealImportRefusal.CA_CERTIFICATE, "a CA certificate cannot be a seal certificate"
            )
    except x509.ExtensionNotFound:
        pass
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise SealImportError(
            SealImportRefusal.NO_KEY_USAGE, "the seal certificate has no keyUsage extension"
        ) from None
    if not (usage.digital_signature or usage.content_commitment):
        raise SealImportError(
            SealImportRefusal.WRONG_KEY_USAGE,
            "the seal certificate's keyUsage allows neither digitalSignature nor nonRepudiation",
        )
    named = ca.credit_code_of(certificate)
    if named != code:
        raise SealImportError(
            SealImportRefusal.OTHER_DEPARTMENT,
            f"the seal certificate names credit code {named or 'none'}, "
            f"not the department's {code}",
        )


@dataclass(frozen=True)
class ActiveSeal:
    """The seal a department seals with now, ready for the sealer."""

    department_id: int
    department_code: str
    department_name: str
    region_code: str | None
    serial_hex: str
    key_id: str
    material: SealMaterial
    #: The department's kind, for the license types' issuer rules.
    kind: str | None = None


def active_seal(services: Services, code: str) -> ActiveSeal:
    """The department's newest seal that is neither revoked nor expired."""
    code = validate_credit_code(code)
    now = services.clock.now()
    with services.database.begin() as session:
        department = _department(session, code)
        usable = [
            r
            for r in department.certificates
            if r.role is CertificateRole.SEAL
            and r.revoked_at is None
            and r.not_before <= now <= r.not_after
            and r.key_id is not None
        ]
        if not usable:
            raise SealUnavailableError(
                f"department {code} has no usable seal (revoked or expired): "
                "issue one with `trustsvc department new-seal`"
            )
        record = max(usable, key=lambda r: r.not_before)
        certificate = x509.load_der_x509_certificate(record.der)
        if record.issuer_ca is not None:
            chain: tuple[x509.Certificate, ...] = (services.pki.issuing, services.pki.root)
            roots: tuple[x509.Certificate, ...] = (services.pki.root,)
        else:
            outside = [
                x509.load_der_x509_certificate(r.der)
                for r in session.scalars(
                    select(CertificateRecord).where(
                        CertificateRecord.role == CertificateRole.EXTERNAL_CA
                    )
                )
            ]
            chain = tuple(outside)
            roots = tuple(c for c in outside if c.subject == c.issuer)
        assert record.key_id is not None
        key = services.seal_keys.private_key(record.key_id)
        return ActiveSeal(
            department_id=department.id,
            department_code=department.code,
            department_name=department.name,
            region_code=department.region_code,
            serial_hex=record.serial_hex,
            key_id=record.key_id,
            material=SealMaterial(certificate, key, chain, roots),
            kind=department.kind,
        )


def confirm_seal_in_standing(session: Session, seal: ActiveSeal, now: datetime) -> None:
    """Refuse, inside the transaction that records a license, a seal revoked meanwhile.

    ``active_seal`` was read before the document was sealed, and a sealer keeps
    its preparation for minutes; a revocation may commit in between, on any
    process or node. This reads the seal certificate's row again, under a
    share lock (PostgreSQL: ``FOR SHARE``, which waits for a revocation being
    written and then sees it; a later revocation waits for this transaction).
    SQLite has one writer: call this after the transaction's first write, when
    the write lock is held and what is read is the newest committed state.
    """
    row = session.execute(
        select(CertificateRecord.revoked_at, CertificateRecord.not_after)
        .where(CertificateRecord.fingerprint_sha256 == fingerprint(seal.material.certificate))
        .with_for_update(read=True)
    ).one_or_none()
    if row is None or row.revoked_at is not None or now > row.not_after:
        raise SealWithdrawnError(
            f"the seal of department {seal.department_code} was revoked (or expired) while "
            "the license was being sealed; nothing was recorded with it"
        )


class SealWithdrawnError(SealUnavailableError):
    """The seal a document was sealed with was revoked before the license was recorded."""
