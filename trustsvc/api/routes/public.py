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

from datetime import date, datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from trustsvc.api.deps import PublicStateDep, library_read
from trustsvc.api.errors import problem_responses
from trustsvc.api.pages.scanned import scanned_page
from trustsvc.api.schemas import json_response
from trustsvc.tokens.decoding import MAX_TOKEN_LENGTH
from trustsvc.verification import reasons as R
from trustsvc.verification.recording import record_token_check
from trustsvc.verification.report import VERDICT_TEXT, Verdict, VerificationReport

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


#: A license's status (and a revocation's kind) in words, with the code beside them: the
#: holder's list shows it so (``holder``); the public page shows words only.
STATUS_TEXT: dict[str, str] = {key: zh for key, (zh, _en) in R.STATUS_TEXT.items()}


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
    state.metrics.verified("public_page", report)
    return scanned_page(request, state, report)
