"""Tenant lifecycle on a live cluster: add (apply in dependency order, prune, wait), remove, list, status.

The cluster is the source of truth: every object carries the mlopsctl labels, so pruning, listing and removal
select by label and never consult a local state file. A namespace that mlopsctl does not manage is never taken
over (unless adopt) and never deleted.

    model.py   the tenant's kinds, label selectors, result types
    apply.py   add: apply, prune, diff, dry-run, rollout wait
    remove.py  remove
    read.py    list and status
"""

from mlopsctl.services.rollout import RolloutFailed
from mlopsctl.services.tenant.apply import add_tenant, object_diff, wait_rollout
from mlopsctl.services.tenant.model import (
    DEFAULT_ROLLOUT_TIMEOUT,
    DRY_RUN_MODES,
    TENANT_KINDS,
    ObjectChange,
    PodRow,
    TenantApplyResult,
    TenantList,
    TenantRemoveResult,
    TenantRow,
    TenantStatus,
    describe,
    interruptible,
    is_managed,
    object_set_selector,
    stamp,
    tenant_selector,
)
from mlopsctl.services.tenant.read import format_age, list_tenants, tenant_status
from mlopsctl.services.tenant.remove import remove_tenant

__all__ = [
    "DEFAULT_ROLLOUT_TIMEOUT",
    "DRY_RUN_MODES",
    "TENANT_KINDS",
    "ObjectChange",
    "PodRow",
    "RolloutFailed",
    "TenantApplyResult",
    "TenantList",
    "TenantRemoveResult",
    "TenantRow",
    "TenantStatus",
    "add_tenant",
    "describe",
    "format_age",
    "interruptible",
    "is_managed",
    "list_tenants",
    "object_diff",
    "object_set_selector",
    "remove_tenant",
    "stamp",
    "tenant_selector",
    "tenant_status",
    "wait_rollout",
]
