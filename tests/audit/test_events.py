"""One event model: every change writes its row and appends its entry in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import cbor2
import pytest
from sqlalchemy import func, select

from tests.helpers import DEPARTMENT_A, credit_code, enterprise_holder
from trustsvc.audit import recording
from trustsvc.audit.access_record import Access, AccessAction, AccessWriter, Outcome
from trustsvc.audit.events import (
    LICENSE_STATE_COLUMNS,
    Actor,
    ActorKind,
    EventKind,
    Noted,
    decode_entry,
    encode_entry,
    license_state_digest,
)
from trustsvc.audit.operators import Operator
from trustsvc.audit.recording import record
from trustsvc.db.models import (
    AccessEvent,
    LicenseEvent,
    LicenseRecord,
    LicenseStatus,
    LogEntry,
    OperatorEvent,
)
from trustsvc.departments.registry import add_department
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action, RevocationKind
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.tlog.merkle import leaf_hash


def _issue(licenses: IssuingService) -> str:
    data = {**example_data(get_type(licenses.types, "business-license")), **enterprise_holder()}
    return licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license.identifier


def _entries(services: Services) -> list[tuple[int, bytes]]:
    with services.database.begin() as session:
        return [
            (int(i), bytes(b))
            for i, b in session.execute(select(LogEntry.idx, LogEntry.body).order_by(LogEntry.idx))
        ]


def test_an_entry_is_rfc8949_core_deterministic_cbor() -> None:
    entry = {
        "v": 1,
        "kind": "access",
        "at": "2026-12-02T01:00:00.000001Z",
        "actor": {"n": "某银行", "k": "client"},
        "client": 7,
        "answer": None,
    }
    body = encode_entry(entry)
    # §4.2.1: map keys in the bytewise order of their encodings, shortest-form heads.
    decoded = cbor2.loads(body)
    assert list(decoded) == sorted(entry, key=lambda k: cbor2.dumps(k))
    assert list(decoded["actor"]) == ["k", "n"]
    assert body == encode_entry(dict(reversed(list(entry.items()))))
    assert decode_entry(body) == entry
    with pytest.raises(ValueError, match="version 1"):
        decode_entry(encode_entry({**entry, "v": 2}))
    with pytest.raises(ValueError, match="not CBOR"):
        decode_entry(b"\xff\x00")


def test_every_lifecycle_move_appends_its_entry_and_the_record_names_its_latest(
    services: Services,
    licenses: IssuingService,
) -> None:
    identifier = _issue(licenses)
    licenses.transition(identifier, Action.SUSPEND, "api:desk", "under review")
    licenses.transition(identifier, Action.RESUME, "api:desk", None)
    licenses.transition(
        identifier, Action.REVOKE, "api:desk", "closed", revocation_kind=RevocationKind.CANCELLED
    )
    with services.database.begin() as session:
        row = session.scalars(
            select(LicenseRecord).where(LicenseRecord.identifier == identifier)
        ).one()
        moves = session.scalars(
            select(LicenseEvent).where(LicenseEvent.license_id == row.id).order_by(LicenseEvent.id)
        ).all()
        bodies = {int(i): bytes(b) for i, b in session.execute(select(LogEntry.idx, LogEntry.body))}
        state = {name: getattr(row, name) for name in LICENSE_STATE_COLUMNS}
        latest_index, latest_hash = row.log_index, row.log_entry_hash
    kinds = [decode_entry(bodies[m.log_index])["kind"] for m in moves]
    assert kinds == ["license.issue", "license.suspend", "license.resume", "license.revoke"]
    revoked = decode_entry(bodies[moves[-1].log_index])
    assert revoked["license"] == identifier and revoked["revocation"] == "cancelled"
    assert revoked["from"] == "valid" and revoked["to"] == "revoked"
    assert revoked["actor"] == {"k": "client", "n": "api:desk"}
    # The holder only as the library's keyed digest; the name only inside the record digest.
    assert revoked["holder"] == state["holder_id_digest"]
    assert state["holder_name"].encode() not in bodies[moves[-1].log_index]
    assert latest_index == moves[-1].log_index
    assert latest_hash == leaf_hash(bodies[latest_index])
    assert revoked["record"] == license_state_digest(state)
    assert state["status"] is LicenseStatus.REVOKED


def test_a_change_appends_an_entry_for_each_version(
    services: Services, licenses: IssuingService
) -> None:
    identifier = _issue(licenses)
    new = licenses.change(
        identifier, {"domicile": "杭州市西湖区文三路1号"}, "api:desk", "moved"
    ).license
    with services.database.begin() as session:
        rows = {
            r.identifier: r
            for r in session.scalars(
                select(LicenseRecord).where(
                    LicenseRecord.identifier.in_([identifier, new.identifier])
                )
            )
        }
        bodies = {int(i): bytes(b) for i, b in session.execute(select(LogEntry.idx, LogEntry.body))}
        for version in rows.values():
            entry = decode_entry(bodies[version.log_index])
            state = {name: getattr(version, name) for name in LICENSE_STATE_COLUMNS}
            assert entry["kind"] == "license.change"
            assert entry["record"] == license_state_digest(state)
    assert decode_entry(bodies[rows[identifier].log_index])["to"] == "superseded"


def test_operator_actions_and_access_rows_carry_their_entries(
    services: Services, licenses: IssuingService
) -> None:
    services = services
    add_department(
        services,
        "温州市市场监督管理局",
        credit_code("11330300MB0000009"),
        "330300",
        operator=Operator("alice", "cli@desk"),
    )
    AccessWriter(services.database.engine).write(
        [
            (
                datetime(2026, 12, 2, 1, 0, tzinfo=UTC),
                None,
                Access(AccessAction.LOOKUP, Outcome.REFUSED, purpose="贷款", refusal="no purpose"),
            )
        ]
    )
    with services.database.begin() as session:
        operator = session.scalars(select(OperatorEvent).order_by(OperatorEvent.id.desc())).first()
        access = session.scalars(select(AccessEvent)).one()
        assert operator is not None
        op_entry = decode_entry(session.get_one(LogEntry, operator.log_index).body)
        access_entry = decode_entry(session.get_one(LogEntry, access.log_index).body)
    assert op_entry["kind"] == "operator" and op_entry["action"] == "department_add"
    assert op_entry["actor"] == {"k": "operator", "n": "alice"}
    assert access_entry["kind"] == "access" and access_entry["outcome"] == "refused"
    assert access_entry["actor"]["k"] == "anonymous" and access_entry["refusal"] == "no purpose"


def test_the_hooks_record_their_entry_alone(services: Services, licenses: IssuingService) -> None:
    before = len(_entries(services))
    with services.database.begin() as session:
        record(
            session,
            Noted(
                EventKind.COPY_DOWNLOAD,
                datetime(2026, 12, 2, tzinfo=UTC),
                Actor(ActorKind.USER, "holder"),
                license="L1",
                details={"copy": "for bank"},
            ),
        )
    after = _entries(services)
    assert len(after) == before + 1
    noted = decode_entry(after[-1][1])
    assert noted["kind"] == "copy.download" and noted["details"] == {"copy": "for bank"}
    assert noted["actor"] == {"k": "user", "n": "holder"}
    with pytest.raises(ValueError, match="recorded with their rows"):
        Noted(EventKind.ACCESS, datetime(2026, 12, 2, tzinfo=UTC), Actor(ActorKind.USER, "x"))


class _AppendFailed(RuntimeError):
    pass


def _failing_append(*_args: object, **_kwargs: object) -> int:
    raise _AppendFailed("the log refused the entry")


def test_a_failure_while_appending_rolls_back_the_change(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No change without its entry: on SQLite and on PostgreSQL (the fixture runs both)."""
    identifier = _issue(licenses)
    database = services.database

    def counts() -> tuple[int, int, int]:
        with database.begin() as session:
            return (
                session.scalar(select(func.count()).select_from(LicenseRecord)) or 0,
                session.scalar(select(func.count()).select_from(LicenseEvent)) or 0,
                session.scalar(select(func.count()).select_from(LogEntry)) or 0,
            )

    before = counts()
    monkeypatch.setattr(recording, "append_many", _failing_append)
    with pytest.raises(_AppendFailed):
        licenses.transition(identifier, Action.REVOKE, "api:desk", "closed")
    with pytest.raises(_AppendFailed):
        _issue(licenses)
    assert counts() == before
    with database.begin() as session:
        status = session.scalar(
            select(LicenseRecord.status).where(LicenseRecord.identifier == identifier)
        )
    assert status is LicenseStatus.VALID
    monkeypatch.undo()
    licenses.transition(identifier, Action.REVOKE, "api:desk", "closed")
    assert counts()[1:] == (before[1] + 1, before[2] + 1)
