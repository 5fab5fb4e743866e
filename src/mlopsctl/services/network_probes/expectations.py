"""The isolation rule each live connection is held to, and the static judgement of the whole live matrix.

The rules are the isolation contract of analysis/isolation.py. The run's own probe pods stand for two places a
breach comes from, and are held to these rules on top:
- a later pod (a debug pod, a Job) in a tenant namespace without the inference labels is as isolated as the
  inference pods: nothing reaches it; from it, the tenant rules apply (it needs no object store access);
- an outsider (a pod with no special labels in a namespace with no special labels) reaches no tenant, and no
  tenant reaches it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from mlopsctl import constants as c
from mlopsctl.analysis.isolation import NetworkRule, TenantIndex, judge, network_expectation
from mlopsctl.analysis.netpol import Network, Peer, declared_ports


def expectation(source: Peer, destination: Peer, port: int, protocol: str, tenants: TenantIndex) -> NetworkRule | None:
    """What the isolation rules demand of this connection, or None when they say nothing about it."""
    if source is destination:
        return None
    if destination.role == c.LATER_POD_ROLE:
        return NetworkRule(False, "a later pod is as isolated as the inference pods: nothing reaches it")
    if source.role == c.OUTSIDER_ROLE:
        return NetworkRule(False, "nothing outside the tenants reaches a tenant") if tenants.of(destination) else None
    if destination.role == c.OUTSIDER_ROLE:
        return NetworkRule(False, "no tenant traffic to other namespaces") if tenants.of(source) else None
    later_to_store = source.role == c.LATER_POD_ROLE and destination.namespace == c.STORAGE_NAMESPACE
    if later_to_store and port == c.STORAGE_S3_PORT and protocol == "TCP":
        return None  # only the inference pods need the object store; the policies may or may not let others in
    return network_expectation(source, destination, port, protocol, tenants)


@dataclass(frozen=True)
class Break:
    """A connection whose verdict breaks an isolation rule."""

    source: Peer
    destination: Peer
    port: int
    protocol: str
    rule: NetworkRule
    observed: str
    reason: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.source.id, self.destination.id, self.port, self.protocol)


@dataclass
class MatrixJudgement:
    connections: int = 0  # every (source, destination, port) the rules say something about
    breaks: list[Break] = field(default_factory=list)


def judge_matrix(
    network: Network, peers: Sequence[Peer], tenants: TenantIndex, focus: Collection[str] | None = None
) -> MatrixJudgement:
    """Every source, destination and declared port of the live pods, judged by the evaluator against the rules;
    with `focus` (the selected tenants), only connections from or to those namespaces."""
    result = MatrixJudgement()
    for source in peers:
        if not source.pod:
            continue
        for destination in peers:
            if focus is not None and source.namespace not in focus and destination.namespace not in focus:
                continue
            for port, protocol in declared_ports(destination):
                rule = expectation(source, destination, port, protocol, tenants)
                if rule is None:
                    continue
                result.connections += 1
                verdict = network.evaluate(source, destination, port, protocol)
                observed, passed = judge(rule, verdict)
                if not passed:
                    result.breaks.append(Break(source, destination, port, protocol, rule, observed, verdict.reason))
    return result
