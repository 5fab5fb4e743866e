"""Monitoring: kube-prometheus-stack installed by helm, mlopsctl's alert rules and dashboard next to it, readiness
watched through the Kubernetes API, and the scrape state of every tenant read from Prometheus itself.

`cluster up` calls `install(kube, helm, status)`; the CLI calls `install`, `status` and `uninstall`.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.adapters.helm import ChartRef, Helm
from mlopsctl.errors import ClusterError, MlopsctlError, NotFound
from mlopsctl.manifests import monitoring as manifests
from mlopsctl.progress import Status
from mlopsctl.services import namespaces, rollout

# kube-prometheus-stack, pinned: its values keys (selectors, admission webhooks, sidecar) were read at this version.
CHART_NAME = "kube-prometheus-stack"
CHART_VERSION = "81.4.5"
CHART_REPO = "https://prometheus-community.github.io/helm-charts"
PROMETHEUS_PORT = 9090
CRD_ESTABLISH_TIMEOUT = 120.0


@dataclass(frozen=True)
class Component:
    api_version: str
    kind: str
    name: str


def components(release: str = c.MONITORING_RELEASE) -> tuple[Component, ...]:
    """What kube-prometheus-stack runs, named as the chart and the operator name them for `release`
    (a release name that contains the chart name is the chart's full name)."""
    full = release if CHART_NAME in release else f"{release}-{CHART_NAME}"[:26].rstrip("-")
    return (
        Component("apps/v1", "Deployment", f"{full}-operator"),
        Component("apps/v1", "Deployment", f"{release}-kube-state-metrics"),
        Component("apps/v1", "DaemonSet", f"{release}-prometheus-node-exporter"),
        Component("apps/v1", "StatefulSet", f"prometheus-{full}-prometheus"),
        Component("apps/v1", "StatefulSet", f"alertmanager-{full}-alertmanager"),
        Component("apps/v1", "Deployment", f"{release}-grafana"),
    )


def prometheus_service(release: str = c.MONITORING_RELEASE) -> str:
    full = release if CHART_NAME in release else f"{release}-{CHART_NAME}"[:26].rstrip("-")
    return f"{full}-prometheus"


def readiness(obj: KubeObject | None) -> tuple[int, int]:
    """(ready, desired) for a Deployment, StatefulSet or DaemonSet; (0, 0) when it does not exist yet."""
    if obj is None:
        return 0, 0
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    if obj.get("kind") == "DaemonSet":
        return int(st.get("numberReady") or 0), int(st.get("desiredNumberScheduled") or 0)
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(st.get("readyReplicas") or 0)
    if obj.get("kind") == "Deployment":
        # A rollout in progress counts only its new pods.
        ready = min(ready, int(st.get("updatedReplicas") or 0))
    return ready, desired


def is_ready(obj: KubeObject | None) -> bool:
    if obj is None:
        return False
    meta, st = obj.get("metadata") or {}, obj.get("status") or {}
    if int(st.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return False
    ready, desired = readiness(obj)
    return desired > 0 and ready >= desired


def _crd_established(obj: KubeObject | None) -> bool:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(cond.get("type") == "Established" and cond.get("status") == "True" for cond in conditions)


def generate_password() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class InstallOptions:
    chart_version: str = CHART_VERSION
    chart: str = CHART_NAME
    repo: str | None = CHART_REPO
    release: str = c.MONITORING_RELEASE
    namespace: str = c.MONITORING_NAMESPACE
    # Kind and managed control planes cannot be scraped; turn on for self-managed clusters only.
    scrape_control_plane: bool = False
    timeout: float = 900.0
    thresholds: manifests.AlertThresholds = field(default_factory=manifests.AlertThresholds)


@dataclass(frozen=True)
class ComponentStatus:
    kind: str
    name: str
    ready: int
    desired: int

    @property
    def ok(self) -> bool:
        return self.desired > 0 and self.ready >= self.desired


@dataclass(frozen=True)
class InstallResult:
    release: str
    namespace: str
    chart: str
    chart_version: str
    revision: int
    grafana_url: str
    prometheus_url: str
    grafana_user: str
    # Shown once: set only when this install generated it; afterwards it stays in the Secret.
    grafana_password: str | None
    grafana_password_secret: str
    alert_rules: list[str]
    dashboard: str
    components: list[ComponentStatus]


def install(
    kube: KubeApi,
    helm: Helm,
    status: Status,
    options: InstallOptions = InstallOptions(),
    *,
    password_factory: Callable[[], str] = generate_password,
    clock: Callable[[], float] = time.monotonic,
) -> InstallResult:
    """Install or upgrade kube-prometheus-stack with mlopsctl's values, rules and dashboard; wait until it runs."""
    deadline = clock() + options.timeout
    with status.step("checking helm"):
        helm.ensure_installed()
    ns = options.namespace
    with status.step(f"namespace {ns}"):
        kube.apply(manifests.monitoring_namespace(ns))
    password: str | None = None
    with status.step("Grafana admin password"):
        if kube.get("v1", "Secret", manifests.GRAFANA_ADMIN_SECRET, ns) is None:
            password = password_factory()
            kube.apply(manifests.grafana_admin_secret(password, ns))
        else:
            status.note(f"kept: the password is in Secret {ns}/{manifests.GRAFANA_ADMIN_SECRET}")
    settings = manifests.ChartSettings(
        chart_version=options.chart_version,
        release=options.release,
        scrape_control_plane=options.scrape_control_plane,
    )
    chart = ChartRef(options.chart, options.chart_version, options.repo)
    with status.step(f"helm upgrade --install {options.release} ({options.chart} {options.chart_version})"):
        release = helm.upgrade_install(
            options.release, chart, ns, manifests.chart_values_yaml(settings), timeout=_left(deadline, clock)
        )
    with status.step("alert rules and dashboard"):
        _wait(
            kube,
            Component("apiextensions.k8s.io/v1", "CustomResourceDefinition", "prometheusrules.monitoring.coreos.com"),
            None,
            _crd_established,
            min(CRD_ESTABLISH_TIMEOUT, _left(deadline, clock)),
        )
        objects = manifests.platform_objects(options.thresholds, namespace=ns)
        for obj in objects:
            kube.apply(obj)
    states = []
    for component in components(options.release):
        with status.step(f"waiting for {component.kind} {ns}/{component.name}"):
            ready = _wait(kube, component, ns, is_ready, _left(deadline, clock))
        states.append(ComponentStatus(component.kind, component.name, *readiness(ready)))
    return InstallResult(
        release=options.release,
        namespace=ns,
        chart=options.chart,
        chart_version=options.chart_version,
        revision=release.revision,
        grafana_url=f"http://localhost:{c.GRAFANA_NODE_PORT}",
        prometheus_url=f"http://localhost:{c.PROMETHEUS_NODE_PORT}",
        grafana_user=manifests.GRAFANA_ADMIN_USER,
        grafana_password=password,
        grafana_password_secret=f"{ns}/{manifests.GRAFANA_ADMIN_SECRET}",
        alert_rules=manifests.alert_names(objects[0]["spec"]["groups"]),
        dashboard=manifests.DASHBOARD_TITLE,
        components=states,
    )


def _left(deadline: float, clock: Callable[[], float]) -> float:
    return max(1.0, deadline - clock())


def _wait(
    kube: KubeApi,
    component: Component,
    namespace: str | None,
    condition: Callable[[KubeObject | None], bool],
    timeout: float,
) -> KubeObject | None:
    try:
        return kube.wait_for(component.api_version, component.kind, component.name, namespace, condition, timeout)
    except TimeoutError as exc:
        where = f"{namespace}/{component.name}" if namespace else component.name
        hint = (
            f"kubectl -n {namespace} describe {component.kind.lower()} {component.name}"
            if namespace
            else f"kubectl get {component.kind.lower()} {component.name} -o yaml"
        )
        said, cause_hint = rollout.workload_causes(
            kube, component.api_version, component.kind, component.name, namespace
        )
        detail = f": {said}" if said else ""
        raise ClusterError(
            f"{component.kind} {where} not ready after {timeout:.0f}s{detail}", hint=cause_hint or hint
        ) from exc


# -- status -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    pod: str
    instance: str
    health: str
    last_error: str = ""


@dataclass(frozen=True)
class TenantTargets:
    tenant: str
    up: int
    down: int
    targets: list[Target]
    # mlopsctl alerts firing for the tenant (by alert name), when Prometheus could be asked.
    alerts: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        if not self.targets:
            return "no targets"
        return "up" if self.down == 0 else ("down" if self.up == 0 else "degraded")


@dataclass(frozen=True)
class MonitoringStatus:
    namespace: str
    chart: str
    components: list[ComponentStatus]
    tenants: list[TenantTargets]
    targets_error: str | None
    grafana_url: str
    prometheus_url: str

    @property
    def healthy(self) -> bool:
        return all(comp.ok for comp in self.components) and self.targets_error is None


def parse_targets(body: str, tenants: list[str], job: str = c.APP_NAME) -> list[TenantTargets]:
    """Prometheus' /api/v1/targets answer as one row per tenant (a tenant is its namespace)."""
    data = json.loads(body)
    if data.get("status") != "success":
        raise ValueError(data.get("error") or "Prometheus answered without success")
    by_tenant: dict[str, list[Target]] = {tenant: [] for tenant in tenants}
    for target in (data.get("data") or {}).get("activeTargets") or []:
        labels = target.get("labels") or {}
        namespace = labels.get("namespace", "")
        if namespace not in by_tenant or labels.get("job") != job:
            continue
        by_tenant[namespace].append(
            Target(
                pod=labels.get("pod", ""),
                instance=labels.get("instance", target.get("scrapeUrl", "")),
                health=target.get("health", "unknown"),
                last_error=target.get("lastError", ""),
            )
        )
    rows = []
    for tenant, found in by_tenant.items():
        found.sort(key=lambda t: (t.pod, t.instance))
        up = sum(1 for t in found if t.health == "up")
        rows.append(TenantTargets(tenant, up, len(found) - up, found))
    return rows


def parse_firing_alerts(body: str) -> dict[str, list[str]]:
    """Prometheus' /api/v1/alerts answer as {tenant: sorted names of firing alerts} (tenant = namespace or the
    service's `tenant` label)."""
    data = json.loads(body)
    if data.get("status") != "success":
        raise ValueError(data.get("error") or "Prometheus answered without success")
    firing: dict[str, set[str]] = {}
    for alert in (data.get("data") or {}).get("alerts") or []:
        labels = alert.get("labels") or {}
        tenant = labels.get("tenant") or labels.get("namespace")
        if alert.get("state") == "firing" and tenant:
            firing.setdefault(tenant, set()).add(labels.get("alertname", ""))
    return {tenant: sorted(names) for tenant, names in firing.items()}


def status(
    kube: KubeApi, release: str = c.MONITORING_RELEASE, namespace: str = c.MONITORING_NAMESPACE
) -> MonitoringStatus:
    found = [(comp, kube.get(comp.api_version, comp.kind, comp.name, namespace)) for comp in components(release)]
    operator = found[0][1]
    if operator is None:
        raise NotFound(
            f"monitoring is not installed in namespace {namespace}", hint="run `mlopsctl monitoring install`"
        )
    chart = ((operator.get("metadata") or {}).get("labels") or {}).get("helm.sh/chart", "")
    states = [ComponentStatus(comp.kind, comp.name, *readiness(obj)) for comp, obj in found]
    tenants = namespaces.live_tenant_names(kube, label_selector=c.TENANT_LABEL)
    rows: list[TenantTargets] = []
    error: str | None = None
    try:
        body = kube.service_proxy_get(
            namespace, prometheus_service(release), PROMETHEUS_PORT, "api/v1/targets", {"state": "active"}
        )
        rows = parse_targets(body, tenants)
        alerts = parse_firing_alerts(
            kube.service_proxy_get(namespace, prometheus_service(release), PROMETHEUS_PORT, "api/v1/alerts")
        )
        rows = [dataclasses.replace(row, alerts=alerts.get(row.tenant, [])) for row in rows]
    except (MlopsctlError, ValueError) as exc:
        error = getattr(exc, "message", None) or str(exc)
        rows = rows or [TenantTargets(tenant, 0, 0, []) for tenant in tenants]
    return MonitoringStatus(
        namespace=namespace,
        chart=chart,
        components=states,
        tenants=rows,
        targets_error=error,
        grafana_url=f"http://localhost:{c.GRAFANA_NODE_PORT}",
        prometheus_url=f"http://localhost:{c.PROMETHEUS_NODE_PORT}",
    )


# -- uninstall ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UninstallResult:
    release: str
    namespace: str
    release_removed: bool
    deleted: list[str]
    kept: list[str]


def uninstall(
    kube: KubeApi,
    helm: Helm,
    status: Status,
    release: str = c.MONITORING_RELEASE,
    namespace: str = c.MONITORING_NAMESPACE,
    timeout: float = 300.0,
) -> UninstallResult:
    """Remove the release, mlopsctl's rules, dashboard and password, and the namespace if mlopsctl made it.
    The monitoring CRDs stay: deleting them would delete every tenant's ServiceMonitor with them."""
    with status.step("checking helm"):
        helm.ensure_installed()
    with status.step(f"helm uninstall {release}"):
        removed = helm.uninstall(release, namespace, timeout=timeout)
    deleted: list[str] = []
    with status.step("alert rules, dashboard and Grafana password"):
        for obj in [
            *manifests.platform_objects(namespace=namespace),
            manifests.grafana_admin_secret("", namespace),
        ]:
            kind, name = obj["kind"], obj["metadata"]["name"]
            try:
                if kube.delete(obj["apiVersion"], kind, name, namespace):
                    deleted.append(f"{kind} {namespace}/{name}")
            except NotFound:
                pass  # the CRD itself is gone
    kept = ["CustomResourceDefinitions *.monitoring.coreos.com (tenants' ServiceMonitors depend on them)"]
    ns = kube.get("v1", "Namespace", namespace)
    labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
    if ns is not None and labels.get(c.MANAGED_BY_LABEL) == c.MANAGED_BY:
        with status.step(f"namespace {namespace}"):
            kube.delete("v1", "Namespace", namespace)
        deleted.append(f"Namespace {namespace}")
    elif ns is not None:
        kept.append(f"Namespace {namespace} (not created by mlopsctl)")
    return UninstallResult(release, namespace, removed, deleted, kept)
