"""`storage install|uninstall`, and the installer `cluster up` runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from mlopsctl import constants as C
from mlopsctl.adapters.base import KubeApi
from mlopsctl.errors import ClusterError, UsageError
from mlopsctl.manifests import storage as M
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services import rollout
from mlopsctl.services.storage.common import (
    STORE_SPEC_ANNOTATION,
    StorageInstallResult,
    StorageUninstallResult,
    describe,
    existing_credentials,
    existing_namespaces,
    generate_credentials,
    isolation_text,
    node_cidrs,
    spec_from_namespace,
    spec_to_json,
    tenant_namespaces,
    tenant_secret_credentials,
)


def install_storage(
    api: KubeApi,
    status: Status | None = None,
    spec: M.StoreSpec | None = None,
    *,
    wait: bool = True,
    timeout: float = 300,
    dry_run: bool = False,
    credentials: Callable[[], M.Credentials] = generate_credentials,
) -> StorageInstallResult:
    """Apply the store (idempotent). Existing credentials are kept; tenants found in the cluster are admitted."""
    status = status or NullStatus()
    namespace = api.get("v1", "Namespace", C.STORAGE_NAMESPACE)
    if spec is None:
        spec = spec_from_namespace(namespace) or M.StoreSpec()
    spec = M.validate(spec)
    with status.step("reading the cluster's tenants and nodes"):
        tenants = tuple(sorted(set(spec.tenants) | set(tenant_namespaces(api))))
        cidrs = spec.node_cidrs or node_cidrs(api)
        admin, tenant_creds = existing_credentials(api)
    new: list[str] = []
    if admin is None:
        admin = credentials()
        new.append("admin")
    for tenant in tenants:
        if tenant not in tenant_creds:
            tenant_creds[tenant] = tenant_secret_credentials(api, tenant) or credentials()
            new.append(tenant)
    tenant_creds = {name: creds for name, creds in tenant_creds.items() if name in tenants}
    spec = dataclasses.replace(spec, tenants=tenants, node_cidrs=cidrs)
    objects = M.render_store(spec, admin, tenant_creds)
    objects[0]["metadata"].setdefault("annotations", {})[STORE_SPEC_ANNOTATION] = spec_to_json(spec)
    applied: list[str] = []
    with status.step(f"applying the object store ({spec.engine}) in namespace {C.STORAGE_NAMESPACE}"):
        for obj in objects:
            api.apply(obj, dry_run=dry_run)
            applied.append(describe(obj))
    existing_tenants = existing_namespaces(api, tenants)
    if existing_tenants:
        with status.step(f"writing {C.MODEL_STORE_SECRET} into {len(existing_tenants)} tenant namespace(s)"):
            for tenant in existing_tenants:
                creds = tenant_creds[tenant] if spec.isolation_enforced else admin
                secret = M.tenant_secret(tenant, creds, spec.region)
                api.apply(secret, dry_run=dry_run)
                applied.append(f"{describe(secret)} -n {tenant}")
    ready = False
    if wait and not dry_run:
        with status.step("waiting for the object store to be ready"):
            hint = (
                f"kubectl -n {C.STORAGE_NAMESPACE} describe pods; a Pending pod often means no default "
                "StorageClass (pass --storage-class)"
            )
            try:
                rollout.wait_for_deployment(api, C.STORAGE_NAMESPACE, M.STORE_NAME, timeout, status, hint=hint)
            except rollout.RolloutFailed as exc:
                said = f": {exc.failure}" if exc.failure else ""
                what = f"was not ready after {timeout:.0f}s" if exc.outcome == "timeout" else "cannot start"
                raise ClusterError(f"the object store {what}{said}", hint=exc.hint) from exc
            ready = True
    return StorageInstallResult(
        namespace=C.STORAGE_NAMESPACE,
        engine=spec.engine,
        image=spec.resolved_image,
        endpoint=M.in_cluster_endpoint(),
        host_endpoint=M.host_endpoint(spec.node_port),
        tenants=list(tenants),
        isolation=isolation_text(spec),
        applied=applied,
        new_credentials=new,
        ready=ready,
        dry_run=dry_run,
    )


def uninstall_storage(api: KubeApi, status: Status | None = None, *, keep_data: bool = False) -> StorageUninstallResult:
    """Delete the store. With keep_data the namespace and its volume claim stay, so a re-install finds the models."""
    status = status or NullStatus()
    if api.get("v1", "Namespace", C.STORAGE_NAMESPACE) is None:
        raise UsageError("the object store is not installed", hint="nothing to uninstall")
    deleted: list[str] = []
    kept: list[str] = []
    with status.step("removing tenant credentials"):
        for secret in api.list("v1", "Secret", label_selector=f"{C.COMPONENT_LABEL}=model-store-credentials"):
            meta = secret["metadata"]
            if api.delete("v1", "Secret", meta["name"], meta.get("namespace")):
                deleted.append(f"Secret/{meta['name']} -n {meta.get('namespace')}")
    with status.step(f"removing the object store from {C.STORAGE_NAMESPACE}"):
        targets = [
            ("apps/v1", "Deployment", M.STORE_NAME),
            ("v1", "Service", M.STORE_NAME),
            ("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-nodes"),
            ("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-tenants"),
            ("networking.k8s.io/v1", "NetworkPolicy", "default-deny-all"),
            ("v1", "Secret", M.CONFIG_SECRET),
            ("v1", "Secret", M.ADMIN_SECRET),
            ("v1", "ServiceAccount", M.STORE_NAME),
        ]
        if keep_data:
            kept += [f"PersistentVolumeClaim/{M.PVC_NAME}", f"Namespace/{C.STORAGE_NAMESPACE}"]
        else:
            targets += [("v1", "PersistentVolumeClaim", M.PVC_NAME), ("v1", "Namespace", C.STORAGE_NAMESPACE)]
        for api_version, kind, name in targets:
            namespace = None if kind == "Namespace" else C.STORAGE_NAMESPACE
            if api.delete(api_version, kind, name, namespace):
                deleted.append(f"{kind}/{name}")
    return StorageUninstallResult(namespace=C.STORAGE_NAMESPACE, deleted=deleted, kept=kept)


def cluster_installer(api: KubeApi, status: Status, context: str | None = None) -> str:
    """The `install storage` step of `cluster up` (a `ClusterDeps.installers["storage"]`): the default engine,
    the tenants already applied get their credentials; returns the summary line."""
    result = install_storage(api, status, None, wait=True)
    return f"{result.engine}, {len(result.tenants)} tenant(s) with their own credentials; isolation {result.isolation}"
