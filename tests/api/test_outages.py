"""Outages and full disks: a clear error within a bound, and nothing left behind.

A TSA that hangs or refuses fails issuance within TRUSTSVC_TSA_TIMEOUT_SECONDS
(503 tsa-unavailable); a full or unwritable document store is 507/503 with its
own code, and /readyz says not ready; partial files are removed, and documents
no license was recorded for are swept once older than the grace period.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import stat
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.api.conftest import Api
from tests.cli.running import assert_one_line_error, run
from tests.conftest import free_port
from tests.helpers import DEPARTMENT_A, enterprise_holder
from trustsvc.api.errors import http_status
from trustsvc.clock import FixedClock
from trustsvc.db.models import LicenseRecord, StoredDocument
from trustsvc.documents import store as storage
from trustsvc.documents.store import DatabaseDocumentStore, FolderDocumentStore
from trustsvc.errors import (
    DocumentStoreFullError,
    DocumentStoreUnavailableError,
    TimestampUnavailableError,
)
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.sweep import sweep_documents
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.tsa import ExternalTimeStamper
from trustsvc.services import Services
from trustsvc.settings import DocumentStoreKind


def _request(licenses: IssuingService, key: str | None = None, **changes: Any) -> IssueRequest:
    data = {**example_data(get_type(licenses.types, "business-license")), **changes}
    return IssueRequest(DEPARTMENT_A, "business-license", data, idempotency_key=key)


def _count(services: Services) -> int:
    with services.database.begin() as session:
        return session.scalar(select(func.count()).select_from(LicenseRecord)) or 0


def _files(services: Services) -> list[Path]:
    folder = services.settings.home / "documents"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def silent_tsa() -> Iterator[str]:
    """A TSA URL whose server accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/tsr"
    finally:
        listener.close()


def _with_tsa(licenses: IssuingService, url: str, timeout: float) -> None:
    licenses.producer.sealer.timestamper = ExternalTimeStamper(url, timeout)


# ---- the TSA -------------------------------------------------------------------------


def test_a_silent_tsa_fails_issuance_within_its_timeout(
    services: Services, licenses: IssuingService, silent_tsa: str
) -> None:
    # Warm first, with the built-in TSA: a cold first issue (fonts, the seal's prepared
    # parts) can take seconds on a busy machine, and only the wait on the TSA is timed here.
    licenses.issue(_request(licenses, **enterprise_holder()))
    before, stored = _count(services), _files(services)
    _with_tsa(licenses, silent_tsa, 0.5)
    started = time.monotonic()
    with pytest.raises(TimestampUnavailableError, match=r"did not answer within 0\.5 s") as caught:
        licenses.issue(_request(licenses))
    assert time.monotonic() - started < 2.0
    assert silent_tsa in caught.value.message
    assert http_status(caught.value) == 503 and caught.value.code == "tsa-unavailable"
    assert _count(services) == before and _files(services) == stored


def test_a_refused_tsa_is_named_and_nothing_is_stored(
    services: Services, licenses: IssuingService
) -> None:
    url = f"http://127.0.0.1:{free_port()}/tsr"
    _with_tsa(licenses, url, 5)
    with pytest.raises(TimestampUnavailableError, match="could not be reached"):
        licenses.issue(_request(licenses))
    assert _count(services) == 0 and _files(services) == []


def test_a_tsa_whose_credentials_are_in_its_url_is_named_without_them() -> None:
    stamper = ExternalTimeStamper("https://user:secret@tsa.example.org:8443/tsr", 5)
    assert stamper.shown_url == "https://tsa.example.org:8443/tsr"


def test_the_api_answers_503_tsa_unavailable(api: Api, silent_tsa: str) -> None:
    _with_tsa(api.licenses, silent_tsa, 0.3)
    answer = api.http.post(
        "/api/v1/licenses",
        json={"type": "business-license", "data": _request(api.licenses).data},
        headers={**api.as_("issuer_a"), "Idempotency-Key": "tsa-down-1"},
    )
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "tsa-unavailable"
    assert "timestamp authority" in answer.json()["title"]


# ---- a full or unwritable store --------------------------------------------------------


def _failing_writes(monkeypatch: pytest.MonkeyPatch, error: int) -> None:
    """Every file the store writes fails with ``error`` after half its bytes."""
    real_fdopen = os.fdopen

    class Failing:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(error, os.strerror(error))

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return Failing(handle) if "w" in mode else handle

    monkeypatch.setattr(storage.os, "fdopen", fdopen)


@pytest.mark.parametrize(
    ("error", "raised", "status", "code"),
    [
        (errno.ENOSPC, DocumentStoreFullError, 507, "document-store-full"),
        (errno.EDQUOT, DocumentStoreFullError, 507, "document-store-full"),
        (errno.EROFS, DocumentStoreUnavailableError, 503, "document-store-unavailable"),
        (errno.EACCES, DocumentStoreUnavailableError, 503, "document-store-unavailable"),
    ],
)
def test_a_store_that_cannot_be_written_is_a_clear_error_leaving_nothing(
    services: Services,
    licenses: IssuingService,
    monkeypatch: pytest.MonkeyPatch,
    error: int,
    raised: type[Exception],
    status: int,
    code: str,
) -> None:
    _failing_writes(monkeypatch, error)
    with pytest.raises(raised) as caught:
        licenses.issue(_request(licenses))
    assert http_status(caught.value) == status
    assert getattr(caught.value, "code", None) == code
    assert _count(services) == 0
    assert _files(services) == []  # no partial .tmp file either


def test_a_full_store_is_507_and_readyz_not_ready_until_it_has_room(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "PROBE_SECONDS", 0.0)
    assert api.http.get("/readyz").status_code == 200
    _failing_writes(monkeypatch, errno.ENOSPC)
    answer = api.http.post(
        "/api/v1/licenses",
        json={"type": "business-license", "data": _request(api.licenses).data},
        headers={**api.as_("issuer_a"), "Idempotency-Key": "disk-full-1"},
    )
    assert answer.status_code == 507, answer.text
    assert answer.json()["code"] == "document-store-full"
    ready = api.http.get("/readyz")
    assert ready.status_code == 503
    assert "full" in ready.json()["detail"]
    monkeypatch.undo()
    monkeypatch.setattr(storage, "PROBE_SECONDS", 0.0)
    assert api.http.get("/readyz").status_code == 200
    assert list((api.services.settings.home / "documents").rglob("*.tmp")) == []


def test_the_readiness_probe_is_reused_for_a_few_seconds(tmp_path: Path) -> None:
    store = FolderDocumentStore(tmp_path / "documents")
    writes: list[int] = []
    real = storage._write_synced

    def counting(path: Path, content: bytes) -> None:
        writes.append(1)
        real(path, content)

    storage._write_synced = counting  # type: ignore[assignment]
    try:
        for _ in range(5):
            store.probe()
    finally:
        storage._write_synced = real  # type: ignore[assignment]
    assert len(writes) == 1
    assert list((tmp_path / "documents").iterdir()) == []


def test_a_full_or_read_only_database_store_has_the_same_codes() -> None:
    class Original(Exception):
        def __init__(self, text: str, sqlstate: str | None = None) -> None:
            super().__init__(text)
            self.sqlstate = sqlstate

    def error(text: str, sqlstate: str | None = None) -> Any:
        return storage._database_error(OperationalError("INSERT", {}, Original(text, sqlstate)))

    assert isinstance(error("database or disk is full"), DocumentStoreFullError)
    assert isinstance(error("could not extend file", "53100"), DocumentStoreFullError)
    assert isinstance(error("attempt to write a readonly database"), DocumentStoreUnavailableError)
    assert isinstance(error("read-only transaction", "25006"), DocumentStoreUnavailableError)
    assert error("deadlock detected", "40P01") is None


def test_the_folder_is_synced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        synced.append("folder" if stat.S_ISDIR(mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(storage.os, "fsync", fsync)
    store = FolderDocumentStore(tmp_path / "documents")
    store.put(b"%PDF-1.7 sealed", clock.now())
    assert synced == ["file", "folder"]


# ---- leaving nothing behind -------------------------------------------------------------


def test_a_lost_idempotency_race_removes_its_own_document(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A type a holder may hold many of: the race is decided by the key alone.
    data = dict(example_data(get_type(licenses.types, "real-estate-certificate")))
    request = IssueRequest(
        DEPARTMENT_A, "real-estate-certificate", data, idempotency_key="race-0001"
    )
    first = licenses.issue(request)
    replay = licenses._replay
    checks: list[int] = []

    def late_replay(*args: Any) -> Any:
        # The first check finds nothing, as when 20 requests with one key arrive at once.
        checks.append(1)
        return None if len(checks) == 1 else replay(*args)

    monkeypatch.setattr(licenses, "_replay", late_replay)
    again = licenses.issue(request)
    assert not again.created and again.license.identifier == first.license.identifier
    assert len(checks) == 2
    assert [p.name for p in _files(services)] == [f"{first.license.sha256}.pdf"]


@pytest.fixture(params=[DocumentStoreKind.FOLDER, DocumentStoreKind.DATABASE])
def store_kind(request: pytest.FixtureRequest) -> DocumentStoreKind:
    kind: DocumentStoreKind = request.param
    return kind


def _store(services: Services, kind: DocumentStoreKind) -> storage.DocumentStore:
    if kind is DocumentStoreKind.DATABASE:
        return DatabaseDocumentStore(services.database)
    return FolderDocumentStore(services.settings.home / "documents")


def test_the_sweep_removes_old_unrecorded_documents_only(
    services: Services, licenses: IssuingService, clock: FixedClock, store_kind: DocumentStoreKind
) -> None:
    services = services
    store = _store(services, store_kind)
    licenses.store = store
    recorded = licenses.issue(_request(licenses)).license.sha256
    orphan = store.put(b"%PDF-1.7 sealed, never recorded (kill -9)", clock.now())
    clock.advance(timedelta(minutes=50))
    young = store.put(b"%PDF-1.7 sealed ten minutes ago, being recorded", clock.now())
    clock.advance(timedelta(minutes=11))
    grace = timedelta(hours=1)
    report = sweep_documents(store, services.database, clock, grace)
    assert report.documents_removed == 1
    store.get(recorded)
    store.get(young)
    with pytest.raises(Exception, match="no document"):
        store.get(orphan)
    # Several processes sweeping at once, or again: nothing more to do.
    assert sweep_documents(store, services.database, clock, grace).documents_removed == 0


def test_storing_again_makes_a_document_young_again(
    services: Services, licenses: IssuingService, clock: FixedClock, store_kind: DocumentStoreKind
) -> None:
    store = _store(services, store_kind)
    content = b"%PDF-1.7 the same bytes, stored twice"
    store.put(content, clock.now())
    clock.advance(timedelta(hours=2))
    sha256 = store.put(content, clock.now())
    clock.advance(timedelta(minutes=30))
    sweep_documents(store, services.database, clock, timedelta(hours=1))
    assert store.get(sha256) == content
    if store_kind is DocumentStoreKind.DATABASE:
        with services.database.begin() as session:
            assert session.scalar(select(func.count()).select_from(StoredDocument)) == 1


def test_temporary_files_of_dead_writes_are_swept(
    services: Services, licenses: IssuingService
) -> None:
    store = FolderDocumentStore(services.settings.home / "documents")
    folder = store.directory / "ab"
    folder.mkdir(parents=True)
    dead = folder / f".{'ab' * 32}.0badf00d.tmp"
    dead.write_bytes(b"%PDF-1.7 half")
    old = time.time() - 3600
    os.utime(dead, (old, old))
    live = folder / f".{'ab' * 32}.1badf00d.tmp"
    live.write_bytes(b"%PDF-1.7 being written")
    report = sweep_documents(store, services.database, services.clock, timedelta(hours=1))
    assert report.temporaries_removed == 1
    assert not dead.exists() and live.exists()


def test_serve_sweeps_at_start(services: Services, licenses: IssuingService) -> None:
    from trustsvc.api.app import create_app

    store = FolderDocumentStore(services.settings.home / "documents")
    stale = services.clock.now() - timedelta(hours=3)
    orphan = store.put(b"%PDF-1.7 left by a crash", stale)
    with TestClient(create_app(services.settings, services=services)):
        deadline = time.monotonic() + 10
        while store._path(orphan).exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)


def test_store_sweep_and_a_down_tsa_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init").returncode == 0
    added = run(home, "department", "add", "--name", "杭州市市场监督管理局", "--code", DEPARTMENT_A)
    assert added.returncode == 0, added.stderr
    data_file = tmp_path / "data.json"
    data_file.write_text(run(home, "types", "example", "business-license").stdout)
    url = f"http://127.0.0.1:{free_port()}/tsr"
    issued = run(
        home,
        *("issue", "--department", DEPARTMENT_A, "--type", "business-license"),
        *("--data", str(data_file)),
        env={"TRUSTSVC_TSA_URL": url, "TRUSTSVC_TSA_TIMEOUT_SECONDS": "1"},
    )
    assert_one_line_error(issued, 1, url)
    swept = run(home, "store", "sweep")
    assert swept.returncode == 0, swept.stderr
    assert "removed 0 unrecorded document(s)" in swept.stdout


def test_concurrent_requests_with_one_key_leave_one_document(
    services: Services, licenses: IssuingService
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    request = _request(licenses, key="one-key-0001")
    barrier = threading.Barrier(4)

    def attempt(_: int) -> str:
        barrier.wait()
        return licenses.issue(request).license.sha256

    with ThreadPoolExecutor(4) as pool:
        digests = set(pool.map(attempt, range(4)))
    assert len(digests) == 1 and _count(services) == 1
    assert [p.name for p in _files(services)] == [f"{digests.pop()}.pdf"]


def _database_down(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new use of the engine fails as a refused connection does."""
    engine = api.services.database.engine

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("connect", {}, ConnectionRefusedError("connection refused"))

    engine.dispose()
    monkeypatch.setattr(engine, "connect", refused)
    monkeypatch.setattr(engine, "raw_connection", refused)


def test_a_database_out_of_reach_is_a_503_naming_it_on_the_api_and_the_pages(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    identifier = api.issue()
    sign_in = api.http.get("/staff/sign-in")  # before the outage: the form and its token
    token = re.search(r'name="csrf_token" value="([^"]+)"', sign_in.text)
    assert token is not None
    _database_down(api, monkeypatch)
    for answer in (
        api.http.get(f"/public/licenses/{identifier}/status"),
        api.http.get("/api/v1/licenses", headers=api.as_("issuer_a")),
    ):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "database-unavailable"
        assert "database" in answer.json()["title"]
    page = api.http.post(
        "/auth/dev-staff-sign-in",
        data={"subject": "clerk-1", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "服务暂时无法完成" in page.text and "database cannot be reached" in page.text
