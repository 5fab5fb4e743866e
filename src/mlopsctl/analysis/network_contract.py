"""The peers the isolation contract is judged against, and the judgement over any inventory.

Besides the workloads at hand, every run adds (and reports in `peers`):
- the outsider: a pod without labels in a namespace without labels (`mlopsctl-outsider/outsider`), standing for
  any workload someone else runs in the cluster;
- a later pod in each tenant namespace (`T/later-pod`), without the inference selector labels: a debug pod or a
  Job created after the tenant, which must be as isolated as the inference pods;
- the world as address peers, both as source and destination: one public IPv4 and one public IPv6 address, and
  every address outside the cluster (0.0.0.0/0 and ::/0 minus the pod and service ranges).
Offline, the platform peers the contract names (kube-dns, the rest of kube-system, Prometheus, the object store,
the API server) are synthesized when the objects lack them. The same function judges objects read from a live
cluster, where only the outsider, the later pods and the world are synthesized.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mlopsctl import constants as c
from mlopsctl.analysis.isolation import (
    APISERVER_ROLE,
    KUBE_DNS_ROLE,
    LATER_POD_ROLE,
    OUTSIDER_ROLE,
    WORLD_ROLE,
    Expectation,
    check_network,
    is_kube_dns,
)
from mlopsctl.analysis.netpol import DEFAULT_POD_CIDRS, ContainerPort, Network, Peer, Policy, Verdict

# Where kind's control plane usually sits on the `kind` Docker network; used only when no address is known.
DEFAULT_APISERVER_IP = "172.18.0.2"
APISERVER_PORTS = (ContainerPort(6443, "TCP", "https"), ContainerPort(443, "TCP", "https-service"))
PROMETHEUS_PORT = 9090
# A second object store port (the SeaweedFS master) that tenants must not reach.
STORAGE_OTHER_PORT = 9333
# Kind's (and kubeadm's) default Service range.
DEFAULT_SERVICE_CIDRS = ("10.96.0.0/12",)
OUTSIDER_NAMESPACE = "mlopsctl-outsider"
# Ports the outsider and the later pods listen on: every port a tenant's allow-list names (so that a rule
# widened beyond its peer is caught on the port it names) and one no rule names.
PROBE_PORTS = (
    ContainerPort(c.CONTAINER_PORT, "TCP", "http"),
    ContainerPort(8081, "TCP", "other"),
    ContainerPort(53, "UDP", "dns"),
    ContainerPort(53, "TCP", "dns-tcp"),
    ContainerPort(c.STORAGE_S3_PORT, "TCP", "s3"),
)
WORLD_PORTS = (ContainerPort(443, "TCP", "https"), ContainerPort(80, "TCP", "http"), ContainerPort(53, "UDP", "dns"))
# Public resolvers' addresses: well-known, routable, outside any cluster range.
WORLD_IPV4 = "8.8.8.8"
WORLD_IPV6 = "2001:4860:4860::8888"

Connection = tuple[Peer, Peer, int, str, Verdict]


def platform_peers(
    peers: Sequence[Peer], apiserver_ip: str | None = DEFAULT_APISERVER_IP
) -> tuple[list[Peer], list[str]]:
    """The platform peers the contract names and `peers` lack, with one note per synthesized peer."""
    made: list[Peer] = []

    def deployment(
        namespace: str, name: str, labels: dict[str, str], ports: tuple[ContainerPort, ...], role: str
    ) -> Peer:
        return Peer(namespace, name, labels, ports, kind="Deployment", single=False, synthesized=True, role=role)

    if not any(is_kube_dns(p) for p in peers):
        dns_ports = (ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp"), ContainerPort(9153))
        made.append(deployment(c.DNS_NAMESPACE, "coredns", dict(c.DNS_POD_LABELS), dns_ports, KUBE_DNS_ROLE))
    if not any(p.namespace == c.DNS_NAMESPACE and not is_kube_dns(p) for p in peers):
        ports = (ContainerPort(10250, "TCP", "https"),)
        made.append(
            deployment(c.DNS_NAMESPACE, "metrics-server", {"k8s-app": "metrics-server"}, ports, "metrics-server")
        )
    if not any(p.namespace == c.MONITORING_NAMESPACE for p in peers):
        web = (ContainerPort(PROMETHEUS_PORT, "TCP", "web"),)
        made.append(deployment(c.MONITORING_NAMESPACE, "prometheus", {c.NAME_LABEL: "prometheus"}, web, "prometheus"))
    if not any(p.namespace == c.STORAGE_NAMESPACE for p in peers):
        store = (ContainerPort(c.STORAGE_S3_PORT, "TCP", "s3"), ContainerPort(STORAGE_OTHER_PORT, "TCP", "master"))
        labels = {c.NAME_LABEL: "object-store"}
        made.append(deployment(c.STORAGE_NAMESPACE, "object-store", labels, store, "object-store"))
    if not any(p.role == APISERVER_ROLE for p in peers):
        made.append(
            Peer(
                "default",
                "kubernetes",
                ports=APISERVER_PORTS,
                ip=apiserver_ip,
                kind="APIServer",
                pod=False,
                single=False,
                synthesized=True,
                role=APISERVER_ROLE,
            )
        )
    why = {
        KUBE_DNS_ROLE: "no kube-dns pods in the manifests; stands for CoreDNS",
        "metrics-server": "stands for the rest of kube-system",
        "prometheus": "no pods in the monitoring namespace; stands for Prometheus",
        "object-store": "no pods in the object-store namespace; stands for the S3 server",
        APISERVER_ROLE: f"the API server, at {apiserver_ip} (not a pod: only ipBlock rules can reach it)",
    }
    return made, [_note(peer, why[peer.role]) for peer in made]


def _note(peer: Peer, why: str) -> str:
    ports = ", ".join(f"{p.port}/{p.protocol}" for p in peer.ports)
    return f"synthesized {peer.id} ({ports}): {why}"


def policy_ports(policies: Sequence[Policy]) -> tuple[ContainerPort, ...]:
    """Every numbered port a policy rule names (the first of a range): an unknown workload or a remote address
    may listen on any of them, so a rule that widens its peers is caught on the port it opens."""
    found = {
        ContainerPort(port.port, port.protocol)
        for policy in policies
        for rule in (*policy.ingress, *policy.egress)
        for port in rule.ports
        if isinstance(port.port, int)
    }
    return tuple(sorted(found, key=lambda p: (p.port, p.protocol)))


def _with(ports: tuple[ContainerPort, ...], extra: Sequence[ContainerPort]) -> tuple[ContainerPort, ...]:
    known = {(p.port, p.protocol) for p in ports}
    return ports + tuple(p for p in extra if (p.port, p.protocol) not in known)


def contract_peers(
    tenants: Sequence[str],
    pod_cidrs: Sequence[str],
    service_cidrs: Sequence[str],
    extra_ports: Sequence[ContainerPort] = (),
) -> tuple[list[Peer], list[str]]:
    """The outsider, one later pod per tenant and the world, with one note each; each listens on its usual
    ports plus `extra_ports`."""
    probe_ports, world_ports = _with(PROBE_PORTS, extra_ports), _with(WORLD_PORTS, extra_ports)
    outsider = Peer(OUTSIDER_NAMESPACE, "outsider", ports=probe_ports, kind="Pod", synthesized=True, role=OUTSIDER_ROLE)
    made = [outsider]
    notes = [_note(outsider, "a pod without labels in a namespace without labels: anyone else's workload")]
    for tenant in tenants:
        later = Peer(tenant, "later-pod", ports=probe_ports, kind="Pod", synthesized=True, role=LATER_POD_ROLE)
        made.append(later)
        notes.append(_note(later, "a pod created later in the tenant without its inference labels (debug pod, Job)"))
    cluster = tuple(dict.fromkeys([*pod_cidrs, *service_cidrs]))
    world = [
        Peer("world", WORLD_IPV4, ports=world_ports, ip=WORLD_IPV4, kind="Address", pod=False, role=WORLD_ROLE),
        Peer("world", WORLD_IPV6, ports=world_ports, ip=WORLD_IPV6, kind="Address", pod=False, role=WORLD_ROLE),
        Peer("world", "ipv4-outside-cluster", ports=world_ports, kind="Addresses", pod=False, role=WORLD_ROLE,
             ranges=("0.0.0.0/0",), range_excepts=tuple(r for r in cluster if ":" not in r)),
        Peer("world", "ipv6-outside-cluster", ports=world_ports, kind="Addresses", pod=False, role=WORLD_ROLE,
             ranges=("::/0",), range_excepts=tuple(r for r in cluster if ":" in r)),
    ]  # fmt: skip
    made.extend(world)
    excluded = ", ".join(cluster) or "nothing known"
    notes.append(
        f"synthesized world/*: {WORLD_IPV4}, {WORLD_IPV6} and every address outside the cluster "
        f"(0.0.0.0/0 and ::/0 except {excluded}), as sources and destinations"
    )
    return made, notes


@dataclass
class ContractResult:
    peers: list[Peer]
    notes: list[str]
    network: Network
    connections: list[Connection]
    expectations: list[Expectation] = field(default_factory=list)

    @property
    def failures(self) -> list[Expectation]:
        return [e for e in self.expectations if not e.passed]


def judge_contract(
    namespaces: Mapping[str, Mapping[str, str]],
    peers: Sequence[Peer],
    policies: Sequence[Policy],
    tenants: Sequence[str],
    *,
    synthesize_platform: bool,
    pod_cidrs: Sequence[str] = DEFAULT_POD_CIDRS,
    service_cidrs: Sequence[str] = DEFAULT_SERVICE_CIDRS,
) -> ContractResult:
    """Every connection between the peers (plus the contract's own), and the contract judged over them."""
    everyone = list(peers)
    notes: list[str] = []
    if tenants:
        if synthesize_platform:
            extra, notes = platform_peers(everyone)
            everyone.extend(extra)
        extra, more = contract_peers(tenants, pod_cidrs, service_cidrs, policy_ports(policies))
        everyone.extend(extra)
        notes.extend(more)
    everyone.sort(key=lambda p: (p.role == WORLD_ROLE, p.id))
    all_namespaces = {name: dict(labels) for name, labels in namespaces.items()}
    if tenants:
        all_namespaces.setdefault(OUTSIDER_NAMESPACE, {})
    network = Network(all_namespaces, everyone, policies, pod_cidrs)
    connections = network.connections()
    expectations = check_network(connections, tenants) if tenants else []
    return ContractResult(everyone, notes, network, connections, expectations)
