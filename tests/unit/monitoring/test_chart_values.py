"""The kube-prometheus-stack values mlopsctl renders."""

from __future__ import annotations

import yaml

from mlopsctl import constants as c
from mlopsctl.manifests import monitoring

SETTINGS = monitoring.ChartSettings(chart_version="81.4.5")


def _values(**changes) -> dict:
    import dataclasses

    return monitoring.chart_values(dataclasses.replace(SETTINGS, **changes))


def test_nodeports_match_the_kind_port_mappings() -> None:
    values = _values()
    assert values["grafana"]["service"] == {"type": "NodePort", "nodePort": c.GRAFANA_NODE_PORT}
    assert values["prometheus"]["service"] == {"type": "NodePort", "nodePort": c.PROMETHEUS_NODE_PORT}


def test_selection_does_not_depend_on_the_release_label() -> None:
    spec = _values()["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "probe", "scrapeConfig", "rule"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
        assert spec[f"{kind}Selector"] == {}, kind
        assert spec[f"{kind}NamespaceSelector"] == {}, kind


def test_grafana_password_comes_from_our_secret_never_a_default() -> None:
    grafana = _values()["grafana"]
    assert grafana["admin"] == {
        "existingSecret": monitoring.GRAFANA_ADMIN_SECRET,
        "userKey": monitoring.GRAFANA_ADMIN_USER_KEY,
        "passwordKey": monitoring.GRAFANA_ADMIN_PASSWORD_KEY,
    }
    assert "adminPassword" not in grafana


def test_dashboard_sidecar_watches_the_label_our_configmap_carries() -> None:
    sidecar = _values()["grafana"]["sidecar"]["dashboards"]
    configmap = monitoring.dashboard_configmap()
    assert sidecar["enabled"] is True
    assert configmap["metadata"]["labels"][sidecar["label"]] == sidecar["labelValue"] == "1"
    assert sidecar["searchNamespace"] == "ALL"


def test_control_plane_scraping_is_off_unless_asked() -> None:
    off, on = _values(), _values(scrape_control_plane=True)
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert off[component]["enabled"] is False
        assert on[component]["enabled"] is True
    for group in ("etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording", "kubeProxy"):
        assert off["defaultRules"]["rules"][group] is False
        assert on["defaultRules"]["rules"][group] is True


def test_admission_webhooks_and_their_tls_are_off() -> None:
    operator = _values()["prometheusOperator"]
    assert operator["admissionWebhooks"]["enabled"] is False
    assert operator["admissionWebhooks"]["patch"]["enabled"] is False
    assert operator["tls"]["enabled"] is False


def test_kube_state_metrics_exports_the_tenant_namespace_label() -> None:
    allow = _values()["kube-state-metrics"]["metricLabelsAllowlist"]
    assert allow == [f"namespaces=[{c.TENANT_LABEL}]"]


def test_extra_values_merge_deeply() -> None:
    values = _values(extra={"grafana": {"service": {"nodePort": 31000}}, "alertmanager": {"enabled": False}})
    assert values["grafana"]["service"] == {"type": "NodePort", "nodePort": 31000}
    assert values["grafana"]["admin"]["existingSecret"] == monitoring.GRAFANA_ADMIN_SECRET
    assert values["alertmanager"] == {"enabled": False}


def test_values_yaml_round_trips() -> None:
    assert yaml.safe_load(monitoring.chart_values_yaml(SETTINGS)) == monitoring.chart_values(SETTINGS)


def test_grafana_admin_secret_holds_the_generated_password() -> None:
    secret = monitoring.grafana_admin_secret("s3cret-generated")
    assert secret["metadata"]["name"] == monitoring.GRAFANA_ADMIN_SECRET
    assert secret["stringData"][monitoring.GRAFANA_ADMIN_PASSWORD_KEY] == "s3cret-generated"
    assert secret["stringData"][monitoring.GRAFANA_ADMIN_USER_KEY] == "admin"
