"""Report inputs shaped like real runs: a 30-second load test whose p99 breaks its SLO while the HPA scales out,
and a live `verify all` against the fake cluster with one leaking connection and one over-granted account."""

from __future__ import annotations

from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import AccessReview
from mlopsctl.output import to_data
from mlopsctl.services.verify import LiveReport, merge_reports

SECONDS = 30
SLOW_SECONDS = range(10, 16)  # p99 above the 200 ms SLO
ERROR_SECONDS = (12, 13, 14)


def load_result(tenant: str = "tenant-a") -> dict[str, Any]:
    timeline, hpa = [], []
    for t in range(1, SECONDS + 1):
        slow = t in SLOW_SECONDS
        errors = 4 if t in ERROR_SECONDS else 0
        timeline.append(
            {
                "t": float(t), "duration": 1.0, "target_rate": 200.0, "rate": 170.0 if slow else 199.0 + (t % 3) * 0.5,
                "sent": 200, "completed": 196 - errors, "ok": 196 - errors, "errors": errors, "failed": 0,
                "dropped": 6 if slow else 0, "in_flight": 4, "p50": 8.0 + t % 4, "p90": 40.0 if slow else 15.0,
                "p99": 310.0 + t if slow else 60.0 + t, "max": 420.0 if slow else 90.0,
            }
        )  # fmt: skip
        replicas = 2 if t < 8 else 3 if t < 14 else 5
        hpa.append(
            {
                "t": float(t), "current_replicas": replicas, "desired_replicas": 5 if t >= 11 else replicas,
                "cpu_percent": 40 + 6 * t if t < 15 else 70, "cpu_target_percent": 50,
                "min_replicas": 2, "max_replicas": 10,
            }
        )  # fmt: skip
    report = {
        "schema": "loadgen.report/v1", "url": f"http://inference.{tenant}.svc:80", "path": "/predict",
        "model": "open", "mix": "predict", "started_at": "2026-12-03T08:00:00+00:00", "interrupted": False,
        "duration_s": float(SECONDS), "target_rate": 200.0, "achieved_rate": 193.6, "ok_rate": 193.2,
        "requests": {"scheduled": 6000, "sent": 5964, "dropped": 36, "completed": 5952, "ok": 5940, "failed": 0,
                     "errors": 12, "in_flight": 0, "warmup": 0},
        "latency_ms": {"count": 5940, "min": 2.1, "mean": 24.0, "p50": 9.5, "p90": 17.0, "p95": 60.0, "p99": 318.0,
                       "p99_9": 410.0, "max": 420.0, "stdev": 40.0},
        "errors": {"by_status": {"503": 12}, "by_exception": {}},
        "engine": {"client": "asyncio-protocol", "loop": "uvloop", "connections_opened": 24, "max_connections": 128,
                   "max_in_flight_seen": 60, "schedule_lag_ms": {"p50": 0.1, "p99": 1.9, "max": 4.0},
                   "cpu_seconds": 3.2},
        "timeline": timeline,
    }  # fmt: skip
    slo = [
        {"threshold": "p99<200ms", "metric": "p99", "op": "<", "limit": 200.0, "actual": 318.0, "unit": "ms",
         "passed": False},
        {"threshold": "errors<1%", "metric": "errors", "op": "<", "limit": 1.0, "actual": 0.2, "unit": "%",
         "passed": True},
    ]  # fmt: skip
    return {
        "tenant": tenant, "mode": "in-cluster", "target": f"http://inference.{tenant}.svc:80", "job": "loadtest-abc123",
        "interrupted": False, "stopped_early": False, "slo_passed": False, "slo": slo, "report": report, "hpa": hpa,
        "notes": [],
    }  # fmt: skip


LEAK = ("tenant-a/inference-a1", "tenant-b")  # tenant-a's pod reaches tenant-b's Service: a leaking CNI path


def verify_all_report() -> LiveReport:
    """`verify isolation` run for real against the fake cluster, merged with an autoscaling part that drove load."""
    from mlopsctl.services.verify_network import verify_network
    from mlopsctl.services.verify_rbac import verify_rbac
    from tests.unit.services.verify_cluster import SERVICE_IP, ScriptedNetwork, cluster, evaluator_sar

    api = cluster()
    network = ScriptedNetwork()
    network.allowed.add((LEAK[0], SERVICE_IP[LEAK[1]], c.SERVICE_PORT, "TCP"))
    api.exec_handler = network
    rbac = evaluator_sar(api)

    def access(review: AccessReview) -> bool:  # RBAC, and the API server grants tenant-b's account secrets in tenant-a
        return rbac(review) or (
            review.user == "system:serviceaccount:tenant-b:inference"
            and review.resource == "secrets"
            and (review.namespace == "tenant-a")
        )

    api.access_handler = access
    clock = iter(f"2026-12-03T08:{10 + i // 60:02d}:{i % 60:02d}+00:00" for i in range(100_000))
    isolation = merge_reports(
        "isolation",
        [
            verify_rbac(api, now=lambda: next(clock)),
            verify_network(api, attempts=1, sleep=lambda s: None, now=lambda: next(clock)),
        ],
    )
    autoscaling = LiveReport("autoscaling", isolation.cluster_version, isolation.finished, isolation.finished)
    for seconds, replicas, desired, cpu in ((0, 2, 2, 35), (5, 2, 3, 92), (10, 3, 5, 130), (15, 5, 5, 70)):
        autoscaling.timeline.append(
            {"tenant": "tenant-a", "phase": "load", "at": "2026-12-03T08:20:00+00:00", "seconds": seconds,
             "replicas": replicas, "desired": desired, "cpu_percent": cpu}
        )  # fmt: skip
    autoscaling.loads.append(load_result())
    return merge_reports("all", [isolation, autoscaling])


def as_data(report: LiveReport) -> dict[str, Any]:
    return to_data(report)
