"""``create_app(settings)``: the FastAPI application, built from explicit settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from trustsvc import __version__
from trustsvc.api.errors import install_error_handlers
from trustsvc.api.routes import health, pki, public
from trustsvc.clock import Clock
from trustsvc.config import Settings, load_settings
from trustsvc.services import Services, open_services


def create_app(
    settings: Settings, clock: Clock | None = None, services: Services | None = None
) -> FastAPI:
    """The app; it opens the service on start-up unless handed open ``services``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = open_services(settings, clock) if own else services
        try:
            yield
        finally:
            if own:
                app.state.services.close()

    app = FastAPI(
        title="trustsvc",
        version=__version__,
        summary="电子证照与电子印章信任服务 · e-license and e-seal trust service",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(pki.router)
    app.include_router(public.router)
    return app


def create_app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` with several workers: settings from TRUSTSVC_*."""
    return create_app(load_settings())
