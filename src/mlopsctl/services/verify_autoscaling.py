"""Live autoscaling verification: the metrics API is Available, every running tenant pod has metrics, each
tenant HPA can scale on a current CPU value; with load, the HPA really scales out (and, if asked, back in), and
the timeline says how fast."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis.hpa import condition, hpa_state
from mlopsctl.errors import PrerequisiteMissing
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services.verify import LiveCheck, LiveReport, utc_now
from mlopsctl.services.verify_network import live_tenants

METRICS_API_SERVICE = "v1beta1.metrics.k8s.io"


class LoadDriver(Protocol):
    """Drives load at a tenant from inside the cluster until stopped."""

    def start(self, tenant: str) -> Any: ...

    def failed(self, handle: Any) -> str | None:
        """Why the load ended on its own (an error), or None while it runs."""
        ...

    def stop(self, handle: Any) -> str | None:
        """End the load; a note when it did not end cleanly."""
        ...


# Enough for the default tenant (100m CPU request, 50% target) to exceed its target on the minimum replicas.
DEFAULT_LOAD_RATE = 150.0


@dataclass
class _LoadRun:
    thread: threading.Thread
    stop: threading.Event
    error: list[BaseException] = field(default_factory=list)
    result: list[Any] = field(default_factory=list)  # the load test's result, once it ended


class InClusterLoad:
    """The loadtest engine's in-cluster Job (`run_in_cluster`), run in the background so the HPA can be watched
    meanwhile; its progress callback returns True, which ends the load and deletes the Job, once stopped."""

    def __init__(self, api: KubeApi, run: Callable[..., Any], options: Any, join_timeout: float = 120.0) -> None:
        self.api, self.run, self.options, self.join_timeout = api, run, options, join_timeout

    def start(self, tenant: str) -> _LoadRun:
        stop = threading.Event()
        handle = _LoadRun(threading.Thread(name=f"load-{tenant}", daemon=True, target=lambda: None), stop)

        def work() -> None:
            try:
                handle.result.append(
                    self.run(self.api, tenant, self.options, on_progress=lambda progress: stop.is_set())
                )
            except BaseException as exc:  # reported through failed()/stop(), never lost in the thread
                handle.error.append(exc)

        handle.thread = threading.Thread(name=f"load-{tenant}", daemon=True, target=work)
        handle.thread.start()
        return handle

    @staticmethod
    def _describe(exc: BaseException) -> str:
        return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"

    def failed(self, handle: _LoadRun) -> str | None:
        return self._describe(handle.error[0]) if handle.error else None

    def result(self, handle: _LoadRun) -> Any:
        """What the load generator measured (a LoadtestResult), once stopped; None if it failed."""
        return handle.result[0] if handle.result else None

    def stop(self, handle: _LoadRun) -> str | None:
        handle.stop.set()
        handle.thread.join(self.join_timeout)
        if handle.thread.is_alive():
            return f"the load generator did not stop within {self.join_timeout:.0f}s"
        return f"the load generator failed: {self._describe(handle.error[0])}" if handle.error else None


def loadtest_driver(api: KubeApi, timeout: float = 300.0, rate: float = DEFAULT_LOAD_RATE) -> LoadDriver:
    """The in-cluster load generator of `mlopsctl loadtest`, as a LoadDriver: an open-model constant rate at the
    tenant's ClusterIP Service for at most the scale-up timeout (it is stopped as soon as the HPA scales)."""
    try:
        from mlopsctl.services import loadtest
    except ImportError as exc:
        raise PrerequisiteMissing(
            "--load needs the in-cluster load generator (mlopsctl.services.loadtest), which this build lacks",
            hint="run `mlopsctl verify autoscaling` without --load, and drive load with `mlopsctl loadtest TENANT`",
        ) from exc
    options = loadtest.LoadOptions(rate=rate, duration=timeout + 60.0)
    return InClusterLoad(api, loadtest.run_in_cluster, options)


def _check(name: str, expected: str, observed: str, passed: bool, method: str, detail: str, at: str) -> LiveCheck:
    return LiveCheck("autoscaling", name, expected, observed, passed, method, detail, at, at)


def _tenant_pods(api: KubeApi, tenant: str) -> list[dict[str, Any]]:
    pods = api.list("v1", "Pod", tenant, f"{c.NAME_LABEL}={c.APP_NAME}")
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]


def _hpa(api: KubeApi, tenant: str) -> dict[str, Any] | None:
    found = api.get("autoscaling/v2", "HorizontalPodAutoscaler", c.APP_NAME, tenant)
    if found is None:
        candidates = api.list("autoscaling/v2", "HorizontalPodAutoscaler", tenant)
        found = candidates[0] if candidates else None
    return found


def verify_autoscaling(
    api: KubeApi,
    *,
    tenants: Sequence[str] | None = None,
    load: LoadDriver | None = None,
    scale_down: bool = False,
    timeout: float = 300.0,
    poll: float = 5.0,
    status: Status | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], str] = utc_now,
) -> LiveReport:
    status = status or NullStatus()
    started = now()
    version = api.server_version()
    _, tenant_names = live_tenants(api, tenants)
    report = LiveReport("autoscaling", version, started, started)

    with status.step("checking the metrics API, pod metrics and HPAs"):
        service = api.get("apiregistration.k8s.io/v1", "APIService", METRICS_API_SERVICE)
        available = condition(service, "Available") if service is not None else None
        report.checks.append(
            _check(
                f"APIService {METRICS_API_SERVICE}",
                "Available=True",
                "absent" if available is None else f"Available={available.describe()}",
                bool(available and available.true),
                "read APIService conditions",
                (available.message if available else "no metrics API: HPAs show <unknown> and never scale")
                or "metrics-server answers",
                now(),
            )
        )
        for tenant in tenant_names:
            pods = _tenant_pods(api, tenant)
            measured = (
                {m["metadata"]["name"] for m in _pod_metrics(api, tenant)} if available and available.true else set()
            )
            names = {p["metadata"]["name"] for p in pods}
            lacking = sorted(names - measured)
            report.checks.append(
                _check(
                    f"{tenant}: pod metrics",
                    f"metrics for all {len(names)} running pod(s)",
                    f"metrics for {len(names & measured)} of {len(names)}",
                    bool(names) and not lacking,
                    "list metrics.k8s.io/v1beta1 PodMetrics",
                    ("missing: " + ", ".join(lacking)) if lacking else ("no running pods" if not names else ""),
                    now(),
                )
            )
            hpa = _hpa(api, tenant)
            if hpa is None:
                report.checks.append(
                    _check(f"{tenant}: HPA", "an autoscaling/v2 HPA", "none", False, "get HPA", "", now())
                )
                continue
            state = hpa_state(hpa)
            cpu = "-" if state.cpu_utilization is None else f"{state.cpu_utilization}%"
            report.checks.append(
                _check(
                    f"{tenant}: HPA {state.name} can scale",
                    "AbleToScale=True, ScalingActive=True, a current CPU value",
                    f"AbleToScale={state.able_to_scale.describe()}, ScalingActive={state.scaling_active.describe()}, "
                    f"CPU {cpu} of target {state.cpu_target}%",
                    state.ready,
                    "read HPA status",
                    "; ".join(state.problems)
                    or f"{state.current_replicas} replica(s), min {state.min_replicas}, max {state.max_replicas}",
                    now(),
                )
            )

    if load is not None:
        for tenant in tenant_names:
            _load_phase(api, tenant, load, report, scale_down, timeout, poll, status, sleep, clock, now)
    report.finished = now()
    return report.conclude()


def _pod_metrics(api: KubeApi, tenant: str) -> list[dict[str, Any]]:
    return api.list("metrics.k8s.io/v1beta1", "PodMetrics", tenant)


def _keep_load_result(load: LoadDriver, handle: Any, report: LiveReport) -> None:
    """The driver's measurements (latency, rate, the HPA per second) go into the report for the HTML page; a
    driver that keeps none (a fake, another implementation) simply adds nothing."""
    collect = getattr(load, "result", None)
    measured = collect(handle) if callable(collect) else None
    if measured is not None and dataclasses.is_dataclass(measured) and not isinstance(measured, type):
        report.loads.append(dataclasses.asdict(measured))


def _load_phase(
    api: KubeApi,
    tenant: str,
    load: LoadDriver,
    report: LiveReport,
    scale_down: bool,
    timeout: float,
    poll: float,
    status: Status,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    now: Callable[[], str],
) -> None:
    hpa = _hpa(api, tenant)
    if hpa is None:
        return
    minimum = hpa_state(hpa).min_replicas
    start = clock()
    peak, cpu_peak, first_up = minimum, None, None
    failure: str | None = None
    stop_note: str | None = None

    def sample(phase: str) -> int:
        nonlocal peak, cpu_peak
        state = hpa_state(_hpa(api, tenant) or hpa)
        replicas = state.current_replicas
        peak = max(peak, replicas)
        if state.cpu_utilization is not None:
            cpu_peak = max(cpu_peak or 0, state.cpu_utilization)
        report.timeline.append(
            {
                "tenant": tenant,
                "phase": phase,
                "at": now(),
                "seconds": round(clock() - start, 1),
                "replicas": replicas,
                "desired": state.desired_replicas,
                "cpu_percent": state.cpu_utilization,
            }
        )
        return replicas

    with status.step(f"{tenant}: driving in-cluster load until the HPA scales out (at most {timeout:.0f}s)"):
        handle = load.start(tenant)
        try:
            deadline = clock() + timeout
            while True:
                if sample("load") > minimum:
                    first_up = clock() - start
                    break
                failure = load.failed(handle)
                if failure or clock() >= deadline:
                    break
                sleep(poll)
            if first_up is not None:
                # Keep the load a little longer to see the peak the HPA reaches.
                settle = min(deadline, clock() + 3 * poll)
                while clock() < settle:
                    sleep(poll)
                    sample("load")
        finally:
            stop_note = load.stop(handle)
    _keep_load_result(load, handle, report)
    elapsed = clock() - start
    cpu_text = "no CPU value seen" if cpu_peak is None else f"CPU up to {cpu_peak}%"
    if stop_note:
        report.notes.append(f"{tenant}: {stop_note}")
    report.checks.append(
        _check(
            f"{tenant}: scale-up under load",
            f"more than {minimum} replica(s) within {timeout:.0f}s",
            f"{peak} replica(s) after {first_up:.0f}s, {cpu_text}"
            if first_up is not None
            else f"stayed at {peak} replica(s) for {elapsed:.0f}s, {cpu_text}",
            first_up is not None,
            "in-cluster load at the Service's ClusterIP, HPA status polled every " + f"{poll:g}s",
            f"time to first scale-up {first_up:.1f}s, peak {peak} replicas"
            if first_up is not None
            else (f"the load ended early: {failure}" if failure else ""),
            now(),
        )
    )
    report.notes.append(
        f"{tenant}: time to first scale-up "
        + (f"{first_up:.1f}s" if first_up is not None else "not reached")
        + f", peak {peak} replicas, {cpu_text}"
    )
    if not scale_down or first_up is None:
        return
    down_start = clock()
    back = None
    with status.step(f"{tenant}: waiting for the HPA to scale back to {minimum} (at most {timeout:.0f}s)"):
        deadline = clock() + timeout
        while True:
            if sample("cool-down") <= minimum:
                back = clock() - down_start
                break
            if clock() >= deadline:
                break
            sleep(poll)
    report.checks.append(
        _check(
            f"{tenant}: scale-down after load",
            f"back to {minimum} replica(s) within {timeout:.0f}s",
            f"back to {minimum} after {back:.0f}s"
            if back is not None
            else f"still above {minimum} after {timeout:.0f}s",
            back is not None,
            f"HPA status polled every {poll:g}s after the load stopped",
            "the HPA's scale-down stabilization window sets the pace",
            now(),
        )
    )
    report.notes.append(f"{tenant}: time back to minimum " + (f"{back:.1f}s" if back is not None else "not reached"))
