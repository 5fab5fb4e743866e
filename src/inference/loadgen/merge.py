"""Merge the reports of several workers that shared one schedule into the report of the whole run. Pure.

Percentiles do not average: the p99 of two workers is not the mean of their p99s. Each worker therefore reports
its full HDR histograms (whole run and each second, encoded); the merge adds them and reads the percentiles of
the sum, which are exactly those of one histogram fed every sample. Counters add up; the mean and standard
deviation come from the workers' exact sums. The timeline is merged second by second (the workers' seconds are
aligned on the shared start). Per-second histograms are dropped from the merged timeline: it stays plain numbers.

    report = merge_reports([worker_0_report, worker_1_report])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from hdrh.histogram import HdrHistogram

from inference.loadgen.stats import REPORT_SCHEMA, decode, encode, latency_summary, new_histogram

REQUEST_COUNTERS = ("scheduled", "sent", "dropped", "completed", "ok", "failed", "errors", "in_flight", "warmup")
INTERVAL_COUNTERS = ("sent", "completed", "ok", "errors", "failed", "dropped", "in_flight")


class MergeError(ValueError):
    """The reports cannot be merged exactly (a worker's histograms are missing)."""


def merged_histogram(encoded: Iterable[str | None]) -> HdrHistogram:
    total = new_histogram()
    for text in encoded:
        part = decode(text) if text else None
        if part is not None and part.get_total_count():  # an empty one would pull the minimum down to 0
            total.add(part)
    return total


def _sum_counters(dicts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for counts in dicts:
        total.update({key: int(value or 0) for key, value in counts.items()})
    return dict(sorted(total.items()))


def merge_intervals(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One second of the whole run from the workers' entries of that second (each with its histogram)."""
    duration = max(float(entry.get("duration") or 0.0) for entry in entries)
    latency = latency_summary(merged_histogram(entry.get("histogram") for entry in entries))
    targets = [entry.get("target_rate") for entry in entries]
    merged: dict[str, Any] = {
        "t": max(float(entry["t"]) for entry in entries),
        "duration": round(duration, 3),
        "target_rate": None if None in targets else round(sum(targets), 2),  # type: ignore[arg-type]
    }
    counts = {key: sum(int(entry.get(key) or 0) for entry in entries) for key in INTERVAL_COUNTERS}
    merged["rate"] = round(counts["completed"] / duration, 2) if duration > 0 else 0.0
    merged.update({key: counts[key] for key in INTERVAL_COUNTERS})
    merged.update({key: latency[key] for key in ("p50", "p90", "p99", "max")})
    merged["workers"] = len(entries)
    return merged


def merge_timelines(timelines: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The workers' timelines, second by second (an entry's second is its rounded end time)."""
    by_second: dict[int, list[dict[str, Any]]] = {}
    for timeline in timelines:
        for entry in timeline:
            by_second.setdefault(round(float(entry["t"])), []).append(entry)
    return [merge_intervals(by_second[second]) for second in sorted(by_second)]


def _lag(histogram: HdrHistogram) -> dict[str, Any]:
    summary = latency_summary(histogram)
    return {"p50": summary["p50"], "p99": summary["p99"], "max": summary["max"]}


def worker_entry(report: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """What the merged report keeps of one worker: its share, its own lateness, what it achieved."""
    worker = report.get("worker") or {}
    engine = report.get("engine") or {}
    requests = report.get("requests") or {}
    return {
        "index": worker.get("index", 0),
        "name": name,
        "start_lateness_ms": worker.get("start_lateness_ms"),
        "schedule_lag_ms": engine.get("schedule_lag_ms"),
        "target_rate": report.get("target_rate"),
        "achieved_rate": report.get("achieved_rate"),
        "requests": {key: requests.get(key) for key in ("scheduled", "completed", "errors", "dropped")},
        "cpu_seconds": engine.get("cpu_seconds"),
        "interrupted": bool(report.get("interrupted")),
    }


def _combine(
    reports: Sequence[dict[str, Any]],
    names: Sequence[str | None],
    latency_ms: dict[str, Any],
    schedule_lag_ms: dict[str, Any] | None,
) -> dict[str, Any]:
    """Everything but the latencies, the timeline and the histograms: counters add up, rates follow."""
    first = reports[0]
    duration = max(float(report.get("duration_s") or 0.0) for report in reports)
    requests = _sum_counters(report.get("requests") or {} for report in reports)
    targets = [report.get("target_rate") for report in reports]
    engines = [report.get("engine") or {} for report in reports]
    return {
        "schema": REPORT_SCHEMA,
        "url": first.get("url"),
        "path": first.get("path"),
        "model": first.get("model"),
        "mix": first.get("mix"),
        "started_at": min(str(report.get("started_at") or "") for report in reports),
        "config": dict(first.get("config") or {}),
        "interrupted": any(bool(report.get("interrupted")) for report in reports),
        "duration_s": round(duration, 3),
        "target_rate": None if None in targets else round(sum(targets), 3),  # type: ignore[arg-type]
        "achieved_rate": round(requests.get("completed", 0) / duration, 3) if duration > 0 else 0.0,
        "ok_rate": round(requests.get("ok", 0) / duration, 3) if duration > 0 else 0.0,
        "requests": {key: requests.get(key, 0) for key in REQUEST_COUNTERS},
        "latency_ms": latency_ms,
        "errors": {
            "by_status": _sum_counters((r.get("errors") or {}).get("by_status") or {} for r in reports),
            "by_exception": _sum_counters((r.get("errors") or {}).get("by_exception") or {} for r in reports),
        },
        "engine": {
            "client": engines[0].get("client"),
            "loop": engines[0].get("loop"),
            "connections_opened": sum(int(e.get("connections_opened") or 0) for e in engines),
            "max_connections": sum(int(e.get("max_connections") or 0) for e in engines),
            "max_in_flight_seen": sum(int(e.get("max_in_flight_seen") or 0) for e in engines),
            "schedule_lag_ms": schedule_lag_ms,
            "cpu_seconds": round(sum(float(e.get("cpu_seconds") or 0.0) for e in engines), 3),
        },
        "workers": [worker_entry(report, name) for report, name in zip(reports, names, strict=True)],
    }


def _by_index(
    reports: Sequence[dict[str, Any]], names: Sequence[str | None] | None
) -> tuple[list[dict[str, Any]], list[str | None]]:
    pairs = list(zip(reports, names if names is not None else [None] * len(reports), strict=True))
    pairs.sort(key=lambda pair: int((pair[0].get("worker") or {}).get("index", 0)))
    return [report for report, _ in pairs], [name for _, name in pairs]


def merge_reports(reports: Sequence[dict[str, Any]], names: Sequence[str | None] | None = None) -> dict[str, Any]:
    """The report of the whole run, in the engine's own schema, plus `workers` (one entry per worker).

    A single report without histograms passes through (its own percentiles are already those of the run)."""
    if not reports:
        raise MergeError("no worker reports to merge")
    reports, names = _by_index(reports, names)
    if len(reports) == 1 and "histograms" not in reports[0]:
        only = reports[0]
        merged = _combine(
            reports, names, only.get("latency_ms") or {}, (only.get("engine") or {}).get("schedule_lag_ms")
        )
        merged["timeline"] = [_plain(entry) for entry in only.get("timeline") or []]
        return merged
    if any("histograms" not in report for report in reports):
        raise MergeError("a worker's report has no histograms: run every worker with --histograms")
    parts = [report["histograms"] for report in reports]
    latency = merged_histogram(part.get("latency_us") for part in parts)
    lag = merged_histogram(part.get("schedule_lag_us") for part in parts)
    total_us = sum(float(part.get("latency_sum_us") or 0.0) for part in parts)
    squares = sum(float(part.get("latency_sum_squares_us") or 0.0) for part in parts)
    merged = _combine(reports, names, latency_summary(latency, total_us, squares), _lag(lag))
    merged["timeline"] = merge_timelines([report.get("timeline") or [] for report in reports])
    merged["histograms"] = {
        "latency_us": encode(latency),
        "schedule_lag_us": encode(lag),
        "latency_sum_us": total_us,
        "latency_sum_squares_us": squares,
    }
    return merged


def merge_summaries(
    summaries: Sequence[dict[str, Any]], latency: HdrHistogram, names: Sequence[str | None] | None = None
) -> dict[str, Any]:
    """The run so far from the workers' latest progress summaries and `latency`, the sum of the per-second
    histograms seen so far (exact percentiles). The mean and deviation are recombined from the workers' own; the
    schedule lag is the worst worker's (its histograms come only with the final report)."""
    summaries, names = _by_index(summaries, names)
    count = total_us = squares = 0.0
    for summary in summaries:
        own = summary.get("latency_ms") or {}
        n, mean, stdev = own.get("count") or 0, own.get("mean"), own.get("stdev")
        if n and mean is not None:
            count += n
            total_us += n * mean * 1000.0
            squares += n * (((stdev or 0.0) * 1000.0) ** 2 + (mean * 1000.0) ** 2)
    lags = [(s.get("engine") or {}).get("schedule_lag_ms") or {} for s in summaries]
    worst = max(lags, key=lambda lag: lag.get("p99") or 0.0) if lags else None
    latency_ms = latency_summary(latency, total_us if count else None, squares if count else None)
    return _combine(summaries, names, latency_ms, worst)


def _plain(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "histogram"}
