"""A holder's authorisations (授权): the use of one license, for one purpose and period,
granted to an agent (代办人, another person), one verifier client, or a department.

A grant is consent recorded, not a key: a lookup on the holder's behalf
names the grant, is admitted only while the grant is current and only for
its license, its purpose and its grantee (the client itself, a verifier
client of the department, or a client stating the agent's ID, who came to the
counter), and is recorded in the holder's access record with the grant's id.
It narrows what a lookup returns and never widens it: the client must still
be allowed the purpose, and the purpose catalogue must still let it see the
license's type (``trustsvc.sharing.lookups``).

The agent's ID is kept only as the library's keyed digest, like a holder's,
with its masked form for the holder's page. A grant nobody could use is
refused when it is made: a purpose no grantee may state, a license that is
not current, a period that has ended. The holder sees every grant and may
withdraw one that has not ended; a withdrawn grant admits nothing more. An
agent signed in as themselves sees the grants naming them, with the holder's
name masked, so they can name one at a counter.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustsvc.audit.events import Actor, ActorKind, EventKind, Noted, moment_text
from trustsvc.audit.recording import record
from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import (
    AccessEvent,
    ApiClient,
    ClientRole,
    Department,
    GranteeKind,
    HolderGrant,
    LicenseRecord,
)
from trustsvc.errors import ConflictError, GrantRefusedError, InvalidInputError, NotFoundError
from trustsvc.holders.portal import Holder
from trustsvc.licenses import library
from trustsvc.licenses.holders import mask_holder_id, mask_holder_name, validate_holder_id
from trustsvc.pki.data_key import DataKey
from trustsvc.sharing.clients import Client, active_verifier
from trustsvc.sharing.purposes import types_of
from trustsvc.text import clean_name

#: The longest a grant may run, and how far ahead it may begin.
MAX_PERIOD = timedelta(days=366)
MAX_LEAD = timedelta(days=366)
#: Grants of one holder that have not ended, at most (a page lists them all).
MAX_OPEN_GRANTS = 100
#: Grants listed on a holder's page at most, newest first.
MAX_LISTED = 200
#: A grant's public id: 16 hexadecimal characters (64 random bits).
GRANT_ID_LENGTH = 16


class GrantFieldError(InvalidInputError):
    """One field of a grant is wrong; ``field`` names it (as ``GrantRequest`` and the
    wallet's form do), so the page can say so beside it."""

    code = "invalid-grant"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def _about(field: str) -> Iterator[None]:
    """Invalid input raised inside is about ``field``."""
    try:
        yield
    except GrantFieldError:
        raise
    except InvalidInputError as exc:
        raise GrantFieldError(field, exc.message) from exc


class GrantStatus(StrEnum):
    """Where a grant stands now; only ``withdraw`` changes one by hand."""

    #: Its period has not begun.
    SCHEDULED = "scheduled"
    CURRENT = "current"
    #: Its period has ended.
    ENDED = "ended"
    WITHDRAWN = "withdrawn"


#: What withdrawing leads from: a grant that has not ended or been withdrawn.
WITHDRAWABLE = frozenset({GrantStatus.SCHEDULED, GrantStatus.CURRENT})


@dataclass(frozen=True)
class GrantRequest:
    """What a holder asks for: the grantee fields of ``kind`` only.

    An agent is named by ID type and number (and, optionally, name); a client
    by its name; a department by its unified social credit code.
    """

    identifier: str
    kind: GranteeKind
    purpose: str
    valid_until: datetime
    valid_from: datetime | None = None
    agent_id_type: str | None = None
    agent_id_number: str | None = None
    agent_name: str | None = None
    client_name: str | None = None
    department_code: str | None = None


@dataclass(frozen=True)
class Grant:
    """A grant as its holder sees it."""

    #: The public id a lookup names.
    id: str
    identifier: str
    license_number: str
    type_key: str
    kind: GranteeKind
    #: The grantee as the holder named it: a masked ID and name, a client's or department's name.
    grantee: str
    purpose: str
    valid_from: datetime
    valid_until: datetime
    created_at: datetime
    withdrawn_at: datetime | None
    status: GrantStatus
    #: Lookups answered under it so far.
    uses: int


def status_of(row: HolderGrant, now: datetime) -> GrantStatus:
    if row.withdrawn_at is not None:
        return GrantStatus.WITHDRAWN
    if now < row.valid_from:
        return GrantStatus.SCHEDULED
    if now >= row.valid_until:
        return GrantStatus.ENDED
    return GrantStatus.CURRENT


def _view(row: HolderGrant, now: datetime, uses: int) -> Grant:
    return Grant(
        id=row.public_id,
        identifier=row.license.identifier,
        license_number=row.license.license_number,
        type_key=row.license.type_key,
        kind=row.grantee_kind,
        grantee=row.grantee_name,
        purpose=row.purpose,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        created_at=row.created_at,
        withdrawn_at=row.withdrawn_at,
        status=status_of(row, now),
        uses=uses,
    )


def _period(request: GrantRequest, now: datetime) -> tuple[datetime, datetime]:
    for moment in (request.valid_from, request.valid_until):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInputError("a grant's period is given with its time zone")
    # A grant starts no earlier than it is made: consent is not given backwards.
    start = max(request.valid_from or now, now)
    end = request.valid_until
    if start > now + MAX_LEAD:
        raise InvalidInputError("a grant begins within a year of being made")
    if end <= start:
        raise InvalidInputError("a grant ends after it begins, and after now")
    if end - start > MAX_PERIOD:
        raise InvalidInputError("a grant lasts at most 366 days")
    return start, end


def _purpose(session: Session, purpose: str, type_key: str) -> str:
    stated = clean_name(purpose, "the purpose", 200)
    if not stated:
        raise InvalidInputError("a grant states its purpose (用证事由)")
    visible = types_of(session, stated)
    if visible is None:
        raise InvalidInputError(f"the purpose {stated!r} is not in the purpose catalogue")
    if type_key not in visible:
        raise InvalidInputError(f"the purpose {stated!r} may not see licenses of this type")
    return stated


def _verifiers_of(session: Session, department_id: int) -> list[tuple[str, ...]]:
    texts = session.scalars(
        select(ApiClient.purposes_json).where(
            ApiClient.department_id == department_id,
            ApiClient.role == ClientRole.VERIFIER,
            ApiClient.revoked_at.is_(None),
        )
    ).all()
    return [tuple(json.loads(text)) for text in texts]


def _grantee(
    data_key: DataKey, session: Session, holder: Holder, request: GrantRequest, purpose: str
) -> HolderGrant:
    """A grant row with its grantee filled in, refused when that grantee could never use it."""
    if request.kind is GranteeKind.AGENT:
        with _about("agent_id_number"):
            id_type = (request.agent_id_type or "111").strip()
            normalised = validate_holder_id(id_type, request.agent_id_number or "")
            digest = data_key.digest(id_type, normalised)
            if digest == holder.digest:
                raise InvalidInputError("an agent is someone other than the holder")
        with _about("agent_name"):
            name = clean_name(request.agent_name or "", "the agent's name", 100)
        masked = mask_holder_id(id_type, normalised)
        return HolderGrant(
            grantee_kind=GranteeKind.AGENT,
            agent_id_digest=digest,
            grantee_name=f"{name} {masked}".strip(),
        )
    if request.kind is GranteeKind.CLIENT:
        client = active_verifier(session, (request.client_name or "").strip())
        if client is None:
            raise GrantFieldError("client", f"there is no verifier named {request.client_name!r}")
        if purpose not in client.purposes:
            raise GrantFieldError(
                "client", f"verifier {client.name!r} may not state the purpose {purpose!r}"
            )
        return HolderGrant(
            grantee_kind=GranteeKind.CLIENT, client_id=client.id, grantee_name=client.name
        )
    code = (request.department_code or "").strip().upper()
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise GrantFieldError("department_code", f"there is no department with the code {code!r}")
    if not any(purpose in purposes for purposes in _verifiers_of(session, department.id)):
        raise GrantFieldError(
            "department_code", f"no verifier of {department.name} may state the purpose {purpose!r}"
        )
    return HolderGrant(
        grantee_kind=GranteeKind.DEPARTMENT,
        department_id=department.id,
        grantee_name=department.name,
    )


def grant(
    database: Database,
    clock: Clock,
    zone: tzinfo,
    data_key: DataKey,
    holder: Holder,
    request: GrantRequest,
) -> Grant:
    """Record the holder's grant of one of their current licenses (one unit of work).

    ``zone``: the service's time zone, whose date says whether the license is current.
    """
    now = clock.now()
    with _about("valid_until"):
        start, end = _period(request, now)
    with database.begin() as session:
        record = library.find(session, request.identifier.strip().upper())
        if record.holder_id_digest != holder.digest:
            raise NotFoundError(f"no license of yours with identifier {record.identifier}")
        current = library.effective_status(record, now.astimezone(zone).date())
        if current is not library.EffectiveStatus.VALID:
            raise ConflictError(
                f"license {record.identifier} is {current.value}; it cannot be granted"
            )
        with _about("purpose"):
            purpose = _purpose(session, request.purpose, record.type_key)
        row = _grantee(data_key, session, holder, request, purpose)
        open_grants = session.scalar(
            select(func.count())
            .select_from(HolderGrant)
            .where(
                HolderGrant.holder_id_digest == holder.digest,
                HolderGrant.withdrawn_at.is_(None),
                HolderGrant.valid_until > now,
            )
        )
        if (open_grants or 0) >= MAX_OPEN_GRANTS:
            raise ConflictError(
                f"at most {MAX_OPEN_GRANTS} grants may be open at once; withdraw one first"
            )
        row.public_id = secrets.token_hex(GRANT_ID_LENGTH // 2)
        row.holder_id_digest = holder.digest
        row.license = record
        row.purpose = purpose
        row.valid_from = start
        row.valid_until = end
        row.created_at = now
        session.add(row)
        session.flush()
        _log(session, row, "grant", now)
        return _view(row, now, 0)


def _log(session: Session, row: HolderGrant, action: str, now: datetime) -> None:
    """A grant made or withdrawn, as its entry in the transparency log (same transaction).

    An agent is named by the keyed digest of their ID, never by name: the log is public.
    """
    grantee = row.agent_id_digest if row.grantee_kind is GranteeKind.AGENT else row.grantee_name
    record(
        session,
        Noted(
            EventKind.HOLDER_AUTHORISATION,
            now,
            Actor(ActorKind.USER, "holder"),
            license=row.license.identifier,
            holder_id_digest=row.holder_id_digest,
            details={
                "action": action,
                "grant": row.public_id,
                "grantee_kind": row.grantee_kind.value,
                "grantee": grantee,
                "purpose": row.purpose,
                "valid_from": moment_text(row.valid_from),
                "valid_until": moment_text(row.valid_until),
            },
        ),
    )


def _uses(session: Session, holder: Holder, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    counted = session.execute(
        select(AccessEvent.grant_id, func.count())
        .where(
            AccessEvent.holder_id_digest == holder.digest,
            AccessEvent.outcome == "answered",
            AccessEvent.grant_id.in_(ids),
        )
        .group_by(AccessEvent.grant_id)
    ).all()
    return {str(grant_id): int(count) for grant_id, count in counted}


def grants_of(database: Database, clock: Clock, holder: Holder) -> list[Grant]:
    """The holder's grants, newest first, each with its status now and its uses."""
    now = clock.now()
    with database.begin() as session:
        rows = session.scalars(
            select(HolderGrant)
            .join(LicenseRecord, HolderGrant.license_id == LicenseRecord.id)
            .where(HolderGrant.holder_id_digest == holder.digest)
            .order_by(HolderGrant.id.desc())
            .limit(MAX_LISTED)
        ).all()
        uses = _uses(session, holder, [row.public_id for row in rows])
        return [_view(row, now, uses.get(row.public_id, 0)) for row in rows]


@dataclass(frozen=True)
class GrantToMe:
    """A grant to the signed-in person as an agent (代办人), as they see it: enough to
    name it at a counter, and no more of the holder than a public page shows."""

    id: str
    type_key: str
    license_number: str
    #: The holder's name masked (a person's first character only).
    holder: str
    purpose: str
    valid_from: datetime
    valid_until: datetime
    status: GrantStatus


def grants_to(database: Database, clock: Clock, agent: Holder) -> list[GrantToMe]:
    """The grants naming the signed-in person as agent, newest first (withdrawn ones too,
    so that an agent told "withdrawn" at a counter can see it is so)."""
    now = clock.now()
    with database.begin() as session:
        rows = session.scalars(
            select(HolderGrant)
            .where(
                HolderGrant.grantee_kind == GranteeKind.AGENT,
                HolderGrant.agent_id_digest == agent.digest,
            )
            .order_by(HolderGrant.id.desc())
            .limit(MAX_LISTED)
        ).all()
        return [
            GrantToMe(
                id=row.public_id,
                type_key=row.license.type_key,
                license_number=row.license.license_number,
                holder=mask_holder_name(row.license.holder_name, row.license.holder_id_type),
                purpose=row.purpose,
                valid_from=row.valid_from,
                valid_until=row.valid_until,
                status=status_of(row, now),
            )
            for row in rows
        ]


def _own(session: Session, holder: Holder, grant_id: str) -> HolderGrant:
    row = session.scalar(select(HolderGrant).where(HolderGrant.public_id == grant_id.strip()))
    # Another holder's grant is "not found" too: its existence is theirs to know.
    if row is None or row.holder_id_digest != holder.digest:
        raise NotFoundError(f"no grant of yours with id {grant_id.strip()[:40]!r}")
    return row


def withdraw(database: Database, clock: Clock, holder: Holder, grant_id: str) -> Grant:
    """End one of the holder's grants now; one that has ended or was withdrawn is a conflict."""
    now = clock.now()
    with database.begin() as session:
        row = _own(session, holder, grant_id)
        status = status_of(row, now)
        if status not in WITHDRAWABLE:
            raise ConflictError(f"grant {row.public_id} is {status.value}: nothing to withdraw")
        row.withdrawn_at = now
        session.flush()
        _log(session, row, "withdraw", now)
        return _view(row, now, _uses(session, holder, [row.public_id]).get(row.public_id, 0))


class GrantConsent:
    """The grant a lookup names, checked when the lookup is made (``sharing.lookups.Consent``).

    ``agent_id``: the ID of the person at the counter, for a grant to an agent.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        data_key: DataKey,
        grant_id: str,
        agent_id: str | None = None,
        agent_id_type: str | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.data_key = data_key
        self._grant_id = grant_id.strip()[: GRANT_ID_LENGTH * 2]
        self.agent_id = agent_id
        self.agent_id_type = agent_id_type

    @property
    def grant_id(self) -> str:
        return self._grant_id

    def _agent_digest(self) -> str:
        if not (self.agent_id or "").strip():
            raise GrantRefusedError(
                f"grant {self._grant_id} is to an agent: give the agent's ID (agent_id)"
            )
        id_type = (self.agent_id_type or "111").strip()
        normalised = validate_holder_id(id_type, self.agent_id or "")
        return self.data_key.digest(id_type, normalised)

    def admit(self, client: Client, holder_id_digest: str, purpose: str) -> str:
        now = self.clock.now()
        refused = f"grant {self._grant_id} does not admit this lookup"
        with self.database.begin() as session:
            row = session.scalar(select(HolderGrant).where(HolderGrant.public_id == self._grant_id))
            if row is None or row.holder_id_digest != holder_id_digest:
                raise GrantRefusedError(f"{refused}: no such grant of this holder")
            status = status_of(row, now)
            if status is not GrantStatus.CURRENT:
                raise GrantRefusedError(f"{refused}: it is {status.value}")
            if purpose != row.purpose:
                raise GrantRefusedError(f"{refused}: it is for another purpose")
            if row.grantee_kind is GranteeKind.CLIENT and row.client_id != client.id:
                raise GrantRefusedError(f"{refused}: it is for another client")
            if row.grantee_kind is GranteeKind.DEPARTMENT:
                code = session.scalar(
                    select(Department.code).where(Department.id == row.department_id)
                )
                if code is None or code != client.department_code:
                    raise GrantRefusedError(f"{refused}: it is for another department")
            if (
                row.grantee_kind is GranteeKind.AGENT
                and self._agent_digest() != row.agent_id_digest
            ):
                raise GrantRefusedError(f"{refused}: it is for another agent")
            return row.license.identifier


__all__ = [
    "GRANT_ID_LENGTH",
    "Grant",
    "GrantConsent",
    "GrantFieldError",
    "GrantRequest",
    "GrantStatus",
    "GrantToMe",
    "grant",
    "grants_of",
    "grants_to",
    "status_of",
    "withdraw",
]
