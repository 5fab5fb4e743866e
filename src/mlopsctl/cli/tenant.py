"""`mlopsctl tenant ...`: the tenant sub-app and the tenant spec flags every tenant command shares.

Commands that take a tenant spec use the `spec_options` decorator: it adds the flags (`--image`,
`--min-replicas`, ...) to the command and hands them over as one `spec_options` dict, which
`spec_from_options(name, spec_options)` turns into a validated TenantSpec:

    @tenant_app.command("add")
    @spec_options
    def add(ctx: typer.Context, name: NameArgument, spec_options: dict) -> None:
        spec = spec_from_options(name, spec_options)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mlopsctl.cli import context as cli_context

tenant_app = typer.Typer(
    name="tenant",
    help="Tenants: render, add, remove, list, status.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[str, typer.Argument(help="Tenant name (a DNS-1123 label; also its namespace).")]

# (parameter, annotation): the spec flags, each None unless given, so TenantSpec's defaults apply.
_SPEC_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("image", Annotated[str | None, typer.Option("--image", help="Image reference with a tag or digest.")]),
    ("model_version", Annotated[str | None, typer.Option("--model-version", help="Model version label.")]),
    ("model_uri", Annotated[str | None, typer.Option("--model-uri", help="s3:// URI of the model artifact.")]),
    ("min_replicas", Annotated[int | None, typer.Option("--min-replicas", help="HPA minimum (default 2).")]),
    ("max_replicas", Annotated[int | None, typer.Option("--max-replicas", help="HPA maximum (default 10).")]),
    (
        "cpu_target_percent",
        Annotated[int | None, typer.Option("--cpu-target-percent", help="HPA CPU target, % of request (50).")],
    ),
    ("cpu_request", Annotated[str | None, typer.Option("--cpu-request", help="Container CPU request (100m).")]),
    ("memory_request", Annotated[str | None, typer.Option("--memory-request", help="Memory request (128Mi).")]),
    ("cpu_limit", Annotated[str | None, typer.Option("--cpu-limit", help="Container CPU limit (500m).")]),
    ("memory_limit", Annotated[str | None, typer.Option("--memory-limit", help="Container memory limit (512Mi).")]),
    ("quota_cpu", Annotated[str | None, typer.Option("--quota-cpu", help="Namespace CPU quota (sized from limits).")]),
    (
        "quota_memory",
        Annotated[str | None, typer.Option("--quota-memory", help="Namespace memory quota (sized from limits).")],
    ),
    ("quota_pods", Annotated[int | None, typer.Option("--quota-pods", help="Namespace pod quota.")]),
    ("gpus", Annotated[int | None, typer.Option("--gpus", help="nvidia.com/gpu per pod (adds toleration).")]),
    (
        "gpu_node_selector",
        Annotated[
            list[str] | None,
            typer.Option("--gpu-node-selector", metavar="KEY=VALUE", help="Node label of the GPU pool (repeatable)."),
        ],
    ),
    (
        "service_monitor",
        Annotated[
            bool | None,
            typer.Option("--service-monitor/--no-service-monitor", help="Render a ServiceMonitor (needs its CRDs)."),
        ],
    ),
)
SPEC_OPTION_NAMES = tuple(name for name, _ in _SPEC_OPTIONS)


def spec_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the tenant spec flags to a Typer command; it receives them as `spec_options: dict[str, Any]`."""
    signature = inspect.signature(func, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "spec_options"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, annotation in _SPEC_OPTIONS
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = {name: kwargs.pop(name, None) for name in SPEC_OPTION_NAMES}
        return func(*args, spec_options=options, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind is p.VAR_KEYWORD else p for p in own]
    wrapper.__signature__ = signature.replace(parameters=[*params, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*params, *added]}
    return wrapper


def spec_from_options(name: str, options: dict[str, Any]):
    """A validated TenantSpec from the flags; an invalid value names its field and the flag that sets it."""
    from mlopsctl.manifests.tenant import InvalidTenantSpec, TenantSpec

    try:
        return TenantSpec.create(name, **options)
    except InvalidTenantSpec as exc:
        if exc.field in SPEC_OPTION_NAMES and not exc.hint:
            exc.hint = f"set it with --{exc.field.replace('_', '-')}"
        raise


def _written_table(result):
    from rich.table import Table

    table = Table(title=f"wrote {len(result.files)} files to {result.directory}", title_justify="left")
    for column in ("KIND", "NAME", "FILE"):
        table.add_column(column)
    for item in result.files:
        table.add_row(item.kind, item.name, item.path.name)
    return table


@tenant_app.command("render")
@spec_options
def render(
    ctx: typer.Context,
    name: NameArgument,
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="yaml (the default) or json; overrides the global -o.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write one file per object into this directory.")] = None,
    *,
    spec_options: dict[str, Any],
) -> None:
    """Print a tenant's objects (multi-document YAML, or a JSON List), or write them to --out DIR. Offline."""
    import json
    import sys

    from mlopsctl.errors import UsageError
    from mlopsctl.manifests.tenant import render_tenant, render_yaml
    from mlopsctl.output import emit

    current = cli_context.settings(ctx)
    fmt = output or current.output
    if fmt not in ("table", "yaml", "json"):
        raise UsageError(f"invalid --output: expected yaml or json, got {fmt!r}")
    spec = spec_from_options(name, spec_options)
    objects = render_tenant(spec)
    if out is not None:
        from mlopsctl.services.manifest_files import write_manifests

        result = write_manifests(objects, out, "json" if fmt == "json" else "yaml")
        emit(result, fmt, _written_table, color=current.color)
        return
    if fmt == "json":
        sys.stdout.write(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n")
    else:
        sys.stdout.write(render_yaml(objects))
    sys.stdout.flush()


# -- live commands: add, remove, list, status (services/tenant.py) ------------------------------------------------
def kube_api(ctx: typer.Context):
    """The KubeApi for the global --context/--kubeconfig (tests swap `mlopsctl.adapters.kube.connect`)."""
    from mlopsctl.adapters import kube

    current = cli_context.settings(ctx)
    return kube.connect(current.context, current.kubeconfig)


def _changes_table(result):
    from rich.table import Table

    mode = f" (dry run: {result.dry_run})" if result.dry_run else ""
    table = Table(title=f"tenant {result.tenant}{mode}", title_justify="left")
    for column in ("KIND", "NAME", "ACTION"):
        table.add_column(column)
    for change in result.objects:
        table.add_row(change.kind, change.name, change.action)
    if result.ready_replicas is not None:
        table.caption = f"ready replicas: {result.ready_replicas}; in-cluster URL: {result.service_url}"
        table.caption_justify = "left"
    return table


def _add_output(result):
    from rich.console import Group
    from rich.text import Text

    parts = [_changes_table(result)]
    if result.next_commands:
        parts.append(Text("next:\n" + "\n".join(f"  {command}" for command in result.next_commands)))
    return Group(*parts)


def _pinned_output(result):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"tenant {result.tenant}", title_justify="left", show_header=False)
    table.add_column("FIELD")
    table.add_column("VALUE")
    table.add_row("model version", f"{result.previous_version or '-'} -> {result.version}")
    table.add_row("model uri", result.uri)
    table.add_row("copied from catalog", "yes" if result.copied_from_catalog else "no")
    table.add_row("objects changed", ", ".join(result.applied) or "none")
    table.add_row("rolled out", "yes" if result.rolled_out else "not waited for")
    lines = [f"mlopsctl tenant status {result.tenant}"]
    if result.previous_version:
        lines.append(f"mlopsctl tenant set-model {result.tenant} {result.previous_version}  # roll back")
    return Group(table, Text("next:\n" + "\n".join(f"  {line}" for line in lines)))


def _add_with_model(ctx: typer.Context, spec, version: str, store_endpoint, *, wait, timeout, force, adopt):
    """`tenant add --model`: the version is found and verified in the store before the cluster changes."""
    from mlopsctl.cli.model_store import admin_store
    from mlopsctl.services import model_registry

    api = kube_api(ctx)
    store = admin_store(ctx, endpoint=store_endpoint, api=api)
    result = model_registry.pin_model(
        api, store, spec, version, cli_context.status(ctx), wait=wait, timeout=timeout, force=force, adopt=adopt
    )
    cli_context.emit(ctx, result, _pinned_output)


@tenant_app.command("add")
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
    *,
    spec_options: dict[str, Any],
) -> None:
    """Create or update a tenant: apply its objects in order, prune what is no longer rendered, wait. Idempotent."""
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
    spec = spec_from_options(name, spec_options)
    if model is not None:
        _add_with_model(ctx, spec, model, store_endpoint, wait=wait, timeout=timeout, force=force, adopt=adopt)
        return
    result = service.add_tenant(
        kube_api(ctx),
        spec,
        cli_context.status(ctx),
        dry_run=dry_run,
        diff=diff,
        adopt=adopt,
        force=force,
        wait=wait,
        timeout=timeout,
    )
    if diff and cli_context.settings(ctx).output == "table":
        sys.stdout.write(result.diff or "")
        sys.stdout.flush()
        return
    cli_context.emit(ctx, result, _add_output)


@tenant_app.command("remove")
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
        typer.confirm(f"Delete tenant {name} (namespace {name} and everything in it)?", abort=True, err=True)
    result = service.remove_tenant(kube_api(ctx), name, cli_context.status(ctx), wait=wait, timeout=timeout)
    cli_context.emit(ctx, result, lambda r: Text(r.note))


def _hpa(row) -> str:
    if row.hpa_max is None:
        return "-"
    current = "?" if row.hpa_current is None else str(row.hpa_current)
    return f"{current} ({row.hpa_min}-{row.hpa_max})"


def _list_table(result):
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "READY", "HPA (MIN-MAX)", "MODEL", "AGE"):
        table.add_column(column)
    for row in result.tenants:
        table.add_row(row.name, f"{row.ready}/{row.replicas}", _hpa(row), row.model_version, row.age)
    return table


@tenant_app.command("list")
def list_(ctx: typer.Context) -> None:
    """The tenants on the cluster (namespaces labelled by mlopsctl): replicas, autoscaler, model, age."""
    from mlopsctl.services import tenant as service

    cli_context.emit(ctx, service.list_tenants(kube_api(ctx)), _list_table)


def _status_output(result):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    row = result.tenant
    summary = Text(
        f"tenant {row.name}: {row.ready}/{row.replicas} ready, HPA {_hpa(row)}, model {row.model_version}, "
        f"age {row.age}\nservice: {result.service_url}"
    )
    pods = Table(title="pods", title_justify="left", box=None, pad_edge=False)
    for column in ("NAME", "PHASE", "READY", "RESTARTS", "NODE"):
        pods.add_column(column)
    for pod in result.pods:
        pods.add_row(pod.name, pod.phase, pod.ready, str(pod.restarts), pod.node)
    objects = Table(title="objects", title_justify="left", box=None, pad_edge=False)
    objects.add_column("KIND")
    objects.add_column("NAME")
    for obj in result.objects:
        objects.add_row(obj.kind, obj.name)
    conditions = Text("conditions: " + ("; ".join(result.conditions) or "-"))
    return Group(summary, conditions, pods, objects)


@tenant_app.command("status")
def status(ctx: typer.Context, name: NameArgument) -> None:
    """One tenant in detail: its pods, its objects and the Deployment's conditions."""
    from mlopsctl.services import tenant as service

    cli_context.emit(ctx, service.tenant_status(kube_api(ctx), name), _status_output)


def register(app: typer.Typer) -> None:
    app.add_typer(tenant_app, name="tenant")
