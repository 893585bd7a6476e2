"""A department's administration in a browser: its administrator imports a seal from a
PKCS#12 (each refusal said in Chinese: a wrong password, another department's certificate,
an expired one, a file too large), and the operator administrator sets its kind and denies
and allows it a license type through a confirmation page. Each is in the operator record
as the command line writes it; the pages pass axe-core at both widths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
from tests.pages.conftest import add_staff, check_a11y, fits_the_screen, sign_in_staff
from tests.test_departments import _outside_pkcs12
from trustsvc.audit.operators import operator_events
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import get_department
from trustsvc.licenses.entitlement import standings
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole

REAL_ESTATE = "real-estate-certificate"


def _look(page: Page, shoot: Callable[[Page, str], Path], name: str) -> None:
    shoot(page, name)
    fits_the_screen(page)
    check_a11y(page)


def _upload(page: Page, data: bytes, password: str, name: str = "seal.p12") -> int:
    """Send the import form with ``data`` as the file; the answer's status."""
    page.set_input_files(
        "#p12-file", files=[{"name": name, "mimeType": "application/x-pkcs12", "buffer": data}]
    )
    page.fill("#p12-password", password)
    with page.expect_response(lambda r: r.url.endswith("/admin/seals/import")) as answer:
        page.click("#import-seal")
    page.wait_for_load_state()
    return answer.value.status


def test_a_department_administrator_imports_a_seal_and_is_told_why_one_is_refused(
    services: Services,
    clock: FixedClock,
    live_pages: LiveServer,
    phone: Page,
    desk: Page,
    shoot: Callable[[Page, str], Path],
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.DEPARTMENT_ADMIN, "dadmin-a", department_code=DEPARTMENT_A)
    sign_in_staff(phone, base, "dadmin-a", f"/admin/department?code={DEPARTMENT_A}")
    expect(phone.locator("#seals tbody tr")).to_have_count(1)
    # The kind and the types it may issue are shown, not changed, by its own administrator.
    expect(phone.locator("#set-kind")).to_have_count(0)
    own = phone.locator("#types tr[data-type=business-license] td")
    expect(own.nth(1)).to_have_text("可签发")
    expect(phone.locator("#types")).not_to_contain_text("禁止…")
    _look(phone, shoot, "department-import")
    recorded = len(operator_events(services))

    good = _outside_pkcs12(clock, DEPARTMENT_A, b"pw")
    refusals = [
        (good, "wrong", "密码错误"),
        (_outside_pkcs12(clock, DEPARTMENT_B, b"pw"), "pw", "不是本部门的"),
        (_outside_pkcs12(clock, DEPARTMENT_A, b"pw", expired=True), "pw", "已过期"),
        (b"\0" * (64 * 1024 + 1), "pw", "文件过大"),
        (b"not a pkcs12 file", "", "不是 PKCS#12"),
    ]
    for data, password, said in refusals:
        assert _upload(phone, data, password) == 422
        expect(phone.locator("#problem")).to_contain_text(said)
        expect(phone.locator("#seals tbody tr")).to_have_count(1)
    _look(phone, shoot, "import-refused")
    assert len(operator_events(services)) == recorded

    assert _upload(phone, good, "pw") == 303
    expect(phone.locator(".done")).to_have_text("已导入印章证书。")
    expect(phone.locator("#seals tbody tr")).to_have_count(2)
    expect(phone.locator("#seals")).to_contain_text("外部 CA")
    [entry] = [e for e in operator_events(services) if e.action == "seal_import"]
    assert (entry.actor, entry.target) == ("staff:dadmin-a", DEPARTMENT_A)
    seals = get_department(services, DEPARTMENT_A).seals
    assert sorted(s.issued_by_service for s in seals) == [False, True]
    # The same certificate again is refused, in words.
    assert _upload(phone, good, "pw") == 422
    expect(phone.locator("#problem")).to_contain_text("已登记过")

    # Another department's seals are not theirs to import, nor is a kind theirs to set.
    token = phone.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    other = phone.request.post(
        f"{base}/admin/seals/import",
        multipart={
            "csrf_token": token,
            "code": DEPARTMENT_B,
            "password": "pw",
            "file": {"name": "b.p12", "mimeType": "application/x-pkcs12", "buffer": good},
        },
    )
    assert other.status == 403
    kind = phone.request.post(
        f"{base}/admin/departments/kind",
        form={"csrf_token": token, "code": DEPARTMENT_A, "kind": "health"},
    )
    assert kind.status == 403
    assert get_department(services, DEPARTMENT_A).kind == "market-regulation"

    sign_in_staff(desk, base, "dadmin-a", f"/admin/department?code={DEPARTMENT_A}")
    _look(desk, shoot, "department-import")


def test_the_operator_sets_a_kind_and_denies_then_allows_a_type(
    services: Services,
    clock: FixedClock,
    live_pages: LiveServer,
    desk: Page,
    phone: Page,
    shoot: Callable[[Page, str], Path],
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.OPERATOR_ADMIN, "op-1")
    sign_in_staff(desk, base, "op-1", f"/admin/department?code={DEPARTMENT_B}")
    row = desk.locator(f"#types tr[data-type={REAL_ESTATE}]")
    expect(row.locator("td").nth(1)).to_have_text("不可签发")

    desk.select_option("#k-kind", "natural-resources")
    desk.click("#set-kind")
    expect(desk.locator(".done")).to_have_text("已设置部门类别。")
    expect(desk.locator("#kind")).to_have_text("自然资源")
    expect(row.locator("td").nth(0)).to_have_text("可签发")
    expect(row.locator("td").nth(1)).to_have_text("可签发")
    _look(desk, shoot, "department-operator")

    # Denying a type goes through its confirmation page, with a reason for the record.
    row.get_by_text("禁止…").click()
    expect(desk.locator("h1")).to_have_text("禁止此部门签发该类型？")
    _look(desk, shoot, "confirm-deny-type")
    desk.fill("#reason", "职能调整")
    desk.click("#confirm")
    expect(desk.locator(".done")).to_have_text("已禁止签发该类型。")
    expect(row).to_contain_text("职能调整")
    [denied] = [s for s in standings(services, DEPARTMENT_B) if s.license_type.key == REAL_ESTATE]
    assert (denied.by_rule, denied.entitled) == (True, False)

    clock.advance(timedelta(seconds=1))  # the clock is frozen: decisions a second apart
    row.get_by_text("准予…").click()
    expect(desk.locator("h1")).to_have_text("准予此部门签发该类型？")
    desk.click("#confirm")
    expect(desk.locator(".done")).to_have_text("已准予签发该类型。")
    [allowed] = [s for s in standings(services, DEPARTMENT_B) if s.license_type.key == REAL_ESTATE]
    assert allowed.entitled and allowed.latest is not None and allowed.latest.allowed

    recorded = [
        (e.action, e.target, e.actor)
        for e in operator_events(services)
        if e.action in ("department_kind", "type_allow", "type_deny") and e.target == DEPARTMENT_B
    ]
    assert recorded == [
        ("type_allow", DEPARTMENT_B, "staff:op-1"),
        ("type_deny", DEPARTMENT_B, "staff:op-1"),
        ("department_kind", DEPARTMENT_B, "staff:op-1"),
    ]
    # A post that skipped the confirmation page is refused.
    token = desk.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    skipped = desk.request.post(
        f"{base}/admin/types",
        form={"csrf_token": token, "code": DEPARTMENT_B, "type": REAL_ESTATE, "decision": "deny"},
    )
    assert skipped.status == 422

    sign_in_staff(phone, base, "op-1", f"/admin/department?code={DEPARTMENT_B}")
    _look(phone, shoot, "department-operator")
    phone.goto(f"{base}/admin/types?code={DEPARTMENT_B}&type={REAL_ESTATE}&decision=deny")
    _look(phone, shoot, "confirm-deny-type")
