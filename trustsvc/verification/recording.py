"""The caller's side of a token check: recording a presentation code's successful check.

The verifier decides and writes nothing (``Verifier.check_token``); what a
check leaves behind, a used-up single-use code and the check in the holder's
record, is written here, by whoever asked (the API's routes, the CLI). A
single-use code is used up by one statement, so that of parallel checks of one
code exactly one passes; the others are told it was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trustsvc.errors import ConfigurationError
from trustsvc.verification import reasons as R
from trustsvc.verification.library import CodeState, LibraryLookup
from trustsvc.verification.report import VerificationReport, conclude


@dataclass(frozen=True)
class PresentationUse:
    """A presentation code's check that passed, to be recorded (and the code used up)."""

    code: CodeState
    checked_at: datetime
    checked_by: str
    #: The purpose the checker stated, if any.
    purpose: str | None


@dataclass(frozen=True)
class TokenCheck:
    """The verifier's answer on a token, and what the caller must record of it."""

    report: VerificationReport
    #: Set only for a presentation code that passed every check.
    use: PresentationUse | None = None


def record_token_check(library: LibraryLookup | None, check: TokenCheck) -> VerificationReport:
    """Record what the check leaves behind; the report, or ``presentation_used`` if another
    check of a single-use code got there first."""
    use = check.use
    if use is None:
        return check.report
    if library is None:
        raise ConfigurationError("a presentation code's check is recorded in the library")
    if library.record_check(use.code, use.checked_at, use.checked_by, use.purpose):
        return check.report
    report = check.report
    return conclude(
        [*report.reasons, R.PRESENTATION_USED], report.facts, use.checked_at, report.scope
    )
