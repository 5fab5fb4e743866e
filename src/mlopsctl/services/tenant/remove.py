"""`tenant remove`: delete a managed tenant namespace after revoking its object-store access."""

from __future__ import annotations

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.errors import ClusterError, Conflict, UsageError
from mlopsctl.progress import Status
from mlopsctl.services.rollout import RolloutFailed as RolloutFailed
from mlopsctl.services.tenant.model import (
    DEFAULT_ROLLOUT_TIMEOUT,
    TenantRemoveResult,
    interruptible,
    is_managed,
)


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
