"""RBAC evaluator: one case (or more) per rule form, subject form and scope."""

from __future__ import annotations

import pytest

from mlopsctl.analysis.rbac import RbacModel, Request, Subject, is_cluster_scoped

RBAC = "rbac.authorization.k8s.io/v1"
SA = Subject.service_account("team", "runner")


def role(name, rules, namespace="team", kind="Role", labels=None, aggregation=None):
    meta = {"name": name, **({"namespace": namespace} if kind == "Role" else {})}
    if labels:
        meta["labels"] = labels
    obj = {"apiVersion": RBAC, "kind": kind, "metadata": meta, "rules": rules}
    if aggregation is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": aggregation}
    return obj


def binding(name, role_name, subjects, namespace="team", kind="RoleBinding", role_kind="Role"):
    meta = {"name": name, **({"namespace": namespace} if kind == "RoleBinding" else {})}
    return {
        "apiVersion": RBAC,
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": subjects,
    }


def sa_subject(name="runner", namespace="team"):
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def rule(verbs, resources, groups=("",), names=None):
    out = {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}
    if names:
        out["resourceNames"] = list(names)
    return out


def allowed(objects, request, subject=SA) -> bool:
    return RbacModel.from_objects(objects).authorize(subject, request).allowed


def test_service_account_subject_has_its_implicit_groups():
    assert SA.user == "system:serviceaccount:team:runner"
    assert set(SA.groups) == {"system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"}


def test_role_binding_grants_role_in_its_namespace_only():
    objects = [role("reader", [rule(["get"], ["pods"])]), binding("b", "reader", [sa_subject()])]
    assert allowed(objects, Request("get", "pods", namespace="team"))
    assert not allowed(objects, Request("get", "pods", namespace="other"))
    assert not allowed(objects, Request("get", "pods", namespace=None))
    assert not allowed(objects, Request("list", "pods", namespace="team"))


def test_role_binding_to_cluster_role_is_limited_to_the_binding_namespace():
    objects = [
        role("secret-reader", [rule(["get"], ["secrets"])], kind="ClusterRole"),
        binding("b", "secret-reader", [sa_subject()], role_kind="ClusterRole"),
    ]
    assert allowed(objects, Request("get", "secrets", namespace="team"))
    assert not allowed(objects, Request("get", "secrets", namespace="kube-system"))
    assert not allowed(objects, Request("get", "secrets"))


def test_cluster_role_binding_grants_everywhere():
    objects = [
        role("secret-reader", [rule(["get", "list"], ["secrets"])], kind="ClusterRole"),
        binding("b", "secret-reader", [sa_subject()], kind="ClusterRoleBinding", role_kind="ClusterRole"),
    ]
    decision = RbacModel.from_objects(objects).authorize(SA, Request("list", "secrets", namespace="other"))
    assert (
        decision.allowed and decision.binding == "ClusterRoleBinding b" and decision.role == "ClusterRole secret-reader"
    )
    assert allowed(objects, Request("list", "secrets"))


def test_cluster_role_binding_cannot_use_a_role():
    objects = [
        role("reader", [rule(["get"], ["pods"])]),
        binding("b", "reader", [sa_subject()], kind="ClusterRoleBinding", role_kind="Role"),
    ]
    assert not allowed(objects, Request("get", "pods", namespace="team"))


def test_binding_to_missing_role_grants_nothing():
    assert not allowed([binding("b", "ghost", [sa_subject()])], Request("get", "pods", namespace="team"))


def test_user_subject():
    objects = [role("r", [rule(["get"], ["pods"])]), binding("b", "r", [{"kind": "User", "name": "alice"}])]
    assert allowed(objects, Request("get", "pods", namespace="team"), Subject("alice"))
    assert not allowed(objects, Request("get", "pods", namespace="team"), Subject("bob"))


def test_group_subject():
    objects = [role("r", [rule(["get"], ["pods"])]), binding("b", "r", [{"kind": "Group", "name": "devs"}])]
    assert allowed(objects, Request("get", "pods", namespace="team"), Subject("bob", ("devs",)))
    assert not allowed(objects, Request("get", "pods", namespace="team"), Subject("bob", ("ops",)))


@pytest.mark.parametrize("group", ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"])
def test_service_account_implicit_groups_are_honoured(group):
    objects = [role("r", [rule(["get"], ["pods"])]), binding("b", "r", [{"kind": "Group", "name": group}])]
    assert allowed(objects, Request("get", "pods", namespace="team"))


def test_service_account_group_of_another_namespace_does_not_apply():
    objects = [
        role("r", [rule(["get"], ["pods"])]),
        binding("b", "r", [{"kind": "Group", "name": "system:serviceaccounts:other"}]),
    ]
    assert not allowed(objects, Request("get", "pods", namespace="team"))


def test_service_account_subject_without_namespace_means_binding_namespace():
    objects = [role("r", [rule(["get"], ["pods"])]), binding("b", "r", [{"kind": "ServiceAccount", "name": "runner"}])]
    assert allowed(objects, Request("get", "pods", namespace="team"))
    other = Subject.service_account("other", "runner")
    assert not allowed(objects, Request("get", "pods", namespace="team"), other)


def test_service_account_of_another_namespace_in_binding():
    objects = [role("r", [rule(["get"], ["pods"])]), binding("b", "r", [sa_subject(namespace="other")])]
    assert not allowed(objects, Request("get", "pods", namespace="team"))
    assert allowed(objects, Request("get", "pods", namespace="team"), Subject.service_account("other", "runner"))


def test_wildcard_verbs_groups_and_resources():
    objects = [role("all", [rule(["*"], ["*"], groups=["*"])]), binding("b", "all", [sa_subject()])]
    assert allowed(objects, Request("delete", "deployments", "apps", namespace="team"))
    assert allowed(objects, Request("create", "pods", subresource="exec", namespace="team"))


def test_api_group_must_match():
    objects = [role("r", [rule(["create"], ["deployments"], groups=["extensions"])]), binding("b", "r", [sa_subject()])]
    assert not allowed(objects, Request("create", "deployments", "apps", namespace="team"))
    objects = [role("r", [rule(["create"], ["deployments"], groups=["apps"])]), binding("b", "r", [sa_subject()])]
    assert allowed(objects, Request("create", "deployments", "apps", namespace="team"))


def test_subresource_needs_its_own_grant():
    objects = [role("r", [rule(["get", "create"], ["pods"])]), binding("b", "r", [sa_subject()])]
    assert not allowed(objects, Request("get", "pods", subresource="log", namespace="team"))
    assert not allowed(objects, Request("create", "pods", subresource="exec", namespace="team"))
    objects = [role("r", [rule(["get"], ["pods/log"])]), binding("b", "r", [sa_subject()])]
    assert allowed(objects, Request("get", "pods", subresource="log", namespace="team"))
    assert not allowed(objects, Request("get", "pods", namespace="team"))


def test_star_slash_subresource_matches_any_resource_but_resource_slash_star_does_not():
    objects = [role("r", [rule(["get"], ["*/log"])]), binding("b", "r", [sa_subject()])]
    assert allowed(objects, Request("get", "pods", subresource="log", namespace="team"))
    assert not allowed(objects, Request("get", "pods", namespace="team"))
    objects = [role("r", [rule(["get"], ["pods/*"])]), binding("b", "r", [sa_subject()])]
    assert not allowed(objects, Request("get", "pods", subresource="log", namespace="team"))


def test_resource_names_restrict_to_named_objects():
    objects = [role("r", [rule(["get"], ["configmaps"], names=["settings"])]), binding("b", "r", [sa_subject()])]
    assert allowed(objects, Request("get", "configmaps", namespace="team", name="settings"))
    assert not allowed(objects, Request("get", "configmaps", namespace="team", name="other"))
    assert not allowed(objects, Request("list", "configmaps", namespace="team"))
    assert not allowed(objects, Request("get", "configmaps", namespace="team"))


def test_non_resource_urls():
    objects = [
        role("health", [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/metrics/*"]}], kind="ClusterRole"),
        binding("b", "health", [sa_subject()], kind="ClusterRoleBinding", role_kind="ClusterRole"),
    ]
    assert allowed(objects, Request("get", path="/healthz"))
    assert allowed(objects, Request("get", path="/metrics/cadvisor"))
    assert not allowed(objects, Request("get", path="/api"))
    assert not allowed(objects, Request("get", "healthz", namespace="team"))


def test_cluster_scoped_resources_are_known():
    assert is_cluster_scoped("", "nodes") and is_cluster_scoped("", "namespaces")
    assert is_cluster_scoped("rbac.authorization.k8s.io", "clusterroles")
    assert not is_cluster_scoped("", "pods") and not is_cluster_scoped("apps", "deployments")


def test_role_cannot_grant_cluster_scoped_requests():
    objects = [role("r", [rule(["list"], ["namespaces"])]), binding("b", "r", [sa_subject()])]
    assert not allowed(objects, Request("list", "namespaces"))


def test_aggregated_cluster_role_collects_rules_by_label():
    objects = [
        role("view-pods", [rule(["get"], ["pods"])], kind="ClusterRole", labels={"agg": "view"}),
        role("view-cms", [rule(["get"], ["configmaps"])], kind="ClusterRole", labels={"agg": "view"}),
        role("not-me", [rule(["get"], ["secrets"])], kind="ClusterRole", labels={"agg": "other"}),
        role("viewer", [], kind="ClusterRole", aggregation=[{"matchLabels": {"agg": "view"}}]),
        binding("b", "viewer", [sa_subject()], role_kind="ClusterRole"),
    ]
    model = RbacModel.from_objects(objects)
    decision = model.authorize(SA, Request("get", "configmaps", namespace="team"))
    assert decision.allowed and decision.aggregated_from == "view-cms"
    assert model.authorize(SA, Request("get", "pods", namespace="team")).allowed
    assert not model.authorize(SA, Request("get", "secrets", namespace="team")).allowed


def test_nested_aggregation_converges():
    objects = [
        role("leaf", [rule(["get"], ["pods"])], kind="ClusterRole", labels={"level": "1"}),
        role("middle", [], kind="ClusterRole", labels={"level": "2"}, aggregation=[{"matchLabels": {"level": "1"}}]),
        role("top", [], kind="ClusterRole", aggregation=[{"matchLabels": {"level": "2"}}]),
        binding("b", "top", [sa_subject()], kind="ClusterRoleBinding", role_kind="ClusterRole"),
    ]
    assert allowed(objects, Request("get", "pods", namespace="anywhere"))


def test_aggregation_rule_replaces_the_roles_own_rules():
    objects = [
        role("agg", [rule(["get"], ["secrets"])], kind="ClusterRole", aggregation=[{"matchLabels": {"none": "x"}}]),
        binding("b", "agg", [sa_subject()], kind="ClusterRoleBinding", role_kind="ClusterRole"),
    ]
    assert not allowed(objects, Request("get", "secrets", namespace="team"))


def test_decision_explains_binding_role_and_rule():
    objects = [role("r", [rule(["list"], ["pods"]), rule(["get"], ["configmaps"])]), binding("b", "r", [sa_subject()])]
    decision = RbacModel.from_objects(objects).authorize(SA, Request("get", "configmaps", namespace="team"))
    assert decision.reason == (
        'RoleBinding team/b -> Role team/r rule 1: verbs=[get] apiGroups=[""] resources=[configmaps]'
    )
    assert decision.role_kind == "Role" and decision.role_namespace == "team"
    denied = RbacModel.from_objects(objects).authorize(SA, Request("get", "secrets", namespace="team"))
    assert not denied.allowed and "in namespace team" in denied.reason
