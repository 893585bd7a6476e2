"""The department console: an officer issues and manages the department's licenses.

An officer acts as their issuer client (``StaffMember.client``), so every page
here calls what the issuer routes (``routes/licenses.py``) call, with the same
department, entitlement, numbering and records: a license of another
department is refused as the API refuses it, and each event names the client
as its actor, as the API's do. The issuing form is generated from the license
type (``licenses.forms``), previewed unsealed (``licenses.preview``) and issued
under a form token as its idempotency key, so a double submit issues once. A
status change asks for a reason and then for a confirmation. Batches and
approval documents are in ``console_uploads``.
"""

from __future__ import annotations

import base64
import secrets
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, unquote_to_bytes, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import ApiState, pdf_download, read_bounded_body, state_of
from trustsvc.api.errors import http_status
from trustsvc.api.pages.access import staff_with
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.errors import (
    ForbiddenError,
    InvalidInputError,
    InvalidLicenseDataError,
    NotFoundError,
    TrustServiceError,
)
from trustsvc.licenses import library
from trustsvc.licenses.forms import IssueForm, field_messages, form_data, issue_form
from trustsvc.licenses.preview import preview_license
from trustsvc.licenses.requests import IssueRequest, LicenseView
from trustsvc.licenses.types import LicenseType, ValidityRule
from trustsvc.sharing.clients import Client
from trustsvc.sharing.lookups import infer_holder_id_type
from trustsvc.staff.users import StaffMember, StaffRole

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Officer = Annotated[StaffMember, Depends(staff_with(StaffRole.OFFICER))]

#: A form of the console: the largest type's fields, a decision's text (5,000
#: characters, nine bytes each once percent-encoded) and a little more.
FORM_LIMIT = 96 * 1024
_MAX_FIELDS = 80
_PAGE_SIZE = 25
_TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)

#: A license's status as the console says it: (Chinese, English, badge class).
STATUS_TEXT: dict[str, tuple[str, str, str]] = {
    "valid": ("有效", "Valid", "ok"),
    "suspended": ("已暂停", "Suspended", "warn"),
    "revoked": ("已撤销", "Revoked", "bad"),
    "superseded": ("已变更（被新版本替代）", "Superseded", "grey"),
    "expired": ("已过期", "Expired", "grey"),
}
REVOCATION_TEXT = {"cancelled": ("已注销", "Cancelled"), "withdrawn": ("已吊销", "Withdrawn")}
#: What a license's page says after an action on it.
DONE_TEXT = {
    "suspend": ("已暂停。", "Suspended."),
    "resume": ("已恢复。", "Resumed."),
    "revoke": ("已撤销。", "Revoked."),
    "change": ("已变更：以下是新版本。", "Changed: this is the new version."),
}
ACTION_TEXT: dict[str, tuple[str, str]] = {
    "issue": ("签发", "Issued"),
    "change": ("变更", "Changed"),
    "suspend": ("暂停", "Suspended"),
    "resume": ("恢复", "Resumed"),
    "revoke": ("撤销", "Revoked"),
}


@dataclass(frozen=True)
class StatusAction:
    """A status change offered on a license's page."""

    action: library.Action
    zh: str
    en: str
    #: The statuses it may start from (the library's transition table decides).
    from_statuses: frozenset[str]


STATUS_ACTIONS = {
    "suspend": StatusAction(library.Action.SUSPEND, "暂停", "Suspend", frozenset({"valid"})),
    "resume": StatusAction(library.Action.RESUME, "恢复", "Resume", frozenset({"suspended"})),
    "revoke": StatusAction(
        library.Action.REVOKE, "注销 / 吊销", "Revoke", frozenset({"valid", "suspended"})
    ),
}


# ---- what every console page needs -------------------------------------------------


def officer_client(member: StaffMember) -> tuple[Client, str]:
    """The issuer client the officer acts as, and its department's credit code."""
    client = member.client
    if client is None or client.department_code is None:
        raise ForbiddenError("this officer acts for no department; ask an administrator")
    return client, client.department_code


def actor_of(client: Client) -> str:
    """Who the events name: the client, as the API's issuer routes name it."""
    return f"api:{client.name}"


def own(client: Client, view: LicenseView) -> LicenseView:
    """The license, if it is the client's department's (as ``routes/licenses`` refuses it)."""
    if view.issuer_code != client.department_code:
        raise ForbiddenError(f"license {view.identifier} belongs to another department")
    return view


def read_form(
    body: bytes,
    allowed: Collection[str],
    *,
    max_lengths: Mapping[str, int],
    multiline: Collection[str] = (),
) -> dict[str, str]:
    """A urlencoded console form: known fields once each, UTF-8, NFC, bounded.

    As ``api.inputs.parse_form``, but with more fields (a license type has up to
    some 25) and line breaks kept in the ``multiline`` fields (a 经营范围, a
    decision's text); no other control character is accepted anywhere.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidInputError("a form body is percent-encoded ASCII") from None
    parts = [part for part in text.split("&") if part]
    if len(parts) > _MAX_FIELDS:
        raise InvalidInputError(f"a form has at most {_MAX_FIELDS} fields")
    fields: dict[str, str] = {}
    for part in parts:
        raw_name, _, raw_value = part.partition("=")
        try:
            name = unquote_to_bytes(raw_name.replace("+", " ")).decode("utf-8")
            value = unquote_to_bytes(raw_value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError("a form field is not UTF-8 text") from None
        if name not in allowed:
            raise InvalidInputError(f"unknown form field {name[:40]!r}")
        if name in fields:
            raise InvalidInputError(f"form field {name!r} is given twice")
        limit = max_lengths.get(name, 200)
        if len(value) > limit:
            raise InvalidInputError(f"form field {name!r} is longer than {limit} characters")
        value = unicodedata.normalize("NFC", value)
        kept = "\r\n\t" if name in multiline else ""
        if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in kept for ch in value):
            raise InvalidInputError(f"form field {name!r} contains control characters")
        fields[name] = value
    return fields


def form_token() -> str:
    """A new form's token: the idempotency key of what the form does when sent."""
    return secrets.token_urlsafe(32)


def checked_token(value: str | None) -> str:
    if value is None or len(value) != _TOKEN_LENGTH or not value.isascii():
        raise InvalidInputError("the form has no valid form token: reload the page")
    if not all(ch.isalnum() or ch in "-_" for ch in value):
        raise InvalidInputError("the form has no valid form token: reload the page")
    return value


def issuable_types(state: ApiState) -> list[LicenseType]:
    return sorted(state.licenses.types.values(), key=lambda t: t.key)


def form_limits(form: IssueForm) -> dict[str, int]:
    """Each field's longest value (its own limit, or a generous one), then the form's own."""
    limits = {f.key: f.max_length or 200 for f in form.fields}
    limits.update({CSRF_FIELD: 100, "form_token": 100, "action": 20, "reason": 500, "kind": 20})
    return limits


def multiline_keys(form: IssueForm) -> set[str]:
    return {f.key for f in form.fields if f.control.value == "textarea"}


# ---- home ------------------------------------------------------------------------


@router.get("/console")
async def home(request: Request, member: Officer) -> Response:
    state = state_of(request)
    officer_client(member)
    return render(
        request,
        "console/home.html",
        member=member,
        types=issuable_types(state),
    )


# ---- issuing from the generated form ---------------------------------------------


def _type_of(state: ApiState, type_key: str) -> LicenseType:
    license_type = state.licenses.types.get(type_key)
    if license_type is None:
        raise NotFoundError(f"no license type {type_key[:64]!r}")
    return license_type


def _issue_page(
    request: Request,
    license_type: LicenseType,
    values: Mapping[str, str],
    token: str,
    *,
    messages: Mapping[str, str] | None = None,
    english: Mapping[str, str] | None = None,
    problem: str | None = None,
    preview_png: bytes | None = None,
    status_code: int = 200,
) -> Response:
    form = issue_form(license_type)
    return render(
        request,
        "console/issue.html",
        status_code=status_code,
        license_type=license_type,
        form=form,
        values=values,
        token=token,
        messages=messages or {},
        english=english or {},
        problem=problem,
        preview=(
            "data:image/png;base64," + base64.b64encode(preview_png).decode()
            if preview_png is not None
            else None
        ),
        fixed_years=license_type.validity.rule is ValidityRule.FIXED_YEARS,
    )


@router.get("/console/issue/{type_key}")
async def issue_page(type_key: str, request: Request, member: Officer) -> Response:
    officer_client(member)
    license_type = _type_of(state_of(request), type_key)
    defaults = {}
    if len(license_type.holder_kinds) == 1:
        defaults["holder_id_type"] = license_type.holder_kinds[0].value
    return _issue_page(request, license_type, defaults, form_token())


@router.post("/console/issue/{type_key}")
async def issue(type_key: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    license_type = _type_of(state, type_key)
    form = issue_form(license_type)
    limits = form_limits(form)
    submitted = read_form(
        await read_bounded_body(request, FORM_LIMIT),
        limits,
        max_lengths=limits,
        multiline=multiline_keys(form),
    )
    check_csrf(request, submitted.get(CSRF_FIELD))
    token = checked_token(submitted.get("form_token"))
    data = form_data(form, submitted)
    values = {k: v for k, v in submitted.items() if k in {f.key for f in form.fields}}
    try:
        if submitted.get("action") == "preview":
            preview = await run_in_threadpool(
                preview_license,
                state.licenses,
                member.department_name or "",
                license_type.key,
                data,
            )
            return _issue_page(request, license_type, values, token, preview_png=preview.png)
        result = await run_in_threadpool(
            state.licenses.issue,
            IssueRequest(department, license_type.key, data, f"page-{token}", actor_of(client)),
        )
    except InvalidLicenseDataError as error:
        messages = field_messages(license_type, error.problems, data, state.licenses.today())
        return _issue_page(
            request,
            license_type,
            values,
            token,
            messages=messages,
            english=error.problems,
            status_code=422,
        )
    except TrustServiceError as error:
        # Refused as a whole (not entitled, a holder who holds one already): said
        # above the form, which keeps what was typed. A failure is the error page's.
        status = http_status(error)
        if status >= 500:
            raise
        return _issue_page(
            request, license_type, values, token, problem=error.message, status_code=status
        )
    if result.created:
        state.metrics.issued.labels(result.license.type_key).inc()
    return RedirectResponse(
        f"/console/licenses/{quote(result.license.identifier)}?issued=1", status_code=303
    )


# ---- the department's licenses ---------------------------------------------------


_LIST_FIELDS = {"q": 128, "holder_id": 40, "status": 20, "type": 64, "offset": 8, "lang": 4}


@router.get("/console/licenses")
async def licenses(request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    query = {k: v.strip() for k, v in request.query_params.items() if k in _LIST_FIELDS}
    for key, value in query.items():
        if len(value) > _LIST_FIELDS[key]:
            raise InvalidInputError(f"{key} is longer than {_LIST_FIELDS[key]} characters")
    status = query.get("status") or None
    if status is not None and status not in STATUS_TEXT:
        raise InvalidInputError(f"unknown status {status!r}")
    type_key = query.get("type") or None
    if type_key is not None and type_key not in state.licenses.types:
        raise InvalidInputError(f"unknown license type {type_key!r}")
    offset_text = query.get("offset") or "0"
    if not offset_text.isdigit():
        raise InvalidInputError("offset is a whole number")
    offset = int(offset_text)
    number = query.get("q") or None
    holder_id = query.get("holder_id") or None
    note = None
    views: list[LicenseView]
    if number is not None:
        try:
            found = await run_in_threadpool(state.licenses.show, number, department)
            views = [own(client, found)]
        except (NotFoundError, ForbiddenError):
            views = []
    else:
        holder_type = infer_holder_id_type(holder_id) if holder_id is not None else None
        search = library.LicenseQuery(
            department_code=department,
            type_key=type_key,
            effective_status=library.EffectiveStatus(status) if status else None,
            today=state.licenses.today(),
            limit=_PAGE_SIZE + 1,
            offset=offset,
        )
        try:
            views = await run_in_threadpool(state.licenses.search, search, holder_id, holder_type)
        except InvalidInputError as error:
            views, note = [], error.message
    more = len(views) > _PAGE_SIZE
    return render(
        request,
        "console/licenses.html",
        views=views[:_PAGE_SIZE],
        query=query,
        note=note,
        types=issuable_types(state),
        statuses=STATUS_TEXT,
        revocations=REVOCATION_TEXT,
        query_string=lambda q, at: urlencode({**q, "offset": at}),
        next_offset=offset + _PAGE_SIZE if more else None,
        previous_offset=max(0, offset - _PAGE_SIZE) if offset else None,
        offset=offset,
    )


def _license_of(state: ApiState, client: Client, department: str, key: str) -> LicenseView:
    return own(client, state.licenses.show(key, department))


@router.get("/console/licenses/{identifier}")
async def license_page(identifier: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    view = await run_in_threadpool(_license_of, state, client, department, identifier)
    history = await run_in_threadpool(state.licenses.history, view.identifier)
    license_type = state.licenses.types.get(view.type_key)
    specs = license_type.fields if license_type else ()
    # In the type's order (the record keeps them sorted by key).
    ordered = [(f.label_zh, view.fields[f.key]) for f in specs if f.key in view.fields]
    known = {f.key for f in specs}
    ordered += [(key, value) for key, value in view.fields.items() if key not in known]
    return render(
        request,
        "console/license.html",
        view=view,
        history=history,
        fields=ordered,
        statuses=STATUS_TEXT,
        revocations=REVOCATION_TEXT,
        actions=ACTION_TEXT,
        status_actions=STATUS_ACTIONS,
        issued=request.query_params.get("issued") == "1",
        done=request.query_params.get("done"),
        done_text=DONE_TEXT,
    )


@router.get("/console/licenses/{identifier}/pdf")
async def license_pdf(identifier: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    view = await run_in_threadpool(_license_of, state, client, department, identifier)
    document = await run_in_threadpool(state.licenses.document, view.identifier)
    return pdf_download(document, view.identifier, view.license_number)


# ---- suspend, resume, revoke: a reason, then a confirmation ----------------------

_STATUS_FIELDS = {CSRF_FIELD: 100, "reason": 500, "kind": 20, "step": 20}


def _status_action(name: str) -> StatusAction:
    action = STATUS_ACTIONS.get(name)
    if action is None:
        raise NotFoundError(f"no action {name[:20]!r}")
    return action


@router.get("/console/licenses/{identifier}/status/{name}")
async def status_page(identifier: str, name: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    action = _status_action(name)
    view = await run_in_threadpool(_license_of, state, client, department, identifier)
    return render(
        request,
        "console/status.html",
        view=view,
        name=name,
        action=action,
        step="reason",
        reason="",
        kind="",
        message=None,
        statuses=STATUS_TEXT,
    )


@router.post("/console/licenses/{identifier}/status/{name}")
async def change_status(identifier: str, name: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    action = _status_action(name)
    form = read_form(
        await read_bounded_body(request, 8 * 1024), _STATUS_FIELDS, max_lengths=_STATUS_FIELDS
    )
    check_csrf(request, form.get(CSRF_FIELD))
    view = await run_in_threadpool(_license_of, state, client, department, identifier)
    reason = " ".join(form.get("reason", "").split())
    kind = form.get("kind", "")
    message = None
    if not reason:
        message = "请写明原因（将记入证照历史，并在核验页显示）"
    elif action.action is library.Action.REVOKE and kind not in REVOCATION_TEXT:
        message = "请选择注销或吊销"
    if message is not None or form.get("step") != "confirm":
        return render(
            request,
            "console/status.html",
            status_code=422 if message else 200,
            view=view,
            name=name,
            action=action,
            step="reason" if message else "confirm",
            reason=reason,
            kind=kind,
            message=message,
            statuses=STATUS_TEXT,
        )
    try:
        await run_in_threadpool(
            state.licenses.transition,
            view.identifier,
            action.action,
            actor_of(client),
            reason,
            revocation_kind=library.RevocationKind(kind) if kind else None,
        )
    except TrustServiceError as error:
        status = http_status(error)
        if status >= 500:
            raise
        return render(
            request,
            "console/status.html",
            status_code=status,
            view=view,
            name=name,
            action=action,
            step="reason",
            reason=reason,
            kind=kind,
            message=error.message,
            statuses=STATUS_TEXT,
        )
    return RedirectResponse(
        f"/console/licenses/{quote(view.identifier)}?done={name}", status_code=303
    )


# ---- change (变更): the next version with some fields changed ---------------------


def _change_values(view: LicenseView, license_type: LicenseType) -> dict[str, str]:
    values = dict(view.fields)
    values["holder_name"] = view.holder_name
    if view.valid_until is not None and license_type.validity.rule is ValidityRule.PER_LICENSE:
        values["valid_until"] = view.valid_until.isoformat()
    return values


def _change_form(license_type: LicenseType) -> IssueForm:
    """The fields a change may set: the holder's name, the end of validity, the type's fields.

    The holder's ID and its type stay (a new holder is a new license), and so
    does the start of validity.
    """
    form = issue_form(license_type)
    kept = tuple(
        f for f in form.fields if f.key not in ("holder_id_type", "holder_id", "valid_from")
    )
    return IssueForm(
        form.type_key,
        form.type_name_zh,
        form.type_name_en,
        kept,
        form.validity_zh,
        form.validity_en,
    )


@router.get("/console/licenses/{identifier}/change")
async def change_page(identifier: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    view = await run_in_threadpool(_license_of, state, client, department, identifier)
    license_type = _type_of(state, view.type_key)
    return render(
        request,
        "console/change.html",
        view=view,
        form=_change_form(license_type),
        values=_change_values(view, license_type),
        messages={},
        english={},
        reason="",
        problem=None,
    )


@router.post("/console/licenses/{identifier}/change")
async def change(identifier: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    view = await run_in_threadpool(_license_of, state, client, department, identifier)
    license_type = _type_of(state, view.type_key)
    form = _change_form(license_type)
    limits = form_limits(form)
    submitted = read_form(
        await read_bounded_body(request, FORM_LIMIT),
        limits,
        max_lengths=limits,
        multiline=multiline_keys(form),
    )
    check_csrf(request, submitted.get(CSRF_FIELD))
    before = _change_values(view, license_type)
    changes = {
        f.key: submitted.get(f.key, "")
        for f in form.fields
        if submitted.get(f.key, "").strip() != before.get(f.key, "").strip()
    }
    reason = " ".join(submitted.get("reason", "").split())
    values = {f.key: submitted.get(f.key, "") for f in form.fields}
    problem = None
    if not changes:
        problem = "没有改动：请修改要变更的事项"
    elif not reason:
        problem = "请写明变更原因"
    if problem is None:
        try:
            result = await run_in_threadpool(
                state.licenses.change,
                view.identifier,
                # A field emptied is left out of the new version.
                {k: (v if v.strip() else None) for k, v in changes.items()},
                actor_of(client),
                reason,
            )
        except InvalidLicenseDataError as error:
            messages = field_messages(license_type, error.problems, changes, state.licenses.today())
            return render(
                request,
                "console/change.html",
                status_code=422,
                view=view,
                form=form,
                values=values,
                messages=messages,
                english=error.problems,
                reason=reason,
                problem=None,
            )
        except TrustServiceError as error:
            if http_status(error) >= 500:
                raise
            problem = error.message
        else:
            state.metrics.issued.labels(result.license.type_key).inc()
            return RedirectResponse(
                f"/console/licenses/{quote(result.license.identifier)}?done=change",
                status_code=303,
            )
    return render(
        request,
        "console/change.html",
        status_code=422,
        view=view,
        form=form,
        values=values,
        messages={},
        english={},
        reason=reason,
        problem=problem,
    )
