"""The run's probe pods: an outsider in a scratch namespace made for the run, and a later pod in each tenant
namespace, from the tenant's own image (read from its Deployment). Created together, waited for together (one
list per poll), deleted together at the end, on Ctrl-C and on errors; `activeDeadlineSeconds` ends them if mlopsctl
dies before it can delete them (`kubectl delete ns,pod -A -l mlopsctl.io/verify-run` removes what is left)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis import workload
from mlopsctl.errors import Forbidden, MlopsctlError
from mlopsctl.manifests.probe_pods import (
    ProbePodValues,
    render_probe_pod,
    run_selector,
    scratch_namespace,
    scratch_namespace_name,
)
from mlopsctl.services import platform_image
from mlopsctl.services.network_probes.snapshot import running
from mlopsctl.services.shielded import no_interrupts

DEFAULT_START_TIMEOUT = 90.0
SERVICE_ACCOUNT_RETRIES = 20
_STUCK_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                  "CreateContainerError", "CrashLoopBackOff", "RunContainerError"}  # fmt: skip


@dataclass
class ProbePods:
    run: str
    scratch_namespace: str | None = None
    created: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name)
    problems: dict[tuple[str, str], str] = field(default_factory=dict)  # pods that could not start, and why
    roles: dict[tuple[str, str], str] = field(default_factory=dict)


def tenant_images(api: KubeApi, tenants: Sequence[str]) -> dict[str, str]:
    """The image each tenant's probe pods run: the platform image `cluster up` recorded (the one the nodes can
    pull), else the image the tenant's inference Deployment runs (one list for all tenants)."""
    record = platform_image.read_platform_image(api)
    images: dict[str, str] = {}
    for deployment in api.list("apps/v1", "Deployment", None, f"{c.NAME_LABEL}={c.APP_NAME}"):
        namespace = deployment["metadata"].get("namespace")
        if namespace not in tenants or deployment["metadata"].get("name") != c.APP_NAME:
            continue
        image = workload.container_image(deployment)
        if image:
            images[namespace] = record.image if record is not None else image
    return images


def _problem(pod: Mapping[str, Any]) -> str | None:
    status = pod.get("status") or {}
    if status.get("phase") in ("Failed", "Succeeded"):
        return f"ended ({status.get('reason') or status.get('phase')}: {status.get('message', '')})".replace(": )", ")")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in _STUCK_REASONS:
            return f"{waiting['reason']}: {waiting.get('message', '').strip()}".rstrip(": ")
        terminated = state.get("terminated")
        if terminated:
            return f"its container ended: {terminated.get('reason', 'terminated')} (exit {terminated.get('exitCode')})"
    return None


def start_probe_pods(
    api: KubeApi,
    pods: ProbePods,
    tenants: Sequence[str],
    images: Mapping[str, str],
    *,
    timeout: float = DEFAULT_START_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Create the probe pods of run `pods.run` and wait until each runs or cannot; `pods.problems` says which could
    not and why. Whatever may exist is in `pods` before it is created, so an interrupted start cleans up too."""
    run = pods.run
    wanted: list[ProbePodValues] = []
    for tenant in tenants:
        if tenant in images:
            wanted.append(ProbePodValues(run, tenant, c.LATER_POD_ROLE, images[tenant]))
        else:
            pods.problems[(tenant, c.LATER_POD_ROLE)] = f"no {c.APP_NAME} Deployment names an image to run it from"
    outsider_image = next((images[t] for t in tenants if t in images), None)
    if outsider_image is None:
        pods.problems[("", "outsider")] = "no tenant Deployment names an image to run it from"
    else:
        try:
            pods.scratch_namespace = scratch_namespace_name(run)
            api.apply(scratch_namespace(run))
            wanted.append(ProbePodValues(run, pods.scratch_namespace, c.OUTSIDER_ROLE, outsider_image))
        except MlopsctlError as exc:
            pods.scratch_namespace = None
            pods.problems[(scratch_namespace_name(run), "outsider")] = f"cannot create its namespace: {exc.message}"
    for values in wanted:  # the outsider last: its new namespace's default ServiceAccount may not exist yet
        key = (values.namespace, values.name)
        pods.roles[key] = values.role
        pods.created.append(key)
        problem = _create(api, render_probe_pod(values), sleep)
        if problem:
            pods.created.remove(key)
            pods.problems[key] = problem
    _wait(api, pods, timeout, sleep, clock)


def _create(api: KubeApi, pod: dict[str, Any], sleep: Callable[[float], None]) -> str | None:
    """Apply one probe pod; why it could not be created, or None. In a namespace made a moment ago the pod is
    refused until the controller has made its `default` ServiceAccount: that refusal is retried for a few seconds."""
    for attempt in range(SERVICE_ACCOUNT_RETRIES + 1):
        try:
            api.apply(pod)
            return None
        except Forbidden as exc:  # a full ResourceQuota answers 403 too
            if "serviceaccount" not in exc.message.replace(" ", "").lower() or attempt == SERVICE_ACCOUNT_RETRIES:
                return f"refused: {exc.message}"
            sleep(0.5)
        except MlopsctlError as exc:
            return f"cannot create it: {exc.message}"
    return None  # not reached: the last attempt returns


def _wait(
    api: KubeApi, pods: ProbePods, timeout: float, sleep: Callable[[float], None], clock: Callable[[], float]
) -> None:
    waiting = set(pods.created)
    deadline = clock() + timeout
    while waiting:
        for pod in api.list("v1", "Pod", None, run_selector(pods.run)):
            key = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
            if key not in waiting:
                continue
            problem = None if running(pod) else _problem(pod)
            if running(pod) or problem:
                waiting.discard(key)
                if problem:
                    pods.problems[key] = problem
        if not waiting:
            return
        if clock() >= deadline:
            for key in waiting:
                pods.problems[key] = f"did not start within {timeout:.0f}s"
            return
        sleep(0.5)


def delete_probe_pods(api: KubeApi, pods: ProbePods) -> list[str]:
    """Delete the run's pods and scratch namespace (without waiting); what could not be deleted comes back as notes."""
    notes: list[str] = []
    with no_interrupts():
        for namespace, name in pods.created:
            if namespace == pods.scratch_namespace:
                continue  # goes with its namespace
            try:
                api.delete("v1", "Pod", name, namespace)  # False when it never got created: nothing to do
            except MlopsctlError as exc:
                notes.append(f"could not delete probe pod {namespace}/{name}: {exc.message}")
        if pods.scratch_namespace:
            try:
                api.delete("v1", "Namespace", pods.scratch_namespace)
            except MlopsctlError as exc:
                notes.append(f"could not delete namespace {pods.scratch_namespace}: {exc.message}")
    return notes
