"""The departments' pages: the list, one department with its seals (issue, import from a
PKCS#12, revoke), its kind, and the license types it may issue.

Importing a seal is the department's own business, as renewing it is (its
administrator may do it); its kind and its entitlements decide what it may
issue, so only the operator administrator changes them. Every action calls
``staff.administration``, which calls what the command line calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.pages.admin.common import (
    Administrator,
    Operator,
    Problem,
    act,
    acting,
    back,
    common,
    confirmation,
    confirmed_form,
    form_of,
    local_moment,
    problem_of,
    query_of,
    services_of,
    status_of,
)
from trustsvc.api.pages.multipart import bounded_multipart, file_field, text_field
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.departments.kinds import DepartmentKind
from trustsvc.departments.seals import SealImportError, SealImportRefusal
from trustsvc.errors import InvalidInputError, NotFoundError, TrustServiceError
from trustsvc.staff import administration as admin
from trustsvc.staff.administration import SEAL_REASONS
from trustsvc.staff.users import StaffMember

router = APIRouter(include_in_schema=False, route_class=PageRoute)

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
#: A PKCS#12 file is a key and a few certificates: a few kilobytes.
MAX_PKCS12_BYTES = 64 * 1024
_IMPORT_BODY_LIMIT = MAX_PKCS12_BYTES + 8 * 1024
_PASSWORD_MAX = 256
#: Why an import was refused, in words (zh, en).
IMPORT_REFUSALS: dict[SealImportRefusal, tuple[str, str]] = {
    SealImportRefusal.UNREADABLE: (
        "无法读取该文件：密码错误，或不是 PKCS#12（.p12 / .pfx）文件。",
        "The file could not be read: a wrong password, or not a PKCS#12 (.p12 / .pfx) file.",
    ),
    SealImportRefusal.INCOMPLETE: (
        "文件中须有一个私钥及其证书。",
        "The file must hold one private key and its certificate.",
    ),
    SealImportRefusal.KEY_MISMATCH: (
        "文件中的私钥与证书不匹配。",
        "The file's private key does not belong to its certificate.",
    ),
    SealImportRefusal.NOT_VALID_NOW: (
        "该印章证书已过期或尚未生效。",
        "The seal certificate has expired or is not valid yet.",
    ),
    SealImportRefusal.CA_CERTIFICATE: (
        "这是 CA 证书，不能用作印章证书。",
        "This is a CA certificate; it cannot be a seal certificate.",
    ),
    SealImportRefusal.NO_KEY_USAGE: (
        "该证书没有密钥用法（keyUsage）扩展，不能用于盖章。",
        "The certificate has no keyUsage extension; it cannot seal.",
    ),
    SealImportRefusal.WRONG_KEY_USAGE: (
        "该证书的密钥用法不允许数字签名，不能用于盖章。",
        "The certificate's keyUsage allows no signatures; it cannot seal.",
    ),
    SealImportRefusal.OTHER_DEPARTMENT: (
        "该证书载明的统一社会信用代码不是本部门的。",
        "The certificate names another department's credit code.",
    ),
    SealImportRefusal.REGISTERED: (
        "该印章证书已登记过。",
        "This seal certificate is registered already.",
    ),
}
_TOO_LARGE = ("文件过大：PKCS#12 文件不超过 64 KB。", "The file is too large: at most 64 KB.")
_NO_FILE = ("请选择 .p12 或 .pfx 文件。", "Choose a .p12 or .pfx file.")
_PASSWORD_TOO_LONG = ("密码过长。", "The password is too long.")


def _import_words(error: TrustServiceError) -> tuple[str, str] | None:
    return IMPORT_REFUSALS.get(error.refusal) if isinstance(error, SealImportError) else None


# ---- the list ------------------------------------------------------------------------


def _departments_page(
    request: Request,
    member: StaffMember,
    problem: Problem | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    now = services_of(request).clock.now()
    departments = admin.departments(services_of(request), acting(request, member))
    return render(
        request,
        "admin/departments.html",
        status_code=status_of(problem),
        departments=departments,
        usable={
            d.code: sum(1 for s in d.seals if s.revoked_at is None and s.not_after > now)
            for d in departments
        },
        kinds=list(DepartmentKind),
        problem=problem,
        values=values or {},
        **common(request, member, "departments"),
    )


@router.get("/admin")
def departments_page(request: Request, member: Administrator) -> Response:
    return _departments_page(request, member)


_DEPARTMENT_FIELDS = {"name": 200, "code": 18, "region": 6, "kind": 40}


@router.post("/admin/departments")
async def add_department(request: Request, member: Operator) -> Response:
    form = await form_of(request, _DEPARTMENT_FIELDS)
    return await act(
        lambda: admin.register_department(
            services_of(request),
            acting(request, member),
            form.get("name", ""),
            form.get("code", ""),
            form.get("region") or None,
            form.get("kind") or None,
        ),
        lambda problem: _departments_page(request, member, problem, form),
        lambda info: back("/admin/department", code=info.code, done="department"),
    )


# ---- one department ------------------------------------------------------------------


def _department_page(
    request: Request, member: StaffMember, code: str, problem: Problem | None = None
) -> Response:
    services, who = services_of(request), acting(request, member)
    return render(
        request,
        "admin/department.html",
        status_code=status_of(problem),
        department=admin.department(services, who, code),
        standings=admin.type_standings(services, who, code),
        kinds=list(DepartmentKind),
        kind_names={k.value: (k.label_zh, k.value) for k in DepartmentKind},
        now=services.clock.now(),
        problem=problem,
        max_pkcs12_kb=MAX_PKCS12_BYTES // 1024,
        **common(request, member, "departments"),
    )


def _to_department(code: str, done: str) -> Any:
    return lambda _result: back("/admin/department", code=code, done=done)


@router.get("/admin/department")
def department_page(request: Request, member: Administrator) -> Response:
    return _department_page(request, member, query_of(request, "code", 18))


@router.post("/admin/seals/new")
async def new_seal(request: Request, member: Administrator) -> Response:
    form = await form_of(request, {"code": 18})
    code = form.get("code", "")
    return await act(
        lambda: admin.renew_seal(services_of(request), acting(request, member), code),
        lambda problem: _department_page(request, member, code, problem),
        _to_department(code, "seal-new"),
    )


@router.post("/admin/seals/import")
async def import_seal(request: Request, member: Administrator) -> Response:
    form = await bounded_multipart(
        request, _IMPORT_BODY_LIMIT, max_fields=4, max_part_size=MAX_PKCS12_BYTES + 1024
    )
    check_csrf(request, form.get(CSRF_FIELD))
    code = text_field(form, "code", 18)
    password = text_field(form, "password", _PASSWORD_MAX * 4)

    def refused(said: tuple[str, str]) -> Response:
        error = InvalidInputError(said[1])
        return _department_page(request, member, code, problem_of(error, said))

    if len(password) > _PASSWORD_MAX:
        return refused(_PASSWORD_TOO_LONG)
    try:
        _name, data = await file_field(form, "file", MAX_PKCS12_BYTES)
    except InvalidInputError:
        return refused(_TOO_LARGE)
    if not data:
        return refused(_NO_FILE)
    return await act(
        lambda: admin.take_seal(
            services_of(request),
            acting(request, member),
            code,
            data,
            password.encode() if password else None,
        ),
        lambda problem: _department_page(request, member, code, problem),
        _to_department(code, "seal-imported"),
        _import_words,
    )


@router.get("/admin/seals/revoke")
def confirm_seal_revocation(request: Request, member: Administrator) -> Response:
    code, serial = query_of(request, "code", 18), query_of(request, "serial", 64)
    department = admin.department(services_of(request), acting(request, member), code)
    if not any(s.serial_hex == serial.lower() and s.revoked_at is None for s in department.seals):
        raise NotFoundError(f"department {code} has no unrevoked seal with serial {serial}")
    return confirmation(
        request,
        member,
        "departments",
        kind="seal",
        action="/admin/seals/revoke",
        hidden={"code": department.code, "serial": serial.lower()},
        back_to=f"/admin/department?{urlencode({'code': department.code})}",
        department=department,
        serial=serial.lower(),
        reasons=[(r, SEAL_REASON_NAMES.get(r, (r, r))) for r in SEAL_REASONS],
    )


@router.post("/admin/seals/revoke")
async def revoke_seal(request: Request, member: Administrator) -> Response:
    form = await confirmed_form(
        request, {"code": 18, "serial": 64, "reason": 40, "invalid_since": 32}
    )
    code = form.get("code", "")
    return await act(
        lambda: admin.withdraw_seal(
            services_of(request),
            acting(request, member),
            code,
            form.get("serial", ""),
            form.get("reason", ""),
            local_moment(request, form.get("invalid_since", "")),
        ),
        lambda problem: _department_page(request, member, code, problem),
        _to_department(code, "seal-revoked"),
    )


@router.post("/admin/departments/kind")
async def set_kind(request: Request, member: Operator) -> Response:
    form = await form_of(request, {"code": 18, "kind": 40})
    code = form.get("code", "")
    return await act(
        lambda: admin.change_kind(
            services_of(request), acting(request, member), code, form.get("kind") or None
        ),
        lambda problem: _department_page(request, member, code, problem),
        _to_department(code, "kind"),
    )


# ---- entitlements to license types -----------------------------------------------------

_DECISIONS = {"allow": True, "deny": False}


@router.get("/admin/types")
def confirm_type_decision(request: Request, member: Operator) -> Response:
    code, type_key = query_of(request, "code", 18), query_of(request, "type", 64)
    decision = query_of(request, "decision", 8)
    if decision not in _DECISIONS:
        raise InvalidInputError("decision is allow or deny")
    services, who = services_of(request), acting(request, member)
    department = admin.department(services, who, code)
    standing = {s.license_type.key: s for s in admin.type_standings(services, who, code)}
    if type_key not in standing:
        raise NotFoundError(f"no license type {type_key!r}")
    return confirmation(
        request,
        member,
        "departments",
        kind=f"type-{decision}",
        action="/admin/types",
        hidden={"code": department.code, "type": type_key, "decision": decision},
        back_to=f"/admin/department?{urlencode({'code': department.code})}",
        department=department,
        standing=standing[type_key],
    )


@router.post("/admin/types")
async def decide_type(request: Request, member: Operator) -> Response:
    form = await confirmed_form(request, {"code": 18, "type": 64, "decision": 8, "reason": 500})
    code, decision = form.get("code", ""), form.get("decision", "")
    if decision not in _DECISIONS:
        raise InvalidInputError("decision is allow or deny")
    return await act(
        lambda: admin.decide_type(
            services_of(request),
            acting(request, member),
            code,
            form.get("type", ""),
            allowed=_DECISIONS[decision],
            reason=form.get("reason") or None,
        ),
        lambda problem: _department_page(request, member, code, problem),
        _to_department(code, "type-allowed" if _DECISIONS[decision] else "type-denied"),
    )
