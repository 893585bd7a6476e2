"""One event model for everything the library does, each event one entry of the log.

Lifecycle events (issue, change, suspend, resume, revoke 注销/吊销), void license
numbers (作废), seal and other operator actions, the access record's uses and
refusals, presentation-code checks, and the hooks for annotated-copy downloads
and holder authorisations: each is an ``Event`` here, with its log entry and
the way it writes its own table row (the tables stay: ``license_events``,
``operator_events``, ``access_events``, ``verification_events``).
``audit.recording.record(session, event)`` records one: the row and the entry
as the transaction commits.

An entry is a versioned CBOR map in the core deterministic encoding of RFC 8949
§4.2 (``cbor2.dumps(canonical=True)``; every key is a short text string, for
which cbor2's length-first order and §4.2.1's bytewise order agree). It says
what happened, when, by whom (a client, a user, a department, an operator),
for which license, with a holder only as the library's keyed digest. A license
entry carries the digest of the license record as the event left it
(``license_state_digest``), so that the record can be held to its latest entry
by the online verifier and by ``trustsvc ledger verify``.

May import: ``db``, ``audit.log`` and the top-level helpers only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, cast

import cbor2
from sqlalchemy import Table, insert, inspect, update
from sqlalchemy.orm import Session

from trustsvc.db.models import (
    LicenseEvent,
    LicenseRecord,
    OperatorEvent,
    VerificationEvent,
)
from trustsvc.tlog.merkle import leaf_hash

#: The entry format's version: the first key a reader looks at.
ENTRY_VERSION = 1
#: What an entry may be at most; a larger one is not one this service wrote.
MAX_ENTRY_SIZE = 16 * 1024


class EventKind(StrEnum):
    """What an entry records."""

    LICENSE_ISSUE = "license.issue"
    LICENSE_CHANGE = "license.change"
    LICENSE_SUSPEND = "license.suspend"
    LICENSE_RESUME = "license.resume"
    LICENSE_REVOKE = "license.revoke"
    #: A license recorded before the log, vouched for by migration 0020 (``audit.adoption``).
    LICENSE_ADOPT = "license.adopt"
    NUMBER_VOID = "number.void"
    SEAL_ISSUE = "seal.issue"
    SEAL_REVOKE = "seal.revoke"
    SEAL_IMPORT = "seal.import"
    #: Any other operator action (clients, departments, trust, entitlements, purposes).
    OPERATOR = "operator"
    #: A use of a holder's data through the API: a lookup, holdings, a verification.
    ACCESS = "access"
    PRESENTATION_CHECK = "presentation.check"
    #: Hooks for the pages other parts build: recorded as entries alone.
    COPY_DOWNLOAD = "copy.download"
    HOLDER_AUTHORISATION = "holder.authorisation"


#: The lifecycle kinds, by the library's action name (``licenses.library.Action``).
LIFECYCLE_KINDS: dict[str, EventKind] = {
    "issue": EventKind.LICENSE_ISSUE,
    "change": EventKind.LICENSE_CHANGE,
    "suspend": EventKind.LICENSE_SUSPEND,
    "resume": EventKind.LICENSE_RESUME,
    "revoke": EventKind.LICENSE_REVOKE,
}
#: The kinds of entry a license record may name as its latest.
LICENSE_KINDS = frozenset({*(kind.value for kind in LIFECYCLE_KINDS.values()), "license.adopt"})
#: Operator actions that are seal events of their own kind.
SEAL_KINDS: dict[str, EventKind] = {
    "seal_issue": EventKind.SEAL_ISSUE,
    "seal_revoke": EventKind.SEAL_REVOKE,
    "seal_import": EventKind.SEAL_IMPORT,
}


class ActorKind(StrEnum):
    """Who acted."""

    CLIENT = "client"
    USER = "user"
    DEPARTMENT = "department"
    OPERATOR = "operator"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str

    def entry(self) -> dict[str, str]:
        return {"k": self.kind.value, "n": self.name}


def moment_text(value: object) -> str:
    """A UTC moment as an entry keeps it: RFC 3339, microseconds, ``Z``.

    Accepts what a driver returns (an aware datetime, or SQLite's naive UTC text),
    so that a record read either way gives the same entry.
    """
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _day_text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def encode_entry(entry: Mapping[str, Any]) -> bytes:
    """The deterministic CBOR of an entry (RFC 8949 §4.2)."""
    return cbor2.dumps(dict(entry), canonical=True)


def decode_entry(body: bytes) -> dict[str, Any]:
    """An entry read back: a CBOR map of this format's version; ``ValueError`` otherwise."""
    if len(body) > MAX_ENTRY_SIZE:
        raise ValueError("the entry is larger than any this service writes")
    try:
        entry = cbor2.loads(body)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as exc:
        raise ValueError("the entry is not CBOR") from exc
    if not isinstance(entry, dict) or entry.get("v") != ENTRY_VERSION:
        raise ValueError("the entry is not a version 1 map")
    return entry


# ---- the license record's state ---------------------------------------------------------

#: The columns of a license record its entry vouches for, in the order the digest takes
#: them. ``current_holder_digest`` is not one: it is released without an event when a
#: lapsed license's place is taken (see ``licenses.library.release_lapsed_holder``).
LICENSE_STATE_COLUMNS = (
    "identifier",
    "license_number",
    "type_key",
    "type_code",
    "issuer_code",
    "holder_name",
    "holder_id_type",
    "holder_id_digest",
    "fields_json",
    "valid_from",
    "valid_until",
    "issued_at",
    "status",
    "status_changed_at",
    "status_reason",
    "revocation_kind",
    "sha256",
    "signed_sha256",
    "seal_serial_hex",
)
_MOMENTS = frozenset({"issued_at", "status_changed_at"})
_DAYS = frozenset({"valid_from", "valid_until"})


def license_state_digest(values: Mapping[str, object]) -> bytes:
    """SHA-256 of the deterministic CBOR of a license record's vouched-for columns.

    ``values`` as the ORM or a driver gives them (enums, dates or their text).
    The holder's name and fields are in the log only inside this digest, which
    cannot be guessed without the holder's keyed digest.
    """
    state: dict[str, object] = {}
    for name in LICENSE_STATE_COLUMNS:
        value = values[name]
        if value is None:
            state[name] = None
        elif name in _MOMENTS:
            state[name] = moment_text(value)
        elif name in _DAYS:
            state[name] = _day_text(value)
        elif isinstance(value, StrEnum):
            state[name] = value.value
        else:
            state[name] = str(value)
    # Column names are longer than 23 bytes nowhere: §4.2.1 order holds (see the docstring).
    return hashlib.sha256(encode_entry(state)).digest()


def record_state(record: LicenseRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in LICENSE_STATE_COLUMNS}


# ---- the events ------------------------------------------------------------------------


def _base(kind: EventKind, at: datetime, actor: Actor) -> dict[str, Any]:
    return {"v": ENTRY_VERSION, "kind": kind.value, "at": moment_text(at), "actor": actor.entry()}


def _actor_of(name: str) -> Actor:
    """A lifecycle event's actor: an issuer client's name, or the operator on the CLI."""
    return Actor(ActorKind.CLIENT, name)


@dataclass(frozen=True)
class LifecycleEvent:
    """A license's lifecycle moved (issue, change, suspend, resume, revoke), as recorded
    in ``license_events``; ``license`` is the record as the move leaves it."""

    license: LicenseRecord
    action: str
    actor: str
    reason: str | None
    from_status: str | None
    to_status: str
    at: datetime
    revocation_kind: str | None = None

    def entry(self) -> dict[str, Any]:
        return lifecycle_entry(
            self.action,
            self.at,
            self.actor,
            self.license.identifier,
            self.license.holder_id_digest,
            self.reason,
            self.from_status,
            self.to_status,
            self.revocation_kind,
            license_state_digest(record_state(self.license)),
        )

    def write(self, session: Session, index: int, leaf: bytes) -> None:
        record = self.license
        if record.id is None:
            raise ValueError("a lifecycle event needs a record that has been written (flushed)")
        session.connection().execute(
            _INSERT_LICENSE_EVENT,
            {
                "license_id": record.id,
                "action": self.action,
                "actor": self.actor,
                "reason": self.reason,
                "from_status": self.from_status,
                "to_status": self.to_status,
                "revocation_kind": self.revocation_kind,
                "at": self.at,
                "log_index": index,
            },
        )
        state = inspect(record)
        record.log_index = index
        record.log_entry_hash = leaf
        if not state.persistent:
            # Written by a Core insert (the issuing path): the session does not track it.
            session.connection().execute(
                update(LicenseRecord)
                .where(LicenseRecord.id == record.id)
                .values(log_index=index, log_entry_hash=leaf)
            )


def lifecycle_entry(
    action: str,
    at: object,
    actor: str,
    identifier: str,
    holder_id_digest: str,
    reason: str | None,
    from_status: str | None,
    to_status: str,
    revocation_kind: str | None,
    state_digest: bytes,
) -> dict[str, Any]:
    """A lifecycle event's entry; ``ledger verify`` rebuilds it from the event's row."""
    return {
        "v": ENTRY_VERSION,
        "kind": LIFECYCLE_KINDS[action].value,
        "at": moment_text(at),
        "actor": _actor_of(actor).entry(),
        "license": identifier,
        "holder": holder_id_digest,
        "reason": reason,
        "from": from_status,
        "to": to_status,
        "revocation": revocation_kind,
        "record": state_digest,
    }


_INSERT_LICENSE_EVENT = insert(cast(Table, LicenseEvent.__table__))


@dataclass(frozen=True)
class NumberVoided:
    """A reserved license number was voided (作废); its row is ``license_numbers``' own."""

    number: str
    department_id: int
    type_key: str
    reason: str
    at: datetime
    actor: str = "trustsvc"

    def entry(self) -> dict[str, Any]:
        entry = _base(EventKind.NUMBER_VOID, self.at, Actor(ActorKind.OPERATOR, self.actor))
        entry.update(
            number=self.number,
            department=self.department_id,
            type=self.type_key,
            reason=self.reason,
        )
        return entry

    def write(self, session: Session, index: int, leaf: bytes) -> None:
        """Nothing more: the number's own row was updated by the caller, in this transaction."""


@dataclass(frozen=True)
class OperatorActed:
    """An operator changed the trust configuration (a seal event among them)."""

    actor: str
    origin: str
    action: str
    target: str
    at: datetime
    details_json: str = "{}"

    def entry(self) -> dict[str, Any]:
        return operator_entry(
            self.action, self.at, self.actor, self.origin, self.target, self.details_json
        )

    def write(self, session: Session, index: int, leaf: bytes) -> None:
        session.connection().execute(
            _INSERT_OPERATOR_EVENT,
            {
                "at": self.at,
                "actor": self.actor,
                "origin": self.origin,
                "action": self.action,
                "target": self.target,
                "details_json": self.details_json,
                "log_index": index,
            },
        )


def operator_entry(
    action: str, at: object, actor: str, origin: str, target: str, details_json: str
) -> dict[str, Any]:
    kind = SEAL_KINDS.get(action, EventKind.OPERATOR)
    entry = _base(kind, cast(datetime, at), Actor(ActorKind.OPERATOR, actor))
    # The particulars as recorded (JSON text): what the row keeps, byte for byte.
    entry.update(action=action, origin=origin, target=target, details=details_json)
    return entry


_INSERT_OPERATOR_EVENT = insert(cast(Table, OperatorEvent.__table__))


def access_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """The entry of one access-record row (the column values ``access_events`` keeps)."""
    client = row["actor"]
    actor = (
        Actor(ActorKind.CLIENT, client)
        if row["client_id"] is not None
        else Actor(ActorKind.ANONYMOUS, client)
    )
    entry = _base(EventKind.ACCESS, row["at"], actor)
    entry.update(
        client=row["client_id"],
        department=row["actor_department"],
        action=row["action"],
        purpose=row["purpose"],
        outcome=row["outcome"],
        refusal=row["refusal"],
        holder=row["holder_id_digest"],
        type=row["license_type"],
        returned=row["returned_json"],
        answer=row["answer"],
    )
    return entry


@dataclass(frozen=True)
class PresentationChecked:
    """A presentation code passed a check (and was used up, if single-use)."""

    license_id: int
    identifier: str
    holder_id_digest: str
    presentation_id: int
    checked_at: datetime
    checked_by: str
    purpose: str | None
    verdict: str

    def entry(self) -> dict[str, Any]:
        return presentation_entry(
            self.checked_at,
            self.checked_by,
            self.identifier,
            self.holder_id_digest,
            self.purpose,
            self.verdict,
        )

    def write(self, session: Session, index: int, leaf: bytes) -> None:
        session.connection().execute(
            _INSERT_CHECK,
            {
                "license_id": self.license_id,
                "presentation_id": self.presentation_id,
                "checked_at": self.checked_at,
                "checked_by": self.checked_by,
                "purpose": self.purpose,
                "verdict": self.verdict,
                "log_index": index,
            },
        )


def presentation_entry(
    checked_at: object,
    checked_by: str,
    identifier: str,
    holder_id_digest: str,
    purpose: str | None,
    verdict: str,
) -> dict[str, Any]:
    entry = _base(
        EventKind.PRESENTATION_CHECK,
        cast(datetime, checked_at),
        Actor(ActorKind.CLIENT, checked_by),
    )
    entry.update(license=identifier, holder=holder_id_digest, purpose=purpose, verdict=verdict)
    return entry


_INSERT_CHECK = insert(cast(Table, VerificationEvent.__table__))


@dataclass(frozen=True)
class Noted:
    """An event recorded as its entry alone: an annotated-copy download, a holder's
    authorisation (the pages that make them keep their own rows, if any)."""

    kind: EventKind
    at: datetime
    actor: Actor
    license: str | None = None
    holder_id_digest: str | None = None
    details: Mapping[str, str | int | bool | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in (EventKind.COPY_DOWNLOAD, EventKind.HOLDER_AUTHORISATION):
            raise ValueError(f"{self.kind.value} events are recorded with their rows")

    def entry(self) -> dict[str, Any]:
        entry = _base(self.kind, self.at, self.actor)
        entry.update(license=self.license, holder=self.holder_id_digest, details=dict(self.details))
        return entry

    def write(self, session: Session, index: int, leaf: bytes) -> None:
        """Nothing more: the entry is the record."""


Event = LifecycleEvent | NumberVoided | OperatorActed | PresentationChecked | Noted


def operator_details_json(details: Mapping[str, object] | None) -> str:
    """An operator action's particulars as the row and its entry keep them."""
    return json.dumps(dict(details or {}), ensure_ascii=False, default=str)


__all__ = [
    "ENTRY_VERSION",
    "LICENSE_KINDS",
    "LICENSE_STATE_COLUMNS",
    "Actor",
    "ActorKind",
    "Event",
    "EventKind",
    "LifecycleEvent",
    "Noted",
    "NumberVoided",
    "OperatorActed",
    "PresentationChecked",
    "access_entry",
    "decode_entry",
    "encode_entry",
    "leaf_hash",
    "license_state_digest",
    "lifecycle_entry",
    "operator_entry",
    "presentation_entry",
]
