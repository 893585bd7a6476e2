"""sigstore-python as a test oracle: its Merkle inclusion check (Trillian's algorithm, not
ours) and its checkpoint verification accept our proofs and checkpoints, and refuse
tampered ones.

sigstore-python has no public API for a bare inclusion proof or checkpoint: both checks
live on a Rekor ``TransparencyLogEntry`` (``sigstore._internal.merkle`` and
``sigstore._internal.rekor.checkpoint``), so the entry is built from its real models, as
sigstore builds it from a Rekor answer. Its checkpoint check matches the signature line
by the first four bytes of the log ID, then verifies with the keyring's key: the log ID is
our C2SP key ID, the keyring holds our log's Ed25519 key.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sigstore._internal.merkle import verify_merkle_inclusion
from sigstore._internal.rekor.checkpoint import verify_checkpoint
from sigstore._internal.trust import Keyring, RekorKeyring
from sigstore.errors import VerificationError
from sigstore.models import TransparencyLogEntry
from sigstore_models.common import v1 as common_v1
from sigstore_models.rekor import v1 as rekor_v1

from trustsvc.tlog.checkpoint import Checkpoint, sign_checkpoint
from trustsvc.tlog.merkle import MemoryHashes, prove_record, tree_hash
from trustsvc.tlog.note import Note, NoteSigner, Signature

ORIGIN = "trustsvc.example.gov.cn/ledger"


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _entry(
    log: NoteSigner,
    body: bytes,
    index: int,
    size: int,
    proof: list[bytes],
    root: bytes,
    note: bytes,
) -> TransparencyLogEntry:
    inner = rekor_v1.TransparencyLogEntry(
        log_index=str(index),  # type: ignore[arg-type]
        log_id=common_v1.LogId(key_id=_b64(log.key_id.to_bytes(4, "big") + bytes(28))),
        kind_version=rekor_v1.KindVersion(kind="trustsvc", version="0.0.1"),
        inclusion_proof=rekor_v1.InclusionProof(
            log_index=str(index),  # type: ignore[arg-type]
            root_hash=_b64(root),
            tree_size=str(size),  # type: ignore[arg-type]
            hashes=[_b64(h) for h in proof],
            checkpoint=rekor_v1.Checkpoint(envelope=note.decode()),
        ),
        canonicalized_body=_b64(body),
    )
    return TransparencyLogEntry(inner)


def _keyring(log: NoteSigner) -> RekorKeyring:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    der = Ed25519PublicKey.from_public_bytes(log.verifier.public_key).public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    key = common_v1.PublicKey(
        raw_bytes=_b64(der), key_details=common_v1.PublicKeyDetails.PKIX_ED25519
    )
    return RekorKeyring(Keyring([key]))


@pytest.fixture(scope="module")
def log() -> tuple[NoteSigner, MemoryHashes, list[bytes]]:
    signer = NoteSigner.generate(ORIGIN)
    hashes = MemoryHashes()
    bodies = [f"event {i}".encode() for i in range(1100)]
    for b in bodies:
        hashes.append(b)
    return signer, hashes, bodies


def test_sigstore_accepts_our_inclusion_proofs_and_checkpoints(
    log: tuple[NoteSigner, MemoryHashes, list[bytes]],
) -> None:
    signer, hashes, bodies = log
    keyring = _keyring(signer)
    for size in (1, 2, 3, 7, 8, 9, 255, 256, 257, 1000, 1024, 1025, 1100):
        root = tree_hash(size, hashes)
        note = sign_checkpoint(Checkpoint(ORIGIN, size, root), signer).encode()
        for index in sorted({0, 1 % size, size // 2, size - 1}):
            entry = _entry(
                signer, bodies[index], index, size, prove_record(size, index, hashes), root, note
            )
            verify_merkle_inclusion(entry)
            verify_checkpoint(keyring, entry)


def test_sigstore_refuses_what_we_refuse(
    log: tuple[NoteSigner, MemoryHashes, list[bytes]],
) -> None:
    signer, hashes, bodies = log
    size, index = 1000, 321
    root = tree_hash(size, hashes)
    note = sign_checkpoint(Checkpoint(ORIGIN, size, root), signer).encode()
    proof = prove_record(size, index, hashes)
    bad_proof = [*proof[:-1], bytes(32)]
    with pytest.raises(VerificationError):
        verify_merkle_inclusion(_entry(signer, bodies[index], index, size, bad_proof, root, note))
    with pytest.raises(VerificationError):
        verify_merkle_inclusion(_entry(signer, b"other", index, size, proof, root, note))
    with pytest.raises(VerificationError):
        verify_merkle_inclusion(_entry(signer, bodies[index], index, size, proof[:-1], root, note))
    # A checkpoint signed by another key under the same name, or for another root.
    stranger = NoteSigner.generate(ORIGIN)
    forged = sign_checkpoint(Checkpoint(ORIGIN, size, root), stranger).encode()
    entry = _entry(signer, bodies[index], index, size, proof, root, forged)
    with pytest.raises(VerificationError):
        verify_checkpoint(_keyring(signer), entry)
    # Our signature line with one bit of the signature changed.
    signed = sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)
    sig = signed.signatures[0]
    broken = Signature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    tampered = Note(signed.text, (broken,)).encode()
    entry = _entry(signer, bodies[index], index, size, proof, root, tampered)
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_checkpoint(_keyring(signer), entry)
    other_root = sign_checkpoint(Checkpoint(ORIGIN, size, bytes(32)), signer).encode()
    entry = _entry(signer, bodies[index], index, size, proof, root, other_root)
    with pytest.raises(VerificationError):
        verify_checkpoint(_keyring(signer), entry)
