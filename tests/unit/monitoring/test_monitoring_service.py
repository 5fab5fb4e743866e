"""services/monitoring against the in-memory Kubernetes API and a scripted helm."""

from __future__ import annotations

import json

import pytest
import yaml

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.adapters.helm import HelmCli
from mlopsctl.adapters.runner import CommandResult
from mlopsctl.errors import ClusterError, NotFound, PrerequisiteMissing
from mlopsctl.manifests import monitoring as manifests
from mlopsctl.progress import NullStatus
from mlopsctl.services import monitoring
from tests.unit.monitoring.fake_runner import FakeRunner, release_json

NS = c.MONITORING_NAMESPACE


def _ready(component: monitoring.Component, ready: bool = True) -> dict:
    meta = {"name": component.name, "namespace": NS, "generation": 1}
    if component.kind == "DaemonSet":
        status = {"observedGeneration": 1, "desiredNumberScheduled": 3, "numberReady": 3 if ready else 1}
        return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "spec": {}, "status": status}
    status = {"observedGeneration": 1, "readyReplicas": 1 if ready else 0, "updatedReplicas": 1}
    if component.name.endswith("-operator"):
        meta["labels"] = {"helm.sh/chart": "kube-prometheus-stack-81.4.5"}
    return {
        "apiVersion": "apps/v1",
        "kind": component.kind,
        "metadata": meta,
        "spec": {"replicas": 1},
        "status": status,
    }


def _crd() -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "prometheusrules.monitoring.coreos.com"},
        "status": {"conditions": [{"type": "Established", "status": "True"}]},
    }


def _chart_installs_into(kube: FakeKubeApi, ready: bool = True):
    """What `helm upgrade --install` does to the cluster, as far as mlopsctl looks at it."""

    def upgrade(argv):
        kube.add(_crd())
        for component in monitoring.components():
            kube.add(_ready(component, ready))
        return CommandResult(argv, 0, release_json())

    return upgrade


@pytest.fixture
def kube() -> FakeKubeApi:
    return FakeKubeApi()


def _helm(kube: FakeKubeApi, ready: bool = True) -> tuple[HelmCli, FakeRunner]:
    runner = FakeRunner(answers={"upgrade": _chart_installs_into(kube, ready)})
    return HelmCli(runner), runner


def test_install_generates_a_password_once_and_keeps_it_in_a_secret(kube: FakeKubeApi) -> None:
    helm, _ = _helm(kube)
    first = monitoring.install(kube, helm, NullStatus(), password_factory=lambda: "generated-1")
    secret = kube.get("v1", "Secret", manifests.GRAFANA_ADMIN_SECRET, NS)
    assert first.grafana_password == "generated-1"
    assert secret["stringData"][manifests.GRAFANA_ADMIN_PASSWORD_KEY] == "generated-1"
    second = monitoring.install(kube, helm, NullStatus(), password_factory=lambda: "generated-2")
    assert second.grafana_password is None
    assert kube.get("v1", "Secret", manifests.GRAFANA_ADMIN_SECRET, NS)["stringData"]["admin-password"] == "generated-1"


def test_default_password_is_random_and_not_a_default() -> None:
    passwords = {monitoring.generate_password() for _ in range(5)}
    assert len(passwords) == 5
    assert not passwords & {"admin", "prom-operator"}
    assert all(len(p) >= 20 for p in passwords)


def test_install_sends_rendered_values_to_helm_and_applies_rules_and_dashboard(kube: FakeKubeApi) -> None:
    helm, runner = _helm(kube)
    result = monitoring.install(kube, helm, NullStatus(), password_factory=lambda: "pw")
    ((argv, stdin),) = runner.commands("upgrade")
    assert argv[argv.index("--version") + 1] == monitoring.CHART_VERSION
    values = yaml.safe_load(stdin)
    assert values["grafana"]["admin"]["existingSecret"] == manifests.GRAFANA_ADMIN_SECRET
    assert values["kubeEtcd"]["enabled"] is False
    assert kube.get("monitoring.coreos.com/v1", "PrometheusRule", manifests.PROMETHEUS_RULE_NAME, NS) is not None
    assert kube.get("v1", "ConfigMap", manifests.DASHBOARD_CONFIGMAP_NAME, NS) is not None
    assert result.revision == 1
    assert result.grafana_url == f"http://localhost:{c.GRAFANA_NODE_PORT}"
    assert "InferenceTargetDown" in result.alert_rules
    assert all(comp.ok for comp in result.components)
    assert [comp.name for comp in result.components] == [comp.name for comp in monitoring.components()]


def test_install_order_secret_before_helm_rules_after_crds(kube: FakeKubeApi) -> None:
    helm, _ = _helm(kube)
    monitoring.install(kube, helm, NullStatus(), password_factory=lambda: "pw")
    applied = [args[0] for verb, args in kube.calls if verb == "apply"]
    assert applied == ["Namespace", "Secret", "PrometheusRule", "ConfigMap"]
    waits = [args for verb, args in kube.calls if verb == "wait_for"]
    assert waits[0] == ("CustomResourceDefinition", None, "prometheusrules.monitoring.coreos.com")


def test_scrape_control_plane_reaches_the_values(kube: FakeKubeApi) -> None:
    helm, runner = _helm(kube)
    options = monitoring.InstallOptions(scrape_control_plane=True)
    monitoring.install(kube, helm, NullStatus(), options, password_factory=lambda: "pw")
    ((_, stdin),) = runner.commands("upgrade")
    assert yaml.safe_load(stdin)["kubeControllerManager"]["enabled"] is True


def test_missing_helm_stops_before_touching_the_cluster(kube: FakeKubeApi) -> None:
    with pytest.raises(PrerequisiteMissing):
        monitoring.install(kube, HelmCli(FakeRunner(installed=False)), NullStatus())
    assert kube.calls == []


def test_a_component_that_never_gets_ready_names_itself(kube: FakeKubeApi) -> None:
    helm, _ = _helm(kube, ready=False)
    with pytest.raises(ClusterError) as caught:
        monitoring.install(kube, helm, NullStatus(), password_factory=lambda: "pw")
    assert "kube-prometheus-stack-operator not ready" in caught.value.message
    assert "kubectl -n monitoring describe deployment" in caught.value.hint


def test_readiness_of_workloads() -> None:
    deployment = _ready(monitoring.components()[0])
    assert monitoring.is_ready(deployment)
    rolling = {**deployment, "status": {**deployment["status"], "updatedReplicas": 0}}
    assert not monitoring.is_ready(rolling)
    stale = {**deployment, "metadata": {**deployment["metadata"], "generation": 2}}
    assert not monitoring.is_ready(stale)
    assert not monitoring.is_ready(None)
    daemonset = _ready(monitoring.components()[2], ready=False)
    assert monitoring.readiness(daemonset) == (1, 3)
    assert not monitoring.is_ready(daemonset)


def test_component_names_follow_the_chart() -> None:
    names = {comp.name for comp in monitoring.components("kube-prometheus-stack")}
    assert "prometheus-kube-prometheus-stack-prometheus" in names
    assert "kube-prometheus-stack-grafana" in names
    assert monitoring.prometheus_service("kube-prometheus-stack") == "kube-prometheus-stack-prometheus"
    assert (
        monitoring.prometheus_service("mon") == "mon-kube-prometheus-stack-prometheus"[:26].rstrip("-") + "-prometheus"
    )


# -- status ---------------------------------------------------------------------------------------------------
def _targets_body() -> str:
    def target(namespace: str, pod: str, health: str, job: str = c.APP_NAME, error: str = "") -> dict:
        return {
            "labels": {"namespace": namespace, "pod": pod, "job": job, "instance": f"{pod}:8080"},
            "scrapeUrl": f"http://{pod}:8080/metrics",
            "health": health,
            "lastError": error,
        }

    return json.dumps(
        {
            "status": "success",
            "data": {
                "activeTargets": [
                    target("tenant-a", "inference-a1", "up"),
                    target("tenant-a", "inference-a2", "down", error="context deadline exceeded"),
                    target("tenant-b", "inference-b1", "up"),
                    target("monitoring", "grafana-1", "up", job="grafana"),
                    target("tenant-b", "sidecar", "up", job="something-else"),
                ]
            },
        }
    )


def _installed(kube: FakeKubeApi) -> None:
    for component in monitoring.components():
        kube.add(_ready(component))
    for tenant in ("tenant-a", "tenant-b", "tenant-c"):
        kube.add(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": tenant, "labels": {c.TENANT_LABEL: tenant}}}
        )
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "labels": {}}})


def test_status_reports_targets_per_tenant_through_the_service_proxy(kube: FakeKubeApi) -> None:
    _installed(kube)
    asked = []

    def proxy(namespace, service, port, path, params):
        asked.append((namespace, service, port, path, params))
        return _targets_body()

    kube.proxy_handler = proxy
    result = monitoring.status(kube)
    assert asked[0] == (NS, "kube-prometheus-stack-prometheus", 9090, "api/v1/targets", {"state": "active"})
    assert asked[1][3] == "api/v1/alerts"
    rows = {row.tenant: row for row in result.tenants}
    assert list(rows) == ["tenant-a", "tenant-b", "tenant-c"]
    assert (rows["tenant-a"].up, rows["tenant-a"].down, rows["tenant-a"].state) == (1, 1, "degraded")
    assert rows["tenant-a"].targets[1].last_error == "context deadline exceeded"
    assert (rows["tenant-b"].up, rows["tenant-b"].down, rows["tenant-b"].state) == (1, 0, "up")
    assert rows["tenant-c"].state == "no targets"
    assert result.chart == "kube-prometheus-stack-81.4.5"
    assert result.healthy


def _alerts_body() -> str:
    def alert(name: str, state: str, **labels: str) -> dict:
        return {"labels": {"alertname": name, **labels}, "state": state}

    return json.dumps(
        {
            "status": "success",
            "data": {
                "alerts": [
                    alert("InferenceTargetDown", "firing", namespace="tenant-a", pod="inference-a2"),
                    alert("InferenceHighErrorRatio", "firing", tenant="tenant-a"),
                    alert("InferenceCPUNearLimit", "pending", namespace="tenant-b"),
                    alert("Watchdog", "firing"),
                ]
            },
        }
    )


def _prometheus(namespace, service, port, path, params):
    return _alerts_body() if path == "api/v1/alerts" else _targets_body()


def test_status_lists_firing_alerts_per_tenant(kube: FakeKubeApi) -> None:
    _installed(kube)
    kube.proxy_handler = _prometheus
    rows = {row.tenant: row for row in monitoring.status(kube).tenants}
    assert rows["tenant-a"].alerts == ["InferenceHighErrorRatio", "InferenceTargetDown"]
    assert rows["tenant-b"].alerts == []  # pending is not firing


def test_status_when_prometheus_cannot_be_reached_still_reports_components(kube: FakeKubeApi) -> None:
    _installed(kube)
    result = monitoring.status(kube)  # no proxy handler: the Service answers NotFound
    assert result.targets_error and "not found" in result.targets_error
    assert not result.healthy
    assert [row.state for row in result.tenants] == ["no targets"] * 3


def test_status_without_monitoring_installed(kube: FakeKubeApi) -> None:
    with pytest.raises(NotFound) as caught:
        monitoring.status(kube)
    assert "mlopsctl monitoring install" in caught.value.hint


def test_parse_targets_refuses_an_error_answer() -> None:
    with pytest.raises(ValueError, match="bad"):
        monitoring.parse_targets(json.dumps({"status": "error", "error": "bad"}), ["tenant-a"])


# -- uninstall ------------------------------------------------------------------------------------------------
def test_uninstall_removes_release_objects_and_our_namespace(kube: FakeKubeApi) -> None:
    helm, runner = _helm(kube)
    monitoring.install(kube, helm, NullStatus(), password_factory=lambda: "pw")
    result = monitoring.uninstall(kube, helm, NullStatus())
    assert runner.commands("uninstall")
    assert result.release_removed
    assert f"Namespace {NS}" in result.deleted
    assert f"Secret {NS}/{manifests.GRAFANA_ADMIN_SECRET}" in result.deleted
    assert kube.get("v1", "Namespace", NS) is None
    assert any("CustomResourceDefinitions" in kept for kept in result.kept)


def test_uninstall_leaves_a_namespace_mlopsctl_did_not_create(kube: FakeKubeApi) -> None:
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {}}})
    helm = HelmCli(FakeRunner())
    result = monitoring.uninstall(kube, helm, NullStatus())
    assert kube.get("v1", "Namespace", NS) is not None
    assert any("not created by mlopsctl" in kept for kept in result.kept)
