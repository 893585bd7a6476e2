from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pikepdf

from tests.helpers import DEPARTMENT_A
from tests.pdfa_rules import violations
from trustsvc.bootstrap import build_verifier
from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action, RevocationKind
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.verification.printout import render_report


def _text_of(pdf: bytes, tmp_path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is needed; scripts/setup.sh installs it"
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        [pdftotext, "-layout", str(source), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_report_states_the_verdict_reasons_and_facts(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    identifier = licenses.issue(
        IssueRequest(DEPARTMENT_A, "business-license", data)
    ).license.identifier
    licenses.transition(identifier, Action.REVOKE, "clerk", "吊销")
    report = build_verifier(services, allow_fetching=False).verify_pdf(
        licenses.document(identifier)
    )
    font = load_cjk_font(find_cjk_font())
    pdf = render_report(report, font, services.settings.zone)
    text = _text_of(pdf, tmp_path)
    assert "电子证照核验报告" in text
    # The verdict in words; its code is for machines (JSON), not printed.
    assert "证照非现行有效" in text and "not_current" not in text
    assert "注销或吊销" in text
    assert "杭州市市场监督管理局" in text and DEPARTMENT_A in text
    assert render_report(report, font, services.settings.zone) == pdf  # deterministic


def test_the_report_names_a_withdrawal_as_such(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    identifier = licenses.issue(
        IssueRequest(DEPARTMENT_A, "business-license", data)
    ).license.identifier
    licenses.transition(
        identifier, Action.REVOKE, "clerk", "违法经营", revocation_kind=RevocationKind.WITHDRAWN
    )
    report = build_verifier(services, allow_fetching=False).verify_pdf(
        licenses.document(identifier)
    )
    font = load_cjk_font(find_cjk_font())
    text = _text_of(render_report(report, font, services.settings.zone), tmp_path)
    assert "已吊销" in text and "注销或吊销" not in text


def test_the_report_is_pdf_a_2b(services: Services, licenses: IssuingService) -> None:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    identifier = licenses.issue(
        IssueRequest(DEPARTMENT_A, "business-license", data)
    ).license.identifier
    report = build_verifier(services, allow_fetching=False).verify_pdf(
        licenses.document(identifier)
    )
    pdf = render_report(report, load_cjk_font(find_cjk_font()), services.settings.zone)
    assert violations(pdf) == []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        info = document.trailer.Info
        assert str(info.Title) == "电子证照核验报告"
        assert str(info.Keywords) == identifier
        # The report's date is the moment of the check, in the service's zone.
        assert report.checked_at is not None
        local = report.checked_at.astimezone(services.settings.zone)
        assert str(info.CreationDate).startswith(f"D:{local:%Y%m%d%H%M%S}")
