"""The in-cluster load generator's objects: an Indexed Job (the engine, from the tenant's own image, one pod per
worker) and the NetworkPolicy that lets every one of its pods reach the tenant's inference pods. Pure: values
in, plain dicts out.

    objects = render_loadtest_job(LoadtestJobValues(tenant="tenant-a", name="loadtest-x1y2z", image=..., args=[...]))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlopsctl import constants as c
from mlopsctl.manifests.templating import render_documents

TEMPLATE = "loadtest/job.yaml.j2"
# The pod gets this long beyond the planned load (start-up, connect-wait, drain) before Kubernetes ends it.
DEADLINE_MARGIN_SECONDS = 180
TTL_SECONDS = 300


@dataclass(frozen=True)
class LoadtestJobValues:
    tenant: str
    name: str
    image: str
    args: Sequence[str]
    planned_seconds: float = 60.0
    workers: int = 1  # pods of the Indexed Job, each with its JOB_COMPLETION_INDEX

    @property
    def namespace(self) -> str:
        return self.tenant


def loadtest_labels(tenant: str, name: str) -> dict[str, str]:
    return {
        c.NAME_LABEL: c.LOADTEST_APP,
        c.INSTANCE_LABEL: tenant,
        c.PART_OF_LABEL: c.PART_OF,
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.COMPONENT_LABEL: c.LOADTEST_COMPONENT,
        c.TENANT_LABEL: tenant,
        c.LOADTEST_RUN_LABEL: name,
    }


def run_selector(name: str) -> str:
    """The label selector of one run's pods."""
    return f"{c.LOADTEST_RUN_LABEL}={name}"


def render_loadtest_job(values: LoadtestJobValues) -> list[dict[str, Any]]:
    """[Job, NetworkPolicy] for one load run."""
    context = {
        "name": values.name,
        "namespace": values.namespace,
        "labels": loadtest_labels(values.tenant, values.name),
        "run_label": c.LOADTEST_RUN_LABEL,
        "target_labels": {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: values.tenant},
        "service_account": c.APP_NAME,
        "uid": c.IMAGE_UID,
        "container": c.LOADTEST_CONTAINER,
        "image": values.image,
        "command": list(c.LOADTEST_COMMAND),
        "args": [str(arg) for arg in values.args],
        "requests": dict(c.LOADTEST_REQUESTS),
        "limits": dict(c.LOADTEST_LIMITS),
        "container_port": c.CONTAINER_PORT,
        "active_deadline_seconds": int(values.planned_seconds) + DEADLINE_MARGIN_SECONDS,
        "ttl_seconds": TTL_SECONDS,
        "workers": values.workers,
    }
    return render_documents(TEMPLATE, context)
