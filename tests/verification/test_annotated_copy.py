"""The purpose-annotated copy (加注件): the license's seal intact under the note, the service's
seal over it, checked with pyHanko (not the project's verifier) and with poppler."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    DiffPolicy,
    FormUpdatingRule,
    GenericFieldModificationRule,
    ModificationLevel,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
)
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from tests.cli.running import invoke
from tests.helpers import DEPARTMENT_A, as_asn1
from trustsvc.bootstrap import build_verifier, offline_verifier
from trustsvc.db.models import CertificateRecord, CertificateRole, Department
from trustsvc.errors import InvalidInputError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.bundle import bundle_document, read_bundle, sign_bundle
from trustsvc.pki.home import report_seal_certificate_directory
from trustsvc.seals.fields import SEAL_FIELD
from trustsvc.seals.sealer import SealMaterial
from trustsvc.services import Services
from trustsvc.verification.annotated_copy import (
    NOTE_BOX,
    NOTE_FIELD,
    AnnotatedCopies,
    PurposeNote,
    render_note,
)
from trustsvc.verification.report import Verdict
from trustsvc.verification.report_seal import REPORT_SEAL_CAPTION, ReportSealer, report_seals

NOTE = PurposeNote("开立对公账户", "市民中心 3号窗口", date(2026, 12, 2), "某市数据局")


def _issued(licenses: IssuingService) -> bytes:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    issued = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    return licenses.document(issued.identifier)


#: pyHanko's default policy, except that a visible signature field may follow a
#: certification signature (its default refuses any, see the module docstring).
NOTE_AFTER_CERTIFICATION = StandardDiffPolicy(
    global_rules=DEFAULT_DIFF_POLICY.global_rules,
    form_rule=FormUpdatingRule(
        field_rules=[
            SigFieldCreationRule(allow_new_visible_after_certify=True),
            SigFieldModificationRule(),
            GenericFieldModificationRule(),
        ],
    ),
)


def _statuses(
    pdf: bytes, services: Services, policy: DiffPolicy = DEFAULT_DIFF_POLICY
) -> dict[str, PdfSignatureStatus]:
    reader = PdfFileReader(io.BytesIO(pdf))
    context = ValidationContext(trust_roots=[as_asn1(services.pki.root)], allow_fetching=False)

    async def validate() -> dict[str, PdfSignatureStatus]:
        return {
            s.field_name: await async_validate_pdf_signature(s, context, diff_policy=policy)
            for s in reader.embedded_signatures
        }

    return asyncio.run(validate())


def _text(pdf: bytes, tmp_path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is needed; scripts/setup.sh installs it"
    (tmp_path / "copy.pdf").write_bytes(pdf)
    return subprocess.run(
        [pdftotext, "-layout", str(tmp_path / "copy.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_copy_keeps_the_license_seal_intact_and_carries_the_services_seal_on_top(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    services = services
    original = _issued(licenses)
    copy = AnnotatedCopies(ReportSealer(services)).annotate(original, NOTE)

    # An incremental update: the license's bytes are the copy's first bytes, unchanged.
    assert copy.startswith(original) and len(copy) > len(original)
    statuses = _statuses(copy, services)
    assert list(statuses) == [SEAL_FIELD, NOTE_FIELD]

    seal = statuses[SEAL_FIELD]
    # The department's seal: its signature holds over exactly the revision it sealed
    # and chains to the root.
    assert seal.intact and seal.valid and seal.trusted
    assert seal.coverage is SignatureCoverageLevel.ENTIRE_REVISION
    # pyHanko's default policy admits no visible signature after a certification,
    # whatever the DocMDP level (licenses are certified with P=2, which allows
    # signatures): by default it reports the copy as not the issued document.
    assert seal.modification_level is ModificationLevel.OTHER
    assert seal.docmdp_ok is False
    # Told that a visible signature may follow, the difference analysis explains every
    # change as form filling: one signature field and its appearance, nothing else.
    lenient = _statuses(copy, services, NOTE_AFTER_CERTIFICATION)[SEAL_FIELD]
    assert lenient.intact and lenient.valid and lenient.trusted
    assert lenient.modification_level is ModificationLevel.FORM_FILLING
    assert lenient.docmdp_ok  # P=2: a signature is within the certification's terms

    note = statuses[NOTE_FIELD]
    # The service's seal covers the whole file, note included, with a trusted timestamp.
    assert note.bottom_line
    assert note.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert note.timestamp_validity is not None and note.timestamp_validity.trusted
    reader = PdfFileReader(io.BytesIO(copy))
    signer = x509.load_der_x509_certificate(reader.embedded_signatures[1].signer_cert.dump())
    common_name = signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == f"{services.settings.organisation_name} {REPORT_SEAL_CAPTION}"

    # The note is on the page, in words a person reads.
    text = " ".join(_text(copy, tmp_path).split())
    assert "仅供开立对公账户使用 · 市民中心 3号窗口 · 2026年12月02日" in text
    assert "他用无效" in text


def test_poppler_validates_both_seals(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    services = services
    copy = AnnotatedCopies(ReportSealer(services)).annotate(_issued(licenses), NOTE)
    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "pdfsig (poppler-utils) is needed; scripts/setup.sh installs it"
    (tmp_path / "copy.pdf").write_bytes(copy)
    checked = subprocess.run(
        [pdfsig, str(tmp_path / "copy.pdf")], capture_output=True, text=True, check=False
    ).stdout
    assert checked.count("Signature Validation: Signature is Valid.") == 2
    # The first covers its revision only; the second the whole file.
    assert "Total document signed" in checked.split("Signature #2")[1]
    assert "Total document signed" not in checked.split("Signature #2")[0]


def _redrawn(copy: bytes, copies: AnnotatedCopies) -> bytes:
    """The copy with its note redrawn for another purpose in a further update (the
    service's seal cannot be made again without its key)."""
    other = render_note(replace(NOTE, purpose="办理抵押登记"), copies.reports.font_name)
    writer = IncrementalPdfFileWriter(io.BytesIO(copy))
    note_field = next(
        f.get_object()
        for f in writer.root["/AcroForm"]["/Fields"]
        if f.get_object()["/T"] == NOTE_FIELD
    )
    note_field["/AP"] = generic.DictionaryObject(
        {
            generic.NameObject("/N"): writer.import_page_as_xobject(
                PdfFileReader(io.BytesIO(other)), page_ix=0
            )
        }
    )
    writer.update_container(note_field)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def test_a_note_redrawn_afterwards_shows_in_the_services_seal(
    services: Services, licenses: IssuingService
) -> None:
    services = services
    copies = AnnotatedCopies(ReportSealer(services))
    copy = copies.annotate(_issued(licenses), NOTE)
    # Whoever holds a copy for one purpose redraws the note for another.
    forged = _redrawn(copy, copies)

    statuses = _statuses(forged, services)
    assert statuses[SEAL_FIELD].intact
    note = statuses[NOTE_FIELD]
    # Its signature still holds over what it signed, but no longer over the whole file.
    assert note.intact and note.valid
    assert note.coverage is SignatureCoverageLevel.ENTIRE_REVISION
    assert statuses[NOTE_FIELD].coverage is not SignatureCoverageLevel.ENTIRE_FILE


def test_the_services_verifier_recognises_a_copy_and_says_what_it_is_for(
    services: Services,
    licenses: IssuingService,
) -> None:
    services = services
    original = _issued(licenses)
    copy = AnnotatedCopies(ReportSealer(services)).annotate(original, NOTE)
    verifier = build_verifier(services, allow_fetching=False)
    license_report = verifier.verify_pdf(original)
    report = verifier.verify_pdf(copy)
    # The license the copy carries is valid, and the report says the copy is for one use.
    assert report.verdict is Verdict.VALID, report.reasons
    assert report.facts.identifier == license_report.facts.identifier
    assert report.facts.annotation == NOTE.line()
    assert report.facts.annotation_purpose == "开立对公账户"
    assert license_report.facts.annotation is None


def test_a_note_redrawn_for_another_purpose_is_a_change_after_sealing(
    services: Services,
    licenses: IssuingService,
) -> None:
    services = services
    copies = AnnotatedCopies(ReportSealer(services))
    copy = copies.annotate(_issued(licenses), NOTE)
    report = build_verifier(services, allow_fetching=False).verify_pdf(_redrawn(copy, copies))
    assert report.verdict is Verdict.MODIFIED_AFTER_SEALING
    assert "further_signatures" in [r.code for r in report.reasons]
    assert report.facts.annotation is None


def test_a_note_sealed_by_anyone_but_the_service_is_a_further_signature(
    services: Services,
    licenses: IssuingService,
) -> None:
    """A department's seal (genuine, trusted) in the note's field is not the service's note."""
    services = services
    copies = AnnotatedCopies(ReportSealer(services))
    appearance = render_note(NOTE, copies.reports.font_name)
    posing = copies.reports.sealer.seal(
        _issued(licenses),
        _department_material(services),
        NOTE_BOX,
        appearance,
        reason=NOTE.line(),
        countersign=NOTE_FIELD,
    ).pdf
    report = build_verifier(services, allow_fetching=False).verify_pdf(posing)
    assert report.verdict is Verdict.MODIFIED_AFTER_SEALING
    assert "further_signatures" in [r.code for r in report.reasons]
    assert report.facts.annotation is None


def _department_material(services: Services) -> SealMaterial:
    """Department A's seal, ready to seal with (genuine and trusted, but no report seal)."""
    with services.database.begin() as session:
        record = session.scalars(
            select(CertificateRecord)
            .join(Department)
            .where(Department.code == DEPARTMENT_A, CertificateRecord.role == CertificateRole.SEAL)
        ).first()
        assert record is not None and record.key_id is not None
        return SealMaterial(
            x509.load_der_x509_certificate(record.der),
            services.seal_keys.private_key(record.key_id),
            (services.pki.issuing, services.pki.root),
            (services.pki.root,),
        )


def test_only_a_license_as_issued_is_annotated(
    services: Services, licenses: IssuingService
) -> None:
    copies = AnnotatedCopies(ReportSealer(services))
    original = _issued(licenses)
    copy = copies.annotate(original, NOTE)
    with pytest.raises(InvalidInputError, match="as issued"):
        copies.annotate(copy, NOTE)
    with pytest.raises(InvalidInputError):
        copies.annotate(b"%PDF-1.7 not really", NOTE)
    with pytest.raises(InvalidInputError, match="purpose"):
        copies.annotate(original, PurposeNote(" ", "窗口", NOTE.day, "某局"))


def test_an_offline_check_recognises_the_services_note_from_the_homes_files(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    """No key and no database: the report seal is known from the published report seals."""
    original = _issued(licenses)
    copy = AnnotatedCopies(ReportSealer(services)).annotate(original, NOTE)
    offline = offline_verifier(services.settings)
    assert offline.library is None  # nothing but certificate files
    plain = offline.verify_pdf(original)
    report = offline.verify_pdf(copy)
    # The same verdict as the license itself offline, with what the copy is for.
    assert plain.verdict is Verdict.VALID_OFFLINE, plain.reasons
    assert report.verdict is Verdict.VALID_OFFLINE, report.reasons
    assert "further_signatures" not in [r.code for r in report.reasons]
    assert report.facts.identifier == plain.facts.identifier
    assert report.facts.annotation == NOTE.line()
    assert report.facts.annotation_purpose == "开立对公账户"
    # And from the command line.
    (tmp_path / "copy.pdf").write_bytes(copy)
    code, out, err = invoke(
        services.settings, "verify", str(tmp_path / "copy.pdf"), "--offline", "--json"
    )
    answer = json.loads(out)
    assert code == 3, err  # valid_offline: the seals hold; the library was not asked
    assert answer["verdict"] == "valid_offline"
    assert answer["facts"]["annotation"] == NOTE.line()
    # Without the home's word on which seals are its report seals, the note is not taken.
    shutil.rmtree(report_seal_certificate_directory(services.settings.home))
    unknown = offline_verifier(services.settings).verify_pdf(copy)
    assert "further_signatures" in [r.code for r in unknown.reasons]
    assert unknown.facts.annotation is None
    # The signed trust bundle names the report seals too: with it alone, the note counts.
    _version, document = bundle_document(
        services.database, services.clock.now(), services.settings.public_base_url
    )
    bundle = read_bundle(
        sign_bundle(services.pki, document), services.pki.root, services.clock.now()
    )
    (report_seal,) = report_seals(services)
    assert bundle.report_seals == {report_seal.fingerprint_sha256}
    (tmp_path / "bundle.p7m").write_bytes(sign_bundle(services.pki, document))
    code, out, err = invoke(
        services.settings,
        "verify",
        str(tmp_path / "copy.pdf"),
        "--offline",
        "--trust-bundle",
        str(tmp_path / "bundle.p7m"),
        "--json",
    )
    assert code == 3, err
    assert json.loads(out)["facts"]["annotation"] == NOTE.line()


def test_an_offline_check_still_refuses_a_redrawn_or_a_posing_note(
    services: Services, licenses: IssuingService
) -> None:
    copies = AnnotatedCopies(ReportSealer(services))
    original = _issued(licenses)
    copy = copies.annotate(original, NOTE)
    offline = offline_verifier(services.settings)
    redrawn = offline.verify_pdf(_redrawn(copy, copies))
    assert redrawn.verdict is Verdict.MODIFIED_AFTER_SEALING
    assert "further_signatures" in [r.code for r in redrawn.reasons]
    assert redrawn.facts.annotation is None
    # A department's genuine seal in the note's field is no note of the service's.
    posing = copies.reports.sealer.seal(
        original,
        _department_material(services),
        NOTE_BOX,
        render_note(NOTE, copies.reports.font_name),
        reason=NOTE.line(),
        countersign=NOTE_FIELD,
    ).pdf
    refused = offline.verify_pdf(posing)
    assert refused.verdict is Verdict.MODIFIED_AFTER_SEALING
    assert "further_signatures" in [r.code for r in refused.reasons]
    assert refused.facts.annotation is None
