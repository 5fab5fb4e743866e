"""The HTML page: one self-contained file (inline CSS and SVG, no scripts, a Content-Security-Policy that forbids
every fetch), readable offline and printable. Every chart has a title, a description and a table with its
numbers; every coloured mark also says what it means in text (✓ allowed, ✗ denied, FAIL: expected ...)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from mlopsctl.report import svg
from mlopsctl.report.load_view import TABLE_COLUMNS, LoadView, cell, load_view
from mlopsctl.report.verify_view import Cell, CheckRow, Matrix, VerifyView, scaling_charts, verify_view

_REASON_TOKENS = re.compile(r"[()]|; ")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #18181b;
  margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .5rem;
  border-bottom: 2px solid #e4e4e7; } h3 { font-size: 1.05rem; margin: 1.25rem 0 .4rem; }
.verdict-pass { color: #166534; } .verdict-fail { color: #991b1b; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .86rem; }
th, td { border: 1px solid #d4d4d8; padding: .25rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #f4f4f5; } caption { text-align: left; font-weight: 600; padding: .3rem 0; }
table.facts th { background: #f4f4f5; width: 12rem; }
tr.fail td, td.fail, .finding { background: #fee2e2; } tr.pass td.result, td.pass { background: #dcfce7; }
.mark-pass { color: #166534; font-weight: 600; } .mark-fail { color: #991b1b; font-weight: 700; }
.matrix-wrap { overflow-x: auto; } table.matrix { font-size: .78rem; }
table.matrix th[scope=col] { max-width: 11rem; word-break: break-word; font-weight: 600; }
table.matrix td { min-width: 5.5rem; } .conn { padding: 1px 3px; margin: 1px 0; border-radius: 3px; }
.conn.pass { background: #dcfce7; } .conn.fail { background: #fecaca; outline: 2px solid #b91c1c; }
.conn.unjudged { background: #f4f4f5; } .conn .expected { display: block; font-weight: 700; color: #991b1b; }
.none { color: #a1a1aa; } .why { color: #3f3f46; font-size: .8rem; } .why li { margin: 0; }
figure { margin: 1rem 0 1.5rem; break-inside: avoid; } figcaption { font-weight: 600; margin-bottom: .3rem; }
svg.chart { width: 100%; max-width: 900px; height: auto; display: block; }
ul.legend { list-style: none; padding: 0; margin: .2rem 0; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; }
ul.legend li { display: flex; align-items: center; gap: .3rem; font-size: .85rem; }
details summary { cursor: pointer; } .note { color: #3f3f46; }
footer { margin-top: 3rem; color: #52525b; font-size: .8rem; }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { font-size: 9pt; max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  thead { display: table-header-group; } tr, figure, .conn { break-inside: avoid; }
  h2 { break-after: avoid; } .matrix-wrap { overflow: visible; } table.matrix { font-size: 6.5pt; }
  figure { display: inline-block; width: 49%; vertical-align: top; margin: 0 0 4mm; }
}
"""


def _mark(passed: bool) -> str:
    return '<span class="mark-pass">✓ PASS</span>' if passed else '<span class="mark-fail">✗ FAIL</span>'


def _verdict_word(allowed: bool | None, observed: str) -> str:
    if allowed is True:
        return "✓ allowed"
    if allowed is False:
        return "✗ denied"
    return f"? {observed or 'unknown'}"


def split_reasons(text: str) -> list[str]:
    """The evaluator joins the egress and ingress reasons with '; ' (rules describe themselves with '; ' too, but
    inside parentheses): one part per direction."""
    parts, depth, start = [], 0, 0
    for token in _REASON_TOKENS.finditer(text):
        mark = token.group()
        if mark == "; ":
            if depth == 0:
                parts.append(text[start : token.start()])
                start = token.end()
        else:
            depth += 1 if mark == "(" else -1
    parts.append(text[start:])
    return [part for part in parts if part]


def _why(text: str) -> str:
    """A verdict's reason, one line per policy direction."""
    parts = split_reasons(text)
    if len(parts) <= 1:
        return f'<span class="why">{escape(text)}</span>'
    return '<ul class="why">' + "".join(f"<li>{escape(p)}</li>" for p in parts) + "</ul>"


def _table(
    ident: str, caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]], row_class: Sequence[str] = ()
) -> str:
    """A table from cells that are already HTML (callers escape)."""
    out = [f'<table id="{escape(ident)}"><caption>{escape(caption)}</caption><thead><tr>']
    out += [f'<th scope="col">{escape(h)}</th>' for h in headers]
    out.append("</tr></thead><tbody>")
    for index, row in enumerate(rows):
        klass = f' class="{row_class[index]}"' if index < len(row_class) else ""
        out.append(f"<tr{klass}>" + "".join(f"<td>{value}</td>" for value in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _facts(facts: Sequence[tuple[str, str]], ident: str) -> str:
    rows = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in facts)
    return f'<table class="facts" id="{ident}"><tbody>{rows}</tbody></table>'


def _check_rows(ident: str, caption: str, checks: Sequence[CheckRow], with_area: bool = True) -> str:
    headers = ["Result", *(["Area"] if with_area else []), "Check", "Expected", "Observed", "Why (policy, rule)"]
    headers += ["How", "When"]
    rows = [
        [
            _mark(c.passed),
            *([escape(c.area)] if with_area else []),
            escape(c.name),
            escape(c.expected),
            escape(c.observed),
            _why(c.why),
            escape(c.how),
            escape(c.when),
        ]
        for c in checks
    ]
    classes = ["pass" if c.passed else "fail failure" for c in checks]
    return _table(ident, caption, headers, rows, classes)


def _conn(item: Cell) -> str:
    state = "unjudged" if item.passed is None else "pass" if item.passed else "fail"
    word = _verdict_word(item.allowed, item.observed)
    label = f" {escape(item.label)}" if item.label else ""
    expected = ""
    if item.passed is False:
        expected = f'<span class="expected">FAIL: expected {escape(item.expected or "?")}</span>'
    title = f"expected: {item.expected or '-'}; observed: {item.observed}; {item.why}"
    return (
        f'<div class="conn {state}" data-expected="{escape(item.expected)}" data-observed="{escape(item.observed)}" '
        f'title="{escape(title)}">{word}{label}{expected}</div>'
    )


def _matrix(matrix: Matrix) -> str:
    out = [f'<section id="matrix-{matrix.ident}"><h2>{escape(matrix.title)}</h2>']
    failed = matrix.failed_cells()
    out.append(
        '<p class="note">Each cell: ✓ allowed or ✗ denied as observed; green met its expectation, '
        "<strong>FAIL: expected …</strong> (red) did not, grey had no expectation. "
        f"{failed} failing cell(s). Hover a cell for the reason.</p>"
    )
    out.append(f'<div class="matrix-wrap"><table class="matrix" id="{matrix.ident}-matrix"><thead><tr>')
    out += [f'<th scope="col">{escape(h)}</th>' for h in matrix.row_headers]
    out += [f'<th scope="col">{escape(col)}</th>' for col in matrix.columns]
    out.append("</tr></thead><tbody>")
    spans: dict[str, int] = {}
    for headers, _ in matrix.rows:
        spans[headers[0]] = spans.get(headers[0], 0) + 1
    seen: set[str] = set()
    for headers, columns in matrix.rows:
        out.append("<tr>")
        for position, header in enumerate(headers):
            if position == 0 and len(headers) > 1:
                if header in seen:
                    continue
                seen.add(header)
                out.append(f'<th scope="rowgroup" rowspan="{spans[header]}">{escape(header)}</th>')
            else:
                out.append(f'<th scope="row">{escape(header)}</th>')
        for column, items in zip(matrix.columns, columns, strict=True):
            if not items:
                out.append('<td class="none" aria-label="not checked">–</td>')
                continue
            state = "fail" if any(i.passed is False for i in items) else "pass"
            out.append(f'<td class="cell {state}" data-column="{escape(column)}">{"".join(map(_conn, items))}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)


def _figure(chart: svg.Chart) -> str:
    return (
        f'<figure id="{escape(chart.ident)}-figure"><figcaption>{escape(chart.title)}</figcaption>'
        f"{svg.line_chart(chart)}{svg.legend(chart)}</figure>"
    )


def _scaling(view: VerifyView) -> str:
    if not view.timeline:
        return ""
    out = ['<section id="scaling"><h2>Autoscaling timeline</h2>']
    headers = ["Phase", "At", "Seconds", "Replicas", "Desired", "CPU %"]
    for chart, rows in scaling_charts(view.timeline):
        out.append(_figure(chart))
        keys = ("phase", "at", "seconds", "replicas", "desired", "cpu_percent")
        body = [[escape("-" if r.get(k) is None else str(r.get(k))) for k in keys] for r in rows]
        out.append(_table(chart.table_id, f"Numbers behind: {chart.title}", headers, body))
    out.append("</section>")
    return "".join(out)


def load_section(view: LoadView, heading: str = "h2") -> str:
    verdict = "" if view.passed is None else (" — SLO ✓ met" if view.passed else " — SLO ✗ breached")
    out = [f'<section class="load" id="{escape(view.ident)}"><{heading}>{escape(view.title + verdict)}</{heading}>']
    out.append(_facts(view.facts, f"{view.ident}-facts"))
    if view.slo:
        rows = [[_mark(ok), escape(threshold), escape(actual)] for ok, threshold, actual in view.slo]
        out.append(
            _table(
                f"{view.ident}-slo", "SLO thresholds", ["Result", "Threshold", "Actual"], rows,
                ["pass" if ok else "fail failure" for ok, _, _ in view.slo],
            )
        )  # fmt: skip
    if view.errors:
        rows = [[escape(kind), f"{count:,}"] for kind, count in view.errors]
        out.append(_table(f"{view.ident}-errors", "Errors by kind", ["Kind", "Requests"], rows))
    if not view.charts:
        out.append('<p class="note">No per-second data in this report.</p>')
    out += [_figure(chart) for chart in view.charts]
    if view.table:
        headers = [title for _, title in TABLE_COLUMNS]
        body = [[escape(cell(row, key)) for key, _ in TABLE_COLUMNS] for row in view.table]
        out.append(_table(view.table_id, "Per second: the numbers behind the charts", headers, body))
    out += [f'<p class="note">note: {escape(note)}</p>' for note in view.notes]
    out.append("</section>")
    return "".join(out)


def _page(title: str, body: Iterable[str], footer: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + f"<footer>{escape(footer)}</footer></body></html>\n"
    )


def verify_page(
    report: Mapping[str, Any], loads: Sequence[Mapping[str, Any]] = (), *, version: str, generated: str
) -> str:
    """A verification report (live, or offline converted to the same shape), with the load runs it drove."""
    view = verify_view(report, version)
    css = "verdict-pass" if view.passed else "verdict-fail"
    body = [f'<header><h1 class="{css}">{escape(view.title)}</h1>{_facts(view.facts, "facts")}</header><main>']
    if view.findings:
        body.append('<section id="findings"><h2>Findings</h2><ul>')
        body += [
            f'<li class="finding"><strong>✗ {escape(msg)}</strong>' + (f"<br>hint: {escape(hint)}" if hint else "")
            for msg, hint in view.findings
        ]
        body.append("</ul></section>")
    body.append(f'<section id="failures"><h2>Failures ({len(view.failures)})</h2>')
    if view.failures:
        body.append(
            _check_rows("failures-table", "Failed checks, with the policy and rule that decided", view.failures)
        )
    else:
        body.append('<p class="mark-pass">✓ No check failed.</p>')
    body.append("</section>")
    body += [_matrix(matrix) for matrix in view.matrices]
    body.append(_scaling(view))
    for index, load in enumerate(loads):
        body.append(load_section(load_view(load, f"load-{index}")))
    body.append('<section id="checks"><h2>Every check</h2>')
    areas = list(dict.fromkeys(c.area for c in view.checks))
    for area in areas:
        checks = [c for c in view.checks if c.area == area]
        body.append(f"<h3>{escape(area)}</h3>")
        body.append(_check_rows(f"checks-{area}", f"{area}: {len(checks)} check(s)", checks, with_area=False))
    body.append("</section>")
    if view.notes:
        body.append('<section id="notes"><h2>Notes</h2><ul>')
        body += [f"<li>{escape(note)}</li>" for note in view.notes]
        body.append("</ul></section>")
    body.append("</main>")
    return _page(view.title, body, f"mlopsctl {version}, written {generated}")


def load_page(result: Mapping[str, Any], *, version: str, generated: str) -> str:
    view = load_view(result, "load")
    body = [f"<header><h1>mlopsctl {escape(view.title)}</h1></header><main>", load_section(view, "h2"), "</main>"]
    return _page(f"mlopsctl {view.title}", body, f"mlopsctl {version}, written {generated}")
