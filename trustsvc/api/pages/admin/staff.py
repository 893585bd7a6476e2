"""The staff page: members of staff added and disabled (a department administrator's
within their own department)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trustsvc.api.pages.admin.common import (
    PURPOSE_BOX,
    PURPOSE_BOXES,
    Administrator,
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
from trustsvc.errors import NotFoundError
from trustsvc.staff import administration as admin
from trustsvc.staff.users import StaffMember, StaffRole

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _staff_page(
    request: Request,
    member: StaffMember,
    problem: Problem | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    services, who = services_of(request), acting(request, member)
    is_operator = who.is_operator
    return render(
        request,
        "admin/staff.html",
        status_code=status_of(problem),
        users=admin.staff(services, who),
        departments=admin.departments(services, who),
        roles=[r.value for r in (StaffRole if is_operator else admin.DEPARTMENT_STAFF_ROLES)],
        catalogue=[p.name for p in admin.purposes(services, who)][:PURPOSE_BOXES]
        if is_operator
        else [],
        problem=problem,
        values=values or {},
        **common(request, member, "staff"),
    )


@router.get("/admin/staff")
def staff_page(request: Request, member: Administrator) -> Response:
    return _staff_page(request, member)


_STAFF_FIELDS = {
    "subject": 180,
    "name": 200,
    "role": 32,
    "department": 18,
    "hall": 200,
    "window": 200,
    "purposes": 2000,
}


@router.post("/admin/staff")
async def add_staff(request: Request, member: Administrator) -> Response:
    form = await form_of(request, _STAFF_FIELDS, PURPOSE_BOX)
    return await act(
        lambda: admin.add_staff(
            services_of(request),
            acting(request, member),
            form.get("subject", ""),
            form.get("name", ""),
            form.get("role", ""),
            department_code=form.get("department") or None,
            hall=form.get("hall") or None,
            window=form.get("window") or None,
            purposes=purposes_of(form),
        ),
        lambda problem: _staff_page(request, member, problem, form),
        lambda _user: back("/admin/staff", done="user"),
    )


@router.get("/admin/staff/disable")
def confirm_disable(request: Request, member: Administrator) -> Response:
    subject = query_of(request, "subject", 180)
    users = {u.subject: u for u in admin.staff(services_of(request), acting(request, member))}
    if subject not in users:
        raise NotFoundError(f"no member of staff {subject!r} that you keep")
    return confirmation(
        request,
        member,
        "staff",
        kind="user",
        action="/admin/staff/disable",
        hidden={"subject": subject},
        back_to="/admin/staff",
        user=users[subject],
    )


@router.post("/admin/staff/disable")
async def disable_staff(request: Request, member: Administrator) -> Response:
    form = await confirmed_form(request, {"subject": 180})
    return await act(
        lambda: admin.disable_staff(
            services_of(request), acting(request, member), form.get("subject", "")
        ),
        lambda problem: _staff_page(request, member, problem),
        lambda _user: back("/admin/staff", done="user-disabled"),
    )
