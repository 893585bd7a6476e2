"""The operator record: every change to clients, departments, seals and trust, with who,
when, from where and what, written in the change's own transaction."""

from __future__ import annotations

import getpass
import socket
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.helpers import DEPARTMENT_A
from tests.test_departments import _outside_pkcs12
from trustsvc.audit.operators import Operator, OperatorAction, operator_events
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import add_department, set_kind
from trustsvc.departments.seals import import_seal, new_seal, revoke_seal
from trustsvc.errors import ConflictError
from trustsvc.licenses.entitlement import set_entitlement
from trustsvc.pki import ca
from trustsvc.pki.keystore import generate_private_key
from trustsvc.pki.trust import add_trust_anchor
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm
from trustsvc.sharing import clients
from trustsvc.sharing.clients import add_client, revoke_client, rotate_key
from trustsvc.sharing.purposes import add_purpose, remove_purpose


def test_every_operator_action_is_recorded(services: Services, clock: FixedClock) -> None:
    alice = Operator("alice", "cli@desk-1")
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100", operator=alice)
    clock.advance(timedelta(seconds=1))
    new_seal(services, DEPARTMENT_A, alice)
    revoke_seal(services, DEPARTMENT_A, "key_compromise", operator=alice)
    import_seal(services, DEPARTMENT_A, _outside_pkcs12(clock, DEPARTMENT_A, b"pw"), b"pw", alice)
    add_purpose(services, "贷款审查", ["business-license"], alice)
    add_client(services, "某银行", "verifier", purposes=["贷款审查"], operator=alice)
    rotate_key(services, "某银行", timedelta(hours=1), alice)
    revoke_client(services, "某银行", alice)
    remove_purpose(services, "贷款审查", alice)
    set_kind(services, DEPARTMENT_A, "health", alice)
    set_entitlement(services, DEPARTMENT_A, "business-license", allowed=True, operator=alice)
    set_entitlement(services, DEPARTMENT_A, "business-license", allowed=False, operator=alice)
    root = ca.build_root_ca(
        generate_private_key(KeyAlgorithm.EC_P256),
        ca.service_name("省级电子认证中心", "Provincial Root CA"),
        clock.now(),
    )
    anchor = add_trust_anchor(services, root.public_bytes(Encoding.PEM), alice)

    entries = list(reversed(operator_events(services)))
    assert [e.action for e in entries] == [
        "department_add",
        "seal_issue",
        "seal_revoke",
        "seal_import",
        "purpose_add",
        "client_add",
        "client_rotate",
        "client_revoke",
        "purpose_remove",
        "department_kind",
        "type_allow",
        "type_deny",
        "trust_add",
    ]
    assert {(e.actor, e.origin) for e in entries} == {("alice", "cli@desk-1")}
    assert entries[0].target == DEPARTMENT_A
    assert entries[0].details["name"] == "杭州市市场监督管理局"
    assert entries[0].at == clock.now() - timedelta(seconds=1)
    assert entries[2].details["reason"] == "key_compromise"
    assert len(entries[2].details["serials"]) == 2
    assert entries[4].target == "贷款审查"
    assert entries[4].details["types"] == ["business-license"]
    assert entries[5].target == "某银行"
    assert entries[5].details["role"] == "verifier"
    assert entries[9].details == {"from": "market-regulation", "to": "health"}
    assert entries[11].details == {"type": "business-license", "reason": None}
    assert entries[12].target == anchor.fingerprint_sha256
    assert all(e.at.tzinfo is not None for e in entries)
    # No secret in the record.
    assert not any("tsk_" in str(e.details) for e in entries)


def test_the_local_operator_is_the_os_user_at_this_host(services: Services) -> None:
    add_client(services, "运维", "admin")
    add_client(services, "运维2", "admin", operator=Operator.local("张三"))
    older, newer = reversed(operator_events(services))
    assert (older.actor, older.origin) == (getpass.getuser(), f"cli@{socket.gethostname()}")
    assert newer.actor == "张三"


def test_a_change_and_its_record_commit_together(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("record store unavailable")

    add_purpose(services, "贷款审查", ["business-license"])
    monkeypatch.setattr(clients, "record_operation", broken)
    with pytest.raises(RuntimeError):
        add_client(services, "某银行", "verifier", purposes=["贷款审查"])
    monkeypatch.undo()
    # Nothing was made: the name is free, and the record holds only the purpose.
    assert [e.action for e in operator_events(services)] == ["purpose_add"]
    add_client(services, "某银行", "verifier", purposes=["贷款审查"])
    with pytest.raises(ConflictError):
        add_client(services, "某银行", "verifier", purposes=["贷款审查"])
    assert len(operator_events(services)) == 2


def test_the_record_is_paged_and_filtered(services: Services) -> None:
    for number in range(5):
        add_client(services, f"c{number}", "admin", operator=Operator(f"op{number % 2}", "cli@x"))
    first = operator_events(services, limit=2)
    assert [e.target for e in first] == ["c4", "c3"]
    second = operator_events(services, limit=2, before=first[-1].id)
    assert [e.target for e in second] == ["c2", "c1"]
    assert [e.target for e in operator_events(services, actor="op1")] == ["c3", "c1"]
    assert operator_events(services, action=OperatorAction.TRUST_ADD) == []
