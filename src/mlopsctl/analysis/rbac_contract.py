"""The RBAC isolation contract of mlopsctl tenants, as checks and expectations over the RBAC evaluator.

A tenant identity (each service account of the tenant's namespace, and its `default` service account, which
every namespace has) may do only what the tenant's own Roles grant, in its own namespace; nothing in any other
namespace; nothing cluster-scoped; and nothing that breaks isolation even in its own namespace (roles, bindings,
NetworkPolicies, quotas and limit ranges written; `bind`, `escalate`, `impersonate`). The checks cover the verbs
and resources that break isolation: reading secrets, exec/attach into pods, creating pods (a pod can mount any
secret of its namespace) and service account tokens, writing the tenant's guard rails, and namespaces and nodes.

Those sensitive verbs are a tenant's own business in its own namespace only for its owners, and only through the
platform's `tenant-owner` Role (owners exec into their pods and manage their Secrets by design). The workload
identities (the inference account and `default`, which any pod of the namespace may run as) get none of them,
whatever Role grants them.

Positive controls: an authorizer that says no to everything must not pass. For each tenant, checks whose answer
must be "allowed" are derived from what the evaluator grants: the built-in `system:basic-user` (every
authenticated identity may create a SelfSubjectAccessReview) and one request per rule of the tenant's own Role.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mlopsctl import constants as c
from mlopsctl.analysis.rbac import ALL, Binding, Decision, RbacModel, Request, Subject, is_cluster_scoped

RBAC_GROUP = "rbac.authorization.k8s.io"
NETWORKING_GROUP = "networking.k8s.io"
WRITE_VERBS = ("create", "update", "patch", "delete")
DEFAULT_SERVICE_ACCOUNT = "default"
# The accounts a tenant's pods run as: the inference Deployment's, and `default` for any other pod.
WORKLOAD_ACCOUNTS = (c.APP_NAME, DEFAULT_SERVICE_ACCOUNT)
OWN_ROLE_ONLY = "only via the tenant's own Role"
OWNER_ROLE_ONLY = f"only via the {c.TENANT_OWNER} Role"


@dataclass(frozen=True)
class AccessCheck:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    name: str = ""

    def describe(self) -> str:
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        if self.group:
            resource = f"{resource}.{self.group}"
        return f"{self.verb} {resource}" + (f" {self.name}" if self.name else "")

    def request(self, namespace: str | None) -> Request:
        return Request(self.verb, self.resource, self.group, self.subresource, namespace, self.name)


# Writes to these let a tenant undo its own guard rails.
GUARD_RAILS = (
    ("networkpolicies", NETWORKING_GROUP),
    ("resourcequotas", ""),
    ("limitranges", ""),
    ("roles", RBAC_GROUP),
    ("rolebindings", RBAC_GROUP),
)
STANDARD_CHECKS: tuple[AccessCheck, ...] = (
    *(
        AccessCheck(verb, resource, "", subresource)
        for resource, subresource in (("pods", ""), ("pods", "log"), ("secrets", ""), ("configmaps", ""))
        for verb in ("get", "list", "watch")
    ),
    AccessCheck("create", "pods"),
    AccessCheck("create", "pods", "", "exec"),
    AccessCheck("create", "pods", "", "attach"),
    AccessCheck("create", "serviceaccounts", "", "token"),
    AccessCheck("create", "deployments", "apps"),
    AccessCheck("patch", "deployments", "apps"),
    *(AccessCheck(verb, resource, group) for resource, group in GUARD_RAILS for verb in WRITE_VERBS),
    AccessCheck("bind", "clusterroles", RBAC_GROUP),
    AccessCheck("bind", "roles", RBAC_GROUP),
    AccessCheck("escalate", "roles", RBAC_GROUP),
    AccessCheck("escalate", "clusterroles", RBAC_GROUP),
    AccessCheck("create", "clusterrolebindings", RBAC_GROUP),
    AccessCheck("impersonate", "users"),
    AccessCheck("impersonate", "groups"),
    AccessCheck("impersonate", "serviceaccounts"),
    *(AccessCheck(verb, "namespaces") for verb in ("get", "list", "create", "update", "delete")),
    AccessCheck("get", "nodes"),
    AccessCheck("list", "nodes"),
    AccessCheck("get", "nodes", "", "proxy"),
)
# The built-in grant every authenticated identity has (ClusterRoleBinding system:basic-user).
BASIC_USER_CONTROL = AccessCheck("create", "selfsubjectaccessreviews", "authorization.k8s.io")

_WRITES = {*WRITE_VERBS, "deletecollection", ALL}


def is_escalation(check: AccessCheck) -> bool:
    """A request that breaks isolation even in the tenant's own namespace."""
    if check.verb in ("bind", "escalate", "impersonate"):
        return True
    if check.group == RBAC_GROUP and check.verb in _WRITES:
        return True
    return (check.resource, check.group) in GUARD_RAILS and check.verb in _WRITES


def is_sensitive(check: AccessCheck) -> bool:
    """Reading Secrets, running code in a pod or starting one (it can mount any Secret), minting a token."""
    if check.group:
        return False
    if check.resource == "secrets" and not check.subresource:
        return check.verb in ("get", "list", "watch", ALL)
    if check.resource == "pods":
        if check.subresource in ("exec", "attach"):
            return True
        return not check.subresource and check.verb in ("create", ALL)
    return check.resource == "serviceaccounts" and check.subresource == "token"


def forbidden_at_home(check: AccessCheck, account: str) -> bool:
    """A request a tenant identity must be denied even in its own namespace, whatever grants it."""
    return is_escalation(check) or (account in WORKLOAD_ACCOUNTS and is_sensitive(check))


def account_name(subject: Subject) -> str:
    """The service account name of `system:serviceaccount:NS:NAME`, else ""."""
    parts = subject.user.split(":")
    return parts[3] if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] else ""


def parse_checks(data: object, where: str) -> list[AccessCheck]:
    """Extra checks from a file: a list of `{verb, resource, group?, subresource?, name?}` mappings or of
    strings `VERB RESOURCE[/SUBRESOURCE][.GROUP] [NAME]` (for example `create pods/exec`, `get leases.coordination.k8s.io`).
    A top-level mapping with a `checks` list is accepted too."""
    if isinstance(data, Mapping) and "checks" in data:
        data = data["checks"]
    if not isinstance(data, list):
        raise ValueError(f"{where}: expected a list of checks")
    checks = []
    for index, item in enumerate(data):
        if isinstance(item, str):
            words = item.split()
            if len(words) not in (2, 3):
                raise ValueError(f"{where}: check {index}: expected 'VERB RESOURCE[/SUB][.GROUP] [NAME]', got {item!r}")
            resource, _, group = words[1].partition(".")
            resource, _, subresource = resource.partition("/")
            checks.append(AccessCheck(words[0], resource, group, subresource, words[2] if len(words) == 3 else ""))
        elif isinstance(item, Mapping):
            if not item.get("verb") or not item.get("resource"):
                raise ValueError(f"{where}: check {index}: 'verb' and 'resource' are required")
            resource, _, subresource = str(item["resource"]).partition("/")
            checks.append(
                AccessCheck(
                    str(item["verb"]),
                    resource,
                    str(item.get("group") or ""),
                    str(item.get("subresource") or subresource),
                    str(item.get("name") or ""),
                )
            )
        else:
            raise ValueError(f"{where}: check {index}: expected a mapping or a string")
    return checks


def scopes_for(check: AccessCheck, namespaces: Sequence[str]) -> list[str | None]:
    """Where to ask: every namespace plus cluster scope, or cluster scope only for cluster-scoped resources."""
    if is_cluster_scoped(check.group, check.resource):
        return [None]
    return [*namespaces, None]


def tenant_identities(
    service_accounts: Sequence[tuple[str, str]], tenants: Sequence[str]
) -> list[tuple[str, str, bool]]:
    """(namespace, service account, synthesized) of every tenant: its accounts plus `default`, which every
    namespace has even when the manifests do not name it."""
    found = {(ns, name): False for ns, name in service_accounts if ns in tenants}
    for tenant in tenants:
        found.setdefault((tenant, DEFAULT_SERVICE_ACCOUNT), True)
    return sorted((ns, name, synthesized) for (ns, name), synthesized in found.items())


def rbac_expectation(
    subject_namespace: str,
    account: str,
    tenants: Sequence[str],
    check: AccessCheck,
    namespace: str | None,
    decision: Decision,
) -> tuple[str, str, bool] | None:
    """(expected, rule, passed) for the tenant identity `account` of `subject_namespace`, or None for other
    subjects."""
    if subject_namespace not in tenants:
        return None
    if namespace != subject_namespace:
        where = "cluster-scoped" if namespace is None else f"in namespace {namespace}"
        return "denied", f"nothing {where} for a tenant identity", not decision.allowed
    if is_escalation(check):
        return "denied", "no escalation or guard-rail writes for a tenant identity", not decision.allowed
    if is_sensitive(check):
        if account in WORKLOAD_ACCOUNTS:
            rule = "no secrets, exec, attach, pods or tokens for a workload identity, even in its own namespace"
            return "denied", rule, not decision.allowed
        # Owners exec into their pods and manage their Secrets: the platform's tenant-owner Role grants that.
        owner_role = decision.role == f"Role {subject_namespace}/{c.TENANT_OWNER}"
        rule = f"secrets, exec, attach, pods and tokens only through the {c.TENANT_OWNER} Role of its own namespace"
        return OWNER_ROLE_ONLY, rule, not decision.allowed or owner_role
    own_role = decision.role_kind == "Role" and decision.role_namespace == subject_namespace
    passed = not decision.allowed or own_role
    return OWN_ROLE_ONLY, "only what its Role grants in its own namespace", passed


def _concrete(rule_values: Sequence[str], fallback: str | None) -> str | None:
    """A concrete value a rule allows: its first non-wildcard one, else `fallback` for a wildcard."""
    for value in rule_values:
        if value != ALL:
            return value
    return fallback if rule_values else None


def positive_controls(model: RbacModel, subject: Subject, tenant: str) -> list[tuple[AccessCheck, str | None]]:
    """Checks the evaluator allows this tenant identity and that therefore must be allowed: the built-in
    basic-user grant and one request per rule of Roles bound to it in its own namespace."""
    candidates: list[tuple[AccessCheck, str | None]] = [(BASIC_USER_CONTROL, None)]
    for binding in model.bindings_for(subject):
        if binding.kind != "RoleBinding" or binding.role_kind != "Role" or binding.namespace != tenant:
            continue
        for item in model.roles.get((tenant, binding.role_name), []):
            rule = item.rule
            verb = _concrete(rule.verbs, "get")
            group = _concrete(rule.api_groups, "")
            resource = _concrete(rule.resources, None)
            if verb is None or group is None or resource is None or rule.non_resource_urls:
                continue
            name, _, sub = resource.partition("/")
            check = AccessCheck(verb, name, group, sub, rule.resource_names[0] if rule.resource_names else "")
            candidates.append((check, tenant))
    account = account_name(subject)
    controls = []
    for check, scope in dict.fromkeys(candidates):
        if not forbidden_at_home(check, account) and model.authorize(subject, check.request(scope)).allowed:
            controls.append((check, scope))
    return controls


def dangling_expectations(
    model: RbacModel, where: str, relevant: Callable[[Binding], bool] | None = None
) -> list[dict[str, object]]:
    """A failed expectation per binding whose role is unknown (only the `relevant` ones when given)."""
    found: list[dict[str, object]] = []
    for binding, why in model.dangling():
        if relevant is not None and not relevant(binding):
            continue
        found.append(
            {
                "subject": binding.id,
                "namespace": binding.namespace,
                "check": f"roleRef {binding.role_id()}",
                "rule": f"every binding refers to a role that is built in or {where}",
                "expected": "a known role",
                "observed": "unknown role",
                "passed": False,
                "reason": f"{binding.id}: {why}, neither built in nor {where}: it grants whatever that role "
                "says once someone creates it",
            }
        )
    return found
