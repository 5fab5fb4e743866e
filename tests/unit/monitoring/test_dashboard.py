"""The Grafana dashboard and the ConfigMap that provisions it."""

from __future__ import annotations

import json

from mlopsctl import constants as c
from mlopsctl.manifests import monitoring


def test_dashboard_has_a_tenant_variable_over_the_service_metrics() -> None:
    board = monitoring.dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["tenant"]["type"] == "query"
    assert variables["tenant"]["definition"] == f"label_values({monitoring.SERVICE_METRICS.model_info}, tenant)"
    assert variables["datasource"]["type"] == "datasource"


def test_dashboard_panels_answer_the_questions_asked() -> None:
    titles = [panel["title"] for panel in monitoring.dashboard()["panels"]]
    assert len(titles) >= 8
    for wanted in (
        "Request rate",
        "Latency",
        "Error ratio",
        "Replicas",
        "CPU",
        "Memory",
        "restarts",
        "Predictions",
        "Model version",
    ):
        assert any(wanted.lower() in title.lower() for title in titles), wanted


def test_every_query_is_scoped_to_the_selected_tenant() -> None:
    for title, expr in monitoring.dashboard_queries(monitoring.dashboard()):
        assert 'tenant="$tenant"' in expr or 'namespace="$tenant"' in expr, title


def test_panel_ids_are_unique_and_panels_do_not_overlap() -> None:
    panels = monitoring.dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = {(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels}
    assert len(cells) == len(panels)


def test_latency_panel_shows_three_quantiles() -> None:
    panel = next(p for p in monitoring.dashboard()["panels"] if p["title"].startswith("Latency"))
    assert [t["legendFormat"] for t in panel["targets"]] == ["p50", "p95", "p99"]
    assert all("histogram_quantile" in t["expr"] for t in panel["targets"])


def test_substitute_replaces_tenant_and_grafana_builtins() -> None:
    expr = 'sum(rate(x{tenant="$tenant", ns="${tenant}"}[$__rate_interval]))'
    assert monitoring.substitute(expr, {"tenant": "tenant-a"}) == 'sum(rate(x{tenant="tenant-a", ns="tenant-a"}[1m]))'


def test_configmap_is_picked_up_by_the_grafana_sidecar() -> None:
    configmap = monitoring.dashboard_configmap()
    assert configmap["metadata"]["namespace"] == c.MONITORING_NAMESPACE
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    (body,) = configmap["data"].values()
    assert json.loads(body)["uid"] == monitoring.DASHBOARD_UID


def test_platform_objects_are_the_rules_and_the_dashboard() -> None:
    kinds = [obj["kind"] for obj in monitoring.platform_objects()]
    assert kinds == ["PrometheusRule", "ConfigMap"]
