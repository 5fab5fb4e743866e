"""Names the monitoring objects share: the inference service's own metrics (`ServiceMetrics`, in one place: the
rules, the dashboard and the tests that scrape a real service all read them from there), the rule's and the
dashboard's names, and their labels."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlopsctl import constants as c

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


def monitoring_labels(name: str) -> dict[str, str]:
    return {
        c.NAME_LABEL: name,
        c.PART_OF_LABEL: c.PART_OF,
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.COMPONENT_LABEL: "monitoring",
    }
