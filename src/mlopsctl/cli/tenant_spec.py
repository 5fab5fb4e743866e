"""The tenant spec flags every tenant command shares (`tenant render`, `tenant add`).

Commands that take a tenant spec use the `spec_options` decorator: it adds the flags (`--image`,
`--min-replicas`, ...) to the command and hands them over as one `spec_options` dict, which
`spec_from_options(name, spec_options)` turns into a validated TenantSpec:

    @app.command("add")
    @spec_options
    def add(ctx: typer.Context, name: NameArgument, spec_options: dict) -> None:
        spec = spec_from_options(name, spec_options)
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

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
        "owners",
        Annotated[
            list[str] | None,
            typer.Option(
                "--owner",
                metavar="user:NAME|group:NAME|sa:NS/NAME",
                help="Who runs the tenant: bound to its tenant-owner Role (repeatable).",
            ),
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
    from mlopsctl.manifests.tenant import TenantSpec

    with flag_hints():
        return TenantSpec.create(name, **options)


@contextlib.contextmanager
def flag_hints() -> Iterator[None]:
    """An invalid spec value (from the flags, or the flags over a tenant's recorded spec) names its flag."""
    from mlopsctl.manifests.tenant import InvalidTenantSpec

    try:
        yield
    except InvalidTenantSpec as exc:
        if exc.field in SPEC_OPTION_NAMES and not exc.hint:
            exc.hint = f"set it with --{exc.field.replace('_', '-')}"
        raise
