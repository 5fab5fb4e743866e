"""Load tests of a tenant: in the cluster (a Job next to the tenant's pods), from the host (`--url`), or through
`kubectl port-forward` (one pod only), with the HPA watched while the load runs.

The engine is `inference.loadgen` in every mode; in the cluster it runs from the tenant's own image and streams
one JSON line per second through the pod's log, which this module turns into `Progress` callbacks and, at the
end, a `LoadtestResult`. The Job (and the NetworkPolicy that lets it reach the inference pods) is deleted when
the run ends, fails, or is interrupted.

For `verify autoscaling --load` (or any caller) the entry point is `run_in_cluster`:

    result = run_in_cluster(kube, "tenant-a", LoadOptions(rate=300, duration=180), on_progress=callback)

`callback(progress)` is called once a second: while the Job's pod starts (phase "starting"), then for every
second of load (progress.hpa holds the HPA's replicas and CPU at that moment); returning True ends the load
early (the Job is deleted, `result.stopped_early` is set).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from inference.loadgen.spec import LoadConfig, SloResult, SloThreshold, SpecError, evaluate_slo, parse_slo
from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import (
    ClusterError,
    ClusterUnreachable,
    ExternalCommandFailed,
    MlopsctlError,
    NotFound,
    UsageError,
)
from mlopsctl.manifests.loadtest import LoadtestJobValues, render_loadtest_job, run_selector
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services import platform_image

# How often a cut log stream of a still-running load generator is followed again.
LOG_RECONNECTS = 3
# How long the in-cluster engine keeps trying to connect: a new pod's NetworkPolicy can take a moment to apply.
IN_CLUSTER_CONNECT_WAIT = 60.0
# Container states that will not fix themselves within a load test's start: report them instead of waiting.
_STUCK_REASONS = {*workload.IMAGE_PULL_REASONS, *workload.CONFIG_REASONS, "RunContainerError"}
PORT_FORWARD_NOTE = (
    "kubectl port-forward sends every request to ONE pod of the Service: the HPA's new replicas get none of "
    "this load. Run without --port-forward/--url for load spread over all pods."
)


class LoadtestInterrupted(KeyboardInterrupt):
    """Ctrl-C during a load test, after cleaning up; `result` is the partial report (the CLI prints it, exit 130)."""

    def __init__(self, result: LoadtestResult) -> None:
        super().__init__("interrupted")
        self.result = result


@dataclass(frozen=True)
class LoadOptions:
    """What load to generate; the target URL is decided by the mode (in-cluster, --url, --port-forward)."""

    rate: float | None = None
    rate_from: float | None = None
    rate_to: float | None = None
    concurrency: int | None = None
    duration: float | None = 30.0
    requests: int | None = None
    warmup: float = 0.0
    mix: str = "predict"
    batch_size: int = 16
    bodies: tuple[str, ...] = ()
    path: str | None = None
    max_in_flight: int = 1000
    connections: int = 128
    timeout: float = 10.0

    def engine_config(self, url: str, connect_wait: float = 0.0) -> LoadConfig:
        config = LoadConfig(
            url=url,
            rate=self.rate,
            rate_from=self.rate_from,
            rate_to=self.rate_to,
            concurrency=self.concurrency,
            duration=self.duration,
            requests=self.requests,
            warmup=self.warmup,
            mix=self.mix,
            batch_size=self.batch_size,
            bodies=self.bodies,
            path=self.path,
            max_in_flight=self.max_in_flight,
            max_connections=self.connections,
            timeout=self.timeout,
            connect_wait=connect_wait,
        )
        try:
            return config.validate()
        except SpecError as exc:
            raise UsageError(str(exc), hint="see `mlopsctl loadtest --help`") from None

    @property
    def planned_seconds(self) -> float:
        """How long the load is planned to run (warm-up included), for the Job's deadline."""
        if self.duration is not None:
            return self.warmup + self.duration
        rate = self.rate or self.rate_from or 1.0
        per_second = rate if self.concurrency is None else 50.0 * self.concurrency
        return self.warmup + (self.requests or 0) / per_second


def parse_options(
    *,
    rate: str | None = None,
    rate_from: str | None = None,
    rate_to: str | None = None,
    concurrency: int | None = None,
    duration: str | None = None,
    requests: int | None = None,
    warmup: str | None = None,
    mix: str = "predict",
    batch_size: int = 16,
    body_file_text: str | None = None,
    body_file_name: str = "--body-file",
    path: str | None = None,
    max_in_flight: int = 1000,
    connections: int = 128,
    timeout: str = "10s",
) -> LoadOptions:
    """Options as typed on the command line -> LoadOptions; every bad value is a UsageError naming the option.

    With no load model given, the open model at 50 requests/s; with neither --duration nor --requests, 30 s.
    """
    from inference.loadgen.mix import load_body_file
    from inference.loadgen.spec import parse_duration, parse_rate

    try:
        if rate is None and rate_from is None and rate_to is None and concurrency is None:
            rate = "50"
        bodies: tuple[str, ...] = ()
        if body_file_text is not None:
            try:
                bodies = tuple(load_body_file(body_file_text))
            except ValueError as exc:
                raise SpecError(f"invalid --body-file {body_file_name}: {exc}") from None
        options = LoadOptions(
            rate=parse_rate(rate) if rate is not None else None,
            rate_from=parse_rate(rate_from, "--rate-from") if rate_from is not None else None,
            rate_to=parse_rate(rate_to, "--rate-to") if rate_to is not None else None,
            concurrency=concurrency,
            duration=parse_duration(duration) if duration is not None else (None if requests else 30.0),
            requests=requests,
            warmup=0.0 if warmup in (None, "0", "0s") else parse_duration(warmup, "--warmup"),
            mix=mix,
            batch_size=batch_size,
            bodies=bodies,
            path=path,
            max_in_flight=max_in_flight,
            connections=connections,
            timeout=parse_duration(timeout, "--timeout"),
        )
    except SpecError as exc:
        raise UsageError(str(exc), hint="see `mlopsctl loadtest --help`") from None
    options.engine_config("http://validation.invalid")  # the remaining cross-option checks
    return options


# Without --slo a run still fails (exit 6) when it barely worked: no request answered, or more than this share of
# errors. It is a "the test itself is broken" floor, not a quality target: give --slo for that, or --slo none.
DEFAULT_SLO = "errors<5%"


def parse_slo_option(text: str | None) -> tuple[SloThreshold, ...]:
    """The --slo thresholds; DEFAULT_SLO when none were given, nothing for `--slo none`."""
    if text is None:
        text = DEFAULT_SLO
    if text.strip().lower() == "none":
        return ()
    try:
        return parse_slo(text)
    except SpecError as exc:
        raise UsageError(str(exc), hint='for example --slo "p99<200ms,errors<1%"') from None


# ------------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class HpaSample:
    t: float  # seconds since the measured load began
    current_replicas: int | None
    desired_replicas: int | None
    cpu_percent: int | None  # current average CPU utilization (of requests)
    cpu_target_percent: int | None
    min_replicas: int | None
    max_replicas: int | None


@dataclass(frozen=True)
class Progress:
    """One second of a run: `interval` is that second (a timeline entry), `summary` the run so far."""

    t: float
    phase: str  # starting (the Job's pod is not running yet) | warmup | run
    interval: dict[str, Any] | None
    summary: dict[str, Any] | None
    hpa: HpaSample | None


@dataclass
class LoadtestResult:
    tenant: str
    mode: str  # in-cluster | url | port-forward
    target: str
    job: str | None
    interrupted: bool
    stopped_early: bool
    slo_passed: bool | None
    slo: list[SloResult]
    report: dict[str, Any]
    hpa: list[HpaSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def slo_breaches(self) -> list[SloResult]:
        return [result for result in self.slo if not result.passed]


def hpa_sample(hpa: KubeObject, t: float) -> HpaSample:
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    cpu_now = cpu_target = None
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            cpu_now = (resource.get("current") or {}).get("averageUtilization")
    for metric in spec.get("metrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            cpu_target = (resource.get("target") or {}).get("averageUtilization")
    return HpaSample(
        t=round(t, 3),
        current_replicas=status.get("currentReplicas"),
        desired_replicas=status.get("desiredReplicas"),
        cpu_percent=cpu_now,
        cpu_target_percent=cpu_target,
        min_replicas=spec.get("minReplicas"),
        max_replicas=spec.get("maxReplicas"),
    )


class HpaWatcher:
    """Reads the tenant's HPA at most once per `interval`; in a thread for host-side runs (the engine's event
    loop must never wait for the API server), inline for in-cluster runs."""

    def __init__(self, kube: KubeApi, namespace: str, name: str = c.APP_NAME, interval: float = 1.0) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.interval = interval
        self.latest: HpaSample | None = None
        self._last_read = -math.inf
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()

    def read(self, t: float) -> HpaSample | None:
        try:
            hpa = self.kube.get("autoscaling/v2", "HorizontalPodAutoscaler", self.name, self.namespace)
        except MlopsctlError:
            return self.latest  # a missed reading is not worth failing the load test for
        if hpa is not None:
            self.latest = hpa_sample(hpa, t)
        return self.latest

    def sample(self, t: float, now: float) -> HpaSample | None:
        if now - self._last_read >= self.interval:
            self._last_read = now
            return self.read(t)
        return self.latest

    def start(self, t0: float | None = None) -> None:
        self._t0 = time.monotonic() if t0 is None else t0

        def loop() -> None:
            while not self._stop.is_set():
                self.read(time.monotonic() - self._t0)
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=loop, name="hpa-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass
class _Run:
    """What has been seen of a run so far, to build the final or the partial result."""

    tenant: str
    mode: str
    target: str
    job: str | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    hpa: list[HpaSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped_early: bool = False

    def progress(self, line: dict[str, Any], hpa: HpaSample | None) -> Progress:
        interval = line.get("interval")
        if line.get("phase") == "run" and interval is not None:
            self.timeline.append(interval)
            self.summary = line.get("summary") or self.summary
        if hpa is not None:
            hpa = dataclasses.replace(hpa, t=float(line.get("t") or 0.0))
            self.hpa.append(hpa)
        return Progress(float(line.get("t") or 0.0), str(line.get("phase")), interval, line.get("summary"), hpa)

    def partial_report(self) -> dict[str, Any]:
        """The last progress line's totals and every second seen; stopped early on purpose is not interrupted."""
        report = dict(self.summary or {})
        report["timeline"] = list(self.timeline)
        report["interrupted"] = not self.stopped_early
        return report

    def result(
        self, report: dict[str, Any] | None, slo: Sequence[SloThreshold], interrupted: bool = False
    ) -> LoadtestResult:
        report = report if report is not None else self.partial_report()
        checks = evaluate_slo(report, tuple(slo)) if slo and report.get("requests") else []
        passed = all(check.passed for check in checks) if checks else None
        return LoadtestResult(
            tenant=self.tenant,
            mode=self.mode,
            target=self.target,
            job=self.job,
            interrupted=interrupted or bool(report.get("interrupted")),
            stopped_early=self.stopped_early,
            slo_passed=passed,
            slo=checks,
            report=report,
            hpa=list(self.hpa),
            notes=list(self.notes),
        )


def _attach_partial(exc: MlopsctlError, result: LoadtestResult | None) -> MlopsctlError:
    """Errors after load began carry what was measured; the CLI prints it before the error."""
    exc.partial_result = result  # type: ignore[attr-defined]
    return exc


# ------------------------------------------------------------------------------------------------------ targets
@dataclass(frozen=True)
class TenantTarget:
    tenant: str
    namespace: str
    image: str
    url: str


service_url = workload.service_url


def find_target(kube: KubeApi, tenant: str) -> TenantTarget:
    """The tenant's namespace, the image its Deployment runs and its Service; NotFound with a hint otherwise."""
    namespace = tenant
    hint = "`mlopsctl tenant list` shows the tenants; `mlopsctl tenant add NAME` creates one"
    ns = kube.get("v1", "Namespace", namespace)
    labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
    if ns is None or labels.get(c.MANAGED_BY_LABEL) != c.MANAGED_BY:
        raise NotFound(f"tenant {tenant!r} not found", hint=hint)
    deployment = kube.get("apps/v1", "Deployment", c.APP_NAME, namespace)
    if deployment is None:
        raise NotFound(
            f"tenant {tenant!r} has no {c.APP_NAME} Deployment", hint=f"re-apply it: mlopsctl tenant add {tenant}"
        )
    image = workload.container_image(deployment)
    if not image:
        raise NotFound(f"tenant {tenant!r}: cannot tell the image of its {c.APP_NAME} Deployment")
    if kube.get("v1", "Service", c.APP_NAME, namespace) is None:
        raise NotFound(
            f"tenant {tenant!r} has no {c.APP_NAME} Service", hint=f"re-apply it: mlopsctl tenant add {tenant}"
        )
    return TenantTarget(tenant, namespace, image, service_url(namespace))


# --------------------------------------------------------------------------------------------------- in-cluster
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


def wait_for_pod(
    kube: KubeApi,
    namespace: str,
    job: str,
    timeout: float,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_cause: Callable[[str], None] | None = None,
) -> str | None:
    """The name of the Job's pod once it runs (or has already ended); ClusterError if it cannot start; None
    when `cancelled()` says to give up (checked once a second). Each new reason the pod is not running yet
    (unschedulable, a full quota) goes to `on_cause` as it appears."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    seen: set[str] = set()
    deadline = clock() + timeout
    while True:
        pods = kube.list("v1", "Pod", namespace, label_selector=run_selector(job))
        events = _events(kube, namespace)
        for pod in pods:
            name = pod["metadata"]["name"]
            if (pod.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed"):
                return name
            problem = _pod_problem(pod, events)
            if problem:
                message = f": {problem.message}" if problem.message else ""
                raise ClusterError(
                    f"load generator pod {namespace}/{name} cannot start: {problem.reason}{message}",
                    hint=problem.hint + "; the load generator runs the platform image (`--image` picks another)",
                )
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
            raise ClusterError(
                f"load generator pod of Job {namespace}/{job} did not start within {timeout:.0f}s"
                + (f": {said}" if said else ""),
                hint=hint
                or f"a full ResourceQuota or no schedulable node? `kubectl -n {namespace} describe job {job}`",
            )
        if cancelled is not None and cancelled():
            return None
        sleep(1.0)


def _ended_without_report(kube: KubeApi, namespace: str, pod: str, tail: list[str]) -> str:
    live = kube.get("v1", "Pod", pod, namespace) or {}
    for status in (live.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated") or {}
        if terminated:
            return f"{terminated.get('reason', 'terminated')} (exit code {terminated.get('exitCode')})"
    return tail[-1][:200] if tail else "no output"


def _stream(
    kube: KubeApi,
    namespace: str,
    pod: str,
    run: _Run,
    hpa: HpaWatcher,
    on_progress: Callable[[Progress], bool | None] | None,
    clock: Callable[[], float],
) -> dict[str, Any] | None:
    """Follow the pod's JSON lines; the final report, or None when the caller stopped the load early.

    A log stream can be cut while the pod still runs (an API server or proxy timeout): it is followed again,
    skipping the lines already read, up to LOG_RECONNECTS times.
    """
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
            kind = line.get("type")
            if kind == "progress":
                sample = hpa.sample(float(line.get("t") or 0.0), clock())
                progress = run.progress(line, sample)
                if on_progress is not None and on_progress(progress) is True:
                    run.stopped_early = True
                    return None
            elif kind == "report":
                return line.get("report")
            elif kind == "error":
                message = str(line.get("message") or "the load generator failed")
                if line.get("kind") == "unreachable":
                    raise ClusterUnreachable(
                        f"the load generator in {namespace} could not reach the service: {message}",
                        hint=f"are the tenant's pods ready? `mlopsctl tenant status {run.tenant}`",
                    )
                raise UsageError(f"the load generator refused its options: {message}")
        live = kube.get("v1", "Pod", pod, namespace) or {}
        if (live.get("status") or {}).get("phase") != "Running":
            break
    reason = _ended_without_report(kube, namespace, pod, tail)
    raise ClusterError(f"the load generator in {namespace} ended without a report: {reason}")


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """A second Ctrl-C must not cut the cleanup short (only the main thread receives signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _cleanup(kube: KubeApi, namespace: str, job: str) -> list[str]:
    """Delete the Job, its pods and its NetworkPolicy; what could not be deleted comes back as notes."""
    with _no_interrupts():
        return _delete_run(kube, namespace, job)


def _delete_run(kube: KubeApi, namespace: str, job: str) -> list[str]:
    notes: list[str] = []
    steps: list[tuple[str, str, str]] = [("batch/v1", "Job", job)]
    with contextlib.suppress(MlopsctlError):  # the Job's deletion (propagation Background) removes them anyway
        steps += [
            ("v1", "Pod", pod["metadata"]["name"]) for pod in kube.list("v1", "Pod", namespace, run_selector(job))
        ]
    steps.append(("networking.k8s.io/v1", "NetworkPolicy", job))
    for api_version, kind, name in steps:
        try:
            kube.delete(api_version, kind, name, namespace)
        except MlopsctlError as exc:
            notes.append(f"could not delete {kind} {namespace}/{name}: {exc.message}")
    return notes


def run_in_cluster(
    kube: KubeApi,
    tenant: str,
    options: LoadOptions,
    *,
    on_progress: Callable[[Progress], bool | None] | None = None,
    slo: Sequence[SloThreshold] = (),
    image: str | None = None,
    start_timeout: float = 120.0,
    name: str | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    status: Status | None = None,
) -> LoadtestResult:
    """Run the load as a Job in the tenant's namespace, aimed at its ClusterIP Service; always deletes the Job.

    Raises NotFound (unknown tenant), ClusterError (the pod cannot start, or ends without a report),
    ClusterUnreachable (the service cannot be reached), LoadtestInterrupted (Ctrl-C; carries the partial result).
    """
    clock = clock or time.monotonic
    target = find_target(kube, tenant)
    config = options.engine_config(target.url, connect_wait=IN_CLUSTER_CONNECT_WAIT)
    job_name = name or f"loadtest-{secrets.token_hex(3)}"
    job, policy = render_loadtest_job(
        LoadtestJobValues(
            tenant=tenant,
            name=job_name,
            image=platform_image.job_image(kube, explicit=image, fallback=target.image),
            args=[*config.to_args(), "--stream"],
            planned_seconds=options.planned_seconds + IN_CLUSTER_CONNECT_WAIT + options.timeout,
        )
    )
    run = _Run(tenant, "in-cluster", target.url, job_name)
    hpa = HpaWatcher(kube, target.namespace)
    interrupted = False
    report: dict[str, Any] | None = None
    status = status or NullStatus()

    def cancelled() -> bool:
        """While the pod starts, the caller still hears once a second (phase "starting") and may give up."""
        return on_progress is not None and on_progress(Progress(0.0, "starting", None, None, None)) is True

    try:
        with status.step(f"start the load generator Job {target.namespace}/{job_name}"):
            live = kube.apply(job)
            uid = (live.get("metadata") or {}).get("uid")
            if uid:  # deleting the Job (or its TTL) then deletes the policy too
                policy["metadata"]["ownerReferences"] = [
                    {"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid, "blockOwnerDeletion": False}
                ]
            kube.apply(policy)
        with status.step("wait for its pod to run"):
            pod = wait_for_pod(
                kube, target.namespace, job_name, start_timeout, sleep, clock, cancelled, on_cause=status.note
            )
        if pod is None:
            run.stopped_early = True
        else:
            report = _stream(kube, target.namespace, pod, run, hpa, on_progress, clock)
    except KeyboardInterrupt:
        interrupted = True
    except MlopsctlError as exc:
        run.notes += _cleanup(kube, target.namespace, job_name)
        raise _attach_partial(exc, run.result(None, slo, interrupted=True) if run.summary else None) from None
    except BaseException:
        _cleanup(kube, target.namespace, job_name)  # even a bug must not leave the Job running
        raise
    run.notes += _cleanup(kube, target.namespace, job_name)
    if interrupted:
        raise LoadtestInterrupted(run.result(None, slo, interrupted=True))
    return run.result(report, slo)


# ------------------------------------------------------------------------------------------------ from the host
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
    """Run the engine in this process against `url` (`--url`, or the local end of a port-forward)."""
    from inference.loadgen import engine

    config = options.engine_config(url)
    run = _Run(tenant, mode, url, notes=list(notes))

    def progress(line: dict[str, Any]) -> bool | None:
        result = run.progress(line, hpa.latest if hpa is not None else None)
        if on_progress is not None and on_progress(result) is True:
            run.stopped_early = True
            return True
        return None

    if hpa is not None:
        hpa.start()
    try:
        report = engine.run(config, progress)
    except engine.TargetUnreachable as exc:
        raise ClusterUnreachable(str(exc), hint="check the URL, and that the service is up") from None
    except engine.Interrupted as exc:
        raise LoadtestInterrupted(run.result(exc.report, slo, interrupted=True)) from None
    finally:
        if hpa is not None:
            hpa.stop()
    return run.result(report, slo)


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_forward_argv(namespace: str, local_port: int, context: str | None, kubeconfig: str | None) -> list[str]:
    argv = ["kubectl"]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    if context:
        argv += ["--context", context]
    return [
        *argv,
        "--namespace",
        namespace,
        "port-forward",
        "--address",
        "127.0.0.1",
        f"service/{c.APP_NAME}",
        f"{local_port}:{c.SERVICE_PORT}",
    ]


def _wait_for_listener(process: Any, port: int, timeout: float, sleep: Callable[[float], None]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = (process.stderr.read() if process.stderr else "") or "no output"
            raise ExternalCommandFailed(
                f"kubectl port-forward exited with {process.returncode}: {stderr.strip().splitlines()[-1]}",
                hint="are the tenant's pods ready? `mlopsctl tenant status`",
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            sleep(0.1)
    raise ExternalCommandFailed(f"kubectl port-forward did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def run_port_forward(
    kube: KubeApi,
    spawner: Any,
    tenant: str,
    options: LoadOptions,
    *,
    context: str | None = None,
    kubeconfig: str | None = None,
    on_progress: Callable[[Progress], bool | None] | None = None,
    slo: Sequence[SloThreshold] = (),
    local_port: int | None = None,
    sleep: Callable[[float], None] | None = None,
) -> LoadtestResult:
    """Open `kubectl port-forward` to the tenant's Service and load it from here. It reaches a single pod."""
    target = find_target(kube, tenant)
    port = local_port or free_local_port()
    process = spawner.spawn(port_forward_argv(target.namespace, port, context, kubeconfig))
    try:
        _wait_for_listener(process, port, 20.0, sleep or time.sleep)
        return run_local(
            tenant,
            f"http://127.0.0.1:{port}",
            options,
            on_progress=on_progress,
            slo=slo,
            hpa=HpaWatcher(kube, target.namespace),
            mode="port-forward",
            notes=[PORT_FORWARD_NOTE],
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except Exception:
            process.kill()
