"""Offline proofs per C2SP tlog-proof v1 (c2sp.org/tlog-proof): an entry's index, its
inclusion proof and the cosigned checkpoint it leads to, checked with a log key and
witness keys alone (no database, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trustsvc.tlog.checkpoint import Checkpoint, open_checkpoint
from trustsvc.tlog.cosignature import CosignatureVerifier, witnesses_met
from trustsvc.tlog.encoding import decode_base64, decode_decimal, encode_base64
from trustsvc.tlog.errors import FormatError
from trustsvc.tlog.merkle import HASH_SIZE, check_record
from trustsvc.tlog.note import MAX_NOTE_BYTES, NoteVerifier

HEADER = "c2sp.org/tlog-proof@v1"
#: A tree of at most 2**63 leaves needs at most 63 hashes.
MAX_PROOF_HASHES = 63
#: Extra data: the service puts the entry itself there; entries are bounded far below this.
MAX_EXTRA_BYTES = 64 * 1024
MAX_PROOF_FILE_BYTES = MAX_NOTE_BYTES + 2 * MAX_EXTRA_BYTES


@dataclass(frozen=True)
class LogProof:
    """A parsed tlog-proof (nothing verified yet)."""

    index: int
    #: Inclusion proof hashes, from the leaf's sibling up to the root's child.
    hashes: tuple[bytes, ...]
    #: The checkpoint note exactly as the log (and witnesses) signed it.
    checkpoint: bytes
    #: Opaque, unauthenticated extra data (``None`` when the line is absent).
    extra: bytes | None = None

    def encode(self) -> bytes:
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {encode_base64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(encode_base64(h) for h in self.hashes)
        return ("\n".join(lines) + "\n\n").encode("ascii") + self.checkpoint


def parse_proof(data: bytes) -> LogProof:
    """Parse a tlog-proof, bounded in size and shape."""
    if len(data) > MAX_PROOF_FILE_BYTES:
        raise FormatError(f"a tlog-proof is at most {MAX_PROOF_FILE_BYTES} bytes")
    split = data.find(b"\n\n")
    if split < 0:
        raise FormatError("a tlog-proof has a blank line before its checkpoint")
    head, checkpoint = data[:split], data[split + 2 :]
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError("a tlog-proof's header lines are ASCII") from exc
    lines = text.split("\n")
    if lines[0] != HEADER:
        raise FormatError(f"a tlog-proof starts with the line {HEADER}")
    at = 1
    extra = None
    if at < len(lines) and lines[at].startswith("extra "):
        extra = decode_base64(lines[at][6:], "the extra data", max_bytes=MAX_EXTRA_BYTES)
        at += 1
    if at >= len(lines) or not lines[at].startswith("index "):
        raise FormatError("a tlog-proof has an index line after its header (and extra data)")
    index = decode_decimal(lines[at][6:], "the entry index")
    hash_lines = lines[at + 1 :]
    if len(hash_lines) > MAX_PROOF_HASHES:
        raise FormatError(f"an inclusion proof has at most {MAX_PROOF_HASHES} hashes")
    hashes = []
    for line in hash_lines:
        h = decode_base64(line, "an inclusion proof hash", max_bytes=HASH_SIZE)
        if len(h) != HASH_SIZE:
            raise FormatError(f"an inclusion proof hash is {HASH_SIZE} bytes")
        hashes.append(h)
    if not checkpoint:
        raise FormatError("a tlog-proof ends with its checkpoint")
    return LogProof(index=index, hashes=tuple(hashes), checkpoint=checkpoint, extra=extra)


@dataclass(frozen=True)
class VerifiedProof:
    """What a tlog-proof proved."""

    #: The checkpoint the entry is included in, signed by the log.
    checkpoint: Checkpoint
    index: int
    leaf_hash: bytes
    #: Names of the witnesses whose cosignatures verified (at least the quorum).
    witnesses: tuple[str, ...]


def verify_proof(
    proof: LogProof,
    leaf_hash: bytes,
    log_key: NoteVerifier,
    witness_keys: Sequence[CosignatureVerifier] = (),
    quorum: int | None = None,
) -> VerifiedProof:
    """Check ``proof`` for the entry with ``leaf_hash``: the checkpoint is signed by the log
    (its origin the log key's name), cosigned by ``quorum`` of ``witness_keys`` (all of
    them when ``quorum`` is ``None``), and the inclusion proof leads from the leaf to its
    root. Raises ``SignatureError``, ``ProofError`` or ``FormatError``."""
    signed = open_checkpoint(proof.checkpoint, log_key, others=witness_keys)
    met = witnesses_met(signed, witness_keys, len(witness_keys) if quorum is None else quorum)
    checkpoint = signed.checkpoint
    check_record(list(proof.hashes), checkpoint.size, checkpoint.root, proof.index, leaf_hash)
    return VerifiedProof(
        checkpoint=checkpoint, index=proof.index, leaf_hash=leaf_hash, witnesses=met
    )


def check_proof(
    data: bytes,
    log_vkey: str,
    witness_vkeys: Sequence[str] = (),
    quorum: int | None = None,
    entry: bytes | None = None,
) -> VerifiedProof:
    """Check a tlog-proof file with the keys alone (vkey texts; no database).

    The entry is ``entry`` when given, else the proof's extra data (the service puts the
    entry's bytes there, so that the proof stands on its own); its leaf hash is what the
    inclusion proof must lead from."""
    from trustsvc.tlog.cosignature import cosignature_verifier
    from trustsvc.tlog.merkle import leaf_hash
    from trustsvc.tlog.note import note_verifier

    log_key = note_verifier(log_vkey)
    witnesses = [cosignature_verifier(v) for v in witness_vkeys]
    proof = parse_proof(data)
    if entry is None:
        if proof.extra is None:
            raise FormatError("the proof carries no entry (no extra line): give the entry")
        entry = proof.extra
    return verify_proof(proof, leaf_hash(entry), log_key, witnesses, quorum)
