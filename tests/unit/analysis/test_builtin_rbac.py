"""The built-in RBAC policy shipped with the package, and the evaluator on top of it: every subject kind,
aggregation into built-in roles, and bindings whose role is unknown."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from mlopsctl.analysis.builtin_rbac import available_minors, bootstrap_policy
from mlopsctl.analysis.rbac import RbacModel, Request, Subject
from mlopsctl.analysis.rbac_contract import positive_controls

RBAC = "rbac.authorization.k8s.io/v1"
SA = Subject.service_account("tenant-a", "inference")


def _binding(kind, name, role_kind, role, subjects, namespace=None):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta, "roleRef": {"kind": role_kind, "name": role},
            "subjects": subjects}  # fmt: skip


def _model(*objects):
    return RbacModel.from_objects(objects, bootstrap_policy().objects)


def test_the_shipped_policy_names_its_version_and_source():
    policy = bootstrap_policy()
    assert policy.kubernetes_version == "1.28" and available_minors() == [28]
    assert policy.source.startswith("kubernetes/kubernetes@")
    names = policy.cluster_role_names
    assert {"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery"} <= names
    assert {"system:aggregate-to-admin", "system:aggregate-to-edit", "system:aggregate-to-view"} <= names
    raw = json.loads(resources.files("mlopsctl.analysis").joinpath("data", "bootstrap-rbac-1.28.json").read_text())
    assert raw["kubernetesVersion"] == "1.28"
    # A newer or older minor without its own file gets the nearest shipped one.
    assert bootstrap_policy(34).kubernetes_version == bootstrap_policy(20).kubernetes_version == "1.28"


@pytest.mark.parametrize(
    ("role", "request_", "allowed"),
    [
        ("edit", Request("get", "secrets", namespace="tenant-b"), True),
        ("edit", Request("create", "pods", "", "exec", namespace="tenant-b"), True),
        ("edit", Request("create", "serviceaccounts", "", "token", namespace="tenant-b"), True),
        ("edit", Request("create", "networkpolicies", "networking.k8s.io", namespace="tenant-b"), True),
        ("edit", Request("create", "rolebindings", "rbac.authorization.k8s.io", namespace="tenant-b"), False),
        ("admin", Request("create", "rolebindings", "rbac.authorization.k8s.io", namespace="tenant-b"), True),
        ("view", Request("list", "pods", namespace="tenant-b"), True),
        ("view", Request("get", "secrets", namespace="tenant-b"), False),
        ("cluster-admin", Request("delete", "namespaces", name="tenant-b"), True),
    ],
)
def test_built_in_roles_aggregate_as_on_a_cluster(role, request_, allowed):
    role_kind = "ClusterRoleBinding" if role == "cluster-admin" else "RoleBinding"
    namespace = None if role == "cluster-admin" else "tenant-b"
    model = _model(_binding(role_kind, "b", "ClusterRole", role, [{"kind": "ServiceAccount", "name": "inference",
                                                                   "namespace": "tenant-a"}], namespace))  # fmt: skip
    decision = model.authorize(SA, request_)
    assert decision.allowed is allowed, decision.reason
    assert not model.dangling()


def test_a_manifest_role_labelled_for_aggregation_joins_the_built_in_one():
    reader = {"apiVersion": RBAC, "kind": "ClusterRole",
              "metadata": {"name": "node-reader", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
              "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}  # fmt: skip
    model = _model(reader, _binding("ClusterRoleBinding", "b", "ClusterRole", "view", [{"kind": "Group",
                                                                                         "name": "system:authenticated"}]))  # fmt: skip
    decision = model.authorize(SA, Request("get", "secrets", namespace="tenant-b"))
    assert decision.allowed and decision.aggregated_from == "node-reader"


@pytest.mark.parametrize(
    "subject",
    [
        {"kind": "ServiceAccount", "name": "inference", "namespace": "tenant-a"},
        {"kind": "User", "name": "system:serviceaccount:tenant-a:inference"},
        {"kind": "Group", "name": "system:serviceaccounts"},
        {"kind": "Group", "name": "system:serviceaccounts:tenant-a"},
        {"kind": "Group", "name": "system:authenticated"},
    ],
    ids=lambda s: f"{s['kind']}:{s['name']}",
)
def test_every_subject_form_that_names_a_service_account(subject):
    model = _model(_binding("RoleBinding", "b", "ClusterRole", "view", [subject], "tenant-b"))
    assert model.authorize(SA, Request("list", "pods", namespace="tenant-b")).allowed
    other = Subject.service_account("tenant-c", "inference")
    expected_other = subject["kind"] == "Group" and subject["name"] in (
        "system:serviceaccounts",
        "system:authenticated",
    )
    assert model.authorize(other, Request("list", "pods", namespace="tenant-b")).allowed is expected_other


def test_subjects_that_do_not_name_the_account():
    for subject in (
        {"kind": "User", "name": "inference"},
        {"kind": "Group", "name": "system:serviceaccounts:tenant-b"},
        {"kind": "ServiceAccount", "name": "inference"},  # in a ClusterRoleBinding: no namespace, no match
    ):
        model = _model(_binding("ClusterRoleBinding", "b", "ClusterRole", "view", [subject]))
        assert not model.authorize(SA, Request("list", "pods", namespace="tenant-b")).allowed, subject


def test_bindings_to_unknown_roles_are_named():
    model = _model(
        _binding("RoleBinding", "later", "ClusterRole", "not-yet", [], "tenant-a"),
        _binding("RoleBinding", "missing", "Role", "gone", [], "tenant-a"),
        _binding("ClusterRoleBinding", "wrong", "Role", "gone", []),
        _binding("RoleBinding", "fine", "ClusterRole", "edit", [], "tenant-a"),
    )
    assert sorted((b.id, why) for b, why in model.dangling()) == [
        ("ClusterRoleBinding wrong", "a ClusterRoleBinding cannot refer to a Role"),
        ("RoleBinding tenant-a/later", "ClusterRole not-yet does not exist"),
        ("RoleBinding tenant-a/missing", "Role tenant-a/gone does not exist"),
    ]


def test_a_manifest_role_of_a_built_in_name_replaces_it():
    own_view = {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "view"}, "rules": []}
    model = _model(own_view, _binding("RoleBinding", "b", "ClusterRole", "view", [{"kind": "Group",
                                                                                    "name": "system:authenticated"}], "x"))  # fmt: skip
    assert "view" not in model.builtin and "edit" in model.builtin
    assert not model.authorize(SA, Request("list", "pods", namespace="x")).allowed


def test_positive_controls_come_from_basic_user_and_the_own_role():
    role = {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "inference", "namespace": "tenant-a"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
                      {"apiGroups": ["*"], "resources": ["*"], "verbs": ["escalate"]}]}  # fmt: skip
    binding = _binding("RoleBinding", "inference", "Role", "inference", [{"kind": "ServiceAccount",
                                                                          "name": "inference"}], "tenant-a")  # fmt: skip
    controls = positive_controls(_model(role, binding), SA, "tenant-a")
    assert [(check.describe(), scope) for check, scope in controls] == [
        ("create selfsubjectaccessreviews.authorization.k8s.io", None),
        ("get configmaps", "tenant-a"),
    ]
    assert positive_controls(RbacModel.from_objects([role, binding]), SA, "tenant-a") == [(controls[1][0], "tenant-a")]
    assert positive_controls(RbacModel.from_objects([]), SA, "tenant-a") == []
