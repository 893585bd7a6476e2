"""Library rules over the API: duplicates refused (409), licenses named by their printed
number, their history, and batch rows that repeat earlier rows."""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api
from trustsvc.api.errors import PROBLEM_JSON
from trustsvc.licenses.library import Action
from trustsvc.licenses.types import example_data, get_type


def _business(api: Api, **changes: Any) -> dict[str, Any]:
    return {**example_data(get_type(api.licenses.types, "business-license")), **changes}


def _post(api: Api, key: str, data: dict[str, Any]) -> Any:
    return api.http.post(
        "/api/v1/licenses",
        json={"type": "business-license", "data": data},
        headers={**api.as_("issuer_a"), "Idempotency-Key": key},
    )


def test_a_second_business_license_for_one_holder_is_a_409(api: Api) -> None:
    first = _post(api, "dup-000001", _business(api))
    assert first.status_code == 201, first.text
    second = _post(api, "dup-000002", _business(api, holder_name="杭州示例科技有限公司二"))
    assert second.status_code == 409
    assert second.headers["content-type"].startswith(PROBLEM_JSON)
    problem = second.json()
    assert problem["code"] == "duplicate-license"
    assert problem["identifier"] == first.json()["identifier"]
    assert problem["license_number"] == first.json()["license_number"]
    # The first request's replay is still its first answer.
    again = _post(api, "dup-000001", _business(api))
    assert again.status_code == 200 and again.json()["identifier"] == first.json()["identifier"]


def test_routes_accept_the_printed_number_and_show_the_history(api: Api) -> None:
    identifier = api.issue()
    number = api.licenses.show(identifier).license_number
    headers = api.as_("issuer_a")
    shown = api.http.get(f"/api/v1/licenses/{number}", headers=headers)
    assert shown.status_code == 200 and shown.json()["identifier"] == identifier
    pdf = api.http.get(f"/api/v1/licenses/{number}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    suspended = api.http.post(
        f"/api/v1/licenses/{number}/suspend", json={"reason": "核查"}, headers=headers
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    api.licenses.transition(identifier, Action.RESUME, "clerk", "核查完毕")
    history = api.http.get(f"/api/v1/licenses/{number}/history", headers=headers)
    assert history.status_code == 200, history.text
    events = history.json()["events"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("issue", None, "valid"),
        ("suspend", "valid", "suspended"),
        ("resume", "suspended", "valid"),
    ]
    assert events[1]["actor"] == "api:issuer_a" and events[1]["reason"] == "核查"
    assert events[0]["at"].endswith("Z") or events[0]["at"].endswith("+00:00")
    # Another department's issuer does not find A's number; an unknown one is a 404.
    other = api.http.get(f"/api/v1/licenses/{number}/history", headers=api.as_("issuer_b"))
    assert other.status_code == 404
    unknown = api.http.get("/api/v1/licenses/no-such-number", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not-found"


def test_batch_rows_that_repeat_earlier_rows_are_duplicates(api: Api) -> None:
    rows = [_business(api), _business(api), _business(api, holder_name="同一持证主体")]
    job = api.http.post(
        "/api/v1/licenses/batch",
        json={"type": "business-license", "rows": rows},
        headers={**api.as_("issuer_a"), "Idempotency-Key": "dup-batch-0001"},
    )
    assert job.status_code == 202, job.text
    url = job.headers["location"]
    deadline = time.monotonic() + 60
    while True:
        body = api.http.get(url, headers=api.as_("issuer_a")).json()
        if body["status"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert body["status"] == "done"
    results = body["results"]
    assert [r["status"] for r in results] == ["issued", "duplicate", "duplicate"]
    assert results[1]["duplicate_of_row"] == 1 and results[2]["duplicate_of_row"] == 1
    assert body["issued"] == 1 and body["duplicates"] == 2
