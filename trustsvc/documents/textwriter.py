"""A page's text as one PDF text object: lines placed, fonts switched only when needed.

Each line is written in the runs of ``fonts.font_runs`` (the CJK font, or a
fallback for a character it lacks) and encoded into the page's font subsets;
the font, size, colour and letter spacing are set only when they change, which
keeps a license's content stream small. ``fit`` shrinks one line's type to its
room, down to a floor below which the text is refused rather than run off the
page.
"""

from __future__ import annotations

from trustsvc.documents.fonts import char_widths, font_runs
from trustsvc.documents.pdfpage import PdfPage, number
from trustsvc.errors import LicenseTextTooLongError

#: The inks of the service's pages: text, and the quieter captions and labels.
INK = (0.1, 0.1, 0.1)
MUTED = (0.35, 0.35, 0.35)


class TextWriter:
    """All the page's text in one text object, switching fonts only when needed."""

    def __init__(self, page: PdfPage, font_name: str) -> None:
        self.page = page
        self.font_name = font_name
        self._ops: list[str] = ["BT"]
        self._font: tuple[str, float] = ("", 0.0)
        self._colour: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._char_space = 0.0

    def width(self, text: str, size: float, char_space: float = 0.0) -> float:
        return sum(char_widths(self.font_name, text)) * size + char_space * max(0, len(text) - 1)

    def fit(self, line: str, size: float, room: float, smallest: float, what: str) -> float:
        """The size at which ``line`` fits ``room``, at most ``size``; refused below ``smallest``.

        ``what`` names the line in the refusal (a text too long is the caller's to shorten).
        """
        natural = self.width(line, 1.0)
        fitted = min(size, room / natural) if natural else size
        if fitted < smallest:
            raise LicenseTextTooLongError(
                f"the {what} ({len(line)} characters) does not fit on one line"
                f" even at {smallest} pt"
            )
        return fitted

    def line(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        char_space: float = 0.0,
        colour: tuple[float, float, float] = INK,
    ) -> None:
        ops = self._ops
        ops.append(f"1 0 0 1 {number(x)} {number(y)} Tm")
        if char_space != self._char_space:
            ops.append(f"{number(char_space)} Tc")
            self._char_space = char_space
        if colour != self._colour:
            ops.append(" ".join(number(c) for c in colour) + " rg")
            self._colour = colour
        for font, run in font_runs(self.font_name, text):
            for resource, codes in self.page.encode(font, run):
                if (resource, size) != self._font:
                    ops.append(f"/{resource} {number(size)} Tf")
                    self._font = (resource, size)
                ops.append(f"<{codes}> Tj")

    def centred(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        char_space: float = 0.0,
        colour: tuple[float, float, float] = INK,
    ) -> float:
        """Centre text on x; return its width."""
        width = self.width(text, size, char_space)
        self.line(x - width / 2, y, text, size, char_space=char_space, colour=colour)
        return width

    def fill_and_stroke(self) -> None:
        """Outline the glyphs as well as fill them (text render mode 2)."""
        self._ops.append("2 Tr")

    def finish(self) -> None:
        self._ops.append("ET")
        self.page.add("\n".join(self._ops))
