"""The inline SVG line chart: scales, gaps, limit lines, labels that do not overprint, escaping."""

from __future__ import annotations

import pytest

from mlopsctl.report.svg import STYLES, Chart, Limit, Series, _spread, legend, line_chart, nice_ticks
from tests.unit.report.dom import parse


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 318, [0, 100, 200, 300, 400]),
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),  # an all-zero series still gets an axis
    ],
)
def test_nice_ticks(low, high, expected):
    assert nice_ticks(low, high) == pytest.approx(expected)


def _chart(**overrides) -> Chart:
    values = {
        "title": "Latency",
        "x_label": "s",
        "y_label": "ms",
        "series": [Series("p50", [(1, 5.0), (2, 6.0), (3, 7.0)]), Series("p99", [(1, 50.0), (2, None), (3, 70.0)])],
        "limits": [Limit("SLO p99<200ms", 200.0)],
        "ident": "lat",
        "table_id": "lat-table",
    }
    values.update(overrides)
    return Chart(**values)


def test_chart_has_title_description_series_and_limit():
    root = parse(line_chart(_chart()))
    svg = root.find("svg")
    assert svg.attrs["role"] == "img" and svg.attrs["aria-labelledby"] == "lat-title lat-desc"
    assert root.find("title", id="lat-title").text() == "Latency"
    assert "lat-table" in root.find("desc").text()
    series = {g.attrs["data-series"]: g for g in root.find_all("g", "series")}
    assert list(series) == ["p50", "p99"]
    assert len(series["p50"].find_all("polyline")) == 1
    # A missing value breaks the line: p99 is two single points, never a line drawn through the gap.
    p99_lines = series["p99"].find_all("polyline")
    assert len(p99_lines) == 2 and all(len(line.attrs["points"].split()) == 1 for line in p99_lines)
    limit = root.find("g", "limit")
    assert limit.attrs["data-limit"] == "SLO p99<200ms" and "SLO p99<200ms" in limit.text()


def test_limit_and_values_share_the_y_scale():
    root = parse(line_chart(_chart()))
    limit_y = float(root.find("g", "limit").find("line").attrs["y1"])
    top_point = min(
        float(p.split(",")[1]) for p in root.find_all("g", "series")[1].find_all("polyline")[1].attrs["points"].split()
    )
    assert limit_y < top_point  # 200 ms is drawn above 70 ms


def test_series_differ_without_colour():
    dashes = {dash for _, dash, _ in STYLES}
    markers = [marker for _, _, marker in STYLES]
    assert len(dashes) == len(STYLES) and len(set(markers[:4])) == 4
    root = parse(line_chart(_chart()))
    p50, p99 = root.find_all("g", "series")
    assert "stroke-dasharray" not in p50.find("polyline").attrs
    assert p99.find("polyline").attrs["stroke-dasharray"] == STYLES[1][1]
    # Each line is also named at its end.
    assert [g.find("text", "end-label").text() for g in (p50, p99)] == ["p50", "p99"]


def test_end_labels_of_equal_values_do_not_overprint():
    assert _spread([100.0, 100.0, None, 40.0]) == [100.0, 112.0, 0.0, 40.0]


def test_shared_x_range_places_points_alike():
    one = parse(line_chart(_chart(x_range=(0, 30))))
    other = parse(line_chart(_chart(series=[Series("rate", [(1, 1.0), (2, 2.0), (3, 3.0)])], x_range=(0, 30))))
    xs = lambda root: [p.split(",")[0] for p in root.find("polyline").attrs["points"].split()]  # noqa: E731
    assert xs(one) == xs(other)


def test_names_are_escaped():
    text = line_chart(_chart(title="<script>alert(1)</script>", series=[Series('a"<b>', [(0, 1.0)])]))
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert 'data-series="a&quot;&lt;b&gt;"' in text


def test_legend_names_every_series_and_limit():
    root = parse(legend(_chart()))
    assert [li.text().strip() for li in root.find_all("li")] == ["p50", "p99", "SLO p99<200ms"]


def test_no_data_still_draws_an_empty_chart():
    root = parse(line_chart(_chart(series=[Series("p50", [(1, None)])], limits=[])))
    assert root.find("svg") and not root.find_all("polyline")
