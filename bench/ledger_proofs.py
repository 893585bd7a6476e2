"""Inclusion and consistency proofs at 1,000,000 and 10,000,000 leaves: build, check, and
print the figures (issue 14's target: under 2 ms each).

The leaves' stored hashes are computed properly, from entries, by the fastest honest
route in pure Python: every leaf hash, then each level of complete subtrees from the one
below, into one contiguous buffer per level (32 bytes a hash). The ``HashReader`` maps a
stored-hash index (``merkle.split_stored_hash_index``) to its level and position, so the
proofs are made by ``tlog.merkle`` exactly as they are over the service's log_hashes
table. ``--sqlite`` also stores the hashes of the smaller tree in a SQLite file, keyed by
stored-hash index as log_hashes is, and times proofs read from it.

    .venv/bin/python bench/ledger_proofs.py [--sizes 1000000 10000000] [--samples 2000]
        [--sqlite] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from trustsvc.tlog.merkle import (
    HASH_SIZE,
    HashReader,
    MemoryHashes,
    check_record,
    check_tree,
    leaf_hash,
    prove_record,
    prove_tree,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
)

TARGET_MS = 2.0


def entry(i: int) -> bytes:
    """A deterministic entry of about the size of a library event (~120 bytes of CBOR)."""
    return b"\xa6trustsvc-ledger-bench-entry" + i.to_bytes(8, "big") + bytes(84)


class LevelHashes:
    """Stored hashes held level by level: ``levels[L]`` holds the hashes of the complete
    subtrees of ``2**L`` leaves, left to right."""

    def __init__(self, levels: list[bytearray]) -> None:
        self.levels = levels
        self.size = len(levels[0]) // HASH_SIZE

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        out = []
        for index in indexes:
            level, n = split_stored_hash_index(index)
            at = n * HASH_SIZE
            buf = self.levels[level]
            if at + HASH_SIZE > len(buf):
                raise IndexError(f"stored hash {index} is not there yet")
            out.append(bytes(buf[at : at + HASH_SIZE]))
        return out


def build(size: int) -> tuple[LevelHashes, float]:
    start = time.perf_counter()
    sha = hashlib.sha256
    level0 = bytearray(size * HASH_SIZE)
    prefix = b"\x00"
    for i in range(size):
        level0[i * HASH_SIZE : (i + 1) * HASH_SIZE] = sha(prefix + entry(i)).digest()
    levels = [level0]
    prev = level0
    while len(prev) >= 2 * HASH_SIZE:
        pairs = len(prev) // (2 * HASH_SIZE)
        cur = bytearray(pairs * HASH_SIZE)
        view = memoryview(prev)
        for j in range(pairs):
            cur[j * HASH_SIZE : (j + 1) * HASH_SIZE] = sha(
                b"\x01" + view[2 * j * HASH_SIZE : (2 * j + 2) * HASH_SIZE]
            ).digest()
        levels.append(cur)
        prev = cur
    return LevelHashes(levels), time.perf_counter() - start


def cross_check(reader: LevelHashes) -> None:
    """The level layout agrees with hashes appended one record at a time."""
    n = min(reader.size, 5000)
    memory = MemoryHashes()
    for i in range(n):
        memory.append(entry(i))
    for size in (1, 2, 3, 255, 256, 1000, n):
        if size <= n and tree_hash(size, memory) != tree_hash(size, reader):
            sys.exit(f"the level layout disagrees with appends at size {size}")


class SqliteHashes:
    """Stored hashes in a SQLite table keyed by stored-hash index, as log_hashes is."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        marks = ",".join("?" * len(indexes))
        rows = dict(
            self.db.execute(f"SELECT idx, hash FROM h WHERE idx IN ({marks})", list(indexes))  # noqa: S608
        )
        return [rows[i] for i in indexes]


def to_sqlite(reader: LevelHashes, path: Path) -> tuple[SqliteHashes, float]:
    start = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("CREATE TABLE h (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL)")

    def rows() -> Iterator[tuple[int, bytes]]:
        for level, buf in enumerate(reader.levels):
            for n in range(len(buf) // HASH_SIZE):
                yield stored_hash_index(level, n), bytes(buf[n * HASH_SIZE : (n + 1) * HASH_SIZE])

    db.executemany("INSERT INTO h VALUES (?, ?)", rows())
    db.commit()
    count = db.execute("SELECT count(*) FROM h").fetchone()[0]
    db.close()
    if count != stored_hash_count(reader.size):
        sys.exit(f"SQLite holds {count} hashes, not {stored_hash_count(reader.size)}")
    return SqliteHashes(path), time.perf_counter() - start


def _ms(wall: list[float], cpu: list[float]) -> str:
    wall, cpu = sorted(wall), sorted(cpu)
    p99 = int(len(wall) * 0.99) - 1
    return (
        f"median {statistics.median(wall) * 1000:.3f} ms, p99 {wall[p99] * 1000:.3f} ms "
        f"(CPU: median {statistics.median(cpu) * 1000:.3f} ms, p99 {cpu[p99] * 1000:.3f} ms)"
    )


class _Timer:
    """Wall-clock and CPU time of each call (on a shared machine the wall clock includes
    waiting for a core; the CPU time is the work)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> None:
        self._w, self._c = time.perf_counter(), time.thread_time()

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._w)
        self.cpu.append(time.thread_time() - self._c)


def measure(name: str, reader: HashReader, size: int, samples: int, rng: random.Random) -> bool:
    root = tree_hash(size, reader)
    roots: dict[int, bytes] = {}
    prove, check, prove_c, check_c = _Timer(), _Timer(), _Timer(), _Timer()
    for _ in range(samples):
        index = rng.randrange(size)
        leaf = leaf_hash(entry(index))
        with prove:
            proof = prove_record(size, index, reader)
        with check:
            check_record(proof, size, root, index, leaf)
        old = rng.randrange(1, size)
        if old not in roots:
            roots[old] = tree_hash(old, reader)
        with prove_c:
            cproof = prove_tree(size, old, reader)
        with check_c:
            check_tree(cproof, size, root, old, roots[old])
    timers = {
        "inclusion proof  ": prove,
        "inclusion check  ": check,
        "consistency proof": prove_c,
        "consistency check": check_c,
    }
    for label, timer in timers.items():
        print(f"  {name}: {label} {_ms(timer.wall, timer.cpu)}")
    return all(
        statistics.median(t.wall) * 1000 < TARGET_MS
        and sorted(t.cpu)[int(len(t.cpu) * 0.99) - 1] * 1000 < TARGET_MS
        for t in timers.values()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ok = True
    for size in args.sizes:
        reader, seconds = build(size)
        cross_check(reader)
        stored = sum(len(b) for b in reader.levels) // HASH_SIZE
        print(
            f"{size:,} leaves: {stored:,} stored hashes ({stored * HASH_SIZE / 2**20:,.0f} MiB) "
            f"computed in {seconds:.1f} s ({size / seconds:,.0f} leaves/s)"
        )
        if stored != stored_hash_count(size):
            sys.exit(f"{stored} hashes computed, {stored_hash_count(size)} expected")
        ok &= measure("memory", reader, size, args.samples, rng)
        if args.sqlite and size == min(args.sizes):
            with tempfile.TemporaryDirectory() as tmp:
                db, load = to_sqlite(reader, Path(tmp) / "hashes.sqlite")
                print(f"  SQLite file written in {load:.1f} s")
                ok &= measure("sqlite", db, size, args.samples, rng)
        del reader
    verdict = "met" if ok else "NOT met"
    print(f"target: each under {TARGET_MS} ms (wall-clock median, CPU p99): {verdict}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
