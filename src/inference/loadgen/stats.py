"""Statistics of a run: HDR histograms of latency (whole run and per interval), counters, errors, timeline.

Latencies are recorded in microseconds in an HdrHistogram (1 us .. 10 min, 3 significant digits), so
percentiles are exact to 0.1 % whatever the distribution, and memory does not grow with the request count.
Only requests *intended* after the warm-up are measured.
"""

from __future__ import annotations

import math
import resource
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from hdrh.histogram import HdrHistogram

REPORT_SCHEMA = "loadgen.report/v2"
LOWEST_US = 1
HIGHEST_US = 600_000_000  # 10 minutes
SIGNIFICANT_DIGITS = 3
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99_9", 99.9))


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def encode(histogram: HdrHistogram) -> str:
    """The histogram in HdrHistogram's compressed base64 form (what `decode` reads back, exactly)."""
    return histogram.encode().decode("ascii")


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


def percentile_values(histogram: HdrHistogram, percentiles: Sequence[float]) -> dict[float, int]:
    """The same values as hdrh's `get_percentile_to_value_dict`, from one cumulative sum done in C instead of a
    Python loop over every bucket (0.2 ms instead of 20 ms on a histogram that spans seconds)."""
    limit = min(histogram.counts_len, histogram.encoder.payload.counts_len)
    top = histogram._counts_index_for(histogram.get_max_value())
    cumulative = list(accumulate(histogram.counts[: min(limit, top + 1)]))
    values = {}
    for percentile in percentiles:
        target = histogram.get_target_count_at_percentile(percentile)
        index = bisect_left(cumulative, target)
        if index >= len(cumulative):
            continue
        value = histogram.get_value_from_index(index)
        if percentile:
            values[percentile] = histogram.get_highest_equivalent_value(value)
        else:
            values[percentile] = histogram.get_lowest_equivalent_value(value)
    return values


def to_us(seconds: float) -> int:
    """A latency for the histogram: at least 1 us, at most its highest trackable value (never silently lost)."""
    value = int(seconds * 1_000_000)
    return LOWEST_US if value < LOWEST_US else HIGHEST_US if value > HIGHEST_US else value


def latency_summary(
    histogram: HdrHistogram, total_us: float | None = None, squares: float | None = None
) -> dict[str, Any]:
    """count, min, mean, p50 .. p99.9, max and stdev, in milliseconds (None when nothing was recorded).

    The mean and the standard deviation come from running sums kept by the caller (`total_us`, `squares`):
    the hdrh package computes them by walking every bucket in Python, 40-80 ms per call on a wide histogram.
    """
    count = histogram.get_total_count()
    if not count:
        return {"count": 0, "min": None, "mean": None, **{k: None for k, _ in PERCENTILES}, "max": None, "stdev": None}
    values = percentile_values(histogram, [p for _, p in PERCENTILES])
    mean = stdev = None
    if total_us is not None:
        mean_us = total_us / count
        mean = round(mean_us / 1000.0, 3)
        if squares is not None:
            stdev = round(math.sqrt(max(squares / count - mean_us * mean_us, 0.0)) / 1000.0, 3)
    summary: dict[str, Any] = {"count": count, "min": round(histogram.get_min_value() / 1000.0, 3), "mean": mean}
    for key, percentile in PERCENTILES:
        summary[key] = round(values[percentile] / 1000.0, 3)
    summary["max"] = round(histogram.get_max_value() / 1000.0, 3)
    summary["stdev"] = stdev
    return summary


def is_ok(status: int) -> bool:
    return 200 <= status < 400


class Recorder:
    """Counts and latencies for the measured part of a run, plus the per-interval view for the timeline."""

    def __init__(self) -> None:
        self.latency = new_histogram()
        self.interval_latency = new_histogram()
        self.lag = new_histogram()  # how late the engine sent each open-model request: its own honesty check
        self.statuses: Counter[int] = Counter()
        self.exceptions: Counter[str] = Counter()
        self.scheduled = 0
        self.sent = 0
        self.dropped = 0
        self.completed = 0
        self.ok = 0
        self.failed = 0
        self.warmup_requests = 0  # sent before the measured part began
        self.last_completion: float | None = None
        self.total_us = 0.0
        self.squares = 0.0
        self._interval: Counter[str] = Counter()

    # Hot path: called once per request.
    def record_response(self, latency: float, status: int, now: float) -> None:
        value = to_us(latency)
        self.total_us += value
        self.squares += value * value
        self.latency.record_value(value)
        self.interval_latency.record_value(value)
        self.completed += 1
        self.statuses[status] += 1
        interval = self._interval
        interval["completed"] += 1
        if 200 <= status < 400:
            self.ok += 1
            interval["ok"] += 1
        else:
            interval["errors"] += 1
        self.last_completion = now

    def record_failure(self, kind: str, now: float) -> None:
        self.failed += 1
        self.exceptions[kind] += 1
        self._interval["failed"] += 1
        self._interval["errors"] += 1
        self.last_completion = now

    def record_sent(self) -> None:
        self.sent += 1
        self._interval["sent"] += 1

    def record_lag(self, lag: float) -> None:
        self.lag.record_value(to_us(lag))

    def record_scheduled(self) -> None:
        self.scheduled += 1

    def record_dropped(self) -> None:
        self.dropped += 1
        self._interval["dropped"] += 1

    def latency_summary(self) -> dict[str, Any]:
        return latency_summary(self.latency, self.total_us, self.squares)

    @property
    def errors(self) -> int:
        return self.completed - self.ok + self.failed

    def take_interval(
        self, t: float, duration: float, target_rate: float | None, in_flight: int, with_histogram: bool = False
    ) -> dict[str, Any]:
        """The timeline entry for the interval that ends now, and a fresh interval. `with_histogram` adds the
        interval's latencies, encoded, so several workers' seconds merge exactly."""
        counts, self._interval = self._interval, Counter()
        histogram = self.interval_latency
        latency = latency_summary(histogram)
        self.interval_latency = new_histogram()  # cheaper than reset()
        entry: dict[str, Any] = {
            "t": round(t, 3),
            "duration": round(duration, 3),
            "target_rate": None if target_rate is None else round(target_rate, 2),
            "rate": round(counts["completed"] / duration, 2) if duration > 0 else 0.0,
            "sent": counts["sent"],
            "completed": counts["completed"],
            "ok": counts["ok"],
            "errors": counts["errors"],
            "failed": counts["failed"],
            "dropped": counts["dropped"],
            "in_flight": in_flight,
            "p50": latency["p50"],
            "p90": latency["p90"],
            "p99": latency["p99"],
            "max": latency["max"],
        }
        if with_histogram:
            entry["histogram"] = encode(histogram)
        return entry

    def requests_summary(self, in_flight: int) -> dict[str, int]:
        return {
            "scheduled": self.scheduled,
            "sent": self.sent,
            "dropped": self.dropped,
            "completed": self.completed,
            "ok": self.ok,
            "failed": self.failed,
            "errors": self.errors,
            "in_flight": in_flight,
            "warmup": self.warmup_requests,
        }

    def errors_summary(self) -> dict[str, dict[str, int]]:
        return {
            "by_status": {str(s): n for s, n in sorted(self.statuses.items()) if not is_ok(s)},
            "by_exception": dict(sorted(self.exceptions.items())),
        }
