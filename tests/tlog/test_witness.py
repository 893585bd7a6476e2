"""The witness (C2SP tlog-witness add-checkpoint): every refusal the spec names, its state
kept across restarts and updated atomically under concurrent requests, its HTTP app, the
log's client talking to ``trustsvc witness serve``, and ``ledger check-proof``."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from trustsvc.api.witness import create_witness_app
from trustsvc.cli import cli
from trustsvc.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from trustsvc.tlog.cosignature import cosignature_verifier
from trustsvc.tlog.errors import TlogError
from trustsvc.tlog.merkle import EMPTY_TREE_HASH, MemoryHashes, prove_record, prove_tree, tree_hash
from trustsvc.tlog.note import NoteSigner, Signature, sign_note
from trustsvc.tlog.proof import LogProof
from trustsvc.tlog.witness import (
    InconsistentCheckpointError,
    UnknownLogError,
    Witness,
    WitnessBadRequestError,
    WitnessConflictError,
    WitnessRefusal,
    WitnessUnauthenticatedError,
    request_body,
)
from trustsvc.tlog.witness_client import (
    WitnessRefusedError,
    add_checkpoint,
    with_cosignatures,
)

ORIGIN = "trustsvc.example/log"
NOW = 1_760_000_000


class Log:
    """A log in memory that signs its checkpoints."""

    def __init__(self, origin: str = ORIGIN, prefix: bytes = b"entry") -> None:
        self.key = NoteSigner.generate(origin)
        self.hashes = MemoryHashes()
        self.prefix = prefix

    def grow(self, to: int) -> None:
        while self.hashes.size < to:
            self.hashes.append(self.prefix + str(self.hashes.size).encode())

    def checkpoint(self, size: int) -> bytes:
        self.grow(size)
        cp = Checkpoint(self.key.name, size, tree_hash(size, self.hashes))
        return sign_checkpoint(cp, self.key).encode()

    def request(self, old: int, size: int) -> bytes:
        note = self.checkpoint(size)
        proof = prove_tree(size, old, self.hashes) if 0 < old < size else []
        return request_body(old, proof, note)


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def witness(tmp_path: Path, log: Log) -> Witness:
    Witness.init(tmp_path / "w", "witness.example/w1")
    w = Witness(tmp_path / "w", clock=lambda: NOW)
    w.add_log(ORIGIN, log.key.verifier.vkey())
    return w


def test_init_writes_a_private_key_once(tmp_path: Path) -> None:
    verifier = Witness.init(tmp_path / "w", "witness.example/w1")
    key = tmp_path / "w" / "witness.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("PRIVATE+KEY+witness.example/w1+")
    assert cosignature_verifier(verifier.vkey()) == verifier
    with pytest.raises(TlogError, match="exists already"):
        Witness.init(tmp_path / "w", "witness.example/w1")
    with pytest.raises(TlogError, match="not a witness state"):
        Witness(tmp_path / "elsewhere")


def test_cosigns_a_consistent_history(witness: Witness, log: Log) -> None:
    first = witness.add_checkpoint(log.request(0, 10))
    cosigned = log.checkpoint(10) + first.signature_lines
    signed = open_checkpoint(cosigned, log.key.verifier, others=[witness.verifier])
    assert {s.name for s in signed.opened.verified} == {ORIGIN, "witness.example/w1"}
    for old, new in ((10, 11), (11, 256), (256, 256), (256, 1000)):
        answer = witness.add_checkpoint(log.request(old, new))
        assert answer.checkpoint.size == new
    # The state survives a restart: the next request must start from 1000.
    again = Witness(witness.state, clock=lambda: NOW)
    with pytest.raises(WitnessConflictError) as refused:
        again.add_checkpoint(log.request(10, 1001))
    assert refused.value.size == 1000
    again.add_checkpoint(log.request(1000, 1001))


def test_refusals_the_spec_names(witness: Witness, log: Log) -> None:
    witness.add_checkpoint(log.request(0, 100))
    # An older checkpoint: old size past the checkpoint's size.
    with pytest.raises(WitnessBadRequestError):
        witness.add_checkpoint(log.request(100, 50))
    # The wrong old size: 409 with the size the witness holds.
    with pytest.raises(WitnessConflictError) as conflict:
        witness.add_checkpoint(log.request(40, 120))
    assert conflict.value.size == 100
    # A forked log under the same key: same size, other root; or a proof that fails.
    fork = Log()
    fork.key = log.key
    fork.prefix = b"rewritten"
    with pytest.raises(InconsistentCheckpointError):
        witness.add_checkpoint(fork.request(100, 100))
    with pytest.raises(InconsistentCheckpointError):
        witness.add_checkpoint(fork.request(100, 150))
    bad_proof = request_body(100, [bytes(32)] * 3, log.checkpoint(150))
    with pytest.raises(InconsistentCheckpointError):
        witness.add_checkpoint(bad_proof)
    # An unknown origin, a stranger's key, a forged signature by the log's key name.
    with pytest.raises(UnknownLogError):
        witness.add_checkpoint(Log("other.example/log").request(0, 5))
    stranger = Log()
    with pytest.raises(WitnessUnauthenticatedError):
        witness.add_checkpoint(stranger.request(100, 120))
    # A signature line with the log key's name and ID that does not verify.
    text = Checkpoint(ORIGIN, 120, tree_hash(120, log.hashes)).text()
    forged = sign_note(text, [], keep=[Signature(ORIGIN, log.key.key_id, bytes(64))])
    with pytest.raises(WitnessUnauthenticatedError):
        witness.add_checkpoint(request_body(100, prove_tree(120, 100, log.hashes), forged.encode()))
    # Nothing refused changed the state.
    witness.add_checkpoint(log.request(100, 120))


def test_size_zero_and_empty_proofs(tmp_path: Path, log: Log) -> None:
    Witness.init(tmp_path / "w", "witness.example/w1")
    w = Witness(tmp_path / "w", clock=lambda: NOW)
    w.add_log(ORIGIN, log.key.verifier.vkey())
    zero = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_TREE_HASH), log.key).encode()
    w.add_checkpoint(request_body(0, [], zero))
    wrong_zero = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), log.key).encode()
    with pytest.raises(InconsistentCheckpointError):
        w.add_checkpoint(request_body(0, [], wrong_zero))
    with pytest.raises(InconsistentCheckpointError):
        w.add_checkpoint(request_body(0, [bytes(32)], log.checkpoint(5)))
    for body in (b"old 1\n", b"new 0\n\n" + zero, b"old 01\n\n" + zero, b"old 0\n\nnot a note"):
        with pytest.raises(WitnessBadRequestError):
            w.add_checkpoint(body)
    with pytest.raises(WitnessBadRequestError):
        w.add_checkpoint(
            b"old 0\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\n" + zero
        )


def test_concurrent_requests_from_one_size_cosign_once(witness: Witness, log: Log) -> None:
    witness.add_checkpoint(log.request(0, 10))
    bodies = [log.request(10, 10 + i) for i in range(1, 9)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def ask(body: bytes) -> None:
        w = Witness(witness.state, clock=lambda: NOW)
        try:
            w.add_checkpoint(body)
            result = "cosigned"
        except WitnessConflictError:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=ask, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["cosigned"]


def test_http_app_statuses(witness: Witness, log: Log) -> None:
    client = TestClient(create_witness_app(witness))
    ok = client.post("/add-checkpoint", content=log.request(0, 10))
    assert ok.status_code == 200
    assert ok.text.startswith("\u2014 witness.example/w1 ")
    conflict = client.post("/add-checkpoint", content=log.request(5, 12))
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("text/x.tlog.size")
    assert conflict.text == "10\n"
    assert client.post("/add-checkpoint", content=b"old x\n\n").status_code == 400
    assert client.post("/add-checkpoint", content=Log().request(10, 12)).status_code == 403
    assert client.post("/add-checkpoint", content=Log("x.example").request(0, 1)).status_code == 404
    fork = Log()
    fork.key, fork.prefix = log.key, b"other"
    assert client.post("/add-checkpoint", content=fork.request(10, 10)).status_code == 422
    assert client.post("/add-checkpoint", content=b"x" * 80000).status_code == 413
    import hashlib

    got = client.get(f"/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint")
    assert got.status_code == 200
    signed = open_checkpoint(got.content, log.key.verifier, others=[witness.verifier])
    assert len(signed.opened.verified) == 2
    assert client.get(f"/{'0' * 64}/checkpoint").status_code == 404
    assert client.get("/nothex/checkpoint").status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _trustsvc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.run(
        [sys.executable, "-m", "trustsvc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_witness_serve_and_the_logs_client(tmp_path: Path, log: Log) -> None:
    state = tmp_path / "state"
    init = _trustsvc("witness", "init", "--state", str(state), "--name", "witness.example/w2")
    assert init.returncode == 0, init.stderr
    witness_key = cosignature_verifier(init.stdout.strip())
    again = _trustsvc("witness", "init", "--state", str(state), "--name", "witness.example/w2")
    assert again.returncode == 1 and again.stderr.startswith("trustsvc: error: ")
    added = _trustsvc("witness", "add-log", "--state", str(state), ORIGIN, log.key.verifier.vkey())
    assert added.returncode == 0, added.stderr
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trustsvc",
            "witness",
            "serve",
            "--state",
            str(state),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the witness did not start"
                time.sleep(0.1)
        note = log.checkpoint(20)
        cosig = add_checkpoint(url, note, 0, [], witness_key)
        assert cosig.witness == "witness.example/w2"
        cosigned = with_cosignatures(note, [cosig])
        open_checkpoint(cosigned, log.key.verifier, others=[witness_key])
        with pytest.raises(WitnessRefusedError) as refused:
            add_checkpoint(url, log.checkpoint(30), 0, [], witness_key)
        assert refused.value.status == 409 and refused.value.size == 20
        add_checkpoint(url, log.checkpoint(30), 20, prove_tree(30, 20, log.hashes), witness_key)
        fork = Log()
        fork.key, fork.prefix = log.key, b"other"
        with pytest.raises(WitnessRefusedError) as inconsistent:
            add_checkpoint(
                url, fork.checkpoint(40), 30, prove_tree(40, 30, fork.hashes), witness_key
            )
        assert inconsistent.value.status == 422
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_ledger_check_proof(tmp_path: Path, log: Log) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from trustsvc.tlog.cosignature import Cosigner

    w1 = Cosigner("w1.example", Ed25519PrivateKey.generate(), lambda: NOW)
    w2 = Cosigner("w2.example", Ed25519PrivateKey.generate(), lambda: NOW)
    note = log.checkpoint(50)
    text = Checkpoint(ORIGIN, 50, tree_hash(50, log.hashes)).text()
    cosigned = sign_note(
        text,
        [w1, w2],
        keep=sign_checkpoint(Checkpoint(ORIGIN, 50, tree_hash(50, log.hashes)), log.key).signatures,
    )
    assert note.startswith(text.encode())
    entry = b"entry7"
    proof = LogProof(7, tuple(prove_record(50, 7, log.hashes)), cosigned.encode(), entry)
    path = tmp_path / "e.tlog-proof"
    path.write_bytes(proof.encode())
    runner = CliRunner()
    args = [
        "ledger",
        "check-proof",
        str(path),
        "--log-key",
        log.key.verifier.vkey(),
        "--witness-key",
        w1.verifier.vkey(),
        "--witness-key",
        w2.verifier.vkey(),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "valid: entry 7" in result.stdout and "w1.example, w2.example" in result.stdout
    quorum = runner.invoke(cli, [*args, "--quorum", "1"])
    assert quorum.exit_code == 0
    other_entry = tmp_path / "other"
    other_entry.write_bytes(b"entry8")
    wrong = runner.invoke(cli, [*args, "--entry", str(other_entry)])
    assert wrong.exit_code == 1 and "trustsvc: error:" in wrong.stderr
    stranger = NoteSigner.generate(ORIGIN).verifier.vkey()
    args[4] = stranger
    assert runner.invoke(cli, args).exit_code == 1
    path.write_bytes(b"c2sp.org/tlog-proof@v1\nindex 1\n")
    args[4] = log.key.verifier.vkey()
    bad = runner.invoke(cli, args)
    assert bad.exit_code == 65 and "blank line" in bad.stderr


def test_the_api_gives_each_refusal_the_status_tlog_witness_names() -> None:
    from trustsvc.api.errors import HTTP_STATUS
    from trustsvc.tlog import witness as module

    refusals = [
        v for v in vars(module).values() if isinstance(v, type) and issubclass(v, WitnessRefusal)
    ]
    assert len(set(refusals)) == 6
    for cls in refusals:
        assert HTTP_STATUS[cls] == cls.status, cls
