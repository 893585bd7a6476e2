"""One verdict for a sealed PDF: authentic, unmodified, sealed by its issuer, current.

The checks, in order (issue 4 of the project): the input is a well-formed PDF
within limits; it carries a seal whose CMS signature is intact over its byte
range; nothing after the sealed revision but validation data and document
timestamps (pyHanko's difference analysis, plus no bytes after the last
%%EOF); the seal certificate chains to a configured trust anchor, with the
right key usage, neither expired nor revoked at the time the timestamp proves
(revocation from the embedded DSS, the service's own responder, or fetched);
the timestamp is valid and from a trusted TSA; the seal certificate belongs to
the department entitled to issue the document; and the library knows the
document and its current status.

Fail closed: anything that cannot be evaluated becomes a finding, never a
pass. A report is ``valid`` only when no check produced a finding at all.
What the service could not decide (a crash, the time limit, a revocation
source out of reach) is ``not_evaluable``, never blamed on the document.

Offline (``Verifier(offline=True)``) nothing but the home's PKI files and
the document or token is read, never the database: the answer's scope is
``offline`` and its best verdict ``valid_offline``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from asn1crypto import cms, crl, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from sqlalchemy import bindparam, or_, select, update

from trustsvc.codes.identifiers import parse_identifier
from trustsvc.db.models import (
    REPORT_SEAL_PURPOSE,
    CertificateRecord,
    CertificateRole,
    Department,
    LicenseRecord,
    LicenseStatus,
    Presentation,
    VerificationEvent,
)
from trustsvc.db.prepared import PreparedStatement, driver_cursor
from trustsvc.errors import InvalidInputError, TrustServiceError
from trustsvc.licenses import library
from trustsvc.licenses.entitlement import EntitlementBook, packaged_types, type_by_code
from trustsvc.licenses.holders import mask_holder_name
from trustsvc.licenses.types import LicenseType
from trustsvc.pki.ca import credit_code_of
from trustsvc.pki.home import published_seal_certificate
from trustsvc.services import Services
from trustsvc.verification import hex_strings
from trustsvc.verification import reasons as R
from trustsvc.verification.presentation import ANONYMOUS, Checker, admits
from trustsvc.verification.report import Facts, Reason, Scope, VerificationReport, conclude
from trustsvc.verification.tokens import (
    ParsedToken,
    license_content_hash,
    parse_token,
    signature_is_valid,
)
from trustsvc.verification.validation_data import EmbeddedValidationData, ParsedObjects

log = logging.getLogger("trustsvc.verification")

EXPIRED = library.EffectiveStatus.EXPIRED
#: The status shown for a license in force only from a later day (not a stored status).
NOT_YET_VALID_STATUS = "not_yet_valid"

#: Documents larger than this are refused before parsing.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: A verification that takes longer than this is abandoned as not valid.
DEFAULT_TIME_LIMIT = timedelta(seconds=10)
#: A long-lived verifier is rebuilt this often, so that trust-list changes reach it.
REBUILD_AFTER_SECONDS = 60.0
#: Licenses whose content hash a verifier keeps (cleared when full).
_CONTENT_HASH_CACHE = 4096
_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
_TRAILING = re.compile(rb"%%EOF[\r\n\s]*\Z")
_CONTENTS_GAP = re.compile(rb"<[0-9A-Fa-f]*>")


class _TimeLimitExceeded(Exception):
    """The verification ran past its time limit (checked between stages)."""


class _RevocationUnavailable(Exception):
    """The service's own revocation answers could not be had (its database, its responder)."""


class _Deadline:
    """When a verification must have finished, on the monotonic clock (not the injected one)."""

    def __init__(self, limit: timedelta) -> None:
        self._end = time.monotonic() + limit.total_seconds()

    def check(self) -> None:
        if time.monotonic() >= self._end:
            raise _TimeLimitExceeded


@dataclass(frozen=True)
class _Seal:
    signature: EmbeddedPdfSignature
    certificate: x509.Certificate
    signed_revision: bytes


@dataclass(frozen=True)
class _PublishedSeal:
    """A seal certificate QR tokens may name, with what every check needs of it."""

    certificate: x509.Certificate
    credit_code: str | None
    subject: str
    serial_hex: str
    fingerprint: bytes


@dataclass(frozen=True)
class _Entry:
    """The library's facts about one license, read in one query."""

    license_id: int
    identifier: str
    type_key: str
    license_number: str
    issuer_name: str
    issuer_code: str
    holder_name: str
    holder_id_type: str
    valid_from: date
    valid_until: date | None
    status: LicenseStatus
    seal_serial_hex: str
    #: What an online token check compares the token with (see ``_check_token_content``).
    type_code: str = ""
    holder_id_digest: str = ""
    fields_json: str = "{}"
    sha256: str = ""
    #: As the driver returns it (text on SQLite): read only to date a version 1 token.
    issued_at: object = None
    #: As the driver returns them: read only for a license not in force.
    status_changed_at: object = None
    status_reason: str | None = None
    revocation_kind: str | None = None


@dataclass(frozen=True)
class _Revocation:
    """The library's record of a revoked seal certificate."""

    revoked_at: datetime
    reason: str
    #: RFC 5280 invalidityDate, given with a key compromise.
    invalidity_date: datetime | None

    def refuses(self, signed_at: datetime | None) -> bool:
        """Whether something signed at ``signed_at`` (None: unknown) falls after the cut.

        A compromised key is unfit since its invalidity date, or since ever when
        none was given; a key revoked for any other reason is unfit since its
        revocation. What cannot be dated is refused.
        """
        if self.reason == "key_compromise":
            cut = self.invalidity_date
            if cut is None:
                return True
        else:
            cut = self.revoked_at
        return signed_at is None or signed_at >= cut


_ENTRY_COLUMNS = (
    LicenseRecord.id,
    LicenseRecord.identifier,
    LicenseRecord.type_key,
    LicenseRecord.license_number,
    Department.name,
    LicenseRecord.issuer_code,
    LicenseRecord.holder_name,
    LicenseRecord.holder_id_type,
    LicenseRecord.valid_from,
    LicenseRecord.valid_until,
    LicenseRecord.status,
    LicenseRecord.seal_serial_hex,
    LicenseRecord.type_code,
    LicenseRecord.holder_id_digest,
    LicenseRecord.fields_json,
    LicenseRecord.sha256,
    LicenseRecord.issued_at,
    LicenseRecord.status_changed_at,
    LicenseRecord.status_reason,
    LicenseRecord.revocation_kind,
)
_REVOCATION_COLUMNS = slice(len(_ENTRY_COLUMNS), len(_ENTRY_COLUMNS) + 3)
_REVOCATION = (
    select(
        CertificateRecord.revoked_at,
        CertificateRecord.revocation_reason,
        CertificateRecord.invalidity_date,
    )
    .where(CertificateRecord.fingerprint_sha256 == bindparam("fingerprint"))
    .limit(1)
)


_ENTRY_SELECT = select(*_ENTRY_COLUMNS).join(Department)
#: The version that replaced a license (a change supersedes the version it replaces).
_SUCCESSOR = select(
    LicenseRecord.id, LicenseRecord.identifier, LicenseRecord.license_number, LicenseRecord.status
).where(LicenseRecord.supersedes_id == bindparam("license_id"))
#: How many changes are followed to the version in force (a chain is never this long).
_MAX_SUCCESSORS = 100
#: A token's license and the revocation of the seal that signed it, in one statement.
_TOKEN_LOOKUP = (
    select(
        *_ENTRY_COLUMNS,
        CertificateRecord.revoked_at,
        CertificateRecord.revocation_reason,
        CertificateRecord.invalidity_date,
    )
    .select_from(LicenseRecord)
    .join(Department, LicenseRecord.department_id == Department.id)
    .outerjoin(CertificateRecord, CertificateRecord.fingerprint_sha256 == bindparam("fingerprint"))
    .where(LicenseRecord.identifier == bindparam("identifier"))
    .limit(1)
)
_LOOKUPS = {
    "identifier": _ENTRY_SELECT.where(LicenseRecord.identifier == bindparam("identifier")).limit(1),
    "document": _ENTRY_SELECT.where(
        or_(
            LicenseRecord.signed_sha256 == bindparam("signed"),
            LicenseRecord.sha256 == bindparam("whole"),
        )
    ).limit(1),
}


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _as_utc(value: Any) -> datetime:
    """A UTC column read by the driver: aware (PostgreSQL) or naive UTC text (SQLite)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Verifier:
    """Verifies sealed PDFs against the service's trust anchors and library."""

    def __init__(
        self,
        services: Services,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_fetching: bool = True,
        extra_trust_roots: Iterable[x509.Certificate] = (),
        time_limit: timedelta = DEFAULT_TIME_LIMIT,
        offline: bool = False,
    ) -> None:
        self.services = services
        self.max_bytes = max_bytes
        self.offline = offline
        self.allow_fetching = allow_fetching and not offline
        self.time_limit = time_limit
        # Offline, the operator's extra anchors (kept in the database) are not read.
        operator_roots = [] if offline else self._operator_roots()
        self.trust_roots = [services.pki.root, *extra_trust_roots, *operator_roots]
        # Whether a seal certificate chains to the anchors cannot change while
        # the anchors do not: judged once per certificate.
        self._chain_verdicts: dict[bytes, bool] = {}
        self._parsed = ParsedObjects()
        # A seal's /Contents read at C speed (pyHanko's result, see hex_strings).
        hex_strings.install()
        self._own_intermediates = [_der(c) for c in (services.pki.issuing, services.pki.tsa)]
        self._published: dict[bytes, _PublishedSeal] = {}
        self._lookups: dict[str, PreparedStatement] = {}
        # A license record's facts never change (a change is a new version):
        # its content hash is computed once per verifier, not per token check.
        self._content_hashes: dict[tuple[int, str, int], bytes] = {}
        self._entitlements = EntitlementBook(services.database)

    def _operator_roots(self) -> list[x509.Certificate]:
        with self.services.database.begin() as session:
            records = session.scalars(
                select(CertificateRecord).where(
                    CertificateRecord.role == CertificateRole.TRUST_ANCHOR
                )
            ).all()
            return [x509.load_der_x509_certificate(r.der) for r in records]

    # ---- the one entry point ---------------------------------------------------

    def verify_pdf(self, pdf: bytes) -> VerificationReport:
        """Verify a sealed PDF; past ``time_limit`` the verdict is ``not_evaluable``."""
        deadline = _Deadline(self.time_limit)
        return self._fail_closed(
            lambda findings: self._verify(pdf, findings, deadline), offline=self.offline
        )

    def verify_token(
        self,
        token: str | ParsedToken,
        *,
        offline: bool = False,
        checked_by: str | Checker = ANONYMOUS,
        purpose: str | None = None,
    ) -> VerificationReport:
        """Verify a QR token: its signature and issuer, and (online) the library status.

        Offline, nothing but the home's PKI files is read: the seal certificate
        named by the token's key id must be among the published ones and chain
        to a trust anchor.

        ``checked_by`` is who checks a presentation code (a bare name is a
        checker that is no verifier client and may state no purpose), and
        ``purpose`` what it states; see ``trustsvc.verification.presentation``.
        """
        checker = checked_by if isinstance(checked_by, Checker) else Checker(checked_by)
        offline = offline or self.offline
        return self._fail_closed(
            lambda findings: self._verify_token(token, offline, findings, checker, purpose),
            offline=offline,
        )

    def status_of(self, identifier: str) -> VerificationReport:
        """The library's current word on a license, by identifier (no document, no token)."""

        def check(findings: list[Reason]) -> Facts:
            record = self._entry("identifier", identifier=identifier.strip().upper())
            if record is None:
                findings.append(R.UNKNOWN_TO_LIBRARY)
                return Facts(identifier=identifier)
            return self._check_status(Facts(), record, self._today(), findings)

        return self._fail_closed(check)

    def _fail_closed(
        self, check: Callable[[list[Reason]], Facts], *, offline: bool = False
    ) -> VerificationReport:
        """Run a check; anything that goes wrong inside it is a finding, never a pass.

        A document too deeply nested to parse is the document's fault
        (``malformed_input``); the time limit, an unreachable revocation source
        or any other failure is the service's (``not_evaluable``).
        """
        checked_at = self.services.clock.now()
        findings: list[Reason] = []
        facts = Facts()
        try:
            facts = check(findings)
        except RecursionError:
            findings.append(R.MALFORMED_STRUCTURE)
        except _TimeLimitExceeded:
            findings.append(R.TIME_LIMIT_EXCEEDED)
        except _RevocationUnavailable:
            log.warning("revocation status unavailable", exc_info=True)
            findings.append(R.REVOCATION_UNAVAILABLE)
        except TrustServiceError:
            raise
        except Exception:
            log.exception("verification could not be completed")
            findings.append(R.NOT_EVALUABLE)
        scope = Scope.OFFLINE if offline else Scope.ONLINE
        return conclude(findings, facts, checked_at, scope)

    def _today(self) -> date:
        return self.services.clock.now().astimezone(self.services.settings.zone).date()

    def _check_status(
        self, facts: Facts, record: _Entry, today: date, findings: list[Reason]
    ) -> Facts:
        """The library's word on a license: in force, or what happened to it and when."""
        current = library.effective_status(record, today)
        facts = _library_facts(facts, record, current)
        if current is library.EffectiveStatus.VALID:
            if record.valid_from > today:
                findings.append(R.not_yet_valid(record.valid_from))
                return replace(facts, status=NOT_YET_VALID_STATUS)
            return facts
        change = R.StatusChange()
        if current is not library.EffectiveStatus.EXPIRED:
            change = R.StatusChange(
                at=_as_utc(record.status_changed_at) if record.status_changed_at else None,
                reason=record.status_reason,
                revocation_kind=record.revocation_kind,
            )
            if current is library.EffectiveStatus.SUPERSEDED:
                change = self._with_current_version(change, record.license_id)
        findings.append(
            R.not_current(
                current, change, zone=self.services.settings.zone, valid_until=record.valid_until
            )
        )
        return replace(
            facts,
            status_since=change.at,
            status_reason=change.reason,
            revocation_kind=change.revocation_kind,
            current_identifier=change.current_identifier,
            current_number=change.current_number,
        )

    def _with_current_version(self, change: R.StatusChange, license_id: int) -> R.StatusChange:
        """Follow the changes from a superseded version to the one that replaced it last."""
        successors = self._prepared("successor", _SUCCESSOR)
        identifier = number = None
        with driver_cursor(self.services.database.engine) as cursor:
            for _ in range(_MAX_SUCCESSORS):
                row = successors.fetch_one(cursor, license_id=license_id)
                if row is None:
                    break
                license_id, identifier, number = row[0], row[1], row[2]
                if LicenseStatus(row[3]) is not LicenseStatus.SUPERSEDED:
                    break
        return replace(change, current_identifier=identifier, current_number=number)

    def _verify_token(
        self,
        token: str | ParsedToken,
        offline: bool,
        findings: list[Reason],
        checked_by: Checker,
        purpose: str | None,
    ) -> Facts:
        if isinstance(token, ParsedToken):
            parsed = token  # decoded by the caller already (tokens.try_parse_token)
        else:
            try:
                parsed = parse_token(token.strip())
            except InvalidInputError:
                findings.append(R.TOKEN_MALFORMED)
                return Facts()
        claims = parsed.claims
        if claims.kind not in ("license", "presentation"):
            findings.append(R.TOKEN_MALFORMED)
            return Facts()
        facts = Facts(
            identifier=claims.identifier,
            issuer_code=claims.issuer_code,
            valid_from=claims.valid_from,
            valid_until=claims.valid_until,
        )
        seal = self._published_seal(parsed.kid)
        if seal is None:
            findings.append(R.TOKEN_UNKNOWN_KEY)
            return facts
        if not signature_is_valid(parsed, seal.certificate):
            findings.append(R.TOKEN_SIGNATURE_INVALID)
            return facts
        if not self._issued_by_a_trusted_ca(seal):
            findings.append(R.UNTRUSTED_CHAIN)
        if seal.credit_code != claims.issuer_code:
            findings.append(R.WRONG_ISSUER)
        now = self.services.clock.now()
        if claims.expires_at is not None and claims.expires_at < now.timestamp():
            findings.append(R.TOKEN_EXPIRED)
        facts = replace(facts, seal_subject=seal.subject, seal_serial=seal.serial_hex)
        today = now.astimezone(self.services.settings.zone).date()
        if offline:
            # The dates are in the token: they are checked offline too.
            if claims.valid_until is not None and claims.valid_until < today:
                findings.append(R.not_current(EXPIRED, valid_until=claims.valid_until))
            elif claims.valid_from > today:
                findings.append(R.not_yet_valid(claims.valid_from))
            # Said in words: the signature holds, but nobody asked the library.
            findings.append(R.OFFLINE_NOT_CHECKED)
            return facts
        record, revocation = self._token_lookup(claims.identifier, seal.fingerprint.hex())
        matches = record is not None and _token_matches(
            parsed, seal, record, self._license_content_hash(record, parsed.version)
        )
        if revocation is not None and revocation.refuses(_signing_time(parsed, record, matches)):
            findings.append(R.TOKEN_SEAL_REVOKED)
        if record is None:
            # A token names no time; one the library does not know is judged as of now.
            self._check_entitlement(
                type_by_code(claims.type_code), claims.issuer_code, now, findings
            )
            findings.append(R.UNKNOWN_TO_LIBRARY)
            return facts
        self._check_library_entitlement(record, claims.issuer_code, findings)
        if not matches:
            findings.append(R.TOKEN_CONTRADICTS_LIBRARY)
        library_facts = self._check_status(facts, record, today, findings)
        if claims.kind == "presentation" and not self._check_presentation(
            claims.nonce, record, findings, checked_by, purpose
        ):
            return facts  # what the code itself says, not the library's facts
        return library_facts

    def _check_presentation(
        self,
        nonce: bytes | None,
        record: _Entry,
        findings: list[Reason],
        checker: Checker,
        purpose: str | None,
    ) -> bool:
        """Refuse an unknown, expired or used code, or a checker it does not admit;
        record a successful check. False when the checker may not see the license."""
        now = self.services.clock.now()
        with self.services.database.begin() as session:
            presentation = session.scalar(
                select(Presentation).where(Presentation.nonce == (nonce or b"").hex())
            )
            if presentation is None or presentation.license_id != record.license_id:
                findings.append(R.PRESENTATION_UNKNOWN)
                return True
            if presentation.expires_at < now and R.TOKEN_EXPIRED not in findings:
                findings.append(R.TOKEN_EXPIRED)
            stated = (purpose or "").strip() or None
            refusals = admits(checker, presentation.purpose, presentation.intended_verifier, stated)
            findings.extend(refusals)
            if findings:
                return not refusals  # a refused code is not used up
            if presentation.single_use:
                # One statement decides who uses the code up: parallel checks race on it.
                claimed = session.execute(
                    update(Presentation)
                    .where(Presentation.id == presentation.id, Presentation.used_at.is_(None))
                    .values(used_at=now)
                )
                if getattr(claimed, "rowcount", 0) != 1:
                    findings.append(R.PRESENTATION_USED)
                    return True
            session.add(
                VerificationEvent(
                    license_id=record.license_id,
                    presentation_id=presentation.id,
                    checked_at=now,
                    checked_by=checker.name,
                    purpose=stated,
                    verdict="valid",
                )
            )
            return True

    def _published_seal(self, kid: bytes) -> _PublishedSeal | None:
        seal = self._published.get(kid)
        if seal is None:
            certificate = published_seal_certificate(self.services.settings.home, kid)
            if certificate is None:
                return None
            # Named by a hash of itself: what is cached can never go stale.
            seal = _PublishedSeal(
                certificate,
                credit_code_of(certificate),
                certificate.subject.rfc4514_string(),
                format(certificate.serial_number, "x"),
                certificate.fingerprint(hashes.SHA256()),
            )
            self._published[kid] = seal
        return seal

    def _issued_by_a_trusted_ca(self, seal: _PublishedSeal) -> bool:
        """Whether the certificate chains to a trust anchor (signatures and CA constraints).

        A token carries no timestamp, so the chain is judged as of the
        certificate's own start of validity; revocation is the library's
        business online, and cannot be known offline.
        """
        return self._chain_is_sound(seal.certificate, seal.fingerprint)

    def _chain_is_sound(self, certificate: x509.Certificate, fingerprint: bytes) -> bool:
        """Whether ``certificate`` chains to an anchor, judged once per certificate."""
        if not self.trust_roots:
            return False
        cached = self._chain_verdicts.get(fingerprint)
        if cached is not None:
            return cached
        trusted = self._chains_to_anchor(certificate)
        self._chain_verdicts[fingerprint] = trusted
        return trusted

    def _chains_to_anchor(self, certificate: x509.Certificate) -> bool:
        context = ValidationContext(
            trust_roots=self._roots(),
            other_certs=self._parsed.certificates([_der(self.services.pki.issuing)]),
            moment=certificate.not_valid_before_utc + timedelta(seconds=1),
            revocation_mode="soft-fail",
            allow_fetching=False,
        )
        try:
            validate = CertificateValidator(
                self._parsed.load(asn1_x509.Certificate, _der(certificate)),
                validation_context=context,
            )
            _run(validate.async_validate_path())
        except (PathBuildingError, PathValidationError, ValueError):
            return False
        return True

    # ---- the checks --------------------------------------------------------------

    def _roots(self) -> list[asn1_x509.Certificate]:
        return self._parsed.certificates(_der(c) for c in self.trust_roots)

    def _verify(self, pdf: bytes, findings: list[Reason], deadline: _Deadline) -> Facts:
        if not pdf:
            findings.append(R.EMPTY)
            return Facts()
        if len(pdf) > self.max_bytes:
            findings.append(R.too_large(self.max_bytes))
            return Facts()
        if not _HEADER.search(pdf[:1024]):
            findings.append(R.NOT_A_PDF)
            return Facts()
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=True)
            encrypted = reader.encrypted
            filled_fields = 0 if encrypted else _filled_signature_fields(reader)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - any parser failure on hostile input is malformed input
            findings.append(R.MALFORMED_STRUCTURE)
            return Facts()
        if encrypted:
            findings.append(R.ENCRYPTED)
            return Facts()
        deadline.check()
        try:
            signatures = list(reader.embedded_signatures)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - a signature pyHanko cannot read is no valid seal
            findings.append(R.SIGNATURE_UNREADABLE)
            return self._document_facts(reader)
        if not _TRAILING.search(pdf[-1024:]):
            findings.append(R.BYTES_AFTER_EOF)
        seals = [s for s in signatures if s.sig_object.get("/Type", "/Sig") == "/Sig"]
        if filled_fields > len(signatures):
            # pyHanko skips signatures it does not recognise (an unknown
            # /SubFilter, say): a filled field it could not read is not a seal.
            findings.append(R.SIGNATURE_UNREADABLE)
        if not seals:
            if R.SIGNATURE_UNREADABLE not in findings:
                findings.append(R.NOT_SEALED)
            return self._document_facts(reader)
        if len(seals) > 1:
            findings.append(R.FURTHER_SIGNATURES)
        deadline.check()
        seal = self._seal(pdf, seals[0], findings)
        if seal is None:
            return self._document_facts(reader)
        deadline.check()
        status = self._validate(reader, seal, findings, len(pdf))
        deadline.check()
        if self.offline:
            return self._check_issuer_offline(reader, seal, status, findings)
        # Also for imported seals: a revocation recorded here counts whatever their CA says.
        self._check_own_revocation(seal, findings)
        facts = self._check_issuer_and_library(pdf, reader, seal, status, findings)
        deadline.check()
        return facts

    def _check_issuer_offline(
        self,
        reader: PdfFileReader,
        seal: _Seal,
        status: PdfSignatureStatus | None,
        findings: list[Reason],
    ) -> Facts:
        """Offline: the seal must be the department the document names; no library, no status."""
        sealer_code = credit_code_of(seal.certificate)
        claimed = _claimed_identifier(reader)
        if sealer_code is None or claimed is None or _issuer_of(claimed) != sealer_code:
            findings.append(R.WRONG_ISSUER)
        findings.append(R.OFFLINE_NOT_CHECKED)
        return replace(_seal_facts(seal, status, sealer_code), identifier=claimed)

    def _seal(
        self, pdf: bytes, signature: EmbeddedPdfSignature, findings: list[Reason]
    ) -> _Seal | None:
        try:
            byte_range = [int(v) for v in signature.sig_object["/ByteRange"]]
            certificate = x509.load_der_x509_certificate(signature.signer_cert.dump())
        except Exception:  # noqa: BLE001 - a seal that cannot be read is not a valid seal
            findings.append(R.SIGNATURE_UNREADABLE)
            return None
        if len(byte_range) != 4 or byte_range[0] != 0 or min(byte_range) < 0:
            findings.append(R.BYTE_RANGE_INVALID)
            return None
        end = byte_range[2] + byte_range[3]
        if end > len(pdf) or byte_range[2] <= byte_range[1]:
            findings.append(R.BYTE_RANGE_INVALID)
            return None
        # The one gap in what is signed must be exactly the hex string of
        # /Contents: nothing else may hide there (signature wrapping).
        gap = pdf[byte_range[1] : byte_range[2]]
        if not _CONTENTS_GAP.fullmatch(gap):
            findings.append(R.BYTE_RANGE_INVALID)
            return None
        return _Seal(signature, certificate, pdf[:end])

    def _validation_context(self, reader: PdfFileReader, seal: _Seal) -> ValidationContext:
        """A new context per document (its moment, its answers), from objects parsed once."""
        certificates: list[asn1_x509.Certificate] = []
        ocsps: list[ocsp.OCSPResponse] = []
        crls: list[crl.CertificateList] = []
        # A seal of the service's own PKI without embedded validation data gets
        # its answers from the service itself. (With a DSS, the current state is
        # checked against the library in ``_check_own_revocation``, which costs
        # one query instead of a signed OCSP answer per verification.)
        if "/DSS" in reader.root:
            embedded = EmbeddedValidationData.read(reader, self._parsed)
            certificates.extend(embedded.certificates)
            ocsps.extend(embedded.ocsps)
            crls.extend(embedded.crls)
        elif self._own_seal(seal) and not self.offline:
            # A fresh answer each time: parsed, not kept. Without one (the
            # database or the responder down) nothing can be decided.
            try:
                ocsps.append(
                    ocsp.OCSPResponse.load(self.services.revocation.ocsp_for(seal.certificate))
                )
                crls.extend(
                    self._parsed.load(crl.CertificateList, self.services.revocation.current_crl(ca))
                    for ca in ("root", "issuing")
                )
            except TrustServiceError:
                raise
            except Exception as exc:
                raise _RevocationUnavailable from exc
        if self._own_seal(seal):
            certificates.extend(self._parsed.certificates(self._own_intermediates))
        return ValidationContext(
            trust_roots=self._roots(),
            other_certs=certificates,
            ocsps=ocsps,
            crls=crls,
            allow_fetching=self.allow_fetching,
            # Offline, revocation after sealing cannot be known (the answer says
            # so); what the document embeds is still checked.
            revocation_mode="soft-fail" if self.offline else "hard-fail",
            # Judge the seal at the time its timestamp proves, as PAdES intends:
            # a seal certificate that expired or was revoked later does not
            # undo what was sealed before.
            moment=_claimed_timestamp(seal.signature),
        )

    def _entry(self, lookup: str, **values: str) -> _Entry | None:
        """One license's facts by a plain query: verification is read-only and hot.

        Compiled once per verifier and run on the driver's cursor (see
        ``trustsvc.db.prepared``): SQLAlchemy's per-call set-up otherwise cost
        more than the query.
        """
        statement = self._lookups.get(lookup)
        if statement is None:
            statement = PreparedStatement(_LOOKUPS[lookup], self.services.database.engine)
            self._lookups[lookup] = statement
        with driver_cursor(self.services.database.engine) as cursor:
            row = statement.fetch_one(cursor, **values)
        return None if row is None else _entry_of(row)

    def _token_lookup(
        self, identifier: str, fingerprint: str
    ) -> tuple[_Entry | None, _Revocation | None]:
        """The license a token names and the revocation of the seal that signed it.

        One statement when the license is known (the seal's revocation joined
        in); a second, for the seal alone, only for an unknown identifier.
        """
        lookup = self._prepared("token", _TOKEN_LOOKUP)
        with driver_cursor(self.services.database.engine) as cursor:
            row = lookup.fetch_one(cursor, identifier=identifier, fingerprint=fingerprint)
            if row is not None:
                return _entry_of(row), _revocation_of(row[_REVOCATION_COLUMNS])
            revocations = self._prepared("revocation", _REVOCATION)
            revoked = revocations.fetch_one(cursor, fingerprint=fingerprint)
        return None, None if revoked is None else _revocation_of(revoked)

    def _license_content_hash(self, record: _Entry, version: int) -> bytes | None:
        """What a printed token's content hash must be for this record (None: unreadable);
        the token's version says what the hash covers."""
        key = (record.license_id, record.sha256, version)
        cached = self._content_hashes.get(key)
        if cached is None:
            try:
                fields = json.loads(record.fields_json)
            except ValueError:
                return None
            facts: dict[str, str] = {
                "holder_name": record.holder_name,
                "holder_id_type": record.holder_id_type,
                "holder_id": record.holder_id_digest,
                "valid_from": record.valid_from.isoformat(),
            }
            if record.valid_until is not None:
                facts["valid_until"] = record.valid_until.isoformat()
            facts.update(fields)
            cached = license_content_hash(record.identifier, record.type_code, facts, version)
            if len(self._content_hashes) >= _CONTENT_HASH_CACHE:
                self._content_hashes.clear()
            self._content_hashes[key] = cached
        return cached

    def _prepared(self, name: str, statement: Any) -> PreparedStatement:
        prepared = self._lookups.get(name)
        if prepared is None:
            prepared = PreparedStatement(statement, self.services.database.engine)
            self._lookups[name] = prepared
        return prepared

    def _own_seal(self, seal: _Seal) -> bool:
        return seal.certificate.issuer == self.services.pki.issuing.subject

    def _check_own_revocation(self, seal: _Seal, findings: list[Reason]) -> None:
        """The library's own record: was this seal's key unfit at the time its timestamp proves?

        The same rule as for tokens (``_Revocation.refuses``): after a key
        compromise, a seal timestamped at or after the invalidity date is
        refused (every seal when no date was given); after any other
        revocation, one timestamped at or after the revocation.
        """
        moment = _claimed_timestamp(seal.signature)
        try:
            with self.services.database.begin() as session:
                row = session.execute(
                    select(
                        CertificateRecord.revoked_at,
                        CertificateRecord.revocation_reason,
                        CertificateRecord.invalidity_date,
                    ).where(
                        CertificateRecord.fingerprint_sha256
                        == seal.certificate.fingerprint(hashes.SHA256()).hex()
                    )
                ).first()
        except Exception as exc:
            raise _RevocationUnavailable from exc
        if row is None or row[0] is None:
            return
        revocation = _Revocation(row[0], row[1] or "unspecified", row[2])
        if revocation.refuses(moment):
            findings.append(R.SEAL_REVOKED)

    def _validate(
        self, reader: PdfFileReader, seal: _Seal, findings: list[Reason], file_length: int
    ) -> PdfSignatureStatus | None:
        if not self.trust_roots:
            findings.append(R.NO_TRUST_ANCHORS)
            return None
        try:
            status = validate_pdf_signature(seal.signature, self._validation_context(reader, seal))
        except Exception:
            log.info("seal validation raised", exc_info=True)
            findings.append(R.SIGNATURE_NOT_EVALUABLE)
            return None
        if not status.intact or not status.valid:
            findings.append(R.SIGNATURE_BROKEN)
        signed_to_the_end = len(seal.signed_revision) == file_length
        if status.coverage is SignatureCoverageLevel.ENTIRE_FILE:
            if not signed_to_the_end:
                # pyHanko can be led to report the whole file covered when it is
                # not (a signature dictionary redefined later, sized to fit) and
                # then skips its analysis of what changed: trust the byte range.
                findings.append(R.CHANGED_AFTER_SEALING)
        elif status.coverage is SignatureCoverageLevel.ENTIRE_REVISION:
            # After the sealed revision only validation data and document
            # timestamps may follow: nothing else, not even an empty update.
            if status.modification_level is not ModificationLevel.LTA_UPDATES or _idle_revisions(
                reader, seal.signature.signed_revision
            ):
                findings.append(R.CHANGED_AFTER_SEALING)
        else:
            findings.append(R.NOT_COVERED)
        if (
            status.modification_level is None
            or status.modification_level > ModificationLevel.LTA_UPDATES
        ):
            findings.append(R.CHANGED_AFTER_SEALING)
        if not status.docmdp_ok:
            findings.append(R.CHANGED_AFTER_SEALING)
        if not status.trusted:
            findings.append(self._trust_reason(status, seal))
        timestamp = status.timestamp_validity
        if timestamp is None:
            findings.append(R.NO_TIMESTAMP)
        elif not (timestamp.intact and timestamp.valid):
            findings.append(R.TIMESTAMP_BROKEN)
        elif not timestamp.trusted:
            findings.append(R.TIMESTAMP_UNTRUSTED)
        return status

    def _trust_reason(self, status: PdfSignatureStatus, seal: _Seal) -> Reason:
        """Why pyHanko does not trust the seal; "cannot know the revocation" is no verdict on it.

        pyHanko reports missing revocation answers as a general chain failure
        (or "try later" when they are stale); when the chain itself is sound,
        what failed is the revocation source.
        """
        reason = _trust_reason(status)
        if reason is not R.UNTRUSTED_CHAIN:
            return reason
        text = str(getattr(status, "trust_problem_indic", "") or "").lower()
        if "try_later" in text:
            return R.REVOCATION_UNAVAILABLE
        fingerprint = seal.certificate.fingerprint(hashes.SHA256())
        if "chain_general_failure" in text and self._chain_is_sound(seal.certificate, fingerprint):
            return R.REVOCATION_UNAVAILABLE
        return reason

    def _check_issuer_and_library(
        self,
        pdf: bytes,
        reader: PdfFileReader,
        seal: _Seal,
        status: PdfSignatureStatus | None,
        findings: list[Reason],
    ) -> Facts:
        sealer_code = credit_code_of(seal.certificate)
        facts = _seal_facts(seal, status, sealer_code)
        digest = hashlib.sha256(seal.signed_revision).hexdigest()
        whole_digest = hashlib.sha256(pdf).hexdigest()
        claimed = _claimed_identifier(reader)
        today = self.services.clock.now().astimezone(self.services.settings.zone).date()
        # The sealed revision identifies the document; the whole file also does
        # for records made before the sealed revision's digest was kept.
        record = self._entry("document", signed=digest, whole=whole_digest)
        if record is None and self._is_report_seal(seal):
            # The service's own report names the license it is about; it is not that license.
            findings.append(R.VERIFICATION_REPORT)
            return facts
        if record is None and claimed is not None:
            claimed_record = self._entry("identifier", identifier=claimed)
            if claimed_record is not None:
                # A document naming a license of the library, but not the one issued.
                if claimed_record.issuer_code != sealer_code:
                    findings.append(R.WRONG_ISSUER)
                else:
                    findings.append(R.NOT_THE_ISSUED_DOCUMENT)
                return facts
        if record is None:
            # Not ours: the document itself says who should have sealed it.
            if sealer_code is None or (claimed is not None and _issuer_of(claimed) != sealer_code):
                findings.append(R.WRONG_ISSUER)
            else:
                if claimed is not None:
                    # As of the time the seal's timestamp claims (checked with the seal).
                    sealed_at = _claimed_timestamp(seal.signature) or self.services.clock.now()
                    license_type = type_by_code(parse_identifier(claimed).type_code)
                    self._check_entitlement(license_type, sealer_code, sealed_at, findings)
                findings.append(R.UNKNOWN_TO_LIBRARY)
            return replace(facts, identifier=claimed)
        if record.issuer_code != sealer_code or record.seal_serial_hex != format(
            seal.certificate.serial_number, "x"
        ):
            findings.append(R.WRONG_ISSUER)
        elif sealer_code is not None:
            self._check_library_entitlement(record, sealer_code, findings)
        return self._check_status(facts, record, today, findings)

    def _is_report_seal(self, seal: _Seal) -> bool:
        """Whether the seal is the service's verification-report seal (one query)."""
        if not self._own_seal(seal):
            return False
        with self.services.database.begin() as session:
            found = session.scalar(
                select(CertificateRecord.id).where(
                    CertificateRecord.fingerprint_sha256
                    == seal.certificate.fingerprint(hashes.SHA256()).hex(),
                    CertificateRecord.purpose == REPORT_SEAL_PURPOSE,
                )
            )
        return found is not None

    def _check_entitlement(
        self,
        license_type: LicenseType | None,
        issuer_code: str | None,
        moment: datetime | Callable[[], datetime],
        findings: list[Reason],
    ) -> None:
        """Sealed by a department not entitled to the type at the time it was sealed?

        The rule is the one issuance applies (``trustsvc.licenses.issuers``);
        a department or type the service does not know is left to the other checks.
        """
        if license_type is None or issuer_code is None:
            return
        if self._entitlements.entitled(license_type, issuer_code, moment) is False:
            findings.append(R.ISSUER_NOT_ENTITLED)

    def _check_library_entitlement(
        self, record: _Entry, issuer_code: str, findings: list[Reason]
    ) -> None:
        """A library license is judged as of the issuance the library recorded (when the
        answer depends on the time at all: only then is that time read)."""

        def issued_at() -> datetime:
            with self.services.database.begin() as session:
                moment = session.scalar(
                    select(LicenseRecord.issued_at).where(LicenseRecord.id == record.license_id)
                )
            return moment or self.services.clock.now()

        license_type = packaged_types().get(record.type_key)
        self._check_entitlement(license_type, issuer_code, issued_at, findings)

    def _document_facts(self, reader: PdfFileReader) -> Facts:
        return Facts(identifier=_claimed_identifier(reader))


# ---- helpers -----------------------------------------------------------------------


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run pyHanko's async validation to completion, also when called on a running loop.

    The API verifies license tokens on its event loop; a chain is judged once per
    seal certificate, and that once runs on a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _entry_of(row: Any) -> _Entry:
    return _Entry(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
        _as_date(row[8]), _as_date(row[9]) if row[9] is not None else None,
        LicenseStatus(row[10]), row[11], row[12], row[13], row[14], row[15], row[16],
        row[17], row[18], row[19],
    )  # fmt: skip


def _revocation_of(row: Any) -> _Revocation | None:
    if row[0] is None:
        return None
    return _Revocation(
        _as_utc(row[0]),
        str(row[1] or "unspecified"),
        _as_utc(row[2]) if row[2] is not None else None,
    )


def _token_matches(
    parsed: ParsedToken, seal: _PublishedSeal, record: _Entry, license_hash: bytes | None
) -> bool:
    """Whether a token says what the library says of the license it names.

    A printed token must also be signed by the seal that sealed the license;
    its content hash covers the license's facts (``license_content_hash``).
    A presentation code is signed by the department's seal of the day, and
    its hash is that of the sealed document.
    """
    claims = parsed.claims
    if record.issuer_code != claims.issuer_code or (record.valid_from, record.valid_until) != (
        claims.valid_from,
        claims.valid_until,
    ):
        return False
    if claims.kind == "presentation":
        return hmac.compare_digest(bytes.fromhex(record.sha256)[:16], claims.content_hash)
    if record.seal_serial_hex != seal.serial_hex or license_hash is None:
        return False
    return hmac.compare_digest(license_hash, claims.content_hash)


def _signing_time(parsed: ParsedToken, record: _Entry | None, matches: bool) -> datetime | None:
    """When a token was signed: its own word (version 2), else the library's.

    A version 1 token carries no time; when it is exactly the printed token
    of a license in the library, the library's issuance time is when it was
    signed. Anything else cannot be dated.
    """
    signed_at = parsed.claims.signed_at
    if signed_at is not None:
        return datetime.fromtimestamp(signed_at, UTC)
    if record is not None and matches and parsed.claims.kind == "license":
        return _as_utc(record.issued_at)
    return None


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _claimed_timestamp(signature: EmbeddedPdfSignature) -> datetime | None:
    """The time the seal's timestamp token states (checked later, with the token)."""
    try:
        attributes = signature.signer_info["unsigned_attrs"]
        for attribute in attributes:
            if attribute["type"].native == "signature_time_stamp_token":
                token: cms.ContentInfo = attribute["values"][0]
                moment: datetime = (
                    token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
                )
                return moment
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return None


def _idle_revisions(reader: PdfFileReader, signed_revision: int) -> bool:
    """Whether a revision after the seal updates no object that existed before it.

    A DSS or a document timestamp always updates an existing object (the
    catalog, the form, a page); an empty update, or one adding only objects
    nothing refers to, passes pyHanko's analysis but is not validation data.
    """
    xrefs = reader.xrefs
    for revision in range(signed_revision + 1, xrefs.total_revisions):
        previous_size = xrefs.get_xref_container_info(revision - 1).size
        changed = xrefs.explicit_refs_in_revision(revision)
        if not any(ref.idnum < previous_size for ref in changed):
            return True
    return False


def _filled_signature_fields(reader: PdfFileReader) -> int:
    """How many signature fields hold a value, whatever pyHanko makes of them."""
    return sum(1 for _field in enumerate_sig_fields(reader, filled_status=True))


def _claimed_identifier(reader: PdfFileReader) -> str | None:
    """The GB/T 36904 identifier the document names (in /Keywords), if it is one."""
    try:
        keywords = str(reader.trailer_view["/Info"].get("/Keywords", ""))
        return str(parse_identifier(keywords.strip()))
    except Exception:  # noqa: BLE001 - a document without a usable identifier simply names none
        return None


def _issuer_of(identifier: str | None) -> str | None:
    return parse_identifier(identifier).issuer_code if identifier else None


def _trust_reason(status: PdfSignatureStatus) -> Reason:
    revoked = getattr(status, "revoked", False)
    if revoked:
        return R.SEAL_REVOKED
    text = str(getattr(status, "trust_problem_indic", "") or "").lower()
    if "expired" in text or "not_yet_valid" in text or "out_of_bounds" in text:
        return R.SEAL_EXPIRED
    if "revoked" in text:
        return R.SEAL_REVOKED
    return R.UNTRUSTED_CHAIN


def _seal_facts(seal: _Seal, status: PdfSignatureStatus | None, sealer_code: str | None) -> Facts:
    organisation = seal.certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    timestamp = status.timestamp_validity if status else None
    tsa = None
    if timestamp is not None:
        try:
            tsa = timestamp.signing_cert.subject.human_friendly
        except AttributeError:
            tsa = None
    return Facts(
        issuer_name=str(organisation[0].value) if organisation else None,
        issuer_code=sealer_code,
        seal_subject=seal.certificate.subject.rfc4514_string(),
        seal_serial=format(seal.certificate.serial_number, "x"),
        signing_time=timestamp.timestamp if timestamp is not None else None,
        timestamp_authority=tsa,
    )


def _library_facts(facts: Facts, record: _Entry, current: library.EffectiveStatus) -> Facts:
    """The seal's facts, completed with what the library knows of the license."""
    return replace(
        facts,
        identifier=record.identifier,
        license_type=record.type_key,
        license_number=record.license_number,
        issuer_name=record.issuer_name,
        issuer_code=record.issuer_code,
        holder_name_masked=mask_holder_name(record.holder_name, record.holder_id_type),
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        status=current.value,
    )
