"""Monitoring, rendered offline: kube-prometheus-stack values, the alert rules (as a PrometheusRule and as a plain
Prometheus rules file with the same groups), the Grafana dashboard and the ConfigMap Grafana's sidecar loads.

The names of the inference service's own metrics live in `ServiceMetrics`, in one place: the rules, the dashboard
and the tests that scrape a real service all read them from there.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as c
from mlopsctl.manifests.templating import render_documents

RULES_TEMPLATE = "monitoring/rules.yaml.j2"
VALUES_TEMPLATE = "monitoring/values.yaml.j2"

PROMETHEUS_RULE_NAME = "mlopsctl-inference"
DASHBOARD_CONFIGMAP_NAME = "mlopsctl-inference-dashboard"
DASHBOARD_FILE = "mlopsctl-inference.json"
DASHBOARD_UID = "mlopsctl-inference"
DASHBOARD_TITLE = "mlopsctl / Inference"
# Grafana's sidecar loads every ConfigMap carrying this label (kube-prometheus-stack's default label and value).
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
GRAFANA_ADMIN_SECRET = "mlopsctl-grafana-admin"
GRAFANA_ADMIN_USER_KEY = "admin-user"
GRAFANA_ADMIN_PASSWORD_KEY = "admin-password"
GRAFANA_ADMIN_USER = "admin"


def ksm_label_name(label: str) -> str:
    """The name kube-state-metrics gives a Kubernetes label on `kube_*_labels` series."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


@dataclass(frozen=True)
class ServiceMetrics:
    """What the inference service exports on /metrics; every series carries the `tenant` label."""

    requests: str = "inference_requests_total"
    latency: str = "inference_request_duration_seconds"
    predictions: str = "inference_predictions_total"
    batch_size: str = "inference_batch_size"
    model_info: str = "inference_model_info"
    model_loaded: str = "inference_model_loaded"
    route_label: str = "route"
    status_label: str = "status"
    prediction_label: str = "label"
    # The prediction routes: latency objectives are about them, not about probes or /metrics.
    api_routes: str = "/predict|/predict/batch"

    def names(self) -> tuple[str, ...]:
        """The metric family names as scraped (histograms as their `_bucket` series)."""
        return (
            self.requests,
            f"{self.latency}_bucket",
            self.predictions,
            f"{self.batch_size}_bucket",
            self.model_info,
            self.model_loaded,
        )


SERVICE_METRICS = ServiceMetrics()


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


def _labels(name: str) -> dict[str, str]:
    return {
        c.NAME_LABEL: name,
        c.PART_OF_LABEL: c.PART_OF,
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.COMPONENT_LABEL: "monitoring",
    }


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
            "labels": {**_labels(PROMETHEUS_RULE_NAME), "release": c.MONITORING_RELEASE},
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
        "metadata": {"name": GRAFANA_ADMIN_SECRET, "namespace": namespace, "labels": _labels(GRAFANA_ADMIN_SECRET)},
        "type": "Opaque",
        "stringData": {GRAFANA_ADMIN_USER_KEY: GRAFANA_ADMIN_USER, GRAFANA_ADMIN_PASSWORD_KEY: password},
    }


def monitoring_namespace(name: str = c.MONITORING_NAMESPACE) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": _labels(name)}}


# The dashboard ---------------------------------------------------------------------------------------------------

_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Grafana's own variables, for tools that evaluate the panel queries outside Grafana.
GRAFANA_BUILTINS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


@dataclass(frozen=True)
class PanelQuery:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[PanelQuery, ...]
    kind: str = "timeseries"
    unit: str = "short"
    description: str = ""


def dashboard_panels(metrics: ServiceMetrics = SERVICE_METRICS) -> list[Panel]:
    m = metrics
    t = 'tenant="$tenant"'
    api = f'{m.route_label}=~"{m.api_routes}"'
    ns = 'namespace="$tenant"'
    rate = "[$__rate_interval]"

    def quantile(q: float, base: str, selector: str) -> str:
        return f"histogram_quantile({q}, sum by (le) (rate({base}_bucket{{{selector}}}{rate})))"

    return [
        Panel(
            "Request rate",
            (
                PanelQuery(
                    f"sum by ({m.route_label}, {m.status_label}) (rate({m.requests}{{{t}}}{rate}))",
                    "{{" + m.route_label + "}} {{" + m.status_label + "}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Latency p50 / p95 / p99",
            tuple(PanelQuery(quantile(q, m.latency, f"{t}, {api}"), f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)),
            unit="s",
        ),
        Panel(
            "Error ratio (5xx)",
            (
                PanelQuery(
                    f'(sum(rate({m.requests}{{{t}, {m.status_label}=~"5.."}}{rate})) or vector(0))'
                    f" / sum(rate({m.requests}{{{t}}}{rate}))",
                    "5xx / all",
                ),
            ),
            unit="percentunit",
        ),
        Panel(
            "Replicas vs HPA",
            (
                PanelQuery(f"sum(kube_horizontalpodautoscaler_status_current_replicas{{{ns}}})", "current"),
                PanelQuery(f"sum(kube_horizontalpodautoscaler_status_desired_replicas{{{ns}}})", "desired"),
                PanelQuery(f"sum(kube_horizontalpodautoscaler_spec_max_replicas{{{ns}}})", "max"),
                PanelQuery(f'count(up{{{ns}, job="{c.APP_NAME}"}} == 1)', "pods scraped"),
            ),
        ),
        Panel(
            "CPU by pod",
            (
                PanelQuery(
                    f'sum by (pod) (rate(container_cpu_usage_seconds_total{{{ns}, container!="", container!="POD"}}{rate}))',
                    "{{pod}}",
                ),
                PanelQuery(
                    f'sum by (pod) (kube_pod_container_resource_limits{{{ns}, resource="cpu"}})', "{{pod}} limit"
                ),
            ),
            unit="cores",
        ),
        Panel(
            "Memory by pod",
            (
                PanelQuery(
                    f'sum by (pod) (container_memory_working_set_bytes{{{ns}, container!="", container!="POD"}})',
                    "{{pod}}",
                ),
                PanelQuery(
                    f'sum by (pod) (kube_pod_container_resource_limits{{{ns}, resource="memory"}})', "{{pod}} limit"
                ),
            ),
            unit="bytes",
        ),
        Panel(
            "Container restarts (1h)",
            (PanelQuery(f"sum by (pod) (increase(kube_pod_container_status_restarts_total{{{ns}}}[1h]))", "{{pod}}"),),
        ),
        Panel(
            "Predictions by label",
            (
                PanelQuery(
                    f"sum by ({m.prediction_label}) (rate({m.predictions}{{{t}}}{rate}))",
                    "{{" + m.prediction_label + "}}",
                ),
            ),
            unit="ops",
        ),
        Panel(
            "Batch size p50 / p95",
            tuple(PanelQuery(quantile(q, m.batch_size, t), f"p{int(q * 100)}") for q in (0.5, 0.95)),
        ),
        Panel(
            "Model version",
            (PanelQuery(f"max by (version, sha256) ({m.model_info}{{{t}}})", "{{version}} ({{sha256}})", True),),
            kind="table",
        ),
        Panel(
            "Model loaded (pods)",
            (PanelQuery(f"sum({m.model_loaded}{{{t}}})", "loaded", True),),
            kind="stat",
        ),
    ]


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = []
    for index, query in enumerate(panel.queries):
        target: dict[str, Any] = {
            "datasource": _DATASOURCE,
            "expr": query.expr,
            "legendFormat": query.legend,
            "refId": chr(ord("A") + index),
        }
        if query.instant or panel.kind != "timeseries":
            target.update({"instant": True, "range": False})
        if panel.kind == "table":
            target["format"] = "table"
        targets.append(target)
    body: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "datasource": _DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": targets,
    }
    if panel.description:
        body["description"] = panel.description
    if panel.kind == "timeseries":
        body["options"] = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    return body


def dashboard(metrics: ServiceMetrics = SERVICE_METRICS) -> dict[str, Any]:
    """The Grafana dashboard (JSON model): a datasource and a tenant variable, one panel per question."""
    panels = [
        _panel_json(panel, index + 1, (index % 2) * 12, (index // 2) * 8)
        for index, panel in enumerate(dashboard_panels(metrics))
    ]
    return {
        "uid": DASHBOARD_UID,
        "title": DASHBOARD_TITLE,
        "tags": [c.PART_OF, "inference"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                {
                    "name": "tenant",
                    "label": "Tenant",
                    "type": "query",
                    "datasource": _DATASOURCE,
                    "query": {"query": f"label_values({metrics.model_info}, tenant)", "refId": "tenant"},
                    "definition": f"label_values({metrics.model_info}, tenant)",
                    "refresh": 2,
                    "sort": 1,
                    "includeAll": False,
                    "multi": False,
                    "current": {},
                    "hide": 0,
                },
            ]
        },
        "panels": panels,
    }


def dashboard_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) for every query of every panel."""
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel.get("targets", [])]


def substitute(expr: str, variables: dict[str, str]) -> str:
    """A panel query with Grafana's variables replaced, as Grafana sends it (`$name` and `${name}` forms)."""
    values = {**GRAFANA_BUILTINS, **{f"${name}": value for name, value in variables.items()}}
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name[1:] + "}", values[name]).replace(name, values[name])
    return expr


def dashboard_configmap(
    metrics: ServiceMetrics = SERVICE_METRICS, namespace: str = c.MONITORING_NAMESPACE
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": DASHBOARD_CONFIGMAP_NAME,
            "namespace": namespace,
            "labels": {**_labels(DASHBOARD_CONFIGMAP_NAME), DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
        },
        "data": {DASHBOARD_FILE: json.dumps(dashboard(metrics), indent=2, sort_keys=False) + "\n"},
    }


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
