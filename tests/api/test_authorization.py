"""Who may call what: every route the app serves, times every kind of caller.

The table below is the intended policy, written out by hand: public routes
answer everyone; issuer routes want an issuer key and reach only the key's
department; verifier routes want a verifier key; holder routes want a
holder's session (a session is not a key, nor a key a session); operator
routes want an admin key. Each call is a valid request with the license,
job or client it needs in the right state, so the only thing that varies
along a row is the caller. A route the app serves without a row here fails
the coverage test, so a new route cannot go unreviewed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from asn1crypto import algos, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import CITIZEN_ID, PURPOSES, Api, csrf_token_of
from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, current_seal
from trustsvc.api.errors import PROBLEM_JSON
from trustsvc.codes.identifiers import citizen_id_check_character
from trustsvc.holders.presentation import present
from trustsvc.licenses.entitlement import set_entitlement
from trustsvc.licenses.library import Action
from trustsvc.licenses.types import example_data, get_type
from trustsvc.sharing.clients import Authenticator, add_client

CALLERS = ("none", "issuer_a", "issuer_b", "verifier", "admin", "holder")
SESSION_COOKIE = "trustsvc_session"
LICENSE_TYPE = "real-estate-certificate"
#: Another citizen, who holds nothing of CITIZEN_ID's.
OTHER_CITIZEN_ID = "33010619900101123" + citizen_id_check_character("33010619900101123")
#: The stable problem codes of refusals.
REFUSAL_CODES = {401: "unauthenticated", 403: "forbidden"}


# ---- who gets what ------------------------------------------------------------------


def everyone(status: int = 200) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def issuers(a: int, b: int = 403) -> dict[str, int]:
    """Issuer A gets ``a`` (its own department's things); issuer B gets ``b``."""
    return {
        "none": 401,
        "holder": 401,
        "verifier": 403,
        "admin": 403,
        "issuer_a": a,
        "issuer_b": b,
    }


def verifiers(ok: int = 200) -> dict[str, int]:
    return {**issuers(403, 403), "verifier": ok}


def holders(ok: int = 200) -> dict[str, int]:
    return {**dict.fromkeys(CALLERS, 401), "holder": ok}


def holder_pages(ok: int = 200) -> dict[str, int]:
    """The wallet's pages: anyone but the signed-in holder is sent to sign in (303)."""
    return {**dict.fromkeys(CALLERS, 303), "holder": ok}


def admins(ok: int = 200) -> dict[str, int]:
    return {**issuers(403, 403), "admin": ok}


def staff_pages() -> dict[str, int]:
    """The staff's pages: no caller here is signed in as staff, so each is sent to sign in.

    Which staff role may open which page is tests/pages/test_roles.py's table.
    """
    return dict.fromkeys(CALLERS, 303)


#: Every staff page, as (method, route, the path called).
STAFF_PAGES = (
    ("GET", "/staff", "/staff"),
    ("GET", "/desk", "/desk"),
    ("GET", "/desk/check", "/desk/check"),
    ("POST", "/desk/check", "/desk/check"),
    ("POST", "/desk/copy", "/desk/copy"),
    ("POST", "/desk/report", "/desk/report"),
    ("GET", "/stats", "/stats"),
    ("GET", "/console", "/console"),
    ("GET", "/console/approval", "/console/approval"),
    ("POST", "/console/approval", "/console/approval"),
    ("GET", "/console/batch", "/console/batch"),
    ("POST", "/console/batch", "/console/batch"),
    (
        "GET",
        "/console/batch/template/{type_key}.csv",
        f"/console/batch/template/{LICENSE_TYPE}.csv",
    ),
    ("GET", "/console/issue/{type_key}", f"/console/issue/{LICENSE_TYPE}"),
    ("POST", "/console/issue/{type_key}", f"/console/issue/{LICENSE_TYPE}"),
    ("GET", "/console/jobs/{job_id}", "/console/jobs/1"),
    ("GET", "/console/jobs/{job_id}/progress", "/console/jobs/1/progress"),
    ("GET", "/console/jobs/{job_id}/report.csv", "/console/jobs/1/report.csv"),
    ("GET", "/console/licenses", "/console/licenses"),
    ("GET", "/console/licenses/{identifier}", "/console/licenses/ZZ"),
    ("GET", "/console/licenses/{identifier}/change", "/console/licenses/ZZ/change"),
    ("POST", "/console/licenses/{identifier}/change", "/console/licenses/ZZ/change"),
    ("GET", "/console/licenses/{identifier}/pdf", "/console/licenses/ZZ/pdf"),
    ("GET", "/console/licenses/{identifier}/status/{name}", "/console/licenses/ZZ/status/suspend"),
    ("POST", "/console/licenses/{identifier}/status/{name}", "/console/licenses/ZZ/status/suspend"),
    ("GET", "/admin", "/admin"),
    ("GET", "/admin/access", "/admin/access"),
    ("GET", "/admin/record", "/admin/record"),
    ("GET", "/admin/department", "/admin/department"),
    ("POST", "/admin/departments", "/admin/departments"),
    ("POST", "/admin/seals/new", "/admin/seals/new"),
    ("GET", "/admin/seals/revoke", "/admin/seals/revoke"),
    ("POST", "/admin/seals/revoke", "/admin/seals/revoke"),
    ("POST", "/admin/seals/import", "/admin/seals/import"),
    ("POST", "/admin/departments/kind", "/admin/departments/kind"),
    ("GET", "/admin/types", "/admin/types"),
    ("POST", "/admin/types", "/admin/types"),
    ("GET", "/admin/staff", "/admin/staff"),
    ("POST", "/admin/staff", "/admin/staff"),
    ("GET", "/admin/staff/disable", "/admin/staff/disable"),
    ("POST", "/admin/staff/disable", "/admin/staff/disable"),
    ("GET", "/admin/clients", "/admin/clients"),
    ("POST", "/admin/clients", "/admin/clients"),
    ("GET", "/admin/clients/revoke", "/admin/clients/revoke"),
    ("POST", "/admin/clients/revoke", "/admin/clients/revoke"),
    ("GET", "/admin/clients/rotate", "/admin/clients/rotate"),
    ("POST", "/admin/clients/rotate", "/admin/clients/rotate"),
    ("GET", "/admin/purposes", "/admin/purposes"),
    ("POST", "/admin/purposes", "/admin/purposes"),
    ("GET", "/admin/purposes/remove", "/admin/purposes/remove"),
    ("POST", "/admin/purposes/remove", "/admin/purposes/remove"),
)


# ---- the world the calls are made in --------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None


class World:
    """A license of department A held by CITIZEN_ID, and everything the calls refer to.

    Lifecycle actions use up their license: ``subject(name)`` gives one in the
    state the action needs, and a fresh one after a call succeeded on it.
    """

    def __init__(self, api: Api) -> None:
        self.api = api
        self._numbers = itertools.count()
        self._subjects: dict[str, str] = {}
        # Department B may issue the type too, so that along a row only the caller varies.
        set_entitlement(api.services, DEPARTMENT_B, LICENSE_TYPE, allowed=True)
        self.license = api.issue()
        self.pdf = api.licenses.document(self.license)
        self.token = present(
            api.services, self.license, actor="test", lifetime=timedelta(hours=1)
        ).token
        holder = api.holder()
        self.holder_cookie = _session_cookie(holder)
        #: The token the holder's forms carry (CSRF): from the page, as a browser has it.
        self.holder_csrf = csrf_token_of(holder)
        made = holder.post("/api/v1/me/grants", json=self.grant_body())
        assert made.status_code == 201, made.text
        #: A grant of the holder's, for the withdrawal (the holder's call is the last).
        self.grant = made.json()["id"]
        #: Another, for the page's withdrawal.
        self.page_grant = holder.post("/api/v1/me/grants", json=self.grant_body()).json()["id"]
        code = holder.post(f"/api/v1/me/licenses/{self.license}/presentations", json={})
        #: A presentation code as the page's script has it from the API.
        self.code = code.json()
        job = api.http.post(
            "/api/v1/licenses/batch",
            json={"type": LICENSE_TYPE, "rows": [self.license_data()]},
            headers={**api.as_("issuer_a"), "Idempotency-Key": self.unique("setup-batch")},
        )
        assert job.status_code == 202, job.text
        self.job = job.json()["id"]
        for name in ("to-revoke", "to-rotate"):
            add_client(api.services, name, "verifier", purposes=["核查"])
        seal = current_seal(api.services, DEPARTMENT_A)
        self.seal_kid = hashlib.sha256(seal.public_bytes(serialization.Encoding.DER)).digest()[:8]
        self.ocsp_request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(seal, api.services.pki.issuing, hashes.SHA256())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        self.timestamp_request = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "hashed_message": hashlib.sha256(b"authorisation matrix").digest(),
                },
                "cert_req": True,
            }
        ).dump()

    def grant_body(self) -> dict[str, str]:
        until = self.api.services.clock.now() + timedelta(days=1)
        return {
            "identifier": self.license,
            "grantee_kind": "client",
            "client": "verifier",
            "purpose": PURPOSES[0],
            "valid_until": until.isoformat(),
        }

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._numbers):04d}"

    def license_data(self) -> dict[str, str]:
        return dict(example_data(get_type(self.api.licenses.types, LICENSE_TYPE)))

    def subject(self, name: str) -> str:
        """A license of A for the action ``name``: suspended for "resume", else valid."""
        if name not in self._subjects:
            identifier = self.api.issue()
            if name == "resume":
                self.api.licenses.transition(identifier, Action.SUSPEND, "test", "核查")
            self._subjects[name] = identifier
        return self._subjects[name]

    def use_up(self, name: str) -> None:
        self._subjects.pop(name, None)

    def send(self, caller: str, call: Call) -> httpx.Response:
        app = self.api.http.app
        assert isinstance(app, FastAPI)
        # A client of its own per call: no cookie of one call leaks into the next.
        client = TestClient(
            app,
            base_url=str(self.api.http.base_url),
            follow_redirects=False,
            raise_server_exceptions=False,
        )
        headers = dict(call.headers)
        if caller == "holder":
            headers["Cookie"] = f"{SESSION_COOKIE}={self.holder_cookie}"
        else:
            headers.update(self.api.as_(caller))
        response = client.request(
            call.method,
            call.url,
            params=dict(call.params) if call.params else None,
            headers=headers,
            json=call.json,
            content=call.content,
        )
        renewed = response.cookies.get(SESSION_COOKIE)
        if caller == "holder" and renewed and renewed != "null":
            # Signing in again ends the session before: the holder goes on with the new one.
            self.holder_cookie = renewed
            page = TestClient(app, base_url=str(self.api.http.base_url))
            page.cookies.set(SESSION_COOKIE, renewed)
            self.holder_csrf = csrf_token_of(page)
        return response


def _form(url: str, w: World, **fields: str) -> Call:
    """A page's form post, with the holder's CSRF token."""
    body = "&".join(f"{k}={quote(v)}" for k, v in {**fields, "csrf_token": w.holder_csrf}.items())
    return Call(
        "POST",
        url,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        content=body.encode(),
    )


def _session_cookie(client: TestClient) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "the development sign-in set no session cookie"
    return value


# ---- the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    method: str
    #: The route as the app declares it.
    route: str
    expected: Mapping[str, int]
    call: Callable[[World], Call]
    #: The ``World.subject`` this call changes; a successful call uses it up.
    uses_up: str | None = None


def _get(url: str, **params: str) -> Callable[[World], Call]:
    return lambda _world: Call("GET", url, params or None)


def _lifecycle(action: str, body: dict[str, Any]) -> Row:
    return Row(
        "POST",
        f"/api/v1/licenses/{{identifier}}/{action}",
        issuers(201 if action == "change" else 200),
        lambda w: Call("POST", f"/api/v1/licenses/{w.subject(action)}/{action}", json=body),
        uses_up=action,
    )


def _issue(w: World) -> Call:
    return Call(
        "POST",
        "/api/v1/licenses",
        headers={"Idempotency-Key": w.unique("issue")},
        json={"type": LICENSE_TYPE, "data": w.license_data()},
    )


def _batch(w: World) -> Call:
    return Call(
        "POST",
        "/api/v1/licenses/batch",
        headers={"Idempotency-Key": w.unique("batch")},
        json={"type": LICENSE_TYPE, "rows": [w.license_data()]},
    )


_LOOKUP = {"holder_id": CITIZEN_ID, "purpose": PURPOSES[0]}

TABLE: tuple[Row, ...] = (
    # Public: no credential needed, none refused.
    Row("GET", "/healthz", everyone(), _get("/healthz")),
    Row("GET", "/readyz", everyone(), _get("/readyz")),
    Row("GET", "/openapi.json", everyone(), _get("/openapi.json")),
    Row("GET", "/docs", everyone(), _get("/docs")),
    Row("GET", "/pki/certs/{filename}", everyone(), _get("/pki/certs/issuing.pem")),
    Row(
        "GET",
        "/pki/certs/seals/{filename}",
        everyone(),
        lambda w: Call("GET", f"/pki/certs/seals/{w.seal_kid.hex()}.pem"),
    ),
    Row("GET", "/pki/trust-bundle", everyone(), _get("/pki/trust-bundle")),
    Row("GET", "/pki/crl/{ca}", everyone(), _get("/pki/crl/issuing.crl")),
    Row(
        "GET",
        "/pki/ocsp/{encoded:path}",
        everyone(),
        lambda w: Call("GET", "/pki/ocsp/" + base64.b64encode(w.ocsp_request).decode()),
    ),
    Row(
        "POST",
        "/pki/ocsp",
        everyone(),
        lambda w: Call(
            "POST",
            "/pki/ocsp",
            headers={"Content-Type": "application/ocsp-request"},
            content=w.ocsp_request,
        ),
    ),
    Row(
        "POST",
        "/pki/tsa",
        everyone(),
        lambda w: Call(
            "POST",
            "/pki/tsa",
            headers={"Content-Type": "application/timestamp-query"},
            content=w.timestamp_request,
        ),
    ),
    Row(
        "GET",
        "/public/licenses/{identifier}/status",
        everyone(),
        lambda w: Call("GET", f"/public/licenses/{w.license}/status"),
    ),
    Row("GET", "/v/{token}", everyone(), lambda w: Call("GET", f"/v/{w.token}")),
    # The home page and its box: the public's power (an identifier's status), no more.
    Row("GET", "/", everyone(), _get("/")),
    Row("GET", "/check", everyone(), lambda w: Call("GET", f"/check?q={w.license}")),
    Row("GET", "/auth/sign-in", everyone(), _get("/auth/sign-in")),
    Row(
        "POST",
        "/auth/dev-sign-in",
        everyone(),
        lambda _w: Call(
            "POST", "/auth/dev-sign-in", json={"id_type": "111", "id_number": CITIZEN_ID}
        ),
    ),
    # Without an identity provider configured there is nothing to come back to.
    Row("GET", "/auth/callback", everyone(404), _get("/auth/callback")),
    # Issuers: their own department only; another department's job does not exist for them.
    Row("POST", "/api/v1/licenses", issuers(201, 201), _issue),
    Row("POST", "/api/v1/licenses/batch", issuers(202, 202), _batch),
    Row("GET", "/api/v1/licenses", issuers(200, 200), _get("/api/v1/licenses")),
    Row(
        "GET",
        "/api/v1/jobs/{job_id}",
        issuers(200, 404),
        lambda w: Call("GET", f"/api/v1/jobs/{w.job}"),
    ),
    Row(
        "GET",
        "/api/v1/licenses/{identifier}",
        issuers(200),
        lambda w: Call("GET", f"/api/v1/licenses/{w.license}"),
    ),
    Row(
        "GET",
        "/api/v1/licenses/{identifier}/pdf",
        issuers(200),
        lambda w: Call("GET", f"/api/v1/licenses/{w.license}/pdf"),
    ),
    Row(
        "GET",
        "/api/v1/licenses/{identifier}/history",
        issuers(200),
        lambda w: Call("GET", f"/api/v1/licenses/{w.license}/history"),
    ),
    _lifecycle("change", {"changes": {"area": "90.12"}, "reason": "面积更正"}),
    _lifecycle("suspend", {"reason": "核查"}),
    _lifecycle("resume", {"reason": "核查完毕"}),
    _lifecycle("revoke", {"kind": "withdrawn", "reason": "违法经营"}),
    # Verifiers, stating one of their purposes.
    Row(
        "POST",
        "/api/v1/verify",
        verifiers(),
        lambda w: Call(
            "POST",
            "/api/v1/verify",
            params={"purpose": PURPOSES[0]},
            headers={"Content-Type": "application/pdf"},
            content=w.pdf,
        ),
    ),
    Row(
        "GET",
        "/api/v1/verify/token/{token}",
        verifiers(),
        lambda w: Call("GET", f"/api/v1/verify/token/{w.token}", {"purpose": PURPOSES[0]}),
    ),
    Row("GET", "/api/v1/lookup", verifiers(), _get("/api/v1/lookup", type=LICENSE_TYPE, **_LOOKUP)),
    Row(
        "GET", "/api/v1/holders/licenses", verifiers(), _get("/api/v1/holders/licenses", **_LOOKUP)
    ),
    # The signed-in holder, about their own licenses.
    Row("GET", "/api/v1/me", holders(), _get("/api/v1/me")),
    Row("GET", "/api/v1/me/licenses", holders(), _get("/api/v1/me/licenses")),
    Row(
        "GET",
        "/api/v1/me/licenses/{identifier}/pdf",
        holders(),
        lambda w: Call("GET", f"/api/v1/me/licenses/{w.license}/pdf"),
    ),
    Row(
        "POST",
        "/api/v1/me/licenses/{identifier}/presentations",
        holders(201),
        lambda w: Call("POST", f"/api/v1/me/licenses/{w.license}/presentations", json={}),
    ),
    Row("GET", "/api/v1/me/access-record", holders(), _get("/api/v1/me/access-record")),
    Row("GET", "/api/v1/me/verifiers", holders(), _get("/api/v1/me/verifiers")),
    Row("GET", "/api/v1/me/grants", holders(), _get("/api/v1/me/grants")),
    Row(
        "POST",
        "/api/v1/me/grants",
        holders(201),
        lambda w: Call("POST", "/api/v1/me/grants", json=w.grant_body()),
    ),
    Row(
        "DELETE",
        "/api/v1/me/grants/{grant_id}",
        holders(),
        lambda w: Call("DELETE", f"/api/v1/me/grants/{w.grant}"),
    ),
    Row("GET", "/me", holder_pages(), _get("/me")),
    Row("GET", "/me/grants", holder_pages(), _get("/me/grants")),
    Row(
        "POST",
        "/me/grants",
        holder_pages(303),
        lambda w: _form(
            "/me/grants",
            w,
            identifier=w.license,
            grantee_kind="client",
            client="verifier",
            purpose=PURPOSES[0],
            valid_until=(w.api.licenses.today() + timedelta(days=3)).isoformat(),
        ),
    ),
    Row(
        "POST",
        "/me/grants/{grant_id}/withdraw",
        holder_pages(303),
        lambda w: _form(f"/me/grants/{w.page_grant}/withdraw", w),
    ),
    Row(
        "POST",
        "/me/shown",
        holder_pages(),
        lambda w: _form(
            "/me/shown",
            w,
            token=w.code["token"],
            expires_at=w.code["expires_at"],
            identifier=w.license,
        ),
    ),
    Row("POST", "/me/forget", holder_pages(303), lambda w: _form("/me/forget", w)),
    Row(
        "POST",
        "/me/present",
        holder_pages(303),
        lambda w: Call(
            "POST",
            "/me/present",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=f"identifier={w.license}&csrf_token={w.holder_csrf}".encode(),
        ),
    ),
    # The transparency log is public; a license's proof is for its department's issuer,
    # any verifier (recorded, like a lookup) and, on their own route, its holder.
    Row("GET", "/log/checkpoint", everyone(), _get("/log/checkpoint")),
    # A tile far beyond the tree: not found, for anyone (never a refusal).
    Row("GET", "/log/tile/{path:path}", everyone(404), _get("/log/tile/0/x999/999")),
    Row(
        "GET",
        "/api/v1/licenses/{identifier}/proof",
        {**issuers(200), "verifier": 200},
        lambda w: Call("GET", f"/api/v1/licenses/{w.license}/proof"),
    ),
    Row(
        "GET",
        "/api/v1/me/licenses/{identifier}/proof",
        holders(),
        lambda w: Call("GET", f"/api/v1/me/licenses/{w.license}/proof"),
    ),
    # Staff sign in on their own pages; no caller here is staff.
    Row("GET", "/staff/sign-in", everyone(), _get("/staff/sign-in")),
    # Without an identity provider there is nothing to start or come back from.
    Row("GET", "/staff/sign-in/start", everyone(404), _get("/staff/sign-in/start")),
    Row("GET", "/staff/callback", everyone(404), _get("/staff/callback")),
    # The development form: the holder's browser has a CSRF token, and no staff account
    # (401); the others have no token of this browser's (403).
    Row(
        "POST",
        "/auth/dev-staff-sign-in",
        {**dict.fromkeys(CALLERS, 403), "holder": 401},
        lambda w: _form("/auth/dev-staff-sign-in", w, subject="not-staff"),
    ),
    *(
        Row(method, route, staff_pages(), lambda w, m=method, p=path: Call(m, p))
        for method, route, path in STAFF_PAGES
    ),
    # Signing a member of staff out leaves a browser with no staff session as it was.
    Row(
        "POST",
        "/staff/sign-out",
        everyone(303),
        lambda w: _form("/staff/sign-out", w),
    ),
    # Operators.
    Row("GET", "/api/v1/clients", admins(), _get("/api/v1/clients")),
    Row(
        "POST",
        "/api/v1/clients",
        admins(201),
        lambda w: Call(
            "POST",
            "/api/v1/clients",
            json={"name": w.unique("made"), "role": "verifier", "purposes": ["核查"]},
        ),
    ),
    Row("GET", "/api/v1/clients/{name}", admins(), _get("/api/v1/clients/issuer_b")),
    Row(
        "POST",
        "/api/v1/clients/{name}/revoke",
        admins(),
        lambda _w: Call("POST", "/api/v1/clients/to-revoke/revoke"),
    ),
    Row(
        "POST",
        "/api/v1/clients/{name}/rotate",
        admins(),
        lambda _w: Call("POST", "/api/v1/clients/to-rotate/rotate", json={"grace_seconds": 0}),
    ),
    Row("GET", "/api/v1/access-events", admins(), _get("/api/v1/access-events")),
    Row("GET", "/api/v1/operator-events", admins(), _get("/api/v1/operator-events")),
    Row("GET", "/api/v1/purposes", admins(), _get("/api/v1/purposes")),
    Row("GET", "/metrics", admins(), _get("/metrics")),
    # Signing out is a redirect (303) to the start page, for anyone. Last: it ends the
    # holder's session.
    Row(
        "POST",
        "/auth/sign-out",
        everyone(303),
        lambda w: Call(
            "POST",
            "/auth/sign-out",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=f"csrf_token={w.holder_csrf}".encode(),
        ),
    ),
)


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, route) the app answers; HEAD goes with GET and is not listed."""

    def walk(routes: Any) -> Iterator[tuple[str, str]]:
        for route in routes:
            # Recent FastAPI keeps included routers as one lazy entry each.
            if hasattr(route, "effective_candidates"):
                yield from walk(route.effective_candidates())
                continue
            declared = getattr(route, "original_route", route)
            for method in getattr(declared, "methods", None) or ():
                if method != "HEAD":
                    yield method, route.path

    return set(walk(app.routes))


def _refusal_problems(response: httpx.Response) -> list[str]:
    """What is wrong with a 401 or 403 answer as a problem+json refusal."""
    status = response.status_code
    if status not in REFUSAL_CODES:
        return []
    if response.headers.get("content-type", "").startswith("text/html"):
        return []  # a page's refusal is a page for the person reading it
    problems = []
    if response.headers.get("content-type") != PROBLEM_JSON:
        problems.append(f"content-type {response.headers.get('content-type')!r}")
    else:
        body = response.json()
        if body.get("code") != REFUSAL_CODES[status] or body.get("status") != status:
            problems.append(f"code {body.get('code')!r}, status {body.get('status')!r}")
    if status == 401 and not response.headers.get("www-authenticate", "").startswith("Bearer"):
        problems.append("no WWW-Authenticate: Bearer")
    return problems


# ---- the tests ------------------------------------------------------------------------


def test_the_table_covers_exactly_the_routes_the_app_serves(api: Api) -> None:
    app = api.http.app
    assert isinstance(app, FastAPI)
    tabled = [(row.method, row.route) for row in TABLE]
    assert len(tabled) == len(set(tabled)), "a route has two rows"
    served = served_routes(app)
    assert len(served) > 40, "the routes were not found: has FastAPI changed how it keeps them?"
    assert served - set(tabled) == set(), "routes without a row in the authorisation table"
    assert set(tabled) - served == set(), "rows for routes the app does not serve"
    for row in TABLE:
        assert set(row.expected) == set(CALLERS), f"{row.method} {row.route}"


def test_every_route_answers_every_caller_as_the_policy_says(api: Api) -> None:
    world = World(api)
    mismatches: list[str] = []
    for row in TABLE:
        for caller in CALLERS:
            response = world.send(caller, row.call(world))
            status, wanted = response.status_code, row.expected[caller]
            if row.uses_up is not None and status < 300:
                world.use_up(row.uses_up)
            where = f"{row.method} {row.route} as {caller}"
            if status != wanted:
                mismatches.append(f"{where}: {status}, want {wanted}: {response.text[:160]}")
            mismatches.extend(f"{where}: {p}" for p in _refusal_problems(response))
    assert not mismatches, f"{len(mismatches)} mismatch(es):\n" + "\n".join(mismatches)


def test_another_holder_may_not_take_someone_elses_license(api: Api) -> None:
    identifier = api.issue()
    other = api.holder(OTHER_CITIZEN_ID)
    for method, url, body in (
        ("GET", f"/api/v1/me/licenses/{identifier}/pdf", None),
        ("POST", f"/api/v1/me/licenses/{identifier}/presentations", {}),
        ("GET", f"/api/v1/me/licenses/{identifier}/proof", None),
    ):
        response = other.request(method, url, json=body)
        assert response.status_code == 403, (url, response.text)
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["code"] == "forbidden"
    assert other.get("/api/v1/me/licenses").json() == []
    # The rightful holder, for contrast.
    assert api.holder().get(f"/api/v1/me/licenses/{identifier}/pdf").status_code == 200


@pytest.fixture
def uncached(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    """The api with keys checked against the database on every call (no 5 s cache)."""
    state = api.http.app.state.api  # type: ignore[attr-defined]
    monkeypatch.setattr(state, "authenticator", Authenticator(api.services, cache_seconds=0))
    return api


def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_clients_key_is_refused(uncached: Api) -> None:
    api = uncached
    made = api.http.post(
        "/api/v1/clients",
        json={"name": "短期核验方", "role": "verifier", "purposes": ["核查"]},
        headers=api.as_("admin"),
    )
    assert made.status_code == 201, made.text
    key = {"Authorization": f"Bearer {made.json()['api_key']}"}
    lookup = {"holder_id": CITIZEN_ID, "purpose": "核查"}
    assert api.http.get("/api/v1/holders/licenses", params=lookup, headers=key).status_code == 200
    revoked = api.http.post("/api/v1/clients/短期核验方/revoke", headers=api.as_("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    _assert_unauthenticated(api.http.get("/api/v1/holders/licenses", params=lookup, headers=key))


def test_a_key_rotated_without_grace_stops_and_the_new_one_works(uncached: Api) -> None:
    api = uncached
    old = api.as_("issuer_a")
    assert api.http.get("/api/v1/licenses", headers=old).status_code == 200
    rotated = api.http.post(
        "/api/v1/clients/issuer_a/rotate", json={"grace_seconds": 0}, headers=api.as_("admin")
    )
    assert rotated.status_code == 200, rotated.text
    new = {"Authorization": f"Bearer {rotated.json()['api_key']}"}
    _assert_unauthenticated(api.http.get("/api/v1/licenses", headers=old))
    assert api.http.get("/api/v1/licenses", headers=new).status_code == 200


def test_a_rotated_key_keeps_working_through_its_grace(uncached: Api) -> None:
    api = uncached
    old = api.as_("issuer_a")
    rotated = api.http.post(
        "/api/v1/clients/issuer_a/rotate", json={"grace_seconds": 60}, headers=api.as_("admin")
    )
    assert rotated.status_code == 200, rotated.text
    assert api.http.get("/api/v1/licenses", headers=old).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer nonsense"}, id="not-a-key"),
        pytest.param({"Authorization": "Bearer tsk_0123456789abcdef." + "A" * 43}, id="unknown"),
        pytest.param({"X-API-Key": "tsk_short.secret"}, id="malformed-x-api-key"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, id="basic"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
    ],
)
def test_a_bad_key_is_refused(api: Api, headers: dict[str, str]) -> None:
    _assert_unauthenticated(api.http.get("/api/v1/clients", headers=headers))


def test_a_known_key_id_with_the_wrong_secret_is_refused(api: Api) -> None:
    key_id = api.keys["admin"].removeprefix("tsk_").split(".")[0]
    forged = {"Authorization": f"Bearer tsk_{key_id}." + "A" * 43}
    _assert_unauthenticated(api.http.get("/api/v1/clients", headers=forged))
    # The real key still works after the failed attempt.
    assert api.http.get("/api/v1/clients", headers=api.as_("admin")).status_code == 200


def test_the_x_api_key_header_is_a_key_too(api: Api) -> None:
    answer = api.http.get("/api/v1/clients", headers={"X-API-Key": api.keys["admin"]})
    assert answer.status_code == 200
