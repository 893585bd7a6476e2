"""Batch issuance: the one engine behind ``trustsvc issue-batch`` and the API's batch jobs.

Each row becomes one ``issue`` call with an idempotency key derived from the
row (its ``idempotency_key`` column when given, else, for a file, its position
and content, for a job, the job and position), so running the same batch again
after an interruption issues only the rows not yet issued and reports the
others as already issued. A bad row is reported and skipped; it never stops the
batch. A row that repeats an earlier one (the very same data, or the same holder
in a type that is unique per holder) is reported as a duplicate of that row and
not issued; a row whose holder already holds a license of such a type is
reported as a duplicate of that license.

The engine is ``BatchPlan`` (which row is issued, which is a repeat) and
``issue_row`` (one row, one ``RowOutcome``); ``outcomes`` runs them in row
order. The command line feeds it a file, read lazily with at most a small
window of rows in flight on every core, so memory stays flat however long the
file, and writes one JSON line per row (``RowOutcome.report_line``); the API's
jobs (``licenses.jobs``) feed it the rows they stored and keep the results
(``RowOutcome.job_result``).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TextIO

from trustsvc.errors import DuplicateLicenseError, InvalidInputError, TrustServiceError
from trustsvc.settings import Settings
from trustsvc.strictjson import parse_json
from trustsvc.text import is_encodable

if TYPE_CHECKING:
    from trustsvc.licenses.issuing import IssuingService
    from trustsvc.licenses.requests import IssueRequest, IssueResult

log = logging.getLogger("trustsvc.batch")

#: Rows in flight per worker: enough to keep every core busy, few enough to stay small.
_WINDOW_PER_WORKER = 4


class RowStatus(StrEnum):
    """What became of one row (the ``status`` of its report line or job result)."""

    ISSUED = "issued"
    #: Issued before, by an earlier run of the same batch (or the same idempotency key).
    ALREADY_ISSUED = "already_issued"
    #: Not issued: it repeats an earlier row, or its holder holds such a license already.
    DUPLICATE = "duplicate"
    ERROR = "error"


#: The ``code`` of a row that repeats an earlier row of its batch.
DUPLICATE_ROW = "duplicate-row"
#: The ``code`` of a row that failed by a bug (logged; the batch goes on).
INTERNAL_ERROR = "internal-error"


@dataclass(frozen=True)
class RowOutcome:
    """One row's outcome; absent facts are None."""

    row: int
    status: RowStatus
    identifier: str | None = None
    license_number: str | None = None
    sha256: str | None = None
    error: str | None = None
    #: For a duplicate of an earlier row of the same batch: that row.
    duplicate_of_row: int | None = None
    #: The error's stable code (``TrustServiceError.code``, ``DUPLICATE_ROW``, ...).
    code: str | None = None
    #: The type key of the license issued (the API counts them by type).
    license_type: str | None = None

    def report_line(self) -> dict[str, object]:
        """The outcome as a line of the command line's report."""
        return _present(
            self,
            (
                "row",
                "status",
                "identifier",
                "license_number",
                "sha256",
                "error",
                "duplicate_of_row",
            ),
        )

    def job_result(self) -> dict[str, object]:
        """The outcome as a result of an API batch job (stored, and answered as is)."""
        return _present(
            self,
            ("row", "status", "code", "duplicate_of_row", "identifier", "license_number", "error"),
        )


def _present(outcome: RowOutcome, names: tuple[str, ...]) -> dict[str, object]:
    # The keys keep the order each report has always had: they are stored and compared.
    values = ((name, getattr(outcome, name)) for name in names)
    return {name: value for name, value in values if value is not None}


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


@dataclass(frozen=True)
class RowToIssue:
    """A row the plan sends to be issued: its request, or why it could not be read."""

    row: int
    request: IssueRequest | None
    #: The row could not be read (``request`` is None): reported as an error.
    error: str | None = None


class BatchPlan:
    """Which rows of one batch are issued, in row order: a repeat is answered at once.

    ``key`` gives a row's idempotency key from its number and its fields.
    """

    def __init__(
        self,
        department_code: str,
        type_key: str,
        *,
        unique_per_holder: bool,
        key: Callable[[int, Mapping[str, object]], str],
        actor: str,
    ) -> None:
        self.department_code = department_code
        self.type_key = type_key
        self.actor = actor
        self._key = key
        self._repeated = RepeatedRows(unique_per_holder)

    def remember(self, index: int, row: Mapping[str, object]) -> None:
        """A row done before (a job taken over): later rows may repeat it."""
        self._repeated.earlier(index, row)

    def step(self, index: int, row: Mapping[str, object]) -> RowToIssue | RowOutcome:
        """Row ``index`` (from 1): to be issued, or already answered as a repeat."""
        earlier = self._repeated.earlier(index, row)
        if earlier is not None:
            return RowOutcome(
                index,
                RowStatus.DUPLICATE,
                error=f"repeats row {earlier}",
                duplicate_of_row=earlier,
                code=DUPLICATE_ROW,
            )
        return self.to_issue(index, row)

    def to_issue(self, index: int, row: Mapping[str, object]) -> RowToIssue:
        """Row ``index`` as it is sent to be issued (no repeat check)."""
        if "__error__" in row:
            return RowToIssue(index, None, error=str(row["__error__"]))
        from trustsvc.licenses.requests import IssueRequest

        data = {k: v for k, v in row.items() if k != "idempotency_key"}
        request = IssueRequest(
            self.department_code,
            self.type_key,
            data,
            idempotency_key=self._key(index, row),
            actor=self.actor,
        )
        return RowToIssue(index, request)


def issue_row(issue: Callable[[IssueRequest], IssueResult], job: RowToIssue) -> RowOutcome:
    """Issue one row: its outcome, whatever happens (a bug included: it is logged)."""
    if job.request is None:
        return RowOutcome(job.row, RowStatus.ERROR, error=job.error)
    try:
        result = issue(job.request)
    except DuplicateLicenseError as exc:
        return RowOutcome(
            job.row,
            RowStatus.DUPLICATE,
            exc.identifier,
            exc.license_number,
            error=exc.message,
            code=exc.code,
        )
    except TrustServiceError as exc:
        return RowOutcome(job.row, RowStatus.ERROR, error=exc.message, code=exc.code)
    except Exception as exc:  # a bug must not sink the other rows; it is logged and reported
        log.exception("%s: row %d failed unexpectedly", job.request.actor, job.row)
        return RowOutcome(
            job.row,
            RowStatus.ERROR,
            error=f"internal error ({type(exc).__name__})",
            code=INTERNAL_ERROR,
        )
    view = result.license
    return RowOutcome(
        job.row,
        RowStatus.ISSUED if result.created else RowStatus.ALREADY_ISSUED,
        view.identifier,
        view.license_number,
        view.sha256,
        license_type=view.type_key,
    )


def outcomes(
    plan: BatchPlan,
    rows: Iterable[tuple[int, Mapping[str, object]]],
    issue: Callable[[IssueRequest], IssueResult],
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[RowOutcome]:
    """The outcome of every row in turn, issued here; ends early once ``stopped()``."""
    for index, row in rows:
        if stopped():
            return
        step = plan.step(index, row)
        yield step if isinstance(step, RowOutcome) else issue_row(issue, step)


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


def csv_rows(name: str, handle: BinaryIO) -> Iterator[dict[str, object]]:
    """Rows of UTF-8 CSV in ``handle``, read as ``read_rows`` reads a .csv file named ``name``."""
    return _csv_rows(Path(Path(name).name or "upload.csv"), handle)


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


def row_idempotency_key(index: int, row: Mapping[str, object]) -> str:
    """A file row's key: its ``idempotency_key`` column, else its position and content."""
    given = row.get("idempotency_key")
    if isinstance(given, str) and given.strip():
        return given.strip()
    content = json.dumps(row, ensure_ascii=False, sort_keys=True).encode()
    return f"batch-row{index}-{hashlib.sha256(content).hexdigest()[:24]}"


# ---- a file, on every core: the worker side ---------------------------------------


class WorkerRuntime(Protocol):
    """What a worker issues with: an issuing service on services it opened; ``close()`` it."""

    @property
    def licenses(self) -> IssuingService: ...

    def close(self) -> None: ...


#: Opens a worker's runtime from the settings (``bootstrap.open_runtime``). A function
#: defined at a module's top level, so that it reaches a spawned worker by name.
RuntimeOpener = Callable[[Settings], WorkerRuntime]

_worker_runtime: WorkerRuntime | None = None


def _start_worker(open_runtime: RuntimeOpener, settings: Settings) -> None:
    """A pool worker's initializer: its runtime, kept for the process's life."""
    global _worker_runtime
    _worker_runtime = open_runtime(settings)


def _issue_row(job: RowToIssue) -> RowOutcome:
    assert _worker_runtime is not None, "the worker's initializer opens its runtime"
    return issue_row(_worker_runtime.licenses.issue, job)


# ---- a file, on every core: the coordinating side --------------------------------------


def run_batch(
    open_runtime: RuntimeOpener,
    settings: Settings,
    path: Path,
    department_code: str,
    type_key: str,
    report_path: Path,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Issue every row of ``path``; write one JSON line per row to ``report_path``.

    Each worker (this process alone when ``workers`` is 1) issues on a runtime of
    its own, opened by ``open_runtime(settings)``.
    """
    from trustsvc.licenses.types import get_type, load_types

    workers = workers or os.cpu_count() or 1
    counts = dict.fromkeys(RowStatus, 0)
    rows = 0
    plan = BatchPlan(
        department_code,
        type_key,
        unique_per_holder=get_type(load_types(), type_key).unique_per_holder,
        key=row_idempotency_key,
        actor="batch",
    )
    with report_path.open("w", encoding="utf-8") as report:

        def record(outcome: RowOutcome) -> None:
            nonlocal rows
            rows += 1
            counts[outcome.status] += 1
            _write(report, outcome)
            if progress:
                progress(1)

        numbered = enumerate(read_rows(path), start=1)
        if workers == 1:
            runtime = open_runtime(settings)
            try:
                for outcome in outcomes(plan, numbered, runtime.licenses.issue):
                    record(outcome)
            finally:
                runtime.close()
        else:
            _run_pool(open_runtime, settings, plan, numbered, workers, record)
    return BatchSummary(
        rows,
        counts[RowStatus.ISSUED],
        counts[RowStatus.ALREADY_ISSUED],
        counts[RowStatus.ERROR],
        str(report_path),
        counts[RowStatus.DUPLICATE],
    )


def _run_pool(
    open_runtime: RuntimeOpener,
    settings: Settings,
    plan: BatchPlan,
    rows: Iterator[tuple[int, dict[str, object]]],
    workers: int,
    record: Callable[[RowOutcome], None],
) -> None:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    window = workers * _WINDOW_PER_WORKER
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(open_runtime, settings),
    ) as pool:
        in_flight: set[Future[RowOutcome]] = set()
        for index, row in rows:
            step = plan.step(index, row)
            if isinstance(step, RowOutcome):
                record(step)  # a repeat, reported here and never issued
                continue
            in_flight.add(pool.submit(_issue_row, step))
            if len(in_flight) >= window:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    record(future.result())
        for future in wait(in_flight).done:
            record(future.result())


def _write(report: TextIO, outcome: RowOutcome) -> None:
    report.write(json.dumps(outcome.report_line(), ensure_ascii=False))
    report.write("\n")
    report.flush()
