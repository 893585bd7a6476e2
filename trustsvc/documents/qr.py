"""The QR code a page prints to be verified, and the verification block stamped on others.

A license prints its code at the bottom left (``render``); a document the
service did not draw (an approval decision) gets the same code, quiet zone and
captions as a small block laid over its page (``render_verification_block``).
"""

from __future__ import annotations

import re

import zxingcpp
from reportlab.lib.units import mm

from trustsvc.documents.paragraphs import one_line
from trustsvc.documents.pdfpage import PRODUCER, DocumentInfo, PdfPage, number
from trustsvc.documents.textwriter import INK, MUTED, TextWriter
from trustsvc.errors import InvalidInputError

#: Side of the QR code, quiet zone not included.
QR_SIZE = 30 * mm
#: The verification block stamped on a document the service did not draw (an
#: approval decision): the QR code, 扫码核验 and the license number under it.
BLOCK_WIDTH = 36 * mm
BLOCK_HEIGHT = 46 * mm

_DARK_RUN = re.compile(rb"\x00+")


def qr_matrix(data: str) -> list[bytes]:
    """The QR code's rows, one byte per module (0 dark), without the quiet zone.

    zxing-cpp's encoder chooses the mask by the penalty rules of ISO/IEC 18004
    §7.8.3, in C++: under a millisecond, where the pure-Python encoders spend
    ten doing the same.
    """
    if not data:
        raise InvalidInputError("a license needs a verify URL for its QR code")
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    # The stubs do not declare the Image's buffer protocol.
    image = memoryview(code.to_image(scale=1, add_quiet_zones=False))  # type: ignore[arg-type]
    height, width = image.shape or (0, 0)
    pixels = image.tobytes()
    return [pixels[row * width : (row + 1) * width] for row in range(height)]


def module_side(matrix: list[bytes]) -> float:
    """The side of one module of ``matrix`` drawn ``QR_SIZE`` wide."""
    return QR_SIZE / len(matrix)


def draw_qr(page: PdfPage, matrix: list[bytes], left: float, bottom: float) -> None:
    """Draw the code ``QR_SIZE`` wide with its bottom left at (left, bottom).

    One path, a rectangle per run of dark modules, written in one piece: a
    canvas call per rectangle would cost more than encoding the code. The
    coordinates are whole modules, scaled once by the transformation matrix.
    """
    side = len(matrix)
    module = module_side(matrix)
    rectangles = [
        f"{run.start()} {side - 1 - row_index} {run.end() - run.start()} 1 re"
        for row_index, row in enumerate(matrix)
        for run in _DARK_RUN.finditer(row)
    ]
    page.add(
        f"q\n0 0 0 rg\n{number(module)} 0 0 {number(module)} {number(left)} "
        f"{number(bottom)} cm\n" + "\n".join(rectangles) + "\nf\nQ"
    )


def render_verification_block(verify_url: str, number_line: str, font_name: str) -> bytes:
    """A one-page PDF of ``BLOCK_WIDTH`` x ``BLOCK_HEIGHT``: the QR code and its captions.

    Drawn as the license's footer is (the same code, quiet zone and captions),
    to be laid over a page of another document as a form XObject.
    """
    page = PdfPage(BLOCK_WIDTH, BLOCK_HEIGHT)
    # A white ground, so the code reads over whatever the page has under it.
    page.add(f"q\n1 1 1 rg\n0 0 {number(BLOCK_WIDTH)} {number(BLOCK_HEIGHT)} re\nf\nQ")
    left = (BLOCK_WIDTH - QR_SIZE) / 2
    # The code's top sits a quiet zone (four modules) below the block's top edge.
    matrix = qr_matrix(verify_url)
    module = module_side(matrix)
    bottom = BLOCK_HEIGHT - QR_SIZE - 4 * module
    draw_qr(page, matrix, left, bottom)
    text = TextWriter(page, font_name)
    centre = BLOCK_WIDTH / 2
    caption = bottom - 4 * module - 8.0 * 0.9
    text.centred(centre, caption, "扫码核验 Scan to verify", 7.0, colour=MUTED)
    line = one_line(number_line)
    size = text.fit(line, 7.0, BLOCK_WIDTH - 4.0, 4.0, "license number")
    text.centred(centre, caption - 9.0, line, size, colour=INK)
    text.finish()
    info = DocumentInfo(
        title="扫码核验",
        author="trustsvc",
        subject=line,
        keywords="",
        creator="trustsvc",
        producer=PRODUCER,
        pdf_date="D:20000101000000Z",
        iso_date="2000-01-01T00:00:00Z",
    )
    return page.pdf(info)
