"""What every command receives: the resolved Settings plus the streams and status it reports through."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import typer

from mlopsctl.config import Settings


@dataclass
class RunState:
    """Created once per invocation by `cli/main.py`; the root callback fills in the settings."""

    settings: Settings = field(default_factory=Settings)


def state(ctx: typer.Context) -> RunState:
    root = ctx.find_root()
    if not isinstance(root.obj, RunState):
        root.obj = RunState()
    return root.obj


def settings(ctx: typer.Context) -> Settings:
    return state(ctx).settings


def status(ctx: typer.Context):
    from mlopsctl.progress import make_status

    current = settings(ctx)
    return make_status(current.quiet, current.color, os.environ)


def emit(ctx: typer.Context, result, table) -> None:
    from mlopsctl.output import emit as emit_output

    current = settings(ctx)
    emit_output(result, current.output, table, color=current.color)
