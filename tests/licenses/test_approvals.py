"""Approval documents the department brings: checked, stamped with the QR block, sealed."""

from __future__ import annotations

import io

import pikepdf
import pytest
import zxingcpp
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from tests.helpers import DEPARTMENT_A
from tests.licenses.pdf_checks import validate_offline
from trustsvc.bootstrap import build_verifier
from trustsvc.documents.raster import page_png
from trustsvc.licenses.approvals import (
    ApprovalDocumentError,
    Placement,
    SealSpot,
    StampPage,
    check_approval_pdf,
    issue_approval,
    placement_preview,
    stamp_boxes,
)
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.verification.report import Verdict

DECISION = "administrative-permission-decision"


def _decision_pdf(pages: int = 2, rotate: int = 0) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for number in range(1, pages + 1):
        canvas.setFont("Helvetica", 14)
        canvas.drawString(72, 760, f"Administrative permission decision, page {number}")
        canvas.drawString(72, 200, "Hangzhou Market Regulation, 2026-12-01")
        canvas.showPage()
    canvas.save()
    if not rotate:
        return buffer.getvalue()
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as pdf:
        pdf.pages[0].obj["/Rotate"] = rotate
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _edited(content: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    with pikepdf.open(io.BytesIO(content)) as pdf:
        edit(pdf)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def test_odd_documents_are_refused_with_a_reason() -> None:
    good = _decision_pdf()
    assert check_approval_pdf(good).pages == 2
    encrypted = io.BytesIO()
    with pikepdf.open(io.BytesIO(good)) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(owner="o", user="u"))
    cases = {
        b"": "空",
        b"hello, not a pdf" * 10: "不是 PDF",
        good[: len(good) // 2]: "损坏",
        encrypted.getvalue(): "加密",
        _decision_pdf(rotate=90): "旋转",
        _edited(
            good,
            lambda pdf: setattr(
                pdf.Root,
                "Names",
                pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=pikepdf.Array())),
            ),
        ): "脚本",
        _edited(
            good,
            lambda pdf: setattr(
                pdf.Root, "AcroForm", pikepdf.Dictionary(Fields=pikepdf.Array(), SigFlags=3)
            ),
        ): "签名",
        _edited(
            good,
            lambda pdf: setattr(
                pdf.Root,
                "OpenAction",
                pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")),
            ),
        ): "动作",
    }
    for content, why in cases.items():
        with pytest.raises(ApprovalDocumentError, match=why):
            check_approval_pdf(content)


def test_a_sealed_license_cannot_be_sealed_again_as_an_approval(licenses: IssuingService) -> None:
    data = example_data(get_type(licenses.types, "business-license"))
    view = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license
    with pytest.raises(ApprovalDocumentError, match="签名"):
        check_approval_pdf(licenses.document(view.identifier))


def test_placement_puts_seal_and_block_in_the_bottom_corners() -> None:
    approval = check_approval_pdf(_decision_pdf())
    boxes = stamp_boxes(approval, Placement())
    assert boxes.page_index == 1 and boxes.page_size == pytest.approx(A4)
    sx1, sy1, sx2, _ = boxes.seal_box
    bx1, _, bx2, _ = boxes.block_box
    assert bx2 < sx1 and sx2 < A4[0] and bx1 > 0 and sy1 > 0
    centred = stamp_boxes(approval, Placement(StampPage.FIRST, SealSpot.BOTTOM_CENTRE))
    assert centred.page_index == 0
    assert (centred.seal_box[0] + centred.seal_box[2]) / 2 == pytest.approx(A4[0] / 2)


def test_approval_is_issued_stamped_and_sealed(
    services: Services, licenses: IssuingService
) -> None:
    content = _decision_pdf()
    approval = check_approval_pdf(content)
    preview = placement_preview(licenses, approval, Placement())
    with Image.open(io.BytesIO(preview)) as image:
        assert image.height > image.width
        [code] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert code.text.endswith("/v/preview-not-issued")
        # The seal's place is marked in red on the preview.
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
        assert any(r > 150 and g < 80 and b < 80 for _, (r, g, b) in colours)

    data = example_data(get_type(licenses.types, DECISION))
    request = IssueRequest(DEPARTMENT_A, DECISION, data, "approval-key-1", "page:officer")
    result = issue_approval(licenses, request, approval, Placement())
    assert result.created and "许决" in result.license.license_number
    sealed = licenses.document(result.license.identifier)

    status, _ = validate_offline(services, sealed)
    assert status.bottom_line
    assert build_verifier(services).verify_pdf(sealed).verdict is Verdict.VALID
    with pikepdf.open(io.BytesIO(sealed)) as pdf:
        assert len(pdf.pages) == 2
        # The seal sits on the last page, where the decision is signed.
        widgets = [a for a in pdf.pages[1].get("/Annots", []) if a.get("/FT") == "/Sig"]
        assert len(widgets) == 1 and "/Annots" not in pdf.pages[0]
    with Image.open(io.BytesIO(page_png(sealed, page=2))) as image:
        [code] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    token = code.text.rsplit("/v/", 1)[1]
    assert build_verifier(services).verify_token(token).verdict is Verdict.VALID

    # A double submit with the same key issues once; the key with another file is refused.
    again = issue_approval(licenses, request, approval, Placement())
    assert not again.created and again.license.identifier == result.license.identifier
    other = check_approval_pdf(_decision_pdf(pages=1))
    with pytest.raises(Exception, match="idempotency key"):
        issue_approval(licenses, request, other, Placement())


def test_only_document_types_take_an_uploaded_document(licenses: IssuingService) -> None:
    approval = check_approval_pdf(_decision_pdf())
    data = example_data(get_type(licenses.types, "business-license"))
    with pytest.raises(ApprovalDocumentError, match="不是决定书类"):
        issue_approval(
            licenses, IssueRequest(DEPARTMENT_A, "business-license", data), approval, Placement()
        )
