"""Model lifecycle commands over the object store: `model push|list|pull` and `tenant set-model`.

They join the `model` sub-app (`cli/model.py`, which also holds `model train`) and the `tenant` sub-app
(`cli/tenant.py`); this module only attaches its commands to them.

The store is reached with the admin credentials read from the cluster and its host endpoint (the NodePort
that the Kind config maps to 127.0.0.1), or, without a cluster, with --endpoint and the key pair from
MLOPSCTL_S3_ACCESS_KEY_ID / MLOPSCTL_S3_SECRET_ACCESS_KEY (flags exist too, but they show up in `ps`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlopsctl.cli import context as cli_context

Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint", envvar="MLOPSCTL_S3_ENDPOINT", help="S3 endpoint (default: the installed store's NodePort)."
    ),
]
AccessKey = Annotated[
    str | None,
    typer.Option("--access-key", envvar="MLOPSCTL_S3_ACCESS_KEY_ID", help="Access key id (default: from the cluster)."),
]
SecretKey = Annotated[
    str | None,
    typer.Option(
        "--secret-key",
        envvar="MLOPSCTL_S3_SECRET_ACCESS_KEY",
        help="Secret key (default: from the cluster; prefer the environment variable).",
        show_default=False,
    ),
]
Region = Annotated[str, typer.Option("--region", envvar="MLOPSCTL_S3_REGION", help="Region to sign for.")]
Tenant = Annotated[str | None, typer.Option("--tenant", "-t", help="The tenant's bucket instead of the catalog.")]


def _kube(ctx: typer.Context):
    from mlopsctl.adapters import kube

    current = cli_context.settings(ctx)
    return kube.connect(current.context, current.kubeconfig)


def admin_store(ctx: typer.Context, endpoint=None, access_key=None, secret_key=None, region="us-east-1", api=None):
    """The admin S3 client: explicit endpoint and keys win; anything missing is read from the cluster.

    `tenant add --model VERSION` uses it with `services.model_registry.pin_model`."""
    from mlopsctl.adapters.s3 import Boto3ObjectStore
    from mlopsctl.errors import UsageError

    if bool(access_key) != bool(secret_key):
        raise UsageError("give both the access key and the secret key, or neither")
    if not (endpoint and access_key):
        from mlopsctl.services import storage

        api = api or _kube(ctx)
        if not access_key:
            creds = storage.admin_credentials(api)
            access_key, secret_key = creds.access_key_id, creds.secret_access_key
        if not endpoint:
            endpoint = storage.store_endpoints(api)[1]
    return Boto3ObjectStore(endpoint, access_key, secret_key, region=region)


def _push_table(result):
    from rich.table import Table

    table = Table(title="model pushed" if result.uploaded else "model already present", title_justify="left")
    for column in ("VERSION", "URI", "SIZE", "SHA256"):
        table.add_column(column)
    table.add_row(result.version, result.uri, _size(result.size), result.sha256[:12])
    return table


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def _list_table(result):
    from rich.table import Table

    table = Table(title="model versions", title_justify="left")
    for column in ("VERSION", "WHERE", "SIZE", "ACCURACY", "F1", "CREATED", "USED BY"):
        table.add_column(column)
    for item in result.versions:
        accuracy = item.metrics.get("accuracy")
        f1 = item.metrics.get("f1_macro")
        used_by = ", ".join(item.used_by) if result.usage_known else "?"
        table.add_row(
            item.version + ("" if item.complete else " (incomplete)"),
            item.tenant or "catalog",
            _size(item.size),
            f"{accuracy:.3f}" if isinstance(accuracy, float) else "-",
            f"{f1:.3f}" if isinstance(f1, float) else "-",
            item.created_at or "-",
            used_by or "-",
        )
    if result.notes:
        table.caption = "; ".join(result.notes)
    return table


def _pull_table(result):
    from rich.table import Table

    table = Table(title="model pulled and verified", title_justify="left")
    for column in ("VERSION", "URI", "DIRECTORY", "SHA256"):
        table.add_column(column)
    table.add_row(result.version, result.uri, str(result.directory), result.sha256[:12])
    return table


def _set_model_table(result):
    from rich.table import Table

    table = Table(title=f"tenant {result.tenant}", title_justify="left", show_header=False)
    table.add_column("FIELD")
    table.add_column("VALUE")
    table.add_row("model version", f"{result.previous_version or '-'} -> {result.version}")
    table.add_row("model uri", result.uri)
    table.add_row("copied from catalog", "yes" if result.copied_from_catalog else "no")
    table.add_row("rolled out", "yes" if result.rolled_out else "not waited for")
    if result.previous_version:
        table.caption = f"roll back with: mlopsctl tenant set-model {result.tenant} {result.previous_version}"
    return table


def push(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Artifact directory (model.skops + metadata.json).")],
    tenant: Tenant = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = "us-east-1",
) -> None:
    """Upload a model artifact; refuses one whose checksum does not match its metadata."""
    from mlopsctl.services import model_registry

    artifact = model_registry.read_artifact(directory)  # refuse a bad directory before touching the network
    store = admin_store(ctx, endpoint, access_key, secret_key, region)
    result = model_registry.push(store, artifact.directory, tenant=tenant, status=cli_context.status(ctx))
    cli_context.emit(ctx, result, _push_table)


def list_(
    ctx: typer.Context,
    tenant: Tenant = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = "us-east-1",
    cluster: Annotated[
        bool, typer.Option("--cluster/--no-cluster", help="Read which tenants use each version from the cluster.")
    ] = True,
) -> None:
    """Versions with sizes, held-out metrics, creation time, and which tenants serve each."""
    from mlopsctl.errors import MlopsctlError
    from mlopsctl.services import model_registry, storage

    api = usage = None
    tenants: tuple[str, ...] = ()
    note = "not asked (--no-cluster): tenants using each version unknown"
    if cluster:
        try:
            api = _kube(ctx)
            usage = model_registry.served_versions(api)
            tenants = storage.tenant_namespaces(api)
        except MlopsctlError as exc:
            api, usage = None, None
            note = f"the cluster was not reachable ({exc.message}): tenants using each version unknown"
    store = admin_store(ctx, endpoint, access_key, secret_key, region, api=api)
    result = model_registry.list_models(store, tenant=tenant, tenants=tenants, usage=usage, usage_note=note)
    cli_context.emit(ctx, result, _list_table)


def pull(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Model version.")],
    destination: Annotated[Path, typer.Argument(help="Directory to write model.skops and metadata.json into.")],
    tenant: Tenant = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = "us-east-1",
) -> None:
    """Download a version and verify its sha256 (exit 6 on a mismatch, nothing left behind)."""
    from mlopsctl.services import model_registry

    store = admin_store(ctx, endpoint, access_key, secret_key, region)
    result = model_registry.pull(store, version, destination, tenant=tenant, status=cli_context.status(ctx))
    cli_context.emit(ctx, result, _pull_table)


def set_model(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tenant name.")],
    version: Annotated[str, typer.Argument(help="Model version (in the tenant's bucket or the catalog).")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the rollout.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the rollout.")] = 300,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = "us-east-1",
) -> None:
    """Serve VERSION in tenant NAME (rolling back is set-model to the previous version). A version that fails
    to load never becomes ready: the old pods keep serving and this command fails with the reason."""
    from mlopsctl.services import model_registry

    api = _kube(ctx)
    store = admin_store(ctx, endpoint, access_key, secret_key, region, api=api)
    result = model_registry.set_model(api, store, name, version, cli_context.status(ctx), wait=wait, timeout=timeout)
    cli_context.emit(ctx, result, _set_model_table)


def attach_model_commands(model_app: typer.Typer) -> None:
    model_app.command("push")(push)
    model_app.command("list")(list_)
    model_app.command("pull")(pull)


def register(app: typer.Typer) -> None:
    """Attach to the `model` and `tenant` sub-apps (their own modules add them to the root)."""
    from mlopsctl.cli.model import model_app
    from mlopsctl.cli.tenant import tenant_app

    tenant_app.command("set-model")(set_model)
    attach_model_commands(model_app)
