"""What tenant owners may do, as probes with an expected answer: the owners' part of the isolation contract.

For each owner of tenant T (the `--owner` subjects and T's `tenant-owner` service account):
- allowed in T on the verbs of the job (read the workloads, roll out and scale the Deployment, run Jobs, create
  ConfigMaps and Secrets, exec and port-forward): positive controls, so an authorizer that denies everything fails;
- denied in T on everything that isolates the tenant: NetworkPolicies, ResourceQuota, LimitRange, Roles,
  RoleBindings, ServiceAccounts and their tokens, the Namespace itself (and so its Pod Security labels), and the
  escalate, bind and impersonate verbs;
- denied in every other namespace (a service account owner's own namespace aside) and cluster-wide.

Owners are what the tenant's recorded spec declares plus what its `tenant-owner` RoleBinding binds, so an owner
declared but not bound fails its positive controls and one bound but not declared is still held to the rules.
The probes are the same offline (the RBAC evaluator) and live (SubjectAccessReviews).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlopsctl import constants as c
from mlopsctl.analysis.rbac import Request, Subject
from mlopsctl.analysis.rbac_contract import AccessCheck
from mlopsctl.manifests.owners import InvalidOwner, Owner, tenant_owner_account

RBAC = "rbac.authorization.k8s.io"
NETWORKING = "networking.k8s.io"
AUTHENTICATED = "system:authenticated"

# Namespaces where owners must have nothing even when the objects at hand do not declare them.
PLATFORM_SCOPES = ("default", "kube-system", c.MONITORING_NAMESPACE, c.STORAGE_NAMESPACE, c.SYSTEM_NAMESPACE)

RULE_JOB = "owners may run their own namespace's service"
RULE_ISOLATION = "owners never change what isolates their namespace"
RULE_ELSEWHERE = "owners have nothing in any other namespace"
RULE_CLUSTER = "owners have nothing cluster-wide"

# The positive controls: what every owner must be allowed in its own namespace.
OWNER_ALLOWED: tuple[AccessCheck, ...] = (
    AccessCheck("get", "pods"),
    AccessCheck("list", "pods"),
    AccessCheck("watch", "pods"),
    AccessCheck("get", "pods", "", "log"),
    AccessCheck("list", "services"),
    AccessCheck("list", "configmaps"),
    AccessCheck("list", "events"),
    AccessCheck("get", "deployments", "apps"),
    AccessCheck("update", "deployments", "apps"),
    AccessCheck("patch", "deployments", "apps"),
    AccessCheck("patch", "deployments", "apps", "scale"),
    AccessCheck("create", "jobs", "batch"),
    AccessCheck("create", "configmaps"),
    AccessCheck("create", "secrets"),
    AccessCheck("create", "pods", "", "exec"),
    AccessCheck("create", "pods", "", "portforward"),
)

_WRITES = ("create", "update", "patch", "delete")
# Isolation-bearing resources of the tenant's namespace: (resource, group).
ISOLATION_RESOURCES = (
    ("networkpolicies", NETWORKING),
    ("resourcequotas", ""),
    ("limitranges", ""),
    ("roles", RBAC),
    ("rolebindings", RBAC),
    ("serviceaccounts", ""),
)
ESCALATION_CHECKS: tuple[AccessCheck, ...] = (
    AccessCheck("escalate", "roles", RBAC),
    AccessCheck("bind", "roles", RBAC),
    AccessCheck("bind", "clusterroles", RBAC),
    AccessCheck("create", "serviceaccounts", "", "token"),
    AccessCheck("impersonate", "serviceaccounts"),
)
# Asked at cluster scope.
CLUSTER_CHECKS: tuple[AccessCheck, ...] = (
    AccessCheck("impersonate", "users"),
    AccessCheck("impersonate", "groups"),
    AccessCheck("list", "namespaces"),
    AccessCheck("create", "clusterrolebindings", RBAC),
)


def isolation_checks(tenant: str) -> list[AccessCheck]:
    """What owners must be denied in their own namespace; the Namespace's own writes are asked by name."""
    checks = [AccessCheck(verb, resource, group) for resource, group in ISOLATION_RESOURCES for verb in _WRITES]
    checks += ESCALATION_CHECKS
    checks += [AccessCheck(verb, "namespaces", name=tenant) for verb in ("update", "patch", "delete")]
    return checks


def subject_of(owner: Owner) -> Subject:
    """How the API server sees an owner: a user or a group member is authenticated; a service account is one."""
    if owner.kind == "ServiceAccount":
        return Subject.service_account(owner.namespace, owner.name)
    if owner.kind == "User":
        return Subject(owner.name, (AUTHENTICATED,))
    return Subject("", (owner.name, AUTHENTICATED))


@dataclass(frozen=True)
class OwnerProbe:
    """One question about one owner, with the answer the contract demands."""

    tenant: str
    owner: Owner
    check: AccessCheck
    namespace: str | None  # None: cluster scope
    expected: bool
    rule: str

    @property
    def subject(self) -> Subject:
        return subject_of(self.owner)

    def request(self) -> Request:
        return self.check.request(self.namespace)

    @property
    def where(self) -> str:
        return self.namespace or "cluster scope"

    def describe(self) -> str:
        return f"{self.owner.text}: {self.check.describe()} in {self.where}"


def owner_probes(tenant: str, owners: Iterable[Owner], namespaces: Sequence[str]) -> list[OwnerProbe]:
    """Every probe for the owners of `tenant`; `namespaces` are the other namespaces to prove empty."""
    probes: list[OwnerProbe] = []
    for owner in owners:
        home = owner.namespace if owner.kind == "ServiceAccount" else tenant
        probes += [OwnerProbe(tenant, owner, check, tenant, True, RULE_JOB) for check in OWNER_ALLOWED]
        probes += [
            OwnerProbe(tenant, owner, check, tenant, False, RULE_ISOLATION) for check in isolation_checks(tenant)
        ]
        for namespace in sorted(set(namespaces) - {tenant, home}):
            probes += [OwnerProbe(tenant, owner, check, namespace, False, RULE_ELSEWHERE) for check in OWNER_ALLOWED]
        probes += [OwnerProbe(tenant, owner, check, None, False, RULE_CLUSTER) for check in OWNER_ALLOWED]
        probes += [OwnerProbe(tenant, owner, check, None, False, RULE_CLUSTER) for check in CLUSTER_CHECKS]
    return probes


def declared_owners(namespace: Mapping[str, Any] | None) -> list[Owner]:
    """The owners the tenant's recorded spec names (its Namespace annotation); unreadable entries are skipped."""
    annotations = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    try:
        spec = json.loads(annotations.get(c.TENANT_SPEC_ANNOTATION) or "{}")
    except ValueError:
        return []
    found = []
    for text in (spec.get("owners") if isinstance(spec, dict) else None) or []:
        try:
            found.append(Owner.parse(text))
        except InvalidOwner:
            continue
    return found


def bound_owners(tenant: str, rbac_objects: Iterable[Mapping[str, Any]]) -> list[Owner]:
    """The subjects of the tenant's `tenant-owner` RoleBinding."""
    found = []
    for obj in rbac_objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") != "RoleBinding" or meta.get("name") != c.TENANT_OWNER:
            continue
        if (meta.get("namespace") or "default") != tenant:
            continue
        found += [Owner.from_subject(subject, tenant) for subject in obj.get("subjects") or []]
    return found


def tenant_owners(
    tenant: str,
    namespace: Mapping[str, Any] | None,
    rbac_objects: Iterable[Mapping[str, Any]],
    service_accounts: Iterable[tuple[str, str]],
) -> list[Owner]:
    """Declared and bound owners together, with the tenant-owner account when it exists or is bound."""
    owners = set(declared_owners(namespace)) | set(bound_owners(tenant, rbac_objects))
    if (tenant, c.TENANT_OWNER) in set(service_accounts):
        owners.add(tenant_owner_account(tenant, c.TENANT_OWNER))
    return sorted(owners)
