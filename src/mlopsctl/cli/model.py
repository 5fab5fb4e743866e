"""`mlopsctl model ...`: versioned model artifacts.

`app` is the sub-app. This module holds `model train`; other modules attach more commands to the same
sub-app (`cli/model_store.py` adds push, list and pull), so `register` only adds the sub-app to the root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlopsctl import constants as c
from mlopsctl.cli import context as cli_context
from mlopsctl.cli.store_access import AccessKey, Endpoint, Region, SecretKey, Tenant, admin_store, kube_api

app = typer.Typer(
    name="model",
    help="Train, push, list and pull versioned model artifacts.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _train_table(result):
    from rich.table import Table

    table = Table(title=f"model {result.version} trained", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("directory", str(result.directory))
    table.add_row("classifier", result.classifier)
    table.add_row("held-out accuracy", f"{result.accuracy:.3f} (f1 {result.f1_macro:.3f})")
    table.add_row("candidates", ", ".join(f"{name} {acc:.3f}" for name, acc in result.candidates.items()))
    table.add_row("rows", f"{result.train_rows} train / {result.test_rows} held out")
    table.add_row("data", f"{result.data} (sha256 {result.data_sha256[:12]})")
    table.add_row("model sha256", result.sha256)
    return table


@app.command("train")
def train(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to write (model.skops + metadata.json).")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="CSV with the columns text,label (default: the data set shipped with mlopsctl)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Model version (default: DATE-DATAHASH).", show_default=False)
    ] = None,
) -> None:
    """Train the sentiment model: compare classifiers on a held-out split, keep the best, write the artifact."""
    from mlopsctl.services import model_training

    result = model_training.train(data, out, version=version, status=cli_context.status(ctx))
    cli_context.emit(ctx, result, _train_table)


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


@app.command("push")
def push(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Artifact directory (model.skops + metadata.json).")],
    tenant: Tenant = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = c.STORE_REGION,
) -> None:
    """Upload a model artifact; refuses one whose checksum does not match its metadata."""
    from mlopsctl.services import model_registry

    artifact = model_registry.read_artifact(directory)  # refuse a bad directory before touching the network
    store = admin_store(ctx, endpoint, access_key, secret_key, region)
    result = model_registry.push(store, artifact.directory, tenant=tenant, status=cli_context.status(ctx))
    cli_context.emit(ctx, result, _push_table)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: Tenant = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = c.STORE_REGION,
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
            api = kube_api(ctx)
            usage = model_registry.served_versions(api)
            tenants = storage.tenant_namespaces(api)
        except MlopsctlError as exc:
            api, usage = None, None
            note = f"the cluster was not reachable ({exc.message}): tenants using each version unknown"
    store = admin_store(ctx, endpoint, access_key, secret_key, region, api=api)
    result = model_registry.list_models(store, tenant=tenant, tenants=tenants, usage=usage, usage_note=note)
    cli_context.emit(ctx, result, _list_table)


@app.command("pull")
def pull(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Model version.")],
    destination: Annotated[
        Path, typer.Argument(metavar="DEST", help="Directory to write model.skops and metadata.json into.")
    ],
    tenant: Tenant = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = c.STORE_REGION,
) -> None:
    """Download a version and verify its sha256 (exit 6 on a mismatch, nothing left behind)."""
    from mlopsctl.services import model_registry

    store = admin_store(ctx, endpoint, access_key, secret_key, region)
    result = model_registry.pull(store, version, destination, tenant=tenant, status=cli_context.status(ctx))
    cli_context.emit(ctx, result, _pull_table)
