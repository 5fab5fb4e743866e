"""Monitoring on a real cluster (`cluster up` has made it, with tenants): install is idempotent, every tenant is
scraped, Grafana serves the dashboard behind the generated password, Prometheus runs mlopsctl's rules and no
control-plane "down" alert fires on a healthy Kind cluster.

Skipped with the reason when helm is missing or MLOPSCTL_E2E_MINIMAL=1 (see tests/e2e/support.py); Grafana and
Prometheus are reached on the NodePorts Kind maps to 127.0.0.1, so those two tests need a Kind cluster.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from mlopsctl import constants as c
from mlopsctl.manifests import monitoring as manifests
from tests.e2e.support import is_kind

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_monitoring")]

GRAFANA = f"http://127.0.0.1:{c.GRAFANA_NODE_PORT}"
PROMETHEUS = f"http://127.0.0.1:{c.PROMETHEUS_NODE_PORT}"
CONTROL_PLANE_DOWN = {
    "KubeControllerManagerDown",
    "KubeSchedulerDown",
    "KubeProxyDown",
    "etcdMembersDown",
    "etcdInsufficientMembers",
}
OUR_SCRAPE_ALERTS = {
    "InferenceTargetDown",
    "InferenceTargetsAbsent",
    "InferenceTenantNotScraped",
    "InferenceModelNotLoaded",
    "InferenceModelStatusAbsent",
}


@pytest.fixture(scope="module")
def node_ports(kube):
    if not is_kind(kube):
        pytest.skip("only Kind maps Grafana's and Prometheus' NodePorts to 127.0.0.1")


def _poll(check, timeout: float, interval: float = 5.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    return last


def test_install_is_idempotent_and_never_shows_the_password_twice(e2e_cli) -> None:
    first = e2e_cli("-q", "-o", "json", "monitoring", "install")
    assert first.exit_code == 0, first.stderr
    second = e2e_cli("-q", "-o", "json", "monitoring", "install")
    assert second.exit_code == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["grafana_password"] is None
    assert all(comp["ready"] >= comp["desired"] > 0 for comp in data["components"]), data["components"]


def test_every_tenant_is_scraped(e2e_cli) -> None:
    def all_up():
        result = e2e_cli("-o", "json", "monitoring", "status")
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        return data if data["tenants"] and all(row["down"] == 0 and row["up"] > 0 for row in data["tenants"]) else None

    data = _poll(all_up, 300)
    assert data, "not every tenant had all its targets up within 5 minutes"


def _grafana_password(kube) -> str:
    secret = kube.get("v1", "Secret", manifests.GRAFANA_ADMIN_SECRET, c.MONITORING_NAMESPACE)
    assert secret is not None
    return base64.b64decode(secret["data"][manifests.GRAFANA_ADMIN_PASSWORD_KEY]).decode()


def test_grafana_serves_the_dashboard_only_with_the_generated_password(kube, node_ports) -> None:
    import httpx

    password = _grafana_password(kube)
    assert password not in ("admin", "prom-operator")
    assert httpx.get(f"{GRAFANA}/api/search", auth=("admin", "admin"), timeout=10).status_code == 401

    def found():
        response = httpx.get(
            f"{GRAFANA}/api/search", params={"query": "mlopsctl"}, auth=("admin", password), timeout=10
        )
        return response.status_code == 200 and any(
            item.get("uid") == manifests.DASHBOARD_UID for item in response.json()
        )

    assert _poll(found, 180), "the sidecar did not provision the mlopsctl dashboard within 3 minutes"


def test_prometheus_runs_our_rules_and_no_control_plane_alert_fires(node_ports) -> None:
    import httpx

    def rules_loaded():
        groups = httpx.get(f"{PROMETHEUS}/api/v1/rules", timeout=10).json()["data"]["groups"]
        names = {rule["name"] for group in groups for rule in group["rules"]}
        return names if set(manifests.alert_names(manifests.rule_groups())) <= names else None

    assert _poll(rules_loaded, 180), "Prometheus did not load the mlopsctl rules within 3 minutes"
    alerts = httpx.get(f"{PROMETHEUS}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    firing = {alert["labels"]["alertname"] for alert in alerts if alert["state"] == "firing"}
    assert not firing & CONTROL_PLANE_DOWN, firing
    assert not firing & OUR_SCRAPE_ALERTS, firing
