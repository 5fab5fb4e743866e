"""A fake cluster for load-test tests: the in-memory API plus what the Job controller and the kubelet would do."""

from __future__ import annotations

import json
from collections.abc import Iterator

from inference.loadgen.stats import Recorder, encode
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


def worker_lines(index: int, workers: int, seconds: list[list[int]], report: bool = True) -> list[str]:
    """What worker `index` of an Indexed Job prints with --stream: a progress line per second (its interval with
    the second's histogram), then its report with the whole run's histograms. `seconds`: latencies in us."""
    recorder = Recorder()
    lines, timeline = [], []

    def so_far(t: float) -> dict:
        return {
            **{key: value for key, value in summary(1.0).items() if key not in ("requests", "latency_ms")},
            "duration_s": t,
            "target_rate": 100.0 / workers,
            "achieved_rate": recorder.completed / t,
            "requests": recorder.requests_summary(0),
            "latency_ms": recorder.latency_summary(),
            "errors": recorder.errors_summary(),
            "engine": {"schedule_lag_ms": {"p50": 0.1, "p99": 0.2 + index, "max": 0.3 + index}, "cpu_seconds": 0.5},
            "worker": {"index": index, "workers": workers, "start_at": 1e9, "start_lateness_ms": 10.0 * index},
        }

    for second, values in enumerate(seconds, start=1):
        for value in values:
            recorder.record_sent()
            recorder.scheduled += 1
            recorder.record_response(value / 1e6, 200, 0.0)
        interval = recorder.take_interval(float(second), 1.0, 100.0 / workers, 0, with_histogram=True)
        timeline.append(interval)
        line = {"type": "progress", "phase": "run", "t": float(second), "interval": interval, "summary": so_far(second)}
        lines.append(json.dumps(line))
    if report:
        final_report = so_far(float(len(seconds)))
        final_report["histograms"] = {
            "latency_us": encode(recorder.latency),
            "schedule_lag_us": encode(recorder.lag),
            "latency_sum_us": recorder.total_us,
            "latency_sum_squares_us": recorder.squares,
        }
        final_report["timeline"] = timeline
        lines.append(json.dumps({"type": "report", "report": final_report}))
    return lines


COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


class FakeCluster(FakeKubeApi):
    """The fake API plus what the Job controller and kubelet would do: a Job gets a uid and, as an Indexed Job,
    one pod per completion index (annotated with it, as JOB_COMPLETION_INDEX tells the container), each with
    its log: `lines` for every pod, or `lines_by_index` per pod."""

    def __init__(
        self,
        lines: list[str] | None = None,
        pod_phase: str = "Running",
        waiting_reason: str | None = None,
        create_pod: bool = True,
        interrupt_after: int | None = None,
        lines_by_index: dict[int, list[str]] | None = None,
        phase_by_index: dict[int, str] | None = None,
        waiting_by_index: dict[int, str] | None = None,
    ) -> None:
        super().__init__()
        self.lines = lines if lines is not None else [progress(1), progress(2), progress(3), final()]
        self.lines_by_index = lines_by_index or {}
        self.phase_by_index = phase_by_index or {}
        self.waiting_by_index = waiting_by_index or {}
        self.pod_phase = pod_phase
        self.waiting_reason = waiting_reason
        self.create_pod = create_pod
        self.interrupt_after = interrupt_after
        self.pod_index: dict[str, int] = {}
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
            completions = int(obj["spec"].get("completions") or 1)
            for index in range(completions):
                self._create_pod(obj, index, completions)
        return applied

    def _create_pod(self, job: dict, index: int, completions: int) -> None:
        labels = {**job["spec"]["template"]["metadata"]["labels"], COMPLETION_INDEX: str(index)}
        reason = self.waiting_by_index.get(index, self.waiting_reason)
        status: dict = {"phase": self.phase_by_index.get(index, self.pod_phase)}
        if reason:
            status = {
                "phase": "Pending",
                "containerStatuses": [
                    {"name": "loadgen", "state": {"waiting": {"reason": reason, "message": "no image"}}}
                ],
            }
        name = f"{job['metadata']['name']}-pod" if completions == 1 else f"{job['metadata']['name']}-{index}-x1"
        self.pod_index[name] = index
        self.add(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": "tenant-a",
                    "labels": labels,
                    "annotations": {COMPLETION_INDEX: str(index)},
                },
                "status": status,
            }
        )

    def pod_logs(self, namespace, pod, container=None, follow=False) -> Iterator[str]:
        self.calls.append(("pod_logs", (namespace, pod, container, follow)))
        lines = self.lines_by_index.get(self.pod_index.get(pod, 0), self.lines)
        for number, line in enumerate(lines, start=1):
            if self.interrupt_after is not None and number > self.interrupt_after:
                raise KeyboardInterrupt
            yield line

    def leftovers(self) -> list[tuple[str, str]]:
        return [(key[1], key[3]) for key in self.objects if key[3].startswith("loadtest-")]
