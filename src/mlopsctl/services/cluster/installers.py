"""The optional platform parts `cluster up` installs after the tenants: monitoring and the object store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlopsctl.adapters.base import KubeApi
from mlopsctl.progress import Status
from mlopsctl.services.cluster.model import Installer


def platform_installers(helm: Callable[[str], Any]) -> dict[str, Installer]:
    """Each part's installer; `helm(context)` gives the helm of the cluster being set up."""
    from mlopsctl.services import monitoring, storage

    def install_monitoring(api: KubeApi, status: Status, context: str) -> str:
        result = monitoring.install(api, helm(context), status)
        password = result.grafana_password or f"in Secret {result.grafana_password_secret}"
        return f"{result.chart} {result.chart_version}; Grafana user {result.grafana_user}, password {password}"

    def install_storage(api: KubeApi, status: Status, context: str) -> str:
        result = storage.install_storage(api, status)
        return f"{result.engine} in {result.namespace}, {result.endpoint}"

    return {"monitoring": install_monitoring, "storage": install_storage}
