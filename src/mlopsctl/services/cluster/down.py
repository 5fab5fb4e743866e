"""`cluster down`: delete the Kind cluster; an adopted cluster is never deleted by mlopsctl."""

from __future__ import annotations

from mlopsctl.errors import UsageError
from mlopsctl.progress import Status
from mlopsctl.services.cluster.model import ClusterDownResult, KindApi, kind_cluster_of


def cluster_down(name: str, context: str | None, kind: KindApi, status: Status) -> ClusterDownResult:
    if context is not None:
        kind_name = kind_cluster_of(context)
        if kind_name is None:
            raise UsageError(
                f"cluster down deletes Kind clusters only; {context} is not one",
                hint="on an adopted cluster remove the tenants with `mlopsctl tenant remove NAME`",
            )
        name = kind_name
    kind.ensure_installed()
    if name not in kind.clusters():
        return ClusterDownResult(name, False, f"no Kind cluster named {name}; nothing to do")
    with status.step(f"delete Kind cluster {name}"):
        kind.delete(name)
    return ClusterDownResult(name, True, f"Kind cluster {name} deleted")
