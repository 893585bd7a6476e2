"""Staff sign in with the development form (the identity provider's path is the holders'
OIDC code, tested there), see their role's areas, and sign out; a visitor is sent to the
sign-in, a disabled account is signed out at its next request, and a page of another role
is refused. The sign-in page passes the accessibility check at both widths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A
from tests.pages.conftest import add_staff, check_a11y, fits_the_screen, sign_in_staff
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole, disable_user


def test_a_visitor_is_sent_to_the_sign_in_and_back(
    services: Services, live_pages: LiveServer, phone: Page, shoot: Callable[[Page, str], Path]
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.OFFICER, "officer-a", name="李经办", department_code=DEPARTMENT_A)
    phone.goto(f"{base}/staff")
    assert phone.url == f"{base}/staff/sign-in?next=/staff"
    fits_the_screen(phone)
    check_a11y(phone)
    shoot(phone, "sign-in")
    phone.fill("#subject", "officer-a")
    phone.click("#sign-in")
    phone.wait_for_url(f"{base}/staff")
    expect(phone.locator("h1")).to_contain_text("李经办")
    expect(phone.locator("#role")).to_have_text("经办人员")
    expect(phone.locator("#account")).to_contain_text("杭州市市场监督管理局")
    fits_the_screen(phone)
    check_a11y(phone)
    shoot(phone, "staff")
    phone.get_by_role("button", name="退出").click()
    phone.wait_for_url(f"{base}/staff/sign-in")
    phone.goto(f"{base}/staff")
    assert "/staff/sign-in" in phone.url


def test_an_unknown_or_disabled_account_is_refused(
    services: Services, live_pages: LiveServer, desk: Page
) -> None:
    base = live_pages.base_url
    sign_in_staff(desk, base, "nobody")
    expect(desk.locator(".error")).to_contain_text("not a member of staff")
    add_staff(services, StaffRole.CLERK, "clerk-1", name="张窗口")
    sign_in_staff(desk, base, "clerk-1", "/staff")
    expect(desk.locator("#account")).to_contain_text("杭州市民中心 · 3号窗口")
    expect(desk.locator("#account")).to_contain_text("办理不动产抵押登记")
    disable_user(services, "clerk-1")
    desk.goto(f"{base}/staff")
    assert "/staff/sign-in" in desk.url


def test_english_is_chosen_and_kept(services: Services, live_pages: LiveServer, desk: Page) -> None:
    base = live_pages.base_url
    desk.goto(f"{base}/staff/sign-in?lang=en")
    expect(desk.locator("h1")).to_have_text("Staff sign-in")
    assert desk.locator("html").get_attribute("lang") == "en"
    desk.goto(f"{base}/staff/sign-in")
    expect(desk.locator("h1")).to_have_text("Staff sign-in")
    desk.goto(f"{base}/staff/sign-in?lang=zh")
    expect(desk.locator("h1")).to_have_text("工作人员登录")
