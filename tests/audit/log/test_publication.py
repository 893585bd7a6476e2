"""Publication: signed checkpoints, a k-of-n witness policy, and compare-and-swap on the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.audit.log.witness_server import LocalWitness
from trustsvc.audit.log import append_many, reading
from trustsvc.audit.log.integration import integrate_all
from trustsvc.audit.log.publication import (
    Publisher,
    QuorumNotMetError,
    WitnessPolicy,
    store_checkpoint,
)
from trustsvc.audit.log.witnesses import (
    Backoff,
    Conflict,
    Witness,
    WitnessClient,
    WitnessError,
    witness,
)
from trustsvc.clock import FixedClock
from trustsvc.db import Database, open_database
from trustsvc.errors import ConfigurationError
from trustsvc.tlog.checkpoint import open_checkpoint
from trustsvc.tlog.cosignature import witnesses_met
from trustsvc.tlog.note import NoteSigner, Signature

CLOCK = FixedClock(datetime(2026, 12, 1, tzinfo=UTC))
ORIGIN = "trustsvc.example/log"


@pytest.fixture
def log_key() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


def _publisher(
    database: Database, key: NoteSigner, witnesses: list[LocalWitness], k: int
) -> Publisher:
    policy = WitnessPolicy(tuple(witness(w.vkey, w.url) for w in witnesses), k)
    return Publisher(database, CLOCK, key, policy, WitnessClient(timeout=5))


def _grow(database: Database, count: int, start: int = 0) -> None:
    with database.begin() as session:
        append_many(session, [f"e{start + i}".encode() for i in range(count)])
    integrate_all(database, CLOCK)


def test_without_witnesses_the_signed_checkpoint_names_the_integrated_tree(
    database: Database, log_key: NoteSigner
) -> None:
    publisher = _publisher(database, log_key, [], 0)
    first = publisher.publish()
    assert first is not None and first.size == 0  # the empty tree, so a checkpoint exists
    assert publisher.publish() is None  # nothing new
    _grow(database, 10)
    published = publisher.publish()
    assert published is not None and published.cosigned_by == ()
    signed = open_checkpoint(published.note, log_key.verifier)
    head = reading.head(database)
    assert (signed.checkpoint.origin, signed.checkpoint.size) == (ORIGIN, 10)
    assert signed.checkpoint.root == head.root
    stored = reading.latest_checkpoint(database)
    assert stored is not None and stored.size == 10 and stored.note.encode() == published.note


def test_a_stale_publish_loses_the_compare_and_swap(
    database: Database, log_key: NoteSigner
) -> None:
    publisher = _publisher(database, log_key, [], 0)
    _grow(database, 3)
    published = publisher.publish()
    assert published is not None
    # A second node that read the store before the first published: its swap matches nothing.
    assert not store_checkpoint(database, 0, None, 3, b"forked\n", CLOCK.now())
    _grow(database, 2, start=3)
    assert not store_checkpoint(database, 0, None, 5, b"forked\n", CLOCK.now())
    stored = reading.latest_checkpoint(database)
    assert stored is not None and stored.note.encode() == published.note


def test_two_of_three_witnesses_suffice_and_their_cosignatures_verify(
    database: Database, log_key: NoteSigner, tmp_path: Path
) -> None:
    with (
        LocalWitness(tmp_path / "w1", "w1.example", log_key.verifier) as w1,
        LocalWitness(tmp_path / "w2", "w2.example", log_key.verifier) as w2,
    ):
        away = LocalWitness(
            tmp_path / "w3", "w3.example", log_key.verifier
        )  # never started: refused connection
        away.server.server_close()
        publisher = _publisher(database, log_key, [w1, w2, away], 2)
        _grow(database, 5)
        published = publisher.publish()
        assert published is not None and published.cosigned_by == ("w1.example", "w2.example")
        keys = [w1.verifier, w2.verifier, away.verifier]
        signed = open_checkpoint(published.note, log_key.verifier, others=keys)
        assert witnesses_met(signed, keys, 2) == ("w1.example", "w2.example")
        # The next checkpoint is consistent with the one they cosigned: they check the proof.
        _grow(database, 300, start=5)
        again = publisher.publish()
        assert again is not None and again.size == 305 and w1.size == w2.size == 305


def test_without_the_quorum_nothing_is_published(
    database: Database, log_key: NoteSigner, tmp_path: Path
) -> None:
    with LocalWitness(tmp_path / "w1", "w1.example", log_key.verifier) as w1:
        away = LocalWitness(tmp_path / "w2", "w2.example", log_key.verifier)
        away.server.server_close()
        publisher = _publisher(database, log_key, [w1, away], 2)
        _grow(database, 4)
        with pytest.raises(QuorumNotMetError):
            publisher.publish()
    assert reading.latest_checkpoint(database) is None


def test_a_witness_that_knows_another_size_is_asked_again_from_it(
    database: Database, log_key: NoteSigner, tmp_path: Path
) -> None:
    _grow(database, 7)
    with LocalWitness(tmp_path / "w1", "w1.example", log_key.verifier) as w1:
        # The log published size 7 before this witness was configured: it knows none.
        _publisher(database, log_key, [], 0).publish()
        _grow(database, 9, start=7)
        published = _publisher(database, log_key, [w1], 1).publish()
        assert published is not None and published.cosigned_by == ("w1.example",)
        assert w1.requests == 2 and w1.size == 16


def test_a_policy_that_cannot_be_met_is_refused(log_key: NoteSigner, tmp_path: Path) -> None:
    with LocalWitness(tmp_path / "w1", "w1.example", log_key.verifier) as w1:
        for k in (0, 2):
            with pytest.raises(ConfigurationError):
                WitnessPolicy((witness(w1.vkey, w1.url),), k)


def test_a_forked_log_is_not_cosigned(
    database: Database, log_key: NoteSigner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A second tree under the same key (a rewritten copy of the log) gets no cosignature."""
    with LocalWitness(tmp_path / "w1", "w1.example", log_key.verifier) as w1:
        _grow(database, 5)
        assert _publisher(database, log_key, [w1], 1).publish() is not None
        fork = open_database(f"sqlite:///{tmp_path / 'fork.sqlite3'}")
        try:
            with fork.begin() as session:
                append_many(session, [b"e0", b"e1", b"rewritten", b"e3", b"e4", b"e5"])
            integrate_all(fork, CLOCK)
            forked = _publisher(fork, log_key, [w1], 1)
            # It claims the witness's size 5 as its old one, with a proof from its own tree.
            store_checkpoint(fork, 0, None, 5, b"-\n", CLOCK.now())
            with pytest.raises(QuorumNotMetError):
                forked.publish()
        finally:
            fork.dispose()
        assert w1.size == 5
    assert "refused (422)" in caplog.text  # the witness's answer: not consistent


# ---- witnesses that are away: backoff ------------------------------------------------------


class _FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_backoff_doubles_with_jitter_up_to_its_cap_and_resets_on_success() -> None:
    clock = _FakeTime()
    draws = iter([0.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.0])
    backoff = Backoff(2.0, 20.0, now=clock, jitter=lambda: next(draws))
    assert backoff.due("w1")
    # Equal jitter: between half and all of 2, 4, 8, 16, then the cap of 20.
    waits = [backoff.failed("w1") for _ in range(6)]
    assert waits == [1.0, 4.0, 6.0, 16.0, 20.0, 20.0]
    assert backoff.failures("w1") == 6
    assert not backoff.due("w1") and backoff.due("w2")  # one witness's turns, not the others'
    clock.now += 19.9
    assert not backoff.due("w1")
    clock.now += 0.1
    assert backoff.due("w1")
    backoff.succeeded("w1")
    assert backoff.failures("w1") == 0 and backoff.due("w1")
    assert backoff.failed("w1") == 1.0  # from the base again
    with pytest.raises(ValueError, match="base"):
        Backoff(0.0, 1.0)


class _Witnesses(WitnessClient):
    """The witness client with the network replaced: the named witnesses are away."""

    def __init__(self, real: WitnessClient) -> None:
        super().__init__(timeout=5)
        self.real = real
        self.away: set[str] = set()
        self.asked: list[str] = []

    def add_checkpoint(
        self, target: Witness, old: int, proof: Sequence[bytes], checkpoint: bytes
    ) -> Signature | Conflict:
        self.asked.append(target.name)
        if target.name in self.away:
            raise WitnessError(f"witness {target.name}: connection refused")
        return self.real.add_checkpoint(target, old, proof, checkpoint)


def test_a_witness_that_is_away_is_asked_again_after_its_wait_and_the_quorum_still_rules(
    database: Database, log_key: NoteSigner, tmp_path: Path
) -> None:
    clock = _FakeTime()
    with (
        LocalWitness(tmp_path / "w1", "w1.example", log_key.verifier) as w1,
        LocalWitness(tmp_path / "w2", "w2.example", log_key.verifier) as w2,
    ):
        client = _Witnesses(WitnessClient(timeout=5))
        client.away.add("w2.example")
        policy = WitnessPolicy((witness(w1.vkey, w1.url), witness(w2.vkey, w2.url)), 2)
        backoff = Backoff(4.0, 60.0, now=clock, jitter=lambda: 1.0)
        publisher = Publisher(database, CLOCK, log_key, policy, client, backoff)
        _grow(database, 3)
        with pytest.raises(QuorumNotMetError):
            publisher.publish()
        assert client.asked.count("w2.example") == 1
        # Within its wait, w2 is not asked, and 2 of 2 cannot be had: nothing published.
        client.asked.clear()
        clock.now += 3.9
        with pytest.raises(QuorumNotMetError):
            publisher.publish()
        assert "w1.example" in client.asked and "w2.example" not in client.asked
        assert reading.latest_checkpoint(database) is None
        # Back, and its wait over: asked, cosigns, published; its turns start afresh.
        client.away.clear()
        client.asked.clear()
        clock.now += 0.1
        published = publisher.publish()
        assert published is not None and published.cosigned_by == ("w1.example", "w2.example")
        assert client.asked.count("w2.example") == 1
        assert backoff.failures("w2.example") == 0 and w2.size == 3
