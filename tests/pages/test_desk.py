"""The clerk's verification desk in a real browser: a scanner's link, a PDF (valid and tampered,
with and without JavaScript), a photo of a QR code, the sealed report and the 加注件 that
pyHanko validates; every check in the access record with the clerk's purpose; the desk
refused to holders and officers. Screenshots at phone and desk widths; axe-core clean."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A
from tests.licenses.pdf_checks import read_qr_codes
from tests.pages.conftest import (
    WINDOW_PURPOSES,
    add_staff,
    check_a11y,
    fits_the_screen,
    sign_in_holder,
    sign_in_staff,
)
from tests.verification.attacks import overlay_content
from tests.verification.test_annotated_copy import _statuses
from trustsvc.audit.access_reading import access_events
from trustsvc.audit.events import decode_entry
from trustsvc.db.models import LogEntry
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.seals.fields import SEAL_FIELD
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole
from trustsvc.verification.annotated_copy import NOTE_FIELD
from trustsvc.verification.report_seal import REPORT_SEAL_CAPTION

PURPOSE = WINDOW_PURPOSES[0]
T = TypeVar("T")
Shoot = Callable[[Page, str], Path]


def _apart(work: Callable[[], T]) -> T:
    """``work()`` in a thread of its own: Playwright's loop runs in the test's (and pyHanko's
    sealing and validation start loops of their own)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def _issue(licenses: IssuingService) -> tuple[str, str, bytes]:
    """A real-estate certificate: its identifier, its printed QR link, its sealed PDF."""
    return _apart(lambda: _issued(licenses))


def _issued(licenses: IssuingService) -> tuple[str, str, bytes]:
    data = dict(example_data(get_type(licenses.types, "real-estate-certificate")))
    identifier = licenses.issue(
        IssueRequest(DEPARTMENT_A, "real-estate-certificate", data)
    ).license.identifier
    pdf = licenses.document(identifier)
    [link] = read_qr_codes(pdf)
    return identifier, link, pdf


def _clerk_at_desk(services: Services, page: Page, base: str, subject: str = "clerk-1") -> None:
    add_staff(services, StaffRole.CLERK, subject, name="张窗口")
    sign_in_staff(page, base, subject, "/desk")
    page.wait_for_url(f"{base}/desk")


def _copy_downloads(services: Services) -> list[tuple[object, object]]:
    """The log's copy.download entries: what each handed out, and its access row's index."""
    with services.database.begin() as session:
        bodies = session.scalars(select(LogEntry.body).order_by(LogEntry.idx)).all()
    entries = [decode_entry(bytes(body)) for body in bodies]
    return [
        (e["details"]["copy"], e["details"]["access"])
        for e in entries
        if e["kind"] == "copy.download"
    ]


def _verdict(page: Page) -> str:
    return page.locator("#verdict-tone").inner_text()


def test_the_clerk_scans_a_link_and_sees_valid_recorded_with_the_purpose(
    services: Services, licenses: IssuingService, live_pages: LiveServer, desk: Page, shoot: Shoot
) -> None:
    base = live_pages.base_url
    identifier, link, _pdf = _issue(licenses)
    _clerk_at_desk(services, desk, base)
    # The scanner types into the field that has the focus when the desk opens.
    assert desk.evaluate("() => document.activeElement.id") == "scanned"
    check_a11y(desk)
    shoot(desk, "desk")
    desk.select_option("#purpose", PURPOSE)
    # As an input method in full-width mode types it; then the scanner's Enter.
    typed = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in link)
    desk.fill("#scanned", typed)
    desk.press("#scanned", "Enter")
    desk.wait_for_url(f"{base}/desk/check")
    assert _verdict(desk) == "有效"
    expect(desk.locator("#result")).to_have_attribute("data-verdict", "valid")
    expect(desk.locator("#facts")).to_contain_text(identifier)
    expect(desk.locator("#stated-purpose")).to_have_text(PURPOSE)
    expect(desk.locator("#recent")).to_contain_text("扫码核验")
    expect(desk.locator("#recent")).to_contain_text(PURPOSE)
    # Ready for the next scan, the purpose kept.
    assert desk.evaluate("() => document.activeElement.id") == "scanned"
    expect(desk.locator("#purpose")).to_have_value(PURPOSE)
    fits_the_screen(desk)
    check_a11y(desk)
    shoot(desk, "scanned-valid")

    [row] = [e for e in access_events(services) if e.action == "verify_token"]
    assert (row.actor, row.purpose, row.answer) == ("staff:clerk-1", PURPOSE, "valid")
    assert row.licenses == (identifier,)

    # A printed number works too; it is a status check, and gives no annotated copy.
    number = desk.locator("#facts dd").nth(1).inner_text()
    desk.fill("#scanned", number)
    desk.press("#scanned", "Enter")
    desk.wait_for_load_state()
    assert _verdict(desk) == "有效"
    expect(desk.locator("#copy-refused")).to_contain_text("请持证人出示")
    assert any(e.action == "status_check" and e.purpose == PURPOSE for e in access_events(services))


def test_a_valid_upload_is_valid_and_a_tampered_one_says_what_is_wrong(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    phone: Page,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    _identifier, _link, pdf = _issue(licenses)
    (tmp_path / "license.pdf").write_bytes(pdf)
    (tmp_path / "tampered.pdf").write_bytes(overlay_content(pdf))
    _clerk_at_desk(services, phone, base)
    fits_the_screen(phone)
    check_a11y(phone)
    shoot(phone, "desk")
    phone.select_option("#purpose", PURPOSE)
    # With JavaScript, choosing the file sends it.
    with phone.expect_navigation():
        phone.set_input_files("#pdf", str(tmp_path / "license.pdf"))
    assert _verdict(phone) == "有效"
    fits_the_screen(phone)
    shoot(phone, "upload-valid")

    with phone.expect_navigation():
        phone.set_input_files("#pdf", str(tmp_path / "tampered.pdf"))
    assert _verdict(phone) == "无效"
    expect(phone.locator("#verdict")).to_have_text("盖章后被修改")
    expect(phone.locator("#reasons")).to_contain_text("盖章后")
    expect(phone.locator("#copy-refused")).to_be_visible()
    fits_the_screen(phone)
    check_a11y(phone)
    shoot(phone, "upload-tampered")
    answers = [e.answer for e in access_events(services) if e.action == "verify_pdf"]
    assert answers == ["modified_after_sealing", "valid"]


def test_the_upload_works_without_javascript(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    no_script: Page,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    _identifier, _link, pdf = _issue(licenses)
    (tmp_path / "license.pdf").write_bytes(pdf)
    _clerk_at_desk(services, no_script, base)
    no_script.select_option("#purpose", PURPOSE)
    no_script.set_input_files("#pdf", str(tmp_path / "license.pdf"))
    no_script.click("#check-pdf")
    no_script.wait_for_url(f"{base}/desk/check")
    assert _verdict(no_script) == "有效"
    shoot(no_script, "upload-no-script")


def _photo_of(pdf: bytes, folder: Path) -> Path:
    """The license's page as a camera would see it: rasterised at 150 dpi."""
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (poppler-utils) is needed; scripts/setup.sh installs it"
    (folder / "license.pdf").write_bytes(pdf)
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "150",
            "-singlefile",
            str(folder / "license.pdf"),
            f"{folder}/photo",
        ],
        check=True,
    )
    return folder / "photo.png"


def test_a_photographed_qr_code_is_read_and_checked(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    phone: Page,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    identifier, _link, pdf = _issue(licenses)
    photo = _photo_of(pdf, tmp_path)
    _clerk_at_desk(services, phone, base)
    phone.select_option("#purpose", PURPOSE)
    with phone.expect_navigation():
        phone.set_input_files("#photo", str(photo))
    assert _verdict(phone) == "有效"
    expect(phone.locator("#facts")).to_contain_text(identifier)
    shoot(phone, "photo-valid")
    # A photo with no code in it: said so, in Chinese, on the desk.
    blank = tmp_path / "blank.png"
    Image.new("RGB", (640, 480), (210, 200, 190)).save(blank)
    with phone.expect_navigation():
        phone.set_input_files("#photo", str(blank))
    expect(phone.locator("#desk-error")).to_contain_text("没有找到二维码")
    fits_the_screen(phone)
    check_a11y(phone)
    shoot(phone, "photo-none")


def test_the_annotated_copy_keeps_the_seal_and_the_report_is_sealed(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    desk: Page,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    identifier, link, _pdf = _issue(licenses)
    _clerk_at_desk(services, desk, base)
    desk.select_option("#purpose", PURPOSE)
    desk.fill("#scanned", link)
    desk.press("#scanned", "Enter")
    desk.wait_for_url(f"{base}/desk/check")

    with desk.expect_download() as download:
        desk.click("#download-copy")
    copy = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename.startswith("加注件-")
    statuses = _apart(lambda: _statuses(copy, services))
    assert list(statuses) == [SEAL_FIELD, NOTE_FIELD]
    seal, note = statuses[SEAL_FIELD], statuses[NOTE_FIELD]
    assert seal.intact and seal.valid and seal.trusted
    assert note.bottom_line
    pdftotext = shutil.which("pdftotext")
    assert pdftotext
    (tmp_path / "copy.pdf").write_bytes(copy)
    text = subprocess.run(
        [pdftotext, str(tmp_path / "copy.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"仅供{PURPOSE}使用 · 杭州市民中心 · 3号窗口" in " ".join(text.split())
    [copied] = [e for e in access_events(services) if e.action == "annotated_copy"]
    assert (copied.actor, copied.purpose, copied.licenses) == (
        "staff:clerk-1",
        PURPOSE,
        (identifier,),
    )
    assert _copy_downloads(services) == [("annotated_copy", copied.log_index)]

    # The copy brought back to a desk: the license is valid, and the desk says what the
    # copy is for, and that it is not for another purpose.
    (tmp_path / "annotated.pdf").write_bytes(copy)
    with desk.expect_navigation():
        desk.set_input_files("#pdf", str(tmp_path / "annotated.pdf"))
    assert _verdict(desk) == "有效"
    expect(desk.locator("#annotation")).to_contain_text(f"这是加注件：仅供{PURPOSE}使用")
    expect(desk.locator("#annotation")).not_to_contain_text("不符")
    desk.select_option("#purpose", WINDOW_PURPOSES[1])
    with desk.expect_navigation():
        desk.set_input_files("#pdf", str(tmp_path / "annotated.pdf"))
    expect(desk.locator("#annotation")).to_contain_text("与本次用证事由不符")
    expect(desk.locator("#annotation")).to_have_class("error")

    with desk.expect_download() as download:
        desk.click("#download-report")
    report = Path(download.value.path()).read_bytes()
    [reported] = [e for e in access_events(services) if e.action == "verification_report"]
    assert reported.licenses == (identifier,)
    assert _copy_downloads(services) == [
        ("annotated_copy", copied.log_index),
        ("verification_report", reported.log_index),
    ]
    [report_status] = _apart(lambda: _statuses(report, services)).values()
    assert report_status.bottom_line
    signer = report_status.signing_cert.subject.native["common_name"]
    assert signer.endswith(REPORT_SEAL_CAPTION)
    (tmp_path / "report.pdf").write_bytes(report)
    printed = subprocess.run(
        [pdftotext, str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    # Who checked, where, and why, on the clerk's file copy.
    for words in ("杭州市民中心 · 3号窗口", "张窗口", PURPOSE, "有效"):
        assert words in printed

    # The receipt is this clerk's: another clerk, or a changed receipt, gets nothing.
    receipt = desk.locator("input[name=receipt]").first.get_attribute("value") or ""
    add_staff(services, StaffRole.CLERK, "clerk-2", name="李窗口")
    desk.get_by_role("button", name="退出").click()
    sign_in_staff(desk, base, "clerk-2", "/desk")
    token = desk.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    for sent, words in ((receipt, "这不是您的核验结果"), (receipt[:-3] + "AAA", "已过期")):
        answer = desk.request.post(f"{base}/desk/copy", form={"csrf_token": token, "receipt": sent})
        assert answer.status == 422 and words in answer.text()
    assert len([e for e in access_events(services) if e.action == "annotated_copy"]) == 1


def test_bad_input_is_said_on_the_desk_in_chinese(
    services: Services, live_pages: LiveServer, desk: Page
) -> None:
    base = live_pages.base_url
    _clerk_at_desk(services, desk, base)
    desk.select_option("#purpose", PURPOSE)
    desk.fill("#scanned", "<script>alert(1)</script>")
    desk.press("#scanned", "Enter")
    desk.wait_for_load_state()
    expect(desk.locator("#desk-error")).to_contain_text("无法识别")
    desk.fill("#scanned", "3301009999999999")
    desk.press("#scanned", "Enter")
    desk.wait_for_load_state()
    expect(desk.locator("#desk-error")).to_contain_text("证照库中没有此编号")
    check_a11y(desk)
    # No purpose stated: refused on the server too (the browser's own check bypassed).
    token = desk.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    answer = desk.request.post(
        f"{base}/desk/check",
        multipart={"csrf_token": token, "way": "scan", "scanned": "3301002026000001"},
    )
    assert answer.status == 422 and "请选择用证事由" in answer.text()
    # A form read but its upload refused (no file chosen) keeps the purpose it stated,
    # not the one stated before.
    other = WINDOW_PURPOSES[1]
    answer = desk.request.post(
        f"{base}/desk/check", multipart={"csrf_token": token, "way": "pdf", "purpose": other}
    )
    assert answer.status == 422 and "请选择PDF文件" in answer.text()
    assert f'<option value="{other}" selected>' in answer.text()
    # A form from elsewhere (no CSRF token) is refused.
    answer = desk.request.post(
        f"{base}/desk/check", multipart={"purpose": PURPOSE, "way": "scan", "scanned": "1"}
    )
    assert answer.status == 403
    desk.goto(f"{base}/desk?lang=en")
    expect(desk.locator("h1")).to_contain_text("Verification desk")
    check_a11y(desk)


@pytest.mark.parametrize("who", ["holder", "officer"])
def test_a_holder_or_an_officer_is_refused_the_desk(
    who: str, services: Services, live_pages: LiveServer, desk: Page
) -> None:
    base = live_pages.base_url
    if who == "holder":
        sign_in_holder(desk, base, "110101199003074514")
        desk.goto(f"{base}/desk")
        assert "/staff/sign-in" in desk.url
    else:
        add_staff(services, StaffRole.OFFICER, "officer-a", department_code=DEPARTMENT_A)
        sign_in_staff(desk, base, "officer-a")
        response = desk.goto(f"{base}/desk")
        assert response is not None and response.status == 403
    # Nor can either post a check.
    answer = desk.request.post(f"{base}/desk/check", multipart={"purpose": PURPOSE, "way": "scan"})
    assert answer.status in (401, 403) or "/staff/sign-in" in answer.url
