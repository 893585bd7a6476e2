"""No development back door by default: with the settings an operator gets when they set
nothing about sign-in, nobody can sign in as a holder of their choosing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import CITIZEN_ID, Api
from tests.conftest import TEST_PASSPHRASE
from trustsvc.api.errors import PROBLEM_JSON
from trustsvc.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, port: int) -> Settings:
    """The shared test settings as they are, the development sign-in left at its default."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        public_base_url=f"http://127.0.0.1:{port}",
        key_passphrase=TEST_PASSPHRASE,
    )


def test_the_development_sign_in_refuses_by_default(api: Api) -> None:
    as_json = api.http.post("/auth/dev-sign-in", json={"id_type": "111", "id_number": CITIZEN_ID})
    as_form = api.http.post(
        "/auth/dev-sign-in",
        content=f"id_type=111&id_number={CITIZEN_ID}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    for answer in (as_json, as_form):
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == PROBLEM_JSON
        assert "TRUSTSVC_DEVELOPMENT_SIGN_IN" in answer.json()["title"]
    assert "trustsvc_session" not in api.http.cookies
    assert api.http.get("/api/v1/me").status_code == 401


def test_without_an_identity_provider_the_sign_in_page_says_it_is_not_configured(
    api: Api,
) -> None:
    answer = api.http.get("/auth/sign-in")
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    assert body["code"] == "not-found"
    assert "sign-in is not configured" in body["title"]
    assert "TRUSTSVC_OIDC_ISSUER" in body["title"]
