"""GET /api/v1/licenses/{id}/proof: a C2SP tlog-proof that checks with the log's key alone;
verification answers and the holder's record carry log indexes."""

from __future__ import annotations

import time

from sqlalchemy import select

from tests.api.conftest import PURPOSES, Api
from trustsvc.audit.access_reading import access_events
from trustsvc.audit.log import reading
from trustsvc.bootstrap import build_log_key
from trustsvc.db.models import LicenseRecord
from trustsvc.tlog.proof import check_proof


def _log_index(api: Api, identifier: str) -> int:
    with api.services.database.begin() as session:
        index = session.scalar(
            select(LicenseRecord.log_index).where(LicenseRecord.identifier == identifier)
        )
    assert index is not None
    return index


def _wait_until_published(api: Api, index: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        published = reading.latest_checkpoint(api.services.database)
        if published is not None and published.size > index:
            return
        time.sleep(0.05)
    raise AssertionError(f"entry {index} was not published")


def test_the_issuer_gets_a_proof_that_checks_offline(api: Api) -> None:
    identifier = api.issue()
    index = _log_index(api, identifier)
    _wait_until_published(api, index)
    answer = api.http.get(f"/api/v1/licenses/{identifier}/proof", headers=api.as_("issuer_a"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    vkey = build_log_key(api.services.settings).verifier.vkey()
    verified = check_proof(answer.content, vkey)
    assert verified.index == index
    for who, status in (("issuer_b", 403), ("none", 401)):
        refused = api.http.get(f"/api/v1/licenses/{identifier}/proof", headers=api.as_(who))
        assert refused.status_code == status, (who, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"


def test_a_verifier_gets_the_proof_recorded_and_the_holder_their_own(api: Api) -> None:
    identifier = api.issue()
    index = _log_index(api, identifier)
    _wait_until_published(api, index)
    vkey = build_log_key(api.services.settings).verifier.vkey()
    url = f"/api/v1/licenses/{identifier}/proof"
    purpose = PURPOSES[0]
    answer = api.http.get(url, params={"purpose": purpose}, headers=api.as_("verifier"))
    assert answer.status_code == 200, answer.text
    assert check_proof(answer.content, vkey).index == index
    [row] = [e for e in access_events(api.services) if e.action == "log_proof"]
    assert (row.outcome, row.purpose, row.licenses) == ("answered", purpose, (identifier,))
    # A purpose the verifier may not state is refused, as on every verifier route.
    refused = api.http.get(url, params={"purpose": "别的事由"}, headers=api.as_("verifier"))
    assert refused.status_code == 403, refused.text

    mine = api.holder().get(f"/api/v1/me/licenses/{identifier}/proof")
    assert mine.status_code == 200, mine.text
    assert check_proof(mine.content, vkey).index == index
    assert mine.headers["cache-control"] == "no-store"


def test_status_answers_carry_the_log_index(api: Api) -> None:
    identifier = api.issue()
    answer = api.http.get(f"/public/licenses/{identifier}/status")
    assert answer.status_code == 200
    assert answer.json()["log_index"] == _log_index(api, identifier)
