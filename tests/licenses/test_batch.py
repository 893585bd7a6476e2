from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.helpers import DEPARTMENT_A, credit_code
from trustsvc.db.models import LicenseRecord
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services

ROWS = 16


def _environment(services: Services) -> dict[str, str]:
    settings = services.settings
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TRUSTSVC_HOME": str(settings.home),
        "TRUSTSVC_KEY_PASSPHRASE": settings.key_passphrase.get_secret_value(),
        "TRUSTSVC_PUBLIC_BASE_URL": settings.public_base_url,
    }
    if settings.database_url:
        environment["TRUSTSVC_DATABASE_URL"] = settings.database_url
    return environment


def _write_csv(licenses: IssuingService, path: Path, bad_rows: set[int]) -> None:
    example = example_data(get_type(licenses.types, "business-license"))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(example))
        writer.writeheader()
        for index in range(1, ROWS + 1):
            row = {
                **example,
                "holder_name": f"杭州第{index}号科技有限公司",
                # A holder of its own per row: a holder may hold one business license.
                "holder_id": credit_code(f"91330106MC{index:07d}"),
            }
            if index in bad_rows:
                row["holder_id"] = "91330106MA27U1T080"  # wrong check character
            writer.writerow(row)


def _report(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _batch(csv_path: Path, report: Path) -> list[str]:
    return [
        sys.executable, "-m", "trustsvc", "issue-batch", str(csv_path),
        "--department", DEPARTMENT_A, "--type", "business-license",
        "--workers", "2", "--report", str(report),
    ]  # fmt: skip


def test_an_interrupted_batch_rerun_issues_every_row_exactly_once(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    csv_path = tmp_path / "rows.csv"
    _write_csv(licenses, csv_path, bad_rows={5})
    first_report = tmp_path / "first.jsonl"
    process = subprocess.Popen(
        _batch(csv_path, first_report),
        env=_environment(services),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(_report(first_report)) < 4:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = {r["row"] for r in _report(first_report) if r["status"] == "issued"}
    assert 0 < len(done_before) < ROWS

    second_report = tmp_path / "second.jsonl"
    rerun = subprocess.run(
        _batch(csv_path, second_report),
        env=_environment(services),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 1, rerun.stderr  # row 5 is bad: reported, not fatal
    outcomes = {r["row"]: r for r in _report(second_report)}
    assert sorted(outcomes) == list(range(1, ROWS + 1))
    assert outcomes[5]["status"] == "error" and "check character" in str(outcomes[5]["error"])
    for row in done_before:
        assert outcomes[row]["status"] == "already_issued"
    good = [r for r in outcomes.values() if r["status"] != "error"]
    assert len({r["identifier"] for r in good}) == ROWS - 1
    with services.database.begin() as session:
        assert session.scalar(select(func.count()).select_from(LicenseRecord)) == ROWS - 1
    summary = json.loads(rerun.stdout)
    assert summary["rows"] == ROWS and summary["errors"] == 1
