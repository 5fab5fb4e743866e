"""What a load run is: durations, rates, SLO thresholds and the run's configuration, parsed and validated.

Pure: no I/O. Every parse error is a `SpecError` (a ValueError) whose message names the option and shows an
example of a valid value, so both the engine's own CLI and `mlopsctl loadtest` can print it as one line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

MODELS = ("open", "closed")
MIXES = ("predict", "batch")
MAX_WORKERS = 64


class SpecError(ValueError):
    """A bad option value; the message names the option."""


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|s|m|h)")
_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | float | int, option: str = "--duration") -> float:
    """`30s`, `2m`, `1m30s`, `500ms`, `1h`, or a bare number of seconds -> seconds (> 0)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        pos, seconds = 0, 0.0
        if re.fullmatch(r"\d+(?:\.\d+)?", raw):
            seconds, pos = float(raw), len(raw)
        else:
            for match in _DURATION_PART.finditer(raw):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
                pos = match.end()
        if pos != len(raw) or not raw:
            raise SpecError(f"invalid {option} {text!r}: expected a duration such as 30s, 2m, 1m30s or 500ms")
    if not math.isfinite(seconds) or seconds <= 0:
        raise SpecError(f"invalid {option} {text!r}: must be greater than zero")
    return seconds


_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|m|min)|rps)?$")


def parse_rate(text: str | float | int, option: str = "--rate") -> float:
    """`200`, `200/s`, `200rps`, `6000/m` -> requests per second (> 0)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        rate = float(text)
    else:
        match = _RATE.match(str(text).strip().lower())
        if not match:
            raise SpecError(f"invalid {option} {text!r}: expected requests per second such as 200, 200/s or 6000/m")
        rate = float(match.group(1)) / (60.0 if match.group(2) in ("m", "min") else 1.0)
    if not math.isfinite(rate) or rate <= 0:
        raise SpecError(f"invalid {option} {text!r}: must be greater than zero")
    if rate > 1_000_000:
        raise SpecError(f"invalid {option} {text!r}: at most 1,000,000 requests per second")
    return rate


# SLO metrics: the latency percentiles and statistics of the report, the error ratio, the achieved rate.
SLO_LATENCY_METRICS = {
    "p50": "p50",
    "p90": "p90",
    "p95": "p95",
    "p99": "p99",
    "p99.9": "p99_9",
    "p999": "p99_9",
    "max": "max",
    "mean": "mean",
    "avg": "mean",
}
_SLO_TERM = re.compile(r"^\s*([a-z0-9.]+)\s*(<=|>=|<|>)\s*([0-9.]+)\s*([a-zµ%/]*)\s*$")
_LATENCY_UNITS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001, "": 1.0}


@dataclass(frozen=True)
class SloThreshold:
    """One term of an SLO: `metric op value`, with latencies in ms, errors and dropped in percent, rate in req/s."""

    metric: str  # a latency key of the report (p50, p99, p99_9, max, mean), or errors, dropped, rate
    op: str
    value: float
    text: str


@dataclass(frozen=True)
class SloResult:
    threshold: str
    metric: str
    op: str
    limit: float
    actual: float | None
    unit: str
    passed: bool


def parse_slo(text: str, option: str = "--slo") -> tuple[SloThreshold, ...]:
    """`"p99<200ms,errors<1%"` -> thresholds. Metrics: p50 p90 p95 p99 p99.9 max mean (ms, s or us),
    errors and dropped (% of requests), rate (achieved requests per second)."""
    terms = [term for term in str(text).split(",") if term.strip()]
    if not terms:
        raise SpecError(f"invalid {option} {text!r}: expected terms such as p99<200ms,errors<1%")
    thresholds = []
    for term in terms:
        match = _SLO_TERM.match(term.strip().lower())
        if not match:
            raise SpecError(f"invalid {option} term {term.strip()!r}: expected METRIC<VALUE such as p99<200ms")
        name, op, number, unit = match.groups()
        try:
            value = float(number)
        except ValueError:
            raise SpecError(f"invalid {option} term {term.strip()!r}: {number!r} is not a number") from None
        if name in SLO_LATENCY_METRICS:
            if unit not in _LATENCY_UNITS:
                raise SpecError(f"invalid {option} term {term.strip()!r}: latency units are ms, s or us")
            thresholds.append(SloThreshold(SLO_LATENCY_METRICS[name], op, value * _LATENCY_UNITS[unit], term.strip()))
        elif name in ("errors", "error", "dropped"):
            if unit not in ("%", ""):
                raise SpecError(f"invalid {option} term {term.strip()!r}: {name} is a percentage such as 1%")
            if not 0 <= value <= 100:
                raise SpecError(f"invalid {option} term {term.strip()!r}: a percentage is between 0 and 100")
            thresholds.append(SloThreshold("dropped" if name == "dropped" else "errors", op, value, term.strip()))
        elif name == "rate":
            if unit not in ("", "/s", "rps"):
                raise SpecError(f"invalid {option} term {term.strip()!r}: rate is in requests per second")
            thresholds.append(SloThreshold("rate", op, value, term.strip()))
        else:
            known = "p50, p90, p95, p99, p99.9, max, mean, errors, dropped, rate"
            raise SpecError(f"invalid {option} term {term.strip()!r}: unknown metric {name!r} (known: {known})")
    return tuple(thresholds)


_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def evaluate_slo(report: dict[str, Any], thresholds: tuple[SloThreshold, ...]) -> list[SloResult]:
    """Check a report (as `stats.build_report` makes it, or a partial one) against the thresholds.

    A latency threshold with no successful measurement fails: no data is not a pass.
    """
    results = []
    requests = report.get("requests") or {}
    total = (requests.get("completed") or 0) + (requests.get("failed") or 0)
    for threshold in thresholds:
        if threshold.metric == "errors":
            actual = 100.0 * (requests.get("errors") or 0) / total if total else None
            unit = "%"
        elif threshold.metric == "dropped":
            scheduled = (requests.get("scheduled") or 0) or total
            actual = 100.0 * (requests.get("dropped") or 0) / scheduled if scheduled else None
            unit = "%"
        elif threshold.metric == "rate":
            actual = report.get("achieved_rate")
            unit = "req/s"
        else:
            actual = (report.get("latency_ms") or {}).get(threshold.metric)
            if not (report.get("latency_ms") or {}).get("count"):
                actual = None
            unit = "ms"
        passed = actual is not None and _OPS[threshold.op](actual, threshold.value)
        results.append(
            SloResult(threshold.text, threshold.metric, threshold.op, threshold.value, actual, unit, bool(passed))
        )
    return results


@dataclass(frozen=True)
class LoadConfig:
    """One load run. Either `rate` (or `rate_from`/`rate_to`) for the open model, or `concurrency` for the closed one.

    The run ends after `duration` seconds or `requests` measured requests, whichever comes first; `warmup`
    seconds of load (at the starting rate) come before and are not measured.
    """

    url: str
    rate: float | None = None
    rate_from: float | None = None
    rate_to: float | None = None
    concurrency: int | None = None
    duration: float | None = None
    requests: int | None = None
    warmup: float = 0.0
    mix: str = "predict"
    batch_size: int = 16
    bodies: tuple[str, ...] = field(default=())  # JSON bodies (from --body-file); empty: the mix's own
    path: str | None = None
    max_in_flight: int = 1000
    max_connections: int = 128
    timeout: float = 10.0
    connect_wait: float = 0.0
    # Several generators share one schedule: request i is this worker's when i % workers == worker_index.
    workers: int = 1
    worker_index: int = 0
    start_at: float | None = None  # wall-clock (Unix) time at which the shared timeline begins
    histograms: bool = False  # put encoded HDR histograms in the report, for an exact merge

    @property
    def model(self) -> str:
        return "closed" if self.concurrency is not None else "open"

    @property
    def start_rate(self) -> float:
        return float(self.rate if self.rate is not None else self.rate_from or 0.0)

    @property
    def end_rate(self) -> float:
        return float(self.rate if self.rate is not None else self.rate_to or 0.0)

    def validate(self) -> LoadConfig:
        if not re.match(r"^https?://[^/\s]+", self.url or ""):
            raise SpecError(f"invalid --url {self.url!r}: expected http://HOST[:PORT][/PATH]")
        ramp = self.rate_from is not None or self.rate_to is not None
        if ramp and (self.rate_from is None or self.rate_to is None):
            raise SpecError("--rate-from and --rate-to go together")
        chosen = sum((self.rate is not None, ramp, self.concurrency is not None))
        if chosen != 1:
            raise SpecError("give exactly one of --rate (open model), --rate-from/--rate-to (ramp) or --concurrency")
        if self.concurrency is not None and not 1 <= self.concurrency <= 10_000:
            raise SpecError(f"invalid --concurrency {self.concurrency}: between 1 and 10000")
        if self.duration is None and self.requests is None:
            raise SpecError("give --duration or --requests (or both: whichever comes first ends the run)")
        if ramp and self.duration is None:
            raise SpecError("a ramp (--rate-from/--rate-to) needs --duration")
        if self.requests is not None and self.requests < 1:
            raise SpecError(f"invalid --requests {self.requests}: at least 1")
        if self.warmup < 0:
            raise SpecError(f"invalid --warmup {self.warmup}: must not be negative")
        if self.mix not in MIXES:
            raise SpecError(f"invalid --mix {self.mix!r}: one of {', '.join(MIXES)}")
        if not 1 <= self.batch_size <= 256:
            raise SpecError(f"invalid --batch-size {self.batch_size}: between 1 and 256")
        if not 1 <= self.max_in_flight <= 100_000:
            raise SpecError(f"invalid --max-in-flight {self.max_in_flight}: between 1 and 100000")
        if not 1 <= self.max_connections <= 10_000:
            raise SpecError(f"invalid --connections {self.max_connections}: between 1 and 10000")
        if self.timeout <= 0:
            raise SpecError(f"invalid --timeout {self.timeout}: must be greater than zero")
        self._validate_workers()
        return self

    def _validate_workers(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise SpecError(f"invalid --workers {self.workers}: between 1 and {MAX_WORKERS}")
        if not 0 <= self.worker_index < self.workers:
            raise SpecError(f"invalid --worker-index {self.worker_index}: between 0 and {self.workers - 1}")
        if self.concurrency is not None and self.concurrency < self.workers:
            raise SpecError(f"--concurrency {self.concurrency} is fewer connections than --workers {self.workers}")
        if self.requests is not None and self.requests < self.workers:
            raise SpecError(f"--requests {self.requests} is fewer requests than --workers {self.workers}")
        if self.start_at is not None and not (math.isfinite(self.start_at) and self.start_at > 0):
            raise SpecError(f"invalid --start-at {self.start_at!r}: a Unix time in seconds")

    def share(self, total: int) -> int:
        """This worker's part of `total` things dealt round-robin (connections, requests of the closed model)."""
        return total // self.workers + (1 if self.worker_index < total % self.workers else 0)

    def to_args(self) -> list[str]:
        """The engine's command-line arguments for this configuration (what an in-cluster Job runs)."""
        args = ["--url", self.url]
        if self.rate is not None:
            args += ["--rate", _num(self.rate)]
        if self.rate_from is not None and self.rate_to is not None:
            args += ["--rate-from", _num(self.rate_from), "--rate-to", _num(self.rate_to)]
        if self.concurrency is not None:
            args += ["--concurrency", str(self.concurrency)]
        if self.duration is not None:
            args += ["--duration", f"{_num(self.duration)}s"]
        if self.requests is not None:
            args += ["--requests", str(self.requests)]
        if self.warmup:
            args += ["--warmup", f"{_num(self.warmup)}s"]
        args += ["--mix", self.mix, "--batch-size", str(self.batch_size)]
        for body in self.bodies:
            args += ["--body", body]
        if self.path:
            args += ["--path", self.path]
        args += ["--max-in-flight", str(self.max_in_flight), "--connections", str(self.max_connections)]
        args += ["--timeout", f"{_num(self.timeout)}s"]
        if self.connect_wait:
            args += ["--connect-wait", f"{_num(self.connect_wait)}s"]
        if self.workers > 1:  # the index comes from each worker's own environment (JOB_COMPLETION_INDEX)
            args += ["--workers", str(self.workers)]
        if self.start_at is not None:
            args += ["--start-at", repr(float(self.start_at))]
        if self.histograms and self.workers == 1:
            args += ["--histograms"]
        return args


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
