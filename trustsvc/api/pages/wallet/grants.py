"""Grants (授权) from the wallet: the holder's grants and those made to them, granting the
use of one license to an agent, a verifier or a department for a purpose and a period,
and withdrawing a grant."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import StateDep, read_bounded_body
from trustsvc.api.errors import http_status
from trustsvc.api.inputs import parse_form
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.api.pages.wallet.common import (
    Trouble,
    WalletHolder,
    Words,
    card,
    departments_of,
    purposes_of,
    trouble_of,
)
from trustsvc.db.models import GranteeKind
from trustsvc.errors import ConflictError, InvalidInputError, NotFoundError
from trustsvc.holders.grants import (
    GRANT_ID_LENGTH,
    WITHDRAWABLE,
    GrantFieldError,
    GrantRequest,
    grant,
    grants_of,
    grants_to,
    withdraw,
)
from trustsvc.holders.portal import Holder, licenses_of, verifiers_to_name
from trustsvc.licenses.holders import HolderIdType
from trustsvc.staff.users import staff_client_names

router = APIRouter(include_in_schema=False, route_class=PageRoute)

_FORM_LIMIT = 8192
_ID_TYPES = (
    (HolderIdType.CITIZEN_ID.value, "居民身份证", "Citizen ID"),
    (HolderIdType.PASSPORT.value, "护照", "Passport"),
    (HolderIdType.HONG_KONG_MACAO_PERMIT.value, "港澳居民来往内地通行证", "HK/Macao permit"),
)


#: What to do about each field of the grant form, said beside it.
_FIELD_WORDS = {
    "agent_id_number": (
        "证件号码有误（位数或校验位不对），或是您本人的号码",
        "the ID number is wrong (length or check character), or it is your own",
    ),
    "agent_name": ("请填写代办人的姓名", "give the agent's name"),
    "client": ("请选择可以申明此用途的核验单位", "choose a verifier that may state this purpose"),
    "department_code": (
        "请选择有核验单位可以申明此用途的部门",
        "choose a department with a verifier that may state this purpose",
    ),
    "purpose": ("此用途不能查看这类证照", "this purpose may not see licenses of this type"),
    "valid_from": ("开始日期须为一年之内的日期", "the start is a day within a year"),
    "valid_until": (
        "截止日期须在今天之后、开始之后，且期限最长一年",
        "the end is after today and the start, at most a year on",
    ),
    "grantee_kind": ("请选择授权给谁", "choose whom to grant"),
}


async def _grants_page(
    request: Request,
    holder: Holder,
    state: StateDep,
    *,
    chosen: dict[str, str] | None = None,
    trouble: Trouble | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    licenses, services = state.licenses, state.services
    views = await run_in_threadpool(licenses_of, licenses, holder)
    grants = await run_in_threadpool(grants_of, services.database, services.clock, holder)
    to_me = await run_in_threadpool(grants_to, services.database, services.clock, holder)
    verifiers = await run_in_threadpool(verifiers_to_name, services)
    today = licenses.today()
    names = {v.identifier: v for v in views}
    who = await run_in_threadpool(
        staff_client_names,
        state.services,
        [v.name for v in verifiers] + [g.grantee for g in grants],
    )
    return render(
        request,
        "wallet/grants.html",
        status_code=status_code,
        holder=holder,
        cards=[card(v) for v in views if v.status == "valid"],
        grants=grants,
        to_me=to_me,
        type_names={key: t.name_zh for key, t in licenses.types.items()},
        names=names,
        withdrawable={g.id for g in grants if g.status in WITHDRAWABLE},
        verifiers=verifiers,
        purposes=purposes_of(verifiers),
        departments=departments_of(verifiers),
        who=who,
        id_types=_ID_TYPES,
        chosen={
            "identifier": request.query_params.get("identifier", "")[:128],
            "grantee_kind": "agent",
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=7)).isoformat(),
            **(chosen or {}),
        },
        trouble=trouble,
        field_words=_FIELD_WORDS,
        done=done,
        words=Words,
    )


@router.get("/me/grants")
async def my_grants_page(request: Request, holder: WalletHolder, state: StateDep) -> Response:
    done = request.query_params.get("done")
    return await _grants_page(request, holder, state, done=done if done in _DONE else None)


_DONE = ("granted", "withdrawn")
_GRANT_FIELDS = {
    "identifier": 128,
    "grantee_kind": 16,
    "agent_id_type": 3,
    "agent_id_number": 40,
    "agent_name": 100,
    "client": 200,
    "department_code": 18,
    "purpose": 200,
    "valid_from": 10,
    "valid_until": 10,
    CSRF_FIELD: 100,
}


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise GrantFieldError(what, f"{what} is a date such as 2026-12-31") from None


def _grant_request(form: dict[str, str], state: StateDep) -> GrantRequest:
    """The form as a grant: days in the service's zone, from the start of the first day to
    the last second of the last (a grant "until 12-31" admits lookups all that day, and
    reads "12-31 23:59")."""
    zone = state.services.settings.zone
    try:
        kind = GranteeKind(form.get("grantee_kind", ""))
    except ValueError:
        raise GrantFieldError("grantee_kind", "choose whom the grant is to") from None
    until = _day(form.get("valid_until", ""), "valid_until")
    start = form.get("valid_from", "").strip()
    return GrantRequest(
        identifier=form.get("identifier", ""),
        kind=kind,
        purpose=form.get("purpose", ""),
        valid_from=datetime.combine(_day(start, "valid_from"), time(), zone) if start else None,
        valid_until=datetime.combine(until + timedelta(days=1), time(), zone)
        - timedelta(seconds=1),
        agent_id_type=form.get("agent_id_type") or None,
        agent_id_number=form.get("agent_id_number") or None,
        agent_name=form.get("agent_name") or None,
        client_name=form.get("client") or None,
        department_code=form.get("department_code") or None,
    )


@router.post("/me/grants")
async def grant_from_page(request: Request, holder: WalletHolder, state: StateDep) -> Response:
    form = parse_form(
        await read_bounded_body(request, _FORM_LIMIT), _GRANT_FIELDS, max_lengths=_GRANT_FIELDS
    )
    check_csrf(request, form.get(CSRF_FIELD, ""))
    try:
        made = await run_in_threadpool(
            lambda: grant(
                state.services.database,
                state.services.clock,
                state.services.settings.zone,
                state.data_key,
                holder,
                _grant_request(form, state),
            )
        )
    except (InvalidInputError, ConflictError, NotFoundError) as error:
        kept: dict[str, Any] = {k: v for k, v in form.items() if k != CSRF_FIELD}
        # The ID number is not written back into the page: the holder types it again.
        kept.pop("agent_id_number", None)
        trouble = trouble_of("未能授权", "Nothing was granted", error)
        if isinstance(error, GrantFieldError) and error.field in _FIELD_WORDS:
            zh, en = _FIELD_WORDS[error.field]
            trouble = Trouble(
                f"未能授权：{zh}。", f"Nothing was granted: {en}.", error.message, error.field
            )
        return await _grants_page(
            request, holder, state, chosen=kept, trouble=trouble, status_code=http_status(error)
        )
    return RedirectResponse(f"/me/grants?done=granted#grant-{made.id}", status_code=303)


@router.post("/me/grants/{grant_id}/withdraw")
async def withdraw_from_page(
    request: Request,
    grant_id: Annotated[str, Path(max_length=GRANT_ID_LENGTH)],
    holder: WalletHolder,
    state: StateDep,
) -> Response:
    form = parse_form(await read_bounded_body(request, 1024), (CSRF_FIELD,))
    check_csrf(request, form.get(CSRF_FIELD, ""))
    try:
        await run_in_threadpool(
            withdraw, state.services.database, state.services.clock, holder, grant_id
        )
    except (ConflictError, NotFoundError) as error:
        trouble = trouble_of("未能撤回", "Not withdrawn", error)
        return await _grants_page(
            request, holder, state, trouble=trouble, status_code=http_status(error)
        )
    return RedirectResponse(f"/me/grants?done=withdrawn#grant-{grant_id}", status_code=303)
