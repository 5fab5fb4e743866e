"""Waiting for workloads to run, and saying why they do not as soon as their pods say so.

Every wait on a Deployment (`tenant add`, `cluster up`, `tenant set-model`, `storage install`) goes through
`wait_for_deployment`: it watches the Deployment in short slices and, between them, reads the pods, their
ReplicaSets and the namespace's Warning events (`analysis.workload.pod_causes`). A new cause is reported at
once; one that cannot heal (an image the registry does not have) fails the wait after a short grace instead of
the whole timeout; the final error names every cause and the fix.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.analysis.workload import Cause
from mlopsctl.errors import ClusterError, MlopsctlError
from mlopsctl.progress import Status

POLL_SECONDS = 5.0
# An ErrImagePull "not found" is retried by the kubelet; give a push that is still running this long to land.
FATAL_GRACE_SECONDS = 20.0
LOG_LINES = 5


class RolloutFailed(ClusterError):
    """A workload cannot run: the message names the pods' causes, the hint the fix.

    `outcome`: "timeout" (time ran out), "deadline" (the Deployment gave up) or "fatal" (a cause that cannot
    heal); `causes`: what the pods said, for callers that word their own message."""

    def __init__(
        self, message: str, hint: str | None, *, outcome: str, failure: str = "", causes: Sequence[Cause] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.outcome = outcome
        self.failure = failure
        self.causes = list(causes)


def read_causes(api: KubeApi, namespace: str, selector: str, *, log_container: str | None = None) -> list[Cause]:
    """The causes the cluster states for the pods of `selector` in `namespace`; what cannot be read is left out
    (a cause is a diagnosis: reading it must never turn a slow rollout into a failed command)."""
    pods: list[KubeObject] = []
    replicasets: list[KubeObject] = []
    events: list[KubeObject] = []
    logs: dict[str, list[str]] = {}
    with contextlib.suppress(MlopsctlError):
        pods = api.list("v1", "Pod", namespace, label_selector=selector)
    with contextlib.suppress(MlopsctlError):
        if api.has_kind("apps/v1", "ReplicaSet"):
            replicasets = api.list("apps/v1", "ReplicaSet", namespace, label_selector=selector)
    with contextlib.suppress(MlopsctlError):
        if api.has_kind("v1", "Event"):
            events = api.list("v1", "Event", namespace)
    for name in workload.crash_looping(pods):
        with contextlib.suppress(MlopsctlError):
            logs[name] = list(api.pod_logs(namespace, name, container=log_container))[-LOG_LINES:]
    return workload.pod_causes(pods, events, replicasets, logs)


def workload_causes(
    api: KubeApi, api_version: str, kind: str, name: str, namespace: str | None
) -> tuple[str, str | None]:
    """(what the pods of a Deployment, StatefulSet or DaemonSet say, the fix) for a wait's error; ("", None)
    when it has no pods or they cannot be read."""
    if namespace is None:
        return "", None
    with contextlib.suppress(MlopsctlError):
        spec = workload.spec_of(api.get(api_version, kind, name, namespace))
        labels = (spec.get("selector") or {}).get("matchLabels") or {}
        if labels:
            return workload.summarize(read_causes(api, namespace, workload.selector_string(labels)))
    return "", None


class CauseReporter:
    """Notes each distinct cause once, and tells how long a fatal one has persisted (in polls)."""

    def __init__(self, status: Status) -> None:
        self.status = status
        self.seen: set[tuple[str, str, str]] = set()
        self.fatal_polls = 0
        self.causes: list[Cause] = []

    def update(self, causes: list[Cause]) -> None:
        self.causes = causes
        for cause in causes:
            key = (cause.pod, cause.reason, cause.message)
            if key not in self.seen:
                self.seen.add(key)
                self.status.note(cause.describe())
        self.fatal_polls = self.fatal_polls + 1 if any(cause.fatal for cause in causes) else 0

    def fatal(self) -> list[Cause]:
        return [cause for cause in self.causes if cause.fatal]

    def summary(self) -> tuple[str, str | None]:
        return workload.summarize(self.causes)

    def failed(self, message: str, hint: str | None, outcome: str, failure: str) -> RolloutFailed:
        """The error that ends the wait, carrying every cause seen."""
        return RolloutFailed(message, hint, outcome=outcome, failure=failure, causes=self.causes)


def wait_for_deployment(
    api: KubeApi,
    namespace: str,
    name: str,
    timeout: float,
    status: Status,
    *,
    hint: str | None = None,
    log_container: str | None = None,
    poll: float = POLL_SECONDS,
    grace: float = FATAL_GRACE_SECONDS,
) -> KubeObject:
    """Wait until the Deployment has rolled out (`workload.rollout_state`); RolloutFailed with the pods' causes
    when it gave up, cannot heal, or time ran out. `hint` is the fallback when no cause is known."""
    what = f"Deployment {namespace}/{name}"
    fallback = hint or f"look at the pods: kubectl -n {namespace} get pods; kubectl -n {namespace} describe pods"
    reporter = CauseReporter(status)
    last_progress: list[str] = []

    def settled(deployment: KubeObject | None) -> bool:
        state = workload.rollout_state(deployment)
        if deployment is not None and (not last_progress or last_progress[-1] != state.progress):
            last_progress.append(state.progress)
            status.note(f"{namespace}/{name}: {state.progress}")
        return state.complete or state.failure is not None

    selector: str | None = None
    slices = max(1, math.ceil(timeout / poll))
    grace_polls = max(1, math.ceil(grace / poll))
    for _ in range(slices):
        try:
            found = api.wait_for("apps/v1", "Deployment", name, namespace, settled, min(poll, timeout))
        except TimeoutError:
            found = None
        if found is not None and workload.rollout_state(found).complete:
            return found
        if selector is None:
            deployment = found or api.get("apps/v1", "Deployment", name, namespace)
            match = (workload.spec_of(deployment).get("selector") or {}).get("matchLabels") or {}
            selector = workload.selector_string(match) if match else None
        if selector is not None:
            reporter.update(read_causes(api, namespace, selector, log_container=log_container))
        said, cause_hint = reporter.summary()
        if found is not None:  # the Deployment gave up: its progress deadline passed
            failure = workload.rollout_state(found).failure or "progress deadline exceeded"
            message = f"{what} exceeded its progress deadline: {said or failure}"
            raise reporter.failed(message, cause_hint or fallback, "deadline", failure)
        if reporter.fatal() and reporter.fatal_polls >= grace_polls:
            fatal, fatal_hint = workload.summarize(reporter.fatal())
            raise reporter.failed(f"{what} cannot roll out: {fatal}", fatal_hint, "fatal", fatal)
    said, cause_hint = reporter.summary()
    detail = f": {said}" if said else ""
    raise reporter.failed(
        f"{what} did not finish rolling out within {timeout:.0f}s{detail}", cause_hint or fallback, "timeout", said
    )
