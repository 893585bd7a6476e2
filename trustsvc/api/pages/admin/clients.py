"""The API clients' page (operator administrator): clients added, revoked, and their keys
rotated. A new key is shown once, on the answer to the request that made it, never
stored or cached."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trustsvc.api.pages.admin.common import (
    PURPOSE_BOX,
    PURPOSE_BOXES,
    Operator,
    Problem,
    act,
    acting,
    back,
    common,
    confirmation,
    confirmed_form,
    form_of,
    purposes_of,
    query_of,
    services_of,
    status_of,
)
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.db.models import ClientRole
from trustsvc.errors import InvalidInputError, NotFoundError
from trustsvc.sharing.clients import MAX_RATE_LIMIT
from trustsvc.staff import administration as admin
from trustsvc.staff.users import StaffMember

router = APIRouter(include_in_schema=False, route_class=PageRoute)

#: Grace periods offered for a rotated key's old keys, in hours.
GRACE_HOURS = (0, 1, 24, 72, 168)


def _clients_page(
    request: Request,
    member: StaffMember,
    problem: Problem | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    services, who = services_of(request), acting(request, member)
    return render(
        request,
        "admin/clients.html",
        status_code=status_of(problem),
        clients=admin.clients(services, who),
        departments=admin.departments(services, who),
        catalogue=[p.name for p in admin.purposes(services, who)][:PURPOSE_BOXES],
        roles=[ClientRole.VERIFIER.value, ClientRole.ISSUER.value],
        problem=problem,
        values=values or {},
        max_rate=MAX_RATE_LIMIT,
        **common(request, member, "clients"),
    )


@router.get("/admin/clients")
def clients_page(request: Request, member: Operator) -> Response:
    return _clients_page(request, member)


_CLIENT_FIELDS = {"name": 200, "role": 32, "department": 18, "purposes": 2000, "rate_limit": 8}


def _key_page(request: Request, member: StaffMember, made: bool) -> Any:
    def page(issued: tuple[Any, Any]) -> Response:
        info, key = issued
        # The key is in this answer only: nothing may keep a copy of it.
        return render(
            request,
            "admin/key.html",
            status_code=201 if made else 200,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            info=info,
            key=key,
            made=made,
            **common(request, member, "clients"),
        )

    return page


@router.post("/admin/clients")
async def add_client(request: Request, member: Operator) -> Response:
    form = await form_of(request, _CLIENT_FIELDS, PURPOSE_BOX)

    def make() -> tuple[Any, Any]:
        rate = form.get("rate_limit", "").strip()
        if rate and not rate.isdigit():
            raise InvalidInputError("a rate limit is a whole number of requests a minute")
        return admin.make_client(
            services_of(request),
            acting(request, member),
            form.get("name", ""),
            form.get("role", ""),
            department_code=form.get("department") or None,
            purposes=purposes_of(form),
            rate_limit_per_minute=int(rate) if rate else None,
        )

    return await act(
        make,
        lambda problem: _clients_page(request, member, problem, form),
        _key_page(request, member, made=True),
    )


def _confirm_client(request: Request, member: StaffMember, kind: str) -> Response:
    name = query_of(request, "name", 200)
    clients = {
        c.client.name: c for c in admin.clients(services_of(request), acting(request, member))
    }
    if name not in clients:
        raise NotFoundError(f"no API client named {name!r}")
    return confirmation(
        request,
        member,
        "clients",
        kind=kind,
        action=f"/admin/clients/{kind}",
        hidden={"name": name},
        back_to="/admin/clients",
        client=clients[name],
        grace_hours=GRACE_HOURS,
    )


@router.get("/admin/clients/revoke")
def confirm_client_revocation(request: Request, member: Operator) -> Response:
    return _confirm_client(request, member, "revoke")


@router.get("/admin/clients/rotate")
def confirm_rotation(request: Request, member: Operator) -> Response:
    return _confirm_client(request, member, "rotate")


@router.post("/admin/clients/revoke")
async def revoke_client(request: Request, member: Operator) -> Response:
    form = await confirmed_form(request, {"name": 200})
    return await act(
        lambda: admin.revoke_api_client(
            services_of(request), acting(request, member), form.get("name", "")
        ),
        lambda problem: _clients_page(request, member, problem),
        lambda _client: back("/admin/clients", done="client-revoked"),
    )


@router.post("/admin/clients/rotate")
async def rotate_key(request: Request, member: Operator) -> Response:
    form = await confirmed_form(request, {"name": 200, "grace": 4})
    grace = form.get("grace", "0")
    if not grace.isdigit() or int(grace) not in GRACE_HOURS:
        raise InvalidInputError("choose one of the grace periods offered")
    return await act(
        lambda: admin.rotate_api_key(
            services_of(request),
            acting(request, member),
            form.get("name", ""),
            timedelta(hours=int(grace)),
        ),
        lambda problem: _clients_page(request, member, problem),
        _key_page(request, member, made=False),
    )
