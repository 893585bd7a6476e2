"""What browsers are told and asked for: security headers on every answer, CSRF tokens on
every form post, sessions that end on the server, and /docs from the service's own files.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from tests.api.conftest import Api, csrf_token_of
from trustsvc.api.browser import style_source
from trustsvc.api.errors import PROBLEM_JSON
from trustsvc.clock import FixedClock
from trustsvc.db.models import HolderSession, Presentation
from trustsvc.holders.presentation import present

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SESSION_COOKIE = "trustsvc_session"
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _assert_security_headers(answer: httpx.Response) -> None:
    where = f"{answer.request.method} {answer.request.url.path} ({answer.status_code})"
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, f"{where}: {name}"
    policy = _policy(answer)
    assert policy["script-src"] == ["'self'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["base-uri"] == ["'none'"], where
    assert policy["object-src"] == ["'none'"], where
    assert policy["default-src"] == ["'self'"], where
    assert "'unsafe-inline'" not in answer.headers["content-security-policy"], where


def _policy(answer: httpx.Response) -> dict[str, list[str]]:
    directives = answer.headers["content-security-policy"].split(";")
    return {name: values for name, *values in (d.split() for d in directives)}


def _presentations(api: Api) -> int:
    with api.services.database.begin() as session:
        return session.scalar(select(func.count()).select_from(Presentation)) or 0


# ---- headers ----------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers_and_personal_ones_are_not_stored(
    api: Api,
) -> None:
    identifier = api.issue()
    token = present(api.services, identifier, actor="test").token
    holder = api.holder()
    issuer = api.as_("issuer_a")
    private = [
        holder.get("/me"),
        holder.get("/api/v1/me"),
        holder.get("/api/v1/me/licenses"),
        holder.get(f"/api/v1/me/licenses/{identifier}/pdf"),
        holder.get("/api/v1/me/access-record"),
        api.http.get(f"/api/v1/licenses/{identifier}/pdf", headers=issuer),
        api.http.get(f"/api/v1/licenses/{identifier}", headers=issuer),
        api.http.get("/api/v1/me"),  # a refusal
        api.http.get(f"/v/{token}"),
        api.http.get("/auth/sign-in"),
    ]
    public = [
        api.http.get(f"/public/licenses/{identifier}/status"),
        api.http.get("/pki/certs/issuing.pem"),
        api.http.get("/healthz"),
        api.http.get("/docs"),
        api.http.get("/openapi.json"),
        api.http.get("/no/such/page"),
        # Refused before routing, by the request guard.
        api.http.post("/public/licenses/x/status", content=b"x" * (2 * 1024 * 1024)),
    ]
    for answer in private:
        _assert_security_headers(answer)
        assert answer.status_code < 500
        assert answer.headers.get_list("cache-control") == ["no-store"], answer.request.url
    for answer in public:
        _assert_security_headers(answer)
        assert "no-store" not in answer.headers.get("cache-control", ""), answer.request.url
    assert private[3].headers["content-type"] == "application/pdf"
    assert private[5].headers["content-type"] == "application/pdf"
    assert public[-1].status_code == 413


class _Elements(HTMLParser):
    """The page's inline styles and scripts, and every attribute that could run or style."""

    def __init__(self) -> None:
        super().__init__()
        self.styles: list[str] = []
        self.inline_scripts = 0
        self.inline_attributes: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.inline_scripts += 1
        self.inline_attributes += [n for n in names if n == "style" or n.startswith("on")]
        self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.styles.append(data)


def test_the_pages_use_no_inline_script_and_only_styles_the_policy_names(api: Api) -> None:
    identifier = api.issue()
    token = present(api.services, identifier, actor="test").token
    holder = api.holder()
    holder.post(
        "/me/present",
        content=f"identifier={identifier}&csrf_token={csrf_token_of(holder)}",
        headers=FORM,
    )
    pages = [
        api.http.get("/auth/sign-in"),
        holder.get("/me"),  # with its QR code
        api.http.get(f"/v/{token}"),
        api.http.get("/docs"),
    ]
    assert "presentation-qr" in pages[1].text
    for page in pages:
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        found = _Elements()
        found.feed(page.text)
        assert found.inline_scripts == 0, page.request.url
        assert found.inline_attributes == [], page.request.url
        allowed = _policy(page)["style-src"]
        for style in found.styles:
            assert style_source(style) in allowed, (
                f"{page.request.url}: an inline style not allowed"
            )


# ---- CSRF -------------------------------------------------------------------------------


def _assert_csrf_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] == "csrf-refused"


def _assert_page_csrf_refused(answer: httpx.Response) -> None:
    """A page's form refused for its token: a 403 page saying why (pages answer pages)."""
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "not sent from this service&#39;s own page" in answer.text


def test_presenting_from_the_page_needs_the_pages_token(api: Api) -> None:
    identifier = api.issue()
    holder = api.holder()
    other = api.holder()  # another browser of the same holder: a token of its own
    for form in (
        f"identifier={identifier}",
        f"identifier={identifier}&csrf_token=",
        f"identifier={identifier}&csrf_token=made-up",
        f"identifier={identifier}&csrf_token={csrf_token_of(other)}",
    ):
        _assert_page_csrf_refused(holder.post("/me/present", content=form, headers=FORM))
    assert _presentations(api) == 0
    good = f"identifier={identifier}&csrf_token={csrf_token_of(holder)}"
    made = holder.post("/me/present", content=good, headers=FORM, follow_redirects=False)
    assert made.status_code == 303, made.text
    assert _presentations(api) == 1


def test_a_cross_site_post_cannot_pass_for_the_holders_json_api(api: Api) -> None:
    """JSON needs a CORS preflight across sites; a text/plain post with JSON in it is refused."""
    identifier = api.issue()
    holder = api.holder()
    forged = holder.post(
        f"/api/v1/me/licenses/{identifier}/presentations",
        content=b'{"single_use": true}',
        headers={"Content-Type": "text/plain"},
    )
    assert forged.status_code == 422, forged.text
    assert _presentations(api) == 0


def test_the_sign_in_form_needs_its_own_token(api: Api) -> None:
    """Login CSRF: another site may not post the form to sign a visitor in as someone else."""
    victim = TestClient(api.http.app, base_url=str(api.http.base_url))
    attacker = TestClient(api.http.app, base_url=str(api.http.base_url))
    attackers_token = csrf_token_of(attacker, "/auth/sign-in")
    csrf_token_of(victim, "/auth/sign-in")  # the victim has a session with a token of its own
    fields = "id_type=111&id_number=11010519491231002X"
    for form in (fields, f"{fields}&csrf_token={attackers_token}"):
        _assert_csrf_refused(victim.post("/auth/dev-sign-in", content=form, headers=FORM))
        assert victim.get("/api/v1/me").status_code == 401
    # Without any session (a browser that never saw the form) as well.
    fresh = TestClient(api.http.app, base_url=str(api.http.base_url))
    _assert_csrf_refused(
        fresh.post("/auth/dev-sign-in", content=f"{fields}&csrf_token=x", headers=FORM)
    )
    token = csrf_token_of(victim, "/auth/sign-in")
    signed_in = victim.post(
        "/auth/dev-sign-in",
        content=f"{fields}&csrf_token={token}",
        headers=FORM,
        follow_redirects=False,
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/me"
    assert victim.get("/api/v1/me").status_code == 200
    # A new session gets a new token: the one from before signing in no longer works.
    assert csrf_token_of(victim) != token


def test_signing_out_needs_the_token_and_ends_the_session(api: Api) -> None:
    holder = api.holder()
    _assert_csrf_refused(holder.post("/auth/sign-out", content="", headers=FORM))
    _assert_csrf_refused(holder.post("/auth/sign-out", content="csrf_token=x", headers=FORM))
    assert holder.get("/api/v1/me").status_code == 200  # still signed in
    out = holder.post(
        "/auth/sign-out",
        content=f"csrf_token={csrf_token_of(holder)}",
        headers=FORM,
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/auth/sign-in"
    assert holder.get("/api/v1/me").status_code == 401


# ---- sessions on the server -----------------------------------------------------------------


def _replay(api: Api, cookie: str) -> TestClient:
    """Another browser, with a copy of a saved session cookie."""
    copy = TestClient(api.http.app, base_url=str(api.http.base_url), follow_redirects=False)
    copy.cookies.set(SESSION_COOKIE, cookie)
    return copy


def _assert_signed_out(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] == "unauthenticated"


def test_a_cookie_saved_before_sign_out_stops_working(api: Api) -> None:
    identifier = api.issue()
    holder = api.holder()
    saved = holder.cookies[SESSION_COOKIE]
    assert _replay(api, saved).get("/api/v1/me").status_code == 200
    holder.post("/auth/sign-out", content=f"csrf_token={csrf_token_of(holder)}", headers=FORM)
    replayed = _replay(api, saved)
    _assert_signed_out(replayed.get("/api/v1/me"))
    page = replayed.get("/me")  # the page sends the visitor to sign in again
    assert page.status_code == 303 and page.headers["location"] == "/auth/sign-in"
    _assert_signed_out(replayed.get(f"/api/v1/me/licenses/{identifier}/pdf"))
    _assert_signed_out(replayed.post(f"/api/v1/me/licenses/{identifier}/presentations", json={}))
    assert _presentations(api) == 0
    with api.services.database.begin() as session:
        [row] = session.scalars(select(HolderSession)).all()
        assert row.ended_at is not None


def test_signing_in_again_ends_the_session_before(api: Api) -> None:
    browser = api.holder()
    before = browser.cookies[SESSION_COOKIE]
    switched = browser.post(
        "/auth/dev-sign-in", json={"id_type": "111", "id_number": "11010519491231002X"}
    )
    assert switched.status_code == 200
    _assert_signed_out(_replay(api, before).get("/api/v1/me"))
    assert browser.get("/api/v1/me").status_code == 200


def test_a_session_ends_on_the_server_when_it_expires(api: Api, clock: FixedClock) -> None:
    holder = api.holder()
    saved = holder.cookies[SESSION_COOKIE]
    minutes = api.services.settings.holder_session_minutes
    clock.advance(timedelta(minutes=minutes - 1))
    assert holder.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=1))
    _assert_signed_out(holder.get("/api/v1/me"))
    with api.services.database.begin() as session:
        [row] = session.scalars(select(HolderSession)).all()
        assert row.ended_at == clock.now()
    # Winding the clock back does not bring it back: it has ended.
    clock.advance(timedelta(minutes=-5))
    _assert_signed_out(_replay(api, saved).get("/api/v1/me"))


@pytest.mark.parametrize("session_id", ["", "x" * 43, None, 7])
def test_a_signed_cookie_without_a_session_on_the_server_is_refused(
    api: Api, session_id: object
) -> None:
    """A cookie signed before sessions were kept (no session id), or naming none, is refused.

    The cookie is signed with the service's own key, as Starlette's session middleware does.
    """
    holder = api.holder()
    encoded = holder.cookies[SESSION_COOKIE].split(".")[0]
    original = json.loads(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
    key = api.licenses.data_key.subkey("holder sessions").hex()

    def signed(session: object) -> str:
        payload = {**original, "holder": {**original["holder"], "s": session}}
        return TimestampSigner(key).sign(base64.b64encode(json.dumps(payload).encode())).decode()

    _assert_signed_out(_replay(api, signed(session_id)).get("/api/v1/me"))
    # Signed the same way with the real session id, it works: only the id was changed.
    real = original["holder"]["s"]
    assert _replay(api, signed(real)).get("/api/v1/me").status_code == 200


# ---- /docs ------------------------------------------------------------------------------

_REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def test_docs_load_only_the_services_own_files(api: Api) -> None:
    page = api.http.get("/docs")
    assert page.status_code == 200
    references = _REFERENCE.findall(page.text)
    assert len(references) == 4, references  # icon, style sheet, Swagger UI, its start script
    base = f"{api.http.base_url}/docs"
    for reference in references:
        url = urljoin(base, reference)
        assert urlsplit(url).netloc == urlsplit(base).netloc, f"{reference} is not local"
        answer = api.http.get(url)
        assert answer.status_code == 200, reference
        suffix = reference[reference.rindex(".") :]
        assert answer.headers["content-type"].split(";")[0] == _TYPES[suffix], reference
        assert len(answer.content) > 300, reference
        _assert_security_headers(answer)
    start = api.http.get(urljoin(base, references[-1])).text
    assert "SwaggerUIBundle(" in start and "openapi.json" in start
    # The pages that load from a CDN are gone.
    for url in ("/redoc", "/docs/oauth2-redirect"):
        assert api.http.get(url).status_code == 404, url
