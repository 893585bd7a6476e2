"""The console's home and its issuing form: generated from the license type, previewed
unsealed, and issued once under its form token (the idempotency key).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import read_bounded_body, state_of
from trustsvc.api.errors import http_status
from trustsvc.api.pages.console.common import (
    FORM_LIMIT,
    Officer,
    actor_of,
    checked_token,
    form_limits,
    form_token,
    issuable_types,
    multiline_keys,
    officer_client,
    read_form,
    type_of,
)
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.errors import (
    InvalidLicenseDataError,
    TrustServiceError,
)
from trustsvc.licenses.forms import field_messages, form_data, issue_form
from trustsvc.licenses.preview import preview_license
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import LicenseType, ValidityRule

router = APIRouter(include_in_schema=False, route_class=PageRoute)


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
    license_type = type_of(state_of(request), type_key)
    defaults = {}
    if len(license_type.holder_kinds) == 1:
        defaults["holder_id_type"] = license_type.holder_kinds[0].value
    return _issue_page(request, license_type, defaults, form_token())


@router.post("/console/issue/{type_key}")
async def issue(type_key: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    license_type = type_of(state, type_key)
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
