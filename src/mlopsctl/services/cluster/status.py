"""`cluster status`: nodes, platform components (metrics API, monitoring, storage) and tenants."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.errors import NotFound, PrerequisiteMissing
from mlopsctl.manifests import metrics_server as ms
from mlopsctl.services import tenant as tenants_service
from mlopsctl.services.cluster.model import (
    ClusterStatus,
    ComponentRow,
    KindApi,
    NodeRow,
    api_service_available,
    kind_cluster_of,
    node_ready,
)


def _roles(node: KubeObject) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    prefix = "node-role.kubernetes.io/"
    roles = sorted(key[len(prefix) :] for key in labels if key.startswith(prefix))
    return ",".join(roles) or "worker"


def _components(api: KubeApi) -> list[ComponentRow]:
    rows: list[ComponentRow] = []
    service = api.get("apiregistration.k8s.io/v1", "APIService", ms.API_SERVICE)
    if service is None:
        rows.append(ComponentRow("metrics-server", "missing", "no metrics API: HPAs cannot scale"))
    else:
        owner = "mlopsctl" if tenants_service.is_managed(service) else "the cluster"
        state = "available" if api_service_available(service) else "unavailable"
        rows.append(ComponentRow("metrics-server", state, f"{ms.API_SERVICE}, installed by {owner}"))
    for part, namespace in (("monitoring", c.MONITORING_NAMESPACE), ("storage", c.STORAGE_NAMESPACE)):
        found = api.get("v1", "Namespace", namespace)
        if found is None:
            rows.append(ComponentRow(part, "not installed", f"namespace {namespace} absent"))
            continue
        deployments = api.list("apps/v1", "Deployment", namespace)
        ready = sum(
            1
            for d in deployments
            if (d.get("status") or {}).get("availableReplicas", 0) >= ((d.get("spec") or {}).get("replicas", 1))
        )
        state = "ready" if deployments and ready == len(deployments) else "not ready"
        rows.append(ComponentRow(part, state, f"{ready}/{len(deployments)} deployments ready in {namespace}"))
    return rows


def cluster_status(
    name: str, context: str | None, kind: KindApi | None, connect: Callable[[str | None], KubeApi]
) -> ClusterStatus:
    kind_name = kind_cluster_of(context) if context else name
    mode = "kind" if kind_name else "adopted"
    if context is None and kind is not None:
        with contextlib.suppress(PrerequisiteMissing):
            if name not in kind.clusters():
                raise NotFound(f"no Kind cluster named {name}", hint="create it with `mlopsctl cluster up`")
    context = context or f"kind-{name}"
    api = connect(context)
    nodes = [
        NodeRow(
            name=node["metadata"]["name"],
            roles=_roles(node),
            ready=node_ready(node),
            version=((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "?"),
        )
        for node in api.list("v1", "Node")
    ]
    return ClusterStatus(
        cluster=kind_name or context,
        context=context,
        mode=mode,
        server_version=api.server_version(),
        nodes=nodes,
        components=_components(api),
        tenants=tenants_service.list_tenants(api).tenants,
    )
