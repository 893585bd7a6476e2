"""What a verification concludes: one verdict, the reasons, and the facts a clerk needs.

A failed verification is data, not an exception. The verdicts are ordered
by precedence: when several problems are found, the first in ``Verdict``
order is the one reported, and every reason is listed.
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
    # Who sealed comes before what was done after: a seal nobody trusts
    # explains a document better than the changes made to it.
    UNTRUSTED_ISSUER = "untrusted_issuer"
    SEAL_CERTIFICATE_REVOKED_OR_EXPIRED = "seal_certificate_revoked_or_expired"
    MODIFIED_AFTER_SEALING = "modified_after_sealing"
    UNKNOWN_TO_LIBRARY = "unknown_to_library"
    NOT_CURRENT = "not_current"
    VALID = "valid"


_PRECEDENCE = {verdict: rank for rank, verdict in enumerate(Verdict)}


@dataclass(frozen=True)
class Reason:
    """One finding: a stable code and a sentence in Chinese and English."""

    code: str
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


@dataclass(frozen=True)
class VerificationReport:
    verdict: Verdict
    reasons: tuple[Reason, ...]
    facts: Facts = field(default_factory=Facts)
    checked_at: datetime | None = None

    @property
    def is_valid(self) -> bool:
        return self.verdict is Verdict.VALID


def conclude(reasons: list[Reason], facts: Facts, checked_at: datetime) -> VerificationReport:
    """The report for these findings: valid only when there is no finding at all."""
    if not reasons:
        return VerificationReport(Verdict.VALID, (), facts, checked_at)
    worst = min(reasons, key=lambda r: _PRECEDENCE[r.verdict])
    return VerificationReport(worst.verdict, tuple(reasons), facts, checked_at)


# ---- as JSON, between processes ------------------------------------------------------

_DAYS = frozenset({"valid_from", "valid_until"})
_MOMENTS = frozenset({"signing_time"})


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
        },
        ensure_ascii=False,
    ).encode()


def report_from_json(data: bytes) -> VerificationReport:
    """A report read back from ``report_to_json``; the verdict follows from the reasons again.

    Raises ``ValueError`` (or ``KeyError``, ``TypeError``) for anything that is not one.
    """
    raw = json.loads(data)
    reasons = [
        Reason(str(code), Verdict(verdict), str(zh), str(en))
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
    return conclude(reasons, Facts(**values), checked_at)  # type: ignore[arg-type]
