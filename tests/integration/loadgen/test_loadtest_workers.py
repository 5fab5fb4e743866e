"""`--workers N` without a cluster: N engine processes against a real uvicorn on 127.0.0.1, merged exactly.

Tolerances are loose on purpose (a shared, busy machine): the assertions are about behaviour, such as the
requests of the whole schedule being sent exactly once, a late worker's requests being measured from their
intended times, Ctrl-C leaving no worker behind.
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

from tests.integration.loadgen.test_engine import SCHEMA, engine_cli

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def test_two_local_workers_send_the_single_generator_schedule_and_merge(cli, server):
    with server("fast") as url:
        result = cli("loadtest", "t", "--url", url, "--workers", "2", "--rate", "100", "--duration", "2s", "-o", "json")
        breached = cli("loadtest", "t", "--url", url, "--workers", "2", "--rate", "40", "--duration", "1s",
                       "--slo", "p50<1us", "--live", "none")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    report = data["report"]
    assert data["mode"] == "url" and data["workers"] == 2
    assert report["requests"]["scheduled"] == 200 and report["requests"]["ok"] == 200  # one schedule, not two
    assert report["target_rate"] == pytest.approx(100.0)
    workers = report["workers"]
    assert [w["index"] for w in workers] == [0, 1]
    assert [w["requests"]["scheduled"] for w in workers] == [100, 100]
    assert all(w["target_rate"] == pytest.approx(50.0) and w["schedule_lag_ms"]["p99"] is not None for w in workers)
    assert report["latency_ms"]["count"] == 200
    assert sum(entry["completed"] for entry in report["timeline"]) == 200
    assert all("histogram" not in entry for entry in report["timeline"])
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    assert breached.exit_code == 6
    assert "SLO breached: p50<1us" in breached.stderr


def test_a_worker_that_starts_late_counts_its_overdue_requests_as_late(server):
    with server("fast") as url:
        start_at = time.time() - 1.5  # the shared start is already past when this worker begins
        process = engine_cli("--url", url, "--rate", "100", "--duration", "3s", "--workers", "2",
                             "--worker-index", "1", "--start-at", repr(start_at), "--json")  # fmt: skip
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["worker"]["index"] == 1 and report["worker"]["start_lateness_ms"] >= 1000
    assert report["requests"]["scheduled"] == 150 and report["requests"]["completed"] == 150
    # About 75 requests were due before it started: their latency counts from when they should have gone out.
    assert report["engine"]["schedule_lag_ms"]["max"] >= 1000
    assert report["latency_ms"]["max"] >= 1000
    assert report["timeline"][0]["completed"] == 0  # the second it missed is there, and empty
    assert "histograms" in report and all("histogram" in entry for entry in report["timeline"])


def test_ctrl_c_stops_every_worker_and_prints_their_merged_partial_report(server, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MLOPSCTL_HOME": str(tmp_path)}
    with server("fast") as url:
        argv = [sys.executable, "-m", "mlopsctl", "loadtest", "t", "--url", url, "--workers", "2", "--rate", "50",
                "--duration", "60s", "-o", "json", "--live", "none"]  # fmt: skip
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(6.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    data = json.loads(out)
    report = data["report"]
    assert data["interrupted"] is True and report["interrupted"] is True
    assert [w["index"] for w in report["workers"]] == [0, 1]  # both reported: the merge is exact, not partial
    assert report["requests"]["completed"] > 0 and report["duration_s"] < 30
    for worker in report["workers"]:
        pid = int(worker["name"].split("pid ")[1].rstrip(")"))
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_worker_that_cannot_connect_fails_the_run_with_exit_5(cli):
    from tests.support import free_port

    result = cli("loadtest", "t", "--url", f"http://127.0.0.1:{free_port()}", "--workers", "2", "--duration", "1s")
    assert result.exit_code == 5
    assert "cannot connect to 127.0.0.1" in result.stderr.splitlines()[0]
