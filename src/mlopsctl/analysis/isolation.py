"""What "isolated" means for mlopsctl tenants, as checkable expectations over the evaluators' verdicts.

Network, for tenants T != U:
- T to T on the service (container) port: allowed;
- T to U and U to T, any port: denied;
- the monitoring namespace to T's metrics port: allowed; T to monitoring: denied;
- T to kube-dns on 53 UDP and TCP: allowed; T to anything else in kube-system, or to the API server: denied;
- T to the object store's S3 port: allowed; to any other object store port: denied.
RBAC, for a tenant's service accounts: only what the tenant's own Role grants, in its own namespace; nothing in
any other namespace; nothing cluster-scoped; no escalation (roles, bindings, bind/escalate/impersonate, network
policies: a tenant that may write NetworkPolicies can open its own namespace).

Offline, the platform peers the expectations need (kube-dns, Prometheus, the object store, the API server) are
synthesized when the objects at hand do not contain them, and each synthesized peer is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mlopsctl import constants as c
from mlopsctl.analysis.inventory import Inventory
from mlopsctl.analysis.netpol import ContainerPort, Peer, Verdict
from mlopsctl.analysis.rbac import Decision, Request, is_cluster_scoped

DNS_PORT = 53
APISERVER_ROLE = "apiserver"
KUBE_DNS_ROLE = "kube-dns"
# Where kind's control plane usually sits on the `kind` Docker network; used only when no address is known.
DEFAULT_APISERVER_IP = "172.18.0.2"
APISERVER_PORTS = (ContainerPort(6443, "TCP", "https"), ContainerPort(443, "TCP", "https-service"))
PROMETHEUS_PORT = 9090
# A second object store port (the SeaweedFS master) that tenants must not reach.
STORAGE_OTHER_PORT = 9333


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


def tenant_namespaces(inventory: Inventory) -> list[str]:
    """Namespaces of mlopsctl tenants: labelled with the tenant label, or holding workloads that carry it."""
    found = {name for name, labels in inventory.namespaces.items() if c.TENANT_LABEL in labels}
    found |= {peer.namespace for peer in inventory.peers if c.TENANT_LABEL in peer.labels}
    return sorted(found - set(c.PLATFORM_NAMESPACES))


def platform_peers(
    inventory: Inventory, apiserver_ip: str | None = DEFAULT_APISERVER_IP
) -> tuple[list[Peer], list[str]]:
    """The platform peers the expectations need and the objects lack, with one note per synthesized peer."""
    peers: list[Peer] = []
    notes: list[str] = []

    def add(peer: Peer, why: str) -> None:
        peers.append(peer)
        ports = ", ".join(f"{p.port}/{p.protocol}" for p in peer.ports)
        notes.append(f"synthesized {peer.id} ({ports}): {why}")

    existing = inventory.peers
    if not any(is_kube_dns(p) for p in existing):
        add(
            Peer(
                c.DNS_NAMESPACE,
                "coredns",
                labels=dict(c.DNS_POD_LABELS),
                ports=(ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp"), ContainerPort(9153)),
                kind="Deployment",
                single=False,
                synthesized=True,
                role=KUBE_DNS_ROLE,
            ),
            "no kube-dns pods in the manifests; stands for CoreDNS",
        )
    if not any(p.namespace == c.DNS_NAMESPACE and not is_kube_dns(p) for p in existing):
        add(
            Peer(
                c.DNS_NAMESPACE,
                "metrics-server",
                labels={"k8s-app": "metrics-server"},
                ports=(ContainerPort(10250, "TCP", "https"),),
                kind="Deployment",
                single=False,
                synthesized=True,
                role="metrics-server",
            ),
            "stands for the rest of kube-system",
        )
    if not any(p.namespace == c.MONITORING_NAMESPACE for p in existing):
        add(
            Peer(
                c.MONITORING_NAMESPACE,
                "prometheus",
                labels={c.NAME_LABEL: "prometheus"},
                ports=(ContainerPort(PROMETHEUS_PORT, "TCP", "web"),),
                kind="StatefulSet",
                single=False,
                synthesized=True,
                role="prometheus",
            ),
            "no pods in the monitoring namespace; stands for Prometheus",
        )
    if not any(p.namespace == c.STORAGE_NAMESPACE for p in existing):
        add(
            Peer(
                c.STORAGE_NAMESPACE,
                "object-store",
                labels={c.NAME_LABEL: "object-store"},
                ports=(
                    ContainerPort(c.STORAGE_S3_PORT, "TCP", "s3"),
                    ContainerPort(STORAGE_OTHER_PORT, "TCP", "master"),
                ),
                kind="Deployment",
                single=False,
                synthesized=True,
                role="object-store",
            ),
            "no pods in the object-store namespace; stands for the S3 server",
        )
    if not any(p.role == APISERVER_ROLE for p in existing):
        add(
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
            ),
            f"the API server, at {apiserver_ip} (not a pod: only ipBlock rules can reach it)",
        )
    return peers, notes


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


def network_expectation(
    source: Peer, destination: Peer, port: int, protocol: str, tenants: TenantIndex
) -> NetworkRule | None:
    """What the isolation rules demand of this connection, or None when they say nothing about it."""
    src_tenant, dst_tenant = tenants.of(source), tenants.of(destination)
    if src_tenant and dst_tenant:
        if src_tenant != dst_tenant:
            return NetworkRule(False, "no traffic between tenants")
        if port == c.CONTAINER_PORT and protocol == "TCP":
            return NetworkRule(True, "same-tenant traffic to the service port")
        return None
    if dst_tenant:
        monitoring = source.namespace == c.MONITORING_NAMESPACE and source.pod
        if monitoring and port == c.CONTAINER_PORT and protocol == "TCP":
            return NetworkRule(True, "monitoring scrapes the tenant's metrics port")
        return None
    if not src_tenant:
        return None
    if destination.role == APISERVER_ROLE:
        return NetworkRule(False, "no tenant traffic to the API server")
    if destination.namespace == c.MONITORING_NAMESPACE:
        return NetworkRule(False, "no tenant traffic to monitoring")
    if destination.namespace == c.DNS_NAMESPACE:
        if is_kube_dns(destination) and port == DNS_PORT and protocol in ("UDP", "TCP"):
            return NetworkRule(True, "tenant DNS to kube-dns")
        return NetworkRule(False, "nothing else in kube-system")
    if destination.namespace == c.STORAGE_NAMESPACE:
        if port == c.STORAGE_S3_PORT and protocol == "TCP":
            return NetworkRule(True, "tenant to the object store's S3 port", egress_only=True)
        return NetworkRule(False, "no other object store port")
    return None


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


# --- RBAC ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessCheck:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    name: str = ""

    def describe(self) -> str:
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        if self.group:
            resource = f"{resource}.{self.group}"
        return f"{self.verb} {resource}" + (f" {self.name}" if self.name else "")

    def request(self, namespace: str | None) -> Request:
        return Request(self.verb, self.resource, self.group, self.subresource, namespace, self.name)


RBAC_GROUP = "rbac.authorization.k8s.io"
STANDARD_CHECKS: tuple[AccessCheck, ...] = (
    *(
        AccessCheck(verb, resource, "", subresource)
        for resource, subresource in (("pods", ""), ("pods", "log"), ("secrets", ""), ("configmaps", ""))
        for verb in ("get", "list", "watch")
    ),
    AccessCheck("create", "deployments", "apps"),
    AccessCheck("patch", "deployments", "apps"),
    AccessCheck("create", "pods", "", "exec"),
    AccessCheck("create", "rolebindings", RBAC_GROUP),
    AccessCheck("create", "roles", RBAC_GROUP),
    AccessCheck("bind", "clusterroles", RBAC_GROUP),
    AccessCheck("escalate", "roles", RBAC_GROUP),
    AccessCheck("create", "networkpolicies", "networking.k8s.io"),
    AccessCheck("list", "namespaces"),
    AccessCheck("get", "nodes"),
)

_ESCALATION_WRITE = {"create", "update", "patch", "delete", "deletecollection", "*"}


def is_escalation(check: AccessCheck) -> bool:
    if check.verb in ("bind", "escalate", "impersonate"):
        return True
    if check.group == RBAC_GROUP and check.verb in _ESCALATION_WRITE:
        return True
    return (
        check.group == "networking.k8s.io" and check.resource == "networkpolicies" and check.verb in _ESCALATION_WRITE
    )


def parse_checks(data: object, where: str) -> list[AccessCheck]:
    """Extra checks from a file: a list of `{verb, resource, group?, subresource?, name?}` mappings or of
    strings `VERB RESOURCE[/SUBRESOURCE][.GROUP] [NAME]` (for example `create pods/exec`, `get leases.coordination.k8s.io`).
    A top-level mapping with a `checks` list is accepted too."""
    if isinstance(data, Mapping) and "checks" in data:
        data = data["checks"]
    if not isinstance(data, list):
        raise ValueError(f"{where}: expected a list of checks")
    checks = []
    for index, item in enumerate(data):
        if isinstance(item, str):
            words = item.split()
            if len(words) not in (2, 3):
                raise ValueError(f"{where}: check {index}: expected 'VERB RESOURCE[/SUB][.GROUP] [NAME]', got {item!r}")
            resource, _, group = words[1].partition(".")
            resource, _, subresource = resource.partition("/")
            checks.append(AccessCheck(words[0], resource, group, subresource, words[2] if len(words) == 3 else ""))
        elif isinstance(item, Mapping):
            if not item.get("verb") or not item.get("resource"):
                raise ValueError(f"{where}: check {index}: 'verb' and 'resource' are required")
            resource, _, subresource = str(item["resource"]).partition("/")
            checks.append(
                AccessCheck(
                    str(item["verb"]),
                    resource,
                    str(item.get("group") or ""),
                    str(item.get("subresource") or subresource),
                    str(item.get("name") or ""),
                )
            )
        else:
            raise ValueError(f"{where}: check {index}: expected a mapping or a string")
    return checks


def scopes_for(check: AccessCheck, namespaces: Sequence[str]) -> list[str | None]:
    """Where to ask: every namespace plus cluster scope, or cluster scope only for cluster-scoped resources."""
    if is_cluster_scoped(check.group, check.resource):
        return [None]
    return [*namespaces, None]


def rbac_expectation(
    subject_namespace: str, tenants: Sequence[str], check: AccessCheck, namespace: str | None, decision: Decision
) -> tuple[str, str, bool] | None:
    """(expected, rule, passed) for a tenant's service account, or None for other subjects."""
    if subject_namespace not in tenants:
        return None
    if namespace != subject_namespace:
        where = "cluster-scoped" if namespace is None else f"in namespace {namespace}"
        return "denied", f"nothing {where} for a tenant service account", not decision.allowed
    if is_escalation(check):
        return "denied", "no escalation verbs for a tenant service account", not decision.allowed
    own_role = decision.role_kind == "Role" and decision.role_namespace == subject_namespace
    passed = not decision.allowed or own_role
    return "only via the tenant's own Role", "only what its Role grants in its own namespace", passed
