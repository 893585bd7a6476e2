"""The server-drawn SVG charts: well-formed, accessible, to scale, and escaping their labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from trustsvc.api.pages.charts import (
    Series,
    _intervals,
    _nice_top,
    horizontal_bars,
    stacked_columns,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 (our own output, parsed to check it)


def test_columns_stack_each_series_to_scale_with_a_title_and_a_description() -> None:
    labels = ["2026-11", "2026-12", "2027-01"]
    chart = stacked_columns(
        "issued",
        "每月签发",
        "三个月共 60 张",
        labels,
        [Series("营业执照", (10, 20, 0)), Series("<b>证</b>", (0, 20, 10))],
    )
    svg = _parse(chart)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "issued-title issued-desc"
    assert svg.find(f"{SVG}title").text == "每月签发"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "三个月共 60 张"  # type: ignore[union-attr]
    bars = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    # A zero is not drawn: four bars, each titled with its month, series and value.
    assert [r.find(f"{SVG}title").text for r in bars] == [  # type: ignore[union-attr]
        "2026-11 营业执照: 10",
        "2026-12 营业执照: 20",
        "2026-12 <b>证</b>: 20",
        "2027-01 <b>证</b>: 10",
    ]
    heights = [float(r.get("height", "0")) for r in bars]
    # The tallest column (40) sits under a scale of 50: 20 is twice 10, to the pixel.
    assert abs(heights[1] - 2 * heights[0]) < 0.2
    assert abs(heights[1] + heights[2] - 0.8 * 182) < 0.5
    assert "<b>" not in chart


def test_series_beyond_the_palette_are_one_layer_of_others() -> None:
    series = [Series(f"类型{i}", (i,)) for i in range(1, 10)]
    svg = _parse(stacked_columns("c", "t", "d", ["2026-12"], series, max_series=3))
    titles = [t.text for t in svg.iter(f"{SVG}title")][1:]
    assert titles[-1] == "2026-12 其他: " + str(sum(range(4, 10)))
    assert len(titles) == 4


def test_bars_are_proportional_and_an_empty_chart_still_draws() -> None:
    svg = _parse(horizontal_bars("v", "核验结论", "有效 3 次", [("有效", 30), ("无效", 15)]))
    widths = [float(r.get("width", "0")) for r in svg.iter(f"{SVG}rect")]
    assert abs(widths[0] - 2 * widths[1]) < 0.2
    empty = _parse(horizontal_bars("e", "无数据", "没有记录", []))
    assert empty.get("role") == "img"


def test_the_scale_is_a_round_number_at_or_above_the_largest() -> None:
    assert [_nice_top(n) for n in (0, 1, 3, 7, 10, 11, 99, 101, 4999)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        100,
        200,
        5000,
    ]


def test_the_scale_is_labelled_in_distinct_whole_numbers() -> None:
    for largest in (1, 2, 3, 7, 12, 40, 99, 180, 4200):
        top = _nice_top(largest)
        steps = _intervals(top)
        labels = [top * tick // steps for tick in range(steps + 1)]
        assert labels == sorted(set(labels)), (largest, labels)
        assert all(top * tick % steps == 0 for tick in range(steps + 1)), (largest, labels)
    svg = _parse(stacked_columns("s", "t", "d", ["2026-12"], [Series("a", (2,))]))
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "1", "2"]
