"""Which model a tenant serves: `tenant set-model` and `tenant add --model` pin a version, then wait until the
pods load it; when they do not, say why and how to go back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlopsctl import constants as C
from mlopsctl.adapters.base import KubeApi
from mlopsctl.adapters.s3 import ObjectStore
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, MlopsctlError, NotFound
from mlopsctl.manifests import storage as M
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services import rollout
from mlopsctl.services.model_registry.catalog import ensure_tenant_copy


@dataclass(frozen=True)
class SetModelResult:
    tenant: str
    version: str
    previous_version: str | None
    uri: str
    copied_from_catalog: bool
    applied: list[str]
    rolled_out: bool


def set_model(
    api: KubeApi,
    store: ObjectStore,
    tenant: str,
    version: str,
    status: Status | None = None,
    *,
    wait: bool = True,
    timeout: float = 300,
) -> SetModelResult:
    """`tenant set-model`: pin an existing tenant (its spec is read from its Namespace) to `version`."""
    from mlopsctl.manifests.tenant import TenantSpec

    M.validate_version(version)
    namespace = api.get("v1", "Namespace", tenant)
    data = workload.tenant_spec_data(namespace)
    if namespace is None or data is None:
        raise NotFound(f"tenant {tenant} not found", hint="see `mlopsctl tenant list`, or add it with `tenant add`")
    if workload.is_terminating(namespace):
        raise ClusterError(
            f"tenant {tenant} is being deleted", hint="wait until it is gone, then add it again with `tenant add`"
        )
    spec = TenantSpec.from_dict({**data, "name": tenant})
    return pin_model(api, store, spec, version, status, wait=wait, timeout=timeout)


def pin_model(
    api: KubeApi,
    store: ObjectStore,
    spec: Any,
    version: str,
    status: Status | None = None,
    *,
    wait: bool = True,
    timeout: float = 300,
    force: bool = False,
    adopt: bool = False,
) -> SetModelResult:
    """Serve `version` in the tenant `spec` describes (new or existing; `tenant add --model` calls this).

    In order: the version is made present and verified (sha256) in the tenant's own bucket, copied from the
    catalog if need be; the tenant's objects are applied with the new model_uri/model_version (through the
    tenant service: ordered apply, pruning); the tenant gets its store credentials Secret (its namespace exists
    now); then the rollout is awaited. The pods' readiness is the service's own download + sha256 check, so a
    version that fails to load never becomes ready and the old pods keep serving (maxUnavailable 0); the
    rollout then fails with the Deployment's reason. A missing or corrupt version is refused before anything
    on the cluster changes."""
    from mlopsctl.services import storage
    from mlopsctl.services import tenant as tenant_service

    status = status or NullStatus()
    M.validate_version(version)
    previous = _live_model_version(api, spec.name)
    uri, copied = ensure_tenant_copy(store, spec.name, version, status)
    new_spec = spec.replace(model_uri=uri, model_version=version)
    applied = tenant_service.add_tenant(api, new_spec, status, wait=False, force=force, adopt=adopt)
    changed = [f"{o.kind}/{o.name}" for o in applied.objects if o.action not in ("unchanged", "skipped")]
    if api.get("v1", "Secret", C.MODEL_STORE_SECRET, spec.name) is None:
        # The store restarts to load the new identity: let it come back before the pods try to read it.
        storage.grant_tenant_access(api, status, spec.name, wait=wait)
    rolled_out = False
    if wait:
        with status.step(f"waiting for {spec.name}'s pods to load {version}"):
            wait_for_rollout(api, spec.name, version, timeout, previous, status=status)
            rolled_out = True
    return SetModelResult(spec.name, version, previous, uri, copied, changed, rolled_out)


def _live_model_version(api: KubeApi, tenant: str) -> str | None:
    """The model version in the tenant's spec on its Namespace; None for a tenant that does not exist yet (so
    `tenant add --model` on a new tenant offers no rollback target)."""
    version = (workload.tenant_spec_data(api.get("v1", "Namespace", tenant)) or {}).get("model_version")
    return version if isinstance(version, str) else None


def unready_reason(api: KubeApi, tenant: str, version: str) -> str | None:
    """Why a pod that should serve `version` is not ready: its waiting reason, or the last log line that
    speaks of the model (the service logs why loading failed)."""
    pods = api.list("v1", "Pod", namespace=tenant, label_selector=f"{C.INSTANCE_LABEL}={tenant}")
    for pod in pods:
        annotations = pod.get("metadata", {}).get("annotations") or {}
        if annotations.get(C.MODEL_VERSION_ANNOTATION) != version:
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if any(status.get("ready") for status in statuses):
            continue
        name = pod["metadata"]["name"]
        for status in statuses:
            waiting = (status.get("state") or {}).get("waiting") or {}
            # The service exits when its model fails to load; with terminationMessagePolicy
            # FallbackToLogsOnError the tail of its log is the last termination's message.
            last = ((status.get("lastState") or {}).get("terminated") or {}).get("message") or ""
            said = [line for line in last.splitlines() if "model" in line.lower()] or last.splitlines()[-1:]
            if said:
                return f"pod {name}: {waiting.get('reason') or 'restarted'}: {said[-1].strip()[:300]}"
            if waiting.get("reason") and waiting.get("reason") != "ContainerCreating":
                return f"pod {name}: {waiting['reason']}: {waiting.get('message', '')}".rstrip(": ")
        try:
            lines = [line for line in api.pod_logs(tenant, name, container=C.APP_NAME) if "model" in line.lower()]
        except MlopsctlError:
            lines = []
        if lines:
            return f"pod {name}: {lines[-1].strip()[:300]}"
    return None


def wait_for_rollout(
    api: KubeApi,
    tenant: str,
    version: str,
    timeout: float,
    previous: str | None = None,
    status: Status | None = None,
) -> None:
    """Wait for the tenant's pods to serve `version` (the shared rollout rule, pod causes reported as they
    appear); the error names why and how to go back."""
    if previous:
        serving, fix = (
            "; the previous pods keep serving",
            f"roll back with `mlopsctl tenant set-model {tenant} {previous}`",
        )
    else:  # a new tenant (`tenant add --model`): there is nothing to fall back to
        serving = "; the tenant is new, so no pod serves it yet"
        fix = f"serve another version with `mlopsctl tenant set-model {tenant} VERSION`, or `mlopsctl tenant remove {tenant}`"

    try:
        rollout.wait_for_deployment(api, tenant, C.APP_NAME, timeout, status or NullStatus(), log_container=C.APP_NAME)
    except rollout.RolloutFailed as exc:
        reason = unready_reason(api, tenant, version) or exc.failure
        if exc.outcome == "timeout":
            raise ClusterError(
                f"{tenant}: the pods did not become ready with model {version} within {timeout:.0f}s"
                + (f" ({reason})" if reason else "")
                + serving,
                hint=f"kubectl -n {tenant} logs -l {C.INSTANCE_LABEL}={tenant} --tail 20; {fix}",
            ) from exc
        detail = f" ({reason})" if reason and reason != exc.failure else ""
        raise ClusterError(
            f"{tenant}: rollout of model {version} failed: {exc.failure}{detail}{serving}",
            hint=f"{exc.hint}; {fix}" if exc.outcome == "fatal" and exc.hint else fix,
        ) from exc
