"""NetworkPolicy (networking.k8s.io/v1) connectivity: who may reach whom, on which port, and why.

The semantics follow the API reference and the upstream network-policy e2e suite:
- a policy selects pods of its own namespace by `podSelector` (empty: all pods there);
- a pod selected by at least one policy of a type (Ingress, Egress) is isolated for that type; a pod no policy
  of a type selects allows everything in that direction;
- what an isolated pod allows is the union of the rules of every policy that selects it: policies only add;
- a connection needs both the source's egress and the destination's ingress to allow it;
- a rule with no (or empty) `from`/`to` matches every peer, with no (or empty) `ports` every port;
- a peer with `podSelector` only means pods of the policy's namespace; `namespaceSelector` only means every pod
  of the selected namespaces; both in one peer is an AND; two peers are an OR; `ipBlock` matches addresses
  (with `except` carved out);
- ports by number, by name (resolved against the destination pod's container ports), with `endPort` ranges;
  protocol TCP when not given;
- `policyTypes` defaults to Ingress, plus Egress when the policy has egress rules;
- a pod's connection to itself is not subject to policy (loopback).

Every verdict carries the policy and rule that allowed it, or the policies that isolate the pod and allow nothing
that matches. Workloads (Deployments, StatefulSets, ...) stand for their pods: a workload's connection to itself
means one replica to another and is evaluated like any other connection.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mlopsctl.analysis.netpol_policy import (
    EGRESS,
    INGRESS,
    PROTOCOLS,
    IpBlock,
    Policy,
    PolicyError,
    PolicyPeer,
    PolicyPort,
    Rule,
    parse_policy,
)
from mlopsctl.analysis.selectors import describe, matches
from mlopsctl.constants import NAMESPACE_NAME_LABEL

# Parsed policies live in netpol_policy; they are part of this module's interface too.
__all__ = [
    "DEFAULT_POD_CIDRS", "EGRESS", "INGRESS", "PROTOCOLS", "ContainerPort", "DirectionVerdict", "IpBlock", "Network",
    "Peer", "Policy", "PolicyError", "PolicyPeer", "PolicyPort", "Rule", "Verdict", "declared_ports", "parse_policy",
]  # fmt: skip
# Kind's default pod subnet: what an ipBlock is compared with when a pod's address is not known.
DEFAULT_POD_CIDRS = ("10.244.0.0/16",)


@dataclass(frozen=True)
class ContainerPort:
    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True, eq=False)
class Peer:
    """One endpoint of a connection: a pod, a workload standing for its pods, or an address outside any pod.

    `pod` is False for endpoints NetworkPolicy does not apply to (hostNetwork pods, the API server, addresses
    outside the cluster): only ipBlock peers can match them and they have no policies of their own.
    `single` marks a bare Pod, whose connection to itself is loopback. `ranges` (CIDRs, minus `range_excepts`)
    make the peer stand for every address in them, for example the world outside the cluster: an ipBlock that
    covers any of those addresses matches it.
    """

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[ContainerPort, ...] = ()
    ip: str | None = None
    kind: str = "Pod"
    pod: bool = True
    single: bool = True
    synthesized: bool = False
    role: str = ""  # what the platform peer stands for ("kube-dns", "apiserver", ...), empty for workloads
    ranges: tuple[str, ...] = ()
    range_excepts: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class DirectionVerdict:
    direction: str
    allowed: bool
    reason: str
    isolated: bool = False
    policy: str | None = None
    rule: int | None = None
    uncertain: bool = False  # decided by an ipBlock against a pod whose address is unknown


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    egress: DirectionVerdict | None = None
    ingress: DirectionVerdict | None = None

    @property
    def uncertain(self) -> bool:
        """Allowed only if an ipBlock covers a pod whose address is unknown: not a proof either way."""
        return self.allowed and any(d is not None and d.uncertain for d in (self.egress, self.ingress))


# --- evaluation ----------------------------------------------------------------------------------------------


def _subnet_of(
    inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    """`inner.subnet_of(outer)` for two networks of the same IP version (False across versions)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def _remaining(block: ipaddress._BaseNetwork, excepts: Iterable[ipaddress._BaseNetwork]) -> list:
    """`block` minus every network in `excepts`, as a list of networks."""
    parts = [block]
    for carve in excepts:
        next_parts = []
        for part in parts:
            if part.version != carve.version or not part.overlaps(carve):
                next_parts.append(part)
            elif part.subnet_of(carve):
                continue
            else:
                next_parts.extend(part.address_exclude(carve))
        parts = next_parts
    return parts


class Network:
    """A snapshot of namespaces, peers and policies that answers connectivity questions."""

    def __init__(
        self,
        namespaces: Mapping[str, Mapping[str, str]],
        peers: Sequence[Peer],
        policies: Sequence[Policy],
        pod_cidrs: Sequence[str] = DEFAULT_POD_CIDRS,
    ) -> None:
        self.peers = list(peers)
        self.policies = sorted(policies, key=lambda p: (p.namespace, p.name))
        self._by_namespace: dict[str, list[Policy]] = {}
        for policy in self.policies:
            self._by_namespace.setdefault(policy.namespace, []).append(policy)
        self._namespaces = {name: dict(labels) for name, labels in namespaces.items()}
        self.pod_cidrs = [ipaddress.ip_network(c, strict=False) for c in pod_cidrs]
        # Verdicts repeat the same selector and rule work for every port and pair: remember it (by object
        # identity; the snapshot never changes).
        self._selecting: dict[tuple[int, str], list[Policy]] = {}
        self._matches: dict[tuple[int, int, int], bool | str] = {}
        self._described: dict[tuple[int, str], str] = {}

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """The namespace's labels, with the `kubernetes.io/metadata.name` label Kubernetes always sets."""
        labels = dict(self._namespaces.get(namespace, {}))
        labels[NAMESPACE_NAME_LABEL] = namespace
        return labels

    def selecting(self, peer: Peer, direction: str) -> list[Policy]:
        """The policies of `direction`'s type that select `peer` (and so isolate it for that direction)."""
        if not peer.pod:
            return []
        key = (id(peer), direction)
        if key not in self._selecting:
            self._selecting[key] = [
                p
                for p in self._by_namespace.get(peer.namespace, [])
                if direction in p.types and matches(p.pod_selector, peer.labels)
            ]
        return self._selecting[key]

    def _describe(self, rule: Rule, direction: str) -> str:
        key = (id(rule), direction)
        if key not in self._described:
            self._described[key] = rule.describe(direction)
        return self._described[key]

    # A match is True, False, or "maybe" (an ipBlock against a pod whose address is unknown).
    def _ip_block_matches(self, block: IpBlock, peer: Peer) -> bool | str:
        network = ipaddress.ip_network(block.cidr, strict=False)
        excepts = [ipaddress.ip_network(c, strict=False) for c in block.excepts]
        if peer.ranges:
            return self._ranges_overlap(network, excepts, peer)
        if peer.ip:
            address = ipaddress.ip_address(peer.ip)
            if address.version != network.version or address not in network:
                return False
            return not any(address in carve for carve in excepts if carve.version == address.version)
        if not peer.pod:
            return False
        for pod_net in self.pod_cidrs:
            if pod_net.version != network.version or not pod_net.overlaps(network):
                continue
            inner = pod_net if _subnet_of(pod_net, network) else network
            if _remaining(inner, excepts):
                return "maybe"
        return False

    @staticmethod
    def _ranges_overlap(network, excepts: list, peer: Peer) -> bool:
        """Whether some address of the peer's ranges lies in `network` outside its `excepts`."""
        carved = [*excepts, *(ipaddress.ip_network(c, strict=False) for c in peer.range_excepts)]
        for text in peer.ranges:
            candidate = ipaddress.ip_network(text, strict=False)
            if candidate.version != network.version or not candidate.overlaps(network):
                continue
            inner = candidate if _subnet_of(candidate, network) else network
            if _remaining(inner, carved):
                return True
        return False

    def _peer_matches(self, rule_peer: PolicyPeer, policy: Policy, other: Peer) -> bool | str:
        key = (id(rule_peer), id(policy), id(other))
        if key not in self._matches:
            self._matches[key] = self._peer_matches_uncached(rule_peer, policy, other)
        return self._matches[key]

    def _peer_matches_uncached(self, rule_peer: PolicyPeer, policy: Policy, other: Peer) -> bool | str:
        if rule_peer.ip_block is not None:
            return self._ip_block_matches(rule_peer.ip_block, other)
        if not other.pod:
            return False
        if rule_peer.namespace_selector is None:
            namespace_ok = other.namespace == policy.namespace
        else:
            namespace_ok = matches(rule_peer.namespace_selector, self.namespace_labels(other.namespace))
        if not namespace_ok:
            return False
        return rule_peer.pod_selector is None or matches(rule_peer.pod_selector, other.labels)

    @staticmethod
    def _port_matches(policy_port: PolicyPort, destination: Peer, port: int, protocol: str) -> bool:
        if policy_port.protocol != protocol:
            return False
        if policy_port.port is None:
            return True
        if isinstance(policy_port.port, str):
            return any(
                cp.name == policy_port.port and cp.protocol == protocol and cp.port == port for cp in destination.ports
            )
        if policy_port.end_port is not None:
            return policy_port.port <= port <= policy_port.end_port
        return policy_port.port == port

    def _rule_matches(
        self, rule: Rule, policy: Policy, other: Peer, destination: Peer, port: int, protocol: str
    ) -> bool | str:
        if rule.ports and not any(self._port_matches(p, destination, port, protocol) for p in rule.ports):
            return False
        if not rule.peers:
            return True
        results = [self._peer_matches(p, policy, other) for p in rule.peers]
        if True in results:
            return True
        return "maybe" if "maybe" in results else False

    def direction(self, peer: Peer, other: Peer, destination: Peer, port: int, protocol: str, direction: str):
        """Whether `peer`'s policies of `direction` let the connection with `other` through."""
        word = direction.lower()
        if not peer.pod:
            return DirectionVerdict(word, True, f"{peer.id} is not a pod; no NetworkPolicy applies to it")
        selecting = self.selecting(peer, direction)
        if not selecting:
            return DirectionVerdict(word, True, self._not_isolated(peer, direction))
        maybe: tuple[Policy, int, Rule] | None = None
        for policy in selecting:
            for index, rule in enumerate(policy.rules(direction)):
                result = self._rule_matches(rule, policy, other, destination, port, protocol)
                if result is True:
                    return DirectionVerdict(
                        word,
                        True,
                        f"{word} allowed by {policy.id} rule {index} ({self._describe(rule, direction)})",
                        isolated=True,
                        policy=policy.id,
                        rule=index,
                    )
                if result == "maybe" and maybe is None:
                    maybe = (policy, index, rule)
        if maybe is not None:
            policy, index, rule = maybe
            return DirectionVerdict(
                word,
                True,
                f"{word} may be allowed by {policy.id} rule {index} ({self._describe(rule, direction)}): the address of "
                f"{other.id} is not known and the block overlaps the pod network "
                f"{', '.join(str(n) for n in self.pod_cidrs)}",
                isolated=True,
                policy=policy.id,
                rule=index,
                uncertain=True,
            )
        names = ", ".join(p.id for p in selecting)
        return DirectionVerdict(
            word,
            False,
            f"{word} denied: {peer.id} is isolated for {word} by {names} and no rule allows "
            f"{'from' if direction == INGRESS else 'to'} {other.id} on {port}/{protocol}",
            isolated=True,
        )

    def _not_isolated(self, peer: Peer, direction: str) -> str:
        """Why no policy isolates `peer`: the namespace's policies of that type and the pods they select."""
        word = direction.lower()
        others = [p for p in self._by_namespace.get(peer.namespace, []) if direction in p.types]
        if not others:
            return f"{peer.id} is not isolated for {word} (no {direction} policy in namespace {peer.namespace})"
        selectors = "; ".join(f"{p.id} selects {describe(p.pod_selector)}" for p in others)
        return f"{peer.id} is not isolated for {word} (no policy selects it: {selectors})"

    def evaluate(self, source: Peer, destination: Peer, port: int, protocol: str = "TCP") -> Verdict:
        if source is destination and source.single:
            return Verdict(True, "loopback: a pod's connection to itself is not subject to NetworkPolicy")
        egress = self.direction(source, destination, destination, port, protocol, EGRESS)
        ingress = self.direction(destination, source, destination, port, protocol, INGRESS)
        allowed = egress.allowed and ingress.allowed
        if allowed:
            reason = egress.reason if egress.reason == ingress.reason else f"{egress.reason}; {ingress.reason}"
        else:
            reason = "; ".join(d.reason for d in (egress, ingress) if not d.allowed)
        return Verdict(allowed, reason, egress, ingress)

    def dead_selectors(self) -> list[str]:
        """Peers of policy rules whose namespaceSelector matches none of the known namespaces: usually a label
        nobody sets (Kubernetes sets only `kubernetes.io/metadata.name`), so the rule silently allows nothing."""
        known = set(self._namespaces) | {peer.namespace for peer in self.peers}
        found = []
        for policy in self.policies:
            for direction in (INGRESS, EGRESS):
                for index, rule in enumerate(policy.rules(direction)):
                    for peer in rule.peers:
                        selector = peer.namespace_selector
                        if selector is None or any(matches(selector, self.namespace_labels(ns)) for ns in known):
                            continue
                        found.append(
                            f"{policy.id} {direction.lower()} rule {index}: namespaceSelector {describe(selector)} "
                            "matches no namespace (Kubernetes sets only kubernetes.io/metadata.name on namespaces)"
                        )
        return found

    def connections(self) -> list[tuple[Peer, Peer, int, str, Verdict]]:
        """Every ordered pair of peers (a peer with itself included), on every port its destination declares."""
        result = []
        for source in self.peers:
            for destination in self.peers:
                for port, protocol in declared_ports(destination):
                    result.append(
                        (source, destination, port, protocol, self.evaluate(source, destination, port, protocol))
                    )
        return result


def declared_ports(peer: Peer) -> list[tuple[int, str]]:
    return sorted({(p.port, p.protocol) for p in peer.ports})
