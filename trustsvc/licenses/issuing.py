"""Issuing e-licenses and moving them through their lifecycle.

``issue`` is one unit of work as far as anyone can see: input is validated,
a serial reserved, the document rendered, sealed and stored, and only then is
the library record inserted, in one transaction with its event. A crash before
that insert leaves at most a reserved serial, a reserved number (voided by the
sweep, see ``numbers``) and an unreferenced document (content-addressed,
harmless): no half-issued license is ever visible. An issuance that fails
voids its printed number, saying why. An idempotency key makes retries safe:
the same key with the same data returns the license already issued; with other
data it is refused. A type that is unique per holder refuses a second current
license of the holder (``DuplicateLicenseError``); a change (变更) replaces the
holder's license in the same transaction, so it is never refused as one.

``IssuingService`` is given its collaborators (``IssuingParts``, built by
``trustsvc.bootstrap``); ``LicenseService`` is the same service built from a
``Services``, kept while callers still reach through its ``services``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from trustsvc.bootstrap import issuing_parts
from trustsvc.clock import Clock
from trustsvc.codes.identifiers import LicenseIdentifier, parse_identifier
from trustsvc.codes.serials import SerialCipher
from trustsvc.db import Database
from trustsvc.db.models import LicenseEvent, LicenseRecord, LicenseStatus
from trustsvc.departments.registry import ActiveSeal, confirm_seal_in_standing
from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.documents.render import LicenseDocument, RenderedLicense, render_license
from trustsvc.documents.store import DocumentStore
from trustsvc.errors import (
    ConflictError,
    DuplicateLicenseError,
    InvalidInputError,
    SealUnavailableError,
    TrustServiceError,
)
from trustsvc.licenses import library, numbers
from trustsvc.licenses.entitlement import EntitlementBook, require_entitlement
from trustsvc.licenses.holders import mask_holder_id
from trustsvc.licenses.printing import license_document
from trustsvc.licenses.types import (
    LicenseData,
    LicenseType,
    ValidityRule,
    get_type,
    validate_license_data,
)
from trustsvc.pki.certificates import seal_key_id
from trustsvc.pki.data_key import DataKey
from trustsvc.seals.appearance import render_stamp_pdf
from trustsvc.seals.sealer import SealedDocument, Sealer
from trustsvc.services import Services
from trustsvc.settings import Settings
from trustsvc.tokens.format import TokenClaims, license_content_hash
from trustsvc.tokens.signing import sign_token

#: Serial numbers reserved at once per department and process (see ``_next_sequence``);
#: only for identifiers: printed numbers are reserved one by one (see ``numbers``).
_SEQUENCE_BLOCK = 16
#: Who acts when no one is named (the CLI on the operator's machine).
DEFAULT_ACTOR = "operator"
_STAMP_CAPTION = "电子印章"

log = logging.getLogger("trustsvc.licenses")


class _RecordConflict(Exception):
    """The record insert broke a unique rule: a twin idempotency key, or the holder's place."""


class _Replayed(Exception):
    """A concurrent issuance with the same idempotency key won; its answer is the answer."""

    def __init__(self, result: IssueResult) -> None:
        super().__init__("replayed")
        self.result = result


@dataclass(frozen=True)
class LicenseEventView:
    """One lifecycle event of one version of a license."""

    identifier: str
    version: int
    action: str
    actor: str
    reason: str | None
    from_status: str | None
    to_status: str
    at: datetime


@dataclass(frozen=True)
class LicenseHistory:
    """Every event of every version of a license, oldest first."""

    identifier: str
    license_number: str
    issuer_code: str
    events: tuple[LicenseEventView, ...]


#: Draws a license's page from what it prints and the font: ``render_license``, or
#: for a document the department brings (``licenses.approvals``), that document stamped.
PageMaker = Callable[[LicenseDocument, str], RenderedLicense]


@dataclass(frozen=True)
class IssueRequest:
    department_code: str
    type_key: str
    data: Mapping[str, object]
    idempotency_key: str | None = None
    actor: str = DEFAULT_ACTOR
    #: The page is drawn by this instead of ``render_license`` (an approval document).
    page: PageMaker | None = None
    #: What the page is drawn from besides the data (the approval document's digest and
    #: placement): bound to the idempotency key as the data are.
    source_digest: str | None = None


@dataclass(frozen=True)
class LicenseView:
    """A license as the library shows it to its issuer."""

    identifier: str
    license_number: str
    version: int
    type_key: str
    type_name: str
    issuer_code: str
    issuer_name: str
    holder_name: str
    holder_id_type: str
    holder_id_masked: str
    fields: dict[str, str]
    valid_from: date
    valid_until: date | None
    issued_at: datetime
    status: str
    status_reason: str | None
    sha256: str
    supersedes: str | None
    #: A revoked license's kind: "cancelled" (注销) or "withdrawn" (吊销); None: not said.
    revocation_kind: str | None = None


@dataclass(frozen=True)
class IssueResult:
    license: LicenseView
    #: False when an idempotent retry returned the license issued before.
    created: bool


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def request_digest(department_code: str, license_type: LicenseType, data: LicenseData) -> str:
    """What an idempotency key is bound to: the issuer, the type and the normalised data."""
    return hashlib.sha256(
        canonical_json([department_code, license_type.key, data.as_dict()])
    ).hexdigest()


#: The department's usable seal now, by credit code (``departments.active_seal``).
SealLookup = Callable[[str], ActiveSeal]


@dataclass(frozen=True)
class IssuingSettings:
    """What issuing reads of the settings."""

    #: Stamps are made once and kept in ``home / "stamps"``.
    home: Path
    #: The service's time zone: "today" (validity, expiry) is its date.
    zone: tzinfo
    #: The base of the verification URL in each QR code.
    public_base_url: str
    #: A CJK font for the page; found on the system when None.
    cjk_font: Path | None

    @classmethod
    def of(cls, settings: Settings) -> IssuingSettings:
        return cls(settings.home, settings.zone, settings.public_base_url, settings.cjk_font)


@dataclass(frozen=True)
class IssuingParts:
    """The collaborators of the issuing service, built by ``trustsvc.bootstrap``."""

    settings: IssuingSettings
    database: Database
    clock: Clock
    types: Mapping[str, LicenseType]
    data_key: DataKey
    store: DocumentStore
    sealer: Sealer
    seals: SealLookup
    entitlements: EntitlementBook


class IssuingService:
    """Issue, change and move licenses through their lifecycle; read them as their issuer does.

    Given its collaborators (``IssuingParts``); it builds none of them and reads
    no settings beyond ``IssuingSettings``.
    """

    def __init__(self, parts: IssuingParts) -> None:
        self.settings = parts.settings
        self.database = parts.database
        self.clock = parts.clock
        self.types = dict(parts.types)
        self.data_key = parts.data_key
        self.store = parts.store
        self.sealer = parts.sealer
        self.entitlements = parts.entitlements
        self._seal_of = parts.seals
        # Serials are the counter enciphered (see serials): identifiers cannot be guessed.
        self.serials = SerialCipher(self.data_key.subkey("license serials"))
        self._font_name: str | None = None
        self._sequence_blocks: dict[int, range] = {}
        self._sequence_lock = threading.Lock()

    # ---- helpers ------------------------------------------------------------

    @property
    def font_name(self) -> str:
        if self._font_name is None:
            self._font_name = load_cjk_font(find_cjk_font(self.settings.cjk_font))
        return self._font_name

    def today(self) -> date:
        """The service's date now (its time zone's, not UTC's)."""
        return self._date_at(self.clock.now())

    def _date_at(self, moment: datetime) -> date:
        return moment.astimezone(self.settings.zone).date()

    def _stamp(self, seal: ActiveSeal) -> Path:
        """The department's stamp as a one-page PDF, made once and kept in the home."""
        name_digest = hashlib.sha256(seal.department_name.encode()).hexdigest()[:16]
        path = self.settings.home / "stamps" / f"{name_digest}.pdf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # One temporary file per process and thread: two first issues at once
            # must not write the same file, nor move it from under each other.
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_bytes(
                render_stamp_pdf(seal.department_name, self.font_name, caption=_STAMP_CAPTION)
            )
            temporary.replace(path)
        return path

    def view(
        self,
        record: LicenseRecord,
        *,
        issuer_name: str | None = None,
        holder_id: str | None = None,
        session: Session | None = None,
    ) -> LicenseView:
        """The record as its issuer sees it; facts the caller already holds are not re-read.

        Give the ``session`` the record was read in: the identifier it supersedes
        is read there rather than in a unit of work of its own.
        """
        supersedes = None
        if record.supersedes_id is not None:
            if session is None:
                with self.database.begin() as own:
                    supersedes = library.identifiers_of(own, [record.supersedes_id]).get(
                        record.supersedes_id
                    )
            else:
                supersedes = library.identifiers_of(session, [record.supersedes_id]).get(
                    record.supersedes_id
                )
        return self._view(record, self.today(), supersedes, issuer_name, holder_id)

    def views(self, session: Session, records: Sequence[LicenseRecord]) -> list[LicenseView]:
        """Views of many records in a fixed number of queries, however many there are.

        Their departments must be loaded with them (``library.search`` does); the
        identifiers they supersede are read in one query.
        """
        superseded = library.identifiers_of(
            session, (r.supersedes_id for r in records if r.supersedes_id is not None)
        )
        today = self.today()
        return [
            self._view(
                r,
                today,
                superseded.get(r.supersedes_id) if r.supersedes_id is not None else None,
            )
            for r in records
        ]

    def _view(
        self,
        record: LicenseRecord,
        today: date,
        supersedes: str | None,
        issuer_name: str | None = None,
        holder_id: str | None = None,
    ) -> LicenseView:
        license_type = self.types.get(record.type_key)
        if holder_id is None:
            holder_id = self.data_key.open(record.holder_id_type, record.holder_id_sealed)
        return LicenseView(
            identifier=record.identifier,
            license_number=record.license_number,
            version=record.version,
            type_key=record.type_key,
            type_name=license_type.name_zh if license_type else record.type_key,
            issuer_code=record.issuer_code,
            issuer_name=issuer_name or record.department.name,
            holder_name=record.holder_name,
            holder_id_type=record.holder_id_type,
            holder_id_masked=mask_holder_id(record.holder_id_type, holder_id),
            fields=library.field_values(record),
            valid_from=record.valid_from,
            valid_until=record.valid_until,
            issued_at=record.issued_at,
            status=library.effective_status(record, today).value,
            status_reason=record.status_reason,
            sha256=record.sha256,
            supersedes=supersedes,
            revocation_kind=record.revocation_kind,
        )

    def _content_digest(
        self, identifier: str, license_type: LicenseType, data: LicenseData
    ) -> bytes:
        """What the QR token's content hash covers: the license's facts, no ID number in clear."""
        facts = data.as_dict()
        facts["holder_id"] = self.data_key.digest(data.holder_id_type.value, data.holder_id)
        return license_content_hash(identifier, license_type.code, facts)

    # ---- issuing -------------------------------------------------------------

    def issue(self, request: IssueRequest) -> IssueResult:
        license_type = get_type(self.types, request.type_key)
        data = validate_license_data(license_type, request.data, self.today())
        seal = self._seal_of(request.department_code)
        digest = request_digest(seal.department_code, license_type, data)
        if request.source_digest is not None:
            digest = hashlib.sha256(f"{digest}\n{request.source_digest}".encode()).hexdigest()
        # Before a number is spent: a type the department may not issue is refused.
        self._refuse_early(license_type, seal)
        holder_digest = self.data_key.digest(data.holder_id_type.value, data.holder_id)
        year = self.today().year
        # One short transaction before sealing: the replay, the holder's place, the number.
        with numbers.prompt_transaction(self.database) as session:
            replay = self._replay_of(session, seal, request, digest)
            if replay is not None:
                return replay
            release_lapsed = False
            if license_type.unique_per_holder:
                # Refused before a number is spent; the unique index settles races.
                try:
                    release_lapsed = self._refuse_duplicate(license_type, holder_digest, session)
                except DuplicateLicenseError:
                    # A twin request with this key may have been recorded since the check above.
                    replay = self._replay_of(session, seal, request, digest)
                    if replay is not None:
                        return replay
                    raise
            reservation = self._reserve_number(session, seal, license_type, year, request.actor)
        try:
            sequence = self._next_sequence(seal.department_id)
            identifier = LicenseIdentifier(
                license_type.code,
                seal.department_code,
                self.serials.serial(seal.department_code, year, sequence),
                1,
            )
            record = self._issue_reserved(
                request,
                identifier,
                reservation,
                license_type,
                data,
                seal,
                digest,
                holder_digest,
                release_lapsed,
            )
        except _Replayed as replayed:
            self._void_number(
                reservation,
                "not used: an issuance with the same idempotency key was recorded first",
            )
            return replayed.result
        except TrustServiceError as exc:
            self._void_number(reservation, f"issuance failed ({exc.code}): {exc.message}")
            raise
        except BaseException as exc:
            self._void_number(reservation, f"issuance failed: {type(exc).__name__}")
            raise
        view = self.view(record, issuer_name=seal.department_name, holder_id=data.holder_id)
        return IssueResult(view, created=True)

    def _issue_reserved(
        self,
        request: IssueRequest,
        identifier: LicenseIdentifier,
        reservation: numbers.Reservation,
        license_type: LicenseType,
        data: LicenseData,
        seal: ActiveSeal,
        digest: str,
        holder_digest: str,
        release_lapsed: bool,
    ) -> LicenseRecord:
        """Seal and record a license whose serial and number are reserved."""
        withdrawn = 0
        while True:
            try:
                return self._seal_and_record(
                    request,
                    identifier,
                    reservation,
                    license_type,
                    data,
                    seal,
                    digest,
                    release_lapsed,
                )
            except SealUnavailableError:
                # Revoked while this license was being sealed (``SealWithdrawnError``,
                # or the sealer's own OCSP check): seal it again with the
                # department's seal now (a new one, if issued), or refuse.
                withdrawn += 1
                if withdrawn > 1:
                    raise
                seal = self._seal_of(request.department_code)
            except _RecordConflict:
                # Another process or thread won a race: the same idempotency key, or
                # the holder's one place in a type that is unique per holder.
                if request.idempotency_key is not None:
                    with self.database.begin() as session:
                        replay = self._replay(
                            session, seal.department_id, request.idempotency_key, digest
                        )
                    if replay is not None:
                        raise _Replayed(replay) from None
                if license_type.unique_per_holder:
                    self._refuse_duplicate(license_type, holder_digest)
                raise ConflictError(
                    "the license could not be recorded: a concurrent issuance conflicted"
                ) from None

    def _replay_of(
        self, session: Session, seal: ActiveSeal, request: IssueRequest, digest: str
    ) -> IssueResult | None:
        if request.idempotency_key is None:
            return None
        return self._replay(session, seal.department_id, request.idempotency_key, digest)

    def _refuse_duplicate(
        self, license_type: LicenseType, holder_digest: str, session: Session | None = None
    ) -> bool:
        """Refuse a holder who holds a current license; True if a lapsed one holds the place."""
        if session is None:
            with self.database.begin() as own:
                return self._refuse_duplicate(license_type, holder_digest, own)
        place = library.holder_place(session, license_type.key, holder_digest, self.today())
        held = place.current
        if held is None:
            return place.lapsed_holds
        status = library.effective_status(held, self.today()).value
        raise DuplicateLicenseError(
            f"the holder already holds {license_type.name_zh} {held.license_number} "
            f"({held.identifier}, {status}), and a holder may hold only one; "
            "change (变更) that license, or revoke it first",
            held.identifier,
            held.license_number,
        )

    def _reserve_number(
        self,
        session: Session,
        seal: ActiveSeal,
        license_type: LicenseType,
        year: int,
        actor: str,
    ) -> numbers.Reservation:
        region = seal.region_code or "000000"
        return numbers.reserve(
            session,
            department_id=seal.department_id,
            type_key=license_type.key,
            scope_year=license_type.number_scope_year(year),
            year=year,
            number_of=lambda sequence: license_type.format_number(
                region=region, year=year, sequence=sequence
            ),
            actor=actor,
            now=self.clock.now(),
        )

    def _void_number(self, reservation: numbers.Reservation, reason: str) -> None:
        """Best effort: a number this fails to void, the sweep voids later."""
        try:
            with self.database.begin() as session:
                numbers.void(session, reservation.id, reason, self.clock.now())
        except SQLAlchemyError:
            log.warning("number %s could not be voided now; the sweep will", reservation.number)

    def _refuse_early(self, license_type: LicenseType, seal: ActiveSeal) -> None:
        """Refuse a type the department is not entitled to before any work is done.

        The snapshot may be seconds old: what it refuses is confirmed in the
        database (a grant just made counts), and what it lets through is decided
        where the license is recorded (``require_entitlement``).
        """
        now = self.clock.now()
        if self.entitlements.entitled(license_type, seal.department_code, now) is not True:
            with self.database.begin() as session:
                require_entitlement(session, license_type, seal, now)

    def _seal_and_record(
        self,
        request: IssueRequest,
        identifier: LicenseIdentifier,
        reservation: numbers.Reservation,
        license_type: LicenseType,
        data: LicenseData,
        seal: ActiveSeal,
        digest: str,
        release_lapsed: bool = False,
    ) -> LicenseRecord:
        """Seal, store and record one license; what is stored is removed if it is not recorded."""
        number = reservation.number
        sealed = self._produce(identifier, number, license_type, data, seal, request.page)
        now = self.clock.now()
        sha256 = self.store.put(sealed.pdf, now)
        record = self._new_record(
            identifier,
            number,
            license_type,
            data,
            seal.department_id,
            seal,
            sha256,
            sealed.signed_revision,
            now,
            digest,
            idempotency_key=request.idempotency_key,
        )
        try:
            with self.database.begin() as session:
                if release_lapsed and record.current_holder_digest is not None:
                    library.release_lapsed_holder(
                        session, license_type.key, record.current_holder_digest, self.today()
                    )
                record.id = library.insert_record(session, record)
                # After the first write: see ``confirm_seal_in_standing``.
                confirm_seal_in_standing(session, seal, now)
                # As of the moment recorded as its issuance, which verification judges by.
                require_entitlement(session, license_type, seal, now)
                if not numbers.settle_issued(session, reservation, record.id, now):
                    raise ConflictError(
                        f"license number {number} was voided while the license was being "
                        "sealed (the issuance took longer than the sweep's grace period)"
                    )
                library.record_event(
                    session, record, library.Action.ISSUE, request.actor, None, None, "valid", now
                )
        except IntegrityError as exc:
            self._discard(sha256)
            raise _RecordConflict from exc
        except BaseException:
            self._discard(sha256)
            raise
        return record

    def _discard(self, sha256: str) -> None:
        """Remove a document that no license was recorded for (a lost race, a refusal).

        Best effort: what a failure here leaves behind, ``trustsvc store sweep`` takes.
        """
        try:
            with self.database.begin() as session:
                referenced = session.scalar(
                    select(LicenseRecord.id).where(LicenseRecord.sha256 == sha256).limit(1)
                )
            if referenced is None:
                self.store.delete(sha256)
        except (SQLAlchemyError, TrustServiceError):
            log.warning("an unrecorded document could not be removed; the sweep will take it")

    def _new_record(
        self,
        identifier: LicenseIdentifier,
        number: str,
        license_type: LicenseType,
        data: LicenseData,
        department_id: int,
        seal: ActiveSeal,
        sha256: str,
        signed_revision: bytes,
        now: datetime,
        request_digest: str,
        idempotency_key: str | None = None,
        supersedes_id: int | None = None,
        reason: str | None = None,
    ) -> LicenseRecord:
        id_type = data.holder_id_type.value
        holder_digest = self.data_key.digest(id_type, data.holder_id)
        return LicenseRecord(
            identifier=str(identifier),
            license_number=number,
            type_key=license_type.key,
            type_code=license_type.code,
            department_id=department_id,
            issuer_code=seal.department_code,
            serial=identifier.serial,
            version=identifier.version,
            holder_name=data.holder_name,
            holder_id_type=id_type,
            holder_id_digest=holder_digest,
            current_holder_digest=holder_digest if license_type.unique_per_holder else None,
            holder_id_sealed=self.data_key.seal(id_type, data.holder_id),
            fields_json=canonical_json(dict(data.fields)).decode(),
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            issued_at=now,
            status=LicenseStatus.VALID,
            status_changed_at=now,
            status_reason=reason,
            sha256=sha256,
            signed_sha256=hashlib.sha256(signed_revision).hexdigest(),
            seal_serial_hex=seal.serial_hex,
            supersedes_id=supersedes_id,
            idempotency_key=idempotency_key,
            request_digest=request_digest,
        )

    def _next_sequence(self, department_id: int) -> int:
        """A serial sequence number of this department, from a block this process reserved.

        Reserving one at a time would cost a write transaction (and its fsync)
        per license. A block is reserved atomically, so numbers never repeat
        across processes or nodes; numbers of a block left unused when the
        process ends are skipped, as GB/T 36904 allows (serials must be unique,
        not gapless).
        """
        with self._sequence_lock:
            block = self._sequence_blocks.get(department_id)
            if block is None or block.start >= block.stop:
                with self.database.begin() as session:
                    block = library.reserve_sequences(session, department_id, _SEQUENCE_BLOCK)
            self._sequence_blocks[department_id] = block[1:]
            return block[0]

    def _replay(
        self, session: Session, department_id: int, key: str, digest: str
    ) -> IssueResult | None:
        existing = library.find_by_idempotency_key(session, department_id, key)
        if existing is None:
            return None
        if existing.request_digest != digest:
            raise ConflictError(
                f"idempotency key {key!r} was used for a different request; "
                "use a new key for new data"
            )
        return IssueResult(self.view(existing, session=session), created=False)

    def _produce(
        self,
        identifier: LicenseIdentifier,
        number: str,
        license_type: LicenseType,
        data: LicenseData,
        seal: ActiveSeal,
        page: PageMaker | None = None,
    ) -> SealedDocument:
        """Render and seal one license; pure apart from the timestamp."""
        claims = TokenClaims(
            identifier=str(identifier),
            type_code=license_type.code,
            issuer_code=seal.department_code,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            content_hash=self._content_digest(str(identifier), license_type, data),
            signed_at=int(self.clock.now().timestamp()),
        )
        token = sign_token(claims, seal.material.key, seal_key_id(seal.material.certificate))
        document = self._document(identifier, number, license_type, data, seal, token)
        rendered = (page or render_license)(document, self.font_name)
        return self.sealer.seal(
            rendered.pdf,
            seal.material,
            rendered.seal_box,
            self._stamp(seal),
            reason=f"{license_type.name_zh} {number}",
            on_page=rendered.seal_page,
        )

    def _document(
        self,
        identifier: LicenseIdentifier,
        number: str,
        license_type: LicenseType,
        data: LicenseData,
        seal: ActiveSeal,
        token: str,
    ) -> LicenseDocument:
        return license_document(
            license_type,
            data,
            license_number=number,
            identifier=str(identifier),
            issuer_name=seal.department_name,
            issue_date=self.today(),
            verify_url=f"{self.settings.public_base_url}/v/{token}",
            seal_caption=_STAMP_CAPTION,
        )

    # ---- reading -------------------------------------------------------------

    def show(self, key: str, department_code: str | None = None) -> LicenseView:
        """A license by identifier or printed number (see ``library.resolve``)."""
        with self.database.begin() as session:
            return self.view(library.resolve(session, key, department_code), session=session)

    def document(self, key: str, department_code: str | None = None) -> bytes:
        with self.database.begin() as session:
            sha256 = library.resolve(session, key, department_code).sha256
        return self.store.get(sha256)

    def history(self, key: str, department_code: str | None = None) -> LicenseHistory:
        """Every lifecycle event of the license ``key`` names, across its versions."""
        with self.database.begin() as session:
            record = library.resolve(session, key, department_code)
            versions = library.versions_of(session, record)
            by_id = {v.id: v for v in versions}
            events = session.scalars(
                select(LicenseEvent)
                .where(LicenseEvent.license_id.in_(list(by_id)))
                .order_by(LicenseEvent.at, LicenseEvent.id)
            ).all()
            newest = versions[-1]
            return LicenseHistory(
                identifier=newest.identifier,
                license_number=newest.license_number,
                issuer_code=newest.issuer_code,
                events=tuple(
                    LicenseEventView(
                        identifier=by_id[e.license_id].identifier,
                        version=by_id[e.license_id].version,
                        action=e.action,
                        actor=e.actor,
                        reason=e.reason,
                        from_status=e.from_status,
                        to_status=e.to_status,
                        at=e.at,
                    )
                    for e in events
                ),
            )

    def _identifier_of(self, key: str, department_code: str | None) -> str:
        with self.database.begin() as session:
            return library.resolve(session, key, department_code).identifier

    def search(
        self,
        query: library.LicenseQuery,
        holder_id: str | None = None,
        holder_id_type: str | None = None,
    ) -> list[LicenseView]:
        if holder_id is not None:
            if holder_id_type is None:
                raise InvalidInputError("searching by holder ID needs the holder ID type too")
            # Every other condition is kept (the status a relying party sees, the types).
            query = dataclasses.replace(
                query,
                holder_id_digest=self.data_key.digest(holder_id_type, holder_id.strip().upper()),
            )
        with self.database.begin() as session:
            return self.views(session, library.search(session, query))

    # ---- lifecycle -----------------------------------------------------------

    def transition(
        self,
        key: str,
        action: library.Action,
        actor: str,
        reason: str | None,
        department_code: str | None = None,
        *,
        revocation_kind: library.RevocationKind | None = None,
    ) -> LicenseView:
        """Suspend, resume or revoke; refused with a clear error when not allowed.

        A revocation says whether it is 注销 (cancelled) or 吊销 (withdrawn);
        the CLI and the API require it, None is "not said" (as before it was kept).
        """
        if action not in (library.Action.SUSPEND, library.Action.RESUME, library.Action.REVOKE):
            raise InvalidInputError(f"{action.value} is not a status change")
        identifier = self._identifier_of(key, department_code)
        now = self.clock.now()
        with self.database.begin() as session:
            record = library.find_for_update(session, identifier)
            library.apply_transition(
                session,
                record,
                action,
                actor,
                reason,
                now,
                revocation_kind,
                today=self._date_at(now),
            )
        return self.show(identifier)

    def change(
        self,
        key: str,
        changes: Mapping[str, object],
        actor: str,
        reason: str | None,
        department_code: str | None = None,
    ) -> IssueResult:
        """变更: issue the next version with ``changes`` applied; the old one is superseded."""
        # The record is read once for its facts; the recording transaction locks it
        # and checks the change again (it may have moved on meanwhile).
        with self.database.begin() as session:
            old = library.resolve(session, key, department_code)
            library.check_transition(old, library.Action.CHANGE, reason, self.today())
            old_id, old_identifier = old.id, old.identifier
            license_type = get_type(self.types, old.type_key)
            holder_id = self.data_key.open(old.holder_id_type, old.holder_id_sealed)
            declared = {spec.key for spec in license_type.fields}
            merged: dict[str, object] = {
                "holder_name": old.holder_name,
                "holder_id_type": old.holder_id_type,
                "holder_id": holder_id,
                "valid_from": old.valid_from.isoformat(),
                # A field the type no longer declares (the decision's former 文号
                # field) is not carried into the new version.
                **{
                    key: value
                    for key, value in library.field_values(old).items()
                    if key in declared
                },
            }
            if (
                old.valid_until is not None
                and license_type.validity.rule is ValidityRule.PER_LICENSE
            ):
                merged["valid_until"] = old.valid_until.isoformat()
            department_code = old.department.code
            number = old.license_number
            old_holder_digest = old.holder_id_digest
        merged.update(changes)
        data = validate_license_data(license_type, merged, self.today())
        new_holder_digest = self.data_key.digest(data.holder_id_type.value, data.holder_id)
        if license_type.unique_per_holder and new_holder_digest != old_holder_digest:
            self._refuse_duplicate(license_type, new_holder_digest)
        seal = self._seal_of(department_code)
        self._refuse_early(license_type, seal)
        previous = parse_identifier(old_identifier)
        identifier_new = previous.next_version()
        sealed = self._produce(identifier_new, number, license_type, data, seal)
        now = self.clock.now()
        sha256 = self.store.put(sealed.pdf, now)
        digest = request_digest(department_code, license_type, data)
        recorded = False
        try:
            with self.database.begin() as session:
                old = library.find_for_update(session, old_identifier)
                library.apply_transition(
                    session,
                    old,
                    library.Action.CHANGE,
                    actor,
                    reason,
                    now,
                    today=self._date_at(now),
                )
                # The old version gives up the holder's place before the new one takes it.
                session.flush()
                record = self._new_record(
                    identifier_new,
                    number,
                    license_type,
                    data,
                    old.department_id,
                    seal,
                    sha256,
                    sealed.signed_revision,
                    now,
                    digest,
                    supersedes_id=old_id,
                    reason=reason,
                )
                session.add(record)
                session.flush()
                confirm_seal_in_standing(session, seal, now)
                require_entitlement(session, license_type, seal, now)
                library.record_event(
                    session, record, library.Action.CHANGE, actor, reason, None, "valid", now
                )
                view = self._view(
                    record, self._date_at(now), old_identifier, seal.department_name, data.holder_id
                )
            recorded = True
        except IntegrityError as exc:
            raise ConflictError(f"license {old_identifier} was changed concurrently") from exc
        finally:
            if not recorded:
                self._discard(sha256)
        return IssueResult(view, created=True)


class LicenseService(IssuingService):
    """The issuing service built from a ``Services``: a bridge for this wave's callers.

    ``services`` is kept for the callers that still reach through it (jobs,
    sharing, presentation codes, the CLI); new code is given what it needs by
    ``trustsvc.bootstrap`` instead (``Runtime``).
    """

    def __init__(self, services: Services, types: Mapping[str, LicenseType] | None = None) -> None:
        super().__init__(issuing_parts(services, types))
        self.services = services
