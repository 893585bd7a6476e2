"""A department's seals (电子印章): issued by the service's issuing CA or imported from an
outside CA (PKCS#12), renewed, revoked (with an RFC 5280 invalidity date for a
compromised key), and the one that seals now. A department may hold several seal
certificates over time; the one that seals is the newest that is neither revoked nor
expired.
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
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.codes.identifiers import validate_credit_code
from trustsvc.db.models import CertificateRecord, CertificateRole, Department
from trustsvc.departments.info import DepartmentInfo, SealInfo, find_department
from trustsvc.errors import (
    InvalidInputError,
    NotFoundError,
    SealUnavailableError,
)
from trustsvc.pki import ca
from trustsvc.pki.certificates import fingerprint, new_record
from trustsvc.pki.certificates import serial_hex as hex_serial
from trustsvc.pki.home import publish_seal_certificate
from trustsvc.pki.keystore import SigningKey, as_signing_key
from trustsvc.pki.revocation import parse_reason
from trustsvc.seals.sealer import SealMaterial
from trustsvc.services import Services


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


def issue_seal(services: Services, session: Session, department: Department) -> str:
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
            department = find_department(session, code)
            key_id = issue_seal(services, session, department)
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
        department = find_department(session, code)
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
            department = find_department(session, code)
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
        department = find_department(session, code)
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
