"""The log's side of C2SP tlog-witness: ask a witness to cosign a checkpoint
(``add-checkpoint``) and keep only cosignatures that verify with the witness's key."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from trustsvc.tlog.checkpoint import parse_checkpoint_text
from trustsvc.tlog.cosignature import CosignatureVerifier
from trustsvc.tlog.encoding import decode_decimal
from trustsvc.tlog.errors import FormatError, SignatureError, TlogError
from trustsvc.tlog.note import Note, Signature, parse_note, verify_note
from trustsvc.tlog.witness import request_body

MAX_RESPONSE_BYTES = 16 * 1024


class WitnessUnavailableError(TlogError):
    """The witness could not be reached or answered something that is not an answer."""

    code = "witness-unavailable"


class WitnessRefusedError(TlogError):
    """The witness refused to cosign (``status``: the HTTP status it answered with)."""

    code = "witness-refused"

    def __init__(self, message: str, status: int, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        #: With 409: the size of the checkpoint the witness last cosigned.
        self.size = size


@dataclass(frozen=True)
class WitnessCosignature:
    """A witness's cosignature on a checkpoint, verified with its key."""

    witness: str
    signature: Signature


def add_checkpoint(
    url: str,
    checkpoint_note: bytes,
    old_size: int,
    proof: Sequence[bytes],
    witness: CosignatureVerifier,
    *,
    timeout: float = 10.0,
) -> WitnessCosignature:
    """POST ``<url>/add-checkpoint``; return the witness's cosignature, verified.

    Raises ``WitnessRefusedError`` (with 409, ``size`` says which old size the witness
    wants: build the proof from there and ask again) or ``WitnessUnavailableError``."""
    if not url.startswith(("http://", "https://")):
        raise FormatError("a witness URL is http:// or https://")
    # The scheme is checked above: no file: or custom schemes.
    request = urllib.request.Request(  # noqa: S310
        url.rstrip("/") + "/add-checkpoint",
        data=request_body(old_size, proof, checkpoint_note),
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(MAX_RESPONSE_BYTES + 1)
        exc.close()
        size = None
        if exc.code == 409 and exc.headers.get("Content-Type", "").startswith("text/x.tlog.size"):
            try:
                size = decode_decimal(detail.decode("ascii").removesuffix("\n"), "the size")
            except (UnicodeDecodeError, FormatError) as bad:
                raise WitnessUnavailableError("the witness's 409 answer has no size") from bad
        text = detail[:200].decode("utf-8", "replace").strip()
        raise WitnessRefusedError(
            f"the witness refused ({exc.code}): {text}", exc.code, size
        ) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise WitnessUnavailableError(f"the witness at {url} cannot be reached: {exc}") from exc
    if len(body) > MAX_RESPONSE_BYTES:
        raise WitnessUnavailableError("the witness's answer is too large")
    return cosignature_from(body, checkpoint_note, witness)


def cosignature_from(
    body: bytes, checkpoint_note: bytes, witness: CosignatureVerifier
) -> WitnessCosignature:
    """The witness's verified cosignature from an add-checkpoint answer (signature lines,
    checked by appending them to the checkpoint's text as the spec suggests)."""
    text = parse_note(checkpoint_note).text
    parse_checkpoint_text(text)
    try:
        answer = parse_note(text.encode("utf-8") + b"\n" + body)
        opened = verify_note(answer, [witness])
    except (FormatError, SignatureError) as exc:
        raise WitnessUnavailableError(
            f"the witness's answer has no valid cosignature: {exc.message}"
        ) from exc
    return WitnessCosignature(witness.name, opened.verified[0])


def with_cosignatures(checkpoint_note: bytes, cosignatures: Sequence[WitnessCosignature]) -> bytes:
    """The checkpoint note with the cosignatures added after its own signatures."""
    note = parse_note(checkpoint_note)
    have = set(note.signatures)
    extra = tuple(c.signature for c in cosignatures if c.signature not in have)
    return Note(note.text, note.signatures + extra).encode()
