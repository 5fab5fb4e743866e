"""Tenant lifecycle on a live cluster: add (apply in dependency order, prune, wait), remove, list, status.

The cluster is the source of truth: every object carries the mlopsctl labels, so pruning, listing and removal
select by label and never consult a local state file. A namespace that mlopsctl does not manage is never taken
over (unless adopt) and never deleted.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, Conflict, Interrupted, MlopsctlError, NotFound, UsageError
from mlopsctl.progress import Status
from mlopsctl.services import rollout
from mlopsctl.services.rollout import RolloutFailed as RolloutFailed

DRY_RUN_MODES = ("client", "server")
DEFAULT_ROLLOUT_TIMEOUT = 300.0

# The kinds a tenant is made of (besides its Namespace): what pruning, status and listing look at.
TENANT_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
)
# Fields the server sets; they are left out of --diff so it shows only what mlopsctl would change.
_SERVER_FIELDS = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


def tenant_selector(name: str) -> str:
    return f"{c.MANAGED_BY_LABEL}={c.MANAGED_BY},{c.TENANT_LABEL}={name}"


def object_set_selector(name: str) -> str:
    """The tenant's own object set: what `tenant add` applied, and the only thing it ever prunes."""
    return f"{tenant_selector(name)},{c.OBJECT_SET_LABEL}={c.TENANT_OBJECT_SET}"


def stamp(objects: list[KubeObject]) -> list[KubeObject]:
    """Copies of the rendered objects carrying the object-set label that pruning selects by."""
    stamped = json.loads(json.dumps(objects))
    for obj in stamped:
        obj.setdefault("metadata", {}).setdefault("labels", {})[c.OBJECT_SET_LABEL] = c.TENANT_OBJECT_SET
    return stamped


def is_managed(obj: KubeObject | None) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(c.MANAGED_BY_LABEL) == c.MANAGED_BY


def describe(obj: KubeObject) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj['kind']}/{meta.get('name', '')}"


@dataclass(frozen=True)
class ObjectChange:
    kind: str
    name: str
    namespace: str | None
    action: str  # applied, would apply, skipped, pruned, would prune, unchanged


@dataclass
class TenantApplyResult:
    tenant: str
    namespace: str
    dry_run: str | None
    objects: list[ObjectChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diff: str | None = None
    ready_replicas: int | None = None
    service_url: str = ""
    next_commands: list[str] = field(default_factory=list)
    # What an existing tenant's recorded spec changes into ("max_replicas: 10 -> 4"); [] for a new tenant.
    spec_changes: list[str] = field(default_factory=list)


@dataclass
class TenantRemoveResult:
    tenant: str
    removed: bool
    note: str
    store_access_revoked: bool = False


@dataclass
class TenantRow:
    name: str
    ready: int
    replicas: int
    hpa_current: int | None
    hpa_min: int | None
    hpa_max: int | None
    model_version: str
    age: str
    created: str


@dataclass
class TenantList:
    tenants: list[TenantRow]


@dataclass
class PodRow:
    name: str
    phase: str
    ready: str
    restarts: int
    node: str


@dataclass
class TenantStatus:
    tenant: TenantRow
    objects: list[ObjectChange]
    pods: list[PodRow]
    conditions: list[str]
    service_url: str
    # Why pods do not run, in the kubelet's and the scheduler's words (analysis/workload.py).
    problems: list[str] = field(default_factory=list)


# -- rollout ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def interruptible(done: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C inside becomes Interrupted (exit 130) whose message says what was already done."""
    try:
        yield
    except KeyboardInterrupt as exc:
        raise Interrupted(f"interrupted: {done()}", hint="re-run the same command; it converges") from exc


def wait_rollout(
    api: KubeApi, namespace: str, name: str, timeout: float, status: Status, done: Callable[[], str]
) -> KubeObject:
    """Wait for the tenant's Deployment; the pods' causes are reported as they appear and name the fix."""
    hint = f"look at the pods: kubectl -n {namespace} get pods; `mlopsctl tenant status {namespace}`"
    with interruptible(done):
        return rollout.wait_for_deployment(api, namespace, name, timeout, status, hint=hint, log_container=c.APP_NAME)


# -- add -------------------------------------------------------------------------------------------------------
def _check_namespace(api: KubeApi, namespace: str, adopt: bool) -> KubeObject | None:
    existing = api.get("v1", "Namespace", namespace)
    if existing is None:
        return None
    if workload.is_terminating(existing):
        raise ClusterError(
            f"namespace {namespace} is being deleted",
            hint="wait until it is gone (kubectl get ns), then run the command again",
        )
    if not is_managed(existing) and not adopt:
        raise Conflict(
            f"namespace {namespace} exists and is not managed by mlopsctl",
            hint="pick another tenant name, or pass --adopt to let mlopsctl take the namespace over",
        )
    return existing


def _strip(obj: KubeObject | None) -> dict[str, Any]:
    if obj is None:
        return {}
    data = json.loads(json.dumps(obj))
    data.pop("status", None)
    meta = data.get("metadata") or {}
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("deployment.kubernetes.io/revision", None)
    if not annotations:
        meta.pop("annotations", None)
    return data


def object_diff(live: KubeObject | None, desired: KubeObject) -> str:
    """A unified diff of one object, live -> what the apply would make of it (empty when nothing changes)."""
    import yaml

    def text(obj: dict[str, Any]) -> list[str]:
        return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines(keepends=True) if obj else []

    ref = f"{desired['kind']}/{desired['metadata'].get('namespace', '')}/{desired['metadata']['name']}"
    lines = difflib.unified_diff(text(_strip(live)), text(_strip(desired)), f"live/{ref}", f"mlopsctl/{ref}")
    return "".join(lines)


def add_tenant(
    api: KubeApi,
    spec: Any,
    status: Status,
    *,
    dry_run: str | None = None,
    diff: bool = False,
    adopt: bool = False,
    force: bool = False,
    wait: bool = True,
    timeout: float = DEFAULT_ROLLOUT_TIMEOUT,
    render: Callable[[Any], list[KubeObject]] | None = None,
) -> TenantApplyResult:
    """Render the tenant, apply it in order (Namespace first), prune what is no longer rendered, wait."""
    if dry_run is not None and dry_run not in DRY_RUN_MODES:
        raise UsageError(f"invalid --dry-run: expected client or server, got {dry_run!r}")
    if render is None:
        from mlopsctl.manifests.tenant import render_tenant

        render = render_tenant
    namespace = spec.namespace
    result = TenantApplyResult(tenant=spec.name, namespace=namespace, dry_run="server" if diff else dry_run)
    result.service_url = workload.service_url(namespace)

    with status.step(f"render tenant {spec.name}"):
        objects = stamp(render(spec))
    with status.step(f"check namespace {namespace}"):
        existing = _check_namespace(api, namespace, adopt)
    served: dict[tuple[str, str], bool] = {}
    applicable: list[KubeObject] = []
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key not in served:
            served[key] = api.has_kind(*key)
        if served[key]:
            applicable.append(obj)
            continue
        meta = obj["metadata"]
        result.objects.append(ObjectChange(obj["kind"], meta["name"], meta.get("namespace"), "skipped"))
        note = f"skipped {describe(obj)}: the cluster does not serve {key[0]} {key[1]} (its CRD is not installed)"
        result.notes.append(note)
        status.note(note)

    if diff:
        result.diff = _diff(api, applicable, namespace, existing is not None, result)
        return result
    if dry_run == "client":
        for obj in applicable:
            meta = obj["metadata"]
            result.objects.append(ObjectChange(obj["kind"], meta["name"], meta.get("namespace"), "would apply"))
        result.objects += _prune(api, spec.name, namespace, applicable, status, dry=True)
        return result

    _apply_all(
        api,
        applicable,
        result,
        status,
        server_dry_run=dry_run == "server",
        force=force,
        namespace_exists=existing is not None,
    )
    result.objects += _prune(api, spec.name, namespace, applicable, status, dry=dry_run == "server")
    if dry_run == "server":
        return result

    deployments = [obj for obj in applicable if obj["kind"] == "Deployment"]
    if wait:
        for obj in deployments:
            name = obj["metadata"]["name"]
            applied = sum(1 for change in result.objects if change.action == "applied")

            def done(n: int = applied) -> str:
                return (
                    f"all {n} objects of tenant {spec.name} were applied; the rollout goes on in "
                    f"the cluster (`mlopsctl tenant status {spec.name}`)"
                )

            with status.step(f"wait for Deployment {namespace}/{name} to roll out"):
                found = wait_rollout(api, namespace, name, timeout, status, done)
            result.ready_replicas = int((found.get("status") or {}).get("readyReplicas", 0))
    result.next_commands = [
        f"mlopsctl tenant status {spec.name}",
        f"kubectl -n {namespace} port-forward svc/{c.APP_NAME} 8080:{c.SERVICE_PORT}"
        "  # then: curl -s localhost:8080/healthz",
        f"mlopsctl verify isolation  # proves {spec.name} cannot reach the other tenants",
    ]
    return result


def _apply_all(
    api: KubeApi,
    objects: list[KubeObject],
    result: TenantApplyResult,
    status: Status,
    *,
    server_dry_run: bool,
    force: bool,
    namespace_exists: bool,
) -> None:
    applied: list[str] = []

    def done() -> str:
        names = ", ".join(applied) or "nothing"
        return f"applied {len(applied)} of {len(objects)} objects of tenant {result.tenant} ({names})"

    if server_dry_run and not namespace_exists:
        note = f"namespace {result.namespace} does not exist yet: the server validates only the Namespace itself"
        result.notes.append(note)
        status.note(note)
    title = "validate" if server_dry_run else "apply"
    with status.step(f"{title} {len(objects)} objects of tenant {result.tenant}"), interruptible(done):
        for obj in objects:
            meta = obj["metadata"]
            if server_dry_run and not namespace_exists and obj["kind"] != "Namespace":
                # The server cannot validate objects in a namespace that a dry run did not create.
                result.objects.append(ObjectChange(obj["kind"], meta["name"], meta.get("namespace"), "would apply"))
                continue
            try:
                api.apply(obj, force=force, dry_run=server_dry_run)
            except MlopsctlError as exc:
                exc.message = f"{describe(obj)} failed after {done()}: {exc.message}"
                hint = "re-run the same command: it applies the rest and converges"
                exc.hint = f"{exc.hint}; {hint}" if exc.hint else hint
                raise
            applied.append(describe(obj))
            action = "would apply" if server_dry_run else "applied"
            result.objects.append(ObjectChange(obj["kind"], meta["name"], meta.get("namespace"), action))


def _prune(
    api: KubeApi, tenant: str, namespace: str, rendered: list[KubeObject], status: Status, *, dry: bool
) -> list[ObjectChange]:
    """Delete objects labelled as this tenant's that the templates no longer render."""
    wanted = {(obj["kind"], obj["metadata"]["name"]) for obj in rendered}
    changes: list[ObjectChange] = []
    for api_version, kind in TENANT_KINDS:
        if not api.has_kind(api_version, kind):
            continue
        for live in api.list(api_version, kind, namespace, label_selector=object_set_selector(tenant)):
            meta = live.get("metadata") or {}
            if (kind, meta.get("name")) in wanted or meta.get("ownerReferences"):
                continue
            if not dry:
                api.delete(api_version, kind, meta["name"], namespace)
            action = "would prune" if dry else "pruned"
            status.note(f"{action} {kind}/{meta['name']}: no longer part of tenant {tenant}")
            changes.append(ObjectChange(kind, meta["name"], namespace, action))
    return changes


def _diff(
    api: KubeApi, objects: list[KubeObject], namespace: str, namespace_exists: bool, result: TenantApplyResult
) -> str:
    chunks: list[str] = []
    for obj in objects:
        meta = obj["metadata"]
        live = api.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        desired = api.apply(obj, dry_run=True) if namespace_exists or obj["kind"] == "Namespace" else obj
        text = object_diff(live, desired)
        action = "unchanged" if not text else ("would create" if live is None else "would change")
        result.objects.append(ObjectChange(obj["kind"], meta["name"], meta.get("namespace"), action))
        chunks.append(text)
    for change in _prune(api, result.tenant, namespace, objects, _NoStatus(), dry=True):
        result.objects.append(change)
        chunks.append(f"--- live/{change.kind}/{namespace}/{change.name}\n+++ (pruned)\n")
    return "".join(chunks)


class _NoStatus:
    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        yield

    def note(self, message: str) -> None:
        pass


# -- remove ----------------------------------------------------------------------------------------------------
def remove_tenant(
    api: KubeApi, name: str, status: Status, *, wait: bool = True, timeout: float = DEFAULT_ROLLOUT_TIMEOUT
) -> TenantRemoveResult:
    """Delete a tenant's namespace, only when mlopsctl manages it; absent is not an error (idempotent).

    The tenant's object-store access (its identity, its place in the store's NetworkPolicy) is revoked first,
    when the store is installed and still admits it, so a failure there leaves the tenant whole and a re-run
    converges; a re-run after the namespace is gone still revokes what is left."""
    from mlopsctl.services import storage

    if name.startswith("kube-") or name in c.PLATFORM_NAMESPACES:
        raise UsageError(f"refusing to remove {name}: it is a platform namespace, not a tenant")
    namespace = api.get("v1", "Namespace", name)
    if namespace is not None and not is_managed(namespace):
        raise Conflict(
            f"refusing to remove namespace {name}: it is not managed by mlopsctl",
            hint=f"it lacks the label {c.MANAGED_BY_LABEL}={c.MANAGED_BY}; delete it yourself if you mean it",
        )
    revoked = storage.tenant_has_access(api, name) and storage.revoke_tenant_access(api, status, name)
    revoked_note = "; its object-store access was revoked" if revoked else ""
    if namespace is None:
        note = f"tenant {name} does not exist; " + (
            "its object-store access was revoked" if revoked else "nothing to do"
        )
        return TenantRemoveResult(name, False, note, store_access_revoked=revoked)
    with status.step(f"delete namespace {name}"):
        api.delete("v1", "Namespace", name)
    if wait:
        done = f"namespace {name} is being deleted; Kubernetes finishes that on its own"
        with status.step(f"wait for namespace {name} to be gone"), interruptible(lambda: done):
            try:
                api.wait_for("v1", "Namespace", name, None, lambda obj: obj is None, timeout)
            except TimeoutError as exc:
                raise ClusterError(
                    f"namespace {name} was not gone within {timeout:.0f}s",
                    hint=f"something holds a finalizer: kubectl get ns {name} -o yaml",
                ) from exc
    return TenantRemoveResult(name, True, f"tenant {name} removed{revoked_note}", store_access_revoked=revoked)


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
