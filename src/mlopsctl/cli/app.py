"""The root Typer app: global options, and every sub-command registered in one place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from mlopsctl import __version__
from mlopsctl.cli import cluster, doctor, image, loadtest, model, model_store, monitoring, storage, tenant, verify
from mlopsctl.cli.context import state
from mlopsctl.cli.main import MlopsctlGroup

app = typer.Typer(
    name="mlopsctl",
    cls=MlopsctlGroup,
    help="A secure multi-tenant ML inference platform on Kubernetes, and the proof that it works.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mlopsctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    context: Annotated[str | None, typer.Option("--context", help="kubeconfig context to use.")] = None,
    kubeconfig: Annotated[
        str | None,
        typer.Option("--kubeconfig", help="kubeconfig path (default: $KUBECONFIG, then ~/.kube/config)."),
    ] = None,
    output: Annotated[str | None, typer.Option("-o", "--output", help="Output format: table, json or yaml.")] = None,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More detail; -v shows tracebacks.")] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress output.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain output without colour.")] = False,
    traceback: Annotated[bool, typer.Option("--traceback", help="Show the traceback of any error.")] = False,
    config_file: Annotated[
        str | None, typer.Option("--config", help="Settings file (default: ./mlopsctl.yaml if present).")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    from mlopsctl.config import load_settings

    flags = {
        "context": context,
        "kubeconfig": kubeconfig,
        "output": output,
        "verbose": verbose or None,
        "quiet": quiet or None,
        "color": False if no_color else None,
        "traceback": traceback or None,
        "config_file": config_file,
    }
    run = state(ctx)
    # Keep what was parsed even if the file is bad, so the error handler knows about -v/--traceback.
    run.settings = run.settings.with_overrides(verbose=verbose or None, traceback=traceback or None)
    run.settings = load_settings(flags, os.environ, Path.cwd())


for module in (doctor, cluster, tenant, image, verify, storage, model, model_store, monitoring, loadtest):
    module.register(app)
