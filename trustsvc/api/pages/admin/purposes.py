"""The purpose catalogue's page (operator administrator): purposes added and removed."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trustsvc.api.pages.admin.common import (
    Operator,
    Problem,
    act,
    acting,
    back,
    common,
    confirmation,
    confirmed_form,
    form_of,
    query_of,
    services_of,
    status_of,
)
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.errors import NotFoundError
from trustsvc.licenses.entitlement import packaged_types
from trustsvc.staff import administration as admin
from trustsvc.staff.users import StaffMember

router = APIRouter(include_in_schema=False, route_class=PageRoute)

_TYPE_BOX = re.compile(r"type:[a-z0-9-]{1,64}")


def _purposes_page(
    request: Request,
    member: StaffMember,
    problem: Problem | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    types = packaged_types()
    return render(
        request,
        "admin/purposes.html",
        status_code=status_of(problem),
        purposes=admin.purposes(services_of(request), acting(request, member)),
        types=sorted(types.values(), key=lambda t: t.key),
        type_names={key: (t.name_zh, t.name_en) for key, t in types.items()},
        problem=problem,
        values=values or {},
        **common(request, member, "purposes"),
    )


@router.get("/admin/purposes")
def purposes_page(request: Request, member: Operator) -> Response:
    return _purposes_page(request, member)


@router.post("/admin/purposes")
async def add_purpose(request: Request, member: Operator) -> Response:
    form = await form_of(request, {"name": 200}, _TYPE_BOX)
    type_keys = [name.removeprefix("type:") for name in form if _TYPE_BOX.fullmatch(name)]
    return await act(
        lambda: admin.add_catalogue_purpose(
            services_of(request), acting(request, member), form.get("name", ""), type_keys
        ),
        lambda problem: _purposes_page(request, member, problem, form),
        lambda _purpose: back("/admin/purposes", done="purpose"),
    )


@router.get("/admin/purposes/remove")
def confirm_purpose_removal(request: Request, member: Operator) -> Response:
    name = query_of(request, "name", 200)
    known = {p.name: p for p in admin.purposes(services_of(request), acting(request, member))}
    if name not in known:
        raise NotFoundError(f"no purpose {name!r} in the catalogue")
    return confirmation(
        request,
        member,
        "purposes",
        kind="purpose",
        action="/admin/purposes/remove",
        hidden={"name": name},
        back_to="/admin/purposes",
        purpose=known[name],
    )


@router.post("/admin/purposes/remove")
async def remove_purpose(request: Request, member: Operator) -> Response:
    form = await confirmed_form(request, {"name": 200})
    return await act(
        lambda: admin.remove_catalogue_purpose(
            services_of(request), acting(request, member), form.get("name", "")
        ),
        lambda problem: _purposes_page(request, member, problem),
        lambda _purpose: back("/admin/purposes", done="purpose-removed"),
    )
