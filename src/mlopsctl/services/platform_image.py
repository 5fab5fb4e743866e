"""The platform image record: which inference image the cluster can run, written by `cluster up`, read by
everything that starts pods from it (`tenant add`, `loadtest`, verify probes).

On Kind the image is loaded into the nodes under a local tag; on an adopted cluster it is pushed to a registry.
Either way the cluster's nodes can use exactly that reference and nothing else, so `cluster up` records it in the
ConfigMap `mlopsctl-platform` of `mlopsctl-system` (with the digest the registry answered), and
`tenant_image()` resolves, in order: an explicit `--image`, the `registry` setting, the record, and on a Kind
cluster without a record the version tag `cluster up` loads. Anything else is refused before anything is applied.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from mlopsctl import __version__
from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import MlopsctlError, PrerequisiteMissing

KIND_PROVIDER_PREFIX = "kind://"  # Kind's kubelets register their nodes with providerID kind://docker/CLUSTER/NODE


@dataclass(frozen=True)
class PlatformImage:
    image: str  # the reference tenants run
    source: str  # "kind" (loaded into the nodes) or "registry" (pushed)
    tags: tuple[str, ...] = ()
    digest: str | None = None
    version: str = __version__
    recorded_at: str = ""


@dataclass(frozen=True)
class ImageChoice:
    image: str
    origin: str  # "--image", "registry setting", "cluster record", "Kind default"


def _labels() -> dict[str, str]:
    return {c.MANAGED_BY_LABEL: c.MANAGED_BY, c.PART_OF_LABEL: c.PART_OF}


def render_record(record: PlatformImage) -> list[KubeObject]:
    """The Namespace mlopsctl owns and the ConfigMap holding the record, in apply order."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": c.SYSTEM_NAMESPACE, "labels": _labels()}}
    data = {
        "image": record.image,
        "source": record.source,
        "tags": ",".join(record.tags),
        "version": record.version,
        "recordedAt": record.recorded_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if record.digest:
        data["digest"] = record.digest
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": c.PLATFORM_CONFIGMAP, "namespace": c.SYSTEM_NAMESPACE, "labels": _labels()},
        "data": data,
    }
    return [namespace, config_map]


def parse_record(config_map: KubeObject | None) -> PlatformImage | None:
    data = (config_map or {}).get("data") or {}
    if not data.get("image"):
        return None
    return PlatformImage(
        image=str(data["image"]),
        source=str(data.get("source") or "registry"),
        tags=tuple(tag for tag in str(data.get("tags") or "").split(",") if tag),
        digest=data.get("digest") or None,
        version=str(data.get("version") or ""),
        recorded_at=str(data.get("recordedAt") or ""),
    )


def record_platform_image(api: KubeApi, record: PlatformImage) -> None:
    for obj in render_record(record):
        api.apply(obj)


def read_platform_image(api: KubeApi) -> PlatformImage | None:
    """The record, or None when there is none (or it cannot be read: the caller then falls back or refuses)."""
    with contextlib.suppress(MlopsctlError):
        namespace = api.get("v1", "Namespace", c.SYSTEM_NAMESPACE)
        if namespace is None or workload.is_terminating(namespace):
            return None
        return parse_record(api.get("v1", "ConfigMap", c.PLATFORM_CONFIGMAP, c.SYSTEM_NAMESPACE))
    return None


def is_kind_cluster(api: KubeApi) -> bool:
    with contextlib.suppress(MlopsctlError):
        nodes = api.list("v1", "Node")
        return bool(nodes) and all(
            str(workload.spec_of(node).get("providerID") or "").startswith(KIND_PROVIDER_PREFIX) for node in nodes
        )
    return False


def job_image(api: KubeApi, *, explicit: str | None, fallback: str) -> str:
    """The image of a short-lived pod that runs mlopsctl's own code (the load generator): `--image`, else the
    platform image the cluster can pull (it matches this mlopsctl), else `fallback` (the tenant's own image)."""
    if explicit:
        return explicit
    record = read_platform_image(api)
    return record.image if record is not None else fallback


def registry_image(registry: str) -> str:
    return f"{registry.rstrip('/')}/{c.IMAGE_REPOSITORY}:{c.IMAGE_TAG}"


def tenant_image(api: KubeApi, *, explicit: str | None = None, registry: str | None = None) -> ImageChoice:
    """The image a new tenant (or a load generator, a probe) runs; PrerequisiteMissing when none is known."""
    if explicit:
        return ImageChoice(explicit, "--image")
    if registry:
        return ImageChoice(registry_image(registry), "registry setting")
    record = read_platform_image(api)
    if record is not None:
        return ImageChoice(record.image, "cluster record")
    if is_kind_cluster(api):
        return ImageChoice(c.DEFAULT_IMAGE, "Kind default")
    raise PrerequisiteMissing(
        f"no inference image is known for this cluster: it has no {c.SYSTEM_NAMESPACE}/{c.PLATFORM_CONFIGMAP} "
        f"record and is not a Kind cluster, so it cannot pull the local tag {c.DEFAULT_IMAGE}",
        hint="run `mlopsctl cluster up --registry REGISTRY` (it pushes and records the image), pass --image "
        "REFERENCE, or set `registry:` in mlopsctl.yaml (MLOPSCTL_REGISTRY)",
    )
