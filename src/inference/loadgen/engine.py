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
from inference.loadgen.http import Connection, failure_kind
from inference.loadgen.mix import build_requests, default_path, split_url
from inference.loadgen.schedule import open_schedule, target_rate_at
from inference.loadgen.spec import LoadConfig
from inference.loadgen.stats import Recorder, cpu_seconds

PRE_OPEN_CONNECTIONS = 8
TICK = 1.0
MIN_SLEEP = 0.001

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
        self._last_tick = 0.0
        self._request_index = 0
        self._closed_active = 0
        self._closed_issued = 0
        self._issuing_done: asyncio.Event | None = None
        self.start_lateness = 0.0
        self._missed_seconds = 0
        self.mergeable = config.histograms or config.workers > 1  # histograms in the report, for a merge

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
        if self.closed_model:
            if conn.closed:  # the server ended the keep-alive: the slot continues on a new connection
                self._closed_active -= 1
                self._closed_respawn(0.0)
            else:
                self._closed_next(conn, now)
        elif not conn.closed:
            self._open_ready(conn)

    def on_failure(self, conn: Connection, kind: str) -> None:
        now = time.perf_counter()
        self.busy.discard(conn)
        self.in_flight -= 1
        if conn.intended >= self.measure_start:
            self.recorder.record_failure(kind, now)
        if self.closed_model:
            self._closed_active -= 1
            self._closed_respawn(0.01)

    def on_closed(self, conn: Connection) -> None:
        self.connections -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if self.queue and not self.terminated and not self.closed_model:
            self._open_more()

    @property
    def closed_model(self) -> bool:
        return self.config.model == "closed"

    # ------------------------------------------------------------------------------------------- open model
    def _open_more(self) -> None:
        if self.connections + self.connecting < self.config.max_connections:
            self.connecting += 1
            asyncio.get_running_loop().create_task(self._open_connect())

    async def _open_connect(self) -> None:
        try:
            conn = await asyncio.wait_for(self._connect(), timeout=self.config.timeout)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self.connecting -= 1
            if self.queue:  # the request that needed this connection fails with it
                intended = self.queue.popleft()
                self.in_flight -= 1
                if intended >= self.measure_start:
                    self.recorder.record_failure(failure_kind(exc), time.perf_counter())
            return
        self.connecting -= 1
        if self.terminated:
            conn.close()
            return
        self._open_ready(conn)

    def _open_ready(self, conn: Connection) -> None:
        """A connection is free: it takes the oldest waiting request, or waits in the idle list."""
        if self.queue:
            intended = self.queue.popleft()
            self._send(conn, intended)
        elif not self.stopping:
            self.idle.append(conn)
        else:
            conn.close()

    async def _run_open(self) -> None:
        loop = asyncio.get_running_loop()
        warmup_count, measured_count, offset = self._offsets()
        total = warmup_count + measured_count
        stride = self.config.workers
        for _ in range(max(0, min(PRE_OPEN_CONNECTIONS, self.config.max_connections) - len(self.idle))):
            try:
                self.idle.append(await self._connect())
            except OSError:
                break
        cap = self.config.max_in_flight
        recorder = self.recorder
        idle = self.idle
        queue = self.queue
        perf = time.perf_counter
        self.t0 = start = self._timeline_start()
        self.measure_start = start + self.config.warmup
        await self._wait_for_start()
        ticker = loop.create_task(self._ticker())
        sweeper = loop.create_task(self._sweeper())
        i = self.config.worker_index
        try:
            while i < total and not self.stopping:
                now = perf()
                while i < total:
                    intended = start + offset(i)
                    if intended > now:
                        break
                    measured = i >= warmup_count
                    if measured:
                        recorder.scheduled += 1
                    if self.in_flight >= cap:
                        if measured:
                            recorder.record_dropped()
                    else:
                        if measured:  # the engine's own lateness; waiting for a connection is the server's
                            recorder.record_lag(now - intended)
                        self.in_flight += 1
                        if self.in_flight > self.max_in_flight_seen:
                            self.max_in_flight_seen = self.in_flight
                        if idle:
                            self._send(idle.pop(), intended)
                        else:
                            queue.append(intended)
                            self._open_more()
                    i += stride
                if i >= total:
                    break
                # Event-loop timers have millisecond resolution: shorter sleeps would spin. Requests due within the
                # same millisecond go out together; their wait is part of their latency (and of schedule_lag_ms).
                delay = start + offset(i) - perf()
                await asyncio.sleep(delay if delay > MIN_SLEEP else MIN_SLEEP)
            self.stopping = True
            await self._drain()
        finally:
            ticker.cancel()
            sweeper.cancel()

    async def _wait_for_start(self) -> None:
        """Sleep until the timeline's start; a worker that comes late records by how much (its requests that
        were already due go out at once and are measured from their intended times)."""
        delay = self.t0 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        self.start_lateness = max(0.0, now - self.t0)
        self.cpu_start = cpu_seconds()
        self._last_tick = self.measure_start
        # Seconds of the measured run already over: each is its own empty timeline entry, closed before the
        # overdue requests go out (their answers belong to the second they arrive in).
        self._missed_seconds = max(0, math.floor((now - self.measure_start) / TICK))
        for late in range(1, self._missed_seconds + 1):
            self._close_interval(self.measure_start + late * TICK)
            self._emit_progress("run", self.measure_start + late * TICK)

    async def _drain(self) -> None:
        """Wait for the requests in flight, at most `timeout` seconds (the sweeper times out the rest)."""
        deadline = time.perf_counter() + self.config.timeout + 0.5
        while self.in_flight > 0 and not self.terminated and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)

    # ----------------------------------------------------------------------------------------- closed model
    def _closed_next(self, conn: Connection, now: float) -> None:
        config = self.config
        limit = None if config.requests is None else config.share(config.requests)
        if self.stopping or (limit is not None and now >= self.measure_start and self._closed_issued >= limit):
            self._closed_active -= 1
            conn.close()
            self._closed_maybe_done()
            return
        if now >= self.measure_start:
            self._closed_issued += 1
            if limit is not None and self._closed_issued >= limit and self._issuing_done:
                self._issuing_done.set()
        self.in_flight += 1
        self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)
        self._send(conn, now)

    def _closed_maybe_done(self) -> None:
        if self._closed_active <= 0 and self._issuing_done is not None:
            self._issuing_done.set()

    def _closed_respawn(self, delay: float) -> None:
        if self.stopping:
            self._closed_maybe_done()
        else:
            self._closed_spawn(delay)

    def _closed_spawn(self, delay: float = 0.0) -> None:
        self._closed_active += 1
        asyncio.get_running_loop().create_task(self._closed_start(delay))

    async def _closed_start(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self.stopping:
            self._closed_active -= 1
            self._closed_maybe_done()
            return
        if self.idle:
            conn = self.idle.pop()
        else:
            try:
                conn = await asyncio.wait_for(self._connect(), timeout=self.config.timeout)
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                now = time.perf_counter()
                if now >= self.measure_start:
                    self.recorder.record_failure(failure_kind(exc), now)
                self._closed_active -= 1
                self._closed_respawn(0.05)
                return
        self._closed_next(conn, time.perf_counter())

    async def _run_closed(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        self._issuing_done = asyncio.Event()
        self.t0 = self._timeline_start()
        self.measure_start = self.t0 + config.warmup
        await self._wait_for_start()
        ticker = loop.create_task(self._ticker())
        sweeper = loop.create_task(self._sweeper())
        try:
            for _ in range(config.share(config.concurrency or 1)):
                self._closed_spawn()
            end_wait = None if config.duration is None else self.measure_start + config.duration - time.perf_counter()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(self._issuing_done.wait(), timeout=end_wait)
            self.stopping = True
            await self._drain()
        finally:
            ticker.cancel()
            sweeper.cancel()

    # --------------------------------------------------------------------------------------------- helpers
    async def _sweeper(self) -> None:
        """Time out requests in flight for longer than `timeout` (checked ten times a second)."""
        timeout = self.config.timeout
        while True:
            await asyncio.sleep(min(0.1, timeout / 4))
            now = time.perf_counter()
            limit = now - timeout
            for conn in [c for c in self.busy if c.intended < limit]:
                conn.abort("TimeoutError")
            while self.queue and self.queue[0] < limit:
                intended = self.queue.popleft()
                self.in_flight -= 1
                if intended >= self.measure_start:
                    self.recorder.record_failure("TimeoutError", now)

    async def _ticker(self) -> None:
        """Once a second (aligned on the end of the warm-up): close the timeline interval, report progress."""
        first = 1 - math.ceil(self.config.warmup) if self.config.warmup else 1
        k = max(first, self._missed_seconds + 1)
        while True:
            delay = self.measure_start + k * TICK - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            if k <= 0:
                self._emit_progress("warmup", now)
            else:
                self._close_interval(now)
                self._emit_progress("run", now)
            k += 1

    def _close_interval(self, now: float) -> None:
        duration = now - self._last_tick
        if duration <= 0:
            return
        t = now - self.measure_start
        midpoint = t - duration / 2
        entry = self.recorder.take_interval(
            t, duration, self.target_rate_at(midpoint), self.in_flight, with_histogram=self.mergeable
        )
        self.timeline.append(entry)
        self._last_tick = now

    def _emit_progress(self, phase: str, now: float) -> None:
        if self.on_progress is None:
            return
        line: dict[str, Any] = {
            "type": "progress",
            "phase": phase,
            "t": round(now - self.measure_start, 3),
        }
        if phase == "run" and self.timeline:
            line["interval"] = self.timeline[-1]
            line["summary"] = self.summary(now)
        else:
            line["in_flight"] = self.in_flight
        if self.on_progress(line) is True:
            self.request_stop()

    def request_stop(self) -> None:
        """End the run early but cleanly: nothing more is sent, the requests in flight are awaited."""
        self.stopping = True
        if self._issuing_done is not None:
            self._issuing_done.set()

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
        if math.isfinite(self.measure_start) and self.end_time - self._last_tick > 0.05 and now > self.measure_start:
            duration = self.end_time - self._last_tick
            t = self.end_time - self.measure_start
            target = self.target_rate_at(t - duration / 2)
            self.timeline.append(
                self.recorder.take_interval(t, duration, target, self.in_flight, with_histogram=self.mergeable)
            )
            self._last_tick = self.end_time
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
            if self.closed_model:
                await self._run_closed()
            else:
                await self._run_open()
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
