"""Metrics (Prometheus) and structured request logs.

Each request is one JSON log line (``RequestLog``): its id, method, the route's template
(never the raw path or query string, which may carry ID numbers or tokens),
status, duration and the client's name. Secrets and ID numbers never reach
the log. Metrics are kept in the app's own registry; with several worker
processes, set PROMETHEUS_MULTIPROC_DIR and /metrics aggregates them all.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustsvc.verification.report import ReasonCode, VerificationReport


class Metrics:
    """The service's counters and histograms, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "trustsvc_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "trustsvc_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.issued = Counter(
            "trustsvc_licenses_issued",
            "Licenses issued (new, not idempotent replays), by license type.",
            ["license_type"],
            registry=self.registry,
        )
        self.verifications = Counter(
            "trustsvc_verifications",
            "Verifications made, by what was verified and the verdict.",
            ["kind", "verdict"],
            registry=self.registry,
        )
        self.altered_records = Counter(
            "trustsvc_library_records_altered",
            "Checks that met a library record its transparency-log entry does not vouch for.",
            ["kind"],
            registry=self.registry,
        )
        self.lookups = Counter(
            "trustsvc_lookups",
            "Cross-department lookups, answered or refused.",
            ["outcome"],
            registry=self.registry,
        )

    def verified(self, kind: str, report: VerificationReport) -> None:
        """Count a verification, and the altered library record it met, if it met one."""
        self.verifications.labels(kind, report.verdict.value).inc()
        self.note_altered(kind, report)

    def note_altered(self, kind: str, report: VerificationReport) -> None:
        if any(r.code is ReasonCode.LIBRARY_RECORD_ALTERED for r in report.reasons):
            self.altered_records.labels(kind).inc()

    def exposition(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def json_line(moment: datetime, level: str, logger: str, msg: str, **fields: Any) -> str:
    """One log entry as the service writes them all: a JSON object on one line."""
    entry = {
        "ts": moment.isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "msg": msg,
        **fields,
    }
    return json.dumps(entry, ensure_ascii=False, default=str)


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the record's extra fields."""

    _RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            key: value
            for key, value in record.__dict__.items()
            if key not in self._RESERVED and not key.startswith("_")
        }
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json_line(
            datetime.fromtimestamp(record.created, UTC),
            record.levelname.lower(),
            record.name,
            record.getMessage(),
            **fields,
        )


def configure_logging(level: int = logging.INFO) -> None:
    """Send trustsvc's logs to stderr as JSON lines (called by ``trustsvc serve``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("trustsvc")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class RequestLog:
    """The request log: one JSON line per request, in the same shape as the other logs.

    Written by the event loop into a buffered stream that is flushed within half
    a second, not through ``logging`` with a write per line: that cost a quarter
    of a public status answer.
    """

    FLUSH_AFTER = 0.5

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._flush_pending = False

    @classmethod
    def to_stderr(cls) -> RequestLog:
        """On the process's standard error, through a buffer of its own."""
        stream = open(  # noqa: SIM115 (kept open for the life of the process)
            sys.stderr.fileno(), "w", buffering=65536, encoding="utf-8", closefd=False
        )
        return cls(stream)

    def write(self, **entry: Any) -> None:
        self.stream.write(json_line(datetime.now(UTC), "info", "trustsvc.http", "request", **entry))
        self.stream.write("\n")
        if not self._flush_pending:
            self._flush_pending = True
            try:
                asyncio.get_running_loop().call_later(self.FLUSH_AFTER, self.flush)
            except RuntimeError:  # no loop: written from a plain thread
                self.flush()

    def flush(self) -> None:
        self._flush_pending = False
        self.stream.flush()


def _route_template(scope: Scope) -> str:
    matched = scope.get("route")  # set by FastAPI's router on the scope it was given
    if matched is not None:
        return str(getattr(matched, "path", "unmatched"))
    app = scope.get("app")
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class ObservabilityMiddleware:
    """Times every request, counts it, logs it, and gives it an ``X-Request-ID``."""

    def __init__(self, app: ASGIApp, metrics: Metrics, request_log: RequestLog | None) -> None:
        self.app = app
        self.metrics = metrics
        self.request_log = request_log
        # Unique across processes and restarts without a system call per request.
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def _next_id(self) -> str:
        return f"{self._prefix}-{next(self._counter):x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if 0 < len(given) <= 64 and given.isprintable() else self._next_id()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (b"x-request-id", request_id.encode("latin-1"))
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if self.request_log is not None:
                self.request_log.write(
                    request_id=request_id,
                    method=method,
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                    client=scope["state"].get("client_name"),
                )
