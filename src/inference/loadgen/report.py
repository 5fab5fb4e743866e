"""The engine's report: its state turned into the published schema (`report.schema.json`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inference.loadgen.stats import REPORT_SCHEMA, cpu_seconds, encode, latency_summary

if TYPE_CHECKING:
    from inference.loadgen.engine import Engine


def summary(engine: Engine, now: float | None = None, interrupted: bool = False) -> dict[str, Any]:
    """The run so far in the published report schema (without its timeline)."""
    config = engine.config
    recorder = engine.recorder
    elapsed = engine.elapsed(now)
    if config.model == "open":
        if config.duration is not None and config.rate is None:
            target = (config.start_rate + config.end_rate) / 2.0
        else:
            target = config.start_rate
        target /= config.workers
    else:
        target = None
    lag = latency_summary(recorder.lag)
    return {
        "schema": REPORT_SCHEMA,
        "url": config.url,
        "path": engine.path,
        "model": config.model,
        "mix": "body-file" if config.bodies else config.mix,
        "started_at": engine.started_at.isoformat(timespec="seconds"),
        "config": {
            "rate": config.rate,
            "rate_from": config.rate_from,
            "rate_to": config.rate_to,
            "concurrency": config.concurrency,
            "duration": config.duration,
            "requests": config.requests,
            "warmup": config.warmup,
            "batch_size": config.batch_size if config.mix == "batch" and not config.bodies else None,
            "max_in_flight": config.max_in_flight,
            "max_connections": config.max_connections,
            "timeout": config.timeout,
            "workers": config.workers,
        },
        "worker": {
            "index": config.worker_index,
            "workers": config.workers,
            "start_at": config.start_at,
            "start_lateness_ms": round(engine.start_lateness * 1000.0, 3),
        },
        "interrupted": interrupted or engine.terminated,
        "duration_s": round(elapsed, 3),
        "target_rate": None if target is None else round(target, 3),
        "achieved_rate": round(recorder.completed / elapsed, 3) if elapsed > 0 else 0.0,
        "ok_rate": round(recorder.ok / elapsed, 3) if elapsed > 0 else 0.0,
        "requests": recorder.requests_summary(engine.in_flight),
        "latency_ms": recorder.latency_summary(),
        "errors": recorder.errors_summary(),
        "engine": {
            "client": "asyncio-protocol",
            "loop": engine.loop_name,
            "connections_opened": engine.connections_opened,
            "max_connections": config.max_connections,
            "max_in_flight_seen": engine.max_in_flight_seen,
            "schedule_lag_ms": {"p50": lag["p50"], "p99": lag["p99"], "max": lag["max"]},
            "cpu_seconds": round(cpu_seconds() - engine.cpu_start, 3) if engine.cpu_start else 0.0,
        },
    }


def report(engine: Engine, now: float, interrupted: bool = False) -> dict[str, Any]:
    """The whole report: the summary, a worker's encoded histograms, then the timeline."""
    result = summary(engine, now, interrupted)
    if engine.mergeable:
        recorder = engine.recorder
        result["histograms"] = {
            "latency_us": encode(recorder.latency),
            "schedule_lag_us": encode(recorder.lag),
            "latency_sum_us": recorder.total_us,
            "latency_sum_squares_us": recorder.squares,
        }
    result["timeline"] = list(engine.timeline)
    return result
