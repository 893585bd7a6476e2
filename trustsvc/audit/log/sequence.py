"""Sequencing: an entry gets its log index in the transaction of the change it records.

The index comes from one row-locked counter (``UPDATE log_sequence ... RETURNING``):
the row stays locked until the caller's transaction ends, so indices are
contiguous, two processes never get the same one, and a transaction that rolls
back takes its entries and its increment with it, leaving no gap. Nothing is
hashed here: integration (``integration``) folds entries into the tree later,
so an append costs one UPDATE and one INSERT. Callers append last in their
transaction, so that the counter's lock is held as briefly as possible.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from trustsvc.db.models import LogEntry, LogSequence

#: An entry bundle (C2SP tlog-tiles) prefixes each entry with a two-byte length.
MAX_ENTRY_SIZE = 0xFFFF
#: Entries one call may sequence: a batch of the batch engine, with room to spare.
MAX_ENTRIES_PER_CALL = 100_000

#: From this many entries a call takes the driver's bulk route.
_BULK = 16

_ENTRIES = cast(Table, LogEntry.__table__)
_INSERT_ENTRY = insert(_ENTRIES)


def _reserve(session: Session, count: int) -> int:
    """Advance the counter by ``count`` and return the first index reserved (any driver)."""
    after = session.execute(
        update(LogSequence)
        .where(LogSequence.id == 1)
        .values(next_idx=LogSequence.next_idx + count)
        .returning(LogSequence.next_idx)
    ).scalar_one()
    return int(after) - count


def _checked(body: bytes) -> bytes:
    if not isinstance(body, bytes):
        raise TypeError("a log entry is bytes")
    if not body or len(body) > MAX_ENTRY_SIZE:
        raise ValueError(f"a log entry is 1 to {MAX_ENTRY_SIZE} bytes, not {len(body)}")
    return body


def append(session: Session, body: bytes, *, at: datetime | None = None) -> int:
    """Sequence one entry in ``session``'s transaction and return its index."""
    return append_many(session, [body], at=at)[0]


def append_many(
    session: Session, bodies: Sequence[bytes], *, at: datetime | None = None
) -> list[int]:
    """Sequence entries in order in ``session``'s transaction; their indices, contiguous.

    ``at`` is when the rows were written (the entry's own bytes carry the event's
    time from the service's clock); it defaults to now.
    """
    if not 1 <= len(bodies) <= MAX_ENTRIES_PER_CALL:
        raise ValueError(f"append 1 to {MAX_ENTRIES_PER_CALL} entries at a time")
    checked = [_checked(body) for body in bodies]
    moment = at if at is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("naive datetime given as an entry's time")
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    at = moment.astimezone(UTC)
    # On the drivers the service runs on, both statements go to the driver itself: this
    # runs in every recording transaction (each access-record batch among them), while
    # the counter is locked, and SQLAlchemy's statement handling would cost several
    # times the statements.
    if connection.dialect.name == "sqlite" and isinstance(driver, sqlite3.Connection):
        first = _append_sqlite(driver, checked, at)
    elif connection.dialect.name == "postgresql" and type(driver).__module__.startswith("psycopg"):
        first = _append_psycopg(driver, checked, at)
    else:
        first = _reserve(session, len(checked))
        session.execute(
            _INSERT_ENTRY,
            [
                {"idx": first + offset, "body": body, "appended_at": moment}
                for offset, body in enumerate(checked)
            ],
        )
    return list(range(first, first + len(checked)))


_RESERVE_SQLITE = "UPDATE log_sequence SET next_idx = next_idx + ? WHERE id = 1 RETURNING next_idx"
_RESERVE_POSTGRES = (
    "UPDATE log_sequence SET next_idx = next_idx + %s WHERE id = 1 RETURNING next_idx"
)


def _append_sqlite(driver: sqlite3.Connection, bodies: list[bytes], at: datetime) -> int:
    count = len(bodies)
    (after,) = driver.execute(_RESERVE_SQLITE, (count,)).fetchone()
    first = int(after) - count
    # The text UTCDateTime stores on SQLite (SQLAlchemy's format, naive UTC).
    stamp = at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    driver.executemany(
        "INSERT INTO log_entries (idx, body, appended_at) VALUES (?, ?, ?)",
        [(first + offset, body, stamp) for offset, body in enumerate(bodies)],
    )
    return first


def _append_psycopg(driver: Any, bodies: list[bytes], at: datetime) -> int:
    count = len(bodies)
    with driver.cursor() as cursor:
        cursor.execute(_RESERVE_POSTGRES, (count,))
        (after,) = cursor.fetchone()
        first = int(after) - count
        if count < _BULK:
            cursor.executemany(
                "INSERT INTO log_entries (idx, body, appended_at) VALUES (%s, %s, %s)",
                [(first + offset, body, at) for offset, body in enumerate(bodies)],
            )
        else:
            with cursor.copy(
                "COPY log_entries (idx, body, appended_at) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "bytea", "timestamptz"])
                for offset, body in enumerate(bodies):
                    copy.write_row((first + offset, body, at))
    return first
