"""The API's request and response bodies (pydantic), mapped from the domain's dataclasses."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Literal

from fastapi import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from trustsvc.audit.access_reading import AccessEntry, AccessPage
from trustsvc.audit.operators import OperatorEntry
from trustsvc.errors import InvalidInputError
from trustsvc.holders.grants import Grant
from trustsvc.licenses.batch import check_row
from trustsvc.licenses.jobs import MAX_ROWS, JobView
from trustsvc.licenses.requests import LicenseHistory, LicenseView
from trustsvc.sharing.clients import MAX_PURPOSES, MAX_RATE_LIMIT, ClientInfo
from trustsvc.sharing.lookups import LookupAnswer, SharedLicense
from trustsvc.sharing.purposes import Purpose
from trustsvc.text import is_encodable
from trustsvc.verification.report import VERDICT_TEXT, Scope, Verdict, VerificationReport


def _contains_nul(value: object) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _all_encodable(value: object) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not is_encodable(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


class _Body(BaseModel):
    """A request body: unknown fields are refused, and so is a NUL character anywhere.

    PostgreSQL text cannot hold NUL, so a name or a reason with one would fail in
    the database, as a 500, instead of as the invalid input it is.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if _contains_nul(data):
            raise ValueError("text may not contain NUL characters")
        if not _all_encodable(data):
            raise ValueError("text must be valid Unicode (a lone surrogate was given)")
        return data


def _flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """License data is one flat row: bounded keys, text or number values (as batch rows)."""
    try:
        check_row(row)
    except InvalidInputError as exc:
        raise ValueError(exc.message) from None
    return row


class IssueBody(_Body):
    type: str = Field(
        min_length=1, max_length=64, description="License type key, e.g. business-license"
    )
    data: dict[str, Any] = Field(
        description="The license's data, as `trustsvc types example` shows"
    )

    _data_is_flat = field_validator("data")(_flat_row)


class ChangeBody(_Body):
    changes: dict[str, Any] = Field(description="Fields to change; the rest is carried over")
    reason: str = Field(min_length=1, max_length=500, description="Why (变更事由)")

    _changes_are_flat = field_validator("changes")(_flat_row)


class ReasonBody(_Body):
    reason: str | None = Field(default=None, max_length=500)


class RevokeBody(_Body):
    """A revocation: which it is (注销 cancelled, 吊销 withdrawn as a sanction) and why."""

    kind: Literal["cancelled", "withdrawn"] = Field(
        description="cancelled: 注销 (on request, no longer needed); withdrawn: 吊销 (a sanction)"
    )
    reason: str = Field(min_length=1, max_length=500)


class BatchBody(_Body):
    type: str = Field(min_length=1, max_length=64)
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ROWS)


class LicenseOut(BaseModel):
    """A license as its issuer sees it (the holder ID masked)."""

    identifier: str
    license_number: str
    version: int
    type_key: str
    type_name: str
    issuer_code: str
    issuer_name: str
    holder_name: str
    holder_id_type: str
    holder_id_masked: str
    fields: dict[str, str]
    valid_from: date
    valid_until: date | None
    issued_at: datetime
    status: str
    status_reason: str | None
    sha256: str
    supersedes: str | None
    revocation_kind: Literal["cancelled", "withdrawn"] | None = Field(
        default=None, description="A revocation's kind: cancelled (注销) or withdrawn (吊销)"
    )

    @classmethod
    def of(cls, view: LicenseView) -> LicenseOut:
        return cls(**asdict(view))


class LicenseEventOut(BaseModel):
    """One lifecycle event: who did what to which version, when (UTC) and why."""

    identifier: str
    version: int
    action: str
    actor: str
    reason: str | None
    from_status: str | None
    to_status: str
    at: datetime


class LicenseHistoryOut(BaseModel):
    """Every lifecycle event of a license, across its versions, oldest first."""

    identifier: str
    license_number: str
    events: list[LicenseEventOut]

    @classmethod
    def of(cls, history: LicenseHistory) -> LicenseHistoryOut:
        return cls(
            identifier=history.identifier,
            license_number=history.license_number,
            events=[LicenseEventOut(**asdict(e)) for e in history.events],
        )


class LicensePage(BaseModel):
    items: list[LicenseOut]
    limit: int
    offset: int
    next_offset: int | None


class JobOut(BaseModel):
    id: str
    status: str
    license_type: str
    total: int
    done: int
    issued: int
    already_issued: int
    errors: int
    results: list[dict[str, Any]]
    created_at: datetime
    finished_at: datetime | None
    #: Rows not issued because they repeat an earlier row or a license the holder holds.
    duplicates: int = 0

    @classmethod
    def of(cls, view: JobView) -> JobOut:
        return cls(**asdict(view))


class ReasonOut(BaseModel):
    code: str
    verdict: Verdict
    message_zh: str
    message_en: str


class FactsOut(BaseModel):
    identifier: str | None
    license_type: str | None
    license_number: str | None
    issuer_name: str | None
    issuer_code: str | None
    seal_subject: str | None
    seal_serial: str | None
    signing_time: datetime | None
    timestamp_authority: str | None
    holder_name_masked: str | None
    valid_from: date | None
    valid_until: date | None
    status: str | None
    status_since: datetime | None = Field(
        default=None, description="When the license stopped being in force (UTC)"
    )
    status_reason: str | None = None
    revocation_kind: Literal["cancelled", "withdrawn"] | None = Field(
        default=None, description="A revocation's kind: cancelled (注销) or withdrawn (吊销)"
    )
    current_identifier: str | None = Field(
        default=None, description="For a superseded license: the identifier of the version in force"
    )
    current_number: str | None = Field(
        default=None, description="For a superseded license: the number of the version in force"
    )
    annotation: str | None = Field(
        default=None,
        description="A purpose-annotated copy (加注件): the service's sealed note over the license",
    )
    annotation_purpose: str | None = Field(
        default=None, description="The one purpose (用证事由) an annotated copy is for"
    )
    log_index: int | None = Field(
        default=None,
        description="The transparency-log index of the license's latest entry "
        "(GET /api/v1/licenses/{identifier}/proof proves it)",
    )


class VerificationOut(BaseModel):
    """The verdict (see ``Verdict``), its reasons and facts, and what could be consulted.

    ``valid`` is true only for ``valid``: an offline ``valid_offline`` is not.
    """

    verdict: Verdict
    verdict_zh: str
    verdict_en: str
    scope: Scope = Field(description="online: library and revocation consulted; offline: not")
    valid: bool
    reasons: list[ReasonOut]
    facts: FactsOut
    checked_at: datetime | None

    @classmethod
    def of(cls, report: VerificationReport) -> VerificationOut:
        return cls(
            verdict=report.verdict,
            verdict_zh=VERDICT_TEXT[report.verdict][0],
            verdict_en=VERDICT_TEXT[report.verdict][1],
            scope=report.scope,
            valid=report.is_valid,
            reasons=[
                ReasonOut(
                    code=r.code,
                    verdict=r.verdict,
                    message_zh=r.message_zh,
                    message_en=r.message_en,
                )
                for r in report.reasons
            ],
            facts=FactsOut(**vars(report.facts)),  # flat: asdict's deep copy is not needed
            checked_at=report.checked_at,
        )


class SharedLicenseOut(BaseModel):
    identifier: str
    license_type: str
    type_name: str
    license_number: str
    issuer_code: str
    issuer_name: str
    holder_name_masked: str
    valid_from: date
    valid_until: date | None
    status: str

    @classmethod
    def of(cls, shared: SharedLicense) -> SharedLicenseOut:
        return cls(**asdict(shared))


class LookupOut(BaseModel):
    """Whether the holder holds a current license (of the type asked), with minimal facts."""

    holds: bool
    licenses: list[SharedLicenseOut]

    @classmethod
    def of(cls, answer: LookupAnswer) -> LookupOut:
        return cls(holds=answer.holds, licenses=[SharedLicenseOut.of(s) for s in answer.licenses])


class AccessEntryOut(BaseModel):
    at: datetime
    actor: str
    actor_department: str | None
    action: str
    purpose: str | None
    outcome: str
    refusal: str | None
    licenses: list[str]
    answer: str | None
    count: int = Field(default=1, description="Rows this line stands for (repeated refusals)")
    first_at: datetime | None = Field(default=None, description="The earliest of them")
    grant_id: str | None = Field(
        default=None, description="The holder's grant (授权) the use was made under"
    )
    log_index: int | None = Field(
        default=None, description="The row's entry in the transparency log (its latest row's)"
    )

    @classmethod
    def of(cls, entry: AccessEntry) -> AccessEntryOut:
        values = asdict(entry)
        values["licenses"] = list(entry.licenses)
        return cls(**values)


class AccessPageOut(BaseModel):
    """One page of a holder's access record: its uses, or its refused attempts."""

    section: str
    entries: list[AccessEntryOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")

    @classmethod
    def of(cls, page: AccessPage) -> AccessPageOut:
        return cls(
            section=page.section.value,
            entries=[AccessEntryOut.of(e) for e in page.entries],
            next_cursor=page.next_cursor,
        )


class VerifierOut(BaseModel):
    """A verifier a holder may name on a presentation code."""

    name: str
    department_name: str | None
    purposes: list[str]


class ClientBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(issuer|verifier|admin)$")
    department_code: str | None = Field(default=None, max_length=18)
    purposes: list[str] = Field(default_factory=list, max_length=MAX_PURPOSES)
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=MAX_RATE_LIMIT)


class RotateBody(_Body):
    grace_seconds: int = Field(default=0, ge=0, le=30 * 86400)


class PurposeOut(BaseModel):
    """A purpose (用证事由) of the catalogue and the license types it may see."""

    name: str
    types: list[str]
    created_at: datetime
    migrated: bool

    @classmethod
    def of(cls, purpose: Purpose) -> PurposeOut:
        return cls(
            name=purpose.name,
            types=list(purpose.types),
            created_at=purpose.created_at,
            migrated=purpose.migrated,
        )


class ClientOut(BaseModel):
    name: str
    role: str
    department_code: str | None
    department_name: str | None
    purposes: list[str]
    rate_limit_per_minute: int | None
    created_at: datetime
    revoked_at: datetime | None
    active_keys: list[str]

    @classmethod
    def of(cls, info: ClientInfo) -> ClientOut:
        client = info.client
        return cls(
            name=client.name,
            role=client.role.value,
            department_code=client.department_code,
            department_name=client.department_name,
            purposes=list(client.purposes),
            rate_limit_per_minute=client.rate_limit_per_minute,
            created_at=info.created_at,
            revoked_at=info.revoked_at,
            active_keys=list(info.active_keys),
        )


class OperatorEventOut(BaseModel):
    """One row of the operator record."""

    id: int
    at: datetime
    actor: str
    origin: str
    action: str
    target: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: OperatorEntry) -> OperatorEventOut:
        return cls(**asdict(entry))


class OperatorEventPage(BaseModel):
    """A page of the operator record, newest first; ask again with ``before=next_before``."""

    items: list[OperatorEventOut]
    next_before: int | None


class NewKeyOut(BaseModel):
    """A key, shown this once: keep it secret, it is not stored."""

    client: str
    key_id: str
    api_key: str


class PresentationBody(_Body):
    lifetime_seconds: int | None = Field(default=None, ge=30, le=86400)
    single_use: bool = False
    purpose: str | None = Field(default=None, max_length=200)
    intended_verifier: str | None = Field(default=None, max_length=200)


class GrantBody(_Body):
    """A holder's grant (授权): one license, one grantee, one purpose, one period.

    Name the grantee by the fields of its kind: an agent by ``agent_id_number``
    (``agent_id_type``, default 111) and ``agent_name``; a client by ``client``;
    a department by ``department_code``.
    """

    identifier: str = Field(min_length=1, max_length=128)
    grantee_kind: Literal["agent", "client", "department"]
    purpose: str = Field(min_length=1, max_length=200)
    valid_from: AwareDatetime | None = Field(default=None, description="Default: now")
    valid_until: AwareDatetime
    agent_id_type: str | None = Field(default=None, max_length=3)
    agent_id_number: str | None = Field(default=None, max_length=40)
    agent_name: str | None = Field(default=None, max_length=100)
    client: str | None = Field(default=None, max_length=200)
    department_code: str | None = Field(default=None, max_length=18)


class GrantOut(BaseModel):
    id: str = Field(description="The grant's id: what a lookup under it names (?grant=)")
    identifier: str
    license_number: str
    type_key: str
    grantee_kind: str
    grantee: str
    purpose: str
    valid_from: datetime
    valid_until: datetime
    created_at: datetime
    withdrawn_at: datetime | None
    status: str = Field(description="scheduled, current, ended or withdrawn")
    uses: int = Field(description="Lookups answered under it so far")

    @classmethod
    def of(cls, grant: Grant) -> GrantOut:
        values = asdict(grant)
        values["grantee_kind"] = values.pop("kind")
        return cls(**values)


class PresentationOut(BaseModel):
    token: str
    link: str
    identifier: str
    expires_at: datetime
    single_use: bool
    purpose: str | None
    intended_verifier: str | None


class HolderOut(BaseModel):
    holder_id_type: str
    holder_id_masked: str
    name: str | None
    signed_in_with: str


class HolderLicenseOut(BaseModel):
    identifier: str
    license_number: str
    type_key: str
    type_name: str
    issuer_name: str
    valid_from: date
    valid_until: date | None
    status: str
    pdf: str


def json_response(model: BaseModel) -> Response:
    """The model as JSON, sent as is.

    For the hottest routes: FastAPI would otherwise validate the model it was
    just built from against the same schema before serialising it. The route
    still declares its ``response_model``, so the OpenAPI is unchanged.
    """
    return Response(model.model_dump_json(), media_type="application/json")
