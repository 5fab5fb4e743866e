"""The load from this machine (`--url`, or the local end of a port-forward): the engine in this process, or with
`--workers N`, N engine processes sharing one schedule, merged exactly as the in-cluster workers are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from inference.loadgen.merge import merge_reports
from inference.loadgen.spec import SloThreshold
from mlopsctl.errors import ClusterUnreachable, ExternalCommandFailed, MlopsctlError, UsageError
from mlopsctl.services.loadtest.hpa import HpaWatcher
from mlopsctl.services.loadtest.merge import WorkerFeed, WorkersInterrupted, follow_workers
from mlopsctl.services.loadtest.options import LoadOptions
from mlopsctl.services.loadtest.results import LoadtestInterrupted, LoadtestResult, Progress, RunRecord

# Local workers start together this long after they are launched (a Python start-up, on a busy machine).
LOCAL_START_LEAD_SECONDS = 2.0
UNREACHABLE_HINT = "check the URL, and that the service is up"


def _engine_error(line: dict[str, Any]) -> MlopsctlError:
    message = str(line.get("message") or "the load generator failed")
    if line.get("kind") == "unreachable":
        return ClusterUnreachable(message, hint=UNREACHABLE_HINT)
    return UsageError(f"the load generator refused its options: {message}")


def worker_argv(options: LoadOptions, url: str, start_at: float, index: int) -> list[str]:
    config = options.engine_config(url, start_at=start_at, worker_index=index)
    return [sys.executable, "-m", "inference.loadgen", *config.to_args(), "--worker-index", str(index), "--stream"]


def _worker_env() -> dict[str, str]:
    """The environment of a worker process: this one's, with the `inference` package importable."""
    import inference

    env = dict(os.environ)
    source = str(Path(inference.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH", "")) if p)
    return env


def process_feed(process: subprocess.Popen[str], index: int) -> WorkerFeed:
    def lines() -> Iterator[dict[str, Any]]:
        assert process.stdout is not None
        for raw in process.stdout:
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(line, dict):
                yield line
                if line.get("type") in ("report", "error"):
                    return
        code = process.wait()
        stderr = (process.stderr.read() if process.stderr else "").strip().splitlines()
        raise ExternalCommandFailed(
            f"load generator worker {index} (pid {process.pid}) exited with {code} without a report: "
            + (stderr[-1][:200] if stderr else "no output")
        )

    return WorkerFeed(f"worker-{index}", lines)


def _terminate(processes: Sequence[subprocess.Popen[str]]) -> None:
    """SIGTERM: each engine stops sending and prints its report at once."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)


def _stop(processes: Sequence[subprocess.Popen[str]], wait: float = 5.0) -> None:
    """Terminate the workers; kill what does not end within `wait` seconds."""
    _terminate(processes)
    for process in processes:
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run_processes(
    run: RunRecord,
    url: str,
    options: LoadOptions,
    on_progress: Callable[[Progress], bool | None] | None,
    slo: Sequence[SloThreshold],
    hpa: HpaWatcher | None,
) -> LoadtestResult:
    start_at = time.time() + LOCAL_START_LEAD_SECONDS
    argvs = [worker_argv(options, url, start_at, index) for index in range(options.workers)]
    env = _worker_env()
    processes: list[subprocess.Popen[str]] = []
    try:
        for argv in argvs:  # own sessions: Ctrl-C reaches mlopsctl, which stops the workers and keeps their reports
            pipe = subprocess.PIPE
            processes.append(
                subprocess.Popen(argv, stdout=pipe, stderr=pipe, text=True, env=env, start_new_session=True)
            )
        feeds = [process_feed(process, index) for index, process in enumerate(processes)]
        names = [f"worker-{index} (pid {process.pid})" for index, process in enumerate(processes)]
        try:
            reports = follow_workers(
                feeds,
                run,
                on_progress,
                lambda t: hpa.latest if hpa is not None else None,
                _engine_error,
                on_interrupt=lambda: _terminate(processes),
                drain_timeout=options.timeout + 5.0,
            )
        except WorkersInterrupted as exc:
            report = merge_reports(exc.reports, names) if exc.complete else None
            raise LoadtestInterrupted(run.result(report, slo, interrupted=True)) from None
        return run.result(merge_reports(reports, names) if reports is not None else None, slo)
    finally:
        _stop(processes)


def run_local(
    tenant: str,
    url: str,
    options: LoadOptions,
    *,
    on_progress: Callable[[Progress], bool | None] | None = None,
    slo: Sequence[SloThreshold] = (),
    hpa: HpaWatcher | None = None,
    mode: str = "url",
    notes: Sequence[str] = (),
) -> LoadtestResult:
    """Run the engine against `url` (`--url`, or the local end of a port-forward): in this process, or as
    `options.workers` processes whose reports are merged."""
    from inference.loadgen import engine

    config = options.engine_config(url)
    run = RunRecord(tenant, mode, url, notes=list(notes), workers=options.workers)

    def progress(line: dict[str, Any]) -> bool | None:
        result = run.progress(line, hpa.latest if hpa is not None else None)
        if on_progress is not None and on_progress(result) is True:
            run.stopped_early = True
            return True
        return None

    if hpa is not None:
        hpa.start()
    try:
        if options.workers > 1:
            return _run_processes(run, url, options, on_progress, slo, hpa)
        report = engine.run(config, progress)
    except engine.TargetUnreachable as exc:
        raise ClusterUnreachable(str(exc), hint=UNREACHABLE_HINT) from None
    except engine.Interrupted as exc:
        raise LoadtestInterrupted(run.result(exc.report, slo, interrupted=True)) from None
    finally:
        if hpa is not None:
            hpa.stop()
    return run.result(merge_reports([report]), slo)
