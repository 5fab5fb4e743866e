"""The dashboards and alert rules query the names and labels the service really exports."""

from __future__ import annotations

from inference import metrics as service
from mlopsctl.manifests.monitoring import SERVICE_METRICS


def test_the_monitoring_manifests_use_the_service_metric_names(make_client):
    assert (
        SERVICE_METRICS.requests,
        SERVICE_METRICS.latency,
        SERVICE_METRICS.predictions,
        SERVICE_METRICS.batch_size,
        SERVICE_METRICS.model_info,
        SERVICE_METRICS.model_loaded,
    ) == (
        service.REQUESTS_TOTAL,
        service.REQUEST_DURATION,
        service.PREDICTIONS_TOTAL,
        service.BATCH_SIZE,
        service.MODEL_INFO,
        service.MODEL_LOADED,
    )
    client = make_client()
    client.post("/predict", json={"text": "I love it"})
    exposition = client.get("/metrics").text
    for name in SERVICE_METRICS.names():
        assert f"\n{name}{{" in exposition, name
    for label in (SERVICE_METRICS.route_label, SERVICE_METRICS.status_label, SERVICE_METRICS.prediction_label):
        assert f'{label}="' in exposition, label
