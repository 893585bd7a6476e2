"""Publication: the integrated tree as a checkpoint, signed, cosigned, and stored by CAS.

A checkpoint (C2SP tlog-checkpoint) names the log (its origin), the tree size
and root; the log's Ed25519 key signs it as a note (C2SP signed-note). The
witness policy asks each witness (C2SP tlog-witness) and publishes only with
``quorum`` valid cosignatures (C2SP tlog-cosignature); a witness that fails is
asked again after a growing wait (``witnesses.Backoff``). The stored checkpoint
changes only by compare-and-swap on the one it replaces, so two nodes that
publish at once never both win: the loser's checkpoint is dropped (it names the
same tree, or a smaller one that the winner's is consistent with).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from trustsvc.audit.log.hashes import DatabaseHashes
from trustsvc.audit.log.integration import read_head
from trustsvc.audit.log.witnesses import (
    Backoff,
    Conflict,
    Witness,
    WitnessClient,
    WitnessError,
)
from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import LogCheckpoint, LogHead
from trustsvc.errors import ConfigurationError
from trustsvc.tlog.checkpoint import Checkpoint, sign_checkpoint
from trustsvc.tlog.merkle import prove_tree
from trustsvc.tlog.note import NoteSigner, Signature

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WitnessPolicy:
    """Which witnesses are asked, and how many of them must cosign (k of n)."""

    witnesses: tuple[Witness, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        count = len(self.witnesses)
        if not 0 <= self.quorum <= count or (count and self.quorum == 0):
            raise ConfigurationError(
                f"a witness quorum of {self.quorum} of {count} witnesses cannot be asked"
            )
        if len({(w.name, w.verifier.key_id) for w in self.witnesses}) != count:
            raise ConfigurationError("the same witness key is configured twice")


@dataclass(frozen=True)
class Published:
    """A checkpoint this node stored, and the witnesses whose cosignatures it carries."""

    size: int
    note: bytes
    cosigned_by: tuple[str, ...]


class QuorumNotMetError(WitnessError):
    """Too few witnesses cosigned: the checkpoint is not published (the old one stays)."""

    code = "witness-quorum-not-met"


class Publisher:
    """Signs, has cosigned and publishes checkpoints of one log."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        log_key: NoteSigner,
        policy: WitnessPolicy,
        client: WitnessClient,
        backoff: Backoff | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._key = log_key
        self._policy = policy
        self._client = client
        self._backoff = backoff if backoff is not None else Backoff()

    @property
    def origin(self) -> str:
        return self._key.name

    def publish(self) -> Published | None:
        """Publish the integrated tree if it is larger than the published one (or none is).

        None when there is nothing new, or another node stored its checkpoint first.
        Raises ``QuorumNotMetError`` when the witnesses do not cosign enough.
        """
        with self._database.begin() as session:
            head = read_head(session)
            stored = session.execute(
                select(LogHead.checkpoint_size, LogHead.checkpoint).where(LogHead.id == 1)
            ).one()
            old_size, old_note = int(stored.checkpoint_size), stored.checkpoint
            if old_note is not None and head.size <= old_size:
                return None
            # The consistency proof the witnesses are sent: from the size published last.
            proof = (
                prove_tree(head.size, old_size, DatabaseHashes(session))
                if 0 < old_size < head.size
                else []
            )
        checkpoint = Checkpoint(self.origin, head.size, head.root)
        note = sign_checkpoint(checkpoint, self._key)
        cosignatures, names = self._cosign(note.text, note.encode(), old_size, proof, head.size)
        signed = note.encode() + "".join(s.line() for s in cosignatures).encode()
        if not store_checkpoint(
            self._database, old_size, old_note, head.size, signed, self._clock.now()
        ):
            return None
        return Published(head.size, signed, names)

    def _cosign(
        self,
        text: str,
        note: bytes,
        old: int,
        proof: list[bytes],
        size: int,
    ) -> tuple[list[Signature], tuple[str, ...]]:
        policy = self._policy
        if not policy.witnesses:
            return [], ()

        def ask(target: Witness) -> Signature | None:
            if not self._backoff.due(target.name):
                return None  # away at the last turns: asked again when its wait is over
            try:
                answer = self._client.add_checkpoint(target, old, proof, note)
                if isinstance(answer, Conflict):
                    if not 0 <= answer.size <= size:
                        raise WitnessError(
                            f"witness {target.name} has cosigned a tree of {answer.size}, "
                            f"larger than this log's {size}"
                        )
                    # The witness knows a size other than the one published here last
                    # (it was set up later, or another log node published): prove from it.
                    again = self._proof(answer.size, size)
                    answer = self._client.add_checkpoint(target, answer.size, again, note)
                if isinstance(answer, Conflict):
                    raise WitnessError(f"witness {target.name} conflicted twice")
            except WitnessError as exc:
                wait = self._backoff.failed(target.name)
                _log.warning("%s; asked again in %.0f s", exc.message, wait)
                return None
            self._backoff.succeeded(target.name)
            return answer

        with ThreadPoolExecutor(max_workers=len(policy.witnesses)) as pool:
            answers = list(pool.map(ask, policy.witnesses))
        got = [(w.name, s) for w, s in zip(policy.witnesses, answers, strict=True) if s]
        if len(got) < policy.quorum:
            raise QuorumNotMetError(
                f"{len(got)} of the {policy.quorum} witness cosignatures asked for: "
                "the checkpoint is not published"
            )
        return [s for _, s in got], tuple(name for name, _ in got)

    def _proof(self, old: int, size: int) -> list[bytes]:
        if old in (0, size):
            return []
        with self._database.begin() as session:
            return prove_tree(size, old, DatabaseHashes(session))


def store_checkpoint(
    database: Database, old_size: int, old_note: str | None, size: int, signed: bytes, now: datetime
) -> bool:
    """Compare-and-swap: replace the stored checkpoint only if it is still ``old_note``.

    Whether this call stored it; False means another node published first. The winner
    also adds it to the checkpoint history (``log_checkpoints``).
    """
    match = LogHead.checkpoint.is_(None) if old_note is None else LogHead.checkpoint == old_note
    with database.writing() as session:
        result = cast(
            CursorResult[Any],
            session.execute(
                update(LogHead)
                .where(LogHead.id == 1, LogHead.checkpoint_size == old_size, match)
                .values(checkpoint_size=size, checkpoint=signed.decode("utf-8"), published_at=now)
            ),
        )
        if result.rowcount != 1:
            return False
        # The history gets it in the same transaction: one stored, both stored.
        session.add(LogCheckpoint(size=size, note=signed.decode("utf-8"), published_at=now))
    return True
