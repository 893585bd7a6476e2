"""The printable verification report: sealed with the service's report seal, in Chinese words,
and set without a word, number or date broken across lines."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from tests.helpers import DEPARTMENT_A
from tests.pdfa_rules import violations
from trustsvc.bootstrap import build_verifier
from trustsvc.db.models import REPORT_SEAL_PURPOSE, CertificateRecord, CertificateRole
from trustsvc.errors import NotFoundError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.verification.report import Verdict, VerificationReport
from trustsvc.verification.report_seal import (
    REPORT_SEAL_CAPTION,
    ReportSealer,
    report_seal,
    report_seals,
    revoke_report_seal,
)


def _revoked_license_report(
    services: Services, licenses: IssuingService
) -> tuple[str, VerificationReport]:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    issued = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    licenses.transition(issued.identifier, Action.REVOKE, "clerk", "吊销")
    report = build_verifier(services, allow_fetching=False).verify_pdf(
        licenses.document(issued.identifier)
    )
    return issued.identifier, report


def _layout_lines(pdf: bytes, tmp_path: Path) -> list[str]:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is needed; scripts/setup.sh installs it"
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    text = subprocess.run(
        [pdftotext, "-layout", str(source), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [line.strip() for line in text.splitlines() if line.strip()]


def _validate(pdf: bytes, services: Services) -> object:
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    root = asn1_x509.Certificate.load(services.pki.root.public_bytes(serialization.Encoding.DER))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    return asyncio.run(async_validate_pdf_signature(signature, context)), signature


def test_the_report_is_sealed_with_the_report_seal_and_validates(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    _identifier, report = _revoked_license_report(services, licenses)
    services = services
    pdf = ReportSealer(services).seal(report)

    status, signature = _validate(pdf, services)
    assert status.intact and status.valid and status.trusted  # type: ignore[attr-defined]
    assert status.timestamp_validity is not None  # type: ignore[attr-defined]
    assert status.timestamp_validity.trusted  # type: ignore[attr-defined]
    # At least B-LT: the validation data is in the document.
    assert "/DSS" in PdfFileReader(io.BytesIO(pdf)).root
    signer = x509.load_der_x509_certificate(signature.signer_cert.dump())
    common_name = signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == f"{services.settings.organisation_name} {REPORT_SEAL_CAPTION}"
    assert signer.issuer == services.pki.issuing.subject
    with services.database.begin() as session:
        record = session.scalar(
            select(CertificateRecord).where(
                CertificateRecord.fingerprint_sha256 == signer.fingerprint(_sha256()).hex()
            )
        )
        assert record is not None
        assert record.purpose == REPORT_SEAL_PURPOSE and record.role is CertificateRole.SEAL
        assert record.department_id is None and record.issuer_ca == "issuing"
    # A visible stamp: the seal field has a non-empty appearance on the page.
    assert signature.sig_field["/Rect"][2] - signature.sig_field["/Rect"][0] > 100

    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "pdfsig (poppler-utils) is needed; scripts/setup.sh installs it"
    (tmp_path / "sealed.pdf").write_bytes(pdf)
    checked = subprocess.run(
        [pdfsig, str(tmp_path / "sealed.pdf")], capture_output=True, text=True, check=False
    ).stdout
    assert "Signature Validation: Signature is Valid." in checked
    assert "Total document signed" in checked
    assert REPORT_SEAL_CAPTION in checked

    # Sealing keeps the report PDF/A-2b.
    assert violations(pdf) == []


def test_verifying_a_report_says_it_is_a_report_not_a_license(
    services: Services, licenses: IssuingService
) -> None:
    _identifier, report = _revoked_license_report(services, licenses)
    pdf = ReportSealer(services).seal(report)
    verdict = build_verifier(services, allow_fetching=False).verify_pdf(pdf)
    assert verdict.verdict is Verdict.UNKNOWN_TO_LIBRARY
    assert [r.code for r in verdict.reasons] == ["verification_report"]
    assert verdict.facts.identifier is None  # the license it is about is not what was checked


def test_the_report_seal_is_one_even_when_two_make_it_at_once(services: Services) -> None:
    barrier = threading.Barrier(2)
    made: list[str] = []
    errors: list[BaseException] = []

    def make() -> None:
        try:
            barrier.wait()
            made.append(report_seal(services).serial_hex)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(made) == 2 and made[0] == made[1]
    with services.database.begin() as session:
        records = session.scalars(
            select(CertificateRecord).where(CertificateRecord.purpose == REPORT_SEAL_PURPOSE)
        ).all()
        assert len(records) == 1
        key_id = records[0].key_id
    # No key was left behind by the one that did not make it.
    keys = sorted(p.name for p in (services.settings.home / "keys").glob("report-seal-*"))
    assert keys == [f"{key_id}.key.pem"]


def test_the_report_seal_answers_in_ocsp_and_is_replaced_once_revoked(services: Services) -> None:
    first = report_seal(services)
    certificate = first.material.certificate
    answer = ocsp.load_der_ocsp_response(services.revocation.ocsp_for(certificate))
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    (revoked,) = revoke_report_seal(services, "superseded")
    assert revoked.serial_hex == first.serial_hex and revoked.issued_by_service
    answer = ocsp.load_der_ocsp_response(services.revocation.ocsp_for(certificate))
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    crl = x509.load_der_x509_crl(services.revocation.current_crl("issuing"))
    assert crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
    second = report_seal(services)
    assert second.serial_hex != first.serial_hex
    shown = report_seals(services)
    assert [s.serial_hex for s in shown] == [first.serial_hex, second.serial_hex]
    assert shown[0].revocation_reason == "superseded" and shown[1].revoked_at is None
    assert [s.serial_hex for s in revoke_report_seal(services)] == [second.serial_hex]
    with pytest.raises(NotFoundError):
        revoke_report_seal(services)  # none left unrevoked


def test_the_report_speaks_chinese_not_codes(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    _identifier, report = _revoked_license_report(services, licenses)
    pdf = ReportSealer(services).seal(report)
    text = "\n".join(_layout_lines(pdf, tmp_path))
    assert "营业执照" in text  # the type's name, not its key
    assert "business-license" not in text
    assert "2.5.4.97" not in text and "O=" not in text and "CN=" not in text
    assert "NTRCN-" not in text
    assert "统一社会信用代码" in text and DEPARTMENT_A in text
    assert "已注销或吊销" in text  # the status in words
    assert "not_current" not in text and "license_revoked" not in text
    assert "证照非现行有效" in text  # the verdict's word, from the shared labels
    assert REPORT_SEAL_CAPTION in text  # the stamp's caption, and the footer's word


def test_no_word_number_or_date_is_broken_across_lines(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    identifier, report = _revoked_license_report(services, licenses)
    # A reason in long English, a long TSA name and a long seal subject, to force wrapping.
    long_reason = replace(
        report.reasons[0],
        message_en="The license was revoked by the issuing department on request of its "
        "holder after the business was dissolved; verification reference "
        "REF-2026-000123456 applies.",
    )
    report = replace(report, reasons=(long_reason, *report.reasons))
    pdf = ReportSealer(services).seal(report)
    lines = _layout_lines(pdf, tmp_path)
    whole = "\n".join(lines)
    # Every number and Latin word of the report is on one line.
    expected = [*long_reason.message_en.split()]
    assert report.facts.license_number is not None
    expected.append(report.facts.license_number)
    for word in expected:
        assert any(word in line for line in lines), f"{word!r} is broken across lines"
    # The identifier is wider than the column: it breaks, but only after a dot.
    (start,) = [
        i
        for i, line in enumerate(lines)
        if line.endswith(identifier[:20]) or identifier[:20] in line
    ]
    pieces, rest = [], identifier
    for line in lines[start:]:
        piece = line.split()[-1]
        assert rest.startswith(piece), (piece, rest)
        pieces.append(piece)
        rest = rest[len(piece) :]
        if not rest:
            break
    assert rest == "" and all(piece.endswith(".") for piece in pieces[:-1]), pieces
    # Dates and times are whole: 2026年11月22日 10:00:00.
    for date_text in re.findall(r"\d{4}年\d{1,2}月\d{1,2}日", whole):
        assert any(date_text in line for line in lines)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}", whole)
    # No line ends inside a Latin word: a line's last word is a word of the report.
    for line in lines:
        last = line.split()[-1] if line.split() else ""
        if re.fullmatch(r"[A-Za-z]+", last) and len(last) > 2:
            assert last in whole.replace("\n", " ").split(), last


def test_the_report_stays_one_page_with_its_stamp_over_the_issuing_line(
    services: Services,
    licenses: IssuingService,
) -> None:
    _identifier, report = _revoked_license_report(services, licenses)
    pdf = ReportSealer(services).seal(report)
    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.root["/Pages"]["/Kids"]) == 1
    (signature,) = reader.embedded_signatures
    x1, y1, x2, y2 = (float(v) for v in signature.sig_field["/Rect"])
    assert 0 < x1 < x2 <= 595.3 and 40 < y1 < y2 < 842


def _sha256() -> object:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        # A long identifier breaks after a dot, not anywhere.
        ("abc.defghij.klm", 9, ["abc.", "defghij.", "klm"]),
        # Latin words break at spaces only.
        ("verify the seal", 11, ["verify the", "seal"]),
        # Closing punctuation never starts a line; the date stays whole.
        ("有效期至2078年5月19日止。", 11, ["有效期至", "2078年5月19日", "止。"]),
        # An opening bracket never ends a line.
        ("名称（杭州）", 3, ["名称", "（杭", "州）"]),
    ],
)
def test_lines_break_only_where_allowed(text: str, width: float, expected: list[str]) -> None:
    from trustsvc.documents.linebreak import break_lines

    def measure(value: str) -> float:
        return float(len(value))

    assert break_lines(text, width, measure) == expected


def test_verify_report_writes_a_sealed_report_from_the_command_line(tmp_path: Path) -> None:
    from tests.cli.running import run

    home = tmp_path / "home"
    init = run(home, "init", env={"TRUSTSVC_ORGANISATION_CREDIT_CODE": DEPARTMENT_A})
    assert init.returncode == 0, init.stderr
    # `init` made the report seal: its certificate is published with the seals.
    assert len(list((home / "pki" / "seals").glob("*.pem"))) == 1
    assert (
        run(
            home, "department", "add", "--name", "杭州市市场监督管理局", "--code", DEPARTMENT_A
        ).returncode
        == 0
    )
    example = run(home, "types", "example", "business-license")
    data_file = tmp_path / "data.json"
    data_file.write_text(example.stdout, encoding="utf-8")
    license_pdf = tmp_path / "license.pdf"
    issued = run(
        home,
        "issue",
        "--department",
        DEPARTMENT_A,
        "--type",
        "business-license",
        "--data",
        str(data_file),
        "--out",
        str(license_pdf),
    )
    assert issued.returncode == 0, issued.stderr

    report_pdf = tmp_path / "report.pdf"
    checked = run(home, "verify", str(license_pdf), "--report", str(report_pdf))
    assert checked.returncode == 0, checked.stderr
    pdf = report_pdf.read_bytes()
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    signer = x509.load_der_x509_certificate(signature.signer_cert.dump())
    code = signer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value
    assert code == f"NTRCN-{DEPARTMENT_A}"
    assert violations(pdf) == []

    # The report, checked in turn: the service's own report, not a license (and no crash).
    again = run(home, "verify", str(report_pdf), "--json")
    assert again.returncode == 1, again.stderr
    assert '"verdict": "unknown_to_library"' in again.stdout
    assert "verification_report" in again.stdout


def test_broken_lines_keep_every_character_and_fit() -> None:
    import random

    from trustsvc.documents.linebreak import break_lines, units

    def measure(value: str) -> float:
        return sum(1.0 if ord(ch) > 0x2E80 else 0.5 for ch in value)

    pieces = [
        "营业执照",
        "REF-2026-0001",
        "2026年1月5日",
        "（杭州）",
        "执照。",
        "the",
        "seal",
        " ",
        "a.b.c",
    ]
    generator = random.Random(11)
    for _ in range(300):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(1, 12)))
        width = generator.uniform(3, 12)
        lines = break_lines(text, width, measure)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for line in lines:
            # Wider than the line only when it is one unit too long to fit.
            assert measure(line) <= width + 1e-9 or len(units(line)) == 1, (text, width, lines)
            assert not line.startswith(("，", "。", "）")) and not line.endswith("（")
