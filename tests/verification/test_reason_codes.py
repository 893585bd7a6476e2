"""Reason codes are one enum whose values are the codes the API and reports always had."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from trustsvc.licenses.library import EffectiveStatus
from trustsvc.verification import reasons as R
from trustsvc.verification.report import Reason, ReasonCode, report_to_json

#: Every finding, the ones that carry a value included.
FINDINGS = [
    *(value for value in vars(R).values() if isinstance(value, Reason)),
    R.too_large(5 * 1024 * 1024),
    R.presentation_for("某窗口"),
    R.presentation_purpose("办理"),
    R.not_yet_valid(date(2027, 1, 1)),
    *(R.not_current(status) for status in EffectiveStatus if status is not EffectiveStatus.VALID),
]


def test_every_code_is_used_by_a_finding_and_named_once() -> None:
    assert {f.code for f in FINDINGS} == set(ReasonCode)
    assert all(type(f.code) is ReasonCode for f in FINDINGS)
    assert len({code.value for code in ReasonCode}) == len(ReasonCode)


def test_codes_read_and_compare_as_the_strings_they_were() -> None:
    assert R.NOT_SEALED.code == "not_sealed"
    assert R.not_current(EffectiveStatus.SUPERSEDED).code == "license_superseded"
    assert f"{R.TOKEN_EXPIRED.code}" == "token_expired"
    assert "presentation_purpose_mismatch" in R.PRESENTATION_CHECKER_REFUSALS
    from trustsvc.verification.report import Facts, conclude

    report = conclude([R.EMPTY], Facts(), datetime(2026, 12, 1, tzinfo=UTC))
    assert json.loads(report_to_json(report))["reasons"][0][0] == "empty_input"
