"""`mlopsctl monitoring ...`: kube-prometheus-stack with mlopsctl's alert rules and tenant dashboard."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mlopsctl.cli import context as cli_context
from mlopsctl.cli.global_options import outputs

app = typer.Typer(
    name="monitoring",
    help="Monitoring: install, status, uninstall kube-prometheus-stack; render its rules, dashboard and values.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

RENDER_WHAT = ("rules", "prometheusrule", "dashboard", "values")


def _kube(ctx: typer.Context):
    return cli_context.deps(ctx).kube()


def _helm(ctx: typer.Context):
    return cli_context.deps(ctx).helm()


def _install_table(result):
    from rich.table import Table

    table = Table(title=f"monitoring: {result.chart} {result.chart_version} (revision {result.revision})")
    table.add_column("WHAT")
    table.add_column("VALUE")
    table.add_row("Grafana", result.grafana_url)
    table.add_row("Grafana user", result.grafana_user)
    if result.grafana_password:
        table.add_row("Grafana password", result.grafana_password)
        table.caption = f"The password is shown once; it stays in Secret {result.grafana_password_secret}."
    else:
        table.add_row("Grafana password", f"unchanged, in Secret {result.grafana_password_secret}")
    table.add_row("Prometheus", result.prometheus_url)
    table.add_row("Dashboard", result.dashboard)
    table.add_row("Alert rules", ", ".join(result.alert_rules))
    for comp in result.components:
        table.add_row(f"{comp.kind} {comp.name}", f"{comp.ready}/{comp.desired} ready")
    return table


def _status_table(result):
    from rich.console import Group
    from rich.table import Table

    parts = Table(title=f"monitoring in {result.namespace}: {result.chart or 'chart unknown'}")
    for column in ("KIND", "NAME", "READY"):
        parts.add_column(column)
    for comp in result.components:
        parts.add_row(comp.kind, comp.name, f"{comp.ready}/{comp.desired}")
    targets = Table(title="Prometheus targets by tenant")
    for column in ("TENANT", "STATE", "UP", "DOWN", "FIRING", "LAST ERROR"):
        targets.add_column(column)
    for row in result.tenants:
        errors = sorted({t.last_error for t in row.targets if t.last_error})
        firing = ", ".join(row.alerts) or "-"
        targets.add_row(row.tenant, row.state, str(row.up), str(row.down), firing, "; ".join(errors))
    lines: list[Table | str] = [parts, targets]
    if result.targets_error:
        lines.append(f"targets unknown: {result.targets_error}")
    lines.append(f"Grafana {result.grafana_url}   Prometheus {result.prometheus_url}")
    return Group(*lines)


def _uninstall_table(result):
    from mlopsctl.cli.tables import object_actions_table

    removed = "removed" if result.release_removed else "was not installed"
    return object_actions_table(f"monitoring: release {result.release} {removed}", result.deleted, result.kept)


@app.command("install")
def install(
    ctx: typer.Context,
    chart_version: Annotated[
        str | None, typer.Option("--chart-version", help="kube-prometheus-stack chart version (pinned default).")
    ] = None,
    chart: Annotated[
        str | None, typer.Option("--chart", help="Chart name in --repo, an oci:// reference or a local chart path.")
    ] = None,
    repo: Annotated[
        str | None, typer.Option("--repo", help="Chart repository URL (ignored for oci:// and local charts).")
    ] = None,
    scrape_control_plane: Annotated[
        bool,
        typer.Option(
            "--scrape-control-plane",
            help="Scrape etcd, scheduler, controller manager and kube-proxy (self-managed clusters; never Kind).",
        ),
    ] = False,
    latency_p95: Annotated[
        float | None, typer.Option("--latency-p95", help="p95 latency alert threshold in seconds (0.5).")
    ] = None,
    error_ratio: Annotated[
        float | None, typer.Option("--error-ratio", help="5xx ratio alert threshold (0.05).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for everything to be ready.")] = 900.0,
) -> None:
    """Install or upgrade kube-prometheus-stack, the alert rules and the tenant dashboard; wait until ready."""
    from mlopsctl.errors import UsageError
    from mlopsctl.manifests import monitoring as manifests
    from mlopsctl.services import monitoring as service

    if latency_p95 is not None and latency_p95 <= 0:
        raise UsageError(f"--latency-p95 must be above 0, got {latency_p95}")
    if error_ratio is not None and not 0 < error_ratio < 1:
        raise UsageError(f"--error-ratio must be between 0 and 1, got {error_ratio}")
    if timeout <= 0:
        raise UsageError(f"--timeout must be above 0, got {timeout}")
    local_chart = chart is not None and (chart.startswith(("oci://", ".", "/")) or chart.endswith(".tgz"))
    defaults = service.InstallOptions()
    options = service.InstallOptions(
        chart_version=chart_version or defaults.chart_version,
        chart=chart or defaults.chart,
        repo=None if local_chart else (repo or defaults.repo),
        scrape_control_plane=scrape_control_plane,
        timeout=timeout,
        thresholds=manifests.with_thresholds(
            manifests.AlertThresholds(), latency_p95_seconds=latency_p95, error_ratio=error_ratio
        ),
    )
    result = service.install(_kube(ctx), _helm(ctx), cli_context.status(ctx), options)
    cli_context.emit(ctx, result, _install_table)


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Components and their readiness, and every tenant's Prometheus targets (up or down)."""
    from mlopsctl.services import monitoring as service

    result = service.status(_kube(ctx))
    cli_context.emit(ctx, result, _status_table)


@app.command("uninstall")
def uninstall(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove kube-prometheus-stack, the rules, the dashboard and the Grafana password (CRDs stay)."""
    from mlopsctl.services import monitoring as service

    if not yes:
        cli_context.confirm(
            "Remove monitoring (Prometheus data and dashboards are lost)?", hint="pass --yes to skip the question"
        )
    result = service.uninstall(_kube(ctx), _helm(ctx), cli_context.status(ctx))
    cli_context.emit(ctx, result, _uninstall_table)


@app.command("render")
@outputs()
def render(
    what: Annotated[str, typer.Argument(help="rules | prometheusrule | dashboard | values")] = "rules",
    scrape_control_plane: Annotated[bool, typer.Option("--scrape-control-plane")] = False,
) -> None:
    """Print what install deploys, offline: a rules file for promtool, the PrometheusRule, the dashboard JSON, or
    the chart values."""
    import json

    from mlopsctl.errors import UsageError
    from mlopsctl.manifests import monitoring as manifests
    from mlopsctl.services import monitoring as service

    if what == "rules":
        text = manifests.rules_file()
    elif what == "prometheusrule":
        text = manifests.to_yaml(manifests.prometheus_rule())
    elif what == "dashboard":
        text = json.dumps(manifests.dashboard(), indent=2) + "\n"
    elif what == "values":
        settings = manifests.ChartSettings(
            chart_version=service.CHART_VERSION, scrape_control_plane=scrape_control_plane
        )
        text = manifests.chart_values_yaml(settings)
    else:
        raise UsageError(f"cannot render {what!r}", hint=f"choose one of: {', '.join(RENDER_WHAT)}")
    sys.stdout.write(text)
    sys.stdout.flush()
