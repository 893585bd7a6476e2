"""The witnesses of the log's policy, asked with tlog's C2SP tlog-witness client.

Each witness is its cosignature key and the URL prefix of its API. A 409 (the
witness cosigned another size) comes back as ``Conflict`` so that the publisher
can prove from that size and ask again; any other failure (away, refused, a
cosignature that does not verify) is a ``WitnessError``: one cosignature fewer,
never a crash. ``Backoff`` spaces the attempts at a witness that keeps failing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trustsvc.errors import UpstreamUnavailableError
from trustsvc.tlog.cosignature import CosignatureVerifier, cosignature_verifier
from trustsvc.tlog.errors import TlogError
from trustsvc.tlog.note import Signature
from trustsvc.tlog.witness_client import WitnessRefusedError, add_checkpoint


class WitnessError(UpstreamUnavailableError):
    """A witness did not cosign: it was away, refused, or answered something else."""

    code = "witness-unavailable"


@dataclass(frozen=True)
class Witness:
    """A witness of the policy: its cosignature key, and the URL prefix of its API."""

    verifier: CosignatureVerifier
    url: str

    @property
    def name(self) -> str:
        return self.verifier.name


def witness(vkey: str, url: str) -> Witness:
    return Witness(cosignature_verifier(vkey), url.rstrip("/"))


@dataclass(frozen=True)
class Conflict:
    """The witness has cosigned a tree of ``size`` already: ask again from there."""

    size: int


class WitnessClient:
    """``add-checkpoint`` with a timeout; the answer's cosignature verified by tlog."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    def add_checkpoint(
        self, target: Witness, old: int, proof: Sequence[bytes], checkpoint: bytes
    ) -> Signature | Conflict:
        try:
            answer = add_checkpoint(
                target.url, checkpoint, old, proof, target.verifier, timeout=self._timeout
            )
        except WitnessRefusedError as exc:
            if exc.status == 409 and exc.size is not None:
                return Conflict(exc.size)
            raise WitnessError(f"witness {target.name}: {exc.message}") from exc
        except TlogError as exc:
            raise WitnessError(f"witness {target.name}: {exc.message}") from exc
        return answer.signature


#: The first wait after a failure, and the longest: a witness away for hours is asked
#: every five minutes, not every second.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 300.0


@dataclass
class _Turns:
    failures: int = 0
    #: The monotonic time before which the witness is not asked.
    not_before: float = 0.0


class Backoff:
    """Exponential backoff with jitter per witness: capped, and reset by a cosignature.

    After the n-th failure in a row a witness is skipped for a wait drawn between
    half and all of ``min(cap, base * 2**(n-1))`` ("equal jitter": nodes that lost a
    witness together do not come back together). A skipped witness is one
    cosignature fewer, like a failed one, so the quorum still decides.
    """

    def __init__(
        self,
        base: float = BACKOFF_BASE_SECONDS,
        cap: float = BACKOFF_CAP_SECONDS,
        *,
        now: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < base <= cap:
            raise ValueError("a backoff needs 0 < base <= cap")
        self._base, self._cap = base, cap
        self._now, self._jitter = now, jitter
        self._turns: dict[str, _Turns] = {}
        self._lock = threading.Lock()

    def due(self, name: str) -> bool:
        """Whether the witness may be asked now."""
        with self._lock:
            turns = self._turns.get(name)
            return turns is None or self._now() >= turns.not_before

    def failed(self, name: str) -> float:
        """Note a failure; the wait before the witness is asked again."""
        with self._lock:
            turns = self._turns.setdefault(name, _Turns())
            turns.failures += 1
            ceiling = min(self._cap, self._base * 2.0 ** min(turns.failures - 1, 64))
            wait = ceiling * (0.5 + 0.5 * self._jitter())
            turns.not_before = self._now() + wait
            return wait

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._turns.pop(name, None)

    def failures(self, name: str) -> int:
        with self._lock:
            turns = self._turns.get(name)
            return turns.failures if turns else 0
