"""The RBAC contract in a tenant's own namespace: what the tenant's own Roles grant is its business, except what
breaks isolation (never) and the sensitive verbs (only owners, only through the platform's tenant-owner Role)."""

from __future__ import annotations

import pytest

from mlopsctl import constants as c
from mlopsctl.analysis.builtin_rbac import bootstrap_policy
from mlopsctl.analysis.rbac import RbacModel, Subject
from mlopsctl.analysis.rbac_contract import (
    STANDARD_CHECKS,
    AccessCheck,
    account_name,
    is_sensitive,
    positive_controls,
    rbac_expectation,
)
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

TENANTS = ["tenant-a", "tenant-b"]
RBAC = "rbac.authorization.k8s.io/v1"
EXEC = AccessCheck("create", "pods", "", "exec")
GET_SECRET = AccessCheck("get", "secrets")
CREATE_SECRET = AccessCheck("create", "secrets")


def _objects(*extra):
    return [obj for tenant in TENANTS for obj in render_tenant(TenantSpec.create(tenant))] + list(extra)


def _model(objects):
    rbac = [obj for obj in objects if obj["apiVersion"] == RBAC]
    return RbacModel.from_objects(rbac, bootstrap_policy().objects)


def _judge(model, account, check, namespace="tenant-a"):
    decision = model.authorize(Subject.service_account("tenant-a", account), check.request(namespace))
    return decision.allowed, rbac_expectation("tenant-a", account, TENANTS, check, namespace, decision)


@pytest.mark.parametrize(
    ("check", "sensitive"),
    [
        (GET_SECRET, True),
        (AccessCheck("watch", "secrets"), True),
        (CREATE_SECRET, False),
        (EXEC, True),
        (AccessCheck("get", "pods", "", "exec"), True),
        (AccessCheck("create", "pods", "", "attach"), True),
        (AccessCheck("create", "pods"), True),
        (AccessCheck("delete", "pods"), False),
        (AccessCheck("get", "pods", "", "log"), False),
        (AccessCheck("create", "serviceaccounts", "", "token"), True),
        (AccessCheck("get", "secrets", "example.com"), False),  # not the core group's Secrets
    ],
)
def test_sensitive_verbs(check, sensitive):
    assert is_sensitive(check) is sensitive


def test_the_owner_account_may_exec_and_create_secrets_through_its_tenant_owner_role():
    model = _model(_objects())
    for check in (EXEC, CREATE_SECRET, AccessCheck("patch", "deployments", "apps")):
        allowed, (expected, rule, passed) = _judge(model, c.TENANT_OWNER, check)
        assert allowed and passed, (check, rule)
    allowed, (expected, _, passed) = _judge(model, c.TENANT_OWNER, EXEC)
    assert expected == f"only via the {c.TENANT_OWNER} Role"
    # Nothing of that reaches another tenant's namespace.
    allowed, (expected, rule, passed) = _judge(model, c.TENANT_OWNER, EXEC, "tenant-b")
    assert (
        not allowed
        and passed
        and expected == "denied"
        and rule == "nothing in namespace tenant-b for a tenant identity"
    )


@pytest.mark.parametrize("account", ["inference", "default"])
def test_workload_identities_get_nothing_sensitive_even_from_their_own_role(account):
    role = {
        "apiVersion": RBAC,
        "kind": "Role",
        "metadata": {"name": "debug", "namespace": "tenant-a"},
        "rules": [
            {"apiGroups": [""], "resources": ["secrets", "pods/exec"], "verbs": ["get", "create"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
        ],
    }
    bind = {
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {"name": "debug", "namespace": "tenant-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "debug"},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": "tenant-a"}],
    }
    model = _model(_objects(role, bind))
    for check in (GET_SECRET, EXEC):
        allowed, (expected, rule, passed) = _judge(model, account, check)
        assert allowed and not passed and expected == "denied" and "workload identity" in rule
    allowed, (_, _, passed) = _judge(model, account, AccessCheck("get", "configmaps"))
    assert allowed and passed  # not sensitive: what its own Role grants is its business
    controls = {
        check for check, _ in positive_controls(model, Subject.service_account("tenant-a", account), "tenant-a")
    }
    assert AccessCheck("get", "configmaps") in controls and GET_SECRET not in controls


def test_the_owner_account_gets_sensitive_verbs_from_no_other_role():
    role = {
        "apiVersion": RBAC,
        "kind": "ClusterRole",
        "metadata": {"name": "secret-reader"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    }
    bind = {
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {"name": "secret-reader", "namespace": "tenant-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": c.TENANT_OWNER, "namespace": "tenant-a"}],
    }
    allowed, (_, rule, passed) = _judge(_model(_objects(role, bind)), c.TENANT_OWNER, GET_SECRET)
    assert allowed and not passed and f"only through the {c.TENANT_OWNER} Role" in rule


def test_the_owner_role_never_escalates():
    objects = _objects()
    owner_role = next(o for o in objects if o["kind"] == "Role" and o["metadata"] == {**o["metadata"],
                      "name": c.TENANT_OWNER, "namespace": "tenant-a"})  # fmt: skip
    owner_role["rules"].append({"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["*"]})
    allowed, (expected, rule, passed) = _judge(
        _model(objects), c.TENANT_OWNER, AccessCheck("patch", "networkpolicies", "networking.k8s.io")
    )
    assert allowed and not passed and expected == "denied" and "escalation" in rule


def test_the_rendered_tenants_meet_the_whole_matrix():
    model = _model(_objects())
    for account in ("inference", "default", c.TENANT_OWNER):
        for check in STANDARD_CHECKS:
            for namespace in (*TENANTS, None):
                assert _judge(model, account, check, namespace)[1][2], (account, check, namespace)


def test_account_name():
    assert account_name(Subject.service_account("tenant-a", "inference")) == "inference"
    assert account_name(Subject("alice", ())) == ""
