"""The tenant objects (manifests) and the monitoring stack agree: Prometheus selects the tenant's ServiceMonitor,
its targets get the job label the alert rules expect, and the tenant namespace carries the label the rules join on."""

from __future__ import annotations

from mlopsctl import constants as c
from mlopsctl.manifests import monitoring
from mlopsctl.manifests.tenant import TenantSpec, render_tenant


def _objects() -> dict[str, dict]:
    return {obj["kind"]: obj for obj in render_tenant(TenantSpec(name="tenant-a", service_monitor=True))}


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in (selector.get("matchLabels") or {}).items())


def test_prometheus_selects_the_tenant_service_monitor() -> None:
    spec = monitoring.chart_values(monitoring.ChartSettings(chart_version="x"))["prometheus"]["prometheusSpec"]
    monitor = _objects()["ServiceMonitor"]
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert _matches(spec["serviceMonitorSelector"], monitor["metadata"]["labels"])
    assert spec["serviceMonitorNamespaceSelector"] == {}  # every namespace, tenants included
    # And were the chart's release-label default ever back, the tenant's monitor would still match it.
    assert monitor["metadata"]["labels"].get("release") == c.MONITORING_RELEASE


def test_the_service_monitor_scrapes_the_service_port_and_yields_the_rules_job() -> None:
    objects = _objects()
    service, monitor = objects["Service"], objects["ServiceMonitor"]
    assert _matches(monitor["spec"]["selector"], service["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # Without a jobLabel, the operator names the job after the Service: the rules' `job` matcher.
    assert "jobLabel" not in monitor["spec"]
    assert service["metadata"]["name"] == c.APP_NAME
    rules = monitoring.rules_file()
    assert f'up{{job="{c.APP_NAME}"}}' in rules


def test_the_tenant_namespace_carries_the_label_the_rules_join_on() -> None:
    namespace = _objects()["Namespace"]
    assert namespace["metadata"]["labels"][c.TENANT_LABEL] == "tenant-a"
    values = monitoring.chart_values(monitoring.ChartSettings(chart_version="x"))
    assert values["kube-state-metrics"]["metricLabelsAllowlist"] == [f"namespaces=[{c.TENANT_LABEL}]"]
    assert monitoring.ksm_label_name(c.TENANT_LABEL) in monitoring.rules_file()
