"""Cluster lifecycle: `cluster up` as a list of named steps (up.py, up_steps.py on the runner of steps.py),
`cluster down` (down.py), `cluster status` (status.py) and `image load` into Kind (image_load.py)."""

from mlopsctl.services.cluster.down import cluster_down
from mlopsctl.services.cluster.image_load import ImageLoadResult, load_image
from mlopsctl.services.cluster.model import (
    ClusterDeps,
    ClusterDownResult,
    ClusterStatus,
    ClusterUpRequest,
    ClusterUpResult,
    ComponentRow,
    Installer,
    KindApi,
    NodeRow,
    StepResult,
    api_service_available,
    kind_cluster_of,
    node_ready,
)
from mlopsctl.services.cluster.status import cluster_status
from mlopsctl.services.cluster.up import cluster_up

__all__ = [
    "ClusterDeps",
    "ClusterDownResult",
    "ClusterStatus",
    "ClusterUpRequest",
    "ClusterUpResult",
    "ComponentRow",
    "ImageLoadResult",
    "Installer",
    "KindApi",
    "NodeRow",
    "StepResult",
    "api_service_available",
    "cluster_down",
    "cluster_status",
    "cluster_up",
    "kind_cluster_of",
    "load_image",
    "node_ready",
]
