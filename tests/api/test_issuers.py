"""Issuer routes: idempotent issuance, batch jobs, lifecycle, listing, downloads."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from tests.api.conftest import Api
from tests.helpers import DEPARTMENT_A, credit_code
from tests.licenses.pdf_checks import validate_offline
from trustsvc.licenses.types import example_data, get_type


def _holder(seed: str) -> dict[str, str]:
    """A made-up enterprise holder of its own for ``seed``: always the same one for it."""
    n = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**7
    return {"holder_id_type": "001", "holder_id": credit_code(f"91330106MB{n:07d}")}


def _data(api: Api, type_key: str = "business-license", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(example_data(get_type(api.licenses.types, type_key)))
    if api.licenses.types[type_key].unique_per_holder and "holder_id" not in changes:
        # One holder per holder name: a holder may hold only one license of this type.
        data.update(_holder(str(changes.get("holder_name", data["holder_name"]))))
    return {**data, **changes}


def _issue(api: Api, key: str, type_key: str = "business-license", **changes: Any) -> Any:
    return api.http.post(
        "/api/v1/licenses",
        json={"type": type_key, "data": {**_data(api, type_key), **_holder(key), **changes}},
        headers={**api.as_("issuer_a"), "Idempotency-Key": key},
    )


def test_issue_is_idempotent_per_key_and_refuses_a_reused_key(api: Api) -> None:
    first = _issue(api, "approval-0001")
    assert first.status_code == 201, first.text
    body = first.json()
    assert first.headers["location"] == f"/api/v1/licenses/{body['identifier']}"
    assert (body["issuer_code"], body["issuer_name"]) == (DEPARTMENT_A, "杭州市市场监督管理局")
    again = _issue(api, "approval-0001")
    assert again.status_code == 200 and again.json()["identifier"] == body["identifier"]
    other = _issue(api, "approval-0001", holder_name="另一家有限公司")
    assert other.status_code == 409 and other.json()["code"] == "conflict"
    listed = api.http.get("/api/v1/licenses", headers=api.as_("issuer_a")).json()
    assert [item["identifier"] for item in listed["items"]] == [body["identifier"]]


def test_issue_needs_an_idempotency_key_and_valid_data(api: Api) -> None:
    missing = api.http.post(
        "/api/v1/licenses",
        json={"type": "business-license", "data": _data(api)},
        headers=api.as_("issuer_a"),
    )
    assert missing.status_code == 422 and missing.json()["code"] == "invalid-request"
    bad = _issue(api, "approval-0002", holder_id="91330106MA27U1T087")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "invalid-license-data"
    unknown = api.http.post(
        "/api/v1/licenses",
        json={"type": "no-such-type", "data": {}},
        headers={**api.as_("issuer_a"), "Idempotency-Key": "approval-0003"},
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not-found"
    listed = api.http.get("/api/v1/licenses", headers=api.as_("issuer_a")).json()
    assert listed["items"] == []  # nothing half-written


def test_dates_out_of_range_and_a_bad_credit_code_are_422_naming_the_field(api: Api) -> None:
    early = _issue(api, "approval-0004", valid_from="1949-09-30")
    assert early.status_code == 422 and early.json()["code"] == "invalid-license-data"
    assert "valid_from: 1949-09-30 is before 1949-10-01" in early.json()["title"]
    late = _issue(api, "approval-0005", established_on="2227-01-01")
    assert late.status_code == 422
    assert "established_on: 2227-01-01 is more than 100 years after today" in late.json()["title"]
    bad_code = _issue(api, "approval-0006", credit_code="91330106MA27U1T087")
    assert bad_code.status_code == 422 and "credit_code: " in bad_code.json()["title"]
    listed = api.http.get("/api/v1/licenses", headers=api.as_("issuer_a")).json()
    assert listed["items"] == []


def test_lifecycle_through_the_api(api: Api) -> None:
    identifier = _issue(api, "approval-0010").json()["identifier"]
    headers = api.as_("issuer_a")
    suspended = api.http.post(
        f"/api/v1/licenses/{identifier}/suspend", json={"reason": "停业整顿"}, headers=headers
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    again = api.http.post(
        f"/api/v1/licenses/{identifier}/suspend", json={"reason": "停业整顿"}, headers=headers
    )
    assert again.status_code == 409
    resumed = api.http.post(f"/api/v1/licenses/{identifier}/resume", json={}, headers=headers)
    assert resumed.json()["status"] == "valid"
    changed = api.http.post(
        f"/api/v1/licenses/{identifier}/change",
        json={"changes": {"holder_name": "杭州示例科技股份有限公司"}, "reason": "名称变更"},
        headers=headers,
    )
    assert changed.status_code == 201, changed.text
    new = changed.json()
    assert new["supersedes"] == identifier and new["version"] == 2
    old = api.http.get(f"/api/v1/licenses/{identifier}", headers=headers).json()
    assert old["status"] == "superseded"
    superseded = api.http.get(
        "/api/v1/licenses", params={"status": "superseded"}, headers=headers
    ).json()
    assert [item["identifier"] for item in superseded["items"]] == [identifier]
    revoke = f"/api/v1/licenses/{new['identifier']}/revoke"
    # Which revocation it is must be said: 注销 (cancelled) or 吊销 (withdrawn).
    assert api.http.post(revoke, json={"reason": "吊销"}, headers=headers).status_code == 422
    revoked = api.http.post(
        revoke, json={"kind": "withdrawn", "reason": "违法经营"}, headers=headers
    ).json()
    assert revoked["status"] == "revoked" and revoked["revocation_kind"] == "withdrawn"


def test_list_is_paginated_filtered_and_limited_to_the_department(api: Api) -> None:
    for n in range(3):
        assert _issue(api, f"approval-002{n}").status_code == 201
    api.issue()  # a real-estate certificate of department A, not through the API
    headers = api.as_("issuer_a")
    page = api.http.get("/api/v1/licenses", params={"limit": 2}, headers=headers).json()
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    rest = api.http.get(
        "/api/v1/licenses", params={"limit": 2, "offset": 2}, headers=headers
    ).json()
    assert len(rest["items"]) == 2 and rest["next_offset"] is None
    by_type = api.http.get(
        "/api/v1/licenses", params={"type": "real-estate-certificate"}, headers=headers
    ).json()
    assert len(by_type["items"]) == 1
    by_holder = api.http.get(
        "/api/v1/licenses", params={"holder_id": "330106198503120044"}, headers=headers
    ).json()
    assert [i["type_key"] for i in by_holder["items"]] == ["real-estate-certificate"]
    assert "330106198503120044" not in str(by_holder)  # masked, even to the issuer
    other = api.http.get("/api/v1/licenses", headers=api.as_("issuer_b")).json()
    assert other["items"] == []


def test_the_pdf_downloads_and_validates(api: Api) -> None:
    identifier = _issue(api, "approval-0030").json()["identifier"]
    answer = api.http.get(f"/api/v1/licenses/{identifier}/pdf", headers=api.as_("issuer_a"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    validate_offline(api.services, answer.content)


def _wait_for(api: Api, location: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = api.http.get(location, headers=api.as_("issuer_a")).json()
        if job["status"] == "done" or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_batch_runs_as_a_job_and_a_resubmission_issues_nothing_twice(api: Api) -> None:
    rows = [
        _data(api, holder_name="杭州示例一号有限公司"),
        _data(api, holder_id="91330106MA27U1T087"),  # wrong check character: reported
        _data(api, holder_name="杭州示例三号有限公司", idempotency_key="row-three"),
    ]
    headers = {**api.as_("issuer_a"), "Idempotency-Key": "batch-0001"}
    accepted = api.http.post(
        "/api/v1/licenses/batch", json={"type": "business-license", "rows": rows}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    job = _wait_for(api, accepted.headers["location"])
    assert (job["status"], job["total"], job["issued"], job["errors"]) == ("done", 3, 2, 1)
    assert [r["status"] for r in job["results"]] == ["issued", "error", "issued"]
    resubmitted = api.http.post(
        "/api/v1/licenses/batch", json={"type": "business-license", "rows": rows}, headers=headers
    )
    assert resubmitted.status_code == 202 and resubmitted.json()["id"] == job["id"]
    conflicting = api.http.post(
        "/api/v1/licenses/batch",
        json={"type": "business-license", "rows": rows[:1]},
        headers=headers,
    )
    assert conflicting.status_code == 409
    listed = api.http.get("/api/v1/licenses", headers=api.as_("issuer_a")).json()
    assert len(listed["items"]) == 2
    hidden = api.http.get(accepted.headers["location"], headers=api.as_("issuer_b"))
    assert hidden.status_code == 404
    metrics = api.http.get("/metrics", headers=api.as_("admin")).text
    assert 'trustsvc_licenses_issued_total{license_type="business-license"} 2.0' in metrics


def test_a_job_abandoned_by_its_process_is_taken_over_without_reissuing(api: Api) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from trustsvc.db.models import BatchJob, JobStatus
    from trustsvc.licenses import jobs

    rows = [_data(api, holder_name=f"杭州示例{n}号有限公司") for n in range(3)]
    view, _ = jobs.submit_job(
        api.services.database,
        api.services.clock,
        api.licenses.data_key,
        api.licenses.types,
        1,
        DEPARTMENT_A,
        "business-license",
        rows,
        "k-000001",
    )
    # Another process issued row 1, recorded it, then died holding the job.
    first = jobs.JobRunner(
        api.licenses, api.services.database, api.services.clock, api.licenses.data_key
    )
    outcome = first._issue(view.id, 0, rows[0], DEPARTMENT_A, "business-license")
    stale = api.services.clock.now() - jobs.STALE_AFTER - timedelta(seconds=1)
    with api.services.database.begin() as session:
        session.execute(
            update(BatchJob)
            .where(BatchJob.id == view.id)
            .values(status=JobStatus.RUNNING, heartbeat_at=stale, results_json="[]")
        )
    assert outcome["status"] == "issued"
    api.http.app.state.api.jobs.wake()  # type: ignore[attr-defined]
    job = _wait_for(api, f"/api/v1/jobs/{view.id}")
    assert [r["status"] for r in job["results"]] == ["already_issued", "issued", "issued"]
    assert job["results"][0]["identifier"] == outcome["identifier"]
