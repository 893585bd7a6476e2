"""The administration pages (/admin): departments and seals, staff, API clients, purposes,
and the operator record.

Thin handlers: each parses a bounded form (with its CSRF token), calls one
function of ``staff.administration`` (which checks who may do what, calls the
same registry functions as the command line and records the operation), and
shows the outcome. A destructive action (revoking a seal or a client,
rotating a key, disabling a user, removing a purpose) goes through a
confirmation page first. A new API key is shown once, on the answer to the
request that made it, never stored or cached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import read_bounded_body, state_of
from trustsvc.api.errors import http_status
from trustsvc.api.inputs import parse_form
from trustsvc.api.pages.access import staff_with
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.audit.operators import OperatorAction
from trustsvc.db.models import ClientRole
from trustsvc.departments.kinds import DepartmentKind
from trustsvc.errors import InvalidInputError, NotFoundError, TrustServiceError
from trustsvc.licenses.entitlement import packaged_types
from trustsvc.services import Services
from trustsvc.sharing.clients import MAX_RATE_LIMIT
from trustsvc.staff import administration as admin
from trustsvc.staff.administration import ADMINISTRATORS, RECORD_READERS, SEAL_REASONS, Acting
from trustsvc.staff.users import StaffMember, StaffRole
from trustsvc.verification.report import VERDICT_TEXT

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Administrator = Annotated[StaffMember, Depends(staff_with(*ADMINISTRATORS))]
Operator = Annotated[StaffMember, Depends(staff_with(StaffRole.OPERATOR_ADMIN))]
RecordReader = Annotated[StaffMember, Depends(staff_with(*RECORD_READERS))]

_FORM_LIMIT = 16_384
#: Purposes offered as boxes to tick (the rest are typed, one a line): a form has 20 fields.
_PURPOSE_BOXES = 10
_PURPOSE_BOX = re.compile(r"purpose:\d{1,2}")
_TYPE_BOX = re.compile(r"type:[a-z0-9-]{1,64}")
_SPLIT = re.compile(r"[\n\r,，、;；]+")
#: Grace periods offered for a rotated key's old keys, in hours.
GRACE_HOURS = (0, 1, 24, 72, 168)

#: Each staff role in words (zh, en).
ROLE_NAMES: dict[str, tuple[str, str]] = {
    StaffRole.CLERK.value: ("窗口人员", "Window clerk"),
    StaffRole.OFFICER.value: ("经办人员", "Officer"),
    StaffRole.DEPARTMENT_ADMIN.value: ("部门管理员", "Department administrator"),
    StaffRole.AUDITOR.value: ("审计人员", "Auditor"),
    StaffRole.OPERATOR_ADMIN.value: ("运营管理员", "Operator administrator"),
}
CLIENT_ROLE_NAMES: dict[str, tuple[str, str]] = {
    ClientRole.ISSUER.value: ("签发方", "Issuer"),
    ClientRole.VERIFIER.value: ("核验方", "Verifier"),
    ClientRole.ADMIN.value: ("管理", "Admin"),
}
ACTION_NAMES: dict[str, tuple[str, str]] = {
    OperatorAction.CLIENT_ADD.value: ("新增调用方", "Client added"),
    OperatorAction.CLIENT_REVOKE.value: ("吊销调用方", "Client revoked"),
    OperatorAction.CLIENT_ROTATE.value: ("更换密钥", "Key rotated"),
    OperatorAction.DEPARTMENT_ADD.value: ("新增部门", "Department added"),
    OperatorAction.DEPARTMENT_KIND.value: ("设置部门类别", "Department kind set"),
    OperatorAction.SEAL_ISSUE.value: ("签发印章证书", "Seal issued"),
    OperatorAction.SEAL_REVOKE.value: ("吊销印章证书", "Seal revoked"),
    OperatorAction.SEAL_IMPORT.value: ("导入印章证书", "Seal imported"),
    OperatorAction.TRUST_ADD.value: ("新增信任根", "Trust anchor added"),
    OperatorAction.TYPE_ALLOW.value: ("准予签发类型", "Type allowed"),
    OperatorAction.TYPE_DENY.value: ("禁止签发类型", "Type denied"),
    OperatorAction.PURPOSE_ADD.value: ("新增用证事由", "Purpose added"),
    OperatorAction.PURPOSE_REMOVE.value: ("删除用证事由", "Purpose removed"),
    "user_add": ("新增工作人员", "Staff user added"),
    "user_disable": ("停用工作人员", "Staff user disabled"),
}
SEAL_REASON_NAMES: dict[str, tuple[str, str]] = {
    "unspecified": ("未说明", "Unspecified"),
    "key_compromise": ("私钥泄露", "Key compromise"),
    "affiliation_changed": ("机构变更", "Affiliation changed"),
    "superseded": ("已被替代", "Superseded"),
    "cessation_of_operation": ("停止使用", "Cessation of operation"),
    "certificate_hold": ("暂停使用", "Certificate hold"),
    "remove_from_crl": ("从吊销列表移除", "Remove from CRL"),
    "privilege_withdrawn": ("权限撤销", "Privilege withdrawn"),
    "aa_compromise": ("属性机构泄露", "AA compromise"),
}
#: What a finished action says on the page it leads back to (``?done=``): fixed texts only.
DONE: dict[str, tuple[str, str]] = {
    "department": ("已新增部门并签发其印章证书。", "The department was added, with its seal."),
    "seal-new": ("已签发新的印章证书。", "A new seal certificate was issued."),
    "seal-revoked": ("已吊销印章证书。", "The seal certificate was revoked."),
    "user": ("已新增工作人员。", "The member of staff was added."),
    "user-disabled": ("已停用该工作人员。", "The member of staff was disabled."),
    "client-revoked": ("已吊销该调用方。", "The client was revoked."),
    "purpose": ("已新增用证事由。", "The purpose was added."),
    "purpose-removed": ("已删除用证事由。", "The purpose was removed."),
}
#: A refusal's headline in words, by HTTP status (the detail follows it).
_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("输入有误", "Check what you entered"),
    403: ("无权执行此操作", "You may not do this"),
    404: ("找不到", "Not found"),
    409: ("与现有记录冲突", "This conflicts with what exists"),
    422: ("输入有误", "Check what you entered"),
}


def _acting(request: Request, member: StaffMember) -> Acting:
    return Acting(member, request.client.host if request.client else None)


def _services(request: Request) -> Services:
    return state_of(request).services


def _problem(error: TrustServiceError) -> dict[str, Any]:
    status = http_status(error)
    zh, en = _PROBLEMS.get(status, ("无法完成", "This cannot be done"))
    return {"status": status, "zh": zh, "en": en, "detail": error.message if status < 500 else ""}


async def _form(
    request: Request, lengths: Mapping[str, int], *patterns: re.Pattern[str]
) -> dict[str, str]:
    """The posted form, bounded, of the named fields (and boxes matching ``patterns``)."""
    fields = parse_form(
        await read_bounded_body(request, _FORM_LIMIT), max_lengths={**lengths, CSRF_FIELD: 100}
    )
    check_csrf(request, fields.get(CSRF_FIELD))
    for name in fields:
        if (
            name not in lengths
            and name != CSRF_FIELD
            and not any(p.fullmatch(name) for p in patterns)
        ):
            raise InvalidInputError(f"unknown form field {name[:40]!r}")
    return fields


def _query(request: Request, name: str, limit: int) -> str:
    value = request.query_params.get(name, "").strip()
    if not value or len(value) > limit:
        raise InvalidInputError(f"the address needs {name} (at most {limit} characters)")
    return value


def _done(request: Request) -> tuple[str, str] | None:
    return DONE.get(request.query_params.get("done", "")[:40])


def _back(path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


def _local_moment(request: Request, value: str) -> datetime | None:
    """A browser's ``datetime-local`` value (no zone: the service's), or None when empty."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError("the time is given as 2026-12-01T14:30") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_services(request).settings.zone)
    return moment


def _purposes_of(form: Mapping[str, str]) -> list[str]:
    ticked = [value for name, value in form.items() if _PURPOSE_BOX.fullmatch(name)]
    typed = [part.strip() for part in _SPLIT.split(form.get("purposes", "")) if part.strip()]
    return ticked + typed


def _common(request: Request, member: StaffMember, section: str) -> dict[str, Any]:
    return {
        "member": member,
        "section": section,
        "done": _done(request),
        "role_names": ROLE_NAMES,
        "client_role_names": CLIENT_ROLE_NAMES,
        "is_operator": member.role is StaffRole.OPERATOR_ADMIN,
    }


# ---- departments and seals -----------------------------------------------------------


def _departments_page(
    request: Request,
    member: StaffMember,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    acting = _acting(request, member)
    now = _services(request).clock.now()
    departments = admin.departments(_services(request), acting)
    return render(
        request,
        "admin/departments.html",
        status_code=status_code,
        departments=departments,
        usable={
            d.code: sum(1 for s in d.seals if s.revoked_at is None and s.not_after > now)
            for d in departments
        },
        kinds=list(DepartmentKind),
        problem=problem,
        values=values or {},
        **_common(request, member, "departments"),
    )


@router.get("/admin")
def departments_page(request: Request, member: Administrator) -> Response:
    return _departments_page(request, member)


_DEPARTMENT_FIELDS = {"name": 200, "code": 18, "region": 6, "kind": 40}


@router.post("/admin/departments")
async def add_department(request: Request, member: Operator) -> Response:
    form = await _form(request, _DEPARTMENT_FIELDS)
    try:
        info = await run_in_threadpool(
            admin.register_department,
            _services(request),
            _acting(request, member),
            form.get("name", ""),
            form.get("code", ""),
            form.get("region") or None,
            form.get("kind") or None,
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _departments_page(
            request, member, status_code=problem["status"], problem=problem, values=form
        )
    return _back("/admin/department", code=info.code, done="department")


def _department_page(
    request: Request,
    member: StaffMember,
    code: str,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
) -> Response:
    services = _services(request)
    return render(
        request,
        "admin/department.html",
        status_code=status_code,
        department=admin.department(services, _acting(request, member), code),
        kind_names={k.value: (k.label_zh, k.value) for k in DepartmentKind},
        now=services.clock.now(),
        problem=problem,
        **_common(request, member, "departments"),
    )


@router.get("/admin/department")
def department_page(request: Request, member: Administrator) -> Response:
    return _department_page(request, member, _query(request, "code", 18))


@router.post("/admin/seals/new")
async def new_seal(request: Request, member: Administrator) -> Response:
    form = await _form(request, {"code": 18})
    code = form.get("code", "")
    try:
        await run_in_threadpool(
            admin.renew_seal, _services(request), _acting(request, member), code
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _department_page(
            request, member, code, status_code=problem["status"], problem=problem
        )
    return _back("/admin/department", code=code, done="seal-new")


@router.get("/admin/seals/revoke")
def confirm_seal_revocation(request: Request, member: Administrator) -> Response:
    code, serial = _query(request, "code", 18), _query(request, "serial", 64)
    department = admin.department(_services(request), _acting(request, member), code)
    if not any(s.serial_hex == serial.lower() and s.revoked_at is None for s in department.seals):
        raise NotFoundError(f"department {code} has no unrevoked seal with serial {serial}")
    return render(
        request,
        "admin/confirm.html",
        kind="seal",
        action="/admin/seals/revoke",
        hidden={"code": department.code, "serial": serial.lower()},
        department=department,
        serial=serial.lower(),
        reasons=[(r, SEAL_REASON_NAMES.get(r, (r, r))) for r in SEAL_REASONS],
        back=f"/admin/department?{urlencode({'code': department.code})}",
        problem=None,
        **_common(request, member, "departments"),
    )


@router.post("/admin/seals/revoke")
async def revoke_seal(request: Request, member: Administrator) -> Response:
    form = await _form(
        request, {"code": 18, "serial": 64, "reason": 40, "invalid_since": 32, "confirm": 3}
    )
    code = form.get("code", "")
    if form.get("confirm") != "yes":
        raise InvalidInputError("confirm the revocation on its confirmation page")
    try:
        since = _local_moment(request, form.get("invalid_since", ""))
        await run_in_threadpool(
            admin.withdraw_seal,
            _services(request),
            _acting(request, member),
            code,
            form.get("serial", ""),
            form.get("reason", ""),
            since,
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _department_page(
            request, member, code, status_code=problem["status"], problem=problem
        )
    return _back("/admin/department", code=code, done="seal-revoked")


# ---- staff users ---------------------------------------------------------------------


def _staff_page(
    request: Request,
    member: StaffMember,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    services, acting = _services(request), _acting(request, member)
    is_operator = acting.is_operator
    return render(
        request,
        "admin/staff.html",
        status_code=status_code,
        users=admin.staff(services, acting),
        departments=admin.departments(services, acting),
        roles=[r.value for r in (StaffRole if is_operator else admin.DEPARTMENT_STAFF_ROLES)],
        catalogue=[p.name for p in admin.purposes(services, acting)][:_PURPOSE_BOXES]
        if is_operator
        else [],
        problem=problem,
        values=values or {},
        **_common(request, member, "staff"),
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
    form = await _form(request, _STAFF_FIELDS, _PURPOSE_BOX)
    try:
        await run_in_threadpool(
            lambda: admin.add_staff(
                _services(request),
                _acting(request, member),
                form.get("subject", ""),
                form.get("name", ""),
                form.get("role", ""),
                department_code=form.get("department") or None,
                hall=form.get("hall") or None,
                window=form.get("window") or None,
                purposes=_purposes_of(form),
            )
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _staff_page(
            request, member, status_code=problem["status"], problem=problem, values=form
        )
    return _back("/admin/staff", done="user")


@router.get("/admin/staff/disable")
def confirm_disable(request: Request, member: Administrator) -> Response:
    subject = _query(request, "subject", 180)
    users = {u.subject: u for u in admin.staff(_services(request), _acting(request, member))}
    if subject not in users:
        raise NotFoundError(f"no member of staff {subject!r} that you keep")
    return render(
        request,
        "admin/confirm.html",
        kind="user",
        action="/admin/staff/disable",
        hidden={"subject": subject},
        user=users[subject],
        back="/admin/staff",
        problem=None,
        **_common(request, member, "staff"),
    )


@router.post("/admin/staff/disable")
async def disable_staff(request: Request, member: Administrator) -> Response:
    form = await _form(request, {"subject": 180, "confirm": 3})
    if form.get("confirm") != "yes":
        raise InvalidInputError("confirm on the confirmation page")
    try:
        await run_in_threadpool(
            admin.disable_staff,
            _services(request),
            _acting(request, member),
            form.get("subject", ""),
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _staff_page(request, member, status_code=problem["status"], problem=problem)
    return _back("/admin/staff", done="user-disabled")


# ---- API clients ---------------------------------------------------------------------


def _clients_page(
    request: Request,
    member: StaffMember,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    services, acting = _services(request), _acting(request, member)
    return render(
        request,
        "admin/clients.html",
        status_code=status_code,
        clients=admin.clients(services, acting),
        departments=admin.departments(services, acting),
        catalogue=[p.name for p in admin.purposes(services, acting)][:_PURPOSE_BOXES],
        roles=[ClientRole.VERIFIER.value, ClientRole.ISSUER.value],
        problem=problem,
        values=values or {},
        max_rate=MAX_RATE_LIMIT,
        **_common(request, member, "clients"),
    )


@router.get("/admin/clients")
def clients_page(request: Request, member: Operator) -> Response:
    return _clients_page(request, member)


_CLIENT_FIELDS = {"name": 200, "role": 32, "department": 18, "purposes": 2000, "rate_limit": 8}


def _key_page(request: Request, member: StaffMember, info: Any, key: Any, made: bool) -> Response:
    # The key is in this answer only: nothing may keep a copy of it.
    return render(
        request,
        "admin/key.html",
        status_code=201 if made else 200,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        info=info,
        key=key,
        made=made,
        **_common(request, member, "clients"),
    )


@router.post("/admin/clients")
async def add_client(request: Request, member: Operator) -> Response:
    form = await _form(request, _CLIENT_FIELDS, _PURPOSE_BOX)
    try:
        rate = form.get("rate_limit", "").strip()
        if rate and not rate.isdigit():
            raise InvalidInputError("a rate limit is a whole number of requests a minute")
        info, key = await run_in_threadpool(
            lambda: admin.make_client(
                _services(request),
                _acting(request, member),
                form.get("name", ""),
                form.get("role", ""),
                department_code=form.get("department") or None,
                purposes=_purposes_of(form),
                rate_limit_per_minute=int(rate) if rate else None,
            )
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _clients_page(
            request, member, status_code=problem["status"], problem=problem, values=form
        )
    return _key_page(request, member, info, key, made=True)


def _confirm_client(request: Request, member: StaffMember, kind: str) -> Response:
    name = _query(request, "name", 200)
    clients = {
        c.client.name: c for c in admin.clients(_services(request), _acting(request, member))
    }
    if name not in clients:
        raise NotFoundError(f"no API client named {name!r}")
    return render(
        request,
        "admin/confirm.html",
        kind=kind,
        action=f"/admin/clients/{kind}",
        hidden={"name": name},
        client=clients[name],
        grace_hours=GRACE_HOURS,
        back="/admin/clients",
        problem=None,
        **_common(request, member, "clients"),
    )


@router.get("/admin/clients/revoke")
def confirm_client_revocation(request: Request, member: Operator) -> Response:
    return _confirm_client(request, member, "revoke")


@router.get("/admin/clients/rotate")
def confirm_rotation(request: Request, member: Operator) -> Response:
    return _confirm_client(request, member, "rotate")


@router.post("/admin/clients/revoke")
async def revoke_client(request: Request, member: Operator) -> Response:
    form = await _form(request, {"name": 200, "confirm": 3})
    if form.get("confirm") != "yes":
        raise InvalidInputError("confirm on the confirmation page")
    try:
        await run_in_threadpool(
            admin.revoke_api_client,
            _services(request),
            _acting(request, member),
            form.get("name", ""),
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _clients_page(request, member, status_code=problem["status"], problem=problem)
    return _back("/admin/clients", done="client-revoked")


@router.post("/admin/clients/rotate")
async def rotate_key(request: Request, member: Operator) -> Response:
    form = await _form(request, {"name": 200, "grace": 4, "confirm": 3})
    if form.get("confirm") != "yes":
        raise InvalidInputError("confirm on the confirmation page")
    grace = form.get("grace", "0")
    if not grace.isdigit() or int(grace) not in GRACE_HOURS:
        raise InvalidInputError("choose one of the grace periods offered")
    try:
        info, key = await run_in_threadpool(
            admin.rotate_api_key,
            _services(request),
            _acting(request, member),
            form.get("name", ""),
            timedelta(hours=int(grace)),
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _clients_page(request, member, status_code=problem["status"], problem=problem)
    return _key_page(request, member, info, key, made=False)


# ---- the purpose catalogue -------------------------------------------------------------


def _purposes_page(
    request: Request,
    member: StaffMember,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    types = packaged_types()
    return render(
        request,
        "admin/purposes.html",
        status_code=status_code,
        purposes=admin.purposes(_services(request), _acting(request, member)),
        types=sorted(types.values(), key=lambda t: t.key),
        type_names={key: (t.name_zh, t.name_en) for key, t in types.items()},
        problem=problem,
        values=values or {},
        **_common(request, member, "purposes"),
    )


@router.get("/admin/purposes")
def purposes_page(request: Request, member: Operator) -> Response:
    return _purposes_page(request, member)


@router.post("/admin/purposes")
async def add_purpose(request: Request, member: Operator) -> Response:
    form = await _form(request, {"name": 200}, _TYPE_BOX)
    type_keys = [name.removeprefix("type:") for name in form if _TYPE_BOX.fullmatch(name)]
    try:
        await run_in_threadpool(
            admin.add_catalogue_purpose,
            _services(request),
            _acting(request, member),
            form.get("name", ""),
            type_keys,
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _purposes_page(
            request, member, status_code=problem["status"], problem=problem, values=form
        )
    return _back("/admin/purposes", done="purpose")


@router.get("/admin/purposes/remove")
def confirm_purpose_removal(request: Request, member: Operator) -> Response:
    name = _query(request, "name", 200)
    known = {p.name: p for p in admin.purposes(_services(request), _acting(request, member))}
    if name not in known:
        raise NotFoundError(f"no purpose {name!r} in the catalogue")
    return render(
        request,
        "admin/confirm.html",
        kind="purpose",
        action="/admin/purposes/remove",
        hidden={"name": name},
        purpose=known[name],
        back="/admin/purposes",
        problem=None,
        **_common(request, member, "purposes"),
    )


@router.post("/admin/purposes/remove")
async def remove_purpose(request: Request, member: Operator) -> Response:
    form = await _form(request, {"name": 200, "confirm": 3})
    if form.get("confirm") != "yes":
        raise InvalidInputError("confirm on the confirmation page")
    try:
        await run_in_threadpool(
            admin.remove_catalogue_purpose,
            _services(request),
            _acting(request, member),
            form.get("name", ""),
        )
    except TrustServiceError as error:
        problem = _problem(error)
        return _purposes_page(request, member, status_code=problem["status"], problem=problem)
    return _back("/admin/purposes", done="purpose-removed")


# ---- the operator record -------------------------------------------------------------


@router.get("/admin/record")
def record_page(request: Request, member: RecordReader) -> Response:
    raw_before = request.query_params.get("before", "")[:12]
    raw_action = request.query_params.get("action", "")[:40]
    if raw_before and not raw_before.isdigit():
        raise InvalidInputError("before is an entry number")
    try:
        action = OperatorAction(raw_action) if raw_action else None
    except ValueError:
        raise InvalidInputError(f"unknown action {raw_action!r}") from None
    before = int(raw_before) if raw_before else None
    entries = admin.record(
        _services(request), _acting(request, member), before=before, action=action
    )
    more = None
    if len(entries) == admin.RECORD_PAGE:
        more = urlencode({"before": entries[-1].id, **({"action": action.value} if action else {})})
    return render(
        request,
        "admin/record.html",
        entries=entries,
        actions=[a.value for a in OperatorAction],
        action_names=ACTION_NAMES,
        chosen=action.value if action else "",
        more=more,
        **_common(request, member, "record"),
    )


# ---- the access record ---------------------------------------------------------------

#: Each action of the access record in words (zh, en).
ACCESS_ACTION_NAMES: dict[str, tuple[str, str]] = {
    "lookup": ("查询", "Lookup"),
    "holdings": ("查询持证情况", "Holdings"),
    "verify_pdf": ("核验 PDF", "PDF verification"),
    "verify_token": ("核验二维码", "QR verification"),
    "presentation_check": ("核验亮证码", "Presentation check"),
}


@router.get("/admin/access")
def access_page(request: Request, member: RecordReader) -> Response:
    client = request.query_params.get("client", "").strip()[:200]
    raw_page = request.query_params.get("page", "")[:6]
    if raw_page and not raw_page.isdigit():
        raise InvalidInputError("page is a number")
    page = int(raw_page) if raw_page else 0
    entries = admin.access_record(
        _services(request), _acting(request, member), client=client or None, page=page
    )
    query = {"client": client} if client else {}
    return render(
        request,
        "admin/access.html",
        entries=entries,
        client=client,
        action_names=ACCESS_ACTION_NAMES,
        verdict_names={v.value: text for v, text in VERDICT_TEXT.items()},
        older=urlencode({**query, "page": page + 1}) if len(entries) == admin.RECORD_PAGE else None,
        newer=urlencode({**query, "page": page - 1}) if page > 0 else None,
        **_common(request, member, "access"),
    )
