"""The ClusterRoles and ClusterRoleBindings every Kubernetes cluster starts with (its RBAC bootstrap policy).

Offline, the manifests in a directory rarely hold `cluster-admin`, `edit`, `view` or `system:basic-user`, yet a
binding to them grants what they say on any real cluster. The policy of each supported minor ships in
`data/bootstrap-rbac-<minor>.json`, written by `tools/bootstrap_rbac.py` from the bootstrap policy Kubernetes
records in its source tree; each file names its version and source. Live, the cluster's own objects are read
instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_FILE = re.compile(r"^bootstrap-rbac-1\.(\d+)\.json$")


@dataclass(frozen=True)
class BootstrapPolicy:
    kubernetes_version: str  # the minor the policy is from, e.g. "1.28"
    source: str
    objects: tuple[dict[str, Any], ...]  # ClusterRoles, then ClusterRoleBindings

    @property
    def cluster_role_names(self) -> frozenset[str]:
        return frozenset(o["metadata"]["name"] for o in self.objects if o["kind"] == "ClusterRole")

    def describe(self) -> str:
        return f"the Kubernetes {self.kubernetes_version} bootstrap policy"


def available_minors() -> list[int]:
    """The minors (of Kubernetes 1.x) with a shipped policy, ascending."""
    names = [entry.name for entry in resources.files("mlopsctl.analysis").joinpath("data").iterdir()]
    return sorted(int(m.group(1)) for name in names if (m := _FILE.match(name)))


@cache
def bootstrap_policy(minor: int | None = None) -> BootstrapPolicy:
    """The policy of Kubernetes 1.`minor`: the newest shipped one not newer than it (the oldest if all are), or
    the newest of all when no minor is given."""
    minors = available_minors()
    if not minors:
        raise FileNotFoundError("no bootstrap-rbac-*.json shipped in mlopsctl/analysis/data")
    chosen = minors[-1] if minor is None else max([m for m in minors if m <= minor] or [minors[0]])
    text = resources.files("mlopsctl.analysis").joinpath("data", f"bootstrap-rbac-1.{chosen}.json").read_text()
    data = json.loads(text)
    objects = tuple([*data["clusterRoles"], *data["clusterRoleBindings"]])
    return BootstrapPolicy(str(data["kubernetesVersion"]), str(data["source"]), objects)
