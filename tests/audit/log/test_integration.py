"""Integration: entries folded into stored hashes in batches; the head moves by compare-and-swap."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from trustsvc.audit.log import append_many
from trustsvc.audit.log.hashes import reader
from trustsvc.audit.log.integration import (
    advance,
    fold,
    integrate_all,
    integrate_once,
    read_head,
)
from trustsvc.clock import FixedClock
from trustsvc.db import Database, open_database
from trustsvc.db.models import LogEntry, LogHash
from trustsvc.tlog.errors import ProofError
from trustsvc.tlog.merkle import (
    EMPTY_TREE_HASH,
    MemoryHashes,
    check_record,
    check_tree,
    leaf_hash,
    prove_record,
    prove_tree,
    stored_hash_count,
    tree_hash,
)

CLOCK = FixedClock(datetime(2026, 12, 1, tzinfo=UTC))


def _expected_root(bodies: list[bytes]) -> bytes:
    memory = MemoryHashes()
    for body in bodies:
        memory.append(body)
    return tree_hash(len(bodies), memory)


def _all_bodies(database: Database) -> list[bytes]:
    with database.begin() as session:
        return [bytes(b) for b in session.scalars(select(LogEntry.body).order_by(LogEntry.idx))]


def _stored_hash_rows(database: Database) -> int:
    with database.begin() as session:
        return int(session.scalar(select(func.count()).select_from(LogHash)) or 0)


def test_an_empty_log_has_the_empty_tree(database: Database) -> None:
    assert integrate_once(database, CLOCK).added == 0
    with database.begin() as session:
        head = read_head(session)
    assert (head.size, head.root) == (0, EMPTY_TREE_HASH)


def test_batches_fold_entries_into_the_tree_that_rfc9162_gives(database: Database) -> None:
    bodies = [f"entry {i}".encode() for i in range(300)]
    for start in range(0, 300, 37):
        with database.begin() as session:
            append_many(session, bodies[start : start + 37])
    step = integrate_once(database, CLOCK, batch=100)
    assert (step.before.size, step.after.size) == (0, 100)
    assert step.after.root == _expected_root(bodies[:100])
    head = integrate_all(database, CLOCK, batch=7)  # odd batches cross every subtree edge
    assert head.size == 300 and head.root == _expected_root(bodies)
    assert _stored_hash_rows(database) == stored_hash_count(300)
    # Every stored hash is the one tlog.merkle stores for the same records.
    memory = MemoryHashes()
    for body in bodies:
        memory.append(body)
    with database.begin() as session:
        stored = [bytes(h) for h in session.scalars(select(LogHash.hash).order_by(LogHash.idx))]
    assert stored == memory.read_hashes(range(stored_hash_count(300)))
    with database.begin() as session:
        hashes = reader(session)
        for n in (0, 1, 99, 255, 299):
            proof = prove_record(300, n, hashes)
            check_record(proof, 300, head.root, n, leaf_hash(bodies[n]))
        check_tree(prove_tree(300, 100, hashes), 300, head.root, 100, step.after.root)


def test_a_changed_stored_hash_stops_integration(database: Database) -> None:
    with database.begin() as session:
        append_many(session, [b"a", b"b", b"c"])
    integrate_all(database, CLOCK)
    with database.begin() as session:
        append_many(session, [b"d"])
        session.execute(update(LogHash).where(LogHash.idx == 2).values(hash=b"\x00" * 32))
    with pytest.raises(ProofError, match="log_hashes or log_head was changed"):
        integrate_once(database, CLOCK)


def test_a_stale_head_loses_the_compare_and_swap_and_writes_nothing(database: Database) -> None:
    with database.begin() as session:
        append_many(session, [b"a", b"b", b"c"])
    with database.begin() as session:
        first = fold(session)
    with database.begin() as session:
        second = fold(session, batch=2)  # a second integrator, from the same head
    assert first is not None and second is not None
    assert advance(database, first, CLOCK.now())
    assert not advance(database, second, CLOCK.now())
    with database.begin() as session:
        head = read_head(session)
    assert (head.size, head.root) == (3, _expected_root([b"a", b"b", b"c"]))
    assert _stored_hash_rows(database) == stored_hash_count(3)


def test_integrators_racing_in_threads_build_one_tree(database: Database) -> None:
    bodies = [f"{i}".encode() for i in range(2000)]
    with database.begin() as session:
        append_many(session, bodies)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            integrate_all(database, CLOCK, batch=64)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.begin() as session:
        head = read_head(session)
    assert head.size == 2000 and head.root == _expected_root(bodies)
    assert _stored_hash_rows(database) == stored_hash_count(2000)


def _append_and_integrate(url: str, worker: int, rounds: int) -> None:
    database = open_database(url)
    try:
        for round_ in range(rounds):
            with database.begin() as session:
                append_many(session, [f"{worker}:{round_}:{i}".encode() for i in range(5)])
            if round_ % 10 == 0:
                integrate_once(database, CLOCK, batch=50)
    finally:
        database.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_processes_appending_and_integrating_at_once_make_one_consistent_tree(
    database: Database, log_database_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pool.starmap(_append_and_integrate, [(log_database_url, w, 120) for w in (1, 2)])
    head = integrate_all(database, CLOCK)
    bodies = _all_bodies(database)
    assert len(bodies) == 2 * 120 * 5 == head.size
    assert head.root == _expected_root(bodies)
    assert _stored_hash_rows(database) == stored_hash_count(head.size)
