"""PDF verification in child processes that can be stopped: a hard bound on time and memory.

An uploaded PDF is hostile until proven otherwise. The verifier checks its own
deadline between stages, but a single stage inside pyHanko can still run long,
and a thread cannot be stopped. The API therefore verifies uploads here: each
verification runs in a child process with an address-space limit, and a child
that is still busy ``grace`` after the verifier's own time limit is killed and
replaced. The verdict is then ``not_evaluable`` (reason time_limit_exceeded),
as for a child that dies (reason not_evaluable): the service could not
decide, which is never blamed on the document, and never valid.

The children are started when first needed (each opens the service's
database and PKI, which takes a moment) and are kept for later requests. A
verification is made as of the moment the caller gives, so that it answers
for the time the request arrived, with the caller's clock.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from trustsvc.clock import FixedClock
from trustsvc.services import open_services
from trustsvc.settings import Settings
from trustsvc.verification import reasons as R
from trustsvc.verification.report import (
    Facts,
    Reason,
    VerificationReport,
    conclude,
    report_from_json,
    report_to_json,
)
from trustsvc.verification.verifier import DEFAULT_TIME_LIMIT, REBUILD_AFTER_SECONDS, Verifier

log = logging.getLogger("trustsvc.verification")

#: What a child does with each PDF; tests give another function to see a child stopped.
Work = Callable[[Verifier, bytes], VerificationReport]

#: How long a new child may take to open the service (database migrations checked, keys read).
_START_TIMEOUT = 120.0
#: Messages between parent and child (raw bytes: nothing is unpickled).
_READY, _STOP = b"ready", b"stop"
#: An answer is a report of a few kilobytes; anything larger is not one.
_MAX_ANSWER = 1024 * 1024
DEFAULT_MEMORY_LIMIT = 2 * 1024 * 1024 * 1024
DEFAULT_GRACE = timedelta(seconds=2)


def verify(verifier: Verifier, pdf: bytes) -> VerificationReport:
    return verifier.verify_pdf(pdf)


def _child(
    settings: Settings, connection: Connection, time_limit: timedelta, memory: int, work: Work
) -> None:
    """A child's life: open the service, say so, then verify what arrives until told to stop.

    Jobs come as the moment (ISO 8601) and the PDF; answers go back as JSON, never
    pickled: a child that parsed a hostile document is trusted with nothing more.
    """
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    clock = FixedClock(datetime.now(UTC))  # set to each job's moment
    services = open_services(settings, clock)
    verifier, built = None, 0.0
    connection.send_bytes(_READY)
    try:
        while True:
            moment = connection.recv_bytes()
            if moment == _STOP:
                return
            pdf = connection.recv_bytes()
            clock.current = datetime.fromisoformat(moment.decode())
            if verifier is None or time.monotonic() - built > REBUILD_AFTER_SECONDS:
                verifier = Verifier(services, allow_fetching=False, time_limit=time_limit)
                built = time.monotonic()
            try:
                report = work(verifier, pdf)
            except Exception:  # a MemoryError at the limit among them: fail closed
                log.exception("verification in a child process could not be completed")
                report = conclude([R.NOT_EVALUABLE], Facts(), clock.current)
            connection.send_bytes(report_to_json(report))
    except (EOFError, KeyboardInterrupt):
        return
    finally:
        services.close()


class _ChildLost(Exception):
    def __init__(self, reason: Reason) -> None:
        self.reason = reason


@dataclass(eq=False)  # each child is itself, whatever it holds
class _Child:
    process: Any  # a SpawnProcess
    connection: Connection

    def run(self, pdf: bytes, moment: datetime, timeout: float) -> VerificationReport:
        try:
            self.connection.send_bytes(moment.isoformat().encode())
            self.connection.send_bytes(pdf)
            if not self.connection.poll(timeout):
                raise _ChildLost(R.TIME_LIMIT_EXCEEDED)
            return report_from_json(self.connection.recv_bytes(_MAX_ANSWER))
        except (EOFError, OSError) as exc:  # the child died (a crash in a parser, say)
            raise _ChildLost(R.NOT_EVALUABLE) from exc
        except (ValueError, KeyError, TypeError) as exc:  # not a report
            raise _ChildLost(R.NOT_EVALUABLE) from exc

    def stop(self, *, kill: bool) -> None:
        if not kill:
            try:
                self.connection.send_bytes(_STOP)
            except OSError:
                kill = True
        if kill:
            self.process.kill()
        self.process.join(timeout=10)
        self.connection.close()


class IsolatedPdfVerifier:
    """Verifies PDFs in up to ``processes`` children, each bounded in time and memory."""

    def __init__(
        self,
        settings: Settings,
        *,
        processes: int = 2,
        time_limit: timedelta = DEFAULT_TIME_LIMIT,
        grace: timedelta = DEFAULT_GRACE,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        work: Work = verify,
    ) -> None:
        self.settings = settings
        self.processes = processes
        self.time_limit = time_limit
        self.hard_limit = (time_limit + grace).total_seconds()
        self.memory_limit = memory_limit
        self.work = work
        self._idle: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._children: set[_Child] = set()
        self._started = 0  # children running or starting
        self._closed = False
        self._context = multiprocessing.get_context("spawn")  # never fork a threaded server

    def verify_pdf(self, pdf: bytes, moment: datetime) -> VerificationReport:
        """The report on ``pdf`` as of ``moment``; blocks while every child is busy."""
        child = self._take()
        if child is None:
            return conclude([R.NOT_EVALUABLE], Facts(), moment)
        try:
            report = child.run(pdf, moment, self.hard_limit)
        except _ChildLost as lost:
            log.warning("a verification child was stopped: %s", lost.reason.code)
            self._discard(child)
            return conclude([lost.reason], Facts(), moment)
        self._idle.put(child)
        return report

    def warm_up(self) -> None:
        """Start a child now, in the background, so that the first upload need not wait."""

        def start() -> None:
            child = self._take()
            if child is not None:
                self._idle.put(child)

        threading.Thread(target=start, name="trustsvc-verify-warm-up", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children, self._children = self._children, set()
        for child in children:
            child.stop(kill=False)

    def _take(self) -> _Child | None:
        """An idle child, or a new one while fewer than ``processes`` run; None once closed."""
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if self._closed:
                    return None
                start = self._started < self.processes
                if start:
                    self._started += 1
            if start:
                return self._start_counted()
            try:  # all busy: wait for one, looking again now and then (one may have died)
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _start_counted(self) -> _Child | None:
        try:
            child = self._start()
        except _ChildLost:
            with self._lock:
                self._started -= 1
            return None
        with self._lock:
            closed = self._closed
            if not closed:
                self._children.add(child)
        if closed:  # closed while the child started
            child.stop(kill=False)
            return None
        return child

    def _start(self) -> _Child:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_child,
            args=(self.settings, theirs, self.time_limit, self.memory_limit, self.work),
            name="trustsvc-verify",
            daemon=True,
        )
        process.start()
        theirs.close()
        try:
            ready = ours.poll(_START_TIMEOUT) and ours.recv_bytes(16) == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            log.error("a verification child did not start")
            process.kill()
            process.join(timeout=10)
            ours.close()
            raise _ChildLost(R.NOT_EVALUABLE)
        return _Child(process, ours)

    def _discard(self, child: _Child) -> None:
        child.stop(kill=True)
        with self._lock:
            if child in self._children:
                self._children.remove(child)
                self._started -= 1
