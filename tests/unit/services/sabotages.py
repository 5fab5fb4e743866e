"""A catalogue of sabotages of the rendered `tenant-a` + `tenant-b` object set: each a small named function that
breaks isolation in one way, with the words a failing verdict must name (the offending object and what it does).

Shared by the offline mutation suite (every sabotage must make `verify ... --offline` exit 6) and, for a
representative subset, the e2e tests that apply them to a live cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlopsctl import constants as c
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

TENANTS = ("tenant-a", "tenant-b")
Objects = list[dict[str, Any]]
RBAC_API = "rbac.authorization.k8s.io/v1"


def rendered() -> Objects:
    return [obj for name in TENANTS for obj in render_tenant(TenantSpec.create(name))]


@dataclass(frozen=True)
class Sabotage:
    name: str
    area: str  # "network" or "rbac": which verify command must fail
    apply: Callable[[Objects], None]
    names: tuple[str, ...]  # one failing verdict must mention all of these


def find(objects: Objects, kind: str, namespace: str, name: str) -> dict[str, Any]:
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == kind and meta.get("namespace") == namespace and meta["name"] == name:
            return obj
    raise LookupError(f"{kind} {namespace}/{name} not rendered")


def policy(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def sa(tenant: str, name: str = c.APP_NAME) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": tenant}


def binding(kind: str, name: str, role_kind: str, role: str, subjects: list, namespace: str | None = None) -> dict:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}
    return {"apiVersion": RBAC_API, "kind": kind, "metadata": meta, "roleRef": ref, "subjects": subjects}


def cluster_role(name: str, rules: list, labels: dict | None = None, aggregation: dict | None = None) -> dict:
    obj: dict[str, Any] = {"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}
    if labels:
        obj["metadata"]["labels"] = labels
    if aggregation:
        obj["aggregationRule"] = aggregation
    return obj


def _remove(objects: Objects, kind: str, namespace: str, name: str) -> None:
    objects.remove(find(objects, kind, namespace, name))


def _spec(objects: Objects, namespace: str, name: str) -> dict[str, Any]:
    return find(objects, "NetworkPolicy", namespace, name)["spec"]


def _role_rules(objects: Objects, tenant: str, rules: list) -> None:
    find(objects, "Role", tenant, c.APP_NAME)["rules"] = rules


ALL_NAMESPACES = [{"namespaceSelector": {}}]
CATALOGUE: list[Sabotage] = []


def sabotage(area: str, *names: str) -> Callable[[Callable[[Objects], None]], Callable[[Objects], None]]:
    def register(fn: Callable[[Objects], None]) -> Callable[[Objects], None]:
        CATALOGUE.append(Sabotage(fn.__name__, area, fn, names))
        return fn

    return register


# --- network ------------------------------------------------------------------------------------------------


@sabotage("network", "tenant-b/later-pod", "not isolated for ingress")
def delete_default_deny_b(objects: Objects) -> None:
    _remove(objects, "NetworkPolicy", "tenant-b", "default-deny-all")


@sabotage("network", "tenant-b/allow-all", "ingress allowed")
def allow_all_ingress_b(objects: Objects) -> None:
    objects.append(policy("tenant-b", "allow-all", {"podSelector": {}, "ingress": [{}]}))


@sabotage("network", "world/", "tenant-a/allow-world", "ipBlock 0.0.0.0/0")
def ingress_from_world_a(objects: Objects) -> None:
    rule = {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    objects.append(policy("tenant-a", "allow-world", {"podSelector": {}, "ingress": [rule]}))


@sabotage("network", "world/2001:4860:4860::8888", "tenant-a/allow-world-v6")
def ingress_from_world_ipv6_a(objects: Objects) -> None:
    rule = {"from": [{"ipBlock": {"cidr": "::/0"}}]}
    objects.append(policy("tenant-a", "allow-world-v6", {"podSelector": {}, "ingress": [rule]}))


@sabotage("network", "world/8.8.8.8", "tenant-a/allow-world-except")
def ingress_from_world_except_cluster_a(objects: Objects) -> None:
    rule = {"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}
    objects.append(policy("tenant-a", "allow-world-except", {"podSelector": {}, "ingress": [rule]}))


@sabotage("network", "mlopsctl-outsider/outsider", "tenant-b/allow-monitoring-scrape")
def scrape_rule_open_to_every_namespace_b(objects: Objects) -> None:
    _spec(objects, "tenant-b", "allow-monitoring-scrape")["ingress"][0]["from"] = ALL_NAMESPACES


@sabotage("network", "monitoring/prometheus -> tenant-b/later-pod", "tenant-b/allow-monitoring-scrape")
def scrape_rule_selects_every_pod_b(objects: Objects) -> None:
    _spec(objects, "tenant-b", "allow-monitoring-scrape")["podSelector"] = {}


@sabotage("network", "mlopsctl-outsider/outsider", "tenant-b/allow-monitoring-scrape")
def scrape_rule_namespace_not_in_b(objects: Objects) -> None:
    expression = {"key": c.NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["tenant-b"]}
    _spec(objects, "tenant-b", "allow-monitoring-scrape")["ingress"][0]["from"] = [
        {"namespaceSelector": {"matchExpressions": [expression]}}
    ]


@sabotage("network", "mlopsctl-outsider/outsider -> tenant-a/inference", "tenant-a/allow-same-tenant-ingress")
def same_tenant_ingress_open_to_every_namespace_a(objects: Objects) -> None:
    _spec(objects, "tenant-a", "allow-same-tenant-ingress")["ingress"][0]["from"] = ALL_NAMESPACES


@sabotage("network", "mlopsctl-outsider/outsider -> tenant-a/inference", "tenant-a/allow-same-tenant-ingress")
def same_tenant_ingress_every_pod_everywhere_a(objects: Objects) -> None:
    _spec(objects, "tenant-a", "allow-same-tenant-ingress")["ingress"][0]["from"] = [
        {"namespaceSelector": {}, "podSelector": {}}
    ]


@sabotage("network", "tenant-a/inference -> mlopsctl-outsider/outsider", "tenant-a/allow-same-tenant-egress")
def same_tenant_egress_open_to_every_namespace_a(objects: Objects) -> None:
    _spec(objects, "tenant-a", "allow-same-tenant-egress")["egress"][0]["to"] = ALL_NAMESPACES


@sabotage("network", "tenant-a/later-pod", "tenant-a/default-deny-all selects")
def default_deny_selects_nothing_a(objects: Objects) -> None:
    _spec(objects, "tenant-a", "default-deny-all")["podSelector"] = {"matchLabels": {"mlopsctl.io/none": "none"}}


@sabotage("network", "tenant-a/later-pod", "tenant-a/default-deny-all selects")
def default_deny_selects_only_inference_a(objects: Objects) -> None:
    labels = {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: "tenant-a"}
    _spec(objects, "tenant-a", "default-deny-all")["podSelector"] = {"matchLabels": labels}


@sabotage("network", "tenant-a/allow-all-egress", "egress allowed")
def allow_all_egress_a(objects: Objects) -> None:
    objects.append(
        policy("tenant-a", "allow-all-egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    )


@sabotage("network", "world/8.8.8.8", "tenant-a/egress-world")
def egress_to_world_a(objects: Objects) -> None:
    rule = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    objects.append(policy("tenant-a", "egress-world", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]}))


@sabotage("network", "world/2001:4860:4860::8888", "tenant-b/egress-world-v6")
def egress_to_world_ipv6_b(objects: Objects) -> None:
    rule = {"to": [{"ipBlock": {"cidr": "::/0"}}]}
    objects.append(
        policy("tenant-b", "egress-world-v6", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]})
    )


@sabotage("network", "world/ipv4-outside-cluster", "tenant-a/egress-node-network")
def egress_to_node_network_a(objects: Objects) -> None:
    rule = {"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}], "ports": [{"port": 10250}]}
    objects.append(
        policy("tenant-a", "egress-node-network", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]})
    )


@sabotage("network", "default/kubernetes", "tenant-a/egress-apiserver")
def egress_to_apiserver_a(objects: Objects) -> None:
    rule = {"to": [{"ipBlock": {"cidr": "172.18.0.2/32"}}], "ports": [{"port": 6443}]}
    objects.append(
        policy("tenant-a", "egress-apiserver", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]})
    )


@sabotage("network", "tenant-a/inference -> mlopsctl-outsider/outsider 53/UDP", "tenant-a/allow-dns-egress")
def dns_egress_to_every_namespace_a(objects: Objects) -> None:
    _spec(objects, "tenant-a", "allow-dns-egress")["egress"][0]["to"] = ALL_NAMESPACES


@sabotage("network", "kube-system/coredns 9153/TCP", "tenant-a/allow-dns-egress")
def dns_egress_any_port_a(objects: Objects) -> None:
    del _spec(objects, "tenant-a", "allow-dns-egress")["egress"][0]["ports"]


@sabotage("network", "object-store/object-store 9333/TCP", "tenant-b/allow-object-store-egress")
def object_store_egress_any_port_b(objects: Objects) -> None:
    del _spec(objects, "tenant-b", "allow-object-store-egress")["egress"][0]["ports"]


@sabotage("network", "-> mlopsctl-outsider/outsider 8333/TCP", "tenant-b/allow-object-store-egress")
def object_store_egress_to_every_namespace_b(objects: Objects) -> None:
    _spec(objects, "tenant-b", "allow-object-store-egress")["egress"][0]["to"] = ALL_NAMESPACES


@sabotage("network", "tenant-a/inference -> monitoring/prometheus", "tenant-a/egress-monitoring")
def egress_to_monitoring_a(objects: Objects) -> None:
    rule = {"to": [{"namespaceSelector": {"matchLabels": {c.NAMESPACE_NAME_LABEL: c.MONITORING_NAMESPACE}}}]}
    objects.append(
        policy("tenant-a", "egress-monitoring", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]})
    )


@sabotage("network", "kube-system/coredns -> tenant-a/inference", "tenant-a/ingress-kube-system")
def ingress_from_kube_system_a(objects: Objects) -> None:
    rule = {"from": [{"namespaceSelector": {"matchLabels": {c.NAMESPACE_NAME_LABEL: "kube-system"}}}]}
    objects.append(policy("tenant-a", "ingress-kube-system", {"podSelector": {}, "ingress": [rule]}))


@sabotage("network", "mlopsctl-outsider/outsider -> tenant-b/later-pod", "tenant-b/debug-pods-open")
def ingress_open_to_unlabelled_pods_b(objects: Objects) -> None:
    selector = {"matchExpressions": [{"key": c.NAME_LABEL, "operator": "DoesNotExist"}]}
    objects.append(policy("tenant-b", "debug-pods-open", {"podSelector": selector, "ingress": [{}]}))


@sabotage("network", "-> mlopsctl-outsider/outsider", "tenant-a/egress-port-range")
def egress_port_range_everywhere_a(objects: Objects) -> None:
    rule = {"to": ALL_NAMESPACES, "ports": [{"port": 1, "endPort": 65535}]}
    objects.append(
        policy("tenant-a", "egress-port-range", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]})
    )


@sabotage("network", "tenant-a/inference -> tenant-b/inference", "no traffic between tenants")
def tenants_open_to_each_other(objects: Objects) -> None:
    to_b = {"namespaceSelector": {"matchLabels": {c.NAMESPACE_NAME_LABEL: "tenant-b"}}}
    from_a = {"namespaceSelector": {"matchLabels": {c.NAMESPACE_NAME_LABEL: "tenant-a"}}}
    objects.append(
        policy("tenant-a", "to-b", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [to_b]}]})
    )
    objects.append(policy("tenant-b", "from-a", {"podSelector": {}, "ingress": [{"from": [from_a]}]}))


@sabotage("network", "tenant-b/inference -> tenant-b/later-pod", "tenant-b/inside-open")
def inside_tenant_open_to_later_pods_b(objects: Objects) -> None:
    objects.append(
        policy(
            "tenant-b",
            "inside-open",
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        )
    )


# --- RBAC ---------------------------------------------------------------------------------------------------


@sabotage("rbac", "ClusterRoleBinding tenant-a-admin", "ClusterRole cluster-admin")
def tenant_a_bound_to_cluster_admin(objects: Objects) -> None:
    objects.append(binding("ClusterRoleBinding", "tenant-a-admin", "ClusterRole", "cluster-admin", [sa("tenant-a")]))


@sabotage("rbac", "RoleBinding tenant-b/a-edits-b", "ClusterRole edit")
def tenant_a_bound_to_edit_in_b(objects: Objects) -> None:
    objects.append(binding("RoleBinding", "a-edits-b", "ClusterRole", "edit", [sa("tenant-a")], "tenant-b"))


@sabotage("rbac", "RoleBinding tenant-b/a-views-b", "ClusterRole view")
def tenant_a_bound_to_view_in_b(objects: Objects) -> None:
    objects.append(binding("RoleBinding", "a-views-b", "ClusterRole", "view", [sa("tenant-a")], "tenant-b"))


@sabotage("rbac", "system:serviceaccount:tenant-b:", "RoleBinding tenant-a/b-group-edits-a")
def tenant_b_group_bound_to_edit_in_a(objects: Objects) -> None:
    group = {"kind": "Group", "name": "system:serviceaccounts:tenant-b", "apiGroup": "rbac.authorization.k8s.io"}
    objects.append(binding("RoleBinding", "b-group-edits-a", "ClusterRole", "edit", [group], "tenant-a"))


@sabotage("rbac", "ClusterRoleBinding all-accounts-view", "ClusterRole view")
def every_service_account_bound_to_view(objects: Objects) -> None:
    group = {"kind": "Group", "name": "system:serviceaccounts", "apiGroup": "rbac.authorization.k8s.io"}
    objects.append(binding("ClusterRoleBinding", "all-accounts-view", "ClusterRole", "view", [group]))


@sabotage("rbac", "ClusterRoleBinding authenticated-edit", "ClusterRole edit")
def authenticated_bound_to_edit(objects: Objects) -> None:
    group = {"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}
    objects.append(binding("ClusterRoleBinding", "authenticated-edit", "ClusterRole", "edit", [group]))


@sabotage("rbac", "RoleBinding tenant-b/user-edit", "system:serviceaccount:tenant-a:inference")
def tenant_a_as_user_bound_to_edit_in_b(objects: Objects) -> None:
    user = {"kind": "User", "name": "system:serviceaccount:tenant-a:inference", "apiGroup": "rbac.authorization.k8s.io"}
    objects.append(binding("RoleBinding", "user-edit", "ClusterRole", "edit", [user], "tenant-b"))


@sabotage("rbac", "RoleBinding tenant-a/own-admin", "ClusterRole admin", "only what its Role grants")
def tenant_a_bound_to_admin_in_own_namespace(objects: Objects) -> None:
    objects.append(binding("RoleBinding", "own-admin", "ClusterRole", "admin", [sa("tenant-a")], "tenant-a"))


@sabotage("rbac", "system:serviceaccount:tenant-b:default", "RoleBinding tenant-b/default-edit")
def default_account_bound_to_edit_b(objects: Objects) -> None:
    subject = {"kind": "ServiceAccount", "name": "default"}  # the binding's namespace
    objects.append(binding("RoleBinding", "default-edit", "ClusterRole", "edit", [subject], "tenant-b"))


@sabotage("rbac", "Role tenant-a/inference", "networkpolicies", "escalation")
def own_role_writes_network_policies_a(objects: Objects) -> None:
    _role_rules(
        objects,
        "tenant-a",
        [
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["networkpolicies"],
                "verbs": ["create", "update", "patch", "delete"],
            }
        ],
    )


@sabotage("rbac", "Role tenant-b/inference", "rolebindings", "escalation")
def own_role_writes_role_bindings_b(objects: Objects) -> None:
    _role_rules(
        objects,
        "tenant-b",
        [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}],
    )


@sabotage("rbac", "Role tenant-a/inference", "resourcequotas", "escalation")
def own_role_writes_quota_a(objects: Objects) -> None:
    _role_rules(
        objects,
        "tenant-a",
        [{"apiGroups": [""], "resources": ["resourcequotas", "limitranges"], "verbs": ["update", "patch"]}],
    )


@sabotage("rbac", "Role tenant-a/inference", "escalate", "escalation")
def own_role_escalates_a(objects: Objects) -> None:
    _role_rules(
        objects,
        "tenant-a",
        [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate", "bind"]}],
    )


@sabotage("rbac", "Role tenant-b/inference", "verbs=[*]", "escalation")
def own_role_wildcard_b(objects: Objects) -> None:
    _role_rules(objects, "tenant-b", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])


@sabotage("rbac", "ClusterRole tenant-superpowers", "does not exist")
def binding_to_unknown_cluster_role_a(objects: Objects) -> None:
    objects.append(
        binding("RoleBinding", "superpowers", "ClusterRole", "tenant-superpowers", [sa("tenant-a")], "tenant-a")
    )


@sabotage("rbac", "Role tenant-b/missing-role", "does not exist")
def binding_to_missing_role_b(objects: Objects) -> None:
    objects.append(binding("RoleBinding", "dangling", "Role", "missing-role", [sa("tenant-b")], "tenant-b"))


@sabotage("rbac", "aggregated from ClusterRole secret-reader", "ClusterRoleBinding a-aggregated")
def aggregated_cluster_role_grants_secrets_a(objects: Objects) -> None:
    label = {"example.com/aggregate-to-tenant-tools": "true"}
    objects.append(
        cluster_role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}], labels=label)
    )
    objects.append(cluster_role("tenant-tools", [], aggregation={"clusterRoleSelectors": [{"matchLabels": label}]}))
    objects.append(binding("ClusterRoleBinding", "a-aggregated", "ClusterRole", "tenant-tools", [sa("tenant-a")]))


@sabotage("rbac", "get secrets", "aggregated from ClusterRole view-secrets", "RoleBinding tenant-a/b-views-a")
def custom_role_aggregated_into_view(objects: Objects) -> None:
    label = {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    objects.append(
        cluster_role("view-secrets", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}], labels=label)
    )
    objects.append(binding("RoleBinding", "b-views-a", "ClusterRole", "view", [sa("tenant-b")], "tenant-a"))


@sabotage("rbac", "ClusterRoleBinding a-impersonates", "impersonate")
def tenant_a_may_impersonate(objects: Objects) -> None:
    rule = {"apiGroups": [""], "resources": ["users", "groups", "serviceaccounts"], "verbs": ["impersonate"]}
    objects.append(cluster_role("impersonator", [rule]))
    objects.append(binding("ClusterRoleBinding", "a-impersonates", "ClusterRole", "impersonator", [sa("tenant-a")]))


@sabotage("rbac", "RoleBinding kube-system/a-in-kube-system", "in namespace kube-system")
def tenant_a_bound_in_kube_system(objects: Objects) -> None:
    group = {"kind": "Group", "name": "system:serviceaccounts:tenant-a", "apiGroup": "rbac.authorization.k8s.io"}
    objects.append(binding("RoleBinding", "a-in-kube-system", "ClusterRole", "view", [group], "kube-system"))


# --- RBAC: the tenant owners (a tenant-owner Role per tenant, bound to its owners and its tenant-owner account) --


def _owner_role(objects: Objects, tenant: str) -> dict[str, Any]:
    return find(objects, "Role", tenant, c.TENANT_OWNER)


@sabotage("rbac", "Role tenant-a/tenant-owner", "networkpolicies", "escalation")
def owner_role_writes_network_policies_a(objects: Objects) -> None:
    rule = {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create", "patch"]}
    _owner_role(objects, "tenant-a")["rules"].append(rule)


@sabotage("rbac", "Role tenant-b/tenant-owner", "rolebindings", "escalation")
def owner_role_writes_role_bindings_b(objects: Objects) -> None:
    rule = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}
    _owner_role(objects, "tenant-b")["rules"].append(rule)


@sabotage("rbac", "RoleBinding tenant-b/a-owns-b", "Role tenant-b/tenant-owner", "in namespace tenant-b")
def tenant_a_owner_bound_to_owner_role_in_b(objects: Objects) -> None:
    subject = sa("tenant-a", c.TENANT_OWNER)
    objects.append(binding("RoleBinding", "a-owns-b", "Role", c.TENANT_OWNER, [subject], "tenant-b"))


@sabotage("rbac", "Role tenant-b/inference", "get secrets", "workload identity")
def inference_role_reads_secrets_b(objects: Objects) -> None:
    _role_rules(objects, "tenant-b", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}])


@sabotage("rbac", "system:serviceaccount:tenant-a:inference", "Role tenant-a/tenant-owner", "pods/exec", "workload")
def inference_account_bound_as_owner_a(objects: Objects) -> None:
    find(objects, "RoleBinding", "tenant-a", c.TENANT_OWNER)["subjects"].append(sa("tenant-a"))


@sabotage("rbac", "Role tenant-a/token-minter", "serviceaccounts/token", "only through the tenant-owner Role")
def owner_account_mints_tokens_through_another_role_a(objects: Objects) -> None:
    role = {
        "apiVersion": RBAC_API,
        "kind": "Role",
        "metadata": {"name": "token-minter", "namespace": "tenant-a"},
        "rules": [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}],
    }
    objects.append(role)
    subject = sa("tenant-a", c.TENANT_OWNER)
    objects.append(binding("RoleBinding", "token-minter", "Role", "token-minter", [subject], "tenant-a"))
