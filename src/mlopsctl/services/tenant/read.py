"""`tenant list` and `tenant status`: read the tenants from the cluster (the only source of truth)."""

from __future__ import annotations

from datetime import UTC, datetime

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import NotFound
from mlopsctl.services.rollout import RolloutFailed as RolloutFailed
from mlopsctl.services.tenant.model import (
    TENANT_KINDS,
    ObjectChange,
    PodRow,
    TenantList,
    TenantRow,
    TenantStatus,
    is_managed,
    tenant_selector,
)


# -- list / status ---------------------------------------------------------------------------------------------
def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_age(created: datetime | None, now: datetime) -> str:
    """kubectl-style ages: 45s, 12m, 5h, 3d."""
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _row(api: KubeApi, namespace: KubeObject, now: datetime) -> TenantRow:
    meta = namespace.get("metadata") or {}
    name = meta["name"]
    deployment = api.get("apps/v1", "Deployment", c.APP_NAME, name) or {}
    dep_status = deployment.get("status") or {}
    hpa = None
    if api.has_kind("autoscaling/v2", "HorizontalPodAutoscaler"):
        hpa = api.get("autoscaling/v2", "HorizontalPodAutoscaler", c.APP_NAME, name)
    hpa_spec = (hpa or {}).get("spec") or {}
    hpa_status = (hpa or {}).get("status") or {}
    template_meta = ((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}
    model_version = (template_meta.get("annotations") or {}).get(c.MODEL_VERSION_ANNOTATION)
    if model_version is None:
        model_version = (workload.tenant_spec_data(namespace) or {}).get("model_version")
    created = _parse_time(meta.get("creationTimestamp"))
    return TenantRow(
        name=name,
        ready=int(dep_status.get("readyReplicas", 0)),
        replicas=int(dep_status.get("replicas", 0)),
        hpa_current=hpa_status.get("currentReplicas") if hpa else None,
        hpa_min=hpa_spec.get("minReplicas", 1) if hpa else None,
        hpa_max=hpa_spec.get("maxReplicas") if hpa else None,
        model_version=model_version or "-",
        age=format_age(created, now),
        created=meta.get("creationTimestamp") or "",
    )


def list_tenants(api: KubeApi, now: datetime | None = None) -> TenantList:
    now = now or datetime.now(UTC)
    namespaces = api.list("v1", "Namespace", label_selector=f"{c.MANAGED_BY_LABEL}={c.MANAGED_BY},{c.TENANT_LABEL}")
    rows = [_row(api, ns, now) for ns in namespaces]
    return TenantList(sorted(rows, key=lambda row: row.name))


def tenant_status(api: KubeApi, name: str, now: datetime | None = None) -> TenantStatus:
    now = now or datetime.now(UTC)
    namespace = api.get("v1", "Namespace", name)
    if namespace is None or not is_managed(namespace):
        raise NotFound(f"tenant {name} not found", hint="`mlopsctl tenant list` shows the tenants")
    objects: list[ObjectChange] = []
    for api_version, kind in TENANT_KINDS:
        if not api.has_kind(api_version, kind):
            continue
        for live in api.list(api_version, kind, name, label_selector=tenant_selector(name)):
            objects.append(ObjectChange(kind, live["metadata"]["name"], name, "present"))
    pods = []
    live_pods = api.list("v1", "Pod", name, label_selector=f"{c.INSTANCE_LABEL}={name}")
    for pod in live_pods:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        pods.append(
            PodRow(
                name=pod["metadata"]["name"],
                phase=(pod.get("status") or {}).get("phase", "Unknown"),
                ready=f"{sum(1 for s in statuses if s.get('ready'))}/{len(statuses)}",
                restarts=sum(int(s.get("restartCount", 0)) for s in statuses),
                node=(pod.get("spec") or {}).get("nodeName", "-"),
            )
        )
    deployment = api.get("apps/v1", "Deployment", c.APP_NAME, name) or {}
    conditions = [
        f"{cond.get('type')}={cond.get('status')} ({cond.get('reason', '')})"
        for cond in ((deployment.get("status") or {}).get("conditions") or [])
    ]
    return TenantStatus(
        tenant=_row(api, namespace, now),
        objects=objects,
        pods=pods,
        conditions=conditions,
        service_url=workload.service_url(name),
        problems=[cause.describe() for cause in workload.pod_causes(live_pods)],
    )
