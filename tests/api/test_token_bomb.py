"""Issue 10's denial of service: a ~270-character token pinned a worker for minutes.

The decode is first run in a child process killed after 20 s (so that the code
before the fix fails this test instead of hanging the suite); then the same
token goes over HTTP to the public page and the verifier API.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.api.conftest import Api
from tests.helpers import DEPARTMENT_A
from tests.verification import hostile_tokens as H
from trustsvc.departments.seals import active_seal
from trustsvc.pki.certificates import seal_key_id
from trustsvc.tokens.signing import sign_token


def _bomb(api: Api) -> str:
    material = active_seal(api.services, DEPARTMENT_A).material
    genuine = sign_token(H.claims(), material.key, seal_key_id(material.certificate))
    return H.tag4_bomb(genuine)


def _guard(token: str, tmp_path: Path) -> None:
    outcome, kind, _seconds = H.decode_in_a_fresh_process(token, tmp_path)
    assert kind == "None" and outcome == "refused"


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
