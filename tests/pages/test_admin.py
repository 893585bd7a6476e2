"""The administration pages in a browser: the operator administrator adds a department
user and an API client (its key shown once), rotates the key and revokes a seal through
their confirmation pages; a department administrator sees only their own department; an
auditor reads the operator record and can change nothing. Every page passes axe-core at
both widths and is kept as a screenshot."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
from tests.pages.conftest import (
    WINDOW_PURPOSES,
    add_staff,
    check_a11y,
    fits_the_screen,
    sign_in_staff,
)
from trustsvc.audit.operators import operator_events
from trustsvc.db.models import AccessEvent
from trustsvc.services import Services
from trustsvc.sharing.clients import Authenticator
from trustsvc.sharing.purposes import list_purposes
from trustsvc.staff.users import StaffRole, list_users

KEY = re.compile(r"tsk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}")


def _look(page: Page, shoot: Callable[[Page, str], Path], name: str) -> None:
    shoot(page, name)
    fits_the_screen(page)
    check_a11y(page)


def test_the_operator_adds_a_user_and_a_client_whose_key_is_shown_once(
    services: Services,
    live_pages: LiveServer,
    desk: Page,
    shoot: Callable[[Page, str], Path],
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.OPERATOR_ADMIN, "op-1", name="运营管理员")
    sign_in_staff(desk, base, "op-1", "/admin")
    assert desk.url == f"{base}/admin"
    expect(desk.locator("#departments tbody tr")).to_have_count(2)
    _look(desk, shoot, "departments")

    # A department user: an officer of department A.
    desk.click("text=工作人员 >> nth=0")
    desk.wait_for_url(f"{base}/admin/staff")
    desk.fill("#u-subject", "officer-a")
    desk.fill("#u-name", "李经办")
    desk.select_option("#u-role", "officer")
    desk.select_option("#u-department", DEPARTMENT_A)
    desk.click("#add-user")
    desk.wait_for_url(f"{base}/admin/staff?done=user")
    expect(desk.locator(".done")).to_have_text("已新增工作人员。")
    expect(desk.locator("tr[data-subject=officer-a]")).to_contain_text("杭州市市场监督管理局")
    [officer] = [u for u in list_users(services) if u.subject == "officer-a"]
    assert officer.role is StaffRole.OFFICER and officer.department_code == DEPARTMENT_A
    _look(desk, shoot, "staff")

    # A clerk needs a window and purposes; a missing window is said again on the page.
    desk.fill("#u-subject", "clerk-9")
    desk.fill("#u-name", "王窗口")
    desk.select_option("#u-role", "clerk")
    desk.click("#add-user")
    expect(desk.locator("#problem")).to_contain_text("输入有误")
    expect(desk.locator("#u-subject")).to_have_value("clerk-9")

    # An API client: the key is on this page only.
    desk.goto(f"{base}/admin/clients")
    desk.fill("#c-name", "某银行杭州分行")
    desk.select_option("#c-role", "verifier")
    desk.check(f"input[value='{WINDOW_PURPOSES[0]}']")
    with desk.expect_response(f"{base}/admin/clients") as answer:
        desk.click("#add-client")
    assert answer.value.status == 201
    assert answer.value.headers["cache-control"] == "no-store"
    secret = desk.locator("#api-key").inner_text().strip()
    assert KEY.fullmatch(secret)
    client = Authenticator(services).authenticate(secret)
    assert client.name == "某银行杭州分行" and client.purposes == (WINDOW_PURPOSES[0],)
    _look(desk, shoot, "key")
    desk.click("text=已保存，返回调用方列表")
    expect(desk.locator("tr[data-client='某银行杭州分行']")).to_contain_text("核验方")
    assert secret not in desk.content()
    # Staff act through keyless clients of their own: they are not listed here.
    expect(desk.locator("#clients")).not_to_contain_text("staff:")
    _look(desk, shoot, "clients")

    # Rotating the key goes through a confirmation page, and shows the new key once.
    desk.locator("tr[data-client='某银行杭州分行']").get_by_text("更换密钥…").click()
    expect(desk.locator("h1")).to_have_text("为此调用方更换密钥？")
    _look(desk, shoot, "confirm-rotate")
    desk.select_option("#grace", "1")
    desk.click("#confirm")
    rotated = desk.locator("#api-key").inner_text().strip()
    assert KEY.fullmatch(rotated) and rotated != secret
    assert Authenticator(services).authenticate(rotated).name == "某银行杭州分行"

    recorded = [(e.action, e.target) for e in operator_events(services, actor="staff:op-1")]
    assert recorded[:3] == [
        ("client_rotate", "某银行杭州分行"),
        ("client_add", "某银行杭州分行"),
        ("user_add", "officer-a"),
    ]


def test_a_seal_is_renewed_and_revoked_after_a_confirmation(
    services: Services,
    live_pages: LiveServer,
    phone: Page,
    shoot: Callable[[Page, str], Path],
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.DEPARTMENT_ADMIN, "dadmin-a", department_code=DEPARTMENT_A)
    sign_in_staff(phone, base, "dadmin-a", "/admin")
    assert phone.url == f"{base}/admin"
    # Their own department only, and no tabs for clients or purposes.
    expect(phone.locator("#departments tbody tr")).to_have_count(1)
    expect(phone.locator("#departments")).to_contain_text("杭州市市场监督管理局")
    expect(phone.locator(".admin-tabs")).not_to_contain_text("接口调用方")
    expect(phone.locator("#add-department")).to_have_count(0)
    _look(phone, shoot, "departments-own")
    phone.click("#departments a")
    expect(phone.locator("#seals tbody tr")).to_have_count(1)
    phone.click("#new-seal")
    expect(phone.locator(".done")).to_have_text("已签发新的印章证书。")
    expect(phone.locator("#seals tbody tr")).to_have_count(2)
    _look(phone, shoot, "department")

    # Both seals began in the same (frozen) second: the row is found by its serial.
    target = phone.locator("#seals tbody tr").nth(1)
    serial = target.locator("td.serial").inner_text().strip()
    target.get_by_text("吊销…").click()
    expect(phone.locator("h1")).to_have_text("吊销印章证书？")
    _look(phone, shoot, "confirm-seal")
    # An invalidity date is for a key compromise only: refused with another reason.
    phone.select_option("#reason", "superseded")
    phone.fill("#invalid-since", "2026-01-01T08:00")
    with phone.expect_response(f"{base}/admin/seals/revoke") as refused:
        phone.click("#confirm")
    assert refused.value.status == 422
    expect(phone.locator("#problem")).to_contain_text("key_compromise")
    phone.locator("#seals tbody tr").filter(has_text=serial).get_by_text("吊销…").click()
    phone.select_option("#reason", "superseded")
    phone.click("#confirm")
    expect(phone.locator(".done")).to_have_text("已吊销印章证书。")
    revoked = phone.locator("#seals tbody tr").filter(has_text=serial)
    expect(revoked).to_contain_text("已吊销")
    expect(phone.locator("#seals tbody tr").filter(has_not_text=serial)).to_contain_text("有效")
    [revocation] = operator_events(services, limit=1)
    assert (revocation.action, revocation.actor) == ("seal_revoke", "staff:dadmin-a")
    assert revocation.details["reason"] == "superseded"

    # Another department's page, the clients and the record are refused.
    for path in (f"/admin/department?code={DEPARTMENT_B}", "/admin/clients", "/admin/record"):
        response = phone.goto(f"{base}{path}")
        assert response is not None and response.status == 403, path
    expect(phone.locator("h1")).to_have_text("无权访问此页面")
    _look(phone, shoot, "refused")


def test_an_auditor_reads_the_operator_record_and_cannot_act(
    services: Services,
    live_pages: LiveServer,
    desk: Page,
    phone: Page,
    shoot: Callable[[Page, str], Path],
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.AUDITOR, "auditor-1", name="审计员")
    for page in (desk, phone):
        sign_in_staff(page, base, "auditor-1", "/admin/record")
        assert page.url == f"{base}/admin/record"
        rows = page.locator("#record tbody tr")
        expect(rows.first).to_contain_text("新增工作人员")
        expect(rows.first).to_contain_text("auditor-1")
        expect(page.locator("#record")).to_contain_text("新增部门")
        expect(page.locator("main form[method=post]")).to_have_count(0)
        _look(page, shoot, "record")
    desk.select_option("#action", "department_add")
    desk.click("text=筛选")
    expect(desk.locator("#record tbody tr")).to_have_count(2)
    # The access record: what was answered and refused, the verdict in words.
    with services.database.begin() as session:
        session.add_all(
            [
                AccessEvent(
                    at=services.clock.now(),
                    actor="某银行杭州分行",
                    action="verify_pdf",
                    outcome="answered",
                    returned_json="[]",
                    answer="modified_after_sealing",
                ),
                AccessEvent(
                    at=services.clock.now(),
                    actor="某证券",
                    action="lookup",
                    purpose="开户",
                    outcome="refused",
                    refusal="purpose-refused",
                ),
            ]
        )
    desk.goto(f"{base}/admin/access")
    expect(desk.locator("#access tbody tr")).to_have_count(2)
    expect(desk.locator("#access tbody tr").nth(1)).to_contain_text("盖章后被修改")
    expect(desk.locator("#access tbody tr").nth(0)).to_contain_text("拒绝")
    desk.fill("#client", "某证券")
    desk.click("text=筛选")
    expect(desk.locator("#access tbody tr")).to_have_count(1)
    _look(desk, shoot, "access")
    desk.goto(f"{base}/admin/record?lang=en")
    expect(desk.locator("h1")).to_have_text("Operator record")
    expect(desk.locator("#record tbody tr").first).to_contain_text("Staff user added")
    _look(desk, shoot, "record-en")
    # No form of the administration takes their post, CSRF token or not.
    for path in ("/admin/seals/new", "/admin/staff", "/admin/clients", "/admin/purposes"):
        answer = desk.request.post(f"{base}{path}", form={"code": DEPARTMENT_A})
        assert answer.status == 403, path
    assert [e.actor for e in operator_events(services, limit=1)] != ["staff:auditor-1"]


def test_bad_input_is_said_in_chinese_on_the_page_again(
    services: Services, live_pages: LiveServer, desk: Page
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.OPERATOR_ADMIN, "op-1")
    sign_in_staff(desk, base, "op-1", "/admin")
    desk.fill("#d-name", "温州市市场监督管理局")
    desk.fill("#d-code", "11330100MB000000Z")
    desk.evaluate("document.querySelector('#d-code').removeAttribute('minlength')")
    with desk.expect_response(f"{base}/admin/departments") as answer:
        desk.click("#add-department")
    # The check character is wrong: 422, as the API answers it.
    assert answer.value.status == 422
    expect(desk.locator("#problem")).to_contain_text("输入有误")
    expect(desk.locator("#d-name")).to_have_value("温州市市场监督管理局")
    # A form without its CSRF token is refused, and nothing is recorded.
    before = len(operator_events(services))
    refused = desk.request.post(f"{base}/admin/seals/new", form={"code": DEPARTMENT_A})
    assert refused.status == 403
    assert len(operator_events(services)) == before
    # Confirming something that is not there finds nothing; a destructive post that
    # skipped its confirmation page is refused.
    missing = desk.goto(f"{base}/admin/staff/disable?subject=nobody")
    assert missing is not None and missing.status == 404
    add_staff(services, StaffRole.AUDITOR, "auditor-1")
    desk.goto(f"{base}/admin/staff")
    token = desk.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    unconfirmed = desk.request.post(
        f"{base}/admin/staff/disable", form={"csrf_token": token, "subject": "auditor-1"}
    )
    assert unconfirmed.status == 422
    assert [u.active for u in list_users(services) if u.subject == "auditor-1"] == [True]


def test_the_purpose_catalogue_is_kept_on_its_page(
    services: Services,
    live_pages: LiveServer,
    desk: Page,
    phone: Page,
    shoot: Callable[[Page, str], Path],
) -> None:
    base = live_pages.base_url
    add_staff(services, StaffRole.OPERATOR_ADMIN, "op-1")
    sign_in_staff(desk, base, "op-1", "/admin/purposes")
    expect(desk.locator(f"tr[data-purpose='{WINDOW_PURPOSES[0]}']")).to_have_count(1)
    # No type ticked: refused, and said on the page.
    desk.fill("#p-name", "开立对公账户")
    desk.click("#add-purpose")
    expect(desk.locator("#problem")).to_contain_text("输入有误")
    desk.check("input[name='type:business-license']")
    desk.click("#add-purpose")
    desk.wait_for_url(f"{base}/admin/purposes?done=purpose")
    row = desk.locator("tr[data-purpose='开立对公账户']")
    expect(row).to_contain_text("营业执照")
    _look(desk, shoot, "purposes")
    [entry] = [p for p in list_purposes(services) if p.name == "开立对公账户"]
    assert entry.types == ("business-license",)
    row.get_by_text("删除…").click()
    expect(desk.locator("h1")).to_have_text("从目录中删除此事由？")
    desk.click("#confirm")
    expect(desk.locator(".done")).to_have_text("已删除用证事由。")
    expect(desk.locator("tr[data-purpose='开立对公账户']")).to_have_count(0)
    # A purpose a clerk's window may state is not removed.
    add_staff(services, StaffRole.CLERK, "clerk-1")
    desk.goto(f"{base}/admin/purposes/remove?name={WINDOW_PURPOSES[0]}")
    with desk.expect_response(f"{base}/admin/purposes/remove") as answer:
        desk.click("#confirm")
    assert answer.value.status == 409
    expect(desk.locator("#problem")).to_contain_text("与现有记录冲突")
    sign_in_staff(phone, base, "op-1", "/admin/purposes")
    _look(phone, shoot, "purposes")
    phone.goto(f"{base}/admin/clients")
    _look(phone, shoot, "clients")
    # The key, once, on a phone: the whole of it on the screen.
    phone.fill("#c-name", "某证券")
    phone.check(f"input[value='{WINDOW_PURPOSES[1]}']")
    phone.click("#add-client")
    expect(phone.locator("#api-key")).to_have_text(KEY)
    _look(phone, shoot, "key")
    phone.goto(f"{base}/admin/staff")
    _look(phone, shoot, "staff")
