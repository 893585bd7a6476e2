"""The public face in a real browser: the home page and its box, every standing of the page a
scanned QR code opens, spent and expired presentation codes, a revoked license, the holder's
sign-in form; at a phone's and a desk's width, with JavaScript off where it must not matter,
axe-core on every page, and screenshots kept for people to look at."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
from tests.licenses.pdf_checks import read_qr_codes
from tests.pages.conftest import check_a11y, fits_the_screen
from trustsvc.clock import FixedClock
from trustsvc.holders.presentation import present
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action, RevocationKind
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.verification.library import DatabaseLibrary

pytestmark = pytest.mark.browser

Shoot = Callable[[Page, str], Path]

#: Where every line of an element's text ends, and the character it ends on (JavaScript):
#: a line ends where the next character's box starts lower down.
_LINE_ENDS = """e => {
  const ends = []; let last = null, top = null;
  const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (top !== null && box.top > top + 2) ends.push(last);
      top = box.top; last = node.data[i];
    }
  }
  return ends;
}"""


def _issue(
    licenses: IssuingService,
    type_key: str = "real-estate-certificate",
    department: str = DEPARTMENT_A,
    **changes: str,
) -> tuple[str, str, str]:
    """A license issued; its identifier, number and the link its QR code carries.

    Issued from a worker thread: sealing runs an event loop of its own (asyncio.run),
    which cannot start on the thread where Playwright's sync API keeps its loop running.
    """
    data = {**example_data(get_type(licenses.types, type_key)), **changes}
    with ThreadPoolExecutor(max_workers=1) as worker:
        issued = worker.submit(licenses.issue, IssueRequest(department, type_key, data))
        view = issued.result().license
    [link] = read_qr_codes(licenses.document(view.identifier))
    return view.identifier, view.license_number, link


def _look(page: Page, shoot: Shoot, name: str, *, scripts: bool = True) -> None:
    """What every public page must be: nothing sideways, nothing serious for axe, kept.

    axe-core is a script: with JavaScript off (``scripts`` False) it cannot run, and the
    test checks the same page with JavaScript on as well.
    """
    shoot(page, name)  # first: a page that fails below is there to look at
    fits_the_screen(page)
    if scripts:
        check_a11y(page)


def _standing(page: Page, link: str, standing: str, headline: str) -> None:
    page.goto(link)
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-standing", standing)
    expect(page.locator("#verdict strong")).to_have_text(headline)


def _checks(page: Page) -> dict[str, str]:
    rows = page.locator(".check")
    return {
        rows.nth(i).get_attribute("data-check") or "": rows.nth(i).get_attribute("data-state") or ""
        for i in range(rows.count())
    }


def test_the_home_page_says_what_the_service_is_and_the_ways_in(
    live_pages: LiveServer, phone: Page, desk: Page, shoot: Shoot
) -> None:
    for page in (phone, desk):
        page.goto(f"{live_pages.base_url}/")
        expect(page.locator("h1")).to_have_text("电子证照信任服务")
        expect(page.locator(".home-lead")).to_contain_text("核验证照是否真实")
        for way, target in (("#desk", "/desk"), ("#mine", "/me"), ("#staff", "/staff/sign-in")):
            expect(page.locator(f"{way} a.button")).to_have_attribute("href", target)
        expect(page.locator("#q")).to_be_visible()
        _look(page, shoot, "home")
    desk.goto(f"{live_pages.base_url}/?lang=en")
    expect(desk.locator("h1")).to_have_text("E-license trust service")
    _look(desk, shoot, "home-en")
    desk.goto(f"{live_pages.base_url}/")  # the choice is remembered
    expect(desk.locator("h1")).to_have_text("E-license trust service")


def test_the_home_box_takes_a_link_or_an_identifier_without_javascript(
    live_pages: LiveServer, licenses: IssuingService, no_script: Page, desk: Page, shoot: Shoot
) -> None:
    identifier, number, link = _issue(licenses)
    page = no_script
    page.goto(f"{live_pages.base_url}/")
    page.fill("#q", f"  {link}  ")  # as a phone's scanner app pastes it
    page.click("#check")
    page.wait_for_url(link)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "valid")

    page.goto(f"{live_pages.base_url}/")
    page.fill("#q", identifier.lower())
    page.click("#check")
    # Only the library was asked: in force, with the note that the document was not checked.
    expect(page.locator("#verdict")).to_have_attribute("data-standing", "attention")
    expect(page.locator("#verdict")).to_contain_text("仅查询了证照库中的状态")
    assert _checks(page) == {
        "unchanged": "not_checked",
        "entitled_issuer": "not_checked",
        "in_force": "passed",
        "sealing_time": "not_checked",
    }
    expect(page.locator("#fact-license_number")).to_have_text(number)
    _look(page, shoot, "status-by-identifier", scripts=False)

    # A license number is refused here, with the reason, and the box keeps what was typed.
    page.goto(f"{live_pages.base_url}/")
    page.fill("#q", number)
    page.click("#check")
    expect(page.locator("#q-error")).to_contain_text("证照编号不能在此公开查询")
    expect(page.locator("#q")).to_have_value(number)
    _look(page, shoot, "home-refused", scripts=False)
    # The same two pages at a desk, with JavaScript on for axe-core.
    for query in (identifier, number):
        desk.goto(f"{live_pages.base_url}/check?q={query}")
        _look(desk, shoot, "check")
    answer = requests.get(f"{live_pages.base_url}/check", params={"q": number}, timeout=10)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    too_long = requests.get(f"{live_pages.base_url}/check", params={"q": "A" * 3000}, timeout=10)
    assert too_long.status_code == 422 and "输入过长" in too_long.text


def test_each_standing_of_the_qr_page_has_its_word_colour_and_icon(
    live_pages: LiveServer,
    licenses: IssuingService,
    clock: FixedClock,
    phone: Page,
    desk: Page,
    shoot: Shoot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _identifier, _number, valid = _issue(licenses)
    # The service's date (its time zone's), which the page counts the days from, not UTC's.
    soon = (licenses.today() + timedelta(days=10)).isoformat()
    _identifier, _number, ending = _issue(
        licenses, "construction-permit", DEPARTMENT_B, valid_until=soon
    )
    tampered = valid[:-5] + ("AAAAA" if not valid.endswith("AAAAA") else "BBBBB")
    looks: dict[str, tuple[str, str]] = {}
    for page in (phone, desk):
        _standing(page, valid, "valid", "有效")
        assert set(_checks(page).values()) == {"passed"}
        expect(page.locator("#fact-signing_time")).not_to_be_empty()
        _look(page, shoot, "valid")
        looks["valid"] = _tone(page)

        _standing(page, ending, "attention", "需注意")
        expect(page.locator("#verdict")).to_contain_text("还有10天")
        _look(page, shoot, "attention")
        looks["attention"] = _tone(page)

        _standing(page, tampered, "invalid", "无效")
        assert _checks(page)["unchanged"] == "failed"
        expect(page.locator("#facts-unproven")).to_contain_text("未能证实")
        expect(page.locator("#advice-title")).to_be_visible()
        _look(page, shoot, "invalid")
        looks["invalid"] = _tone(page)

    # The service cannot reach its library: that is "could not verify", not "invalid".
    def out_of_reach(*_args: object) -> object:
        raise ConnectionError("the database is down")

    monkeypatch.setattr(DatabaseLibrary, "token_entry", out_of_reach)
    for page in (phone, desk):
        _standing(page, valid, "undecided", "无法核验")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "not_evaluable")
        expect(page.locator(".advice")).to_contain_text("不表示证照无效")
        _look(page, shoot, "undecided")
        looks["undecided"] = _tone(page)
    # Not colour alone: each standing has a colour and an icon of its own.
    assert len({colour for colour, _icon in looks.values()}) == len(looks), looks
    assert len({icon for _colour, icon in looks.values()}) == len(looks), looks


def _tone(page: Page) -> tuple[str, str]:
    """The verdict's border colour, and its icon's drawing."""
    colour = page.locator("#verdict").evaluate("e => getComputedStyle(e).borderTopColor")
    icon = page.locator("#verdict .verdict-icon").inner_html()
    return str(colour), icon


def test_identifiers_break_only_after_their_dots_on_a_phone(
    live_pages: LiveServer, licenses: IssuingService, phone: Page
) -> None:
    identifier, _number, link = _issue(licenses)
    phone.goto(link)
    shown = phone.locator("#fact-identifier")
    expect(shown).to_have_text(identifier)  # <wbr> is no character: copying gives it whole
    ends = shown.evaluate(_LINE_ENDS)
    assert ends, "the identifier fits one line at 390 px: this test would prove nothing"
    assert set(ends) == {"."}, f"the identifier breaks inside a part: after {ends}"
    # No raw status code beside the words.
    expect(phone.locator("#fact-status")).to_have_text("现行有效")


def test_a_spent_or_expired_presentation_code_asks_for_a_fresh_one(
    live_pages: LiveServer,
    services: Services,
    licenses: IssuingService,
    clock: FixedClock,
    phone: Page,
    desk: Page,
    shoot: Shoot,
) -> None:
    identifier, _number, _link = _issue(licenses)
    spent = present(services, identifier, actor="holder", single_use=True)
    _standing(phone, spent.link, "valid", "有效")
    for page in (phone, desk):
        _standing(page, spent.link, "show_again", "请持证人重新出示")
        expect(page.locator("#verdict")).to_contain_text("已被核验过")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "presentation_used")
        expect(page.locator("#fact-status")).to_have_text("现行有效")  # the license is fine
        _look(page, shoot, "code-spent")

    expiring = present(services, identifier, actor="holder", lifetime=timedelta(minutes=2))
    clock.current = clock.current + timedelta(minutes=5)
    for page in (phone, desk):
        _standing(page, expiring.link, "show_again", "请持证人重新出示")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "presentation_expired")
        expect(page.locator("#verdict")).to_contain_text("亮证码已过期")
        _look(page, shoot, "code-expired")


def test_a_revoked_license_says_cancelled_with_the_date_without_javascript(
    live_pages: LiveServer,
    licenses: IssuingService,
    no_script: Page,
    desk: Page,
    shoot: Shoot,
) -> None:
    identifier, _number, link = _issue(licenses)
    _standing(no_script, link, "valid", "有效")  # the page needs no script
    licenses.transition(
        identifier, Action.REVOKE, "clerk", "申请注销", revocation_kind=RevocationKind.CANCELLED
    )
    for page in (no_script, desk):
        _standing(page, link, "invalid", "无效")
        expect(page.locator("#fact-status")).to_have_text(_cancelled_on(licenses, identifier))
        expect(page.locator("#verdict")).to_contain_text("原因：申请注销")
        assert _checks(page)["in_force"] == "failed"
        expect(page.locator(".advice")).to_contain_text("请勿据此证照办理业务")
        _look(page, shoot, "revoked", scripts=page is desk)
    # Printed (for a file): the verdict and the facts, without the site's header and links.
    desk.emulate_media(media="print")
    expect(desk.locator("header.site")).to_be_hidden()
    expect(desk.locator("#verdict")).to_be_visible()
    expect(desk.locator("#fact-status")).to_be_visible()
    shoot(desk, "revoked-print")


def _cancelled_on(licenses: IssuingService, identifier: str) -> str:
    history = licenses.history(identifier)
    moment = history.events[-1].at.astimezone(licenses.zone)
    return f"已注销（{moment:%Y年%m月%d日 %H:%M}）"


def test_the_holder_sign_in_form_says_what_is_wrong_in_chinese(
    live_pages: LiveServer, phone: Page, desk: Page, shoot: Shoot
) -> None:
    for page in (phone, desk):
        page.goto(f"{live_pages.base_url}/auth/sign-in")
        expect(page.locator("h1")).to_have_text("持证人登录")
        _look(page, shoot, "holder-sign-in")
        page.select_option("#id_type", "111")
        page.fill("#id_number", "330106198503120045")  # a wrong check digit
        page.fill("#name", "王小红")
        page.click("#sign-in")
        expect(page.locator("#sign-in-error")).to_contain_text("证件号码不正确")
        expect(page.locator("#id_number")).to_have_value("330106198503120045")
        expect(page.locator("#name")).to_have_value("王小红")
        _look(page, shoot, "holder-sign-in-refused")
