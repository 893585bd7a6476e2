"""The purpose-annotated copy (加注件) of a license: a note for one use, sealed by the service.

A clerk who keeps a citizen's license on file keeps a copy marked for the one
use it was shown for: "仅供〈用证事由〉使用 · 〈窗口〉 · 〈日期〉", the way a paper
copy is marked "他用无效". The note is added to the sealed license as an
incremental update (ISO 32000-1 §7.5.6) after the license's own revision, and
that update is sealed by the service with its verification-report seal
(``report_seal``): an approval signature whose visible appearance is the note
itself, PAdES B-LT like the reports. So:

- the license's own seal still covers exactly the revision it sealed, byte for
  byte (pyHanko: intact, valid, coverage of its whole revision; the difference
  analysis finds a signature field and nothing else added after it);
- the note cannot be changed, moved or removed without breaking the service's
  seal, which covers the whole file: a copy made for one purpose cannot pass for
  a copy made for another.

Licenses are certified with DocMDP P=1 (``seals.sealer``), under which any later
revision, this one included, is outside the certification's terms; validators
report that for the license's seal (pyHanko: ``docmdp_ok`` false), which is the
right thing to show of a copy: it is not the issued document any more, it is
the issued document plus the service's note.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import date

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen.canvas import Canvas

from trustsvc.documents.fonts import configure_reportlab, document_lock, font_runs, text_width
from trustsvc.documents.linebreak import break_lines
from trustsvc.documents.render import PAGE_WIDTH, chinese_date
from trustsvc.errors import InvalidInputError
from trustsvc.seals.appearance import SEAL_RED
from trustsvc.seals.fields import NOTE_FIELD, SEAL_FIELD
from trustsvc.verification.report_seal import ReportSealer

#: Where the note sits on an A4 license: right of the QR code's caption, below the
#: seal and above the identifier line, where nothing of the license is drawn
#: (``documents.render``: the caption ends 150 pt from the left, the seal 90 pt from
#: the bottom, the identifier's line 54 pt).
NOTE_BOX = (150.0, 56.0, PAGE_WIDTH - 72.0, 89.0)
_MAIN_SIZE = 10.5
_SMALLEST_SIZE = 7.0
_SMALL_SIZE = 6.5
_MUTED = (0.35, 0.35, 0.35)
#: Longest a note's own words may be (a purpose, a window): more is not a label.
MAX_WORDS = 200


@dataclass(frozen=True)
class PurposeNote:
    """What the note says: the purpose, where, when, and who adds it."""

    purpose: str
    #: The service window (or hall and window) whose clerk made the copy.
    window: str
    day: date
    #: Who adds and seals the note: the operator (``settings.organisation_name``).
    operator: str

    def line(self) -> str:
        return f"仅供{self.purpose}使用 · {self.window} · {chinese_date(self.day)}"

    def small_print(self) -> str:
        return (
            f"加注件：{self.operator}加注并加盖电子印章，他用无效。"
            "证照原件的电子印章未改动，可照常核验。"
        )


def _words(text: str, what: str) -> str:
    text = " ".join(text.split())
    if not text or len(text) > MAX_WORDS:
        raise InvalidInputError(f"the note's {what} must be 1 to {MAX_WORDS} characters")
    return text


@functools.lru_cache(maxsize=64)
def render_note(note: PurposeNote, font_name: str) -> bytes:
    """The note as a one-page PDF exactly ``NOTE_BOX``'s size: the seal's visible appearance."""
    x1, y1, x2, y2 = NOTE_BOX
    width, height = x2 - x1, y2 - y1
    line = note.line()
    size = _MAIN_SIZE
    while size > _SMALLEST_SIZE and text_width(font_name, line, size) > width - 8:
        size -= 0.5
    lines = break_lines(line, width - 8, lambda t: text_width(font_name, t, size))
    if len(lines) > 2:
        raise InvalidInputError("the note is too long for the copy: name a shorter purpose")
    buffer = io.BytesIO()
    configure_reportlab()
    with document_lock(font_name):
        canvas = Canvas(
            buffer,
            pagesize=(width, height),
            pageCompression=1,
            invariant=1,
            initialFontName=font_name,  # type: ignore[arg-type]  # the stub says float
        )
        canvas.setTitle("加注件 " + line)
        canvas.setCreator("trustsvc")
        canvas.setStrokeColorRGB(*SEAL_RED)
        canvas.setLineWidth(0.8)
        canvas.rect(0.5, 0.5, width - 1, height - 1, stroke=1, fill=0)
        canvas.setFillColorRGB(*SEAL_RED)
        # One line in the middle of the space above the small print, or two filling it.
        baseline = height - 5 - size * 0.9 if len(lines) == 2 else height - 8 - size * 0.9
        for text_line in lines:
            _draw(canvas, font_name, 5, baseline, text_line, size)
            baseline -= size * 1.15
        canvas.setFillColorRGB(*_MUTED)
        small = note.small_print()
        small_size = _SMALL_SIZE
        while small_size > 4 and text_width(font_name, small, small_size) > width - 8:
            small_size -= 0.25
        _draw(canvas, font_name, 5, 4, small, small_size)
        canvas.showPage()
        canvas.save()
    return buffer.getvalue()


def _draw(canvas: Canvas, font_name: str, x: float, y: float, text: str, size: float) -> None:
    runs = canvas.beginText(x, y)
    for font, run in font_runs(font_name, text):
        runs.setFont(font, size)
        runs.textOut(run)
    canvas.drawText(runs)


class AnnotatedCopies:
    """Makes purpose-annotated copies; one per process, beside the report sealer."""

    def __init__(self, reports: ReportSealer) -> None:
        self.reports = reports

    def annotate(self, license_pdf: bytes, note: PurposeNote) -> bytes:
        """The license with the note added after its seal, sealed by the service.

        ``license_pdf`` is a sealed license as the library keeps it: one seal, no
        note yet (a copy of a copy is refused).
        """
        note = PurposeNote(
            _words(note.purpose, "purpose"),
            _words(note.window, "window"),
            note.day,
            _words(note.operator, "operator"),
        )
        try:
            reader = PdfFileReader(io.BytesIO(license_pdf), strict=False)
            names = [s.field_name for s in reader.embedded_signatures]
        except (PdfError, ValueError) as exc:
            raise InvalidInputError(f"not a sealed license: {exc}") from exc
        if names != [SEAL_FIELD]:
            raise InvalidInputError("only a sealed license as issued can be annotated")
        seal = self.reports.current_seal()
        appearance = render_note(note, self.reports.font_name)
        sealed = self.reports.sealer.seal(
            license_pdf,
            seal.material,
            NOTE_BOX,
            appearance,
            reason=note.line(),
            countersign=NOTE_FIELD,
        )
        return sealed.pdf


__all__ = ["NOTE_BOX", "NOTE_FIELD", "AnnotatedCopies", "PurposeNote", "render_note"]
