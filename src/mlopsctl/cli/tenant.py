"""`mlopsctl tenant ...`: render a tenant offline; add, remove, list and inspect tenants; pin its model.

The spec flags shared by `render` and `add` live in `cli/tenant_spec.py`; the tables in `cli/tenant_views.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlopsctl import constants as c
from mlopsctl.cli import context as cli_context
from mlopsctl.cli import tenant_owners as owners
from mlopsctl.cli import tenant_views as views
from mlopsctl.cli.store_access import AccessKey, Endpoint, Region, SecretKey, admin_store, kube_api
from mlopsctl.cli.tenant_spec import NameArgument, flag_hints, spec_from_options, spec_options

app = typer.Typer(
    name="tenant",
    help="Tenants: render, add, remove, list, status, set-model, access, kubeconfig.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("render")
@spec_options
def render(
    ctx: typer.Context,
    name: NameArgument,
    out: Annotated[Path | None, typer.Option("--out", help="Write one file per object into this directory.")] = None,
    *,
    spec_options: dict[str, Any],
) -> None:
    """Print a tenant's objects (multi-document YAML, a JSON List with -o json, a summary with -o table), or
    write them to --out DIR. Offline."""
    import sys

    from mlopsctl.manifests.tenant import render_tenant, render_yaml
    from mlopsctl.output import emit, render_data

    current = cli_context.settings(ctx)
    objects = render_tenant(spec_from_options(name, spec_options))
    if out is not None:  # the files are JSON with -o json, else YAML; what was written prints as any result
        from mlopsctl.services.manifest_files import write_manifests

        result = write_manifests(objects, out, "json" if current.output == "json" else "yaml")
        emit(result, current.output, views.written_table, color=current.color)
        return
    # Manifests are YAML unless a format was asked for: the default table would print no manifest at all.
    fmt = cli_context.state(ctx).flags.get("output") or ("yaml" if current.output == "table" else current.output)
    if fmt == "table":
        emit(objects, fmt, views.objects_table, color=current.color)
        return
    document = {"apiVersion": "v1", "kind": "List", "items": objects}
    sys.stdout.write(render_data(document, "json") if fmt == "json" else render_yaml(objects))
    sys.stdout.flush()


# -- live commands: add, remove, list, status (services/tenant/) ---------------------------------------------------
def _add_with_model(ctx: typer.Context, spec, version: str, store_endpoint, *, wait, timeout, force, adopt, api):
    """`tenant add --model`: the version is found and verified in the store before the cluster changes."""
    from mlopsctl.services import model_registry

    store = admin_store(ctx, endpoint=store_endpoint, api=api)
    result = model_registry.pin_model(
        api, store, spec, version, cli_context.status(ctx), wait=wait, timeout=timeout, force=force, adopt=adopt
    )
    cli_context.emit(ctx, result, views.pinned_output)


@app.command("add")
@spec_options
def add(
    ctx: typer.Context,
    name: NameArgument,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="VERSION",
            help="Serve this model version from the object store (pushed with `model push`; copied from the "
            "catalog into the tenant's bucket and verified first). Sets the model URI and version.",
        ),
    ] = None,
    store_endpoint: Annotated[
        str | None,
        typer.Option(
            "--store-endpoint",
            envvar="MLOPSCTL_S3_ENDPOINT",
            help="With --model: the object store's S3 endpoint from here (default: the installed store's NodePort).",
        ),
    ] = None,
    dry_run: Annotated[
        str | None,
        typer.Option("--dry-run", metavar="client|server", help="client: render and plan; server: validate on it."),
    ] = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Show what would change on the cluster; change nothing.")
    ] = False,
    adopt: Annotated[
        bool, typer.Option("--adopt", help="Take over an existing namespace that mlopsctl does not manage.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Take ownership of fields other managers own.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the rollout (default: wait).")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the rollout.")] = 300.0,
    reset: Annotated[bool, typer.Option("--reset", help="Start from the defaults, not the recorded spec.")] = False,
    *,
    spec_options: dict[str, Any],
) -> None:
    """Create or update a tenant (an existing one keeps its options; flags change them), prune, wait. Idempotent."""
    import sys

    from mlopsctl.errors import UsageError
    from mlopsctl.services import tenant as service

    if model is not None:
        from mlopsctl.manifests.storage import model_uri, tenant_bucket, validate_version

        given = [f"--{key.replace('_', '-')}" for key in ("model_uri", "model_version") if spec_options[key]]
        if given:
            raise UsageError(
                f"--model cannot be combined with {' and '.join(given)}",
                hint="--model VERSION sets both: the URI of VERSION in the tenant's bucket, and VERSION",
            )
        if dry_run is not None or diff:
            raise UsageError(
                "--model cannot be combined with --dry-run or --diff: it copies the version into the tenant's bucket",
                hint=f"preview the objects with `mlopsctl tenant render {name} --model-uri "
                f"{model_uri(tenant_bucket(name), 'VERSION')} --model-version VERSION`",
            )
        validate_version(model)
    if dry_run is not None and dry_run not in service.DRY_RUN_MODES:
        raise UsageError(f"invalid --dry-run: expected client or server, got {dry_run!r}")
    spec_from_options(name, {})  # the name is checked before the cluster is asked anything
    from mlopsctl.services import tenant_spec

    api, registry, status = kube_api(ctx), cli_context.settings(ctx).registry, cli_context.status(ctx)
    with flag_hints():  # the recorded spec changed only by the flags given, or a new one
        resolved = tenant_spec.resolve(api, name, spec_options, reset=reset, registry=registry, status=status)
    if model is not None:
        kwargs = {"wait": wait, "timeout": timeout, "force": force, "adopt": adopt, "api": api}
        return _add_with_model(ctx, resolved.spec, model, store_endpoint, **kwargs)
    result = service.add_tenant(
        api,
        resolved.spec,
        cli_context.status(ctx),
        dry_run=dry_run,
        diff=diff,
        adopt=adopt,
        force=force,
        wait=wait,
        timeout=timeout,
    )
    result.spec_changes = resolved.changes
    if diff and cli_context.settings(ctx).output == "table":
        sys.stdout.write(result.diff or "")
        sys.stdout.flush()
        return
    cli_context.emit(ctx, result, views.add_output)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the namespace is gone.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the namespace to go.")] = 300.0,
) -> None:
    """Delete a tenant's namespace and everything in it; only namespaces that mlopsctl manages."""
    from rich.text import Text

    from mlopsctl.services import tenant as service

    if not yes:
        cli_context.confirm(
            f"Delete tenant {name} (namespace {name} and everything in it)?", hint="pass --yes to skip the question"
        )
    result = service.remove_tenant(kube_api(ctx), name, cli_context.status(ctx), wait=wait, timeout=timeout)
    cli_context.emit(ctx, result, lambda r: Text(r.note))


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """The tenants on the cluster (namespaces labelled by mlopsctl): replicas, autoscaler, model, age."""
    from mlopsctl.services import tenant as service

    cli_context.emit(ctx, service.list_tenants(kube_api(ctx)), views.list_table)


@app.command("status")
def status(ctx: typer.Context, name: NameArgument) -> None:
    """One tenant in detail: its pods, its objects and the Deployment's conditions."""
    from mlopsctl.services import tenant as service

    cli_context.emit(ctx, service.tenant_status(kube_api(ctx), name), views.status_output)


@app.command("set-model")
def set_model(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tenant name.")],
    version: Annotated[str, typer.Argument(help="Model version (in the tenant's bucket or the catalog).")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the rollout.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the rollout.")] = 300,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    region: Region = c.STORE_REGION,
) -> None:
    """Serve VERSION in tenant NAME (rolling back is set-model to the previous version). A version that fails
    to load never becomes ready: the old pods keep serving and this command fails with the reason."""
    from mlopsctl.services import model_registry

    api = kube_api(ctx)
    store = admin_store(ctx, endpoint, access_key, secret_key, region, api=api)
    result = model_registry.set_model(api, store, name, version, cli_context.status(ctx), wait=wait, timeout=timeout)
    cli_context.emit(ctx, result, views.set_model_table)


# -- owners: access, kubeconfig (cli/tenant_owners.py) ---------------------------------------------------------
app.command("access")(owners.access)
app.command("kubeconfig")(owners.kubeconfig)
