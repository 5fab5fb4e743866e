"""`verify isolation` (RBAC + network) and `verify all` (isolation + autoscaling): one report, one verdict."""

from __future__ import annotations

from collections.abc import Sequence

from mlopsctl.adapters.base import KubeApi
from mlopsctl.progress import Status
from mlopsctl.services.verify import LiveReport, merge_reports
from mlopsctl.services.verify_autoscaling import LoadDriver, verify_autoscaling
from mlopsctl.services.verify_network import verify_network
from mlopsctl.services.verify_rbac import verify_rbac


def verify_isolation(
    api: KubeApi, *, tenants: Sequence[str] | None = None, status: Status | None = None, **network_options
) -> LiveReport:
    rbac = verify_rbac(api, tenants=tenants, status=status)
    network = verify_network(api, tenants=tenants, status=status, **network_options)
    return merge_reports("isolation", [rbac, network])


def verify_all(
    api: KubeApi,
    *,
    tenants: Sequence[str] | None = None,
    load: LoadDriver | None = None,
    timeout: float = 300.0,
    status: Status | None = None,
    network_options: dict | None = None,
    autoscaling_options: dict | None = None,
) -> LiveReport:
    isolation = verify_isolation(api, tenants=tenants, status=status, **(network_options or {}))
    autoscaling = verify_autoscaling(
        api, tenants=tenants, load=load, timeout=timeout, status=status, **(autoscaling_options or {})
    )
    return merge_reports("all", [isolation, autoscaling])
