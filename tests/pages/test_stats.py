"""The statistics page in a browser: an auditor sees the whole service's figures and may
narrow them to a department, an officer sees only their own department's whatever the
address asks; each chart is an accessible SVG with the same numbers in a table beside it."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, enterprise_holder
from tests.pages.conftest import add_staff, check_a11y, fits_the_screen, sign_in_staff
from trustsvc.db.models import AccessEvent
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import get_type
from trustsvc.licenses.types.data import example_data
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole


def _issue(licenses: IssuingService) -> str:
    """Issue in a thread of its own: the sealer runs an event loop, and Playwright's sync API
    holds one in this thread."""
    data = dict(example_data(get_type(licenses.types, "business-license")))
    data.update(enterprise_holder())
    request = IssueRequest(DEPARTMENT_A, "business-license", data)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(licenses.issue, request).result().license.identifier


def _records(licenses: IssuingService) -> None:
    """Two licenses of department A, three verifications and two lookups of the record."""
    first, second = _issue(licenses), _issue(licenses)
    now = licenses.clock.now()

    def event(
        action: str, returned: list[str], answer: str, purpose: str | None = None
    ) -> AccessEvent:
        return AccessEvent(
            at=now,
            actor="某银行杭州分行",
            action=action,
            purpose=purpose,
            outcome="answered",
            returned_json=json.dumps(returned),
            answer=answer,
        )

    with licenses.database.begin() as session:
        session.add_all(
            [
                event("verify_pdf", [first], "valid"),
                event("verify_token", [second], "valid"),
                event("verify_pdf", [], "modified_after_sealing"),
                event("lookup", [first], "holds", "办理不动产抵押登记"),
                event("lookup", [second], "holds", "办理不动产抵押登记"),
            ]
        )


def _cells(page: Page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("th, td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_an_auditor_sees_every_figure_as_a_chart_and_a_table(
    live_pages: LiveServer,
    services: Services,
    licenses: IssuingService,
    desk: Page,
    phone: Page,
    shoot: Callable[[Page, str], Path],
) -> None:
    services = services
    base = live_pages.base_url
    _records(licenses)
    add_staff(services, StaffRole.AUDITOR, "auditor-1", name="审计员")
    for page in (desk, phone):
        sign_in_staff(page, base, "auditor-1", "/stats")
        assert page.url == f"{base}/stats"
        expect(page.locator("h1")).to_have_text("统计")
        expect(page.locator("#scope")).to_contain_text("全部颁发机构")
        charts = page.locator("svg[role=img]")
        expect(charts).to_have_count(3)
        for i in range(3):
            labelled = charts.nth(i).get_attribute("aria-labelledby") or ""
            title, desc = labelled.split()
            assert (page.locator(f"#{title}").text_content() or "").strip()
            assert (page.locator(f"#{desc}").text_content() or "").strip()
        issued = _cells(page, "#issued-table tfoot")
        assert issued == [["合计", "2", "2"]]
        header = _cells(page, "#issued-table thead")[0]
        assert header == ["月份", "营业执照", "合计"]
        expect(page.locator("#chart-issued-desc")).to_contain_text("共签发 2 张")
        verdicts = _cells(page, "#verdicts-table tbody")
        assert verdicts == [["有效", "2", "66.7%"], ["盖章后被修改", "1", "33.3%"]]
        lookups = _cells(page, "#lookups-table tbody")
        assert lookups == [["办理不动产抵押登记", "某银行杭州分行", "2", "0"]]
        fits_the_screen(page)
        check_a11y(page)
        shoot(page, "stats-all")

    # Narrowed to department B, which issued nothing: nothing of A's shows.
    desk.select_option("#department", DEPARTMENT_B)
    desk.click("button[type=submit] >> text=查看")
    desk.wait_for_url(f"**/stats?months=12&department={DEPARTMENT_B}")
    expect(desk.locator("#scope")).to_contain_text("宁波市住房和城乡建设局")
    assert _cells(desk, "#issued-table tfoot") == [["合计", "0"]]
    assert _cells(desk, "#verdicts-table tbody") == [["期间内没有核验。"]]
    # A bad period is named, in Chinese, and the page still answers with the default.
    response = desk.goto(f"{base}/stats?months=7")
    assert response is not None and response.status == 400
    expect(desk.locator(".error")).to_contain_text("3、6、12 或 24")
    desk.goto(f"{base}/stats?lang=en")
    expect(desk.locator("#issued-table thead")).to_contain_text("Business License")
    check_a11y(desk)
    shoot(desk, "stats-en")


def test_an_officer_sees_only_their_own_department(
    live_pages: LiveServer, services: Services, licenses: IssuingService, desk: Page
) -> None:
    services = services
    base = live_pages.base_url
    _records(licenses)
    add_staff(services, StaffRole.OFFICER, "officer-b", department_code=DEPARTMENT_B)
    add_staff(services, StaffRole.OFFICER, "officer-a", department_code=DEPARTMENT_A)
    sign_in_staff(desk, base, "officer-b", f"/stats?department={DEPARTMENT_A}")
    expect(desk.locator("#scope")).to_contain_text("宁波市住房和城乡建设局")
    expect(desk.locator("#department")).to_have_count(0)
    assert _cells(desk, "#issued-table tfoot") == [["合计", "0"]]
    assert _cells(desk, "#lookups-table tbody") == [["期间内没有查询。"]]
    desk.context.clear_cookies()
    sign_in_staff(desk, base, "officer-a", "/stats")
    expect(desk.locator("#scope")).to_contain_text("杭州市市场监督管理局")
    assert _cells(desk, "#issued-table tfoot") == [["合计", "2", "2"]]
    # The unsealed upload named no license: it is no department's.
    assert _cells(desk, "#verdicts-table tbody") == [["有效", "2", "100.0%"]]
