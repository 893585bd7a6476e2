"""Shared fixtures: settings per database backend, an initialised home, a live server.

Every database test runs on SQLite, and again on PostgreSQL when
TRUSTSVC_TEST_POSTGRES_URL names a database; each PostgreSQL test gets a
schema of its own, dropped afterwards. With TRUSTSVC_TEST_STRICT=1 (set by
scripts/test.sh) a single skipped test fails the run, so no suite can hide.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from trustsvc.api.app import create_app
from trustsvc.api.server import uvicorn_options
from trustsvc.bootstrap import build_licenses, initialise_home, open_services
from trustsvc.clock import FixedClock
from trustsvc.licenses.issuing import LicenseService
from trustsvc.services import Services
from trustsvc.settings import Settings

POSTGRES_URL_VARIABLE = "TRUSTSVC_TEST_POSTGRES_URL"


# ---- no hidden skips ----------------------------------------------------------

_skipped: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # As every entry point does, once: no test sees one PDF reader or the other by order
    # (tests/verification/test_hex_strings.py compares the two explicitly).
    from trustsvc.verification import hex_strings

    hex_strings.install()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("TRUSTSVC_TEST_STRICT") == "1" and _skipped:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"TRUSTSVC_TEST_STRICT: {len(_skipped)} test(s) skipped, which fails the run: "
                + ", ".join(_skipped[:5]),
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ---- databases ---------------------------------------------------------------


def _postgres_schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None for the home's SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    base_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base_url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(base_url, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---- settings, home, services ---------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, port: int) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        public_base_url=f"http://127.0.0.1:{port}",
        key_passphrase=SecretStr(secrets.token_urlsafe(16)),
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def services(settings: Settings, clock: FixedClock) -> Iterator[Services]:
    initialise_home(settings, clock)
    opened = open_services(settings, clock)
    try:
        yield opened
    finally:
        opened.close()


class LiveServer:
    def __init__(self, services: Services, port: int) -> None:
        config = uvicorn.Config(
            create_app(services.settings, services=services),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            # As ``trustsvc serve`` runs it: the same protocol, limits and proxy rules.
            **uvicorn_options(services.settings),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(services: Services, port: int) -> Iterator[LiveServer]:
    """The service's HTTP app on 127.0.0.1 at the port its certificates point to."""
    server = LiveServer(services, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def licenses(services: Services) -> Iterator[LicenseService]:
    """The license service with two departments that can seal: A (region 330100) and B."""
    from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
    from trustsvc.departments.registry import add_department
    from trustsvc.licenses.entitlement import set_entitlement

    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100")
    add_department(services, "宁波市住房和城乡建设局", DEPARTMENT_B, "330200")
    # The kinds come from the names; A (market regulation) also issues the real-estate
    # certificates that many tests use, by an explicit grant (the type's rule names
    # natural-resources departments; tests/licenses/test_entitlement.py tests the rule).
    set_entitlement(
        services, DEPARTMENT_A, "real-estate-certificate", allowed=True, reason="test fixture"
    )
    yield build_licenses(services)
