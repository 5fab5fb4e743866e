"""Live NetworkPolicy verification: probe from inside running tenant pods and compare with the evaluator.

For each tenant, one running inference pod execs a small Python socket probe (the image has Python: no extra
images, no pulls) against its own Service (positive control), kube-dns (positive control), the other tenants'
Services and pods, the API server, the object store's ports, monitoring and the rest of kube-system; a pod of the
monitoring namespace probes each tenant's metrics port. Every expected verdict comes from the NetworkPolicy
evaluator run on the objects read from the cluster, and must also agree with the isolation expectations.

Enforcement lags behind pod start on some CNIs, so probes run from pods that are already running, each probe
retries with a bounded exponential backoff, and negatives from a pod count only after its positive controls pass.
A connection the policies deny that still succeeds means the CNI does not enforce NetworkPolicy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis.inventory import peer_from_object
from mlopsctl.analysis.isolation import (
    APISERVER_ROLE,
    NetworkRule,
    TenantIndex,
    is_kube_dns,
    judge,
    network_expectation,
)
from mlopsctl.analysis.netpol import ContainerPort, Network, Peer, PolicyError, parse_policy
from mlopsctl.errors import NotFound, VerificationFailed
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services.verify import Finding, LiveCheck, LiveReport, utc_now

# Runs inside the tenant pod: `python -c PROBE HOST PORT PROTOCOL TIMEOUT`. Exit 0: connected (TCP) or answered
# (UDP, a DNS query); exit 1: timeout, refused or unreachable, with the reason on stdout.
PROBE_SCRIPT = """
import socket, sys
host, port, proto, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
kind = socket.SOCK_DGRAM if proto == "UDP" else socket.SOCK_STREAM
s = socket.socket(family, kind)
s.settimeout(timeout)
try:
    if proto == "UDP":
        name = b"".join(bytes([len(p)]) + p.encode() for p in "kubernetes.default.svc.cluster.local".split("."))
        s.sendto(b"\\x4d\\x4c\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00" + name + b"\\x00\\x00\\x01\\x00\\x01", (host, port))
        s.recvfrom(512)
    else:
        s.connect((host, port))
    print("connected")
except socket.timeout:
    print("timeout"); sys.exit(1)
except ConnectionRefusedError:
    print("refused"); sys.exit(1)
except OSError as exc:
    print("unreachable: %s" % exc.strerror); sys.exit(1)
finally:
    s.close()
""".strip()

CNI_HINT = (
    "kind's default CNI (kindnetd) enforces NetworkPolicy only from kind v0.24.0 on; older kind, or a cluster whose "
    "default CNI is disabled without Calico or Cilium installed, silently ignores policies. Upgrade kind "
    "(`mlopsctl doctor`) and recreate the cluster, or install a CNI that enforces NetworkPolicy."
)
MAX_PODS_PER_TARGET = 2


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


@dataclass
class Outcome:
    connected: bool | None  # None: the probe itself could not run
    observed: str
    attempts: int
    started: str
    finished: str


@dataclass
class ClusterSnapshot:
    version: str
    namespaces: dict[str, dict[str, str]]
    tenants: list[str]  # the tenants to probe from
    pods: list[dict[str, Any]]
    services: list[dict[str, Any]]
    network: Network
    peers: dict[tuple[str, str], Peer] = field(default_factory=dict)
    apiserver: Peer | None = None
    all_tenants: list[str] = field(default_factory=list)  # every tenant: each is a target of the others


def live_tenants(api: KubeApi, wanted: Sequence[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
    namespaces = api.list("v1", "Namespace")
    tenants = sorted(
        ns["metadata"]["name"] for ns in namespaces if c.TENANT_LABEL in ((ns["metadata"].get("labels")) or {})
    )
    if wanted:
        missing = [name for name in wanted if name not in tenants]
        if missing:
            raise NotFound(f"no mlopsctl tenant named {', '.join(missing)}", hint="see `mlopsctl tenant list`")
        tenants = [name for name in tenants if name in wanted]
    if not tenants:
        raise NotFound("no mlopsctl tenants in this cluster", hint="add one with `mlopsctl tenant add NAME`")
    return namespaces, tenants


def _running(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    if (
        status.get("phase") != "Running"
        or not status.get("podIP")
        or (pod.get("metadata") or {}).get("deletionTimestamp")
    ):
        return False
    conditions = {cond.get("type"): cond.get("status") for cond in status.get("conditions") or []}
    return conditions.get("Ready", "True") == "True"


def _apiserver(api: KubeApi) -> Peer | None:
    """The API server as a peer at its endpoint address (what policies see after the Service's DNAT)."""
    slices = api.list("discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes.io/service-name=kubernetes")
    for item in slices:
        addresses = [a for e in item.get("endpoints") or [] for a in e.get("addresses") or []]
        ports = tuple(
            ContainerPort(int(p["port"]), p.get("protocol") or "TCP", p.get("name") or "")
            for p in item.get("ports") or []
            if p.get("port")
        )
        if addresses and ports:
            return Peer(
                "default", "kubernetes", ports=ports, ip=addresses[0], kind="APIServer", pod=False, single=False,
                role=APISERVER_ROLE,
            )  # fmt: skip
    endpoints = api.get("v1", "Endpoints", "kubernetes", "default") or {}
    for subset in endpoints.get("subsets") or []:
        addresses = [a.get("ip") for a in subset.get("addresses") or [] if a.get("ip")]
        ports = tuple(
            ContainerPort(int(p["port"]), p.get("protocol") or "TCP", p.get("name", ""))
            for p in subset.get("ports") or []
        )
        if addresses and ports:
            return Peer(
                "default",
                "kubernetes",
                ports=ports,
                ip=addresses[0],
                kind="APIServer",
                pod=False,
                single=False,
                role=APISERVER_ROLE,
            )
    return None


def snapshot(api: KubeApi, tenants: Sequence[str] | None) -> ClusterSnapshot:
    version = api.server_version()
    namespace_objects, tenant_names = live_tenants(api, tenants)
    namespaces = {ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {}) for ns in namespace_objects}
    pods = [pod for pod in api.list("v1", "Pod") if _running(pod)]
    services = api.list("v1", "Service")
    try:
        policies = [parse_policy(obj) for obj in api.list("networking.k8s.io/v1", "NetworkPolicy")]
    except PolicyError as exc:
        raise VerificationFailed(f"a NetworkPolicy in the cluster cannot be evaluated: {exc}") from exc
    peers: dict[tuple[str, str], Peer] = {}
    for pod in pods:
        peer = peer_from_object(pod)
        if peer is not None and peer.pod:
            peers[(peer.namespace, peer.name)] = peer
    apiserver = _apiserver(api)
    all_peers = list(peers.values()) + ([apiserver] if apiserver else [])
    network = Network(namespaces, all_peers, policies)
    everyone = sorted(name for name, labels in namespaces.items() if c.TENANT_LABEL in labels)
    return ClusterSnapshot(version, namespaces, tenant_names, pods, services, network, peers, apiserver, everyone)


def _resolve_target_port(service_port: Mapping[str, Any], peer: Peer) -> int | None:
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for port in peer.ports:
        if port.name == target and port.protocol == protocol:
            return port.port
    return None


def _service_targets(
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
        if not backends:
            continue
        targets.append(
            Target(
                f"{label} service {meta['namespace']}/{meta['name']}",
                cluster_ip,
                int(port["port"]),
                protocol,
                backends,
                control,
            )
        )
    return targets


def _pod_targets(peers: Sequence[Peer], label: str, only_port: int | None = None) -> list[Target]:
    targets = []
    for peer in list(peers)[:MAX_PODS_PER_TARGET]:
        for port in peer.ports:
            if port.protocol != "TCP" or (only_port is not None and port.port != only_port):
                continue
            targets.append(Target(f"{label} pod {peer.id}", peer.ip or "", port.port, "TCP", [(peer, port.port)]))
    return targets


def _tenant_source(snap: ClusterSnapshot, tenant: str) -> Peer | None:
    candidates = [p for (ns, _), p in sorted(snap.peers.items()) if ns == tenant]
    preferred = [p for p in candidates if p.labels.get(c.NAME_LABEL) == c.APP_NAME]
    chosen = preferred or candidates
    return chosen[0] if chosen else None


def plan(snap: ClusterSnapshot) -> list[Probe]:
    index = TenantIndex(snap.all_tenants or snap.tenants)
    by_namespace: dict[str, list[Peer]] = {}
    for (namespace, _), peer in sorted(snap.peers.items()):
        by_namespace.setdefault(namespace, []).append(peer)
    services_in = lambda ns: [s for s in snap.services if s["metadata"]["namespace"] == ns]  # noqa: E731
    probes: list[Probe] = []

    def add(source: Peer, target: Target, http: bool = False, container: str | None = None) -> None:
        verdicts = [snap.network.evaluate(source, peer, port, target.protocol) for peer, port in target.backends]
        allowed = [v.allowed for v in verdicts]
        expected = True if all(allowed) else False if not any(allowed) else None
        reason = (
            verdicts[0].reason
            if expected is not None
            else "the backends disagree: " + "; ".join(v.reason for v in verdicts)
        )
        peer, port = target.backends[0]
        isolation = network_expectation(source, peer, port, target.protocol, index)
        isolation_ok = isolation is None or all(judge(isolation, verdict)[1] for verdict in verdicts)
        probes.append(Probe(source, target, expected, reason, isolation, isolation_ok, http, container))

    dns_services = [
        s
        for s in services_in(c.DNS_NAMESPACE)
        if (s.get("spec") or {}).get("selector")
        and all((s["spec"]["selector"]).get(k) == v for k, v in c.DNS_POD_LABELS)
    ]
    for tenant in snap.tenants:
        source = _tenant_source(snap, tenant)
        if source is None:
            continue
        for service in services_in(tenant):
            for target in _service_targets(snap, service, "own", control=True):
                add(source, target)
        own_others = [p for p in by_namespace.get(tenant, []) if p is not source]
        for target in _pod_targets(own_others, "own", c.CONTAINER_PORT):
            add(source, target)
        for service in dns_services:
            for target in _service_targets(snap, service, "kube-dns", control=True):
                if target.port == 53:
                    add(source, target)
        for other in snap.all_tenants or snap.tenants:
            if other == tenant:
                continue
            for service in services_in(other):
                for target in _service_targets(snap, service, "other tenant"):
                    add(source, target)
            for target in _pod_targets(by_namespace.get(other, []), "other tenant"):
                add(source, target)
        for service in services_in("default"):
            if service["metadata"]["name"] == "kubernetes":
                for target in _service_targets(snap, service, "API server"):
                    add(source, target)
        if snap.apiserver is not None:
            for port in snap.apiserver.ports:
                add(
                    source,
                    Target(
                        "API server endpoint", snap.apiserver.ip or "", port.port, "TCP", [(snap.apiserver, port.port)]
                    ),
                )
        for service in services_in(c.STORAGE_NAMESPACE):
            for target in _service_targets(snap, service, "object store"):
                add(source, target)
        for target in _pod_targets(by_namespace.get(c.STORAGE_NAMESPACE, []), "object store"):
            add(source, target)
        for target in _pod_targets(by_namespace.get(c.MONITORING_NAMESPACE, []), "monitoring"):
            add(source, target)
        kube_system = by_namespace.get(c.DNS_NAMESPACE, [])
        dns_pods = [p for p in kube_system if is_kube_dns(p)]
        for target in _pod_targets(dns_pods, "kube-dns"):
            if target.port != 53:
                add(source, target)
        for target in _pod_targets([p for p in kube_system if not is_kube_dns(p)], "kube-system"):
            add(source, target)
    prometheus = [p for p in by_namespace.get(c.MONITORING_NAMESPACE, []) if p.labels.get(c.NAME_LABEL) == "prometheus"]
    if prometheus:
        scraper = prometheus[0]
        container = _container_named(snap, scraper, "prometheus")
        for tenant in snap.tenants:
            for target in _pod_targets(by_namespace.get(tenant, []), "tenant metrics", c.CONTAINER_PORT):
                add(scraper, target, http=True, container=container)
    return probes


def _container_named(snap: ClusterSnapshot, peer: Peer, name: str) -> str | None:
    for pod in snap.pods:
        meta = pod["metadata"]
        if (meta.get("namespace"), meta.get("name")) == (peer.namespace, peer.name):
            names = [ctr.get("name") for ctr in (pod.get("spec") or {}).get("containers") or []]
            return name if name in names else None
    return None


def probe_command(probe: Probe, timeout: float) -> list[str]:
    host = probe.target.host
    if probe.http:
        address = f"[{host}]" if ":" in host else host
        return [
            "wget",
            "-q",
            "-T",
            str(max(1, round(timeout))),
            "-O",
            "/dev/null",
            f"http://{address}:{probe.target.port}/metrics",
        ]
    return [
        c.INFERENCE_COMMAND[0],
        "-c",
        PROBE_SCRIPT,
        host,
        str(probe.target.port),
        probe.target.protocol,
        f"{timeout:g}",
    ]


def run_probe(
    api: KubeApi,
    probe: Probe,
    *,
    attempts: int,
    backoff: float,
    timeout: float,
    sleep: Callable[[float], None],
    now: Callable[[], str],
) -> Outcome:
    """Probe until the result matches the expectation, at most `attempts` times, sleeping backoff, 2x, 4x ..."""
    started = now()
    observed, connected = "", None
    tries = 0
    for attempt in range(attempts):
        tries = attempt + 1
        result = api.exec(
            probe.source.namespace, probe.source.name, probe_command(probe, timeout), probe.container, timeout + 10
        )
        text = (result.stdout.strip().splitlines() or [""])[-1]
        if result.returncode == 0:
            connected, observed = True, "connected"
        elif result.returncode == 1:
            connected, observed = False, f"blocked ({text or 'no answer'})"
        else:
            detail = (result.stderr.strip() or text or f"exit {result.returncode}").splitlines()[-1]
            connected, observed = None, f"probe failed: {detail}"
        if connected is not None and (probe.expected is None or connected == probe.expected):
            break
        if attempt + 1 < attempts:
            sleep(backoff * (2**attempt))
    return Outcome(connected, observed, tries, started, now())


def _placement(probe: Probe) -> tuple[str, str, str]:
    """(source, destination, port) of a probe: its cell in the connectivity matrix."""
    return probe.source.id, probe.target.description, f"{probe.target.port}/{probe.target.protocol}"


def verify_network(
    api: KubeApi,
    *,
    tenants: Sequence[str] | None = None,
    status: Status | None = None,
    attempts: int = 4,
    backoff: float = 0.5,
    timeout: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], str] = utc_now,
) -> LiveReport:
    status = status or NullStatus()
    started = now()
    with status.step("reading namespaces, pods, services and NetworkPolicies"):
        snap = snapshot(api, tenants)
    report = LiveReport("network", snap.version, started, started)
    probes = plan(snap)
    missing = [t for t in snap.tenants if not any(p.source.namespace == t for p in probes)]
    for tenant in missing:
        report.checks.append(
            LiveCheck(
                "network", f"{tenant}: a running pod to probe from", "a running, ready pod", "none", False, "list pods"
            )
        )
    if snap.apiserver is None:
        report.notes.append("the API server's endpoints (default/kubernetes) could not be read, so it was not probed")
    report.notes.extend(f"warning: {warning}" for warning in snap.network.dead_selectors())
    if not any(p.http for p in probes):
        report.notes.append("no Prometheus pod in the monitoring namespace: monitoring-to-tenant probes skipped")
    # Positive controls first, per source pod: negatives from a pod whose controls fail prove nothing.
    ordered = sorted(probes, key=lambda p: (p.source.id, not p.control))
    failed_controls: dict[str, str] = {}
    enforcement_breaches = []
    with status.step(f"probing {len(probes)} connections from inside the pods"):
        for probe in ordered:
            name = f"{probe.source.id} -> {probe.target.description} {probe.target.host}:{probe.target.port}/{probe.target.protocol}"
            expected_text = {True: "allowed", False: "denied", None: "mixed"}[probe.expected]
            method = (
                f"exec `wget` in {probe.source.id}" if probe.http else f"exec python socket probe in {probe.source.id}"
            )
            if probe.source.id in failed_controls and not probe.control:
                report.checks.append(
                    LiveCheck(
                        "network",
                        name,
                        expected_text,
                        "not counted",
                        False,
                        method,
                        f"positive control failed first: {failed_controls[probe.source.id]}",
                        now(),
                        now(),
                        *_placement(probe),
                    )
                )
                continue
            outcome = run_probe(api, probe, attempts=attempts, backoff=backoff, timeout=timeout, sleep=sleep, now=now)
            detail = probe.reason
            passed = outcome.connected is not None and outcome.connected == probe.expected
            if probe.isolation is not None and not probe.isolation_ok:
                passed = False
                wanted = "allowed" if probe.isolation.expected else "denied"
                detail = (
                    f"the policies break the isolation rule '{probe.isolation.rule}' (should be {wanted}): {detail}"
                )
            if probe.expected is False and outcome.connected:
                enforcement_breaches.append(name)
                detail = f"denied by policy but connected: the CNI does not enforce NetworkPolicy. {detail}"
            if probe.control and outcome.connected is not True:
                failed_controls[probe.source.id] = f"{name}: {outcome.observed}"
            report.checks.append(
                LiveCheck(
                    "network",
                    name,
                    expected_text,
                    outcome.observed,
                    passed,
                    f"{method}, {outcome.attempts} attempt(s)",
                    detail,
                    outcome.started,
                    outcome.finished,
                    *_placement(probe),
                )
            )
    if enforcement_breaches:
        report.findings.append(
            Finding(
                f"CNI does not enforce NetworkPolicy: {len(enforcement_breaches)} connection(s) denied by policy "
                f"succeeded (first: {enforcement_breaches[0]})",
                CNI_HINT,
            )
        )
    for source, why in sorted(failed_controls.items()):
        report.findings.append(
            Finding(
                f"positive control failed from {source}, so its negative probes were not counted: {why}",
                "check that the tenant's pods are ready and that DNS works; then retry (enforcement may lag pod start)",
            )
        )
    report.finished = now()
    return report.conclude()
