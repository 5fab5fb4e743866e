"""Write the built-in ClusterRoles and ClusterRoleBindings that the offline RBAC evaluator assumes every cluster has.

Usage:
    python tools/bootstrap_rbac.py --kubernetes-version 1.28 --source kubernetes/kubernetes@COMMIT \
        --cluster-roles .../bootstrappolicy/testdata/cluster-roles.yaml \
        --cluster-role-bindings .../bootstrappolicy/testdata/cluster-role-bindings.yaml

The inputs are the API server's bootstrap policy as Kubernetes records it in
`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/` of a release (a `kind: List` each). The output,
`src/mlopsctl/analysis/data/bootstrap-rbac-<minor>.json`, keeps what authorization needs (names, aggregation
labels and rules, rules, bindings' roleRef and subjects) and names the version and source it came from. Run it
again for each Kubernetes minor the project supports; the evaluator picks the file of the cluster's minor.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parents[1] / "src" / "mlopsctl" / "analysis" / "data"
AGGREGATION_LABEL = re.compile(r"^rbac\.authorization\.k8s\.io/aggregate-to-")


def _items(path: Path, kind: str) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else None
    if not isinstance(items, list):
        raise SystemExit(f"{path}: expected a `kind: List` of {kind} objects")
    found = [item for item in items if isinstance(item, dict) and item.get("kind") == kind]
    if not found:
        raise SystemExit(f"{path}: no {kind} objects")
    return found


def _cluster_role(item: dict[str, Any]) -> dict[str, Any]:
    meta = item.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if AGGREGATION_LABEL.match(k)}
    role: dict[str, Any] = {"kind": "ClusterRole", "metadata": {"name": meta["name"]}, "rules": item.get("rules") or []}
    if labels:
        role["metadata"]["labels"] = labels
    if item.get("aggregationRule"):
        role["aggregationRule"] = item["aggregationRule"]
    return role


def _binding(item: dict[str, Any]) -> dict[str, Any]:
    ref = item.get("roleRef") or {}
    return {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": item["metadata"]["name"]},
        "roleRef": {"kind": ref.get("kind", "ClusterRole"), "name": ref["name"]},
        "subjects": [
            {key: value for key, value in subject.items() if key in ("kind", "name", "namespace")}
            for subject in item.get("subjects") or []
        ],
    }


def build(version: str, source: str, roles: Path, bindings: Path) -> dict[str, Any]:
    return {
        "kubernetesVersion": version,
        "source": source,
        "clusterRoles": sorted(
            (_cluster_role(i) for i in _items(roles, "ClusterRole")), key=lambda r: r["metadata"]["name"]
        ),
        "clusterRoleBindings": sorted(
            (_binding(i) for i in _items(bindings, "ClusterRoleBinding")), key=lambda b: b["metadata"]["name"]
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", required=True, help="the minor the inputs come from, e.g. 1.28")
    parser.add_argument("--source", required=True, help="where the inputs come from, e.g. kubernetes/kubernetes@COMMIT")
    parser.add_argument("--cluster-roles", type=Path, required=True)
    parser.add_argument("--cluster-role-bindings", type=Path, required=True)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    if not re.fullmatch(r"1\.\d+", args.kubernetes_version):
        parser.error("--kubernetes-version must be a minor such as 1.28")
    data = build(args.kubernetes_version, args.source, args.cluster_roles, args.cluster_role_bindings)
    out = args.out_dir / f"bootstrap-rbac-{args.kubernetes_version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{out}: {len(data['clusterRoles'])} ClusterRoles, {len(data['clusterRoleBindings'])} ClusterRoleBindings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
