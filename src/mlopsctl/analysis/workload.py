"""Reading Kubernetes workload objects: pure functions over the dicts the API returns, one rule per question.

- `rollout_state(deployment)`: `kubectl rollout status` semantics, used by every wait on a Deployment.
- `tenant_spec_data(namespace)`: the tenant spec annotation `tenant add` writes, read in one place.
- `service_url(namespace)`: the tenant Service as pods reach it, in one spelling.
- `pod_causes(pods, events, replicasets)`: why pods do not run, in the words the kubelet, the scheduler and the
  ReplicaSet controller wrote (image pulls, crash loops, scheduling, missing config, quota), each with the fix.
- `is_terminating(namespace)`: a namespace that is being deleted takes no new objects (the API answers 403).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mlopsctl import constants as c

KubeObject = Mapping[str, Any]
Obj = TypeVar("Obj", bound=Mapping[str, Any])

# Waiting reasons of a container that cannot start (the kubelet's words).
IMAGE_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError")
# What registries and containerd say when the reference does not exist: waiting will not make it appear.
_NOT_FOUND = re.compile(r"not found|manifest unknown|name unknown|repository does not exist", re.IGNORECASE)
_PULL_IMAGE = re.compile(r'(?:pulling|pull) image "([^"]+)"')
_QUOTA_HINT = "the namespace's ResourceQuota is full: raise it (tenant add --quota-cpu/--quota-memory/--quota-pods)"


def meta(obj: KubeObject | None) -> Mapping[str, Any]:
    return (obj or {}).get("metadata") or {}


def labels_of(obj: KubeObject | None) -> Mapping[str, str]:
    return meta(obj).get("labels") or {}


def annotations_of(obj: KubeObject | None) -> Mapping[str, str]:
    return meta(obj).get("annotations") or {}


def status_of(obj: KubeObject | None) -> Mapping[str, Any]:
    return (obj or {}).get("status") or {}


def spec_of(obj: KubeObject | None) -> Mapping[str, Any]:
    return (obj or {}).get("spec") or {}


# -- namespaces and tenants ---------------------------------------------------------------------------------------
def is_terminating(namespace: KubeObject | None) -> bool:
    return status_of(namespace).get("phase") == "Terminating" or bool(meta(namespace).get("deletionTimestamp"))


def live(objects: Iterable[Obj]) -> list[Obj]:
    """The objects that are not being deleted (namespaces in Terminating take no new objects)."""
    return [obj for obj in objects if not is_terminating(obj)]


def tenant_spec_data(namespace: KubeObject | None) -> dict[str, Any] | None:
    """The tenant spec recorded on the tenant's Namespace, as a dict; None when absent or unreadable."""
    text = annotations_of(namespace).get(c.TENANT_SPEC_ANNOTATION)
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def service_url(namespace: str) -> str:
    """The tenant's ClusterIP Service as pods reach it (kube-dns search path; no assumption on the cluster domain)."""
    return f"http://{c.APP_NAME}.{namespace}.svc:{c.SERVICE_PORT}"


def selector_string(match_labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(match_labels.items()))


def container_image(deployment: KubeObject | None, container: str = c.APP_NAME) -> str | None:
    containers = spec_of(spec_of(deployment).get("template")).get("containers") or []
    named = [ct.get("image") for ct in containers if ct.get("name") == container]
    found = named or [ct.get("image") for ct in containers[:1]]
    return found[0] if found and found[0] else None


# -- rollout -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RolloutState:
    complete: bool
    failure: str | None  # the Deployment gave up (progress deadline): its own message
    progress: str  # "1/2 updated, 0/2 available"


def rollout_state(deployment: KubeObject | None) -> RolloutState:
    """`kubectl rollout status`: once the controller has observed the current generation, failed when the
    progress deadline passed, complete when every wanted replica is updated and available and no old one is left."""
    if deployment is None:
        return RolloutState(False, None, "the Deployment does not exist (yet)")
    spec, state = spec_of(deployment), status_of(deployment)
    wanted = int(spec.get("replicas", 1))
    updated = int(state.get("updatedReplicas") or 0)
    available = int(state.get("availableReplicas") or 0)
    progress = f"{updated}/{wanted} updated, {available}/{wanted} available"
    if int(state.get("observedGeneration") or 0) < int(meta(deployment).get("generation") or 0):
        return RolloutState(False, None, progress)
    for condition in state.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return RolloutState(False, condition.get("message") or "progress deadline exceeded", progress)
    complete = updated >= wanted and int(state.get("replicas") or 0) <= updated and available >= updated
    return RolloutState(complete, None, progress)


# -- why pods do not run ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cause:
    """One reason pods do not run. `fatal`: waiting cannot heal it (an image that does not exist)."""

    pod: str
    reason: str
    message: str
    hint: str
    image: str = ""
    fatal: bool = False

    def describe(self) -> str:
        subject = f"pod {self.pod}" if self.pod else "pods"
        return f"{subject}: {self.reason}: {self.message}" if self.message else f"{subject}: {self.reason}"


def image_not_found(message: str) -> bool:
    return bool(_NOT_FOUND.search(message or ""))


def _events_for(events: Sequence[KubeObject], pod: str) -> list[KubeObject]:
    return [e for e in events if (e.get("involvedObject") or {}).get("name") == pod and e.get("type") == "Warning"]


def _pull_cause(pod: str, container: Mapping[str, Any], waiting: Mapping[str, Any], events: Sequence[KubeObject]):
    reason = waiting.get("reason", "")
    message = str(waiting.get("message") or "")
    # ImagePullBackOff only says "Back-off pulling image"; the registry's answer is on ErrImagePull and the events.
    said = [
        str(e.get("message") or "") for e in _events_for(events, pod) if e.get("reason") in ("Failed", "ErrImagePull")
    ]
    detail = next((text for text in reversed([message, *said]) if image_not_found(text)), message or (said or [""])[-1])
    match = _PULL_IMAGE.search(message) or _PULL_IMAGE.search(detail)
    image = str(container.get("image") or (match.group(1) if match else ""))
    missing = image_not_found(detail)
    if missing:
        hint = (
            f"the registry has no {image}: push it (`mlopsctl cluster up --registry R --skip-build` pushes the "
            "local image), or pass --image with a reference the nodes can pull"
        )
    else:
        hint = f"the nodes cannot pull {image}: check the registry address and the nodes' access, or pass --image"
    return Cause(pod, reason, detail.strip(), hint, image=image, fatal=missing and reason != "InvalidImageName")


def _container_causes(pod: KubeObject, events: Sequence[KubeObject], logs: Mapping[str, Sequence[str]]) -> list[Cause]:
    name = str(meta(pod).get("name", ""))
    causes: list[Cause] = []
    statuses = [*(status_of(pod).get("initContainerStatuses") or []), *(status_of(pod).get("containerStatuses") or [])]
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in IMAGE_PULL_REASONS:
            causes.append(_pull_cause(name, container, waiting, events))
        elif reason in CONFIG_REASONS:
            causes.append(
                Cause(
                    name,
                    reason,
                    str(waiting.get("message") or ""),
                    "the container's configuration names something missing (a Secret, a ConfigMap or a key): create "
                    "it (the model store's Secret comes from `mlopsctl storage install`)",
                )
            )
        elif reason == "CrashLoopBackOff":
            last = (container.get("lastState") or {}).get("terminated") or {}
            lines = [line for line in (logs.get(name) or []) if line.strip()][-5:]
            said = " | ".join(line.strip()[:200] for line in lines) or str(last.get("message") or "").strip()[-400:]
            exit_text = f"exit code {last.get('exitCode')}" if "exitCode" in last else "the container keeps exiting"
            causes.append(
                Cause(
                    name,
                    reason,
                    f"{exit_text}; last log lines: {said}" if said else exit_text,
                    f"the container exits at start: read its log (kubectl -n {meta(pod).get('namespace', '')} logs "
                    f"{name} --previous) and fix the image or its configuration",
                    image=str(container.get("image") or ""),
                )
            )
    return causes


def _scheduling_cause(pod: KubeObject, events: Sequence[KubeObject]) -> Cause | None:
    if status_of(pod).get("phase") != "Pending":
        return None
    name = str(meta(pod).get("name", ""))
    for condition in status_of(pod).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            message = str(condition.get("message") or "")
            break
    else:
        said = [str(e.get("message") or "") for e in _events_for(events, name) if e.get("reason") == "FailedScheduling"]
        if not said:
            return None
        message = said[-1]
    if "unbound" in message and "PersistentVolumeClaim" in message:
        hint = "its volume claim is not bound: the cluster needs a default StorageClass (or pass --storage-class)"
    elif "Insufficient" in message or "Too many pods" in message:
        hint = "the nodes lack room: add nodes, or lower the requests (--cpu-request/--memory-request)"
    else:
        hint = "no node accepts the pod: check the nodes' taints and labels (kubectl describe nodes)"
    return Cause(name, "Unschedulable", message.split(" preemption:")[0].strip(), hint)


def _replicaset_causes(replicasets: Sequence[KubeObject]) -> list[Cause]:
    causes: list[Cause] = []
    for replicaset in replicasets:
        for condition in status_of(replicaset).get("conditions") or []:
            if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
                message = str(condition.get("message") or "")
                if "exceeded quota" in message:
                    hint = _QUOTA_HINT
                    reason = "QuotaExceeded"
                else:
                    hint = f"the ReplicaSet cannot create pods: kubectl describe rs {meta(replicaset).get('name', '')}"
                    reason = str(condition.get("reason") or "FailedCreate")
                causes.append(Cause("", reason, message, hint))
    return causes


def creation_failures(events: Sequence[KubeObject], owner: str) -> list[Cause]:
    """A controller's FailedCreate events for `owner` (a Job, a ReplicaSet): quota refusals and the like."""
    causes: list[Cause] = []
    for event in events:
        involved = event.get("involvedObject") or {}
        if involved.get("name") != owner or event.get("reason") != "FailedCreate":
            continue
        message = str(event.get("message") or "")
        if "exceeded quota" in message:
            causes.append(Cause("", "QuotaExceeded", message, _QUOTA_HINT))
        else:
            causes.append(
                Cause("", "FailedCreate", message, f"kubectl describe {str(involved.get('kind', '')).lower()} {owner}")
            )
    return causes


def pod_causes(
    pods: Sequence[KubeObject],
    events: Sequence[KubeObject] = (),
    replicasets: Sequence[KubeObject] = (),
    logs: Mapping[str, Sequence[str]] | None = None,
) -> list[Cause]:
    """Why these pods (or the pods their ReplicaSets should create) do not run; [] when nothing is wrong yet.

    `logs` maps a crash-looping pod's name to its last log lines (read by the caller, which knows which pods
    crash from `crash_looping(pods)`)."""
    causes: list[Cause] = []
    for pod in pods:
        if meta(pod).get("deletionTimestamp"):
            continue
        causes += _container_causes(pod, events, logs or {})
        scheduling = _scheduling_cause(pod, events)
        if scheduling is not None:
            causes.append(scheduling)
    causes += _replicaset_causes(replicasets)
    return causes


def crash_looping(pods: Sequence[KubeObject]) -> list[str]:
    """Names of the pods with a container in CrashLoopBackOff (whose logs say why)."""
    found = []
    for pod in pods:
        for container in status_of(pod).get("containerStatuses") or []:
            if ((container.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                found.append(str(meta(pod).get("name", "")))
                break
    return found


def summarize(causes: Sequence[Cause]) -> tuple[str, str | None]:
    """(one line naming every distinct cause, the hint of the first) for an error message."""
    distinct: dict[tuple[str, str], list[Cause]] = {}
    for cause in causes:
        distinct.setdefault((cause.reason, cause.message), []).append(cause)
    if not distinct:
        return "", None
    lines = []
    for same in distinct.values():
        more = f" (and {len(same) - 1} more pod{'s' if len(same) > 2 else ''})" if len(same) > 1 else ""
        lines.append(same[0].describe().replace(":", more + ":", 1) if more else same[0].describe())
    return "; ".join(lines), next(iter(distinct.values()))[0].hint
