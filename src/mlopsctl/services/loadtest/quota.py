"""Whether N load generator pods fit the tenant's ResourceQuota headroom (hard minus used), checked before the
Job exists: a Job whose pods the quota refuses only shows it in its events, and the run would wait for nothing.

The headroom comes from each quota's `status` (what the quota controller counted); a quota with no status yet
counts as unused (the API server still enforces it on admission).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.errors import Forbidden, UsageError
from mlopsctl.manifests.quantity import QuantityError, format_cpu, format_memory, parse_quantity

# Quota keys a load generator pod counts against, and which of its requests/limits each one is.
_POD_KEYS = {
    "pods": ("pods", None),
    "count/pods": ("pods", None),
    "cpu": ("requests", "cpu"),
    "requests.cpu": ("requests", "cpu"),
    "limits.cpu": ("limits", "cpu"),
    "memory": ("requests", "memory"),
    "requests.memory": ("requests", "memory"),
    "limits.memory": ("limits", "memory"),
}
_JOB_KEYS = ("count/jobs.batch",)


@dataclass(frozen=True)
class Shortfall:
    quota: str
    key: str
    needed: Fraction
    per_pod: Fraction
    left: Fraction
    hard: Fraction
    used: Fraction

    def text(self, pods: int) -> str:
        show = _formatter(self.key)
        each = f" ({pods} x {show(self.per_pod)})" if pods > 1 and self.per_pod else ""
        return (
            f"{self.key} needs {show(self.needed)}{each}, {show(self.left)} left "
            f"(hard {show(self.hard)}, used {show(self.used)}, quota {self.quota})"
        )


def _formatter(key: str) -> Callable[[Fraction], str]:
    if key.endswith("cpu"):
        return format_cpu
    if key.endswith("memory"):
        return format_memory
    return lambda value: str(int(value)) if value.denominator == 1 else str(float(value))


def _value(text: object) -> Fraction | None:
    try:
        return parse_quantity(str(text))[0]
    except QuantityError:
        return None


def per_pod_demand(key: str, requests: Mapping[str, str], limits: Mapping[str, str]) -> Fraction | None:
    """How much one load generator pod counts against quota `key` (None: a key it does not count against)."""
    if key not in _POD_KEYS:
        return None
    part, resource = _POD_KEYS[key]
    if resource is None:
        return Fraction(1)
    source = requests if part == "requests" else limits
    return _value(source.get(resource, "0")) or Fraction(0)


def shortfalls(
    quotas: list[KubeObject], pods: int, requests: Mapping[str, str], limits: Mapping[str, str]
) -> tuple[list[Shortfall], int | None]:
    """What `pods` generator pods (one Job) would exceed, and how many pods would fit (None: no limit)."""
    found: list[Shortfall] = []
    fits: int | None = None
    for quota in quotas:
        name = (quota.get("metadata") or {}).get("name", "?")
        hard = (quota.get("status") or {}).get("hard") or (quota.get("spec") or {}).get("hard") or {}
        used = (quota.get("status") or {}).get("used") or {}
        for key, hard_text in sorted(hard.items()):
            limit = _value(hard_text)
            if limit is None:
                continue
            spent = _value(used.get(key, "0")) or Fraction(0)
            left = max(limit - spent, Fraction(0))
            if key in _JOB_KEYS:
                if left < 1:
                    found.append(Shortfall(name, key, Fraction(1), Fraction(0), left, limit, spent))
                continue
            each = per_pod_demand(key, requests, limits)
            if not each:
                continue
            room = int(left // each)
            fits = room if fits is None else min(fits, room)
            if each * pods > left:
                found.append(Shortfall(name, key, each * pods, each, left, limit, spent))
    return found, fits


def check_headroom(
    kube: KubeApi, namespace: str, pods: int, requests: Mapping[str, str], limits: Mapping[str, str]
) -> None:
    """UsageError naming the headroom when `pods` load generator pods do not fit the tenant's quotas."""
    try:
        quotas = kube.list("v1", "ResourceQuota", namespace)
    except Forbidden:  # a user who may not read quotas still may run load; admission enforces them anyway
        return
    missing, fits = shortfalls(quotas, pods, requests, limits)
    if not missing:
        return
    what = "1 load generator pod does" if pods == 1 else f"{pods} load generator pods do"
    detail = "; ".join(item.text(pods) for item in missing)
    raise_quota = f"raise the tenant's quota (`mlopsctl tenant add {namespace} --quota-cpu ... --quota-pods ...`)"
    hint = (
        f"use --workers {fits} (what fits now), or {raise_quota}"
        if fits
        else f"wait for a scale-down, or {raise_quota}"
    )
    raise UsageError(f"{what} not fit the quota headroom of tenant {namespace}: {detail}", hint=hint)
