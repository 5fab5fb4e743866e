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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NoReturn

from mlopsctl import constants as c
from mlopsctl.errors import UsageError
from mlopsctl.manifests.owners import InvalidOwner, Owner, normalize_owners, tenant_owner_account
from mlopsctl.manifests.quantity import QuantityError, format_cpu, format_memory, parse_cpu, parse_memory
from mlopsctl.manifests.templating import render_templates, render_yaml

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

# A rolling update adds at most this many pods above the current scale (maxUnavailable is 0).
SURGE_PODS = 1
# Room in the default quota for short-lived pods beside the service (verify probes, an in-cluster load generator).
HEADROOM_PODS = 2
MAX_REPLICAS_LIMIT = 1000
MAX_GPUS = 16

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# The reference grammar of container images (distribution/reference), without the ambiguous corner cases.
_IMAGE = re.compile(
    r"^(?:(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>[A-Za-z0-9._~!*'()+=,@/-]*))?$")


class InvalidTenantSpec(UsageError):
    """One field of a tenant spec is wrong; `field` names it for callers that map fields to flags."""

    def __init__(self, field: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"invalid tenant spec: {field}: {problem}", hint=hint)
        self.field = field


def _fail(field: str, problem: str, hint: str | None = None) -> NoReturn:
    raise InvalidTenantSpec(field, problem, hint)


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
                _fail(option, "unknown tenant option", hint=f"known options: {', '.join(sorted(known))}")
        given = {key: value for key, value in options.items() if value is not None}
        if "gpu_node_selector" in given:
            given["gpu_node_selector"] = _selector_pairs(given["gpu_node_selector"])
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
        return getattr(self, key) == _default_quota(self)[key]

    @property
    def owner_list(self) -> list[Owner]:
        return [Owner.parse(text) for text in self.owners]

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "owners", normalize_owners(self.owners))
        except InvalidOwner as exc:
            _fail("owners", exc.problem, exc.hint)
        _validate(self)
        defaults = _default_quota(self)
        for key, value in defaults.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        _validate_quota(self)


def _selector_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """A node selector as sorted pairs, from a mapping, pairs, or `key=value` strings."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str):
        items = [_split_pair(value)]
    elif isinstance(value, list | tuple):
        items = [_split_pair(item) if isinstance(item, str) else tuple(item) for item in value]
    else:
        _fail("gpu_node_selector", f"expected key=value pairs, got {value!r}")
    return tuple(sorted((str(k), str(v)) for k, v in items))


def _split_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        _fail("gpu_node_selector", f"expected key=value, got {text!r}")
    return key, value


def _check_int(spec: TenantSpec, field: str, low: int, high: int) -> int:
    value = getattr(spec, field)
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(field, f"expected a whole number, got {value!r}")
    if not low <= value <= high:
        _fail(field, f"must be between {low} and {high}, got {value}")
    return value


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        _fail("name", f"expected a non-empty string, got {name!r}")
    rule = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
    if len(name) > 63:
        _fail("name", f"{name[:20]!r}... is {len(name)} characters, more than 63", hint=f"a DNS-1123 label: {rule}")
    if not _DNS_LABEL.fullmatch(name):
        _fail("name", f"{name!r} is not a DNS-1123 label", hint=f"a DNS-1123 label: {rule}")
    if name.startswith("kube-") or name in c.PLATFORM_NAMESPACES:
        _fail("name", f"{name!r} is reserved for the platform", hint="pick another tenant name")


def _check_image(image: Any) -> None:
    if not isinstance(image, str) or not image:
        _fail("image", f"expected an image reference, got {image!r}")
    match = _IMAGE.fullmatch(image)
    if match is None or len(match.group("path")) + len(match.group("domain") or "") > 255:
        _fail("image", f"{image!r} is not an image reference", hint="for example mlopsctl/inference:0.1.0")
    if match.group("tag") is None and match.group("digest") is None:
        _fail("image", f"{image!r} has no tag or digest", hint="name an immutable tag or a sha256 digest")
    if match.group("tag") == "latest" and match.group("digest") is None:
        _fail("image", f"{image!r} uses the moving tag 'latest'", hint="name an immutable tag or a sha256 digest")


def _check_label_value(field: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        _fail(field, f"expected a non-empty string, got {value!r}")
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        _fail(
            field,
            f"{value!r} is not a valid label value",
            hint="letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63",
        )


def _check_label_key(field: str, key: str) -> None:
    prefix, _, name = key.rpartition("/")
    ok = 0 < len(name) <= 63 and _LABEL_NAME.fullmatch(name) is not None
    if prefix:
        ok = ok and len(prefix) <= 253 and _LABEL_PREFIX.fullmatch(prefix) is not None
    if not ok:
        _fail(field, f"{key!r} is not a valid label key")


def _check_quantity(spec: TenantSpec, field: str, parse) -> Fraction:
    value = getattr(spec, field)
    try:
        return parse(value)
    except QuantityError as exc:
        _fail(field, str(exc))
    raise AssertionError("unreachable")


def _validate(spec: TenantSpec) -> None:
    _check_name(spec.name)
    _check_image(spec.image)
    _check_label_value("model_version", spec.model_version)
    if spec.model_uri is not None and (not isinstance(spec.model_uri, str) or not _S3_URI.fullmatch(spec.model_uri)):
        _fail("model_uri", f"{spec.model_uri!r} is not an s3:// URI", hint="for example s3://models/sentiment/v2")
    _check_int(spec, "min_replicas", 1, MAX_REPLICAS_LIMIT)
    _check_int(spec, "max_replicas", 1, MAX_REPLICAS_LIMIT)
    if spec.max_replicas < spec.min_replicas:
        _fail("max_replicas", f"{spec.max_replicas} is below min_replicas ({spec.min_replicas})")
    _check_int(spec, "cpu_target_percent", 1, 100)
    cpu_request = _check_quantity(spec, "cpu_request", parse_cpu)
    memory_request = _check_quantity(spec, "memory_request", parse_memory)
    cpu_limit = _check_quantity(spec, "cpu_limit", parse_cpu)
    memory_limit = _check_quantity(spec, "memory_limit", parse_memory)
    if cpu_limit < cpu_request:
        _fail("cpu_limit", f"{spec.cpu_limit} is below cpu_request ({spec.cpu_request})")
    if memory_limit < memory_request:
        _fail("memory_limit", f"{spec.memory_limit} is below memory_request ({spec.memory_request})")
    _check_int(spec, "gpus", 0, MAX_GPUS)
    selector = spec.gpu_node_selector
    if not isinstance(selector, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in selector):
        _fail("gpu_node_selector", f"expected key=value pairs, got {selector!r}")
    for key, value in selector:
        _check_label_key("gpu_node_selector", key)
        if value != "":
            _check_label_value("gpu_node_selector", value)
    if not isinstance(spec.service_monitor, bool):
        _fail("service_monitor", f"expected true or false, got {spec.service_monitor!r}")
    for field in ("quota_cpu", "quota_memory"):
        if getattr(spec, field) is not None and not isinstance(getattr(spec, field), str):
            _fail(field, f"expected a quantity string, got {getattr(spec, field)!r}")


def _max_pods(spec: TenantSpec) -> int:
    return spec.max_replicas + SURGE_PODS


def _default_quota(spec: TenantSpec) -> dict[str, Any]:
    pods = _max_pods(spec) + HEADROOM_PODS
    return {
        "quota_cpu": format_cpu(pods * parse_cpu(spec.cpu_limit)),
        "quota_memory": format_memory(pods * parse_memory(spec.memory_limit)),
        "quota_pods": pods,
    }


def _validate_quota(spec: TenantSpec) -> None:
    """The quota must hold max_replicas pods during a rolling update, or the HPA's scale-out silently stalls."""
    pods = _max_pods(spec)
    quota_pods = _check_int(spec, "quota_pods", 1, 100_000)
    if quota_pods < pods:
        _fail("quota_pods", f"{spec.quota_pods} cannot hold max_replicas + {SURGE_PODS} surge = {pods} pods")
    cpu = _check_quantity(spec, "quota_cpu", parse_cpu)
    need_cpu = pods * parse_cpu(spec.cpu_limit)
    if cpu < need_cpu:
        _fail("quota_cpu", f"{spec.quota_cpu} cannot hold {pods} pods at cpu_limit {spec.cpu_limit}")
    memory = _check_quantity(spec, "quota_memory", parse_memory)
    need_memory = pods * parse_memory(spec.memory_limit)
    if memory < need_memory:
        _fail("quota_memory", f"{spec.quota_memory} cannot hold {pods} pods at memory_limit {spec.memory_limit}")


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
        quota_hard[f"requests.{c.GPU_RESOURCE}"] = str(spec.gpus * _max_pods(spec))
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
