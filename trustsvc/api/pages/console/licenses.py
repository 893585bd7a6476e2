"""The department's licenses in the console: the list with its search, a license's page
with its history, and its PDF.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from trustsvc.api.deps import pdf_download, state_of
from trustsvc.api.pages.console.common import (
    ACTION_TEXT,
    DONE_TEXT,
    REVOCATION_TEXT,
    STATUS_ACTIONS,
    STATUS_TEXT,
    Officer,
    issuable_types,
    license_of,
    officer_client,
    own,
)
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from trustsvc.licenses import library
from trustsvc.licenses.requests import LicenseView
from trustsvc.sharing.lookups import infer_holder_id_type

router = APIRouter(include_in_schema=False, route_class=PageRoute)


# ---- the department's licenses ---------------------------------------------------


_PAGE_SIZE = 25
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


@router.get("/console/licenses/{identifier}")
async def license_page(identifier: str, request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    view = await run_in_threadpool(license_of, state, client, department, identifier)
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
    view = await run_in_threadpool(license_of, state, client, department, identifier)
    document = await run_in_threadpool(state.licenses.document, view.identifier)
    return pdf_download(document, view.identifier, view.license_number)
