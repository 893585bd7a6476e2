"""Adopting what the library recorded before its log: one entry for each earlier row.

Run by migration 0020, in its transaction: every lifecycle event, operator
action, access row and presentation check without an entry gets one (rebuilt
from its row, in the order the rows were written), then every license record an
``license.adopt`` entry vouching for the record as it stands, so that the
online verifier and ``ledger verify`` hold it to the log from then on. What the
rows said before the upgrade cannot be proved by the log (nobody logged it);
from the upgrade on, nothing can be changed unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from trustsvc.audit.events import (
    ENTRY_VERSION,
    LICENSE_STATE_COLUMNS,
    Actor,
    ActorKind,
    EventKind,
    access_entry,
    encode_entry,
    license_state_digest,
    lifecycle_entry,
    moment_text,
    operator_entry,
    presentation_entry,
)
from trustsvc.audit.log import append_many
from trustsvc.db.models import (
    AccessEvent,
    LicenseEvent,
    LicenseRecord,
    OperatorEvent,
    VerificationEvent,
)
from trustsvc.tlog.merkle import leaf_hash

#: The access-record columns an entry is made of (named: the migration must not read
#: columns a later schema adds).
_ACCESS_COLUMNS = (
    "at",
    "client_id",
    "actor",
    "actor_department",
    "action",
    "purpose",
    "outcome",
    "refusal",
    "holder_id_digest",
    "license_type",
    "returned_json",
    "answer",
)
#: Rows adopted per append (well under the log's limit per call).
_CHUNK = 5000


def adoption_entry(
    at: datetime, identifier: str, holder: str, state_digest: bytes
) -> dict[str, Any]:
    """The entry that vouches for a license record made before the log."""
    return {
        "v": ENTRY_VERSION,
        "kind": EventKind.LICENSE_ADOPT.value,
        "at": moment_text(at),
        "actor": Actor(ActorKind.OPERATOR, "migration 0020").entry(),
        "license": identifier,
        "holder": holder,
        "record": state_digest,
    }


@dataclass(frozen=True)
class _Adoptable:
    """A table whose rows get entries: what to read of a row, and the entry it makes."""

    model: Any
    #: Read with the row's id (``LicenseRecord``'s columns through ``license_id``, if given).
    columns: tuple[Any, ...]
    entry: Callable[[Any, datetime], dict[str, Any]]
    joined: Any = None
    #: Whether the row keeps its entry's leaf hash too (a license record does).
    with_hash: bool = False


_LICENSE_OF = (LicenseRecord.identifier, LicenseRecord.holder_id_digest)

#: In this order: the events as they were written, then the license records as they stand.
_ADOPTABLE = (
    _Adoptable(
        LicenseEvent,
        (
            LicenseEvent.action,
            LicenseEvent.at,
            LicenseEvent.actor,
            LicenseEvent.reason,
            LicenseEvent.from_status,
            LicenseEvent.to_status,
            LicenseEvent.revocation_kind,
            *_LICENSE_OF,
        ),
        lambda row, _at: lifecycle_entry(
            row.action,
            row.at,
            row.actor,
            row.identifier,
            row.holder_id_digest,
            row.reason,
            row.from_status,
            row.to_status,
            row.revocation_kind,
            b"",  # the record as this event left it was not kept
        ),
        joined=LicenseEvent.license_id,
    ),
    _Adoptable(
        OperatorEvent,
        (
            OperatorEvent.action,
            OperatorEvent.at,
            OperatorEvent.actor,
            OperatorEvent.origin,
            OperatorEvent.target,
            OperatorEvent.details_json,
        ),
        lambda row, _at: operator_entry(
            row.action, row.at, row.actor, row.origin, row.target, row.details_json
        ),
    ),
    _Adoptable(
        AccessEvent,
        tuple(getattr(AccessEvent, name) for name in _ACCESS_COLUMNS),
        lambda row, _at: access_entry({name: getattr(row, name) for name in _ACCESS_COLUMNS}),
    ),
    _Adoptable(
        VerificationEvent,
        (
            VerificationEvent.checked_at,
            VerificationEvent.checked_by,
            VerificationEvent.purpose,
            VerificationEvent.verdict,
            *_LICENSE_OF,
        ),
        lambda row, _at: presentation_entry(
            row.checked_at,
            row.checked_by,
            row.identifier,
            row.holder_id_digest,
            row.purpose,
            row.verdict,
        ),
        joined=VerificationEvent.license_id,
    ),
    _Adoptable(
        LicenseRecord,
        tuple(getattr(LicenseRecord, n) for n in LICENSE_STATE_COLUMNS),
        lambda row, at: adoption_entry(
            at,
            row.identifier,
            row.holder_id_digest,
            license_state_digest({n: getattr(row, n) for n in LICENSE_STATE_COLUMNS}),
        ),
        with_hash=True,
    ),
)


def adopt_unlogged(session: Session, now: datetime | None = None) -> int:
    """Give every row without an entry its entry; how many entries were appended."""
    at = now or datetime.now(UTC)
    appended = 0
    for table in _ADOPTABLE:
        query = select(table.model.id, *table.columns)
        if table.joined is not None:
            query = query.join(LicenseRecord, LicenseRecord.id == table.joined)
        query = query.where(table.model.log_index.is_(None)).order_by(table.model.id)
        rows = [(row.id, table.entry(row, at)) for row in session.execute(query)]
        appended += _adopt(session, _table(table.model), rows, with_hash=table.with_hash)
    return appended


def _table(model: type[object]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def _adopt(
    session: Session,
    table: Table,
    rows: Sequence[tuple[int, dict[str, Any]]],
    *,
    with_hash: bool = False,
) -> int:
    """Append the rows' entries in order and write each row's log index (and leaf hash)."""
    values: dict[str, Callable[[int, bytes], object]] = {"log_index": lambda i, _b: i}
    if with_hash:
        values["log_entry_hash"] = lambda _i, body: leaf_hash(body)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in values})
    )
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        bodies = [encode_entry(entry) for _, entry in chunk]
        indexes = append_many(session, bodies)
        session.connection().execute(
            statement,
            [
                {"b_id": row_id, **{f"b_{n}": f(i, body) for n, f in values.items()}}
                for (row_id, _), i, body in zip(chunk, indexes, bodies, strict=True)
            ],
        )
    return len(rows)
