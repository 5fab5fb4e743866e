"""Several workers, one run: the schedule is shared exactly, and merged percentiles are those of one histogram fed
every sample (never an average of percentiles)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.loadgen.merge import MergeError, merge_reports, merge_timelines
from inference.loadgen.schedule import open_schedule, target_rate_at
from inference.loadgen.spec import LoadConfig, SpecError
from inference.loadgen.stats import PERCENTILES, Recorder, encode, latency_summary, new_histogram, percentile_values

LATENCY_US = st.integers(1, 600_000_000)


def worker_report(index: int, seconds: list[list[int]], status: int = 200) -> dict:
    """A worker's report as the engine builds it, from the latencies (us) it measured in each second."""
    recorder = Recorder()
    timeline = []
    for second, values in enumerate(seconds, start=1):
        for value in values:
            recorder.record_response(value / 1e6, status, 0.0)
        timeline.append(recorder.take_interval(float(second), 1.0, 10.0, 0, with_histogram=True))
    return {
        "worker": {"index": index, "workers": 0, "start_at": None, "start_lateness_ms": 0.0},
        "requests": recorder.requests_summary(0),
        "latency_ms": recorder.latency_summary(),
        "errors": recorder.errors_summary(),
        "duration_s": float(len(seconds)),
        "target_rate": 10.0,
        "engine": {"schedule_lag_ms": {"p50": None, "p99": None, "max": None}, "cpu_seconds": 0.1},
        "histograms": {
            "latency_us": encode(recorder.latency),
            "schedule_lag_us": encode(recorder.lag),
            "latency_sum_us": recorder.total_us,
            "latency_sum_squares_us": recorder.squares,
        },
        "timeline": timeline,
    }


def single(values: list[int]) -> dict:
    recorder = Recorder()
    for value in values:
        recorder.record_response(value / 1e6, 200, 0.0)
    return recorder.latency_summary()


WORKERS = st.lists(st.lists(st.lists(LATENCY_US, max_size=30), min_size=1, max_size=3), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(WORKERS)
def test_merged_percentiles_equal_one_histogram_fed_every_sample(workers):
    reports = [worker_report(index, seconds) for index, seconds in enumerate(workers)]
    merged = merge_reports(reports)
    every = [value for seconds in workers for values in seconds for value in values]
    expected = single(every)
    latency = merged["latency_ms"]
    for key in ("count", "min", *(name for name, _ in PERCENTILES), "max"):
        assert latency[key] == expected[key], key
    if every:
        assert latency["mean"] == pytest.approx(expected["mean"], abs=0.002)
        assert latency["stdev"] == pytest.approx(expected["stdev"], abs=0.002)
    assert merged["requests"]["completed"] == len(every)
    assert [w["index"] for w in merged["workers"]] == list(range(len(workers)))


@settings(max_examples=100, deadline=None)
@given(WORKERS)
def test_each_merged_second_has_the_percentiles_of_all_its_samples(workers):
    merged = merge_timelines([worker_report(i, seconds)["timeline"] for i, seconds in enumerate(workers)])
    for entry in merged:
        second = round(entry["t"])
        values = [v for seconds in workers if len(seconds) >= second for v in seconds[second - 1]]
        expected = single(values)
        assert entry["completed"] == len(values)
        assert (entry["p50"], entry["p90"], entry["p99"], entry["max"]) == tuple(
            expected[k] for k in ("p50", "p90", "p99", "max")
        )
        assert "histogram" not in entry  # the merged timeline is plain numbers
        assert entry["target_rate"] == 10.0 * sum(1 for seconds in workers if len(seconds) >= second)


def test_averaging_percentiles_would_be_wrong_and_the_merge_does_not():
    fast = worker_report(0, [[1_000] * 99])
    slow = worker_report(1, [[1_000_000]])
    merged = merge_reports([fast, slow])
    # One request in 100 took a second: p99 is 1 ms, p99.9 and max are the slow one.
    assert merged["latency_ms"]["p99"] == pytest.approx(1.0, rel=0.001)
    assert merged["latency_ms"]["max"] == pytest.approx(1000.0, rel=0.001)
    average = (fast["latency_ms"]["p99"] + slow["latency_ms"]["p99"]) / 2
    assert abs(average - merged["latency_ms"]["p99"]) > 400


def test_errors_and_counters_add_up():
    merged = merge_reports([worker_report(0, [[10, 20]], status=503), worker_report(1, [[30]])])
    assert merged["errors"]["by_status"] == {"503": 2}
    assert merged["requests"]["errors"] == 2 and merged["requests"]["ok"] == 1
    assert merged["achieved_rate"] == 3.0 and merged["target_rate"] == 20.0


def test_a_worker_without_histograms_cannot_be_merged_exactly():
    plain = worker_report(1, [[10]])
    del plain["histograms"]
    with pytest.raises(MergeError, match="no histograms"):
        merge_reports([worker_report(0, [[10]]), plain])
    with pytest.raises(MergeError):
        merge_reports([])


def test_one_plain_report_passes_through_with_its_worker_entry():
    plain = worker_report(0, [[10, 20]])
    del plain["histograms"]
    merged = merge_reports([plain], ["loadtest-x-0"])
    assert merged["latency_ms"] == plain["latency_ms"]
    assert merged["workers"][0]["name"] == "loadtest-x-0"
    assert all("histogram" not in entry for entry in merged["timeline"])


@settings(max_examples=150, deadline=None)
@given(
    rate=st.floats(1.0, 500.0),
    ramp_to=st.none() | st.floats(1.0, 500.0),
    duration=st.floats(0.5, 5.0),
    warmup=st.sampled_from([0.0, 0.5, 2.0]),
    workers=st.integers(1, 7),
)
def test_workers_together_send_exactly_the_single_generator_timeline(rate, ramp_to, duration, warmup, workers):
    options = {"rate": rate} if ramp_to is None else {"rate_from": rate, "rate_to": ramp_to}
    config = LoadConfig(url="http://127.0.0.1:9", duration=duration, warmup=warmup, **options)
    schedule = open_schedule(config)
    whole = [schedule.offset(i) for i in range(schedule.total)]
    shares = [list(schedule.indices(index, workers)) for index in range(workers)]
    assert sorted(i for share in shares for i in share) == list(range(schedule.total))
    together = sorted(schedule.offset(i) for share in shares for i in share)
    assert together == sorted(whole)
    for share in shares:  # each worker's own timeline is in order
        assert [schedule.offset(i) for i in share] == sorted(schedule.offset(i) for i in share)
    worker_config = LoadConfig(url="http://127.0.0.1:9", duration=duration, warmup=warmup, workers=workers, **options)
    assert target_rate_at(worker_config, duration / 2) * workers == pytest.approx(target_rate_at(config, duration / 2))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "invalid --workers 0"),
        ({"workers": 65}, "invalid --workers 65"),
        ({"workers": 2, "worker_index": 2}, "invalid --worker-index 2"),
        ({"workers": 2, "worker_index": -1}, "invalid --worker-index -1"),
        ({"workers": 4, "concurrency": 3, "rate": None}, "fewer connections than --workers 4"),
        ({"workers": 4, "requests": 3}, "fewer requests than --workers 4"),
        ({"start_at": float("nan")}, "invalid --start-at"),
        ({"start_at": -5.0}, "invalid --start-at"),
    ],
)
def test_bad_worker_options_are_spec_errors(options, message):
    values = {"url": "http://127.0.0.1:9", "rate": 10.0, "duration": 1.0, **options}
    with pytest.raises(SpecError, match=message):
        LoadConfig(**values).validate()


def test_worker_arguments_round_trip_and_shares_deal_round_robin():
    config = LoadConfig(url="http://127.0.0.1:9", rate=10.0, duration=1.0, workers=3, start_at=1_800_000_000.25)
    args = config.to_args()
    assert args[args.index("--workers") + 1] == "3"
    assert float(args[args.index("--start-at") + 1]) == 1_800_000_000.25
    assert "--worker-index" not in args  # each pod reads JOB_COMPLETION_INDEX
    shares = [LoadConfig(url="http://x:1", concurrency=10, duration=1.0, workers=3, worker_index=i) for i in range(3)]
    assert [share.share(10) for share in shares] == [4, 3, 3]


@settings(max_examples=200, deadline=None)
@given(st.lists(LATENCY_US, min_size=1, max_size=200), st.sampled_from([0.0, 1.0, 50.0, 99.0, 99.9, 100.0]))
def test_fast_percentiles_match_hdrh_exactly(values, percentile):
    histogram = new_histogram()
    for value in values:
        histogram.record_value(value)
    wanted = [percentile, *(p for _, p in PERCENTILES)]
    assert percentile_values(histogram, wanted) == histogram.get_percentile_to_value_dict(wanted)
    assert latency_summary(histogram)["count"] == len(values)
