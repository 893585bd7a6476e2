"""The service's verification-report seal (核验报告专用章), and sealing reports with it.

A seal certificate of the operator itself, not of a department: subject
C=CN, O=``organisation_name``, organizationIdentifier ``NTRCN-<credit code>``
when ``organisation_credit_code`` is set (ETSI EN 319 412-1), CN "<operator>
核验报告专用章". It is issued by the seal issuing CA like a department's seal,
recorded in the certificates table as a seal (so OCSP and the CRL answer for
it like any other) with ``purpose = REPORT_SEAL_PURPOSE`` and no department,
and its key lives in the seal key store (files or PKCS#11).

``trustsvc init`` makes it; a home initialised before it existed gets it on
first use. Two processes making it at once make one: the creation runs under
a lock (PostgreSQL: a transaction advisory lock; SQLite: the write lock, taken
by the transaction's first statement), and whoever gets the lock second finds
the first one's seal. A revoked or expired report seal is replaced the same
way on the next use.

Reports are sealed as licenses are (``seals.sealer``: PAdES B-LT with the
built-in or configured TSA, DocMDP P=1), with a round stamp naming the
operator and "核验报告专用章" as the visible appearance.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.db.models import REPORT_SEAL_PURPOSE, CertificateRecord, CertificateRole
from trustsvc.departments.info import SealInfo
from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.errors import NotFoundError
from trustsvc.pki import ca
from trustsvc.pki.certificates import new_record
from trustsvc.pki.home import publish_report_seal_certificate
from trustsvc.pki.revocation import parse_reason
from trustsvc.pki.tsa import make_timestamper
from trustsvc.seals.appearance import render_stamp_pdf
from trustsvc.seals.sealer import Sealer, SealMaterial, SealProfile
from trustsvc.services import Services
from trustsvc.verification.printout import lay_out_report
from trustsvc.verification.report import VerificationReport

#: The stamp's caption, under the star (the seal's purpose, as on a 专用章).
REPORT_SEAL_CAPTION = "核验报告专用章"
#: Arbitrary constant key of the PostgreSQL advisory lock held while the seal is made.
_CREATION_LOCK_KEY = 0x7472757374727074
_CN_LIMIT = 64  # RFC 5280 ub-common-name


def report_seal_subject(organisation: str, credit_code: str | None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if credit_code:
        attributes.append(
            x509.NameAttribute(
                NameOID.ORGANIZATION_IDENTIFIER, ca.ORGANISATION_ID_PREFIX + credit_code
            )
        )
    common = f"{organisation} {REPORT_SEAL_CAPTION}"
    attributes.append(
        x509.NameAttribute(
            NameOID.COMMON_NAME, common if len(common) <= _CN_LIMIT else REPORT_SEAL_CAPTION
        )
    )
    return x509.Name(attributes)


@dataclass(frozen=True)
class ReportSeal:
    """The report seal that seals now, ready for the sealer."""

    serial_hex: str
    key_id: str
    material: SealMaterial


def _usable(session: Session, services: Services) -> CertificateRecord | None:
    now = services.clock.now()
    records = session.scalars(
        select(CertificateRecord).where(
            CertificateRecord.purpose == REPORT_SEAL_PURPOSE,
            CertificateRecord.revoked_at.is_(None),
            CertificateRecord.key_id.is_not(None),
        )
    ).all()
    usable = [r for r in records if r.not_before <= now <= r.not_after]
    return max(usable, key=lambda r: r.not_before) if usable else None


def _seal_of(services: Services, record: CertificateRecord) -> ReportSeal:
    assert record.key_id is not None
    certificate = x509.load_der_x509_certificate(record.der)
    # A home whose report seal predates the report-seals folder publishes it on its next use.
    publish_report_seal_certificate(services.settings.home, certificate)
    return ReportSeal(
        serial_hex=record.serial_hex,
        key_id=record.key_id,
        material=SealMaterial(
            certificate,
            services.seal_keys.private_key(record.key_id),
            (services.pki.issuing, services.pki.root),
            (services.pki.root,),
        ),
    )


def _lock(session: Session) -> None:
    """Serialise the creation across processes and nodes (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATION_LOCK_KEY})
    else:
        # SQLite's write lock comes with the first write: one that changes nothing.
        session.execute(
            update(CertificateRecord)
            .where(CertificateRecord.id == -1)
            .values(purpose=REPORT_SEAL_PURPOSE)
        )


def report_seal(services: Services) -> ReportSeal:
    """The usable report seal, made now if there is none (first use, revoked, expired)."""
    with services.database.begin() as session:
        record = _usable(session, services)
        if record is not None:
            return _seal_of(services, record)
    key_id = None
    try:
        with services.database.begin() as session:
            _lock(session)
            record = _usable(session, services)
            if record is not None:
                # Another process made it while this one waited for the lock.
                return _seal_of(services, record)
            key_id = f"report-seal-{secrets.token_hex(6)}"
            key = services.seal_keys.create(key_id, services.settings.key_algorithm)
            now = services.clock.now()
            settings = services.settings
            certificate = ca.build_seal_certificate(
                key.public_key(),
                report_seal_subject(settings.organisation_name, settings.organisation_credit_code),
                services.pki.issuing,
                services.pki.key("issuing"),
                services.pki.urls,
                now,
            )
            record = new_record(certificate, CertificateRole.SEAL, "issuing", now, key_id=key_id)
            record.purpose = REPORT_SEAL_PURPOSE
            session.add(record)
            session.flush()
            return _seal_of(services, record)
    except BaseException:
        # The transaction rolled back (or never committed): so must the key it made.
        if key_id is not None:
            services.seal_keys.delete(key_id)
        raise


class ReportSealer:
    """Lays out and seals verification reports; one per process is enough."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self._services = services
        self.sealer = Sealer(
            make_timestamper(settings.tsa_url, services.tsa, settings.tsa_timeout_seconds),
            services.revocation,
            services.pki.issuing,
            services.pki.tsa,
            SealProfile.B_LT,
        )
        self._font_name: str | None = None

    @property
    def font_name(self) -> str:
        if self._font_name is None:
            self._font_name = load_cjk_font(find_cjk_font(self._services.settings.cjk_font))
        return self._font_name

    def current_seal(self) -> ReportSeal:
        """The usable report seal now (made if there is none: first use, revoked, expired)."""
        return report_seal(self._services)

    def _stamp(self) -> Path:
        """The report seal's stamp as a one-page PDF, made once and kept in the home."""
        name = self._services.settings.organisation_name
        digest = hashlib.sha256(f"{name}\n{REPORT_SEAL_CAPTION}".encode()).hexdigest()[:16]
        path = self._services.settings.home / "stamps" / f"report-{digest}.pdf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_bytes(
                render_stamp_pdf(name, self.font_name, caption=REPORT_SEAL_CAPTION)
            )
            temporary.replace(path)
        return path

    def seal(
        self,
        report: VerificationReport,
        zone: ZoneInfo | None = None,
        context: Sequence[tuple[str, str]] = (),
    ) -> bytes:
        """The report, sealed: PAdES B-LT, the report seal's stamp over its issuing line.

        ``context``: lines about the check (``printout.lay_out_report``).
        """
        seal = self.current_seal()
        rendered = lay_out_report(
            report,
            self.font_name,
            zone or self._services.settings.zone,
            issuer=self._services.settings.organisation_name,
            context=context,
        )
        identifier = report.facts.identifier
        sealed = self.sealer.seal(
            rendered.pdf,
            seal.material,
            rendered.seal_box,
            self._stamp(),
            reason=f"核验报告 {identifier}" if identifier else "核验报告",
        )
        return sealed.pdf


def report_seals(services: Services) -> list[SealInfo]:
    """Every report seal certificate the service made, oldest first."""
    with services.database.begin() as session:
        records = session.scalars(
            select(CertificateRecord)
            .where(CertificateRecord.purpose == REPORT_SEAL_PURPOSE)
            .order_by(CertificateRecord.not_before)
        ).all()
        return [SealInfo.of(r) for r in records]


def revoke_report_seal(
    services: Services, reason: str = "unspecified", operator: Operator | None = None
) -> list[SealInfo]:
    """Revoke the unrevoked report seal(s); the next report is sealed with a new one.

    Shows at once in the issuing CA's next CRL and in OCSP, as for a department's seal.
    """
    parse_reason(reason)
    with services.database.begin() as session:
        targets = session.scalars(
            select(CertificateRecord).where(
                CertificateRecord.purpose == REPORT_SEAL_PURPOSE,
                CertificateRecord.revoked_at.is_(None),
            )
        ).all()
        if not targets:
            raise NotFoundError("there is no unrevoked verification-report seal")
        now = services.clock.now()
        for record in targets:
            record.revoked_at = now
            record.revocation_reason = reason
        record_operation(
            session,
            operator or Operator.local(),
            OperatorAction.SEAL_REVOKE,
            "report-seal",
            now,
            {"reason": reason, "serials": [r.serial_hex for r in targets]},
        )
        return [SealInfo.of(r) for r in targets]
