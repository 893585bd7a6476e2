"""Verification routes: a verifier client checks a sealed PDF or a QR token.

The verdict is the verifier's (see ``trustsvc.verification``); what the API
adds is the record: each verification of a license in the library lands in
its holder's access record with the client and the purpose it stated. A
presentation code that does not admit this client (it names another verifier,
or a purpose the client did not state) is recorded as a refused attempt, and
counts against the client's refusal budget.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from trustsvc.api.deps import (
    ApiState,
    StateDep,
    VerifierDep,
    library_read,
    read_bounded_body,
    state_of,
)
from trustsvc.api.errors import KEY_PROBLEMS, problem_responses
from trustsvc.api.schemas import VerificationOut, json_response
from trustsvc.audit.access_record import Access, AccessAction, Outcome
from trustsvc.errors import InvalidInputError, RateLimitedError
from trustsvc.sharing.clients import Client
from trustsvc.sharing.refusals import LIMIT_REACHED
from trustsvc.tokens.decoding import MAX_TOKEN_LENGTH, try_parse_token
from trustsvc.verification import reasons as R
from trustsvc.verification.checkers import Checker
from trustsvc.verification.recording import record_token_check
from trustsvc.verification.report import VerificationReport
from trustsvc.verification.verifier import DEFAULT_MAX_BYTES

router = APIRouter(
    prefix="/api/v1", tags=["verifiers"], responses=problem_responses(*KEY_PROBLEMS, 413)
)

Purpose = Annotated[
    str | None,
    Query(max_length=200, description="Why (用证事由); one of the client's purposes when given"),
]


async def _record(
    state: ApiState,
    client: Client,
    action: AccessAction,
    purpose: str | None,
    report: VerificationReport,
) -> None:
    """Count the verification and record it; returns once the record is committed."""
    identifier = report.facts.identifier
    state.metrics.verified(action.value, report)
    await state.access_log.record(
        client,
        Access(
            action,
            Outcome.ANSWERED,
            purpose=purpose,
            returned=[identifier] if identifier else [],
            answer=report.verdict.value,
            license_identifier=identifier,
        ),
    )


async def _record_refused_check(
    state: ApiState, client: Client, purpose: str | None, report: VerificationReport, refusal: str
) -> None:
    """A presentation code this client may not check: a refused attempt, within its budget."""
    state.metrics.verified("presentation_check", report)
    overdrawn = state.refusals.spend(client.id)
    if overdrawn is None or overdrawn.first:
        await state.access_log.record(
            client,
            Access(
                AccessAction.PRESENTATION_CHECK,
                Outcome.REFUSED,
                purpose=purpose,
                refusal=refusal if overdrawn is None else LIMIT_REACHED,
                license_identifier=report.facts.identifier,
            ),
        )
    if overdrawn is not None:
        raise RateLimitedError(
            f"more than {state.refusals.per_minute} refused checks a minute", overdrawn.retry_after
        )


@router.post(
    "/verify",
    response_model=VerificationOut,
    summary="Verify a sealed PDF (the body is the PDF, Content-Type: application/pdf)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def verify_pdf(
    request: Request, client: VerifierDep, state: StateDep, purpose: Purpose = None
) -> VerificationOut:
    stated = client.stated_purpose(purpose)
    pdf = await read_bounded_body(request, DEFAULT_MAX_BYTES)
    if not pdf:
        raise InvalidInputError("the request body must be the PDF to verify")
    return VerificationOut.of(await check_pdf(state, client, pdf, stated))


async def check_pdf(
    state: ApiState, client: Client, pdf: bytes, stated: str | None
) -> VerificationReport:
    """A verifier client's check of a PDF, recorded: this route's, and the clerk's desk's."""
    # In a child process, which is killed if it runs past the time limit.
    moment = state.services.clock.now()
    report = await run_in_threadpool(state.pdf_verifier.verify_pdf, pdf, moment)
    await _record(state, client, AccessAction.VERIFY_PDF, stated, report)
    return report


@router.get(
    "/verify/token/{token}",
    response_model=VerificationOut,
    summary="Verify a QR token (printed on a license, or a presentation code)",
)
async def verify_token(
    token: Annotated[str, Path(max_length=MAX_TOKEN_LENGTH)],
    client: VerifierDep,
    request: Request,
    purpose: Purpose = None,
) -> Response:
    state = state_of(request)  # not a dependency: on this route each one shows in the rate
    stated = client.stated_purpose(purpose)
    return json_response(VerificationOut.of(await check_token(state, client, token, stated)))


async def check_token(
    state: ApiState, client: Client, token: str, stated: str | None
) -> VerificationReport:
    """A verifier client's check of a QR token, recorded: this route's, and the clerk's desk's."""
    # Decoded once: the kind routes the check, and the verifier takes the result.
    parsed = try_parse_token(token)
    presentation = parsed is not None and parsed.claims.kind == "presentation"
    # A license token is checked on the event loop on SQLite (see library_read): a
    # signature and one indexed read (~0.25 ms) cost less than the hop to a worker
    # thread. That is safe only because the decoder is bounded (``tokens.parse_token``:
    # size first, then a walker over a closed CBOR subset; tens of microseconds for any
    # input, see bench/fuzz_tokens.py).
    # A presentation code's check commits, so it goes to a thread. The access record
    # is awaited.
    decoded = token if parsed is None else parsed
    verifier = state.verifier
    if presentation:
        check = partial(
            verifier.check_token, decoded, checked_by=Checker.of(client), purpose=stated
        )
        # The verifier decides; this route records the check (and uses a single-use code up).
        report = await run_in_threadpool(lambda: record_token_check(verifier.library, check()))
    else:
        license_check = partial(
            verifier.check_token, decoded, checked_by=client.name, purpose=stated
        )
        report = await library_read(
            state, lambda: record_token_check(verifier.library, license_check())
        )
    refused = next(
        (r.code for r in report.reasons if r.code in R.PRESENTATION_CHECKER_REFUSALS), None
    )
    if report.is_valid and presentation:
        # A presentation code that passed was recorded above (record_token_check), as a check.
        state.metrics.verified("verify_token", report)
    elif refused is not None:
        await _record_refused_check(state, client, stated, report, refused)
    else:
        await _record(state, client, AccessAction.VERIFY_TOKEN, stated, report)
    return report
