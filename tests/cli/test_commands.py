"""The CLI as a user runs it: a subprocess, its stdout, stderr and exit code."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from tests.cli.running import TRUSTSVC, assert_one_line_error, run, run_interpreter
from tests.conftest import free_port
from tests.helpers import DEPARTMENT_A
from trustsvc.pki import ca
from trustsvc.pki.keystore import generate_private_key
from trustsvc.settings import KeyAlgorithm

COMMANDS = [
    [],
    ["init"],
    ["serve"],
    ["department"],
    ["department", "add"],
    ["department", "list"],
    ["department", "revoke-seal"],
    ["department", "new-seal"],
    ["department", "import-seal"],
    ["issue"],
    ["issue-batch"],
    ["types"],
    ["types", "list"],
    ["types", "example"],
    ["license"],
    ["license", "show"],
    ["license", "list"],
    ["license", "suspend"],
    ["license", "resume"],
    ["license", "revoke"],
    ["license", "change"],
    ["license", "history"],
    ["license", "numbers"],
    ["client"],
    ["client", "add"],
    ["client", "list"],
    ["client", "revoke"],
    ["client", "rotate"],
    ["operator-record"],
    ["trust", "add"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "trustsvc")
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    # The top level through the entry point itself (a new interpreter, half a second);
    # every other command forked from the imported package, as the other tests run them.
    result = (run if command else run_interpreter)(tmp_path, *command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_a_department_from_init_to_revocation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run(home, "init")
    assert result.returncode == 0, result.stderr
    assert "root fingerprint" in result.stdout

    assert_one_line_error(run(home, "init"), 78, "has a PKI already")

    added = run(home, "department", "add", "--name", "杭州市市场监督管理局", "--code", DEPARTMENT_A)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["code"] == DEPARTMENT_A

    assert_one_line_error(
        run(home, "department", "add", "--name", "x", "--code", DEPARTMENT_A),
        65,
        "registered already",
    )
    assert_one_line_error(
        run(home, "department", "add", "--name", "x", "--code", "91330100MA2XXXXXX1"),
        65,
        "check character",
    )
    revoked = run(
        home, "department", "revoke-seal", "--code", DEPARTMENT_A, "--reason", "key_compromise"
    )
    assert revoked.returncode == 0, revoked.stderr
    listed = json.loads(run(home, "department", "list").stdout)
    assert listed[0]["seals"][0]["revocation_reason"] == "key_compromise"

    assert_one_line_error(
        run(home, "department", "list", env={"TRUSTSVC_KEY_PASSPHRASE": "wrong"}), 78, "passphrase"
    )


def test_operator_actions_are_recorded_with_the_actor(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init").returncode == 0
    added = run(
        home,
        "department",
        "add",
        "--name",
        "杭州市市场监督管理局",
        "--code",
        DEPARTMENT_A,
        "--no-seal",
        "--actor",
        "张三",
    )
    assert added.returncode == 0, added.stderr
    assert_one_line_error(
        run(home, "department", "add", "--name", "杭州市\u202e局", "--code", DEPARTMENT_A),
        65,
        "U+202E",
    )
    made = run(home, "client", "add", "运维", "--role", "admin")
    assert made.returncode == 0, made.stderr
    record = run(home, "operator-record")
    assert record.returncode == 0, record.stderr
    client_entry, department_entry = json.loads(record.stdout)
    assert (department_entry["action"], department_entry["actor"]) == ("department_add", "张三")
    assert department_entry["origin"].startswith("cli@")
    assert department_entry["target"] == DEPARTMENT_A
    assert client_entry["action"] == "client_add"
    assert client_entry["actor"]  # the operating-system user
    only = run(home, "operator-record", "--action", "client_add", "--limit", "5")
    assert [e["target"] for e in json.loads(only.stdout)] == ["运维"]
    # Trusting a root is an operator change like the others: its actor is the OS user too.
    outside_root = ca.build_root_ca(
        generate_private_key(KeyAlgorithm.EC_P256),
        ca.service_name("省级电子认证中心", "Provincial Root CA"),
        datetime.now(UTC),
    )
    (tmp_path / "root.pem").write_bytes(outside_root.public_bytes(Encoding.PEM))
    assert run(home, "trust", "add", str(tmp_path / "root.pem")).returncode == 0
    trusted = run(home, "operator-record", "--action", "trust_add", "--limit", "1")
    assert [e["actor"] for e in json.loads(trusted.stdout)] == [getpass.getuser()]


def test_missing_home_and_bad_settings_are_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run(tmp_path / "none", "department", "list"), 78, "trustsvc init")
    assert_one_line_error(
        run(tmp_path, "init", env={"TRUSTSVC_PUBLIC_BASE_URL": "ftp://x"}),
        78,
        "TRUSTSVC_PUBLIC_BASE_URL",
    )
    assert_one_line_error(
        run(tmp_path / "prod", "init", env={"TRUSTSVC_PRODUCTION": "true"}), 78, "production mode"
    )
    assert not (tmp_path / "prod" / "pki").exists()


def test_serve_initialises_a_fresh_home_and_serves(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "fresh"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TRUSTSVC_HOME": str(home),
        "TRUSTSVC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [*TRUSTSVC, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        root = requests.get(f"http://127.0.0.1:{port}/pki/certs/root.pem", timeout=5)
        assert root.text.startswith("-----BEGIN CERTIFICATE-----")
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=20)
    assert "initialising it with development defaults" in err
    assert "development passphrase" in err
    assert (home / "pki" / "certs" / "root.pem").exists()
    shutil.rmtree(home)


def test_issue_and_lifecycle_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init").returncode == 0
    added = run(
        home,
        "department",
        "add",
        "--name",
        "杭州市市场监督管理局",
        "--code",
        DEPARTMENT_A,
        "--region",
        "330100",
    )
    assert added.returncode == 0, added.stderr
    assert "business-license" in run(home, "types", "list").stdout
    example = run(home, "types", "example", "food-business-permit")
    data_file = tmp_path / "data.json"
    data_file.write_text(example.stdout, encoding="utf-8")
    out = tmp_path / "license.pdf"
    issue = [
        "issue",
        "--department",
        DEPARTMENT_A,
        "--type",
        "food-business-permit",
        "--data",
        str(data_file),
    ]
    first = run(home, *issue, "--idempotency-key", "k1", "--out", str(out))
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["created"] and out.read_bytes().startswith(b"%PDF")
    assert json.loads(run(home, *issue, "--idempotency-key", "k1").stdout)["created"] is False

    identifier = summary["identifier"]
    listed = json.loads(run(home, "license", "list", "--department", DEPARTMENT_A).stdout)
    assert [item["identifier"] for item in listed] == [identifier]
    shown = json.loads(run(home, "license", "show", identifier).stdout)
    # An organisation's credit code is public; a person's ID number would be masked.
    assert shown["status"] == "valid" and shown["holder_id_type"] == "001"
    revoked = run(
        home, "license", "revoke", identifier, "--kind", "cancelled", "--reason", "申请人申请"
    )
    assert json.loads(revoked.stdout)["status"] == "revoked"
    assert_one_line_error(run(home, "license", "resume", identifier), 65, "revoked")
    assert_one_line_error(run(home, "license", "show", "1.2.3"), 66, "no license")

    bad = tmp_path / "bad.json"
    bad.write_text('{"holder_id": "1"}', encoding="utf-8")
    assert_one_line_error(
        run(
            home,
            "issue",
            "--department",
            DEPARTMENT_A,
            "--type",
            "food-business-permit",
            "--data",
            str(bad),
        ),
        65,
        "holder_name: required",
    )
    early = {**json.loads(example.stdout), "valid_from": "1900-01-01"}
    bad.write_text(json.dumps(early), encoding="utf-8")
    assert_one_line_error(
        run(home, *issue[:-1], str(bad)), 65, "valid_from: 1900-01-01 is before 1949-10-01"
    )
    bad.write_text("not json", encoding="utf-8")
    assert_one_line_error(
        run(
            home,
            "issue",
            "--department",
            DEPARTMENT_A,
            "--type",
            "food-business-permit",
            "--data",
            str(bad),
        ),
        65,
        "not a readable JSON file",
    )


def test_a_sealed_report_is_refused_offline_before_any_work(tmp_path: Path) -> None:
    # The report seal's record is in the database, which an offline check never opens.
    document = tmp_path / "license.pdf"
    document.write_bytes(b"%PDF-1.7\n")
    for command in (
        ["verify", str(document)],
        ["verify-token", "AAAA"],
    ):
        result = run(tmp_path / "none", *command, "--offline", "--report", str(tmp_path / "r.pdf"))
        assert_one_line_error(result, 65, "--report")
        assert not (tmp_path / "r.pdf").exists()
