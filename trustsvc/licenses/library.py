"""The unified license library (电子证照库): license records, their lifecycle, queries.

Statuses move only along ``TRANSITIONS``; every move is recorded in
``license_events`` with who, when and why, and appended to the transparency log
in the same transaction (``audit.events``). "Expired" is never stored: it is
what a valid license becomes when its validity ends, so it cannot drift from
the dates. Sequence numbers are reserved from a per-issuer counter by an atomic
``UPDATE ... RETURNING``, so they never repeat, also across processes and
nodes; a reservation whose issuance fails leaves a gap, never a duplicate.
An identifier's serial is its sequence number enciphered (see ``serials``).

A license is found by its identifier or by its printed number (证照编号); a
number names every version of one license (a change keeps it), so it finds the
newest, and a number that names licenses of two departments or types is
refused as ambiguous rather than guessed. A type that is unique per holder
keeps the holder's one place in ``current_holder_digest``, under a unique
index, so that two issuances at once cannot both take it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, insert, not_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, contains_eager

from trustsvc.audit import events as events_model
from trustsvc.audit import recording
from trustsvc.db.models import (
    Department,
    LicenseEvent,
    LicenseRecord,
    LicenseStatus,
    SerialCounter,
)
from trustsvc.errors import (
    AmbiguousLicenseNumberError,
    ConflictError,
    DuplicateLicenseError,
    InvalidInputError,
    NotFoundError,
)
from trustsvc.licenses.types import LicenseType


class EffectiveStatus(StrEnum):
    """The status a relying party sees."""

    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


class Action(StrEnum):
    ISSUE = "issue"
    CHANGE = "change"
    SUSPEND = "suspend"
    RESUME = "resume"
    REVOKE = "revoke"


class RevocationKind(StrEnum):
    """Which revocation it was: the law keeps them apart, and so does the library."""

    #: 注销: the license is cancelled, on the holder's request or because it is no
    #: longer needed (the business closed, the holder died).
    CANCELLED = "cancelled"
    #: 吊销: the license is withdrawn as an administrative sanction.
    WITHDRAWN = "withdrawn"


#: action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[LicenseStatus], LicenseStatus]] = {
    Action.SUSPEND: (frozenset({LicenseStatus.VALID}), LicenseStatus.SUSPENDED),
    Action.RESUME: (frozenset({LicenseStatus.SUSPENDED}), LicenseStatus.VALID),
    Action.REVOKE: (
        frozenset({LicenseStatus.VALID, LicenseStatus.SUSPENDED}),
        LicenseStatus.REVOKED,
    ),
    # A change supersedes the version it replaces.
    Action.CHANGE: (frozenset({LicenseStatus.VALID}), LicenseStatus.SUPERSEDED),
}

#: Actions that must say why.
REASON_REQUIRED = frozenset({Action.SUSPEND, Action.REVOKE, Action.CHANGE})


class _HasStatus(Protocol):
    @property
    def status(self) -> LicenseStatus: ...

    @property
    def valid_until(self) -> date | None: ...


def effective_status(record: _HasStatus, today: date) -> EffectiveStatus:
    expired = record.valid_until is not None and record.valid_until < today
    if record.status is LicenseStatus.VALID and expired:
        return EffectiveStatus.EXPIRED
    return EffectiveStatus(record.status.value)


def reserve_sequences(session: Session, department_id: int, count: int) -> range:
    """Reserve ``count`` consecutive sequence numbers for an issuer (in its own transaction)."""
    if count < 1:
        raise ValueError("count must be positive")
    statement = (
        update(SerialCounter)
        .where(SerialCounter.department_id == department_id)
        .values(next_value=SerialCounter.next_value + count)
        .returning(SerialCounter.next_value)
    )
    after = session.execute(statement).scalar()
    if after is None:
        # First issuance of this department: make its counter, tolerating a racing twin.
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(SerialCounter)
            .values(department_id=department_id, next_value=1)
            .on_conflict_do_nothing()
        )
        after = session.execute(statement).scalar_one()
    return range(after - count, after)


_LICENSES = cast(Table, LicenseRecord.__table__)
_INSERT_RECORD = insert(_LICENSES).returning(_LICENSES.c.id)


def insert_record(session: Session, record: LicenseRecord) -> int:
    """Write a new license record and return its row id; ``record`` stays out of the session.

    A Core insert of every column the record was given: the issuing path reads
    nothing back, and the ORM's unit of work for one new row costs more than the
    insert does. The caller sets ``record.id`` if it goes on using the object.
    """
    values = {c.key: getattr(record, c.key) for c in _LICENSES.columns if c.key != "id"}
    row_id: int = session.connection().execute(_INSERT_RECORD, values).scalar_one()
    return row_id


def identifiers_of(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The identifiers of the licenses with these row ids, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(LicenseRecord.id, LicenseRecord.identifier).where(LicenseRecord.id.in_(wanted))
    ).all()
    return {row.id: row.identifier for row in rows}


def find(session: Session, identifier: str) -> LicenseRecord:
    record = session.scalar(select(LicenseRecord).where(LicenseRecord.identifier == identifier))
    if record is None:
        raise NotFoundError(f"no license with identifier {identifier}")
    return record


def resolve(session: Session, key: str, department_code: str | None = None) -> LicenseRecord:
    """The license ``key`` names: an identifier, or a printed number (its newest version).

    Numbers are looked for only among ``department_code``'s licenses when it is
    given (a number is the issuer's own sequence: another issuer may print the
    same one). Not found: ``NotFoundError``; a number of several licenses:
    ``AmbiguousLicenseNumberError`` naming them.
    """
    key = key.strip()
    if not key or len(key) > 128:
        raise NotFoundError("no license with that identifier or number")
    record = session.scalar(select(LicenseRecord).where(LicenseRecord.identifier == key.upper()))
    if record is not None:
        return record
    statement = select(LicenseRecord).where(LicenseRecord.license_number == key)
    if department_code is not None:
        statement = statement.join(Department).where(Department.code == department_code)
    versions = session.scalars(statement.order_by(LicenseRecord.version.desc())).all()
    if not versions:
        raise NotFoundError(f"no license with identifier or number {key}")
    newest: dict[tuple[str, str], LicenseRecord] = {}
    for version in versions:  # newest first
        newest.setdefault((version.issuer_code, version.serial), version)
    if len(newest) > 1:
        named = sorted(r.identifier for r in newest.values())
        raise AmbiguousLicenseNumberError(
            f"number {key} names {len(named)} licenses ({', '.join(named[:5])}); "
            "give the identifier, or the department"
        )
    return versions[0]


def versions_of(session: Session, record: LicenseRecord) -> Sequence[LicenseRecord]:
    """Every version of the license ``record`` is one of (same issuer and serial), oldest first."""
    return session.scalars(
        select(LicenseRecord)
        .where(
            LicenseRecord.issuer_code == record.issuer_code, LicenseRecord.serial == record.serial
        )
        .order_by(LicenseRecord.version)
    ).all()


@dataclass(frozen=True)
class HolderPlace:
    """What a holder holds of a type: the current license, and whether a lapsed one holds on."""

    current: LicenseRecord | None
    #: A license whose validity ended still holds the place (``release_lapsed_holder``).
    lapsed_holds: bool


# Built once: every issuance of a type unique per holder asks, and building the
# statement (and its cache key) costs more than the indexed read.
_HOLDER_PLACE = (
    select(LicenseRecord)
    .where(
        LicenseRecord.type_key == bindparam("b_type"),
        LicenseRecord.holder_id_digest == bindparam("b_holder"),
        LicenseRecord.status.in_([LicenseStatus.VALID, LicenseStatus.SUSPENDED]),
    )
    .order_by(LicenseRecord.id)
)


def holder_place(
    session: Session, type_key: str, holder_id_digest: str, today: date
) -> HolderPlace:
    """The holder's valid or suspended licenses of the type, told apart by their dates."""
    held = session.scalars(_HOLDER_PLACE, {"b_type": type_key, "b_holder": holder_id_digest}).all()
    current = [r for r in held if r.valid_until is None or r.valid_until >= today]
    return HolderPlace(
        current[0] if current else None,
        any(r.current_holder_digest is not None and r not in current for r in held),
    )


def refuse_second_license(
    session: Session, license_type: LicenseType, holder_id_digest: str, today: date
) -> bool:
    """Refuse a holder who holds a current license; True if a lapsed one holds the place."""
    place = holder_place(session, license_type.key, holder_id_digest, today)
    held = place.current
    if held is None:
        return place.lapsed_holds
    raise DuplicateLicenseError(
        f"the holder already holds {license_type.name_zh} {held.license_number} "
        f"({held.identifier}, {effective_status(held, today).value}), and a holder may "
        "hold only one; change (变更) that license, or revoke it first",
        held.identifier,
        held.license_number,
    )


def release_lapsed_holder(
    session: Session, type_key: str, holder_id_digest: str, today: date
) -> None:
    """Give up the holder's place held by a license whose validity has ended.

    "Expired" is never stored, so the place is released when a new license
    wants it: in the transaction that records the new one.
    """
    session.execute(
        update(LicenseRecord)
        .where(
            LicenseRecord.type_key == type_key,
            LicenseRecord.current_holder_digest == holder_id_digest,
            LicenseRecord.valid_until.is_not(None),
            LicenseRecord.valid_until < today,
        )
        .values(current_holder_digest=None)
    )


def find_for_update(session: Session, identifier: str) -> LicenseRecord:
    """The record, locked against concurrent transitions until the transaction ends."""
    record = session.scalar(
        select(LicenseRecord).where(LicenseRecord.identifier == identifier).with_for_update()
    )
    if record is None:
        raise NotFoundError(f"no license with identifier {identifier}")
    return record


_BY_IDEMPOTENCY_KEY = select(LicenseRecord).where(
    LicenseRecord.department_id == bindparam("b_department"),
    LicenseRecord.idempotency_key == bindparam("b_key"),
)


def find_by_idempotency_key(session: Session, department_id: int, key: str) -> LicenseRecord | None:
    return session.scalar(_BY_IDEMPOTENCY_KEY, {"b_department": department_id, "b_key": key})


def check_transition(
    record: LicenseRecord, action: Action, reason: str | None, today: date
) -> None:
    """Raise a clear error when ``action`` may not happen to ``record`` now."""
    allowed_from, _target = TRANSITIONS[action]
    current = effective_status(record, today)
    if record.status not in allowed_from or (
        action is Action.CHANGE and current is EffectiveStatus.EXPIRED
    ):
        raise ConflictError(
            f"cannot {action.value} license {record.identifier}: it is {current.value}"
        )
    if action in REASON_REQUIRED and not (reason and reason.strip()):
        raise InvalidInputError(f"a reason is required to {action.value} a license")


def apply_transition(
    session: Session,
    record: LicenseRecord,
    action: Action,
    actor: str,
    reason: str | None,
    now: datetime,
    revocation_kind: RevocationKind | None = None,
    *,
    today: date,
) -> None:
    """Move ``record`` by ``action``; a revocation says which it was (None: not said).

    ``today`` is the service's date (its time zone's, not UTC's): whether the
    license has expired is judged by it, as everywhere else.
    """
    check_transition(record, action, reason, today)
    if revocation_kind is not None and action is not Action.REVOKE:
        raise InvalidInputError(f"only a revocation has a kind, not {action.value}")
    _allowed, target = TRANSITIONS[action]
    kind = revocation_kind.value if revocation_kind is not None else None
    from_status = record.status.value
    record.status = target
    record.status_changed_at = now
    record.status_reason = reason
    record.revocation_kind = kind
    if target in (LicenseStatus.REVOKED, LicenseStatus.SUPERSEDED):
        # No longer held: the holder may be issued another (see ``holder_place``).
        record.current_holder_digest = None
    # After the move: the entry vouches for the record as the move leaves it.
    record_event(
        session,
        record,
        action,
        actor,
        reason,
        from_status,
        target.value,
        now,
        revocation_kind=kind,
    )


def record_event(
    session: Session,
    record: LicenseRecord,
    action: Action,
    actor: str,
    reason: str | None,
    from_status: str | None,
    to_status: str,
    now: datetime,
    *,
    revocation_kind: str | None = None,
) -> None:
    """Record one lifecycle event of ``record`` (already in the database, in the state the
    event leaves it): its row in ``license_events`` and its entry in the log, in this
    transaction (``audit.recording.record``)."""
    recording.record(
        session,
        events_model.LifecycleEvent(
            record,
            action.value,
            actor,
            reason,
            from_status,
            to_status,
            now,
            revocation_kind=revocation_kind,
        ),
    )


def events(session: Session, record: LicenseRecord) -> Sequence[LicenseEvent]:
    return session.scalars(
        select(LicenseEvent).where(LicenseEvent.license_id == record.id).order_by(LicenseEvent.id)
    ).all()


@dataclass(frozen=True)
class LicenseQuery:
    department_code: str | None = None
    type_key: str | None = None
    holder_id_digest: str | None = None
    status: LicenseStatus | None = None
    #: The status a relying party sees ("expired" included); needs ``today``.
    effective_status: EffectiveStatus | None = None
    today: date | None = None
    limit: int = 50
    offset: int = 0
    #: Only licenses of these types (a lookup's purpose); None: any type.
    type_keys: tuple[str, ...] | None = None


def search(session: Session, query: LicenseQuery) -> Sequence[LicenseRecord]:
    """Licenses matching every given condition, newest first, with their departments.

    The department comes in the same query (a view shows its name): one query
    for the page, not one more per license.
    """
    statement = (
        select(LicenseRecord).join(Department).options(contains_eager(LicenseRecord.department))
    )
    if query.department_code:
        statement = statement.where(Department.code == query.department_code)
    if query.type_key:
        statement = statement.where(LicenseRecord.type_key == query.type_key)
    if query.type_keys is not None:
        statement = statement.where(LicenseRecord.type_key.in_(query.type_keys))
    if query.holder_id_digest:
        statement = statement.where(LicenseRecord.holder_id_digest == query.holder_id_digest)
    if query.status:
        statement = statement.where(LicenseRecord.status == query.status)
    if query.effective_status is not None:
        if query.today is None:
            raise ValueError("searching by effective status needs today's date")
        statement = statement.where(_effective_condition(query.effective_status, query.today))
    statement = statement.order_by(LicenseRecord.id.desc()).limit(query.limit).offset(query.offset)
    return session.scalars(statement).all()


def _effective_condition(status: EffectiveStatus, today: date) -> ColumnElement[bool]:
    """SQL for ``effective_status(record, today) == status``."""
    stored_valid = LicenseRecord.status == LicenseStatus.VALID
    lapsed = and_(LicenseRecord.valid_until.is_not(None), LicenseRecord.valid_until < today)
    if status is EffectiveStatus.EXPIRED:
        return and_(stored_valid, lapsed)
    if status is EffectiveStatus.VALID:
        return and_(stored_valid, not_(lapsed))
    return LicenseRecord.status == LicenseStatus(status.value)


def field_values(record: LicenseRecord) -> dict[str, str]:
    values: dict[str, str] = json.loads(record.fields_json)
    return values
