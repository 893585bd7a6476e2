"""Asking witnesses to cosign: the client side of C2SP tlog-witness (``add-checkpoint``).

``POST <witness>/add-checkpoint`` with ``old <size>``, the consistency proof
from that size, a blank line and the signed checkpoint; the witness answers
200 with its cosignature lines, or 409 with the size it last cosigned (then
asked once more from that size). Answers are read with bounds on size and
time; a witness that misbehaves is one cosignature fewer, never a crash.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trustsvc.errors import UpstreamUnavailableError
from trustsvc.tlog.cosignature import CosignatureVerifier, cosignature_verifier
from trustsvc.tlog.encoding import decode_decimal, encode_base64
from trustsvc.tlog.errors import TlogError
from trustsvc.tlog.note import Signature, parse_note

#: A witness answers a few signature lines; anything far larger is not an answer.
MAX_ANSWER_BYTES = 16 * 1024
#: Proof hashes a request may carry (a tree of 2**63 needs 63 at most... twice for safety).
MAX_PROOF_HASHES = 126


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


#: Proof from a size to the checkpoint's: what the client needs to answer a 409.
ProofFrom = Callable[[int], Sequence[bytes]]


class WitnessClient:
    """``add-checkpoint`` over HTTP with urllib: one request, bounded, with a timeout."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    def add_checkpoint(
        self, target: Witness, old: int, proof: Sequence[bytes], checkpoint: bytes
    ) -> list[Signature] | Conflict:
        if len(proof) > MAX_PROOF_HASHES:
            raise WitnessError("a consistency proof too long to send")
        body = (
            f"old {old}\n".encode()
            + b"".join(encode_base64(h).encode() + b"\n" for h in proof)
            + b"\n"
            + checkpoint
        )
        request = urllib.request.Request(  # noqa: S310 - the URL is an http(s) setting
            target.url + "/add-checkpoint", data=body, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                data = answer.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 409:
                text = exc.read(64).decode("ascii", "replace").strip()
                try:
                    return Conflict(decode_decimal(text, "the witness's tree size"))
                except TlogError as bad:
                    raise WitnessError(f"witness {target.name}: a 409 without a size") from bad
            raise WitnessError(f"witness {target.name} refused the checkpoint: {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise WitnessError(f"witness {target.name} did not answer: {exc}") from exc
        if len(data) > MAX_ANSWER_BYTES:
            raise WitnessError(f"witness {target.name} answered more than a cosignature")
        try:
            # The answer is signature lines alone: read them as the signatures of a note.
            return list(parse_note(b"x\n\n" + data).signatures)
        except TlogError as exc:
            raise WitnessError(f"witness {target.name} answered no signature lines") from exc
