"""Checkpoints per C2SP tlog-checkpoint v1 (c2sp.org/tlog-checkpoint): a log's origin, tree
size and root hash as the text of a signed note, signed by the log's Ed25519 key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trustsvc.tlog.encoding import decode_base64, decode_decimal, encode_base64
from trustsvc.tlog.errors import FormatError, SignatureError
from trustsvc.tlog.merkle import HASH_SIZE
from trustsvc.tlog.note import (
    MAX_NAME_BYTES,
    Note,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    Signature,
    Verifier,
    parse_note,
    sign_note,
    verify_note,
)

#: Extension lines are opaque and not recommended; a few are accepted, bounded.
MAX_EXTENSION_LINES = 16
MAX_LINE_BYTES = 1024


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: which log, how many leaves, and the root hash of those leaves."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_origin(self.origin)
        if not 0 <= self.size < 1 << 63:
            raise FormatError("a checkpoint's tree size is 0 to 2**63 - 1")
        if len(self.root) != HASH_SIZE:
            raise FormatError(f"a checkpoint's root hash is {HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or "\n" in line or len(line.encode("utf-8")) > MAX_LINE_BYTES:
                raise FormatError("a checkpoint extension line is non-empty and one line")

    def text(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in a newline."""
        lines = [self.origin, str(self.size), encode_base64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)


def _check_origin(origin: str) -> None:
    if not origin or "\n" in origin or len(origin.encode("utf-8")) > MAX_NAME_BYTES:
        raise FormatError(
            f"a checkpoint's origin is one non-empty line of at most {MAX_NAME_BYTES} bytes"
        )
    if any(ord(c) < 0x20 for c in origin):
        raise FormatError("a checkpoint's origin contains a control character")


def parse_checkpoint_text(text: str) -> Checkpoint:
    """Parse a checkpoint's note text (no signatures)."""
    if not text.endswith("\n"):
        raise FormatError("a checkpoint's text ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise FormatError("a checkpoint has an origin, a tree size and a root hash line")
    if len(lines) > 3 + MAX_EXTENSION_LINES:
        raise FormatError(f"a checkpoint has at most {MAX_EXTENSION_LINES} extension lines")
    origin, size_text, root_text, *extensions = lines
    size = decode_decimal(size_text, "the checkpoint's tree size")
    root = decode_base64(root_text, "the checkpoint's root hash", max_bytes=HASH_SIZE)
    if len(root) != HASH_SIZE:
        raise FormatError(f"the checkpoint's root hash is {HASH_SIZE} bytes")
    return Checkpoint(origin=origin, size=size, root=root, extensions=tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose log signature was verified, with every signature line kept."""

    checkpoint: Checkpoint
    #: The note as received (all signature lines, verified or not).
    note: Note
    #: The verification by the log key (and any other keys given).
    opened: OpenedNote

    def encode(self) -> bytes:
        return self.note.encode()


def sign_checkpoint(
    checkpoint: Checkpoint, log_key: NoteSigner, *, keep: Sequence[Signature] = ()
) -> Note:
    """The checkpoint as a signed note, signed by the log's key (named as the origin)."""
    if log_key.name != checkpoint.origin:
        raise FormatError("the log's key name must be the checkpoint's origin")
    return sign_note(checkpoint.text(), [log_key], keep=keep)


def open_checkpoint(
    data: bytes, log_key: NoteVerifier, *, others: Sequence[Verifier] = ()
) -> SignedCheckpoint:
    """Parse a signed checkpoint and verify the log's signature on it; ``others`` (witness
    keys) are verified too where they signed. Raises ``SignatureError`` unless the log key
    signed it, ``FormatError`` if it is not a checkpoint."""
    note = parse_note(data)
    checkpoint = parse_checkpoint_text(note.text)
    if checkpoint.origin != log_key.name:
        raise SignatureError(
            f"the checkpoint is from {checkpoint.origin!r}, not the log {log_key.name!r}"
        )
    opened = verify_note(note, [log_key, *others])
    if not any(s.name == log_key.name and s.key_id == log_key.key_id for s in opened.verified):
        raise SignatureError("the checkpoint is not signed by the log's key")
    return SignedCheckpoint(checkpoint=checkpoint, note=note, opened=opened)
