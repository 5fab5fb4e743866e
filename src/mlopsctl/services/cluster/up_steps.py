"""The steps of `cluster up`, each a function of the run's context returning its outcome (see steps.py)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, MlopsctlError, UsageError
from mlopsctl.manifests import metrics_server as ms
from mlopsctl.manifests.kind import KindClusterSpec
from mlopsctl.progress import Status
from mlopsctl.services import tenant as tenants_service
from mlopsctl.services.cluster.model import (
    ClusterDeps,
    ClusterUpRequest,
    ClusterUpResult,
    api_service_available,
    node_ready,
)
from mlopsctl.services.cluster.steps import Outcome, StepRunner
from mlopsctl.services.image.delivery import digest_note, push_existing, record

if TYPE_CHECKING:
    from mlopsctl.manifests.tenant import TenantSpec


@dataclass
class UpContext:
    """What the steps of one run share: the request, the adapters, and what earlier steps found or made."""

    request: ClusterUpRequest
    deps: ClusterDeps
    status: Status
    spec: KindClusterSpec | None  # None when adopting a cluster
    result: ClusterUpResult
    runner: StepRunner[UpContext]
    api_client: KubeApi | None = None
    tags: list[str] = field(default_factory=list)  # loaded into Kind
    pushed: dict[str, str | None] = field(default_factory=dict)  # tag -> registry digest
    tenant_specs: dict[str, TenantSpec] = field(default_factory=dict)

    @property
    def api(self) -> KubeApi:
        assert self.api_client is not None, "the connect step runs first"
        return self.api_client

    @property
    def kind_spec(self) -> KindClusterSpec:
        assert self.spec is not None, "Kind steps run in Kind mode only"
        return self.spec


def _wait(what: str, timeout: float, wait: Callable[[], Any]) -> Any:
    try:
        return wait()
    except TimeoutError as exc:
        raise ClusterError(f"{what} within {timeout:.0f}s", hint="see `mlopsctl cluster status` and kubectl") from exc


def _tags(*references: str) -> list[str]:
    return list(dict.fromkeys(references))


# -- Kind --------------------------------------------------------------------------------------------------------
def check_kind(up: UpContext) -> Outcome:
    version = ".".join(map(str, up.deps.kind.ensure_installed()))
    clusters = up.deps.kind.clusters()  # lists containers: fails early, with a hint, when Docker is down
    return f"kind v{version}; {len(clusters)} Kind cluster(s) on this Docker"


def create_cluster(up: UpContext) -> Outcome:
    spec = up.kind_spec
    if spec.name in up.deps.kind.clusters():
        up.deps.kind.export_kubeconfig(spec.name)
        return "reused", f"Kind cluster {spec.name} exists; reused"
    up.deps.kind.create(spec, retain=up.request.retain)
    up.result.created = True
    return "done", f"{1 + spec.workers} nodes, {spec.image.split('@')[0]}"


def delete_created_cluster(up: UpContext, retain: bool) -> str | None:
    """A cluster this run created is deleted after a failure, unless --retain."""
    spec = up.kind_spec
    if not up.result.created:
        return None
    if retain:
        return f"--retain: cluster {spec.name} was kept; inspect it with kubectl --context {spec.context}"
    with contextlib.suppress(MlopsctlError):
        up.deps.kind.delete(spec.name)
    return f"the half-created cluster {spec.name} was deleted (--retain keeps it for inspection)"


# -- the API server and metrics ----------------------------------------------------------------------------------
def connect(up: UpContext) -> Outcome:
    up.api_client = up.deps.connect(up.result.context)
    up.result.server_version = up.api.server_version()
    return f"Kubernetes {up.result.server_version} at context {up.result.context}"


def nodes_ready(up: UpContext) -> Outcome:
    api, timeout = up.api, up.request.timeout
    nodes = api.list("v1", "Node")
    if not nodes:
        raise ClusterError("the cluster has no nodes", hint="check the cluster's node pools")
    for node in nodes:
        node_name = node["metadata"]["name"]

        def node_is_ready(n: str = node_name) -> KubeObject | None:
            return api.wait_for("v1", "Node", n, None, node_ready, timeout)

        _wait(f"node {node_name} was not Ready", timeout, node_is_ready)
    return f"{len(nodes)} nodes Ready ({up.result.server_version})"


def install_metrics_server(up: UpContext) -> Outcome:
    existing = up.api.get("apiregistration.k8s.io/v1", "APIService", ms.API_SERVICE)
    if existing is not None and not tenants_service.is_managed(existing):
        return "reused", "the cluster already serves the metrics API (not installed by mlopsctl); kept as is"
    insecure = up.spec is not None
    for obj in ms.render_metrics_server(insecure_tls=insecure):
        up.api.apply(obj)
    tls = " with --kubelet-insecure-tls (Kind only)" if insecure else ""
    return "done", f"metrics-server {ms.VERSION}{tls}"


def metrics_available(up: UpContext) -> Outcome:
    api, timeout = up.api, up.request.timeout
    _wait(
        f"APIService {ms.API_SERVICE} was not Available",
        timeout,
        lambda: api.wait_for(
            "apiregistration.k8s.io/v1", "APIService", ms.API_SERVICE, None, api_service_available, timeout
        ),
    )
    return f"{ms.API_SERVICE} Available"


# -- the image ---------------------------------------------------------------------------------------------------
def build_image(up: UpContext) -> Outcome:
    request, images = up.request, up.deps.images
    if request.skip_build:
        reference = images.reference(request.registry)
        if up.spec is not None and not images.exists(reference):
            raise UsageError(
                f"--skip-build: image {reference} is not in the local Docker",
                hint="run `mlopsctl image build`, or drop --skip-build",
            )
        up.result.image = reference
        return "skipped", f"--skip-build: using {reference}"
    up.result.image = images.build(request.registry, up.status)
    return "done", up.result.image


def load_image_into_kind(up: UpContext) -> Outcome:
    spec, images = up.kind_spec, up.deps.images
    # The build's own tag for the default tenants, and the version tag `tenant add` uses by default.
    tags = _tags(up.result.image, images.reference(None))
    up.tags.extend(tags)
    with tempfile.TemporaryDirectory(prefix="mlopsctl-image-") as directory:
        archive = images.save(tags, Path(directory) / "image.tar")
        up.deps.kind.load_image_archive(spec.name, archive)
    return f"{', '.join(tags)} loaded into {spec.name}"


def record_loaded_image(up: UpContext) -> Outcome:
    return record(up.api, up.result.image, "kind", up.tags)


def push_image(up: UpContext) -> Outcome:
    request, images = up.request, up.deps.images
    if request.skip_build:
        return push_existing(images, request.registry or "", up.pushed)
    tags = _tags(up.result.image, images.reference(request.registry))
    for tag in tags:
        up.pushed[tag] = images.push(tag)
    return f"pushed {', '.join(tags)}" + digest_note(up.pushed.get(up.result.image))


def record_pushed_image(up: UpContext) -> Outcome:
    return record(up.api, up.result.image, "registry", list(up.pushed), up.pushed.get(up.result.image))


# -- tenants and platform parts ----------------------------------------------------------------------------------
def _tenant_spec(api: KubeApi, name: str, image: str) -> TenantSpec:
    """The default tenant's spec: the one stored on its namespace when it exists (so a re-run keeps what
    `tenant add` or `tenant set-model` changed), with the image this run built."""
    from mlopsctl.manifests.tenant import TenantSpec

    namespace = api.get("v1", "Namespace", name)
    stored = workload.tenant_spec_data(namespace)
    if namespace is not None and tenants_service.is_managed(namespace) and stored:
        with contextlib.suppress(UsageError):
            return TenantSpec.from_dict({**stored, "name": name}).replace(image=image, service_monitor=True)
    # The ServiceMonitor is skipped (with a note) while the monitoring CRDs are absent, applied once they exist.
    return TenantSpec.create(name, image=image, service_monitor=True)


def _apply(up: UpContext, name: str) -> str:
    if not up.tenant_specs:
        # Every default tenant's spec is read once, before the first apply.
        up.tenant_specs = {t: _tenant_spec(up.api, t, up.result.image) for t in up.request.tenants}
    applied = tenants_service.add_tenant(up.api, up.tenant_specs[name], up.status, wait=False)
    counts = sum(1 for change in applied.objects if change.action == "applied")
    return f"{counts} objects applied"


def apply_tenant(name: str) -> Callable[[UpContext], Outcome]:
    def apply(up: UpContext) -> Outcome:
        detail = _apply(up, name)
        up.result.tenants.append(name)
        return detail

    return apply


def apply_service_monitor(name: str) -> Callable[[UpContext], Outcome]:
    return lambda up: _apply(up, name)


def wait_tenant(name: str) -> Callable[[UpContext], Outcome]:
    def wait(up: UpContext) -> Outcome:
        def done() -> str:
            return f"done: {up.runner.done()}; tenant {name} is still rolling out"

        found = tenants_service.wait_rollout(up.api, name, c.APP_NAME, up.request.timeout, up.status, done)
        return f"{(found.get('status') or {}).get('readyReplicas', 0)} ready"

    return wait


def install_part(part: str) -> Callable[[UpContext], Outcome]:
    def install(up: UpContext) -> Outcome:
        return up.deps.installers[part](up.api, up.status, up.result.context)

    return install
