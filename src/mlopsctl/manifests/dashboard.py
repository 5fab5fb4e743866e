"""The Grafana dashboard over the service's metrics, and the ConfigMap Grafana's sidecar loads it from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlopsctl import constants as c
from mlopsctl.manifests import monitoring_names as names

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


def dashboard_panels(metrics: names.ServiceMetrics = names.SERVICE_METRICS) -> list[Panel]:
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


def dashboard(metrics: names.ServiceMetrics = names.SERVICE_METRICS) -> dict[str, Any]:
    """The Grafana dashboard (JSON model): a datasource and a tenant variable, one panel per question."""
    panels = [
        _panel_json(panel, index + 1, (index % 2) * 12, (index // 2) * 8)
        for index, panel in enumerate(dashboard_panels(metrics))
    ]
    return {
        "uid": names.DASHBOARD_UID,
        "title": names.DASHBOARD_TITLE,
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
    metrics: names.ServiceMetrics = names.SERVICE_METRICS, namespace: str = c.MONITORING_NAMESPACE
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.DASHBOARD_CONFIGMAP_NAME,
            "namespace": namespace,
            "labels": {
                **names.monitoring_labels(names.DASHBOARD_CONFIGMAP_NAME),
                names.DASHBOARD_LABEL: names.DASHBOARD_LABEL_VALUE,
            },
        },
        "data": {names.DASHBOARD_FILE: json.dumps(dashboard(metrics), indent=2, sort_keys=False) + "\n"},
    }
