"""A page form over its bound, or malformed, is answered with a page in Chinese, never with
the API's problem+json: the desk answers with the desk itself (413, still usable), other
forms with a page saying why. The JSON API's refusals stay problem+json."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A
from tests.pages.conftest import (
    WINDOW_PURPOSES,
    add_staff,
    check_a11y,
    fits_the_screen,
    sign_in_staff,
)
from tests.pages.test_desk import _clerk_at_desk, _issue, _verdict
from trustsvc.api.pages.desk import FORM_LIMIT
from trustsvc.audit.operators import operator_events
from trustsvc.licenses.issuing import IssuingService
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole

Shoot = Callable[[Page, str], Path]


def test_a_desk_upload_over_the_limit_answers_with_the_desk(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    desk: Page,
    phone: Page,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    _identifier, link, _pdf = _issue(licenses)
    _clerk_at_desk(services, phone, base)
    phone.select_option("#purpose", WINDOW_PURPOSES[0])
    huge = tmp_path / "big.pdf"
    huge.write_bytes(b"%PDF-1.7\n" + b"0" * (FORM_LIMIT + 1024))
    with phone.expect_response(f"{base}/desk/check") as answer:
        phone.set_input_files("#pdf", str(huge))
    assert answer.value.status == 413
    assert answer.value.headers["content-type"].startswith("text/html")
    phone.wait_for_load_state()
    expect(phone.locator("#desk-error")).to_contain_text("文件过大")
    expect(phone.locator("#desk-error")).to_contain_text("20 MB")
    fits_the_screen(phone)
    check_a11y(phone)
    shoot(phone, "desk-too-large")
    # The form was refused unread; the tab remembers the purpose the clerk chose for it.
    expect(phone.locator("#purpose")).to_have_value(WINDOW_PURPOSES[0])
    # The desk still works: the next scan is checked.
    phone.fill("#scanned", link)
    with phone.expect_navigation():
        phone.press("#scanned", "Enter")
    assert _verdict(phone) == "有效"

    # A multipart body that is not well-formed is the desk again too.
    broken = phone.request.post(
        f"{base}/desk/check",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
        data=b"--xyz\r\nbadheader\r\n\r\nv\r\n--xyz--\r\n",
    )
    assert broken.status == 422
    assert broken.headers["content-type"].startswith("text/html")
    assert "表单格式有误" in broken.text()

    # At a desk's width as well.
    _clerk_at_desk(services, desk, base, "clerk-2")
    desk.select_option("#purpose", WINDOW_PURPOSES[0])
    with desk.expect_response(f"{base}/desk/check") as wide:
        desk.set_input_files("#pdf", str(huge))
    assert wide.value.status == 413
    desk.wait_for_load_state()
    expect(desk.locator("#desk-error")).to_contain_text("文件过大")
    fits_the_screen(desk)
    check_a11y(desk)
    shoot(desk, "desk-too-large")


def test_other_page_forms_over_their_bound_or_malformed_answer_with_a_page(
    services: Services, live_pages: LiveServer, desk: Page, shoot: Shoot
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.OPERATOR_ADMIN, "op-1")
    sign_in_staff(desk, base, "op-1", "/admin")
    token = desk.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    before = len(operator_events(services))
    # Over the admin form's own bound (16 KB), and over the default body bound (1 MB).
    # The form's own bound is the one said, whichever refused it first.
    for size in (20_000, 2 * 1024 * 1024):
        answer = desk.request.post(
            f"{base}/admin/departments",
            form={"csrf_token": token, "name": "某" * size, "code": DEPARTMENT_A},
        )
        assert answer.status == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert "16 KB" in answer.text() and "文件或表单过大" in answer.text()
    # A form that is not percent-encoded UTF-8 is refused before routing, as a page.
    malformed = desk.request.post(
        f"{base}/admin/departments",
        headers={"content-type": "application/x-www-form-urlencoded"},
        data=b"csrf_token=" + token.encode() + b"&name=%C0%AF",
    )
    assert malformed.status == 422
    assert malformed.headers["content-type"].startswith("text/html")
    assert len(operator_events(services)) == before
    # The browser shows the refusal, and the form is there again one step back.
    desk.goto(f"{base}/admin")
    desk.evaluate(
        "(name) => { const f = document.querySelector('form[action=\"/admin/departments\"]');"
        " f.querySelector('#d-name').removeAttribute('maxlength');"
        " f.querySelector('#d-name').value = name; f.querySelector('#d-code').value = '"
        + DEPARTMENT_A
        + "'; }",
        "某" * 8000,
    )
    with desk.expect_response(f"{base}/admin/departments") as answer:
        desk.click("#add-department")
    assert answer.value.status == 413
    expect(desk.locator("h1")).to_have_text("文件过大")
    fits_the_screen(desk)
    check_a11y(desk)
    shoot(desk, "form-too-large")
    desk.go_back()
    desk.wait_for_url(f"{base}/admin")
    expect(desk.locator("#add-department")).to_be_visible()

    # The JSON API's refusal is still problem+json.
    api = desk.request.post(
        f"{base}/api/v1/verify",
        headers={"content-type": "application/pdf"},
        data=b"0" * (21 * 1024 * 1024),
    )
    assert api.status == 413
    assert api.headers["content-type"] == "application/problem+json"
