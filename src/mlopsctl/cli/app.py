"""The root Typer app: `--version`, and the lazily loaded command registry (`cli/commands.py`).

The global options are defined in `cli/global_options.py`; the root group adds them to itself and to every command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mlopsctl import __version__
from mlopsctl.cli.commands import LazyGroup

app = typer.Typer(
    name="mlopsctl",
    cls=LazyGroup,
    help="A secure multi-tenant ML inference platform on Kubernetes, and the proof that it works.",
    no_args_is_help=True,
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
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """A secure multi-tenant ML inference platform on Kubernetes, and the proof that it works."""
