"""The helm adapter: the argv and stdin it sends, and how helm's failures become typed errors."""

from __future__ import annotations

import pytest
import yaml

from mlopsctl.adapters.helm import ChartRef, HelmCli
from mlopsctl.adapters.runner import CommandResult
from mlopsctl.errors import ClusterUnreachable, ExternalCommandFailed, PrerequisiteMissing
from tests.unit.monitoring.fake_runner import FakeRunner

CHART = ChartRef("kube-prometheus-stack", "81.4.5", "https://charts.example.test/helm-charts")


def test_upgrade_install_pins_the_version_and_sends_values_on_stdin() -> None:
    runner = FakeRunner()
    helm = HelmCli(runner, kube_context="kind-mlopsctl", kubeconfig="/tmp/kubeconfig")
    release = helm.upgrade_install("kube-prometheus-stack", CHART, "monitoring", "grafana:\n  enabled: true\n", 600)
    ((argv, stdin),) = runner.commands("upgrade")
    assert argv == (
        "helm",
        "upgrade",
        "--install",
        "kube-prometheus-stack",
        "kube-prometheus-stack",
        "--namespace",
        "monitoring",
        "--version",
        "81.4.5",
        "--repo",
        "https://charts.example.test/helm-charts",
        "--values",
        "-",
        "--timeout",
        "600s",
        "--output",
        "json",
        "--kube-context",
        "kind-mlopsctl",
        "--kubeconfig",
        "/tmp/kubeconfig",
    )
    assert yaml.safe_load(stdin) == {"grafana": {"enabled": True}}
    assert "--wait" not in argv
    assert (release.revision, release.status, release.chart) == (1, "deployed", "kube-prometheus-stack-81.4.5")


def test_a_local_or_oci_chart_needs_no_repo_flag() -> None:
    runner = FakeRunner()
    HelmCli(runner).upgrade_install("r", ChartRef("./charts/kps.tgz", "81.4.5"), "monitoring", "{}\n")
    ((argv, _),) = runner.commands("upgrade")
    assert "--repo" not in argv
    assert "--kube-context" not in argv


def test_missing_helm_points_at_doctor() -> None:
    with pytest.raises(PrerequisiteMissing) as caught:
        HelmCli(FakeRunner(installed=False)).ensure_installed()
    assert "helm not found" in caught.value.message
    assert "mlopsctl doctor" in caught.value.hint


def test_old_helm_is_refused() -> None:
    with pytest.raises(PrerequisiteMissing) as caught:
        HelmCli(FakeRunner(version_output="v3.8.0+g1\n")).ensure_installed()
    assert "too old" in caught.value.message


def test_ensure_installed_returns_the_version() -> None:
    assert HelmCli(FakeRunner()).ensure_installed() == "v3.19.2"


def test_unreachable_cluster_is_a_cluster_error() -> None:
    runner = FakeRunner(
        answers={
            "upgrade": lambda argv: CommandResult(
                argv, 1, "", 'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:6443/version": EOF\n'
            )
        }
    )
    with pytest.raises(ClusterUnreachable) as caught:
        HelmCli(runner).upgrade_install("r", CHART, "monitoring", "{}\n")
    assert "cluster unreachable" in caught.value.message
    assert "helm upgrade" in caught.value.detail


def test_other_helm_failures_carry_helm_s_last_line() -> None:
    runner = FakeRunner(
        answers={"upgrade": lambda argv: CommandResult(argv, 1, "", 'Error: chart "nope" version "1" not found\n')}
    )
    with pytest.raises(ExternalCommandFailed) as caught:
        HelmCli(runner).upgrade_install("r", CHART, "monitoring", "{}\n")
    assert 'chart "nope" version "1" not found' in caught.value.message


def test_uninstall_of_a_missing_release_is_not_an_error() -> None:
    runner = FakeRunner(
        answers={
            "uninstall": lambda argv: CommandResult(
                argv, 1, "", "Error: uninstall: Release not loaded: kube-prometheus-stack: release: not found\n"
            )
        }
    )
    assert HelmCli(runner).uninstall("kube-prometheus-stack", "monitoring") is False
    ((argv, _),) = runner.commands("uninstall")
    assert argv[:6] == ("helm", "uninstall", "kube-prometheus-stack", "--namespace", "monitoring", "--wait")


def test_status_of_a_missing_release_is_none() -> None:
    runner = FakeRunner(answers={"status": lambda argv: CommandResult(argv, 1, "", "Error: release: not found\n")})
    assert HelmCli(runner).status("kube-prometheus-stack", "monitoring") is None


def test_output_that_is_not_json_still_means_success() -> None:
    runner = FakeRunner(answers={"upgrade": lambda argv: CommandResult(argv, 0, "Release has been upgraded.\n")})
    release = HelmCli(runner).upgrade_install("r", CHART, "monitoring", "{}\n")
    assert (release.name, release.namespace, release.status) == ("r", "monitoring", "unknown")
