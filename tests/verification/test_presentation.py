from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import DEPARTMENT_A, add_purposes
from trustsvc.bootstrap import build_verifier
from trustsvc.clock import FixedClock
from trustsvc.db.models import Presentation
from trustsvc.errors import ConflictError, InvalidInputError, PurposeRefusedError
from trustsvc.holders.presentation import checker_named, checks_of, present
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.sharing.clients import add_client, revoke_client
from trustsvc.sharing.purposes import list_purposes
from trustsvc.tokens.decoding import parse_token
from trustsvc.verification import reasons as R
from trustsvc.verification.checkers import Checker
from trustsvc.verification.recording import record_token_check
from trustsvc.verification.report import Verdict, VerificationReport
from trustsvc.verification.verifier import Verifier


def _issue(licenses: IssuingService) -> str:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    return licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license.identifier


@pytest.fixture
def verifier(services: Services, licenses: IssuingService) -> Verifier:
    return build_verifier(services, allow_fetching=False)


def test_a_code_verifies_and_each_check_is_recorded(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder")
    claims = parse_token(code.token).claims
    assert claims.kind == "presentation" and claims.nonce and claims.expires_at
    assert code.link.endswith(f"/v/{code.token}")
    for clerk in ("窗口1号", "窗口2号"):
        assert verifier.verify_token(code.token, checked_by=clerk).verdict is Verdict.VALID
    checks = checks_of(services.database, identifier)
    assert [(c.checked_by, c.purpose, c.by_presentation) for c in checks] == [
        ("窗口1号", None, True),
        ("窗口2号", None, True),
    ]


def test_an_expired_code_is_refused_and_not_recorded(
    services: Services, licenses: IssuingService, verifier: Verifier, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder")
    clock.advance(timedelta(minutes=5, seconds=1))
    report = verifier.verify_token(code.token, checked_by="clerk")
    assert report.verdict is Verdict.PRESENTATION_EXPIRED
    assert [r.code for r in report.reasons] == ["token_expired"]
    assert verifier.verify_token(code.token, offline=True).verdict is Verdict.PRESENTATION_EXPIRED
    assert checks_of(services.database, identifier) == []


def test_a_single_use_code_works_once(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder", single_use=True)
    assert verifier.verify_token(code.token, checked_by="clerk").verdict is Verdict.VALID
    again = verifier.verify_token(code.token, checked_by="someone else")
    assert again.verdict is Verdict.PRESENTATION_USED
    assert [r.code for r in again.reasons] == ["presentation_already_used"]
    assert len(checks_of(services.database, identifier)) == 1


def test_a_code_for_a_license_revoked_since_is_refused(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder", single_use=True)
    licenses.transition(identifier, Action.REVOKE, "clerk", "吊销")
    assert verifier.verify_token(code.token).verdict is Verdict.NOT_CURRENT
    with pytest.raises(ConflictError, match="revoked"):
        present(services, identifier, actor="holder")


def test_lifetimes_are_bounded(services: Services, licenses: IssuingService) -> None:
    identifier = _issue(licenses)
    with pytest.raises(InvalidInputError):
        present(services, identifier, actor="holder", lifetime=timedelta(days=2))


# ---- who may check a code (issue 10, item 4) -------------------------------------------

P1, P2 = "办理餐饮许可", "办理营业执照变更"


def _catalogued(services: Services) -> set[str]:
    return {p.name for p in list_purposes(services)}


def _verifier(services: Services, name: str, *purposes: str) -> Checker:
    add_purposes(services, *(p for p in purposes if p not in _catalogued(services)))
    info, _key = add_client(services, name, "verifier", purposes=purposes)
    return Checker.of(info.client)


def _used(services: Services, token: str) -> bool:
    nonce = parse_token(token).claims.nonce
    assert nonce is not None
    with services.database.begin() as session:
        row = session.scalar(select(Presentation).where(Presentation.nonce == nonce.hex()))
        assert row is not None
        return row.used_at is not None


def _codes(report: VerificationReport) -> list[str]:
    return [r.code for r in report.reasons]


def test_a_code_for_one_verifier_is_refused_to_others_and_not_used_up(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    services = services
    counter = _verifier(services, "市不动产登记中心窗口", P1)
    other = _verifier(services, "某商业银行", P1)
    identifier = _issue(licenses)
    code = present(
        services, identifier, actor="holder", single_use=True, intended_verifier=counter.name
    )
    for intruder in (other, Checker(counter.name), Checker("public page")):
        # Another client, the right name without the client's key, a phone: all refused.
        refused = verifier.verify_token(code.token, checked_by=intruder)
        assert refused.verdict is Verdict.PRESENTATION_REFUSED
        assert _codes(refused) == ["presentation_for_another_verifier"]
        assert counter.name in refused.reasons[0].message_en
        assert refused.facts.holder_name_masked is None and refused.facts.status is None
    assert not _used(services, code.token) and checks_of(services.database, identifier) == []

    report = verifier.verify_token(code.token, checked_by=counter)
    assert report.verdict is Verdict.VALID and report.facts.status == "valid"
    assert _used(services, code.token)
    [check] = checks_of(services.database, identifier)
    assert (check.checked_by, check.purpose) == (counter.name, None)
    again = verifier.verify_token(code.token, checked_by=counter)
    assert _codes(again) == ["presentation_already_used"]


def test_a_code_for_a_purpose_needs_a_checker_allowed_it_and_stating_it(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    services = services
    food = _verifier(services, "市场监管窗口", P1, P2)
    bank = _verifier(services, "某商业银行", P2)
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder", single_use=True, purpose=P1)
    attempts = [
        (bank, P2, ["presentation_purpose_mismatch"]),
        (bank, P1, ["presentation_purpose_not_allowed"]),  # a purpose it was not given
        (food, None, ["presentation_purpose_mismatch"]),  # must state it
        (food, P2, ["presentation_purpose_mismatch"]),
        (Checker("public page"), None, ["presentation_purpose_mismatch"]),
    ]
    for checker, stated, reasons in attempts:
        report = verifier.verify_token(code.token, checked_by=checker, purpose=stated)
        assert _codes(report) == reasons, (checker.name, stated)
    assert not _used(services, code.token)
    assert verifier.verify_token(code.token, checked_by=food, purpose=P1).is_valid
    [check] = checks_of(services.database, identifier)
    assert (check.checked_by, check.purpose) == (food.name, P1)


def test_the_purpose_recorded_is_the_one_the_checker_stated(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    bank = _verifier(services, "某商业银行", P1, P2)
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder")
    assert verifier.verify_token(code.token, checked_by=bank, purpose=P2).is_valid
    assert verifier.verify_token(code.token, checked_by=bank).is_valid
    refused = verifier.verify_token(code.token, checked_by=Checker("cli"), purpose=P2)
    assert _codes(refused) == ["presentation_purpose_not_allowed"]
    assert [(c.checked_by, c.purpose) for c in checks_of(services.database, identifier)] == [
        (bank.name, P2),
        (bank.name, None),
    ]


def test_a_code_nobody_could_check_is_refused_when_it_is_made(
    services: Services, licenses: IssuingService
) -> None:
    services = services
    _verifier(services, "某商业银行", P2)
    identifier = _issue(licenses)
    with pytest.raises(InvalidInputError, match="no verifier named"):
        present(services, identifier, actor="holder", intended_verifier="不存在的窗口")
    with pytest.raises(InvalidInputError, match="may not state the purpose"):
        present(services, identifier, actor="holder", intended_verifier="某商业银行", purpose=P1)
    with pytest.raises(InvalidInputError, match="no verifier may state"):
        present(services, identifier, actor="holder", purpose=P1)
    revoke_client(services, "某商业银行")
    with pytest.raises(InvalidInputError, match="no verifier named"):
        present(services, identifier, actor="holder", intended_verifier="某商业银行")
    assert present(services, identifier, actor="holder", purpose=None).purpose is None


def test_the_operator_checks_as_a_verifier_client_only_by_naming_it(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    services = services
    counter = _verifier(services, "市场监管窗口", P1)
    assert checker_named(services, "市场监管窗口", P1) == counter
    assert checker_named(services, "cli", None) == Checker("cli")
    with pytest.raises(PurposeRefusedError, match="no verifier client"):
        checker_named(services, "cli", P1)
    with pytest.raises(PurposeRefusedError):
        checker_named(services, "市场监管窗口", P2)
    identifier = _issue(licenses)
    code = present(
        services, identifier, actor="holder", single_use=True, intended_verifier=counter.name
    )
    operator = checker_named(services, "cli", None)
    assert _codes(verifier.verify_token(code.token, checked_by=operator)) == [
        "presentation_for_another_verifier"
    ]
    as_counter = checker_named(services, counter.name, P1)
    assert verifier.verify_token(code.token, checked_by=as_counter, purpose=P1).is_valid


def test_parallel_checks_of_a_single_use_code_use_it_once(
    services: Services, licenses: IssuingService, verifier: Verifier
) -> None:
    services = services
    counter = _verifier(services, "市场监管窗口", P1)
    other = _verifier(services, "某商业银行", P1)
    identifier = _issue(licenses)
    code = present(
        services, identifier, actor="holder", single_use=True, intended_verifier=counter.name
    )
    checkers = [other, counter] * 6
    with ThreadPoolExecutor(max_workers=6) as pool:
        reports = list(
            pool.map(lambda c: verifier.verify_token(code.token, checked_by=c), checkers)
        )
    by_counter = [r for c, r in zip(checkers, reports, strict=True) if c is counter]
    by_other = [r for c, r in zip(checkers, reports, strict=True) if c is other]
    assert sum(r.is_valid for r in by_counter) == 1
    assert all(_codes(r) == ["presentation_already_used"] for r in by_counter if not r.is_valid)
    assert all(_codes(r) == ["presentation_for_another_verifier"] for r in by_other)
    assert len(checks_of(services.database, identifier)) == 1


def test_the_verifier_writes_nothing_its_caller_records_the_check(
    services: Services,
    licenses: IssuingService,
) -> None:
    """``check_token`` decides and writes nothing; ``record_token_check`` uses the code up."""
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder", single_use=True)
    verifier = build_verifier(services, allow_fetching=False)
    first, again = verifier.check_token(code.token), verifier.check_token(code.token)
    assert first.report.verdict is Verdict.VALID and first.use is not None
    assert again.report.verdict is Verdict.VALID and again.use is not None  # nothing used up
    assert checks_of(services.database, identifier) == []
    assert record_token_check(verifier.library, first).verdict is Verdict.VALID
    used = record_token_check(verifier.library, again)
    assert used.reasons == (R.PRESENTATION_USED,)
    assert len(checks_of(services.database, identifier)) == 1
