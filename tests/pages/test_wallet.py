"""The citizen's wallet in a real browser: 亮证, the record, grants, and who may open it.

A citizen signs in, shows a code whose QR fills most of a phone's width, a
verifier's system checks it through the API, the single-use code is then
spent, and the check appears in the citizen's record. The code renews itself
before it expires, and without script a button makes a new one. The citizen
grants a verifier the use of a license, the verifier's lookup under the grant
is answered and recorded against it, and once withdrawn the grant admits
nothing. Staff are refused the wallet. Every page passes axe-core and is
photographed at phone and desk widths.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.api.conftest import CITIZEN_ID
from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A
from tests.pages.conftest import (
    PHONE,
    WINDOW_PURPOSES,
    add_staff,
    check_a11y,
    fits_the_screen,
    sign_in_holder,
    sign_in_staff,
)
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.settings import Settings
from trustsvc.sharing.clients import add_client
from trustsvc.staff.users import StaffRole

Shoot = Callable[[Page, str], Path]
#: A countdown as the script draws it: minutes and seconds.
COUNTDOWN = re.compile(r"^\d+:\d\d$")
VERIFIER = "不动产登记窗口"
AGENT_ID = "110101199003071233"


@pytest.fixture
def code_lifetime() -> int:
    """How long a presentation code lives (seconds); a test that waits for renewal shortens it."""
    return 300


@pytest.fixture
def settings(settings: Settings, code_lifetime: int) -> Settings:
    return settings.model_copy(update={"presentation_lifetime_seconds": code_lifetime})


@pytest.fixture
def verifier_key(services: Services, live_pages: LiveServer) -> str:
    """The API key of a verifier system allowed the window purposes."""
    _info, key = add_client(services, VERIFIER, "verifier", purposes=WINDOW_PURPOSES)
    return key.secret


def _issue(licenses: IssuingService) -> tuple[str, str]:
    """A real-estate certificate for CITIZEN_ID (sealed on a worker thread: Playwright's
    sync API keeps an event loop running on this one)."""
    data = dict(example_data(get_type(licenses.types, "real-estate-certificate")))
    request = IssueRequest(DEPARTMENT_A, "real-estate-certificate", data)
    with ThreadPoolExecutor(max_workers=1) as worker:
        issued = worker.submit(licenses.issue, request).result().license
    return issued.identifier, issued.license_number


def _api(base: str, key: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{base}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def _qr_link(page: Page) -> str:
    """What a phone reads from the QR code on the screen."""
    picture = Image.open(io.BytesIO(page.locator("#presentation-qr").screenshot()))
    found = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"{len(found)} QR codes read from the screen"
    return str(found[0].text)


def _token(link: str) -> str:
    return link.rsplit("/v/", 1)[1]


def _look(page: Page, shoot: Shoot, name: str) -> None:
    fits_the_screen(page)
    check_a11y(page)
    shoot(page, name)


def test_a_citizen_shows_a_code_a_verifier_checks_it_and_the_record_shows_it(
    licenses: IssuingService,
    live_pages: LiveServer,
    verifier_key: str,
    phone: Page,
    shoot: Shoot,
) -> None:
    base = live_pages.base_url
    _identifier, number = _issue(licenses)
    sign_in_holder(phone, base, CITIZEN_ID)
    card = phone.locator("#licenses .card", has_text=number)
    expect(card).to_contain_text("不动产权证书")
    expect(card).to_contain_text("杭州市市场监督管理局")
    expect(card.locator(".badge")).to_have_text("现行有效")
    expect(card.get_by_role("link", name="下载 PDF")).to_have_attribute(
        "href", f"/api/v1/me/licenses/{_identifier}/pdf"
    )
    _look(phone, shoot, "me")

    # 亮证 for the verifier and a purpose, single use (the default).
    card.locator("summary").click()
    card.get_by_label("用途").select_option(WINDOW_PURPOSES[0])
    card.get_by_label("出示给").select_option(VERIFIER)
    card.get_by_role("button", name="亮证").click()
    phone.wait_for_url(f"{base}/me#presentation")
    shown = phone.locator("#presentation")
    expect(shown).to_contain_text(WINDOW_PURPOSES[0])
    expect(shown).to_contain_text("一次性使用")
    expect(phone.locator("#countdown")).to_have_text(COUNTDOWN)
    box = phone.locator("#presentation-qr svg").bounding_box()
    assert box is not None and box["width"] >= 0.6 * PHONE["width"], box
    link = _qr_link(phone)
    assert link == phone.locator("#presentation-link").get_attribute("href")
    _look(phone, shoot, "presentation")

    # The verifier's system checks the code it scanned: valid once, then spent.
    first = _api(
        base, verifier_key, f"/api/v1/verify/token/{_token(link)}", purpose=WINDOW_PURPOSES[0]
    )
    assert first.status_code == 200, first.text
    assert first.json()["verdict"] == "valid"
    again = _api(
        base, verifier_key, f"/api/v1/verify/token/{_token(link)}", purpose=WINDOW_PURPOSES[0]
    )
    assert again.json()["verdict"] == "presentation_used", again.text

    phone.goto(f"{base}/me")  # not /me#record: a new fragment alone would load nothing
    expect(phone.locator("#spent")).to_contain_text("已被核验过")  # no spent code on show
    expect(phone.locator("#presentation-qr")).to_have_count(0)
    checked = phone.locator("#access-record .entry", has_text="亮证核验").first
    expect(checked).to_contain_text(VERIFIER)
    expect(checked).to_contain_text(WINDOW_PURPOSES[0])
    expect(checked).to_contain_text("已答复")
    _look(phone, shoot, "record")


@pytest.mark.parametrize("code_lifetime", [30])
def test_the_code_renews_itself_before_it_expires(
    licenses: IssuingService, live_pages: LiveServer, verifier_key: str, phone: Page
) -> None:
    base = live_pages.base_url
    _identifier, number = _issue(licenses)
    # The page's own clock, so that its ten seconds pass at once; the codes are the
    # server's, made in real time.
    phone.clock.install()
    sign_in_holder(phone, base, CITIZEN_ID)
    phone.locator("#licenses .card", has_text=number).get_by_role("button", name="亮证").click()
    first = _qr_link(phone)
    # 30 seconds to live, renewed 20 before the end: a new code after about ten.
    phone.clock.run_for(11_000)
    expect(phone.locator("#presentation")).to_have_attribute("data-renewed", "1")
    renewed = _qr_link(phone)
    assert renewed != first
    assert phone.locator("#presentation-link").get_attribute("href") == renewed
    phone.reload()  # the page keeps the renewed code, not the first
    assert _qr_link(phone) == renewed
    check = _api(base, verifier_key, f"/api/v1/verify/token/{_token(renewed)}")
    assert check.json()["verdict"] == "valid", check.text


def test_without_script_a_button_makes_a_new_code_and_grants_work(
    licenses: IssuingService,
    live_pages: LiveServer,
    verifier_key: str,
    no_script: Page,
    shoot: Shoot,
) -> None:
    base = live_pages.base_url
    _identifier, number = _issue(licenses)
    sign_in_holder(no_script, base, CITIZEN_ID)
    no_script.locator("#licenses .card", has_text=number).get_by_role("button", name="亮证").click()
    first = _qr_link(no_script)
    expect(no_script.locator("#countdown")).to_be_hidden()
    expect(no_script.locator("#expires")).to_be_visible()  # the time it is valid until
    no_script.get_by_role("button", name="换一个码").click()
    assert _qr_link(no_script) != first
    shoot(no_script, "presentation-no-script")
    no_script.get_by_role("button", name="结束出示").click()
    expect(no_script.locator("#presentation")).to_have_count(0)

    no_script.goto(f"{base}/me/grants")
    expect(no_script.locator("#agent_id_number")).to_be_visible()  # every grantee's fields
    expect(no_script.locator("#client")).to_be_visible()
    no_script.get_by_label("核验单位").check()
    no_script.locator("#client").select_option(VERIFIER)
    no_script.get_by_role("button", name="确认授权").click()
    expect(no_script.locator("#done")).to_have_text("已授权。")
    expect(no_script.locator("#grant-list .grant .badge")).to_have_text("生效中")
    shoot(no_script, "grants-no-script")


def test_a_citizen_grants_a_verifier_and_withdraws_it(
    licenses: IssuingService,
    live_pages: LiveServer,
    verifier_key: str,
    desk: Page,
    shoot: Shoot,
) -> None:
    base = live_pages.base_url
    identifier, number = _issue(licenses)
    sign_in_holder(desk, base, CITIZEN_ID)
    desk.locator("#licenses .card", has_text=number).get_by_role("link", name="授权").click()
    expect(desk.locator("#identifier")).to_have_value(identifier)
    expect(desk.locator("#agent_id_number")).to_be_visible()  # an agent is the default
    _look(desk, shoot, "grants-empty")

    desk.get_by_label("核验单位").check()
    expect(desk.locator("#agent_id_number")).to_be_hidden()
    desk.locator("#client").select_option(VERIFIER)
    desk.locator("#purpose").select_option(WINDOW_PURPOSES[1])
    desk.get_by_role("button", name="确认授权").click()
    expect(desk.locator("#done")).to_have_text("已授权。")
    grant = desk.locator("#grant-list .grant").first
    expect(grant).to_contain_text(VERIFIER)
    expect(grant).to_contain_text(WINDOW_PURPOSES[1])
    expect(grant.locator(".badge")).to_have_text("生效中")
    grant_id = (grant.get_attribute("id") or "").removeprefix("grant-")
    _look(desk, shoot, "grants")

    lookup = {"holder_id": CITIZEN_ID, "purpose": WINDOW_PURPOSES[1], "grant": grant_id}
    answered = _api(base, verifier_key, "/api/v1/holders/licenses", **lookup)
    assert answered.status_code == 200, answered.text
    assert [x["identifier"] for x in answered.json()["licenses"]] == [identifier]

    desk.goto(f"{base}/me")
    under = desk.locator("#access-record .entry", has_text=grant_id)
    expect(under).to_contain_text("查询名下证照")
    expect(under).to_contain_text(VERIFIER)
    desk.goto(f"{base}/me/grants")
    expect(desk.locator(f"#grant-{grant_id}")).to_contain_text("1 次")

    desk.locator(f"#grant-{grant_id}").get_by_role("button", name="撤回授权").click()
    expect(desk.locator("#done")).to_have_text("已撤回授权。")
    expect(desk.locator(f"#grant-{grant_id} .badge")).to_have_text("已撤回")
    expect(desk.locator(f"#grant-{grant_id}").get_by_role("button")).to_have_count(0)
    refused = _api(base, verifier_key, "/api/v1/holders/licenses", **lookup)
    assert refused.status_code == 403 and refused.json()["code"] == "grant-refused"
    _look(desk, shoot, "grants-withdrawn")


def test_a_refused_grant_form_comes_back_and_the_agent_sees_the_grant(
    licenses: IssuingService, live_pages: LiveServer, verifier_key: str, phone: Page, shoot: Shoot
) -> None:
    base = live_pages.base_url
    _issue(licenses)
    sign_in_holder(phone, base, CITIZEN_ID)
    phone.goto(f"{base}/me/grants")
    phone.locator("#agent_name").fill("李四")
    phone.locator("#agent_id_number").fill("110101199003071234")  # a wrong check digit
    phone.get_by_role("button", name="确认授权").click()
    expect(phone.locator("#trouble")).to_contain_text("未能授权：证件号码有误")
    # Said beside the field too, and tied to it for screen readers.
    expect(phone.locator("#agent_id_number-error")).to_contain_text("证件号码有误")
    expect(phone.locator("#agent_id_number")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#trouble")).to_contain_text("check character")
    expect(phone.locator("#agent_name")).to_have_value("李四")  # kept; the ID number is not
    expect(phone.locator("#agent_id_number")).to_have_value("")
    expect(phone.locator("#grant-list")).to_contain_text("您还没有授权任何人")
    _look(phone, shoot, "grant-refused")

    phone.locator("#agent_id_number").fill(AGENT_ID)
    phone.get_by_role("button", name="确认授权").click()
    expect(phone.locator("#grant-list .grant").first).to_contain_text("李四 110101********1233")
    # The agent signs in as themselves and finds the grant to name at the counter.
    sign_in_holder(phone, base, AGENT_ID, name="李四")
    phone.get_by_role("link", name="授权").first.click()
    to_me = phone.locator("#grants-to-me .grant").first
    expect(to_me).to_contain_text("不动产权证书 · 王**")
    expect(to_me.locator(".badge")).to_have_text("生效中")
    assert CITIZEN_ID not in phone.content()
    _look(phone, shoot, "granted-to-me")


def test_the_wallet_pages_at_a_desk(
    licenses: IssuingService, live_pages: LiveServer, desk: Page, shoot: Shoot
) -> None:
    base = live_pages.base_url
    _identifier, number = _issue(licenses)
    sign_in_holder(desk, base, CITIZEN_ID)
    _look(desk, shoot, "me")
    desk.locator("#licenses .card", has_text=number).get_by_role("button", name="亮证").click()
    box = desk.locator("#presentation-qr svg").bounding_box()
    assert box is not None and box["width"] >= 300, box  # scannable from across a counter
    _look(desk, shoot, "presentation")
    desk.goto(f"{base}/me?lang=en")
    expect(desk.locator("h1")).to_have_text("My e-licenses")
    _look(desk, shoot, "me-en")


def test_staff_are_refused_the_wallet_and_visitors_sent_to_sign_in(
    services: Services, live_pages: LiveServer, phone: Page
) -> None:
    base = live_pages.base_url
    phone.goto(f"{base}/me")
    assert phone.url.startswith(f"{base}/auth/sign-in")
    add_staff(services, StaffRole.CLERK, "clerk-1", name="张窗口")
    sign_in_staff(phone, base, "clerk-1")
    answer = phone.goto(f"{base}/me")
    assert answer is not None and answer.status == 403
    expect(phone.locator("h1")).to_have_text("无权访问此页面")
    expect(phone.locator("main")).to_contain_text("工作人员账号不能打开")
    grants = phone.goto(f"{base}/me/grants")
    assert grants is not None and grants.status == 403


def test_a_window_is_named_by_its_hall_and_window_never_by_the_clerks_account(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    phone: Page,
    desk: Page,
    shoot: Shoot,
) -> None:
    base = live_pages.base_url
    _identifier, number = _issue(licenses)
    add_staff(services, StaffRole.CLERK, "clerk-7", hall="杭州市民中心", window="12号窗口")
    sign_in_holder(phone, base, CITIZEN_ID)
    card = phone.locator("#licenses .card", has_text=number)
    card.locator("summary").click()
    choice = card.get_by_label("出示给")
    expect(choice.locator("option[value='staff:clerk-7']")).to_have_text("杭州市民中心 · 12号窗口")
    choice.select_option("staff:clerk-7")
    card.get_by_label("用途").select_option(WINDOW_PURPOSES[0])
    card.get_by_role("button", name="亮证").click()
    phone.wait_for_url(f"{base}/me#presentation")
    expect(phone.locator("#presentation")).to_contain_text("杭州市民中心 · 12号窗口")
    link = _qr_link(phone)

    # The clerk scans it at the desk; the holder's record names the window.
    sign_in_staff(desk, base, "clerk-7", "/desk")
    desk.select_option("#purpose", WINDOW_PURPOSES[0])
    desk.fill("#scanned", link)
    with desk.expect_navigation():
        desk.press("#scanned", "Enter")
    expect(desk.locator("#verdict-tone")).to_have_text("有效")
    phone.goto(f"{base}/me")
    checked = phone.locator("#access-record .entry", has_text="亮证核验").first
    expect(checked).to_contain_text("杭州市民中心 · 12号窗口")
    assert "clerk-7" not in phone.locator("body").inner_text()
    _look(phone, shoot, "record-window")
