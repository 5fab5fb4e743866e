"""The network isolation contract of mlopsctl tenants, written once: an explicit allow-list per tenant, and every
other flow into or out of a tenant, in both directions, denied.

For tenant T, the allow-list is:
- T's own pods to T's inference pods on the service (container) port;
- the monitoring namespace to T's inference pods on that port (Prometheus scrapes the metrics there);
- T's pods to kube-dns (kube-system, `k8s-app=kube-dns`) on 53/UDP and 53/TCP;
- T's pods to the object store's S3 port (only T's own egress side is demanded: the store admits a tenant's
  namespace only once it was granted a bucket).
The inference pods must get each of these flows (they are the product working); any other pod of T (a debug
pod, a Job: a "later pod") may, but need not. Everything else that starts or ends in T is expected denied: to
and from other tenants, every platform pod, an outsider pod in an ordinary namespace, the API server and the
world outside the cluster. What is judged is the effective path (source egress AND destination ingress): a rule
on one side that opens no path is not a failure.

Connections between two peers outside the tenants are not the contract's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mlopsctl import constants as c
from mlopsctl.analysis.inventory import Inventory
from mlopsctl.analysis.netpol import Peer, Verdict

DNS_PORT = 53
APISERVER_ROLE = "apiserver"
KUBE_DNS_ROLE = "kube-dns"
OUTSIDER_ROLE = "outsider"
LATER_POD_ROLE = "later-pod"
WORLD_ROLE = "world"


@dataclass(frozen=True)
class Expectation:
    """One expectation checked against one verdict."""

    kind: str  # "network" or "rbac"
    check: str  # what was checked, e.g. "tenant-a/inference -> tenant-b/inference 8080/TCP"
    rule: str  # which isolation rule demands it
    expected: str
    observed: str
    passed: bool
    reason: str


def _labels_match(labels: Mapping[str, str], required: Iterable[tuple[str, str]]) -> bool:
    return all(labels.get(key) == value for key, value in required)


def is_kube_dns(peer: Peer) -> bool:
    return peer.role == KUBE_DNS_ROLE or (
        peer.namespace == c.DNS_NAMESPACE and _labels_match(peer.labels, c.DNS_POD_LABELS)
    )


def is_inference(peer: Peer, tenant: str) -> bool:
    """Whether the peer carries the tenant's inference selector labels (what its Service and policies select)."""
    return peer.labels.get(c.NAME_LABEL) == c.APP_NAME and peer.labels.get(c.INSTANCE_LABEL) == tenant


def tenant_namespaces(inventory: Inventory) -> list[str]:
    """Namespaces of mlopsctl tenants: labelled with the tenant label, or holding workloads that carry it."""
    found = {name for name, labels in inventory.namespaces.items() if c.TENANT_LABEL in labels}
    found |= {peer.namespace for peer in inventory.peers if c.TENANT_LABEL in peer.labels}
    return sorted(found - set(c.PLATFORM_NAMESPACES))


class TenantIndex:
    def __init__(self, tenants: Sequence[str]) -> None:
        self.tenants = set(tenants)

    def of(self, peer: Peer) -> str | None:
        return peer.namespace if peer.pod and peer.namespace in self.tenants else None


class NetworkRule(NamedTuple):
    """What the isolation rules demand of one connection."""

    expected: bool  # allowed or denied
    rule: str
    # Only the tenant's own (egress) side is demanded: the destination may admit fewer tenants (the object store
    # admits a tenant's namespace only once it was granted a bucket).
    egress_only: bool = False


def judge(rule: NetworkRule, verdict: Verdict) -> tuple[str, bool]:
    """(what the policies do, whether that meets the rule)."""
    if rule.egress_only and rule.expected and verdict.egress is not None and not verdict.allowed:
        if verdict.egress.allowed:
            return "egress allowed (the destination does not admit this tenant)", True
        return "denied", False
    observed = "possibly allowed" if verdict.uncertain else "allowed" if verdict.allowed else "denied"
    passed = verdict.allowed == rule.expected and not (verdict.uncertain and not rule.expected)
    return observed, passed


def describe_peer(peer: Peer) -> str:
    """What kind of peer this is, for the name of the rule that denies it."""
    if peer.role == APISERVER_ROLE:
        return "the API server"
    if peer.role == WORLD_ROLE:
        return "the world outside the cluster"
    if peer.role == OUTSIDER_ROLE:
        return "a pod in an ordinary namespace (the outsider)"
    if not peer.pod:
        return f"{peer.id}, which is not a pod"
    return f"namespace {peer.namespace}"


def _permitted(rule: str, inference: bool, egress_only: bool = False) -> NetworkRule | None:
    """An allow-listed flow: demanded of the inference pods, allowed but not demanded of the tenant's other pods."""
    return NetworkRule(True, rule, egress_only) if inference else None


def network_expectation(
    source: Peer, destination: Peer, port: int, protocol: str, tenants: TenantIndex
) -> NetworkRule | None:
    """What the contract demands of this connection, or None when it allows either verdict."""
    src_tenant, dst_tenant = tenants.of(source), tenants.of(destination)
    if (not src_tenant and not dst_tenant) or (source is destination and source.single):
        return None  # outside the tenants, or a pod's loopback, which no policy governs
    if src_tenant and dst_tenant and src_tenant != dst_tenant:
        return NetworkRule(False, "no traffic between tenants")
    service_port = port == c.CONTAINER_PORT and protocol == "TCP"
    if src_tenant and dst_tenant:
        if service_port and is_inference(destination, dst_tenant):
            return _permitted("same-tenant traffic to the service port", is_inference(source, src_tenant))
        return NetworkRule(False, "inside a tenant only the inference pods' service port is open")
    if dst_tenant:
        scraper = source.pod and source.namespace == c.MONITORING_NAMESPACE
        if scraper and service_port and is_inference(destination, dst_tenant):
            return NetworkRule(True, "monitoring scrapes the tenant's metrics port")
        return NetworkRule(False, f"nothing reaches a tenant from {describe_peer(source)}")
    assert src_tenant is not None
    inference = is_inference(source, src_tenant)
    if is_kube_dns(destination) and destination.pod and port == DNS_PORT and protocol in ("UDP", "TCP"):
        return _permitted("tenant DNS to kube-dns", inference)
    store = destination.pod and destination.namespace == c.STORAGE_NAMESPACE
    if store and port == c.STORAGE_S3_PORT and protocol == "TCP":
        return _permitted("tenant to the object store's S3 port", inference, egress_only=True)
    return NetworkRule(False, f"a tenant reaches only its allow-list, not {describe_peer(destination)}")


def check_network(
    connections: Iterable[tuple[Peer, Peer, int, str, Verdict]], tenants: Sequence[str]
) -> list[Expectation]:
    index = TenantIndex(tenants)
    results = []
    for source, destination, port, protocol, verdict in connections:
        expectation = network_expectation(source, destination, port, protocol, index)
        if expectation is None:
            continue
        observed, passed = judge(expectation, verdict)
        results.append(
            Expectation(
                "network",
                f"{source.id} -> {destination.id} {port}/{protocol}",
                expectation.rule,
                "allowed" if expectation.expected else "denied",
                observed,
                passed,
                verdict.reason,
            )
        )
    return results
