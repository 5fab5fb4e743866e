"""The load engine against real servers on 127.0.0.1 (each in its own process).

Timing tolerances are loose on purpose: the machine running these is shared and busy. The assertions are about
behaviour (a stall shows up in p99, resets are counted as resets), not about how fast anything is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.loadgen import LoadConfig, TargetUnreachable, run
from tests.support import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "src" / "inference" / "loadgen" / "report.schema.json"


def engine_cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "inference.loadgen", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def test_open_model_p99_shows_a_one_second_stall(server):
    with server("stall", "1.5", "1.0") as url:
        report = run(LoadConfig(url=url, rate=200, duration=4.0, timeout=5.0))

    latency = report["latency_ms"]
    requests = report["requests"]
    assert requests["scheduled"] == 800
    assert requests["dropped"] == 0
    assert requests["ok"] == requests["completed"] == 800
    # ~200 of 800 requests were intended during the stall and waited for it, measured from their intended start:
    # the slowest percent of the run is the stall, not the server's usual sub-millisecond answer.
    assert latency["p99"] >= 500.0, latency
    # Not only the few requests in flight when the stall began: every request intended during it waited, from
    # ~1 s (intended at its start) down to ~0 (at its end), so about 100 of 800 waited more than 0.5 s and the
    # 90th percentile is hundreds of milliseconds. A closed-loop tool would show about `concurrency` of them.
    assert latency["p90"] >= 300.0, latency
    assert latency["max"] >= 800.0, latency
    assert latency["p50"] < 500.0, latency
    # The open model kept its timeline: it sent what was due during the stall instead of waiting.
    assert report["achieved_rate"] >= 0.8 * report["target_rate"]
    worst = max(report["timeline"], key=lambda entry: entry["max"] or 0)
    assert worst["max"] >= 800.0


def test_closed_model_shows_the_stall_as_lost_throughput(server):
    # The stall starts just after the first second, so it fills (almost) all of the timeline's second second.
    with server("stall", "1.05", "1.0") as url:
        report = run(LoadConfig(url=url, concurrency=4, duration=4.0, timeout=5.0))

    assert report["model"] == "closed"
    assert report["target_rate"] is None
    full_seconds = [entry for entry in report["timeline"] if entry["duration"] >= 0.5]
    rates = [entry["rate"] for entry in full_seconds]
    assert len(rates) >= 3
    # During the stall the four connections waited, so the generator sent (almost) nothing: the timeline shows
    # a second with a fraction of the best second's throughput, and the whole run's rate is well below the best.
    assert min(rates) < 0.5 * max(rates), rates
    assert report["achieved_rate"] < 0.9 * max(rates), (report["achieved_rate"], rates)
    assert report["latency_ms"]["max"] >= 800.0


def test_errors_are_counted_by_status_and_by_exception(server):
    with server("faults") as url:
        report = run(LoadConfig(url=url, concurrency=2, requests=200, timeout=5.0))

    requests = report["requests"]
    errors = report["errors"]
    # Server-side request k: reset when k % 7 == 0 (28 of 200), else 500 when k % 5 == 0 (40 - 5 = 35).
    assert requests["completed"] + requests["failed"] == 200
    assert errors["by_status"] == {"500": 35}
    assert sum(errors["by_exception"].values()) == 28
    assert set(errors["by_exception"]) <= {"ConnectionResetError", "ServerDisconnected"}
    assert requests["failed"] == 28
    assert requests["ok"] == 137
    assert requests["errors"] == 35 + 28


def test_open_model_counts_resets_too(server):
    with server("faults") as url:
        report = run(LoadConfig(url=url, rate=200, requests=140, timeout=5.0))

    requests = report["requests"]
    assert requests["scheduled"] == 140
    assert requests["completed"] + requests["failed"] + requests["dropped"] == 140
    assert requests["failed"] == 20  # 140 // 7
    assert report["errors"]["by_status"] == {"500": 24}  # 28 multiples of 5, minus the 4 multiples of 35


def test_rate_accuracy_and_ramp(server):
    with server("fast") as url:
        steady = run(LoadConfig(url=url, rate=400, duration=3.0))
        ramp = run(LoadConfig(url=url, rate_from=100, rate_to=500, duration=3.0))

    assert steady["requests"]["scheduled"] == 1200
    assert steady["requests"]["sent"] + steady["requests"]["dropped"] == 1200
    assert steady["requests"]["ok"] == 1200
    assert steady["achieved_rate"] == pytest.approx(400, rel=0.15)

    # The ramp's integral: 3 s at a mean of 300/s.
    assert ramp["requests"]["scheduled"] == 900
    assert ramp["target_rate"] == pytest.approx(300)
    seconds = [entry for entry in ramp["timeline"] if entry["duration"] >= 0.5]
    targets = [entry["target_rate"] for entry in seconds]
    assert targets == sorted(targets) and targets[-1] > targets[0]
    assert seconds[-1]["sent"] > seconds[0]["sent"]


def test_warmup_is_not_measured(server):
    with server("fast") as url:
        report = run(LoadConfig(url=url, rate=200, duration=1.0, warmup=1.0))

    assert report["requests"]["warmup"] == 200
    assert report["requests"]["scheduled"] == 200
    assert report["latency_ms"]["count"] == 200


def test_in_flight_cap_drops_iterations_instead_of_queueing_without_bound(server):
    with server("stall", "0.5", "1.0") as url:
        report = run(LoadConfig(url=url, rate=200, duration=2.0, max_in_flight=20, timeout=5.0))

    requests = report["requests"]
    assert requests["dropped"] > 100  # ~200 requests fell due while 20 were stuck in the stall
    assert requests["scheduled"] == 400
    assert requests["sent"] + requests["dropped"] == 400
    assert report["engine"]["max_in_flight_seen"] <= 20


def test_unreachable_target_fails_before_any_load():
    with pytest.raises(TargetUnreachable, match=r"cannot connect to 127\.0\.0\.1"):
        run(LoadConfig(url=f"http://127.0.0.1:{free_port()}", rate=10, duration=1.0))


def test_cli_report_matches_the_published_schema_and_streams_progress(server):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    with server("fast") as url:
        done = engine_cli("--url", url, "--rate", "100", "--duration", "2s", "--json")
        out, err = done.communicate(timeout=60)
        assert done.returncode == 0, err
        report = json.loads(out)
        jsonschema.validate(report, schema)

        streamed = engine_cli("--url", url, "--rate", "100", "--duration", "2500ms", "--stream")
        out, err = streamed.communicate(timeout=60)
    assert streamed.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    progress = [line for line in lines if line["type"] == "progress"]
    assert len(progress) == 2
    assert all(line["phase"] == "run" and "summary" in line and "interval" in line for line in progress)
    assert lines[-1]["type"] == "report"
    jsonschema.validate(lines[-1]["report"], schema)


def test_cli_slo_breach_exits_6(server):
    with server("fast") as url:
        strict = engine_cli("--url", url, "--rate", "50", "--duration", "1s", "--json", "--slo", "p50<1us,errors<1%")
        out, _ = strict.communicate(timeout=60)
        lenient = engine_cli("--url", url, "--rate", "50", "--duration", "1s", "--json", "--slo", "p99<30s")
        lenient.communicate(timeout=60)
    assert strict.returncode == 6
    results = json.loads(out)["slo"]["results"]
    assert [r["passed"] for r in results] == [False, True]
    assert lenient.returncode == 0


def test_cli_bad_input_and_unreachable_target_exit_codes():
    bad = engine_cli("--url", "http://127.0.0.1:1", "--rate", "fast", "--duration", "1s")
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 2
    assert "invalid --rate 'fast'" in err and len(err.strip().splitlines()) == 1

    gone = engine_cli("--url", f"http://127.0.0.1:{free_port()}", "--rate", "10", "--duration", "1s", "--stream")
    out, err = gone.communicate(timeout=60)
    assert gone.returncode == 3
    assert json.loads(out)["type"] == "error"
    assert "cannot connect" in err


def test_cli_interrupt_prints_the_partial_report(server):
    with server("fast") as url:
        process = engine_cli("--url", url, "--rate", "100", "--duration", "60s", "--json")
        time.sleep(3.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True
    assert report["requests"]["completed"] > 0
    assert report["duration_s"] < 30


def test_the_engine_imports_neither_the_service_nor_mlopsctl():
    code = (
        "import sys, inference.loadgen, inference.loadgen.__main__; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'sklearn', 'mlopsctl', 'starlette'}))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
