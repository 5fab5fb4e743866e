"""`verify rbac` covers tenant owners, offline (evaluator over manifests) and live (SubjectAccessReviews against
the fake API), with the same probes on both sides."""

from __future__ import annotations

from mlopsctl import constants as c
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.services.verify import rbac_offline
from mlopsctl.services.verify_rbac import verify_rbac
from tests.unit.services.verify_cluster import cluster, evaluator_sar

NOW = "2026-01-01T00:00:00+00:00"
OWNERS = ["user:alice", "group:team-a", "sa:ci/deployer"]
NETPOL_PATCH = {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["patch"]}


def owned_cluster():
    api = cluster()
    for obj in render_tenant(TenantSpec.create("tenant-a", owners=OWNERS)):
        api.add(obj)
    return api


def offline_objects():
    return render_tenant(TenantSpec.create("tenant-a", owners=OWNERS)) + render_tenant(TenantSpec.create("tenant-b"))


def test_offline_reports_owners_with_positive_controls_that_pass():
    report = rbac_offline(offline_objects())
    assert report.passed
    assert report.owners["tenant-a"] == ["group:team-a", "sa:ci/deployer", "sa:tenant-a/tenant-owner", "user:alice"]
    alice = [e for e in report.expectations if e["subject"] == "user:alice"]
    positive = [e for e in alice if e["expected"] == "allowed"]
    assert {e["check"] for e in positive} >= {"patch deployments.apps", "create pods/exec", "create jobs.batch"}
    assert all(e["namespace"] == "tenant-a" and e["observed"] == "allowed" for e in positive)
    denied_elsewhere = {e["namespace"] for e in alice if e["rule"] == "owners have nothing in any other namespace"}
    assert denied_elsewhere == {"tenant-b", "default", "kube-system", c.MONITORING_NAMESPACE, c.STORAGE_NAMESPACE,
                                c.SYSTEM_NAMESPACE}  # fmt: skip
    # The documented JSON shape of expectations is unchanged.
    assert set(alice[0]) == {"subject", "namespace", "check", "rule", "expected", "observed", "passed", "reason"}


def test_offline_fails_when_owners_may_open_their_network_policy():
    objects = offline_objects()
    role = next(o for o in objects if o["kind"] == "Role" and o["metadata"] == {**o["metadata"], "name": "tenant-owner",
                                                                                 "namespace": "tenant-a"})  # fmt: skip
    role["rules"].append(NETPOL_PATCH)
    report = rbac_offline(objects)
    assert not report.passed
    bad = {(e["subject"], e["check"]) for e in report.expectations if not e["passed"]}
    assert ("user:alice", "patch networkpolicies.networking.k8s.io") in bad
    assert ("group:team-a", "patch networkpolicies.networking.k8s.io") in bad


def test_live_passes_when_the_api_server_answers_as_rbac_does():
    api = owned_cluster()
    api.access_handler = evaluator_sar(api)
    report = verify_rbac(api, now=lambda: NOW)
    assert report.passed, [check.name for check in report.checks if not check.passed][:5]
    reviews = [args for call, args in api.calls if call == "access_review"]
    alice = [r for r in reviews if r.user == "alice"]
    assert alice and all(r.groups == ("system:authenticated",) for r in alice)
    team = [r for r in reviews if r.groups == ("team-a", "system:authenticated")]
    assert team and all(r.user == "" for r in team)
    assert any(r.user == "system:serviceaccount:ci:deployer" for r in reviews)
    names = {check.name for check in report.checks}
    assert "user:alice: patch deployments.apps in tenant-a" in names
    assert "user:alice: patch namespaces tenant-a in tenant-a" in names


def test_live_fails_an_authorizer_that_denies_everything():
    api = owned_cluster()
    api.access_handler = lambda review: False
    report = verify_rbac(api, now=lambda: NOW)
    assert not report.passed
    failed = {check.name for check in report.checks if not check.passed}
    assert "user:alice: patch deployments.apps in tenant-a" in failed
    assert "sa:tenant-b/tenant-owner: create pods/exec in tenant-b" in failed
    assert not any("in tenant-b" in name for name in failed if name.startswith("user:alice"))


def test_live_fails_a_grant_seen_by_both_the_server_and_the_evaluator():
    api = owned_cluster()
    role = api.get("rbac.authorization.k8s.io/v1", "Role", c.TENANT_OWNER, "tenant-a")
    role["rules"].append(NETPOL_PATCH)
    api.add(role)
    api.access_handler = evaluator_sar(api)
    report = verify_rbac(api, tenants=["tenant-a"], now=lambda: NOW)
    [check] = [
        ch for ch in report.checks if ch.name == "user:alice: patch networkpolicies.networking.k8s.io in tenant-a"
    ]
    assert not check.passed and check.observed == "allowed" and check.expected == "denied"
    assert check.detail.startswith("breaks 'owners never change what isolates their namespace'")


def test_offline_and_live_ask_the_same_owner_questions():
    api = owned_cluster()
    # Offline always includes the platform namespaces; live asks about those that exist.
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": c.SYSTEM_NAMESPACE}})
    api.access_handler = evaluator_sar(api)
    live = verify_rbac(api, now=lambda: NOW)
    offline = rbac_offline(offline_objects())
    owners = ("user:", "group:", "sa:")
    live_names = {check.name for check in live.checks if check.name.startswith(owners)}
    offline_names = {
        f"{e['subject']}: {e['check']} in {e['namespace'] or 'cluster scope'}"
        for e in offline.expectations
        if e["subject"].startswith(owners)
    }
    assert live_names == offline_names
