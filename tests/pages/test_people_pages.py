"""The people's pages in a real browser: Debian's headless Chromium, driven by Playwright.

A citizen signs in with the development form, finds their license on /me,
shows it (亮证), and sees the check in their access record; anyone who scans
a license's QR code gets the verdict page and no holder ID; /docs shows the
API with nothing loaded from outside. Screenshots are kept in the test's
tmp_path, and the Chinese text must be drawn with a font that has the glyphs
(not tofu boxes). No page may break the Content Security Policy.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect

from tests.api.conftest import CITIZEN_ID
from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A
from tests.licenses.pdf_checks import read_qr_codes
from tests.pages.conftest import open_page
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type

pytestmark = pytest.mark.browser

CITIZEN_ID_MASKED = "330106********0044"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies), phone-sized: the pages are read on phones.

    Whatever the Content Security Policy made Chromium refuse (a style, a script, an
    image, a form's target) fails the test: the policy must not break a page.
    """
    yield from open_page(chromium, {"width": 414, "height": 896}, device_scale_factor=2)


def _issue(licenses: IssuingService) -> tuple[str, str]:
    """A real-estate certificate for CITIZEN_ID: its identifier and license number.

    Issued from a worker thread: sealing runs an event loop of its own (asyncio.run),
    which cannot start on the thread where Playwright's sync API keeps its loop running.
    """
    data = dict(example_data(get_type(licenses.types, "real-estate-certificate")))
    assert data["holder_id"] == CITIZEN_ID
    request = IssueRequest(DEPARTMENT_A, "real-estate-certificate", data)
    with ThreadPoolExecutor(max_workers=1) as worker:
        issued = worker.submit(licenses.issue, request).result().license
    return issued.identifier, issued.license_number


def _assert_fits_the_phone(page: Page) -> None:
    """Nothing sticks out sideways: a phone user never has to scroll the page horizontally."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the phone's screen"


def _sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/auth/sign-in")
    _assert_fits_the_phone(page)
    page.select_option("#id_type", "111")
    page.fill("#id_number", CITIZEN_ID)
    page.fill("#name", "王小红")
    page.click("#sign-in")
    page.wait_for_url(f"{base_url}/me")


def test_a_citizen_shows_a_license_and_sees_the_check_in_the_record(
    licenses: IssuingService, live_server: LiveServer, page: Page
) -> None:
    base = live_server.base_url
    _identifier, number = _issue(licenses)
    _sign_in(page, base)
    expect(page.locator("#holder")).to_contain_text(CITIZEN_ID_MASKED)
    row = page.locator("#licenses .card", has_text=number)
    expect(row).to_contain_text("杭州市市场监督管理局")
    expect(page.locator("#access-record")).not_to_contain_text("亮证核验")

    row.get_by_role("button", name="亮证").click()
    shown = page.locator("#presentation-link")
    expect(shown).to_be_visible()
    link = shown.get_attribute("href")
    assert link is not None and link.startswith(f"{base}/v/")
    page.reload()  # the code was made by a POST and shown after a redirect: no second code
    expect(shown).to_have_attribute("href", link)
    _assert_fits_the_phone(page)  # the link is long and has no spaces
    # The code on the screen is what a verifier's phone scans: it must read back as the link.
    picture = Image.open(io.BytesIO(page.locator("#presentation-qr").screenshot()))
    assert [c.text for c in zxingcpp.read_barcodes(picture)] == [link]

    shown.click()
    page.wait_for_url(link)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "valid")
    expect(page.locator("#verdict strong")).to_have_text("有效")
    expect(page.locator("main")).to_contain_text(number)
    _assert_fits_the_phone(page)  # the identifier is long and has no spaces

    page.goto(link)  # a single-use code: the second look is refused
    expect(page.locator("#verdict")).not_to_have_attribute("data-verdict", "valid")
    expect(page.locator("#verdict strong")).not_to_have_text("有效")
    expect(page.locator("#verdict")).to_contain_text("一次性使用")

    page.goto(f"{base}/me")
    checked = page.locator("#access-record .entry", has_text="亮证核验")
    expect(checked.first).to_contain_text("public page")
    expect(checked.first).to_contain_text("已答复")
    _assert_fits_the_phone(page)


def test_the_scanned_qr_page_shows_the_verdict_and_no_holder_id(
    licenses: IssuingService, live_server: LiveServer, page: Page
) -> None:
    identifier, number = _issue(licenses)
    [link] = read_qr_codes(licenses.document(identifier))
    assert link.startswith(f"{live_server.base_url}/v/")
    page.goto(link)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "valid")
    text = page.locator("body").inner_text()
    assert number in text and "杭州市市场监督管理局" in text and "王*" in text
    assert "不动产权证书" in text and "现行有效" in text  # the type's name, the status in Chinese
    assert CITIZEN_ID not in text and CITIZEN_ID not in page.content()
    assert CITIZEN_ID_MASKED not in text  # not even masked: the public page names no ID
    assert "王小红" not in text


def _font_families_of(page: Page, selector: str) -> set[str]:
    """The fonts Chromium really drew the element's text with (DevTools CSS domain)."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("DOM.enable")
    devtools.send("CSS.enable")
    root = devtools.send("DOM.getDocument")["root"]["nodeId"]
    node = devtools.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = devtools.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    devtools.detach()
    return {font["familyName"] for font in fonts if font["glyphCount"] > 0}


def _fonts_with_glyphs_for(text: str) -> set[str]:
    """Installed font families that have a glyph for every Chinese character of ``text``."""
    fc_list = shutil.which("fc-list")
    assert fc_list, "fc-list (fontconfig) is needed to tell which fonts have Chinese glyphs"
    chinese = sorted({f"{ord(c):x}" for c in text if "\u4e00" <= c <= "\u9fff"})
    assert chinese, f"no Chinese in {text!r}"
    listed = subprocess.run(
        [fc_list, f":charset={' '.join(chinese)}", "family"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {family for line in listed.splitlines() for family in line.split(",") if family}


def _assert_chinese_drawn(page: Page, selector: str) -> None:
    """The element's Chinese text is drawn with a font that has its glyphs, not as tofu."""
    text = page.locator(selector).evaluate(
        "e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join('')"
    )
    able = _fonts_with_glyphs_for(text)
    assert able, f"no installed font can draw {text!r}"
    used = _font_families_of(page, selector)
    assert used & able, f"{text!r} drawn with {used}, none of which has its glyphs"


def _assert_screenshot(page: Page, path: Path) -> None:
    page.screenshot(path=path, full_page=True)
    image = path.read_bytes()
    assert image.startswith(PNG_SIGNATURE)
    assert len(image) > 20_000, f"{path.name} is {len(image)} bytes: an empty page?"


def test_the_pages_draw_their_chinese_text_and_screenshot_well(
    licenses: IssuingService, live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    identifier, _number = _issue(licenses)

    _sign_in(page, live_server.base_url)
    expect(page.locator("#licenses")).to_contain_text("不动产权证书")
    expect(page.locator("#licenses")).to_contain_text("现行有效")
    _assert_fits_the_phone(page)
    _assert_chinese_drawn(page, "h1")
    _assert_screenshot(page, tmp_path / "me.png")

    [link] = read_qr_codes(licenses.document(identifier))
    page.goto(link)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "valid")
    _assert_chinese_drawn(page, "#verdict strong")
    _assert_screenshot(page, tmp_path / "verdict.png")


def test_the_api_documentation_renders_with_nothing_from_outside(
    live_server: LiveServer, page: Page
) -> None:
    """Government networks are often offline: /docs must not need a CDN."""
    outside: list[str] = []

    def only_this_service(route: Route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(live_server.base_url).netloc:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_service)
    page.goto(f"{live_server.base_url}/docs")
    expect(page.locator(".information-container .title")).to_contain_text("trustsvc")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 40
    expect(
        page.locator(".opblock", has_text="/public/licenses/{identifier}/status")
    ).to_be_visible()
    assert outside == [], f"/docs asked for {outside}"
