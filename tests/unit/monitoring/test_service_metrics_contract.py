"""The metric names the rules and dashboard use are the ones the inference service defines."""

from __future__ import annotations

from inference import metrics as service
from mlopsctl.manifests import monitoring


def test_metric_names_match_the_service() -> None:
    m = monitoring.SERVICE_METRICS
    assert m.requests == service.REQUESTS_TOTAL
    assert m.latency == service.REQUEST_DURATION
    assert m.predictions == service.PREDICTIONS_TOTAL
    assert m.batch_size == service.BATCH_SIZE
    assert m.model_info == service.MODEL_INFO
    assert m.model_loaded == service.MODEL_LOADED


def test_label_names_match_the_service() -> None:
    metrics = service.ServiceMetrics("tenant-a")
    metrics.observe_request("/predict", "POST", 200, 0.01)
    metrics.observe_batch(["positive"], 1)
    metrics.model_ready("v1", "abc")
    labels = {sample.name: set(sample.labels) for family in metrics.registry.collect() for sample in family.samples}
    m = monitoring.SERVICE_METRICS
    assert {"tenant", m.route_label, m.status_label} <= labels[m.requests]
    assert {"tenant", m.route_label, "le"} <= labels[f"{m.latency}_bucket"]
    assert {"tenant", m.prediction_label} <= labels[m.predictions]
    assert {"tenant", "version", "sha256"} <= labels[m.model_info]
    assert labels[m.model_loaded] == {"tenant"}


def test_api_routes_are_routes_the_service_labels() -> None:
    from inference.app import ROUTES

    assert set(monitoring.SERVICE_METRICS.api_routes.split("|")) <= ROUTES
