"""Cluster lifecycle: `cluster up` as a list of steps, `cluster down`, `cluster status`.

`up` is idempotent: an existing Kind cluster is reused, never recreated, and every apply is a server-side apply.
A failing step is named; a cluster this run created is deleted again unless `retain`. With `context` the run
adopts an existing cluster (EKS, GKE, AKS, ...): no Kind steps, no insecure kubelet TLS, the image is pushed to
a registry instead of loaded into nodes. Ctrl-C during a wait keeps what exists and says so (exit 130).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, Interrupted, MlopsctlError, NotFound, PrerequisiteMissing, UsageError
from mlopsctl.manifests import metrics_server as ms
from mlopsctl.manifests.kind import DEFAULT_PORT_MAPPINGS, KindClusterSpec
from mlopsctl.progress import Status
from mlopsctl.services import tenant as tenants_service
from mlopsctl.services.image_delivery import ImageApi, check_pushable, digest_note, push_existing, record

if TYPE_CHECKING:
    from mlopsctl.manifests.tenant import TenantSpec


class KindApi(Protocol):
    """What cluster lifecycle needs from kind (adapters/kind.py: KindCli)."""

    def ensure_installed(self) -> tuple[int, int, int]: ...

    def clusters(self) -> list[str]: ...

    def create(self, spec: KindClusterSpec, wait: str = "120s", retain: bool = False) -> str: ...

    def delete(self, name: str) -> None: ...

    def export_kubeconfig(self, name: str) -> None: ...

    def load_image_archive(self, name: str, archive: Path) -> None: ...


# An optional platform part (monitoring, storage): installs itself on the cluster of the given kubeconfig context,
# returns a one-line detail for the summary.
Installer = Callable[[KubeApi, Status, str], str]


@dataclass
class ClusterDeps:
    kind: KindApi
    connect: Callable[[str | None], KubeApi]  # kubeconfig context -> API
    images: ImageApi
    installers: dict[str, Installer] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class ClusterUpRequest:
    name: str = c.DEFAULT_CLUSTER_NAME
    workers: int = 2
    kubernetes_version: str = c.DEFAULT_KUBERNETES_VERSION
    context: str | None = None
    registry: str | None = None
    tenants: tuple[str, ...] = c.DEFAULT_TENANTS
    monitoring: bool = True
    storage: bool = True
    skip_build: bool = False
    retain: bool = False
    timeout: float = 300.0
    # Kind only: map the platform NodePorts to 127.0.0.1 (off for a second cluster beside the first).
    host_ports: bool = True


@dataclass
class StepResult:
    name: str
    state: str  # done, reused, skipped
    detail: str = ""
    seconds: float = 0.0


@dataclass
class ClusterUpResult:
    cluster: str
    context: str
    mode: str  # kind or adopted
    created: bool
    server_version: str = ""
    image: str = ""
    tenants: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)
    next_commands: list[str] = field(default_factory=list)


@dataclass
class ClusterDownResult:
    cluster: str
    deleted: bool
    note: str


@dataclass
class NodeRow:
    name: str
    roles: str
    ready: bool
    version: str


@dataclass
class ComponentRow:
    name: str
    state: str
    detail: str


@dataclass
class ClusterStatus:
    cluster: str
    context: str
    mode: str
    server_version: str
    nodes: list[NodeRow]
    components: list[ComponentRow]
    tenants: list[tenants_service.TenantRow]


# -- conditions --------------------------------------------------------------------------------------------------
def _condition(obj: KubeObject | None, kind: str) -> bool:
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def node_ready(node: KubeObject | None) -> bool:
    return _condition(node, "Ready")


def api_service_available(service: KubeObject | None) -> bool:
    return _condition(service, "Available")


def kind_cluster_of(context: str | None) -> str | None:
    """`kind-NAME` contexts name a Kind cluster."""
    return context[len("kind-") :] if context and context.startswith("kind-") else None


# -- up --------------------------------------------------------------------------------------------------------
class _Run:
    """Runs named steps through Status and records them; remembers the step that failed."""

    def __init__(self, status: Status, result: ClusterUpResult, clock: Callable[[], float]) -> None:
        self.status = status
        self.result = result
        self.clock = clock
        self.current = ""

    def step(self, name: str, action: Callable[[], tuple[str, str] | str | None]) -> None:
        self.current = name
        started = self.clock()
        with self.status.step(name):
            outcome = action()
        state, detail = ("done", outcome or "") if not isinstance(outcome, tuple) else outcome
        self.result.steps.append(StepResult(name, state, detail, round(self.clock() - started, 1)))

    def skip(self, name: str, why: str) -> None:
        self.status.note(f"skipped {name}: {why}")
        self.result.steps.append(StepResult(name, "skipped", why))

    def done(self) -> str:
        finished = [step.name for step in self.result.steps if step.state != "skipped"]
        return ", ".join(finished) or "nothing yet"


def _wait(what: str, timeout: float, wait: Callable[[], Any]) -> Any:
    try:
        return wait()
    except TimeoutError as exc:
        raise ClusterError(f"{what} within {timeout:.0f}s", hint="see `mlopsctl cluster status` and kubectl") from exc


def _adopting(request: ClusterUpRequest, deps: ClusterDeps) -> tuple[bool, str]:
    """(kind mode?, cluster name). A `kind-NAME` context of an existing Kind cluster stays in Kind mode."""
    if request.context is None:
        return True, request.name
    name = kind_cluster_of(request.context)
    if name is not None:
        with contextlib.suppress(MlopsctlError):
            if name in deps.kind.clusters():
                return True, name
    return False, request.context


def cluster_up(request: ClusterUpRequest, deps: ClusterDeps, status: Status) -> ClusterUpResult:
    kind_mode, name = _adopting(request, deps)
    spec = None
    if kind_mode:
        spec = KindClusterSpec(
            name=name,
            workers=request.workers,
            kubernetes_version=request.kubernetes_version,
            port_mappings=DEFAULT_PORT_MAPPINGS if request.host_ports else (),
        )
    if not kind_mode and not request.registry and not request.skip_build:
        raise UsageError(
            f"adopting the cluster of context {request.context} needs --registry",
            hint="the cluster pulls the image from it: log in (docker login), then pass --registry REGISTRY/PATH",
        )
    if spec is not None and request.skip_build and not deps.images.exists(deps.images.reference(request.registry)):
        raise UsageError(
            f"--skip-build: image {deps.images.reference(request.registry)} is not in the local Docker",
            hint="run `mlopsctl image build`, or drop --skip-build",
        )
    if spec is None and request.skip_build and request.registry:
        check_pushable(deps.images, request.registry)
    context = spec.context if spec else str(request.context)
    result = ClusterUpResult(cluster=name, context=context, mode="kind" if kind_mode else "adopted", created=False)
    run = _Run(status, result, deps.clock)
    try:
        _up(request, deps, run, spec, result)
    except (KeyboardInterrupt, Interrupted) as exc:
        kept = f"cluster {name} exists" if result.created or kind_mode else f"context {context}"
        raise Interrupted(
            f"interrupted during '{run.current}'; done: {run.done()}",
            hint=f"{kept} and was kept; run `mlopsctl cluster up` again to finish (it reuses the cluster)",
        ) from exc
    except MlopsctlError as exc:
        exc.message = f"cluster up failed at '{run.current}': {exc.message}"
        if result.created and spec is not None and not request.retain:
            with contextlib.suppress(MlopsctlError):
                deps.kind.delete(spec.name)
            cleanup = f"the half-created cluster {spec.name} was deleted (--retain keeps it for inspection)"
        elif result.created and spec is not None:
            cleanup = f"--retain: cluster {spec.name} was kept; inspect it with kubectl --context {spec.context}"
        else:
            cleanup = "nothing was deleted; run `mlopsctl cluster up` again once the cause is fixed"
        exc.hint = f"{exc.hint}; {cleanup}" if exc.hint else cleanup
        raise
    return result


def _up(
    request: ClusterUpRequest,
    deps: ClusterDeps,
    run: _Run,
    spec: KindClusterSpec | None,
    result: ClusterUpResult,
) -> None:
    status = run.status
    timeout = request.timeout
    if spec is not None:

        def check() -> str:
            version = ".".join(map(str, deps.kind.ensure_installed()))
            clusters = deps.kind.clusters()  # lists containers: fails early, with a hint, when Docker is down
            return f"kind v{version}; {len(clusters)} Kind cluster(s) on this Docker"

        run.step("check kind and Docker", check)

        def create() -> tuple[str, str]:
            if spec.name in deps.kind.clusters():
                deps.kind.export_kubeconfig(spec.name)
                return "reused", f"Kind cluster {spec.name} exists; reused"
            deps.kind.create(spec, retain=request.retain)
            result.created = True
            return "done", f"{1 + spec.workers} nodes, {spec.image.split('@')[0]}"

        run.step(f"create cluster {spec.name}", create)
    api = deps.connect(result.context)

    def reach() -> str:
        result.server_version = api.server_version()
        return f"Kubernetes {result.server_version} at context {result.context}"

    run.step("connect to the API server", reach)

    def nodes_ready() -> str:
        nodes = api.list("v1", "Node")
        if not nodes:
            raise ClusterError("the cluster has no nodes", hint="check the cluster's node pools")
        for node in nodes:
            node_name = node["metadata"]["name"]

            def node_is_ready(n: str = node_name) -> KubeObject | None:
                return api.wait_for("v1", "Node", n, None, node_ready, timeout)

            _wait(f"node {node_name} was not Ready", timeout, node_is_ready)
        return f"{len(nodes)} nodes Ready ({result.server_version})"

    run.step("wait for nodes Ready", nodes_ready)

    def install_metrics_server() -> tuple[str, str]:
        existing = api.get("apiregistration.k8s.io/v1", "APIService", ms.API_SERVICE)
        if existing is not None and not tenants_service.is_managed(existing):
            return "reused", "the cluster already serves the metrics API (not installed by mlopsctl); kept as is"
        insecure = spec is not None
        for obj in ms.render_metrics_server(insecure_tls=insecure):
            api.apply(obj)
        tls = " with --kubelet-insecure-tls (Kind only)" if insecure else ""
        return "done", f"metrics-server {ms.VERSION}{tls}"

    run.step("install metrics-server", install_metrics_server)

    def metrics_available() -> str:
        _wait(
            f"APIService {ms.API_SERVICE} was not Available",
            timeout,
            lambda: api.wait_for(
                "apiregistration.k8s.io/v1", "APIService", ms.API_SERVICE, None, api_service_available, timeout
            ),
        )
        return f"{ms.API_SERVICE} Available"

    run.step("wait for the metrics API", metrics_available)

    def build() -> tuple[str, str]:
        if request.skip_build:
            reference = deps.images.reference(request.registry)
            if spec is not None and not deps.images.exists(reference):
                raise UsageError(
                    f"--skip-build: image {reference} is not in the local Docker",
                    hint="run `mlopsctl image build`, or drop --skip-build",
                )
            result.image = reference
            return "skipped", f"--skip-build: using {reference}"
        result.image = deps.images.build(request.registry, status)
        return "done", result.image

    run.step("build the image", build)
    if spec is not None:
        tags_loaded: list[str] = []

        def load() -> str:
            # The build's own tag for the default tenants, and the version tag `tenant add` uses by default.
            tags = _tags(result.image, deps.images.reference(None))
            tags_loaded.extend(tags)
            with tempfile.TemporaryDirectory(prefix="mlopsctl-image-") as directory:
                archive = deps.images.save(tags, Path(directory) / "image.tar")
                deps.kind.load_image_archive(spec.name, archive)
            return f"{', '.join(tags)} loaded into {spec.name}"

        run.step("load the image into Kind", load)
        run.step("record the platform image", lambda: record(api, result.image, "kind", tags_loaded))
    elif request.skip_build and not request.registry:
        run.skip("push the image", f"--skip-build: the cluster pulls {result.image} as it is")
    else:
        pushed: dict[str, str | None] = {}

        def push() -> str:
            if request.skip_build:
                return push_existing(deps.images, request.registry or "", pushed)
            tags = _tags(result.image, deps.images.reference(request.registry))
            for tag in tags:
                pushed[tag] = deps.images.push(tag)
            return f"pushed {', '.join(tags)}" + digest_note(pushed.get(result.image))

        run.step("push the image", push)
        run.step(
            "record the platform image",
            lambda: record(api, result.image, "registry", list(pushed), pushed.get(result.image)),
        )

    specs = [_tenant_spec(api, name, result.image) for name in request.tenants]
    for tenant in specs:

        def apply_tenant(t: TenantSpec = tenant) -> str:
            return _apply_tenant(api, t, status)

        run.step(f"apply tenant {tenant.name}", apply_tenant)
        result.tenants.append(tenant.name)
    for tenant in specs:

        def wait_tenant(t: TenantSpec = tenant) -> str:
            return _wait_tenant(api, t.name, timeout, status, run)

        run.step(f"wait for tenant {tenant.name} to roll out", wait_tenant)
    _addons(request, deps, run, api, specs, spec is not None)
    _summary(result, spec is not None and bool(spec.port_mappings), request)


def _tags(*references: str) -> list[str]:
    return list(dict.fromkeys(references))


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


def _apply_tenant(api: KubeApi, spec: Any, status: Status) -> str:
    applied = tenants_service.add_tenant(api, spec, status, wait=False)
    counts = sum(1 for change in applied.objects if change.action == "applied")
    return f"{counts} objects applied"


def _wait_tenant(api: KubeApi, name: str, timeout: float, status: Status, run: _Run) -> str:
    def done() -> str:
        return f"done: {run.done()}; tenant {name} is still rolling out"

    found = tenants_service.wait_rollout(api, name, c.APP_NAME, timeout, status, done)
    return f"{(found.get('status') or {}).get('readyReplicas', 0)} ready"


def _addons(
    request: ClusterUpRequest, deps: ClusterDeps, run: _Run, api: KubeApi, specs: list[Any], kind_mode: bool
) -> None:
    wanted = {"monitoring": request.monitoring, "storage": request.storage}
    for part, enabled in wanted.items():
        installer = deps.installers.get(part)
        if not enabled:
            run.skip(f"install {part}", f"--no-{part}")
        elif installer is None:
            run.skip(f"install {part}", "this mlopsctl build has no installer for it")
        else:

            def install(i: Installer = installer) -> str:
                return i(api, run.status, run.result.context)

            run.step(f"install {part}", install)
            if part == "monitoring":
                # The monitoring CRDs exist now: re-apply the tenants so their ServiceMonitors are created.
                for tenant in specs:

                    def apply_monitor(t: Any = tenant) -> str:
                        return _apply_tenant(api, t, run.status)

                    run.step(f"apply tenant {tenant.name} ServiceMonitor", apply_monitor)


def _summary(result: ClusterUpResult, kind_mode: bool, request: ClusterUpRequest) -> None:
    installed = {step.name for step in result.steps if step.state != "skipped"}
    if kind_mode and "install monitoring" in installed:
        result.endpoints["grafana"] = f"http://127.0.0.1:{c.GRAFANA_NODE_PORT}"
        result.endpoints["prometheus"] = f"http://127.0.0.1:{c.PROMETHEUS_NODE_PORT}"
    if kind_mode and "install storage" in installed:
        result.endpoints["object store (S3)"] = f"http://127.0.0.1:{c.STORAGE_NODE_PORT}"
    for tenant in result.tenants:
        result.endpoints[f"tenant {tenant}"] = workload.service_url(tenant)
    context = "" if kind_mode and request.context is None else f"--context {result.context} "
    result.next_commands = [
        f"mlopsctl {context}tenant list",
        f"mlopsctl {context}verify isolation",
        f"mlopsctl {context}loadtest {result.tenants[0]}" if result.tenants else f"mlopsctl {context}tenant add NAME",
        f"kubectl --context {result.context} get pods -A",
    ]


# -- down ------------------------------------------------------------------------------------------------------
def cluster_down(name: str, context: str | None, kind: KindApi, status: Status) -> ClusterDownResult:
    """Delete the Kind cluster; an adopted cluster is never deleted by mlopsctl."""
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


# -- status ----------------------------------------------------------------------------------------------------
def _roles(node: KubeObject) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    prefix = "node-role.kubernetes.io/"
    roles = sorted(key[len(prefix) :] for key in labels if key.startswith(prefix))
    return ",".join(roles) or "worker"


def _components(api: KubeApi) -> list[ComponentRow]:
    rows: list[ComponentRow] = []
    service = api.get("apiregistration.k8s.io/v1", "APIService", ms.API_SERVICE)
    if service is None:
        rows.append(ComponentRow("metrics-server", "missing", "no metrics API: HPAs cannot scale"))
    else:
        owner = "mlopsctl" if tenants_service.is_managed(service) else "the cluster"
        state = "available" if api_service_available(service) else "unavailable"
        rows.append(ComponentRow("metrics-server", state, f"{ms.API_SERVICE}, installed by {owner}"))
    for part, namespace in (("monitoring", c.MONITORING_NAMESPACE), ("storage", c.STORAGE_NAMESPACE)):
        found = api.get("v1", "Namespace", namespace)
        if found is None:
            rows.append(ComponentRow(part, "not installed", f"namespace {namespace} absent"))
            continue
        deployments = api.list("apps/v1", "Deployment", namespace)
        ready = sum(
            1
            for d in deployments
            if (d.get("status") or {}).get("availableReplicas", 0) >= ((d.get("spec") or {}).get("replicas", 1))
        )
        state = "ready" if deployments and ready == len(deployments) else "not ready"
        rows.append(ComponentRow(part, state, f"{ready}/{len(deployments)} deployments ready in {namespace}"))
    return rows


def cluster_status(name: str, context: str | None, kind: KindApi | None, connect: Callable[[str | None], KubeApi]):
    kind_name = kind_cluster_of(context) if context else name
    mode = "kind" if kind_name else "adopted"
    if context is None and kind is not None:
        with contextlib.suppress(PrerequisiteMissing):
            if name not in kind.clusters():
                raise NotFound(f"no Kind cluster named {name}", hint="create it with `mlopsctl cluster up`")
    context = context or f"kind-{name}"
    api = connect(context)
    nodes = [
        NodeRow(
            name=node["metadata"]["name"],
            roles=_roles(node),
            ready=node_ready(node),
            version=((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "?"),
        )
        for node in api.list("v1", "Node")
    ]
    return ClusterStatus(
        cluster=kind_name or context,
        context=context,
        mode=mode,
        server_version=api.server_version(),
        nodes=nodes,
        components=_components(api),
        tenants=tenants_service.list_tenants(api).tenants,
    )


# -- image load ------------------------------------------------------------------------------------------------
@dataclass
class ImageLoadResult:
    cluster: str
    image: str


def load_image(kind: KindApi, images: ImageApi, cluster: str, reference: str, status: Status) -> ImageLoadResult:
    """`kind load image-archive` of a local image into the Kind cluster's nodes."""
    kind.ensure_installed()
    if cluster not in kind.clusters():
        raise NotFound(f"no Kind cluster named {cluster}", hint="create it with `mlopsctl cluster up`")
    if not images.exists(reference):
        raise UsageError(f"image {reference} is not in the local Docker", hint="build it with `mlopsctl image build`")
    with (
        status.step(f"load {reference} into Kind cluster {cluster}"),
        tempfile.TemporaryDirectory(prefix="mlopsctl-image-") as directory,
    ):
        archive = images.save([reference], Path(directory) / "image.tar")
        kind.load_image_archive(cluster, archive)
    return ImageLoadResult(cluster, reference)
