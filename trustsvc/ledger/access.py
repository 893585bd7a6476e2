"""The access record: every use of a holder's data through the API, answered or refused.

A lookup, a holder's list of licenses, a PDF or token verification: each is
one row with the client (and a snapshot of its name and department, so the
record outlives a renamed or deleted client), the purpose it stated, the
holder as the library's keyed digest (never the ID number), what was
returned and whether it was refused. A holder's view merges these rows with
the checks of their presentation codes, which the verifier records itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select

from trustsvc.access.clients import Client
from trustsvc.db.models import AccessEvent, LicenseRecord, VerificationEvent
from trustsvc.db.prepared import PreparedStatement, driver_cursor
from trustsvc.services import Services


class AccessAction(StrEnum):
    LOOKUP = "lookup"
    HOLDINGS = "holdings"
    VERIFY_PDF = "verify_pdf"
    VERIFY_TOKEN = "verify_token"  # noqa: S105 (an action name, not a secret)
    PRESENTATION_CHECK = "presentation_check"


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


#: Something that records an access before the caller answers (an ``AccessLog``).
Recorder = Callable[[Client | None, Access], None]


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

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._holder_of = PreparedStatement(_HOLDER_OF, engine)
        self._insert = PreparedStatement(insert(AccessEvent), engine, column_keys=_EVENT_COLUMNS)

    def write(self, rows: Sequence[tuple[datetime, Client | None, Access]]) -> None:
        """Insert the rows and commit, resolving the holders of the licenses they name."""
        with driver_cursor(self.engine, commit=True) as cursor:
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
            self._insert.execute_many(cursor, events)


#: Who waits for a row: a thread (a concurrent future) or a coroutine (its loop and future).
_Waiter = Future[None] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]
_Row = tuple[datetime, Client | None, Access, _Waiter]


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
        self, services: Services, max_batch: int = 500, linger: float = 0.005, group: int = 4
    ) -> None:
        self.services = services
        self.max_batch = max_batch
        self.linger = linger
        self.group = group
        self._writer = AccessWriter(services.database.engine)
        self._pending: list[_Row] = []
        self._condition = threading.Condition()
        self._closed = False
        # Moving average of the time between rows, in seconds (starts as "idle").
        self._gap = linger
        self._last_arrival = time.monotonic()
        self._thread = threading.Thread(target=self._write, name="trustsvc-access-log", daemon=True)
        self._thread.start()

    def __call__(self, client: Client | None, access: Access) -> None:
        """Record, and return once the row is committed."""
        self.submit(client, access).result(timeout=60)

    def submit(self, client: Client | None, access: Access) -> Future[None]:
        """Queue a row; the future completes when it is committed (or the commit failed)."""
        done: Future[None] = Future()
        self._queue(client, access, done)
        return done

    async def record(self, client: Client | None, access: Access) -> None:
        """Record from a coroutine; returns once the row is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue(client, access, (loop, done))
        await done

    def _queue(self, client: Client | None, access: Access, waiter: _Waiter) -> None:
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
    at: datetime, client: Client | None, access: Access, digest: str | None
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
    }


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
    )


def access_record_of(
    services: Services, holder_id_digest: str, limit: int = 500
) -> list[AccessEntry]:
    """Everything done with one holder's data, newest first."""
    with services.database.begin() as session:
        events = session.scalars(
            select(AccessEvent)
            .where(AccessEvent.holder_id_digest == holder_id_digest)
            .order_by(AccessEvent.id.desc())
            .limit(limit)
        ).all()
        checks = session.execute(
            select(VerificationEvent, LicenseRecord.identifier)
            .join(LicenseRecord, VerificationEvent.license_id == LicenseRecord.id)
            .where(LicenseRecord.holder_id_digest == holder_id_digest)
            .order_by(VerificationEvent.id.desc())
            .limit(limit)
        ).all()
        entries = [_entry(e) for e in events] + [
            AccessEntry(
                at=check.checked_at,
                actor=check.checked_by,
                actor_department=None,
                action=AccessAction.PRESENTATION_CHECK.value,
                purpose=check.purpose,
                outcome=Outcome.ANSWERED.value,
                refusal=None,
                licenses=(identifier,),
                answer=check.verdict,
            )
            for check, identifier in checks
        ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def access_events(
    services: Services, client_name: str | None = None, limit: int = 100, offset: int = 0
) -> list[AccessEntry]:
    """The whole access record, newest first, for an auditor."""
    statement = select(AccessEvent).order_by(AccessEvent.id.desc()).limit(limit).offset(offset)
    if client_name is not None:
        statement = statement.where(AccessEvent.actor == client_name)
    with services.database.begin() as session:
        return [_entry(e) for e in session.scalars(statement)]


__all__ = [
    "Access",
    "AccessAction",
    "AccessEntry",
    "AccessLog",
    "AccessWriter",
    "Outcome",
    "Recorder",
    "access_events",
    "access_record_of",
]
