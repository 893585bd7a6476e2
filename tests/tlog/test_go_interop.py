"""Interoperability: Go's golang.org/x/mod/sumdb/tlog and sumdb/note (Debian's
golang-go and golang-golang-x-mod-dev, no module download) check our checkpoints,
cosignatures, inclusion and consistency proofs, tiles, entry bundles and tlog-proofs.

The Go program (tests/go/tlogcheck) rebuilds the tree from our entry bundles with its
own code, requires its proofs and signatures to equal ours byte for byte, and requires
every tampered item here to fail. Not skipped when Go is missing: the set-up installs it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustsvc.tlog import tiles
from trustsvc.tlog.checkpoint import Checkpoint, sign_checkpoint
from trustsvc.tlog.cosignature import Cosigner
from trustsvc.tlog.merkle import MemoryHashes, prove_record, prove_tree, tree_hash
from trustsvc.tlog.note import NoteSigner, Signature, sign_note
from trustsvc.tlog.proof import LogProof

GO_SOURCE = Path(__file__).parent.parent / "go" / "tlogcheck" / "main.go"
ORIGIN = "trustsvc.example.gov.cn/ledger"
SIZE = 70_000
SIZES = [1, 2, 255, 256, 257, 1000, 65_536, 69_999, SIZE]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 0x80]) + h[1:]


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    assert go is not None, "Go is missing: scripts/setup.sh installs golang-go"
    out = tmp_path_factory.mktemp("go")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(out),
        "GOPATH": "/usr/share/gocode",
        "GO111MODULE": "off",  # GOPATH mode: Debian's packaged x/mod, never the network
        "GOFLAGS": "",
        "GOCACHE": str(out / "cache"),
        "GOPROXY": "off",
    }
    binary = out / "tlogcheck"
    built = subprocess.run(
        [go, "build", "-o", str(binary), str(GO_SOURCE)],
        env=env,
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return binary


def _entry(i: int) -> bytes:
    # Entries of varied length, as CBOR events are.
    return f"entry {i} ".encode() + bytes(range(i % 97))


def _write(dir: Path, relative: str, data: bytes) -> None:
    path = dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tlog")
    entries = [_entry(i) for i in range(SIZE)]
    hashes = MemoryHashes()
    for e in entries:
        hashes.append(e)
    # The static tiles a server would hold at SIZE: every full tile, and the partial ones.
    for level in range(3):
        full = (SIZE >> (8 * level)) // 256
        for index in range(full):
            tile = tiles.Tile(level, index)
            _write(out, tile.path(), tiles.read_tile(tile, hashes))
    for tile in tiles.tiles_for_size(SIZE):
        _write(out, tile.path(), tiles.read_tile(tile, hashes))
    for index in range((SIZE + 255) // 256):
        chunk = entries[index * 256 : (index + 1) * 256]
        bundle = tiles.Tile(None, index, len(chunk))
        _write(out, bundle.path(), tiles.entry_bundle(chunk))

    log = NoteSigner.generate(ORIGIN)
    now = 1_764_633_600
    witnesses = [
        Cosigner(f"witness{i}.example.gov.cn", Ed25519PrivateKey.generate(), lambda: now)
        for i in (1, 2)
    ]
    checkpoints, log_only = [], []
    for size in SIZES:
        checkpoint = Checkpoint(ORIGIN, size, tree_hash(size, hashes))
        signed = sign_checkpoint(checkpoint, log)
        log_only.append(signed.encode().decode())
        cosigned = sign_note(checkpoint.text(), witnesses, keep=signed.signatures)
        checkpoints.append(cosigned.encode().decode())
    good = checkpoints[-1]
    bad_checkpoints = [
        good.replace(f"\n{SIZE}\n", f"\n{SIZE + 1}\n"),  # the size changed under the signature
        log_only[-1].replace(f"\n{SIZE}\n", f"\n{SIZE - 1}\n"),
    ]
    # A cosignature whose timestamp was changed: the witness's signature fails.
    cosig = witnesses[0].cosign(Checkpoint(ORIGIN, SIZE, tree_hash(SIZE, hashes)).text())
    moved = Signature(cosig.name, cosig.key_id, (now + 1).to_bytes(8, "big") + cosig.signature[8:])
    bad_checkpoints.append(
        sign_note(
            Checkpoint(ORIGIN, SIZE, tree_hash(SIZE, hashes)).text(),
            [log],
            keep=[moved],
        )
        .encode()
        .decode()
    )

    inclusions, bad_inclusions = [], []
    for size in SIZES:
        for index in sorted({0, size // 3, size // 2, size - 1}):
            proof = prove_record(size, index, hashes)
            inclusions.append({"size": size, "index": index, "proof": [_b64(h) for h in proof]})
            if proof:
                bad = [*proof[:-1], _flip(proof[-1])]
                bad_inclusions.append(
                    {"size": size, "index": index, "proof": [_b64(h) for h in bad]}
                )
    consistencies, bad_consistencies = [], []
    for new in SIZES:
        for old in SIZES:
            if old > new:
                continue
            proof = prove_tree(new, old, hashes)
            consistencies.append({"old": old, "new": new, "proof": [_b64(h) for h in proof]})
            if proof:
                bad = [_flip(proof[0]), *proof[1:]]
                bad_consistencies.append({"old": old, "new": new, "proof": [_b64(h) for h in bad]})

    proof_files, bad_proof_files = [], []
    for index in (0, 12_345, SIZE - 1):
        proof = LogProof(
            index, tuple(prove_record(SIZE, index, hashes)), good.encode(), entries[index]
        )
        name = f"entry-{index}.tlog-proof"
        (out / name).write_bytes(proof.encode())
        proof_files.append(name)
        wrong = LogProof(index, proof.hashes, proof.checkpoint, entries[index] + b"!")
        bad_name = f"bad-{index}.tlog-proof"
        (out / bad_name).write_bytes(wrong.encode())
        bad_proof_files.append(bad_name)

    fixture = {
        "log_vkey": log.verifier.vkey(),
        "log_skey": log.skey(),
        "witness_vkeys": [w.verifier.vkey() for w in witnesses],
        "size": SIZE,
        "checkpoints": checkpoints,
        "log_signed_only": log_only,
        "inclusions": inclusions,
        "consistencies": consistencies,
        "bad_inclusions": bad_inclusions,
        "bad_consistencies": bad_consistencies,
        "bad_checkpoints": bad_checkpoints,
        "proof_files": proof_files,
        "bad_proof_files": bad_proof_files,
    }
    (out / "fixture.json").write_text(json.dumps(fixture))
    return out


def _check(binary: Path, directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), str(directory)], capture_output=True, text=True, timeout=120, check=False
    )


def test_go_checks_our_log(tlogcheck: Path, fixture_dir: Path) -> None:
    result = _check(tlogcheck, fixture_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {len(SIZES)} checkpoints, ")
    assert " 0 tiles read" not in result.stdout


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_go_refuses_a_tampered_tile(tlogcheck: Path, fixture_dir: Path, tmp_path: Path) -> None:
    copy = _copy(fixture_dir, tmp_path / "copy")
    # The tile holding the leaf of an inclusion proof Go builds from tiles.
    tile = copy / tiles.Tile(0, (SIZE // 2) // 256).path()
    data = bytearray(tile.read_bytes())
    data[5] ^= 1
    tile.write_bytes(bytes(data))
    result = _check(tlogcheck, copy)
    assert result.returncode == 1
    assert "tiles" in result.stderr


def test_go_refuses_a_rewritten_entry(tlogcheck: Path, fixture_dir: Path, tmp_path: Path) -> None:
    copy = _copy(fixture_dir, tmp_path / "copy")
    bundle = copy / tiles.Tile(None, 3).path()
    data = bytearray(bundle.read_bytes())
    data[4] ^= 1
    bundle.write_bytes(bytes(data))
    result = _check(tlogcheck, copy)
    assert result.returncode == 1
    assert "differs from Go's" in result.stderr


def test_go_refuses_a_checkpoint_signed_by_another_key(
    tlogcheck: Path, fixture_dir: Path, tmp_path: Path
) -> None:
    copy = _copy(fixture_dir, tmp_path / "copy")
    fixture = json.loads((copy / "fixture.json").read_text())
    fixture["log_vkey"] = NoteSigner.generate(ORIGIN).verifier.vkey()
    (copy / "fixture.json").write_text(json.dumps(fixture))
    result = _check(tlogcheck, copy)
    assert result.returncode == 1
    assert "checkpoint 0" in result.stderr
