"""Reading the log back: entries, proofs and C2SP tlog-tiles, bounded by the integrated tree."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trustsvc.audit.log import append_many, reading
from trustsvc.audit.log.integration import integrate_all
from trustsvc.clock import FixedClock
from trustsvc.db import Database
from trustsvc.errors import NotFoundError
from trustsvc.tlog.merkle import (
    MemoryHashes,
    check_record,
    check_tree,
    leaf_hash,
    node_hash,
    stored_hash_index,
    tree_hash,
)
from trustsvc.tlog.tiles import Tile

CLOCK = FixedClock(datetime(2026, 12, 1, tzinfo=UTC))


def _filled(database: Database, count: int) -> list[bytes]:
    bodies = [f"entry-{i:05d}".encode() for i in range(count)]
    with database.begin() as session:
        append_many(session, bodies)
    integrate_all(database, CLOCK)
    return bodies


def test_entries_and_proofs_read_back_against_the_head(database: Database) -> None:
    bodies = _filled(database, 70)
    assert reading.entry(database, 69) == bodies[69]
    with pytest.raises(NotFoundError):
        reading.entry(database, 70)
    root = reading.head(database).root
    check_record(reading.inclusion_proof(database, 5), 70, root, 5, leaf_hash(bodies[5]))
    memory = MemoryHashes()
    for body in bodies[:33]:
        memory.append(body)
    old = tree_hash(33, memory)
    check_record(reading.inclusion_proof(database, 5, 33), 33, old, 5, leaf_hash(bodies[5]))
    check_tree(reading.consistency_proof(database, 33), 70, root, 33, old)
    for idx, size in ((70, None), (3, 71), (0, 0)):
        with pytest.raises(NotFoundError):
            reading.inclusion_proof(database, idx, size)
    with pytest.raises(NotFoundError):
        reading.consistency_proof(database, 71)


def test_tiles_hold_the_hashes_of_their_level_and_bundles_the_entries(database: Database) -> None:
    bodies = _filled(database, 256 * 2 + 3)
    full = reading.tile(database, Tile(0, 1))
    assert len(full) == 256 * 32
    assert full[:32] == leaf_hash(bodies[256]) and full[-32:] == leaf_hash(bodies[511])
    partial = reading.tile(database, Tile(0, 2, 3))
    assert partial == b"".join(leaf_hash(b) for b in bodies[512:515])
    assert reading.tile(database, Tile(0, 2, 2)) == partial[:64]
    # Level 1 holds the roots of 256-entry subtrees: two so far.
    level_one = reading.tile(database, Tile(1, 0, 2))
    memory = MemoryHashes()
    for body in bodies[:256]:
        memory.append(body)
    assert level_one[:32] == tree_hash(256, memory)
    bundle = reading.tile(database, Tile(None, 2, 3))
    assert bundle == b"".join(len(b).to_bytes(2, "big") + b for b in bodies[512:515])
    assert len(reading.tile(database, Tile(None, 0))) == 256 * (2 + len(bodies[0]))
    for missing in (
        Tile(0, 2),  # not full yet
        Tile(0, 2, 4),  # wider than the tree
        Tile(0, 3, 1),
        Tile(1, 0),
        Tile(2, 0, 1),
        Tile(None, 2),
        Tile(None, 3, 1),
    ):
        with pytest.raises(NotFoundError):
            reading.tile(database, missing)
    for body in bodies[256:512]:
        memory.append(body)
    assert node_hash(level_one[:32], level_one[32:]) == tree_hash(512, memory)


def test_stored_hash_index_is_what_tiles_read() -> None:
    # A guard on the layout the tiles rely on: level-8 node 0 follows 256 leaves' hashes.
    assert stored_hash_index(8, 0) == stored_hash_index(0, 255) + 8
