"""One verdict for a sealed PDF: authentic, unmodified, sealed by its issuer, current.

The checks, in order (issue 4 of the project): the input is a well-formed PDF
within limits; it carries a seal whose CMS signature is intact over its byte
range; nothing after the sealed revision but validation data and document
timestamps (pyHanko's difference analysis, plus no bytes after the last
%%EOF); the seal certificate chains to a configured trust anchor, with the
right key usage, neither expired nor revoked at the time the timestamp proves
(revocation from the embedded DSS, the service's own responder, or fetched);
the timestamp is valid and from a trusted TSA; the seal certificate belongs to
the department entitled to issue the document; and the library knows the
document and its current status.

Fail closed: anything that cannot be evaluated becomes a finding, never a
pass. A report is ``valid`` only when no check produced a finding at all.
What the service could not decide (a crash, the time limit, a revocation
source out of reach) is ``not_evaluable``, never blamed on the document.

A verifier is built from trust material alone (``trustsvc.verification.trust``:
certificates, a clock, no private key) and, online, a library lookup
(``trustsvc.verification.library``). Offline (no lookup) nothing but the
home's certificate files and the document or token is read, never the
database: the answer's scope is ``offline`` and its best verdict
``valid_offline``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from trustsvc.errors import TrustServiceError
from trustsvc.tokens.format import ParsedToken
from trustsvc.verification import reasons as R
from trustsvc.verification.chains import DEFAULT_MAX_BYTES, DEFAULT_TIME_LIMIT
from trustsvc.verification.checkers import ANONYMOUS, Checker
from trustsvc.verification.library import RevocationUnavailable
from trustsvc.verification.pdf_checks import Deadline, PdfChecks, TimeLimitExceeded
from trustsvc.verification.recording import PresentationUse, TokenCheck, record_token_check
from trustsvc.verification.report import Facts, Reason, Scope, VerificationReport, conclude
from trustsvc.verification.token_checks import TokenChecks

log = logging.getLogger("trustsvc.verification")


#: A long-lived verifier is rebuilt this often, so that trust-list changes reach it.
REBUILD_AFTER_SECONDS = 60.0


class Verifier(PdfChecks, TokenChecks):
    """Verifies sealed PDFs and QR tokens against trust material and, online, the library.

    ``library`` None is an offline verifier: it reads no database, and its best
    verdict is ``valid_offline``.
    """

    def verify_pdf(self, pdf: bytes) -> VerificationReport:
        """Verify a sealed PDF; past ``time_limit`` the verdict is ``not_evaluable``."""
        deadline = Deadline(self.time_limit)
        return self._fail_closed(
            lambda findings: self._verify(pdf, findings, deadline), offline=self.offline
        )

    def check_token(
        self,
        token: str | ParsedToken,
        *,
        offline: bool = False,
        checked_by: str | Checker = ANONYMOUS,
        purpose: str | None = None,
    ) -> TokenCheck:
        """Check a QR token: its signature and issuer, and (online) the library status.

        Nothing is written: a presentation code that passed comes back with the
        use the caller records (``trustsvc.verification.recording``), which is
        where a single-use code is used up.

        Offline, nothing but the home's certificate files is read: the seal
        certificate named by the token's key id must be among the published
        ones and chain to a trust anchor.

        ``checked_by`` is who checks a presentation code (a bare name is a
        checker that is no verifier client and may state no purpose), and
        ``purpose`` what it states; see ``trustsvc.verification.checkers``.
        """
        checker = checked_by if isinstance(checked_by, Checker) else Checker(checked_by)
        offline = offline or self.offline
        uses: list[PresentationUse] = []
        report = self._fail_closed(
            lambda findings: self._verify_token(token, offline, findings, checker, purpose, uses),
            offline=offline,
        )
        # A use is only ever noted when nothing was found: the report is valid.
        return TokenCheck(report, uses[0] if uses and not report.reasons else None)

    def verify_token(
        self,
        token: str | ParsedToken,
        *,
        offline: bool = False,
        checked_by: str | Checker = ANONYMOUS,
        purpose: str | None = None,
    ) -> VerificationReport:
        """``check_token`` and then, as its caller would, ``record_token_check``.

        For callers that want the one answer (tests, benchmarks, the public page);
        the routes and the CLI call the two steps themselves.
        """
        check = self.check_token(token, offline=offline, checked_by=checked_by, purpose=purpose)
        return record_token_check(self.library, check)

    def status_of(self, identifier: str) -> VerificationReport:
        """The library's current word on a license, by identifier (no document, no token)."""

        def check(findings: list[Reason]) -> Facts:
            record = self._library().entry_by_identifier(identifier.strip().upper())
            if record is None:
                findings.append(R.UNKNOWN_TO_LIBRARY)
                return Facts(identifier=identifier)
            return self._check_status(Facts(), record, self._today(), findings)

        return self._fail_closed(check)

    def _fail_closed(
        self, check: Callable[[list[Reason]], Facts], *, offline: bool = False
    ) -> VerificationReport:
        """Run a check; anything that goes wrong inside it is a finding, never a pass.

        A document too deeply nested to parse is the document's fault
        (``malformed_input``); the time limit, an unreachable revocation source
        or any other failure is the service's (``not_evaluable``).
        """
        checked_at = self.trust.clock.now()
        findings: list[Reason] = []
        facts = Facts()
        try:
            facts = check(findings)
        except RecursionError:
            findings.append(R.MALFORMED_STRUCTURE)
        except TimeLimitExceeded:
            findings.append(R.TIME_LIMIT_EXCEEDED)
        except RevocationUnavailable:
            log.warning("revocation status unavailable", exc_info=True)
            findings.append(R.REVOCATION_UNAVAILABLE)
        except TrustServiceError:
            raise
        except Exception:
            log.exception("verification could not be completed")
            findings.append(R.NOT_EVALUABLE)
        scope = Scope.OFFLINE if offline else Scope.ONLINE
        return conclude(findings, facts, checked_at, scope)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIME_LIMIT",
    "REBUILD_AFTER_SECONDS",
    "Verifier",
]
