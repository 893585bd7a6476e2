"""Batch issuance from a CSV or JSON Lines file, on every core, safe to re-run.

Each row becomes one ``issue`` call with an idempotency key derived from the
row (its ``idempotency_key`` column when given, else its position and content),
so running the same file again after an interruption issues only the rows not
yet issued and reports the others as already issued. A bad row is reported and
skipped; it never stops the batch. Rows are read lazily and at most a small
window of them is in flight, so memory stays flat however long the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from trustsvc.config import Settings
from trustsvc.errors import InvalidInputError, TrustServiceError

log = logging.getLogger("trustsvc.batch")

#: Rows in flight per worker: enough to keep every core busy, few enough to stay small.
_WINDOW_PER_WORKER = 4


@dataclass(frozen=True)
class RowOutcome:
    row: int
    status: str  # "issued" | "already_issued" | "error"
    identifier: str | None = None
    license_number: str | None = None
    sha256: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    issued: int
    already_issued: int
    errors: int
    report: str


def read_rows(path: Path) -> Iterator[dict[str, object]]:
    """Rows of a .csv (UTF-8, header line) or .jsonl file, lazily."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                yield {k.strip(): v for k, v in row.items() if k and v not in (None, "")}
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    yield {"__error__": f"line {number} is not JSON"}
                    continue
                yield (
                    value
                    if isinstance(value, dict)
                    else {"__error__": f"line {number} is not an object"}
                )
    else:
        raise InvalidInputError(f"{path.name}: batch files must be .csv or .jsonl")


def count_rows(path: Path) -> int:
    return sum(1 for _ in read_rows(path))


def row_idempotency_key(index: int, row: dict[str, object]) -> str:
    given = row.get("idempotency_key")
    if isinstance(given, str) and given.strip():
        return given.strip()
    content = json.dumps(row, ensure_ascii=False, sort_keys=True).encode()
    return f"batch-row{index}-{hashlib.sha256(content).hexdigest()[:24]}"


# ---- the worker side ---------------------------------------------------------------

_worker_service: Any = None


def _start_worker(settings: Settings) -> None:
    global _worker_service
    from trustsvc.licenses.service import LicenseService
    from trustsvc.services import open_services

    _worker_service = LicenseService(open_services(settings))


def _issue_row(job: tuple[int, dict[str, object], str, str]) -> RowOutcome:
    from trustsvc.licenses.service import IssueRequest

    index, row, department_code, type_key = job
    if "__error__" in row:
        return RowOutcome(index, "error", error=str(row["__error__"]))
    data = {k: v for k, v in row.items() if k != "idempotency_key"}
    try:
        result = _worker_service.issue(
            IssueRequest(
                department_code,
                type_key,
                data,
                idempotency_key=row_idempotency_key(index, row),
                actor="batch",
            )
        )
    except TrustServiceError as exc:
        return RowOutcome(index, "error", error=exc.message)
    except Exception as exc:  # a bug must not sink the other rows; it is logged and reported
        log.exception("row %d failed unexpectedly", index)
        return RowOutcome(index, "error", error=f"internal error ({type(exc).__name__})")
    view = result.license
    return RowOutcome(
        index,
        "issued" if result.created else "already_issued",
        view.identifier,
        view.license_number,
        view.sha256,
    )


# ---- the coordinating side -----------------------------------------------------------


def run_batch(
    settings: Settings,
    path: Path,
    department_code: str,
    type_key: str,
    report_path: Path,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Issue every row of ``path``; write one JSON line per row to ``report_path``."""
    workers = workers or os.cpu_count() or 1
    counts = {"issued": 0, "already_issued": 0, "error": 0}
    rows = 0
    jobs = ((i, row, department_code, type_key) for i, row in enumerate(read_rows(path), start=1))
    with report_path.open("w", encoding="utf-8") as report:

        def record(outcome: RowOutcome) -> None:
            nonlocal rows
            rows += 1
            counts[outcome.status] += 1
            _write(report, outcome)
            if progress:
                progress(1)

        if workers == 1:
            _start_worker(settings)
            try:
                for job in jobs:
                    record(_issue_row(job))
            finally:
                _worker_service.services.close()
        else:
            _run_pool(settings, jobs, workers, record)
    return BatchSummary(
        rows, counts["issued"], counts["already_issued"], counts["error"], str(report_path)
    )


def _run_pool(
    settings: Settings,
    jobs: Iterator[tuple[int, dict[str, object], str, str]],
    workers: int,
    record: Callable[[RowOutcome], None],
) -> None:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    window = workers * _WINDOW_PER_WORKER
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(settings,),
    ) as pool:
        in_flight: set[Future[RowOutcome]] = set()
        for job in jobs:
            in_flight.add(pool.submit(_issue_row, job))
            if len(in_flight) >= window:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    record(future.result())
        for future in wait(in_flight).done:
            record(future.result())


def _write(report: TextIO, outcome: RowOutcome) -> None:
    report.write(
        json.dumps({k: v for k, v in asdict(outcome).items() if v is not None}, ensure_ascii=False)
    )
    report.write("\n")
    report.flush()
