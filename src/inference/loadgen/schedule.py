"""The open model's timeline: when request i is intended, and which worker sends it. Pure arithmetic.

One timeline is fixed before the run (a constant rate, or a linear ramp over the duration, after a warm-up at
the starting rate). Several workers share it exactly: request i belongs to worker `i % workers`, so together
they send what a single generator would, at the same intended times, the ramp included.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from inference.loadgen.spec import LoadConfig


@dataclass(frozen=True)
class Schedule:
    warmup_count: int  # requests of the warm-up (not measured)
    measured_count: int  # measured requests, all workers together
    offset: Callable[[int], float]  # request index -> seconds after the timeline's start

    @property
    def total(self) -> int:
        return self.warmup_count + self.measured_count

    def indices(self, worker_index: int = 0, workers: int = 1) -> range:
        """The requests one worker sends: every `workers`-th, starting at its index."""
        return range(worker_index, self.total, workers)


def open_schedule(config: LoadConfig) -> Schedule:
    """The whole open-model timeline of `config` (every worker's requests)."""
    r0, r1 = config.start_rate, config.end_rate
    warmup_count = math.ceil(config.warmup * r0) if config.warmup else 0
    if config.duration is not None:
        measured = math.floor(config.duration * (r0 + r1) / 2.0 + 1e-9)
        if config.requests is not None:
            measured = min(measured, config.requests)
    else:
        measured = int(config.requests or 0)
    warmup = config.warmup
    if r0 == r1 or not config.duration:

        def offset(i: int) -> float:
            return i / r0 if i < warmup_count else warmup + (i - warmup_count) / r0

    else:
        slope = (r1 - r0) / config.duration

        def offset(i: int) -> float:
            if i < warmup_count:
                return i / r0
            j = i - warmup_count
            return warmup + (-r0 + math.sqrt(max(r0 * r0 + 2.0 * slope * j, 0.0))) / slope

    return Schedule(warmup_count, measured, offset)


def target_rate_at(config: LoadConfig, t: float) -> float | None:
    """This worker's intended rate `t` seconds after the measured part began (open model only): its share of
    the whole timeline's rate."""
    if config.model != "open":
        return None
    r0, r1 = config.start_rate, config.end_rate
    if r0 == r1 or not config.duration:
        rate = r0
    else:
        rate = r0 + (r1 - r0) * min(max(t, 0.0), config.duration) / config.duration
    return rate / config.workers
