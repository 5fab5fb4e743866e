"""Prometheus metrics of one service process, every series labelled with the tenant.

One process per pod: the service runs a single uvicorn worker and scales out by pod replicas (the HPA), so the
default single-process client is correct and prometheus-client's multiprocess mode is not needed. Each app
gets its own registry, so several apps in one process (tests) never collide.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# The names the dashboards and alert rules use (mirrored in mlopsctl.constants).
REQUESTS_TOTAL = "inference_requests_total"
REQUEST_DURATION = "inference_request_duration_seconds"
PREDICTIONS_TOTAL = "inference_predictions_total"
BATCH_SIZE = "inference_batch_size"
MODEL_INFO = "inference_model_info"
MODEL_LOADED = "inference_model_loaded"

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServiceMetrics:
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            REQUESTS_TOTAL.removesuffix("_total"),
            "HTTP requests handled, by route, method and status code.",
            ["tenant", "route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            REQUEST_DURATION,
            "Time from request start to the end of the response, by route, method and status code.",
            ["tenant", "route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            PREDICTIONS_TOTAL.removesuffix("_total"),
            "Texts classified, by predicted label.",
            ["tenant", "label"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            BATCH_SIZE,
            "Texts per model call (micro-batches coalesce concurrent requests).",
            ["tenant"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            MODEL_INFO, "The loaded model (value 1).", ["tenant", "version", "sha256"], registry=self.registry
        )
        self.model_loaded = Gauge(
            MODEL_LOADED, "1 once the model is loaded and verified, else 0.", ["tenant"], registry=self.registry
        )
        self.model_loaded.labels(tenant).set(0)
        self._batch_size = self.batch_size.labels(tenant)
        self._request_children: dict[tuple[str, str, int], tuple[object, object]] = {}
        self._label_children: dict[str, object] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            labels = (self.tenant, route, method, str(status))
            children = (self.requests.labels(*labels), self.duration.labels(*labels))
            self._request_children[key] = children
        children[0].inc()  # type: ignore[attr-defined]
        children[1].observe(seconds)  # type: ignore[attr-defined]

    def observe_batch(self, labels: Iterable[str], size: int) -> None:
        self._batch_size.observe(size)
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        for label, count in counts.items():
            child = self._label_children.get(label)
            if child is None:
                child = self._label_children[label] = self.predictions.labels(self.tenant, label)
            child.inc(count)  # type: ignore[attr-defined]

    def model_ready(self, version: str, sha256: str) -> None:
        self.model_info.labels(self.tenant, version, sha256).set(1)
        self.model_loaded.labels(self.tenant).set(1)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
