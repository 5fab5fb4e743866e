"""`cluster up` as a list of named steps.

`up` is idempotent: an existing Kind cluster is reused, never recreated, and every apply is a server-side apply.
A failing step is named; a cluster this run created is deleted again unless `retain`. With `context` the run
adopts an existing cluster (EKS, GKE, AKS, ...): no Kind steps, no insecure kubelet TLS, the image is pushed to
a registry instead of loaded into nodes. Ctrl-C during a wait keeps what exists and says so (exit 130).
"""

from __future__ import annotations

import contextlib

from mlopsctl import constants as c
from mlopsctl.analysis import workload
from mlopsctl.errors import Interrupted, MlopsctlError, UsageError
from mlopsctl.manifests.kind import DEFAULT_PORT_MAPPINGS, KindClusterSpec
from mlopsctl.progress import Status
from mlopsctl.services.cluster import up_steps as s
from mlopsctl.services.cluster.model import ClusterDeps, ClusterUpRequest, ClusterUpResult, kind_cluster_of
from mlopsctl.services.cluster.steps import Step, StepRunner
from mlopsctl.services.image.delivery import check_pushable

UpStep = Step[s.UpContext]


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


def _check_request(request: ClusterUpRequest, deps: ClusterDeps, spec: KindClusterSpec | None) -> None:
    """Refuse what cannot work before anything is created."""
    if spec is None and not request.registry and not request.skip_build:
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


def plan(request: ClusterUpRequest, deps: ClusterDeps, spec: KindClusterSpec | None) -> list[UpStep]:
    """Every step of the run, in order; skipped ones carry their reason."""
    steps: list[UpStep] = []
    if spec is not None:
        steps += [
            Step("check kind and Docker", s.check_kind),
            Step(f"create cluster {spec.name}", s.create_cluster, cleanup=s.delete_created_cluster),
        ]
    steps += [
        Step("connect to the API server", s.connect),
        Step("wait for nodes Ready", s.nodes_ready),
        Step("install metrics-server", s.install_metrics_server),
        Step("wait for the metrics API", s.metrics_available),
        Step("build the image", s.build_image),
    ]
    if spec is not None:
        steps += [
            Step("load the image into Kind", s.load_image_into_kind),
            Step("record the platform image", s.record_loaded_image),
        ]
    elif request.skip_build and not request.registry:
        pulled = deps.images.reference(request.registry)
        steps.append(Step("push the image", s.push_image, skip=f"--skip-build: the cluster pulls {pulled} as it is"))
    else:
        steps += [
            Step("push the image", s.push_image),
            Step("record the platform image", s.record_pushed_image),
        ]
    steps += [Step(f"apply tenant {name}", s.apply_tenant(name)) for name in request.tenants]
    steps += [Step(f"wait for tenant {name} to roll out", s.wait_tenant(name)) for name in request.tenants]
    for part, enabled in {"monitoring": request.monitoring, "storage": request.storage}.items():
        if not enabled:
            steps.append(Step(f"install {part}", s.install_part(part), skip=f"--no-{part}"))
        elif part not in deps.installers:
            steps.append(
                Step(f"install {part}", s.install_part(part), skip="this mlopsctl build has no installer for it")
            )
        else:
            steps.append(Step(f"install {part}", s.install_part(part)))
            if part == "monitoring":
                # The monitoring CRDs exist now: re-apply the tenants so their ServiceMonitors are created.
                steps += [Step(f"apply tenant {t} ServiceMonitor", s.apply_service_monitor(t)) for t in request.tenants]
    return steps


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
    _check_request(request, deps, spec)
    context = spec.context if spec else str(request.context)
    result = ClusterUpResult(cluster=name, context=context, mode="kind" if kind_mode else "adopted", created=False)
    runner: StepRunner[s.UpContext] = StepRunner(status, result.steps, deps.clock)
    up = s.UpContext(request, deps, status, spec, result, runner)
    try:
        runner.run(plan(request, deps, spec), up)
    except (KeyboardInterrupt, Interrupted) as exc:
        kept = f"cluster {name} exists" if result.created or kind_mode else f"context {context}"
        raise Interrupted(
            f"interrupted during '{runner.current}'; done: {runner.done()}",
            hint=f"{kept} and was kept; run `mlopsctl cluster up` again to finish (it reuses the cluster)",
            partial=result,
        ) from exc
    except MlopsctlError as exc:
        exc.message = f"cluster up failed at '{runner.current}': {exc.message}"
        notes = runner.clean_up(up, request.retain)
        cleanup = "; ".join(notes) or "nothing was deleted; run `mlopsctl cluster up` again once the cause is fixed"
        exc.hint = f"{exc.hint}; {cleanup}" if exc.hint else cleanup
        raise
    _summary(result, spec is not None and bool(spec.port_mappings), request)
    return result


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
