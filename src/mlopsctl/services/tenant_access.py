"""`tenant access`: a tenant's owners and what each may do, asked of the API server (SubjectAccessReviews) or,
offline, of the RBAC evaluator over rendered manifests. The questions are the owners' probes (analysis/owners.py),
so this is the same evidence `verify rbac` judges, grouped per owner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis.inventory import build_inventory
from mlopsctl.analysis.owners import PLATFORM_SCOPES, OwnerProbe, owner_probes, tenant_owners
from mlopsctl.analysis.rbac import RbacModel
from mlopsctl.errors import NotFound, UsageError
from mlopsctl.manifests.owners import Owner
from mlopsctl.services.verify_owners import ask, live_owners


@dataclass
class OwnerAccess:
    owner: str
    kind: str
    may: list[str] = field(default_factory=list)  # allowed in the tenant namespace
    may_not: list[str] = field(default_factory=list)  # denied in the tenant namespace
    elsewhere: list[str] = field(default_factory=list)  # allowed outside it: each one breaks isolation
    unexpected: list[str] = field(default_factory=list)  # answers that differ from the owners' contract


@dataclass
class TenantAccess:
    tenant: str
    source: str  # "SubjectAccessReview" or "RBAC evaluator"
    owners: list[OwnerAccess]
    namespaces_checked: list[str]
    as_expected: bool = True


def summarize(
    tenant: str, source: str, owners: Sequence[Owner], probes: Sequence[OwnerProbe], answers: Sequence[bool]
) -> TenantAccess:
    """Group the answers to `probes` per owner (pure)."""
    rows = {owner: OwnerAccess(owner.text, owner.kind) for owner in owners}
    for probe, allowed in zip(probes, answers, strict=True):
        row = rows[probe.owner]
        if probe.namespace == tenant:
            (row.may if allowed else row.may_not).append(probe.check.describe())
        elif allowed:
            row.elsewhere.append(f"{probe.check.describe()} in {probe.where}")
        if allowed != probe.expected:
            row.unexpected.append(f"{probe.check.describe()} in {probe.where}: {'allowed' if allowed else 'denied'}")
    namespaces = sorted({p.namespace for p in probes if p.namespace and p.namespace != tenant})
    result = TenantAccess(tenant, source, list(rows.values()), namespaces)
    result.as_expected = not any(row.unexpected for row in result.owners)
    return result


def access_live(api: KubeApi, tenant: str) -> TenantAccess:
    namespace = api.get("v1", "Namespace", tenant)
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    if namespace is None or labels.get(c.TENANT_LABEL) != tenant:
        raise NotFound(f"tenant {tenant} not found", hint="`mlopsctl tenant list` shows the tenants")
    names = [ns["metadata"]["name"] for ns in api.list("v1", "Namespace")]
    tenants = [
        ns["metadata"]["name"]
        for ns in api.list("v1", "Namespace", label_selector=c.TENANT_LABEL)
        if ns["metadata"]["name"] != tenant
    ]
    scopes = [*tenants, *(ns for ns in PLATFORM_SCOPES if ns in names)]
    owners = live_owners(api, tenant, namespace)
    probes = owner_probes(tenant, owners, scopes)
    return summarize(tenant, "SubjectAccessReview", owners, probes, [ask(api, probe) for probe in probes])


def access_offline(objects: Sequence[dict[str, Any]], tenant: str) -> TenantAccess:
    inventory = build_inventory(objects)
    if tenant not in inventory.namespace_objects:
        known = ", ".join(sorted(inventory.namespace_objects)) or "none"
        raise UsageError(f"tenant {tenant} is not in the manifests", hint=f"namespaces found: {known}")
    model = RbacModel.from_objects(inventory.rbac)
    owners = tenant_owners(tenant, inventory.namespace_objects[tenant], inventory.rbac, inventory.service_accounts)
    scopes = sorted(set(inventory.all_namespaces()) | set(PLATFORM_SCOPES))
    probes = owner_probes(tenant, owners, scopes)
    answers = [model.authorize(probe.subject, probe.request()).allowed for probe in probes]
    return summarize(tenant, "RBAC evaluator", owners, probes, answers)
