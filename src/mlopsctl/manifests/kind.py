"""The Kind cluster configuration: pinned node images per supported Kubernetes version, and the config document
(from `templates/kind/cluster.yaml.j2`) that `kind create cluster --config -` reads on stdin. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlopsctl import constants as c
from mlopsctl.errors import UsageError

# The node images published with kind v0.30.0 (its release notes), pinned by digest; the version that
# `doctor --install-tools` installs. Images built for another kind release work best-effort only.
NODE_IMAGES: dict[str, str] = {
    "1.34": "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a",
    "1.33": "kindest/node:v1.33.4@sha256:25a6018e48dfcaee478f4a59af81157a437f15e6e140bf103f85a2e7cd0cbbf2",
    "1.32": "kindest/node:v1.32.8@sha256:abd489f042d2b644e2d033f5c2d900bc707798d075e8186cb65e3f1367a9d5a1",
    "1.31": "kindest/node:v1.31.12@sha256:0f5cc49c5e73c0c2bb6e2df56e7df189240d83cf94edfa30946482eb08ec57d2",
}
DEFAULT_KUBERNETES_VERSION = c.DEFAULT_KUBERNETES_VERSION
MAX_WORKERS = 10
LISTEN_ADDRESS = "127.0.0.1"
_CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int
    purpose: str


DEFAULT_PORT_MAPPINGS = (
    PortMapping(c.GRAFANA_NODE_PORT, c.GRAFANA_NODE_PORT, "Grafana"),
    PortMapping(c.PROMETHEUS_NODE_PORT, c.PROMETHEUS_NODE_PORT, "Prometheus"),
    PortMapping(c.STORAGE_NODE_PORT, c.STORAGE_NODE_PORT, "object store S3 API"),
)


def node_image(kubernetes_version: str) -> str:
    """The pinned node image for `1.31`, `v1.31` or `1.31.12` (the patch must be the pinned one if given)."""
    match = _VERSION.match(kubernetes_version.strip())
    supported = ", ".join(sorted(NODE_IMAGES, key=lambda v: tuple(int(p) for p in v.split("."))))
    if match is None:
        raise UsageError(f"invalid Kubernetes version {kubernetes_version!r}", hint=f"supported: {supported}")
    minor = f"{int(match.group(1))}.{int(match.group(2))}"
    image = NODE_IMAGES.get(minor)
    if image is None:
        raise UsageError(
            f"Kubernetes {kubernetes_version} has no pinned Kind node image", hint=f"supported: {supported}"
        )
    if match.group(3) is not None:
        pinned = image.split(":v", 1)[1].split("@", 1)[0]
        if pinned != f"{minor}.{int(match.group(3))}":
            raise UsageError(
                f"Kubernetes {kubernetes_version} is not the pinned patch release for {minor}",
                hint=f"use {minor} (Kind node image v{pinned})",
            )
    return image


@dataclass(frozen=True)
class KindClusterSpec:
    name: str = "mlopsctl"
    workers: int = 2
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    port_mappings: tuple[PortMapping, ...] = DEFAULT_PORT_MAPPINGS
    image: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not _CLUSTER_NAME.match(self.name) or len(self.name) > 40:
            raise UsageError(
                f"{self.name!r} is not a valid cluster name",
                hint="lowercase letters, digits and '-', at most 40 characters",
            )
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or not 0 <= self.workers <= MAX_WORKERS:
            raise UsageError(f"--workers must be between 0 and {MAX_WORKERS}, got {self.workers!r}")
        object.__setattr__(self, "image", node_image(self.kubernetes_version))

    @property
    def context(self) -> str:
        return f"kind-{self.name}"


def render_kind_config(spec: KindClusterSpec) -> str:
    from mlopsctl.manifests.templating import environment
    from mlopsctl.paths import templates_dir

    template = environment(str(templates_dir())).get_template("kind/cluster.yaml.j2")
    return template.render(
        name=spec.name,
        image=spec.image,
        workers=spec.workers,
        port_mappings=spec.port_mappings,
        listen_address=LISTEN_ADDRESS,
    )
