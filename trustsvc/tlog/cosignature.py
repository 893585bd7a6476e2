"""Witness cosignatures per C2SP tlog-cosignature (c2sp.org/tlog-cosignature), the Ed25519
``cosignature/v1`` type (signature type 0x04): a timestamped statement by a witness that
a checkpoint is the largest consistent tree it has seen for that log."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustsvc.tlog.checkpoint import SignedCheckpoint
from trustsvc.tlog.encoding import MAX_UINT63
from trustsvc.tlog.errors import FormatError, SignatureError
from trustsvc.tlog.note import (
    Signature,
    SignatureType,
    check_name,
    ed25519_public_bytes,
    ed25519_verify,
    format_skey,
    format_vkey,
    key_id,
    parse_skey,
    parse_vkey,
)

#: The cosigned message header, for domain separation from plain note signatures.
HEADER = b"cosignature/v1\n"


def cosigned_message(timestamp: int, checkpoint_text: bytes) -> bytes:
    """``cosignature/v1`` + ``time <timestamp>`` + the checkpoint's note text."""
    if not 0 <= timestamp <= MAX_UINT63:
        raise FormatError("a cosignature's timestamp is 0 to 2**63 - 1")
    return HEADER + b"time " + str(timestamp).encode("ascii") + b"\n" + checkpoint_text


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's public key (type 0x04). Verifies note signature lines: ``signature`` is
    the 8-byte big-endian timestamp then the 64-byte Ed25519 signature."""

    name: str
    key_id: int
    public_key: bytes

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp > MAX_UINT63:
            return False
        return ed25519_verify(self.public_key, signature[8:], cosigned_message(timestamp, text))

    def vkey(self) -> str:
        return format_vkey(self.name, SignatureType.COSIGNATURE_V1, self.public_key)


def timestamp_of(signature: Signature) -> int:
    """The POSIX time a cosignature line says it was made."""
    if len(signature.signature) != 8 + 64:
        raise FormatError("a cosignature is an 8-byte timestamp and a 64-byte signature")
    return int(struct.unpack(">Q", signature.signature[:8])[0])


class Cosigner:
    """A witness's private key (type 0x04), stamping each cosignature with ``clock()``."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
        self._name = check_name(name, "a witness name")
        self._private = private_key
        self._clock = clock
        public = ed25519_public_bytes(private_key)
        kid = key_id(name, SignatureType.COSIGNATURE_V1, public)
        self._verifier = CosignatureVerifier(name, kid, public)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    @property
    def verifier(self) -> CosignatureVerifier:
        return self._verifier

    def sign(self, text: bytes) -> bytes:
        timestamp = self._clock()
        if timestamp <= 0:
            raise FormatError("a cosignature's timestamp is after 1970")
        message = cosigned_message(timestamp, text)
        return struct.pack(">Q", timestamp) + self._private.sign(message)

    def cosign(self, checkpoint_text: str) -> Signature:
        """The cosignature line's parts for a checkpoint text already checked."""
        return Signature(self._name, self.key_id, self.sign(checkpoint_text.encode("utf-8")))

    def skey(self) -> str:
        """The private key in Go's note form, type 0x04: a secret."""
        return format_skey(self._name, SignatureType.COSIGNATURE_V1, self._private)

    def __repr__(self) -> str:
        return f"Cosigner({self._name!r}, key_id={self.key_id:08x})"


def cosignature_verifier(vkey: str) -> CosignatureVerifier:
    """A witness's public key from its vkey text (signature type 0x04)."""
    parsed = parse_vkey(vkey)
    if parsed.signature_type != SignatureType.COSIGNATURE_V1:
        raise FormatError("the key is not an Ed25519 cosignature/v1 key (signature type 0x04)")
    return CosignatureVerifier(parsed.name, parsed.key_id, parsed.key)


def cosigner(skey: str, clock: Callable[[], int]) -> Cosigner:
    """A witness's private key from its skey text (signature type 0x04)."""
    parsed = parse_skey(skey)
    if parsed.signature_type != SignatureType.COSIGNATURE_V1:
        raise FormatError("the key is not an Ed25519 cosignature/v1 key (signature type 0x04)")
    return Cosigner(parsed.name, Ed25519PrivateKey.from_private_bytes(parsed.key), clock)


def witnesses_met(
    signed: SignedCheckpoint, witnesses: Sequence[CosignatureVerifier], quorum: int
) -> tuple[str, ...]:
    """The names of the witnesses among ``witnesses`` whose cosignatures verified on
    ``signed`` (opened with them), if at least ``quorum`` did; else ``SignatureError``.

    A policy that cannot be met or asks for nothing from some witnesses is refused: the
    quorum is 1 to the number of witnesses, or 0 only with no witnesses at all.
    """
    keys = {(w.name, w.key_id) for w in witnesses}
    if len(keys) != len(witnesses):
        raise FormatError("the same witness key is given twice")
    if not (0 <= quorum <= len(witnesses)) or (witnesses and quorum == 0):
        raise FormatError(f"a quorum of {quorum} of {len(witnesses)} witnesses cannot be asked")
    met = tuple(s.name for s in signed.opened.verified if (s.name, s.key_id) in keys)
    if len(met) < quorum:
        raise SignatureError(
            f"the checkpoint has {len(met)} of the {quorum} witness cosignatures asked for"
        )
    return met
