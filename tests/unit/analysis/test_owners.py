"""The owners' part of the isolation contract, judged by the RBAC evaluator: rendered tenants pass, and every
broken RBAC in the catalogue below fails on the probe it breaks."""

from __future__ import annotations

import copy
import json

import pytest

from mlopsctl import constants as c
from mlopsctl.analysis.owners import (
    OWNER_ALLOWED,
    RULE_CLUSTER,
    RULE_ELSEWHERE,
    RULE_ISOLATION,
    RULE_JOB,
    bound_owners,
    declared_owners,
    owner_probes,
    subject_of,
    tenant_owners,
)
from mlopsctl.analysis.rbac import RbacModel, Subject
from mlopsctl.manifests.owners import Owner
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

OWNERS = ["user:alice", "group:team-a", "sa:ci/deployer"]
SCOPES = ["tenant-b", "default", "kube-system", "monitoring", "ci"]
RBAC = "rbac.authorization.k8s.io"


def objects(owners=OWNERS) -> list[dict]:
    return render_tenant(TenantSpec.create("tenant-a", owners=owners)) + render_tenant(TenantSpec.create("tenant-b"))


def failures(objs: list[dict], tenant: str = "tenant-a") -> list[tuple[str, str, str | None, str]]:
    """(owner, check, namespace, rule) of every probe the evaluator answers against the contract."""
    rbac = [o for o in objs if o["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")]
    accounts = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs if o["kind"] == "ServiceAccount"]
    namespace = next(o for o in objs if o["kind"] == "Namespace" and o["metadata"]["name"] == tenant)
    model = RbacModel.from_objects(rbac)
    owners = tenant_owners(tenant, namespace, rbac, accounts)
    return [
        (p.owner.text, p.check.describe(), p.namespace, p.rule)
        for p in owner_probes(tenant, owners, SCOPES)
        if model.authorize(p.subject, p.request()).allowed != p.expected
    ]


def find(objs: list[dict], kind: str, name: str, namespace: str = "tenant-a") -> dict:
    return next(
        o
        for o in objs
        if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace
    )


def owner_role_with(extra_rule: dict) -> list[dict]:
    objs = objects()
    find(objs, "Role", c.TENANT_OWNER)["rules"].append(extra_rule)
    return objs


def cluster_grant(subject: dict, rules: list[dict], namespace: str | None = None) -> list[dict]:
    role = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": "extra"}, "rules": rules}
    if namespace is None:
        binding = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "extra"}}
    else:
        binding = {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "extra", "namespace": namespace},
        }
    binding |= {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "extra"}, "subjects": [subject]}
    return [*objects(), role, binding]


def test_rendered_tenants_meet_the_owners_contract():
    assert failures(objects()) == []


def test_every_owner_and_the_tenant_owner_account_are_probed_by_every_rule():
    objs = objects()
    namespace = objs[0]
    rbac = [o for o in objs if o["kind"] in ("Role", "RoleBinding")]
    owners = tenant_owners("tenant-a", namespace, rbac, [("tenant-a", c.TENANT_OWNER)])
    assert [o.text for o in owners] == ["group:team-a", "sa:ci/deployer", "sa:tenant-a/tenant-owner", "user:alice"]
    probes = owner_probes("tenant-a", owners, SCOPES)
    for owner in owners:
        rules = {p.rule for p in probes if p.owner == owner}
        assert rules == {RULE_JOB, RULE_ISOLATION, RULE_ELSEWHERE, RULE_CLUSTER}
    positive = [p for p in probes if p.expected]
    assert len(positive) == len(owners) * len(OWNER_ALLOWED)
    assert all(p.namespace == "tenant-a" for p in positive)
    # A service account owner's own namespace is its business, not the tenant's.
    ci = Owner.parse("sa:ci/deployer")
    assert "ci" not in {p.namespace for p in probes if p.owner == ci}
    assert "ci" in {p.namespace for p in probes if p.owner == Owner.parse("user:alice")}


def test_subjects_are_what_the_api_server_authenticates():
    assert subject_of(Owner.parse("user:alice")) == Subject("alice", ("system:authenticated",))
    assert subject_of(Owner.parse("group:team-a")) == Subject("", ("team-a", "system:authenticated"))
    assert subject_of(Owner.parse("sa:ci/deployer")) == Subject.service_account("ci", "deployer")


BROKEN = {
    "owners may write NetworkPolicies": (
        lambda: owner_role_with(
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["patch"]}
        ),
        ("user:alice", "patch networkpolicies.networking.k8s.io", "tenant-a", RULE_ISOLATION),
    ),
    "owners may change the quota": (
        lambda: owner_role_with({"apiGroups": [""], "resources": ["resourcequotas"], "verbs": ["update"]}),
        ("group:team-a", "update resourcequotas", "tenant-a", RULE_ISOLATION),
    ),
    "owners may escalate": (
        lambda: owner_role_with({"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate"]}),
        ("user:alice", f"escalate roles.{RBAC}", "tenant-a", RULE_ISOLATION),
    ),
    "owners may mint tokens": (
        lambda: owner_role_with({"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}),
        ("sa:ci/deployer", "create serviceaccounts/token", "tenant-a", RULE_ISOLATION),
    ),
    "owners may relabel their namespace (Pod Security)": (
        lambda: owner_role_with({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["patch"]}),
        ("user:alice", "patch namespaces tenant-a", "tenant-a", RULE_ISOLATION),
    ),
    "a wildcard rule": (
        lambda: owner_role_with({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
        ("user:alice", f"create rolebindings.{RBAC}", "tenant-a", RULE_ISOLATION),
    ),
    "alice holds a cluster-wide grant": (
        lambda: cluster_grant(
            {"kind": "User", "apiGroup": RBAC, "name": "alice"},
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        ),
        ("user:alice", "get pods", "tenant-b", RULE_ELSEWHERE),
    ),
    "the team is bound in another tenant": (
        lambda: cluster_grant(
            {"kind": "Group", "apiGroup": RBAC, "name": "team-a"},
            [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]}],
            namespace="tenant-b",
        ),
        ("group:team-a", "patch deployments.apps", "tenant-b", RULE_ELSEWHERE),
    ),
    "every authenticated user may list pods everywhere": (
        lambda: cluster_grant(
            {"kind": "Group", "apiGroup": RBAC, "name": "system:authenticated"},
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        ),
        ("user:alice", "list pods", None, RULE_CLUSTER),
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_rbac_fails_on_the_probe_it_breaks(case):
    build, expected = BROKEN[case]
    found = failures(build())
    assert expected in found, found


def test_an_owner_declared_but_not_bound_fails_its_positive_controls():
    objs = objects()
    binding = find(objs, "RoleBinding", c.TENANT_OWNER)
    binding["subjects"] = [s for s in binding["subjects"] if s.get("name") != "alice"]
    found = failures(objs)
    assert ("user:alice", "patch deployments.apps", "tenant-a", RULE_JOB) in found
    assert {f[0] for f in found} == {"user:alice"}


def test_a_role_missing_a_job_verb_fails_the_positive_control():
    objs = objects()
    role = find(objs, "Role", c.TENANT_OWNER)
    role["rules"] = [r for r in role["rules"] if "pods/exec" not in r["resources"]]
    found = failures(objs)
    assert ("sa:tenant-a/tenant-owner", "create pods/exec", "tenant-a", RULE_JOB) in found


def test_an_owner_bound_but_not_declared_is_held_to_the_rules():
    objs = objects(owners=[])
    binding = find(objs, "RoleBinding", c.TENANT_OWNER)
    binding["subjects"].append({"kind": "User", "apiGroup": RBAC, "name": "mallory"})
    find(objs, "Role", c.TENANT_OWNER)["rules"].append(
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create"]}
    )
    found = failures(objs)
    assert ("user:mallory", "create networkpolicies.networking.k8s.io", "tenant-a", RULE_ISOLATION) in found


def test_declared_owners_come_from_the_recorded_spec_and_skip_unreadable_ones():
    namespace = copy.deepcopy(objects()[0])
    annotations = namespace["metadata"]["annotations"]
    assert [o.text for o in declared_owners(namespace)] == ["group:team-a", "sa:ci/deployer", "user:alice"]
    annotations[c.TENANT_SPEC_ANNOTATION] = json.dumps({"name": "tenant-a", "owners": ["user:bob", "nonsense"]})
    assert [o.text for o in declared_owners(namespace)] == ["user:bob"]
    annotations[c.TENANT_SPEC_ANNOTATION] = "not json"
    assert declared_owners(namespace) == []
    assert declared_owners(None) == []


def test_bound_owners_read_only_the_tenants_own_owner_binding():
    objs = objects()
    other = copy.deepcopy(find(objs, "RoleBinding", c.TENANT_OWNER))
    other["metadata"]["namespace"] = "tenant-b"
    other["subjects"] = [{"kind": "ServiceAccount", "name": "x"}]
    found = bound_owners("tenant-b", [*objs, other])
    assert [o.text for o in found] == ["sa:tenant-b/tenant-owner", "sa:tenant-b/x"]
