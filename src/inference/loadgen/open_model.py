"""The open model: every request sent at its intended time on an idle keep-alive connection, or queued for the
next one to free up (see the engine's docstring for why a connection limit and a queue)."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import TYPE_CHECKING

from inference.loadgen.http import Connection, failure_kind
from inference.loadgen.ticks import sweep, tick

if TYPE_CHECKING:
    from inference.loadgen.engine import Engine

PRE_OPEN_CONNECTIONS = 8
MIN_SLEEP = 0.001


def open_more(engine: Engine) -> None:
    if engine.connections + engine.connecting < engine.config.max_connections:
        engine.connecting += 1
        asyncio.get_running_loop().create_task(_open_connect(engine))


async def _open_connect(engine: Engine) -> None:
    try:
        conn = await asyncio.wait_for(engine._connect(), timeout=engine.config.timeout)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        engine.connecting -= 1
        if engine.queue:  # the request that needed this connection fails with it
            intended = engine.queue.popleft()
            engine.in_flight -= 1
            if intended >= engine.measure_start:
                engine.recorder.record_failure(failure_kind(exc), time.perf_counter())
        return
    engine.connecting -= 1
    if engine.terminated:
        conn.close()
        return
    open_ready(engine, conn)


def open_ready(engine: Engine, conn: Connection) -> None:
    """A connection is free: it takes the oldest waiting request, or waits in the idle list."""
    if engine.queue:
        intended = engine.queue.popleft()
        engine._send(conn, intended)
    elif not engine.stopping:
        engine.idle.append(conn)
    else:
        conn.close()


async def run_open(engine: Engine) -> None:
    loop = asyncio.get_running_loop()
    config = engine.config
    warmup_count, measured_count, offset = engine._offsets()
    total = warmup_count + measured_count
    stride = config.workers
    for _ in range(max(0, min(PRE_OPEN_CONNECTIONS, config.max_connections) - len(engine.idle))):
        try:
            engine.idle.append(await engine._connect())
        except OSError:
            break
    cap = config.max_in_flight
    recorder = engine.recorder
    idle = engine.idle
    queue = engine.queue
    send = engine._send
    perf = time.perf_counter
    engine.t0 = start = engine._timeline_start()
    engine.measure_start = start + config.warmup
    await engine._wait_for_start()
    ticker = loop.create_task(tick(engine))
    sweeper = loop.create_task(sweep(engine))
    i = config.worker_index
    try:
        while i < total and not engine.stopping:
            now = perf()
            while i < total:
                intended = start + offset(i)
                if intended > now:
                    break
                measured = i >= warmup_count
                if measured:
                    recorder.scheduled += 1
                if engine.in_flight >= cap:
                    if measured:
                        recorder.record_dropped()
                else:
                    if measured:  # the engine's own lateness; waiting for a connection is the server's
                        recorder.record_lag(now - intended)
                    engine.in_flight += 1
                    if engine.in_flight > engine.max_in_flight_seen:
                        engine.max_in_flight_seen = engine.in_flight
                    if idle:
                        send(idle.pop(), intended)
                    else:
                        queue.append(intended)
                        open_more(engine)
                i += stride
            if i >= total:
                break
            # Event-loop timers have millisecond resolution: shorter sleeps would spin. Requests due within the
            # same millisecond go out together; their wait is part of their latency (and of schedule_lag_ms).
            delay = start + offset(i) - perf()
            await asyncio.sleep(delay if delay > MIN_SLEEP else MIN_SLEEP)
        engine.stopping = True
        await engine._drain()
    finally:
        ticker.cancel()
        sweeper.cancel()
