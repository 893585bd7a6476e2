"""The department console with JavaScript off, in a real browser: the officer issues from
the generated form (the server's own check refusing a field first), suspends a license
through its confirmation step, and follows a batch job with the page's refresh link."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, enterprise_holder
from tests.pages.test_console import (
    _batch_csv,
    _fill_business_license,
    _officer,
    _wrong_check,
)
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.jobs import JobRunner
from trustsvc.services import Services

pytestmark = pytest.mark.browser

Shoot = Callable[[Page, str], Path]

# With script off, Playwright's page.evaluate never answers, so these pages get screenshots
# only here; the same markup passes axe-core and the width check in tests/pages/test_console.py.


def test_without_script_the_officer_issues_and_suspends_after_a_confirmation(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    no_script: Page,
    shoot: Shoot,
) -> None:
    base = live_pages.base_url
    _officer(services, no_script, base)
    # wait_for_url never returns with script off (Playwright waits in the page's script):
    # each step waits for its navigation instead.
    with no_script.expect_navigation():
        no_script.click("text=营业执照")
    assert no_script.url == f"{base}/console/issue/business-license"
    holder = enterprise_holder()["holder_id"]
    # No script checks the field: the server does, and says so under it.
    _fill_business_license(no_script, _wrong_check(holder))
    with no_script.expect_navigation():
        no_script.click("#issue")
    expect(no_script.locator("#e-holder_id")).to_have_text(
        "统一社会信用代码的校验位不对，请核对是否输错"
    )
    expect(no_script.locator("#f-name")).to_have_value("杭州表单科技有限公司")
    shoot(no_script, "issue-refused")
    no_script.fill("#f-holder_id", holder)
    with no_script.expect_navigation():
        no_script.click("#issue")
    assert no_script.url.endswith("?issued=1")
    expect(no_script.locator("#status")).to_have_text("有效")
    identifier = no_script.url.split("/console/licenses/")[1].split("?")[0]
    assert licenses.show(identifier).issuer_code == DEPARTMENT_A

    # Suspending: the reason, then a confirmation page, and only then the change.
    with no_script.expect_navigation():
        no_script.click("#suspend")
    no_script.fill("#reason", "核查经营场所")
    with no_script.expect_navigation():
        no_script.click("#next")
    expect(no_script.locator("#confirm")).to_contain_text("核查经营场所")
    shoot(no_script, "suspend-confirm")
    assert licenses.show(identifier).status == "valid"
    with no_script.expect_navigation():
        no_script.click("#confirm-button")
    assert no_script.url == f"{base}/console/licenses/{identifier}?done=suspend"
    expect(no_script.locator("#status")).to_have_text("已暂停")
    expect(no_script.locator("#history")).to_contain_text("核查经营场所")
    view = licenses.show(identifier)
    assert (view.status, view.status_reason) == ("suspended", "核查经营场所")


def test_without_script_the_job_page_is_followed_by_its_refresh_link(
    services: Services,
    licenses: IssuingService,
    live_pages: LiveServer,
    no_script: Page,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    base = live_pages.base_url
    # The app's own worker is held off, so that the job is seen waiting first.
    state = live_pages.server.config.app.state.api
    state.jobs.stop()
    _officer(services, no_script, base)
    no_script.goto(f"{base}/console/batch")
    upload = tmp_path / "批量.csv"
    upload.write_bytes(_batch_csv())
    no_script.select_option("#type", "business-license")
    no_script.set_input_files("#file", str(upload))
    with no_script.expect_navigation():
        no_script.click("#upload")
    assert "/console/jobs/" in no_script.url
    expect(no_script.locator("#running")).to_be_visible()
    expect(no_script.locator("#finished")).to_have_count(0)
    shoot(no_script, "job-waiting")

    worker = JobRunner(
        state.licenses, state.services.database, state.services.clock, state.data_key, 0.2
    )
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while no_script.locator("#refresh").count() and time.monotonic() < deadline:
            time.sleep(0.5)
            with no_script.expect_navigation():
                no_script.click("#refresh")
    finally:
        worker.stop()
    expect(no_script.locator("#finished")).to_be_visible()
    expect(no_script.locator("#counts")).to_contain_text("签发 1，重复 0，有误 2")
    expect(no_script.locator("#problems tbody tr")).to_have_count(2)
    shoot(no_script, "job-finished")
