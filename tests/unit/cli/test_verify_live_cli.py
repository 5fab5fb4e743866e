"""Live `mlopsctl verify ...` commands against the fake API: output modes, exit codes, evidence files."""

from __future__ import annotations

import json

import pytest

from tests.unit.services.verify_cluster import ScriptedNetwork, cluster, evaluator_sar


@pytest.fixture
def fake_cluster(adapters):
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    api.access_handler = evaluator_sar(api)
    adapters.kube = lambda: api
    return api


def test_network_live_json_passes(cli, fake_cluster):
    result = cli("-q", "verify", "network", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "network" and data["passed"] is True and data["cluster_version"] == "v1.31.0"
    check = next(check for check in data["checks"] if check["name"].startswith("monitoring/prometheus-0 -> "))
    assert set(check) == {
        "area", "name", "expected", "observed", "passed", "method", "detail", "started", "finished",
        "subject", "target", "action",
    }  # fmt: skip
    assert (check["subject"], check["target"], check["action"]) == (
        "monitoring/prometheus-0",
        "tenant metrics pod tenant-a/inference-a1",
        "8080/TCP",
    )


def test_network_live_leaky_cni_exits_6_with_finding(cli, fake_cluster):
    fake_cluster.exec_handler = ScriptedNetwork(leaky=True)
    result = cli("-q", "--no-color", "verify", "network", "--attempts", "1", env={"COLUMNS": "300"})
    assert result.exit_code == 6
    assert "finding: CNI does not enforce NetworkPolicy" in result.stdout
    assert "mlopsctl: error: verify network:" in result.stderr


def test_rbaclive_table(cli, fake_cluster):
    result = cli("-q", "--no-color", "verify", "rbac", "--tenant", "tenant-a", env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    assert "mlopsctl verify rbac (v1.31.0)" in result.stdout
    assert "PASS" in result.stdout and "FAIL" not in result.stdout


def test_rbac_live_that_says_no_to_everything_exits_6(cli, fake_cluster):
    fake_cluster.access_handler = lambda review: False
    result = cli("-q", "verify", "rbac", "tenant-a", "-o", "json")
    assert result.exit_code == 6
    data = json.loads(result.stdout)
    assert [f["message"] for f in data["findings"]] == [
        "the API server denied all 15 positive control(s): it says no to everything, so its denials prove nothing"
    ]
    failed = {check["name"] for check in data["checks"] if not check["passed"]}
    assert "sa:tenant-a/tenant-owner: patch deployments.apps in tenant-a" in failed


def test_isolation_writes_evidence(cli, fake_cluster, tmp_path):
    result = cli("-q", "verify", "isolation", "--report", str(tmp_path / "evidence"), "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "evidence" / "verify-isolation.junit.xml").is_file()
    assert (tmp_path / "evidence" / "verify-isolation.md").read_text().startswith("# mlopsctl verify isolation: PASSED")
    page = (tmp_path / "evidence" / "report.html").read_text()
    assert '<h1 class="verdict-pass">mlopsctl verify isolation: PASSED</h1>' in page
    assert 'id="connectivity-matrix"' in page and 'id="rbac-matrix"' in page


def test_autoscaling_without_metrics_api_exits_6(cli, fake_cluster):
    result = cli("-q", "-o", "json", "verify", "autoscaling", "tenant-a")
    assert result.exit_code == 6
    data = json.loads(result.stdout)
    assert (
        data["checks"][0]["name"] == "APIService v1beta1.metrics.k8s.io" and data["checks"][0]["observed"] == "absent"
    )


def test_scale_down_needs_load(cli, fake_cluster):
    result = cli("verify", "autoscaling", "tenant-a", "--scale-down")
    assert result.exit_code == 2
    assert "--scale-down needs --load" in result.stderr


def test_unknown_tenant_is_a_cluster_error(cli, fake_cluster):
    result = cli("verify", "network", "--tenant", "nope")
    assert result.exit_code == 5
    assert "no mlopsctl tenant named nope" in result.stderr
    assert "hint: see `mlopsctl tenant list`" in result.stderr


def test_manifests_without_offline_is_refused(cli, tmp_path):
    (tmp_path / "m").mkdir()
    result = cli("verify", "network", "--manifests", str(tmp_path / "m"))
    assert result.exit_code == 2
    assert "--manifests is only used with --offline" in result.stderr


def test_live_table_shows_checks_findings_notes_and_timeline():
    import io

    from mlopsctl.cli.verify_views import live_table
    from mlopsctl.output import make_console
    from mlopsctl.services.verify import Finding, LiveCheck, LiveReport

    report = LiveReport(
        "autoscaling",
        "v1.31.0",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:01:00+00:00",
        checks=[
            LiveCheck("autoscaling", "tenant-a: scale-up under load", "more than 2", "4 replica(s) after 30s", True)
        ],
        findings=[Finding("something is off", "do this")],
        notes=["tenant-a: time to first scale-up 30.0s, peak 4 replicas, CPU up to 180%"],
        timeline=[
            {
                "tenant": "tenant-a",
                "phase": "load",
                "at": "t",
                "seconds": 0.0,
                "replicas": 2,
                "desired": 2,
                "cpu_percent": None,
            },
            {
                "tenant": "tenant-a",
                "phase": "load",
                "at": "t",
                "seconds": 30.0,
                "replicas": 4,
                "desired": 4,
                "cpu_percent": 180,
            },
        ],
    )
    stream = io.StringIO()
    make_console(stream, color=False, width=200).print(live_table(report))
    text = stream.getvalue()
    assert "mlopsctl verify autoscaling (v1.31.0)" in text
    assert "PASS" in text and "tenant-a: scale-up under load" in text
    assert "finding: something is off" in text and "hint: do this" in text
    assert "note: tenant-a: time to first scale-up 30.0s" in text
    assert "Scaling timeline" in text
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in text.splitlines()
        if line.startswith("│ tenant-a") and "│ load" in line
    ]
    assert rows == [["tenant-a", "load", "0", "2", "2", "-"], ["tenant-a", "load", "30", "4", "4", "180"]]
    assert "1 passed, 0 failed" in text


def test_all_scale_down_needs_load(cli, fake_cluster):
    result = cli("verify", "all", "--scale-down")
    assert result.exit_code == 2
    assert "--scale-down needs --load" in result.stderr


def test_network_live_reports_phases_and_probing(cli, fake_cluster):
    result = cli("-q", "verify", "network", "--exhaustive", "--parallel", "2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["phase"] for row in data["phases"]] == [
        "network: probe pods", "network: read", "network: plan", "network: probe", "network: cleanup"
    ]  # fmt: skip
    assert data["probing"]["exhaustive"] is True and data["probing"]["parallel"] == 2
    assert data["probing"]["probes"] == sum(1 for check in data["checks"])


def test_isolation_and_all_take_the_probing_options(cli, fake_cluster):
    result = cli("-q", "verify", "isolation", "--parallel", "3", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["probing"]["parallel"] == 3
    result = cli("-q", "verify", "all", "--exhaustive", "-o", "json")
    assert json.loads(result.stdout)["probing"]["exhaustive"] is True


def test_parallel_must_be_positive(cli, fake_cluster):
    result = cli("verify", "network", "--parallel", "0")
    assert result.exit_code == 2
    assert "--parallel" in result.stderr


def test_network_table_shows_the_time_per_phase(cli, fake_cluster):
    result = cli("-q", "--no-color", "verify", "network", env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    assert "time: network: probe pods " in result.stdout and "network: probe " in result.stdout
