"""The library held to its log: ``ledger verify``'s full check (a license's own proof is
``audit.proofs``).

``verify_ledger`` recomputes everything from the rows: the Merkle tree from the
entries (RFC 6962), compared with the stored leaf hashes, the integrated head,
every published checkpoint (its log signature and the witnesses' cosignatures;
each of the checkpoint history consistent with the one before it, the latest the
one the log head names) and a checkpoint saved earlier; then every license record, lifecycle event,
operator action, access row and presentation check against its entry, and every
entry against the row it records (a deleted row is an entry without one). What
does not match is a ``Problem`` at a log position; the first is what the
command names.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.audit.events import (
    LICENSE_KINDS,
    LICENSE_STATE_COLUMNS,
    LIFECYCLE_KINDS,
    EventKind,
    access_entry,
    decode_entry,
    encode_entry,
    license_state_digest,
    lifecycle_entry,
    operator_entry,
    presentation_entry,
)
from trustsvc.audit.log.hashes import DatabaseHashes
from trustsvc.audit.log.integration import read_head
from trustsvc.db import Database
from trustsvc.db.models import (
    AccessEvent,
    LicenseEvent,
    LicenseRecord,
    LogCheckpoint,
    LogEntry,
    LogHash,
    LogHead,
    OperatorEvent,
    VerificationEvent,
)
from trustsvc.tlog.checkpoint import open_checkpoint
from trustsvc.tlog.cosignature import CosignatureVerifier, witnesses_met
from trustsvc.tlog.errors import FormatError, SignatureError, TlogError
from trustsvc.tlog.merkle import (
    HASH_SIZE,
    check_tree,
    leaf_hash,
    node_hash,
    prove_tree,
    stored_hash_index,
)
from trustsvc.tlog.note import NoteVerifier

#: Entries read from the database at once.
_BATCH = 2000


@dataclass(frozen=True, order=True)
class Problem:
    """Something that does not match, at a log position (-1: not at one)."""

    position: int
    what: str


@dataclass(frozen=True)
class LedgerKeys:
    """What a checkpoint is checked with: the log's key and the witness policy."""

    log_key: NoteVerifier
    witnesses: tuple[CosignatureVerifier, ...] = ()
    quorum: int = 0


@dataclass
class LedgerReport:
    entries: int = 0
    integrated: int = 0
    #: The published and the saved checkpoint, as many as there were.
    checkpoints: int = 0
    #: Checkpoints of the history (``log_checkpoints``), each checked.
    history: int = 0
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def first(self) -> Problem | None:
        """The first position that does not match; a problem of the whole log if none."""
        placed = [p for p in self.problems if p.position >= 0]
        if placed:
            return min(placed)
        return min(self.problems) if self.problems else None


class _Tree:
    """RFC 6962 tree hashes as leaves arrive: the stack of perfect subtrees."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        size, value = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left = self._stack.pop()[1]
            value = node_hash(left, value)
            size *= 2
        self._stack.append((size, value))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return _EMPTY
        value = self._stack[-1][1]
        for _size, left in reversed(self._stack[:-1]):
            value = node_hash(left, value)
        return value


#: RFC 6962's hash of the empty tree.
_EMPTY = hashlib.sha256(b"").digest()
#: Kinds whose entry stands for a row, and the row's table (for the message).
_ROW_KINDS: dict[str, str] = {
    **{kind.value: "lifecycle event" for kind in LIFECYCLE_KINDS.values()},
    EventKind.OPERATOR.value: "operator action",
    EventKind.SEAL_ISSUE.value: "operator action",
    EventKind.SEAL_REVOKE.value: "operator action",
    EventKind.SEAL_IMPORT.value: "operator action",
    EventKind.ACCESS.value: "access row",
    EventKind.PRESENTATION_CHECK.value: "presentation check",
}


@dataclass
class _Log:
    """What the walk over the entries leaves for the row checks."""

    leaves: bytearray = field(default_factory=bytearray)
    kinds: list[str | None] = field(default_factory=list)
    #: The latest license entry of each identifier.
    latest: dict[str, int] = field(default_factory=dict)

    def leaf(self, index: int) -> bytes | None:
        if not 0 <= index < len(self.kinds):
            return None
        return bytes(self.leaves[index * HASH_SIZE : (index + 1) * HASH_SIZE])


def verify_ledger(
    database: Database, keys: LedgerKeys | None, saved_checkpoint: bytes | None = None
) -> LedgerReport:
    """Everything ``trustsvc ledger verify`` checks; see the module docstring."""
    report = LedgerReport()
    with database.begin() as session:
        head = read_head(session)
        published = session.execute(
            select(LogHead.checkpoint_size, LogHead.checkpoint).where(LogHead.id == 1)
        ).one()
        report.integrated = head.size
        wanted_sizes = {head.size}
        history = session.execute(
            select(LogCheckpoint.size, LogCheckpoint.note).order_by(LogCheckpoint.size)
        ).all()
        _check_latest_in_history(published, history, report)
        stored = _checkpoints(
            [
                (f"the stored checkpoint of {row.size} entries", row.note.encode())
                for row in history
            ],
            keys,
            report,
            sizes=[int(row.size) for row in history],
        )
        report.history = len(history)
        notes = _head_notes(published, saved_checkpoint)
        report.checkpoints = len(notes)
        checkpoints = stored + _checkpoints(notes, keys, report)
        wanted_sizes.update(size for _, size, _root in checkpoints)
        log, roots = _walk(session, wanted_sizes, head.size, report)
        if head.size > report.entries:
            report.problems.append(
                Problem(
                    report.entries,
                    f"the tree head counts {head.size} entries; the log has {report.entries}",
                )
            )
        elif roots.get(head.size) != head.root:
            report.problems.append(
                Problem(
                    -1, f"the stored tree head of {head.size} entries does not match the entries"
                )
            )
        for label, size, root in checkpoints:
            if size > report.entries:
                report.problems.append(
                    Problem(
                        report.entries,
                        f"{label} is of {size} entries; the log has only "
                        f"{report.entries} (entries were removed)",
                    )
                )
            elif roots.get(size) != root:
                report.problems.append(
                    Problem(-1, f"{label} (tree of {size}) is not consistent with the entries")
                )
        _check_consecutive(session, stored, head.size, report)
        claimed = bytearray(len(log.kinds))
        _check_licenses(session, log, report)
        _check_lifecycle(session, log, claimed, report)
        _check_rows(session, log, claimed, report)
        for index, kind in enumerate(log.kinds):
            if kind in _ROW_KINDS and not claimed[index]:
                report.problems.append(
                    Problem(index, f"the {_ROW_KINDS[kind]} this {kind} entry records is missing")
                )
    report.problems.sort()
    return report


def _head_notes(published: Any, saved: bytes | None) -> list[tuple[str, bytes]]:
    """The published checkpoint (the head's) and the one saved earlier, labelled."""
    notes: list[tuple[str, bytes]] = []
    if published.checkpoint is not None:
        notes.append(("the published checkpoint", str(published.checkpoint).encode("utf-8")))
    if saved is not None:
        notes.append(("the saved checkpoint", saved))
    return notes


def _check_latest_in_history(published: Any, history: Sequence[Any], report: LedgerReport) -> None:
    """The head's checkpoint is the history's latest: each one published went to both."""
    if published.checkpoint is None:
        if history:
            report.problems.append(
                Problem(-1, "the checkpoint history has checkpoints; the log head has none")
            )
        return
    if not history or history[-1].note != published.checkpoint:
        report.problems.append(
            Problem(
                -1,
                "the published checkpoint is not the latest of the checkpoint history "
                "(one of them was replaced or removed)",
            )
        )


def _checkpoints(
    notes: Sequence[tuple[str, bytes]],
    keys: LedgerKeys | None,
    report: LedgerReport,
    sizes: Sequence[int] | None = None,
) -> list[tuple[str, int, bytes]]:
    """The checkpoints to hold the entries to, each verified: (label, size, root).

    ``sizes``: the size each note is stored under (the history's key), which its
    signed size must be. History is held to the log's signature, not to today's
    witness quorum: a policy that grew later would otherwise fail every older one.
    """
    found = []
    for position, (label, note) in enumerate(notes):
        if keys is None:
            report.problems.append(Problem(-1, f"{label} cannot be checked: no log key given"))
            continue
        try:
            signed = open_checkpoint(note, keys.log_key, others=keys.witnesses)
            if sizes is None:
                witnesses_met(signed, keys.witnesses, keys.quorum)
        except (FormatError, SignatureError) as exc:
            report.problems.append(Problem(-1, f"{label} does not verify: {exc}"))
            continue
        if sizes is not None and signed.checkpoint.size != sizes[position]:
            report.problems.append(
                Problem(-1, f"{label} is signed for a tree of {signed.checkpoint.size}")
            )
            continue
        found.append((label, signed.checkpoint.size, signed.checkpoint.root))
    return found


def _check_consecutive(
    session: Session,
    stored: Sequence[tuple[str, int, bytes]],
    integrated: int,
    report: LedgerReport,
) -> None:
    """Each stored checkpoint against the one before it, by a consistency proof from the
    stored tree (as a witness checks them): a replaced checkpoint or rewritten tree shows
    as two consecutive checkpoints that are not consistent."""
    hashes = DatabaseHashes(session)
    for (_, old, old_root), (_, new, new_root) in itertools.pairwise(stored):
        if old == 0 or new > integrated:
            continue  # the empty tree is a prefix of any; a tree not integrated is reported
        try:
            check_tree(prove_tree(new, old, hashes), new, new_root, old, old_root)
        except TlogError as exc:
            report.problems.append(
                Problem(
                    -1,
                    f"the stored checkpoints of {old} and {new} entries are not consistent: "
                    f"{exc.message}",
                )
            )


def _walk(
    session: Session, sizes: set[int], integrated: int, report: LedgerReport
) -> tuple[_Log, dict[int, bytes]]:
    """Every entry in order: contiguous, hashing to its stored leaf, decodable; the roots."""
    log = _Log()
    tree = _Tree()
    roots: dict[int, bytes] = {}
    if 0 in sizes:
        roots[0] = _EMPTY
    expected = 0
    for chunk in _chunks(session):
        stored = _stored_leaves(session, [idx for idx, _ in chunk if idx < integrated])
        for idx, body in chunk:
            if idx != expected:
                report.problems.append(
                    Problem(expected, f"entries {expected} to {idx - 1} are missing")
                )
                # The positions after a gap are shifted: the tree is not the log's any more.
                return _finish(log, report, expected), roots
            leaf = leaf_hash(body)
            if idx < integrated and stored.get(idx) != leaf:
                report.problems.append(
                    Problem(idx, "the entry does not hash to the leaf the tree stored for it")
                )
            log.leaves += leaf
            kind = None
            try:
                entry = decode_entry(body)
                kind = str(entry.get("kind"))
                license = entry.get("license")
                if kind in LICENSE_KINDS and isinstance(license, str):
                    log.latest[license] = idx
            except ValueError:
                report.problems.append(Problem(idx, "the entry is not a version 1 CBOR map"))
            log.kinds.append(kind)
            tree.add(leaf)
            if tree.size in sizes:
                roots[tree.size] = tree.root()
            expected += 1
    return _finish(log, report, expected), roots


def _finish(log: _Log, report: LedgerReport, count: int) -> _Log:
    report.entries = count
    return log


def _chunks(session: Session) -> Iterator[list[tuple[int, bytes]]]:
    after = -1
    while True:
        rows = session.execute(
            select(LogEntry.idx, LogEntry.body)
            .where(LogEntry.idx > after)
            .order_by(LogEntry.idx)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        chunk = [(int(idx), bytes(body)) for idx, body in rows]
        after = chunk[-1][0]
        yield chunk


def _stored_leaves(session: Session, indexes: Sequence[int]) -> dict[int, bytes]:
    if not indexes:
        return {}
    by_stored = {stored_hash_index(0, i): i for i in indexes}
    rows = session.execute(
        select(LogHash.idx, LogHash.hash).where(LogHash.idx.in_(list(by_stored)))
    )
    return {by_stored[int(idx)]: bytes(value) for idx, value in rows}


def _check_licenses(session: Session, log: _Log, report: LedgerReport) -> None:
    """Each license record is the one its latest entry vouches for."""
    columns = [getattr(LicenseRecord, name) for name in LICENSE_STATE_COLUMNS]
    statement = (
        select(
            LicenseRecord.id,
            LicenseRecord.log_index,
            LicenseRecord.log_entry_hash,
            LogEntry.body,
            *columns,
        )
        .outerjoin(LogEntry, LogEntry.idx == LicenseRecord.log_index)
        .order_by(LicenseRecord.id)
    )
    for row in session.execute(statement):
        report.rows += 1
        values = dict(zip(LICENSE_STATE_COLUMNS, row[4:], strict=True))
        identifier = str(values["identifier"])
        index = row.log_index
        latest = log.latest.get(identifier)
        if index is None:
            report.problems.append(
                Problem(
                    latest if latest is not None else -1, f"license {identifier} names no entry"
                )
            )
            continue
        index = int(index)
        leaf = log.leaf(index)
        if leaf is None or row.log_entry_hash is None or bytes(row.log_entry_hash) != leaf:
            report.problems.append(
                Problem(index, f"license {identifier}'s entry hash is not the entry's")
            )
            continue
        if latest != index:
            report.problems.append(
                Problem(
                    index, f"license {identifier} names entry {index}, not its latest ({latest})"
                )
            )
            continue
        entry = _decoded(row.body)
        if entry is None or entry.get("record") != license_state_digest(values):
            report.problems.append(
                Problem(
                    index, f"license {identifier}'s record is not the one its entry vouches for"
                )
            )


def _decoded(body: bytes | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        return decode_entry(bytes(body))
    except ValueError:
        return None


def _claim(
    log: _Log, claimed: bytearray, index: int | None, what: str, report: LedgerReport
) -> int | None:
    """The row's log index, checked to be an entry no other row claimed."""
    report.rows += 1
    if index is None:
        report.problems.append(Problem(-1, f"{what} names no entry"))
        return None
    if not 0 <= index < len(log.kinds):
        report.problems.append(Problem(index, f"{what} names an entry the log does not have"))
        return None
    if claimed[index]:
        report.problems.append(Problem(index, f"{what} names an entry another row names"))
        return None
    claimed[index] = 1
    return index


def _check_lifecycle(session: Session, log: _Log, claimed: bytearray, report: LedgerReport) -> None:
    """Each lifecycle event against its entry (all but the record digest, which is the
    record's state after the event and is checked for the latest in ``_check_licenses``)."""
    statement = (
        select(
            LicenseEvent, LicenseRecord.identifier, LicenseRecord.holder_id_digest, LogEntry.body
        )
        .join(LicenseRecord, LicenseRecord.id == LicenseEvent.license_id)
        .outerjoin(LogEntry, LogEntry.idx == LicenseEvent.log_index)
        .order_by(LicenseEvent.id)
    )
    for event, identifier, holder, body in session.execute(statement):
        what = f"lifecycle event {event.id} ({event.action} of {identifier})"
        index = _claim(log, claimed, event.log_index, what, report)
        if index is None:
            continue
        entry = _decoded(body)
        if entry is None or event.action not in LIFECYCLE_KINDS:
            report.problems.append(Problem(index, f"{what} does not match its entry"))
            continue
        rebuilt = lifecycle_entry(
            event.action,
            event.at,
            event.actor,
            identifier,
            holder,
            event.reason,
            event.from_status,
            event.to_status,
            event.revocation_kind,
            entry.get("record", b""),
        )
        if rebuilt != entry:
            report.problems.append(Problem(index, f"{what} does not match its entry"))


def _check_rows(session: Session, log: _Log, claimed: bytearray, report: LedgerReport) -> None:
    """Operator actions, access rows and presentation checks, each rebuilt into its entry."""
    for operator in session.scalars(select(OperatorEvent).order_by(OperatorEvent.id)):
        what = f"operator action {operator.id} ({operator.action})"
        index = _claim(log, claimed, operator.log_index, what, report)
        if index is not None:
            rebuilt = operator_entry(
                operator.action,
                operator.at,
                operator.actor,
                operator.origin,
                operator.target,
                operator.details_json,
            )
            _compare(log, index, rebuilt, what, report)
    access_columns = [c.key for c in AccessEvent.__table__.columns]
    for access in session.scalars(select(AccessEvent).order_by(AccessEvent.id)):
        what = f"access row {access.id} ({access.action}, {access.outcome})"
        index = _claim(log, claimed, access.log_index, what, report)
        if index is not None:
            values = {name: getattr(access, name) for name in access_columns}
            _compare(log, index, access_entry(values), what, report)
    checks = select(
        VerificationEvent, LicenseRecord.identifier, LicenseRecord.holder_id_digest
    ).join(LicenseRecord, LicenseRecord.id == VerificationEvent.license_id)
    for check, identifier, holder in session.execute(checks.order_by(VerificationEvent.id)):
        what = f"presentation check {check.id} (of {identifier})"
        index = _claim(log, claimed, check.log_index, what, report)
        if index is not None:
            rebuilt = presentation_entry(
                check.checked_at, check.checked_by, identifier, holder, check.purpose, check.verdict
            )
            _compare(log, index, rebuilt, what, report)


def _compare(
    log: _Log, index: int, rebuilt: dict[str, Any], what: str, report: LedgerReport
) -> None:
    if leaf_hash(encode_entry(rebuilt)) != log.leaf(index):
        report.problems.append(Problem(index, f"{what} does not match its entry"))


__all__ = [
    "LedgerKeys",
    "LedgerReport",
    "Problem",
    "verify_ledger",
]
