"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from trustsvc.api.deps import ServicesDep
from trustsvc.api.errors import problem, problem_responses
from trustsvc.errors import TrustServiceError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database and keys are reachable",
    response_model=None,
    responses=problem_responses(503),
)
def readyz(services: ServicesDep) -> dict[str, str] | JSONResponse:
    try:
        with services.database.begin() as session:
            session.execute(text("SELECT 1"))
        services.pki.check_keys()
    except (SQLAlchemyError, TrustServiceError):
        return problem(503, "not-ready", "Database or keys are not reachable")
    return {"status": "ready"}
