"""`mlopsctl verify` on a real cluster: two fresh tenants are isolated (probes from inside their pods and
SubjectAccessReviews agree with the evaluators), a deliberately opened policy is caught, the offline verdict on
the same tenants' rendered manifests agrees, the evidence files are written, and the HPA can scale.

Needs a cluster with a NetworkPolicy-enforcing CNI and metrics-server, where `mlopsctl cluster up` has recorded
the inference image (see tests/e2e/support.py for the flags). Set MLOPSCTL_E2E_LOAD=1 to also drive load until
the HPA scales out and back.
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from mlopsctl import constants as c
from mlopsctl.errors import ExitCode
from tests.e2e.support import LOAD, global_flags, tenant, unique

pytestmark = pytest.mark.e2e

TENANTS = (unique("verify-a"), unique("verify-b"))


def _global() -> list[str]:
    return global_flags()


def _tenant_flags() -> list[str]:
    return list(TENANTS)  # tenants are arguments of every verify command


@pytest.fixture(scope="module")
def api(kube):
    return kube


@pytest.fixture(scope="module")
def tenants():
    with contextlib.ExitStack() as stack:
        for name in TENANTS:
            stack.enter_context(tenant(name, "--min-replicas", "1"))
        yield TENANTS


def _json(result) -> dict:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def _probe_pods_left(api) -> list[str]:
    """Probe pods in the test's tenants that are not being deleted, and scratch namespaces that are not going."""
    left = [f"{tenant}/{pod['metadata']['name']}" for tenant in TENANTS
            for pod in api.list("v1", "Pod", tenant, c.VERIFY_RUN_LABEL)
            if not pod["metadata"].get("deletionTimestamp")]  # fmt: skip
    left += [ns["metadata"]["name"] for ns in api.list("v1", "Namespace", None, c.VERIFY_RUN_LABEL)
             if (ns.get("status") or {}).get("phase") != "Terminating"]  # fmt: skip
    return left


def test_live_network_isolation_holds(cli, api, tenants, tmp_path, record_property):
    started = time.monotonic()
    result = cli(*_global(), "-q", "verify", "network", *_tenant_flags(), "--report", str(tmp_path), "-o", "json")
    seconds = time.monotonic() - started
    data = _json(result)
    # The live time for these tenants, in the JUnit properties and the output (issue target: 3 tenants in 10 s).
    record_property(f"verify_network_seconds_{len(TENANTS)}_tenants", round(seconds, 2))
    for row in data["phases"]:
        record_property(f"verify_{row['phase'].replace(': ', '_').replace(' ', '_')}_seconds", row["seconds"])
    print(f"verify network, {len(TENANTS)} tenants: {seconds:.1f} s, {data['probing']}, phases {data['phases']}")
    failing = [(check["name"], check["observed"], check["detail"]) for check in data["checks"] if not check["passed"]]
    assert result.exit_code == 0, (failing, data["findings"])
    assert not any("CNI does not enforce" in finding["message"] for finding in data["findings"])
    expected = {check["expected"] for check in data["checks"]}
    assert expected == {"allowed", "denied"}
    for name_ in TENANTS:
        names = [check["name"] for check in data["checks"] if check["name"].startswith(f"{name_}/")]
        assert any("-> own service" in name for name in names)
        assert any("-> kube-dns service" in name and name.endswith("/UDP") for name in names)
        assert any("-> other tenant" in name for name in names)
        assert any("-> API server" in name for name in names)
        later = f"{tenant}/verify-later-pod-"
        assert any(name.startswith(later) for name in names), "the later pod probes from the tenant namespace"
        assert any(f"-> tenant pod {tenant}/" in name for name in data_names(data) if "verify-outsider-" in name)
    assert data["probing"]["sources"] >= 2 * len(TENANTS) + 1
    assert not _probe_pods_left(api), "the run deletes its probe pods"
    assert (tmp_path / "verify-network.junit.xml").is_file()
    assert "# mlopsctl verify network: PASSED" in (tmp_path / "verify-network.md").read_text()
    page = (tmp_path / "report.html").read_text()
    assert 'id="connectivity-matrix"' in page and "✓ No check failed." in page
    assert all(check["subject"] and check["action"] for check in data["checks"] if "->" in check["name"])


def data_names(data: dict) -> list[str]:
    return [check["name"] for check in data["checks"]]


def test_exhaustive_run_gives_the_same_verdicts(cli, tenants, record_property):
    started = time.monotonic()
    result = cli(*_global(), "-q", "verify", "network", *_tenant_flags(), "--exhaustive", "-o", "json")
    record_property(f"verify_network_exhaustive_seconds_{len(TENANTS)}_tenants", round(time.monotonic() - started, 2))
    data = _json(result)
    assert result.exit_code == 0, [
        (check["name"], check["observed"]) for check in data["checks"] if not check["passed"]
    ]
    assert data["probing"]["exhaustive"] is True and data["probing"]["pods_represented_by_an_equivalent_pod"] == 0


def test_allow_all_ingress_is_caught_from_the_outsider(cli, api, tenants):
    opened = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "e2e-allow-all-ingress", "namespace": TENANTS[1]},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]},
    }
    api.apply(opened)
    try:
        time.sleep(5)  # let the CNI program the new rule before probing
        result = cli(*_global(), "-q", "verify", "network", TENANTS[1], "-o", "json")
        assert result.exit_code == ExitCode.VERIFICATION_FAILED
        data = _json(result)
        broken = [check for check in data["checks"] if not check["passed"]]
        assert any(check["name"].startswith("verify-outsider-") and "isolation rule" in check["detail"]
                   for check in broken)  # fmt: skip
        assert not any("CNI does not enforce" in finding["message"] for finding in data["findings"])
    finally:
        api.delete("networking.k8s.io/v1", "NetworkPolicy", "e2e-allow-all-ingress", TENANTS[1])


def test_live_rbac_isolation_holds_and_agrees_with_the_evaluator(cli, api, tenants):
    result = cli(*_global(), "-q", "verify", "rbac", *_tenant_flags(), "-o", "json")
    data = _json(result)
    failing = [(check["name"], check["observed"], check["detail"]) for check in data["checks"] if not check["passed"]]
    assert result.exit_code == 0, failing
    subjects = {check["name"].split(": ")[0] for check in data["checks"]}
    # Every account of each tenant namespace is checked: the tenant's own, its tenant-owner account and the
    # `default` one Kubernetes adds; each tenant-owner account is also probed, under its sa: name, as its owner.
    accounts = {
        f"system:serviceaccount:{name}:{account['metadata']['name']}"
        for name in TENANTS
        for account in api.list("v1", "ServiceAccount", name)
    }
    assert subjects == accounts | {f"sa:{tenant}/{c.TENANT_OWNER}" for tenant in TENANTS}
    assert {f"system:serviceaccount:{name}:{c.APP_NAME}" for name in TENANTS} <= subjects
    # Positive controls: checks that must come back allowed, so a review path that denies everything cannot pass.
    assert any(check["name"].endswith("(control)") and check["passed"] for check in data["checks"])


def test_offline_verdict_on_the_same_tenants(cli, tenants, tmp_path):
    for name in TENANTS:
        rendered = cli("tenant", "render", name, "--min-replicas", "1", "--out", str(tmp_path / "m" / name))
        assert rendered.exit_code == 0, rendered.stderr
    result = cli("verify", "network", "--offline", "--manifests", str(tmp_path / "m"), "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert _json(result)["tenants"] == list(TENANTS)


def test_opened_policy_is_caught_live(cli, api, tenants):
    opened = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "e2e-allow-all-egress", "namespace": TENANTS[0]},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
        },
    }
    api.apply(opened)
    try:
        time.sleep(5)  # let the CNI program the new rule before probing
        result = cli(*_global(), "-q", "verify", "network", TENANTS[0], "-o", "json")
        assert result.exit_code == ExitCode.VERIFICATION_FAILED
        data = _json(result)
        broken = [check for check in data["checks"] if not check["passed"]]
        assert any("-> API server" in check["name"] and "isolation rule" in check["detail"] for check in broken)
        assert not any("CNI does not enforce" in finding["message"] for finding in data["findings"])
    finally:
        api.delete("networking.k8s.io/v1", "NetworkPolicy", "e2e-allow-all-egress", TENANTS[0])


def test_autoscaling_ready(cli, tenants):
    deadline = time.monotonic() + 240
    while True:
        result = cli(*_global(), "-q", "verify", "autoscaling", TENANTS[0], "-o", "json")
        if result.exit_code == 0 or time.monotonic() > deadline:
            break
        time.sleep(15)  # the first CPU sample reaches the HPA a minute or so after the pods start
    data = _json(result)
    assert result.exit_code == 0, [(check["name"], check["observed"], check["detail"]) for check in data["checks"]]


@pytest.mark.skipif(not LOAD, reason="set MLOPSCTL_E2E_LOAD=1 to drive load until the HPA scales")
def test_autoscaling_under_load(cli, tenants, tmp_path):
    result = cli(
        *_global(), "-q", "verify", "autoscaling", TENANTS[0], "--load", "--scale-down", "--timeout", "420",
        "--report", str(tmp_path), "-o", "json",
    )  # fmt: skip
    data = _json(result)
    assert result.exit_code == 0, [(check["name"], check["observed"]) for check in data["checks"]]
    assert any(row["replicas"] > 1 for row in data["timeline"])
    assert "## Scaling timeline" in (tmp_path / "verify-autoscaling.md").read_text()
    # The load run that drove the scale-up is kept, and drawn on the page next to the HPA timeline.
    assert [run["tenant"] for run in data["loads"]] == [TENANTS[0]] and data["loads"][0]["report"]["timeline"]
    page = (tmp_path / "report.html").read_text()
    assert 'id="scaling-0"' in page and 'id="load-0-latency"' in page
