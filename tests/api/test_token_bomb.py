"""Issue 10's denial of service: a ~270-character token pinned a worker for minutes.

The decode is first run in a child process killed after 20 s (so that the code
before the fix fails this test instead of hanging the suite); then the same
token goes over HTTP to the public page and the verifier API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trustsvc
from tests.api.conftest import Api
from tests.helpers import DEPARTMENT_A
from tests.verification import hostile_tokens as H
from trustsvc.departments.registry import active_seal
from trustsvc.pki.certificates import seal_key_id
from trustsvc.verification.tokens import sign_token


def _bomb(api: Api) -> str:
    material = active_seal(api.services, DEPARTMENT_A).material
    genuine = sign_token(H.claims(), material.key, seal_key_id(material.certificate))
    return H.tag4_bomb(genuine)


def _guard(token: str, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from trustsvc.verification.tokens import InvalidTokenError, peek_kind, parse_token\n"
        "assert peek_kind(sys.argv[1]) is None\n"
        "try:\n"
        "    parse_token(sys.argv[1])\n"
        "except InvalidTokenError:\n"
        "    print('refused')\n"
    )
    try:
        child = subprocess.run(
            [sys.executable, "-c", script, token],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
            cwd=tmp_path,
            env=_same_code(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail("decoding the tag 4 bomb ran for more than 20 s")
    assert child.stdout.strip() == "refused", child.stderr


def test_the_tag_4_bomb_gets_a_quick_answer_over_http(api: Api, tmp_path: Path) -> None:
    bomb = _bomb(api)
    _guard(bomb, tmp_path)
    started = time.perf_counter()
    page = api.http.get(f"/v/{bomb}")
    assert time.perf_counter() - started < 1.0
    assert page.status_code == 200
    assert 'data-verdict="malformed_input"' in page.text
    started = time.perf_counter()
    answer = api.http.get(f"/api/v1/verify/token/{bomb}", headers=api.as_("verifier"))
    assert time.perf_counter() - started < 1.0
    assert answer.status_code == 200
    assert answer.json()["verdict"] == "malformed_input"
    assert [r["code"] for r in answer.json()["reasons"]] == ["token_malformed"]


def _same_code() -> dict[str, str]:
    """The environment for a child that imports the very trustsvc this test imported."""
    source = str(Path(trustsvc.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
