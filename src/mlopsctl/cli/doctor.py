"""`mlopsctl doctor`: preflight checks, and `--install-tools` for pinned kind, kubectl and helm."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from mlopsctl.cli import context as cli_context

app = typer.Typer(name="doctor", rich_markup_mode=None)


def _kubeconfig_text(kubeconfig: str | None) -> str | None:
    candidates = (kubeconfig or "").split(os.pathsep) if kubeconfig else [str(Path.home() / ".kube" / "config")]
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if candidate and path.is_file():
            return path.read_text()
    return None


def _table(report):
    from rich.table import Table
    from rich.text import Text

    colours = {"ok": "green", "info": "cyan"}
    table = Table(title="mlopsctl doctor", title_justify="left")
    for column in ("CHECK", "STATUS", "FOUND", "NEEDED", "FIX"):
        table.add_column(column)
    for check in report.checks:
        status = Text(check.status, style=colours.get(check.status, "red"))
        table.add_row(check.name, status, check.found, check.needed, check.hint)
    return table


def _require_usable(directory: Path) -> None:
    """The tools go into $MLOPSCTL_HOME/bin: say so (exit 2) when that cannot be created or written."""
    import tempfile

    from mlopsctl.errors import UsageError

    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot install tools into {directory}: {exc.strerror or exc}",
            hint="set MLOPSCTL_HOME to a writable directory (the tools go into $MLOPSCTL_HOME/bin)",
        ) from exc


@app.command("doctor")
def doctor(
    ctx: typer.Context,
    install_tools: Annotated[
        bool,
        typer.Option(
            "--install-tools",
            help="Download pinned, SHA-256-verified kind, kubectl and helm into $MLOPSCTL_HOME/bin.",
        ),
    ] = False,
    mirror: Annotated[
        str | None,
        typer.Option(
            "--mirror",
            envvar="MLOPSCTL_TOOLS_MIRROR",
            help="Base URL of a mirror serving the release files under their original paths.",
        ),
    ] = None,
) -> None:
    """Check Docker, kind (>= 0.24), kubectl, helm and the kube context; exit 3 if something required is missing."""
    import platform

    from mlopsctl.errors import PrerequisiteMissing
    from mlopsctl.paths import tools_dir
    from mlopsctl.services import doctor as service
    from mlopsctl.tools import pinned_releases, platform_key

    settings = cli_context.settings(ctx)
    deps = cli_context.deps(ctx)
    runner, server_version = deps.runner(), deps.docker_server_version()
    kubeconfig = _kubeconfig_text(settings.kubeconfig)
    report = service.run_doctor(runner, server_version, kubeconfig, settings.context)

    if install_tools:
        _require_usable(tools_dir())
        platform_name = platform_key(platform.system(), platform.machine())
        releases = pinned_releases(platform_name, mirror)
        if not releases:
            raise PrerequisiteMissing(
                f"no pinned tool releases for {platform_name}", hint="install kind, kubectl and helm by hand"
            )
        status, install = cli_context.status(ctx), deps.install_verified()
        with status.step(f"installing tools into {tools_dir()}"):
            installed = service.install_tools(
                report,
                releases,
                tools_dir(),
                lambda release, path: install(release.url, release.sha256, path, release.archive_member),
            )
        report = service.run_doctor(runner, server_version, kubeconfig, settings.context)
        report = service.DoctorReport(report.checks, installed)

    cli_context.emit(ctx, report, _table)
    if not report.ok:
        failed = ", ".join(check.name for check in report.checks if check.required and not check.ok)
        raise PrerequisiteMissing(
            f"required tools missing or unusable: {failed}",
            hint="follow the FIX column, or run `mlopsctl doctor --install-tools`",
        )
