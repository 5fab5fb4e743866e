"""`storage install|status|uninstall`, and the tenant hooks the lifecycle calls: the object store in its own
namespace, with generated credentials that stay stable across re-installs.

For `cluster up` and `tenant add|remove` (the lifecycle's code calls these, nothing else):

    install_storage(api, status, StoreSpec(...), wait=True)      # idempotent; keeps existing credentials
    grant_tenant_access(api, status, "tenant-a")                  # credentials + Secret in the tenant namespace
    revoke_tenant_access(api, status, "tenant-a")                 # on `tenant remove`

Credentials come from `secrets.token_*` (injectable for tests) and live only in Secrets: the store's admin pair
and engine configuration in the store namespace, each tenant's read-only pair in its own namespace.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as C
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, NotFound, UsageError
from mlopsctl.manifests import storage as M
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services import namespaces, rollout

# The spec the store was installed with, as JSON on its Namespace: re-rendering from the cluster loses nothing.
STORE_SPEC_ANNOTATION = "mlopsctl.io/store-spec"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


def generate_credentials(prefix: str = "MLOPS") -> M.Credentials:
    """An access key id in the AWS shape (20 upper-case characters) and a 40-character random secret."""
    key_id = prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(20 - len(prefix)))
    return M.Credentials(key_id, secrets.token_urlsafe(30))


@dataclass(frozen=True)
class StorageInstallResult:
    namespace: str
    engine: str
    image: str
    endpoint: str
    host_endpoint: str
    tenants: list[str]
    isolation: str
    applied: list[str]
    new_credentials: list[str]
    ready: bool
    dry_run: bool = False


@dataclass(frozen=True)
class TenantAccess:
    tenant: str
    bucket: str
    secret: str
    created: bool
    isolation: str


@dataclass(frozen=True)
class StorageStatus:
    installed: bool
    namespace: str
    engine: str | None = None
    image: str | None = None
    ready_replicas: int = 0
    volume: str | None = None
    volume_phase: str | None = None
    capacity: str | None = None
    endpoint: str | None = None
    host_endpoint: str | None = None
    tenants: list[str] = field(default_factory=list)
    isolation: str | None = None
    host_reachable: bool | None = None  # None: not probed
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StorageUninstallResult:
    namespace: str
    deleted: list[str]
    kept: list[str]


def isolation_text(spec: M.StoreSpec) -> str:
    if spec.isolation_enforced:
        return "enforced: each tenant's credentials may only read and list its own bucket"
    return "NOT enforced: MinIO users need its admin API, which mlopsctl does not drive; tenants share the admin key"


def _spec_to_json(spec: M.StoreSpec) -> str:
    data = dataclasses.asdict(spec)
    data.pop("tenants")  # the cluster's tenant namespaces say which tenants exist
    data.pop("node_cidrs")  # read from the Nodes each time
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _spec_from_namespace(namespace: KubeObject | None) -> M.StoreSpec | None:
    text = ((namespace or {}).get("metadata", {}).get("annotations") or {}).get(STORE_SPEC_ANNOTATION)
    if not text:
        return None
    try:
        data = json.loads(text)
        data["requests"] = dict(data.get("requests") or {})
        data["limits"] = dict(data.get("limits") or {})
        return M.StoreSpec(**data)
    except (ValueError, TypeError) as exc:
        raise ClusterError(
            f"the {C.STORAGE_NAMESPACE} namespace carries an unreadable {STORE_SPEC_ANNOTATION} annotation",
            hint="re-run `mlopsctl storage install` with the options you want",
        ) from exc


def node_cidrs(api: KubeApi) -> tuple[str, ...]:
    """Each node's InternalIP as a /32 (or /128): where NodePort traffic from the host enters the store."""
    cidrs: set[str] = set()
    for node in api.list("v1", "Node"):
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP" and address.get("address"):
                ip = address["address"]
                cidrs.add(f"{ip}/128" if ":" in ip else f"{ip}/32")
    return tuple(sorted(cidrs))


def tenant_namespaces(api: KubeApi) -> tuple[str, ...]:
    """Namespaces mlopsctl made for tenants (they carry the tenant label), leaving out those being deleted."""
    return tuple(namespaces.live_tenant_names(api))


def _existing_credentials(api: KubeApi) -> tuple[M.Credentials | None, dict[str, M.Credentials]]:
    """The admin pair and the tenants' pairs already in the cluster, so a re-install rotates nothing."""
    admin_values = M.decode_secret(api.get("v1", "Secret", M.ADMIN_SECRET, C.STORAGE_NAMESPACE))
    admin = None
    if admin_values.get("AWS_ACCESS_KEY_ID") and admin_values.get("AWS_SECRET_ACCESS_KEY"):
        admin = M.Credentials(admin_values["AWS_ACCESS_KEY_ID"], admin_values["AWS_SECRET_ACCESS_KEY"])
    tenants: dict[str, M.Credentials] = {}
    config = M.decode_secret(api.get("v1", "Secret", M.CONFIG_SECRET, C.STORAGE_NAMESPACE)).get(M.CONFIG_FILE)
    if config:
        try:
            identities = json.loads(config).get("identities", [])
        except ValueError:
            identities = []
        for identity in identities:
            name = str(identity.get("name", ""))
            creds = (identity.get("credentials") or [{}])[0]
            if name.startswith("tenant-") and creds.get("accessKey") and creds.get("secretKey"):
                tenants[name.removeprefix("tenant-")] = M.Credentials(creds["accessKey"], creds["secretKey"])
    return admin, tenants


def _tenant_secret_credentials(api: KubeApi, tenant: str) -> M.Credentials | None:
    values = M.decode_secret(api.get("v1", "Secret", C.MODEL_STORE_SECRET, tenant))
    if values.get("AWS_ACCESS_KEY_ID") and values.get("AWS_SECRET_ACCESS_KEY"):
        return M.Credentials(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"])
    return None


def _describe(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def resolve_spec(api: KubeApi, **given: Any) -> M.StoreSpec:
    """The spec to install: the options given (None: not given) over the installed store's spec, else the
    defaults. Switching the engine of an installed store is refused: its volume holds the other engine's data."""
    installed = _spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE))
    base = installed or M.StoreSpec()
    options = {key: value for key, value in given.items() if value is not None}
    if installed and options.get("engine", installed.engine) != installed.engine:
        raise UsageError(
            f"the object store runs {installed.engine}; its volume holds that engine's data",
            hint="to switch engines: `mlopsctl storage uninstall --yes`, then install again (models are lost)",
        )
    return M.validate(dataclasses.replace(base, **options))


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
        spec = _spec_from_namespace(namespace) or M.StoreSpec()
    spec = M.validate(spec)
    with status.step("reading the cluster's tenants and nodes"):
        tenants = tuple(sorted(set(spec.tenants) | set(tenant_namespaces(api))))
        cidrs = spec.node_cidrs or node_cidrs(api)
        admin, tenant_creds = _existing_credentials(api)
    new: list[str] = []
    if admin is None:
        admin = credentials()
        new.append("admin")
    for tenant in tenants:
        if tenant not in tenant_creds:
            tenant_creds[tenant] = _tenant_secret_credentials(api, tenant) or credentials()
            new.append(tenant)
    tenant_creds = {name: creds for name, creds in tenant_creds.items() if name in tenants}
    spec = dataclasses.replace(spec, tenants=tenants, node_cidrs=cidrs)
    objects = M.render_store(spec, admin, tenant_creds)
    objects[0]["metadata"].setdefault("annotations", {})[STORE_SPEC_ANNOTATION] = _spec_to_json(spec)
    applied: list[str] = []
    with status.step(f"applying the object store ({spec.engine}) in namespace {C.STORAGE_NAMESPACE}"):
        for obj in objects:
            api.apply(obj, dry_run=dry_run)
            applied.append(_describe(obj))
    existing_tenants = _existing_namespaces(api, tenants)
    if existing_tenants:
        with status.step(f"writing {C.MODEL_STORE_SECRET} into {len(existing_tenants)} tenant namespace(s)"):
            for tenant in existing_tenants:
                creds = tenant_creds[tenant] if spec.isolation_enforced else admin
                secret = M.tenant_secret(tenant, creds, spec.region)
                api.apply(secret, dry_run=dry_run)
                applied.append(f"{_describe(secret)} -n {tenant}")
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


def _existing_namespaces(api: KubeApi, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if namespaces.is_live(api, name)]


def _installed_spec(api: KubeApi) -> M.StoreSpec:
    spec = _spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE))
    if spec is None:
        raise NotFound(
            "the object store is not installed", hint="run `mlopsctl storage install` (or `cluster up` with storage)"
        )
    return spec


def grant_tenant_access(api: KubeApi, status: Status | None, tenant: str, *, wait: bool = False) -> TenantAccess:
    """Give `tenant` its own credentials for its own bucket (a Secret in its namespace), admit its namespace to
    the store's S3 port, and restart the store when its identities changed. Idempotent."""
    bucket = M.tenant_bucket(tenant)
    spec = _installed_spec(api)
    _, known = _existing_credentials(api)
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
    spec = _spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE))
    api.delete("v1", "Secret", C.MODEL_STORE_SECRET, tenant)
    if spec is None:
        return False
    admin, tenant_creds = _existing_credentials(api)
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
    objects[0]["metadata"].setdefault("annotations", {})[STORE_SPEC_ANNOTATION] = _spec_to_json(spec)
    with status.step(f"removing {tenant}'s access to the object store"):
        for obj in objects:
            api.apply(obj)
        if not tenants:
            api.delete("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-tenants", C.STORAGE_NAMESPACE)
    return True


def tenant_has_access(api: KubeApi, tenant: str) -> bool:
    """Whether the installed store still admits `tenant`: an identity of its own, or its namespace among those
    the store's NetworkPolicy lets reach the S3 port. False when the store is not installed."""
    if _spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE)) is None:
        return False
    if tenant in _existing_credentials(api)[1]:
        return True
    policy = api.get("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-tenants", C.STORAGE_NAMESPACE) or {}
    for rule in (policy.get("spec") or {}).get("ingress") or []:
        for peer in rule.get("from") or []:
            for expression in (peer.get("namespaceSelector") or {}).get("matchExpressions") or []:
                if expression.get("key") == C.NAMESPACE_NAME_LABEL and tenant in (expression.get("values") or []):
                    return True
    return False


def admin_credentials(api: KubeApi) -> M.Credentials:
    admin, _ = _existing_credentials(api)
    if admin is None:
        raise NotFound(
            "the object store's admin credentials were not found",
            hint="run `mlopsctl storage install`, or pass --endpoint/--access-key/--secret-key",
        )
    return admin


def store_endpoints(api: KubeApi) -> tuple[str, str]:
    """(in-cluster endpoint, host endpoint) of the installed store."""
    spec = _installed_spec(api)
    return M.in_cluster_endpoint(), M.host_endpoint(spec.node_port)


def _reads_the_store(api: KubeApi, tenant: str) -> bool:
    """Whether the tenant's spec (on its Namespace) names an s3:// model."""
    spec = workload.tenant_spec_data(api.get("v1", "Namespace", tenant)) or {}
    return str(spec.get("model_uri") or "").startswith("s3://")


def storage_status(api: KubeApi, probe: Callable[[str], bool] | None = None) -> StorageStatus:
    """The store as the cluster sees it; with `probe` (URL -> healthy?) also whether the host endpoint answers."""
    namespace = api.get("v1", "Namespace", C.STORAGE_NAMESPACE)
    if namespace is None:
        return StorageStatus(installed=False, namespace=C.STORAGE_NAMESPACE, problems=["not installed"])
    spec = _spec_from_namespace(namespace) or M.StoreSpec()
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
    _, tenant_creds = _existing_credentials(api)
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
