"""The load generator Job's pods: waiting for each to run, and following each one's JSON lines."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, MlopsctlError
from mlopsctl.manifests.loadtest import run_selector
from mlopsctl.services.loadtest.merge import WorkerFeed

# How often a cut log stream of a still-running load generator is followed again.
LOG_RECONNECTS = 3
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
OLD_IMAGE_HINT = (
    "the image the Job ran (the platform image, else the tenant's) carries an older load generator: rebuild it "
    "(`mlopsctl image build`, then `mlopsctl cluster up` or `mlopsctl image load`), or pass --image"
)
# Container states that will not fix themselves within a load test's start: report them instead of waiting.
_STUCK_REASONS = {*workload.IMAGE_PULL_REASONS, *workload.CONFIG_REASONS, "RunContainerError"}


def _pod_problem(pod: KubeObject, events: Sequence[KubeObject]) -> workload.Cause | None:
    for cause in workload.pod_causes([pod], events):
        if cause.reason in _STUCK_REASONS:
            return cause
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "RunContainerError":
            message = str(waiting.get("message") or "").strip()
            return workload.Cause(pod["metadata"]["name"], "RunContainerError", message, "the container cannot start")
    return None


def _events(kube: KubeApi, namespace: str) -> list[KubeObject]:
    with contextlib.suppress(MlopsctlError):
        if kube.has_kind("v1", "Event"):
            return kube.list("v1", "Event", namespace)
    return []


def _job_failure(job: KubeObject | None) -> str | None:
    for condition in ((job or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return f"{condition.get('reason', 'Failed')}: {condition.get('message', '')}".rstrip(": ")
    return None


def _index(pod: KubeObject) -> int:
    meta = pod.get("metadata") or {}
    text = (meta.get("annotations") or {}).get(COMPLETION_INDEX) or (meta.get("labels") or {}).get(COMPLETION_INDEX)
    return int(str(text)) if str(text or "").isdigit() else 0


def wait_for_pods(
    kube: KubeApi,
    namespace: str,
    job: str,
    timeout: float,
    count: int = 1,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_cause: Callable[[str], None] | None = None,
) -> list[str] | None:
    """The names of the Job's `count` pods (by completion index) once each runs or has ended; ClusterError if
    one cannot start; None when `cancelled()` says to give up (checked once a second). Each new reason a pod is
    not running yet (unschedulable, a full quota) goes to `on_cause` as it appears."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    seen: set[str] = set()
    deadline = clock() + timeout
    while True:
        pods = kube.list("v1", "Pod", namespace, label_selector=run_selector(job))
        events = _events(kube, namespace)
        started: dict[int, str] = {}
        for pod in pods:
            name = pod["metadata"]["name"]
            if (pod.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed"):
                started.setdefault(_index(pod), name)
                continue
            problem = _pod_problem(pod, events)
            if problem:
                message = f": {problem.message}" if problem.message else ""
                raise ClusterError(
                    f"load generator pod {namespace}/{name} cannot start: {problem.reason}{message}",
                    hint=problem.hint + "; the load generator runs the platform image (`--image` picks another)",
                )
        if len(started) >= count:
            return [started[index] for index in sorted(started)][:count]
        failure = _job_failure(kube.get("batch/v1", "Job", job, namespace))
        if failure:
            raise ClusterError(f"load generator Job {namespace}/{job} failed: {failure}")
        causes = workload.pod_causes(pods, events) + workload.creation_failures(events, job)
        for said in [cause.describe() for cause in causes if cause.describe() not in seen]:
            seen.add(said)
            if on_cause is not None:
                on_cause(said)
        if clock() >= deadline:
            said, hint = workload.summarize(causes)
            which = "pod" if count == 1 else f"pods ({len(started)} of {count} running)"
            raise ClusterError(
                f"load generator {which} of Job {namespace}/{job} did not start within {timeout:.0f}s"
                + (f": {said}" if said else ""),
                hint=hint
                or f"a full ResourceQuota or no schedulable node? `kubectl -n {namespace} describe job {job}`",
            )
        if cancelled is not None and cancelled():
            return None
        sleep(1.0)


def wait_for_pod(kube: KubeApi, namespace: str, job: str, timeout: float, **kwargs: Any) -> str | None:
    """The one pod of a single-worker Job (see `wait_for_pods`)."""
    pods = wait_for_pods(kube, namespace, job, timeout, 1, **kwargs)
    return pods[0] if pods else None


def _ended_without_report(kube: KubeApi, namespace: str, pod: str, tail: list[str]) -> str:
    live = kube.get("v1", "Pod", pod, namespace) or {}
    for status in (live.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated") or {}
        if terminated:
            return f"{terminated.get('reason', 'terminated')} (exit code {terminated.get('exitCode')})"
    return tail[-1][:200] if tail else "no output"


def pod_feed(kube: KubeApi, namespace: str, pod: str, label: str) -> WorkerFeed:
    """A pod's JSON lines. A log stream can be cut while the pod still runs (an API server or proxy timeout):
    it is followed again, skipping the lines already read, up to LOG_RECONNECTS times."""

    def lines() -> Iterator[dict[str, Any]]:
        tail: list[str] = []
        seen = 0
        for _attempt in range(LOG_RECONNECTS + 1):
            skip = seen
            for raw in kube.pod_logs(namespace, pod, container=c.LOADTEST_CONTAINER, follow=True):
                if skip:
                    skip -= 1
                    continue
                seen += 1
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    line = None
                if not isinstance(line, dict):
                    tail = [*tail[-4:], raw]
                    continue
                yield line
                if line.get("type") in ("report", "error"):
                    return
            live = kube.get("v1", "Pod", pod, namespace) or {}
            if (live.get("status") or {}).get("phase") != "Running":
                break
        reason = _ended_without_report(kube, namespace, pod, tail)
        if any("unrecognized arguments" in line for line in tail):  # an image older than this mlopsctl
            reason = next(line for line in tail if "unrecognized arguments" in line)[:200]
            raise ClusterError(f"the load generator {label} refused its arguments: {reason}", hint=OLD_IMAGE_HINT)
        raise ClusterError(f"the load generator {label} ended without a report: {reason}")

    return WorkerFeed(pod, lines)
