"""A tenant: its spec (validated before anything is rendered) and its hardened object set, in apply order.

    spec = TenantSpec.create("tenant-c", max_replicas=4)   # or TenantSpec(name=..., ...): both validate
    objects = render_tenant(spec)                          # list of plain dicts, Namespace first
    text = render_yaml(objects)                            # multi-document YAML, byte-identical per spec

Every invalid value raises `InvalidTenantSpec` (a UsageError, exit 2) whose one-line message names the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlopsctl import constants as c
from mlopsctl.errors import UsageError
from mlopsctl.manifests.owners import InvalidOwner, Owner, normalize_owners, tenant_owner_account
from mlopsctl.manifests.templating import render_templates, render_yaml
from mlopsctl.manifests.tenant_checks import (
    SURGE_PODS,
    InvalidTenantSpec,
    default_quota,
    fail,
    max_pods,
    selector_pairs,
    validate,
    validate_quota,
)

__all__ = [
    "SURGE_PODS",
    "TEMPLATES",
    "InvalidTenantSpec",
    "TenantSpec",
    "render_tenant",
    "render_yaml",
]

# The templates of one tenant, in apply order: isolation and quotas exist before any pod is scheduled.
TEMPLATES = (
    "tenant/00-namespace.yaml.j2",
    "tenant/10-serviceaccount.yaml.j2",
    "tenant/20-rbac.yaml.j2",
    "tenant/21-owners.yaml.j2",
    "tenant/30-resourcequota.yaml.j2",
    "tenant/31-limitrange.yaml.j2",
    "tenant/40-networkpolicies.yaml.j2",
    "tenant/50-service.yaml.j2",
    "tenant/60-deployment.yaml.j2",
    "tenant/70-horizontalpodautoscaler.yaml.j2",
    "tenant/71-poddisruptionbudget.yaml.j2",
)
SERVICE_MONITOR_TEMPLATE = "tenant/80-servicemonitor.yaml.j2"


@dataclass(frozen=True)
class TenantSpec:
    """Everything that makes one tenant. Defaults fit a laptop Kind cluster.

    Quota fields left as None are sized from the replicas and limits: (max_replicas + surge + headroom) pods.
    After construction every field is concrete and valid; `to_dict()`/`create(**d)` round-trip exactly.
    """

    name: str
    image: str = c.DEFAULT_IMAGE
    model_version: str = c.DEFAULT_MODEL_VERSION
    model_uri: str | None = None
    min_replicas: int = 2
    max_replicas: int = 10
    cpu_target_percent: int = 50
    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "500m"
    memory_limit: str = "512Mi"
    quota_cpu: str | None = None
    quota_memory: str | None = None
    quota_pods: int | None = None
    gpus: int = 0
    gpu_node_selector: tuple[tuple[str, str], ...] = c.GPU_NODE_SELECTOR
    service_monitor: bool = False
    # `user:NAME`, `group:NAME`, `sa:NAMESPACE/NAME` (manifests/owners.py), kept sorted and unique.
    owners: tuple[str, ...] = ()

    @classmethod
    def create(cls, name: str, **options: Any) -> TenantSpec:
        """Build from loose input (CLI flags, a config file, a Namespace annotation); None means "default"."""
        known = {f.name for f in dataclasses.fields(cls)} - {"name"}
        for option in options:
            if option not in known:
                fail(option, "unknown tenant option", hint=f"known options: {', '.join(sorted(known))}")
        given = {key: value for key, value in options.items() if value is not None}
        if "gpu_node_selector" in given:
            given["gpu_node_selector"] = selector_pairs(given["gpu_node_selector"])
        return cls(name=name, **given)

    @classmethod
    def from_json(cls, text: str) -> TenantSpec:
        """The spec stored in a tenant Namespace's annotation (see `constants.TENANT_SPEC_ANNOTATION`)."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise UsageError("invalid tenant spec: not a JSON object with a name")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TenantSpec:
        """The spec from `to_dict()` output (for example the annotation, parsed)."""
        options = dict(data)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise UsageError("invalid tenant spec: it has no name")
        return cls.create(name, **options)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["gpu_node_selector"] = dict(self.gpu_node_selector)
        data["owners"] = list(self.owners)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def replace(self, **changes: Any) -> TenantSpec:
        """A copy with some options changed (validated again); derived quotas are re-derived unless given."""
        data = self.to_dict()
        data.update(changes)
        for key in ("quota_cpu", "quota_memory", "quota_pods"):
            if key not in changes and self._derived_quota(key):
                data[key] = None
        name = data.pop("name")
        return TenantSpec.create(name, **data)

    @property
    def namespace(self) -> str:
        return self.name

    @property
    def uses_object_store(self) -> bool:
        return self.model_uri is not None

    @property
    def image_has_digest(self) -> bool:
        return "@sha256:" in self.image

    def _derived_quota(self, key: str) -> bool:
        return getattr(self, key) == default_quota(self)[key]

    @property
    def owner_list(self) -> list[Owner]:
        return [Owner.parse(text) for text in self.owners]

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "owners", normalize_owners(self.owners))
        except InvalidOwner as exc:
            fail("owners", exc.problem, exc.hint)
        validate(self)
        defaults = default_quota(self)
        for key, value in defaults.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        validate_quota(self)


def _labels(spec: TenantSpec) -> dict[str, str]:
    return {
        c.NAME_LABEL: c.APP_NAME,
        c.INSTANCE_LABEL: spec.name,
        c.PART_OF_LABEL: c.PART_OF,
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.TENANT_LABEL: spec.name,
    }


def _env(spec: TenantSpec) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "TENANT_NAME", "value": spec.name},
        {"name": "PORT", "value": str(c.CONTAINER_PORT)},
        {"name": "MODEL_URI", "value": spec.model_uri or c.DEFAULT_MODEL_URI},
        {"name": "MODEL_VERSION", "value": spec.model_version},
    ]
    if spec.uses_object_store:
        # Paths into the mounted Secret, not its values: keys as files, never in the environment (CKV_K8S_35).
        env += [{"name": f"{key}_FILE", "value": f"{c.MODEL_STORE_MOUNT}/{key}"} for key in c.MODEL_STORE_SECRET_KEYS]
    return env


def _context(spec: TenantSpec) -> dict[str, Any]:
    labels = _labels(spec)
    requests = {"cpu": spec.cpu_request, "memory": spec.memory_request}
    limits = {"cpu": spec.cpu_limit, "memory": spec.memory_limit}
    # __post_init__ fills every quota left as None, so a constructed spec has concrete quotas.
    assert spec.quota_cpu is not None and spec.quota_memory is not None
    quota_hard: dict[str, str] = {
        "pods": str(spec.quota_pods),
        "requests.cpu": spec.quota_cpu,
        "requests.memory": spec.quota_memory,
        "limits.cpu": spec.quota_cpu,
        "limits.memory": spec.quota_memory,
    }
    node_selector: dict[str, str] = {}
    tolerations: list[dict[str, str]] = []
    if spec.gpus:
        gpus = str(spec.gpus)
        requests[c.GPU_RESOURCE] = gpus
        limits[c.GPU_RESOURCE] = gpus
        quota_hard[f"requests.{c.GPU_RESOURCE}"] = str(spec.gpus * max_pods(spec))
        node_selector = dict(spec.gpu_node_selector)
        tolerations = [{"key": c.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    quota_hard.update({"services.loadbalancers": "0", "services.nodeports": "0", "persistentvolumeclaims": "0"})
    env = _env(spec)
    # Everything that shapes the running pod; a change here must roll the pods (kubectl shows why: the hash moved).
    config = {"image": spec.image, "env": env, "requests": requests, "limits": limits, "gpus": spec.gpus}
    config_hash = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    pss = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    pss.update({f"pod-security.kubernetes.io/{mode}-version": "latest" for mode in ("enforce", "audit", "warn")})
    owner_account = tenant_owner_account(spec.namespace, c.TENANT_OWNER)
    owner_subjects = [owner_account.subject()]
    owner_subjects += [owner.subject() for owner in spec.owner_list if owner != owner_account]
    return {
        "app": c.APP_NAME,
        "tenant_owner": c.TENANT_OWNER,
        "owner_subjects": owner_subjects,
        "image_has_digest": spec.image_has_digest,
        "uses_object_store": spec.uses_object_store,
        "model_store_secret": c.MODEL_STORE_SECRET,
        "model_store_mount": c.MODEL_STORE_MOUNT,
        "namespace": spec.namespace,
        "labels": labels,
        "selector_labels": {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: spec.name},
        "namespace_labels": {**labels, **pss},
        "namespace_annotations": {c.TENANT_SPEC_ANNOTATION: spec.to_json()},
        "pod_annotations": {c.CONFIG_HASH_ANNOTATION: config_hash, c.MODEL_VERSION_ANNOTATION: spec.model_version},
        "service_monitor_labels": {**labels, **dict(c.SERVICE_MONITOR_LABELS)},
        "image": spec.image,
        "command": list(c.INFERENCE_COMMAND),
        "env": env,
        "requests": requests,
        "limits": limits,
        # LimitRange defaults for other containers (a load generator, a probe): CPU and memory only, never a GPU.
        "default_requests": {"cpu": spec.cpu_request, "memory": spec.memory_request},
        "default_limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
        "quota_hard": quota_hard,
        "node_selector": node_selector,
        "tolerations": tolerations,
        "min_replicas": spec.min_replicas,
        "max_replicas": spec.max_replicas,
        "cpu_target_percent": spec.cpu_target_percent,
        "max_surge": SURGE_PODS,
        "uid": c.IMAGE_UID,
        "container_port": c.CONTAINER_PORT,
        "container_port_name": c.CONTAINER_PORT_NAME,
        "service_port": c.SERVICE_PORT,
        "namespace_name_label": c.NAMESPACE_NAME_LABEL,
        "monitoring_namespace": c.MONITORING_NAMESPACE,
        "storage_namespace": c.STORAGE_NAMESPACE,
        "storage_port": c.STORAGE_S3_PORT,
        "dns_namespace": c.DNS_NAMESPACE,
        "dns_pod_labels": dict(c.DNS_POD_LABELS),
    }


def render_tenant(spec: TenantSpec) -> list[dict[str, Any]]:
    """The tenant's objects in apply order (Namespace first); a ServiceMonitor last, only when asked."""
    context = _context(spec)
    templates = (*TEMPLATES, SERVICE_MONITOR_TEMPLATE) if spec.service_monitor else TEMPLATES
    return render_templates(templates, context)
