"""pyHanko's sub-indications are compared as enum members, with the verdicts the former
string matching gave: every member pyHanko defines, one by one."""

from __future__ import annotations

import pytest
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed, AdESSubIndic

from trustsvc.verification import reasons as R
from trustsvc.verification.pdf_checks import trust_reason_of

MEMBERS: list[AdESSubIndic] = [*AdESPassed, *AdESFailure, *AdESIndeterminate]


def _by_its_name(indication: AdESSubIndic | None) -> object:
    """The rule as it was written before: substrings of the member's printed name."""
    text = str(indication or "").lower()
    if "expired" in text or "not_yet_valid" in text or "out_of_bounds" in text:
        return R.SEAL_EXPIRED
    if "revoked" in text:
        return R.SEAL_REVOKED
    return R.UNTRUSTED_CHAIN


@pytest.mark.parametrize("indication", [None, *MEMBERS], ids=lambda m: str(m))
def test_each_sub_indication_gives_the_reason_its_name_gave(
    indication: AdESSubIndic | None,
) -> None:
    assert trust_reason_of(indication) is _by_its_name(indication)


def test_the_sets_name_members_that_mean_what_they_say() -> None:
    assert trust_reason_of(AdESIndeterminate.EXPIRED) is R.SEAL_EXPIRED
    assert trust_reason_of(AdESIndeterminate.REVOKED_CA_NO_POE) is R.SEAL_REVOKED
    assert trust_reason_of(AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED) is R.SEAL_EXPIRED
    assert trust_reason_of(AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND) is R.UNTRUSTED_CHAIN
