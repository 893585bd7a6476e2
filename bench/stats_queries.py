"""Time the statistics page's three queries over 100,000 licenses and 100,000 access rows.

Makes a fresh database (a SQLite file, or a PostgreSQL schema of its own,
dropped afterwards), migrated as the service migrates it, fills it with rows
spread over the last twelve months, and prints the median and the worst of
each query for the whole service and for one department.

    .venv/bin/python bench/stats_queries.py [--rows 100000] [--postgres URL] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, text

from trustsvc.audit.statistics import (
    Scope,
    issued_by_type_and_month,
    last_months,
    lookups_by_purpose_and_client,
    verifications_by_verdict,
)
from trustsvc.clock import FixedClock
from trustsvc.db import Database, open_database
from trustsvc.db.models import AccessEvent, Department, LicenseRecord, LicenseStatus

TYPES = ["business-license", "food-business-permit", "real-estate-certificate", "driving-permit"]
VERDICTS = ["valid", "valid", "valid", "not_current", "modified_after_sealing", "not_sealed"]
PURPOSES = ["贷款审查", "开立对公账户", "政务服务", "招投标资格审查"]
CLIENTS = ["某银行", "某证券", "市政务服务中心", "某招标平台", "某保险"]
CODES = [f"11330100MB000000{n}{c}" for n, c in ((1, "X"), (2, "Y"), (3, "1"), (4, "2"), (5, "3"))]


@dataclass(frozen=True)
class Context:
    database: Database
    clock: FixedClock


def _fill(database: Database, rows: int, now: datetime) -> None:
    rng = random.Random(1)
    span = int(timedelta(days=360).total_seconds())
    with database.begin() as session:
        for i, code in enumerate(CODES):
            session.add(Department(id=i + 1, code=code, name=f"部门{i}", created_at=now))
    licenses = []
    events = []
    for n in range(rows):
        at = now - timedelta(seconds=rng.randrange(span))
        department = rng.randrange(len(CODES))
        identifier = f"1.2.156.3005.2.{'1' * 18}001.{CODES[department]}.{n:012d}.1.X"
        licenses.append(
            {
                "identifier": identifier,
                "license_number": f"N{n}",
                "type_key": rng.choice(TYPES),
                "type_code": "1" * 21,
                "department_id": department + 1,
                "issuer_code": CODES[department],
                "serial": f"{n:012d}",
                "version": 1,
                "holder_name": "某某",
                "holder_id_type": "111",
                "holder_id_digest": secrets.token_hex(32),
                "holder_id_sealed": b"x",
                "fields_json": "{}",
                "valid_from": date(2026, 1, 1),
                "valid_until": None,
                "issued_at": at,
                "status": LicenseStatus.VALID,
                "status_changed_at": at,
                "sha256": secrets.token_hex(32),
                "signed_sha256": secrets.token_hex(32),
                "seal_serial_hex": "01",
                "request_digest": secrets.token_hex(32),
            }
        )
        lookup = rng.random() < 0.4
        events.append(
            {
                "at": at,
                "actor": rng.choice(CLIENTS),
                "action": "lookup" if lookup else rng.choice(["verify_pdf", "verify_token"]),
                "purpose": rng.choice(PURPOSES),
                "outcome": "refused" if rng.random() < 0.05 else "answered",
                "returned_json": json.dumps([identifier]),
                "answer": "holds" if lookup else rng.choice(VERDICTS),
            }
        )
    with database.engine.begin() as connection:
        for start in range(0, rows, 5000):
            connection.execute(insert(LicenseRecord), licenses[start : start + 5000])
            connection.execute(insert(AccessEvent), events[start : start + 5000])
    if database.engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: statistics and the visibility map.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE licenses, access_events"))


def _time(runs: int, call: Callable[[], object]) -> tuple[float, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def _measure(name: str, database: Database, rows: int, runs: int) -> None:
    now = datetime(2026, 12, 1, 6, tzinfo=UTC)
    started = time.perf_counter()
    _fill(database, rows, now)
    took = time.perf_counter() - started
    print(f"{name}: {rows:,} licenses and {rows:,} access rows in {took:.0f} s")
    context = Context(database, FixedClock(now))
    months = last_months(now, ZoneInfo("Asia/Shanghai"), 12)
    start, end = months[0].start, months[-1].end
    for label, scope in (("all", Scope()), ("one department", Scope(CODES[0]))):
        for query, call in (
            (
                "issued per type and month",
                lambda s=scope: issued_by_type_and_month(context, s, months),
            ),
            (
                "verifications by verdict",
                lambda s=scope: verifications_by_verdict(context, s, start, end),
            ),
            (
                "lookups by purpose, client",
                lambda s=scope: lookups_by_purpose_and_client(context, s, start, end),
            ),
        ):
            median, worst = _time(runs, call)
            print(f"  {label:15} {query:28} median {median:7.1f} ms, worst {worst:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", help="A PostgreSQL URL (postgresql+psycopg://...)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(f"sqlite:///{Path(folder) / 'stats.db'}")
        try:
            _measure("SQLite", database, args.rows, args.runs)
        finally:
            database.dispose()
    if args.postgres:
        schema = f"bench_{secrets.token_hex(4)}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            separator = "&" if "?" in args.postgres else "?"
            database = open_database(f"{args.postgres}{separator}options=-csearch_path%3D{schema}")
            try:
                _measure("PostgreSQL", database, args.rows, args.runs)
            finally:
                database.dispose()
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
