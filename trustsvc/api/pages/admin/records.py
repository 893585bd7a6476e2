"""The records' pages (operator administrator and auditors): the operator record and the
access record, read a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trustsvc.api.pages.admin.common import ACTION_NAMES, RecordReader, acting, common, services_of
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.audit.operators import OperatorAction
from trustsvc.errors import InvalidInputError
from trustsvc.staff import administration as admin
from trustsvc.verification.report import VERDICT_TEXT

router = APIRouter(include_in_schema=False, route_class=PageRoute)


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
        services_of(request), acting(request, member), before=before, action=action
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
        **common(request, member, "record"),
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
        services_of(request), acting(request, member), client=client or None, page=page
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
        **common(request, member, "access"),
    )
