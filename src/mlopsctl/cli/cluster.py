"""`mlopsctl cluster up|down|status`: the Kind lifecycle, or an existing cluster adopted with --context."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mlopsctl import constants
from mlopsctl.cli import context as cli_context
from mlopsctl.cli.tables import next_commands

app = typer.Typer(
    name="cluster",
    help="Create, inspect and delete the platform's cluster (Kind, or an existing one with --context).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def installers(deps) -> dict[str, Any]:
    """The platform parts `cluster up` installs, on the helm of the cluster being set up."""
    from mlopsctl.services.cluster.installers import platform_installers

    return platform_installers(deps.helm)


# -- output ----------------------------------------------------------------------------------------------------
def _up_output(result):
    from rich.console import Group
    from rich.table import Table

    steps = Table(title=f"cluster {result.cluster} ({result.mode}, context {result.context})", title_justify="left")
    for column in ("STEP", "STATE", "DETAIL", "SECONDS"):
        steps.add_column(column)
    for step in result.steps:
        steps.add_row(step.name, step.state, step.detail, f"{step.seconds:.1f}")
    endpoints = Table(title="endpoints", title_justify="left", box=None, pad_edge=False)
    endpoints.add_column("WHAT")
    endpoints.add_column("URL")
    for what, url in result.endpoints.items():
        endpoints.add_row(what, url)
    nxt = next_commands(result.next_commands)
    return Group(steps, endpoints, nxt)


def _status_output(result):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    head = Text(
        f"cluster {result.cluster} ({result.mode}), context {result.context}, Kubernetes {result.server_version}"
    )
    nodes = Table(title="nodes", title_justify="left", box=None, pad_edge=False)
    for column in ("NAME", "ROLES", "READY", "VERSION"):
        nodes.add_column(column)
    for node in result.nodes:
        nodes.add_row(node.name, node.roles, "yes" if node.ready else "no", node.version)
    parts = Table(title="platform", title_justify="left", box=None, pad_edge=False)
    for column in ("COMPONENT", "STATE", "DETAIL"):
        parts.add_column(column)
    for row in result.components:
        parts.add_row(row.name, row.state, row.detail)
    tenants = Table(title="tenants", title_justify="left", box=None, pad_edge=False)
    for column in ("NAME", "READY", "MODEL", "AGE"):
        tenants.add_column(column)
    for row in result.tenants:
        tenants.add_row(row.name, f"{row.ready}/{row.replicas}", row.model_version, row.age)
    return Group(head, nodes, parts, tenants)


# -- commands --------------------------------------------------------------------------------------------------
@app.command("up")
def up(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Kind cluster name (default: mlopsctl).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Kind worker nodes (default: 2).")] = None,
    kubernetes_version: Annotated[
        str | None, typer.Option("--kubernetes-version", help="Kubernetes minor version: 1.31 to 1.34.")
    ] = None,
    monitoring: Annotated[
        bool | None, typer.Option("--monitoring/--no-monitoring", help="Install kube-prometheus-stack.")
    ] = None,
    storage: Annotated[bool | None, typer.Option("--storage/--no-storage", help="Install the object store.")] = None,
    skip_build: Annotated[
        bool, typer.Option("--skip-build", help="Use the image already built (pushed to --registry when given).")
    ] = False,
    retain: Annotated[bool, typer.Option("--retain", help="Keep a half-created cluster when a step fails.")] = False,
    registry: Annotated[
        str | None, typer.Option("--registry", help="Push the image here (needed with --context) instead of loading.")
    ] = None,
    base_image: Annotated[
        str,
        typer.Option("--base-image", envvar="MLOPSCTL_BASE_IMAGE", help="Base image for the inference image build."),
    ] = constants.DEFAULT_BASE_IMAGE,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each readiness step.")] = 300.0,
    host_ports: Annotated[
        bool,
        typer.Option(
            "--host-ports/--no-host-ports",
            help="Kind: map the Grafana, Prometheus and object-store NodePorts to 127.0.0.1 "
            "(--no-host-ports for a second cluster beside the first).",
        ),
    ] = True,
) -> None:
    """Create (or reuse) the cluster and install everything: metrics-server, the image, tenants, monitoring, storage."""
    from mlopsctl.services import cluster as service

    settings = cli_context.settings(ctx).with_overrides(
        cluster_name=name,
        workers=workers,
        kubernetes_version=kubernetes_version,
        monitoring=monitoring,
        storage=storage,
        registry=registry,
    )
    request = service.ClusterUpRequest(
        name=settings.cluster_name,
        workers=settings.workers,
        kubernetes_version=settings.kubernetes_version,
        context=settings.context,
        registry=settings.registry,
        tenants=settings.tenants,
        monitoring=settings.monitoring,
        storage=settings.storage,
        skip_build=skip_build,
        retain=retain,
        timeout=timeout,
        host_ports=host_ports,
    )
    adapters = cli_context.deps(ctx)
    wiring = service.ClusterDeps(
        kind=adapters.kind(),
        connect=adapters.kube_for_context,
        images=adapters.images(base_image, verbose=settings.verbose > 0),
        installers=installers(adapters),
    )
    result = service.cluster_up(request, wiring, cli_context.status(ctx))
    cli_context.emit(ctx, result, _up_output)


@app.command("down")
def down(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Kind cluster name (default: mlopsctl).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the Kind cluster and everything in it. Adopted clusters are never deleted."""
    from rich.text import Text

    from mlopsctl.services import cluster as service

    settings = cli_context.settings(ctx).with_overrides(cluster_name=name)
    target = service.kind_cluster_of(settings.context) or settings.cluster_name
    if (settings.context is None or service.kind_cluster_of(settings.context)) and not yes:
        cli_context.confirm(
            f"Delete Kind cluster {target} and everything in it?", hint="pass --yes to skip the question"
        )
    result = service.cluster_down(
        settings.cluster_name, settings.context, cli_context.deps(ctx).kind(), cli_context.status(ctx)
    )
    cli_context.emit(ctx, result, lambda r: Text(r.note))


@app.command("status")
def status(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Kind cluster name (default: mlopsctl).")] = None,
) -> None:
    """Nodes and versions, platform components (metrics API, monitoring, storage) and tenants."""
    from mlopsctl.services import cluster as service

    settings = cli_context.settings(ctx).with_overrides(cluster_name=name)
    deps = cli_context.deps(ctx)
    kind = deps.kind() if settings.context is None else None
    result = service.cluster_status(settings.cluster_name, settings.context, kind, deps.kube_for_context)
    cli_context.emit(ctx, result, _status_output)
