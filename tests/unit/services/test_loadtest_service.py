"""The in-cluster load test's lifecycle against the in-memory API: Job applied, pod followed, Job always deleted."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as c
from mlopsctl.errors import ClusterError, ClusterUnreachable, NotFound, UsageError
from mlopsctl.progress import NullStatus
from mlopsctl.services.loadtest import (
    LoadOptions,
    LoadtestInterrupted,
    hpa_sample,
    parse_options,
    parse_slo_option,
    run_in_cluster,
)

from .loadtest_cluster import JOB, FakeCluster, final, progress


def run(api: FakeCluster, **kwargs):
    kwargs.setdefault("sleep", lambda seconds: None)
    return run_in_cluster(api, "tenant-a", kwargs.pop("options", LoadOptions(rate=100, duration=3)), name=JOB, **kwargs)


def test_runs_a_job_from_the_tenant_image_against_its_service_and_deletes_it():
    api = FakeCluster()
    seen = []
    result = run(api, on_progress=seen.append)

    applied = [args for name, args in api.calls if name == "apply"]
    assert applied == [("Job", "tenant-a", JOB), ("NetworkPolicy", "tenant-a", JOB)]
    assert api.leftovers() == []
    deleted = [args for name, args in api.calls if name == "delete"]
    assert ("Job", "tenant-a", JOB) in deleted and ("NetworkPolicy", "tenant-a", JOB) in deleted
    assert ("Pod", "tenant-a", f"{JOB}-pod") in deleted
    assert ("pod_logs", ("tenant-a", f"{JOB}-pod", c.LOADTEST_CONTAINER, True)) in api.calls

    assert [p.t for p in seen] == [1.0, 2.0, 3.0]
    assert seen[0].hpa.current_replicas == 2 and seen[0].hpa.desired_replicas == 4 and seen[0].hpa.cpu_percent == 87
    assert result.mode == "in-cluster" and result.job == JOB
    assert result.target == "http://inference.tenant-a.svc:80"
    assert result.report["requests"]["completed"] == 300
    assert len(result.hpa) == 3 and not result.interrupted and result.slo_passed is None


def test_job_args_image_and_policy_owner():
    api = FakeCluster()
    captured = {}
    original = api.apply

    def capture(obj, **kwargs):
        captured[obj["kind"]] = obj
        return original(obj, **kwargs)

    api.apply = capture
    run(api, options=LoadOptions(rate=250, duration=60, warmup=5))
    container = captured["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mlopsctl/inference:0.1.0-abc"
    args = container["args"]
    assert args[:2] == ["--url", "http://inference.tenant-a.svc:80"]
    assert args[args.index("--rate") + 1] == "250" and "--stream" in args
    assert args[args.index("--connect-wait") + 1] == "60s"
    owner = captured["NetworkPolicy"]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", JOB, "uid-1234")


def test_image_override():
    api = FakeCluster()
    images = []
    original = api.apply

    def capture(obj, **kwargs):
        if obj["kind"] == "Job":
            images.append(obj["spec"]["template"]["spec"]["containers"][0]["image"])
        return original(obj, **kwargs)

    api.apply = capture
    run(api, image="registry.example/inference:dev")
    assert images == ["registry.example/inference:dev"]


def test_unknown_tenant_fails_before_anything_is_applied():
    api = FakeCluster()
    with pytest.raises(NotFound, match="tenant 'nope' not found"):
        run_in_cluster(api, "nope", LoadOptions(rate=10, duration=1), name=JOB, sleep=lambda s: None)
    assert not [call for call in api.calls if call[0] == "apply"]


def test_unmanaged_namespace_is_not_a_tenant():
    api = FakeCluster()
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    with pytest.raises(NotFound):
        run_in_cluster(api, "kube-system", LoadOptions(rate=10, duration=1), name=JOB, sleep=lambda s: None)


def test_unreachable_service_is_a_cluster_error_and_the_job_is_gone():
    api = FakeCluster(lines=[json.dumps({"type": "error", "kind": "unreachable", "message": "cannot connect"})])
    with pytest.raises(ClusterUnreachable, match="could not reach the service") as caught:
        run(api)
    assert caught.value.exit_code == 5
    assert api.leftovers() == []


def test_pod_that_cannot_pull_its_image_is_reported_at_once():
    api = FakeCluster(waiting_reason="ImagePullBackOff")
    with pytest.raises(ClusterError, match="ImagePullBackOff"):
        run(api)
    assert api.leftovers() == []


def test_pod_that_never_appears_times_out_and_is_cleaned_up():
    api = FakeCluster(create_pod=False)
    clock = iter(range(0, 1000, 10))
    with pytest.raises(ClusterError, match="did not start within 30s"):
        run(api, start_timeout=30, clock=lambda: float(next(clock)))
    assert api.leftovers() == []


def test_ctrl_c_gives_the_partial_report_and_deletes_the_job():
    api = FakeCluster(interrupt_after=2)
    with pytest.raises(LoadtestInterrupted) as caught:
        run(api, slo=parse_slo_option("p99<200ms"))
    partial = caught.value.partial
    assert isinstance(caught.value, KeyboardInterrupt)
    assert partial.interrupted and partial.report["interrupted"] is True
    assert [entry["t"] for entry in partial.report["timeline"]] == [1.0, 2.0]
    assert partial.report["requests"]["completed"] == 200
    assert partial.slo_passed is True
    assert api.leftovers() == []


def test_engine_dying_without_a_report_keeps_what_was_measured():
    api = FakeCluster(lines=[progress(1), "Killed"])
    with pytest.raises(ClusterError, match="ended without a report") as caught:
        run(api)
    assert caught.value.partial.report["requests"]["completed"] == 100
    assert api.leftovers() == []


def test_callback_can_stop_the_load_early():
    api = FakeCluster()
    result = run(api, on_progress=lambda p: p.t >= 2.0)
    assert result.stopped_early and not result.interrupted
    assert [entry["t"] for entry in result.report["timeline"]] == [1.0, 2.0]
    assert api.leftovers() == []


def test_slo_breach_is_reported_in_the_result():
    api = FakeCluster(lines=[progress(1), final(p99=450.0)])
    result = run(api, slo=parse_slo_option("p99<200ms,errors<1%"))
    assert result.slo_passed is False
    assert [(b.threshold, b.actual) for b in result.slo_breaches()] == [("p99<200ms", 450.0)]


def test_cleanup_failure_is_a_note_not_a_crash():
    api = FakeCluster()
    original = api.delete

    def flaky(api_version, kind, name, namespace=None):
        if kind == "NetworkPolicy":
            raise ClusterUnreachable("connection refused")
        return original(api_version, kind, name, namespace)

    api.delete = flaky
    result = run(api)
    assert any("could not delete NetworkPolicy tenant-a/loadtest-test01" in note for note in result.notes)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rate": "fast"}, "invalid --rate 'fast'"),
        ({"duration": "soon"}, "invalid --duration 'soon'"),
        ({"rate": "10", "concurrency": 4}, "exactly one of"),
        ({"body_file_text": "{nope"}, "invalid --body-file"),
        ({"warmup": "-1s"}, "invalid --warmup"),
        ({"timeout": "0s"}, "invalid --timeout"),
    ],
)
def test_bad_options_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        parse_options(**options)


def test_option_defaults():
    options = parse_options()
    assert (options.rate, options.duration, options.concurrency) == (50.0, 30.0, None)
    assert parse_options(requests=500).duration is None
    assert parse_options(rate_from="10", rate_to="100", duration="1m").rate is None


def test_hpa_sample_reads_status_and_target():
    hpa = {
        "spec": {
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 50}}}],
        },
        "status": {"currentReplicas": 3, "desiredReplicas": 5},
    }
    sample = hpa_sample(hpa, 4.0)
    assert (sample.current_replicas, sample.desired_replicas, sample.cpu_percent) == (3, 5, None)
    assert (sample.cpu_target_percent, sample.min_replicas, sample.max_replicas) == (50, 2, 10)


def test_ctrl_c_while_waiting_for_the_pod_leaves_nothing_behind():
    api = FakeCluster(create_pod=False)

    def interrupted_sleep(seconds):
        raise KeyboardInterrupt

    with pytest.raises(LoadtestInterrupted) as caught:
        run(api, sleep=interrupted_sleep)
    assert caught.value.partial.report == {"timeline": [], "interrupted": True}
    assert api.leftovers() == []


def test_a_cut_log_stream_is_followed_again_without_repeating_lines():
    api = FakeCluster()
    streams = [[progress(1), progress(2)], [progress(1), progress(2), progress(3), final()]]

    def pod_logs(namespace, pod, container=None, follow=False):
        yield from streams.pop(0)

    api.pod_logs = pod_logs
    seen = []
    result = run(api, on_progress=seen.append)
    assert [p.t for p in seen] == [1.0, 2.0, 3.0]
    assert result.report["requests"]["completed"] == 300
    assert api.leftovers() == []


def test_a_pod_that_ended_mid_stream_is_not_followed_forever():
    api = FakeCluster(lines=[progress(1)], pod_phase="Failed")
    with pytest.raises(ClusterError, match="ended without a report"):
        run(api)
    assert sum(1 for call in api.calls if call[0] == "pod_logs") == 1


def test_cleanup_ignores_a_second_ctrl_c_and_restores_the_handler():
    import signal

    api = FakeCluster()
    handlers = []
    original = api.delete

    def record(api_version, kind, name, namespace=None):
        handlers.append(signal.getsignal(signal.SIGINT))
        return original(api_version, kind, name, namespace)

    api.delete = record
    before = signal.getsignal(signal.SIGINT)
    run(api)
    assert handlers and all(handler is signal.SIG_IGN for handler in handlers)
    assert signal.getsignal(signal.SIGINT) is before


def test_caller_can_give_up_while_the_pod_starts():
    api = FakeCluster(create_pod=False)
    phases = []

    def give_up(progress):
        phases.append(progress.phase)
        return True

    result = run(api, on_progress=give_up)
    assert phases == ["starting"]
    assert result.stopped_early and not result.interrupted
    assert result.report == {"timeline": [], "interrupted": False}
    assert api.leftovers() == []


def test_an_unexpected_error_still_deletes_the_job():
    api = FakeCluster()

    def broken(progress):
        raise RuntimeError("bug in a callback")

    with pytest.raises(RuntimeError, match="bug in a callback"):
        run(api, on_progress=broken)
    assert api.leftovers() == []


class Capturing(FakeCluster):
    """Keeps the Job as applied, and can leave its pod Pending with the scheduler's reason."""

    def __init__(self, unschedulable: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.unschedulable = unschedulable
        self.jobs: list[dict] = []

    def apply(self, obj, *, force=False, dry_run=False):
        applied = super().apply(obj, force=force, dry_run=dry_run)
        if obj["kind"] == "Job":
            self.jobs.append(obj)
            if self.unschedulable:
                pod = self.objects[self.key("v1", "Pod", f"{JOB}-pod", "tenant-a")]
                pod["status"] = {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": self.unschedulable}
                ]}  # fmt: skip
        return applied


def _job_image(api: Capturing) -> str:
    return api.jobs[0]["spec"]["template"]["spec"]["containers"][0]["image"]


def test_the_load_generator_runs_the_recorded_platform_image_else_the_tenants():
    from mlopsctl.services import platform_image

    plain = Capturing()
    run(plain)
    assert _job_image(plain) == "mlopsctl/inference:0.1.0-abc"  # no record: the tenant's own image

    recorded = Capturing()
    pushed = "localhost:5000/mlopsctl/inference:0.1.0-def"
    platform_image.record_platform_image(recorded, platform_image.PlatformImage(pushed, "registry"))
    run(recorded)
    assert _job_image(recorded) == pushed

    explicit = Capturing()
    run(explicit, image="r.example/x:1")
    assert _job_image(explicit) == "r.example/x:1"


def test_a_pod_that_cannot_be_scheduled_names_the_schedulers_reason():
    api = Capturing(unschedulable="0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available")
    clock = iter(range(0, 1000, 10))
    notes: list[str] = []

    class Notes(NullStatus):
        def note(self, message):
            notes.append(message)

    with pytest.raises(ClusterError) as caught:
        run(api, start_timeout=30, clock=lambda: float(next(clock)), status=Notes())
    assert len([note for note in notes if "Unschedulable" in note]) == 1  # said as it appeared, once
    assert "did not start within 30s: pod loadtest-test01-pod: Unschedulable: 0/3 nodes are available: 3 " in (
        caught.value.message
    )
    assert "--cpu-request" in caught.value.hint
    assert api.leftovers() == []
