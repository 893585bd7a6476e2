"""Append to the transparency log and integrate at once; print entries per second and bytes.

Writers (processes, as serving nodes are) append entries in transactions of
``--batch`` entries (and, as a second run, one entry per transaction), each
transaction committed and so durable, while one integrator process folds the
entries into the Merkle tree as the serving processes' background thread does.
Each run lasts ``--seconds``; then the integrator is timed catching up with what
was left, which is the lag it carried: "keeping up" means that lag stays a
batch or two, not a growing backlog. Storage per entry is the tables' size on
disk (SQLite: dbstat; PostgreSQL: pg_total_relation_size) over the entries.

    .venv/bin/python bench/ledger.py [--database-url URL] [--seconds 10] [--writers 2]
        [--batch 100] [--entry-bytes 250] [--proofs]

``--database-url`` names a PostgreSQL database; a schema of its own is made and
dropped. Without it, a SQLite file in a temporary directory. ``--proofs`` runs
tlog's proof benchmark (bench/ledger_proofs.py) at 1 and 10 million leaves too.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

from sqlalchemy import create_engine, text

from trustsvc.audit.log import append_many
from trustsvc.audit.log.integration import integrate_all, integrate_once
from trustsvc.clock import SystemClock
from trustsvc.db import open_database


@contextmanager
def bench_database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'ledger.sqlite3'}"
        return
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _writer(
    url: str,
    batch: int,
    entry_bytes: int,
    ready: Barrier,
    stop: Event,
    counts: list[int],
    slot: int,
) -> None:
    database = open_database(url)
    moment = datetime.now(UTC)
    appended = 0
    ready.wait()  # timed from when every writer has started and connected
    try:
        while not stop.is_set():
            bodies = [os.urandom(entry_bytes) for _ in range(batch)]
            with database.begin() as session:
                append_many(session, bodies, at=moment)
            appended += batch
    finally:
        counts[slot] = appended
        database.dispose()


def _integrator(url: str, stop: Event, integrated: list[int]) -> None:
    database = open_database(url)
    clock = SystemClock()
    try:
        while not stop.is_set():
            step = integrate_once(database, clock)
            if step.added == 0:
                time.sleep(0.05)
            integrated[0] = step.after.size
    finally:
        database.dispose()


def run(
    url: str, *, seconds: float, writers: int, batch: int, entry_bytes: int
) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    counts = manager.list([0] * writers)
    integrated = manager.list([0])
    database = open_database(url)
    with database.begin() as session:
        start_size = session.execute(text("SELECT next_idx FROM log_sequence")).scalar_one()
    stop_writers, stop_integrator = context.Event(), context.Event()
    ready = context.Barrier(writers + 1)
    integrator = context.Process(target=_integrator, args=(url, stop_integrator, integrated))
    integrator.start()
    processes = [
        context.Process(
            target=_writer, args=(url, batch, entry_bytes, ready, stop_writers, counts, slot)
        )
        for slot in range(writers)
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=300)  # a writer that failed to start breaks the barrier
    started = time.perf_counter()
    time.sleep(seconds)
    stop_writers.set()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    integrated_at_stop = integrated[0]
    stop_integrator.set()
    integrator.join()
    appended = sum(counts)
    caught_up = time.perf_counter()
    head = integrate_all(database, SystemClock())
    catch_up = time.perf_counter() - caught_up
    database.dispose()
    manager.shutdown()
    total = start_size + appended
    assert head.size == total, (head.size, total)
    return {
        "appended": appended,
        "rate": appended / elapsed,
        "lag": total - integrated_at_stop,
        "catch_up": catch_up,
        "size": head.size,
    }


def storage(url: str) -> tuple[int, int]:
    """Bytes on disk of the log's tables, and the entries they hold."""
    database = open_database(url)
    try:
        with database.begin() as session:
            entries = session.execute(text("SELECT COUNT(*) FROM log_entries")).scalar_one()
            if database.engine.dialect.name == "postgresql":
                size = session.execute(
                    text(
                        "SELECT pg_total_relation_size('log_entries') "
                        "+ pg_total_relation_size('log_hashes')"
                    )
                ).scalar_one()
            else:
                session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                size = session.execute(
                    text(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name IN "
                        "('log_entries', 'log_hashes', 'sqlite_autoindex_log_entries_1', "
                        "'sqlite_autoindex_log_hashes_1')"
                    )
                ).scalar_one()
        return int(size or 0), int(entries)
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="A PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--entry-bytes", type=int, default=250)
    parser.add_argument("--proofs", action="store_true")
    options = parser.parse_args()
    with bench_database(options.database_url) as url:
        kind = "PostgreSQL" if options.database_url else "SQLite"
        print(
            f"{kind}: {options.writers} writer process(es), one integrator process, "
            f"{options.entry_bytes}-byte entries, {options.seconds:.0f} s a run"
        )
        for batch in (options.batch, 1):
            result = run(
                url,
                seconds=options.seconds,
                writers=options.writers,
                batch=batch,
                entry_bytes=options.entry_bytes,
            )
            print(
                f"  {batch:>5} entr{'y' if batch == 1 else 'ies'}/transaction: "
                f"{result['rate']:>9,.0f} entries/s appended ({result['appended']:,.0f}); "
                f"integration {result['lag']:,.0f} behind at the end, "
                f"caught up in {result['catch_up']:.2f} s"
            )
        size, entries = storage(url)
        print(
            f"  storage: {size / entries:.0f} bytes per entry on disk "
            f"({entries:,} entries of {options.entry_bytes} bytes, entries and stored hashes "
            "with their indexes)"
        )
    if options.proofs:
        proofs = Path(__file__).with_name("ledger_proofs.py")
        if proofs.exists():
            subprocess.run(
                [sys.executable, str(proofs), "--sizes", "1000000", "10000000"], check=True
            )
        else:
            print("bench/ledger_proofs.py (tlog's proof benchmark) is not in this tree")


if __name__ == "__main__":
    main()
