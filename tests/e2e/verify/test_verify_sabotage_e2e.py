"""Sabotages applied to a real cluster: each must make `mlopsctl verify network|rbac` exit 6, and the restored
tenants must pass again. The subset stands for the catalogue the offline suite runs
(tests/unit/services/sabotages.py): an allow-all ingress policy, a scrape rule opened to every namespace (the
outsider), a default deny that selects no pod (the later pod), and a binding to the built-in `edit` ClusterRole.

Needs a cluster with a NetworkPolicy-enforcing CNI where `mlopsctl cluster up` has recorded the inference image
(see tests/e2e/support.py for the flags).
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from mlopsctl import constants as c
from mlopsctl.errors import ExitCode
from tests.e2e.support import global_flags, tenant, unique

pytestmark = pytest.mark.e2e

TENANT_A, TENANT_B = unique("sabotage-a"), unique("sabotage-b")
NETPOL = "networking.k8s.io/v1"
RBAC = "rbac.authorization.k8s.io/v1"
TENANT_ARGS = [TENANT_A, TENANT_B]  # tenants are arguments of every verify command


@pytest.fixture(scope="module")
def api(kube):
    return kube


@pytest.fixture(scope="module")
def tenants() -> Iterator[tuple[str, str]]:
    with contextlib.ExitStack() as stack:
        for name in (TENANT_A, TENANT_B):
            stack.enter_context(tenant(name, "--min-replicas", "1"))
        yield TENANT_A, TENANT_B


def _verify(cli, area: str) -> tuple[int, dict]:
    result = cli(*global_flags(), "-q", "verify", area, *TENANT_ARGS, "-o", "json")
    assert result.stdout.strip(), result.stderr
    return result.exit_code, json.loads(result.stdout)


def _broken(data: dict) -> list[str]:
    return [f"{check['name']}: {check['detail']}" for check in data["checks"] if not check["passed"]] + [
        finding["message"] for finding in data["findings"]
    ]


@contextmanager
def _sabotaged(api, kind: str, namespace: str, name: str, change: Callable[[dict], None]) -> Iterator[None]:
    """Change one NetworkPolicy in place (server-side apply), then put the original back."""
    original = api.get(NETPOL, kind, name, namespace)
    assert original is not None, f"{kind} {namespace}/{name} missing"
    keep = {key: original[key] for key in ("apiVersion", "kind", "spec")}
    keep["metadata"] = {
        k: original["metadata"][k] for k in ("name", "namespace", "labels") if k in original["metadata"]
    }
    changed = copy.deepcopy(keep)
    change(changed)
    api.apply(changed, force=True)
    try:
        yield
    finally:
        api.apply(keep, force=True)


@contextmanager
def _added(api, obj: dict) -> Iterator[None]:
    api.apply(obj)
    try:
        yield
    finally:
        meta = obj["metadata"]
        api.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


def _open_scrape_rule(policy: dict) -> None:
    policy["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {}}]


def _deny_nothing(policy: dict) -> None:
    policy["spec"]["podSelector"] = {"matchLabels": {"mlopsctl.io/none": "none"}}


ALLOW_ALL = {
    "apiVersion": NETPOL,
    "kind": "NetworkPolicy",
    "metadata": {"name": "e2e-allow-all", "namespace": TENANT_B},
    "spec": {"podSelector": {}, "ingress": [{}]},
}
NETWORK_SABOTAGES = {
    "allow-all ingress": lambda api: _added(api, ALLOW_ALL),
    "scrape rule open to every namespace": lambda api: _sabotaged(
        api, "NetworkPolicy", TENANT_B, "allow-monitoring-scrape", _open_scrape_rule
    ),
    "default deny selecting no pod": lambda api: _sabotaged(
        api, "NetworkPolicy", TENANT_A, "default-deny-all", _deny_nothing
    ),
}
EXPECTED = {
    "allow-all ingress": f"{TENANT_B}/e2e-allow-all",
    "scrape rule open to every namespace": f"{TENANT_B}/allow-monitoring-scrape",
    "default deny selecting no pod": f"{TENANT_A}/later-pod",
}


@pytest.mark.parametrize("name", sorted(NETWORK_SABOTAGES))
def test_network_sabotage_fails_live_then_restored_passes(cli, api, tenants, name):
    with NETWORK_SABOTAGES[name](api):
        time.sleep(2)  # the contract is judged on the objects; the probes get the CNI a moment to follow
        code, data = _verify(cli, "network")
        assert code == ExitCode.VERIFICATION_FAILED, _broken(data)
        broken = _broken(data)
        assert any(EXPECTED[name] in line and "isolation rule" in line for line in broken), broken
    time.sleep(5)  # let the CNI program the restored policies before probing again
    code, data = _verify(cli, "network")
    assert code == 0, _broken(data)


def test_builtin_edit_binding_fails_live_then_restored_passes(cli, api, tenants):
    edit = {
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {"name": "e2e-a-edits-b", "namespace": TENANT_B},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": c.APP_NAME, "namespace": TENANT_A}],
    }
    with _added(api, edit):
        code, data = _verify(cli, "rbac")
        assert code == ExitCode.VERIFICATION_FAILED
        failed = [check for check in data["checks"] if not check["passed"]]
        sa = f"system:serviceaccount:{TENANT_A}:{c.APP_NAME}"
        assert any(
            check["name"] == f"{sa}: get secrets in {TENANT_B}" and check["observed"] == "allowed" for check in failed
        ), _broken(data)
        assert any("ClusterRole edit" in check["detail"] for check in failed)
    code, data = _verify(cli, "rbac")
    assert code == 0, _broken(data)
    controls = [check for check in data["checks"] if check["name"].endswith("(control)")]
    assert controls and all(check["passed"] for check in controls)
