"""The holder's own JSON routes (signed in): licenses, PDFs, presentation codes, the
access record, and grants (授权).

JSON under /api/v1/me for apps and the wallet page's script; the page itself,
/me, is ``trustsvc.api.pages.wallet``. The access record is read a page at a
time in two sections, uses and refused attempts, each with its own cursor.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from trustsvc.api.deps import ApiState, StateDep, pdf_download, proof_download
from trustsvc.api.errors import problem_responses
from trustsvc.api.routes.signin import HolderDep
from trustsvc.api.schemas import (
    AccessPageOut,
    GrantBody,
    GrantOut,
    HolderLicenseOut,
    HolderOut,
    PresentationBody,
    PresentationOut,
    VerifierOut,
)
from trustsvc.audit.access_reading import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Section
from trustsvc.audit.proofs import license_proof
from trustsvc.db.models import GranteeKind
from trustsvc.holders.grants import GRANT_ID_LENGTH, GrantRequest, grant, grants_of, withdraw
from trustsvc.holders.portal import (
    Holder,
    access_record,
    licenses_of,
    own_license,
    present_own,
    verifiers_to_name,
)
from trustsvc.holders.presentation import PresentationCode
from trustsvc.licenses.requests import LicenseView
from trustsvc.sharing.clients import Client

router = APIRouter(tags=["holders"], responses=problem_responses(400, 401, 403, 404, 409, 422))
Identifier = Annotated[str, Path(max_length=128)]


def _license(view: LicenseView) -> HolderLicenseOut:
    return HolderLicenseOut(
        identifier=view.identifier,
        license_number=view.license_number,
        type_key=view.type_key,
        type_name=view.type_name,
        issuer_name=view.issuer_name,
        valid_from=view.valid_from,
        valid_until=view.valid_until,
        status=view.status,
        pdf=f"/api/v1/me/licenses/{view.identifier}/pdf",
    )


@router.get("/api/v1/me", response_model=HolderOut, summary="Who is signed in")
def me(holder: HolderDep) -> HolderOut:
    return HolderOut(
        holder_id_type=holder.id_type,
        holder_id_masked=holder.id_masked,
        name=holder.name,
        signed_in_with=holder.via,
    )


@router.get("/api/v1/me/licenses", response_model=list[HolderLicenseOut], summary="My licenses")
def my_licenses(holder: HolderDep, state: StateDep) -> list[HolderLicenseOut]:
    return [_license(v) for v in licenses_of(state.licenses, holder)]


@router.get(
    "/api/v1/me/licenses/{identifier}/pdf",
    response_class=Response,
    summary="Download my license's sealed PDF",
    responses={200: {"content": {"application/pdf": {}}}},
)
def my_pdf(identifier: Identifier, holder: HolderDep, state: StateDep) -> Response:
    view = own_license(state.services.database, state.licenses, holder, identifier)
    document = state.licenses.document(view.identifier)
    return pdf_download(document, view.identifier, view.license_number)


@router.get(
    "/api/v1/me/licenses/{identifier}/proof",
    response_class=Response,
    summary="My license's C2SP tlog-proof: its latest entry in the transparency log",
    description="As `/api/v1/licenses/{identifier}/proof` gives it: checkable offline with "
    "the log's and witnesses' keys alone. 409 while the entry is not yet in a published "
    "checkpoint.",
    responses={200: {"content": {"text/plain": {}}}},
)
def my_proof(identifier: Identifier, holder: HolderDep, state: StateDep) -> Response:
    view = own_license(state.services.database, state.licenses, holder, identifier)
    return proof_download(license_proof(state.services.database, view.identifier), view.identifier)


def _code(code: PresentationCode) -> PresentationOut:
    return PresentationOut(**asdict(code))


def _present(
    state: ApiState, holder: Holder, identifier: str, body: PresentationBody
) -> PresentationCode:
    return present_own(
        state.services,
        state.licenses,
        holder,
        identifier,
        lifetime=timedelta(seconds=body.lifetime_seconds) if body.lifetime_seconds else None,
        single_use=body.single_use,
        purpose=body.purpose,
        intended_verifier=body.intended_verifier,
    )


@router.post(
    "/api/v1/me/licenses/{identifier}/presentations",
    response_model=PresentationOut,
    status_code=201,
    summary="亮证: a short-lived code to show my license",
)
def my_presentation(
    identifier: Identifier, body: PresentationBody, holder: HolderDep, state: StateDep
) -> PresentationOut:
    return _code(_present(state, holder, identifier, body))


Cursor = Annotated[
    str | None, Query(max_length=96, description="next_cursor of the page before (opaque)")
]


@router.get(
    "/api/v1/me/access-record",
    response_model=AccessPageOut,
    summary="Who looked me up or verified my licenses, when, and why (a page, newest first)",
)
def my_access_record(
    holder: HolderDep,
    state: StateDep,
    section: Annotated[
        Section | None,
        Query(description="uses (the default), or refused attempts; a cursor names its own"),
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> AccessPageOut:
    return AccessPageOut.of(access_record(state.services, holder, section, cursor, limit))


def _verifier(client: Client) -> VerifierOut:
    return VerifierOut(
        name=client.name, department_name=client.department_name, purposes=list(client.purposes)
    )


@router.get(
    "/api/v1/me/verifiers",
    response_model=list[VerifierOut],
    summary="The verifiers I may name on a presentation code, and the purposes each may state",
)
def my_verifiers(holder: HolderDep, state: StateDep) -> list[VerifierOut]:
    return [_verifier(c) for c in verifiers_to_name(state.services)]


def _grant_request(body: GrantBody) -> GrantRequest:
    return GrantRequest(
        identifier=body.identifier,
        kind=GranteeKind(body.grantee_kind),
        purpose=body.purpose,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        agent_id_type=body.agent_id_type,
        agent_id_number=body.agent_id_number,
        agent_name=body.agent_name,
        client_name=body.client,
        department_code=body.department_code,
    )


@router.get(
    "/api/v1/me/grants",
    response_model=list[GrantOut],
    summary="授权: my grants of my licenses' use, newest first, with their status and uses",
)
def my_grants(holder: HolderDep, state: StateDep) -> list[GrantOut]:
    return [
        GrantOut.of(g) for g in grants_of(state.services.database, state.services.clock, holder)
    ]


@router.post(
    "/api/v1/me/grants",
    response_model=GrantOut,
    status_code=201,
    summary="授权: grant an agent, a verifier or a department the use of one license",
)
def my_new_grant(body: GrantBody, holder: HolderDep, state: StateDep) -> GrantOut:
    return GrantOut.of(
        grant(
            state.services.database,
            state.services.clock,
            state.services.settings.zone,
            state.data_key,
            holder,
            _grant_request(body),
        )
    )


@router.delete(
    "/api/v1/me/grants/{grant_id}",
    response_model=GrantOut,
    summary="Withdraw one of my grants now",
)
def my_withdrawal(
    grant_id: Annotated[str, Path(max_length=GRANT_ID_LENGTH)], holder: HolderDep, state: StateDep
) -> GrantOut:
    return GrantOut.of(withdraw(state.services.database, state.services.clock, holder, grant_id))
