"""Versioned model artifacts in the object store: push, list, pull (catalog.py), and pinning a tenant to a version
(serving.py).

Layout (what the inference service's s3:// loader reads): `s3://<bucket>/models/<VERSION>/model.skops` and
`.../metadata.json`, where metadata.json records the model file's sha256 (the service's artifact format). A
version is written model file first, metadata last, so a listed version is complete; versions are immutable
(pushing different bytes under an existing version is refused).
"""

from mlopsctl.services.model_registry.catalog import (
    MAX_METADATA_BYTES,
    Artifact,
    ModelList,
    ModelVersion,
    PullResult,
    PushResult,
    _headline_metrics,
    bucket_for,
    ensure_tenant_copy,
    list_models,
    pull,
    pull_check,
    push,
    read_artifact,
    served_versions,
)
from mlopsctl.services.model_registry.serving import (
    SetModelResult,
    pin_model,
    set_model,
    unready_reason,
    wait_for_rollout,
)

__all__ = [
    "MAX_METADATA_BYTES",
    "Artifact",
    "ModelList",
    "ModelVersion",
    "PullResult",
    "PushResult",
    "SetModelResult",
    "_headline_metrics",
    "bucket_for",
    "ensure_tenant_copy",
    "list_models",
    "pin_model",
    "pull",
    "pull_check",
    "push",
    "read_artifact",
    "served_versions",
    "set_model",
    "unready_reason",
    "wait_for_rollout",
]
