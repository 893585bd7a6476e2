"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from trustsvc.api.deps import ServicesDep, StateDep
from trustsvc.api.errors import problem, problem_responses
from trustsvc.errors import TrustServiceError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database and keys are reachable, the document store takes writes",
    response_model=None,
    responses=problem_responses(503),
)
def readyz(services: ServicesDep, state: StateDep) -> dict[str, str] | JSONResponse:
    try:
        with services.database.begin() as session:
            session.execute(text("SELECT 1"))
        services.pki.check_keys()
    except (SQLAlchemyError, TrustServiceError):
        return problem(503, "not-ready", "Database or keys are not reachable")
    try:
        # A small file written, synced and removed (or a row written and rolled
        # back), its answer reused for a few seconds: cheap enough for a probe.
        state.store.probe()
    except (SQLAlchemyError, TrustServiceError) as exc:
        detail = exc.message if isinstance(exc, TrustServiceError) else None
        return problem(503, "not-ready", "The document store cannot be written", detail)
    return {"status": "ready"}
