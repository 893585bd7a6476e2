"""Operator routes (admin keys): API clients, the access record, metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from trustsvc.access.clients import add_client, get_client, list_clients, revoke_client, rotate_key
from trustsvc.api.deps import AdminDep, StateDep
from trustsvc.api.errors import KEY_PROBLEMS, problem_responses
from trustsvc.api.schemas import AccessEntryOut, ClientBody, ClientOut, NewKeyOut, RotateBody
from trustsvc.ledger.access import access_events

router = APIRouter(tags=["operators"], responses=problem_responses(400, *KEY_PROBLEMS, 404, 409))


@router.get("/api/v1/clients", response_model=list[ClientOut], summary="API clients")
def clients(_admin: AdminDep, state: StateDep) -> list[ClientOut]:
    return [ClientOut.of(info) for info in list_clients(state.services)]


@router.post(
    "/api/v1/clients",
    response_model=NewKeyOut,
    status_code=201,
    summary="Make an API client; its key is in this answer only",
)
def new_client(body: ClientBody, _admin: AdminDep, state: StateDep) -> NewKeyOut:
    info, key = add_client(
        state.services,
        body.name,
        body.role,
        department_code=body.department_code,
        purposes=body.purposes,
        rate_limit_per_minute=body.rate_limit_per_minute,
    )
    return NewKeyOut(client=info.client.name, key_id=key.key_id, api_key=key.secret)


@router.get("/api/v1/clients/{name}", response_model=ClientOut, summary="One API client")
def client(name: str, _admin: AdminDep, state: StateDep) -> ClientOut:
    return ClientOut.of(get_client(state.services, name))


@router.post("/api/v1/clients/{name}/revoke", response_model=ClientOut, summary="Revoke a client")
def revoke(name: str, _admin: AdminDep, state: StateDep) -> ClientOut:
    return ClientOut.of(revoke_client(state.services, name))


@router.post(
    "/api/v1/clients/{name}/rotate",
    response_model=NewKeyOut,
    summary="A new key; older keys stop after the grace period",
)
def rotate(name: str, body: RotateBody, _admin: AdminDep, state: StateDep) -> NewKeyOut:
    key = rotate_key(state.services, name, timedelta(seconds=body.grace_seconds))
    return NewKeyOut(client=name, key_id=key.key_id, api_key=key.secret)


@router.get(
    "/api/v1/access-events",
    response_model=list[AccessEntryOut],
    summary="The access record (全程留痕), newest first",
)
def events(
    _admin: AdminDep,
    state: StateDep,
    client: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AccessEntryOut]:
    return [AccessEntryOut.of(e) for e in access_events(state.services, client, limit, offset)]


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(_admin: AdminDep, state: StateDep) -> Response:
    body, content_type = state.metrics.exposition()
    return Response(body, media_type=content_type)
