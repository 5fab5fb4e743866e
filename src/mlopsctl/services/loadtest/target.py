"""The tenant a load test aims at: its namespace, the image its pods run, its Service."""

from __future__ import annotations

from dataclasses import dataclass

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis import workload
from mlopsctl.errors import NotFound


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
