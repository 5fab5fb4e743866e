"""The load as an Indexed Job in the tenant's namespace: N pods of the platform image (else the tenant's), aimed
at its ClusterIP Service, each sending its share of one schedule from an agreed wall-clock start, each followed
through its log.

The Job and the NetworkPolicy that lets its pods reach the inference pods are deleted when the run ends, fails
or is interrupted; if mlopsctl dies, activeDeadlineSeconds and ttlSecondsAfterFinished clean up instead.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from inference.loadgen.merge import MergeError, merge_reports
from inference.loadgen.spec import SloThreshold
from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.errors import ClusterError, ClusterUnreachable, MlopsctlError, UsageError
from mlopsctl.manifests.loadtest import LoadtestJobValues, render_loadtest_job, run_selector
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services import platform_image
from mlopsctl.services.loadtest.hpa import HpaWatcher
from mlopsctl.services.loadtest.merge import follow_workers
from mlopsctl.services.loadtest.options import LoadOptions
from mlopsctl.services.loadtest.pods import OLD_IMAGE_HINT, pod_feed, wait_for_pods
from mlopsctl.services.loadtest.quota import check_headroom
from mlopsctl.services.loadtest.results import LoadtestInterrupted, LoadtestResult, Progress, RunRecord, attach_partial
from mlopsctl.services.loadtest.target import find_target
from mlopsctl.services.shielded import no_interrupts

# How long the in-cluster engine keeps trying to connect: a new pod's NetworkPolicy can take a moment to apply.
IN_CLUSTER_CONNECT_WAIT = 60.0
# Several workers start together this long after the Job is created: time for every pod to be scheduled and
# started. A pod that comes later sends its overdue requests at once, measured as late (the report says so).
START_LEAD_SECONDS = 20.0


def _engine_error(namespace: str, tenant: str) -> Callable[[dict[str, Any]], MlopsctlError]:
    def error(line: dict[str, Any]) -> MlopsctlError:
        message = str(line.get("message") or "the load generator failed")
        if line.get("kind") == "unreachable":
            return ClusterUnreachable(
                f"the load generator in {namespace} could not reach the service: {message}",
                hint=f"are the tenant's pods ready? `mlopsctl tenant status {tenant}`",
            )
        return UsageError(f"the load generator refused its options: {message}")

    return error


def _cleanup(kube: KubeApi, namespace: str, job: str) -> list[str]:
    """Delete the Job, its pods and its NetworkPolicy; what could not be deleted comes back as notes."""
    with no_interrupts():
        notes: list[str] = []
        steps: list[tuple[str, str, str]] = [("batch/v1", "Job", job)]
        with contextlib.suppress(MlopsctlError):  # the Job's deletion (propagation Background) removes them anyway
            pods = kube.list("v1", "Pod", namespace, run_selector(job))
            steps += [("v1", "Pod", pod["metadata"]["name"]) for pod in pods]
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
    wall_clock: Callable[[], float] | None = None,
    status: Status | None = None,
) -> LoadtestResult:
    """Run the load as an Indexed Job of `options.workers` pods in the tenant's namespace, aimed at its ClusterIP
    Service; always deletes the Job.

    Raises NotFound (unknown tenant), UsageError (the pods do not fit the quota headroom), ClusterError (a pod
    cannot start, or ends without a report), ClusterUnreachable (the service cannot be reached),
    LoadtestInterrupted (Ctrl-C; carries the partial result).
    """
    clock = clock or time.monotonic
    workers = options.workers
    target = find_target(kube, tenant)
    check_headroom(kube, target.namespace, workers, dict(c.LOADTEST_REQUESTS), dict(c.LOADTEST_LIMITS))
    lead = START_LEAD_SECONDS if workers > 1 else 0.0
    start_at = (wall_clock or time.time)() + lead if workers > 1 else None
    config = options.engine_config(target.url, connect_wait=IN_CLUSTER_CONNECT_WAIT, start_at=start_at)
    job_name = name or f"loadtest-{secrets.token_hex(3)}"
    job, policy = render_loadtest_job(
        LoadtestJobValues(
            tenant=tenant,
            name=job_name,
            image=platform_image.job_image(kube, explicit=image, fallback=target.image),
            args=[*config.to_args(), "--stream"],
            planned_seconds=options.planned_seconds + IN_CLUSTER_CONNECT_WAIT + options.timeout + lead,
            workers=workers,
        )
    )
    run = RunRecord(tenant, "in-cluster", target.url, job_name, workers=workers)
    hpa = HpaWatcher(kube, target.namespace)
    interrupted = False
    report: dict[str, Any] | None = None
    status = status or NullStatus()

    def cancelled() -> bool:
        """While the pods start, the caller still hears once a second (phase "starting") and may give up."""
        return on_progress is not None and on_progress(Progress(0.0, "starting", None, None, None)) is True

    try:
        what = "Job" if workers == 1 else f"Job ({workers} workers)"
        with status.step(f"start the load generator {what} {target.namespace}/{job_name}"):
            live = kube.apply(job)
            uid = (live.get("metadata") or {}).get("uid")
            if uid:  # deleting the Job (or its TTL) then deletes the policy too
                policy["metadata"]["ownerReferences"] = [
                    {"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid, "blockOwnerDeletion": False}
                ]
            kube.apply(policy)
        with status.step("wait for its pod to run" if workers == 1 else f"wait for its {workers} pods to run"):
            pods = wait_for_pods(
                kube, target.namespace, job_name, start_timeout, workers, sleep, clock, cancelled, status.note
            )
        if pods is None:
            run.stopped_early = True
        else:
            label = f"in {target.namespace}"
            feeds = [pod_feed(kube, target.namespace, pod, label if workers == 1 else f"pod {pod}") for pod in pods]
            reports = follow_workers(
                feeds,
                run,
                on_progress,
                lambda t: hpa.sample(t, clock()),
                _engine_error(target.namespace, tenant),
            )
            try:
                report = merge_reports(reports, pods) if reports is not None else None
            except MergeError as exc:
                raise ClusterError(f"cannot merge the workers' reports: {exc}", hint=OLD_IMAGE_HINT) from None
    except KeyboardInterrupt:
        interrupted = True
    except MlopsctlError as exc:
        run.notes += _cleanup(kube, target.namespace, job_name)
        raise attach_partial(exc, run.result(None, slo, interrupted=True) if run.summary else None) from None
    except BaseException:
        _cleanup(kube, target.namespace, job_name)  # even a bug must not leave the Job running
        raise
    run.notes += _cleanup(kube, target.namespace, job_name)
    if interrupted:
        raise LoadtestInterrupted(run.result(None, slo, interrupted=True))
    return run.result(report, slo)
