"""Shared fixtures: settings per database backend, an initialised home, a live server.

Every database test runs on SQLite, and again on PostgreSQL when
TRUSTSVC_TEST_POSTGRES_URL names a database; each PostgreSQL test gets a
schema of its own, dropped afterwards. The browser tests (tests/pages) run on
PostgreSQL alone: see their conftest. With TRUSTSVC_TEST_STRICT=1 (set by
scripts/test.sh) a single skipped test fails the run, so no suite can hide.

``services`` gives each test a copy of a home initialised once per test process
(tests/homes.py): the PKI is made once, the files and the database rows copied.
The app, uvicorn and the license service are imported only by the fixtures that
use them, so a test of pure code starts without them.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from tests.homes import HomeTemplates, schema_url
from trustsvc.bootstrap import initialise_home, open_services
from trustsvc.clock import FixedClock
from trustsvc.services import Services
from trustsvc.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from trustsvc.licenses.issuing import IssuingService

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
            reporter.ensure_newline()
            reporter.write_line(
                f"TRUSTSVC_TEST_STRICT: {len(_skipped)} test(s) skipped, which fails the run: "
                + ", ".join(_skipped[:5]),
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ---- databases ---------------------------------------------------------------


#: The two databases every database test runs on (PostgreSQL when the run names one).
SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRES = pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)


@pytest.fixture(params=[SQLITE, POSTGRES])
def database_url(
    request: pytest.FixtureRequest, home_templates: HomeTemplates
) -> Iterator[str | None]:
    """None for the home's SQLite file, or a PostgreSQL schema of the test's own."""
    yield from database_for(request, home_templates)


def database_for(
    request: pytest.FixtureRequest, home_templates: HomeTemplates
) -> Iterator[str | None]:
    """The database of ``request.param`` ("sqlite" or "postgres") for one test.

    A test that opens a home (``services``) borrows an emptied schema with the
    tables made (tests/homes.py); any other test gets a new, empty schema.
    """
    if request.param == "sqlite":
        yield None
        return
    base_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base_url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    if "services" in request.fixturenames:
        schema = home_templates.lend_schema()
        try:
            yield schema_url(base_url, schema)
        finally:
            home_templates.give_back(schema)
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(base_url, schema)
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


def _unclaimed_port() -> int:
    """A free port below the kernel's ephemeral range, where no outgoing connection lands.

    One per test process, kept for its whole run: the shared homes' certificates
    name it, and each test's live server (one at a time) listens on it. Each
    pytest-xdist worker draws from a band of its own, so two cannot pick the same.
    """
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    band = max(1, (low - 20000) // workers)
    chooser = random.Random()
    for _ in range(200):
        candidate = 20000 + (worker % workers) * band + chooser.randrange(band)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    return free_port()


@pytest.fixture(scope="session")
def port() -> int:
    """The port this test process's settings name (a live server listens there)."""
    return _unclaimed_port()


#: One passphrase per test process, so that tests' settings share the homes made under it.
TEST_PASSPHRASE = SecretStr(secrets.token_urlsafe(16))


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, port: int) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        public_base_url=f"http://127.0.0.1:{port}",
        key_passphrase=TEST_PASSPHRASE,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(scope="session")
def home_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeTemplates]:
    """Initialised homes, one per distinct settings, made the first time a test needs one."""
    templates = HomeTemplates(
        tmp_path_factory.mktemp("home-templates"), os.environ.get(POSTGRES_URL_VARIABLE) or None
    )
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture
def services(
    settings: Settings,
    clock: FixedClock,
    home_templates: HomeTemplates,
    request: pytest.FixtureRequest,
) -> Iterator[Services]:
    """An initialised home (a copy of one made once per process), opened at ``clock``."""
    # A test that uses ``licenses`` copies a template that has its two departments already.
    prepare = two_departments if "licenses" in request.fixturenames else None
    if not home_templates.install(settings, prepare):
        home_templates.clear(settings)
        initialise_home(settings, clock)
    opened = open_services(settings, clock)
    try:
        yield opened
    finally:
        opened.close()


class LiveServer:
    def __init__(self, services: Services, port: int) -> None:
        import uvicorn

        from trustsvc.api.app import create_app
        from trustsvc.api.server import uvicorn_options

        config = uvicorn.Config(
            create_app(services.settings, services=services),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            # As ``trustsvc serve`` runs it: the same protocol, limits and proxy rules.
            **uvicorn_options(services.settings),
        )
        self.server: uvicorn.Server = uvicorn.Server(config)
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


def two_departments(services: Services) -> None:
    """Departments A (region 330100) and B, both able to seal, as ``licenses`` gives them.

    Made once in the template home of the tests that use ``licenses`` (``services``),
    whose copies then hold the departments, their seals and their records already.
    """
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


@pytest.fixture
def licenses(services: Services) -> Iterator[IssuingService]:
    """The license service with two departments that can seal: A (region 330100) and B."""
    from trustsvc.bootstrap import build_licenses
    from trustsvc.departments.registry import list_departments

    if not list_departments(services):  # a home initialised here, not copied (``services``)
        two_departments(services)

    yield build_licenses(services)
