"""Typed dependencies shared by the routes: the service's parts, the caller, bounded bodies."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.security import HTTPBearer

from trustsvc.api.observability import Metrics
from trustsvc.api.ratelimit import RateLimiter, address_key
from trustsvc.audit.access_record import AccessLog
from trustsvc.bootstrap import build_verifier
from trustsvc.db.models import ClientRole
from trustsvc.documents.store import DocumentStore
from trustsvc.errors import AuthenticationError, BodyTooLargeError, ForbiddenError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.jobs import JobRunner
from trustsvc.pki.bundle import TrustBundles
from trustsvc.pki.data_key import DataKey
from trustsvc.services import Services
from trustsvc.sharing.clients import Authenticator, Client
from trustsvc.sharing.refusals import RefusalBudget
from trustsvc.verification.isolation import IsolatedPdfVerifier
from trustsvc.verification.verifier import REBUILD_AFTER_SECONDS, Verifier

T = TypeVar("T")
#: Threads per serving process for the hot routes' PostgreSQL reads (see library_read).
LIBRARY_READERS = 4


@dataclass
class ApiState:
    """Everything the routes need, built once per app."""

    services: Services
    licenses: IssuingService
    #: Holder IDs are digested and sealed under it; the pages' secrets are its subkeys.
    data_key: DataKey
    #: Where sealed PDFs are kept (the health route probes it).
    store: DocumentStore
    authenticator: Authenticator
    limiter: RateLimiter
    metrics: Metrics
    jobs: JobRunner
    access_log: AccessLog
    #: Uploaded PDFs are verified in child processes that can be stopped (see isolation).
    pdf_verifier: IsolatedPdfVerifier
    #: Refusals a client may cause a minute before it is answered 429 (see access.refusals).
    refusals: RefusalBudget
    _verifier: Verifier | None = None
    _verifier_built: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Callers without a key, by address: the public routes, and /pki/* apart.
    public_limiter: RateLimiter = field(default_factory=RateLimiter)
    pki_limiter: RateLimiter = field(default_factory=RateLimiter)
    #: The signed trust bundle, re-made when its version changes.
    trust_bundles: TrustBundles = field(default_factory=TrustBundles)

    @functools.cached_property
    def reads_on_loop(self) -> bool:
        """Whether a hot route's one indexed read may run on the event loop.

        A SQLite read is a local file read (~0.1 ms) and costs less than the hop
        to a worker thread; a PostgreSQL read waits on the network, and waiting
        on the loop would stall every other request of the worker.
        """
        return self.services.database.engine.dialect.name == "sqlite"

    @functools.cached_property
    def library_readers(self) -> ThreadPoolExecutor:
        """The threads the hot routes' PostgreSQL reads wait in: a few, kept warm.

        Fewer threads than the request pool's forty: each read is short, and more
        threads would only take turns at the interpreter lock.
        """
        return ThreadPoolExecutor(max_workers=LIBRARY_READERS, thread_name_prefix="library-read")

    def close(self) -> None:
        """Stop the threads this state started (at the app's shutdown)."""
        if "library_readers" in self.__dict__:
            self.library_readers.shutdown(wait=True, cancel_futures=True)

    @property
    def verifier(self) -> Verifier:
        """One verifier per process (its caches are worth keeping), refreshed every minute.

        It never fetches: a server that followed URLs named in uploaded
        documents could be made to call anything (SSRF). Validation data
        comes from the document and from this service's own PKI.
        """
        now = time.monotonic()
        with self._lock:
            if self._verifier is None or now - self._verifier_built > REBUILD_AFTER_SECONDS:
                self._verifier = build_verifier(self.services, allow_fetching=False)
                self._verifier_built = now
            return self._verifier


# The dependencies are ``async def`` though they do not await: FastAPI runs a plain ``def``
# dependency in a worker thread, and that hop costs more than what they do.


async def library_read(state: ApiState, read: Callable[[], T]) -> T:
    """``read()`` on the event loop for SQLite, in a worker thread for PostgreSQL."""
    if state.reads_on_loop:
        return read()
    return await asyncio.get_running_loop().run_in_executor(state.library_readers, read)


def state_of(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


async def get_state(request: Request) -> ApiState:
    return state_of(request)


async def get_services(request: Request) -> Services:
    return state_of(request).services


StateDep = Annotated[ApiState, Depends(get_state)]
ServicesDep = Annotated[Services, Depends(get_services)]


def _client_host(request: Request) -> str | None:
    # uvicorn has already put a trusted proxy's X-Forwarded-For here (see api.server).
    client = request.scope.get("client")
    return client[0] if client else None


async def get_public_state(request: Request) -> ApiState:
    """The state, once the caller's address has spent one of its public requests.

    Part of the one dependency the public routes have: the status route is the
    one relying parties call most, and each dependency shows in its rate.
    """
    state = state_of(request)
    settings = state.services.settings
    if settings.public_rate_limit_per_minute:
        state.public_limiter.take(
            address_key(_client_host(request)),
            settings.public_rate_limit_per_minute,
            settings.public_rate_limit_burst,
        )
    return state


async def get_pki_services(request: Request) -> Services:
    """The services, once the caller's address has spent one of its /pki requests."""
    state = state_of(request)
    settings = state.services.settings
    if settings.pki_rate_limit_per_minute:
        state.pki_limiter.take(
            address_key(_client_host(request)),
            settings.pki_rate_limit_per_minute,
            settings.pki_rate_limit_burst,
        )
    return state.services


#: For routes anyone may call without a key: rate-limited per client address.
PublicStateDep = Annotated[ApiState, Depends(get_public_state)]
PkiServicesDep = Annotated[Services, Depends(get_pki_services)]


class ApiKey(HTTPBearer):
    """An API key of one of ``roles``: authenticated, rate-limited and role-checked at once.

    ``Authorization: Bearer tsk_...`` (or ``X-API-Key: tsk_...``). One dependency
    rather than a chain of them: FastAPI's cost per dependency is a good part of a
    fast route's time.
    """

    def __init__(self, *roles: ClientRole) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="ApiKey",
            description="An API key from `trustsvc client add`: `Authorization: Bearer tsk_...`",
        )
        self.roles = roles
        self.allowed = ", ".join(r.value for r in roles)

    async def __call__(self, request: Request) -> Client:  # type: ignore[override]
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        presented = (
            credentials.strip()
            if scheme.lower() == "bearer"
            else request.headers.get("x-api-key", "")
        )
        if not presented:
            raise AuthenticationError("an API key is required (Authorization: Bearer ...)")
        state = state_of(request)
        client = state.authenticator.authenticate(presented)
        request.scope.setdefault("state", {})["client_name"] = client.name
        state.limiter.take(
            client.id,
            client.rate_limit_per_minute or state.services.settings.api_rate_limit_per_minute,
        )
        if client.role not in self.roles:
            raise ForbiddenError(f"this needs an API key of role {self.allowed}")
        return client


IssuerDep = Annotated[Client, Depends(ApiKey(ClientRole.ISSUER))]
VerifierDep = Annotated[Client, Depends(ApiKey(ClientRole.VERIFIER))]
AdminDep = Annotated[Client, Depends(ApiKey(ClientRole.ADMIN))]
#: An issuer (its own department's licenses) or a verifier (any, recorded): the proof route.
IssuerOrVerifierDep = Annotated[Client, Depends(ApiKey(ClientRole.ISSUER, ClientRole.VERIFIER))]


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLargeError(limit)
    return bytes(body)


def proof_download(bundle: bytes, identifier: str) -> Response:
    """A license's tlog-proof as an attachment, never cached (a newer checkpoint follows)."""
    return Response(
        bundle,
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{identifier}.tlog-proof"',
            "Cache-Control": "no-store",
        },
    )


def pdf_download(document: bytes, identifier: str, license_number: str) -> Response:
    """A sealed PDF as an attachment; the Chinese file name per RFC 6266 / RFC 8187."""
    disposition = (
        f"attachment; filename=\"{identifier}.pdf\"; filename*=UTF-8''{quote(license_number)}.pdf"
    )
    return Response(
        document, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )
