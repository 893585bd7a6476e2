"""The operator record: who changed the service's trust configuration, when and from where.

Making, revoking and rotating API clients, adding departments, issuing,
revoking and importing seals, trusting roots, granting or denying
license types, keeping the purpose catalogue: each is one row written in the
same transaction as the change itself, so a change without its row (or a
row without its change) cannot be committed. The shape follows the access
record and the license events (time, actor, action, target, particulars),
each also an entry of the transparency log (``audit.events``).
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.audit.events import OperatorActed, operator_details_json
from trustsvc.audit.recording import record
from trustsvc.db import Context
from trustsvc.db.models import OperatorEvent

_MAX_TEXT = 200


class OperatorAction(StrEnum):
    CLIENT_ADD = "client_add"
    CLIENT_REVOKE = "client_revoke"
    CLIENT_ROTATE = "client_rotate"
    DEPARTMENT_ADD = "department_add"
    DEPARTMENT_KIND = "department_kind"
    SEAL_ISSUE = "seal_issue"
    SEAL_REVOKE = "seal_revoke"
    SEAL_IMPORT = "seal_import"
    TRUST_ADD = "trust_add"
    TYPE_ALLOW = "type_allow"
    TYPE_DENY = "type_deny"
    PURPOSE_ADD = "purpose_add"
    PURPOSE_REMOVE = "purpose_remove"
    USER_ADD = "user_add"
    USER_DISABLE = "user_disable"


@dataclass(frozen=True)
class Operator:
    """Who acts, and from where."""

    name: str
    origin: str

    @classmethod
    def local(cls, name: str | None = None) -> Operator:
        """An operator at this machine's command line: ``name`` or the OS user, ``cli@host``."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls((name or "").strip()[:_MAX_TEXT] or user, f"cli@{socket.gethostname()}")

    @classmethod
    def over_http(cls, client_name: str, address: str | None) -> Operator:
        """An admin API client, calling from ``address``."""
        return cls(client_name, f"http:{address or 'unknown'}")


@dataclass(frozen=True)
class OperatorEntry:
    """One row of the operator record, as an auditor reads it."""

    id: int
    at: datetime
    actor: str
    origin: str
    action: str
    target: str
    details: dict[str, Any]
    #: Its entry in the transparency log (None: recorded before the log).
    log_index: int | None = None


def record_operation(
    session: Session,
    operator: Operator,
    action: OperatorAction,
    target: str,
    at: datetime,
    details: Mapping[str, object] | None = None,
) -> None:
    """Write the row and its log entry in ``session``: they commit, or roll back, with the
    change they record (``audit.recording.record``)."""
    record(
        session,
        OperatorActed(
            actor=operator.name[:_MAX_TEXT],
            origin=operator.origin[:_MAX_TEXT],
            action=action.value,
            target=target[:_MAX_TEXT],
            at=at,
            details_json=operator_details_json(details),
        ),
    )


def operator_events(
    services: Context,
    *,
    limit: int = 100,
    before: int | None = None,
    action: OperatorAction | None = None,
    actor: str | None = None,
) -> list[OperatorEntry]:
    """The operator record, newest first; ``before`` (an entry id) continues a page."""
    statement = select(OperatorEvent).order_by(OperatorEvent.id.desc()).limit(limit)
    if before is not None:
        statement = statement.where(OperatorEvent.id < before)
    if action is not None:
        statement = statement.where(OperatorEvent.action == action.value)
    if actor is not None:
        statement = statement.where(OperatorEvent.actor == actor)
    with services.database.begin() as session:
        return [
            OperatorEntry(
                id=row.id,
                at=row.at,
                actor=row.actor,
                origin=row.origin,
                action=row.action,
                target=row.target,
                details=json.loads(row.details_json),
                log_index=row.log_index,
            )
            for row in session.scalars(statement)
        ]


__all__ = [
    "Operator",
    "OperatorAction",
    "OperatorEntry",
    "operator_events",
    "record_operation",
]
