"""Fixtures of the page tests: the app served on 127.0.0.1 with the development sign-in,
Debian's Chromium driven by Playwright (never a downloaded browser), pages at phone and
desk widths that fail on anything the Content Security Policy refused, screenshots, the
axe-core accessibility check, and staff and holders signed in through the real forms.

Screenshots go to ``var/test-screenshots/<test>/`` (``TRUSTSVC_SCREENSHOTS`` elsewhere):
kept after the run for people to look at, never committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.conftest import POSTGRES, LiveServer, database_for
from tests.helpers import add_purposes
from tests.homes import HomeTemplates
from trustsvc.licenses.issuing import IssuingService
from trustsvc.services import Services
from trustsvc.settings import Settings
from trustsvc.staff.users import StaffMember, StaffRole, add_user

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
#: As the machine's notes start it: no sandbox (root), and nothing reaching outside.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}
#: The purposes a test window may state (catalogue entries seeing every type).
WINDOW_PURPOSES = ("办理不动产抵押登记", "办理营业执照变更")
#: axe-core from the checkout's node_modules (``TRUSTSVC_NODE_MODULES`` names another, e.g. a
#: worktree's main checkout).
NODE_MODULES = Path(
    os.environ.get("TRUSTSVC_NODE_MODULES") or Path(__file__).resolve().parents[2] / "node_modules"
)
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
#: How long an action or an assertion waits for the page. The suite's two workers keep both
#: cores busy, and Chromium shares them: Swagger UI rendering the 240 kB OpenAPI document of
#: /docs has taken over five seconds (Playwright's default for ``expect``) there. A page that
#: never shows what is expected still fails, only later.
PATIENCE_MS = 15_000
expect.set_options(timeout=PATIENCE_MS)


@pytest.fixture(params=[POSTGRES])
def database_url(
    request: pytest.FixtureRequest, home_templates: HomeTemplates
) -> Iterator[str | None]:
    """PostgreSQL only, the database a province runs: what a browser test adds is the page
    (its HTML, script, styles, Content Security Policy, accessibility, what a person sees).
    The domain calls beneath every page, and the pages' own reads and forms through the
    test client (tests/api: test_holder_page, test_console_forms, test_charts, ...), run
    on both databases. Driving Chromium over the same pages on SQLite as well cost a
    fifth of the suite's time."""
    yield from database_for(request, home_templates)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with the development sign-in on (holders and staff)."""
    return settings.model_copy(update={"development_sign_in": True})


@pytest.fixture
def live_pages(services: Services, licenses: IssuingService, port: int) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 over a home with departments A and B and the window purposes."""
    add_purposes(services, *WINDOW_PURPOSES)
    server = LiveServer(services, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Browser, viewport: dict[str, int], **options: Any) -> Iterator[Page]:
    """A fresh profile's page; fails the test on anything the Content Security Policy refused."""
    options.setdefault("device_scale_factor", 1)
    context = browser.new_context(locale="zh-CN", viewport=viewport, **options)
    context.set_default_timeout(PATIENCE_MS)
    refused: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    try:
        made = context.new_page()
        made.on("console", watch)
        yield made
    finally:
        context.close()
    assert refused == [], f"the Content Security Policy refused: {refused}"


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    """A fresh profile on a 390-pixel phone."""
    yield from open_page(chromium, PHONE)


@pytest.fixture
def desk(chromium: Browser) -> Iterator[Page]:
    """A fresh profile at a counter's desk screen."""
    yield from open_page(chromium, DESK)


@pytest.fixture
def no_script(chromium: Browser) -> Iterator[Page]:
    """A fresh phone profile with JavaScript off: pages that must work without it."""
    yield from open_page(chromium, PHONE, java_script_enabled=False)


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``shoot(page, name)``: a full-page screenshot kept for people to look at."""
    root = Path(os.environ.get("TRUSTSVC_SCREENSHOTS") or Path.cwd() / "var/test-screenshots")
    folder = root / _UNSAFE.sub("_", request.node.name)[:120]

    def take(page: Page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"] if page.viewport_size else 0
        path = folder / f"{_UNSAFE.sub('_', name)}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def fits_the_screen(page: Page) -> None:
    """Nothing sticks out sideways: no one has to scroll the page horizontally."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def check_a11y(page: Page) -> None:
    """axe-core on the page as it is now: no serious or critical violation.

    The checker is evaluated through the DevTools protocol, which the page's Content
    Security Policy does not govern; the page itself loads nothing for it.
    """
    if page.evaluate("() => typeof window.axe") != "object":
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    bad = [v for v in results if v["impact"] in ("serious", "critical")]
    assert bad == [], f"accessibility violations on {page.url}: {bad}"


def add_staff(
    services: Services,
    role: StaffRole,
    subject: str,
    *,
    name: str = "测试人员",
    department_code: str | None = None,
    hall: str | None = None,
    window: str | None = None,
    purposes: tuple[str, ...] = (),
) -> StaffMember:
    """A member of staff; a clerk gets a hall, a window and the window purposes by default."""
    if role is StaffRole.CLERK:
        hall = hall or "杭州市民中心"
        window = window or "3号窗口"
        purposes = purposes or WINDOW_PURPOSES
    return add_user(
        services,
        subject,
        name,
        role,
        department_code=department_code,
        hall=hall,
        window=window,
        purposes=purposes,
    )


def sign_in_staff(page: Page, base_url: str, subject: str, next_path: str = "") -> None:
    """Through the development staff form, as a person would; lands where the role starts."""
    page.goto(f"{base_url}/staff/sign-in" + (f"?next={next_path}" if next_path else ""))
    page.fill("#subject", subject)
    page.click("#sign-in")
    page.wait_for_load_state()


def sign_in_holder(page: Page, base_url: str, id_number: str, name: str = "王小红") -> None:
    """Through the development holder form; lands on /me."""
    page.goto(f"{base_url}/auth/sign-in")
    page.select_option("#id_type", "111")
    page.fill("#id_number", id_number)
    page.fill("#name", name)
    page.click("#sign-in")
    page.wait_for_url(f"{base_url}/me")
