"""HPA readiness (autoscaling/v2): can this HorizontalPodAutoscaler scale right now, and on what CPU figure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Condition:
    status: str  # True, False, Unknown, or "missing"
    reason: str = ""
    message: str = ""

    @property
    def true(self) -> bool:
        return self.status == "True"

    def describe(self) -> str:
        text = self.status
        if self.reason:
            text += f" ({self.reason})"
        return text


@dataclass(frozen=True)
class HpaState:
    namespace: str
    name: str
    target: str
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int
    cpu_utilization: int | None  # current average utilization, percent of requests
    cpu_target: int | None
    able_to_scale: Condition
    scaling_active: Condition
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


def condition(obj: Mapping[str, Any] | None, kind: str) -> Condition:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return Condition(str(item.get("status", "Unknown")), item.get("reason", ""), item.get("message", ""))
    return Condition("missing")


def _cpu(metrics: Any) -> int | None:
    for metric in metrics or []:
        if metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu":
            resource = metric["resource"]
            value = (resource.get("current") or resource.get("target") or {}).get("averageUtilization")
            if value is not None:
                return int(value)
    return None


def hpa_state(hpa: Mapping[str, Any]) -> HpaState:
    meta = hpa.get("metadata") or {}
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    able = condition(hpa, "AbleToScale")
    active = condition(hpa, "ScalingActive")
    current_cpu = _cpu(status.get("currentMetrics"))
    target_cpu = _cpu(spec.get("metrics"))
    problems = []
    if not able.true:
        problems.append(f"AbleToScale is {able.describe()}" + (f": {able.message}" if able.message else ""))
    if not active.true:
        problems.append(f"ScalingActive is {active.describe()}" + (f": {active.message}" if active.message else ""))
    if target_cpu is None:
        problems.append("no CPU utilization target")
    elif current_cpu is None:
        problems.append("no current CPU value (the metrics API has not reported one yet)")
    return HpaState(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        target=f"{ref.get('kind', '')}/{ref.get('name', '')}",
        min_replicas=int(spec.get("minReplicas") or 1),
        max_replicas=int(spec.get("maxReplicas") or 1),
        current_replicas=int(status.get("currentReplicas") or 0),
        desired_replicas=int(status.get("desiredReplicas") or 0),
        cpu_utilization=current_cpu,
        cpu_target=target_cpu,
        able_to_scale=able,
        scaling_active=active,
        problems=problems,
    )
