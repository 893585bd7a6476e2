"""The public page's plain words: standings, the four checks, the advice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from trustsvc.licenses.library import EffectiveStatus
from trustsvc.verification import reasons as R
from trustsvc.verification.report import VERDICT_TEXT, Facts, Reason, Scope, conclude
from trustsvc.verification.summary import (
    Check,
    CheckState,
    Standing,
    Summary,
    status_text,
    summarise,
    validity,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
SEALED = Facts(
    identifier="1.2.3",
    valid_from=date(2026, 1, 1),
    valid_until=date(2031, 12, 31),
    signing_time=datetime(2026, 1, 1, 2, 0, tzinfo=UTC),
    status="valid",
)


def _summary(reasons: list[Reason], facts: Facts = SEALED, scope: Scope = Scope.ONLINE) -> Summary:
    report = conclude(reasons, facts, NOW, scope)
    return summarise(report, VERDICT_TEXT[report.verdict], ZONE)


def _states(summary: Summary) -> dict[Check, CheckState]:
    return {line.check: line.state for line in summary.checks}


def test_a_valid_license_passes_every_check() -> None:
    summary = _summary([])
    assert summary.standing is Standing.VALID and summary.headline[0] == "有效"
    assert set(_states(summary).values()) == {CheckState.PASSED}
    assert summary.notes == ()


def test_a_license_ending_soon_is_valid_with_a_note() -> None:
    summary = _summary([], Facts(**{**vars(SEALED), "valid_until": date(2026, 12, 20)}))
    assert summary.standing is Standing.ATTENTION and summary.headline[0] == "需注意"
    assert summary.notes == (
        ("证照将于2026年12月20日到期（还有19天），请留意续办。", summary.notes[0][1]),
    )
    assert "19 days" in summary.notes[0][1]


def test_offline_is_valid_with_a_note_and_the_library_not_checked() -> None:
    summary = _summary([R.OFFLINE_NOT_CHECKED], scope=Scope.OFFLINE)
    assert summary.standing is Standing.ATTENTION
    assert _states(summary)[Check.IN_FORCE] is CheckState.NOT_CHECKED
    assert _states(summary)[Check.UNCHANGED] is CheckState.PASSED


def test_a_revoked_license_is_invalid_and_only_its_status_fails() -> None:
    revoked = R.not_current(
        EffectiveStatus.REVOKED, R.StatusChange(NOW, "违法", "withdrawn"), zone=ZONE
    )
    summary = _summary([revoked])
    assert summary.standing is Standing.INVALID and summary.headline[0] == "无效"
    states = _states(summary)
    assert states.pop(Check.IN_FORCE) is CheckState.FAILED
    assert set(states.values()) == {CheckState.PASSED}
    assert summary.advice[0].startswith("请勿据此证照办理业务：它已不在有效状态")
    assert summary.facts_proven


def test_a_bad_signature_fails_one_check_and_leaves_the_rest_unchecked() -> None:
    summary = _summary([R.TOKEN_SIGNATURE_INVALID], Facts(identifier="1.2.3"))
    assert summary.standing is Standing.INVALID
    states = _states(summary)
    assert states.pop(Check.UNCHANGED) is CheckState.FAILED
    assert set(states.values()) == {CheckState.NOT_CHECKED}
    assert not summary.facts_proven  # what the token says is its own word only


def test_could_not_evaluate_is_not_invalid() -> None:
    summary = _summary([R.REVOCATION_UNAVAILABLE], Facts())
    assert summary.standing is Standing.UNDECIDED and summary.headline[0] == "无法核验"
    assert set(_states(summary).values()) == {CheckState.NOT_CHECKED}
    assert "不表示证照无效" in summary.advice[0]


@pytest.mark.parametrize("reason", [R.PRESENTATION_USED, R.TOKEN_EXPIRED])
def test_a_spent_or_expired_code_asks_for_a_fresh_one(reason: Reason) -> None:
    summary = _summary([reason])
    assert summary.standing is Standing.SHOW_AGAIN
    assert summary.headline[0] == "请持证人重新出示"
    assert summary.notes[0][0] == reason.message_zh


def test_a_code_for_another_verifier_goes_elsewhere() -> None:
    superseded = R.not_current(
        EffectiveStatus.SUPERSEDED, R.StatusChange(current_identifier="9.9.9", current_number="N1")
    )
    summary = _summary([R.presentation_for("某银行"), superseded])
    assert summary.standing is Standing.ELSEWHERE
    # Nothing of the license: only the refusal, no checks, not the version in force.
    assert summary.notes == ((R.presentation_for("某银行").message_zh, summary.notes[0][1]),)
    assert summary.checks == () and "9.9.9" not in repr(summary)


def test_the_words_of_a_status_and_a_period() -> None:
    assert status_text("valid", None, None, ZONE) == ("现行有效", "In force")
    assert status_text("revoked", "cancelled", NOW, ZONE) == (
        "已注销（2026年12月01日 11:00）",
        "Cancelled (注销) (2026-12-01 11:00)",
    )
    assert validity(date(2026, 1, 1), None) == (
        "2026年01月01日 起长期有效",
        "2026-01-01, no end date",
    )
    assert validity(None, None) is None


def test_a_status_looked_up_by_identifier_checked_only_the_library() -> None:
    report = conclude([], Facts(identifier="1.2.3", status="valid"), NOW)
    summary = summarise(report, VERDICT_TEXT[report.verdict], ZONE, status_only=True)
    assert summary.standing is Standing.ATTENTION
    assert summary.notes[-1][0].startswith("仅查询了证照库中的状态")
    states = _states(summary)
    assert states.pop(Check.IN_FORCE) is CheckState.PASSED
    assert set(states.values()) == {CheckState.NOT_CHECKED}
