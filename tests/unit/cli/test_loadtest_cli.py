"""`mlopsctl loadtest` end to end in-process, with the in-memory API in place of a cluster."""

from __future__ import annotations

import json

import pytest

from tests.unit.services.loadtest_cluster import FakeCluster, final, progress


class FakeTime:
    """The service's clock and sleep, without waiting."""

    def __init__(self, sleep=None) -> None:
        self.now = 0.0
        self._sleep = sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        self.now += seconds


@pytest.fixture
def cluster(monkeypatch, adapters):
    def install(api: FakeCluster) -> FakeCluster:
        adapters.kube = lambda: api
        monkeypatch.setattr("mlopsctl.services.loadtest.pods.time", FakeTime())
        return api

    return install


def test_in_cluster_json_report(cli, cluster):
    api = cluster(FakeCluster())
    result = cli("loadtest", "tenant-a", "--rate", "100", "--duration", "3s", "-o", "json", "--live", "plain")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "in-cluster" and data["tenant"] == "tenant-a"
    assert data["report"]["requests"]["completed"] == 300
    assert [sample["current_replicas"] for sample in data["hpa"]] == [2, 2, 2]
    assert api.leftovers() == []
    # Plain progress lines on stderr, one per second, with the HPA.
    lines = [line for line in result.stderr.splitlines() if line.startswith("t=")]
    assert len(lines) == 3 and "HPA 2→4 replicas, CPU 87%" in lines[0]
    assert " ✓ start the load generator Job tenant-a/loadtest-" in result.stderr
    assert " ✓ wait for its pod to run" in result.stderr


def test_table_output(cli, cluster):
    cluster(FakeCluster())
    result = cli("loadtest", "tenant-a", "--live", "none")
    assert result.exit_code == 0, result.stderr
    assert "loadtest tenant-a (in-cluster)" in result.stdout
    assert "p99 12.00" in result.stdout and "replicas 2 → 2" in result.stdout


def test_slo_breach_exits_6_after_printing_the_report(cli, cluster):
    cluster(FakeCluster(lines=[progress(1), final(p99=450.0)]))
    result = cli("loadtest", "tenant-a", "--slo", "p99<200ms", "-o", "json", "--live", "none")
    assert result.exit_code == 6
    assert json.loads(result.stdout)["slo_passed"] is False
    assert "mlopsctl: error: SLO breached: p99<200ms (actual 450.00 ms)" in result.stderr


def test_unknown_tenant_exits_5(cli, cluster):
    api = cluster(FakeCluster())
    result = cli("loadtest", "tenant-zz", "--live", "none")
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == "mlopsctl: error: tenant 'tenant-zz' not found"
    assert api.leftovers() == []


def test_ctrl_c_prints_the_partial_report_exits_130_and_leaves_no_job(cli, cluster):
    api = cluster(FakeCluster(interrupt_after=2))
    result = cli("loadtest", "tenant-a", "-o", "json", "--live", "none")
    assert result.exit_code == 130
    data = json.loads(result.stdout)
    assert data["interrupted"] is True and len(data["report"]["timeline"]) == 2
    assert "mlopsctl: interrupted" in result.stderr
    assert api.leftovers() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "fast"], "invalid --rate 'fast'"),
        (["--duration", "10 minutes"], "invalid --duration '10 minutes'"),
        (["--slo", "p99<<2"], "invalid --slo term 'p99<<2'"),
        (["--slo", "latency<2ms"], "unknown metric 'latency'"),
        (["--url", "http://127.0.0.1:1", "--port-forward"], "--url and --port-forward exclude each other"),
        (["--rate", "5", "--concurrency", "3"], "exactly one of"),
        (["--body-file", "/nonexistent/body.json"], "cannot read --body-file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, cluster, args, message):
    api = cluster(FakeCluster())
    result = cli("loadtest", "tenant-a", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr.splitlines()[0]
    assert not [call for call in api.calls if call[0] == "apply"]


def test_live_panel_shows_rate_percentiles_errors_and_the_hpa():
    import io

    from rich.console import Console

    from mlopsctl.cli.loadtest import LiveView
    from mlopsctl.services.loadtest import HpaSample, Progress

    line = json.loads(progress(3))
    hpa = HpaSample(3.0, 2, 4, 87, 50, 2, 10)
    view = LiveView("none", quiet=True, color=False)
    out = io.StringIO()
    Console(file=out, width=80, no_color=True).print(
        view._render(Progress(3.0, "run", line["interval"], line["summary"], hpa))
    )
    text = out.getvalue()
    assert "100/s of 100/s target" in text
    assert "p50 3.00  p90 6.00  p99 12.00" in text
    assert "2→4 replicas, CPU 87%/50%" in text


def test_ctrl_c_before_any_load_prints_an_empty_partial_table(cli, cluster, monkeypatch):
    api = cluster(FakeCluster(create_pod=False))

    def interrupted(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("mlopsctl.services.loadtest.pods.time", FakeTime(sleep=interrupted))
    result = cli("loadtest", "tenant-a", "--live", "none")
    assert result.exit_code == 130
    assert "interrupted, partial" in result.stdout
    assert api.leftovers() == []


def test_csv_timeline_with_the_hpa(cli, cluster, tmp_path):
    import csv

    cluster(FakeCluster())
    path = tmp_path / "timeline.csv"
    result = cli("loadtest", "tenant-a", "--live", "none", "--csv", str(path), "-o", "json")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(path.open()))
    assert [row["t"] for row in rows] == ["1.0", "2.0", "3.0"]
    assert rows[0]["p99"] == "12.0" and rows[0]["hpa_desired_replicas"] == "4" and rows[0]["hpa_cpu_percent"] == "87"


def test_report_dir_gets_an_html_page_and_the_json_result(cli, cluster, tmp_path):
    cluster(FakeCluster(lines=[progress(1), progress(2), progress(3), final(p99=450.0)]))
    evidence = tmp_path / "evidence"
    result = cli("loadtest", "tenant-a", "--slo", "p99<200ms", "--report", str(evidence), "--live", "none")
    assert result.exit_code == 6
    assert f"report written: {evidence / 'report.html'} and {evidence / 'loadtest.json'}" in result.stderr
    page = (evidence / "report.html").read_text()
    assert "loadtest tenant-a — SLO ✗ breached" in page
    assert 'data-series="p99"' in page and 'data-limit="SLO p99&lt;200ms"' in page
    assert 'id="load-replicas"' in page  # the HPA's replicas, on the same time axis
    saved = json.loads((evidence / "loadtest.json").read_text())
    assert saved["tenant"] == "tenant-a" and len(saved["report"]["timeline"]) == 3 and len(saved["hpa"]) == 3


def test_workers_in_the_cluster_report_each_worker(cli, cluster):
    from tests.unit.services.loadtest_cluster import worker_lines

    seconds = [[[1_000], [2_000]], [[3_000], [4_000]], [[5_000], [6_000]]]
    lines = {index: worker_lines(index, 3, values) for index, values in enumerate(seconds)}
    api = cluster(FakeCluster(lines_by_index=lines))
    result = cli("loadtest", "tenant-a", "--workers", "3", "-o", "json", "--live", "plain")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["workers"] == 3 and [w["index"] for w in data["report"]["workers"]] == [0, 1, 2]
    assert data["report"]["latency_ms"]["max"] == 6.003 and data["report"]["requests"]["completed"] == 6
    assert " ✓ start the load generator Job (3 workers) tenant-a/loadtest-" in result.stderr
    assert " ✓ wait for its 3 pods to run" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("t=")]) == 2
    assert api.leftovers() == []
    table = cli("loadtest", "tenant-a", "--workers", "3", "--live", "none")
    assert table.exit_code == 0, table.stderr
    assert "worker 2" in table.stdout and "started 20 ms late" in table.stdout


def test_workers_beyond_the_quota_headroom_exit_2_naming_it(cli, cluster):
    from mlopsctl import constants as c

    api = cluster(FakeCluster())
    key = api.key("v1", "ResourceQuota", c.APP_NAME, "tenant-a")
    hard = api.objects[key]["spec"]["hard"]
    api.objects[key]["status"] = {"hard": hard, "used": {"pods": str(int(hard["pods"]) - 2)}}
    result = cli("loadtest", "tenant-a", "--workers", "5", "--live", "none")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "mlopsctl: error: 5 load generator pods do not fit the quota headroom of tenant tenant-a"
    )
    assert "pods needs 5 (5 x 1), 2 left" in lines[0]
    assert lines[1].startswith("hint: use --workers 2 (what fits now)")
    assert not [call for call in api.calls if call[0] == "apply"]


@pytest.mark.parametrize(("workers", "message"), [("0", "invalid --workers 0"), ("65", "invalid --workers 65")])
def test_bad_worker_counts_exit_2(cli, cluster, workers, message):
    cluster(FakeCluster())
    result = cli("loadtest", "tenant-a", "--workers", workers)
    assert result.exit_code == 2
    assert message in result.stderr.splitlines()[0]
