from __future__ import annotations

import re
from datetime import UTC, datetime

import requests

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, shown_text
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.clock import FixedClock
from trustsvc.holders.presentation import checks_of, present
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action, RevocationKind
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services


def _status_shown(page: str) -> str:
    """The license's status as the page words it (its facts' status line), and nothing else:
    no raw status code beside the words."""
    found = re.search(r'<dd id="fact-status"[^>]*>(.*?)</dd>', page, re.DOTALL)
    assert found is not None, "the page shows no status"
    return found.group(1).strip()


def _issue(licenses: IssuingService, type_key: str = "real-estate-certificate") -> tuple[str, str]:
    data = dict(example_data(get_type(licenses.types, type_key)))
    identifier = licenses.issue(IssueRequest(DEPARTMENT_A, type_key, data)).license.identifier
    [link] = read_qr_codes(licenses.document(identifier))
    return identifier, link


def test_the_scanned_qr_link_opens_a_page_with_the_verdict(
    licenses: IssuingService, live_server: LiveServer, clock: FixedClock
) -> None:
    identifier, link = _issue(licenses)
    assert link.startswith(live_server.base_url)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-verdict="valid"' in page.text and "有效" in page.text
    assert 'data-scope="online"' in page.text
    assert identifier in shown_text(page.text) and "杭州市市场监督管理局" in page.text
    clock.current = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    licenses.transition(
        identifier, Action.REVOKE, "clerk", "违法经营", revocation_kind=RevocationKind.WITHDRAWN
    )
    page = requests.get(link, timeout=10)
    assert 'data-verdict="not_current"' in page.text
    # 吊销 (a sanction), not 注销; when (in the service's zone) and why.
    assert "证照已于2026年12月01日 19:30吊销，原因：违法经营。" in page.text
    assert _status_shown(page.text) == "已吊销（2026年12月01日 19:30）"
    assert "已注销" not in page.text


def test_a_page_scanned_again_says_the_minute_it_was_checked_and_its_language(
    licenses: IssuingService, live_server: LiveServer, clock: FixedClock
) -> None:
    # Pages are made once per report and minute (api/pages/scanned.py): a scan within
    # the same minute gets the same page, a later one its own minute, and each language
    # its own words.
    _identifier, link = _issue(licenses)
    clock.current = datetime(2026, 12, 1, 11, 30, 5, tzinfo=UTC)
    first = requests.get(link, timeout=10).text
    clock.current = datetime(2026, 12, 1, 11, 30, 55, tzinfo=UTC)
    assert requests.get(link, timeout=10).text == first
    assert "核验时间 2026年12月01日 19:30" in first
    clock.current = datetime(2026, 12, 1, 11, 31, 0, tzinfo=UTC)
    later = requests.get(link, timeout=10).text
    assert "核验时间 2026年12月01日 19:31" in later and "19:30" not in later
    english = requests.get(link, params={"lang": "en"}, timeout=10).text
    assert "checked at 2026-12-01 19:31" in english and "核验时间" not in english
    assert 'data-verdict="valid"' in english


def test_the_page_never_shows_the_holder_id(
    licenses: IssuingService, live_server: LiveServer
) -> None:
    data = dict(example_data(get_type(licenses.types, "real-estate-certificate")))
    _identifier, link = _issue(licenses)
    page = requests.get(link, timeout=10).text
    assert str(data["holder_id"]) not in page
    if str(data["holder_id_type"]) == "111":
        assert str(data["holder_name"]) not in page  # a person's name is masked


def test_a_tampered_or_foreign_token_gives_a_refusal_page(
    licenses: IssuingService, live_server: LiveServer
) -> None:
    _identifier, link = _issue(licenses)
    tampered = link[:-5] + ("AAAAA" if not link.endswith("AAAAA") else "BBBBB")
    page = requests.get(tampered, timeout=10)
    assert page.status_code == 200 and 'data-verdict="valid"' not in page.text
    page = requests.get(f"{live_server.base_url}/v/not-a-token", timeout=10)
    assert 'data-verdict="malformed_input"' in page.text


def test_a_presentation_scan_is_recorded_for_the_holder(
    services: Services, licenses: IssuingService, live_server: LiveServer
) -> None:
    identifier, _link = _issue(licenses)
    # A code naming neither verifier nor purpose is a bearer code: the open uses it up.
    code = present(services, identifier, actor="holder", single_use=True)
    assert 'data-verdict="valid"' in requests.get(code.link, timeout=10).text
    spent = requests.get(code.link, timeout=10).text
    # The code is spent, not the license: a fresh code is asked for, the license shown in force.
    assert 'data-verdict="presentation_used"' in spent and "请持证人重新出示" in spent
    assert _status_shown(spent) == "现行有效" and "ask the holder to show a fresh code" in spent
    [check] = checks_of(services.database, identifier)
    assert check.checked_by == "public page" and check.purpose is None


def test_public_status_without_a_key(licenses: IssuingService, live_server: LiveServer) -> None:
    identifier, _link = _issue(licenses, "business-license")
    reply = requests.get(f"{live_server.base_url}/public/licenses/{identifier}/status", timeout=10)
    assert reply.status_code == 200
    body = reply.json()
    assert body["verdict"] == "valid" and body["status"] == "valid"
    assert body["issuer_code"] == DEPARTMENT_A and "holder_id" not in body
    unknown = requests.get(
        f"{live_server.base_url}/public/licenses/1.2.3/status", timeout=10
    ).json()
    assert unknown["verdict"] == "unknown_to_library"
