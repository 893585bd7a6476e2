"""Holder sign-in with OpenID Connect, end to end over HTTP on 127.0.0.1.

A live trustsvc and a test provider (tests/api/oidc_provider.py) on two
ports; a cookie-keeping client follows the redirects between them as a
browser would. The provider decides who logs in and how its ID token may be
wrong; trustsvc must sign the right holder in, or answer 4xx problem+json
and leave no session.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.api.conftest import CITIZEN_ID
from tests.api.oidc_provider import Fault, OpenIDProvider, provider_for
from tests.conftest import TEST_PASSPHRASE, LiveServer
from tests.helpers import DEPARTMENT_A
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.settings import Settings

PROBLEM_JSON = "application/problem+json"
CITIZEN_ID_MASKED = "330106********0044"
CITIZEN = {"sub": "idp-0000-0044", "name": "王小红", "id_number": CITIZEN_ID, "id_type": "111"}


@pytest.fixture
def provider(port: int) -> Iterator[OpenIDProvider]:
    """The identity provider, with trustsvc registered as its client; CITIZEN logs in."""
    with provider_for(port, CITIZEN) as made:
        yield made


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str | None, port: int, provider: OpenIDProvider
) -> Settings:
    """The shared test settings, with the provider for holder sign-in and no development form."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        public_base_url=f"http://127.0.0.1:{port}",
        key_passphrase=TEST_PASSPHRASE,
        development_sign_in=False,
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id,
        oidc_client_secret=SecretStr(provider.client_secret),
    )


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client that keeps cookies and follows redirects, across both servers."""
    with httpx.Client(
        base_url=live_server.base_url, follow_redirects=True, trust_env=False, timeout=15
    ) as client:
        yield client


def _issue(licenses: IssuingService) -> str:
    data = dict(example_data(get_type(licenses.types, "real-estate-certificate")))
    assert data["holder_id"] == CITIZEN_ID
    request = IssueRequest(DEPARTMENT_A, "real-estate-certificate", data)
    return licenses.issue(request).license.identifier


def _assert_problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM_JSON
    assert reply.json()["code"] == code


def _assert_signed_out(browser: httpx.Client) -> None:
    _assert_problem(browser.get("/api/v1/me"), 401, "unauthenticated")


def _session_payload(browser: httpx.Client) -> str:
    """The session cookie's content: signed, not encrypted, so anyone holding it can read it."""
    cookie = browser.cookies["trustsvc_session"]
    encoded = cookie.split(".", 1)[0]
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


# ---- signing in -----------------------------------------------------------------------


def test_a_citizen_signs_in_with_the_provider_and_gets_their_license(
    licenses: IssuingService,
    live_server: LiveServer,
    provider: OpenIDProvider,
    browser: httpx.Client,
) -> None:
    identifier = _issue(licenses)
    page = browser.get("/auth/sign-in")
    assert page.status_code == 200 and page.url == f"{live_server.base_url}/me"
    hops = [str(r.url) for r in page.history]
    assert hops[1].startswith(f"{provider.issuer}/authorize?")
    assert hops[2].startswith(f"{live_server.base_url}/auth/callback?code=")
    assert provider.tokens_issued == 1 and provider.refusals == []
    assert CITIZEN_ID_MASKED in page.text and CITIZEN_ID not in page.text

    me = browser.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {
        "holder_id_type": "111",
        "holder_id_masked": CITIZEN_ID_MASKED,
        "name": "王小红",
        "signed_in_with": "oidc",
    }
    session = _session_payload(browser)
    assert CITIZEN_ID_MASKED in session and CITIZEN_ID not in session

    owned = browser.get("/api/v1/me/licenses")
    assert owned.status_code == 200
    [entry] = owned.json()
    assert entry["identifier"] == identifier and entry["status"] == "valid"
    pdf = browser.get(entry["pdf"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == licenses.document(identifier)


def test_the_id_type_defaults_to_a_citizen_id(
    live_server: LiveServer, provider: OpenIDProvider, browser: httpx.Client
) -> None:
    provider.user = {k: v for k, v in CITIZEN.items() if k != "id_type"}
    assert browser.get("/auth/sign-in").url == f"{live_server.base_url}/me"
    assert browser.get("/api/v1/me").json()["holder_id_type"] == "111"


def test_another_holder_sees_none_of_the_citizens_licenses(
    licenses: IssuingService,
    live_server: LiveServer,
    provider: OpenIDProvider,
    browser: httpx.Client,
) -> None:
    identifier = _issue(licenses)
    provider.user = {"sub": "idp-other", "name": "李四", "id_number": "11010519491231002X"}
    assert browser.get("/auth/sign-in").url == f"{live_server.base_url}/me"
    assert browser.get("/api/v1/me/licenses").json() == []
    refused = browser.get(f"/api/v1/me/licenses/{identifier}/pdf")
    _assert_problem(refused, 403, "forbidden")


# ---- refusals -------------------------------------------------------------------------


#: Each fault, and what the refusal must name.
REFUSALS = {
    Fault.FOREIGN_KEY: "bad_signature",
    Fault.UNKNOWN_KEY: "invalid_key_id",
    Fault.WRONG_AUDIENCE: "(aud)",
    Fault.AUDIENCE_ELSEWHERE: "(aud)",
    Fault.EXPIRED: "expired_token",
    Fault.WRONG_ISSUER: "(iss)",
    Fault.WRONG_NONCE: "(nonce)",
    Fault.NO_ID_TOKEN: "no ID token",
}


@pytest.mark.parametrize("fault", list(Fault), ids=str)
def test_an_id_token_that_fails_its_checks_starts_no_session(
    fault: Fault, live_server: LiveServer, provider: OpenIDProvider, browser: httpx.Client
) -> None:
    provider.fault = fault
    reply = browser.get("/auth/sign-in")
    assert str(reply.url).startswith(f"{live_server.base_url}/auth/callback?code=")
    # The provider answered the token request: it is trustsvc that refuses the token.
    assert provider.tokens_issued == 1 and provider.refusals == []
    _assert_problem(reply, 401, "unauthenticated")
    assert REFUSALS[fault] in reply.json()["title"]
    _assert_signed_out(browser)


def test_a_provider_that_gives_no_id_number_is_refused(
    provider: OpenIDProvider, browser: httpx.Client
) -> None:
    provider.user = {"sub": "idp-0000-0044", "name": "王小红"}
    reply = browser.get("/auth/sign-in")
    _assert_problem(reply, 403, "forbidden")
    assert "id_number" in reply.json()["title"]
    _assert_signed_out(browser)


def test_a_person_who_declines_at_the_provider_is_not_signed_in(
    provider: OpenIDProvider, browser: httpx.Client
) -> None:
    provider.refuse_with = "access_denied"
    _assert_problem(browser.get("/auth/sign-in"), 401, "unauthenticated")
    assert provider.tokens_issued == 0
    _assert_signed_out(browser)


def test_a_provider_that_refuses_the_client_secret_signs_no_one_in(
    provider: OpenIDProvider, browser: httpx.Client
) -> None:
    provider.client_secret = secrets.token_urlsafe(24)
    _assert_problem(browser.get("/auth/sign-in"), 401, "unauthenticated")
    assert provider.refusals == ["token: invalid_client"]
    _assert_signed_out(browser)


# ---- state: the callback belongs to the browser that started the sign-in ---------------


def test_a_callback_without_a_sign_in_is_refused(
    provider: OpenIDProvider, browser: httpx.Client
) -> None:
    for query in ("?code=made-up&state=made-up", "?code=made-up", ""):
        reply = browser.get(f"/auth/callback{query}")
        _assert_problem(reply, 401, "unauthenticated")
        assert "not started in this browser" in reply.json()["title"]
    # An error in the query is the provider's word, or anyone's: only a plain code is echoed.
    reply = browser.get("/auth/callback", params={"error": "<b>login_required</b>"})
    _assert_problem(reply, 401, "unauthenticated")
    assert "<b>" not in reply.text
    assert provider.tokens_issued == 0
    _assert_signed_out(browser)


def _client(live_server: LiveServer) -> httpx.Client:
    """A browser of its own, that stops at every redirect."""
    return httpx.Client(base_url=live_server.base_url, trust_env=False, timeout=15)


def _callback_url(client: httpx.Client, live_server: LiveServer) -> str:
    """Start a sign-in and stop where the provider sends the client back."""
    to_provider = client.get("/auth/sign-in")
    assert to_provider.status_code == 302
    back = client.get(to_provider.headers["location"])
    assert back.status_code == 302
    location: str = back.headers["location"]
    assert location.startswith(f"{live_server.base_url}/auth/callback?code=")
    return location


def test_a_callback_from_another_browsers_sign_in_is_refused(
    live_server: LiveServer, provider: OpenIDProvider, browser: httpx.Client
) -> None:
    """Login CSRF: someone else's code, planted in this browser, must not sign it in."""
    with _client(live_server) as starter:
        callback = _callback_url(starter, live_server)
        _assert_problem(browser.get(callback), 401, "unauthenticated")
        assert provider.tokens_issued == 0
        _assert_signed_out(browser)
        # The code itself was good: the browser that asked for it is signed in with it.
        assert starter.get(callback).status_code == 303
        assert starter.get("/api/v1/me").json()["signed_in_with"] == "oidc"


def test_a_callback_is_used_once(live_server: LiveServer, provider: OpenIDProvider) -> None:
    with _client(live_server) as starter:
        callback = _callback_url(starter, live_server)
        assert starter.get(callback).status_code == 303
        _assert_problem(starter.get(callback), 401, "unauthenticated")
        assert provider.tokens_issued == 1


def test_the_session_cookie_is_http_only_and_same_site(
    provider: OpenIDProvider, browser: httpx.Client
) -> None:
    reply = browser.get("/auth/sign-in", follow_redirects=False)
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # http:// in the tests; https:// deployments add it
    # Until the provider sends the browser back, the session holds the sign-in's state only.
    [pending] = json.loads(_session_payload(browser))
    assert pending.startswith("_state_idp_")


def test_a_provider_that_cannot_be_reached_is_a_502_not_a_crash(
    browser: httpx.Client, provider: OpenIDProvider
) -> None:
    provider.stop()
    _assert_problem(browser.get("/auth/sign-in"), 502, "upstream-unavailable")
