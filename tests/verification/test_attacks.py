"""The verifier against the published attacks on PDF signatures: none may pass as valid.

Every case checks two things: the verdict is not ``valid``, and it is the verdict
that names what the attacker did (see ``tests/verification/attacks.py`` for the
attacks and their sources).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, enterprise_holder, make_sealer
from tests.licenses.conftest import licenses as _licenses_fixture  # noqa: F401 (as `licenses`)
from tests.verification import attacks
from trustsvc.bootstrap import build_verifier
from trustsvc.departments.seals import active_seal
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.tsa import make_timestamper
from trustsvc.seals.sealer import CachedKeySigner
from trustsvc.services import Services
from trustsvc.verification.report import Verdict, VerificationReport

#: An attack on a sealed license: the service (for keys and a second license) and the bytes.
Forgery = Callable[[Services, IssuingService, bytes], bytes]

#: Where re-sealed copies put their seal on page 1.
_SEAL_BOX = (400, 80, 520, 200)
#: The longest a hostile input may keep the verifier busy.
_HOSTILE_INPUT_SECONDS = 5.0


def _issue_identifier(licenses: IssuingService) -> str:
    """Issue a business license of department A; its identifier."""
    license_type = get_type(licenses.types, "business-license")
    # A holder of its own each time: a business license is unique per holder.
    data = {**example_data(license_type), **enterprise_holder()}
    result = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data))
    return result.license.identifier


def _issue(licenses: IssuingService) -> bytes:
    """A freshly issued business license of department A: its sealed PDF."""
    return licenses.document(_issue_identifier(licenses))


def _verify(services: Services, pdf: bytes) -> VerificationReport:
    return build_verifier(services).verify_pdf(pdf)


def _explain(report: VerificationReport) -> str:
    return f"{report.verdict}: {[reason.code for reason in report.reasons]}"


def _second_signature(code: str) -> Forgery:
    """A second signature with ``code``'s genuine seal key, in a new field."""

    def forge(services: Services, _licenses: IssuingService, pdf: bytes) -> bytes:
        material = active_seal(services, code).material
        signer = CachedKeySigner(material.certificate, material.key, list(material.chain))
        return attacks.sign_again(pdf, signer, make_timestamper(None, services.tsa))

    return forge


def _plain(attack: Callable[[bytes], bytes]) -> Forgery:
    return lambda _services, _licenses, pdf: attack(pdf)


def _assert_verdict(report: VerificationReport, expected: Verdict) -> None:
    assert report.verdict is not Verdict.VALID, _explain(report)
    assert report.verdict is expected, _explain(report)


# ---- control -------------------------------------------------------------------------


def test_the_untouched_license_is_valid(services: Services, licenses: IssuingService) -> None:
    report = _verify(services, _issue(licenses))
    assert report.verdict is Verdict.VALID, _explain(report)


# ---- 1. incremental saving -----------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(_plain(attacks.overlay_content), id="overlay-on-page-1"),
        pytest.param(_plain(attacks.add_page), id="second-page"),
        pytest.param(_plain(attacks.add_annotation), id="freetext-annotation"),
        pytest.param(_plain(lambda pdf: attacks.add_annotation(pdf, "/Square")), id="square"),
        pytest.param(_plain(attacks.add_text_field), id="new-text-field"),
        pytest.param(_plain(attacks.replace_seal_appearance), id="seal-field-appearance"),
        pytest.param(_plain(attacks.add_sneaky_signature_field), id="sneaky-signature-field"),
        pytest.param(_second_signature(DEPARTMENT_B), id="second-signature-other-dept"),
        pytest.param(_second_signature(DEPARTMENT_A), id="second-signature-same-dept"),
        pytest.param(_plain(attacks.redefine_page_content), id="content-object-redefined"),
    ],
)
def test_changes_saved_after_the_seal_are_modifications(
    services: Services, licenses: IssuingService, forge: Forgery
) -> None:
    """DocMDP P=1: content, pages, annotations, fields and signatures added later all count."""
    report = _verify(services, forge(services, licenses, _issue(licenses)))
    _assert_verdict(report, Verdict.MODIFIED_AFTER_SEALING)


# ---- 2. bytes after the sealed revision ----------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(attacks.append_garbage, id="garbage-after-eof"),
        pytest.param(attacks.append_raw_overlay_update, id="raw-update-overlay"),
        pytest.param(attacks.append_raw_unreferenced_object, id="raw-update-unreferenced-object"),
        pytest.param(attacks.append_raw_empty_update, id="raw-update-empty"),
    ],
)
def test_bytes_appended_after_the_seal_are_modifications(
    services: Services, licenses: IssuingService, attack: Callable[[bytes], bytes]
) -> None:
    """Only validation data may follow the sealed revision; anything else was added later."""
    report = _verify(services, attack(_issue(licenses)))
    _assert_verdict(report, Verdict.MODIFIED_AFTER_SEALING)


# ---- 3. signature wrapping -----------------------------------------------------------


@pytest.mark.parametrize(
    ("attack", "expected"),
    [
        # The edited /ByteRange is itself inside the signed bytes: the digest breaks.
        pytest.param(attacks.move_second_range, Verdict.INVALID_SIGNATURE, id="range-edited"),
        # The signed bytes are intact (moved, not changed), so the CMS verifies; what
        # gives it away is the gap of the byte range, which no longer holds exactly
        # the hex /Contents string.
        pytest.param(
            attacks.wrap_signed_tail_in_stream,
            Verdict.INVALID_SIGNATURE,
            id="signed-tail-moved-into-stream",
        ),
        pytest.param(
            attacks.wrap_signed_tail_at_end,
            Verdict.INVALID_SIGNATURE,
            id="signed-tail-moved-to-end",
        ),
        # Same bytes signed, same /ByteRange; a redefined signature dictionary with a
        # literal-string /Contents makes the range look as if it spanned the file.
        pytest.param(
            attacks.redefine_seal_with_literal_contents,
            Verdict.MODIFIED_AFTER_SEALING,
            id="seal-redefined-literal-contents",
        ),
    ],
)
def test_wrapped_signatures_do_not_cover_the_forgery(
    services: Services,
    licenses: IssuingService,
    attack: Callable[[bytes], bytes],
    expected: Verdict,
) -> None:
    report = _verify(services, attack(_issue(licenses)))
    _assert_verdict(report, expected)


# ---- 4. universal signature forgery ---------------------------------------------------


def _other_license_contents(_services: Services, licenses: IssuingService, pdf: bytes) -> bytes:
    return attacks.contents_of(pdf, _issue(licenses))


def _entry(entry: bytes, new: bytes) -> Forgery:
    return _plain(lambda pdf: attacks.signature_entry_rewritten(pdf, entry, new))


def _byte_range(value: bytes) -> Forgery:
    return _plain(lambda pdf: attacks.byte_range_set(pdf, value))


@pytest.mark.parametrize(
    ("forge", "expected"),
    [
        # A seal is there but its signature is unusable: the signature is invalid.
        pytest.param(_plain(attacks.contents_zeroed), Verdict.INVALID_SIGNATURE, id="zeros"),
        pytest.param(_plain(attacks.contents_emptied), Verdict.INVALID_SIGNATURE, id="empty"),
        pytest.param(_plain(attacks.contents_random), Verdict.INVALID_SIGNATURE, id="random"),
        pytest.param(_other_license_contents, Verdict.INVALID_SIGNATURE, id="other-license"),
        pytest.param(
            _plain(attacks.byte_range_removed), Verdict.INVALID_SIGNATURE, id="range-missing"
        ),
        pytest.param(_byte_range(b"[0 0 0 0]"), Verdict.INVALID_SIGNATURE, id="range-zeros"),
        pytest.param(
            _byte_range(b"[0 -100 200 -300]"), Verdict.INVALID_SIGNATURE, id="range-negative"
        ),
        pytest.param(
            _byte_range(b"[0 100 200 99999999999999999999]"),
            Verdict.INVALID_SIGNATURE,
            id="range-overflow",
        ),
        # The dictionary's entries are signed bytes: changing them breaks the digest.
        pytest.param(
            _entry(b"/Filter /Adobe.PPKLite", b""), Verdict.INVALID_SIGNATURE, id="no-filter"
        ),
        pytest.param(
            _entry(b"/Filter /Adobe.PPKLite", b"/Filter /Evil.Handler"),
            Verdict.INVALID_SIGNATURE,
            id="other-filter",
        ),
        pytest.param(
            _entry(b"/SubFilter /ETSI.CAdES.detached", b""),
            Verdict.INVALID_SIGNATURE,
            id="no-subfilter",
        ),
        pytest.param(
            _entry(b"/SubFilter /ETSI.CAdES.detached", b"/SubFilter /adbe.pkcs7.sha1"),
            Verdict.INVALID_SIGNATURE,
            id="other-subfilter",
        ),
        # No signature dictionary counts as a seal any more: the document is unsealed.
        pytest.param(_plain(attacks.seal_value_detached), Verdict.NOT_SEALED, id="value-removed"),
        pytest.param(
            _plain(attacks.signature_type_changed), Verdict.NOT_SEALED, id="type-doctimestamp"
        ),
    ],
)
def test_forged_signature_values_are_rejected(
    services: Services, licenses: IssuingService, forge: Forgery, expected: Verdict
) -> None:
    report = _verify(services, forge(services, licenses, _issue(licenses)))
    _assert_verdict(report, expected)


# ---- 5. shadow attacks ---------------------------------------------------------------


def _sealed_shadow_document(services: Services, licenses: IssuingService) -> bytes:
    """Hidden content prepared, then sealed with A's genuine seal (a license never issued)."""
    identifier = attacks.unissued_identifier(_issue_identifier(licenses))
    shadow = attacks.shadow_document(attacks.shadow_base(identifier))
    material = active_seal(services, DEPARTMENT_A).material
    return make_sealer(services).seal(shadow, material, _SEAL_BOX, None, "shadow").pdf


def test_a_sealed_shadow_document_only_lacks_a_library_record(
    services: Services, licenses: IssuingService
) -> None:
    """Control: hiding before sealing is not detectable, so each reveal below is what is caught."""
    report = _verify(services, _sealed_shadow_document(services, licenses))
    assert report.verdict is Verdict.UNKNOWN_TO_LIBRARY, _explain(report)


@pytest.mark.parametrize(
    "reveal",
    [
        pytest.param(attacks.reveal_by_xobject_swap, id="xobject-reference-swapped"),
        pytest.param(attacks.reveal_by_contents_swap, id="page-contents-swapped"),
        pytest.param(attacks.reveal_by_optional_content, id="optional-content-switched-on"),
        pytest.param(attacks.reveal_by_xref_only, id="xref-only-update"),
    ],
)
def test_content_revealed_after_sealing_is_a_modification(
    services: Services, licenses: IssuingService, reveal: Callable[[bytes], bytes]
) -> None:
    report = _verify(services, reveal(_sealed_shadow_document(services, licenses)))
    _assert_verdict(report, Verdict.MODIFIED_AFTER_SEALING)


# ---- 6. and 7. the wrong seal ----------------------------------------------------------


def test_a_license_resealed_by_another_department_is_untrusted(
    services: Services, licenses: IssuingService
) -> None:
    """A's page, sealed with B's genuine seal: a trusted seal, but not the issuer's."""
    page = attacks.first_revision(_issue(licenses))
    material = active_seal(services, DEPARTMENT_B).material
    resealed = make_sealer(services).seal(page, material, _SEAL_BOX, None, "copy").pdf
    _assert_verdict(_verify(services, resealed), Verdict.UNTRUSTED_ISSUER)


@pytest.mark.parametrize("timestamped", [True, False], ids=["timestamped", "no-timestamp"])
def test_a_seal_from_a_lookalike_ca_is_untrusted(
    services: Services, licenses: IssuingService, timestamped: bool
) -> None:
    """Same names as the service's root, issuing CA and A's seal; other keys.

    Without a timestamp too: a missing timestamp never hides who sealed (issue 11).
    """
    services = services
    pki = attacks.lookalike_pki(
        services.pki.root.subject,
        services.pki.issuing.subject,
        active_seal(services, DEPARTMENT_A).material.certificate.subject,
        services.pki.urls,
        services.clock.now(),
    )
    page = attacks.first_revision(_issue(licenses))
    timestamper = make_timestamper(None, services.tsa) if timestamped else None
    forged = attacks.seal_with_lookalike(page, pki, timestamper, _SEAL_BOX)
    _assert_verdict(_verify(services, forged), Verdict.UNTRUSTED_ISSUER)
    # Changed after the look-alike sealed it: still, first of all, not the issuer's seal.
    _assert_verdict(_verify(services, attacks.add_page(forged)), Verdict.UNTRUSTED_ISSUER)


# ---- 8. hostile inputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda _licenses: b"", id="empty"),
        pytest.param(lambda _licenses: attacks.png_image(), id="png"),
        pytest.param(lambda _licenses: attacks.random_bytes(), id="random-bytes"),
        pytest.param(lambda service: attacks.truncated(_issue(service)), id="truncated"),
        pytest.param(lambda _licenses: attacks.oversized(), id="100mb-padding"),
        pytest.param(
            lambda service: attacks.oversized_license(_issue(service)), id="100mb-license"
        ),
        pytest.param(lambda _licenses: attacks.deeply_nested(), id="nested-arrays"),
        pytest.param(
            lambda service: attacks.deeply_nested_update(_issue(service)),
            id="nested-dictionaries-in-trailer",
        ),
        pytest.param(lambda _licenses: attacks.encrypted(""), id="encrypted-no-password"),
        pytest.param(lambda _licenses: attacks.encrypted("secret"), id="encrypted-password"),
    ],
)
def test_hostile_inputs_are_refused_quickly_as_malformed(
    services: Services, licenses: IssuingService, forge: Callable[[IssuingService], bytes]
) -> None:
    pdf = forge(licenses)
    verifier = build_verifier(services)
    started = time.monotonic()
    report = verifier.verify_pdf(pdf)
    elapsed = time.monotonic() - started
    del pdf
    _assert_verdict(report, Verdict.MALFORMED_INPUT)
    assert elapsed < _HOSTILE_INPUT_SECONDS, f"took {elapsed:.1f} s"
