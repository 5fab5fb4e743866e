"""Pods, events and ReplicaSets as a Kubernetes v1.28 cluster (containerd, kube-scheduler, the ReplicaSet
controller) writes them when something is wrong; shared by the analysis, service and HTTP-level tests."""

from __future__ import annotations

from typing import Any

from mlopsctl import constants as c

NAMESPACE = "tenant-c"
LABELS = {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: NAMESPACE, "pod-template-hash": "7c9f"}


def _pod(name: str, phase: str, statuses: list[dict[str, Any]], conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {"containers": [{"name": c.APP_NAME}]},
        "status": {"phase": phase, "conditions": conditions, "containerStatuses": statuses, "qosClass": "Burstable"},
    }


def _not_ready() -> list[dict[str, Any]]:
    return [
        {"type": "Initialized", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
         "message": "containers with unready status: [inference]"},
        {"type": "PodScheduled", "status": "True"},
    ]  # fmt: skip


def not_found_message(image: str) -> str:
    host = image.split("/")[0]
    qualified = "/" in image and ("." in host or ":" in host or host == "localhost")
    ref = image if qualified else f"docker.io/{image}"  # containerd's normalised name, as in its message
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": failed to resolve reference '
        f'"{ref}": {ref}: not found'
    )


def image_pull_pod(name: str, image: str, *, reason: str, message: str | None = None) -> dict[str, Any]:
    """ErrImagePull carries the registry's answer; ImagePullBackOff only says it backs off."""
    if message is None:
        message = not_found_message(image) if reason == "ErrImagePull" else f'Back-off pulling image "{image}"'
    status = {
        "name": c.APP_NAME,
        "image": image,
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "lastState": {},
        "state": {"waiting": {"reason": reason, "message": message}},
    }
    return _pod(name, "Pending", [status], _not_ready())


def pull_failed_event(pod: str, namespace: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.17a1b2c3d4e5f6a7", "namespace": namespace},
        "involvedObject": {
            "kind": "Pod",
            "namespace": namespace,
            "name": pod,
            "fieldPath": "spec.containers{inference}",
        },
        "reason": "Failed",
        "message": f'Failed to pull image "{image}": {not_found_message(image)}',
        "source": {"component": "kubelet", "host": "worker-1"},
        "type": "Warning",
        "count": 3,
    }


def crash_looping_pod(name: str, image: str) -> dict[str, Any]:
    status = {
        "name": c.APP_NAME,
        "image": image,
        "imageID": f"{image}@sha256:{'a' * 64}",
        "containerID": "containerd://0123",
        "ready": False,
        "restartCount": 4,
        "started": False,
        "lastState": {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "message": "Traceback (most recent call last):\nRuntimeError: no model\n",
                "startedAt": "2026-01-01T00:00:00Z",
                "finishedAt": "2026-01-01T00:00:02Z",
                "containerID": "containerd://0123",
            }
        },
        "state": {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 1m20s restarting failed container={c.APP_NAME} pod={name}_{NAMESPACE}(uid)",
            }
        },
    }
    return _pod(name, "Running", [status], _not_ready())


def unschedulable_pod(name: str, message: str) -> dict[str, Any]:
    conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                   "lastProbeTime": None, "lastTransitionTime": "2026-01-01T00:00:00Z"}]  # fmt: skip
    pod = _pod(name, "Pending", [], conditions)
    del pod["status"]["containerStatuses"]
    return pod


def missing_secret_pod(name: str) -> dict[str, Any]:
    status = {
        "name": c.APP_NAME,
        "image": "mlopsctl/inference:0.1.0",
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "lastState": {},
        "state": {
            "waiting": {"reason": "CreateContainerConfigError", "message": 'secret "model-store-credentials" not found'}
        },
    }
    return _pod(name, "Pending", [status], _not_ready())


def quota_replicaset(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "status": {
            "replicas": 0,
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": "FailedCreate",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                    "message": f'pods "{name}-x2x9q" is forbidden: exceeded quota: compute, requested: '
                    "limits.cpu=500m, used: limits.cpu=6, limited: limits.cpu=6",
                }
            ],
        },
    }
