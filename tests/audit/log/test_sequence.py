"""Sequencing: indices assigned in the caller's transaction, contiguous, rolled back with it."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from trustsvc.audit.log import MAX_ENTRY_SIZE, append, append_many
from trustsvc.db import Database, open_database
from trustsvc.db.models import LogEntry, LogSequence


def _entries(database: Database) -> list[tuple[int, bytes]]:
    with database.begin() as session:
        return [(e.idx, e.body) for e in session.scalars(select(LogEntry).order_by(LogEntry.idx))]


def test_indices_are_contiguous_from_zero_in_order_of_appending(database: Database) -> None:
    with database.begin() as session:
        assert append(session, b"first") == 0
        assert append_many(session, [b"a", b"b", b"c"]) == [1, 2, 3]
    with database.begin() as session:
        assert append(session, b"next") == 4
    assert _entries(database) == [(0, b"first"), (1, b"a"), (2, b"b"), (3, b"c"), (4, b"next")]


def test_a_failure_later_in_the_transaction_rolls_back_the_entry_and_its_index(
    database: Database,
) -> None:
    with database.begin() as session:
        append(session, b"kept")

    class ChangeFailed(RuntimeError):
        pass

    with pytest.raises(ChangeFailed), database.begin() as session:
        assert append_many(session, [b"lost-1", b"lost-2"]) == [1, 2]
        raise ChangeFailed
    # A database error after the append (the change itself refused) rolls back as well.
    with pytest.raises(Exception, match="no_such_table"), database.begin() as session:
        append(session, b"lost-3")
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    with database.begin() as session:
        assert append(session, b"after") == 1
        assert session.get(LogSequence, 1) is not None
    assert _entries(database) == [(0, b"kept"), (1, b"after")]


def test_entries_out_of_bounds_are_refused_before_any_index_is_taken(database: Database) -> None:
    with database.begin() as session:
        with pytest.raises(ValueError):
            append(session, b"")
        with pytest.raises(ValueError):
            append(session, b"x" * (MAX_ENTRY_SIZE + 1))
        with pytest.raises(ValueError):
            append_many(session, [])
        with pytest.raises(ValueError):
            append(session, b"x", at=datetime(2026, 1, 1))  # noqa: DTZ001 - a naive time, refused
        assert append(session, b"x" * MAX_ENTRY_SIZE, at=datetime(2026, 1, 1, tzinfo=UTC)) == 0
    with database.begin() as session:
        entry = session.get(LogEntry, 0)
        assert entry is not None and entry.appended_at == datetime(2026, 1, 1, tzinfo=UTC)


def _append_in_process(url: str, worker: int, rounds: int) -> list[int]:
    database = open_database(url)
    got: list[int] = []
    try:
        for round_ in range(rounds):
            with database.begin() as session:
                bodies = [f"{worker}:{round_}:{i}".encode() for i in range(1 + round_ % 3)]
                got.extend(append_many(session, bodies))
    finally:
        database.dispose()
    return got


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_processes_appending_at_once_never_share_an_index(
    database: Database, log_database_url: str
) -> None:
    assert log_database_url.startswith("postgresql")
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(_append_in_process, [(log_database_url, w, 150) for w in (1, 2)])
    indices = sorted(results[0] + results[1])
    assert indices == list(range(len(indices)))
    stored = _entries(database)
    assert [idx for idx, _ in stored] == indices
    # Each process saw its own entries at the indices it was given, in its own order.
    for worker, got in zip((1, 2), results, strict=True):
        bodies = [body for idx, body in stored if idx in set(got)]
        assert all(body.startswith(f"{worker}:".encode()) for body in bodies)
        assert got == sorted(got)


@pytest.mark.parametrize("count", [1, 15, 16, 1000])
def test_small_and_bulk_appends_store_the_same_rows(database: Database, count: int) -> None:
    """Below 16 entries SQLAlchemy inserts them; from 16 the driver's bulk route does."""
    moments = [
        datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 8, 0, 1, 250, tzinfo=UTC),
    ]
    with database.begin() as session:
        append(session, b"first")
        got = append_many(
            session, [bytes([i % 256]) * (1 + i % 300) for i in range(count)], at=moments[0]
        )
        got += append_many(session, [b"z"] * count, at=moments[1])
    assert got == list(range(1, 1 + 2 * count))
    with database.begin() as session:
        rows = session.scalars(select(LogEntry).where(LogEntry.idx > 0).order_by(LogEntry.idx))
        stored = [(e.idx, e.body, e.appended_at) for e in rows]
    expected = [(1 + i, bytes([i % 256]) * (1 + i % 300), moments[0]) for i in range(count)]
    expected += [(1 + count + i, b"z", moments[1]) for i in range(count)]
    assert stored == expected
    with database.begin() as session:
        assert append(session, b"next") == 1 + 2 * count
