"""The access record, written: every use of a holder's data through the API, answered or refused.

A lookup, a holder's list of licenses, a PDF or token verification: each is
one row with the client (and a snapshot of its name and department, so the
record outlives a renamed or deleted client), the purpose it stated, the
holder as the library's keyed digest (never the ID number), what was
returned and whether it was refused. Each row is written with its log entry
in one transaction (and a copy handed out with its ``copy.download`` entry),
by a group-committing writer (``AccessLog``). ``access_reading`` reads it back.
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
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from trustsvc.audit.events import Actor, ActorKind, EventKind, Noted, access_entry, encode_entry
from trustsvc.audit.log import append_many
from trustsvc.db import Context
from trustsvc.db.models import AccessEvent, LicenseRecord
from trustsvc.db.prepared import PreparedStatement
from trustsvc.db.write_lock import WriteLock


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
        ``append_many`` for the batch), so a row is never committed without its entry.

        The write lock is taken after the reads and the encoding, for the writes and the
        commit alone: the other process's writer waits for no CPU work of this one.
        """
        with Session(self.engine) as session:
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
                with self._lock.held():
                    indexes = append_many(session, bodies)
                    for event, index in zip(events, indexes, strict=True):
                        event["log_index"] = index
                    copies = [
                        encode_entry(_copy_download(at, client, access, event).entry())
                        for (at, client, access), event in zip(rows, events, strict=True)
                        if access.copy is not None
                    ]
                    if copies:
                        # After the rows' entries (each names its row's), while the
                        # counter is still locked by this transaction.
                        append_many(session, copies)
                    self._insert.execute_many(cursor, events)
                    session.commit()
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


__all__ = [
    "Access",
    "AccessAction",
    "AccessLog",
    "AccessWriter",
    "Caller",
    "CopyKind",
    "Outcome",
    "Recorder",
]
