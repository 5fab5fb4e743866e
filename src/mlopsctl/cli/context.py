"""What every command receives: the resolved Settings plus the streams and status it reports through."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from mlopsctl.config import Settings


class RunState:
    """Created once per invocation by `cli/main.py`.

    Global options may appear before or after any sub-command, so each occurrence records its flag here and the
    settings are resolved (flags > env > file > defaults) on first use after the last flag was parsed.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        from mlopsctl.deps import Deps

        self.flags: dict[str, Any] = {}
        self._settings = settings
        # The adapters of this run (the composition root): they read the settings when asked for.
        self.deps = Deps(lambda: self.settings)

    def record(self, name: str, value: Any) -> None:
        self.flags[name] = value
        self._settings = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from mlopsctl.config import load_settings

            self._settings = load_settings(self.flags, os.environ, Path.cwd())
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    def wants_traceback(self) -> bool:
        """Read from the raw flags too, so a bad config file does not hide the traceback asked for."""
        if self.flags.get("verbose") or self.flags.get("traceback"):
            return True
        current = self._settings
        return bool(current and (current.verbose or current.traceback))


def state(ctx: typer.Context) -> RunState:
    root = ctx.find_root()
    if not isinstance(root.obj, RunState):
        root.obj = RunState()
    return root.obj


def settings(ctx: typer.Context) -> Settings:
    return state(ctx).settings


def deps(ctx: typer.Context):
    """The adapters for this run: `deps(ctx).kube()`, `.helm()`, `.kind()`, `.runner()`, `.object_store(...)`."""
    return state(ctx).deps


def status(ctx: typer.Context):
    from mlopsctl.progress import make_status

    current = settings(ctx)
    return make_status(current.quiet, current.color, os.environ)


def emit(ctx: typer.Context, result, table) -> None:
    from mlopsctl.output import emit as emit_output

    current = settings(ctx)
    emit_output(result, current.output, table, color=current.color)


def confirm(question: str, hint: str) -> None:
    """Ask on stderr; a "no" (or no terminal to ask on) exits 1 with the way to skip the question."""
    from mlopsctl.errors import Declined

    try:
        answer = typer.confirm(question, err=True)
    except typer.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise
        answer = False
    if not answer:
        raise Declined("not confirmed: nothing was changed", hint=hint)
