"""Several workers, one run: their JSON lines are followed side by side and merged second by second.

Each worker (a pod of the Indexed Job, or a local process) streams one progress line per second and then its
report. A second of the whole run is shown once every worker still running has reported it; its percentiles
come from the workers' per-second HDR histograms, added (exact, never averaged). At the end the workers'
reports are merged the same way (`inference.loadgen.merge`). One worker passes through unchanged.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from inference.loadgen.merge import merge_intervals, merge_summaries, merged_histogram
from inference.loadgen.stats import new_histogram
from mlopsctl.errors import MlopsctlError
from mlopsctl.services.loadtest.results import HpaSample, Progress, RunRecord

Line = dict[str, Any]
_END = object()


@dataclass(frozen=True)
class WorkerFeed:
    """One worker's output: `lines()` yields its JSON lines in order and raises when it ends without a report."""

    name: str
    lines: Callable[[], Iterator[Line]]


class LiveMerger:
    """Progress lines of N workers in, progress lines of the whole run out, one per second, in order."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.count = len(self.names)
        self.pending: dict[tuple[int, int], dict[int, Line]] = {}
        self.finished: set[int] = set()
        self.latest: dict[int, dict[str, Any]] = {}
        self.latency = new_histogram()  # the run so far: the sum of every merged second's histograms

    def add(self, worker: int, line: Line) -> list[Line]:
        if self.count == 1:
            return [line]
        key = (0 if line.get("phase") == "warmup" else 1, round(float(line.get("t") or 0.0)))
        self.pending.setdefault(key, {})[worker] = line
        return self._ready()

    def finish(self, worker: int) -> list[Line]:
        """The worker sends no more seconds (its report came, or its stream ended)."""
        self.finished.add(worker)
        return self._ready() if self.count > 1 else []

    def _ready(self) -> list[Line]:
        ready = []
        for key in sorted(self.pending):
            lines = self.pending[key]
            if any(w not in lines and w not in self.finished for w in range(self.count)):
                break
            del self.pending[key]
            ready.append(self._merge(key[0] == 0, lines))
        return ready

    def _merge(self, warmup: bool, lines: dict[int, Line]) -> Line:
        t = max(float(line.get("t") or 0.0) for line in lines.values())
        if warmup:
            in_flight = sum(int(line.get("in_flight") or 0) for line in lines.values())
            return {"type": "progress", "phase": "warmup", "t": t, "in_flight": in_flight}
        intervals = [line["interval"] for line in lines.values() if line.get("interval")]
        second = merged_histogram(interval.get("histogram") for interval in intervals)
        if second.get_total_count():  # an empty one would pull the minimum down to 0
            self.latency.add(second)
        for worker, line in lines.items():
            if line.get("summary"):
                self.latest[worker] = line["summary"]
        merged: Line = {"type": "progress", "phase": "run", "t": t}
        if intervals:
            merged["interval"] = merge_intervals(intervals)
        if self.latest:
            workers = sorted(self.latest)
            summaries = [self.latest[w] for w in workers]
            merged["summary"] = merge_summaries(summaries, self.latency, [self.names[w] for w in workers])
        return merged


def _pump(worker: int, feed: WorkerFeed, inbox: queue.Queue[tuple[int, object]]) -> None:
    try:
        for line in feed.lines():
            inbox.put((worker, line))
    except BaseException as exc:  # handed to the main thread, which raises it there
        inbox.put((worker, exc))
    inbox.put((worker, _END))


class WorkersInterrupted(KeyboardInterrupt):
    """Ctrl-C while following workers that could be told to stop: `reports` holds those that still reported."""

    def __init__(self, reports: list[dict[str, Any]], expected: int) -> None:
        super().__init__("interrupted")
        self.reports = reports
        self.complete = len(reports) == expected


def follow_workers(
    feeds: Sequence[WorkerFeed],
    run: RunRecord,
    on_progress: Callable[[Progress], bool | None] | None,
    hpa_at: Callable[[float], HpaSample | None],
    engine_error: Callable[[Line], MlopsctlError],
    on_interrupt: Callable[[], None] | None = None,
    drain_timeout: float = 15.0,
) -> list[dict[str, Any]] | None:
    """Follow every feed (one thread each) until all have reported; the reports in feed order, or None when
    `on_progress` asked to stop. A worker's error line or failure is raised here, in the calling thread.

    Ctrl-C propagates as is, unless `on_interrupt` can stop the workers: then it is called, the workers' last
    reports are awaited (at most `drain_timeout` seconds) and WorkersInterrupted carries them."""
    merger = LiveMerger([feed.name for feed in feeds])
    inbox: queue.Queue[tuple[int, object]] = queue.Queue()
    for worker, feed in enumerate(feeds):
        threading.Thread(target=_pump, args=(worker, feed, inbox), name=f"loadtest-{feed.name}", daemon=True).start()
    reports: dict[int, dict[str, Any]] = {}
    running = len(feeds)
    deadline: float | None = None
    while running:
        try:
            try:
                worker, item = inbox.get(timeout=0.5)  # a timeout keeps Ctrl-C responsive
            except queue.Empty:
                if deadline is not None and time.monotonic() > deadline:
                    break
                continue
            if item is _END:
                running -= 1
                lines = merger.finish(worker)
            elif isinstance(item, BaseException):
                if deadline is not None:
                    continue  # stopping anyway: a worker that fails now just has no report
                raise item
            elif not isinstance(item, dict):
                continue
            elif item.get("type") == "report":
                reports[worker] = item.get("report") or {}
                lines = merger.finish(worker)
            elif deadline is not None:
                continue
            elif item.get("type") == "progress":
                lines = merger.add(worker, item)
            elif item.get("type") == "error":
                raise engine_error(item)
            else:
                continue
            if deadline is None and _deliver(lines, run, on_progress, hpa_at):
                return None
        except KeyboardInterrupt:
            if on_interrupt is None or deadline is not None:
                raise
            on_interrupt()
            deadline = time.monotonic() + drain_timeout
    if deadline is not None:
        raise WorkersInterrupted([reports[worker] for worker in sorted(reports)], len(feeds))
    return [reports[worker] for worker in sorted(reports)]


def _deliver(
    lines: list[Line],
    run: RunRecord,
    on_progress: Callable[[Progress], bool | None] | None,
    hpa_at: Callable[[float], HpaSample | None],
) -> bool:
    """Hand merged seconds to the caller; True when it asks to stop."""
    for line in lines:
        progress = run.progress(line, hpa_at(float(line.get("t") or 0.0)))
        if on_progress is not None and on_progress(progress) is True:
            run.stopped_early = True
            return True
    return False
