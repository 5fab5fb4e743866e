"""The root of the command tree: every outcome of a run passes through `cli/main.py`'s `report`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from mlopsctl.cli.main import _write, report, usage_error
from mlopsctl.errors import ExitCode


class MlopsctlGroup(TyperGroup):
    """Runs the command tree in click's non-standalone mode so every outcome passes through `report`."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # typer turns Ctrl-C into a silent Exit(130); say what happened first.
            _write("mlopsctl: interrupted")
            raise

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        from mlopsctl.cli.context import RunState

        obj = extra.pop("obj", None) or RunState()
        try:
            result = super().main(
                args, prog_name or "mlopsctl", complete_var, False, windows_expand_args, obj=obj, **extra
            )
            code = result if isinstance(result, int) else 0
        except typer.Abort as exc:
            interrupted = isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)
            _write("mlopsctl: interrupted" if interrupted else "mlopsctl: aborted")
            code = int(ExitCode.INTERRUPTED if interrupted else ExitCode.ERROR)
        except typer.Exit as exc:
            code = exc.exit_code
        except typer.TyperException as exc:  # click's usage errors, vendored by typer
            code = usage_error(exc)
        except BaseException as exc:
            if isinstance(exc, SystemExit):
                raise
            code = report(exc, obj)
        if standalone_mode:
            sys.exit(code)
        return code
