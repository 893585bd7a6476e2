"""The witnesses of the log's policy, asked with tlog's C2SP tlog-witness client.

Each witness is its cosignature key and the URL prefix of its API. A 409 (the
witness cosigned another size) comes back as ``Conflict`` so that the publisher
can prove from that size and ask again; any other failure (away, refused, a
cosignature that does not verify) is a ``WitnessError``: one cosignature fewer,
never a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
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
