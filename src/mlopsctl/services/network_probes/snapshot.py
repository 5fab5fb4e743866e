"""The live objects the probes and the evaluator work from: namespaces, running pods, Services, NetworkPolicies and
the API server's endpoint, read once the run's probe pods are up."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis import workload
from mlopsctl.analysis.inventory import peer_from_object
from mlopsctl.analysis.isolation import APISERVER_ROLE
from mlopsctl.analysis.netpol import ContainerPort, Network, Peer, PolicyError, parse_policy
from mlopsctl.errors import NotFound, VerificationFailed


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
    # A tenant being deleted is neither probed nor a target: its pods are going and it takes no probe pods.
    tenants = sorted(
        ns["metadata"]["name"]
        for ns in workload.live(namespaces)
        if c.TENANT_LABEL in ((ns["metadata"].get("labels")) or {})
    )
    if wanted:
        missing = [name for name in wanted if name not in tenants]
        if missing:
            raise NotFound(f"no mlopsctl tenant named {', '.join(missing)}", hint="see `mlopsctl tenant list`")
        tenants = [name for name in tenants if name in wanted]
    if not tenants:
        raise NotFound("no mlopsctl tenants in this cluster", hint="add one with `mlopsctl tenant add NAME`")
    return namespaces, tenants


def running(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    if (
        status.get("phase") != "Running"
        or not status.get("podIP")
        or (pod.get("metadata") or {}).get("deletionTimestamp")
    ):
        return False
    conditions = {cond.get("type"): cond.get("status") for cond in status.get("conditions") or []}
    return conditions.get("Ready", "True") == "True"


def _apiserver_peer(ip: str, ports: tuple[ContainerPort, ...]) -> Peer:
    return Peer("default", "kubernetes", ports=ports, ip=ip, kind="APIServer", pod=False, single=False,
                role=APISERVER_ROLE)  # fmt: skip


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
            return _apiserver_peer(addresses[0], ports)
    endpoints = api.get("v1", "Endpoints", "kubernetes", "default") or {}
    for subset in endpoints.get("subsets") or []:
        addresses = [a.get("ip") for a in subset.get("addresses") or [] if a.get("ip")]
        ports = tuple(
            ContainerPort(int(p["port"]), p.get("protocol") or "TCP", p.get("name", ""))
            for p in subset.get("ports") or []
        )
        if addresses and ports:
            return _apiserver_peer(addresses[0], ports)
    return None


def _probe_role(pod: Mapping[str, Any], run: str | None) -> str | None:
    """The role of one of the run's probe pods; "" for other pods; None for another run's probe pods (ignored)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    owner = labels.get(c.VERIFY_RUN_LABEL)
    if owner is None:
        return ""
    return labels.get(c.VERIFY_PROBE_ROLE_LABEL, "") if owner == run else None


def snapshot(api: KubeApi, tenants: Sequence[str] | None, run: str | None = None) -> ClusterSnapshot:
    """Read the cluster; the probe pods of run `run` become peers with their role, other runs' are left out."""
    version = api.server_version()
    namespace_objects, tenant_names = live_tenants(api, tenants)
    namespaces = {ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {}) for ns in namespace_objects}
    pods = []
    peers: dict[tuple[str, str], Peer] = {}
    for pod in api.list("v1", "Pod"):
        role = _probe_role(pod, run)
        if role is None or not running(pod):
            continue
        pods.append(pod)
        peer = peer_from_object(pod)
        if peer is not None and peer.pod:
            peers[(peer.namespace, peer.name)] = dataclasses.replace(peer, role=role) if role else peer
    services = api.list("v1", "Service")
    try:
        policies = [parse_policy(obj) for obj in api.list("networking.k8s.io/v1", "NetworkPolicy")]
    except PolicyError as exc:
        raise VerificationFailed(f"a NetworkPolicy in the cluster cannot be evaluated: {exc}") from exc
    apiserver = _apiserver(api)
    all_peers = list(peers.values()) + ([apiserver] if apiserver else [])
    network = Network(namespaces, all_peers, policies)
    everyone = sorted(name for name, labels in namespaces.items() if c.TENANT_LABEL in labels)
    return ClusterSnapshot(version, namespaces, tenant_names, pods, services, network, peers, apiserver, everyone)
