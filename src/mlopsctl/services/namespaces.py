"""The tenant namespaces that can still take objects: one place that leaves out namespaces being deleted.

A namespace in Terminating refuses every new object with 403 ("... because it is being terminated"), which
would read as a missing permission; `storage install`, `monitoring status`, `tenant set-model` and `verify`
therefore work on the live tenants only.
"""

from __future__ import annotations

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload

TENANT_NAMESPACES = f"{c.MANAGED_BY_LABEL}={c.MANAGED_BY},{c.TENANT_LABEL}"


def live_tenant_namespaces(api: KubeApi, label_selector: str = TENANT_NAMESPACES) -> list[KubeObject]:
    return workload.live(api.list("v1", "Namespace", label_selector=label_selector))


def live_tenant_names(api: KubeApi, label_selector: str = TENANT_NAMESPACES) -> list[str]:
    return sorted(str(workload.meta(ns).get("name", "")) for ns in live_tenant_namespaces(api, label_selector))


def is_live(api: KubeApi, name: str) -> bool:
    """The namespace exists and is not being deleted."""
    namespace = api.get("v1", "Namespace", name)
    return namespace is not None and not workload.is_terminating(namespace)
