"""The transparency log's errors: one branch of the service's error tree."""

from __future__ import annotations

from trustsvc.errors import InvalidInputError, TrustServiceError


class TlogError(TrustServiceError):
    """A log format or proof could not be read, built or checked."""

    code = "tlog"


class ProofError(TlogError):
    """A Merkle proof does not prove what it was asked to (or cannot be built)."""

    code = "tlog-proof"


class FormatError(TlogError, InvalidInputError):
    """Text or bytes that break a C2SP format's rules; the message names the rule."""

    code = "tlog-format"


class SignatureError(TlogError):
    """A signed note, checkpoint or cosignature does not verify with the keys given."""

    code = "tlog-signature"
