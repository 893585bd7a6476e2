from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from reportlab.pdfgen.canvas import Canvas

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, enterprise_holder, make_sealer
from trustsvc.bootstrap import build_verifier
from trustsvc.clock import FixedClock
from trustsvc.departments.seals import active_seal, revoke_seal
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.verification.report import Verdict
from trustsvc.verification.verifier import Verifier


def _issue(licenses: IssuingService, type_key: str = "business-license") -> str:
    code = DEPARTMENT_B if type_key == "construction-permit" else DEPARTMENT_A
    data = dict(example_data(get_type(licenses.types, type_key)))
    if licenses.types[type_key].unique_per_holder:
        data.update(enterprise_holder())  # a holder may hold only one of these
    return licenses.issue(IssueRequest(code, type_key, data)).license.identifier


def _verifier(services: Services) -> Verifier:
    # Offline: the document and the service's own PKI must be enough.
    return build_verifier(services, allow_fetching=False)


def _page(text: str = "not a license") -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, text)
    canvas.save()
    return buffer.getvalue()


def test_an_issued_license_is_valid_with_the_facts_a_clerk_needs(
    services: Services, licenses: IssuingService
) -> None:
    identifier = _issue(licenses)
    report = _verifier(services).verify_pdf(licenses.document(identifier))
    assert report.verdict is Verdict.VALID and report.reasons == ()
    facts = report.facts
    assert facts.identifier == identifier and facts.issuer_code == DEPARTMENT_A
    assert facts.issuer_name == "杭州市市场监督管理局" and facts.status == "valid"
    assert facts.signing_time is not None and facts.timestamp_authority
    assert facts.seal_serial and facts.license_type == "business-license"


@pytest.mark.parametrize("action", [Action.REVOKE, Action.SUSPEND])
def test_revoked_and_suspended_licenses_are_not_current(
    services: Services, licenses: IssuingService, action: Action
) -> None:
    identifier = _issue(licenses)
    licenses.transition(identifier, action, "clerk", "reason")
    report = _verifier(services).verify_pdf(licenses.document(identifier))
    assert report.verdict is Verdict.NOT_CURRENT
    expected = "revoked" if action is Action.REVOKE else "suspended"
    assert [r.code for r in report.reasons] == [f"license_{expected}"]
    assert report.facts.status == expected


def test_a_superseded_license_is_not_current(services: Services, licenses: IssuingService) -> None:
    identifier = _issue(licenses)
    licenses.change(identifier, {"domicile": "杭州市西湖区文三路1号"}, "clerk", "住所变更")
    report = _verifier(services).verify_pdf(licenses.document(identifier))
    assert report.verdict is Verdict.NOT_CURRENT
    assert [r.code for r in report.reasons] == ["license_superseded"]


def test_an_expired_license_is_not_current(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    identifier = _issue(licenses, "food-business-permit")
    clock.advance(timedelta(days=5 * 366 + 2))
    report = _verifier(services).verify_pdf(licenses.document(identifier))
    assert report.verdict is Verdict.NOT_CURRENT
    assert [r.code for r in report.reasons] == ["license_expired"]


def test_a_seal_revoked_later_does_not_undo_what_it_sealed(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    clock.advance(timedelta(days=30))
    revoke_seal(services, DEPARTMENT_A, "superseded")
    # The timestamp proves the seal was applied before the revocation.
    report = _verifier(services).verify_pdf(licenses.document(identifier))
    assert report.verdict is Verdict.VALID


def test_sealing_after_the_revocation_is_refused(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    services = services
    material = active_seal(services, DEPARTMENT_A).material
    sealer = make_sealer(services)
    sealer.seal(_page(), material, (300, 100, 420, 220), None, "warm the cache")
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    clock.advance(timedelta(minutes=1))
    # A stolen key and a stale cache still produce a well-formed seal...
    sealed = sealer.seal(_page(), material, (300, 100, 420, 220), None, "after").pdf
    report = _verifier(services).verify_pdf(sealed)
    assert report.verdict is Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED
    assert "seal_certificate_revoked" in [r.code for r in report.reasons]


def test_a_genuine_seal_on_a_document_the_library_never_issued(
    services: Services, licenses: IssuingService
) -> None:
    material = active_seal(services, DEPARTMENT_A).material
    sealed = make_sealer(services).seal(_page(), material, (300, 100, 420, 220), None, "x").pdf
    report = _verifier(services).verify_pdf(sealed)
    assert report.verdict is Verdict.UNKNOWN_TO_LIBRARY
    assert report.facts.issuer_code == DEPARTMENT_A


def test_an_unsealed_pdf_is_not_sealed(services: Services, licenses: IssuingService) -> None:
    report = _verifier(services).verify_pdf(_page())
    assert report.verdict is Verdict.NOT_SEALED


def test_no_trust_anchor_means_nothing_is_valid(
    services: Services, licenses: IssuingService
) -> None:
    identifier = _issue(licenses)
    verifier = _verifier(services)
    verifier.trust_roots = []
    report = verifier.verify_pdf(licenses.document(identifier))
    assert report.verdict is Verdict.UNTRUSTED_ISSUER


def test_an_error_inside_validation_is_never_valid(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    identifier = _issue(licenses)
    import trustsvc.verification.pdf_checks as verifier_module

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("bug inside validation")

    monkeypatch.setattr(verifier_module, "validate_pdf_signature", explode)
    report = _verifier(services).verify_pdf(licenses.document(identifier))
    assert report.verdict is not Verdict.VALID
    monkeypatch.setattr(verifier_module, "credit_code_of", explode)
    assert (
        _verifier(services).verify_pdf(licenses.document(identifier)).verdict is not Verdict.VALID
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_input"),
        (b"\x89PNG\r\n\x1a\n" + bytes(500), "not_a_pdf"),
        (b"%PDF-1.7\n" + b"[" * 200_000 + b"\n%%EOF\n", "malformed_pdf"),
    ],
)
def test_hostile_inputs_are_malformed_and_quick(
    services: Services, licenses: IssuingService, data: bytes, code: str
) -> None:
    started = time.monotonic()
    report = _verifier(services).verify_pdf(data)
    assert report.verdict is Verdict.MALFORMED_INPUT
    assert [r.code for r in report.reasons] == [code]
    assert time.monotonic() - started < 5


def test_a_file_over_the_limit_is_refused_unread(
    services: Services, licenses: IssuingService
) -> None:
    verifier = build_verifier(services, max_bytes=1024)
    report = verifier.verify_pdf(b"%PDF-1.7\n" + bytes(2048))
    assert [r.code for r in report.reasons] == ["too_large"]


def test_a_verification_past_its_time_limit_is_not_valid(
    services: Services, licenses: IssuingService
) -> None:
    identifier = _issue(licenses)
    pdf = licenses.document(identifier)
    assert _verifier(services).verify_pdf(pdf).verdict is Verdict.VALID
    verifier = build_verifier(services, allow_fetching=False, time_limit=timedelta(0))
    report = verifier.verify_pdf(pdf)
    assert report.verdict is Verdict.NOT_EVALUABLE
    assert [r.code for r in report.reasons] == ["time_limit_exceeded"]


def test_the_time_limit_is_checked_between_stages(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage that overruns (here: validation) ends the verification before the next one."""
    identifier = _issue(licenses)
    import trustsvc.verification.pdf_checks as verifier_module

    validate = verifier_module.validate_pdf_signature
    library_lookups: list[str] = []

    def slow_validation(*args: object, **kwargs: object) -> object:
        time.sleep(0.3)
        return validate(*args, **kwargs)  # type: ignore[arg-type]

    verifier = build_verifier(services, allow_fetching=False, time_limit=timedelta(seconds=0.2))
    lookup = verifier.library
    assert lookup is not None
    by_document, by_identifier = lookup.entry_by_document, lookup.entry_by_identifier

    def recorded_by_document(signed: str, whole: str) -> object:
        library_lookups.append("document")
        return by_document(signed, whole)

    def recorded_by_identifier(identifier: str) -> object:
        library_lookups.append("identifier")
        return by_identifier(identifier)

    monkeypatch.setattr(verifier_module, "validate_pdf_signature", slow_validation)
    monkeypatch.setattr(lookup, "entry_by_document", recorded_by_document)
    monkeypatch.setattr(lookup, "entry_by_identifier", recorded_by_identifier)
    report = verifier.verify_pdf(licenses.document(identifier))
    assert report.verdict is Verdict.NOT_EVALUABLE
    assert [r.code for r in report.reasons] == ["time_limit_exceeded"]
    assert library_lookups == []


def test_validation_data_is_reused_across_documents_and_never_shared_between_threads(
    services: Services,
    licenses: IssuingService,
) -> None:
    import threading

    first, second = _issue(licenses), _issue(licenses)
    verifier = _verifier(services)
    assert verifier.verify_pdf(licenses.document(first)).verdict is Verdict.VALID
    cached = verifier.parsed_objects.held()
    assert cached  # the chain, the TSA and the DSS's answers
    assert verifier.verify_pdf(licenses.document(second)).verdict is Verdict.VALID
    again = verifier.parsed_objects.held()
    assert all(again[key] is value for key, value in cached.items())

    verdicts: list[Verdict] = []
    elsewhere: list[int] = []

    def verify_in_another_thread() -> None:
        elsewhere.append(len(verifier.parsed_objects.held()))
        verdicts.append(verifier.verify_pdf(licenses.document(first)).verdict)

    thread = threading.Thread(target=verify_in_another_thread)
    thread.start()
    thread.join()
    assert elsewhere == [0] and verdicts == [Verdict.VALID]
