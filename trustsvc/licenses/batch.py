"""Batch issuance from a CSV or JSON Lines file, on every core, safe to re-run.

Each row becomes one ``issue`` call with an idempotency key derived from the
row (its ``idempotency_key`` column when given, else its position and content),
so running the same file again after an interruption issues only the rows not
yet issued and reports the others as already issued. A bad row is reported and
skipped; it never stops the batch. A row that repeats an earlier one (the very
same data, or the same holder in a type that is unique per holder) is reported
as a duplicate of that row and not issued; a row whose holder already holds a
license of such a type is reported as a duplicate of that license. Rows are
read lazily and at most a small window of them is in flight, so memory stays
flat however long the file.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from trustsvc.errors import DuplicateLicenseError, InvalidInputError, TrustServiceError
from trustsvc.settings import Settings
from trustsvc.strictjson import parse_json
from trustsvc.text import is_encodable

log = logging.getLogger("trustsvc.batch")

#: Rows in flight per worker: enough to keep every core busy, few enough to stay small.
_WINDOW_PER_WORKER = 4


@dataclass(frozen=True)
class RowOutcome:
    row: int
    status: str  # "issued" | "already_issued" | "duplicate" | "error"
    identifier: str | None = None
    license_number: str | None = None
    sha256: str | None = None
    error: str | None = None
    #: For a duplicate of an earlier row of the same batch: that row.
    duplicate_of_row: int | None = None


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    issued: int
    already_issued: int
    errors: int
    report: str
    duplicates: int = 0


class RepeatedRows:
    """Remembers the rows of one batch, to tell a row that repeats an earlier one.

    A row repeats another when its data (all but its idempotency key) is the
    same, or, in a type that is unique per holder, when its holder is.
    """

    def __init__(self, unique_per_holder: bool) -> None:
        self.unique_per_holder = unique_per_holder
        self._seen: dict[str, int] = {}

    def _keys(self, row: Mapping[str, object]) -> list[str]:
        data = {k: v for k, v in row.items() if k != "idempotency_key"}
        content = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        keys = ["data:" + hashlib.sha256(content.encode()).hexdigest()]
        holder = row.get("holder_id")
        if self.unique_per_holder and isinstance(holder, str) and holder.strip():
            kind = str(row.get("holder_id_type", "")).strip()
            keys.append(f"holder:{kind}:{holder.strip().upper()}")
        return keys

    def earlier(self, index: int, row: Mapping[str, object]) -> int | None:
        """The earlier row ``row`` (number ``index``) repeats, else None; remembers it."""
        if "__error__" in row:
            return None
        keys = self._keys(row)
        for key in keys:
            if key in self._seen:
                return self._seen[key]
        for key in keys:
            self._seen[key] = index
        return None


#: Bounds of a batch file and of every row, from the command line or the API. A
#: row is one license: a few dozen short fields.
MAX_FILE_ROWS = 1_000_000
MAX_LINE_BYTES = 64 * 1024
MAX_COLUMNS = 64
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 4000


def check_row(row: Mapping[str, object]) -> None:
    """Refuse a row that cannot be license data: too wide, nested, too long, NUL, bad text.

    The message names the field; the caller adds the row.
    """
    if len(row) > MAX_COLUMNS:
        raise InvalidInputError(f"has {len(row)} fields; at most {MAX_COLUMNS}")
    for key, value in row.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidInputError(f"a field name is 1 to {MAX_KEY_LENGTH} characters")
        if not is_encodable(key) or "\x00" in key:
            raise InvalidInputError(f"field name {key!r} is not valid text")
        if value is None or isinstance(value, bool | int | float):
            continue
        if not isinstance(value, str):
            raise InvalidInputError(
                f"field {key}: a value is text or a number, not {type(value).__name__}"
            )
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidInputError(
                f"field {key}: {len(value)} characters; at most {MAX_VALUE_LENGTH}"
            )
        if "\x00" in value or not is_encodable(value):
            raise InvalidInputError(f"field {key}: NUL or invalid Unicode (a lone surrogate)")


def _lines(path: Path, handle: BinaryIO) -> Iterator[tuple[int, str]]:
    """Numbered lines of UTF-8 text, each bounded; a leading byte order mark is skipped."""
    for number in itertools.count(1):
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES:
            raise InvalidInputError(
                f"{path.name}: line {number} is longer than {MAX_LINE_BYTES} bytes"
            )
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # Excel and Notepad write one; it is not part of the data
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"{path.name}: line {number} is not UTF-8 (byte {exc.start + 1})"
            ) from None
        if "\x00" in text:
            raise InvalidInputError(f"{path.name}: line {number} contains a NUL character")
        yield number, text


def _checked(number: int, row: dict[str, object], what: str = "line") -> dict[str, object]:
    try:
        check_row(row)
    except InvalidInputError as exc:
        return {"__error__": f"{what} {number}: {exc.message}"}
    return row


def _csv_rows(path: Path, handle: BinaryIO) -> Iterator[dict[str, object]]:
    numbered = _lines(path, handle)
    current = [0]

    def texts() -> Iterator[str]:
        for number, text in numbered:
            current[0] = number
            yield text

    reader = csv.reader(texts())
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [name.strip() for name in header]
        if len(names) > MAX_COLUMNS:
            raise InvalidInputError(f"{path.name}: {len(names)} columns; at most {MAX_COLUMNS}")
        repeated = sorted({n for n in names if n and names.count(n) > 1})
        if repeated:
            raise InvalidInputError(f"{path.name}: column {repeated[0]!r} appears twice")
        for values in reader:
            if not any(values):
                continue
            if len(values) > len(names):
                yield {"__error__": f"line {current[0]}: more values than columns"}
                continue
            row = {k: v for k, v in zip(names, values, strict=False) if k and v != ""}
            yield _checked(current[0], dict(row))
    except csv.Error as exc:
        raise InvalidInputError(f"{path.name}: line {current[0]} is not CSV: {exc}") from None


def _jsonl_rows(path: Path, handle: BinaryIO) -> Iterator[dict[str, object]]:
    for number, text in _lines(path, handle):
        if not text.strip():
            continue
        try:
            value = parse_json(text.encode())
        except InvalidInputError as exc:
            yield {"__error__": f"line {number}: {exc.message}"}
            continue
        if not isinstance(value, dict):
            yield {"__error__": f"line {number} is not an object"}
            continue
        yield _checked(number, value)


def read_rows(path: Path) -> Iterator[dict[str, object]]:
    """Rows of a .csv (UTF-8, header line) or .jsonl file, lazily, each checked.

    A file that is not UTF-8, has an over-long line or a malformed header is
    refused whole (``InvalidInputError`` naming the line); a bad row becomes
    an error row, reported and skipped.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise InvalidInputError(f"{path.name}: batch files must be .csv or .jsonl")
    reader = _csv_rows if suffix == ".csv" else _jsonl_rows
    with path.open("rb") as handle:
        for count, row in enumerate(reader(path, handle), start=1):
            if count > MAX_FILE_ROWS:
                raise InvalidInputError(f"{path.name}: more than {MAX_FILE_ROWS} rows")
            yield row


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
    except DuplicateLicenseError as exc:
        return RowOutcome(
            index,
            "duplicate",
            exc.identifier,
            exc.license_number,
            error=exc.message,
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
    from trustsvc.licenses.types import get_type, load_types

    workers = workers or os.cpu_count() or 1
    counts = {"issued": 0, "already_issued": 0, "duplicate": 0, "error": 0}
    rows = 0
    repeated = RepeatedRows(get_type(load_types(), type_key).unique_per_holder)
    with report_path.open("w", encoding="utf-8") as report:

        def record(outcome: RowOutcome) -> None:
            nonlocal rows
            rows += 1
            counts[outcome.status] += 1
            _write(report, outcome)
            if progress:
                progress(1)

        def jobs() -> Iterator[tuple[int, dict[str, object], str, str]]:
            for index, row in enumerate(read_rows(path), start=1):
                earlier = repeated.earlier(index, row)
                if earlier is None:
                    yield index, row, department_code, type_key
                else:
                    # Reported here, in row order with the rest, and never issued.
                    record(
                        RowOutcome(
                            index,
                            "duplicate",
                            error=f"repeats row {earlier}",
                            duplicate_of_row=earlier,
                        )
                    )

        if workers == 1:
            _start_worker(settings)
            try:
                for job in jobs():
                    record(_issue_row(job))
            finally:
                _worker_service.services.close()
        else:
            _run_pool(settings, jobs(), workers, record)
    return BatchSummary(
        rows,
        counts["issued"],
        counts["already_issued"],
        counts["error"],
        str(report_path),
        counts["duplicate"],
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
