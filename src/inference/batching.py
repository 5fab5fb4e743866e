"""Micro-batching: coalesce the texts of concurrent requests into one vectorised model call.

Each request submits its texts (one for /predict, up to 256 for /predict/batch) and awaits its share of the
results. A batch is flushed when it reaches `max_batch_size` texts, or `max_wait` seconds after its first
request (0 = on the next turn of the event loop, i.e. it holds whatever arrived meanwhile). A request is never
split across batches; one larger than the limit is a batch of its own.

The model call runs on the event loop for ordinary batches: it is short (tens of microseconds per text) and a
thread hop would cost more than it saves on one core. Batches above `inline_chars` characters run in a single
worker thread instead, so one huge request cannot hold the loop, and with it liveness probes, for long.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Result = TypeVar("Result")


class MicroBatcher(Generic[Result]):
    def __init__(
        self,
        predict: Callable[[Sequence[str]], list[Result]],
        max_batch_size: int = 64,
        max_wait: float = 0.0,
        inline_chars: int = 65536,
        on_batch: Callable[[list[Result]], None] | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._predict = predict
        self._max_batch_size = max_batch_size
        self._max_wait = max_wait
        self._inline_chars = inline_chars
        self._on_batch = on_batch
        self._pending: list[tuple[Sequence[str], asyncio.Future[list[Result]]]] = []
        self._pending_texts = 0
        self._timer: asyncio.Handle | asyncio.TimerHandle | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    async def submit(self, texts: Sequence[str]) -> list[Result]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Result]] = loop.create_future()
        self._pending.append((texts, future))
        self._pending_texts += len(texts)
        if self._pending_texts >= self._max_batch_size:
            self._flush()
        elif self._timer is None:
            if self._max_wait > 0:
                self._timer = loop.call_later(self._max_wait, self._flush)
            else:
                self._timer = loop.call_soon(self._flush)
        return await future

    def _take_batch(self) -> list[tuple[Sequence[str], asyncio.Future[list[Result]]]]:
        taken: list[tuple[Sequence[str], asyncio.Future[list[Result]]]] = []
        count = 0
        while self._pending:
            texts = self._pending[0][0]
            if taken and count + len(texts) > self._max_batch_size:
                break
            taken.append(self._pending.pop(0))
            count += len(texts)
        self._pending_texts -= count
        return taken

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            batch = self._take_batch()
            live = [(texts, future) for texts, future in batch if not future.done()]
            if not live:
                continue
            texts = [text for group, _ in live for text in group]
            if sum(map(len, texts)) > self._inline_chars:
                self._run_in_thread(texts, live)
            else:
                self._deliver(live, texts, self._call(texts))
            if self._pending_texts < self._max_batch_size and self._pending:
                # What remains is a partial batch: give it the same chance to grow as a new one.
                loop = asyncio.get_running_loop()
                if self._max_wait > 0:
                    self._timer = loop.call_later(self._max_wait, self._flush)
                else:
                    self._timer = loop.call_soon(self._flush)
                return

    def _call(self, texts: list[str]) -> list[Result] | BaseException:
        try:
            results = self._predict(texts)
        except Exception as exc:
            return exc
        if len(results) != len(texts):
            return RuntimeError(f"the model returned {len(results)} results for {len(texts)} texts")
        return results

    def _deliver(
        self,
        live: list[tuple[Sequence[str], asyncio.Future[list[Result]]]],
        texts: list[str],
        outcome: list[Result] | BaseException,
    ) -> None:
        if isinstance(outcome, BaseException):
            for _, future in live:
                if not future.done():
                    future.set_exception(outcome)
            return
        if self._on_batch is not None:
            self._on_batch(outcome)
        start = 0
        for group, future in live:
            end = start + len(group)
            if not future.done():
                future.set_result(outcome[start:end])
            start = end

    def _run_in_thread(self, texts: list[str], live: list[tuple[Sequence[str], asyncio.Future[list[Result]]]]) -> None:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._executor, self._call, texts)

        def finished(done: asyncio.Future[list[Result] | BaseException]) -> None:
            outcome = RuntimeError("the prediction was cancelled") if done.cancelled() else done.result()
            self._deliver(live, texts, outcome)

        work.add_done_callback(finished)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
