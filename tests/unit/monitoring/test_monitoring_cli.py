"""`mlopsctl monitoring ...` end to end through the real CLI, with the Kubernetes API faked and helm scripted."""

from __future__ import annotations

import json

import pytest
import yaml

from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.adapters.helm import HelmCli
from mlopsctl.manifests import monitoring as manifests
from tests.unit.monitoring.fake_runner import FakeRunner
from tests.unit.monitoring.test_monitoring_service import _chart_installs_into, _installed, _prometheus


@pytest.fixture
def cluster(monkeypatch):
    kube = FakeKubeApi()
    runner = FakeRunner(answers={"upgrade": _chart_installs_into(kube)})
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda context=None, kubeconfig=None, **kw: kube)
    monkeypatch.setattr(
        "mlopsctl.adapters.helm.make_helm", lambda context=None, kubeconfig=None, runner_=None: HelmCli(runner)
    )
    return kube, runner


def test_install_shows_the_generated_password_once(cli, cluster) -> None:
    first = cli("-o", "json", "monitoring", "install")
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["grafana_password"] and data["grafana_password"] not in ("admin", "prom-operator")
    assert data["grafana_url"] == "http://localhost:30080"
    second = cli("-o", "json", "monitoring", "install")
    assert json.loads(second.stdout)["grafana_password"] is None


def test_install_table_and_progress(cli, cluster) -> None:
    result = cli("monitoring", "install")
    assert result.exit_code == 0, result.stderr
    assert "shown once" in result.stdout
    assert "helm upgrade --install" in result.stderr


def test_install_thresholds_reach_the_prometheus_rule(cli, cluster) -> None:
    kube, _ = cluster
    assert cli("-q", "monitoring", "install", "--latency-p95", "0.25").exit_code == 0
    rule = kube.get("monitoring.coreos.com/v1", "PrometheusRule", manifests.PROMETHEUS_RULE_NAME, "monitoring")
    expr = next(
        r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r["alert"] == "InferenceHighLatencyP95"
    )
    assert expr.rstrip().endswith("> 0.25")


def test_install_with_a_local_chart_passes_no_repo(cli, cluster) -> None:
    _, runner = cluster
    assert cli("-q", "monitoring", "install", "--chart", "./kube-prometheus-stack-81.4.5.tgz").exit_code == 0
    ((argv, _),) = runner.commands("upgrade")
    assert "--repo" not in argv and "./kube-prometheus-stack-81.4.5.tgz" in argv


def test_bad_threshold_is_a_usage_error(cli, cluster) -> None:
    result = cli("monitoring", "install", "--error-ratio", "5")
    assert result.exit_code == 2
    assert "--error-ratio" in result.stderr


def test_missing_helm_exits_3_with_the_doctor_hint(cli, monkeypatch) -> None:
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda context=None, kubeconfig=None, **kw: FakeKubeApi())
    monkeypatch.setattr(
        "mlopsctl.adapters.helm.make_helm", lambda context=None, kubeconfig=None: HelmCli(FakeRunner(installed=False))
    )
    result = cli("monitoring", "install")
    assert result.exit_code == 3
    assert "helm not found" in result.stderr
    assert "mlopsctl doctor" in result.stderr


def test_status_lists_targets_per_tenant(cli, cluster) -> None:
    kube, _ = cluster
    _installed(kube)
    kube.proxy_handler = _prometheus
    result = cli("-o", "json", "monitoring", "status")
    assert result.exit_code == 0, result.stderr
    tenants = {row["tenant"]: row for row in json.loads(result.stdout)["tenants"]}
    assert (tenants["tenant-a"]["up"], tenants["tenant-a"]["down"]) == (1, 1)
    table = cli("monitoring", "status")
    assert "tenant-a" in table.stdout and "degraded" in table.stdout
    assert tenants["tenant-a"]["alerts"] == ["InferenceHighErrorRatio", "InferenceTargetDown"]


def test_status_when_not_installed_exits_5(cli, cluster) -> None:
    result = cli("monitoring", "status")
    assert result.exit_code == 5
    assert "not installed" in result.stderr


def test_uninstall_asks_unless_yes(cli, cluster) -> None:
    _, runner = cluster
    refused = cli("monitoring", "uninstall", input="n\n")
    assert refused.exit_code != 0
    assert runner.commands("uninstall") == []
    done = cli("-o", "json", "monitoring", "uninstall", "--yes")
    assert done.exit_code == 0, done.stderr
    assert runner.commands("uninstall")


@pytest.mark.parametrize("what", ["rules", "prometheusrule", "dashboard", "values"])
def test_render_prints_what_install_deploys(cli, what) -> None:
    result = cli("monitoring", "render", what)
    assert result.exit_code == 0, result.stderr
    if what == "dashboard":
        assert json.loads(result.stdout) == manifests.dashboard()
    elif what == "rules":
        assert yaml.safe_load(result.stdout) == {"groups": manifests.rule_groups()}
    elif what == "prometheusrule":
        assert yaml.safe_load(result.stdout) == manifests.prometheus_rule()
    else:
        assert yaml.safe_load(result.stdout)["grafana"]["service"]["nodePort"] == 30080


def test_render_unknown_is_a_usage_error(cli) -> None:
    result = cli("monitoring", "render", "everything")
    assert result.exit_code == 2
    assert "rules" in result.stderr
