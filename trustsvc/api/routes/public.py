"""What anyone may see without a key: the page a scanned QR code opens, and a license's status.

Only minimal facts are shown: no holder ID number, the holder's name masked
for persons. The page is server-rendered HTML in Chinese with English beside
it; it needs no script to work.

Opening a presentation code here is an anonymous check: it states no purpose
and is no verifier client. A code that names a verifier or a purpose is
therefore refused here, left unused, and the page says whom it is for and
shows nothing of the license; a code naming neither is a bearer code, and
this open checks (and, if single-use, uses up) it like any other check.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from pydantic import BaseModel

from trustsvc.api.deps import ApiState, PublicStateDep, library_read
from trustsvc.api.errors import problem_responses
from trustsvc.api.pages.rendering import render
from trustsvc.api.schemas import json_response
from trustsvc.errors import NotFoundError
from trustsvc.licenses.types import LicenseType, get_type
from trustsvc.tokens.cose import MAX_TOKEN_LENGTH
from trustsvc.verification import reasons as R
from trustsvc.verification.recording import record_token_check
from trustsvc.verification.report import VERDICT_TEXT, Scope, Verdict, VerificationReport
from trustsvc.verification.summary import Standing, Words, status_text, summarise, validity

router = APIRouter(tags=["public"], responses=problem_responses(422, 429))


class PublicStatus(BaseModel):
    """The current status of a license and the facts anyone may know."""

    identifier: str
    verdict: Verdict
    status: str | None
    license_type: str | None
    license_number: str | None
    issuer_name: str | None
    issuer_code: str | None
    holder_name_masked: str | None
    valid_from: date | None
    valid_until: date | None
    reasons: list[str]
    verdict_zh: str
    verdict_en: str
    #: When the license stopped being in force (UTC), why, and which revocation it was.
    status_since: datetime | None = None
    status_reason: str | None = None
    revocation_kind: Literal["cancelled", "withdrawn"] | None = None
    current_identifier: str | None = None
    current_number: str | None = None


def _public(report: VerificationReport, identifier: str) -> PublicStatus:
    facts = report.facts
    zh, en = VERDICT_TEXT[report.verdict]
    return PublicStatus(
        identifier=facts.identifier or identifier,
        verdict=report.verdict,
        verdict_zh=zh,
        verdict_en=en,
        status_since=facts.status_since,
        status_reason=facts.status_reason,
        revocation_kind=facts.revocation_kind,  # type: ignore[arg-type]
        current_identifier=facts.current_identifier,
        current_number=facts.current_number,
        status=facts.status,
        license_type=facts.license_type,
        license_number=facts.license_number,
        issuer_name=facts.issuer_name,
        issuer_code=facts.issuer_code,
        holder_name_masked=facts.holder_name_masked,
        valid_from=facts.valid_from,
        valid_until=facts.valid_until,
        reasons=[r.code for r in report.reasons],
    )


@router.get(
    "/public/licenses/{identifier}/status",
    response_model=PublicStatus,
    summary="The current status of a license (no key needed; no holder ID)",
)
async def public_status(
    identifier: Annotated[str, Path(max_length=128)], state: PublicStateDep
) -> Response:
    # This is the route relying parties call most: its one indexed read stays on the
    # event loop where that is cheaper than the hop to a thread (see library_read).
    report = await library_read(state, partial(state.verifier.status_of, identifier))
    return json_response(_public(report, identifier))


#: A license's status (and a revocation's kind) in words, with the code beside them: the
#: holder's list shows it so (``holder``); the public page shows words only.
STATUS_TEXT: dict[str, str] = {key: zh for key, (zh, _en) in R.STATUS_TEXT.items()}


def status_html(status: str, revocation_kind: str | None = None) -> str:
    zh, _en = R.status_words(status, revocation_kind)
    if zh == status:
        return html.escape(status)
    return f"{html.escape(zh)} <small>{html.escape(status)}</small>"


@dataclass(frozen=True)
class FactLine:
    """One line of the page's facts: its label, and words (or a code shown as it is)."""

    key: str
    label: Words
    value: Words | str
    #: An identifier or number: shown verbatim, broken only after its dots.
    code: bool = False

    @property
    def code_markup(self) -> Markup:
        """The code, escaped, with a line-break chance after each dot and nowhere else."""
        return _BREAK.join(str(self.value).split("."))


_BREAK = Markup(".<wbr>")


#: What the check consulted, in words.
_SCOPE_TEXT: dict[Scope, Words] = {
    Scope.ONLINE: ("联网核验：已核对证照库中的现行状态", "Checked online against the library"),
    Scope.OFFLINE: ("离线核验：未核对证照库状态", "Offline: the library was not consulted"),
}
_STATUS_ONLY_TEXT: Words = (
    "按证照标识查询证照库中的状态",
    "The library's status of the identifier typed",
)
_CHECK_MARKS = {"passed": "✓", "failed": "✕", "not_checked": "–"}
_CHECK_STATES: dict[str, Words] = {
    "passed": ("通过", "passed"),
    "failed": ("未通过", "failed"),
    "not_checked": ("未核对", "not checked"),
}


def _facts(
    report: VerificationReport, license_type: LicenseType | None, zone: ZoneInfo
) -> list[FactLine]:
    """The facts a person may see, in the order they ask for them; absent ones left out."""
    facts = report.facts
    lines: list[FactLine] = []
    if license_type is not None:
        lines.append(
            FactLine(
                "license_type", ("证照类型", "Type"), (license_type.name_zh, license_type.name_en)
            )
        )
    elif facts.license_type:
        lines.append(FactLine("license_type", ("证照类型", "Type"), facts.license_type, code=True))
    if facts.license_number:
        number = facts.license_number
        lines.append(FactLine("license_number", ("证照编号", "Number"), (number, number)))
    if facts.identifier:
        lines.append(FactLine("identifier", ("证照标识", "Identifier"), facts.identifier, True))
    if facts.issuer_name:
        lines.append(FactLine("issuer_name", ("颁发机构", "Issuer"), (facts.issuer_name,) * 2))
    elif facts.issuer_code:
        lines.append(
            FactLine("issuer_code", ("颁发机构代码", "Issuer code"), facts.issuer_code, True)
        )
    if facts.holder_name_masked:
        lines.append(FactLine("holder", ("持证主体", "Holder"), (facts.holder_name_masked,) * 2))
    period = validity(facts.valid_from, facts.valid_until)
    if period is not None:
        lines.append(FactLine("validity", ("有效期", "Valid"), period))
    status = status_text(facts.status, facts.revocation_kind, facts.status_since, zone)
    if status is not None:
        lines.append(FactLine("status", ("当前状态", "Status"), status))
    if facts.status_reason:
        lines.append(FactLine("status_reason", ("原因", "Reason"), (facts.status_reason,) * 2))
    if facts.current_identifier:
        lines.append(
            FactLine(
                "current_identifier",
                ("现行版本", "Version in force"),
                facts.current_identifier,
                True,
            )
        )
    if facts.current_number:
        lines.append(
            FactLine("current_number", ("现行版本编号", "Its number"), facts.current_number, True)
        )
    if facts.signing_time is not None:
        moment = facts.signing_time.astimezone(zone)
        lines.append(
            FactLine(
                "signing_time",
                ("盖章时间", "Sealed at"),
                (R.people_time(moment, zone), f"{moment:%Y-%m-%d %H:%M}"),
            )
        )
    return lines


@router.get(
    "/v/{token}",
    response_class=HTMLResponse,
    summary="The page a scanned license or presentation QR code opens",
)
async def scanned(
    token: Annotated[str, Path(max_length=MAX_TOKEN_LENGTH)],
    state: PublicStateDep,
    request: Request,
) -> HTMLResponse:
    verifier = state.verifier
    # The check only reads (a bounded decoder, a signature checked once per printed
    # token, one indexed read): on the event loop on SQLite, as the status route is
    # (see library_read). A presentation code that passed is recorded, and a
    # single-use one used up, in a thread: that commits.
    check = await library_read(
        state, partial(verifier.check_token, token, checked_by="public page")
    )
    if check.use is None:
        report = check.report
    else:
        report = await run_in_threadpool(record_token_check, verifier.library, check)
    state.metrics.verifications.labels("public_page", report.verdict.value).inc()
    return scanned_page(request, state, report)


def scanned_page(
    request: Request, state: ApiState, report: VerificationReport, *, status_only: bool = False
) -> HTMLResponse:
    """The page of a report for anyone: the QR page, or (``status_only``) an identifier's
    status looked up from the home page."""
    zone = state.services.settings.zone
    summary = summarise(report, VERDICT_TEXT[report.verdict], zone, status_only=status_only)
    # A code meant for a named verifier or purpose: where to take it, and nothing of the
    # license (not even what the token itself says).
    elsewhere = summary.standing is Standing.ELSEWHERE
    return render(
        request,
        "public/scanned.html",
        summary=summary,
        verdict="elsewhere" if elsewhere else report.verdict.value,
        scope=report.scope.value,
        scope_text=_STATUS_ONLY_TEXT if status_only else _SCOPE_TEXT[report.scope],
        check_states=_CHECK_STATES,
        check_marks=_CHECK_MARKS,
        facts=[] if elsewhere else _facts(report, _license_type(state, report), zone),
        issuer=None if elsewhere else report.facts.issuer_name,
        checked_at=R.people_time(report.checked_at, zone) if report.checked_at else None,
    )


def _license_type(state: ApiState, report: VerificationReport) -> LicenseType | None:
    """The type a report names, for its name in words; None when unknown here."""
    if report.facts.license_type is None:
        return None
    try:
        return get_type(state.licenses.types, report.facts.license_type)
    except NotFoundError:
        return None
