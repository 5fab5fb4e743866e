"""A small line-chart renderer: inline SVG with a title, axes, a legend and labelled horizontal limit lines.

Series differ by colour AND by dash pattern and point marker, and each is labelled at its last point, so the
chart reads in grey print and without colour vision. Missing values (None) break a line instead of faking it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 58, 120, 16, 40
# (colour, dash pattern, marker) per series, in order: distinct without colour too.
STYLES = (
    ("#1f5fa8", "", "circle"),
    ("#c2410c", "6 3", "square"),
    ("#15803d", "2 3", "triangle"),
    ("#7c3aed", "10 3 2 3", "diamond"),
    ("#334155", "1 2", "circle"),
)
LIMIT_COLOUR = "#b91c1c"


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float | None]]


@dataclass(frozen=True)
class Limit:
    """A horizontal line: an SLO threshold, an HPA minimum or maximum, a CPU target."""

    label: str
    value: float


@dataclass(frozen=True)
class Chart:
    title: str
    x_label: str
    y_label: str
    series: Sequence[Series]
    limits: Sequence[Limit] = ()
    x_range: tuple[float, float] | None = None  # shared by the charts of one time axis
    ident: str = "chart"
    description: str = ""
    table_id: str = ""  # the id of the table holding the same numbers
    extra_classes: tuple[str, ...] = field(default_factory=tuple)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(n * step, 10) for n in range(first, last + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.3g}"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 2.5:.1f}" y="{y - 2.5:.1f}" width="5" height="5" fill="{colour}"/>'
    if kind == "triangle":
        return (
            f'<path d="M{x:.1f} {y - 3.2:.1f}L{x + 3:.1f} {y + 2.2:.1f}L{x - 3:.1f} {y + 2.2:.1f}Z" fill="{colour}"/>'
        )
    if kind == "diamond":
        return f'<path d="M{x:.1f} {y - 3.5:.1f}L{x + 3.5:.1f} {y:.1f}L{x:.1f} {y + 3.5:.1f}L{x - 3.5:.1f} {y:.1f}Z" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>'


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value: a None ends a line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, y))
    return [run for run in runs if run]


def _spread(positions: Sequence[float | None], gap: float = 12.0) -> list[float]:
    """End-label heights moved apart so that labels of lines ending at the same value do not overprint."""
    order = sorted((y, i) for i, y in enumerate(positions) if y is not None)
    placed: dict[int, float] = {}
    previous = -math.inf
    for y, index in order:
        placed[index] = max(y, previous + gap)
        previous = placed[index]
    return [placed.get(i, 0.0) for i in range(len(positions))]


def line_chart(chart: Chart) -> str:
    xs = [x for s in chart.series for x, y in s.points if y is not None]
    ys = [y for s in chart.series for _, y in s.points if y is not None] + [limit.value for limit in chart.limits]
    x_low, x_high = chart.x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
    if x_high <= x_low:
        x_high = x_low + 1.0
    y_ticks = nice_ticks(0.0, max(ys) * 1.05 if ys and max(ys) > 0 else 1.0)
    y_high = y_ticks[-1] or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y / y_high) * plot_h

    title_id, desc_id = f"{chart.ident}-title", f"{chart.ident}-desc"
    description = chart.description or (
        f"{chart.y_label} against {chart.x_label}: " + ", ".join(s.name for s in chart.series)
    )
    classes = " ".join(("chart", *chart.extra_classes))
    out = [
        f'<svg class="{classes}" id="{escape(chart.ident)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}'
        + (f" The numbers are in the table {escape(chart.table_id)}." if chart.table_id else "")
        + "</desc>",
        '<g class="grid" stroke="#d4d4d8" stroke-width="1">',
    ]
    for tick in y_ticks:
        y = py(tick)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}"/>')
    out.append("</g>")
    out.append('<g class="axis" font-size="11" fill="#27272a">')
    for tick in y_ticks:
        out.append(f'<text x="{LEFT - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    for tick in nice_ticks(x_low, x_high, 8):
        if x_low <= tick <= x_high:
            x = px(tick)
            out.append(
                f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 4}" stroke="#52525b"/>'
            )
            out.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{_fmt(tick)}</text>')
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(chart.x_label)}</text>'
    )
    out.append(
        f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(chart.y_label)}</text>"
    )
    out.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#52525b"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#52525b"/>'
    )
    out.append("</g>")
    for limit in chart.limits:
        y = py(limit.value)
        out.append(
            f'<g class="limit" data-limit="{escape(limit.label)}"><line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" '
            f'y2="{y:.1f}" stroke="{LIMIT_COLOUR}" stroke-width="1.5" stroke-dasharray="8 4"/>'
            f'<text x="{LEFT + plot_w + 4}" y="{y + 4:.1f}" font-size="11" fill="{LIMIT_COLOUR}">'
            f"{escape(limit.label)}</text></g>"
        )
    label_y = _spread([py(runs[-1][-1][1]) - 4 if (runs := _segments(s.points)) else None for s in chart.series])
    for index, series in enumerate(chart.series):
        colour, dash, marker = STYLES[index % len(STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="series" data-series="{escape(series.name)}">')
        out.append(f"<title>{escape(series.name)}</title>")
        runs = _segments(series.points)
        for run in runs:
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{coords}"/>')
            if len(run) <= 60:  # markers on every point only while they stay readable
                out.extend(_marker(marker, px(x), py(y), colour) for x, y in run)
        if runs:
            x, y = runs[-1][-1]
            out.append(
                f'<text class="end-label" x="{min(px(x) + 6, WIDTH - 4):.1f}" y="{label_y[index]:.1f}" font-size="11" '
                f'fill="{colour}">{escape(series.name)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def legend(chart: Chart) -> str:
    """An HTML legend with the same line sample (dash and marker) as each series, and each limit line."""
    items = []
    for index, series in enumerate(chart.series):
        colour, dash, marker = STYLES[index % len(STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        sample = (
            f'<svg width="34" height="12" aria-hidden="true"><line x1="1" y1="6" x2="33" y2="6" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>{_marker(marker, 17, 6, colour)}</svg>'
        )
        items.append(f"<li>{sample} {escape(series.name)}</li>")
    for limit in chart.limits:
        sample = (
            f'<svg width="34" height="12" aria-hidden="true"><line x1="1" y1="6" x2="33" y2="6" '
            f'stroke="{LIMIT_COLOUR}" stroke-width="1.5" stroke-dasharray="8 4"/></svg>'
        )
        items.append(f"<li>{sample} {escape(limit.label)}</li>")
    return '<ul class="legend">' + "".join(items) + "</ul>"
