"""The rules a tenant spec is held to, each failure an `InvalidTenantSpec` naming the field: names, images,
labels, quantities, replica and GPU bounds, and quotas that can hold the pods the spec may run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn

from mlopsctl import constants as c
from mlopsctl.errors import UsageError
from mlopsctl.manifests.quantity import QuantityError, format_cpu, format_memory, parse_cpu, parse_memory

if TYPE_CHECKING:
    from mlopsctl.manifests.tenant import TenantSpec

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


def fail(field: str, problem: str, hint: str | None = None) -> NoReturn:
    raise InvalidTenantSpec(field, problem, hint)


def selector_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """A node selector as sorted pairs, from a mapping, pairs, or `key=value` strings."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str):
        items = [_split_pair(value)]
    elif isinstance(value, list | tuple):
        items = [_split_pair(item) if isinstance(item, str) else tuple(item) for item in value]
    else:
        fail("gpu_node_selector", f"expected key=value pairs, got {value!r}")
    return tuple(sorted((str(k), str(v)) for k, v in items))


def _split_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        fail("gpu_node_selector", f"expected key=value, got {text!r}")
    return key, value


def _check_int(spec: TenantSpec, field: str, low: int, high: int) -> int:
    value = getattr(spec, field)
    if isinstance(value, bool) or not isinstance(value, int):
        fail(field, f"expected a whole number, got {value!r}")
    if not low <= value <= high:
        fail(field, f"must be between {low} and {high}, got {value}")
    return value


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        fail("name", f"expected a non-empty string, got {name!r}")
    rule = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
    if len(name) > 63:
        fail("name", f"{name[:20]!r}... is {len(name)} characters, more than 63", hint=f"a DNS-1123 label: {rule}")
    if not _DNS_LABEL.fullmatch(name):
        fail("name", f"{name!r} is not a DNS-1123 label", hint=f"a DNS-1123 label: {rule}")
    if name.startswith("kube-") or name in c.PLATFORM_NAMESPACES:
        fail("name", f"{name!r} is reserved for the platform", hint="pick another tenant name")


def _check_image(image: Any) -> None:
    if not isinstance(image, str) or not image:
        fail("image", f"expected an image reference, got {image!r}")
    match = _IMAGE.fullmatch(image)
    if match is None or len(match.group("path")) + len(match.group("domain") or "") > 255:
        fail("image", f"{image!r} is not an image reference", hint="for example mlopsctl/inference:0.1.0")
    if match.group("tag") is None and match.group("digest") is None:
        fail("image", f"{image!r} has no tag or digest", hint="name an immutable tag or a sha256 digest")
    if match.group("tag") == "latest" and match.group("digest") is None:
        fail("image", f"{image!r} uses the moving tag 'latest'", hint="name an immutable tag or a sha256 digest")


def _check_label_value(field: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        fail(field, f"expected a non-empty string, got {value!r}")
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        fail(
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
        fail(field, f"{key!r} is not a valid label key")


def _check_quantity(spec: TenantSpec, field: str, parse) -> Fraction:
    value = getattr(spec, field)
    try:
        return parse(value)
    except QuantityError as exc:
        fail(field, str(exc))
    raise AssertionError("unreachable")


def validate(spec: TenantSpec) -> None:
    _check_name(spec.name)
    _check_image(spec.image)
    _check_label_value("model_version", spec.model_version)
    if spec.model_uri is not None and (not isinstance(spec.model_uri, str) or not _S3_URI.fullmatch(spec.model_uri)):
        fail("model_uri", f"{spec.model_uri!r} is not an s3:// URI", hint="for example s3://models/sentiment/v2")
    _check_int(spec, "min_replicas", 1, MAX_REPLICAS_LIMIT)
    _check_int(spec, "max_replicas", 1, MAX_REPLICAS_LIMIT)
    if spec.max_replicas < spec.min_replicas:
        fail("max_replicas", f"{spec.max_replicas} is below min_replicas ({spec.min_replicas})")
    _check_int(spec, "cpu_target_percent", 1, 100)
    cpu_request = _check_quantity(spec, "cpu_request", parse_cpu)
    memory_request = _check_quantity(spec, "memory_request", parse_memory)
    cpu_limit = _check_quantity(spec, "cpu_limit", parse_cpu)
    memory_limit = _check_quantity(spec, "memory_limit", parse_memory)
    if cpu_limit < cpu_request:
        fail("cpu_limit", f"{spec.cpu_limit} is below cpu_request ({spec.cpu_request})")
    if memory_limit < memory_request:
        fail("memory_limit", f"{spec.memory_limit} is below memory_request ({spec.memory_request})")
    _check_int(spec, "gpus", 0, MAX_GPUS)
    selector = spec.gpu_node_selector
    if not isinstance(selector, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in selector):
        fail("gpu_node_selector", f"expected key=value pairs, got {selector!r}")
    for key, value in selector:
        _check_label_key("gpu_node_selector", key)
        if value != "":
            _check_label_value("gpu_node_selector", value)
    if not isinstance(spec.service_monitor, bool):
        fail("service_monitor", f"expected true or false, got {spec.service_monitor!r}")
    for field in ("quota_cpu", "quota_memory"):
        if getattr(spec, field) is not None and not isinstance(getattr(spec, field), str):
            fail(field, f"expected a quantity string, got {getattr(spec, field)!r}")


def max_pods(spec: TenantSpec) -> int:
    return spec.max_replicas + SURGE_PODS


def default_quota(spec: TenantSpec) -> dict[str, Any]:
    pods = max_pods(spec) + HEADROOM_PODS
    return {
        "quota_cpu": format_cpu(pods * parse_cpu(spec.cpu_limit)),
        "quota_memory": format_memory(pods * parse_memory(spec.memory_limit)),
        "quota_pods": pods,
    }


def validate_quota(spec: TenantSpec) -> None:
    """The quota must hold max_replicas pods during a rolling update, or the HPA's scale-out silently stalls."""
    pods = max_pods(spec)
    quota_pods = _check_int(spec, "quota_pods", 1, 100_000)
    if quota_pods < pods:
        fail("quota_pods", f"{spec.quota_pods} cannot hold max_replicas + {SURGE_PODS} surge = {pods} pods")
    cpu = _check_quantity(spec, "quota_cpu", parse_cpu)
    need_cpu = pods * parse_cpu(spec.cpu_limit)
    if cpu < need_cpu:
        fail("quota_cpu", f"{spec.quota_cpu} cannot hold {pods} pods at cpu_limit {spec.cpu_limit}")
    memory = _check_quantity(spec, "quota_memory", parse_memory)
    need_memory = pods * parse_memory(spec.memory_limit)
    if memory < need_memory:
        fail("quota_memory", f"{spec.quota_memory} cannot hold {pods} pods at memory_limit {spec.memory_limit}")
