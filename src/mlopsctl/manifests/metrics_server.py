"""metrics-server, pinned: the upstream release's objects from `templates/metrics-server/components.yaml.j2`.
`--kubelet-insecure-tls` only for Kind (self-signed kubelet certificates), never for an adopted cluster. Pure."""

from __future__ import annotations

from typing import Any

from mlopsctl import constants as c

VERSION = "v0.7.2"
IMAGE = (
    "registry.k8s.io/metrics-server/metrics-server:v0.7.2"
    "@sha256:ffcb2bf004d6aa0a17d90e0247cf94f2865c8901dcab4427034c341951c239f9"
)
API_SERVICE = "v1beta1.metrics.k8s.io"
NAMESPACE = "kube-system"
NAME = "metrics-server"


def labels() -> dict[str, str]:
    return {
        c.NAME_LABEL: NAME,
        c.PART_OF_LABEL: c.PART_OF,
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.COMPONENT_LABEL: "metrics",
    }


def render_metrics_server(*, insecure_tls: bool) -> list[dict[str, Any]]:
    from mlopsctl.manifests.templating import render_documents

    context = {"version": VERSION, "image": IMAGE, "insecure_tls": insecure_tls, "labels": labels()}
    return render_documents("metrics-server/components.yaml.j2", context)
