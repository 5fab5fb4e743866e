"""Monitoring, rendered offline: kube-prometheus-stack values, the alert rules (as a PrometheusRule and as a plain
Prometheus rules file with the same groups), and, from dashboard.py, the Grafana dashboard and its ConfigMap.

The names of the inference service's own metrics live in `ServiceMetrics` (monitoring_names.py), in one place:
the rules, the dashboard and the tests that scrape a real service all read them from there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as c
from mlopsctl.manifests.dashboard import (
    GRAFANA_BUILTINS,
    Panel,
    PanelQuery,
    dashboard,
    dashboard_configmap,
    dashboard_panels,
    dashboard_queries,
    substitute,
)
from mlopsctl.manifests.monitoring_names import (
    DASHBOARD_CONFIGMAP_NAME,
    DASHBOARD_FILE,
    DASHBOARD_LABEL,
    DASHBOARD_LABEL_VALUE,
    DASHBOARD_TITLE,
    DASHBOARD_UID,
    GRAFANA_ADMIN_PASSWORD_KEY,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_ADMIN_USER,
    GRAFANA_ADMIN_USER_KEY,
    PROMETHEUS_RULE_NAME,
    SERVICE_METRICS,
    ServiceMetrics,
    ksm_label_name,
    monitoring_labels,
)
from mlopsctl.manifests.templating import render_documents

__all__ = [
    "DASHBOARD_CONFIGMAP_NAME",
    "DASHBOARD_FILE",
    "DASHBOARD_LABEL",
    "DASHBOARD_LABEL_VALUE",
    "DASHBOARD_TITLE",
    "DASHBOARD_UID",
    "GRAFANA_ADMIN_PASSWORD_KEY",
    "GRAFANA_ADMIN_SECRET",
    "GRAFANA_ADMIN_USER",
    "GRAFANA_ADMIN_USER_KEY",
    "GRAFANA_BUILTINS",
    "PROMETHEUS_RULE_NAME",
    "RULES_TEMPLATE",
    "SERVICE_METRICS",
    "VALUES_TEMPLATE",
    "AlertThresholds",
    "ChartSettings",
    "Panel",
    "PanelQuery",
    "ServiceMetrics",
    "alert_names",
    "chart_values",
    "chart_values_yaml",
    "dashboard",
    "dashboard_configmap",
    "dashboard_panels",
    "dashboard_queries",
    "grafana_admin_secret",
    "ksm_label_name",
    "monitoring_labels",
    "monitoring_namespace",
    "platform_objects",
    "prometheus_rule",
    "rule_groups",
    "rules_file",
    "substitute",
    "to_yaml",
    "with_thresholds",
]

RULES_TEMPLATE = "monitoring/rules.yaml.j2"
VALUES_TEMPLATE = "monitoring/values.yaml.j2"


@dataclass(frozen=True)
class AlertThresholds:
    latency_p95_seconds: float = 0.5
    error_ratio: float = 0.05
    cpu_limit_ratio: float = 0.8
    memory_limit_ratio: float = 0.9
    restarts_15m: int = 0


@dataclass(frozen=True)
class ChartSettings:
    """What the kube-prometheus-stack values are rendered from."""

    chart_version: str
    release: str = c.MONITORING_RELEASE
    grafana_node_port: int = c.GRAFANA_NODE_PORT
    prometheus_node_port: int = c.PROMETHEUS_NODE_PORT
    # Off on Kind and on managed control planes, where these targets cannot be reached.
    scrape_control_plane: bool = False
    retention: str = "2d"
    extra: dict[str, Any] = field(default_factory=dict)


def rule_groups(
    thresholds: AlertThresholds = AlertThresholds(), metrics: ServiceMetrics = SERVICE_METRICS
) -> list[dict[str, Any]]:
    """The alert rule groups, exactly as they go into the PrometheusRule and the plain rules file."""
    context = {
        "metrics": metrics,
        "thresholds": thresholds,
        "route_label": metrics.route_label,
        "status_label": metrics.status_label,
        "api_routes": metrics.api_routes,
        "scrape_job": c.APP_NAME,
        "part_of": c.PART_OF,
        "tenant_namespace_label": c.TENANT_LABEL,
        "ksm_tenant_label": ksm_label_name(c.TENANT_LABEL),
    }
    (document,) = render_documents(RULES_TEMPLATE, context)
    return document["groups"]


def to_yaml(data: Any) -> str:
    """YAML for people to read: key order kept, multi-line strings (PromQL, JSON) as literal blocks."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)


def rules_file(thresholds: AlertThresholds = AlertThresholds(), metrics: ServiceMetrics = SERVICE_METRICS) -> str:
    """A Prometheus rules file (what `promtool check rules` reads) holding the deployed groups."""
    return to_yaml({"groups": rule_groups(thresholds, metrics)})


def prometheus_rule(
    thresholds: AlertThresholds = AlertThresholds(),
    metrics: ServiceMetrics = SERVICE_METRICS,
    namespace: str = c.MONITORING_NAMESPACE,
) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": PROMETHEUS_RULE_NAME,
            "namespace": namespace,
            "labels": {**monitoring_labels(PROMETHEUS_RULE_NAME), "release": c.MONITORING_RELEASE},
        },
        "spec": {"groups": rule_groups(thresholds, metrics)},
    }


def alert_names(groups: list[dict[str, Any]]) -> list[str]:
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def chart_values(settings: ChartSettings) -> dict[str, Any]:
    context = {
        "chart_version": settings.chart_version,
        "release": settings.release,
        "grafana_node_port": settings.grafana_node_port,
        "prometheus_node_port": settings.prometheus_node_port,
        "scrape_control_plane": settings.scrape_control_plane,
        "retention": settings.retention,
        "grafana_admin_secret": GRAFANA_ADMIN_SECRET,
        "grafana_admin_user_key": GRAFANA_ADMIN_USER_KEY,
        "grafana_admin_password_key": GRAFANA_ADMIN_PASSWORD_KEY,
        "dashboard_label": DASHBOARD_LABEL,
        "dashboard_label_value": DASHBOARD_LABEL_VALUE,
        "tenant_namespace_label": c.TENANT_LABEL,
        "ksm_tenant_label": ksm_label_name(c.TENANT_LABEL),
    }
    (values,) = render_documents(VALUES_TEMPLATE, context)
    return _merge(values, settings.extra)


def chart_values_yaml(settings: ChartSettings) -> str:
    return to_yaml(chart_values(settings))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def grafana_admin_secret(password: str, namespace: str = c.MONITORING_NAMESPACE) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": GRAFANA_ADMIN_SECRET,
            "namespace": namespace,
            "labels": monitoring_labels(GRAFANA_ADMIN_SECRET),
        },
        "type": "Opaque",
        "stringData": {GRAFANA_ADMIN_USER_KEY: GRAFANA_ADMIN_USER, GRAFANA_ADMIN_PASSWORD_KEY: password},
    }


def monitoring_namespace(name: str = c.MONITORING_NAMESPACE) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": monitoring_labels(name)}}


# The dashboard ---------------------------------------------------------------------------------------------------


def platform_objects(
    thresholds: AlertThresholds = AlertThresholds(),
    metrics: ServiceMetrics = SERVICE_METRICS,
    namespace: str = c.MONITORING_NAMESPACE,
) -> list[dict[str, Any]]:
    """What mlopsctl applies next to the chart: the alert rules and the dashboard."""
    return [prometheus_rule(thresholds, metrics, namespace), dashboard_configmap(metrics, namespace)]


def with_thresholds(base: AlertThresholds, **changes: Any) -> AlertThresholds:
    """`base` with the thresholds that were given (None: not given)."""
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})
