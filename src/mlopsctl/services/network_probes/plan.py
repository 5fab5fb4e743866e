"""Which probes run: from which source pod, to which address, and what the evaluator expects of each.

Sources: one pod of each class of equivalent pods in each tenant (the inference pods, the run's later pod, any
pod whose labels or policies differ), the run's outsider, and a Prometheus pod (scrapes, with `wget`).
Each tenant source probes its own Services (positive controls), one pod of each class of its own namespace,
kube-dns (positive controls), the API server, and one pod of every class of every non-tenant namespace. Every
other tenant gets at least one probe from each source, and each of that tenant's Services and pod classes is
probed by at least one source. The outsider probes every tenant's Services and pod classes; Prometheus every
tenant pod class's metrics port. `exhaustive` makes every pod its own class and every source probe everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as c
from mlopsctl.analysis.isolation import NetworkRule, TenantIndex, is_kube_dns, judge
from mlopsctl.analysis.netpol import Peer
from mlopsctl.services.network_probes.equivalence import PodClass, pod_classes
from mlopsctl.services.network_probes.expectations import expectation
from mlopsctl.services.network_probes.snapshot import ClusterSnapshot


@dataclass
class Target:
    """Where a probe goes and which pods (or endpoints) stand behind that address."""

    description: str
    host: str
    port: int
    protocol: str
    backends: list[tuple[Peer, int]]  # (pod or endpoint, port on it)
    control: bool = False  # a positive control: must connect before negatives count


@dataclass
class Probe:
    source: Peer
    target: Target
    expected: bool | None  # the evaluator's verdict over the backends; None when they disagree
    reason: str
    isolation: NetworkRule | None
    isolation_ok: bool = True  # whether the policies meet the isolation rule
    http: bool = False  # probe with `wget` (a monitoring pod without Python)
    container: str | None = None

    @property
    def control(self) -> bool:
        """A positive control: traffic that must connect before this pod's negative results count."""
        return self.target.control and self.expected is True

    @property
    def name(self) -> str:
        target = self.target
        return f"{self.source.id} -> {target.description} {target.host}:{target.port}/{target.protocol}"


@dataclass
class Plan:
    probes: list[Probe] = field(default_factory=list)
    classes: list[PodClass] = field(default_factory=list)
    sources: list[Peer] = field(default_factory=list)

    @property
    def represented(self) -> int:
        """Pods not probed themselves because an equivalent pod stands for them."""
        return sum(len(k.members) - 1 for k in self.classes)


def _resolve_target_port(service_port: Mapping[str, Any], peer: Peer) -> int | None:
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for port in peer.ports:
        if port.name == target and port.protocol == protocol:
            return port.port
    return None


def service_targets(
    snap: ClusterSnapshot, service: Mapping[str, Any], label: str, control: bool = False
) -> list[Target]:
    meta, spec = service["metadata"], service.get("spec") or {}
    cluster_ip = spec.get("clusterIP")
    if not cluster_ip or cluster_ip == "None":
        return []
    selector = spec.get("selector") or {}
    members = [
        peer
        for (namespace, _), peer in snap.peers.items()
        if namespace == meta["namespace"] and selector and all(peer.labels.get(k) == v for k, v in selector.items())
    ]
    targets = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        backends = [(peer, number) for peer in members if (number := _resolve_target_port(port, peer)) is not None]
        if meta["namespace"] == "default" and meta["name"] == "kubernetes" and snap.apiserver is not None:
            backends = [(snap.apiserver, p.port) for p in snap.apiserver.ports]
        if backends:
            description = f"{label} service {meta['namespace']}/{meta['name']}"
            targets.append(Target(description, cluster_ip, int(port["port"]), protocol, backends, control))
    return targets


def pod_targets(peer: Peer | None, label: str, skip_port: int | None = None) -> list[Target]:
    if peer is None:
        return []
    return [
        Target(f"{label} pod {peer.id}", peer.ip or "", port.port, "TCP", [(peer, port.port)])
        for port in peer.ports
        if port.protocol == "TCP" and port.port != skip_port
    ]


def _platform_label(peer: Peer) -> str:
    if peer.role == c.OUTSIDER_ROLE:
        return "outsider"
    if peer.namespace == c.STORAGE_NAMESPACE:
        return "object store"
    if peer.namespace == c.MONITORING_NAMESPACE:
        return "monitoring"
    if peer.namespace == c.DNS_NAMESPACE:
        return "kube-dns" if is_kube_dns(peer) else "kube-system"
    return "platform"


def _tenant_first(group: PodClass) -> tuple[bool, str]:
    """Inference pods first: a tenant's first source is the one that serves."""
    rep = group.representative
    return (rep.labels.get(c.NAME_LABEL) != c.APP_NAME, rep.id)


def _spread(sources: Sequence[Peer], destinations: Sequence[list[Target]], exhaustive: bool) -> dict[int, list[int]]:
    """Which destinations (by index) each source (by index) probes: every source at least one, every destination
    at least once, round robin; everything when exhaustive."""
    if exhaustive:
        return {i: list(range(len(destinations))) for i in range(len(sources))}
    chosen: dict[int, list[int]] = {i: [] for i in range(len(sources))}
    if not sources or not destinations:
        return chosen
    for i in range(max(len(sources), len(destinations))):
        chosen[i % len(sources)].append(i % len(destinations))
    return chosen


def build_plan(snap: ClusterSnapshot, *, exhaustive: bool = False) -> Plan:
    index = TenantIndex(snap.all_tenants or snap.tenants)
    tenants = set(snap.all_tenants or snap.tenants)
    classes = pod_classes(snap.network, snap.peers.values(), exhaustive)
    by_namespace: dict[str, list[PodClass]] = {}
    for group in classes:
        by_namespace.setdefault(group.namespace, []).append(group)
    services_in = lambda ns: [s for s in snap.services if s["metadata"]["namespace"] == ns]  # noqa: E731
    plan = Plan(classes=classes)

    def add(source: Peer, target: Target, http: bool = False, container: str | None = None) -> None:
        verdicts = [snap.network.evaluate(source, peer, port, target.protocol) for peer, port in target.backends]
        allowed = [v.allowed for v in verdicts]
        expected = True if all(allowed) else False if not any(allowed) else None
        reason = (
            verdicts[0].reason
            if expected is not None
            else "the backends disagree: " + "; ".join(v.reason for v in verdicts)
        )
        rules = [expectation(source, peer, port, target.protocol, index) for peer, port in target.backends]
        rule = next((r for r in rules if r is not None), None)
        isolation_ok = all(r is None or judge(r, v)[1] for r, v in zip(rules, verdicts, strict=True))
        plan.probes.append(Probe(source, target, expected, reason, rule, isolation_ok, http, container))

    def targets_of(namespace: str, label: str) -> list[list[Target]]:
        """A tenant as a destination: each Service, and one pod of each class."""
        found = [service_targets(snap, s, label) for s in services_in(namespace)]
        found += [pod_targets(group.representative, label) for group in by_namespace.get(namespace, [])]
        return [targets for targets in found if targets]

    dns_services = [
        s
        for s in services_in(c.DNS_NAMESPACE)
        if (s.get("spec") or {}).get("selector")
        and all((s["spec"]["selector"]).get(k) == v for k, v in c.DNS_POD_LABELS)
    ]
    dns_controls = [t for s in dns_services for t in service_targets(snap, s, "kube-dns", control=True) if t.port == 53]
    platform = [
        pod_targets(
            group.representative,
            _platform_label(group.representative),
            53 if is_kube_dns(group.representative) else None,
        )
        for namespace, groups in sorted(by_namespace.items())
        if namespace not in tenants
        for group in groups
    ]
    platform += [service_targets(snap, s, "object store") for s in services_in(c.STORAGE_NAMESPACE)]
    platform += [
        service_targets(snap, s, "API server") for s in services_in("default") if s["metadata"]["name"] == "kubernetes"
    ]
    if snap.apiserver is not None:
        server = snap.apiserver
        platform.append(
            [Target("API server endpoint", server.ip or "", p.port, "TCP", [(server, p.port)]) for p in server.ports]
        )

    tenant_sources: list[Peer] = []
    for tenant in snap.tenants:
        groups = sorted(by_namespace.get(tenant, []), key=_tenant_first)
        for group in groups:
            source = group.representative
            tenant_sources.append(source)
            for service in services_in(tenant):
                for target in service_targets(snap, service, "own", control=True):
                    add(source, target)
            for own in groups:
                for target in pod_targets(own.other_than(source), "own"):
                    add(source, target)
            for target in dns_controls:
                add(source, target)
            for targets in platform:
                for target in targets:
                    add(source, target)
    for other in sorted(tenants):
        sources = [s for s in tenant_sources if s.namespace != other]
        destinations = targets_of(other, "other tenant")
        for i, chosen in _spread(sources, destinations, exhaustive).items():
            for j in chosen:
                for target in destinations[j]:
                    add(sources[i], target)
    plan.sources = list(tenant_sources)
    _add_outsider_and_monitoring(snap, plan, add, targets_of, dns_controls, by_namespace)
    return plan


def _add_outsider_and_monitoring(
    snap: ClusterSnapshot,
    plan: Plan,
    add: Callable[..., None],
    targets_of: Callable[[str, str], list[list[Target]]],
    dns_controls: list[Target],
    by_namespace: Mapping[str, list[PodClass]],
) -> None:
    outsiders = [p for p in snap.peers.values() if p.role == c.OUTSIDER_ROLE]
    for outsider in outsiders[:1]:
        plan.sources.append(outsider)
        for target in dns_controls:
            add(outsider, target)
        for tenant in snap.tenants:
            for targets in targets_of(tenant, "tenant"):
                for target in targets:
                    add(outsider, target)
    prometheus = [
        group.representative
        for group in by_namespace.get(c.MONITORING_NAMESPACE, [])
        if group.representative.labels.get(c.NAME_LABEL) == "prometheus"
    ]
    if not prometheus:
        return
    scraper = prometheus[0]
    plan.sources.append(scraper)
    container = _container_named(snap, scraper, "prometheus")
    for tenant in snap.tenants:
        for group in by_namespace.get(tenant, []):
            for target in pod_targets(group.representative, "tenant metrics"):
                if target.port == c.CONTAINER_PORT:
                    add(scraper, target, http=True, container=container)


def _container_named(snap: ClusterSnapshot, peer: Peer, name: str) -> str | None:
    for pod in snap.pods:
        meta = pod["metadata"]
        if (meta.get("namespace"), meta.get("name")) == (peer.namespace, peer.name):
            names = [ctr.get("name") for ctr in (pod.get("spec") or {}).get("containers") or []]
            return name if name in names else None
    return None
