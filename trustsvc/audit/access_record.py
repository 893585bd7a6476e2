"""The access record: every use of a holder's data through the API, answered or refused.

A lookup, a holder's list of licenses, a PDF or token verification: each is
one row with the client (and a snapshot of its name and department, so the
record outlives a renamed or deleted client), the purpose it stated, the
holder as the library's keyed digest (never the ID number), what was
returned and whether it was refused. A holder's view merges these rows with
the checks of their presentation codes, which the verifier records itself.

The holder reads it in two sections, each paged by an opaque cursor (a
position in the order newest first, so rows committed meanwhile neither
repeat nor shift a page): the uses of their data, answered, and the refused
attempts, where repeated refusals of one client for one reason are one line
("refused N times between T1 and T2"). A flood of refusals therefore never
hides a use.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from trustsvc.audit.events import Actor, ActorKind, EventKind, Noted, access_entry, encode_entry
from trustsvc.audit.log import append_many
from trustsvc.db import Context
from trustsvc.db.models import AccessEvent, LicenseRecord, VerificationEvent
from trustsvc.db.prepared import PreparedStatement
from trustsvc.db.write_lock import WriteLock
from trustsvc.errors import InvalidInputError


class AccessAction(StrEnum):
    LOOKUP = "lookup"
    HOLDINGS = "holdings"
    VERIFY_PDF = "verify_pdf"
    VERIFY_TOKEN = "verify_token"  # noqa: S105 (an action name, not a secret)
    PRESENTATION_CHECK = "presentation_check"
    #: A clerk's desk: a license named by its number or identifier, its status checked.
    STATUS_CHECK = "status_check"
    #: A clerk's desk: a purpose-annotated copy (加注件) of a license made and downloaded.
    ANNOTATED_COPY = "annotated_copy"
    #: A clerk's desk: the sealed report of a check (核验报告) downloaded.
    VERIFICATION_REPORT = "verification_report"
    #: A verifier fetched the tlog-proof of a license's latest log entry.
    LOG_PROOF = "log_proof"


class CopyKind(StrEnum):
    """What a download handed out, as its ``copy.download`` entry names it."""

    ANNOTATED_COPY = "annotated_copy"
    VERIFICATION_REPORT = "verification_report"


class Outcome(StrEnum):
    ANSWERED = "answered"
    REFUSED = "refused"


@dataclass(frozen=True)
class Access:
    """What one call did, to be recorded."""

    action: AccessAction
    outcome: Outcome
    purpose: str | None = None
    refusal: str | None = None
    holder_id_digest: str | None = None
    license_type: str | None = None
    returned: Sequence[str] = field(default_factory=tuple)
    answer: str | None = None
    #: A license whose holder the row concerns, when ``holder_id_digest`` is not known;
    #: resolved when the row is written.
    license_identifier: str | None = None
    #: The public id of the holder's grant (授权) the call was made under.
    grant_id: str | None = None
    #: A copy handed out by the call (an annotated copy, a sealed report): it gets a
    #: ``copy.download`` entry of its own, appended in the row's transaction.
    copy: CopyKind | None = None


@dataclass(frozen=True)
class AccessEntry:
    """One line of an access record, as a holder or an auditor reads it."""

    at: datetime
    actor: str
    actor_department: str | None
    action: str
    purpose: str | None
    outcome: str
    refusal: str | None
    licenses: tuple[str, ...]
    answer: str | None
    #: How many rows this line stands for: repeated refusals are one line.
    count: int = 1
    #: The earliest of them (``at`` is the latest); None for a line of one row.
    first_at: datetime | None = None
    #: The public id of the holder's grant (授权) the use was made under, if any.
    grant_id: str | None = None
    #: The log index of the line's row (of its latest row, for repeated refusals);
    #: None for a row recorded before the log.
    log_index: int | None = None


#: Something that records an access before the caller answers (an ``AccessLog``).
class Caller(Protocol):
    """The API client a use is recorded under (``sharing.clients.Client`` is one)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def department_name(self) -> str | None: ...


Recorder = Callable[[Caller | None, Access], None]


_HOLDER_OF = select(LicenseRecord.holder_id_digest).where(
    LicenseRecord.identifier == bindparam("identifier")
)
#: Every column but the key the database assigns (``_event`` gives them all).
_EVENT_COLUMNS = [c.key for c in AccessEvent.__table__.columns if not c.primary_key]


class AccessWriter:
    """Writes rows of the access record, each batch in one transaction.

    Prepared statements on the driver's cursor (see ``trustsvc.db.prepared``):
    this is the hot write, and a session's set-up and bulk path cost several
    times the commit itself.
    """

    def __init__(self, engine: Engine, lock: WriteLock | None = None) -> None:
        self.engine = engine
        self._lock = lock if lock is not None else WriteLock(None)
        self._holder_of = PreparedStatement(_HOLDER_OF, engine)
        self._insert = PreparedStatement(insert(AccessEvent), engine, column_keys=_EVENT_COLUMNS)

    def write(self, rows: Sequence[tuple[datetime, Caller | None, Access]]) -> None:
        """Insert the rows and their log entries and commit, resolving the holders of the
        licenses they name. The entries are appended in the same transaction (one
        ``append_many`` for the batch), so a row is never committed without its entry."""
        with self._lock.held(), Session(self.engine) as session, session.begin():
            connection = session.connection()
            driver = connection.connection.dbapi_connection
            assert driver is not None
            cursor = driver.cursor()
            try:
                holders: dict[str, str | None] = {}
                events = []
                for at, client, access in rows:
                    digest, named = access.holder_id_digest, access.license_identifier
                    if digest is None and named:
                        if named not in holders:
                            found = self._holder_of.fetch_one(cursor, identifier=named)
                            holders[named] = found[0] if found else None
                        digest = holders[named]
                    events.append(_event(at, client, access, digest))
                bodies = [encode_entry(access_entry(event)) for event in events]
                indexes = append_many(session, bodies)
                for event, index in zip(events, indexes, strict=True):
                    event["log_index"] = index
                copies = [
                    encode_entry(_copy_download(at, client, access, event).entry())
                    for (at, client, access), event in zip(rows, events, strict=True)
                    if access.copy is not None
                ]
                if copies:
                    # After the rows' entries (each names its row's), while the counter
                    # is still locked by this transaction.
                    append_many(session, copies)
                self._insert.execute_many(cursor, events)
            except self.engine.dialect.loaded_dbapi.Error as exc:
                # As ``driver_cursor`` raises them: one family of database errors.
                raise DBAPIError.instance(
                    None, None, exc, self.engine.dialect.loaded_dbapi.Error
                ) from exc
            finally:
                cursor.close()


#: Who waits for a row: a thread (a concurrent future) or a coroutine (its loop and future).
_Waiter = Future[None] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]
_Row = tuple[datetime, Caller | None, Access, _Waiter]


class AccessLog:
    """Records accesses with group commit: each caller waits until its row is durable.

    Under load, rows of many concurrent requests share one transaction (and
    one fsync), so recording every verification costs little; no answer is
    given before its record is committed, and a failed commit fails the
    calls whose rows it carried. Coroutines of one event loop are woken
    together, with one call into their loop per commit.

    The writer lingers before a commit only when rows arrive fast enough for
    ``group`` of them to be expected within ``linger``: then a commit's fixed
    cost is shared and the CPU goes to requests. A lone request is committed
    at once.
    """

    def __init__(
        self, services: Context, max_batch: int = 500, linger: float = 0.005, group: int = 4
    ) -> None:
        self.services = services
        self.max_batch = max_batch
        self.linger = linger
        self.group = group
        database = services.database
        self._writer = AccessWriter(database.engine, database.write_lock)
        self._pending: list[_Row] = []
        self._condition = threading.Condition()
        self._closed = False
        # Moving average of the time between rows, in seconds (starts as "idle").
        self._gap = linger
        self._last_arrival = time.monotonic()
        self._thread = threading.Thread(target=self._write, name="trustsvc-access-log", daemon=True)
        self._thread.start()

    def __call__(self, client: Caller | None, access: Access) -> None:
        """Record, and return once the row is committed."""
        self.submit(client, access).result(timeout=60)

    def submit(self, client: Caller | None, access: Access) -> Future[None]:
        """Queue a row; the future completes when it is committed (or the commit failed)."""
        done: Future[None] = Future()
        self._queue(client, access, done)
        return done

    async def record(self, client: Caller | None, access: Access) -> None:
        """Record from a coroutine; returns once the row is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue(client, access, (loop, done))
        await done

    def _queue(self, client: Caller | None, access: Access, waiter: _Waiter) -> None:
        with self._condition:
            if self._closed:
                raise RuntimeError("the access log is closed")
            self._pending.append((self.services.clock.now(), client, access, waiter))
            now = time.monotonic()
            self._gap += 0.1 * (min(now - self._last_arrival, 1.0) - self._gap)
            self._last_arrival = now
            # Wake the writer for the first row, or a full batch; not for every row.
            if len(self._pending) == 1 or len(self._pending) >= self.max_batch:
                self._condition.notify()

    def lingers(self) -> bool:
        """Whether rows now arrive fast enough for the writer to wait for company."""
        return self._gap * self.group < self.linger

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join(timeout=60)

    def _write(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._closed:
                    self._condition.wait()
                if not self._pending:
                    return
                # Under load, linger a moment so that the rows of concurrent requests
                # share the commit: its fsync, not the insert, is what a row costs.
                deadline = time.monotonic() + (self.linger if self.lingers() else 0.0)
                while len(self._pending) < self.max_batch and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._condition.wait(left)
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            try:
                self._commit(batch)
            except Exception:  # noqa: BLE001 (one bad row must not fail the others)
                # Row by row, so that only the callers whose rows are refused fail.
                for row in batch:
                    try:
                        self._commit([row])
                    except Exception as exc:  # noqa: BLE001 (the caller gets the error)
                        _settle([row], exc)
                    else:
                        _settle([row], None)
                continue
            _settle(batch, None)

    def _commit(self, rows: list[_Row]) -> None:
        self._writer.write([(at, client, access) for at, client, access, _ in rows])


def _settle(rows: list[_Row], error: BaseException | None) -> None:
    """Tell the rows' waiters; the coroutines of each loop in one call into it."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for *_, waiter in rows:
        if isinstance(waiter, Future):
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)
        else:
            by_loop.setdefault(waiter[0], []).append(waiter[1])
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, futures, error)
        except RuntimeError:  # the loop has closed: no one is waiting any more
            continue


def _settle_on_loop(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # its request was cancelled (the client went away)
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _event(
    at: datetime, client: Caller | None, access: Access, digest: str | None
) -> dict[str, Any]:
    return {
        "at": at,
        "client_id": client.id if client else None,
        "actor": client.name if client else "anonymous",
        "actor_department": client.department_name if client else None,
        "action": access.action.value,
        "purpose": _recordable(access.purpose, 200),
        "outcome": access.outcome.value,
        "refusal": _recordable(access.refusal, 200),
        "holder_id_digest": digest,
        "license_type": _recordable(access.license_type, 64),
        "returned_json": json.dumps(list(access.returned)),
        "answer": _recordable(access.answer, 200),
        "grant_id": access.grant_id,
    }


def _copy_download(
    at: datetime, client: Caller | None, access: Access, event: dict[str, Any]
) -> Noted:
    """The ``copy.download`` event of a row that handed out a copy."""
    assert access.copy is not None
    actor = (
        Actor(ActorKind.CLIENT, client.name) if client else Actor(ActorKind.ANONYMOUS, "anonymous")
    )
    return Noted(
        EventKind.COPY_DOWNLOAD,
        at,
        actor,
        license=access.license_identifier,
        holder_id_digest=event["holder_id_digest"],
        details={
            "copy": access.copy.value,
            "purpose": event["purpose"],
            "access": event["log_index"],
        },
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _recordable(text: str | None, limit: int) -> str | None:
    """What a caller stated, as the record can keep it: control characters (which
    PostgreSQL refuses in text) shown as U+FFFD, and cut to the column's length."""
    if text is None:
        return None
    return _CONTROL.sub("\ufffd", text)[:limit]


def _entry(event: AccessEvent) -> AccessEntry:
    return AccessEntry(
        at=event.at,
        actor=event.actor,
        actor_department=event.actor_department,
        action=event.action,
        purpose=event.purpose,
        outcome=event.outcome,
        refusal=event.refusal,
        licenses=tuple(json.loads(event.returned_json)),
        answer=event.answer,
        grant_id=event.grant_id,
        log_index=event.log_index,
    )


class Section(StrEnum):
    """The two parts of a holder's record."""

    USES = "uses"
    REFUSED = "refused"


#: Lines on one page unless fewer are asked for, and at most.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
#: Refusals of one client, for one action, purpose and reason, each at most this long
#: after the one before, are one line.
COLLAPSE_WINDOW = timedelta(minutes=10)
#: Refused rows read for one page at most: a line cut here continues on the next page.
MAX_SCAN = 2000
_MAX_CURSOR_LENGTH = 96
_CURSOR = re.compile(r"(uses|refused):([0-9]{1,19}|-):([0-9]{1,19}|-)")
_CURSOR_ERROR = "the cursor is not one this service gave"


@dataclass(frozen=True)
class AccessPage:
    section: Section
    entries: tuple[AccessEntry, ...]
    #: Give it back for the next page; None on the last one.
    next_cursor: str | None


@dataclass(frozen=True)
class _Position:
    """Where a page ends in each of the two streams a record is read from, newest first.

    Rows are taken in the order of their ids (the order they were written),
    so a bound per stream is exact: what was shown is below none of them and
    what was not is below both. None: nothing of that stream is behind yet.
    """

    access_below: int | None = None
    check_below: int | None = None


def _encode(section: Section, position: _Position) -> str:
    def bound(value: int | None) -> str:
        return "-" if value is None else str(value)

    text = f"{section.value}:{bound(position.access_below)}:{bound(position.check_below)}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Section, _Position]:
    """A cursor as given back: bounded and exactly the shape ``_encode`` makes."""
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidInputError(_CURSOR_ERROR)
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidInputError(_CURSOR_ERROR) from None
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise InvalidInputError(_CURSOR_ERROR)
    section, access, check = match.groups()
    bounds = [None if v == "-" else int(v) for v in (access, check)]
    if any(b is not None and b > 2**63 for b in bounds):
        raise InvalidInputError(_CURSOR_ERROR)
    return Section(section), _Position(bounds[0], bounds[1])


def access_page(
    services: Context,
    holder_id_digest: str,
    section: Section | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> AccessPage:
    """One page of a holder's record, newest first: uses, or refused attempts.

    With a cursor, the section is the cursor's (naming another is refused).
    """
    position = _Position()
    if cursor:
        cursor_section, position = _decode(cursor)
        if section is not None and section is not cursor_section:
            raise InvalidInputError(f"the cursor is for the {cursor_section.value} section")
        section = cursor_section
    section = section or Section.USES
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"a page has 1 to {MAX_PAGE_SIZE} lines")
    with services.database.begin() as session:
        if section is Section.USES:
            return _uses(session, holder_id_digest, position, limit)
        return _refusals(session, holder_id_digest, position, limit)


def _access_rows(
    session: Session, digest: str, outcome: Outcome, below: int | None, limit: int
) -> Sequence[AccessEvent]:
    statement = select(AccessEvent).where(
        AccessEvent.holder_id_digest == digest, AccessEvent.outcome == outcome.value
    )
    if below is not None:
        statement = statement.where(AccessEvent.id < below)
    return session.scalars(statement.order_by(AccessEvent.id.desc()).limit(limit)).all()


def _check_entry(check: VerificationEvent, identifier: str) -> AccessEntry:
    return AccessEntry(
        at=check.checked_at,
        actor=check.checked_by,
        actor_department=None,
        action=AccessAction.PRESENTATION_CHECK.value,
        purpose=check.purpose,
        outcome=Outcome.ANSWERED.value,
        refusal=None,
        licenses=(identifier,),
        answer=check.verdict,
        log_index=check.log_index,
    )


def _uses(session: Session, digest: str, position: _Position, limit: int) -> AccessPage:
    events = list(_access_rows(session, digest, Outcome.ANSWERED, position.access_below, limit + 1))
    statement = (
        select(VerificationEvent, LicenseRecord.identifier)
        .join(LicenseRecord, VerificationEvent.license_id == LicenseRecord.id)
        .where(LicenseRecord.holder_id_digest == digest)
    )
    if position.check_below is not None:
        statement = statement.where(VerificationEvent.id < position.check_below)
    checks = list(
        session.execute(statement.order_by(VerificationEvent.id.desc()).limit(limit + 1)).all()
    )
    # Merge the two streams by time, each taken in its own order, so that what a page
    # takes of each is a run of it and one bound per stream says where the next begins.
    entries: list[AccessEntry] = []
    access_below, check_below = position.access_below, position.check_below
    a = c = 0
    while len(entries) < limit and (a < len(events) or c < len(checks)):
        take_access = c >= len(checks) or (
            a < len(events) and events[a].at >= checks[c][0].checked_at
        )
        if take_access:
            entries.append(_entry(events[a]))
            access_below = events[a].id
            a += 1
        else:
            check, identifier = checks[c]
            entries.append(_check_entry(check, identifier))
            check_below = check.id
            c += 1
    more = a < len(events) or c < len(checks)
    if more and check_below is None and checks:
        check_below = checks[0][0].id + 1  # none taken yet: start the next page at its head
    if more and access_below is None and events:
        access_below = events[0].id + 1
    return AccessPage(
        Section.USES,
        tuple(entries),
        _encode(Section.USES, _Position(access_below, check_below)) if more else None,
    )


def _refusals(session: Session, digest: str, position: _Position, limit: int) -> AccessPage:
    rows = _access_rows(session, digest, Outcome.REFUSED, position.access_below, MAX_SCAN + 1)
    # Lines in the order of their latest row; a row joins the line of its key if it is
    # within the window of that line's earliest row. The page ends before the first
    # row that would open one line too many (or after MAX_SCAN rows), so what a page
    # shows is a run of rows and the next page begins where it ends.
    lines: list[AccessEntry] = []
    open_lines: dict[tuple[Any, ...], int] = {}
    below: int | None = None
    for event in rows[:MAX_SCAN]:
        key = (
            event.client_id,
            event.actor,
            event.action,
            event.purpose,
            event.refusal,
            event.grant_id,
        )
        index = open_lines.get(key)
        if index is not None:
            line = lines[index]
            if (line.first_at or line.at) - event.at <= COLLAPSE_WINDOW:
                lines[index] = replace(line, count=line.count + 1, first_at=event.at)
                below = event.id
                continue
        if len(lines) == limit:
            break
        open_lines[key] = len(lines)
        lines.append(_entry(event))
        below = event.id
    else:
        if len(rows) <= MAX_SCAN:
            below = None  # every row read: nothing after this page
    return AccessPage(
        Section.REFUSED,
        tuple(lines),
        _encode(Section.REFUSED, _Position(below, None)) if below is not None else None,
    )


def access_events(
    services: Context, client_name: str | None = None, limit: int = 100, offset: int = 0
) -> list[AccessEntry]:
    """The whole access record, newest first, for an auditor."""
    statement = select(AccessEvent).order_by(AccessEvent.id.desc()).limit(limit).offset(offset)
    if client_name is not None:
        statement = statement.where(AccessEvent.actor == client_name)
    with services.database.begin() as session:
        return [_entry(e) for e in session.scalars(statement)]


def checks_by(services: Context, client_id: int, client_name: str, limit: int) -> list[AccessEntry]:
    """One client's latest uses, newest first: its rows of the access record (by the client's
    index) and the presentation checks it passed (recorded as checks, by checker name)."""
    with services.database.begin() as session:
        events = session.scalars(
            select(AccessEvent)
            .where(AccessEvent.client_id == client_id)
            .order_by(AccessEvent.id.desc())
            .limit(limit)
        ).all()
        checks = session.execute(
            select(VerificationEvent, LicenseRecord.identifier)
            .join(LicenseRecord, VerificationEvent.license_id == LicenseRecord.id)
            .where(VerificationEvent.checked_by == client_name)
            .order_by(VerificationEvent.id.desc())
            .limit(limit)
        ).all()
        entries = [_entry(e) for e in events]
        entries += [_check_entry(check, identifier) for check, identifier in checks]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


__all__ = [
    "COLLAPSE_WINDOW",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Access",
    "AccessAction",
    "AccessEntry",
    "AccessLog",
    "AccessPage",
    "AccessWriter",
    "Outcome",
    "Recorder",
    "Section",
    "access_events",
    "access_page",
    "checks_by",
]
