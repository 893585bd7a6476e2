"""A verification report in plain words for someone who is no clerk: what the public QR
page shows.

One of a few standings heads the page (valid; valid with something to note;
invalid; could not be verified; a presentation code to show again; a code to be
checked elsewhere), then four checks a person understands — the content is
unchanged since sealing, it was sealed by the department entitled to issue it,
the library holds it in force, the time of sealing is proven — each passed,
failed or not checked, and what to do next. Every sentence is a pair (Chinese,
English); the page picks one. Pure: a report in, words out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from trustsvc.verification import reasons as R
from trustsvc.verification.report import (
    VERDICT_TEXT,
    ReasonCode,
    Scope,
    Verdict,
    VerificationReport,
)

#: Words in both languages: (Chinese, English).
Words = tuple[str, str]

#: A license valid for fewer days than this is shown with a note that it ends soon.
EXPIRY_NOTICE_DAYS = 30


class Standing(StrEnum):
    """The headline of the page; each has its own word, colour and icon."""

    VALID = "valid"
    #: Valid, with something a person should know (offline only, ends soon).
    ATTENTION = "attention"
    #: Something is wrong with the license or the document: do not rely on it.
    INVALID = "invalid"
    #: The service could not decide: not a finding about the license.
    UNDECIDED = "undecided"
    #: The presentation code is spent or expired; the holder shows a fresh one.
    SHOW_AGAIN = "show_again"
    #: The code names another verifier or a purpose: nothing of the license is shown.
    ELSEWHERE = "elsewhere"


HEADLINE: dict[Standing, Words] = {
    Standing.VALID: ("有效", "Valid"),
    Standing.ATTENTION: ("需注意", "Valid, with a note"),
    Standing.INVALID: ("无效", "Not valid"),
    Standing.UNDECIDED: ("无法核验", "Could not be verified"),
    Standing.SHOW_AGAIN: ("请持证人重新出示", "Ask the holder to show a fresh code"),
    Standing.ELSEWHERE: ("请到指定的核验方核验", "To be checked by the verifier it names"),
}


class CheckState(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


class Check(StrEnum):
    """The four questions a person asks of a license."""

    UNCHANGED = "unchanged"
    ENTITLED_ISSUER = "entitled_issuer"
    IN_FORCE = "in_force"
    SEALING_TIME = "sealing_time"


CHECK_TEXT: dict[Check, Words] = {
    Check.UNCHANGED: ("盖章后内容未被改动", "Unchanged since it was sealed"),
    Check.ENTITLED_ISSUER: (
        "由有权颁发此类证照的部门盖章",
        "Sealed by the department entitled to issue it",
    ),
    Check.IN_FORCE: ("证照库中现行有效", "In force in the license library"),
    Check.SEALING_TIME: ("盖章时间有可信证明", "The time of sealing is proven"),
}

#: The findings that answer each question "no".
_FAILS: dict[Check, frozenset[ReasonCode]] = {
    Check.UNCHANGED: frozenset(
        {
            ReasonCode.NOT_SEALED,
            ReasonCode.SEAL_UNREADABLE,
            ReasonCode.BYTE_RANGE_INVALID,
            ReasonCode.SEAL_NOT_EVALUABLE,
            ReasonCode.SIGNATURE_INVALID,
            ReasonCode.NOT_FULLY_COVERED,
            ReasonCode.MODIFIED_AFTER_SEALING,
            ReasonCode.BYTES_AFTER_END,
            ReasonCode.FURTHER_SIGNATURES,
            ReasonCode.NOT_THE_ISSUED_DOCUMENT,
            ReasonCode.TOKEN_SIGNATURE_INVALID,
            ReasonCode.TOKEN_CONTRADICTS_LIBRARY,
        }
    ),
    Check.ENTITLED_ISSUER: frozenset(
        {
            ReasonCode.NO_TRUST_ANCHORS,
            ReasonCode.UNTRUSTED_SEAL_CERTIFICATE,
            ReasonCode.ISSUER_MISMATCH,
            ReasonCode.ISSUER_NOT_ENTITLED,
            ReasonCode.SEAL_CERTIFICATE_REVOKED,
            ReasonCode.SEAL_CERTIFICATE_EXPIRED,
            ReasonCode.TOKEN_UNKNOWN_KEY,
            ReasonCode.TOKEN_SEAL_REVOKED,
        }
    ),
    Check.IN_FORCE: frozenset(
        {
            ReasonCode.UNKNOWN_TO_LIBRARY,
            ReasonCode.VERIFICATION_REPORT,
            ReasonCode.PRESENTATION_UNKNOWN,
            ReasonCode.LICENSE_SUSPENDED,
            ReasonCode.LICENSE_REVOKED,
            ReasonCode.LICENSE_SUPERSEDED,
            ReasonCode.LICENSE_EXPIRED,
            ReasonCode.LICENSE_NOT_YET_VALID,
        }
    ),
    Check.SEALING_TIME: frozenset(
        {
            ReasonCode.TIMESTAMP_MISSING,
            ReasonCode.TIMESTAMP_INVALID,
            ReasonCode.TIMESTAMP_UNTRUSTED,
        }
    ),
}

#: Findings after which the verifier looks no further: what it did not reach is
#: "not checked", never "passed".
_STOPS = frozenset(
    {
        ReasonCode.EMPTY_INPUT,
        ReasonCode.NOT_A_PDF,
        ReasonCode.MALFORMED_PDF,
        ReasonCode.ENCRYPTED_PDF,
        ReasonCode.TOO_LARGE,
        ReasonCode.NOT_EVALUABLE,
        ReasonCode.TIME_LIMIT_EXCEEDED,
        ReasonCode.REVOCATION_UNAVAILABLE,
        ReasonCode.NOT_SEALED,
        ReasonCode.SEAL_UNREADABLE,
        ReasonCode.TOKEN_MALFORMED,
        ReasonCode.TOKEN_UNKNOWN_KEY,
        ReasonCode.TOKEN_SIGNATURE_INVALID,
        *R.PRESENTATION_CHECKER_REFUSALS,
    }
)

_SHOW_AGAIN = frozenset({Verdict.PRESENTATION_USED, Verdict.PRESENTATION_EXPIRED})
_UNDECIDED = frozenset({Verdict.NOT_EVALUABLE})

#: Said of a license in force when only its identifier was looked up.
STATUS_ONLY_NOTE: Words = (
    "仅查询了证照库中的状态，未核验证照文件或二维码本身：请同时核对对方出示的证照上的二维码。",
    "Only the library's status was looked up, not the document or its QR code: "
    "check the QR code on the license shown as well.",
)

#: What to do, by standing (and, for a license not in force, by its status).
ADVICE: dict[Standing, Words] = {
    Standing.VALID: (
        "证照真实有效，可据此办理业务。",
        "The license is genuine and in force: it may be relied on.",
    ),
    Standing.ATTENTION: (
        "证照目前有效，请留意上面的提示。",
        "The license is in force now: note what is said above.",
    ),
    Standing.INVALID: (
        "请勿据此证照办理业务。如有疑问，请持证人向颁发机构核实，或出示证照原件。",
        "Do not rely on this license. If in doubt, the holder should ask the issuer, "
        "or show the original.",
    ),
    Standing.UNDECIDED: (
        "这不表示证照无效，只是本次未能完成核验。请稍后重新扫码；仍无法核验时，请联系颁发机构。",
        "This does not mean the license is invalid: the check could not be completed. "
        "Scan again later; if it still fails, contact the issuer.",
    ),
    Standing.SHOW_AGAIN: (
        "亮证码一经使用或过期即不能再用。请持证人在手机上重新出示亮证码后再扫码；证照本身的状态见下方。",
        "A presentation code cannot be used again once used or expired. Ask the holder to "
        "show a fresh code on their phone and scan that; the license's own status is below.",
    ),
    Standing.ELSEWHERE: (
        "此码未被使用，证照信息不在此显示。",
        "This code has not been used up here, and the license is not shown.",
    ),
}
_NOT_CURRENT_ADVICE: dict[ReasonCode, Words] = {
    **dict.fromkeys(
        (ReasonCode.LICENSE_REVOKED, ReasonCode.LICENSE_SUSPENDED, ReasonCode.LICENSE_EXPIRED),
        (
            "请勿据此证照办理业务：它已不在有效状态（见上方的时间和原因）。持证人如有疑问，可向颁发机构咨询。",
            "Do not rely on this license: it is no longer in force (when and why are above). "
            "The holder may ask the issuer.",
        ),
    ),
    ReasonCode.LICENSE_SUPERSEDED: (
        "此版本已被新版本取代，请持证人出示现行版本。",
        "This version was replaced: ask the holder for the version in force.",
    ),
    ReasonCode.LICENSE_NOT_YET_VALID: (
        "证照尚未生效，在生效日前不能据此办理业务。",
        "The license is not in force yet: it cannot be relied on before its first day.",
    ),
    ReasonCode.UNKNOWN_TO_LIBRARY: (
        "本服务的证照库中没有这份证照：它可能不是本服务颁发的，或是伪造的。请勿据此办理业务，并向颁发机构核实。",
        "This service's library does not hold this license: it may not be one of its "
        "licenses, or it may be forged. Do not rely on it; check with the issuer.",
    ),
    ReasonCode.TOKEN_MALFORMED: (
        "扫描到的内容不是本服务的证照核验码。请确认扫描的是证照上的二维码。",
        "What was scanned is not a verification code of this service: make sure it is "
        "the QR code printed on the license.",
    ),
}


@dataclass(frozen=True)
class CheckLine:
    check: Check
    state: CheckState
    text: Words


@dataclass(frozen=True)
class Summary:
    """What the public page says of one report."""

    standing: Standing
    headline: Words
    #: The verdict's own words under the headline (e.g. "证照非现行有效").
    verdict_text: Words
    checks: tuple[CheckLine, ...]
    #: Sentences above the checks: the findings, or what a valid license should note.
    notes: tuple[Words, ...]
    advice: Words
    #: False when the check stopped before anything vouched for the facts (a token whose
    #: signature fails, or whose seal is unknown): what it says is shown as unproven.
    facts_proven: bool = True


def summarise(
    report: VerificationReport,
    verdict_text: Words,
    zone: ZoneInfo,
    notice_days: int = EXPIRY_NOTICE_DAYS,
    *,
    status_only: bool = False,
) -> Summary:
    """The standing, the four checks, the notes and the advice for this report.

    ``status_only``: the report is the library's word on an identifier someone typed
    (``Verifier.status_of``), with no document or token: only "in force" was checked,
    and a license in force is said with that note.
    """
    codes = {r.code for r in report.reasons}
    standing = _standing(report, codes)
    if standing is Standing.ELSEWHERE:
        # This checker may learn nothing of the license: only where to take the code.
        return Summary(
            standing=standing,
            headline=HEADLINE[standing],
            verdict_text=VERDICT_TEXT[Verdict.PRESENTATION_REFUSED],
            checks=(),
            notes=tuple(
                (r.message_zh, r.message_en)
                for r in report.reasons
                if r.code in R.PRESENTATION_CHECKER_REFUSALS
            ),
            advice=ADVICE[standing],
        )
    notes = [(r.message_zh, r.message_en) for r in report.reasons]
    if standing is Standing.VALID and status_only:
        standing = Standing.ATTENTION
        notes.append(STATUS_ONLY_NOTE)
    if standing is Standing.VALID:
        ending = _ends_soon(report, zone, notice_days)
        if ending is not None:
            standing = Standing.ATTENTION
            notes.append(ending)
    advice = ADVICE[standing]
    if standing is Standing.INVALID:
        advice = next(
            (_NOT_CURRENT_ADVICE[r.code] for r in report.reasons if r.code in _NOT_CURRENT_ADVICE),
            advice,
        )
    return Summary(
        standing=standing,
        headline=HEADLINE[standing],
        verdict_text=verdict_text,
        checks=tuple(_checks(report, codes, status_only)),
        notes=tuple(notes),
        advice=advice,
        facts_proven=not codes & _STOPS,
    )


def _standing(report: VerificationReport, codes: set[ReasonCode]) -> Standing:
    if codes & R.PRESENTATION_CHECKER_REFUSALS:
        return Standing.ELSEWHERE
    verdict = report.verdict
    if verdict is Verdict.VALID:
        return Standing.VALID
    if verdict is Verdict.VALID_OFFLINE:
        return Standing.ATTENTION
    if verdict in _SHOW_AGAIN:
        return Standing.SHOW_AGAIN
    if verdict in _UNDECIDED:
        return Standing.UNDECIDED
    return Standing.INVALID


def _checks(
    report: VerificationReport, codes: set[ReasonCode], status_only: bool
) -> list[CheckLine]:
    stopped = bool(codes & _STOPS)
    lines = []
    for check in Check:
        if codes & _FAILS[check]:
            state = CheckState.FAILED
        elif (
            stopped
            or (check is Check.IN_FORCE and report.scope is Scope.OFFLINE)
            or (check is not Check.IN_FORCE and status_only)
        ):
            state = CheckState.NOT_CHECKED
        elif check is Check.SEALING_TIME and report.facts.signing_time is None:
            # Nothing dated the seal (an offline token check, a token the library
            # does not hold): not proven, and not disproven either.
            state = CheckState.NOT_CHECKED
        else:
            state = CheckState.PASSED
        lines.append(CheckLine(check, state, CHECK_TEXT[check]))
    return lines


def _ends_soon(report: VerificationReport, zone: ZoneInfo, notice_days: int) -> Words | None:
    """A note for a valid license whose validity ends within ``notice_days``."""
    until = report.facts.valid_until
    if until is None or report.checked_at is None:
        return None
    today = report.checked_at.astimezone(zone).date()
    if until - today >= timedelta(days=notice_days):
        return None
    left = (until - today).days
    return (
        f"证照将于{R.people_day(until)}到期（还有{left}天），请留意续办。",
        f"The license ends on {until.isoformat()} ({left} days from now).",
    )


def validity(valid_from: date | None, valid_until: date | None) -> Words | None:
    """A license's period for people: "2026年01月01日 至 2031年12月31日", or 长期."""
    if valid_from is None:
        return None
    if valid_until is None:
        return (f"{R.people_day(valid_from)} 起长期有效", f"{valid_from.isoformat()}, no end date")
    return (
        f"{R.people_day(valid_from)} 至 {R.people_day(valid_until)}",
        f"{valid_from.isoformat()} to {valid_until.isoformat()}",
    )


def status_text(
    status: str | None, revocation_kind: str | None, since: datetime | None, zone: ZoneInfo
) -> Words | None:
    """A license's status for people, with the day it changed: "已吊销（2026年12月01日 19:30）"."""
    if status is None:
        return None
    zh, en = R.status_words(status, revocation_kind)
    if since is not None:
        local = since.astimezone(zone)
        return (
            f"{zh}（{R.people_time(since, zone)}）",
            f"{en.capitalize()} ({local:%Y-%m-%d %H:%M})",
        )
    return zh, en.capitalize()
