"""`mlopsctl verify ...`: proof, not claims. Offline over manifests, or live against the current cluster; a
pass/fail table (or -o json|yaml) and exit 6 when an expectation fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlopsctl.cli import context as cli_context
from mlopsctl.cli import verify_views as views

app = typer.Typer(
    name="verify",
    help="Prove isolation and autoscaling: expected vs observed, exit 6 on any failure.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Evaluate manifests in --manifests instead of the live cluster.")
]
ManifestsOption = Annotated[
    Path | None,
    typer.Option(
        "--manifests",
        metavar="DIR",
        help="Directory of YAML/JSON manifests (multi-document files allowed), for --offline.",
    ),
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report",
        metavar="DIR",
        help="Also write evidence into this directory: JUnit XML, Markdown and an HTML page (report.html).",
    ),
]
TimeoutOption = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait for scaling, per phase.")]
TenantsArgument = Annotated[
    list[str] | None, typer.Argument(metavar="TENANT", help="Tenants to check (default: every tenant).")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every tenant (the default when none is named).")]
# Before tenants were positional they were named with --tenant; kept, hidden, so old scripts keep working.
LegacyTenantOption = Annotated[list[str] | None, typer.Option("--tenant", hidden=True)]
ParallelOption = Annotated[
    int, typer.Option("--parallel", min=1, max=64, metavar="N", help="Source pods probed at once (live network).")
]
ExhaustiveOption = Annotated[
    bool,
    typer.Option("--exhaustive", help="Probe from and to every pod, not one of each class of equivalent pods."),
]
ScaleDownOption = Annotated[
    bool, typer.Option("--scale-down", help="With --load: also wait until replicas return to the minimum.")
]


def _require_load_for_scale_down(load: bool, scale_down: bool, example: str) -> None:
    from mlopsctl.errors import UsageError

    if scale_down and not load:
        raise UsageError("--scale-down needs --load", hint=example)


def _chosen_tenants(names: list[str] | None, all_tenants: bool, legacy: list[str] | None) -> list[str] | None:
    """The tenants named on the command line (positional, or the hidden --tenant), None for every tenant."""
    from mlopsctl.errors import UsageError

    chosen = [*(names or []), *(legacy or [])]
    if all_tenants and chosen:
        raise UsageError("--all cannot be combined with tenant names", hint="name tenants, or pass --all")
    return chosen or None


def _emit(ctx: typer.Context, result: Any, table) -> None:
    cli_context.emit(ctx, result, table)


def _manifests(offline: bool, manifests: Path | None, tenants: list[str] | None = None) -> Path:
    from mlopsctl.errors import UsageError

    if tenants:
        raise UsageError(
            "tenant names select live checks; --offline checks every tenant in --manifests",
            hint="drop the tenant names, or render only those tenants into the directory",
        )
    if manifests is None:
        raise UsageError("--offline needs --manifests DIR", hint="mlopsctl verify network --offline --manifests DIR")
    if not offline:
        raise UsageError("--manifests is only used with --offline", hint="add --offline, or drop --manifests")
    return manifests


def _fail_if(failed: bool, what: str, count: int) -> None:
    from mlopsctl.errors import VerificationFailed

    if failed:
        raise VerificationFailed(
            f"{what}: {count} expectation(s) failed", hint="see the FAIL rows above (or `passed: false` entries)"
        )


def _kube(ctx: typer.Context):
    return cli_context.deps(ctx).kube()


def _finish_live(ctx: typer.Context, report, report_dir: Path | None) -> None:
    if report_dir is not None:
        from mlopsctl.services.verify_report import write_report

        written = write_report(report, report_dir)
        cli_context.status(ctx).note(f"evidence written: {written.describe()}")
    _emit(ctx, report, views.live_table)
    failed = sum(1 for c in report.checks if not c.passed)
    _fail_if(not report.passed, f"verify {report.kind}", failed or len(report.findings))


def _offline_evidence(ctx: typer.Context, result, manifests: Path, started: str, report_dir: Path | None) -> None:
    if report_dir is not None:
        from mlopsctl.services.verify_report import offline_report, write_report

        written = write_report(offline_report(result, manifests, started), report_dir)
        cli_context.status(ctx).note(f"evidence written: {written.describe()}")


# --- commands ------------------------------------------------------------------------------------------------


@app.command("network")
def network(
    ctx: typer.Context,
    offline: OfflineOption = False,
    manifests: ManifestsOption = None,
    tenants: TenantsArgument = None,
    all_tenants: AllOption = False,
    tenant: LegacyTenantOption = None,
    attempts: Annotated[
        int,
        typer.Option("--attempts", min=1, max=10, help="Rounds per source pod; only probes that disagree are retried."),
    ] = 4,
    parallel: ParallelOption = 16,
    exhaustive: ExhaustiveOption = False,
    report_dir: ReportOption = None,
) -> None:
    """Who may reach whom: offline from manifests, or live by probing from inside the tenant pods."""
    chosen = _chosen_tenants(tenants, all_tenants, tenant)
    if offline or manifests is not None:
        from mlopsctl.services.verify import load_manifests, network_offline, utc_now

        directory = _manifests(offline, manifests, chosen)
        started = utc_now()
        result = network_offline(load_manifests(directory))
        _offline_evidence(ctx, result, directory, started, report_dir)
        _emit(ctx, result, views.network_table)
        _fail_if(not result.passed, "verify network", result.failures)
        return
    from mlopsctl.services.verify_network import verify_network

    report = verify_network(
        _kube(ctx),
        tenants=chosen,
        status=cli_context.status(ctx),
        attempts=attempts,
        parallel=parallel,
        exhaustive=exhaustive,
    )
    _finish_live(ctx, report, report_dir)


@app.command("rbac")
def rbac(
    ctx: typer.Context,
    offline: OfflineOption = False,
    manifests: ManifestsOption = None,
    checks: Annotated[
        Path | None,
        typer.Option(
            "--checks", metavar="FILE", help="YAML file of extra checks: [{verb, resource, group, subresource}]."
        ),
    ] = None,
    tenants: TenantsArgument = None,
    all_tenants: AllOption = False,
    tenant: LegacyTenantOption = None,
    report_dir: ReportOption = None,
) -> None:
    """What each service account may do, where: offline from manifests, or live through SubjectAccessReviews."""
    chosen = _chosen_tenants(tenants, all_tenants, tenant)
    from mlopsctl.services.verify import read_checks

    extra = read_checks(checks) if checks is not None else []
    if offline or manifests is not None:
        from mlopsctl.services.verify import load_manifests, rbac_offline, utc_now

        directory = _manifests(offline, manifests, chosen)
        started = utc_now()
        result = rbac_offline(load_manifests(directory), extra)
        _offline_evidence(ctx, result, directory, started, report_dir)
        _emit(ctx, result, views.rbac_table)
        _fail_if(not result.passed, "verify rbac", result.failures)
        return
    from mlopsctl.services.verify_rbac import verify_rbac

    report = verify_rbac(
        _kube(ctx),
        tenants=chosen,
        extra_checks=extra,
        status=cli_context.status(ctx),
    )
    _finish_live(ctx, report, report_dir)


@app.command("autoscaling")
def autoscaling(
    ctx: typer.Context,
    tenants: TenantsArgument = None,
    all_tenants: AllOption = False,
    tenant: LegacyTenantOption = None,
    load: Annotated[bool, typer.Option("--load", help="Drive in-cluster load until the HPA scales out.")] = False,
    scale_down: ScaleDownOption = False,
    timeout: TimeoutOption = 300.0,
    report_dir: ReportOption = None,
) -> None:
    """Metrics API available, pod metrics present, HPA able to scale; with --load, a scale-up timeline."""
    chosen = _chosen_tenants(tenants, all_tenants, tenant)
    from mlopsctl.services.verify_autoscaling import verify_autoscaling

    _require_load_for_scale_down(load, scale_down, "mlopsctl verify autoscaling TENANT --load --scale-down")
    report = verify_autoscaling(
        _kube(ctx),
        tenants=chosen,
        load=_load_driver(ctx, timeout) if load else None,
        scale_down=scale_down,
        timeout=timeout,
        status=cli_context.status(ctx),
    )
    _finish_live(ctx, report, report_dir)


def _load_driver(ctx: typer.Context, timeout: float):
    from mlopsctl.services.verify_autoscaling import loadtest_driver

    return loadtest_driver(_kube(ctx), timeout=timeout)


@app.command("isolation")
def isolation(
    ctx: typer.Context,
    tenants: TenantsArgument = None,
    all_tenants: AllOption = False,
    tenant: LegacyTenantOption = None,
    parallel: ParallelOption = 16,
    exhaustive: ExhaustiveOption = False,
    report_dir: ReportOption = None,
) -> None:
    """RBAC and network isolation of the tenants, live."""
    chosen = _chosen_tenants(tenants, all_tenants, tenant)
    from mlopsctl.services.verify_all import verify_isolation

    report = verify_isolation(
        _kube(ctx), tenants=chosen, status=cli_context.status(ctx), parallel=parallel, exhaustive=exhaustive
    )
    _finish_live(ctx, report, report_dir)


@app.command("all")
def all_checks(
    ctx: typer.Context,
    tenants: TenantsArgument = None,
    all_tenants: AllOption = False,
    tenant: LegacyTenantOption = None,
    load: Annotated[bool, typer.Option("--load", help="Also drive load until the HPA scales out.")] = False,
    scale_down: ScaleDownOption = False,
    timeout: TimeoutOption = 300.0,
    parallel: ParallelOption = 16,
    exhaustive: ExhaustiveOption = False,
    report_dir: ReportOption = None,
) -> None:
    """Isolation (RBAC + network) and autoscaling, live."""
    chosen = _chosen_tenants(tenants, all_tenants, tenant)
    from mlopsctl.services.verify_all import verify_all

    _require_load_for_scale_down(load, scale_down, "mlopsctl verify all --load --scale-down")
    report = verify_all(
        _kube(ctx),
        tenants=chosen,
        load=_load_driver(ctx, timeout) if load else None,
        timeout=timeout,
        status=cli_context.status(ctx),
        network_options={"parallel": parallel, "exhaustive": exhaustive},
        autoscaling_options={"scale_down": scale_down},
    )
    _finish_live(ctx, report, report_dir)
