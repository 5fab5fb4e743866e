"""The load engine: open model (fixed arrival timeline) and closed model (fixed concurrency) on one event loop.

Open model. Request i is *intended* at a time fixed before the run starts (i/rate, or the inverse of the ramp's
integral). The scheduler hands every request whose time has come to an idle keep-alive connection, whether or
not earlier requests have finished; when none is idle it opens another (up to `max_connections`) and the
request waits for the first connection that frees up. Latency is measured from the intended time, not from when
the request could be sent, so a server that stalls shows the stall in every request that should have started
during it (no coordinated omission), waiting included. The engine's own lateness is measured too
(`engine.schedule_lag_ms`). Requests in flight or waiting are capped (`max_in_flight`); a request due while the
cap is reached is not sent and is counted as dropped, so memory stays bounded and the report says so.

Why a connection limit and a queue rather than one new connection per waiting request: on a server hiccup the
latter opens hundreds of connections at once, and opening them costs more CPU than the requests themselves
(measured: 800+ connections and 300 ms of self-inflicted schedule lag at 2,000 req/s after a 200 ms pause).

Closed model. `concurrency` connections each send the next request as soon as the previous one is answered.
A slow server slows the generator down: the report's achieved rate and timeline show it, the percentiles
(measured from the actual send) do not. Use it to find capacity, and the open model to measure latency.

This module holds the state both models share (connections, requests in flight, the recorder and timeline), the
connections' callbacks, the report, and `run`; `open_model` and `closed_model` drive the requests, `ticks` the
per-second timeline, progress and timeouts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import signal
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from inference.loadgen import report as reporting
from inference.loadgen.closed_model import ClosedLoop
from inference.loadgen.http import Connection, failure_kind
from inference.loadgen.mix import build_requests, default_path, split_url
from inference.loadgen.open_model import open_more, open_ready, run_open
from inference.loadgen.schedule import open_schedule, target_rate_at
from inference.loadgen.spec import LoadConfig
from inference.loadgen.stats import Recorder, cpu_seconds
from inference.loadgen.ticks import catch_up, close_interval

# Called once a second from the event loop with a progress line; returning True ends the run early.
ProgressCallback = Callable[[dict[str, Any]], bool | None]


class TargetUnreachable(Exception):
    """No TCP connection to the target could be opened before the run (within `connect_wait`)."""


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C); `report` holds what was measured until then."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__("interrupted")
        self.report = report


class Engine:
    def __init__(self, config: LoadConfig, on_progress: ProgressCallback | None = None) -> None:
        self.config = config.validate()
        scheme, self.host, self.port, base = split_url(config.url)
        self.ssl = ssl.create_default_context() if scheme == "https" else None
        self.path = base + (config.path or default_path(config.mix, bool(config.bodies)))
        self.requests = build_requests(config.url, config.mix, config.batch_size, config.bodies, config.path)
        self.on_progress = on_progress
        self.recorder = Recorder()
        self.idle: list[Connection] = []
        self.queue: collections.deque[float] = collections.deque()  # intended times waiting for a connection
        self.connections = 0
        self.connecting = 0
        self.busy: set[Connection] = set()
        self.in_flight = 0
        self.max_in_flight_seen = 0
        self.connections_opened = 0
        self.timeline: list[dict[str, Any]] = []
        self.t0 = 0.0
        self.measure_start = math.inf
        self.end_time: float | None = None
        self.stopping = False
        self.terminated = False
        self.interrupted = False
        self.started_at = datetime.now(UTC)
        self.loop_name = "asyncio"
        self.cpu_start = 0.0
        self.last_tick = 0.0  # the end of the timeline's last closed interval
        self._request_index = 0
        self.start_lateness = 0.0
        self.missed_seconds = 0  # measured seconds already over when a late worker started
        self.mergeable = config.histograms or config.workers > 1  # histograms in the report, for a merge
        self.closed = ClosedLoop(self) if config.model == "closed" else None

    # ----------------------------------------------------------------------------------------------- timeline
    def target_rate_at(self, t: float) -> float | None:
        """This worker's intended rate `t` seconds after the measured part began (open model only)."""
        return target_rate_at(self.config, t)

    def _offsets(self) -> tuple[int, int, Callable[[int], float]]:
        """(warm-up requests, measured requests, i -> seconds after t0) of the whole open-model timeline."""
        schedule = open_schedule(self.config)
        return schedule.warmup_count, schedule.measured_count, schedule.offset

    def _timeline_start(self) -> float:
        """The perf_counter instant the timeline begins: now, or the agreed wall-clock `start_at` (which may
        already be past: a worker that starts late sends its overdue requests at once, measured as late)."""
        perf = time.perf_counter()
        if self.config.start_at is None:
            return perf + 0.005
        return perf + (self.config.start_at - time.time())

    # ------------------------------------------------------------------------------------------ connections
    def _new_connection(self) -> Connection:
        return Connection(self)

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(
            self._new_connection, self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None
        )
        self.connections_opened += 1
        self.connections += 1
        return conn

    async def _preflight(self) -> None:
        """One connection must open before any load is sent; retried for `connect_wait` seconds (a new pod's
        NetworkPolicy may take a moment to allow it)."""
        deadline = time.monotonic() + self.config.connect_wait
        while True:
            try:
                conn = await asyncio.wait_for(self._connect(), timeout=min(self.config.timeout, 5.0))
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                if time.monotonic() >= deadline:
                    reason = failure_kind(exc) if str(exc) == "" else f"{failure_kind(exc)}: {exc}"
                    raise TargetUnreachable(f"cannot connect to {self.host}:{self.port}: {reason}") from exc
                await asyncio.sleep(0.5)
                continue
            self.idle.append(conn)
            return

    def _send(self, conn: Connection, intended: float) -> None:
        request = self.requests[self._request_index % len(self.requests)]
        self._request_index += 1
        self.busy.add(conn)
        conn.send(request, intended)
        if intended >= self.measure_start:
            self.recorder.record_sent()
        else:
            self.recorder.warmup_requests += 1

    # Called by Connection.
    def on_response(self, conn: Connection, status: int) -> None:
        now = time.perf_counter()
        self.busy.discard(conn)
        self.in_flight -= 1
        if conn.intended >= self.measure_start:
            self.recorder.record_response(now - conn.intended, status, now)
        closed = self.closed
        if closed is not None:
            closed.answered(conn, now)
        elif not conn.closed:
            open_ready(self, conn)

    def on_failure(self, conn: Connection, kind: str) -> None:
        now = time.perf_counter()
        self.busy.discard(conn)
        self.in_flight -= 1
        if conn.intended >= self.measure_start:
            self.recorder.record_failure(kind, now)
        if self.closed is not None:
            self.closed.failed()

    def on_closed(self, conn: Connection) -> None:
        self.connections -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if self.queue and not self.terminated and self.closed is None:
            open_more(self)

    @property
    def closed_model(self) -> bool:
        return self.closed is not None

    # ------------------------------------------------------------------------------------ start and end of a run

    async def _wait_for_start(self) -> None:
        """Sleep until the timeline's start; a worker that comes late records by how much (its requests that
        were already due go out at once and are measured from their intended times)."""
        delay = self.t0 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        self.start_lateness = max(0.0, now - self.t0)
        self.cpu_start = cpu_seconds()
        self.last_tick = self.measure_start
        catch_up(self, now)

    async def _drain(self) -> None:
        """Wait for the requests in flight, at most `timeout` seconds (the sweeper times out the rest)."""
        deadline = time.perf_counter() + self.config.timeout + 0.5
        while self.in_flight > 0 and not self.terminated and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)

    def request_stop(self) -> None:
        """End the run early but cleanly: nothing more is sent, the requests in flight are awaited."""
        self.stopping = True
        if self.closed is not None:
            self.closed.stop()

    # --------------------------------------------------------------------------------------------- results
    def elapsed(self, now: float | None = None) -> float:
        end = self.end_time if self.end_time is not None else (now or time.perf_counter())
        return max(0.0, end - self.measure_start) if math.isfinite(self.measure_start) else 0.0

    def summary(self, now: float | None = None, interrupted: bool = False) -> dict[str, Any]:
        """The run so far in the published report schema (without its timeline)."""
        return reporting.summary(self, now, interrupted)

    def report(self, interrupted: bool = False) -> dict[str, Any]:
        """The whole report, after closing the last (partial) second of the timeline."""
        now = time.perf_counter()
        if self.end_time is None:
            self.end_time = now
        if math.isfinite(self.measure_start) and self.end_time - self.last_tick > 0.05 and now > self.measure_start:
            close_interval(self, self.end_time)
        return reporting.report(self, now, interrupted)

    # ------------------------------------------------------------------------------------------------- run
    def _terminate(self) -> None:
        """SIGTERM (a Job being deleted): stop sending, do not wait for the requests in flight."""
        self.stopping = True
        self.terminated = True
        self.in_flight -= len(self.queue)
        self.queue.clear()

    def _interrupt(self, task: asyncio.Task[Any] | None) -> None:
        """Ctrl-C: stop sending at once. The flag ends the run even when Python 3.11's `wait_for` swallows the
        cancellation (a connection completing in the same loop turn), which would otherwise run to the end."""
        self.interrupted = True
        self.stopping = True
        if task is not None:
            task.cancel()

    async def run(self, handle_sigterm: bool = False) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.loop_name = "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
        # Signal handlers can only be set from the main thread; elsewhere the caller owns Ctrl-C.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._interrupt, asyncio.current_task())
        if handle_sigterm:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGTERM, self._terminate)
        await self._preflight()
        try:
            if self.closed is not None:
                await self.closed.run()
            else:
                await run_open(self)
        finally:
            self.end_time = time.perf_counter()
            for conn in list(self.busy) + list(self.idle):
                conn.close()
        return self.report()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (about half the CPU per request), else the standard loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(
    config: LoadConfig, on_progress: ProgressCallback | None = None, handle_sigterm: bool = False, uvloop: bool = True
) -> dict[str, Any]:
    """Run one load test to its end and return the report (see `build` in the package docs for its schema).

    Raises TargetUnreachable before any load when the target does not accept a connection, and Interrupted
    (carrying the partial report) on Ctrl-C. Must be called from a thread without a running event loop.
    """
    engine = Engine(config, on_progress)
    factory = loop_factory() if uvloop else None
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            report = runner.run(engine.run(handle_sigterm=handle_sigterm))
    except (KeyboardInterrupt, asyncio.CancelledError):
        engine.interrupted = True
    if engine.interrupted:
        if engine.end_time is None:
            engine.end_time = time.perf_counter()
        raise Interrupted(engine.report(interrupted=True)) from None
    return report
