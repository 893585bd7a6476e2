"""Entitlement over the API and the command line: issuing a type the department may not
issue is refused (403 ``type-not-entitled``; one line on the command line), every batch
row too; ``department allow-type`` / ``deny-type`` change it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.api.conftest import Api
from tests.cli.running import trustsvc_process
from tests.helpers import DEPARTMENT_B, enterprise_holder
from trustsvc.licenses.types import example_data, get_type


def _business(api: Api) -> dict[str, str]:
    # A holder of its own each time: a business license is unique per holder.
    return {**example_data(get_type(api.licenses.types, "business-license")), **enterprise_holder()}


def test_an_issuer_may_not_issue_a_type_its_department_is_not_entitled_to(api: Api) -> None:
    answer = api.http.post(
        "/api/v1/licenses",
        json={"type": "business-license", "data": _business(api)},
        headers={**api.as_("issuer_b"), "Idempotency-Key": "entitle-b-0001"},
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "type-not-entitled"
    assert "宁波市住房和城乡建设局" in answer.json()["title"]
    listed = api.http.get("/api/v1/licenses", headers=api.as_("issuer_b")).json()
    assert listed["items"] == []


def test_every_batch_row_of_a_type_not_entitled_is_refused(api: Api) -> None:
    rows = [{**_business(api), "holder_name": f"宁波示例{n}号有限公司"} for n in range(2)]
    accepted = api.http.post(
        "/api/v1/licenses/batch",
        json={"type": "business-license", "rows": rows},
        headers={**api.as_("issuer_b"), "Idempotency-Key": "entitle-b-batch"},
    )
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 60
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = api.http.get(accepted.headers["location"], headers=api.as_("issuer_b")).json()
        if job["status"] == "done":
            break
        time.sleep(0.1)
    assert (job["status"], job["issued"], job["errors"]) == ("done", 0, 2)
    assert {r["code"] for r in job["results"]} == {"type-not-entitled"}


def test_the_department_commands_manage_entitlement(api: Api, tmp_path: Path) -> None:
    services = api.services

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return trustsvc_process(
            ["--home", str(services.settings.home), *arguments],
            {
                "TRUSTSVC_DATABASE_URL": services.settings.resolved_database_url,
                "TRUSTSVC_KEY_PASSPHRASE": services.settings.key_passphrase.get_secret_value(),
                "PATH": "/usr/bin:/bin",
            },
            timeout=120,
        )

    data = tmp_path / "data.json"
    data.write_text(json.dumps(_business(api), ensure_ascii=False), encoding="utf-8")
    issue = ("issue", "--department", DEPARTMENT_B, "--type", "business-license")
    refused = run(*issue, "--data", str(data), "--out", str(tmp_path / "a.pdf"))
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("trustsvc: error: department 宁波市住房和城乡建设局")
    assert "not entitled to issue 营业执照" in line

    allowed = run("department", "allow-type", "--code", DEPARTMENT_B, "--type", "business-license")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["allowed"] is True
    assert run(*issue, "--data", str(data), "--out", str(tmp_path / "b.pdf")).returncode == 0

    unknown = run("department", "deny-type", "--code", DEPARTMENT_B, "--type", "passport")
    assert unknown.returncode == 66 and "no license type 'passport'" in unknown.stderr
    kinds = run("department", "set-kind", "--code", DEPARTMENT_B, "--kind", "wizards")
    assert kinds.returncode == 65 and "unknown department kind" in kinds.stderr
