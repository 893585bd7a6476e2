"""Typed dependencies shared by the routes: the service's parts, the caller, bounded bodies."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from trustsvc.access.clients import Authenticator, Client
from trustsvc.api.observability import Metrics
from trustsvc.api.ratelimit import RateLimiter
from trustsvc.db.models import ClientRole
from trustsvc.errors import AuthenticationError, ForbiddenError
from trustsvc.ledger.access import AccessLog
from trustsvc.licenses.jobs import JobRunner
from trustsvc.licenses.service import LicenseService
from trustsvc.services import Services
from trustsvc.verification.verifier import Verifier

#: How often the shared verifier is rebuilt, so trust-list changes reach running nodes.
_VERIFIER_REFRESH_SECONDS = 60.0


@dataclass
class ApiState:
    """Everything the routes need, built once per app."""

    services: Services
    licenses: LicenseService
    authenticator: Authenticator
    limiter: RateLimiter
    metrics: Metrics
    jobs: JobRunner
    access_log: AccessLog
    _verifier: Verifier | None = None
    _verifier_built: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def verifier(self) -> Verifier:
        """One verifier per process (its caches are worth keeping), refreshed every minute.

        It never fetches: a server that followed URLs named in uploaded
        documents could be made to call anything (SSRF). Validation data
        comes from the document and from this service's own PKI.
        """
        now = time.monotonic()
        with self._lock:
            if self._verifier is None or now - self._verifier_built > _VERIFIER_REFRESH_SECONDS:
                self._verifier = Verifier(self.services, allow_fetching=False)
                self._verifier_built = now
            return self._verifier


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def get_services(request: Request) -> Services:
    return get_state(request).services


StateDep = Annotated[ApiState, Depends(get_state)]
ServicesDep = Annotated[Services, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tsk_...`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_client(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Client:
    """The calling API client, authenticated and within its rate limit."""
    presented = bearer.credentials if bearer is not None else api_key
    if not presented:
        raise AuthenticationError("an API key is required (Authorization: Bearer ...)")
    state = get_state(request)
    client = state.authenticator.authenticate(presented)
    request.scope.setdefault("state", {})["client_name"] = client.name
    state.limiter.take(
        client.id,
        client.rate_limit_per_minute or state.services.settings.api_rate_limit_per_minute,
    )
    return client


def _role(*roles: ClientRole) -> Any:
    allowed = ", ".join(r.value for r in roles)

    def check(client: Annotated[Client, Depends(get_client)]) -> Client:
        if client.role not in roles:
            raise ForbiddenError(f"this needs an API key of role {allowed}")
        return client

    return Depends(check)


IssuerDep = Annotated[Client, _role(ClientRole.ISSUER)]
VerifierDep = Annotated[Client, _role(ClientRole.VERIFIER)]
AdminDep = Annotated[Client, _role(ClientRole.ADMIN)]


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"request body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(
                status_code=413, detail=f"request body is larger than {limit} bytes"
            )
    return bytes(body)


def pdf_download(document: bytes, identifier: str, license_number: str) -> Response:
    """A sealed PDF as an attachment; the Chinese file name per RFC 6266 / RFC 8187."""
    disposition = (
        f"attachment; filename=\"{identifier}.pdf\"; filename*=UTF-8''{quote(license_number)}.pdf"
    )
    return Response(
        document, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )
