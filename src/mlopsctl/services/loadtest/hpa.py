"""The tenant's HorizontalPodAutoscaler, sampled while the load runs."""

from __future__ import annotations

import math
import threading
import time

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.errors import MlopsctlError
from mlopsctl.services.loadtest.results import HpaSample


def hpa_sample(hpa: KubeObject, t: float) -> HpaSample:
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    cpu_now = cpu_target = None
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            cpu_now = (resource.get("current") or {}).get("averageUtilization")
    for metric in spec.get("metrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            cpu_target = (resource.get("target") or {}).get("averageUtilization")
    return HpaSample(
        t=round(t, 3),
        current_replicas=status.get("currentReplicas"),
        desired_replicas=status.get("desiredReplicas"),
        cpu_percent=cpu_now,
        cpu_target_percent=cpu_target,
        min_replicas=spec.get("minReplicas"),
        max_replicas=spec.get("maxReplicas"),
    )


class HpaWatcher:
    """Reads the tenant's HPA at most once per `interval`; in a thread for host-side runs (the engine's event
    loop must never wait for the API server), inline for in-cluster runs."""

    def __init__(self, kube: KubeApi, namespace: str, name: str = c.APP_NAME, interval: float = 1.0) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.interval = interval
        self.latest: HpaSample | None = None
        self._last_read = -math.inf
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()

    def read(self, t: float) -> HpaSample | None:
        try:
            hpa = self.kube.get("autoscaling/v2", "HorizontalPodAutoscaler", self.name, self.namespace)
        except MlopsctlError:
            return self.latest  # a missed reading is not worth failing the load test for
        if hpa is not None:
            self.latest = hpa_sample(hpa, t)
        return self.latest

    def sample(self, t: float, now: float) -> HpaSample | None:
        if now - self._last_read >= self.interval:
            self._last_read = now
            return self.read(t)
        return self.latest

    def start(self, t0: float | None = None) -> None:
        self._t0 = time.monotonic() if t0 is None else t0

        def loop() -> None:
            while not self._stop.is_set():
                self.read(time.monotonic() - self._t0)
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=loop, name="hpa-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
