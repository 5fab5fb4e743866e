"""Sort a pile of Kubernetes objects into what the evaluators need: namespaces and their labels, peers (pods and
workloads with their pod labels and container ports), NetworkPolicies, RBAC objects and ServiceAccounts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlopsctl.analysis.netpol import ContainerPort, Peer, Policy, parse_policy

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob")
RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


def flatten(objects: Iterable[Any]) -> list[dict[str, Any]]:
    """Objects with `kind: List` (as `kubectl get -o yaml` writes them) opened up; empty documents dropped."""
    result: list[dict[str, Any]] = []
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        if obj.get("kind", "").endswith("List") and isinstance(obj.get("items"), list):
            result.extend(flatten(obj["items"]))
        elif obj.get("kind"):
            result.append(obj)
    return result


def pod_template(obj: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]] | None:
    """The pod labels and pod spec of a Pod or a workload; None for other kinds."""
    kind = obj.get("kind")
    if kind == "Pod":
        return dict((obj.get("metadata") or {}).get("labels") or {}), obj.get("spec") or {}
    if kind not in WORKLOAD_KINDS:
        return None
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {}), template.get("spec") or {}


def container_ports(pod_spec: Mapping[str, Any]) -> tuple[ContainerPort, ...]:
    ports = []
    for container in pod_spec.get("containers") or []:
        for port in container.get("ports") or []:
            if "containerPort" not in port:
                continue
            ports.append(
                ContainerPort(int(port["containerPort"]), str(port.get("protocol") or "TCP"), port.get("name", ""))
            )
    return tuple(ports)


def peer_from_object(obj: Mapping[str, Any], default_namespace: str = "default") -> Peer | None:
    found = pod_template(obj)
    if found is None:
        return None
    labels, spec = found
    meta = obj.get("metadata") or {}
    kind = obj["kind"]
    host_network = bool(spec.get("hostNetwork"))
    ip = (obj.get("status") or {}).get("podIP") if kind == "Pod" else None
    return Peer(
        namespace=meta.get("namespace") or default_namespace,
        name=meta.get("name", ""),
        labels=labels,
        ports=container_ports(spec),
        ip=ip or None,
        kind=kind,
        pod=not host_network,
        single=kind == "Pod",
    )


@dataclass
class Inventory:
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # declared Namespaces and their labels
    referenced_namespaces: set[str] = field(default_factory=set)  # namespaces some object lives in
    peers: list[Peer] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    rbac: list[dict[str, Any]] = field(default_factory=list)
    service_accounts: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name)
    services: list[dict[str, Any]] = field(default_factory=list)
    namespace_objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def all_namespaces(self) -> list[str]:
        return sorted(set(self.namespaces) | self.referenced_namespaces)


def build_inventory(objects: Iterable[Any], default_namespace: str = "default") -> Inventory:
    inventory = Inventory()
    for obj in flatten(objects):
        kind = obj["kind"]
        meta = obj.get("metadata") or {}
        if kind == "Namespace":
            inventory.namespaces[meta.get("name", "")] = dict(meta.get("labels") or {})
            inventory.namespace_objects[meta.get("name", "")] = obj
            continue
        if kind not in ("ClusterRole", "ClusterRoleBinding"):
            inventory.referenced_namespaces.add(meta.get("namespace") or default_namespace)
        if kind == "NetworkPolicy":
            inventory.policies.append(parse_policy(obj, default_namespace))
        elif kind in RBAC_KINDS:
            inventory.rbac.append(obj)
        elif kind == "ServiceAccount":
            inventory.service_accounts.append((meta.get("namespace") or default_namespace, meta.get("name", "")))
        elif kind == "Service":
            inventory.services.append(obj)
        else:
            peer = peer_from_object(obj, default_namespace)
            if peer is not None:
                inventory.peers.append(peer)
    inventory.peers.sort(key=lambda p: p.id)
    inventory.service_accounts.sort()
    return inventory
