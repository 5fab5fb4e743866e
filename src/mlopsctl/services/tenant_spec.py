"""The spec `tenant add` applies: like `helm upgrade --reuse-values`, an existing tenant starts from the spec
recorded on its Namespace and changes only the options the user gave; `reset` starts from the defaults again.

A new tenant (or a reset one) without `--image` runs the image the cluster can pull (`platform_image`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis import workload
from mlopsctl.errors import UsageError
from mlopsctl.manifests.tenant import TenantSpec
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services import platform_image


@dataclass(frozen=True)
class ResolvedSpec:
    spec: TenantSpec
    previous: TenantSpec | None  # the spec recorded on the tenant, when it exists
    changes: list[str] = field(default_factory=list)  # "max_replicas: 10 -> 4", for --dry-run/--diff and notes
    image_origin: str = ""


def spec_changes(before: TenantSpec | None, after: TenantSpec) -> list[str]:
    if before is None:
        return []
    old, new = before.to_dict(), after.to_dict()
    return [f"{key}: {old[key]} -> {new[key]}" for key in new if old.get(key) != new[key]]


def recorded_spec(api: KubeApi, name: str) -> TenantSpec | None:
    """The spec on the tenant's Namespace; None for a tenant that does not exist (or has no readable record)."""
    data = workload.tenant_spec_data(api.get("v1", "Namespace", name))
    if data is None:
        return None
    try:
        return TenantSpec.from_dict({**data, "name": name})
    except UsageError:
        return None  # a record from another mlopsctl version: start from the defaults, as for a new tenant


def resolve(
    api: KubeApi,
    name: str,
    given: Mapping[str, Any],
    *,
    reset: bool = False,
    registry: str | None = None,
    status: Status | None = None,
) -> ResolvedSpec:
    """The spec to apply. `given`: only the options the user passed (None means "not given"). Each change to
    an existing tenant's spec is noted before anything is applied."""
    options = {key: value for key, value in given.items() if value is not None}
    previous = recorded_spec(api, name)
    if previous is not None and not reset:
        spec = previous.replace(**options)
        origin = "--image" if "image" in options else "the tenant's recorded spec"
    else:
        choice = platform_image.tenant_image(api, explicit=options.get("image"), registry=registry)
        spec, origin = TenantSpec.create(name, **{**options, "image": choice.image}), choice.origin
    resolved = ResolvedSpec(spec, previous, spec_changes(previous, spec), origin)
    for change in resolved.changes:
        (status or NullStatus()).note(f"tenant {name}: {change}")
    return resolved
