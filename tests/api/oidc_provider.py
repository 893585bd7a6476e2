"""A small OpenID Connect provider for the tests (OpenID Connect Core 1.0, code flow).

Real enough that authlib's client does against it all it does against an
operator's provider: discovery, a JWKS, state and nonce, client
authentication at the token endpoint, and an RS256 ID token whose signature
and claims it checks. There is no login screen: the authorization endpoint
answers at once for ``provider.user``, and ``provider.fault`` makes the ID
token wrong in one way. The RSA key is generated when the provider is made.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

#: How long an authorization code may wait for the token request.
CODE_SECONDS = 60


class Fault(StrEnum):
    """One way the ID token can be wrong."""

    FOREIGN_KEY = "foreign-key"  # signed by a key that is not in the JWKS (same kid)
    UNKNOWN_KEY = "unknown-key"  # signed by a key whose kid the JWKS does not have
    WRONG_AUDIENCE = "wrong-audience"
    #: For another audience but naming this client as authorized party (azp): OIDC Core
    #: 3.1.3.7 still requires the client's own ID in ``aud``.
    AUDIENCE_ELSEWHERE = "audience-elsewhere"
    EXPIRED = "expired"
    WRONG_ISSUER = "wrong-issuer"
    WRONG_NONCE = "wrong-nonce"
    NO_ID_TOKEN = "no-id-token"  # the token response carries an access token only


@dataclass(frozen=True)
class Grant:
    """What the authorization endpoint promised, redeemable once at the token endpoint."""

    client_id: str
    redirect_uri: str
    nonce: str | None
    claims: dict[str, Any]
    issued: float


@dataclass
class OpenIDProvider:
    """The provider, with one registered client, on 127.0.0.1:``port``."""

    port: int
    client_id: str
    client_secret: str
    redirect_uri: str
    #: Further redirect URIs registered for the client (the staff sign-in's callback, say).
    other_redirect_uris: tuple[str, ...] = ()
    #: The claims of whoever "logs in" next (sub, name, id_number, id_type, ...).
    user: dict[str, Any] = field(default_factory=dict)
    fault: Fault | None = None
    #: An OAuth error code to send back instead of a code (the person declined, ...).
    refuse_with: str | None = None
    #: Why requests were refused, in order, so a test can tell a refusal it wanted from one
    #: it did not.
    refusals: list[str] = field(default_factory=list)
    tokens_issued: int = 0

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "signing-1", "use": "sig"})
        self.foreign_key = RSAKey.generate_key(2048, parameters={"kid": "signing-1"})
        self.unknown_key = RSAKey.generate_key(2048, parameters={"kid": "signing-2"})
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- running --------------------------------------------------------------------

    def start(self) -> None:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test OpenID provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    # ---- endpoints ------------------------------------------------------------------

    async def _discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "claims_supported": ["sub", "name", "id_number", "id_type"],
            }
        )

    async def _jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id:
            return self._refuse_page("unknown client_id")
        redirect_uri = query.get("redirect_uri") or ""
        if redirect_uri not in (self.redirect_uri, *self.other_redirect_uris):
            return self._refuse_page("redirect_uri is not registered")
        state = query.get("state")
        if query.get("response_type") != "code":
            return self._back({"error": "unsupported_response_type", "state": state}, redirect_uri)
        if "openid" not in (query.get("scope") or "").split():
            return self._back({"error": "invalid_scope", "state": state}, redirect_uri)
        if self.refuse_with is not None:
            return self._back({"error": self.refuse_with, "state": state}, redirect_uri)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = Grant(
                self.client_id, redirect_uri, query.get("nonce"), dict(self.user), time.time()
            )
        return self._back({"code": code, "state": state}, redirect_uri)

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, client_secret = _client_credentials(request, form)
        if client_id != self.client_id or not secrets.compare_digest(
            client_secret or "", self.client_secret
        ):
            return self._token_error(401, "invalid_client")
        if form.get("grant_type") != "authorization_code":
            return self._token_error(400, "unsupported_grant_type")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)
        if (
            grant is None
            or grant.client_id != client_id
            or grant.redirect_uri != form.get("redirect_uri")
            or time.time() - grant.issued > CODE_SECONDS
        ):
            return self._token_error(400, "invalid_grant")
        self.tokens_issued += 1
        answer: dict[str, Any] = {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "openid profile",
        }
        if self.fault is not Fault.NO_ID_TOKEN:
            answer["id_token"] = self.id_token(grant)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    # ---- the ID token ---------------------------------------------------------------

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **grant.claims,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        key = self.key
        match self.fault:
            case Fault.FOREIGN_KEY:
                key = self.foreign_key
            case Fault.UNKNOWN_KEY:
                key = self.unknown_key
            case Fault.WRONG_AUDIENCE:
                claims["aud"] = "some-other-relying-party"
            case Fault.AUDIENCE_ELSEWHERE:
                claims["aud"], claims["azp"] = ["some-other-relying-party"], grant.client_id
            case Fault.EXPIRED:
                claims["iat"], claims["exp"] = now - 3600, now - 600
            case Fault.WRONG_ISSUER:
                claims["iss"] = "http://127.0.0.1:1"
            case Fault.WRONG_NONCE:
                claims["nonce"] = secrets.token_urlsafe(16)
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    # ---- answers --------------------------------------------------------------------

    def _back(self, params: dict[str, str | None], redirect_uri: str) -> Response:
        if "error" in params:
            self.refusals.append(f"authorize: {params['error']}")
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

    def _refuse_page(self, reason: str) -> Response:
        self.refusals.append(f"authorize: {reason}")
        return PlainTextResponse(reason, status_code=400)

    def _token_error(self, status: int, error: str) -> Response:
        self.refusals.append(f"token: {error}")
        return JSONResponse({"error": error}, status_code=status)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """client_secret_basic (RFC 6749 2.3.1: form-encoded, then Basic) or client_secret_post."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(client_secret)
    return form.get("client_id"), form.get("client_secret")


@contextmanager
def provider_for(
    service_port: int, user: dict[str, Any], *callbacks: str
) -> Iterator[OpenIDProvider]:
    """A running provider on a port of its own, with the service at ``service_port`` as its
    one client; ``callbacks`` are the service's paths it may send people back to (the first
    is the client's main redirect URI)."""
    from tests.conftest import free_port

    provider_port = free_port()
    while provider_port == service_port:
        provider_port = free_port()
    uris = [f"http://127.0.0.1:{service_port}{path}" for path in callbacks or ("/auth/callback",)]
    made = OpenIDProvider(
        port=provider_port,
        client_id="trustsvc-test",
        client_secret=secrets.token_urlsafe(24),
        redirect_uri=uris[0],
        other_redirect_uris=tuple(uris[1:]),
        user=dict(user),
    )
    made.start()
    try:
        yield made
    finally:
        made.stop()
