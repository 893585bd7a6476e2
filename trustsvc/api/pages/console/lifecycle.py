"""Suspend, resume and revoke (注销 / 吊销) with a reason and then a confirmation, and
change (变更): the next version with some fields changed.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import read_bounded_body, state_of
from trustsvc.api.errors import http_status
from trustsvc.api.pages.console.common import (
    FORM_LIMIT,
    REVOCATION_TEXT,
    STATUS_ACTIONS,
    STATUS_TEXT,
    Officer,
    StatusAction,
    actor_of,
    form_limits,
    license_of,
    multiline_keys,
    officer_client,
    read_form,
    type_of,
)
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.errors import (
    InvalidLicenseDataError,
    NotFoundError,
    TrustServiceError,
)
from trustsvc.licenses import library
from trustsvc.licenses.forms import IssueForm, field_messages, issue_form
from trustsvc.licenses.requests import LicenseView
from trustsvc.licenses.types import LicenseType, ValidityRule

router = APIRouter(include_in_schema=False, route_class=PageRoute)


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
    view = await run_in_threadpool(license_of, state, client, department, identifier)
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
    view = await run_in_threadpool(license_of, state, client, department, identifier)
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
    view = await run_in_threadpool(license_of, state, client, department, identifier)
    license_type = type_of(state, view.type_key)
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
    view = await run_in_threadpool(license_of, state, client, department, identifier)
    license_type = type_of(state, view.type_key)
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
