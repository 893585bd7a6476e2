"""The library bound to its log: ``ledger verify`` and the online verifier find every edit.

Each test issues and moves a few licenses, records an access row, integrates the
log and signs a checkpoint of it (as the publisher does), then edits the
database behind the service's back the way an insider with direct access could.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tests.cli.running import invoke
from tests.helpers import DEPARTMENT_A
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.audit.access_record import Access, AccessAction, AccessWriter, Outcome
from trustsvc.audit.events import decode_entry, encode_entry
from trustsvc.audit.ledger import LedgerKeys, LedgerReport, verify_ledger
from trustsvc.audit.log.integration import integrate_all, read_head
from trustsvc.audit.log.publication import store_checkpoint
from trustsvc.audit.proofs import license_proof
from trustsvc.bootstrap import build_verifier
from trustsvc.db import Database
from trustsvc.db.models import (
    AccessEvent,
    LicenseRecord,
    LicenseStatus,
    LogCheckpoint,
    LogEntry,
    LogHead,
)
from trustsvc.errors import ConflictError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.tlog.checkpoint import Checkpoint, sign_checkpoint
from trustsvc.tlog.cosignature import Cosigner
from trustsvc.tlog.note import NoteSigner, sign_note
from trustsvc.tlog.proof import check_proof
from trustsvc.verification.report import ReasonCode, Verdict

ORIGIN = "trustsvc.test/log"


@dataclass
class Ledger:
    services: Services
    licenses: IssuingService
    signer: NoteSigner
    #: The licenses issued: a revoked one, and one in force (with its token).
    revoked: str
    valid: str
    token: str
    checkpoint: bytes

    @property
    def database(self) -> Database:
        return self.services.database

    def keys(self) -> LedgerKeys:
        return LedgerKeys(self.signer.verifier)

    def verify(self, saved: bytes | None = None) -> LedgerReport:
        return verify_ledger(self.database, self.keys(), saved)

    def edit(self, change: Callable[[Session], object]) -> None:
        with self.database.begin() as session:
            change(session)


def _publish(services: Services, signer: NoteSigner) -> bytes:
    """Integrate every entry and publish a checkpoint of the tree, as the publisher does."""
    database = services.database
    integrate_all(database, services.clock)
    with database.begin() as session:
        head = read_head(session)
        old = session.execute(select(LogHead.checkpoint_size, LogHead.checkpoint)).one()
    note = sign_checkpoint(Checkpoint(ORIGIN, head.size, head.root), signer).encode()
    stored = store_checkpoint(
        database, old.checkpoint_size, old.checkpoint, head.size, note, datetime.now(UTC)
    )
    assert stored
    return note


@pytest.fixture
def ledger(services: Services, licenses: IssuingService) -> Ledger:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    first = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    licenses.transition(first.identifier, Action.REVOKE, "api:desk", "closed")
    second = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    [link] = read_qr_codes(licenses.document(second.identifier))
    AccessWriter(services.database.engine).write(
        [
            (
                datetime(2026, 12, 2, 1, 0, tzinfo=UTC),
                None,
                Access(AccessAction.LOOKUP, Outcome.ANSWERED, returned=[second.identifier]),
            )
        ]
    )
    signer = NoteSigner.generate(ORIGIN)
    return Ledger(
        services,
        licenses,
        signer,
        first.identifier,
        second.identifier,
        link.rsplit("/v/", 1)[1],
        _publish(services, signer),
    )


def _index_of(session: Session, identifier: str) -> int:
    index = session.scalar(
        select(LicenseRecord.log_index).where(LicenseRecord.identifier == identifier)
    )
    assert index is not None
    return index


def _first(report: LedgerReport) -> tuple[int, str]:
    first = report.first()
    assert first is not None, "the edit went unnoticed"
    return first.position, first.what


def test_an_untouched_ledger_verifies(ledger: Ledger) -> None:
    report = ledger.verify(ledger.checkpoint)
    assert report.ok, report.problems
    assert report.entries == report.integrated > 0 and report.checkpoints == 2
    assert report.rows >= report.entries
    online = build_verifier(ledger.services, allow_fetching=False)
    answer = online.verify_token(ledger.token)
    assert answer.verdict is Verdict.VALID
    with ledger.database.begin() as session:
        assert answer.facts.log_index == _index_of(session, ledger.valid)


def test_an_edited_entry_is_named(ledger: Ledger) -> None:
    with ledger.database.begin() as session:
        index = _index_of(session, ledger.revoked)
        entry = decode_entry(session.get_one(LogEntry, index).body)
    forged = encode_entry({**entry, "reason": "a different reason"})
    ledger.edit(
        lambda s: s.execute(update(LogEntry).where(LogEntry.idx == index).values(body=forged))
    )
    report = ledger.verify()
    assert _first(report)[0] == index
    assert any(p.position == index and "stored" in p.what for p in report.problems)


def test_a_deleted_entry_is_named(ledger: Ledger) -> None:
    ledger.edit(lambda s: s.execute(delete(LogEntry).where(LogEntry.idx == 1)))
    position, what = _first(ledger.verify())
    assert position == 1 and "missing" in what


def test_reordered_entries_are_named(ledger: Ledger) -> None:
    def swap(session: Session) -> None:
        one, two = (session.get_one(LogEntry, i).body for i in (1, 2))
        session.execute(update(LogEntry).where(LogEntry.idx == 1).values(body=two))
        session.execute(update(LogEntry).where(LogEntry.idx == 2).values(body=one))

    ledger.edit(swap)
    position, _what = _first(ledger.verify())
    assert position == 1


def test_a_replaced_checkpoint_is_found(ledger: Ledger) -> None:
    other = NoteSigner.generate(ORIGIN)  # same name, another key: not the log's
    forged = sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x00" * 32), other).encode().decode()
    ledger.edit(lambda s: s.execute(update(LogHead).values(checkpoint=forged, checkpoint_size=1)))
    position, what = _first(ledger.verify())
    assert position == -1 and "published checkpoint does not verify" in what


def test_a_saved_checkpoint_the_log_no_longer_contains_is_found(ledger: Ledger) -> None:
    """The whole log rewritten consistently (entries, stored hashes, head): only an
    earlier checkpoint shows it."""
    ledger.edit(lambda s: s.execute(delete(LogEntry).where(LogEntry.idx >= 1)))
    report = ledger.verify(ledger.checkpoint)
    assert _first(report)[0] == 1
    assert any("saved checkpoint" in p.what and "removed" in p.what for p in report.problems)


@pytest.mark.parametrize(
    "column, value",
    [("status", LicenseStatus.VALID), ("holder_name", "张三")],
    ids=["status", "holder-name"],
)
def test_an_edited_license_record_is_found_by_ledger_verify_and_the_online_verifier(
    ledger: Ledger, column: str, value: object
) -> None:
    """A revoked license set back to valid (or given another holder) in the database."""
    with ledger.database.begin() as session:
        index = _index_of(session, ledger.revoked)
    ledger.edit(
        lambda s: s.execute(
            update(LicenseRecord)
            .where(LicenseRecord.identifier == ledger.revoked)
            .values({column: value})
        )
    )
    position, what = _first(ledger.verify())
    assert position == index and ledger.revoked in what
    online = build_verifier(ledger.services, allow_fetching=False)
    status = online.status_of(ledger.revoked)
    assert status.verdict is Verdict.NOT_EVALUABLE
    assert ReasonCode.LIBRARY_RECORD_ALTERED in [r.code for r in status.reasons]
    pdf = online.verify_pdf(ledger.licenses.document(ledger.revoked))
    assert pdf.verdict is Verdict.NOT_EVALUABLE
    assert ReasonCode.LIBRARY_RECORD_ALTERED in [r.code for r in pdf.reasons]


def test_an_edited_license_is_refused_by_the_token_check(ledger: Ledger) -> None:
    ledger.edit(
        lambda s: s.execute(
            update(LicenseRecord)
            .where(LicenseRecord.identifier == ledger.valid)
            .values(holder_name="李四")
        )
    )
    online = build_verifier(ledger.services, allow_fetching=False)
    answer = online.verify_token(ledger.token)
    assert answer.verdict is Verdict.NOT_EVALUABLE
    assert ReasonCode.LIBRARY_RECORD_ALTERED in [r.code for r in answer.reasons]


def test_a_deleted_access_row_is_named(ledger: Ledger) -> None:
    with ledger.database.begin() as session:
        row = session.scalars(select(AccessEvent)).one()
        index = row.log_index
    ledger.edit(lambda s: s.execute(delete(AccessEvent)))
    position, what = _first(ledger.verify())
    assert position == index and "access row" in what and "missing" in what


def test_ledger_verify_on_the_command_line(ledger: Ledger) -> None:
    settings = ledger.services.settings
    path = settings.home / "saved.checkpoint"
    path.write_bytes(ledger.checkpoint)
    vkey = ledger.signer.verifier.vkey()
    code, out, err = invoke(
        settings, "ledger", "verify", "--log-key", vkey, "--checkpoint", str(path)
    )
    assert code == 0, err
    assert "ledger verified" in out
    ledger.edit(lambda s: s.execute(delete(AccessEvent)))
    code, out, err = invoke(settings, "ledger", "verify", "--log-key", vkey)
    assert code == 1
    assert "first at position" in err and "access row" in err


def test_ledger_verify_defaults_to_the_homes_log_key(
    services: Services, licenses: IssuingService
) -> None:
    """What the home publishes (``ledger integrate``) verifies with its own key."""
    settings = services.settings
    data = dict(example_data(get_type(licenses.types, "business-license")))
    licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data))
    code, _out, err = invoke(settings, "ledger", "integrate")
    assert code == 0, err
    code, out, err = invoke(settings, "ledger", "verify")
    assert code == 0, err
    assert "1 checkpoint(s)" in out


def test_a_license_proof_checks_offline_with_the_log_key(ledger: Ledger) -> None:
    bundle = license_proof(ledger.database, ledger.valid)
    verified = check_proof(bundle, ledger.signer.verifier.vkey())
    with ledger.database.begin() as session:
        assert verified.index == _index_of(session, ledger.valid)
    # A license whose latest entry came after the published checkpoint: asked again later.
    ledger.licenses.transition(ledger.valid, Action.SUSPEND, "api:desk", "review")
    with pytest.raises(ConflictError, match="not yet in a published checkpoint"):
        license_proof(ledger.database, ledger.valid)


def test_a_checkpoint_needs_the_witness_cosignatures_the_policy_asks_for(ledger: Ledger) -> None:
    witness = Cosigner(
        "witness.other-department", Ed25519PrivateKey.generate(), lambda: 1_800_000_000
    )
    with ledger.database.begin() as session:
        head = read_head(session)
    text = Checkpoint(ORIGIN, head.size, head.root).text()
    cosigned = sign_note(text, [ledger.signer, witness]).encode()
    policy = LedgerKeys(ledger.signer.verifier, (witness.verifier,), 1)
    assert verify_ledger(ledger.database, policy, cosigned).ok is False  # the published lacks it
    # Published with the cosignature, as the publisher stores it: the head and the history.
    ledger.edit(lambda s: s.execute(update(LogHead).values(checkpoint=cosigned.decode())))
    ledger.edit(
        lambda s: s.execute(
            update(LogCheckpoint)
            .where(LogCheckpoint.size == head.size)
            .values(note=cosigned.decode())
        )
    )
    assert verify_ledger(ledger.database, policy, cosigned).ok
    # The same checkpoint without the witness's line: refused under the policy.
    position, what = _first(verify_ledger(ledger.database, policy, ledger.checkpoint))
    assert position == -1 and "saved checkpoint does not verify" in what


# ---- the checkpoint history ---------------------------------------------------------------


def _grow_and_publish(ledger: Ledger) -> bytes:
    """One more access row, integrated and published: a second checkpoint in the history."""
    AccessWriter(ledger.database.engine).write(
        [
            (
                datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
                None,
                Access(AccessAction.LOOKUP, Outcome.REFUSED, refusal="no purpose"),
            )
        ]
    )
    return _publish(ledger.licenses, ledger.signer)


def test_every_published_checkpoint_is_kept_and_checked(ledger: Ledger) -> None:
    latest = _grow_and_publish(ledger)
    with ledger.database.begin() as session:
        history = session.execute(
            select(LogCheckpoint.size, LogCheckpoint.note).order_by(LogCheckpoint.size)
        ).all()
        head = session.execute(select(LogHead.checkpoint)).scalar_one()
    assert [note.encode() for _, note in history] == [ledger.checkpoint, latest]
    assert history[0].size < history[1].size and head == latest.decode()
    report = ledger.verify(ledger.checkpoint)
    assert report.ok, report.problems
    assert report.history == 2 and report.checkpoints == 2


def test_a_replaced_checkpoint_of_the_history_is_found(ledger: Ledger) -> None:
    """An earlier checkpoint swapped for one of another tree of its size, validly signed
    (the log's key in the wrong hands): not consistent with the next one."""
    first_size = int(ledger.verify().integrated)
    _grow_and_publish(ledger)
    forged = sign_checkpoint(Checkpoint(ORIGIN, first_size, b"\x07" * 32), ledger.signer)
    ledger.edit(
        lambda s: s.execute(
            update(LogCheckpoint)
            .where(LogCheckpoint.size == first_size)
            .values(note=forged.encode().decode())
        )
    )
    report = ledger.verify()
    assert any(
        f"stored checkpoints of {first_size} and" in p.what and "not consistent" in p.what
        for p in report.problems
    ), report.problems


def test_a_history_that_lost_the_published_checkpoint_is_found(ledger: Ledger) -> None:
    _grow_and_publish(ledger)
    ledger.edit(
        lambda s: s.execute(
            delete(LogCheckpoint).where(
                LogCheckpoint.size == select(LogHead.checkpoint_size).scalar_subquery()
            )
        )
    )
    position, what = _first(ledger.verify())
    assert position == -1 and "not the latest of the checkpoint history" in what


def test_a_history_checkpoint_stored_under_another_size_is_found(ledger: Ledger) -> None:
    ledger.edit(lambda s: s.execute(update(LogCheckpoint).values(size=LogCheckpoint.size + 5)))
    report = ledger.verify()
    assert any("is signed for a tree of" in p.what for p in report.problems), report.problems
