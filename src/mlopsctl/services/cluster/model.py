"""What cluster lifecycle works with: the kind seam, its dependencies, requests and results, node conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.manifests.kind import KindClusterSpec
from mlopsctl.progress import Status
from mlopsctl.services.image.delivery import ImageApi

if TYPE_CHECKING:
    from mlopsctl.services.tenant import TenantRow


class KindApi(Protocol):
    """What cluster lifecycle needs from kind (adapters/kind.py: KindCli)."""

    def ensure_installed(self) -> tuple[int, int, int]: ...

    def clusters(self) -> list[str]: ...

    def create(self, spec: KindClusterSpec, wait: str = "120s", retain: bool = False) -> str: ...

    def delete(self, name: str) -> None: ...

    def export_kubeconfig(self, name: str) -> None: ...

    def load_image_archive(self, name: str, archive: Path) -> None: ...


# An optional platform part (monitoring, storage): installs itself on the cluster of the given kubeconfig context,
# returns a one-line detail for the summary.
Installer = Callable[[KubeApi, Status, str], str]


@dataclass
class ClusterDeps:
    kind: KindApi
    connect: Callable[[str | None], KubeApi]  # kubeconfig context -> API
    images: ImageApi
    installers: dict[str, Installer] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class ClusterUpRequest:
    name: str = c.DEFAULT_CLUSTER_NAME
    workers: int = 2
    kubernetes_version: str = c.DEFAULT_KUBERNETES_VERSION
    context: str | None = None
    registry: str | None = None
    tenants: tuple[str, ...] = c.DEFAULT_TENANTS
    monitoring: bool = True
    storage: bool = True
    skip_build: bool = False
    retain: bool = False
    timeout: float = 300.0
    # Kind only: map the platform NodePorts to 127.0.0.1 (off for a second cluster beside the first).
    host_ports: bool = True


@dataclass
class StepResult:
    name: str
    state: str  # done, reused, skipped
    detail: str = ""
    seconds: float = 0.0


@dataclass
class ClusterUpResult:
    cluster: str
    context: str
    mode: str  # kind or adopted
    created: bool
    server_version: str = ""
    image: str = ""
    tenants: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)
    next_commands: list[str] = field(default_factory=list)


@dataclass
class ClusterDownResult:
    cluster: str
    deleted: bool
    note: str


@dataclass
class NodeRow:
    name: str
    roles: str
    ready: bool
    version: str


@dataclass
class ComponentRow:
    name: str
    state: str
    detail: str


@dataclass
class ClusterStatus:
    cluster: str
    context: str
    mode: str
    server_version: str
    nodes: list[NodeRow]
    components: list[ComponentRow]
    tenants: list[TenantRow]


def _condition(obj: KubeObject | None, kind: str) -> bool:
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def node_ready(node: KubeObject | None) -> bool:
    return _condition(node, "Ready")


def api_service_available(service: KubeObject | None) -> bool:
    return _condition(service, "Available")


def kind_cluster_of(context: str | None) -> str | None:
    """`kind-NAME` contexts name a Kind cluster."""
    return context[len("kind-") :] if context and context.startswith("kind-") else None
