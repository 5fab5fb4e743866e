"""The closed model: `concurrency` connections, each sending the next request as soon as the previous one is
answered (see the engine's docstring for what it measures and what it does not)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import TYPE_CHECKING

from inference.loadgen.http import Connection, failure_kind
from inference.loadgen.ticks import sweep, tick

if TYPE_CHECKING:
    from inference.loadgen.engine import Engine


class ClosedLoop:
    """The closed model's slots over one `Engine`: how many are active, how many measured requests were issued."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.active = 0
        self.issued = 0
        self.issuing_done: asyncio.Event | None = None
        config = engine.config
        self.limit = None if config.requests is None else config.share(config.requests)

    # Called by the engine, from Connection's callbacks.
    def answered(self, conn: Connection, now: float) -> None:
        if conn.closed:  # the server ended the keep-alive: the slot continues on a new connection
            self.active -= 1
            self._respawn(0.0)
        else:
            self._next(conn, now)

    def failed(self) -> None:
        self.active -= 1
        self._respawn(0.01)

    def stop(self) -> None:
        if self.issuing_done is not None:
            self.issuing_done.set()

    def _next(self, conn: Connection, now: float) -> None:
        engine = self.engine
        limit = self.limit
        if engine.stopping or (limit is not None and now >= engine.measure_start and self.issued >= limit):
            self.active -= 1
            conn.close()
            self._maybe_done()
            return
        if now >= engine.measure_start:
            self.issued += 1
            if limit is not None and self.issued >= limit and self.issuing_done:
                self.issuing_done.set()
        engine.in_flight += 1
        engine.max_in_flight_seen = max(engine.max_in_flight_seen, engine.in_flight)
        engine._send(conn, now)

    def _maybe_done(self) -> None:
        if self.active <= 0 and self.issuing_done is not None:
            self.issuing_done.set()

    def _respawn(self, delay: float) -> None:
        if self.engine.stopping:
            self._maybe_done()
        else:
            self._spawn(delay)

    def _spawn(self, delay: float = 0.0) -> None:
        self.active += 1
        asyncio.get_running_loop().create_task(self._start(delay))

    async def _start(self, delay: float) -> None:
        engine = self.engine
        if delay:
            await asyncio.sleep(delay)
        if engine.stopping:
            self.active -= 1
            self._maybe_done()
            return
        if engine.idle:
            conn = engine.idle.pop()
        else:
            try:
                conn = await asyncio.wait_for(engine._connect(), timeout=engine.config.timeout)
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                now = time.perf_counter()
                if now >= engine.measure_start:
                    engine.recorder.record_failure(failure_kind(exc), now)
                self.active -= 1
                self._respawn(0.05)
                return
        self._next(conn, time.perf_counter())

    async def run(self) -> None:
        engine = self.engine
        config = engine.config
        loop = asyncio.get_running_loop()
        self.issuing_done = asyncio.Event()
        engine.t0 = engine._timeline_start()
        engine.measure_start = engine.t0 + config.warmup
        await engine._wait_for_start()
        ticker = loop.create_task(tick(engine))
        sweeper = loop.create_task(sweep(engine))
        try:
            for _ in range(config.share(config.concurrency or 1)):
                self._spawn()
            end_wait = None if config.duration is None else engine.measure_start + config.duration - time.perf_counter()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(self.issuing_done.wait(), timeout=end_wait)
            engine.stopping = True
            await engine._drain()
        finally:
            ticker.cancel()
            sweeper.cancel()
