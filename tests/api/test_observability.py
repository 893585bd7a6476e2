"""Metrics, structured logs without secrets or ID numbers, request ids, bounded bodies."""

from __future__ import annotations

import io
import json
import logging

from fastapi.testclient import TestClient

from tests.api.conftest import CITIZEN_ID, PURPOSES, Api
from tests.helpers import DEPARTMENT_A, add_purposes
from trustsvc.api.app import create_app
from trustsvc.api.observability import JsonLogFormatter, RequestLog
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.sharing.clients import add_client


def test_metrics_count_requests_issuance_verifications_and_lookups(api: Api) -> None:
    identifier = api.issue()
    verifier = api.as_("verifier")
    api.http.post(
        "/api/v1/verify",
        content=api.licenses.document(identifier),
        headers={**verifier, "Content-Type": "application/pdf"},
    )
    api.http.get(
        "/api/v1/lookup",
        params={"holder_id": CITIZEN_ID, "type": "real-estate-certificate", "purpose": PURPOSES[0]},
        headers=verifier,
    )
    api.http.get("/api/v1/lookup", params={"holder_id": CITIZEN_ID, "type": "x"}, headers=verifier)
    text = api.http.get("/metrics", headers=api.as_("admin")).text
    assert 'trustsvc_verifications_total{kind="verify_pdf",verdict="valid"} 1.0' in text
    assert 'trustsvc_lookups_total{outcome="answered"} 1.0' in text
    assert 'trustsvc_lookups_total{outcome="refused"} 1.0' in text
    assert 'route="/api/v1/lookup",status="200"' in text
    assert "trustsvc_http_request_duration_seconds_bucket" in text
    assert CITIZEN_ID not in text


def test_issuance_through_the_api_is_counted(api: Api) -> None:
    from trustsvc.licenses.types import example_data, get_type

    data = example_data(get_type(api.licenses.types, "business-license"))
    for _ in range(2):  # the replay is not a second license
        api.http.post(
            "/api/v1/licenses",
            json={"type": "business-license", "data": data},
            headers={**api.as_("issuer_a"), "Idempotency-Key": "metrics-0001"},
        )
    text = api.http.get("/metrics", headers=api.as_("admin")).text
    assert 'trustsvc_licenses_issued_total{license_type="business-license"} 1.0' in text


def test_request_logs_are_json_with_route_templates_never_ids_or_keys(
    services: Services, licenses: IssuingService
) -> None:
    stream = io.StringIO()
    app = create_app(services.settings, services=services, request_log=RequestLog(stream))
    add_purposes(services, "核验")
    _info, key = add_client(services, "verifier", "verifier", purposes=["核验"])
    with TestClient(app) as http:
        identifier = licenses.issue(
            IssueRequest(
                DEPARTMENT_A,
                "real-estate-certificate",
                example_data(get_type(licenses.types, "real-estate-certificate")),
            )
        ).license.identifier
        answer = http.get(
            "/api/v1/lookup",
            params={"holder_id": CITIZEN_ID, "type": "real-estate-certificate", "purpose": "x"},
            headers={"Authorization": f"Bearer {key.secret}", "X-Request-ID": "trace-42"},
        )
        http.get(f"/public/licenses/{identifier}/status")
    # Leaving the client ran the app's shutdown, which flushes the log.
    assert answer.headers["x-request-id"] == "trace-42"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    lookup = next(line for line in lines if line["route"] == "/api/v1/lookup")
    assert lookup["request_id"] == "trace-42" and lookup["status"] == 403
    assert lookup["client"] == "verifier" and lookup["msg"] == "request"
    assert lookup["level"] == "info" and lookup["ts"].endswith("+00:00")
    assert any(line["route"] == "/public/licenses/{identifier}/status" for line in lines)
    logged = stream.getvalue()
    assert CITIZEN_ID not in logged and identifier not in logged
    assert key.secret.split(".", 1)[1] not in logged


def test_other_logs_are_json_lines_too() -> None:
    record = logging.makeLogRecord(
        {"name": "trustsvc.jobs", "levelname": "ERROR", "msg": "row %d failed", "args": (3,)}
    )
    entry = json.loads(JsonLogFormatter().format(record))
    assert (entry["logger"], entry["level"], entry["msg"]) == (
        "trustsvc.jobs",
        "error",
        "row 3 failed",
    )


def test_oversized_bodies_are_refused_before_they_are_read(api: Api) -> None:
    too_big = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    declared = api.http.post(
        "/api/v1/licenses",
        content=too_big,
        headers={
            **api.as_("issuer_a"),
            "Idempotency-Key": "big-00001",
            "Content-Type": "application/json",
        },
    )
    assert declared.status_code == 413 and declared.json()["code"] == "too-large"

    def chunks() -> object:
        for _ in range(40):
            yield b" " * 65536

    streamed = api.http.post(
        "/api/v1/licenses",
        content=chunks(),  # type: ignore[arg-type]
        headers={
            **api.as_("issuer_a"),
            "Idempotency-Key": "big-00002",
            "Content-Type": "application/json",
        },
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"].startswith("application/problem+json")
