"""`--workers N` in the cluster, against the in-memory API: an Indexed Job of N pods, each followed, merged exactly,
refused when the quota has no room, and always deleted."""

from __future__ import annotations

import json

import pytest

from inference.loadgen.stats import Recorder
from mlopsctl import constants as c
from mlopsctl.errors import ClusterError, ClusterUnreachable, UsageError
from mlopsctl.services.loadtest import START_LEAD_SECONDS, LoadOptions, LoadtestInterrupted, run_in_cluster

from .loadtest_cluster import COMPLETION_INDEX, JOB, FakeCluster, worker_lines

# Three workers, three seconds each: latencies in microseconds; worker 2 is slow in its second second.
SECONDS = {
    0: [[1_000, 2_000], [1_500], [1_200, 1_300]],
    1: [[3_000], [2_500, 2_600], [900]],
    2: [[1_100], [250_000, 300_000], [1_000]],
}
WALL = 1_800_000_000.0


def cluster(**kwargs) -> FakeCluster:
    kwargs.setdefault("lines_by_index", {i: worker_lines(i, 3, seconds) for i, seconds in SECONDS.items()})
    return FakeCluster(**kwargs)


def run(api: FakeCluster, workers: int = 3, **kwargs):
    kwargs.setdefault("sleep", lambda seconds: None)
    options = LoadOptions(rate=100, duration=3, workers=workers)
    return run_in_cluster(api, "tenant-a", options, name=JOB, wall_clock=lambda: WALL, **kwargs)


def capture(api: FakeCluster) -> dict:
    applied: dict = {}
    original = api.apply

    def apply(obj, **kwargs):
        applied[obj["kind"]] = obj
        return original(obj, **kwargs)

    api.apply = apply
    return applied


def test_an_indexed_job_of_n_pods_shares_one_schedule_from_an_agreed_start():
    api = cluster()
    applied = capture(api)
    run(api)
    spec = applied["Job"]["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 3, 3)
    args = spec["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--workers") + 1] == "3"
    assert float(args[args.index("--start-at") + 1]) == WALL + START_LEAD_SECONDS
    assert args[args.index("--rate") + 1] == "100"  # the whole schedule's rate: each pod takes every third request
    assert spec["activeDeadlineSeconds"] >= 3 + START_LEAD_SECONDS + 180


def test_the_run_policy_admits_every_worker_pod_and_nothing_else():
    api = cluster()
    applied = capture(api)
    pods = []
    original = api.delete

    def delete(api_version, kind, name, namespace=None):
        if kind == "Pod":
            pods.append(api.get("v1", "Pod", name, namespace))
        return original(api_version, kind, name, namespace)

    api.delete = delete
    run(api)
    selector = applied["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
    assert len(pods) == 3
    for pod in pods:
        assert selector.items() <= pod["metadata"]["labels"].items()
    tenant_pod_labels = {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: "tenant-a"}
    assert not selector.items() <= tenant_pod_labels.items()


def test_the_report_merges_every_workers_histogram_exactly():
    api = cluster()
    seen = []
    result = run(api, on_progress=seen.append)
    every = Recorder()
    for seconds in SECONDS.values():
        for values in seconds:
            for value in values:
                every.record_response(value / 1e6, 200, 0.0)
    expected = every.latency_summary()
    latency = result.report["latency_ms"]
    assert {k: latency[k] for k in ("count", "min", "p50", "p90", "p99", "p99_9", "max")} == {
        k: expected[k] for k in ("count", "min", "p50", "p90", "p99", "p99_9", "max")
    }
    assert latency["p99"] >= 250.0  # the slow worker's second is in the run's p99, not averaged away
    report = result.report
    assert report["requests"]["completed"] == 13 and report["target_rate"] == pytest.approx(100.0)
    assert [w["name"] for w in report["workers"]] == [f"{JOB}-{i}-x1" for i in range(3)]
    assert [w["start_lateness_ms"] for w in report["workers"]] == [0.0, 10.0, 20.0]
    assert report["engine"]["schedule_lag_ms"] is not None
    assert [entry["completed"] for entry in report["timeline"]] == [4, 5, 4]
    assert all(entry["workers"] == 3 and "histogram" not in entry for entry in report["timeline"])
    # One progress callback per second of the whole run, not one per worker.
    assert [p.t for p in seen] == [1.0, 2.0, 3.0]
    assert [p.interval["completed"] for p in seen] == [4, 5, 4]
    assert seen[1].interval["p99"] >= 250.0 and seen[-1].summary["latency_ms"]["p99"] == latency["p99"]
    assert result.workers == 3 and len(result.hpa) == 3
    assert api.leftovers() == []
    followed = sorted(args[1] for name, args in api.calls if name == "pod_logs")
    assert followed == [f"{JOB}-{i}-x1" for i in range(3)]


def quota(api: FakeCluster, used_cpu: str, used_pods: str = "3") -> None:
    key = api.key("v1", "ResourceQuota", c.APP_NAME, "tenant-a")
    hard = api.objects[key]["spec"]["hard"]
    api.objects[key]["status"] = {
        "hard": hard,
        "used": {"requests.cpu": used_cpu, "limits.cpu": used_cpu, "pods": used_pods},
    }


def test_workers_that_do_not_fit_the_quota_headroom_are_refused_before_anything_is_applied():
    api = cluster()
    key = api.key("v1", "ResourceQuota", c.APP_NAME, "tenant-a")
    hard_cpu = api.objects[key]["spec"]["hard"]["requests.cpu"]
    from mlopsctl.manifests.quantity import format_cpu, parse_cpu

    quota(api, format_cpu(parse_cpu(hard_cpu) - parse_cpu("600m")))
    with pytest.raises(UsageError) as caught:
        run(api, workers=4)
    message = caught.value.message
    assert message.startswith("4 load generator pods do not fit the quota headroom of tenant tenant-a: ")
    assert "requests.cpu needs 1 (4 x 250m), 600m left" in message and f"hard {hard_cpu}" in message
    assert "limits.cpu needs 2 (4 x 500m), 600m left" in message
    assert caught.value.hint.startswith("use --workers 1 (what fits now)")
    assert caught.value.exit_code == 2
    assert not [call for call in api.calls if call[0] == "apply"]


def test_workers_that_fit_the_headroom_run():
    api = cluster()
    quota(api, "1")
    assert run(api).report["requests"]["completed"] == 13


def test_a_worker_pod_that_cannot_start_is_named_and_the_job_is_deleted():
    api = cluster(waiting_by_index={1: "ImagePullBackOff"})
    with pytest.raises(ClusterError, match=f"pod tenant-a/{JOB}-1-x1 cannot start: ImagePullBackOff"):
        run(api)
    assert api.leftovers() == []


def test_workers_that_never_all_run_time_out_saying_how_many_did():
    api = cluster(phase_by_index={1: "Pending", 2: "Pending"})
    clock = iter(range(0, 1000, 10))
    with pytest.raises(ClusterError, match=r"pods \(1 of 3 running\) of Job tenant-a/loadtest-test01 did not start"):
        run(api, start_timeout=30, clock=lambda: float(next(clock)))
    assert api.leftovers() == []


def test_one_unreachable_worker_fails_the_run_and_cleans_up():
    unreachable = [json.dumps({"type": "error", "kind": "unreachable", "message": "cannot connect"})]
    api = cluster(lines_by_index={0: worker_lines(0, 3, SECONDS[0]), 1: unreachable, 2: worker_lines(2, 3, SECONDS[2])})
    with pytest.raises(ClusterUnreachable, match="could not reach the service: cannot connect"):
        run(api)
    assert api.leftovers() == []


def test_a_worker_that_dies_without_a_report_is_named_and_the_job_is_deleted():
    lines = {i: worker_lines(i, 3, SECONDS[i], report=i != 2) for i in SECONDS}
    api = cluster(lines_by_index=lines, phase_by_index={2: "Failed"})
    with pytest.raises(ClusterError, match=f"the load generator pod {JOB}-2-x1 ended without a report") as caught:
        run(api)
    partial = caught.value.partial  # the seconds merged before the failure, if any were
    assert partial is None or (partial.interrupted and partial.report["workers"])
    assert api.leftovers() == []


def test_ctrl_c_with_several_workers_gives_the_merged_seconds_so_far_and_deletes_the_job():
    api = cluster()

    def ctrl_c_in_second_two(progress):  # the signal lands in the main thread, which runs the callbacks
        if progress.t >= 2.0:
            raise KeyboardInterrupt

    with pytest.raises(LoadtestInterrupted) as caught:
        run(api, on_progress=ctrl_c_in_second_two)
    partial = caught.value.partial
    assert partial.interrupted and partial.workers == 3
    assert [entry["t"] for entry in partial.report["timeline"]] == [1.0, 2.0]
    assert partial.report["requests"]["completed"] == 9
    assert api.leftovers() == []


def test_the_caller_can_stop_several_workers_early():
    api = cluster()
    result = run(api, on_progress=lambda p: p.t >= 2.0)
    assert result.stopped_early and not result.interrupted
    assert [entry["completed"] for entry in result.report["timeline"]] == [4, 5]
    assert api.leftovers() == []


def test_pods_are_taken_in_completion_index_order():
    api = cluster()
    applied = capture(api)
    run(api)
    assert applied["Job"]["spec"]["template"]["metadata"]["labels"][c.LOADTEST_RUN_LABEL] == JOB
    pods = [args for name, args in api.calls if name == "pod_logs"]
    assert len(pods) == 3
    assert COMPLETION_INDEX  # the fake annotates each pod with its index, as the Job controller does


def test_an_image_whose_engine_predates_workers_is_named_as_the_cause():
    refused = ["usage: python -m inference.loadgen [-h] --url URL ...",
               "python -m inference.loadgen: error: unrecognized arguments: --workers 3 --start-at 1800000020.0"]  # fmt: skip
    api = cluster(lines_by_index={0: refused, 1: refused, 2: refused}, pod_phase="Failed")
    with pytest.raises(ClusterError, match=r"refused its arguments: .*unrecognized arguments: --workers 3") as caught:
        run(api)
    assert "older load generator" in caught.value.hint
    assert api.leftovers() == []


def test_reports_without_histograms_cannot_be_merged_and_say_why():
    plain = [
        json.dumps({"type": "report", "report": {"requests": {"completed": 1}, "worker": {"index": i}}})
        for i in range(3)
    ]
    api = cluster(lines_by_index={i: [plain[i]] for i in range(3)})
    with pytest.raises(ClusterError, match=r"cannot merge the workers. reports: .*no histograms") as caught:
        run(api)
    assert "older load generator" in caught.value.hint
    assert api.leftovers() == []
