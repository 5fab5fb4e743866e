"""HPA readiness from its spec and status."""

from __future__ import annotations

from mlopsctl.analysis.hpa import hpa_state


def _hpa(conditions=None, current_cpu=40, target_cpu=50):
    status = {"currentReplicas": 3, "desiredReplicas": 4, "conditions": conditions or []}
    if current_cpu is not None:
        status["currentMetrics"] = [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current_cpu}}}
        ]
    metrics = []
    if target_cpu is not None:
        metrics = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target_cpu}},
            }
        ]
    return {
        "metadata": {"name": "inference", "namespace": "t"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "inference"},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": metrics,
        },
        "status": status,
    }


READY = [
    {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
    {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
]


def test_ready_hpa():
    state = hpa_state(_hpa(READY))
    assert state.ready and state.problems == []
    assert (state.min_replicas, state.max_replicas, state.current_replicas, state.desired_replicas) == (2, 10, 3, 4)
    assert (state.cpu_utilization, state.cpu_target, state.target) == (40, 50, "Deployment/inference")


def test_missing_metrics_make_scaling_inactive():
    conditions = [
        READY[0],
        {
            "type": "ScalingActive",
            "status": "False",
            "reason": "FailedGetResourceMetric",
            "message": "unable to get metrics",
        },
    ]
    state = hpa_state(_hpa(conditions, current_cpu=None))
    assert not state.ready
    assert state.problems == [
        "ScalingActive is False (FailedGetResourceMetric): unable to get metrics",
        "no current CPU value (the metrics API has not reported one yet)",
    ]


def test_no_status_yet_and_no_cpu_target():
    state = hpa_state(_hpa([], current_cpu=None, target_cpu=None))
    assert state.problems == ["AbleToScale is missing", "ScalingActive is missing", "no CPU utilization target"]
