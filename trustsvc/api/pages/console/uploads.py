"""The console's uploads: a batch file issued as a job, and an approval document to seal.

A batch is read by ``licenses.uploads`` (UTF-8 or GB18030, columns by key or
label) and submitted as the API's batch jobs are (``jobs.submit_job`` under the
officer's issuer client, the form token as its idempotency key); its page shows
a progress bar that a small script moves by polling the job's JSON (without
script, a refresh link), then each row's outcome, and offers the report as CSV.

An approval document is checked (``licenses.approvals``) and kept under the
home until it is issued or a day old, so that the officer sees the preview of
where the seal and QR code will sit and then issues without sending it again.
The multipart body is bounded before it is parsed (``pages.multipart``).
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import ApiState, state_of
from trustsvc.api.errors import http_status
from trustsvc.api.pages.console.common import (
    Officer,
    actor_of,
    checked_token,
    form_limits,
    form_token,
    multiline_keys,
    officer_client,
)
from trustsvc.api.pages.multipart import bounded_multipart, file_field, text_field
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.errors import (
    InvalidInputError,
    InvalidLicenseDataError,
    NotFoundError,
    TrustServiceError,
)
from trustsvc.licenses.approvals import (
    MAX_APPROVAL_BYTES,
    ApprovalDocumentError,
    ApprovalPdf,
    Placement,
    SealSpot,
    StampPage,
    check_approval_pdf,
    issue_approval,
    placement_preview,
)
from trustsvc.licenses.forms import field_messages, form_data, issue_form, row_message
from trustsvc.licenses.jobs import JobView, get_job, submit_job
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import LayoutStyle, LicenseType
from trustsvc.licenses.uploads import (
    MAX_UPLOAD_BYTES,
    read_upload,
    report_csv,
    status_zh,
    template_csv,
)

router = APIRouter(include_in_schema=False, route_class=PageRoute)

#: Bodies of the two upload forms: the file and a few short fields.
BATCH_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024
APPROVAL_BODY_LIMIT = MAX_APPROVAL_BYTES + 128 * 1024
#: An approval document not issued within this long is removed.
_KEEP_UPLOAD_SECONDS = 24 * 3600
_UPLOAD_NAME = re.compile(r"[A-Za-z0-9_-]{43}")


# ---- batches -----------------------------------------------------------------------


def _batch_page(
    request: Request, state: ApiState, *, message: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "console/batch.html",
        status_code=status_code,
        types=sorted(state.licenses.types.values(), key=lambda t: t.key),
        token=form_token(),
        message=message,
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
    )


@router.get("/console/batch")
async def batch_page(request: Request, member: Officer) -> Response:
    officer_client(member)
    return _batch_page(request, state_of(request))


@router.get("/console/batch/template/{type_key}.csv")
async def batch_template(type_key: str, request: Request, member: Officer) -> Response:
    officer_client(member)
    license_type = state_of(request).licenses.types.get(type_key)
    if license_type is None:
        raise NotFoundError(f"no license type {type_key[:64]!r}")
    name = quote(f"{license_type.name_zh}-批量签发模板.csv")
    return Response(
        template_csv(license_type),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.post("/console/batch")
async def submit_batch(request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    form = await bounded_multipart(
        request, BATCH_BODY_LIMIT, max_fields=8, max_part_size=MAX_UPLOAD_BYTES + 1024
    )
    check_csrf(request, form.get(CSRF_FIELD))
    token = checked_token(text_field(form, "form_token"))
    license_type = state.licenses.types.get(text_field(form, "type", 64))
    if license_type is None:
        return _batch_page(request, state, message="请选择证照类型", status_code=422)
    filename, content = await file_field(form, "file", MAX_UPLOAD_BYTES)
    if not content:
        return _batch_page(request, state, message="请选择要上传的 CSV 文件", status_code=422)
    try:
        rows = read_upload(license_type, filename, content)
        job, created = await run_in_threadpool(
            submit_job,
            state.services.database,
            state.services.clock,
            state.data_key,
            state.licenses.types,
            client.id,
            department,
            license_type.key,
            rows,
            f"page-{token}",
        )
    except InvalidInputError as error:
        return _batch_page(request, state, message=error.message, status_code=422)
    if created:
        state.jobs.wake()
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)


_JOB_ID = re.compile(r"[0-9a-f]{32}")


async def _job(request: Request, member: Officer, job_id: str) -> JobView:
    _, department = officer_client(member)
    if not _JOB_ID.fullmatch(job_id):
        raise NotFoundError("no such batch job")
    database = state_of(request).services.database
    return await run_in_threadpool(get_job, database, job_id, department)


def _row_words(request: Request, job: JobView) -> tuple[LicenseType | None, Callable[[str], str]]:
    """The job's license type, and a row's error in the officer's words (as the form says it)."""
    licenses = state_of(request).licenses
    license_type = licenses.types.get(job.license_type)
    today = licenses.today()

    def explain(error: str) -> str:
        return row_message(license_type, error, today) if license_type else error

    return license_type, explain


@router.get("/console/jobs/{job_id}")
async def job_page(job_id: str, request: Request, member: Officer) -> Response:
    job = await _job(request, member, job_id)
    license_type, explain = _row_words(request, job)
    return render(
        request,
        "console/job.html",
        job=job,
        type_name=license_type.name_zh if license_type else job.license_type,
        status_zh=status_zh,
        explain=explain,
        problems=[r for r in job.results if r["status"] in ("error", "duplicate")],
    )


@router.get("/console/jobs/{job_id}/progress")
async def job_progress(job_id: str, request: Request, member: Officer) -> Response:
    job = await _job(request, member, job_id)
    return JSONResponse(
        {
            "status": job.status,
            "total": job.total,
            "done": job.done,
            "issued": job.issued,
            "errors": job.errors,
            "duplicates": job.duplicates,
        }
    )


@router.get("/console/jobs/{job_id}/report.csv")
async def job_report(job_id: str, request: Request, member: Officer) -> Response:
    job = await _job(request, member, job_id)
    _type, explain = _row_words(request, job)
    return Response(
        report_csv(job.results, explain),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{job.id[:12]}-report.csv"'},
    )


# ---- approval documents ------------------------------------------------------------


def _document_types(state: ApiState) -> list[LicenseType]:
    return sorted(
        (t for t in state.licenses.types.values() if t.layout.style is LayoutStyle.DOCUMENT),
        key=lambda t: t.key,
    )


def _uploads(state: ApiState) -> Path:
    folder = state.services.settings.home / "approval-uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _keep(state: ApiState, approval: ApprovalPdf) -> str:
    """Keep a checked document for the issue step; documents a day old are removed."""
    folder = _uploads(state)
    cutoff = time.time() - _KEEP_UPLOAD_SECONDS
    for old in folder.glob("*.pdf"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    name = secrets.token_urlsafe(32)
    (folder / f"{name}.pdf").write_bytes(approval.pdf)
    return name


def _kept(state: ApiState, name: str) -> ApprovalPdf:
    if not _UPLOAD_NAME.fullmatch(name):
        raise ApprovalDocumentError("请重新选择要上传的决定书文件")
    path = _uploads(state) / f"{name}.pdf"
    if not path.exists():
        raise ApprovalDocumentError("上传的文件已过期，请重新选择")
    return check_approval_pdf(path.read_bytes())


def _placement(form: FormData) -> Placement:
    try:
        return Placement(
            StampPage(text_field(form, "page", 20) or StampPage.LAST.value),
            SealSpot(text_field(form, "seal", 20) or SealSpot.BOTTOM_RIGHT.value),
        )
    except ValueError:
        raise InvalidInputError("unknown placement of the seal") from None


@dataclass(frozen=True)
class _Sent:
    """What the officer sent (or nothing yet): shown again on the page."""

    values: Mapping[str, str] = field(default_factory=dict)
    token: str = ""
    placement: Placement = field(default_factory=Placement)
    upload: str = ""


def _approval_page(
    request: Request,
    state: ApiState,
    license_type: LicenseType,
    sent: _Sent,
    *,
    preview: bytes | None = None,
    messages: Mapping[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "console/approval.html",
        status_code=status_code,
        types=_document_types(state),
        license_type=license_type,
        form=issue_form(license_type),
        values=sent.values,
        token=sent.token or form_token(),
        upload=sent.upload,
        placement=sent.placement,
        preview=(
            "data:image/png;base64," + base64.b64encode(preview).decode() if preview else None
        ),
        messages=messages or {},
        english={},
        problem=problem,
        max_mb=MAX_APPROVAL_BYTES // (1024 * 1024),
    )


def _document_type(state: ApiState, key: str | None) -> LicenseType:
    types = _document_types(state)
    if not types:
        raise NotFoundError("no license type is issued from a document")
    return next((t for t in types if t.key == key), types[0])


@router.get("/console/approval")
async def approval_page(request: Request, member: Officer) -> Response:
    officer_client(member)
    state = state_of(request)
    license_type = _document_type(state, request.query_params.get("type"))
    defaults = {}
    if len(license_type.holder_kinds) == 1:
        defaults["holder_id_type"] = license_type.holder_kinds[0].value
    return _approval_page(request, state, license_type, _Sent(values=defaults))


@router.post("/console/approval")
async def approval(request: Request, member: Officer) -> Response:
    state = state_of(request)
    client, department = officer_client(member)
    form = await bounded_multipart(
        request, APPROVAL_BODY_LIMIT, max_fields=60, max_part_size=MAX_APPROVAL_BYTES + 1024
    )
    check_csrf(request, form.get(CSRF_FIELD))
    token = checked_token(text_field(form, "form_token"))
    license_type = _document_type(state, text_field(form, "type", 64))
    issuing = issue_form(license_type)
    limits = form_limits(issuing)
    multiline = multiline_keys(issuing)
    values: dict[str, str] = {}
    for spec in issuing.fields:
        value = text_field(form, spec.key, limits[spec.key])
        if spec.key not in multiline and ("\n" in value or "\r" in value):
            raise InvalidInputError(f"form field {spec.key!r} is one line")
        values[spec.key] = value
    placement = _placement(form)
    try:
        _, content = await file_field(form, "file", MAX_APPROVAL_BYTES)
        if content:
            approval_pdf = await run_in_threadpool(check_approval_pdf, content)
            upload = await run_in_threadpool(_keep, state, approval_pdf)
        else:
            upload = text_field(form, "upload", 60)
            if not upload:
                raise ApprovalDocumentError("请选择要上传的决定书 PDF 文件")
            approval_pdf = await run_in_threadpool(_kept, state, upload)
    except ApprovalDocumentError as error:
        sent = _Sent(values, token, placement)
        return _approval_page(
            request, state, license_type, sent, problem=error.message, status_code=422
        )
    sent = _Sent(values, token, placement, upload)
    data = form_data(issuing, values)
    if text_field(form, "action", 20) != "issue":
        preview = await run_in_threadpool(
            placement_preview, state.licenses, approval_pdf, placement
        )
        return _approval_page(request, state, license_type, sent, preview=preview)
    try:
        result = await run_in_threadpool(
            issue_approval,
            state.licenses,
            IssueRequest(department, license_type.key, data, f"page-{token}", actor_of(client)),
            approval_pdf,
            placement,
        )
    except InvalidLicenseDataError as error:
        messages = field_messages(license_type, error.problems, data, state.licenses.today())
        return _approval_page(
            request, state, license_type, sent, messages=messages, status_code=422
        )
    except TrustServiceError as error:
        status = http_status(error)
        if status >= 500:
            raise
        return _approval_page(
            request, state, license_type, sent, problem=error.message, status_code=status
        )
    # The document is kept (until the day-old sweep): a second send of this form
    # finds it, and the idempotency key answers with the license issued.
    if result.created:
        state.metrics.issued.labels(result.license.type_key).inc()
    return RedirectResponse(
        f"/console/licenses/{quote(result.license.identifier)}?issued=1", status_code=303
    )
