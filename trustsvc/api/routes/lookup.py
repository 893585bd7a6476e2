"""Cross-department lookup (数据共享): a verifier asks what a holder holds, for a stated purpose,
on its own account or under a holder's grant (授权, ``?grant=``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trustsvc.api.deps import ApiState, StateDep, VerifierDep
from trustsvc.api.errors import KEY_PROBLEMS, problem_responses
from trustsvc.api.schemas import LookupOut
from trustsvc.errors import TrustServiceError
from trustsvc.holders.grants import GRANT_ID_LENGTH, GrantConsent
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
Grant = Annotated[
    str | None,
    Query(
        max_length=GRANT_ID_LENGTH,
        description="The holder's grant (授权) this lookup is made under; answers its license only",
    ),
]
AgentId = Annotated[
    str | None,
    Query(max_length=40, description="Under a grant to an agent: the agent's ID number"),
]
AgentIdType = Annotated[
    str | None, Query(max_length=3, description="The agent's ID type code (default 111)")
]


def _consent(
    state: ApiState, grant: str | None, agent_id: str | None, agent_id_type: str | None
) -> GrantConsent | None:
    """The grant a lookup names, checked inside the lookup (so a refusal is recorded)."""
    if grant is None or not grant.strip():
        return None
    return GrantConsent(
        state.services.database,
        state.services.clock,
        state.data_key,
        grant,
        agent_id,
        agent_id_type,
    )


def _answer(
    state: ApiState,
    client: Client,
    holder_id: str,
    holder_id_type: str | None,
    purpose: str | None,
    type_key: str | None,
    consent: GrantConsent | None,
) -> LookupOut:
    try:
        answer: LookupAnswer = lookup(
            state.services.database,
            state.data_key,
            state.licenses,
            client,
            holder_id=holder_id,
            holder_id_type=holder_id_type,
            purpose=purpose,
            record=state.access_log,
            type_key=type_key,
            refusals=state.refusals,
            grant=consent,
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
    grant: Grant = None,
    agent_id: AgentId = None,
    agent_id_type: AgentIdType = None,
) -> LookupOut:
    consent = _consent(state, grant, agent_id, agent_id_type)
    return _answer(state, client, holder_id, holder_id_type, purpose, license_type, consent)


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
    grant: Grant = None,
    agent_id: AgentId = None,
    agent_id_type: AgentIdType = None,
) -> LookupOut:
    consent = _consent(state, grant, agent_id, agent_id_type)
    return _answer(state, client, holder_id, holder_id_type, purpose, None, consent)
