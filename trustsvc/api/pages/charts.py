"""Charts drawn on the server as SVG: stacked columns over months, and horizontal bars.

Pure functions from numbers to markup, no JavaScript and no outside font. A
chart is an image to a screen reader (``role="img"`` with a ``<title>`` and a
``<desc>`` that states the figures in words); the page puts the same numbers
in a table beside it, which is what a reader of the figures uses. Colours are
presentation attributes, not ``style``, so the page's CSP (no inline style)
allows them; the palette keeps neighbours apart for common colour blindness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

#: Okabe–Ito, without its yellow (too pale on white); the last colour is "others".
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#7f7f7f")
_TEXT = "#1f2933"
_GRID = "#d9dee3"
_FONT = 'font-family="system-ui, sans-serif"'


@dataclass(frozen=True)
class Series:
    """One stacked layer of a column chart: a name and one value per column."""

    name: str
    values: tuple[int, ...]


def _nice_top(largest: int) -> int:
    """A round number at or above ``largest`` for the scale (1, 2 or 5 times a power of ten)."""
    if largest <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= largest:
                return step * factor
        step *= 10


def _intervals(top: int) -> int:
    """How many whole-number steps divide the scale: 0–2 in 2 steps, 0–20 in 4 of 5, 0–50 in 5."""
    if top <= 5:
        return top
    lead = int(str(top)[0])
    return 4 if lead == 2 else 5


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def stacked_columns(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    max_series: int = len(PALETTE) - 1,
    others: str = "其他",
) -> Markup:
    """One column per label, each stacked from ``series`` (beyond ``max_series``: ``others``)."""
    kept = list(series[:max_series])
    rest = series[max_series:]
    if rest:
        kept.append(
            Series(others, tuple(sum(s.values[i] for s in rest) for i in range(len(labels))))
        )
    width, height = 420, 230
    left, right, top, bottom = 36, 8, 10, 38
    legend_rows = (len(kept) + 2) // 3
    legend_height = 20 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in kept) for i in range(len(labels))]
    scale_top = _nice_top(max(totals, default=0))
    parts = _open(chart_id, width, height + legend_height, title, desc)
    parts.append(f'<g {_FONT} font-size="11" fill="{_TEXT}" aria-hidden="true">')
    steps = _intervals(scale_top)
    for tick in range(steps + 1):
        value = scale_top * tick // steps
        y = top + plot_h - plot_h * tick / steps
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    slot = plot_w / max(len(labels), 1)
    bar = slot * 0.62
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        base = float(top + plot_h)
        for colour, layer in zip(PALETTE, kept, strict=False):
            value = layer.values[i]
            if value <= 0:
                continue
            h = plot_h * value / scale_top
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(f"{label} {layer.name}: {value}")}</title></rect>'
            )
        # Month labels as "12月" under each column, the year under the first and each January.
        year, _, month = label.partition("-")
        cx = left + slot * i + slot / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 15}" text-anchor="middle">'
            f"{escape(month.lstrip('0') or label)}月</text>"
        )
        if i == 0 or month == "01":
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 30}" text-anchor="middle">'
                f"{escape(year)}</text>"
            )
    for n, (colour, layer) in enumerate(zip(PALETTE, kept, strict=False)):
        lx = left + (n % 3) * (plot_w / 3)
        ly = height + 20 * (n // 3) + 4
        parts.append(f'<rect x="{lx:.1f}" y="{ly}" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{lx + 17:.1f}" y="{ly + 11}">{escape(_clip(layer.name, 16))}</text>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it is escaped above)


def horizontal_bars(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[tuple[str, int]],
    *,
    colour: str = PALETTE[0],
) -> Markup:
    """One bar per (label, value), top to bottom, with the value at the bar's end."""
    width = 420
    label_w, right, row = 140, 40, 30
    height = max(row * len(bars), row) + 8
    largest = max((v for _, v in bars), default=0)
    plot_w = width - label_w - right
    parts = _open(chart_id, width, height, title, desc)
    parts.append(f'<g {_FONT} font-size="13" fill="{_TEXT}" aria-hidden="true">')
    for i, (label, value) in enumerate(bars):
        y = 4 + row * i
        w = plot_w * value / largest if largest else 0
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">'
            f"{escape(_clip(label, 10))}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row - 10}" '
            f"fill={quoteattr(colour)}><title>{escape(f'{label}: {value}')}</title></rect>"
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 17}">{value}</text>')
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it is escaped above)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


__all__ = ["PALETTE", "Series", "horizontal_bars", "stacked_columns"]
