"""Batches submitted over the API: kept in the database, issued row by row in the background.

The rows go through the batch engine of ``licenses.batch`` (the one the command
line uses): this module keeps the job, claims it and stores each row's outcome.

A job is stored whole when accepted (its rows sealed with the data key,
since they carry ID numbers) and its rows' outcomes are appended as they are
issued. Any process of any node may work on it: a job is claimed by an
atomic compare-and-set on its heartbeat, which the worker refreshes after
every row, so a job whose process died is taken over once its heartbeat is
stale. Every row carries an idempotency key, so a taken-over job re-issues
nothing: rows issued before the crash come back as already issued. A row that
repeats an earlier row of the job, or names a holder who already holds a license
of a type that is unique per holder, is reported as a ``duplicate`` (naming the
row or the license) and not issued.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import BatchJob, Department, JobStatus
from trustsvc.errors import ConflictError, InvalidInputError, NotFoundError
from trustsvc.licenses.batch import (
    BatchPlan,
    RowOutcome,
    RowStatus,
    check_row,
    issue_row,
    outcomes,
)
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import canonical_json
from trustsvc.licenses.types import LicenseType
from trustsvc.pki.data_key import DataKey

log = logging.getLogger("trustsvc.jobs")

MAX_ROWS = 10_000
#: A job whose worker has not reported for this long is taken over.
STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class JobView:
    id: str
    status: str
    license_type: str
    total: int
    done: int
    issued: int
    already_issued: int
    errors: int
    results: list[dict[str, Any]]
    created_at: datetime
    finished_at: datetime | None
    duplicates: int = 0


def _view(job: BatchJob) -> JobView:
    results: list[dict[str, Any]] = json.loads(job.results_json)
    count = dict.fromkeys(RowStatus, 0)
    for result in results:
        count[RowStatus(result["status"])] += 1
    return JobView(
        id=job.id,
        status=job.status.value,
        license_type=job.type_key,
        total=job.total,
        done=len(results),
        issued=count[RowStatus.ISSUED],
        already_issued=count[RowStatus.ALREADY_ISSUED],
        errors=count[RowStatus.ERROR],
        results=results,
        created_at=job.created_at,
        finished_at=job.finished_at,
        duplicates=count[RowStatus.DUPLICATE],
    )


def _job_id(department_code: str, idempotency_key: str) -> str:
    """The same submission key of the same department names the same job."""
    return hashlib.sha256(f"{department_code}\n{idempotency_key}".encode()).hexdigest()[:32]


def submit_job(
    database: Database,
    clock: Clock,
    data_key: DataKey,
    types: Mapping[str, LicenseType],
    client_id: int,
    department_code: str,
    type_key: str,
    rows: Sequence[Mapping[str, object]],
    idempotency_key: str,
) -> tuple[JobView, bool]:
    """Accept a batch; returns the job and whether it is new (False: a retried submission)."""
    if type_key not in types:
        raise InvalidInputError(f"unknown license type {type_key!r}")
    if not 1 <= len(rows) <= MAX_ROWS:
        raise InvalidInputError(f"a batch has 1 to {MAX_ROWS} rows")
    for number, row in enumerate(rows, start=1):
        try:
            check_row(row)
        except InvalidInputError as exc:
            raise InvalidInputError(f"row {number}: {exc.message}") from None
    job_id = _job_id(department_code, idempotency_key)
    plain = canonical_json([type_key, [dict(row) for row in rows]])
    digest = hashlib.sha256(plain).hexdigest()
    sealed = base64.b64encode(data_key.seal(f"job:{job_id}", plain.decode())).decode()
    with database.begin() as session:
        existing = session.get(BatchJob, job_id)
        if existing is not None:
            if existing.request_digest != digest:
                raise ConflictError(
                    f"idempotency key {idempotency_key!r} was used for a different batch"
                )
            return _view(existing), False
        department = session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise NotFoundError(f"no department with credit code {department_code}")
        job = BatchJob(
            id=job_id,
            client_id=client_id,
            department_id=department.id,
            type_key=type_key,
            status=JobStatus.QUEUED,
            total=len(rows),
            rows_json=sealed,
            request_digest=digest,
            results_json="[]",
            created_at=clock.now(),
        )
        session.add(job)
        session.flush()
        return _view(job), True


def get_job(database: Database, job_id: str, department_code: str) -> JobView:
    """A job of this department (another department's jobs are not found)."""
    with database.begin() as session:
        job = session.scalar(
            select(BatchJob)
            .join(Department, BatchJob.department_id == Department.id)
            .where(BatchJob.id == job_id, Department.code == department_code)
        )
        if job is None:
            raise NotFoundError(f"no batch job {job_id}")
        return _view(job)


class JobRunner:
    """A background thread that works on queued (or abandoned) jobs.

    ``licenses`` issues the rows; the jobs are kept in ``database``, their rows
    sealed under ``data_key``.
    """

    def __init__(
        self,
        licenses: IssuingService,
        database: Database,
        clock: Clock,
        data_key: DataKey,
        poll_seconds: float = 2.0,
        on_issued: Callable[[str], None] | None = None,
    ) -> None:
        self.licenses = licenses
        self.database = database
        self.clock = clock
        self.data_key = data_key
        self.poll_seconds = poll_seconds
        #: Told the license type of every license a job issues (the API counts them).
        self.on_issued = on_issued
        self.worker = f"worker-{secrets.token_hex(4)}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trustsvc-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job_id = self._claim()
                if job_id is not None:
                    self._run(job_id)
                    continue
            except Exception:  # the loop must outlive a bad job; the job is retried later
                log.exception("batch job worker failed")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _claim(self) -> str | None:
        now = self.clock.now()
        stale = now - STALE_AFTER
        claimable = (BatchJob.status != JobStatus.DONE) & or_(
            BatchJob.heartbeat_at.is_(None), BatchJob.heartbeat_at < stale
        )
        with self.database.begin() as session:
            candidates = session.scalars(
                select(BatchJob.id).where(claimable).order_by(BatchJob.created_at).limit(5)
            ).all()
        for job_id in candidates:
            with self.database.begin() as session:
                claimed = session.execute(
                    update(BatchJob)
                    .where(BatchJob.id == job_id, claimable)
                    .values(status=JobStatus.RUNNING, heartbeat_at=now)
                )
            if getattr(claimed, "rowcount", 0) == 1:
                return job_id
        return None

    def _run(self, job_id: str) -> None:
        with self.database.begin() as session:
            job = session.get(BatchJob, job_id)
            assert job is not None
            department = session.get(Department, job.department_id)
            assert department is not None
            code, type_key = department.code, job.type_key
            plain = self.data_key.open(f"job:{job_id}", base64.b64decode(job.rows_json))
            results: list[dict[str, Any]] = json.loads(job.results_json)
        rows: list[dict[str, object]] = json.loads(plain)[1]
        plan = self._plan(job_id, code, type_key)
        for index in range(len(results)):  # a job taken over remembers the rows done
            plan.remember(index + 1, rows[index])
        remaining = ((index + 1, rows[index]) for index in range(len(results), len(rows)))
        # On stop, another process (or this one, restarted) takes over.
        for outcome in outcomes(plan, remaining, self.licenses.issue, self._stop.is_set):
            results.append(self._noted(outcome))
            finished = len(results) == len(rows)
            with self.database.begin() as session:
                values: dict[str, object] = {
                    "results_json": json.dumps(results, ensure_ascii=False),
                    "heartbeat_at": self.clock.now(),
                }
                if finished:
                    # The rows carry ID numbers; once issued they are not kept.
                    values.update(status=JobStatus.DONE, finished_at=self.clock.now(), rows_json="")
                session.execute(update(BatchJob).where(BatchJob.id == job_id).values(**values))

    def _plan(self, job_id: str, code: str, type_key: str) -> BatchPlan:
        license_type = self.licenses.types.get(type_key)
        return BatchPlan(
            code,
            type_key,
            unique_per_holder=license_type is not None and license_type.unique_per_holder,
            key=lambda index, row: _row_key(job_id, index, row),
            actor=f"batch {job_id}",
        )

    def _issue(
        self, job_id: str, index: int, row: dict[str, object], code: str, type_key: str
    ) -> dict[str, Any]:
        """Row ``index`` (from 0) of a job, issued alone: its result as the job keeps it."""
        job = self._plan(job_id, code, type_key).to_issue(index + 1, row)
        return self._noted(issue_row(self.licenses.issue, job))

    def _noted(self, outcome: RowOutcome) -> dict[str, Any]:
        """The outcome as the job keeps it, told to ``on_issued`` when a license was issued."""
        if outcome.status is RowStatus.ISSUED and self.on_issued is not None:
            assert outcome.license_type is not None
            self.on_issued(outcome.license_type)
        return outcome.job_result()


def _row_key(job_id: str, index: int, row: Mapping[str, object]) -> str:
    """A job row's key: its ``idempotency_key`` field, else the job and the row's place."""
    given = row.get("idempotency_key")
    return given if isinstance(given, str) and given else f"job-{job_id}-row{index}"


__all__ = ["MAX_ROWS", "JobRunner", "JobView", "get_job", "submit_job"]
