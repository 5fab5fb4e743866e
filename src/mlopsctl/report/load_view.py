"""What a load-test report shows, built from the result as plain data (`mlopsctl loadtest -o json`): latency
percentiles per second with the SLO lines, achieved vs target rate, errors, and the HPA's replicas and CPU on the
same time axis, plus the per-second table behind the charts.

Tolerant by design: the engine's report grows (new per-second fields, a new schema version), so every field is
optional here and unknown ones are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlopsctl.report.svg import Chart, Limit, Series

LATENCY_SERIES = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"))
# SLO metrics drawn on the latency chart (all in milliseconds); the others go to the rate and error charts.
LATENCY_METRICS = {"p50", "p90", "p95", "p99", "p99_9", "max", "mean"}
TABLE_COLUMNS = (
    ("t", "t (s)"), ("target_rate", "target req/s"), ("rate", "achieved req/s"), ("p50", "p50 ms"),
    ("p90", "p90 ms"), ("p99", "p99 ms"), ("errors", "errors"), ("dropped", "dropped"),
    ("hpa_current", "HPA current"), ("hpa_desired", "HPA desired"), ("cpu", "CPU %"),
)  # fmt: skip


@dataclass
class LoadView:
    ident: str
    title: str
    passed: bool | None  # the SLO verdict; None without an SLO
    facts: list[tuple[str, str]]
    slo: list[tuple[bool, str, str]]  # (passed, threshold, actual)
    errors: list[tuple[str, int]]
    notes: list[str]
    charts: list[Chart]
    table_id: str
    table: list[dict[str, Any]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: Any, unit: str = "", digits: int = 2) -> str:
    number = _number(value)
    if number is None:
        return "-"
    return (f"{number:,.0f}" if number == int(number) else f"{number:,.{digits}f}") + unit


def per_second(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per second of the timeline, with the HPA sample of that second (if any)."""
    report = result.get("report") or {}
    hpa_by_t: dict[int, Mapping[str, Any]] = {}
    for sample in result.get("hpa") or []:
        t = _number((sample or {}).get("t"))
        if t is not None:
            hpa_by_t[round(t)] = sample
    rows = []
    for entry in report.get("timeline") or []:
        if not isinstance(entry, Mapping) or _number(entry.get("t")) is None:
            continue
        t = float(entry["t"])
        sample = hpa_by_t.get(round(t), {})
        completed = (_number(entry.get("completed")) or 0) + (_number(entry.get("failed")) or 0)
        errors = _number(entry.get("errors"))
        rows.append(
            {
                "t": t,
                "target_rate": _number(entry.get("target_rate")),
                "rate": _number(entry.get("rate")),
                "p50": _number(entry.get("p50")),
                "p90": _number(entry.get("p90")),
                "p99": _number(entry.get("p99")),
                "errors": errors,
                "dropped": _number(entry.get("dropped")),
                "error_percent": 100.0 * errors / completed if errors is not None and completed else None,
                "hpa_current": _number(sample.get("current_replicas")),
                "hpa_desired": _number(sample.get("desired_replicas")),
                "cpu": _number(sample.get("cpu_percent")),
                "cpu_target": _number(sample.get("cpu_target_percent")),
                "hpa_min": _number(sample.get("min_replicas")),
                "hpa_max": _number(sample.get("max_replicas")),
            }
        )
    return rows


def _series(rows: list[dict[str, Any]], key: str, name: str) -> Series:
    return Series(name, [(row["t"], row[key]) for row in rows])


def _last(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None]
    return values[-1] if values else None


def _slo_limits(slo: list[Mapping[str, Any]], metrics: set[str]) -> list[Limit]:
    return [
        Limit(f"SLO {item.get('threshold')}", float(item["limit"]))
        for item in slo
        if item.get("metric") in metrics and _number(item.get("limit")) is not None
    ]


def charts(ident: str, rows: list[dict[str, Any]], slo: list[Mapping[str, Any]]) -> list[Chart]:
    if not rows:
        return []
    x_range = (min(0.0, rows[0]["t"]), max(row["t"] for row in rows))

    def chart(title: str, y_label: str, name: str, series: list[Series], limits: list[Limit]) -> Chart:
        return Chart(
            title,
            x_label="seconds since the measured load began",
            y_label=y_label,
            series=series,
            limits=limits,
            x_range=x_range,
            ident=f"{ident}-{name}",
            table_id=f"{ident}-table",
        )

    result = [
        chart(
            "Latency percentiles per second (ms)",
            "ms",
            "latency",
            [_series(rows, key, name) for key, name in LATENCY_SERIES],
            _slo_limits(slo, LATENCY_METRICS),
        ),
        chart(
            "Achieved vs target rate (requests/s)",
            "requests/s",
            "rate",
            [_series(rows, "rate", "achieved"), _series(rows, "target_rate", "target")],
            _slo_limits(slo, {"rate"}),
        ),
        chart(
            "Errors and dropped requests per second",
            "requests",
            "errors",
            [_series(rows, "errors", "errors"), _series(rows, "dropped", "dropped")],
            [],
        ),
    ]
    if any(row["hpa_current"] is not None or row["hpa_desired"] is not None for row in rows):
        limits = [
            Limit(f"{label} {value:g}", value)
            for label, key in (("min", "hpa_min"), ("max", "hpa_max"))
            if (value := _last(rows, key)) is not None
        ]
        replicas = [_series(rows, "hpa_current", "current"), _series(rows, "hpa_desired", "desired")]
        result.append(chart("HPA replicas: current and desired", "replicas", "replicas", replicas, limits))
    if any(row["cpu"] is not None for row in rows):
        target = _last(rows, "cpu_target")
        result.append(
            chart(
                "CPU utilisation (% of requests), HPA target drawn",
                "CPU %",
                "cpu",
                [_series(rows, "cpu", "CPU")],
                [Limit(f"target {target:g}%", target)] if target is not None else [],
            )
        )
    return result


def load_view(result: Mapping[str, Any], ident: str = "load") -> LoadView:
    report = result.get("report") or {}
    requests = report.get("requests") or {}
    latency = report.get("latency_ms") or {}
    slo = [item for item in result.get("slo") or [] if isinstance(item, Mapping)]
    rows = per_second(result)
    target = _number(report.get("target_rate"))
    tenant = str(result.get("tenant") or "?")
    status = " (interrupted: partial)" if result.get("interrupted") else ""
    facts = [
        ("Target", f"{result.get('target', '-')}{report.get('path', '')}"),
        ("Mode", f"{result.get('mode', '-')}, {report.get('model', '-')} model, mix {report.get('mix', '-')}"),
        ("Started", str(report.get("started_at") or "-")),
        ("Duration", _fmt(report.get("duration_s"), " s", 1)),
        ("Rate", f"{_fmt(report.get('achieved_rate'), '/s', 1)} achieved" + (f" of {target:,.1f}/s target" if target else "")),
        (
            "Requests",
            f"{_fmt(requests.get('completed'))} answered, {_fmt(requests.get('ok'))} ok, "
            f"{_fmt(requests.get('errors'))} errors, {_fmt(requests.get('dropped'))} dropped",
        ),
        (
            "Latency (ms)",
            "  ".join(
                f"{label} {_fmt(latency.get(key))}"
                for label, key in (("p50", "p50"), ("p90", "p90"), ("p95", "p95"), ("p99", "p99"), ("max", "max"))
            ),
        ),
    ]  # fmt: skip
    if report.get("schema"):
        facts.append(("Report schema", str(report["schema"])))
    errors = report.get("errors") or {}
    error_rows = [(f"HTTP {code}", int(n)) for code, n in (errors.get("by_status") or {}).items()]
    error_rows += [(str(kind), int(n)) for kind, n in (errors.get("by_exception") or {}).items()]
    passed = result.get("slo_passed")
    return LoadView(
        ident=ident,
        title=f"loadtest {tenant}{status}",
        passed=passed if isinstance(passed, bool) else None,
        facts=facts,
        slo=[
            (bool(item.get("passed")), str(item.get("threshold")), _fmt(item.get("actual"), f" {item.get('unit', '')}"))
            for item in slo
        ],
        errors=error_rows,
        notes=[str(note) for note in result.get("notes") or []],
        charts=charts(ident, rows, slo),
        table_id=f"{ident}-table",
        table=rows,
    )


def cell(row: Mapping[str, Any], key: str) -> str:
    return _fmt(row.get(key), "", 0 if key == "t" else 2)
