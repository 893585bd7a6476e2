"""The fonts licenses and stamps are set in: find them, register them once, split text by font.

Every font is embedded as a subset (ISO 32000-1 §9.6.4: ``ABCDEF+Name``), as PDF/A
requires and as a 4 MB CJK font demands: license pages through ``subsets``, the
stamp through reportlab's TrueType support, both from the fonts registered here.
Only single TrueType fonts (.ttf, or .otf with TrueType outlines) can be subset;
collections (.ttc) cannot.

Debian's CJK fallback font (fonts-droid-fallback) has Chinese glyphs but no Latin
letters or digits, so a font set pairs it with a Latin companion (DejaVu Sans,
fonts-dejavu-core) and every string is split into runs, each drawn in the font
that has its glyphs. A character neither font has is refused rather than printed
as an empty box.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from trustsvc.errors import FontNotFoundError, FontUnusableError, UnsupportedCharacterError

#: The environment variable that names a CJK font (read by the settings, not here).
CJK_FONT_VARIABLE = "TRUSTSVC_CJK_FONT"

#: Well-known CJK TrueType fonts on Debian, best first.
CJK_FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # fonts-droid-fallback
    Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"),  # fonts-arphic-gbsn00lp
    Path("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf"),  # fonts-arphic-gkai00mp
    Path("/usr/share/fonts/truetype/wqy"),  # any wqy .ttf (Debian ships .ttc, refused)
)

#: Latin companions for CJK fonts without Latin glyphs, best first.
LATIN_FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # fonts-dejavu-core
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
)

_FONT_ROOT = Path("/usr/share/fonts")
# File-name fragments that mark a CJK font in a last-resort search; kept narrow,
# because a wrong guess prints boxes instead of Chinese.
_CJK_NAME_HINTS = ("cjk", "droidsansfallback", "wqy", "arphic", "uming", "ukai", "gbsn", "gkai")
_EMBEDDABLE_SUFFIXES = (".ttf", ".otf")
# A character every Chinese license needs: a font without it is not a CJK font.
_PROBE = ord("证")


def find_cjk_font(configured: Path | None = None) -> Path:
    """The CJK font to embed: the configured one, else the first well-known one installed."""
    if configured is not None:
        return _check_embeddable(configured, what=f"the font set by {CJK_FONT_VARIABLE}")
    searched: list[str] = []
    for candidate in CJK_FONT_CANDIDATES:
        if candidate.suffix:
            searched.append(str(candidate))
            if candidate.is_file():
                return candidate
        else:
            searched.append(f"{candidate}/*.ttf")
            found = sorted(candidate.glob("*.ttf")) if candidate.is_dir() else []
            if found:
                return found[0]
    searched.append(f"{_FONT_ROOT}/**/*.ttf named like a CJK font")
    for path in _hinted_cjk_fonts():
        return path
    raise FontNotFoundError(
        "no CJK TrueType font found (searched " + ", ".join(searched) + "); "
        f"install the Debian package fonts-droid-fallback or set {CJK_FONT_VARIABLE} "
        "to a .ttf/.otf font with Chinese glyphs"
    )


def find_latin_font() -> Path:
    """A Latin font to set the letters and digits a CJK-only font lacks."""
    for candidate in LATIN_FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FontNotFoundError(
        "the CJK font has no Latin letters or digits and no Latin companion font is installed "
        "(searched " + ", ".join(str(c) for c in LATIN_FONT_CANDIDATES) + "); "
        "install the Debian package fonts-dejavu-core"
    )


def _check_embeddable(path: Path, *, what: str) -> Path:
    if path.suffix.lower() == ".ttc":
        raise FontUnusableError(
            f"{what} ({path}) is a TrueType collection (.ttc); reportlab's subsetter and "
            "pyHanko embed single fonts only: use a .ttf or .otf file"
        )
    if path.suffix.lower() not in _EMBEDDABLE_SUFFIXES:
        raise FontUnusableError(f"{what} ({path}) is not a .ttf or .otf font file")
    if not path.is_file():
        raise FontNotFoundError(f"{what} ({path}) does not exist")
    return path


def _hinted_cjk_fonts() -> list[Path]:
    if not _FONT_ROOT.is_dir():
        return []
    found = []
    for path in sorted(_FONT_ROOT.rglob("*.ttf")):
        stem = path.stem.lower()
        if any(hint in stem for hint in _CJK_NAME_HINTS) and _has_cjk_glyphs(path):
            found.append(path)
    return found


def _has_cjk_glyphs(path: Path) -> bool:
    try:
        return _PROBE in TTFont("probe", str(path)).face.charToGlyph
    except (TTFError, OSError):
        return False


# ---- registration ---------------------------------------------------------------


@dataclass
class _FontSet:
    """A CJK font and, when it lacks Latin glyphs, its Latin companion."""

    fonts: tuple[TTFont, ...]
    #: Reportlab font name and width at size 1, per character; filled as text is seen.
    glyphs: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: Held while reportlab saves a document using these fonts (the stamp): its subsetter
    #: reads the font file through one shared read position, so two saves at once corrupt it.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def glyph(self, ch: str) -> tuple[str, float] | None:
        found = self.glyphs.get(ch)
        if found is not None:
            return found
        code = ord(ch)
        for font in self.fonts:
            if code in font.face.charToGlyph:
                found = (font.fontName, font.face.getCharWidth(code) / 1000.0)
                self.glyphs[ch] = found
                return found
        return None


_registry_lock = threading.Lock()
_by_path: dict[Path, str] = {}
_font_sets: dict[str, _FontSet] = {}


def configure_reportlab() -> None:
    """Write PDF streams as binary (Flate only): ASCII85 on top costs time and a quarter more bytes.

    reportlab keeps this in process-wide configuration; every renderer calls this first.
    """
    rl_config.useA85 = 0


def load_cjk_font(path: Path) -> str:
    """Register the font (and a Latin companion if needed) once; return the name to draw with.

    Parsing a large CJK font takes tens of milliseconds, so it happens once per
    process and path; later calls return the cached name.
    """
    key = path.resolve()
    with _registry_lock:
        name = _by_path.get(key)
        if name is not None:
            return name
        _check_embeddable(key, what="the CJK font")
        name = _font_name("cjk", key)
        cjk = _register(name, key)
        fonts = [cjk]
        if not all(ord(ch) in cjk.face.charToGlyph for ch in "AZaz09"):
            latin_path = find_latin_font().resolve()
            fonts.append(_register(_font_name("latin", latin_path), latin_path))
        _font_sets[name] = _FontSet(tuple(fonts))
        _by_path[key] = name
        return name


def _font_name(role: str, path: Path) -> str:
    # Stable across processes (no id() or counter), distinct for two files of one name.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return f"trustsvc-{role}-{path.stem}-{digest}"


def _register(name: str, path: Path) -> TTFont:
    try:
        font = TTFont(name, str(path))
    except (TTFError, OSError) as exc:
        raise FontUnusableError(f"font {path} cannot be embedded: {exc}") from exc
    pdfmetrics.registerFont(font)
    return font


def _font_set(font_name: str) -> _FontSet:
    try:
        return _font_sets[font_name]
    except KeyError:
        raise FontNotFoundError(
            f"font {font_name!r} was not registered with load_cjk_font()"
        ) from None


# ---- measuring and splitting text -------------------------------------------------


def font_runs(font_name: str, text: str) -> list[tuple[str, str]]:
    """Split text into (reportlab font name, substring) runs, each drawable in one font."""
    fonts = _font_set(font_name)
    runs: list[tuple[str, str]] = []
    missing: set[str] = set()
    current, start = "", 0
    for index, ch in enumerate(text):
        glyph = fonts.glyph(ch)
        if glyph is None:
            missing.add(ch)
            continue
        if glyph[0] != current:
            if index > start and current:
                runs.append((current, text[start:index]))
            current, start = glyph[0], index
    if missing:
        raise _unsupported(missing)
    if current:
        runs.append((current, text[start:]))
    return runs


def char_widths(font_name: str, text: str) -> list[float]:
    """The advance width of each character at size 1 (multiply by the font size)."""
    fonts = _font_set(font_name)
    widths: list[float] = []
    missing: set[str] = set()
    for ch in text:
        glyph = fonts.glyph(ch)
        if glyph is None:
            missing.add(ch)
        else:
            widths.append(glyph[1])
    if missing:
        raise _unsupported(missing)
    return widths


def text_width(font_name: str, text: str, size: float) -> float:
    """The advance width of text set at size points."""
    return sum(char_widths(font_name, text)) * size


def document_lock(font_name: str) -> threading.Lock:
    """The lock to hold while saving a document that uses this font (see ``_FontSet``)."""
    return _font_set(font_name).lock


def _unsupported(missing: set[str]) -> UnsupportedCharacterError:
    listed = " ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in sorted(missing))
    return UnsupportedCharacterError(
        f"no configured font can draw {listed}; "
        f"set {CJK_FONT_VARIABLE} to a font that has these characters"
    )
