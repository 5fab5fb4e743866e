"""The open model's timeline (pure arithmetic of the Engine, no I/O) and the request mix."""

from __future__ import annotations

import itertools
import json

import pytest

from inference.loadgen.engine import Engine
from inference.loadgen.mix import TEXTS, build_requests, load_body_file
from inference.loadgen.spec import LoadConfig
from inference.loadgen.stats import Recorder, to_us


def offsets(**options):
    engine = Engine(LoadConfig(url="http://127.0.0.1:9", **options))
    warmup, measured, offset = engine._offsets()
    return warmup, measured, [offset(i) for i in range(warmup + measured)]


def test_constant_rate_timeline_is_fixed_in_advance():
    warmup, measured, times = offsets(rate=100.0, duration=2.0)
    assert (warmup, measured) == (0, 200)
    assert times[0] == 0.0 and times[1] == pytest.approx(0.01) and times[-1] == pytest.approx(1.99)


def test_ramp_follows_the_integral_of_the_rate():
    _, measured, times = offsets(rate_from=100.0, rate_to=300.0, duration=10.0)
    assert measured == 2000  # 10 s at a mean of 200/s
    assert all(b > a for a, b in itertools.pairwise(times))
    assert times[-1] < 10.0
    # Requests intended in the first and last second: ~110 and ~290 (the rate there is 100->120 and 280->300).
    first = sum(1 for t in times if t < 1.0)
    last = sum(1 for t in times if t >= 9.0)
    assert first == pytest.approx(110, abs=2) and last == pytest.approx(290, abs=2)


def test_ramp_down_works_too():
    _, measured, times = offsets(rate_from=300.0, rate_to=100.0, duration=10.0)
    assert measured == 2000 and times[-1] < 10.0
    assert sum(1 for t in times if t < 1.0) > sum(1 for t in times if t >= 9.0)


def test_warmup_comes_first_at_the_starting_rate():
    warmup, measured, times = offsets(rate=50.0, duration=2.0, warmup=1.0)
    assert (warmup, measured) == (50, 100)
    assert times[49] < 1.0 <= times[50]


def test_requests_limit_and_duration_whichever_first():
    assert offsets(rate=100.0, duration=5.0, requests=30)[1] == 30
    assert offsets(rate=100.0, requests=30)[1] == 30
    assert offsets(rate=10.0, duration=2.0, requests=1000)[1] == 20


def test_target_rate_of_a_ramp_per_second():
    engine = Engine(LoadConfig(url="http://h:1", rate_from=100.0, rate_to=200.0, duration=10.0))
    assert engine.target_rate_at(0.0) == 100.0 and engine.target_rate_at(5.0) == 150.0
    assert engine.target_rate_at(20.0) == 200.0


def test_default_mix_is_predict_with_varied_texts():
    requests = build_requests("http://inference.tenant-a.svc:80", "predict", 16)
    assert len(requests) == len(TEXTS) >= 20
    head, body = requests[0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /predict HTTP/1.1\r\nHost: inference.tenant-a.svc\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    assert len({json.loads(r.split(b"\r\n\r\n", 1)[1])["text"] for r in requests}) == len(TEXTS)


def test_batch_mix_and_base_path():
    requests = build_requests("http://127.0.0.1:8080/api", "batch", 64)
    head, body = requests[3].split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /api/predict/batch HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")
    assert len(json.loads(body)["texts"]) == 64


def test_body_file_json_and_json_lines():
    assert load_body_file('{"text": "hello"}\n') == ['{"text":"hello"}']
    assert load_body_file('{"text": "a"}\n\n{"text": "b"}\n') == ['{"text":"a"}', '{"text":"b"}']
    with pytest.raises(ValueError, match="line 2"):
        load_body_file('{"text": "a"}\nnot json\n')
    with pytest.raises(ValueError, match="empty"):
        load_body_file("  \n")
    requests = build_requests("http://h:1", "predict", 16, bodies=['{"x":1}'], path="/custom")
    assert requests == [requests[0]] and requests[0].endswith(b'\r\n\r\n{"x":1}')
    assert b"POST /custom HTTP/1.1" in requests[0]


def test_recorder_counts_and_summary():
    recorder = Recorder()
    for ms in range(1, 101):
        recorder.record_response(ms / 1000.0, 200 if ms <= 95 else 503, now=1.0)
    recorder.record_failure("ConnectionResetError", now=1.0)
    latency = recorder.latency_summary()
    assert latency["count"] == 100
    assert latency["p50"] == pytest.approx(50.0, rel=0.01) and latency["p99"] == pytest.approx(99.0, rel=0.01)
    assert latency["mean"] == pytest.approx(50.5, rel=0.01) and latency["max"] == pytest.approx(100.0, rel=0.01)
    assert recorder.errors == 6 and recorder.ok == 95
    assert recorder.errors_summary() == {"by_status": {"503": 5}, "by_exception": {"ConnectionResetError": 1}}
    entry = recorder.take_interval(1.0, 1.0, 100.0, 0)
    assert (entry["completed"], entry["errors"], entry["failed"]) == (100, 6, 1)
    assert recorder.take_interval(2.0, 1.0, 100.0, 0)["completed"] == 0


def test_latencies_outside_the_histogram_range_are_clamped_not_lost():
    assert to_us(0.0) == 1 and to_us(10_000.0) == 600_000_000


def test_report_path_includes_the_url_base_path():
    assert Engine(LoadConfig(url="http://h:1/api/", rate=1.0, duration=1.0)).path == "/api/predict"
    assert Engine(LoadConfig(url="http://h:1", rate=1.0, duration=1.0, mix="batch")).path == "/predict/batch"
