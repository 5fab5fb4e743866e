"""The engine's clocks besides the schedule: the per-second timeline and progress line, and the request timeout.

Plain functions over the running `Engine`, each started as its own task by the model that runs.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inference.loadgen.engine import Engine

TICK = 1.0


async def sweep(engine: Engine) -> None:
    """Time out requests in flight for longer than `timeout` (checked ten times a second)."""
    timeout = engine.config.timeout
    while True:
        await asyncio.sleep(min(0.1, timeout / 4))
        now = time.perf_counter()
        limit = now - timeout
        for conn in [c for c in engine.busy if c.intended < limit]:
            conn.abort("TimeoutError")
        while engine.queue and engine.queue[0] < limit:
            intended = engine.queue.popleft()
            engine.in_flight -= 1
            if intended >= engine.measure_start:
                engine.recorder.record_failure("TimeoutError", now)


async def tick(engine: Engine) -> None:
    """Once a second (aligned on the end of the warm-up): close the timeline interval, report progress."""
    warmup = engine.config.warmup
    first = 1 - math.ceil(warmup) if warmup else 1
    k = max(first, engine.missed_seconds + 1)
    while True:
        delay = engine.measure_start + k * TICK - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        if k <= 0:
            emit_progress(engine, "warmup", now)
        else:
            close_interval(engine, now)
            emit_progress(engine, "run", now)
        k += 1


def catch_up(engine: Engine, now: float) -> None:
    """Seconds of the measured run already over at `now` (a worker that starts late): each is its own empty
    timeline entry, closed before the overdue requests go out (their answers belong to the second they arrive in)."""
    engine.missed_seconds = max(0, math.floor((now - engine.measure_start) / TICK))
    for late in range(1, engine.missed_seconds + 1):
        close_interval(engine, engine.measure_start + late * TICK)
        emit_progress(engine, "run", engine.measure_start + late * TICK)


def close_interval(engine: Engine, now: float) -> None:
    """End the timeline's current interval at `now` (nothing when no time has passed since the last one)."""
    duration = now - engine.last_tick
    if duration <= 0:
        return
    t = now - engine.measure_start
    midpoint = t - duration / 2
    entry = engine.recorder.take_interval(
        t, duration, engine.target_rate_at(midpoint), engine.in_flight, with_histogram=engine.mergeable
    )
    engine.timeline.append(entry)
    engine.last_tick = now


def emit_progress(engine: Engine, phase: str, now: float) -> None:
    if engine.on_progress is None:
        return
    line: dict[str, Any] = {
        "type": "progress",
        "phase": phase,
        "t": round(now - engine.measure_start, 3),
    }
    if phase == "run" and engine.timeline:
        line["interval"] = engine.timeline[-1]
        line["summary"] = engine.summary(now)
    else:
        line["in_flight"] = engine.in_flight
    if engine.on_progress(line) is True:
        engine.request_stop()
