"""The department console in a real browser: an officer issues from the generated form (a
field refused first, in the browser and by the server, then fixed), previews, issues once
however often the form is sent, batch-uploads a GB18030 CSV with two bad rows and sees them
reported, revokes a license with a reason and a confirmation (the public page then says
已注销 with the date), changes one, and seals an approval document. An officer of another
department can neither see nor act on these licenses; a clerk is refused the console."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, credit_code, enterprise_holder
from tests.licenses.pdf_checks import read_qr_codes
from tests.pages.conftest import add_staff, check_a11y, fits_the_screen, sign_in_staff
from trustsvc.bootstrap import build_verifier
from trustsvc.clock import FixedClock
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole
from trustsvc.verification.reasons import people_time
from trustsvc.verification.report import Verdict

Shoot = Callable[[Page, str], Path]

pytestmark = pytest.mark.browser


def _look(page: Page, shoot: Shoot, name: str) -> None:
    """Every page: fits a phone, passes axe-core, and is kept as a screenshot."""
    fits_the_screen(page)
    check_a11y(page)
    shoot(page, name)


def _officer(services: Services, page: Page, base: str, code: str = DEPARTMENT_A) -> None:
    subject = f"officer-{code[-4:]}"
    add_staff(services, StaffRole.OFFICER, subject, name="李经办", department_code=code)
    sign_in_staff(page, base, subject, "/console")
    assert page.url == f"{base}/console"


def _fill_business_license(page: Page, holder_id: str) -> None:
    page.fill("#f-holder_name", "杭州表单科技有限公司")
    page.fill("#f-holder_id", holder_id)
    page.fill("#f-name", "杭州表单科技有限公司")
    page.select_option("#f-entity_type", "有限责任公司（自然人独资）")
    page.fill("#f-legal_representative", "陈明")
    page.fill("#f-business_scope", "一般项目：技术服务；\n软件开发。")
    page.fill("#f-registered_capital", "壹佰万元整")
    page.fill("#f-established_on", "2021-06-18")
    page.fill("#f-domicile", "浙江省杭州市西湖区文三路100号")


def _wrong_check(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def test_officer_issues_from_the_generated_form(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    desk: Page,
    phone: Page,
    shoot: Shoot,
) -> None:
    base = live_pages.base_url
    _officer(services, desk, base)
    expect(desk.locator("h1")).to_contain_text("杭州市市场监督管理局")
    _look(desk, shoot, "console")
    desk.click("text=营业执照")
    desk.wait_for_url(f"{base}/console/issue/business-license")
    _look(desk, shoot, "issue-form")
    holder = enterprise_holder()["holder_id"]

    # In the browser: the check character is wrong, said under the field; nothing is sent.
    _fill_business_license(desk, _wrong_check(holder))
    desk.click("#issue")
    expect(desk.locator("#e-holder_id")).to_have_text(
        "统一社会信用代码的校验位不对，请核对是否输错"
    )
    assert desk.url == f"{base}/console/issue/business-license"
    desk.fill("#f-name", "")
    desk.click("#issue")
    expect(desk.locator("#e-name")).to_have_text("请填写名称")
    shoot(desk, "issue-browser-errors")

    # Fixed, previewed (unsealed, a placeholder number), then issued.
    desk.fill("#f-holder_id", holder)
    expect(desk.locator("#e-holder_id")).to_be_hidden()
    desk.fill("#f-name", "杭州表单科技有限公司")
    expect(desk.locator("#e-name")).to_be_hidden()
    desk.click("#preview")
    # The first page drawn loads the CJK font: it may take a few seconds.
    expect(desk.locator("#preview-image")).to_be_visible(timeout=30_000)
    expect(desk.locator("#e-holder_id")).to_be_hidden()
    assert desk.input_value("#f-holder_id") == holder
    _look(desk, shoot, "issue-preview")
    desk.click("#issue")
    desk.wait_for_url(f"{base}/console/licenses/*?issued=1")
    expect(desk.locator("#issued")).to_have_text("已盖章签发。")
    expect(desk.locator("#status")).to_have_text("有效")
    expect(desk.locator("#history")).to_contain_text("签发")
    expect(desk.locator("#history")).to_contain_text("api:staff:officer-")
    _look(desk, shoot, "license")
    identifier = desk.url.split("/console/licenses/")[1].split("?")[0]
    view = licenses.show(identifier)
    assert view.issuer_code == DEPARTMENT_A and view.fields["business_scope"].count("\n") == 1

    # The server refuses the same field with the same message (no script runs for it),
    # and the same form sent twice issues once: the form token is the idempotency key.
    desk.goto(f"{base}/console/issue/business-license")
    second = enterprise_holder()["holder_id"]
    sent = {
        name: desk.locator(f"#issue-form input[name={name}]").get_attribute("value") or ""
        for name in ("csrf_token", "form_token")
    }
    data = {
        **sent,
        "holder_name": "杭州表单科技有限公司",
        "holder_id_type": "001",
        "holder_id": _wrong_check(second),
        "name": "杭州表单科技有限公司",
        "entity_type": "有限责任公司（自然人独资）",
        "legal_representative": "陈明",
        "business_scope": "一般项目：技术服务；\r\n软件开发。",
        "registered_capital": "壹佰万元整",
        "established_on": "1900-01-01",
        "domicile": "浙江省杭州市西湖区文三路100号",
        "action": "issue",
    }

    def send(**changes: str):  # type: ignore[no-untyped-def]
        return desk.request.post(
            f"{base}/console/issue/business-license",
            data=urlencode({**data, **changes}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            max_redirects=0,
        )

    refused = send()
    assert refused.status == 422
    assert "统一社会信用代码的校验位不对，请核对是否输错" in refused.text()
    assert "成立日期超出可用范围" in refused.text()
    assert "有 2 项需要修改" in refused.text()
    assert "浙江省杭州市西湖区文三路100号" in refused.text()  # what was typed is kept
    answers = [send(holder_id=second, established_on="2021-06-18") for _ in range(2)]
    assert [a.status for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    found = licenses.search(_query(licenses, DEPARTMENT_A), holder_id=second, holder_id_type="001")
    assert len(found) == 1

    # The phone shows the same pages within its width.
    sign_in_staff(phone, base, f"officer-{DEPARTMENT_A[-4:]}", "/console")
    _look(phone, shoot, "console")
    phone.goto(f"{base}/console/issue/construction-permit")
    _look(phone, shoot, "issue-form")
    phone.goto(f"{base}/console/licenses/{identifier}")
    _look(phone, shoot, "license")


def _query(licenses: IssuingService, code: str):  # type: ignore[no-untyped-def]
    from trustsvc.licenses.library import LicenseQuery

    return LicenseQuery(department_code=code, today=licenses.today(), limit=50)


def _batch_csv() -> bytes:
    """Three rows as Excel on a Chinese Windows saves them (GB18030): two of them bad."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["持证主体名称", "持证主体代码类型", "统一社会信用代码", "名称", "类型"]
    header += ["法定代表人", "经营范围", "注册资本", "成立日期", "住所"]
    writer.writerow(header)
    row = ["杭州批量一号有限公司", "001", "", "杭州批量一号有限公司", "有限责任公司"]
    row += ["王一", "技术服务", "壹佰万元整", "2022-01-05", "杭州市上城区一号路1号"]
    good = enterprise_holder()["holder_id"]
    writer.writerow([*row[:2], good, *row[3:]])
    bad_check = enterprise_holder()["holder_id"]
    writer.writerow([*row[:2], _wrong_check(bad_check), *row[3:]])
    no_name = enterprise_holder()["holder_id"]
    writer.writerow([*row[:2], no_name, "", *row[4:]])
    return buffer.getvalue().encode("gb18030")


def test_officer_batch_uploads_a_csv_and_sees_the_bad_rows(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    desk: Page,
    phone: Page,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    _officer(services, desk, base)
    desk.goto(f"{base}/console/batch")
    _look(desk, shoot, "batch")
    with desk.expect_download() as template:
        desk.click("a[href='/console/batch/template/business-license.csv']")
    assert template.value.path().read_bytes().startswith(b"\xef\xbb\xbf\xe6\x8c\x81")  # BOM, 持
    upload = tmp_path / "营业执照批量.csv"
    upload.write_bytes(_batch_csv())
    desk.select_option("#type", "business-license")
    desk.set_input_files("#file", str(upload))
    desk.click("#upload")
    desk.wait_for_url(f"{base}/console/jobs/*")
    expect(desk.locator("#finished")).to_be_visible(timeout=60_000)
    expect(desk.locator("#bar")).to_have_attribute("value", "3")
    expect(desk.locator("#counts")).to_contain_text("签发 1，重复 0，有误 2")
    rows = desk.locator("#problems tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("2")
    expect(rows.nth(0)).to_contain_text("统一社会信用代码的校验位不对")
    expect(rows.nth(1)).to_contain_text("请填写名称")
    _look(desk, shoot, "job")
    with desk.expect_download() as report:
        desk.click("#report")
    lines = report.value.path().read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("数据行,结果,证照编号")
    assert [line.split(",")[1] for line in lines[1:]] == ["已签发", "有误，未签发", "有误，未签发"]
    assert "请填写名称" in lines[3] and "name: required" in lines[3]

    # Without script the page offers a refresh link while the job runs; the phone fits it.
    job_url = desk.url
    sign_in_staff(phone, base, f"officer-{DEPARTMENT_A[-4:]}", "/console")
    phone.goto(job_url)
    _look(phone, shoot, "job")

    # A file that is not text at all is refused whole, saying why, on the same page.
    binary = tmp_path / "bad.csv"
    binary.write_bytes(b"\xff\xfe\x00h\x00i")
    desk.goto(f"{base}/console/batch")
    desk.select_option("#type", "business-license")
    desk.set_input_files("#file", str(binary))
    desk.click("#upload")
    expect(desk.locator("#message")).to_contain_text("UTF-16")


def _issue_a(licenses: IssuingService) -> str:
    """A license of department A, issued off the test's thread (Playwright's loop runs there,
    and sealing asks the timestamp authority through asyncio)."""
    license_type = get_type(licenses.types, "business-license")
    data = {**example_data(license_type), **enterprise_holder()}
    request = IssueRequest(DEPARTMENT_A, license_type.key, data)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(licenses.issue, request).result().license.identifier


def test_officer_revokes_with_a_reason_and_the_public_page_says_so(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    desk: Page,
    phone: Page,
    clock: FixedClock,
    shoot: Shoot,
) -> None:
    base = live_pages.base_url
    identifier = _issue_a(licenses)
    [link] = read_qr_codes(licenses.document(identifier))
    _officer(services, phone, base)
    phone.goto(f"{base}/console/licenses")
    expect(phone.locator("#results")).to_contain_text(licenses.show(identifier).license_number)
    _look(phone, shoot, "licenses")
    phone.click(f"a[href='/console/licenses/{identifier}']")
    phone.click("#revoke")
    _look(phone, shoot, "revoke-reason")
    phone.click("#next")  # nothing chosen: the browser asks for the kind first
    assert "/status/revoke" in phone.url
    phone.check("#kind-cancelled")
    phone.fill("#reason", "企业申请注销登记")
    phone.click("#next")
    expect(phone.locator("#confirm")).to_contain_text("将注销此证照")
    expect(phone.locator("#confirm")).to_contain_text("企业申请注销登记")
    _look(phone, shoot, "revoke-confirm")
    assert licenses.show(identifier).status == "valid"  # nothing happens before the confirmation
    phone.click("#confirm-button")
    phone.wait_for_url(f"{base}/console/licenses/{identifier}?done=revoke")
    expect(phone.locator("#status")).to_have_text("已注销")
    expect(phone.locator("#history")).to_contain_text("企业申请注销登记")
    _look(phone, shoot, "revoked")
    view = licenses.show(identifier)
    assert (view.status, view.revocation_kind, view.status_reason) == (
        "revoked",
        "cancelled",
        "企业申请注销登记",
    )

    phone.goto(link)
    expect(phone.locator("#verdict")).not_to_have_attribute("data-verdict", "valid")
    expect(phone.locator("body")).to_contain_text("已注销")
    expect(phone.locator("body")).to_contain_text(people_time(clock.now(), services.settings.zone))
    shoot(phone, "public-page")

    # Search by status and by holder; a change issues the next version.
    desk_id = _issue_a(licenses)
    _officer_again(desk, base)
    desk.goto(f"{base}/console/licenses?status=revoked")
    expect(desk.locator("#results li")).to_have_count(1)
    holder_id = licenses.data_key.open(*_sealed_holder(services, desk_id))
    desk.goto(f"{base}/console/licenses?holder_id={holder_id}")
    expect(desk.locator("#results li")).to_have_count(1)
    expect(desk.locator("#results")).to_contain_text(licenses.show(desk_id).holder_id_masked)
    _look(desk, shoot, "licenses")
    desk.goto(f"{base}/console/licenses/{desk_id}/change")
    desk.fill("#f-domicile", "浙江省杭州市滨江区新址路8号")
    desk.fill("#reason", "住所变更")
    _look(desk, shoot, "change")
    desk.click("#change-submit")
    expect(desk.locator("#done")).to_contain_text("已变更")
    expect(desk.locator("body")).to_contain_text("浙江省杭州市滨江区新址路8号")
    assert licenses.show(desk_id).status == "superseded"


def _officer_again(page: Page, base: str) -> None:
    sign_in_staff(page, base, f"officer-{DEPARTMENT_A[-4:]}", "/console")


def _sealed_holder(services: Services, identifier: str) -> tuple[str, bytes]:
    from sqlalchemy import select

    from trustsvc.db.models import LicenseRecord

    with services.database.begin() as session:
        record = session.scalar(select(LicenseRecord).where(LicenseRecord.identifier == identifier))
        assert record is not None
        return record.holder_id_type, record.holder_id_sealed


def test_another_department_and_a_clerk_are_refused(
    services: Services, licenses: IssuingService, live_pages: LiveServer, desk: Page
) -> None:
    base = live_pages.base_url
    identifier = _issue_a(licenses)
    number = licenses.show(identifier).license_number
    _officer(services, desk, base, DEPARTMENT_B)
    desk.goto(f"{base}/console/licenses")
    expect(desk.locator("#none")).to_be_visible()
    desk.goto(f"{base}/console/licenses?q={number}")
    expect(desk.locator("#none")).to_be_visible()
    # In English, every console page says the same in English.
    for path, heading in (
        ("/console", "Issuing console"),
        ("/console/licenses", "The department's licenses"),
        ("/console/issue/construction-permit", "Issue Construction"),
        ("/console/batch", "Batch issue"),
        ("/console/approval", "Seal an approval document"),
    ):
        desk.goto(f"{base}{path}?lang=en")
        expect(desk.locator("h1")).to_contain_text(heading)
        assert desk.locator("html").get_attribute("lang") == "en"
    desk.goto(f"{base}/console?lang=zh")
    for path in ("", "/pdf", "/change", "/status/revoke"):
        answer = desk.request.get(f"{base}/console/licenses/{identifier}{path}")
        assert answer.status == 403, path
        assert "belongs to another department" in answer.text()
    desk.goto(f"{base}/console/licenses/{identifier}/status/suspend")
    expect(desk.locator("h1")).to_have_text("无权访问此页面")
    # The session's CSRF token, from the sign-out form every staff page carries.
    token = desk.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = desk.request.post(
        f"{base}/console/licenses/{identifier}/status/suspend",
        form={"csrf_token": token, "reason": "不应成功", "step": "confirm"},
    )
    assert refused.status == 403
    assert licenses.show(identifier).status == "valid"

    add_staff(services, StaffRole.CLERK, "clerk-c", name="张窗口")
    sign_in_staff(desk, base, "clerk-c", "/console")
    assert desk.url == f"{base}/console"
    expect(desk.locator("h1")).to_have_text("无权访问此页面")
    for path in ("/console/licenses", "/console/batch", "/console/issue/business-license"):
        assert desk.request.get(f"{base}{path}").status == 403
    desk.context.clear_cookies()
    desk.goto(f"{base}/console/licenses")
    assert "/staff/sign-in" in desk.url


def _decision_pdf() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.setFont("Helvetica", 16)
    canvas.drawString(72, 760, "Administrative permission decision")
    canvas.drawString(72, 300, "Hangzhou Market Regulation Bureau")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_officer_seals_an_approval_document(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    desk: Page,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    _officer(services, desk, base)
    desk.goto(f"{base}/console/approval")
    _look(desk, shoot, "approval")
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(licenses.document(_issue_a(licenses)))
    desk.set_input_files("#file", str(signed))
    desk.click("#preview")
    expect(desk.locator("#problem")).to_contain_text("已有签名或签章")

    document = tmp_path / "决定书.pdf"
    document.write_bytes(_decision_pdf())
    desk.set_input_files("#file", str(document))
    desk.click("#preview")
    expect(desk.locator("#preview-image")).to_be_visible()
    example = example_data(get_type(licenses.types, "administrative-permission-decision"))
    desk.fill("#f-holder_name", example["holder_name"])
    desk.select_option("#f-holder_id_type", "001")
    desk.fill("#f-holder_id", credit_code("91330106MA2J0K1X9"))
    desk.fill("#f-applicant", example["applicant"])
    desk.fill("#f-permitted_matter", example["permitted_matter"])
    desk.fill("#f-decision", "准予行政许可。详见决定书原文。")
    desk.fill("#f-remedy", example["remedy"])
    _look(desk, shoot, "approval-preview")
    desk.click("#issue")
    desk.wait_for_url(f"{base}/console/licenses/*?issued=1")
    expect(desk.locator("#status")).to_have_text("有效")
    identifier = desk.url.split("/console/licenses/")[1].split("?")[0]
    sealed = licenses.document(identifier)
    [link] = read_qr_codes(sealed)
    token = link.rsplit("/v/", 1)[1]
    verifier = build_verifier(services)
    # Off the test's thread, where Playwright's loop runs (validation uses asyncio).
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(verifier.verify_pdf, sealed).result().verdict is Verdict.VALID
        assert pool.submit(verifier.verify_token, token).result().verdict is Verdict.VALID
