"""What a verification concludes: one verdict, the reasons, and the facts a clerk needs.

A failed verification is data, not an exception. When several problems are
found, the headline is the verdict that explains the document best to a
clerk (``PRECEDENCE``, the one table of it), and every reason is listed.
Verdict words for people are defined here once (``VERDICT_TEXT``); pages,
the CLI and the printed report take them from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum


class Verdict(StrEnum):
    """One word for the whole document (lower-case in JSON)."""

    MALFORMED_INPUT = "malformed_input"
    NOT_SEALED = "not_sealed"
    INVALID_SIGNATURE = "invalid_signature"
    UNTRUSTED_ISSUER = "untrusted_issuer"
    SEAL_CERTIFICATE_REVOKED_OR_EXPIRED = "seal_certificate_revoked_or_expired"
    MODIFIED_AFTER_SEALING = "modified_after_sealing"
    TIMESTAMP_MISSING = "timestamp_missing"
    UNKNOWN_TO_LIBRARY = "unknown_to_library"
    NOT_CURRENT = "not_current"
    NOT_YET_VALID = "not_yet_valid"
    PRESENTATION_REFUSED = "presentation_refused"
    PRESENTATION_EXPIRED = "presentation_expired"
    PRESENTATION_USED = "presentation_used"
    NOT_EVALUABLE = "not_evaluable"
    VALID_OFFLINE = "valid_offline"
    VALID = "valid"


#: The headline among several findings: the lowest rank wins. The one table of
#: it (the README shows it with the same reasoning).
PRECEDENCE: dict[Verdict, int] = {
    # Not a readable PDF or token: nothing else could be looked at.
    Verdict.MALFORMED_INPUT: 0,
    # No seal at all: whatever else is wrong, nothing vouches for the document.
    Verdict.NOT_SEALED: 1,
    # The seal's signature does not hold over the bytes: nothing it says is
    # proven, so who sealed and when cannot be believed either.
    Verdict.INVALID_SIGNATURE: 2,
    # Sealed by someone not trusted or not entitled (a look-alike CA, another
    # department): a forgery, whatever else was done to it.
    Verdict.UNTRUSTED_ISSUER: 3,
    # A genuine seal, but its certificate was revoked (or not valid) when it
    # was applied: the sealer itself was no longer fit.
    Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED: 4,
    # A genuine, fit seal over a document that was changed afterwards.
    Verdict.MODIFIED_AFTER_SEALING: 5,
    # A policy finding, not a broken signature: genuine, intact and unchanged,
    # but no trusted time proves when it was sealed. Below every finding about
    # who sealed and what changed, so it never hides them.
    Verdict.TIMESTAMP_MISSING: 6,
    # A presentation code for another verifier (or purpose): this checker may
    # not learn the license's status, so no library finding may be the headline.
    Verdict.PRESENTATION_REFUSED: 7,
    # The document is sound; the library's word on the license comes next.
    Verdict.UNKNOWN_TO_LIBRARY: 8,
    # Suspended, revoked, superseded or expired: the license itself is not in
    # force, which a fresh code or a later visit would not change.
    Verdict.NOT_CURRENT: 9,
    # Genuine and in force from a later day: come back then.
    Verdict.NOT_YET_VALID: 10,
    # Problems of the presentation code only, the license being in force: the
    # holder shows a fresh code. (Below "not current": a fresh code of a
    # revoked license would not help.)
    Verdict.PRESENTATION_EXPIRED: 11,
    Verdict.PRESENTATION_USED: 12,
    # The service could not decide (a crash, a time limit, a revocation source
    # out of reach): below every definite finding, which already decides.
    Verdict.NOT_EVALUABLE: 13,
    # Not findings: what an offline check could not look at, and no finding.
    Verdict.VALID_OFFLINE: 14,
    Verdict.VALID: 15,
}

#: A verdict in words, Chinese and English: the one place they are defined.
VERDICT_TEXT: dict[Verdict, tuple[str, str]] = {
    Verdict.VALID: ("有效", "Valid"),
    Verdict.VALID_OFFLINE: (
        "签章有效，未联网核对证照状态",
        "Seal valid; license status not checked online",
    ),
    Verdict.NOT_CURRENT: ("证照非现行有效", "Not current"),
    Verdict.NOT_YET_VALID: ("证照尚未生效", "Not yet valid"),
    Verdict.MODIFIED_AFTER_SEALING: ("盖章后被修改", "Modified after sealing"),
    Verdict.INVALID_SIGNATURE: ("签名无效", "Invalid signature"),
    Verdict.UNTRUSTED_ISSUER: ("颁发机构不可信或不符", "Untrusted or wrong issuer"),
    Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED: (
        "印章证书已吊销或过期",
        "Seal certificate revoked or expired",
    ),
    Verdict.TIMESTAMP_MISSING: ("缺少可信时间戳", "No trusted timestamp"),
    Verdict.NOT_SEALED: ("未盖电子印章", "Not sealed"),
    Verdict.MALFORMED_INPUT: ("文件无法读取", "Not a readable document"),
    Verdict.NOT_EVALUABLE: ("暂时无法核验", "Could not be verified"),
    Verdict.UNKNOWN_TO_LIBRARY: ("证照库中无此证照", "Unknown to the library"),
    Verdict.PRESENTATION_REFUSED: ("亮证码不在此核验", "Code not for this verifier"),
    Verdict.PRESENTATION_EXPIRED: (
        "亮证码已过期，请持证人重新出示",
        "Code expired: ask the holder to show a fresh code",
    ),
    Verdict.PRESENTATION_USED: (
        "亮证码已使用，请持证人重新出示",
        "Code already used: ask the holder to show a fresh code",
    ),
}


class ReasonCode(StrEnum):
    """The stable code of a finding: what the API, the CLI and the reports name it by.

    The sentences (and the verdict each code leads to) are in ``reasons``.
    """

    # The input could not be read, or the check could not finish.
    EMPTY_INPUT = "empty_input"
    NOT_A_PDF = "not_a_pdf"
    MALFORMED_PDF = "malformed_pdf"
    ENCRYPTED_PDF = "encrypted_pdf"
    TOO_LARGE = "too_large"
    NOT_EVALUABLE = "not_evaluable"
    TIME_LIMIT_EXCEEDED = "time_limit_exceeded"
    REVOCATION_UNAVAILABLE = "revocation_unavailable"

    # The seal, its signature and timestamp, and what changed after sealing.
    NOT_SEALED = "not_sealed"
    SEAL_UNREADABLE = "seal_unreadable"
    BYTE_RANGE_INVALID = "byte_range_invalid"
    SEAL_NOT_EVALUABLE = "seal_not_evaluable"
    SIGNATURE_INVALID = "signature_invalid"
    TIMESTAMP_MISSING = "timestamp_missing"
    TIMESTAMP_INVALID = "timestamp_invalid"
    NOT_FULLY_COVERED = "not_fully_covered"
    MODIFIED_AFTER_SEALING = "modified_after_sealing"
    BYTES_AFTER_END = "bytes_after_end"
    FURTHER_SIGNATURES = "further_signatures"
    NOT_THE_ISSUED_DOCUMENT = "not_the_issued_document"

    # Who sealed: trust, issuer and entitlement, the seal certificate's standing.
    NO_TRUST_ANCHORS = "no_trust_anchors"
    UNTRUSTED_SEAL_CERTIFICATE = "untrusted_seal_certificate"
    TIMESTAMP_UNTRUSTED = "timestamp_untrusted"
    ISSUER_MISMATCH = "issuer_mismatch"
    ISSUER_NOT_ENTITLED = "issuer_not_entitled"
    SEAL_CERTIFICATE_REVOKED = "seal_certificate_revoked"
    SEAL_CERTIFICATE_EXPIRED = "seal_certificate_expired"

    # The library.
    UNKNOWN_TO_LIBRARY = "unknown_to_library"
    VERIFICATION_REPORT = "verification_report"

    # QR tokens.
    TOKEN_MALFORMED = "token_malformed"  # noqa: S105 (a finding, not a secret)
    TOKEN_UNKNOWN_KEY = "token_unknown_key"  # noqa: S105 (a finding, not a secret)
    TOKEN_SIGNATURE_INVALID = "token_signature_invalid"  # noqa: S105 (a finding, not a secret)
    TOKEN_SEAL_REVOKED = "token_seal_revoked"  # noqa: S105 (a finding, not a secret)
    OFFLINE_NOT_CHECKED = "offline_not_checked"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (a finding, not a secret)
    TOKEN_CONTRADICTS_LIBRARY = "token_contradicts_library"  # noqa: S105 (a finding, not a secret)

    # Presentation codes.
    PRESENTATION_UNKNOWN = "presentation_unknown"
    PRESENTATION_ALREADY_USED = "presentation_already_used"
    PRESENTATION_FOR_ANOTHER_VERIFIER = "presentation_for_another_verifier"
    PRESENTATION_PURPOSE_MISMATCH = "presentation_purpose_mismatch"
    PRESENTATION_PURPOSE_NOT_ALLOWED = "presentation_purpose_not_allowed"

    # The license's own status.
    LICENSE_SUSPENDED = "license_suspended"
    LICENSE_REVOKED = "license_revoked"
    LICENSE_SUPERSEDED = "license_superseded"
    LICENSE_EXPIRED = "license_expired"
    LICENSE_NOT_YET_VALID = "license_not_yet_valid"


class Scope(StrEnum):
    """What a verification could consult: the library and revocation (online), or not."""

    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Reason:
    """One finding: a stable code and a sentence in Chinese and English."""

    code: ReasonCode
    verdict: Verdict
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Facts:
    """What the clerk sees beside the verdict; absent facts are None."""

    identifier: str | None = None
    license_type: str | None = None
    license_number: str | None = None
    issuer_name: str | None = None
    issuer_code: str | None = None
    seal_subject: str | None = None
    seal_serial: str | None = None
    signing_time: datetime | None = None
    timestamp_authority: str | None = None
    holder_name_masked: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    status: str | None = None
    #: When the license stopped being in force (UTC), why, and which revocation it was.
    status_since: datetime | None = None
    status_reason: str | None = None
    revocation_kind: str | None = None
    #: For a superseded license: the version in force now.
    current_identifier: str | None = None
    current_number: str | None = None
    #: A purpose-annotated copy (加注件): the service's note over the license, as sealed
    #: ("仅供〈用证事由〉使用 · 〈窗口〉 · 〈日期〉"), and the purpose it names.
    annotation: str | None = None
    annotation_purpose: str | None = None


@dataclass(frozen=True)
class VerificationReport:
    verdict: Verdict
    reasons: tuple[Reason, ...]
    facts: Facts = field(default_factory=Facts)
    checked_at: datetime | None = None
    scope: Scope = Scope.ONLINE

    @property
    def is_valid(self) -> bool:
        """Valid as an online check says it: ``valid_offline`` is not."""
        return self.verdict is Verdict.VALID

    @property
    def is_valid_offline(self) -> bool:
        return self.verdict is Verdict.VALID_OFFLINE


def headline(reasons: list[Reason] | tuple[Reason, ...], scope: Scope = Scope.ONLINE) -> Verdict:
    """The verdict these findings add up to (``PRECEDENCE``); no finding: valid (offline)."""
    if not reasons:
        return Verdict.VALID_OFFLINE if scope is Scope.OFFLINE else Verdict.VALID
    verdict = min((r.verdict for r in reasons), key=PRECEDENCE.__getitem__)
    if verdict is Verdict.VALID and scope is Scope.OFFLINE:
        return Verdict.VALID_OFFLINE
    return verdict


def conclude(
    reasons: list[Reason], facts: Facts, checked_at: datetime, scope: Scope = Scope.ONLINE
) -> VerificationReport:
    """The report for these findings: valid only when there is no finding at all."""
    return VerificationReport(headline(reasons, scope), tuple(reasons), facts, checked_at, scope)


# ---- as JSON, between processes ------------------------------------------------------

_DAYS = frozenset({"valid_from", "valid_until"})
_MOMENTS = frozenset({"signing_time", "status_since"})


def report_to_json(report: VerificationReport) -> bytes:
    """The report as JSON: how a verification child answers (never pickled: see isolation)."""
    facts = {
        name: value.isoformat() if isinstance(value, date | datetime) else value
        for name, value in vars(report.facts).items()
    }
    return json.dumps(
        {
            "reasons": [
                [r.code, r.verdict.value, r.message_zh, r.message_en] for r in report.reasons
            ],
            "facts": facts,
            "checked_at": report.checked_at.isoformat() if report.checked_at else None,
            "scope": report.scope.value,
        },
        ensure_ascii=False,
    ).encode()


def report_from_json(data: bytes) -> VerificationReport:
    """A report read back from ``report_to_json``; the verdict follows from the reasons again.

    Raises ``ValueError`` (or ``KeyError``, ``TypeError``) for anything that is not one.
    """
    raw = json.loads(data)
    reasons = [
        Reason(ReasonCode(code), Verdict(verdict), str(zh), str(en))
        for code, verdict, zh, en in raw["reasons"]
    ]
    given = raw["facts"]
    values: dict[str, object] = {}
    for name in (f.name for f in fields(Facts)):
        value = given.get(name)
        if value is not None:
            if name in _DAYS:
                value = date.fromisoformat(value)
            elif name in _MOMENTS:
                value = datetime.fromisoformat(value)
            elif not isinstance(value, str):
                raise TypeError(f"fact {name} is not text")
        values[name] = value
    checked_at = datetime.fromisoformat(raw["checked_at"])
    scope = Scope(raw.get("scope", Scope.ONLINE.value))
    return conclude(reasons, Facts(**values), checked_at, scope)  # type: ignore[arg-type]
