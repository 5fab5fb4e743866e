"""`mlopsctl storage install|status|uninstall`: the S3-compatible object store for model artifacts."""

from __future__ import annotations

from typing import Annotated

import typer

from mlopsctl.cli import context as cli_context

app = typer.Typer(
    name="storage",
    help="The object store for model artifacts (SeaweedFS by default; MinIO with your own image).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def kube_api(ctx: typer.Context):
    return cli_context.deps(ctx).kube()


def _install_table(result):
    from rich.table import Table

    title = f"object store ({result.engine}) in namespace {result.namespace}"
    if result.dry_run:
        title += " (dry run)"
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("FIELD")
    table.add_column("VALUE")
    table.add_row("image", result.image)
    table.add_row("in-cluster endpoint", result.endpoint)
    table.add_row("host endpoint", f"{result.host_endpoint} (the NodePort, mapped by the Kind config)")
    table.add_row("tenants", ", ".join(result.tenants) or "-")
    table.add_row("isolation", result.isolation)
    table.add_row("new credentials", ", ".join(result.new_credentials) or "none (existing ones kept)")
    table.add_row("objects", str(len(result.applied)))
    table.add_row("ready", "yes" if result.ready else "not waited for")
    return table


def _status_table(result):
    from rich.table import Table

    table = Table(title=f"object store in namespace {result.namespace}", title_justify="left", show_header=False)
    table.add_column("FIELD")
    table.add_column("VALUE")
    if not result.installed:
        table.add_row("installed", "no (run `mlopsctl storage install`)")
        return table
    table.add_row("engine", result.engine or "-")
    table.add_row("image", result.image or "-")
    table.add_row("ready replicas", str(result.ready_replicas))
    table.add_row("volume", f"{result.volume or '-'} ({result.volume_phase or 'unknown'}, {result.capacity or '?'})")
    table.add_row("in-cluster endpoint", result.endpoint or "-")
    reachable = {True: "answers", False: "does not answer", None: "not probed"}[result.host_reachable]
    table.add_row("host endpoint", f"{result.host_endpoint or '-'} ({reachable})")
    table.add_row("tenants", ", ".join(result.tenants) or "-")
    table.add_row("isolation", result.isolation or "-")
    table.add_row("problems", "; ".join(result.problems) or "none")
    return table


def _uninstall_table(result):
    from mlopsctl.cli.tables import object_actions_table

    return object_actions_table(f"removed from {result.namespace}", result.deleted, result.kept, justify="left")


@app.command("install")
def install(
    ctx: typer.Context,
    engine: Annotated[
        str | None, typer.Option("--engine", help="seaweedfs (the default) or minio; kept from the install.")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="Image with a pinned tag or digest (required for minio; no public images)."),
    ] = None,
    size: Annotated[str | None, typer.Option("--size", help="Volume size (5Gi).")] = None,
    storage_class: Annotated[
        str | None, typer.Option("--storage-class", help="StorageClass (default: the cluster's default).")
    ] = None,
    node_port: Annotated[int | None, typer.Option("--node-port", help="NodePort for host access (30333).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region the S3 clients sign for (us-east-1).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the store is ready.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for readiness.")] = 300,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Server-side dry run: validate, change nothing.")] = False,
) -> None:
    """Install (or update) the object store. Idempotent: credentials that exist are kept, and options not
    given keep their installed values."""
    from mlopsctl.services.storage import install_storage, resolve_spec

    api = kube_api(ctx)
    spec = resolve_spec(
        api,
        engine=engine,
        image=image,
        storage_size=size,
        storage_class=storage_class,
        node_port=node_port,
        region=region,
    )
    status = cli_context.status(ctx)
    result = install_storage(api, status, spec, wait=wait, timeout=timeout, dry_run=dry_run)
    if not spec.isolation_enforced:
        status.note("warning: with MinIO every tenant gets the admin key; isolation in the store is not enforced")
    cli_context.emit(ctx, result, _install_table)


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Engine, readiness, volume, endpoints, tenants with credentials, and what is wrong."""
    from mlopsctl.services.storage import storage_status

    deps = cli_context.deps(ctx)
    cli_context.emit(ctx, storage_status(deps.kube(), probe=deps.http_probe), _status_table)


@app.command("uninstall")
def uninstall(
    ctx: typer.Context,
    keep_data: Annotated[
        bool, typer.Option("--keep-data", help="Keep the namespace and its volume claim (the models).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove the object store and every tenant's store credentials."""
    from mlopsctl.services.storage import uninstall_storage

    if not (keep_data or yes):
        cli_context.confirm(
            "Delete the object store and every model in it?", hint="pass --yes, or --keep-data to keep the models"
        )
    result = uninstall_storage(kube_api(ctx), cli_context.status(ctx), keep_data=keep_data)
    cli_context.emit(ctx, result, _uninstall_table)
