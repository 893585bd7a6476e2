"""Uploads verified in child processes: the verdicts are the verifier's, and no child can
run past its limits: one that hangs is killed, one that hoards memory or dies fails closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import DEPARTMENT_A
from tests.verification.children import (
    DIE,
    HANG,
    HOG,
    misbehave_on_markers,
    verify_without_secrets,
)
from trustsvc.bootstrap import build_verifier, database_library, online_trust_material
from trustsvc.clock import FixedClock
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.verification import isolation
from trustsvc.verification import reasons as R
from trustsvc.verification.isolation import IsolatedPdfVerifier
from trustsvc.verification.report import (
    Facts,
    Verdict,
    VerificationReport,
    conclude,
    report_from_json,
    report_to_json,
)


def _issue(licenses: IssuingService) -> str:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    return licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license.identifier


def _isolated(services: Services, **options: Any) -> IsolatedPdfVerifier:
    """Children given the service's trust material, asking its library (as the API's are)."""
    trust = online_trust_material(services)
    return IsolatedPdfVerifier(lambda: trust, database_library(services), **options)


@pytest.fixture
def isolated(services: Services, licenses: IssuingService) -> Iterator[IsolatedPdfVerifier]:
    verifier = _isolated(
        services,
        processes=2,
        time_limit=timedelta(seconds=1),
        grace=timedelta(seconds=1),
        memory_limit=1024 * 1024 * 1024,
        work=misbehave_on_markers,
    )
    yield verifier
    verifier.close()


def test_a_child_gives_the_verifiers_verdict_as_of_the_moment_given(
    licenses: IssuingService, isolated: IsolatedPdfVerifier, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    document = licenses.document(identifier)
    report = isolated.verify_pdf(document, clock.now())
    assert report.verdict is Verdict.VALID and report.facts.identifier == identifier
    assert report.checked_at == clock.now()

    licenses.transition(identifier, Action.REVOKE, "clerk", "reason")  # the child reads the library
    report = isolated.verify_pdf(document, clock.now())
    assert report.verdict is Verdict.NOT_CURRENT


def test_two_verifications_run_at_once(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    # The service's own limits: the fixture's one-second limit is for the misbehaving
    # children, and a child's first document on a busy machine may take longer.
    verifier = _isolated(services, processes=2)
    document = licenses.document(_issue(licenses))
    reports: list[VerificationReport] = []
    threads = [
        threading.Thread(target=lambda: reports.append(verifier.verify_pdf(document, clock.now())))
        for _ in range(4)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        verifier.close()
    assert [r.verdict for r in reports] == [Verdict.VALID] * 4, [r.reasons for r in reports]


def test_a_child_past_the_hard_limit_is_killed_and_replaced(
    licenses: IssuingService, isolated: IsolatedPdfVerifier, clock: FixedClock
) -> None:
    document = licenses.document(_issue(licenses))
    assert isolated.verify_pdf(document, clock.now()).verdict is Verdict.VALID  # started
    began = time.monotonic()
    report = isolated.verify_pdf(HANG, clock.now())
    assert time.monotonic() - began < 30  # the child sleeps 600 s; 2 s is the hard limit
    # The service could not decide: not the document's fault (issue 11).
    assert report.verdict is Verdict.NOT_EVALUABLE
    assert [r.code for r in report.reasons] == ["time_limit_exceeded"]
    assert isolated.verify_pdf(document, clock.now()).verdict is Verdict.VALID


@pytest.mark.parametrize("marker", [HOG, DIE], ids=["out-of-memory", "crash"])
def test_a_child_out_of_memory_or_dead_fails_closed_and_the_next_one_works(
    licenses: IssuingService, isolated: IsolatedPdfVerifier, clock: FixedClock, marker: bytes
) -> None:
    document = licenses.document(_issue(licenses))
    report = isolated.verify_pdf(marker, clock.now())
    assert report.verdict is Verdict.NOT_EVALUABLE and not report.is_valid
    assert [r.code for r in report.reasons] == ["not_evaluable"]
    assert isolated.verify_pdf(document, clock.now()).verdict is Verdict.VALID


def test_a_child_that_cannot_start_fails_closed(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = licenses.document(_issue(licenses))
    # The parent waits for a word the child never says: a child that never becomes ready.
    # (A zero wait is no longer enough: a child of the fork server is ready within
    # milliseconds, sometimes before the parent looks.)
    monkeypatch.setattr(isolation, "_READY", b"never said")
    isolated = _isolated(services, processes=1)
    try:
        report = isolated.verify_pdf(document, clock.now())
    finally:
        isolated.close()
    assert report.verdict is Verdict.NOT_EVALUABLE
    assert [r.code for r in report.reasons] == ["not_evaluable"]


def test_a_child_verifies_with_no_key_and_no_passphrase(
    services: Services, licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process that parses uploads holds trust material only: no key file is readable
    (the home's keys are moved away), and the passphrase, though in the parent's
    environment, is not in the child's (``verify_without_secrets`` refuses to verify then)."""
    identifier = _issue(licenses)
    document = licenses.document(identifier)
    settings = services.settings
    monkeypatch.setenv("TRUSTSVC_KEY_PASSPHRASE", settings.key_passphrase.get_secret_value())
    trust = online_trust_material(services)
    library = database_library(services)
    homes_keys = [settings.home / "keys", settings.home / "pki" / "keys"]
    moved = [(keys, keys.with_name("keys.away")) for keys in homes_keys if keys.exists()]
    assert moved
    for keys, away in moved:
        keys.rename(away)
    isolated = IsolatedPdfVerifier(lambda: trust, library, processes=1, work=verify_without_secrets)
    try:
        report = isolated.verify_pdf(document, clock.now())
    finally:
        isolated.close()
        for keys, away in moved:
            away.rename(keys)
    assert report.verdict is Verdict.VALID and report.facts.identifier == identifier
    assert not any(keys.with_name("keys.away").exists() for keys in homes_keys)


def test_a_report_crosses_as_json_and_its_verdict_follows_from_its_reasons(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    report = build_verifier(services, allow_fetching=False).verify_pdf(
        licenses.document(identifier)
    )
    assert report.facts.signing_time is not None and report.facts.valid_from is not None
    assert report_from_json(report_to_json(report)) == report

    stopped = conclude([R.TIME_LIMIT_EXCEEDED], Facts(identifier=identifier), clock.now())
    assert report_from_json(report_to_json(stopped)) == stopped
    # A child cannot claim "valid" beside a reason: the verdict is worked out again.
    forged = report_to_json(stopped).replace(b'{"reasons"', b'{"verdict": "valid", "reasons"')
    assert report_from_json(forged).verdict is Verdict.NOT_EVALUABLE
    for garbage in (b"", b"[]", b'{"reasons": [], "facts": {}}', b'{"reasons": 1}'):
        with pytest.raises((ValueError, KeyError, TypeError)):
            report_from_json(garbage)
