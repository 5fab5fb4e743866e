"""A fake cluster for load-test tests: the in-memory API plus what the Job controller and the kubelet would do."""

from __future__ import annotations

import json
from collections.abc import Iterator

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

JOB = "loadtest-test01"


def summary(t: float, p99: float = 12.0, completed: int = 100) -> dict:
    return {
        "schema": "loadgen.report/v1",
        "model": "open",
        "url": "http://inference.tenant-a.svc:80",
        "path": "/predict",
        "interrupted": False,
        "duration_s": t,
        "target_rate": 100.0,
        "achieved_rate": completed / t,
        "requests": {
            "scheduled": completed,
            "sent": completed,
            "dropped": 0,
            "completed": completed,
            "ok": completed,
            "failed": 0,
            "errors": 0,
            "in_flight": 0,
            "warmup": 0,
        },
        "latency_ms": {
            "count": completed,
            "p50": 3.0,
            "p90": 6.0,
            "p95": 8.0,
            "p99": p99,
            "p99_9": p99,
            "max": p99,
            "mean": 3.5,
            "min": 1.0,
            "stdev": 1.0,
        },
        "errors": {"by_status": {}, "by_exception": {}},
    }


def progress(t: int) -> str:
    interval = {
        "t": float(t),
        "duration": 1.0,
        "target_rate": 100.0,
        "rate": 100.0,
        "sent": 100,
        "completed": 100,
        "ok": 100,
        "errors": 0,
        "failed": 0,
        "dropped": 0,
        "in_flight": 1,
        "p50": 3.0,
        "p90": 6.0,
        "p99": 12.0,
        "max": 12.0,
    }
    return json.dumps(
        {
            "type": "progress",
            "phase": "run",
            "t": float(t),
            "interval": interval,
            "summary": summary(float(t), completed=100 * t),
        }
    )


def final(p99: float = 12.0) -> str:
    """The engine's last line: the whole report, its timeline the three seconds `progress` reported."""
    report = summary(3.0, p99=p99, completed=300)
    report["timeline"] = [json.loads(progress(t))["interval"] for t in (1, 2, 3)]
    return json.dumps({"type": "report", "report": report})


class FakeCluster(FakeKubeApi):
    """The fake API plus what the Job controller and kubelet would do: a Job gets a uid and a pod with logs."""

    def __init__(
        self,
        lines: list[str] | None = None,
        pod_phase: str = "Running",
        waiting_reason: str | None = None,
        create_pod: bool = True,
        interrupt_after: int | None = None,
    ) -> None:
        super().__init__()
        self.lines = lines if lines is not None else [progress(1), progress(2), progress(3), final()]
        self.pod_phase = pod_phase
        self.waiting_reason = waiting_reason
        self.create_pod = create_pod
        self.interrupt_after = interrupt_after
        for obj in render_tenant(TenantSpec.create("tenant-a", image="mlopsctl/inference:0.1.0-abc")):
            self.add(obj)
        hpa = self.objects[self.key("autoscaling/v2", "HorizontalPodAutoscaler", c.APP_NAME, "tenant-a")]
        hpa["status"] = {
            "currentReplicas": 2,
            "desiredReplicas": 4,
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 87}}}
            ],
        }

    def apply(self, obj, *, force=False, dry_run=False):
        obj = dict(obj)
        if obj["kind"] == "Job":
            obj["metadata"] = {**obj["metadata"], "uid": "uid-1234"}
        applied = super().apply(obj, force=force, dry_run=dry_run)
        if obj["kind"] == "Job" and self.create_pod:
            labels = obj["spec"]["template"]["metadata"]["labels"]
            status: dict = {"phase": self.pod_phase}
            if self.waiting_reason:
                status = {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "loadgen",
                            "state": {"waiting": {"reason": self.waiting_reason, "message": "no image"}},
                        }
                    ],
                }
            self.add(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"{obj['metadata']['name']}-pod", "namespace": "tenant-a", "labels": labels},
                    "status": status,
                }
            )
        return applied

    def pod_logs(self, namespace, pod, container=None, follow=False) -> Iterator[str]:
        self.calls.append(("pod_logs", (namespace, pod, container, follow)))
        for number, line in enumerate(self.lines, start=1):
            if self.interrupt_after is not None and number > self.interrupt_after:
                raise KeyboardInterrupt
            yield line

    def leftovers(self) -> list[tuple[str, str]]:
        return [(key[1], key[3]) for key in self.objects if key[3].startswith("loadtest-")]
