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
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from trustsvc.api.deps import ApiState, PublicStateDep, library_read
from trustsvc.api.errors import problem_responses
from trustsvc.api.schemas import json_response
from trustsvc.errors import NotFoundError
from trustsvc.licenses.types import LicenseType, get_type
from trustsvc.tokens.cose import MAX_TOKEN_LENGTH
from trustsvc.verification import reasons as R
from trustsvc.verification.recording import record_token_check
from trustsvc.verification.report import VERDICT_TEXT, Scope, Verdict, VerificationReport

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
    #: The transparency-log index of the license's latest entry.
    log_index: int | None = None


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
        log_index=facts.log_index,
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
    state.metrics.note_altered("public_status", report)
    return json_response(_public(report, identifier))


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
    ("current_identifier", "现行版本", "Version in force"),
    ("current_number", "现行版本编号", "Its number"),
)


#: A license's status in words (Chinese); the pages show the code beside them.
STATUS_TEXT: dict[str, str] = {key: zh for key, (zh, _en) in R.STATUS_TEXT.items()}


def status_html(status: str, revocation_kind: str | None = None) -> str:
    zh, _en = R.status_words(status, revocation_kind)
    if zh == status:
        return html.escape(status)
    return f"{html.escape(zh)} <small>{html.escape(status)}</small>"


def _cell(
    key: str,
    value: object,
    license_type: LicenseType | None,
    zone: ZoneInfo,
    revocation_kind: str | None,
) -> str:
    if key == "status":
        return status_html(str(value), revocation_kind)
    if key == "license_type" and license_type is not None:
        zh, en = license_type.name_zh, license_type.name_en
        return f"{html.escape(zh)} <small>{html.escape(en)}</small>"
    if isinstance(value, datetime):
        return html.escape(R.people_time(value, zone))
    if isinstance(value, date):
        return html.escape(R.people_day(value))
    return html.escape(_text(value))


#: The page's only style, inline (one round trip on a phone); the CSP allows it by its hash.
STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Droid Sans Fallback",sans-serif;
margin:0;background:#f5f5f2;color:#222}
main{max-width:34rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.2rem;margin:0 0 1rem}
.verdict{border-left:.4rem solid #b00000;background:#fff;padding:1rem;margin-bottom:1rem}
.verdict strong{color:#b00000;font-size:1.5rem;display:block}
.verdict.valid{border-left-color:#0b7a3b}
.verdict.valid strong{color:#0b7a3b}
.verdict.elsewhere{border-left-color:#8a6d00}
.verdict.elsewhere strong{color:#8a6d00}
.verdict.code strong{color:#8a6d00}
.verdict.code{border-left-color:#8a6d00}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #eee;vertical-align:top}
td{overflow-wrap:anywhere}
th{width:8rem;font-weight:normal;color:#666}
small{color:#777}
"""


#: What the check consulted, in words.
_SCOPE_TEXT = {
    Scope.ONLINE: "联网核验：已核对证照库状态 · Checked online against the library",
    Scope.OFFLINE: "离线核验：未核对证照库状态 · Offline: the library was not consulted",
}

#: Verdicts about the presentation code only: the license beside them may well be in force.
_CODE_VERDICTS = frozenset({Verdict.PRESENTATION_USED, Verdict.PRESENTATION_EXPIRED})


def _page(report: VerificationReport, license_type: LicenseType | None, zone: ZoneInfo) -> str:
    zh, en = VERDICT_TEXT[report.verdict]
    verdict_class = "verdict valid" if report.is_valid else "verdict"
    if report.verdict in _CODE_VERDICTS:
        verdict_class = "verdict code"
    facts = asdict(report.facts)
    kind = report.facts.revocation_kind
    rows = "".join(
        f"<tr><th>{label_zh}<br><small>{label_en}</small></th>"
        f"<td>{_cell(key, facts[key], license_type, zone, kind)}</td></tr>"
        for key, label_zh, label_en in _FACTS
        if facts.get(key) is not None
    )
    code_note = ""
    if report.verdict in _CODE_VERDICTS:
        # The code is spent, not the license: its status is in the table below.
        code_note = (
            "<p>此亮证码已不能使用，请持证人重新出示。证照本身的状态见下表。<br>"
            "<small>This code can no longer be used: ask the holder to show a fresh code. "
            "The license's own status is shown below.</small></p>"
        )
    reasons = "".join(
        f"<li>{html.escape(r.message_zh)}<br><small>{html.escape(r.message_en)}</small></li>"
        for r in report.reasons
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>电子证照核验 · E-license verification</title>
<style>{STYLE}</style></head><body><main>
<h1>电子证照核验 <small>E-license verification</small></h1>
<section class="{verdict_class}" id="verdict" data-verdict="{report.verdict.value}">
<strong>{zh}</strong><span>{en}</span>
{f"<ul>{reasons}</ul>" if reasons else ""}
{code_note}
<p><small data-scope="{report.scope.value}">{_SCOPE_TEXT[report.scope]}</small></p>
</section>
<table>{rows}</table>
</main></body></html>"""


def _text(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@router.get(
    "/v/{token}",
    response_class=HTMLResponse,
    summary="The page a scanned license or presentation QR code opens",
)
async def scanned(
    token: Annotated[str, Path(max_length=MAX_TOKEN_LENGTH)], state: PublicStateDep
) -> HTMLResponse:
    verifier = state.verifier
    # The verifier decides; this route records a presentation code's check (off the loop).
    report = await run_in_threadpool(
        lambda: record_token_check(
            verifier.library, verifier.check_token(token, checked_by="public page")
        )
    )
    state.metrics.verified("public_page", report)
    if any(r.code in R.PRESENTATION_CHECKER_REFUSALS for r in report.reasons):
        return HTMLResponse(_elsewhere_page(report), status_code=200)
    page = _page(report, _license_type(state, report), state.services.settings.zone)
    return HTMLResponse(page, status_code=200)


def _elsewhere_page(report: VerificationReport) -> str:
    """A code meant for a named verifier or purpose: where to take it, and no license facts."""
    reasons = "".join(
        f"<li>{html.escape(r.message_zh)}<br><small>{html.escape(r.message_en)}</small></li>"
        for r in report.reasons
        if r.code in R.PRESENTATION_CHECKER_REFUSALS
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>电子证照核验 · E-license verification</title>
<style>{STYLE}</style></head><body><main>
<h1>电子证照核验 <small>E-license verification</small></h1>
<section class="verdict elsewhere" id="verdict" data-verdict="elsewhere">
<strong>请到指定的核验方核验</strong><span>To be checked by the verifier it names</span>
<ul>{reasons}</ul>
<p>此码未被使用，证照信息不在此显示。<br>
<small>This code has not been used up here, and the license is not shown.</small></p>
</section>
</main></body></html>"""


def _license_type(state: ApiState, report: VerificationReport) -> LicenseType | None:
    """The type a report names, for its name in words; None when unknown here."""
    if report.facts.license_type is None:
        return None
    try:
        return get_type(state.licenses.types, report.facts.license_type)
    except NotFoundError:
        return None
