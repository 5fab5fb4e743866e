"""`tenant add`: apply the object set in dependency order, prune what left it, --diff and --dry-run, wait for
the rollout (Ctrl-C says what was already done)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, Conflict, MlopsctlError, UsageError
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services import rollout
from mlopsctl.services.tenant.model import (
    DEFAULT_ROLLOUT_TIMEOUT,
    DRY_RUN_MODES,
    TENANT_KINDS,
    ObjectChange,
    TenantApplyResult,
    describe,
    interruptible,
    is_managed,
    object_set_selector,
    stamp,
)

# Fields the server sets; they are left out of --diff so it shows only what mlopsctl would change.
_SERVER_FIELDS = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


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
    for change in _prune(api, result.tenant, namespace, objects, NullStatus(), dry=True):
        result.objects.append(change)
        chunks.append(f"--- live/{change.kind}/{namespace}/{change.name}\n+++ (pruned)\n")
    return "".join(chunks)
