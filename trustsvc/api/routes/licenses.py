"""Issuer routes: a department's approval system issues and manages its own licenses.

An issuer key acts for one department and reaches only that department's
licenses and batch jobs; everything here is recorded in the license events
with the client's name as the actor. A license is named in a path by its
identifier or by its printed number (证照编号, looked up among the
department's own licenses; one that names several is refused, 409).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.concurrency import run_in_threadpool

from trustsvc.api.deps import IssuerDep, IssuerOrVerifierDep, StateDep, pdf_download, proof_download
from trustsvc.api.errors import KEY_PROBLEMS, problem_responses
from trustsvc.api.routes.verify import Purpose
from trustsvc.api.schemas import (
    BatchBody,
    ChangeBody,
    IssueBody,
    JobOut,
    LicenseHistoryOut,
    LicenseOut,
    LicensePage,
    ReasonBody,
    RevokeBody,
)
from trustsvc.audit.access_record import Access, AccessAction, Outcome
from trustsvc.audit.proofs import license_proof
from trustsvc.db.models import ClientRole
from trustsvc.errors import ForbiddenError, InvalidInputError
from trustsvc.licenses import library
from trustsvc.licenses.jobs import get_job, submit_job
from trustsvc.licenses.requests import IssueRequest, LicenseView
from trustsvc.sharing.clients import Client
from trustsvc.sharing.lookups import infer_holder_id_type

router = APIRouter(
    prefix="/api/v1", tags=["issuers"], responses=problem_responses(400, *KEY_PROBLEMS, 404, 409)
)

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Required: the same key with the same request returns the first answer",
    ),
]


def _actor(client: Client) -> str:
    return f"api:{client.name}"


def _department(client: Client) -> str:
    assert client.department_code is not None  # every issuer client has one
    return client.department_code


def _own(client: Client, view: LicenseView) -> LicenseView:
    if view.issuer_code != client.department_code:
        raise ForbiddenError(f"license {view.identifier} belongs to another department")
    return view


@router.post(
    "/licenses",
    response_model=LicenseOut,
    status_code=201,
    summary="Issue a license (render, seal, timestamp, store); idempotent",
    responses={
        200: {"description": "An earlier request with this key was replayed"},
        **problem_responses(413, 503, 507),
    },
)
def issue(
    body: IssueBody, key: IdempotencyKey, client: IssuerDep, state: StateDep, response: Response
) -> LicenseOut:
    result = state.licenses.issue(
        IssueRequest(_department(client), body.type, body.data, key, _actor(client))
    )
    if result.created:
        state.metrics.issued.labels(result.license.type_key).inc()
    else:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/licenses/{result.license.identifier}"
    return LicenseOut.of(result.license)


@router.post(
    "/licenses/batch",
    response_model=JobOut,
    status_code=202,
    summary="Issue many licenses as a background job; progress at /api/v1/jobs/{id}",
    responses=problem_responses(413),
)
def issue_batch(
    body: BatchBody, key: IdempotencyKey, client: IssuerDep, state: StateDep, response: Response
) -> JobOut:
    job, created = submit_job(
        state.services.database,
        state.services.clock,
        state.data_key,
        state.licenses.types,
        client.id,
        _department(client),
        body.type,
        body.rows,
        key,
    )
    if created:
        state.jobs.wake()
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A batch job's progress and results")
def job(job_id: str, client: IssuerDep, state: StateDep) -> JobOut:
    return JobOut.of(get_job(state.services.database, job_id, _department(client)))


@router.get("/licenses", response_model=LicensePage, summary="The department's licenses")
def list_licenses(
    client: IssuerDep,
    state: StateDep,
    holder_id: Annotated[str | None, Query(max_length=40)] = None,
    holder_id_type: Annotated[str | None, Query(max_length=3)] = None,
    license_type: Annotated[str | None, Query(alias="type", max_length=64)] = None,
    status: library.EffectiveStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> LicensePage:
    if holder_id is not None and holder_id_type is None:
        holder_id_type = infer_holder_id_type(holder_id)
    if license_type is not None and license_type not in state.licenses.types:
        raise InvalidInputError(f"unknown license type {license_type!r}")
    query = library.LicenseQuery(
        department_code=_department(client),
        type_key=license_type,
        effective_status=status,
        today=state.licenses.today(),
        limit=limit + 1,
        offset=offset,
    )
    views = state.licenses.search(query, holder_id=holder_id, holder_id_type=holder_id_type)
    return LicensePage(
        items=[LicenseOut.of(v) for v in views[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(views) > limit else None,
    )


@router.get("/licenses/{identifier}", response_model=LicenseOut, summary="One license")
def show(identifier: str, client: IssuerDep, state: StateDep) -> LicenseOut:
    return LicenseOut.of(_view(client, state, identifier))


def _view(client: Client, state: StateDep, key: str) -> LicenseView:
    """The license ``key`` (identifier or number) names, if it is the client's department's."""
    return _own(client, state.licenses.show(key, _department(client)))


@router.get(
    "/licenses/{identifier}/history",
    response_model=LicenseHistoryOut,
    summary="Every lifecycle event of a license (who, when, why, from and to status)",
)
def history(identifier: str, client: IssuerDep, state: StateDep) -> LicenseHistoryOut:
    view = _view(client, state, identifier)
    return LicenseHistoryOut.of(state.licenses.history(view.identifier))


@router.get(
    "/licenses/{identifier}/pdf",
    response_class=Response,
    summary="The sealed PDF",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def pdf(identifier: str, client: IssuerDep, state: StateDep) -> Response:
    view = await run_in_threadpool(_view, client, state, identifier)
    document = await run_in_threadpool(state.licenses.document, view.identifier)
    return pdf_download(document, view.identifier, view.license_number)


@router.get(
    "/licenses/{identifier}/proof",
    response_class=Response,
    summary="A C2SP tlog-proof of the license's latest entry in the transparency log",
    description="The entry's index, its inclusion proof, the published (cosigned) checkpoint "
    "and the entry itself as the proof's extra data: checkable offline with "
    "`trustsvc ledger check-proof` and the log's and witnesses' keys alone. 409 while "
    "the entry is not yet in a published checkpoint. For the issuer of the license's "
    "department, and for verifiers (the log's tiles are public, so a proof reveals nothing "
    "new; a verifier's fetch is recorded in the holder's access record, with the purpose "
    "if one is stated). The holder has their own: `/api/v1/me/licenses/{identifier}/proof`.",
    responses={200: {"content": {"text/plain": {}}}},
)
async def proof(
    identifier: str, client: IssuerOrVerifierDep, state: StateDep, purpose: Purpose = None
) -> Response:
    if client.role is ClientRole.ISSUER:
        view = await run_in_threadpool(_view, client, state, identifier)
        bundle = await run_in_threadpool(license_proof, state.services.database, view.identifier)
        return proof_download(bundle, view.identifier)
    stated = client.stated_purpose(purpose)
    view = await run_in_threadpool(state.licenses.show, identifier)
    bundle = await run_in_threadpool(license_proof, state.services.database, view.identifier)
    await state.access_log.record(
        client,
        Access(
            AccessAction.LOG_PROOF,
            Outcome.ANSWERED,
            purpose=stated,
            license_type=view.type_key,
            returned=[view.identifier],
            answer="log_proof",
            license_identifier=view.identifier,
        ),
    )
    return proof_download(bundle, view.identifier)


@router.post(
    "/licenses/{identifier}/change",
    response_model=LicenseOut,
    status_code=201,
    summary="变更: issue the next version with changes; the old one is superseded",
)
def change(identifier: str, body: ChangeBody, client: IssuerDep, state: StateDep) -> LicenseOut:
    view = _view(client, state, identifier)
    result = state.licenses.change(view.identifier, body.changes, _actor(client), body.reason)
    state.metrics.issued.labels(result.license.type_key).inc()
    return LicenseOut.of(result.license)


def _transition(
    identifier: str, action: library.Action, body: ReasonBody, client: Client, state: StateDep
) -> LicenseOut:
    view = _view(client, state, identifier)
    return LicenseOut.of(
        state.licenses.transition(view.identifier, action, _actor(client), body.reason)
    )


@router.post("/licenses/{identifier}/suspend", response_model=LicenseOut, summary="Suspend")
def suspend(identifier: str, body: ReasonBody, client: IssuerDep, state: StateDep) -> LicenseOut:
    return _transition(identifier, library.Action.SUSPEND, body, client, state)


@router.post("/licenses/{identifier}/resume", response_model=LicenseOut, summary="Resume")
def resume(identifier: str, body: ReasonBody, client: IssuerDep, state: StateDep) -> LicenseOut:
    return _transition(identifier, library.Action.RESUME, body, client, state)


@router.post(
    "/licenses/{identifier}/revoke",
    response_model=LicenseOut,
    summary="Revoke: 注销 (kind cancelled) or 吊销 (kind withdrawn), with the reason",
)
def revoke(identifier: str, body: RevokeBody, client: IssuerDep, state: StateDep) -> LicenseOut:
    _own(client, state.licenses.show(identifier))
    view = state.licenses.transition(
        identifier,
        library.Action.REVOKE,
        _actor(client),
        body.reason,
        revocation_kind=library.RevocationKind(body.kind),
    )
    return LicenseOut.of(view)
