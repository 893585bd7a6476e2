"""A page of a PDF as a PNG picture, for a preview on screen (poppler's ``pdftoppm``).

Only documents this service drew or checked are rasterised (a preview of a
license before sealing, an approval document that passed ``approvals``' checks);
``pdftoppm`` runs as a child process with a time limit and its output is bounded,
so a page that is slow or huge to draw fails as an error rather than holding a
worker.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from trustsvc.errors import ConfigurationError, InvalidInputError

#: Long enough for any one-page license or decision at preview resolution.
RASTER_SECONDS = 15
#: A preview larger than this is refused (an A4 page at 110 dpi is about 150 kB).
MAX_PNG_BYTES = 8 * 1024 * 1024


def page_png(pdf: bytes, *, page: int = 1, dpi: int = 110) -> bytes:
    """Page ``page`` (from 1) of ``pdf`` as a PNG at ``dpi``."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise ConfigurationError("pdftoppm (poppler-utils) is needed for previews; see setup.sh")
    if not 1 <= dpi <= 300 or page < 1:
        raise InvalidInputError("a preview is 1 to 300 dpi of a page from 1")
    with tempfile.TemporaryDirectory(prefix="trustsvc-preview-") as directory:
        source = Path(directory) / "page.pdf"
        source.write_bytes(pdf)
        target = Path(directory) / "page"
        try:
            subprocess.run(
                [
                    tool,
                    "-png",
                    "-r",
                    str(dpi),
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-singlefile",
                    str(source),
                    str(target),
                ],
                check=True,
                capture_output=True,
                timeout=RASTER_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise InvalidInputError("the page took too long to draw for a preview") from None
        except subprocess.CalledProcessError:
            raise InvalidInputError("the page could not be drawn for a preview") from None
        picture = target.with_suffix(".png")
        if not picture.exists() or picture.stat().st_size > MAX_PNG_BYTES:
            raise InvalidInputError("the page could not be drawn for a preview")
        return picture.read_bytes()
