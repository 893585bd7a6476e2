"""What every administration page shares: bounded forms, words for records, refusals
shown on the page again, and the one shape of an action (act, then go back with a flash).

A refusal (a domain error) is shown on the page the form came from, with the
status the API would answer; a destructive action goes through ``confirmation``
first, and its form is read with ``confirmed_form``, which refuses a post that
skipped that page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import read_bounded_body, state_of
from trustsvc.api.errors import http_status
from trustsvc.api.inputs import parse_form
from trustsvc.api.pages.access import staff_with
from trustsvc.api.pages.rendering import render
from trustsvc.audit.operators import OperatorAction
from trustsvc.db.models import ClientRole
from trustsvc.errors import InvalidInputError, TrustServiceError
from trustsvc.services import Services
from trustsvc.staff.administration import ADMINISTRATORS, RECORD_READERS, Acting
from trustsvc.staff.users import ROLE_WORDS, StaffMember, StaffRole

Administrator = Annotated[StaffMember, Depends(staff_with(*ADMINISTRATORS))]
Operator = Annotated[StaffMember, Depends(staff_with(StaffRole.OPERATOR_ADMIN))]
RecordReader = Annotated[StaffMember, Depends(staff_with(*RECORD_READERS))]

FORM_LIMIT = 16_384
#: Purposes offered as boxes to tick (the rest are typed, one a line): a form has 20 fields.
PURPOSE_BOXES = 10
PURPOSE_BOX = re.compile(r"purpose:\d{1,2}")
_SPLIT = re.compile(r"[\n\r,，、;；]+")

#: Each staff role in words (zh, en).
ROLE_NAMES: Mapping[StaffRole, tuple[str, str]] = ROLE_WORDS
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
#: What a finished action says on the page it leads back to (``?done=``): fixed texts only.
DONE: dict[str, tuple[str, str]] = {
    "department": ("已新增部门并签发其印章证书。", "The department was added, with its seal."),
    "seal-new": ("已签发新的印章证书。", "A new seal certificate was issued."),
    "seal-revoked": ("已吊销印章证书。", "The seal certificate was revoked."),
    "seal-imported": ("已导入印章证书。", "The seal certificate was imported."),
    "kind": ("已设置部门类别。", "The department's kind was set."),
    "type-allowed": ("已准予签发该类型。", "The department may now issue the type."),
    "type-denied": ("已禁止签发该类型。", "The department may no longer issue the type."),
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

Result = TypeVar("Result")
#: A refusal as a page shows it: status, headline (zh, en) and the detail.
Problem = dict[str, Any]


def acting(request: Request, member: StaffMember) -> Acting:
    return Acting(member, request.client.host if request.client else None)


def services_of(request: Request) -> Services:
    return state_of(request).services


def problem_of(error: TrustServiceError, said: tuple[str, str] | None = None) -> Problem:
    """A refusal for the page: its headline by status, and the domain's detail (or ``said``,
    the refusal in the page's own words, when the page knows it)."""
    status = http_status(error)
    zh, en = _PROBLEMS.get(status, ("无法完成", "This cannot be done"))
    detail = error.message if status < 500 else ""
    return {"status": status, "zh": zh, "en": en, "detail": detail, "said": said}


def status_of(problem: Problem | None) -> int:
    return int(problem["status"]) if problem else 200


async def form_of(
    request: Request, lengths: Mapping[str, int], *patterns: re.Pattern[str]
) -> dict[str, str]:
    """The posted form, bounded, of the named fields (and boxes matching ``patterns``)."""
    fields = parse_form(
        await read_bounded_body(request, FORM_LIMIT), max_lengths={**lengths, CSRF_FIELD: 100}
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


async def confirmed_form(request: Request, lengths: Mapping[str, int]) -> dict[str, str]:
    """The form of a destructive action, which only its confirmation page sends."""
    form = await form_of(request, {**lengths, "confirm": 3})
    if form.get("confirm") != "yes":
        raise InvalidInputError("confirm on the confirmation page")
    return form


def query_of(request: Request, name: str, limit: int) -> str:
    value = request.query_params.get(name, "").strip()
    if not value or len(value) > limit:
        raise InvalidInputError(f"the address needs {name} (at most {limit} characters)")
    return value


def back(path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


async def act(
    work: Callable[[], Result],
    refused: Callable[[Problem], Response],
    done: Callable[[Result], Response],
    words: Callable[[TrustServiceError], tuple[str, str] | None] = lambda _error: None,
) -> Response:
    """Do ``work`` (off the event loop); a refusal is ``refused``'s page, else ``done``'s.

    ``words`` may say a refusal in the page's own words (zh, en).
    """
    try:
        result = await run_in_threadpool(work)
    except TrustServiceError as error:
        return refused(problem_of(error, words(error)))
    return done(result)


def local_moment(request: Request, value: str) -> datetime | None:
    """A browser's ``datetime-local`` value (no zone: the service's), or None when empty."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError("the time is given as 2026-12-01T14:30") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=services_of(request).settings.zone)
    return moment


def purposes_of(form: Mapping[str, str]) -> list[str]:
    ticked = [value for name, value in form.items() if PURPOSE_BOX.fullmatch(name)]
    typed = [part.strip() for part in _SPLIT.split(form.get("purposes", "")) if part.strip()]
    return ticked + typed


def common(request: Request, member: StaffMember, section: str) -> dict[str, Any]:
    """What every administration template sees."""
    return {
        "member": member,
        "section": section,
        "done": DONE.get(request.query_params.get("done", "")[:40]),
        "role_names": ROLE_NAMES,
        "client_role_names": CLIENT_ROLE_NAMES,
        "is_operator": member.role is StaffRole.OPERATOR_ADMIN,
    }


def confirmation(
    request: Request,
    member: StaffMember,
    section: str,
    *,
    kind: str,
    action: str,
    hidden: Mapping[str, str],
    back_to: str,
    **facts: Any,
) -> Response:
    """The confirmation page of a destructive action: what it does, and a form that does it."""
    return render(
        request,
        "admin/confirm.html",
        kind=kind,
        action=action,
        hidden=hidden,
        back=back_to,
        problem=None,
        **facts,
        **common(request, member, section),
    )
