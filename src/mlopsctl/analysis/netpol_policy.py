"""NetworkPolicy (networking.k8s.io/v1) objects as the evaluator reads them, parsed and validated as the API
server would: selectors, peers (pod/namespace selectors, ipBlock with except), ports (numbers, names, endPort
ranges, protocols) and policy types (Ingress by default, plus Egress when the policy has egress rules)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlopsctl.analysis.selectors import Selector, describe, problems

PROTOCOLS = ("TCP", "UDP", "SCTP")
INGRESS = "Ingress"
EGRESS = "Egress"


class PolicyError(ValueError):
    """A NetworkPolicy that the API server would reject."""


@dataclass(frozen=True)
class IpBlock:
    cidr: str
    excepts: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"ipBlock {self.cidr}" + (f" except {', '.join(self.excepts)}" if self.excepts else "")


@dataclass(frozen=True)
class PolicyPeer:
    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IpBlock | None = None

    def describe(self) -> str:
        if self.ip_block is not None:
            return self.ip_block.describe()
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {describe(self.namespace_selector)}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {describe(self.pod_selector)}")
        return " AND ".join(parts)


@dataclass(frozen=True)
class PolicyPort:
    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def describe(self) -> str:
        if self.port is None:
            return f"any/{self.protocol}"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class Rule:
    peers: tuple[PolicyPeer, ...] = ()  # empty: every peer
    ports: tuple[PolicyPort, ...] = ()  # empty: every port

    def describe(self, direction: str) -> str:
        word = "from" if direction == INGRESS else "to"
        peers = " OR ".join(p.describe() for p in self.peers) if self.peers else "anywhere"
        ports = ", ".join(p.describe() for p in self.ports) if self.ports else "any port"
        return f"{word} {peers}; ports {ports}"


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    pod_selector: Selector
    types: frozenset[str]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress


# --- parsing -------------------------------------------------------------------------------------------------


def _parse_port(raw: Mapping[str, Any], where: str) -> PolicyPort:
    protocol = str(raw.get("protocol") or "TCP")
    if protocol not in PROTOCOLS:
        raise PolicyError(f"{where}: unsupported protocol {protocol!r}")
    port = raw.get("port")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    end_port = raw.get("endPort")
    if end_port is not None:
        if not isinstance(port, int):
            raise PolicyError(f"{where}: endPort needs a numeric port")
        if int(end_port) < port:
            raise PolicyError(f"{where}: endPort {end_port} is below port {port}")
        end_port = int(end_port)
    return PolicyPort(protocol, port, end_port)


def _parse_peer(raw: Mapping[str, Any], where: str) -> PolicyPeer:
    block = raw.get("ipBlock")
    if block is not None:
        if raw.get("podSelector") is not None or raw.get("namespaceSelector") is not None:
            raise PolicyError(f"{where}: ipBlock cannot be combined with selectors in one peer")
        cidr = str(block.get("cidr", ""))
        excepts = tuple(str(c) for c in block.get("except") or [])
        try:
            network = ipaddress.ip_network(cidr, strict=False)
            for item in excepts:
                inner = ipaddress.ip_network(item, strict=False)
                if inner.version != network.version or not inner.subnet_of(network):  # type: ignore[arg-type]
                    raise PolicyError(f"{where}: except {item} is not inside {cidr}")
        except ValueError as exc:
            if isinstance(exc, PolicyError):
                raise
            raise PolicyError(f"{where}: invalid ipBlock: {exc}") from exc
        return PolicyPeer(ip_block=IpBlock(cidr, excepts))
    pod_selector = raw.get("podSelector")
    namespace_selector = raw.get("namespaceSelector")
    if pod_selector is None and namespace_selector is None:
        raise PolicyError(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
    for selector in (pod_selector, namespace_selector):
        for problem in problems(selector):
            raise PolicyError(f"{where}: {problem}")
    return PolicyPeer(pod_selector=pod_selector, namespace_selector=namespace_selector)


def _parse_rules(raw_rules: Iterable[Mapping[str, Any]] | None, peers_key: str, where: str) -> tuple[Rule, ...]:
    rules = []
    for index, raw in enumerate(raw_rules or []):
        raw = raw or {}
        peers = tuple(
            _parse_peer(p or {}, f"{where}[{index}].{peers_key}[{i}]") for i, p in enumerate(raw.get(peers_key) or [])
        )
        ports = tuple(
            _parse_port(p or {}, f"{where}[{index}].ports[{i}]") for i, p in enumerate(raw.get("ports") or [])
        )
        rules.append(Rule(peers, ports))
    return tuple(rules)


def parse_policy(obj: Mapping[str, Any], default_namespace: str = "default") -> Policy:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or default_namespace
    name = meta.get("name", "")
    spec = obj.get("spec") or {}
    where = f"NetworkPolicy {namespace}/{name}"
    types = spec.get("policyTypes")
    if not types:
        types = [INGRESS] + ([EGRESS] if spec.get("egress") else [])
    for item in types:
        if item not in (INGRESS, EGRESS):
            raise PolicyError(f"{where}: unknown policyType {item!r}")
    for problem in problems(spec.get("podSelector") or {}):
        raise PolicyError(f"{where}: podSelector: {problem}")
    return Policy(
        namespace=namespace,
        name=name,
        pod_selector=spec.get("podSelector") or {},
        types=frozenset(types),
        ingress=_parse_rules(spec.get("ingress"), "from", f"{where} ingress"),
        egress=_parse_rules(spec.get("egress"), "to", f"{where} egress"),
    )
