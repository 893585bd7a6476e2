"""C2SP signed notes, checkpoints, cosignatures, tiles and tlog-proofs: published test
vectors, round trips, and refusals of every malformed shape with a clear error."""

from __future__ import annotations

import base64
import hashlib

import pytest

from trustsvc.tlog import tiles
from trustsvc.tlog.checkpoint import (
    Checkpoint,
    open_checkpoint,
    parse_checkpoint_text,
    sign_checkpoint,
)
from trustsvc.tlog.cosignature import (
    Cosigner,
    cosignature_verifier,
    cosigned_message,
    cosigner,
    timestamp_of,
    witnesses_met,
)
from trustsvc.tlog.errors import FormatError, ProofError, SignatureError
from trustsvc.tlog.merkle import MemoryHashes, leaf_hash, prove_record, tree_hash
from trustsvc.tlog.note import (
    MAX_SIGNATURES,
    NoteSigner,
    Signature,
    note_signer,
    note_verifier,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)
from trustsvc.tlog.proof import LogProof, parse_proof, verify_proof

# golang.org/x/mod/sumdb/note's test key and its signature (note_test.go, TestSign).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
    "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# c2sp.org/signed-note's example.
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXs"
    "YjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()

ORIGIN = "trustsvc.example/log"


def test_go_note_vector_signs_and_verifies() -> None:
    signer = note_signer(GO_SKEY)
    assert signer.verifier.vkey() == GO_VKEY
    assert signer.skey() == GO_SKEY
    note = sign_note(GO_TEXT, [signer])
    assert note.encode() == (GO_TEXT + "\n" + GO_SIG).encode()
    opened = open_note(note.encode(), [note_verifier(GO_VKEY)])
    assert opened.text == GO_TEXT
    assert [s.name for s in opened.verified] == ["PeterNeumann"]


def test_c2sp_note_vector_verifies() -> None:
    verifier = note_verifier(C2SP_VKEY)
    opened = open_note(C2SP_NOTE, [verifier])
    assert opened.text == "This is an example message.\n"
    tampered = C2SP_NOTE.replace(b"example message", b"example massage")
    with pytest.raises(SignatureError):
        open_note(tampered, [verifier])


def test_unknown_keys_are_ignored_and_a_bad_known_signature_rejects() -> None:
    log = NoteSigner.generate("a.example/log")
    other = NoteSigner.generate("b.example/other")
    note = sign_note("hello\n", [log, other])
    opened = open_note(note.encode(), [log.verifier])
    assert [s.name for s in opened.verified] == ["a.example/log"]
    assert [s.name for s in opened.unknown] == ["b.example/other"]
    with pytest.raises(SignatureError, match="no signature by a key given"):
        open_note(note.encode(), [NoteSigner.generate("c.example").verifier])
    # Same name and ID as the log key, wrong signature: the note is rejected.
    bad = Signature(log.name, log.key_id, bytes(64))
    forged = sign_note("hello\n", [other], keep=[bad])
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(forged.encode(), [log.verifier, other.verifier])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("no blank line\n\u2014 x AAAA\n".encode(), "blank line"),
        (b"text\n\n", "end in a newline"),
        ("text\n\n\u2014 k AAAAAAAA".encode(), "end in a newline"),
        (b"text\n\n- k AAAAAAAA\n", "em dash"),
        ("text\n\n\u2014 kAAAAAAAA\n".encode(), "a key name and a signature"),
        ("text\n\n\u2014 k+1 AAAAAAAA\n".encode(), "neither spaces nor"),
        ("text\n\n\u2014 k AAAA\n".encode(), "key ID and a signature"),
        ("text\n\n\u2014 k AAAAAAB=\n".encode(), "base64"),
        ("text\n\n\u2014 k AAAAAA-A\n".encode(), "base64"),
        ("te\tt\n\n\u2014 k AAAAAAAA\n".encode(), "control character"),
        (b"\xff\n\n", "UTF-8"),
        (b"x" * 70000, "larger than"),
        (("t\n\n" + "\u2014 k AAAAAAAA\n" * (MAX_SIGNATURES + 1)).encode(), "more than"),
    ],
)
def test_malformed_notes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_note(data)


def test_sixteen_signatures_are_accepted() -> None:
    signers = [NoteSigner.generate(f"w{i}.example") for i in range(16)]
    note = sign_note("t\n", signers)
    opened = open_note(note.encode(), [s.verifier for s in signers])
    assert len(opened.verified) == 16


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong ID
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper hex
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space
        "Peter\u3000Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # ideographic
        "PeterNeumann+c74f20a3+AhpjZGVmZ2hpams=",  # short, unknown type
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+" + "A" * 500,
    ],
)
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(FormatError):
        parse_vkey(vkey)


def test_checkpoint_round_trip_and_shape() -> None:
    root = hashlib.sha256(b"x").digest()
    checkpoint = Checkpoint(ORIGIN, 20852163, root)
    assert checkpoint.text() == f"{ORIGIN}\n20852163\n{base64.b64encode(root).decode()}\n"
    assert parse_checkpoint_text(checkpoint.text()) == checkpoint
    with_ext = Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest(), ("ext one",))
    assert parse_checkpoint_text(with_ext.text()) == with_ext


@pytest.mark.parametrize(
    "text",
    [
        "o\n1\n",
        "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n1 \nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n99999999999999999999\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n1\nAAAA\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" + "e\n" * 17,
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(FormatError):
        parse_checkpoint_text(text)


def _log(n: int) -> tuple[MemoryHashes, list[bytes]]:
    hashes = MemoryHashes()
    entries = [f"entry {i}".encode() for i in range(n)]
    for e in entries:
        hashes.append(e)
    return hashes, entries


def test_signed_checkpoint_opens_only_with_the_log_key() -> None:
    log = NoteSigner.generate(ORIGIN)
    hashes, _ = _log(10)
    checkpoint = Checkpoint(ORIGIN, 10, tree_hash(10, hashes))
    data = sign_checkpoint(checkpoint, log).encode()
    assert open_checkpoint(data, log.verifier).checkpoint == checkpoint
    with pytest.raises(SignatureError):
        open_checkpoint(data, NoteSigner.generate(ORIGIN).verifier)
    with pytest.raises(SignatureError, match="not the log"):
        open_checkpoint(data, NoteSigner.generate("other.example").verifier)
    with pytest.raises(FormatError):
        sign_checkpoint(checkpoint, NoteSigner.generate("other.example"))


def _witness(name: str, now: int = 1_700_000_000) -> Cosigner:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Cosigner(name, Ed25519PrivateKey.generate(), lambda: now)


def test_cosignatures_verify_with_their_timestamp_and_quorum() -> None:
    log = NoteSigner.generate(ORIGIN)
    w1, w2, w3 = _witness("w1.example"), _witness("w2.example"), _witness("w3.example")
    checkpoint = Checkpoint(ORIGIN, 3, hashlib.sha256(b"r").digest())
    note = sign_checkpoint(checkpoint, log)
    cosigned = sign_note(checkpoint.text(), [w1, w2], keep=note.signatures)
    keys = [w1.verifier, w2.verifier, w3.verifier]
    signed = open_checkpoint(cosigned.encode(), log.verifier, others=keys)
    assert witnesses_met(signed, keys, 2) == ("w1.example", "w2.example")
    with pytest.raises(SignatureError, match="2 of the 3"):
        witnesses_met(signed, keys, 3)
    with pytest.raises(FormatError):
        witnesses_met(signed, keys, 4)
    with pytest.raises(FormatError):
        witnesses_met(signed, keys, 0)
    line = next(s for s in signed.opened.verified if s.name == "w1.example")
    assert timestamp_of(line) == 1_700_000_000
    # A cosignature's message is the spec's, with the time line.
    assert (
        cosigned_message(1679315147, b"o\n1\nr\n") == b"cosignature/v1\ntime 1679315147\no\n1\nr\n"
    )
    # A cosignature key is not a note key: a witness key read as a log key is refused.
    assert cosignature_verifier(w1.verifier.vkey()) == w1.verifier
    with pytest.raises(FormatError):
        note_verifier(w1.verifier.vkey())
    with pytest.raises(FormatError):
        cosignature_verifier(log.verifier.vkey())
    assert cosigner(w1.skey(), lambda: 5).verifier == w1.verifier


def test_a_cosignature_moved_to_another_checkpoint_fails() -> None:
    log = NoteSigner.generate(ORIGIN)
    w1 = _witness("w1.example")
    one = Checkpoint(ORIGIN, 3, hashlib.sha256(b"r").digest())
    two = Checkpoint(ORIGIN, 4, hashlib.sha256(b"s").digest())
    cosig = w1.cosign(one.text())
    moved = sign_checkpoint(two, log, keep=[cosig])
    with pytest.raises(SignatureError):
        open_checkpoint(moved.encode(), log.verifier, others=[w1.verifier])


def test_tile_paths() -> None:
    assert tiles.encode_index(1234067) == "x001/x234/067"
    assert tiles.encode_index(0) == "000"
    assert tiles.Tile(0, 1234067).path() == "tile/0/x001/x234/067"
    assert tiles.Tile(2, 5, 17).path() == "tile/2/005.p/17"
    assert tiles.Tile(None, 7, 3).path() == "tile/entries/007.p/3"
    for t in (tiles.Tile(0, 1234067), tiles.Tile(2, 5, 17), tiles.Tile(None, 7, 3)):
        assert tiles.parse_tile_path(t.path()) == t
    for bad in (
        "tile/0/1",
        "tile/0/0001",
        "tile/0/x000/001",
        "tile/64/000",
        "tile/01/000",
        "tile/0/001.p/256",
        "tile/0/001.p/0",
        "tile/0/001/002",
        "tile/entries/x01/002",
        "tile/0/" + "x000/" * 40 + "000",
    ):
        with pytest.raises(FormatError):
            tiles.parse_tile_path(bad)


def test_tiles_for_size_as_the_spec_counts() -> None:
    # "a tree of size 70,000 ... one partial level 0 tile of width 112, ... one partial
    # level 1 tile of width 17, and one partial level 2 tile of width 1."
    assert tiles.tiles_for_size(70000) == [
        tiles.Tile(0, 273, 112),
        tiles.Tile(1, 1, 17),
        tiles.Tile(2, 0, 1),
    ]
    assert tiles.tiles_for_size(256) == [tiles.Tile(1, 0, 1)]
    assert tiles.tile_for(0, 272, 70000) == tiles.Tile(0, 272)
    assert tiles.tile_for(0, 273, 70000) == tiles.Tile(0, 273, 112)
    with pytest.raises(FormatError):
        tiles.tile_for(0, 274, 70000)


def test_tiles_hold_the_merkle_tree_hashes() -> None:
    n = 256 * 3 + 40
    hashes, entries = _log(n)
    level0 = tiles.read_tile(tiles.Tile(0, 1), hashes)
    assert tiles.split_tile(tiles.Tile(0, 1), level0) == [leaf_hash(e) for e in entries[256:512]]
    # A level-1 hash is the root of the 256 leaves of the tile below it.
    level1 = tiles.split_tile(tiles.Tile(1, 0, 3), tiles.read_tile(tiles.Tile(1, 0, 3), hashes))
    sub = MemoryHashes()
    for e in entries[256:512]:
        sub.append(e)
    assert level1[1] == tree_hash(256, sub)
    bundle = tiles.entry_bundle(entries[768:808])
    assert tiles.parse_entry_bundle(bundle, 40) == entries[768:808]
    tiles.check_entry_bundle(entries[768:808], tiles.read_tile(tiles.Tile(0, 3, 40), hashes))
    with pytest.raises(FormatError):
        tiles.check_entry_bundle(entries[767:807], tiles.read_tile(tiles.Tile(0, 3, 40), hashes))
    with pytest.raises(FormatError):
        tiles.parse_entry_bundle(bundle, 41)
    with pytest.raises(FormatError):
        tiles.parse_entry_bundle(bundle[:-1], 40)
    with pytest.raises(FormatError):
        tiles.entry_bundle([b"x" * 70000])


def _proof(n: int, index: int, witnesses: list[Cosigner]) -> tuple[LogProof, NoteSigner, bytes]:
    log = NoteSigner.generate(ORIGIN)
    hashes, entries = _log(n)
    checkpoint = Checkpoint(ORIGIN, n, tree_hash(n, hashes))
    note = sign_checkpoint(checkpoint, log)
    note = sign_note(checkpoint.text(), witnesses, keep=note.signatures)
    proof = LogProof(
        index=index,
        hashes=tuple(prove_record(n, index, hashes)),
        checkpoint=note.encode(),
        extra=entries[index],
    )
    return proof, log, entries[index]


def test_tlog_proof_round_trip_and_verify() -> None:
    w1, w2 = _witness("w1.example"), _witness("w2.example")
    proof, log, entry = _proof(1000, 321, [w1, w2])
    data = proof.encode()
    assert data.startswith(b"c2sp.org/tlog-proof@v1\nextra ")
    parsed = parse_proof(data)
    assert parsed == proof
    verified = verify_proof(parsed, leaf_hash(entry), log.verifier, [w1.verifier, w2.verifier])
    assert verified.index == 321
    assert verified.checkpoint.size == 1000
    assert verified.witnesses == ("w1.example", "w2.example")
    with pytest.raises(ProofError):
        verify_proof(parsed, leaf_hash(b"another entry"), log.verifier, [w1.verifier])
    with pytest.raises(SignatureError):
        verify_proof(parsed, leaf_hash(entry), log.verifier, [_witness("w3.example").verifier])
    moved = LogProof(322, parsed.hashes, parsed.checkpoint, parsed.extra)
    with pytest.raises(ProofError):
        verify_proof(moved, leaf_hash(entry), log.verifier, [w1.verifier], 1)


@pytest.mark.parametrize(
    "data",
    [
        b"c2sp.org/tlog-proof@v2\nindex 1\n\nx",
        b"c2sp.org/tlog-proof@v1\nindex 01\n\nx",
        b"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx",
        b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx",
        b"c2sp.org/tlog-proof@v1\nindex 1\n\n",
        b"c2sp.org/tlog-proof@v1\nindex 1",
        b"c2sp.org/tlog-proof@v1\n"
        + b"index 1\n"
        + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64
        + b"\nx",
        b"c2sp.org/tlog-proof@v1\nindex \xff\n\nx",
        b"x" * 300000,
    ],
)
def test_malformed_tlog_proofs_are_refused(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_proof(data)
