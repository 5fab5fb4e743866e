"""The live view of several workers: one line per second of the whole run, in order, only once every worker still
running has reported that second, with exact percentiles of the run so far."""

from __future__ import annotations

import json

from inference.loadgen.stats import Recorder
from mlopsctl.services.loadtest.merge import LiveMerger

from .loadtest_cluster import worker_lines


def lines(index: int, seconds: list[list[int]], workers: int = 2) -> list[dict]:
    return [json.loads(line) for line in worker_lines(index, workers, seconds)]


def test_a_second_comes_out_once_every_worker_has_reported_it():
    a, b = lines(0, [[1_000], [2_000]]), lines(1, [[3_000], [4_000]])
    merger = LiveMerger(["a", "b"])
    assert merger.add(0, a[0]) == []
    assert merger.add(0, a[1]) == []  # b has not reported second 1 yet: nothing out of order
    first, second = merger.add(1, b[0]) + merger.add(1, b[1])
    assert (first["t"], first["interval"]["completed"]) == (1.0, 2)
    assert (second["t"], second["interval"]["completed"]) == (2.0, 2)
    assert first["interval"]["p99"] == 3.001 and second["interval"]["max"] == 4.001  # highest equivalent values
    assert second["summary"]["requests"]["completed"] == 4
    assert [w["name"] for w in second["summary"]["workers"]] == ["a", "b"]


def test_a_worker_that_finished_does_not_hold_the_others_back():
    a, b = lines(0, [[1_000]]), lines(1, [[3_000], [4_000], [5_000]])
    merger = LiveMerger(["a", "b"])
    merger.add(0, a[0])
    assert len(merger.add(1, b[0])) == 1
    assert merger.add(1, b[1]) == []
    out = merger.finish(0)  # a's report came: its seconds are over
    assert [line["t"] for line in out] == [2.0]
    assert [line["t"] for line in merger.add(1, b[2])] == [3.0]


def test_the_run_so_far_has_the_percentiles_of_every_merged_sample():
    seconds_a = [[1_000, 1_100], [900, 800_000]]
    seconds_b = [[2_000], [2_100, 2_200]]
    merger = LiveMerger(["a", "b"])
    out = []
    for first, second in zip(lines(0, seconds_a), lines(1, seconds_b), strict=False):
        if first["type"] == "progress":
            out += merger.add(0, first) + merger.add(1, second)
    every = Recorder()
    for value in [v for s in seconds_a + seconds_b for v in s]:
        every.record_response(value / 1e6, 200, 0.0)
    expected = every.latency_summary()
    latency = out[-1]["summary"]["latency_ms"]
    assert {k: latency[k] for k in ("count", "min", "p50", "p99", "max")} == {
        k: expected[k] for k in ("count", "min", "p50", "p99", "max")
    }
    assert abs(latency["mean"] - expected["mean"]) < 0.01


def test_warmup_seconds_merge_without_percentiles():
    merger = LiveMerger(["a", "b"])
    assert merger.add(0, {"type": "progress", "phase": "warmup", "t": -1.0, "in_flight": 3}) == []
    [line] = merger.add(1, {"type": "progress", "phase": "warmup", "t": -0.998, "in_flight": 4})
    assert line == {"type": "progress", "phase": "warmup", "t": -0.998, "in_flight": 7}


def test_one_worker_passes_through_untouched():
    merger = LiveMerger(["only"])
    line = {"type": "progress", "phase": "run", "t": 1.0, "interval": {"completed": 1}, "summary": {"x": 1}}
    assert merger.add(0, line) == [line]
    assert merger.finish(0) == []
