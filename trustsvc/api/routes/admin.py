"""Operator routes (admin keys): API clients, the access and operator records, metrics.

Every change is recorded with the admin client's name and the caller's
address. An admin key cannot make another admin client, nor rotate another
admin client's key (which would hand over that client): both are kept to
the command line, where the operator is at the machine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from trustsvc.api.deps import AdminDep, StateDep
from trustsvc.api.errors import KEY_PROBLEMS, problem_responses
from trustsvc.api.schemas import (
    AccessEntryOut,
    ClientBody,
    ClientOut,
    NewKeyOut,
    OperatorEventOut,
    OperatorEventPage,
    PurposeOut,
    RotateBody,
)
from trustsvc.audit.access_reading import access_events
from trustsvc.audit.operators import Operator, OperatorAction, operator_events
from trustsvc.db.models import ClientRole
from trustsvc.errors import CommandLineOnlyError, ForbiddenError, InvalidInputError
from trustsvc.sharing.clients import (
    Client,
    add_client,
    get_client,
    list_clients,
    revoke_client,
    rotate_key,
)
from trustsvc.sharing.purposes import list_purposes
from trustsvc.staff.users import CLIENT_PREFIX

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
def new_client(body: ClientBody, admin: AdminDep, request: Request, state: StateDep) -> NewKeyOut:
    if body.role == ClientRole.ADMIN.value:
        raise CommandLineOnlyError(
            "an admin client is made on the command line only (trustsvc client add --role admin)"
        )
    info, key = add_client(
        state.services,
        body.name,
        body.role,
        department_code=body.department_code,
        purposes=body.purposes,
        rate_limit_per_minute=body.rate_limit_per_minute,
        operator=_operator(admin, request),
    )
    return NewKeyOut(client=info.client.name, key_id=key.key_id, api_key=key.secret)


@router.get("/api/v1/clients/{name}", response_model=ClientOut, summary="One API client")
def client(name: str, _admin: AdminDep, state: StateDep) -> ClientOut:
    return ClientOut.of(get_client(state.services, name))


def _refuse_staff_client(name: str) -> None:
    """A staff member's client is kept with the user (``trustsvc user disable``): rotating it
    would mint a key for a client meant to work only behind the pages."""
    if name.strip().startswith(CLIENT_PREFIX):
        raise ForbiddenError(
            f"{name!r} is the client a member of staff acts through: disable the user instead"
        )


@router.post("/api/v1/clients/{name}/revoke", response_model=ClientOut, summary="Revoke a client")
def revoke(name: str, admin: AdminDep, request: Request, state: StateDep) -> ClientOut:
    _refuse_staff_client(name)
    return ClientOut.of(revoke_client(state.services, name, _operator(admin, request)))


@router.post(
    "/api/v1/clients/{name}/rotate",
    response_model=NewKeyOut,
    summary="A new key; older keys stop after the grace period",
)
def rotate(
    name: str, body: RotateBody, admin: AdminDep, request: Request, state: StateDep
) -> NewKeyOut:
    _refuse_staff_client(name)
    target = get_client(state.services, name).client
    if target.role is ClientRole.ADMIN and target.id != admin.id:
        raise CommandLineOnlyError(
            "another admin client's key is rotated on the command line only "
            "(trustsvc client rotate); an admin key may rotate only itself over HTTP"
        )
    key = rotate_key(
        state.services,
        name,
        timedelta(seconds=body.grace_seconds),
        _operator(admin, request),
    )
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
    "/api/v1/operator-events",
    response_model=OperatorEventPage,
    summary="The operator record: who changed clients, departments, seals and trust, newest first",
)
def operator_record(
    _admin: AdminDep,
    state: StateDep,
    action: Annotated[str | None, Query(max_length=32)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> OperatorEventPage:
    try:
        wanted = OperatorAction(action) if action is not None else None
    except ValueError:
        raise InvalidInputError(
            f"unknown action {action!r}; actions are {', '.join(a.value for a in OperatorAction)}"
        ) from None
    entries = operator_events(
        state.services, limit=limit, before=before, action=wanted, actor=actor
    )
    return OperatorEventPage(
        items=[OperatorEventOut.of(e) for e in entries],
        next_before=entries[-1].id if len(entries) == limit else None,
    )


@router.get(
    "/api/v1/purposes",
    response_model=list[PurposeOut],
    summary="The purpose catalogue (用证事由) and the license types each purpose may see",
)
def purposes(_admin: AdminDep, state: StateDep) -> list[PurposeOut]:
    return [PurposeOut.of(p) for p in list_purposes(state.services)]


def _operator(admin: Client, request: Request) -> Operator:
    return Operator.over_http(admin.name, request.client.host if request.client else None)


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(_admin: AdminDep, state: StateDep) -> Response:
    body, content_type = state.metrics.exposition()
    return Response(body, media_type=content_type)
