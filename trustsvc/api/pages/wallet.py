"""The citizen's wallet (/me): licenses as cards, 亮证 with a large QR code that renews
itself, the record of every use of the holder's data, and grants (授权).

Every action calls the same holder functions as the JSON API under
/api/v1/me (``trustsvc.holders``), so the page has no power the API does not.
Everything works without script: 亮证 is a form whose code is kept in the
session and shown after the redirect, until it expires; with script
(static/wallet.js) the code counts down and a new one is made through the
JSON API shortly before it expires, then kept here (``/me/shown``) so that a
reload shows the code on the screen. A visitor who is not signed in is sent
to the holder sign-in; a member of staff signed in as staff is refused: the
wallet is the holder's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

import zxingcpp
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import StateDep, read_bounded_body
from trustsvc.api.errors import http_status
from trustsvc.api.inputs import parse_form
from trustsvc.api.pages.access import STAFF_SESSION_KEY
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.api.routes.signin import current_holder
from trustsvc.audit.access_reading import AccessEntry, Section
from trustsvc.audit.access_record import AccessAction, Outcome
from trustsvc.db.models import GranteeKind
from trustsvc.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RoleRefusedError,
    SignInRequiredError,
    TrustServiceError,
)
from trustsvc.holders.grants import (
    GRANT_ID_LENGTH,
    WITHDRAWABLE,
    Grant,
    GrantFieldError,
    GrantRequest,
    grant,
    grants_of,
    grants_to,
    withdraw,
)
from trustsvc.holders.portal import (
    Holder,
    access_record,
    code_spent,
    licenses_of,
    present_own,
    verifiers_to_name,
)
from trustsvc.holders.presentation import MAX_LIFETIME, PresentationCode
from trustsvc.licenses.holders import HolderIdType
from trustsvc.licenses.requests import LicenseView
from trustsvc.sharing.clients import Client
from trustsvc.staff.users import staff_client_names
from trustsvc.tokens.decoding import MAX_TOKEN_LENGTH
from trustsvc.verification import reasons as R

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Cursor = Annotated[str | None, Query(max_length=96)]
_FORM_LIMIT = 8192
#: The session key under which the page keeps the code it last showed, until it expires.
_SHOWN = "presentation"
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_SVG_SIZE = re.compile(r'<svg width="(\d+)" height="(\d+)"')


async def wallet_holder(request: Request) -> Holder:
    """The signed-in holder; a visitor is sent to sign in, staff are refused."""
    try:
        return await current_holder(request)
    except AuthenticationError:
        if isinstance(request.session.get(STAFF_SESSION_KEY), dict):
            raise RoleRefusedError(
                "这是持证人本人的页面，工作人员账号不能打开 (the wallet is the holder's own: "
                "staff accounts may not open it)"
            ) from None
        raise SignInRequiredError(
            "sign in as the holder first (/auth/sign-in)", "/auth/sign-in"
        ) from None


WalletHolder = Annotated[Holder, Depends(wallet_holder)]


# ---- what the pages show ----------------------------------------------------------------

#: The tone (badge colour) of each status.
_TONES = {"valid": "ok", "suspended": "warn", "expired": "grey"}
_ACTIONS = {
    AccessAction.LOOKUP: ("核查持证情况", "Checked a license"),
    AccessAction.HOLDINGS: ("查询名下证照", "Listed your licenses"),
    AccessAction.VERIFY_PDF: ("核验证照文件", "Verified a license file"),
    AccessAction.VERIFY_TOKEN: ("核验二维码", "Verified a QR code"),
    AccessAction.PRESENTATION_CHECK: ("亮证核验", "Checked a code you showed"),
    AccessAction.STATUS_CHECK: ("窗口核验证照状态", "Status checked at a window"),
    AccessAction.ANNOTATED_COPY: ("窗口留存加注件", "Annotated copy kept at a window"),
    AccessAction.VERIFICATION_REPORT: ("窗口出具核验报告", "Verification report made at a window"),
    AccessAction.LOG_PROOF: ("获取存证证明", "Fetched the log proof of a license"),
}
_OUTCOMES = {Outcome.ANSWERED: ("已答复", "answered"), Outcome.REFUSED: ("已拒绝", "refused")}
_REFUSALS = {
    "purpose-refused": ("用证事由不符", "purpose not allowed"),
    "grant-refused": ("不符合授权", "not what the grant allows"),
    "rate-limited": ("尝试过多", "too many attempts"),
    "invalid-input": ("请求有误", "invalid request"),
    "forbidden": ("无权查询", "not allowed"),
}
_GRANTEE_KINDS = {
    GranteeKind.AGENT: ("代办人", "Agent"),
    GranteeKind.CLIENT: ("核验单位", "Verifier"),
    GranteeKind.DEPARTMENT: ("部门", "Department"),
}
_GRANT_STATUS = {
    "scheduled": ("未开始", "Not yet begun", "warn"),
    "current": ("生效中", "In force", "ok"),
    "ended": ("已到期", "Ended", "grey"),
    "withdrawn": ("已撤回", "Withdrawn", "grey"),
}
_ID_TYPES = (
    (HolderIdType.CITIZEN_ID.value, "居民身份证", "Citizen ID"),
    (HolderIdType.PASSPORT.value, "护照", "Passport"),
    (HolderIdType.HONG_KONG_MACAO_PERMIT.value, "港澳居民来往内地通行证", "HK/Macao permit"),
)


@dataclass(frozen=True)
class Card:
    """One license as its card shows it."""

    view: LicenseView
    status_zh: str
    status_en: str
    tone: str

    @property
    def presentable(self) -> bool:
        return self.view.status == "valid"


def _card(view: LicenseView) -> Card:
    zh, en = R.status_words(view.status, view.revocation_kind)
    return Card(view, zh, en, _TONES.get(view.status, "bad"))


@dataclass(frozen=True)
class Shown:
    """The presentation code the page shows, with the choices it was made with."""

    link: str
    token: str
    expires_at: datetime
    identifier: str
    purpose: str
    verifier: str
    single_use: bool


def _keep(request: Request, code: PresentationCode) -> None:
    request.session[_SHOWN] = {
        "link": code.link,
        "expires_at": code.expires_at.isoformat(),
        "identifier": code.identifier,
        "purpose": code.purpose or "",
        "verifier": code.intended_verifier or "",
        "single_use": code.single_use,
    }


def _shown(request: Request, now: datetime) -> Shown | None:
    """The code kept for the page while it is valid; an expired or damaged one is forgotten."""
    kept = request.session.get(_SHOWN)
    if kept is None:
        return None
    try:
        link = str(kept["link"])
        shown = Shown(
            link=link,
            token=link.rsplit("/v/", 1)[1],
            expires_at=datetime.fromisoformat(kept["expires_at"]),
            identifier=str(kept.get("identifier", "")),
            purpose=str(kept.get("purpose", "")),
            verifier=str(kept.get("verifier", "")),
            single_use=bool(kept.get("single_use", True)),
        )
    except (TypeError, KeyError, ValueError, IndexError):
        request.session.pop(_SHOWN, None)
        return None
    if shown.expires_at <= now:
        request.session.pop(_SHOWN, None)
        return None
    return shown


def qr_svg(link: str) -> str:
    """The link as a QR code, inline SVG that scales to its box (its own white margin is
    the quiet zone): zint draws it one unit a module, with a size but no viewBox."""
    code = zxingcpp.create_barcode(link, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    svg: str = code.to_svg()
    svg = svg[svg.index("<svg") :]
    size = _SVG_SIZE.search(svg)
    if size is None:
        raise ValueError("the QR code's SVG has no size")  # zint always gives one
    width, height = size.groups()
    # Drawn as one image, named for screen readers; crisp at any size.
    opening = (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="亮证二维码 QR code" '
        'shape-rendering="crispEdges"'
    )
    return opening + svg[size.end() :].replace(' id="barcode"', "", 1)


def _purposes(verifiers: list[Client]) -> list[str]:
    """Every purpose some verifier may state: what a holder may choose for a code or grant."""
    return sorted({p for v in verifiers for p in v.purposes})


def _departments(verifiers: list[Client]) -> list[tuple[str, str]]:
    """The departments that have a verifier: those a grant to a department could serve."""
    return sorted(
        {
            (v.department_code, v.department_name)
            for v in verifiers
            if v.department_code and v.department_name
        },
        key=lambda d: d[1],
    )


@dataclass(frozen=True)
class Trouble:
    """Why a form of the page was refused: in Chinese first, and the service's own words."""

    zh: str
    en: str
    detail: str
    #: The form field it is about, when one is (shown beside it as well).
    field: str | None = None


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


def _trouble(what_zh: str, what_en: str, error: TrustServiceError) -> Trouble:
    if isinstance(error, InvalidInputError):
        zh, en = "填写的内容有误，请修改后重新提交", "something in the form is not right"
    elif isinstance(error, ConflictError):
        zh, en = (
            "这张证照现在不能这样使用（可能已暂停、注销或过期）",
            "the license cannot be used so now",
        )
    elif isinstance(error, NotFoundError):
        zh, en = "找不到这一项（可能已被删除，或不属于您）", "not found, or not yours"
    else:
        zh, en = "无法完成", "this cannot be done"
    return Trouble(f"{what_zh}：{zh}。", f"{what_en}: {en}.", error.message)


# ---- the wallet page ---------------------------------------------------------------------


async def _wallet(
    request: Request,
    holder: Holder,
    state: StateDep,
    uses: str | None,
    refused: str | None,
    *,
    trouble: Trouble | None = None,
    status_code: int = 200,
) -> Response:
    services = state.services
    views = await run_in_threadpool(licenses_of, state.licenses, holder)
    used = await run_in_threadpool(access_record, services, holder, Section.USES, uses)
    attempts = await run_in_threadpool(access_record, services, holder, Section.REFUSED, refused)
    verifiers = await run_in_threadpool(verifiers_to_name, services)
    now = services.clock.now()
    shown = _shown(request, now)
    spent = shown is not None and await run_in_threadpool(
        code_spent, services.database, holder, shown.token
    )
    cards = [_card(v) for v in views]
    shown_card = next((c for c in cards if shown and c.view.identifier == shown.identifier), None)
    who = await run_in_threadpool(
        staff_client_names,
        state.services,
        [v.name for v in verifiers]
        + [x.actor for x in (*used.entries, *attempts.entries)]
        + ([shown.verifier] if shown else []),
    )
    return render(
        request,
        "wallet/me.html",
        status_code=status_code,
        holder=holder,
        cards=cards,
        shown=shown,
        shown_card=shown_card,
        spent=spent,
        shown_svg=qr_svg(shown.link) if shown and not spent else "",
        seconds_left=int((shown.expires_at - now).total_seconds()) if shown else 0,
        uses=used,
        refused=attempts,
        first=uses is None and refused is None,
        verifiers=verifiers,
        purposes=_purposes(verifiers),
        who=who,
        trouble=trouble,
        words=_Words,
    )


class _Words:
    """The record's and grants' codes in words, for the templates."""

    @staticmethod
    def action(entry: AccessEntry) -> tuple[str, str]:
        return _ACTIONS.get(AccessAction(entry.action), (entry.action, entry.action))

    @staticmethod
    def outcome(entry: AccessEntry) -> tuple[str, str]:
        return _OUTCOMES.get(Outcome(entry.outcome), (entry.outcome, entry.outcome))

    @staticmethod
    def refusal(entry: AccessEntry) -> tuple[str, str]:
        code = entry.refusal or ""
        return _REFUSALS.get(code, (code, code))

    @staticmethod
    def kind(grant: Grant) -> tuple[str, str]:
        return _GRANTEE_KINDS[grant.kind]

    @staticmethod
    def grant_status(grant: Grant) -> tuple[str, str, str]:
        return _GRANT_STATUS[grant.status.value]

    @staticmethod
    def status_of(status: str) -> tuple[str, str, str]:
        return _GRANT_STATUS[status]


@router.get("/me")
async def my_page(
    request: Request,
    holder: WalletHolder,
    state: StateDep,
    uses: Cursor = None,
    refused: Cursor = None,
) -> Response:
    return await _wallet(request, holder, state, uses, refused)


_PRESENT_FIELDS = {
    "identifier": 128,
    "verifier": 200,
    "purpose": 200,
    "reusable": 8,
    CSRF_FIELD: 100,
}


@router.post("/me/present")
async def present_from_page(request: Request, holder: WalletHolder, state: StateDep) -> Response:
    """亮证 from the form: a code with the chosen options, kept for /me to show (then 303)."""
    form = parse_form(
        await read_bounded_body(request, 4096), _PRESENT_FIELDS, max_lengths=_PRESENT_FIELDS
    )
    check_csrf(request, form.get(CSRF_FIELD, ""))
    # Single use unless the holder ticked "usable more than once".
    single_use = form.get("reusable") != "1"
    try:
        code = await run_in_threadpool(
            lambda: present_own(
                state.services,
                state.licenses,
                holder,
                form.get("identifier", ""),
                lifetime=None,
                single_use=single_use,
                purpose=form.get("purpose", "").strip() or None,
                intended_verifier=form.get("verifier", "").strip() or None,
            )
        )
    except (InvalidInputError, ConflictError, NotFoundError) as error:
        trouble = _trouble("未能生成亮证码", "No code was made", error)
        return await _wallet(
            request, holder, state, None, None, trouble=trouble, status_code=http_status(error)
        )
    # Post, redirect, get: reloading the page shows this code again instead of making another.
    _keep(request, code)
    return RedirectResponse("/me#presentation", status_code=303)


_SHOWN_FIELDS = {
    "token": MAX_TOKEN_LENGTH,
    "expires_at": 40,
    "identifier": 128,
    "verifier": 200,
    "purpose": 200,
    "single_use": 8,
    CSRF_FIELD: 100,
}


@router.post("/me/shown")
async def shown_by_script(request: Request, holder: WalletHolder, state: StateDep) -> Response:
    """The code the page's script just made through the JSON API: kept, and drawn as SVG.

    What is kept only decides what the holder's own page shows them, so the
    holder's word for it is enough; it is bounded all the same.
    """
    form = parse_form(
        await read_bounded_body(request, 8192), _SHOWN_FIELDS, max_lengths=_SHOWN_FIELDS
    )
    check_csrf(request, form.get(CSRF_FIELD, ""))
    token = form.get("token", "")
    now = state.services.clock.now()
    try:
        expires_at = datetime.fromisoformat(form.get("expires_at", ""))
    except ValueError:
        raise InvalidInputError("expires_at is not an ISO 8601 time") from None
    if not _TOKEN.fullmatch(token):
        raise InvalidInputError("the token is not a presentation token of this service")
    if expires_at.tzinfo is None or not now < expires_at <= now + MAX_LIFETIME:
        raise InvalidInputError("expires_at is not a time within a code's lifetime")
    link = f"{state.services.settings.public_base_url}/v/{token}"
    code = PresentationCode(
        token=token,
        link=link,
        identifier=form.get("identifier", ""),
        expires_at=expires_at,
        single_use=form.get("single_use", "1") != "0",
        purpose=form.get("purpose") or None,
        intended_verifier=form.get("verifier") or None,
    )
    _keep(request, code)
    return JSONResponse(
        {
            "svg": qr_svg(link),
            "link": link,
            "seconds_left": int((expires_at - now).total_seconds()),
            "expires_local": expires_at.astimezone(state.services.settings.zone).strftime(
                "%H:%M:%S"
            ),
        }
    )


@router.post("/me/forget")
async def forget_code(request: Request, holder: WalletHolder) -> Response:
    """Stop showing the code (it stays valid until it expires, unless it is used)."""
    form = parse_form(await read_bounded_body(request, 1024), (CSRF_FIELD,))
    check_csrf(request, form.get(CSRF_FIELD, ""))
    request.session.pop(_SHOWN, None)
    return RedirectResponse("/me", status_code=303)


# ---- grants (授权) ------------------------------------------------------------------------


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
        cards=[_card(v) for v in views if v.status == "valid"],
        grants=grants,
        to_me=to_me,
        type_names={key: t.name_zh for key, t in licenses.types.items()},
        names=names,
        withdrawable={g.id for g in grants if g.status in WITHDRAWABLE},
        verifiers=verifiers,
        purposes=_purposes(verifiers),
        departments=_departments(verifiers),
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
        words=_Words,
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
        trouble = _trouble("未能授权", "Nothing was granted", error)
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
        trouble = _trouble("未能撤回", "Not withdrawn", error)
        return await _grants_page(
            request, holder, state, trouble=trouble, status_code=http_status(error)
        )
    return RedirectResponse(f"/me/grants?done=withdrawn#grant-{grant_id}", status_code=303)


__all__ = ["qr_svg", "router", "wallet_holder"]
