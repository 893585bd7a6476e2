"""An approval document the department wrote itself (审批决定书 etc.), stamped and sealed.

The department uploads the finished PDF of a decision; it is issued as a
license of a document-style type (its holder and facts entered as for any
license, so numbering, entitlement, records and verification are the
library's): the PDF is checked, rewritten whole (no earlier revision survives
under the seal), the verification block (QR code, 扫码核验, 证照编号) is laid
over a corner of the chosen page, and the department's seal is placed PAdES
on that page as on a license (``IssuingService.issue`` with this module's
page maker).

What is refused, with a message saying why: a file too large or with too many
pages, one that is not a PDF or that qpdf cannot read without repairing it, an
encrypted one, one already signed or certified (a seal over it would break or
hide its signature), one with scripts, XFA forms or attached files (what a
reader would run or show is not what was checked), and a page that is rotated,
scaled (/UserUnit) or of a size no decision is printed on. The file is read by
pikepdf (qpdf) in this process, after the size bounds; it is the department's
own document, uploaded by a signed-in officer, not an outsider's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO

import pikepdf

from trustsvc.documents.qr import BLOCK_HEIGHT, BLOCK_WIDTH, render_verification_block
from trustsvc.documents.raster import page_png
from trustsvc.documents.render import SEAL_DIAMETER, LicenseDocument, RenderedLicense
from trustsvc.errors import InvalidInputError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest, IssueResult
from trustsvc.licenses.types import LayoutStyle, get_type

MAX_APPROVAL_BYTES = 20 * 1024 * 1024
MAX_APPROVAL_PAGES = 200
#: Page sides a decision is printed on: from A6 to A3 and US sizes, in points.
_SMALLEST_SIDE, _LARGEST_SIDE = 280.0, 1300.0
#: From the page's edges to the seal and the block.
_MARGIN = 42.0


class ApprovalDocumentError(InvalidInputError):
    """An uploaded approval document that cannot be stamped and sealed (the message says why)."""

    code = "approval-document-refused"


class StampPage(StrEnum):
    """The page the seal and the verification block go on."""

    LAST = "last"
    FIRST = "first"


class SealSpot(StrEnum):
    """Where on the page the seal goes; the verification block takes the other bottom corner."""

    BOTTOM_RIGHT = "bottom-right"
    BOTTOM_CENTRE = "bottom-centre"


@dataclass(frozen=True)
class Placement:
    page: StampPage = StampPage.LAST
    seal: SealSpot = SealSpot.BOTTOM_RIGHT


@dataclass(frozen=True)
class ApprovalPdf:
    """An approval document that passed the checks."""

    pdf: bytes
    pages: int
    sha256: str

    def page_index(self, placement: Placement) -> int:
        return 0 if placement.page is StampPage.FIRST else self.pages - 1


@dataclass(frozen=True)
class StampBoxes:
    """Where the seal and the block go on the page, (x1, y1, x2, y2) in its points."""

    page_index: int
    page_size: tuple[float, float]
    seal_box: tuple[float, float, float, float]
    block_box: tuple[float, float, float, float]


def check_approval_pdf(content: bytes) -> ApprovalPdf:
    """The document if it may be stamped and sealed, else ``ApprovalDocumentError``."""
    if not content:
        raise ApprovalDocumentError("文件是空的")
    if len(content) > MAX_APPROVAL_BYTES:
        raise ApprovalDocumentError(f"文件超过 {MAX_APPROVAL_BYTES // (1024 * 1024)} MB")
    if b"%PDF-" not in content[:1024]:
        raise ApprovalDocumentError("这不是 PDF 文件")
    try:
        with pikepdf.open(BytesIO(content), attempt_recovery=False) as pdf:
            _refuse_odd(pdf)
            pages = len(pdf.pages)
            for page in pdf.pages:
                _page_size(page)
    except pikepdf.PasswordError:
        raise ApprovalDocumentError("文件已加密：请上传未加密的 PDF") from None
    except pikepdf.PdfError:
        raise ApprovalDocumentError("PDF 文件已损坏或不完整，无法读取") from None
    return ApprovalPdf(content, pages, hashlib.sha256(content).hexdigest())


def _refuse_odd(pdf: pikepdf.Pdf) -> None:
    if pdf.is_encrypted:
        raise ApprovalDocumentError("文件已加密：请上传未加密的 PDF")
    pages = len(pdf.pages)
    if not 1 <= pages <= MAX_APPROVAL_PAGES:
        raise ApprovalDocumentError(f"文件有 {pages} 页；应为 1 至 {MAX_APPROVAL_PAGES} 页")
    root = pdf.Root
    if "/Perms" in root:
        raise ApprovalDocumentError("文件已有签名或签章（/Perms）：请上传未签名的原件")
    form = root.get("/AcroForm")
    if isinstance(form, pikepdf.Dictionary):
        if "/XFA" in form:
            raise ApprovalDocumentError("文件含 XFA 表单：请先打印为普通 PDF")
        if int(form.get("/SigFlags", 0)) != 0 or _has_signature_field(form):
            raise ApprovalDocumentError("文件已有签名或签章：请上传未签名的原件")
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        if "/JavaScript" in names:
            raise ApprovalDocumentError("文件含脚本（JavaScript）：请先打印为普通 PDF")
        if "/EmbeddedFiles" in names:
            raise ApprovalDocumentError("文件含附件：请上传不带附件的 PDF")
    action = root.get("/OpenAction")
    if "/AA" in root or (isinstance(action, pikepdf.Dictionary) and "/S" in action):
        raise ApprovalDocumentError("文件打开时会执行动作：请先打印为普通 PDF")


def _has_signature_field(form: pikepdf.Dictionary) -> bool:
    pending = list(form.get("/Fields", pikepdf.Array()))
    seen = 0
    while pending and seen < 10_000:
        seen += 1
        field = pending.pop()
        if not isinstance(field, pikepdf.Dictionary):
            continue
        if field.get("/FT") == pikepdf.Name.Sig:
            return True
        pending.extend(field.get("/Kids", pikepdf.Array()))
    return False


def _page_size(page: pikepdf.Page) -> tuple[float, float, float, float]:
    """The page's (x0, y0, width, height), if it is a page a decision is printed on."""
    if int(page.obj.get("/Rotate", 0)) % 360 != 0:
        raise ApprovalDocumentError("文件有旋转的页面：请另存为不旋转的 PDF")
    if "/UserUnit" in page.obj:
        raise ApprovalDocumentError("文件页面使用了缩放单位（/UserUnit）：请另存为普通 PDF")
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    width, height = abs(x1 - x0), abs(y1 - y0)
    if not all(_SMALLEST_SIDE <= side <= _LARGEST_SIDE for side in (width, height)):
        raise ApprovalDocumentError(f"页面大小 {width:.0f}×{height:.0f} 点不是公文用纸（A6 至 A3）")
    return min(x0, x1), min(y0, y1), width, height


def stamp_boxes(approval: ApprovalPdf, placement: Placement) -> StampBoxes:
    """Where the seal and the verification block go for ``placement``."""
    index = approval.page_index(placement)
    with pikepdf.open(BytesIO(approval.pdf)) as pdf:
        x0, y0, width, height = _page_size(pdf.pages[index])
    bottom = y0 + _MARGIN
    if placement.seal is SealSpot.BOTTOM_CENTRE:
        seal_x = x0 + (width - SEAL_DIAMETER) / 2
    else:
        seal_x = x0 + width - _MARGIN - SEAL_DIAMETER
    block_x = x0 + _MARGIN
    seal_box = (seal_x, bottom, seal_x + SEAL_DIAMETER, bottom + SEAL_DIAMETER)
    block_box = (block_x, bottom, block_x + BLOCK_WIDTH, bottom + BLOCK_HEIGHT)
    return StampBoxes(index, (width, height), seal_box, block_box)


def stamped_page(approval: ApprovalPdf, placement: Placement) -> Callable[..., RenderedLicense]:
    """The page maker that lays the verification block over the document (``PageMaker``)."""
    boxes = stamp_boxes(approval, placement)

    def make(document: LicenseDocument, font_name: str) -> RenderedLicense:
        block = render_verification_block(
            document.verify_url, f"证照编号：{document.license_number}", font_name
        )
        return RenderedLicense(
            pdf=_overlay(approval.pdf, boxes, block),
            seal_box=boxes.seal_box,
            page_size=boxes.page_size,
            seal_page=boxes.page_index,
        )

    return make


def _overlay(content: bytes, boxes: StampBoxes, block: bytes, *, marks: bool = False) -> bytes:
    """The document rewritten whole, the block laid over its page (and the seal's place shown)."""
    out = BytesIO()
    with pikepdf.open(BytesIO(content)) as pdf, pikepdf.open(BytesIO(block)) as stamp:
        page = pdf.pages[boxes.page_index]
        page.add_overlay(stamp.pages[0], pikepdf.Rectangle(*boxes.block_box))
        if marks:
            _mark_seal(pdf, page, boxes.seal_box)
        pdf.remove_unreferenced_resources()
        # A full rewrite: earlier revisions and unreferenced objects are not carried.
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    return out.getvalue()


def _mark_seal(
    pdf: pikepdf.Pdf, page: pikepdf.Page, box: tuple[float, float, float, float]
) -> None:
    """A dashed red circle where the seal will be: for the preview only."""
    x1, y1, x2, _ = box
    r = (x2 - x1) / 2
    cx, cy = x1 + r, y1 + r
    k = 0.5523 * r  # the Bézier approximation of a quarter circle
    path = (
        f"{cx + r:.2f} {cy:.2f} m "
        f"{cx + r:.2f} {cy + k:.2f} {cx + k:.2f} {cy + r:.2f} {cx:.2f} {cy + r:.2f} c "
        f"{cx - k:.2f} {cy + r:.2f} {cx - r:.2f} {cy + k:.2f} {cx - r:.2f} {cy:.2f} c "
        f"{cx - r:.2f} {cy - k:.2f} {cx - k:.2f} {cy - r:.2f} {cx:.2f} {cy - r:.2f} c "
        f"{cx + k:.2f} {cy - r:.2f} {cx + r:.2f} {cy - k:.2f} {cx + r:.2f} {cy:.2f} c S"
    )
    ops = f"q 0.8 0.1 0.1 RG 2 w [6 4] 0 d {path} Q".encode()
    page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(pdf, b"\nQ\n" + ops), prepend=False)


def placement_preview(
    service: IssuingService, approval: ApprovalPdf, placement: Placement
) -> bytes:
    """The chosen page as PNG, with the block where it goes and the seal's place marked."""
    boxes = stamp_boxes(approval, placement)
    block = render_verification_block(
        f"{service.settings.public_base_url}/v/preview-not-issued",
        "证照编号：样张（签发时编号）",
        service.font_name,
    )
    marked = _overlay(approval.pdf, boxes, block, marks=True)
    return page_png(marked, page=boxes.page_index + 1, dpi=80)


def issue_approval(
    service: IssuingService,
    request: IssueRequest,
    approval: ApprovalPdf,
    placement: Placement,
) -> IssueResult:
    """Issue ``request`` (a document-style type) with the approval document as its page."""
    license_type = get_type(service.types, request.type_key)
    if license_type.layout.style is not LayoutStyle.DOCUMENT:
        raise ApprovalDocumentError(f"{license_type.name_zh}不是决定书类证照，不能以上传的文件签发")
    stamped = IssueRequest(
        request.department_code,
        request.type_key,
        request.data,
        request.idempotency_key,
        request.actor,
        page=stamped_page(approval, placement),
        source_digest=f"approval:{approval.sha256}:{placement.page}:{placement.seal}",
    )
    return service.issue(stamped)
