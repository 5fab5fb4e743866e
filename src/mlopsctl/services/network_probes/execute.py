"""Running the probes: one exec per source pod and round, sources in parallel over a bounded pool.

Each round runs, in one process inside the source pod, every probe of that pod still to settle. A probe settles
when it agrees with the evaluator and its source's positive controls have connected (in this round or an earlier
one): negatives seen before the controls pass prove nothing (the pod's network may not be up, or enforcement may
lag pod start), so they run again. Only probes that disagree, or could not count yet, are retried, after a bounded
exponential backoff (backoff, 2x, 4x ...), at most `attempts` rounds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis.netpol import Peer
from mlopsctl.errors import Forbidden, MlopsctlError
from mlopsctl.progress import Status
from mlopsctl.services.network_probes.plan import Probe
from mlopsctl.services.network_probes.program import Result, Spec, parse_results, python_batch, waves, wget_batch

DEFAULT_PARALLEL = 16
# Seconds an exec may take beyond its probes' timeouts: process start-up and the exec round trip.
EXEC_MARGIN = 15.0


@dataclass(frozen=True)
class Settings:
    attempts: int = 4
    backoff: float = 0.5
    timeout: float = 2.0
    parallel: int = DEFAULT_PARALLEL
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], str] = lambda: ""
    clock: Callable[[], float] = time.monotonic


@dataclass
class Outcome:
    connected: bool | None  # None: the probe itself could not run
    observed: str
    attempts: int
    started: str
    finished: str


@dataclass
class SourceRun:
    source: Peer
    probes: list[Probe]
    outcomes: list[Outcome]
    failed_control: str | None  # the first control that never connected: this source's negatives did not count
    execs: int


class ProbeProgress:
    """`probes done/total (rate/s)` notes on the status, at most one per `interval` seconds, and a last one."""

    def __init__(self, status: Status, total: int, clock: Callable[[], float], interval: float = 1.0) -> None:
        self.status, self.total, self.clock, self.interval = status, total, clock, interval
        self.done = 0
        self.started = clock()
        self.last = self.started
        self.lock = threading.Lock()

    def rate(self) -> float:
        elapsed = self.clock() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, count: int) -> None:
        with self.lock:
            self.done += count
            if self.clock() - self.last >= self.interval and self.done < self.total:
                self.last = self.clock()
                self.status.note(f"probes {self.done}/{self.total} ({self.rate():.0f}/s)")

    def finish(self) -> None:
        self.status.note(f"probes {self.done}/{self.total} ({self.rate():.0f}/s)")


def _exec_batch(api: KubeApi, source: Peer, probes: Sequence[tuple[int, Probe]], timeout: float) -> dict[int, Result]:
    specs = [Spec(i, p.target.host, p.target.port, p.target.protocol) for i, p in probes]
    http = probes[0][1].http
    command = wget_batch(specs, timeout) if http else python_batch(specs, timeout)
    budget = waves(len(specs)) * (timeout + 1) + EXEC_MARGIN
    try:
        result = api.exec(source.namespace, source.name, command, probes[0][1].container, budget)
    except Forbidden:
        raise
    except MlopsctlError as exc:  # the pod went away, the exec broke: these probes could not run this round
        return {i: Result(None, exc.message) for i, _ in probes}
    parsed = parse_results(result.stdout)
    detail = "no result"
    if result.returncode != 0:
        lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
        detail = lines[-1] if lines else f"exit {result.returncode}"
    return {i: parsed.get(i, Result(None, detail)) for i, _ in probes}


def _observed(result: Result) -> str:
    if result.connected is None:
        return f"probe failed: {result.observed}"
    return "connected" if result.connected else f"blocked ({result.observed or 'no answer'})"


def run_source(
    api: KubeApi, source: Peer, probes: list[Probe], settings: Settings, progress: ProbeProgress | None = None
) -> SourceRun:
    """Every probe of one source pod, in rounds of one exec each (see the module docstring)."""
    results: list[Result | None] = [None] * len(probes)
    attempts = [0] * len(probes)
    started = [""] * len(probes)
    finished = [""] * len(probes)
    controls = [i for i, p in enumerate(probes) if p.control]
    controls_ok = not controls
    pending = list(range(len(probes)))
    execs = 0

    def connected(i: int) -> bool | None:
        result = results[i]
        return None if result is None else result.connected

    def unsettled(i: int) -> bool:
        if connected(i) is None:
            return True
        if probes[i].expected is not None and connected(i) != probes[i].expected:
            return True
        return not controls_ok and not probes[i].control

    for attempt in range(settings.attempts):
        begun = settings.now()
        answers = _exec_batch(api, source, [(i, probes[i]) for i in pending], settings.timeout)
        execs += 1
        ended = settings.now()
        for i in pending:
            results[i], attempts[i], finished[i] = answers[i], attempts[i] + 1, ended
            started[i] = started[i] or begun
        controls_ok = controls_ok or all(connected(i) is True for i in controls)
        still = [i for i in pending if unsettled(i)]  # a settled probe stays settled: controls_ok never reverts
        last = attempt + 1 == settings.attempts
        if progress is not None:
            progress.advance(len(pending) if last else len(pending) - len(still))
        pending = still
        if not pending:
            break
        if not last:
            settings.sleep(settings.backoff * (2**attempt))
    failed = None
    if not controls_ok:
        first = next(i for i in controls if connected(i) is not True)
        failed = f"{probes[first].name}: {_observed(results[first] or Result(None, 'not run'))}"
    outcomes = [
        Outcome(r.connected, _observed(r), attempts[i], started[i], finished[i])
        for i, r in enumerate(results)
        if r is not None
    ]
    return SourceRun(source, probes, outcomes, failed, execs)


def run_all(
    api: KubeApi, probes: Sequence[Probe], settings: Settings, progress: ProbeProgress | None = None
) -> list[SourceRun]:
    """Every source's probes (positive controls first), sources in parallel, at most `settings.parallel` at once."""
    by_source: dict[str, list[Probe]] = {}
    for probe in probes:
        by_source.setdefault(probe.source.id, []).append(probe)
    groups = [sorted(group, key=lambda p: not p.control) for group in by_source.values()]
    pool = ThreadPoolExecutor(max_workers=max(1, settings.parallel), thread_name_prefix="probe")
    try:
        futures: list[Future[SourceRun]] = [
            pool.submit(run_source, api, group[0].source, group, settings, progress) for group in groups
        ]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
