"""Integration: folding sequenced entries into the Merkle tree, in batches, in the background.

Apart from sequencing (as Tessera does): appends only write entries, and an
integrator reads the entries after the integrated size, computes their stored
hashes (``tlog.merkle``'s hashes, in the layout of Go's sumdb/tlog) from the
tree's right edge, and advances log_head by compare-and-swap on its size. Two
integrators at once never fork the tree: both compute the same hashes from the
same entries, one's UPDATE matches the old size and wins, the other's matches
nothing and it reads again.
"""

from __future__ import annotations

import hmac
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trustsvc.audit.log.hashes import DatabaseHashes
from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import LogEntry, LogHash, LogHead
from trustsvc.errors import TrustServiceError
from trustsvc.tlog.errors import ProofError
from trustsvc.tlog.merkle import (
    EMPTY_TREE_HASH,
    leaf_hash,
    node_hash,
    stored_hash_count,
    stored_hash_index,
)

_log = logging.getLogger(__name__)

#: Entries folded per transaction: large enough that a batch's fixed costs vanish,
#: small enough that a batch is a short transaction.
DEFAULT_BATCH = 4096

_HASHES = cast(Table, LogHash.__table__)
_INSERT_HASHES = insert(_HASHES)


@dataclass(frozen=True)
class TreeHead:
    """The integrated tree: how many entries it has, and its RFC 9162 root."""

    size: int
    root: bytes
    integrated_at: datetime | None


@dataclass(frozen=True)
class Integrated:
    """What one integration step did."""

    #: The tree head before and after (equal when there was nothing to do or it lost).
    before: TreeHead
    after: TreeHead
    #: True when another integrator advanced the head first (this step's work was dropped).
    lost: bool = False

    @property
    def added(self) -> int:
        return self.after.size - self.before.size


def read_head(session: Session) -> TreeHead:
    head = session.execute(
        select(LogHead.size, LogHead.root, LogHead.integrated_at).where(LogHead.id == 1)
    ).one()
    return TreeHead(int(head.size), bytes(head.root), head.integrated_at)


@dataclass(frozen=True)
class Fold:
    """A batch folded in memory: the head it starts from, the one it reaches, the hashes."""

    before: TreeHead
    size: int
    root: bytes
    #: The stored hashes from ``stored_hash_count(before.size)`` on, in order.
    hashes: tuple[bytes, ...]


def fold(session: Session, batch: int = DEFAULT_BATCH) -> Fold | None:
    """Compute (nothing written) the tree after up to ``batch`` more entries; None if none."""
    if batch < 1:
        raise ValueError("an integration batch is at least one entry")
    before = read_head(session)
    bodies = session.execute(
        select(LogEntry.idx, LogEntry.body)
        .where(LogEntry.idx >= before.size, LogEntry.idx < before.size + batch)
        .order_by(LogEntry.idx)
    ).all()
    # Entries commit in index order (the sequence row's lock), so the committed ones
    # after the head are contiguous; stop at a gap all the same, never hash past one.
    count = 0
    for row in bodies:
        if row.idx != before.size + count:
            break
        count += 1
    if count == 0:
        return None
    edge = _right_edge(session, before)
    hashes: list[bytes] = []
    for offset in range(count):
        _add_record(before.size + offset, bytes(bodies[offset].body), edge, hashes)
    size = before.size + count
    return Fold(before, size, _root(edge), tuple(hashes))


def _right_edge(session: Session, head: TreeHead) -> dict[int, bytes]:
    """The complete subtrees of the tree of ``head.size`` that later records will join:
    one per 1 bit of the size, by level. Checked against the head's root."""
    levels = [level for level in range(head.size.bit_length()) if head.size >> level & 1]
    indexes = [stored_hash_index(level, (head.size >> level) - 1) for level in levels]
    edge = dict(zip(levels, DatabaseHashes(session).read_hashes(indexes), strict=True))
    if not hmac.compare_digest(_root(edge), head.root):
        raise ProofError(
            f"the stored hashes do not give the log head's root at size {head.size}: "
            "log_hashes or log_head was changed"
        )
    return edge


def _add_record(n: int, body: bytes, edge: dict[int, bytes], out: list[bytes]) -> None:
    """Append record ``n``'s stored hashes to ``out`` (as ``tlog.merkle.
    stored_hashes_for_record`` gives them) and update the right edge."""
    h = leaf_hash(body)
    out.append(h)
    level = 0
    # Record n completes one subtree per trailing 1 bit of n, each the node of the edge's
    # subtree at that level (its left) and the one just made.
    while n >> level & 1:
        h = node_hash(edge.pop(level), h)
        out.append(h)
        level += 1
    edge[level] = h


def _root(edge: dict[int, bytes]) -> bytes:
    """RFC 9162's root from the right edge: smallest subtree first, each under the next."""
    root: bytes | None = None
    for level in sorted(edge):
        root = edge[level] if root is None else node_hash(edge[level], root)
    return EMPTY_TREE_HASH if root is None else root


def advance(database: Database, folded: Fold, now: datetime) -> bool:
    """Write a fold's hashes and move the head to it, if the head is still where it began.

    The compare-and-swap comes first: on PostgreSQL the UPDATE row-locks the head,
    so a second integrator waits, then matches nothing and writes nothing.
    """
    with database.writing() as session:
        result = cast(
            CursorResult[Any],
            session.execute(
                update(LogHead)
                .where(LogHead.id == 1, LogHead.size == folded.before.size)
                .values(size=folded.size, root=folded.root, integrated_at=now)
            ),
        )
        if result.rowcount != 1:
            return False
        _write_hashes(session, stored_hash_count(folded.before.size), folded.hashes)
    return True


def _write_hashes(session: Session, base: int, hashes: Sequence[bytes]) -> None:
    """Insert stored hashes ``base, base + 1, ...``: the integrator's bulk of the writing.

    Two rows an entry, so written by the driver's fastest route: COPY on
    PostgreSQL, the driver's executemany on SQLite (SQLAlchemy's per-row work
    would cost more than the rows do).
    """
    connection = session.connection()
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection
    if dialect == "postgresql" and type(driver).__module__.startswith("psycopg"):
        with (
            driver.cursor() as cursor,
            cursor.copy("COPY log_hashes (idx, hash) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["int8", "bytea"])
            for offset, value in enumerate(hashes):
                copy.write_row((base + offset, value))
    elif dialect == "sqlite" and isinstance(driver, sqlite3.Connection):
        driver.executemany(
            "INSERT INTO log_hashes (idx, hash) VALUES (?, ?)",
            [(base + offset, value) for offset, value in enumerate(hashes)],
        )
    else:
        session.execute(
            _INSERT_HASHES,
            [{"idx": base + offset, "hash": value} for offset, value in enumerate(hashes)],
        )


def integrate_once(database: Database, clock: Clock, batch: int = DEFAULT_BATCH) -> Integrated:
    """Fold up to ``batch`` entries after the integrated size into the tree."""
    with database.begin() as session:
        folded = fold(session, batch)
        if folded is None:
            head = read_head(session)
            return Integrated(head, head)
    now = clock.now()
    if not advance(database, folded, now):
        with database.begin() as session:
            return Integrated(folded.before, read_head(session), lost=True)
    return Integrated(folded.before, TreeHead(folded.size, folded.root, now))


def integrate_all(database: Database, clock: Clock, batch: int = DEFAULT_BATCH) -> TreeHead:
    """Integrate until no sequenced entry is left outside the tree; the head reached."""
    while True:
        step = integrate_once(database, clock, batch)
        if step.added == 0 and not step.lost:
            return step.after


class Integrator:
    """The background integrator: a thread that integrates, then waits a moment, until closed.

    ``after`` (if given) is called with each new head, outside any transaction:
    the publisher hangs there, so that a checkpoint follows integration.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        interval: float = 1.0,
        batch: int = DEFAULT_BATCH,
        after: Callable[[TreeHead], object] | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._after = after
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-integrator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Integrate now rather than at the end of the wait."""
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                head = integrate_all(self._database, self._clock, self._batch)
                if self._after is not None:
                    self._after(head)
            except (SQLAlchemyError, TrustServiceError):
                # A database outage or a witness away: the entries wait, sequenced and
                # durable; log it and try again at the next turn.
                _log.exception("log integration failed; retrying")
            self._wake.wait(self._interval)
            self._wake.clear()
