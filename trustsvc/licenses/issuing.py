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
``trustsvc.bootstrap``); it reads licenses as a ``LicenseReader`` and makes
their documents with a ``LicenseProducer``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from trustsvc.clock import Clock
from trustsvc.codes.identifiers import LicenseIdentifier, parse_identifier
from trustsvc.db import Database
from trustsvc.db.models import LicenseRecord
from trustsvc.departments.seals import ActiveSeal, confirm_seal_in_standing
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
from trustsvc.licenses.production import IssuingSettings, LicenseProducer
from trustsvc.licenses.reading import LicenseReader
from trustsvc.licenses.requests import IssueRequest, IssueResult, LicenseView, request_digest
from trustsvc.licenses.types import (
    LicenseData,
    LicenseType,
    ValidityRule,
    get_type,
    validate_license_data,
)
from trustsvc.pki.data_key import DataKey
from trustsvc.seals.sealer import Sealer

log = logging.getLogger("trustsvc.licenses")


class _RecordConflict(Exception):
    """The record insert broke a unique rule: a twin idempotency key, or the holder's place."""


class _Replayed(Exception):
    """A concurrent issuance with the same idempotency key won; its answer is the answer."""

    def __init__(self, result: IssueResult) -> None:
        super().__init__("replayed")
        self.result = result


#: The department's usable seal now, by credit code (``departments.active_seal``).
SealLookup = Callable[[str], ActiveSeal]


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


class IssuingService(LicenseReader):
    """Issue, change and move licenses through their lifecycle; read them as their issuer does.

    Given its collaborators (``IssuingParts``); it builds none of them and reads
    no settings beyond ``IssuingSettings``.
    """

    def __init__(self, parts: IssuingParts) -> None:
        zone = parts.settings.zone
        super().__init__(
            parts.database, parts.clock, zone, parts.types, parts.data_key, parts.store
        )
        self.settings = parts.settings
        self.producer = LicenseProducer(
            parts.settings, parts.database, parts.clock, parts.data_key, parts.sealer
        )
        self.entitlements = parts.entitlements
        self._seal_of = parts.seals

    @property
    def font_name(self) -> str:
        return self.producer.font_name

    # ---- issuing -------------------------------------------------------------

    def issue(self, request: IssueRequest) -> IssueResult:
        license_type = get_type(self.types, request.type_key)
        data = validate_license_data(license_type, request.data, self.today())
        seal = self._seal_of(request.department_code)
        digest = request_digest(seal.department_code, license_type, data)
        if request.source_digest is not None:
            digest = hashlib.sha256(f"{digest}\n{request.source_digest}".encode()).hexdigest()
        # Before a number is spent: a type the department may not issue is refused.
        self.entitlements.refuse_early(license_type, seal, self.clock.now())
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
            reservation = numbers.reserve_license_number(
                session, seal, license_type, year, request.actor, self.clock.now()
            )
        try:
            identifier = self.producer.first_identifier(license_type, seal, year)
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
        return library.refuse_second_license(session, license_type, holder_digest, self.today())

    def _void_number(self, reservation: numbers.Reservation, reason: str) -> None:
        """Best effort: a number this fails to void, the sweep voids later."""
        try:
            with self.database.begin() as session:
                numbers.void(session, reservation.id, reason, self.clock.now())
        except SQLAlchemyError:
            log.warning("number %s could not be voided now; the sweep will", reservation.number)

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
        sealed = self.producer.produce(identifier, number, license_type, data, seal, request.page)
        now = self.clock.now()
        sha256 = self.store.put(sealed.pdf, now)
        record = self.producer.new_record(
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
        identifier = self.identifier_of(key, department_code)
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
                today=self.date_at(now),
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
        self.entitlements.refuse_early(license_type, seal, self.clock.now())
        previous = parse_identifier(old_identifier)
        identifier_new = previous.next_version()
        sealed = self.producer.produce(identifier_new, number, license_type, data, seal)
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
                    today=self.date_at(now),
                )
                # The old version gives up the holder's place before the new one takes it.
                session.flush()
                record = self.producer.new_record(
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
                view = self.view_as_of(
                    record, self.date_at(now), old_identifier, seal.department_name, data.holder_id
                )
            recorded = True
        except IntegrityError as exc:
            raise ConflictError(f"license {old_identifier} was changed concurrently") from exc
        finally:
            if not recorded:
                self._discard(sha256)
        return IssueResult(view, created=True)


__all__ = ["IssuingParts", "IssuingService", "IssuingSettings", "SealLookup"]
