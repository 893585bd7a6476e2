"""Printed license numbers (证照编号): reserved one at a time, and every one accounted for.

A number is printed on the page, so it must exist before the page is rendered
and sealed, long before the license is recorded. It is therefore reserved in a
short transaction of its own (the (department, type, year) counter moves on and
a ``reserved`` row is written), and settled in the transaction that records the
license (``issued``). An issuance that fails marks its number ``void`` (作废)
with the reason; one that cannot (the process died, the database went away)
leaves a reservation that the store sweep voids once it is older than any
issuing transaction can be. So between the first and the last number of a
department, type and year there is no number that is neither issued nor void,
and an auditor can list them all (``trustsvc license numbers``).

Settling and voiding are compare-and-set on ``reserved``: a number that the
sweep voided is never also issued, and an issued one never voided.

The reservation's commit does not wait for the disk (SQLite ``synchronous =
NORMAL`` in WAL mode, PostgreSQL ``synchronous_commit = off``, for that one
transaction): it saves one flush per license. It is safe because nothing is
handed out under the number before the license is recorded, and the recording
commit, which does wait, makes every earlier commit durable with it (the
write-ahead log is written in order). A power cut in between loses the
reservation and the counter step together, so the number is reserved again by
the next issuance: neither a gap nor a number printed twice on a license.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trustsvc.audit import events, recording
from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import (
    Department,
    LicenseNumberRecord,
    LicenseRecord,
    NumberCounter,
    NumberState,
)
from trustsvc.departments.seals import ActiveSeal
from trustsvc.errors import NotFoundError
from trustsvc.licenses.types import LicenseType

log = logging.getLogger("trustsvc.numbers")

#: The column's length; longer reasons are cut.
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Reservation:
    """A number reserved for one issuance, not yet issued or void."""

    id: int
    number: str
    sequence: int


_counters = cast(Table, NumberCounter.__table__)
_numbers = cast(Table, LicenseNumberRecord.__table__)

# The statements of every issuance, built once: building and keying a statement per call
# costs more than the indexed one-row writes themselves. Core statements on the tables,
# run on the session's connection: an ORM-enabled UPDATE would also search the session
# for objects to synchronise, and there are none.
_BUMP = (
    update(_counters)
    .where(
        _counters.c.department_id == bindparam("b_department"),
        _counters.c.type_key == bindparam("b_type"),
        _counters.c.scope_year == bindparam("b_scope_year"),
    )
    .values(next_value=_counters.c.next_value + 1)
    .returning(_counters.c.next_value)
)
_RESERVE = insert(_numbers).returning(_numbers.c.id)
_SETTLE = (
    update(_numbers)
    .where(_numbers.c.id == bindparam("b_id"), _numbers.c.state == NumberState.RESERVED)
    .values(state=NumberState.ISSUED)
)
_VOID = (
    update(_numbers)
    .where(_numbers.c.id == bindparam("b_id"), _numbers.c.state == NumberState.RESERVED)
    .values(state=NumberState.VOID)
    .returning(_numbers.c.number, _numbers.c.department_id, _numbers.c.type_key)
)


def reserve_license_number(
    session: Session,
    seal: ActiveSeal,
    license_type: LicenseType,
    year: int,
    actor: str,
    now: datetime,
) -> Reservation:
    """The next number of ``seal``'s department for ``license_type`` in ``year``, reserved."""
    region = seal.region_code or "000000"
    return reserve(
        session,
        department_id=seal.department_id,
        type_key=license_type.key,
        scope_year=license_type.number_scope_year(year),
        year=year,
        number_of=lambda sequence: license_type.format_number(
            region=region, year=year, sequence=sequence
        ),
        actor=actor,
        now=now,
    )


def reserve(
    session: Session,
    *,
    department_id: int,
    type_key: str,
    scope_year: int,
    year: int,
    number_of: Callable[[int], str],
    actor: str,
    now: datetime,
) -> Reservation:
    """Take the next number of a department, type and year, and write it down as reserved.

    The counter is moved by an atomic ``UPDATE ... RETURNING``, so two
    reservations never get the same number, also across processes and nodes.
    Run it in its own short transaction: the counter row is locked until commit.
    """
    connection = session.connection()
    counter = {"b_department": department_id, "b_type": type_key, "b_scope_year": scope_year}
    after = connection.execute(_BUMP, counter).scalar()
    if after is None:
        # The first number of this department, type and year: make its counter,
        # tolerating a twin that makes it at the same moment.
        upsert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            upsert(_counters)
            .values(
                department_id=department_id, type_key=type_key, scope_year=scope_year, next_value=1
            )
            .on_conflict_do_nothing()
        )
        after = connection.execute(_BUMP, counter).scalar_one()
    sequence = after - 1
    number = number_of(sequence)
    reservation_id = connection.execute(
        _RESERVE,
        {
            "department_id": department_id,
            "type_key": type_key,
            "scope_year": scope_year,
            "year": year,
            "sequence": sequence,
            "number": number,
            "state": NumberState.RESERVED,
            "reserved_at": now,
            "reserved_by": actor[:200],
        },
    ).scalar_one()
    return Reservation(reservation_id, number, sequence)


@contextmanager
def prompt_transaction(database: Database) -> Iterator[Session]:
    """A unit of work whose commit does not wait for the disk: for the reservation only.

    Commits on success, rolls back on an exception, like ``Database.begin``.
    """
    with database.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with Session(bind=connection) as session, session.begin():
                session.execute(_NO_WAIT)
                yield session
            return
        # On the driver's connection, outside any transaction (a PRAGMA opens none):
        # through SQLAlchemy each PRAGMA would cost a transaction of its own.
        driver = connection.connection.dbapi_connection
        assert driver is not None
        before = int(driver.execute("PRAGMA synchronous").fetchone()[0])
        driver.execute("PRAGMA synchronous = NORMAL")
        try:
            with Session(bind=connection) as session, session.begin():
                yield session
        finally:
            try:
                driver.execute(f"PRAGMA synchronous = {before}")
            except database.engine.dialect.loaded_dbapi.Error:
                # Never hand a connection that does not wait for the disk to the next user.
                connection.invalidate()
                raise


_NO_WAIT = text("SET LOCAL synchronous_commit TO OFF")


def settle_issued(
    session: Session, reservation: Reservation, license_id: int, now: datetime
) -> bool:
    """Mark the number issued to ``license_id``; False if it is no longer reserved (voided)."""
    result = session.connection().execute(
        _SETTLE, {"b_id": reservation.id, "license_id": license_id, "settled_at": now}
    )
    return result.rowcount == 1


def void(session: Session, reservation_id: int, reason: str, now: datetime) -> bool:
    """Void (作废) a reserved number, saying why, and log it; False if it was already settled."""
    result = session.connection().execute(
        _VOID, {"b_id": reservation_id, "void_reason": _reason(reason), "settled_at": now}
    )
    voided = result.fetchone()
    if voided is None:
        return False
    recording.record(session, _voided(voided, reason, now))
    return True


def _voided(row: Any, reason: str, now: datetime) -> events.NumberVoided:
    return events.NumberVoided(
        number=row.number,
        department_id=row.department_id,
        type_key=row.type_key,
        reason=_reason(reason),
        at=now,
    )


def void_abandoned(database: Database, clock: Clock, grace: timedelta) -> int:
    """Void the reservations older than ``grace`` (longer than any issuance); how many."""
    now = clock.now()
    minutes = int(grace.total_seconds() // 60)
    reason = (
        f"abandoned: no license was recorded within {minutes} minutes of the "
        "reservation (the issuing process stopped or lost its database)"
    )
    with database.begin() as session:
        voided = list(
            session.execute(
                update(LicenseNumberRecord)
                .where(
                    LicenseNumberRecord.state == NumberState.RESERVED,
                    LicenseNumberRecord.reserved_at < now - grace,
                )
                .values(state=NumberState.VOID, void_reason=reason, settled_at=now)
                .returning(
                    LicenseNumberRecord.number,
                    LicenseNumberRecord.department_id,
                    LicenseNumberRecord.type_key,
                )
            ).all()
        )
        # In the order of the numbers, so that the entries do not depend on the scan.
        voided.sort(key=lambda row: (row.department_id, row.type_key, row.number))
        recording.record_many(session, [_voided(row, reason, now) for row in voided])
        count = len(voided)
    if count:
        log.info("voided %d abandoned license number reservation(s)", count)
    return count


def _reason(reason: str) -> str:
    text = " ".join(reason.split()) or "unspecified"
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"


# ---- the auditor's account -------------------------------------------------------------


@dataclass(frozen=True)
class NumberEntry:
    """One reserved number and what became of it."""

    number: str
    sequence: int
    state: str
    reserved_at: datetime
    reserved_by: str
    settled_at: datetime | None
    #: The license it was issued to (its first version).
    identifier: str | None
    void_reason: str | None


@dataclass(frozen=True)
class NumberAccount:
    """Every number of a department, type and year, in sequence order, and the tally."""

    department_code: str
    type_key: str
    year: int
    entries: tuple[NumberEntry, ...]
    first: int | None
    last: int | None
    issued: int
    void: int
    reserved: int
    #: Sequence values between ``first`` and ``last`` that have no record at all.
    missing: tuple[int, ...]


def account(
    session: Session, department_code: str, type_key: str, scope_year: int, year: int
) -> NumberAccount:
    """The numbers a department reserved for a type in a year (the printed year's counter)."""
    department_id = session.scalar(select(Department.id).where(Department.code == department_code))
    if department_id is None:
        raise NotFoundError(f"no department with credit code {department_code}")
    rows = session.execute(
        select(LicenseNumberRecord, LicenseRecord.identifier)
        .outerjoin(LicenseRecord, LicenseRecord.id == LicenseNumberRecord.license_id)
        .where(
            LicenseNumberRecord.department_id == department_id,
            LicenseNumberRecord.type_key == type_key,
            LicenseNumberRecord.scope_year == scope_year,
            LicenseNumberRecord.year == year,
        )
        .order_by(LicenseNumberRecord.sequence)
    ).all()
    entries = tuple(
        NumberEntry(
            number=row.number,
            sequence=row.sequence,
            state=row.state.value,
            reserved_at=row.reserved_at,
            reserved_by=row.reserved_by,
            settled_at=row.settled_at,
            identifier=identifier,
            void_reason=row.void_reason,
        )
        for row, identifier in rows
    )
    sequences = [e.sequence for e in entries]
    first = sequences[0] if sequences else None
    last = sequences[-1] if sequences else None
    present = set(sequences)
    missing = (
        tuple(s for s in range(first, last + 1) if s not in present)
        if first is not None and last is not None
        else ()
    )
    states = [e.state for e in entries]
    return NumberAccount(
        department_code=department_code,
        type_key=type_key,
        year=year,
        entries=entries,
        first=first,
        last=last,
        issued=states.count(NumberState.ISSUED.value),
        void=states.count(NumberState.VOID.value),
        reserved=states.count(NumberState.RESERVED.value),
        missing=missing,
    )
