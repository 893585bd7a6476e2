"""The clerk's verification desk (/desk): scan, upload or photograph, and one result view.

A clerk works as their own verifier client (``staff.desk``): a PDF or a token
is checked by the API's own verifier functions (``routes.verify.check_pdf``,
``check_token``), with the purpose the clerk states, and recorded the same way.
The three ways in are one form (multipart, so that it works without
JavaScript): a text field a handheld scanner types into (a link, a token, an
identifier or a license number; read by ``verification.scanned``), a PDF, and
a photo of a QR code (``verification.qr_photo``). Which one the clerk used is
the button that sent the form (Enter in the text field sends the first).

The result page carries a receipt: the report, the clerk, the purpose, and the
license a copy may be made of, signed with a key derived from the data key
(itsdangerous, 30 minutes). The printable report and the 加注件 are made
from it, for that clerk only, so neither needs the upload again and neither
can be asked for a check that did not happen.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import ApiState, read_bounded_body, state_of
from trustsvc.api.errors import http_status
from trustsvc.api.inputs import parse_form
from trustsvc.api.pages.access import staff_with
from trustsvc.api.pages.rendering import PageRoute, language, render, size_words
from trustsvc.api.routes.verify import check_pdf, check_token
from trustsvc.audit.access_record import Access, AccessAction, CopyKind, Outcome
from trustsvc.errors import (
    BodyTooLargeError,
    InvalidInputError,
    NotFoundError,
    TrustServiceError,
)
from trustsvc.licenses.types import get_type
from trustsvc.staff import desk as domain
from trustsvc.staff.users import StaffMember, StaffRole
from trustsvc.verification import reasons as R
from trustsvc.verification.annotated_copy import AnnotatedCopies
from trustsvc.verification.qr_photo import MAX_PHOTO_BYTES, read_qr_photo
from trustsvc.verification.report import (
    VERDICT_TEXT,
    Verdict,
    VerificationReport,
    report_from_json,
    report_to_json,
)
from trustsvc.verification.report_seal import ReportSealer
from trustsvc.verification.scanned import MAX_SCANNED, ScannedKind, read_scanned
from trustsvc.verification.verifier import DEFAULT_MAX_BYTES

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Clerk = Depends(staff_with(StaffRole.CLERK))

#: How long the report and the copy may be had after a check.
RECEIPT_SECONDS = 30 * 60
#: The whole form may carry a PDF and a photo (one is used); ``app`` bounds the body so.
FORM_LIMIT = DEFAULT_MAX_BYTES + MAX_PHOTO_BYTES + 64 * 1024
_RECEIPT_FORM_LIMIT = 64 * 1024
_FIELDS = {CSRF_FIELD: 100, "purpose": 200, "way": 10, "scanned": MAX_SCANNED}
_FILES = ("pdf", "photo")
_SESSION_PURPOSE = "desk_purpose"

#: The headline's four tones: 有效, 需注意, 无效, 无法核验.
_ATTENTION = frozenset(
    {
        Verdict.VALID_OFFLINE,
        Verdict.NOT_YET_VALID,
        Verdict.PRESENTATION_EXPIRED,
        Verdict.PRESENTATION_USED,
        Verdict.PRESENTATION_REFUSED,
    }
)
TONES = {
    "ok": ("有效", "Valid"),
    "warn": ("需注意", "Needs attention"),
    "bad": ("无效", "Not valid"),
    "grey": ("无法核验", "Could not be verified"),
}
_ACTIONS = {
    AccessAction.VERIFY_PDF: ("核验文件", "PDF checked"),
    AccessAction.VERIFY_TOKEN: ("扫码核验", "QR checked"),
    AccessAction.PRESENTATION_CHECK: ("亮证核验", "Code checked"),
    AccessAction.STATUS_CHECK: ("按编号核验", "Checked by number"),
    AccessAction.ANNOTATED_COPY: ("加注件", "Annotated copy"),
    AccessAction.VERIFICATION_REPORT: ("核验报告", "Verification report"),
}
_FACTS = (
    ("license_type", "证照类型", "Type"),
    ("license_number", "证照编号", "Number"),
    ("identifier", "证照标识", "Identifier"),
    ("issuer_name", "颁发机构", "Issuer"),
    ("holder_name_masked", "持证主体", "Holder"),
    ("valid_from", "有效期起", "Valid from"),
    ("valid_until", "有效期至", "Valid until"),
    ("status", "当前状态", "Status"),
    ("status_since", "状态变更时间", "Since"),
    ("status_reason", "原因", "Reason"),
    ("current_number", "现行版本编号", "Number in force"),
    ("signing_time", "盖章时间", "Sealed at"),
)


def tone(verdict: Verdict) -> str:
    if verdict is Verdict.VALID:
        return "ok"
    if verdict is Verdict.NOT_EVALUABLE:
        return "grey"
    return "warn" if verdict in _ATTENTION else "bad"


@dataclass(frozen=True)
class _Tools:
    """What the desk makes documents with: one per process (the sealer keeps its seals ready)."""

    reports: ReportSealer
    copies: AnnotatedCopies
    receipts: URLSafeTimedSerializer


def _tools(request: Request) -> _Tools:
    tools: _Tools | None = getattr(request.app.state, "desk_tools", None)
    if tools is None:
        state = state_of(request)
        reports = ReportSealer(state.services)
        secret = state.data_key.subkey("desk receipts")
        tools = _Tools(
            reports, AnnotatedCopies(reports), URLSafeTimedSerializer(secret, salt="desk")
        )
        request.app.state.desk_tools = tools
    return tools


# ---- the page --------------------------------------------------------------------------


def _fact_rows(state: ApiState, report: VerificationReport, lang: str) -> list[tuple[str, str]]:
    zone = state.services.settings.zone
    facts = asdict(report.facts)
    rows = []
    for key, zh, en in _FACTS:
        value = facts.get(key)
        if value is None:
            continue
        if key == "status":
            words = R.status_words(str(value), report.facts.revocation_kind)
            text = words[0] if lang == "zh" else words[1]
        elif key == "license_type":
            try:
                kind = get_type(state.licenses.types, str(value))
                text = kind.name_zh if lang == "zh" else kind.name_en
            except NotFoundError:
                text = str(value)
        elif isinstance(value, datetime):
            text = R.people_time(value, zone)
        elif isinstance(value, date):
            text = R.people_day(value)
        else:
            text = str(value)
        rows.append((zh if lang == "zh" else en, text))
    return rows


async def _page(
    request: Request,
    member: StaffMember,
    *,
    purpose: str | None,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    state = state_of(request)
    recent = await run_in_threadpool(domain.recent_checks, state.services, member)
    chosen = purpose if purpose in member.purposes else None
    if chosen is None and len(member.purposes) == 1:
        chosen = member.purposes[0]
    return render(
        request,
        "desk/desk.html",
        status_code=status_code,
        member=member,
        purpose=chosen,
        result=result,
        error=error,
        recent=recent,
        actions=_ACTIONS,
        verdict_text=VERDICT_TEXT,
        verdict_of=_verdict_or_none,
    )


def _verdict_or_none(answer: str | None) -> tuple[str, str] | None:
    try:
        return VERDICT_TEXT[Verdict(answer)] if answer else None
    except ValueError:
        return None


@router.get("/desk")
async def desk_page(request: Request, member: StaffMember = Clerk) -> Response:
    domain.desk_client(member)
    return await _page(request, member, purpose=request.session.get(_SESSION_PURPOSE))


# ---- a check ---------------------------------------------------------------------------


async def _read_upload(upload: Any, limit: int, what: str) -> bytes:
    if not isinstance(upload, UploadFile):
        raise InvalidInputError(f"请选择{what} · Choose the {what} to check")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError(
            f"{what}超过 {limit // (1024 * 1024)} MB · The file is larger than "
            f"{limit // (1024 * 1024)} MB"
        )
    if not data:
        raise InvalidInputError(f"请选择{what} · Choose the {what} to check")
    return data


@asynccontextmanager
async def _form(request: Request) -> AsyncIterator[dict[str, Any]]:
    """The check form's fields, bounded: these fields once each, short text, at most two files.

    The files are read inside the block (``_upload``), after the caller has taken the
    purpose: an upload refused for its size still leaves the purpose the clerk chose.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidInputError("the desk's form is sent as multipart/form-data")
    try:
        form = await request.form(
            max_files=len(_FILES), max_fields=len(_FIELDS), max_part_size=8192
        )
    except StarletteHTTPException as exc:  # Starlette's words for a malformed multipart body
        raise InvalidInputError(
            "表单格式有误，请重新选择文件后提交 · The form is not well-formed multipart"
        ) from exc
    try:
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if name not in _FIELDS and name not in _FILES:
                raise InvalidInputError(f"unknown form field {name[:40]!r}")
            if name in fields:
                raise InvalidInputError(f"form field {name!r} is given twice")
            if isinstance(value, str) and len(value) > _FIELDS.get(name, 0):
                raise InvalidInputError(f"form field {name!r} is too long")
            fields[name] = value
        check_csrf(request, fields.get(CSRF_FIELD))
        yield fields
    finally:
        await form.close()


async def _upload(fields: dict[str, Any]) -> tuple[str, bytes | None]:
    """Which way the clerk checks, and the file it brings (None for a scan), bounded."""
    way = fields.get("way") or "scan"
    if way == "pdf":
        return way, await _read_upload(fields.get("pdf"), DEFAULT_MAX_BYTES, "PDF文件")
    if way == "photo":
        return way, await _read_upload(fields.get("photo"), MAX_PHOTO_BYTES, "照片")
    if way != "scan":
        raise InvalidInputError("unknown way of checking")
    return way, None


def _token_in_photo(codes: list[str]) -> str:
    for code in codes:
        try:
            scanned = read_scanned(code)
        except InvalidInputError:
            continue
        if scanned.kind is ScannedKind.TOKEN:
            return scanned.value
    if codes:
        raise InvalidInputError(
            "照片中的二维码不是电子证照二维码 · The QR code in the photo is not a license's"
        )
    raise InvalidInputError(
        "照片中没有找到二维码：请对准二维码、保持清晰后重拍 · "
        "No QR code found in the photo: hold the camera steady over the code and try again"
    )


async def _status_check(
    state: ApiState, member: StaffMember, key: str, purpose: str
) -> VerificationReport:
    client = domain.desk_client(member)
    report = await run_in_threadpool(domain.status_by_number, state.verifier, state.licenses, key)
    state.metrics.verifications.labels("desk_status", report.verdict.value).inc()
    identifier = report.facts.identifier
    await state.access_log.record(
        client,
        Access(
            AccessAction.STATUS_CHECK,
            Outcome.ANSWERED,
            purpose=purpose,
            returned=[identifier] if identifier else [],
            answer=report.verdict.value,
            license_identifier=identifier,
        ),
    )
    return report


@router.post("/desk/check")
async def check(request: Request, member: StaffMember = Clerk) -> Response:
    state = state_of(request)
    client = domain.desk_client(member)
    # Until the form is read (it may be refused unread), the purpose stated last.
    purpose: str | None = request.session.get(_SESSION_PURPOSE)
    try:
        async with _form(request) as fields:
            given = fields.get("purpose")
            purpose = given if isinstance(given, str) else None
            stated = domain.stated(member, purpose)
            request.session[_SESSION_PURPOSE] = stated
            way, data = await _upload(fields)
        # The clerk holds the document (or the holder showed its code): a copy may be made.
        holds_document = True
        if way == "pdf" and data is not None:
            report = await check_pdf(state, client, data, stated)
        elif way == "photo" and data is not None:
            codes = await run_in_threadpool(read_qr_photo, data)
            report = await check_token(state, client, _token_in_photo(codes), stated)
        else:
            scanned = read_scanned(str(fields.get("scanned") or ""))
            if scanned.kind is ScannedKind.TOKEN:
                report = await check_token(state, client, scanned.value, stated)
            else:
                report = await _status_check(state, member, scanned.value, stated)
                holds_document = False
    except TrustServiceError as error:
        if error.code == "csrf-refused":
            raise
        return await _page(
            request,
            member,
            purpose=purpose,
            error=_said(error, language(request)),
            status_code=http_status(error),
        )
    return await _result(request, state, member, report, stated, way, holds_document)


#: What the desk says of an upload over its bound (the PDF's and the photo's, not the body's).
_TOO_LARGE = (
    f"文件过大：PDF 不超过 {size_words(DEFAULT_MAX_BYTES)}，照片不超过 "
    f"{size_words(MAX_PHOTO_BYTES)}。请换用较小的文件，或扫描证照上的二维码。",
    f"The file is too large: a PDF is at most {size_words(DEFAULT_MAX_BYTES)}, a photo at most "
    f"{size_words(MAX_PHOTO_BYTES)}. Use a smaller file, or scan the license's QR code.",
)
#: What the desk says, in Chinese, for the domain's refusals that have no Chinese words.
_IN_CHINESE = {
    "not-found": (
        "证照库中没有此编号或标识的证照，请核对后重新输入",
        "No license in the library has that number or identifier",
    ),
    "ambiguous-license-number": (
        "此编号对应多个部门的证照：请扫描二维码或输入证照标识",
        "That number names licenses of several departments: scan the QR code or type "
        "the identifier",
    ),
}


def _said(error: TrustServiceError, lang: str) -> str:
    """The refusal in the page's language: "中文 · English" messages are split, others mapped."""
    if isinstance(error, BodyTooLargeError):
        zh, en = _TOO_LARGE
        return zh if lang == "zh" else en
    if error.code in _IN_CHINESE:
        zh, en = _IN_CHINESE[error.code]
        return zh if lang == "zh" else f"{en} ({error.message})"
    zh, sep, en = error.message.partition(" · ")
    if sep:
        return zh if lang == "zh" else en
    return error.message


async def _result(
    request: Request,
    state: ApiState,
    member: StaffMember,
    report: VerificationReport,
    purpose: str,
    way: str,
    holds_document: bool,
) -> Response:
    identifier = report.facts.identifier
    copyable = holds_document and report.is_valid and identifier is not None
    receipt = _tools(request).receipts.dumps(
        {
            "r": report_to_json(report).decode(),
            "m": member.id,
            "p": purpose,
            "c": identifier if copyable else None,
        }
    )
    lang = language(request)
    result = {
        "report": report,
        "tone": tone(report.verdict),
        "tone_text": TONES[tone(report.verdict)],
        "verdict": VERDICT_TEXT[report.verdict],
        "facts": _fact_rows(state, report, lang),
        # Each finding once (a document changed in several places says so once).
        "reasons": list({(r.code, r.message_zh): r for r in report.reasons}.values()),
        "purpose": purpose,
        # A purpose-annotated copy (加注件) shown here: for its one use, which may not be this.
        "annotation": report.facts.annotation,
        "other_use": report.facts.annotation is not None
        and report.facts.annotation_purpose != purpose,
        "way": way,
        "receipt": receipt,
        "copyable": copyable,
        "copy_refused": None
        if copyable
        else (
            ("只有有效的证照可以制作加注件", "Only a valid license gets an annotated copy")
            if holds_document
            else (
                "按编号核验不能制作加注件：请持证人出示证照文件或二维码",
                "Not from a number: ask the holder to show the license or its QR code",
            )
        ),
    }
    return await _page(request, member, purpose=purpose, result=result)


# ---- the report and the copy -----------------------------------------------------------


def _receipt(request: Request, member: StaffMember, body: bytes) -> dict[str, Any]:
    fields = parse_form(
        body, {CSRF_FIELD, "receipt"}, max_lengths={CSRF_FIELD: 100, "receipt": 32_000}
    )
    check_csrf(request, fields.get(CSRF_FIELD))
    try:
        receipt = _tools(request).receipts.loads(fields.get("receipt", ""), max_age=RECEIPT_SECONDS)
    except BadSignature:
        raise InvalidInputError(
            "核验结果已过期或不是本窗口的，请重新核验 · The check is out of date: check again"
        ) from None
    if not isinstance(receipt, dict) or receipt.get("m") != member.id:
        raise InvalidInputError("这不是您的核验结果 · This is not your check")
    return receipt


def _download(pdf: bytes, name: str, ascii_name: str) -> Response:
    """An attachment; the Chinese file name per RFC 6266 / RFC 8187."""
    disposition = f"attachment; filename=\"{ascii_name}.pdf\"; filename*=UTF-8''{quote(name)}.pdf"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.post("/desk/report")
async def report_pdf(request: Request, member: StaffMember = Clerk) -> Response:
    client = domain.desk_client(member)
    receipt = _receipt(request, member, await read_bounded_body(request, _RECEIPT_FORM_LIMIT))
    try:
        report = report_from_json(str(receipt["r"]).encode())
    except (KeyError, TypeError, ValueError, json.JSONDecodeError):
        raise InvalidInputError("这不是核验结果 · Not a check") from None
    context = [
        ("核验窗口 Checked at", member.place or member.name),
        ("核验人员 Clerk", member.name),
        ("用证事由 Purpose", str(receipt.get("p") or "")),
    ]
    sealed = await run_in_threadpool(_tools(request).reports.seal, report, None, context)
    identifier = report.facts.identifier
    await state_of(request).access_log.record(
        client,
        Access(
            AccessAction.VERIFICATION_REPORT,
            Outcome.ANSWERED,
            purpose=str(receipt.get("p") or "") or None,
            returned=[identifier] if identifier else [],
            answer=report.verdict.value,
            license_identifier=identifier,
            copy=CopyKind.VERIFICATION_REPORT,
        ),
    )
    number = report.facts.license_number or "核验"
    return _download(sealed, f"核验报告-{number}", "verification-report")


@router.post("/desk/copy")
async def annotated_copy(request: Request, member: StaffMember = Clerk) -> Response:
    state = state_of(request)
    client = domain.desk_client(member)
    receipt = _receipt(request, member, await read_bounded_body(request, _RECEIPT_FORM_LIMIT))
    identifier, purpose = receipt.get("c"), receipt.get("p")
    if not isinstance(identifier, str) or not isinstance(purpose, str):
        raise InvalidInputError("此核验结果不能制作加注件 · This check gives no annotated copy")
    tools = _tools(request)
    make = partial(
        domain.make_copy,
        state.services.database,
        state.licenses,
        tools.copies,
        state.verifier,
        member,
        identifier,
        purpose,
        state.services.clock.now(),
        state.services.settings.organisation_name,
    )
    pdf = await run_in_threadpool(make)
    await state.access_log.record(
        client,
        Access(
            AccessAction.ANNOTATED_COPY,
            Outcome.ANSWERED,
            purpose=purpose,
            returned=[identifier],
            answer="annotated_copy",
            license_identifier=identifier,
            copy=CopyKind.ANNOTATED_COPY,
        ),
    )
    number = _number_of(receipt) or "license"
    return _download(pdf, f"加注件-{number}-{purpose}", f"annotated-copy-{number}")


def _number_of(receipt: dict[str, Any]) -> str | None:
    """The license's number as a file name may carry it unquoted (ASCII letters, digits)."""
    try:
        number = report_from_json(str(receipt["r"]).encode()).facts.license_number
    except (KeyError, TypeError, ValueError):
        return None
    kept = "".join(c for c in number or "" if c.isascii() and (c.isalnum() or c in "-_"))
    return kept or None


@router.get("/desk/check")
async def check_again(member: StaffMember = Clerk) -> Response:
    """The result's address opened again (a bookmark, a history entry): back to the desk."""
    return RedirectResponse("/desk", status_code=303)
