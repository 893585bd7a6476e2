"""A witness per C2SP tlog-witness (c2sp.org/tlog-witness) ``add-checkpoint``: it cosigns a
log's checkpoint only if it is consistent with the last one it cosigned for that origin,
and records the new one atomically before answering.

The state is a directory: the witness's private key (``witness.key``, Go's skey form,
mode 0600) and a SQLite file of the logs it follows (origin -> log vkey) and the latest
checkpoint it cosigned for each. The check of the old size against the stored one and the
update are one ``BEGIN IMMEDIATE`` transaction, so two requests (or two processes) can
never both succeed from the same size and roll the state back (the race the spec names).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustsvc.tlog.checkpoint import Checkpoint, parse_checkpoint_text
from trustsvc.tlog.cosignature import CosignatureVerifier, Cosigner, cosigner
from trustsvc.tlog.encoding import decode_base64, decode_decimal, encode_base64
from trustsvc.tlog.errors import FormatError, ProofError, SignatureError, TlogError
from trustsvc.tlog.merkle import EMPTY_TREE_HASH, HASH_SIZE, check_tree
from trustsvc.tlog.note import (
    MAX_NOTE_BYTES,
    Note,
    NoteVerifier,
    check_name,
    note_verifier,
    parse_note,
    verify_note,
)

#: The spec: a client MUST NOT send more than 63 consistency proof lines.
MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = 4096 + MAX_NOTE_BYTES

KEY_FILE = "witness.key"
STATE_FILE = "witness.sqlite"


class WitnessRefusal(TlogError):
    """The witness will not cosign. ``status`` is the answer C2SP tlog-witness names for
    each kind of refusal: part of the protocol, so kept here for any server of it
    (``api/errors.py`` gives the same statuses, checked by a test)."""

    code = "witness-refusal"
    status = 400


class WitnessBadRequestError(WitnessRefusal):
    """The request is not an add-checkpoint body, or its old size is past the checkpoint."""

    code = "witness-bad-request"
    status = 400


class WitnessUnauthenticatedError(WitnessRefusal):
    """No valid signature by the log's key, or a bad one by it."""

    code = "witness-unauthenticated"
    status = 403


class UnknownLogError(WitnessRefusal):
    """The witness does not follow a log of that origin."""

    code = "witness-unknown-log"
    status = 404


class WitnessConflictError(WitnessRefusal):
    """The old size is not the size of the checkpoint the witness last cosigned."""

    code = "witness-conflict"
    status = 409

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        #: The size of the latest checkpoint the witness cosigned for the origin.
        self.size = size


class InconsistentCheckpointError(WitnessRefusal):
    """The checkpoint is not consistent with the one the witness last cosigned."""

    code = "witness-inconsistent"
    status = 422


# The names the other ledger helpers' code was written against (LEDGER14).
BadRequestError = WitnessBadRequestError
UnauthenticatedError = WitnessUnauthenticatedError
ConflictError = WitnessConflictError
InconsistentError = InconsistentCheckpointError


@dataclass(frozen=True)
class AddCheckpointRequest:
    """The body of an add-checkpoint request, parsed (nothing verified)."""

    old_size: int
    proof: tuple[bytes, ...]
    #: The checkpoint note as sent.
    note: Note
    checkpoint: Checkpoint

    def encode(self) -> bytes:
        return request_body(self.old_size, self.proof, self.note.encode())


def request_body(old_size: int, proof: Sequence[bytes], checkpoint_note: bytes) -> bytes:
    """``old <size>``, one base64 hash per line, a blank line, then the checkpoint note."""
    lines = [f"old {old_size}", *(encode_base64(h) for h in proof)]
    return ("\n".join(lines) + "\n\n").encode("ascii") + checkpoint_note


def parse_request(body: bytes) -> AddCheckpointRequest:
    """Parse an add-checkpoint body, bounded; ``WitnessBadRequestError`` if it is malformed."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessBadRequestError(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    split = body.find(b"\n\n")
    if split < 0:
        raise WitnessBadRequestError("the request has no blank line before its checkpoint")
    head, rest = body[:split], body[split + 2 :]
    try:
        lines = head.decode("ascii").split("\n")
        if not lines[0].startswith("old "):
            raise FormatError("the request starts with an 'old <size>' line")
        old_size = decode_decimal(lines[0][4:], "the old size")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise FormatError(f"a consistency proof has at most {MAX_PROOF_LINES} lines")
        proof = []
        for line in lines[1:]:
            h = decode_base64(line, "a consistency proof line", max_bytes=HASH_SIZE)
            if len(h) != HASH_SIZE:
                raise FormatError(f"a consistency proof hash is {HASH_SIZE} bytes")
            proof.append(h)
        note = parse_note(rest)
        checkpoint = parse_checkpoint_text(note.text)
    except UnicodeDecodeError as exc:
        raise WitnessBadRequestError("the request's first lines are ASCII") from exc
    except FormatError as exc:
        raise WitnessBadRequestError(exc.message) from exc
    return AddCheckpointRequest(old_size, tuple(proof), note, checkpoint)


@dataclass(frozen=True)
class Cosigned:
    """The witness's answer: its cosignature lines, and the checkpoint it now holds."""

    signature_lines: bytes
    checkpoint: Checkpoint


class Witness:
    """A witness over a state directory (see the module docstring)."""

    def __init__(self, state: Path, *, clock: Callable[[], int] | None = None) -> None:
        self.state = state
        self._clock = clock or (lambda: int(time.time()))
        key_path = state / KEY_FILE
        if not key_path.is_file() or not (state / STATE_FILE).is_file():
            raise TlogError(f"{state} is not a witness state directory (run 'witness init')")
        try:
            skey = key_path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise TlogError(f"the witness key {key_path} cannot be read") from exc
        self._cosigner: Cosigner = cosigner(skey, self._now)

    def _now(self) -> int:
        return self._clock()

    @property
    def verifier(self) -> CosignatureVerifier:
        return self._cosigner.verifier

    @staticmethod
    def init(state: Path, name: str) -> CosignatureVerifier:
        """Make a new witness: its key (mode 0600, refused if one exists) and empty state."""
        check_name(name, "a witness name")
        state.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path = state / KEY_FILE
        key = Cosigner(name, Ed25519PrivateKey.generate(), lambda: int(time.time()))
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise TlogError(f"{key_path} exists already: a witness keeps its key") from exc
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.skey() + "\n")
            out.flush()
            os.fsync(out.fileno())
        with _connect(state) as db:
            db.executescript(_SCHEMA)
        return key.verifier

    def add_log(self, origin: str, vkey: str) -> NoteVerifier:
        """Follow the log ``origin``, whose checkpoints its key ``vkey`` signs."""
        verifier = note_verifier(vkey)
        if verifier.name != origin:
            raise FormatError("the log key's name must be the log's origin")
        with _connect(self.state) as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT vkey FROM logs WHERE origin = ?", (origin,)).fetchone()
            if row is not None and row[0] != verifier.vkey():
                db.execute("ROLLBACK")
                raise TlogError(f"the witness follows {origin} with another key already")
            db.execute(
                "INSERT OR IGNORE INTO logs (origin, vkey) VALUES (?, ?)",
                (origin, verifier.vkey()),
            )
            db.execute("COMMIT")
        return verifier

    def logs(self) -> list[tuple[str, str]]:
        with _connect(self.state) as db:
            return [(o, v) for o, v in db.execute("SELECT origin, vkey FROM logs ORDER BY origin")]

    def add_checkpoint(self, body: bytes) -> Cosigned:
        """Answer one add-checkpoint request body; raise a ``WitnessRefusal`` to refuse."""
        request = parse_request(body)
        checkpoint = request.checkpoint
        with _connect(self.state) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                answer = self._add(db, request, checkpoint)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return answer

    def _add(
        self, db: sqlite3.Connection, request: AddCheckpointRequest, checkpoint: Checkpoint
    ) -> Cosigned:
        row = db.execute("SELECT vkey FROM logs WHERE origin = ?", (checkpoint.origin,)).fetchone()
        if row is None:
            raise UnknownLogError(f"this witness does not follow the log {checkpoint.origin!r}")
        log_key = note_verifier(row[0])
        try:
            opened = verify_note(request.note, [log_key])
        except SignatureError as exc:
            raise WitnessUnauthenticatedError(exc.message) from exc
        if not opened.verified:
            raise WitnessUnauthenticatedError("the checkpoint is not signed by the log's key")
        if request.old_size > checkpoint.size:
            raise WitnessBadRequestError("the old size is larger than the checkpoint's size")
        latest = db.execute(
            "SELECT size, root FROM checkpoints WHERE origin = ?", (checkpoint.origin,)
        ).fetchone()
        latest_size, latest_root = (0, EMPTY_TREE_HASH) if latest is None else latest
        if request.old_size != latest_size:
            raise WitnessConflictError(
                f"the witness last cosigned size {latest_size}, not {request.old_size}",
                latest_size,
            )
        if checkpoint.size == 0 and checkpoint.root != EMPTY_TREE_HASH:
            raise InconsistentCheckpointError("a checkpoint of size 0 has the empty tree's root")
        if request.old_size == 0:
            if request.proof:
                raise InconsistentCheckpointError("a consistency proof from size 0 is empty")
        elif request.old_size == checkpoint.size:
            if request.proof or not hmac.compare_digest(checkpoint.root, bytes(latest_root)):
                raise InconsistentCheckpointError(
                    f"the root at size {checkpoint.size} differs from the one cosigned"
                )
        else:
            try:
                check_tree(
                    list(request.proof),
                    checkpoint.size,
                    checkpoint.root,
                    request.old_size,
                    bytes(latest_root),
                )
            except ProofError as exc:
                raise InconsistentCheckpointError(exc.message) from exc
        cosignature = self._cosigner.cosign(checkpoint.text())
        kept = [s for s in request.note.signatures if s in opened.verified]
        stored = Note(request.note.text, (*kept, cosignature)).encode()
        db.execute(
            "INSERT INTO checkpoints (origin, size, root, note) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "note = excluded.note",
            (checkpoint.origin, checkpoint.size, checkpoint.root, stored),
        )
        return Cosigned(cosignature.line().encode("utf-8"), checkpoint)

    def latest(self, origin_hash: str) -> bytes | None:
        """The latest checkpoint cosigned for the log whose origin's SHA-256 is
        ``origin_hash`` (lowercase hex), with the log's and the witness's signatures."""
        with _connect(self.state) as db:
            for origin, note in db.execute("SELECT origin, note FROM checkpoints"):
                if hashlib.sha256(origin.encode("utf-8")).hexdigest() == origin_hash:
                    return bytes(note)
        return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (origin TEXT PRIMARY KEY, vkey TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    origin TEXT PRIMARY KEY REFERENCES logs (origin),
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note BLOB NOT NULL
);
"""


@contextmanager
def _connect(state: Path) -> Iterator[sqlite3.Connection]:
    # Autocommit mode: transactions are the explicit BEGIN IMMEDIATE ... COMMIT above.
    db = sqlite3.connect(state / STATE_FILE, timeout=10.0, isolation_level=None)
    try:
        # The answer is a promise: the state is on disk (fsync'd) before it is given.
        db.execute("PRAGMA synchronous = FULL")
        yield db
    finally:
        db.close()
