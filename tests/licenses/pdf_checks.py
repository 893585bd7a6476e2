"""Checking issued PDFs the way a relying party would, with pyHanko."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import PdfSignatureStatus

from tests.helpers import as_asn1
from trustsvc.seals.fields import SEAL_FIELD
from trustsvc.services import Services


def validate_offline(
    services: Services, pdf: bytes
) -> tuple[PdfSignatureStatus, DocumentSecurityStore]:
    """Validate the seal with the root as only anchor and no network: embedded data only."""
    reader = PdfFileReader(io.BytesIO(pdf))
    [signature] = [s for s in reader.embedded_signatures if s.field_name == SEAL_FIELD]
    dss = DocumentSecurityStore.read_dss(reader)
    context = dss.as_validation_context(
        {
            "trust_roots": [as_asn1(services.pki.root)],
            "allow_fetching": False,
            "revocation_mode": "hard-fail",
        }
    )
    return validate_pdf_signature(signature, context), dss


def read_qr_codes(pdf: bytes, resolution: int = 200) -> list[str]:
    """Rasterise page 1 as a reader's screen would, and decode every QR code on it.

    In grey and uncompressed (PGM): a QR code has no colour, and compressing the PNG was
    five sixths of the time (0.57 s against 0.09 s for a license page at 200 dpi).
    """
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (poppler-utils) is needed; scripts/setup.sh installs it"
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "license.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                pdftoppm,
                "-gray",
                "-r",
                str(resolution),
                "-f",
                "1",
                "-l",
                "1",
                str(source),
                f"{directory}/page",
            ],
            check=True,
        )
        [image_path] = Path(directory).glob("page*.pgm")
        with Image.open(image_path) as image:
            # QR codes only: read for every format, the page's text and stamp now and then
            # decode as a one-dimensional barcode (a serial is random, so the page varies).
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            return [result.text for result in found]
