"""`storage status`: the store's pods, its tenants' access and the isolation it was installed with."""

from __future__ import annotations

from collections.abc import Callable

from mlopsctl import constants as C
from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis import workload
from mlopsctl.manifests import storage as M
from mlopsctl.services.storage.common import (
    StorageStatus,
    existing_credentials,
    isolation_text,
    spec_from_namespace,
    tenant_namespaces,
)


def _reads_the_store(api: KubeApi, tenant: str) -> bool:
    """Whether the tenant's spec (on its Namespace) names an s3:// model."""
    spec = workload.tenant_spec_data(api.get("v1", "Namespace", tenant)) or {}
    return str(spec.get("model_uri") or "").startswith("s3://")


def storage_status(api: KubeApi, probe: Callable[[str], bool] | None = None) -> StorageStatus:
    """The store as the cluster sees it; with `probe` (URL -> healthy?) also whether the host endpoint answers."""
    namespace = api.get("v1", "Namespace", C.STORAGE_NAMESPACE)
    if namespace is None:
        return StorageStatus(installed=False, namespace=C.STORAGE_NAMESPACE, problems=["not installed"])
    spec = spec_from_namespace(namespace) or M.StoreSpec()
    problems: list[str] = []
    deployment = api.get("apps/v1", "Deployment", M.STORE_NAME, C.STORAGE_NAMESPACE)
    ready = int(((deployment or {}).get("status") or {}).get("readyReplicas") or 0)
    image = None
    if deployment is None:
        problems.append(f"Deployment {M.STORE_NAME} is missing")
    else:
        containers = deployment["spec"]["template"]["spec"]["containers"]
        image = containers[0].get("image") if containers else None
        if ready < 1:
            problems.append("no ready store pod")
    pvc = api.get("v1", "PersistentVolumeClaim", M.PVC_NAME, C.STORAGE_NAMESPACE)
    phase = capacity = None
    if pvc is None:
        problems.append(f"PersistentVolumeClaim {M.PVC_NAME} is missing")
    else:
        phase = (pvc.get("status") or {}).get("phase")
        capacity = ((pvc.get("status") or {}).get("capacity") or {}).get("storage")
        if phase != "Bound":
            problems.append(f"volume claim is {phase or 'not bound'}")
    _, tenant_creds = existing_credentials(api)
    tenants = tenant_namespaces(api)
    for tenant in tenants:
        if api.get("v1", "Secret", C.MODEL_STORE_SECRET, tenant) is None and _reads_the_store(api, tenant):
            problems.append(f"tenant {tenant} has no {C.MODEL_STORE_SECRET} Secret (run `mlopsctl storage install`)")
    if api.get("v1", "Service", M.STORE_NAME, C.STORAGE_NAMESPACE) is None:
        problems.append(f"Service {M.STORE_NAME} is missing")
    reachable = None
    if probe is not None:
        reachable = probe(M.host_endpoint(spec.node_port) + spec.health_path)
        if not reachable:
            problems.append(
                f"{M.host_endpoint(spec.node_port)} does not answer from here (is the NodePort mapped to the host?)"
            )
    return StorageStatus(
        installed=True,
        namespace=C.STORAGE_NAMESPACE,
        engine=spec.engine,
        image=image,
        ready_replicas=ready,
        volume=M.PVC_NAME if pvc else None,
        volume_phase=phase,
        capacity=capacity,
        endpoint=M.in_cluster_endpoint(),
        host_endpoint=M.host_endpoint(spec.node_port),
        tenants=sorted(set(tenant_creds) | set(tenants)) if spec.isolation_enforced else list(tenants),
        isolation=isolation_text(spec),
        host_reachable=reachable,
        problems=problems,
    )
