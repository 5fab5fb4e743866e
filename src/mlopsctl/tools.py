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
        "run `mlopsctl doctor --install-tools`, or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    ),
    ToolRequirement(
        "kubectl",
        ("kubectl", "version", "--client"),
        (1, 29, 0),
        "kubectl within one minor version of the cluster",
        "run `mlopsctl doctor --install-tools`, or see https://kubernetes.io/docs/tasks/tools/",
    ),
    ToolRequirement(
        "helm",
        ("helm", "version", "--short"),
        (3, 12, 0),
        "helm 3 installs kube-prometheus-stack",
        "run `mlopsctl doctor --install-tools`, or see https://helm.sh/docs/intro/install/",
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
