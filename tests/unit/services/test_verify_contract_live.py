"""The live `verify network` judges the full isolation contract over the objects it reads, so sabotages that no
probe from a tenant pod can see (a tenant opened to the rest of the cluster, to pods created later, to the world)
fail the run even on an enforcing CNI whose probes all agree."""

from __future__ import annotations

import copy

import pytest

from mlopsctl.services.verify_network import verify_network
from tests.unit.services.sabotages import CATALOGUE, TENANTS
from tests.unit.services.verify_cluster import ScriptedNetwork, cluster

NETWORK_KINDS = ("NetworkPolicy",)
# The subset the e2e suite applies to a real cluster, plus two that only the contract can see.
LIVE = (
    "allow_all_ingress_b",
    "scrape_rule_open_to_every_namespace_b",
    "default_deny_selects_nothing_a",
    "delete_default_deny_b",
    "ingress_from_world_a",
    "egress_to_world_a",
)


def _policies(api) -> list[dict]:
    return [copy.deepcopy(obj) for obj in api.objects.values() if obj.get("kind") == "NetworkPolicy"]


def _apply(api, sabotage_name: str) -> None:
    """Run the sabotage over the cluster's NetworkPolicies and write the result back (added, changed, deleted)."""
    [sabotage] = [s for s in CATALOGUE if s.name == sabotage_name]
    before = _policies(api)
    after = copy.deepcopy(before)
    sabotage.apply(after)
    for obj in before:
        meta = obj["metadata"]
        api.delete("networking.k8s.io/v1", "NetworkPolicy", meta["name"], meta["namespace"])
    for obj in after:
        api.add(obj)


def test_untouched_cluster_passes_and_says_what_the_contract_judged():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    report = verify_network(api, sleep=lambda s: None)
    assert report.passed, [(c.name, c.detail) for c in report.checks if not c.passed]
    [note] = [n for n in report.notes if n.startswith("isolation contract over the cluster's objects")]
    assert "0 broken" in note and "mlopsctl-outsider/outsider" in note and "world/*" in note
    assert all(tenant in note for tenant in TENANTS)


@pytest.mark.parametrize("name", LIVE)
def test_sabotage_fails_the_live_run_even_when_every_probe_agrees(name):
    api = cluster()
    _apply(api, name)
    api.exec_handler = ScriptedNetwork()  # an enforcing CNI: what the probes see agrees with the policies
    report = verify_network(api, sleep=lambda s: None)
    assert not report.passed
    broken = [c for c in report.checks if c.name.startswith("contract: ") and not c.passed]
    assert broken, [(c.name, c.detail) for c in report.checks if not c.passed]
    assert all("the policies break the isolation rule" in c.detail for c in broken)
    assert not any("CNI does not enforce" in f.message for f in report.findings)


def test_node_pod_ranges_are_used_for_the_synthesized_pods():
    api = cluster()
    api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.42.0.0/24"]}})
    api.add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "from-pod-range", "namespace": "tenant-a"},
            "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.42.0.0/16"}}]}]},
        }
    )
    api.exec_handler = ScriptedNetwork()
    report = verify_network(api, sleep=lambda s: None)
    broken = {c.name: c.observed for c in report.checks if c.name.startswith("contract: ")}
    assert broken["contract: mlopsctl-outsider/outsider -> tenant-a/inference-a1 8080/TCP"] == "possibly allowed"


def test_contract_failures_sit_in_the_connectivity_matrix():
    api = cluster()
    _apply(api, "allow_all_ingress_b")
    api.exec_handler = ScriptedNetwork()
    report = verify_network(api, sleep=lambda s: None)
    check = next(
        c for c in report.checks if c.name == "contract: mlopsctl-outsider/outsider -> tenant-b/inference-b1 8080/TCP"
    )
    assert (check.subject, check.target, check.action) == (
        "mlopsctl-outsider/outsider",
        "tenant-b/inference-b1",
        "8080/TCP",
    )
    assert "ingress allowed by tenant-b/allow-all rule 0" in check.detail
