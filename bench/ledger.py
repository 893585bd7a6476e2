"""Append to the transparency log and integrate at once; print entries per second and bytes.

Writers (processes, as serving nodes are) append entries in transactions of
``--batch`` entries, each transaction committed and so durable, while one
integrator process folds the entries into the Merkle tree as the serving
processes' background thread does. Three runs of ``--seconds``: flat out; paced
at ``--rate`` entries/s (the issue's 10,000); and one entry per transaction,
flat out. The integration lag (entries sequenced, not yet in the tree) is
sampled twice a second: "keeping up" means it stays bounded (a batch or two of
the integrator), not a growing backlog; after each run the integrator is timed
catching up with what was left. Storage per entry is the tables' size on
disk (SQLite: dbstat; PostgreSQL: pg_total_relation_size) over the entries.

    .venv/bin/python bench/ledger.py [--database-url URL] [--seconds 10] [--writers 2]
        [--batch 1000] [--rate 10000] [--entry-bytes 250] [--proofs]

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
from trustsvc.db import Database, open_database


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
    rate: float,
    ready: Barrier,
    stop: Event,
    counts: list[tuple[int, float]],
    slot: int,
) -> None:
    database = open_database(url)
    moment = datetime.now(UTC)
    appended = 0
    ready.wait()  # timed from when every writer has started and connected
    started = time.perf_counter()
    try:
        while not stop.is_set():
            if rate and appended > rate * (time.perf_counter() - started):
                time.sleep(0.001)  # ahead of this writer's share of the rate asked for
                continue
            bodies = [os.urandom(entry_bytes) for _ in range(batch)]
            with database.begin() as session:
                append_many(session, bodies, at=moment)
            appended += batch
    finally:
        # Each writer's own window, from the common start to its last commit.
        counts[slot] = (appended, time.perf_counter() - started)
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


def _lag(database: Database) -> int:
    """Entries sequenced but not yet in the tree, now."""
    with database.begin() as session:
        sequenced = session.execute(text("SELECT next_idx FROM log_sequence")).scalar_one()
        integrated = session.execute(text("SELECT size FROM log_head")).scalar_one()
    return int(sequenced) - int(integrated)


def run(
    url: str, *, seconds: float, writers: int, batch: int, entry_bytes: int, rate: float = 0
) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    counts = manager.list([(0, 0.0)] * writers)
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
            target=_writer,
            args=(url, batch, entry_bytes, rate / writers, ready, stop_writers, counts, slot),
        )
        for slot in range(writers)
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=300)  # a writer that failed to start breaks the barrier
    started = time.perf_counter()
    worst = 0
    while time.perf_counter() - started < seconds:
        time.sleep(0.5)
        worst = max(worst, _lag(database))
    stop_writers.set()
    for process in processes:
        process.join()
    integrated_at_stop = integrated[0]
    stop_integrator.set()
    integrator.join()
    appended = sum(count for count, _ in counts)
    elapsed = max(window for _, window in counts)
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
        "worst": worst,
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
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--entry-bytes", type=int, default=250)
    parser.add_argument("--rate", type=float, default=10_000.0, help="The paced run's rate")
    parser.add_argument("--proofs", action="store_true")
    options = parser.parse_args()
    with bench_database(options.database_url) as url:
        kind = "PostgreSQL" if options.database_url else "SQLite"
        print(
            f"{kind}: {options.writers} writer process(es), one integrator process, "
            f"{options.entry_bytes}-byte entries, {options.seconds:.0f} s a run"
        )
        runs = [(options.batch, 0.0), (options.batch, options.rate), (1, 0.0)]
        for batch, rate in runs:
            result = run(
                url,
                seconds=options.seconds,
                writers=options.writers,
                batch=batch,
                entry_bytes=options.entry_bytes,
                rate=rate,
            )
            paced = f"paced at {rate:,.0f}/s" if rate else "flat out"
            print(
                f"  {batch:>5} entr{'y' if batch == 1 else 'ies'}/transaction, {paced}: "
                f"{result['rate']:>9,.0f} entries/s appended ({result['appended']:,.0f}); "
                f"integration at most {result['worst']:,.0f} behind, "
                f"{result['lag']:,.0f} at the end, caught up in {result['catch_up']:.2f} s"
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
