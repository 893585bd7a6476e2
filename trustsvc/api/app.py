"""``create_app(settings)``: the FastAPI application, built from explicit settings.

Every piece of state lives in the database and the document store, so any
number of processes and nodes can serve one library; what a process keeps
for itself (verified keys for a few seconds, rate-limit buckets, caches of
the verifier) is an optimisation or a per-process bound, never the truth.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustsvc import __version__
from trustsvc.api.browser import BrowserHeadersMiddleware, content_security_policy
from trustsvc.api.deps import ApiState
from trustsvc.api.errors import http_status, install_error_handlers, problem
from trustsvc.api.inputs import is_utf8_percent_encoded, parse_json
from trustsvc.api.observability import (
    Metrics,
    ObservabilityMiddleware,
    RequestLog,
    configure_logging,
)
from trustsvc.api.pages import admin as admin_pages
from trustsvc.api.pages import console as console_pages
from trustsvc.api.pages import desk as desk_pages
from trustsvc.api.pages import public as public_pages
from trustsvc.api.pages import staff as staff_pages
from trustsvc.api.pages import stats as stats_pages
from trustsvc.api.pages import wallet as wallet_pages
from trustsvc.api.pages.rendering import PageRoute
from trustsvc.api.ratelimit import RateLimiter
from trustsvc.api.routes import admin, health, holder, licenses, lookup, pki, public, signin, verify
from trustsvc.api.routes import docs as docs_page
from trustsvc.api.routes import log as log_routes
from trustsvc.audit.access_record import AccessLog
from trustsvc.bootstrap import build_integrator as build_log_integrator
from trustsvc.bootstrap import build_runtime, database_library, open_services
from trustsvc.clock import Clock
from trustsvc.errors import BodyTooLargeError, InvalidInputError
from trustsvc.licenses.jobs import JobRunner
from trustsvc.licenses.sweep import StoreSweeper
from trustsvc.services import Services
from trustsvc.settings import Settings, load_settings
from trustsvc.sharing.clients import Authenticator
from trustsvc.sharing.refusals import RefusalBudget
from trustsvc.verification import hex_strings
from trustsvc.verification.isolation import IsolatedPdfVerifier
from trustsvc.verification.verifier import DEFAULT_MAX_BYTES

#: Bodies larger than this are refused before they are read, except on the routes below.
DEFAULT_BODY_LIMIT = 1024 * 1024
_BODY_LIMITS = {
    "/api/v1/verify": DEFAULT_MAX_BYTES,
    "/api/v1/licenses/batch": 32 * 1024 * 1024,
    "/desk/check": desk_pages.FORM_LIMIT,
    "/console/batch": console_pages.uploads.BATCH_BODY_LIMIT,
    "/console/approval": console_pages.uploads.APPROVAL_BODY_LIMIT,
}


class RequestGuardMiddleware:
    """Refuses, before routing, what no route may read: over-long bodies and NUL characters.

    Bodies over their route's limit get 413, whether the length is declared or
    the body streams past it. FastAPI's own ``max_body_size`` answers some
    refusals in plain text; every error of this service is problem+json, so the
    limit is kept here. A NUL in the path or query gets 422: PostgreSQL text
    cannot hold one, and it would fail there as a 500 instead of as the invalid
    input it is.
    """

    def __init__(self, app: ASGIApp, page_routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        #: The pages' routes: a refusal on one of their paths is the page's to answer.
        self.page_routes = tuple(page_routes)

    def _is_page(self, scope: Scope) -> bool:
        """Whether a page (not the JSON API) serves this path: its refusals are pages too."""
        path = scope["path"]
        return any(
            isinstance(route, PageRoute) and route.path_regex.match(path)
            for route in self.page_routes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            refusal = problem(
                422, "invalid-input", "the path or the query contains a NUL character"
            )
            await refusal(scope, receive, send)
            return
        if not is_utf8_percent_encoded(scope.get("raw_path") or b"") or not (
            is_utf8_percent_encoded(scope.get("query_string", b""))
        ):
            refusal = problem(
                422, "invalid-input", "the path or the query is not percent-encoded UTF-8"
            )
            await refusal(scope, receive, send)
            return
        limit = _BODY_LIMITS.get(scope["path"], DEFAULT_BODY_LIMIT)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, BodyTooLargeError(limit))
            return
        text_kind = _text_body_kind(scope["method"], headers.get(b"content-type", b""))
        if text_kind is not None:
            await self._checked_text_body(scope, receive, send, text_kind, limit)
            return
        seen = 0

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if self._is_page(scope):
                        await _drain(receive)
                        raise BodyTooLargeError(limit)
                    raise HTTPException(413, f"request body is larger than {limit} bytes")
            return message

        await self.app(scope, bounded_receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, error: InvalidInputError
    ) -> None:
        """The API's refusal as problem+json; a page's is handed to the page, as an error
        raised where it reads its body, so that it answers with itself, in its words."""
        if not self._is_page(scope):
            await problem(http_status(error), error.code, error.message)(scope, receive, send)
            return

        async def refusing() -> Message:
            await _drain(receive)
            raise error

        await self.app(scope, refusing, send)

    async def _checked_text_body(
        self, scope: Scope, receive: Receive, send: Send, kind: str, limit: int
    ) -> None:
        """Read a JSON or form body whole (it is bounded), check it, then hand it on.

        The check is the class fix for text no route could store or answer with
        (lone surrogates, other encodings, duplicate JSON members, deep nesting);
        the route parses the body again, which for bodies this size costs
        microseconds.
        """
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await self._refuse(scope, receive, send, BodyTooLargeError(limit))
                return
            if not message.get("more_body", False):
                break
        try:
            if kind == "json":
                parse_json(bytes(body))
            elif not is_utf8_percent_encoded(bytes(body)):
                raise InvalidInputError("the form is not percent-encoded UTF-8")
        except InvalidInputError as exc:
            await self._refuse(scope, _nothing_more, send, exc)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


#: A refused page's body is read on (and dropped) up to this much, so that the browser,
#: still sending, gets the page that says why instead of a reset connection.
_DRAIN_LIMIT = 64 * 1024 * 1024


async def _drain(receive: Receive) -> None:
    drained = 0
    while drained <= _DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


async def _nothing_more() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _text_body_kind(method: str, content_type: bytes) -> str | None:
    """ "json" or "form" for a body whose text is checked before routing, else None."""
    if method not in ("POST", "PUT", "PATCH"):
        return None
    media = content_type.split(b";", 1)[0].strip().lower()
    if media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    ):
        return "json"
    if media == b"application/x-www-form-urlencoded":
        return "form"
    return None


#: Where the sessions of holders and staff are read; no other route touches the cookie.
_HOLDER_PATHS = ("/me", "/auth/", "/api/v1/me", "/staff", "/desk", "/console", "/admin", "/stats")


class HolderSessionMiddleware:
    """Starlette's signed-cookie sessions, on the holders' routes only."""

    def __init__(self, app: ASGIApp, secret_key: str, max_age: int, https_only: bool) -> None:
        self.app = app
        self.with_session = SessionMiddleware(
            app,
            secret_key=secret_key,
            session_cookie="trustsvc_session",
            max_age=max_age,
            same_site="lax",
            https_only=https_only,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_HOLDER_PATHS):
            await self.with_session(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    services: Services | None = None,
    request_log: RequestLog | None = None,
) -> FastAPI:
    """The app, over ``services`` if given, else over services it opens (and closes) itself.

    ``request_log`` receives a line per request (``trustsvc serve`` passes standard error).
    """
    hex_strings.install()  # the process's PDF reader, chosen once at start-up
    own = services is None
    opened = services if services is not None else open_services(settings, clock)
    runtime = build_runtime(opened)
    license_service = runtime.licenses
    metrics = Metrics()
    state = ApiState(
        services=opened,
        licenses=license_service,
        data_key=runtime.data_key,
        store=runtime.store,
        authenticator=Authenticator(opened),
        limiter=RateLimiter(),
        metrics=metrics,
        jobs=JobRunner(
            license_service,
            runtime.database,
            runtime.clock,
            runtime.data_key,
            on_issued=lambda type_key: metrics.issued.labels(type_key).inc(),
        ),
        access_log=AccessLog(opened),
        # The children get the in-process verifier's trust material (no key in it) and
        # ask this process the library's questions.
        pdf_verifier=IsolatedPdfVerifier(
            lambda: state.verifier.trust,
            database_library(opened),
            processes=opened.settings.verification_processes,
        ),
        refusals=RefusalBudget(opened.settings.refusal_rate_limit_per_minute),
    )

    sweeper = StoreSweeper(
        runtime.store,
        runtime.database,
        runtime.clock,
        grace=timedelta(minutes=opened.settings.store_sweep_grace_minutes),
        interval=timedelta(minutes=opened.settings.store_sweep_minutes),
    )

    integrator = build_log_integrator(opened)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.jobs.start()
        sweeper.start()
        integrator.start()
        try:
            yield
        finally:
            integrator.close()
            sweeper.stop()
            state.jobs.stop()
            state.access_log.close()
            state.pdf_verifier.close()
            state.close()
            if request_log is not None:
                request_log.flush()
            if own:
                runtime.close()

    app = FastAPI(
        title="trustsvc",
        version=__version__,
        summary="电子证照与电子印章信任服务 · e-license and e-seal trust service",
        description="Departments issue sealed e-licenses; other departments and third parties "
        "verify them and look them up, for a stated purpose, every access recorded. "
        "API keys: `Authorization: Bearer tsk_...` (`trustsvc client add`).",
        lifespan=lifespan,
        # /docs is served from files shipped with the service (routes/docs.py); ReDoc and
        # Swagger UI's OAuth2 page would load from a CDN and run inline scripts.
        docs_url=None,
        redoc_url=None,
    )
    app.state.api = state
    app.state.services = opened
    app.state.oauth = signin.make_oauth(settings)
    install_error_handlers(app)
    # The routes relying parties call most are matched first.
    for router in (
        public.router,
        verify.router,
        health.router,
        pki.router,
        log_routes.router,
        licenses.router,
        lookup.router,
        signin.router,
        holder.router,
        admin.router,
        docs_page.router,
        staff_pages.router,
        desk_pages.router,
        stats_pages.router,
        admin_pages.router,
        wallet_pages.router,
        public_pages.router,
        console_pages.router,
    ):
        app.include_router(router)
    for path, folder in docs_page.static_folders().items():
        app.mount(path, folder)
    # Added innermost first: body limits and NUL refusal, browser security headers (on the
    # refusals too), then sessions, then timing and logging.
    app.add_middleware(
        RequestGuardMiddleware,
        page_routes=[
            route
            for router in (
                staff_pages.router,
                desk_pages.router,
                stats_pages.router,
                admin_pages.router,
                wallet_pages.router,
                public_pages.router,
                console_pages.router,
            )
            for route in router.routes
        ],
    )
    app.add_middleware(
        BrowserHeadersMiddleware,
        policy=content_security_policy(
            (),
            sign_in_provider=settings.oidc_issuer if app.state.oauth is not None else None,
        ),
    )
    app.add_middleware(
        HolderSessionMiddleware,
        secret_key=runtime.data_key.subkey("holder sessions").hex(),
        max_age=settings.holder_session_minutes * 60,
        https_only=settings.public_base_url.startswith("https://"),
    )
    app.add_middleware(ObservabilityMiddleware, metrics=state.metrics, request_log=request_log)
    return app


def create_app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` with several workers: settings from TRUSTSVC_*."""
    configure_logging()
    app = create_app(load_settings(), request_log=RequestLog.to_stderr())
    app.state.api.pdf_verifier.warm_up()
    tune_garbage_collection()
    return app


def tune_garbage_collection() -> None:
    """For a serving process, once its long-lived objects exist.

    What start-up built (keys, certificates, fonts, the app) is moved out of the
    collector's sight, and young objects are collected less often: requests make
    many short-lived objects, which reference counting frees anyway. Collections
    of the full heap were the slowest 1 % of token verifications (pauses of
    50-70 ms); with this the p99 falls by about two thirds.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
