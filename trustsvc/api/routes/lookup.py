"""Cross-department lookup (数据共享): a verifier asks what a holder holds, for a stated purpose."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trustsvc.api.deps import ApiState, StateDep, VerifierDep
from trustsvc.api.errors import KEY_PROBLEMS, problem_responses
from trustsvc.api.schemas import LookupOut
from trustsvc.errors import TrustServiceError
from trustsvc.sharing.clients import Client
from trustsvc.sharing.lookups import LookupAnswer, lookup

router = APIRouter(
    prefix="/api/v1", tags=["data sharing"], responses=problem_responses(*KEY_PROBLEMS)
)

HolderId = Annotated[str, Query(min_length=1, max_length=40, description="The holder's ID number")]
HolderIdType = Annotated[
    str | None,
    Query(max_length=3, description="Holder ID type code (111, 001, ...); inferred when absent"),
]
Purpose = Annotated[
    str | None,
    Query(max_length=200, description="Required: why (用证事由), one of the client's purposes"),
]


def _answer(
    state: ApiState,
    client: Client,
    holder_id: str,
    holder_id_type: str | None,
    purpose: str | None,
    type_key: str | None,
) -> LookupOut:
    try:
        answer: LookupAnswer = lookup(
            state.licenses,
            client,
            holder_id=holder_id,
            holder_id_type=holder_id_type,
            purpose=purpose,
            record=state.access_log,
            type_key=type_key,
            refusals=state.refusals,
        )
    except TrustServiceError as exc:
        outcome = "rate-limited" if exc.code == "rate-limited" else "refused"
        state.metrics.lookups.labels(outcome).inc()
        raise
    state.metrics.lookups.labels("answered").inc()
    return LookupOut.of(answer)


@router.get(
    "/lookup",
    response_model=LookupOut,
    summary="Does the holder hold a current license of this type? (recorded, purpose required)",
)
def lookup_type(
    holder_id: HolderId,
    license_type: Annotated[str, Query(alias="type", min_length=1, max_length=64)],
    client: VerifierDep,
    state: StateDep,
    holder_id_type: HolderIdType = None,
    purpose: Purpose = None,
) -> LookupOut:
    return _answer(state, client, holder_id, holder_id_type, purpose, license_type)


@router.get(
    "/holders/licenses",
    response_model=LookupOut,
    summary="The holder's current licenses (recorded, purpose required)",
)
def holdings(
    holder_id: HolderId,
    client: VerifierDep,
    state: StateDep,
    holder_id_type: HolderIdType = None,
    purpose: Purpose = None,
) -> LookupOut:
    return _answer(state, client, holder_id, holder_id_type, purpose, None)
