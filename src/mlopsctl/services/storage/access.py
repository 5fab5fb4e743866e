"""A tenant's access to the object store: grant (credentials + Secret), revoke, check; the admin pair."""

from __future__ import annotations

import dataclasses

from mlopsctl import constants as C
from mlopsctl.adapters.base import KubeApi
from mlopsctl.errors import NotFound
from mlopsctl.manifests import storage as M
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services.storage.common import (
    STORE_SPEC_ANNOTATION,
    TenantAccess,
    existing_credentials,
    installed_spec,
    node_cidrs,
    spec_from_namespace,
    spec_to_json,
    tenant_namespaces,
)
from mlopsctl.services.storage.install import install_storage


def grant_tenant_access(api: KubeApi, status: Status | None, tenant: str, *, wait: bool = False) -> TenantAccess:
    """Give `tenant` its own credentials for its own bucket (a Secret in its namespace), admit its namespace to
    the store's S3 port, and restart the store when its identities changed. Idempotent."""
    bucket = M.tenant_bucket(tenant)
    spec = installed_spec(api)
    _, known = existing_credentials(api)
    result = install_storage(api, status, dataclasses.replace(spec, tenants=(tenant,)), wait=wait)
    return TenantAccess(
        tenant=tenant,
        bucket=bucket,
        secret=f"{tenant}/{C.MODEL_STORE_SECRET}",
        created=tenant not in known,
        isolation=result.isolation,
    )


def revoke_tenant_access(api: KubeApi, status: Status | None, tenant: str) -> bool:
    """Remove a tenant's identity from the store and its Secret; False when the store is not installed."""
    status = status or NullStatus()
    spec = spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE))
    api.delete("v1", "Secret", C.MODEL_STORE_SECRET, tenant)
    if spec is None:
        return False
    admin, tenant_creds = existing_credentials(api)
    if admin is None:
        return False
    tenant_creds.pop(tenant, None)
    # Without enforced isolation (MinIO) no tenant has an identity of its own; every other tenant namespace
    # stays admitted to the S3 port.
    tenants = tuple(
        name
        for name in tenant_namespaces(api)
        if name != tenant and (name in tenant_creds or not spec.isolation_enforced)
    )
    spec = dataclasses.replace(spec, tenants=tenants, node_cidrs=node_cidrs(api))
    objects = M.render_store(spec, admin, {name: tenant_creds[name] for name in tenants if name in tenant_creds})
    objects[0]["metadata"].setdefault("annotations", {})[STORE_SPEC_ANNOTATION] = spec_to_json(spec)
    with status.step(f"removing {tenant}'s access to the object store"):
        for obj in objects:
            api.apply(obj)
        if not tenants:
            api.delete("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-tenants", C.STORAGE_NAMESPACE)
    return True


def tenant_has_access(api: KubeApi, tenant: str) -> bool:
    """Whether the installed store still admits `tenant`: an identity of its own, or its namespace among those
    the store's NetworkPolicy lets reach the S3 port. False when the store is not installed."""
    if spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE)) is None:
        return False
    if tenant in existing_credentials(api)[1]:
        return True
    policy = api.get("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-tenants", C.STORAGE_NAMESPACE) or {}
    for rule in (policy.get("spec") or {}).get("ingress") or []:
        for peer in rule.get("from") or []:
            for expression in (peer.get("namespaceSelector") or {}).get("matchExpressions") or []:
                if expression.get("key") == C.NAMESPACE_NAME_LABEL and tenant in (expression.get("values") or []):
                    return True
    return False


def admin_credentials(api: KubeApi) -> M.Credentials:
    admin, _ = existing_credentials(api)
    if admin is None:
        raise NotFound(
            "the object store's admin credentials were not found",
            hint="run `mlopsctl storage install`, or pass --endpoint/--access-key/--secret-key",
        )
    return admin


def store_endpoints(api: KubeApi) -> tuple[str, str]:
    """(in-cluster endpoint, host endpoint) of the installed store."""
    spec = installed_spec(api)
    return M.in_cluster_endpoint(), M.host_endpoint(spec.node_port)
