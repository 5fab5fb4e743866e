"""Equivalent pods: NetworkPolicy sees a pod only through its namespace, its labels, its declared ports and its
address (ipBlock rules). Pods that agree on all of these are selected by the same policies and matched by the same
rules, so every verdict about one holds for the others: live probes need one of each class. The static evaluator
still judges every pod; `--exhaustive` probes every pod anyway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlopsctl.analysis.netpol import EGRESS, INGRESS, Network, Peer

# Labels that tell replicas (or revisions) of one workload apart and that no policy selects on.
REPLICA_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/controller-uid",
        "controller-uid",
    }
)


@dataclass(frozen=True)
class PodClass:
    """Pods that every policy treats alike; the first one stands for the rest."""

    members: tuple[Peer, ...]

    @property
    def representative(self) -> Peer:
        return self.members[0]

    @property
    def namespace(self) -> str:
        return self.members[0].namespace

    def other_than(self, peer: Peer) -> Peer | None:
        """A member that is not `peer` (a pod's connection to itself is loopback, not a probe)."""
        return next((m for m in self.members if m is not peer), None)


def _ip_block_signature(network: Network, peer: Peer) -> tuple[bool, ...]:
    """Which ipBlock rules of the cluster cover this pod's address (pods on different nodes may differ)."""
    if not peer.ip:
        return ()
    address = ipaddress.ip_address(peer.ip)
    found = []
    for policy in network.policies:
        for rule in (*policy.ingress, *policy.egress):
            for rule_peer in rule.peers:
                block = rule_peer.ip_block
                if block is None:
                    continue
                cidr = ipaddress.ip_network(block.cidr, strict=False)
                inside = address.version == cidr.version and address in cidr
                inside = inside and not any(
                    address in carve
                    for carve in (ipaddress.ip_network(e, strict=False) for e in block.excepts)
                    if carve.version == address.version
                )
                found.append(inside)
    return tuple(found)


def class_key(network: Network, peer: Peer) -> tuple:
    labels = tuple(sorted((k, v) for k, v in peer.labels.items() if k not in REPLICA_LABELS))
    policies = tuple(tuple(p.id for p in network.selecting(peer, d)) for d in (INGRESS, EGRESS))
    ports = tuple(sorted((p.port, p.protocol, p.name) for p in peer.ports))
    return (peer.namespace, labels, ports, policies, _ip_block_signature(network, peer), peer.pod, peer.role)


def pod_classes(network: Network, peers: Iterable[Peer], exhaustive: bool = False) -> list[PodClass]:
    """Peers grouped into classes of equivalent pods (one pod per class when exhaustive), in a stable order."""
    groups: dict[tuple, list[Peer]] = {}
    for peer in sorted(peers, key=lambda p: p.id):
        key = (peer.id,) if exhaustive else class_key(network, peer)
        groups.setdefault(key, []).append(peer)
    return sorted((PodClass(tuple(members)) for members in groups.values()), key=lambda k: k.representative.id)


def describe_equivalence(classes: Sequence[PodClass]) -> list[str]:
    """One report note per class that more than one pod shares."""
    notes = []
    for group in classes:
        if len(group.members) < 2:
            continue
        rest = ", ".join(m.id for m in group.members[1:])
        notes.append(
            f"{group.representative.id} stands for {rest}: same namespace, labels, ports, policies and ipBlock "
            "matches, so every verdict is the same; probed once (--exhaustive probes each pod)"
        )
    return notes
