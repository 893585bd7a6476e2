from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import DEPARTMENT_A
from trustsvc.clock import FixedClock
from trustsvc.errors import ConflictError, InvalidInputError
from trustsvc.licenses.library import Action
from trustsvc.licenses.service import IssueRequest, LicenseService
from trustsvc.licenses.types import example_data, get_type
from trustsvc.verification.presentation import checks_of, present
from trustsvc.verification.report import Verdict
from trustsvc.verification.tokens import parse_token
from trustsvc.verification.verifier import Verifier


def _issue(licenses: LicenseService) -> str:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    return licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license.identifier


@pytest.fixture
def verifier(licenses: LicenseService) -> Verifier:
    return Verifier(licenses.services, allow_fetching=False)


def test_a_code_verifies_and_each_check_is_recorded(
    licenses: LicenseService, verifier: Verifier
) -> None:
    identifier = _issue(licenses)
    code = present(licenses, identifier, actor="holder", purpose="办理餐饮许可")
    claims = parse_token(code.token).claims
    assert claims.kind == "presentation" and claims.nonce and claims.expires_at
    assert code.link.endswith(f"/v/{code.token}")
    for clerk in ("窗口1号", "窗口2号"):
        assert verifier.verify_token(code.token, checked_by=clerk).verdict is Verdict.VALID
    checks = checks_of(licenses, identifier)
    assert [(c.checked_by, c.purpose, c.by_presentation) for c in checks] == [
        ("窗口1号", "办理餐饮许可", True),
        ("窗口2号", "办理餐饮许可", True),
    ]


def test_an_expired_code_is_refused_and_not_recorded(
    licenses: LicenseService, verifier: Verifier, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    code = present(licenses, identifier, actor="holder")
    clock.advance(timedelta(minutes=5, seconds=1))
    report = verifier.verify_token(code.token, checked_by="clerk")
    assert report.verdict is Verdict.NOT_CURRENT
    assert [r.code for r in report.reasons] == ["token_expired"]
    assert verifier.verify_token(code.token, offline=True).verdict is Verdict.NOT_CURRENT
    assert checks_of(licenses, identifier) == []


def test_a_single_use_code_works_once(licenses: LicenseService, verifier: Verifier) -> None:
    identifier = _issue(licenses)
    code = present(licenses, identifier, actor="holder", single_use=True)
    assert verifier.verify_token(code.token, checked_by="clerk").verdict is Verdict.VALID
    again = verifier.verify_token(code.token, checked_by="someone else")
    assert again.verdict is Verdict.NOT_CURRENT
    assert [r.code for r in again.reasons] == ["presentation_already_used"]
    assert len(checks_of(licenses, identifier)) == 1


def test_a_code_for_a_license_revoked_since_is_refused(
    licenses: LicenseService, verifier: Verifier
) -> None:
    identifier = _issue(licenses)
    code = present(licenses, identifier, actor="holder", single_use=True)
    licenses.transition(identifier, Action.REVOKE, "clerk", "吊销")
    assert verifier.verify_token(code.token).verdict is Verdict.NOT_CURRENT
    with pytest.raises(ConflictError, match="revoked"):
        present(licenses, identifier, actor="holder")


def test_lifetimes_are_bounded(licenses: LicenseService) -> None:
    identifier = _issue(licenses)
    with pytest.raises(InvalidInputError):
        present(licenses, identifier, actor="holder", lifetime=timedelta(days=2))
