"""The external tools mlopsctl drives: the versions it needs, how to read their versions, and the pinned
releases that `doctor --install-tools` downloads. Pure data and parsing; no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int, int]


def parse_version(text: str) -> Version | None:
    """The first `vX.Y.Z` (or `X.Y.Z`) in a tool's version output."""
    match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def format_version(version: Version | None) -> str:
    return "-" if version is None else "v" + ".".join(str(part) for part in version)


@dataclass(frozen=True)
class ToolRequirement:
    name: str
    version_argv: tuple[str, ...]
    minimum: Version
    why: str
    install_hint: str


REQUIREMENTS = (
    ToolRequirement(
        "kind",
        ("kind", "version"),
        (0, 24, 0),
        "kind >= 0.24 is the first release whose default CNI enforces NetworkPolicy",
        "mlopsctl doctor --install-tools (or https://kind.sigs.k8s.io/)",
    ),
    ToolRequirement(
        "kubectl",
        ("kubectl", "version", "--client"),
        (1, 29, 0),
        "kubectl within one minor version of the cluster",
        "mlopsctl doctor --install-tools (or https://kubernetes.io/docs/tasks/tools/)",
    ),
    ToolRequirement(
        "helm",
        ("helm", "version", "--short"),
        (3, 12, 0),
        "helm 3 installs kube-prometheus-stack",
        "mlopsctl doctor --install-tools (or https://helm.sh/docs/intro/install/)",
    ),
)


@dataclass(frozen=True)
class ToolRelease:
    """One pinned release binary: where it is, its SHA-256, and (for archives) the member to extract."""

    name: str
    version: str
    url: str
    sha256: str
    archive_member: str | None = None


def platform_key(system: str, machine: str) -> str:
    """`linux/amd64` style, from `platform.system()` and `platform.machine()`."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine.lower())
    return f"{system.lower()}/{arch or machine.lower()}"


def _on_mirror(url: str, mirror: str | None) -> str:
    if not mirror:
        return url
    from urllib.parse import urlsplit

    return mirror.rstrip("/") + urlsplit(url).path


KIND_VERSION = "v0.30.0"
KUBECTL_VERSION = "v1.34.1"
HELM_VERSION = "v3.19.2"

# SHA-256 of each release file as published next to it by the kind, Kubernetes and Helm projects.
_SHA256 = {
    ("kind", "linux/amd64"): "517ab7fc89ddeed5fa65abf71530d90648d9638ef0c4cde22c2c11f8097b8889",
    ("kind", "linux/arm64"): "7ea2de9d2d190022ed4a8a4e3ac0636c8a455e460b9a13ccf19f15d07f4f00eb",
    ("kind", "darwin/amd64"): "4f0b6e3b88bdc66d922c08469f05ef507d4903dd236e6319199bb9c868eed274",
    ("kind", "darwin/arm64"): "ceaf40df1d1551c481fb50e3deb5c3deecad5fd599df5469626b70ddf52a1518",
    ("kubectl", "linux/amd64"): "7721f265e18709862655affba5343e85e1980639395d5754473dafaadcaa69e3",
    ("kubectl", "linux/arm64"): "420e6110e3ba7ee5a3927b5af868d18df17aae36b720529ffa4e9e945aa95450",
    ("kubectl", "darwin/amd64"): "bb211f2b31f2b3bc60562b44cc1e3b712a16a98e9072968ba255beb04cefcfdf",
    ("kubectl", "darwin/arm64"): "d80e5fa36f2b14005e5bb35d3a72818acb1aea9a081af05340a000e5fbdb2f76",
    ("helm", "linux/amd64"): "2114c9dea2844dce6d0ee2d792a9aae846be8cf53d5b19dc2988b5a0e8fec26e",
    ("helm", "linux/arm64"): "566e9f3a5a83a81e4b03503ae37e368edd52d699619e8a9bb1fdf21561ae0e88",
    ("helm", "darwin/amd64"): "7ef4416cdef4c2d78a09e1c8f07a51e945dc0343c883a46b1f628deab52690b7",
    ("helm", "darwin/arm64"): "f0847f899479b66a6dd8d9fcd452e8db2562e4cf3f7de28103f9fcf2b824f1d5",
}


def pinned_releases(platform: str, mirror: str | None = None) -> list[ToolRelease]:
    """The release files for one `os/arch`; an unsupported platform gets an empty list.

    A mirror (for air-gapped sites) serves the same paths as the origins, so `https://dl.k8s.io/release/...`
    becomes `MIRROR/release/...`; the pinned checksums still decide what gets installed.
    """
    os_name, _, arch = platform.partition("/")
    urls = {
        "kind": (f"https://kind.sigs.k8s.io/dl/{KIND_VERSION}/kind-{os_name}-{arch}", KIND_VERSION, None),
        "kubectl": (f"https://dl.k8s.io/release/{KUBECTL_VERSION}/bin/{platform}/kubectl", KUBECTL_VERSION, None),
        "helm": (
            f"https://get.helm.sh/helm-{HELM_VERSION}-{os_name}-{arch}.tar.gz",
            HELM_VERSION,
            f"{os_name}-{arch}/helm",
        ),
    }
    releases = []
    for name, (url, version, member) in urls.items():
        digest = _SHA256.get((name, platform))
        if digest:
            releases.append(ToolRelease(name, version, _on_mirror(url, mirror), digest, member))
    return releases
