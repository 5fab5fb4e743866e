"""Global options (`--context`, `-o`, `-v`, ...), accepted before or after any sub-command, as kubectl does.

They are defined once, below, and attached to the root group (shown in `mlopsctl --help`) and, hidden, to every
group and command of the tree as it is loaded. Wherever they appear, their values land in the run's `RunState`
(a later occurrence wins), which resolves the settings: flag > `MLOPSCTL_*` environment > file > default.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

from mlopsctl.config import OUTPUT_FORMATS

ALL_OUTPUTS = frozenset(OUTPUT_FORMATS)
_OUTPUTS_ATTRIBUTE = "__mlopsctl_outputs__"
GLOBAL_HELP = (
    "Global options (--context, --kubeconfig, -o/--output, -v, -q, --no-color, --config, --traceback) are "
    "accepted here too; see `mlopsctl --help`."
)


def _record(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> None:
    """Keep a global option only when the user gave it, so the environment and the file still apply otherwise."""
    from mlopsctl.cli.context import state

    if value is None or value is False or value == 0 or param.name is None:
        return
    name = {"no_color": "color"}.get(param.name, param.name)
    state(ctx).record(name, False if name == "color" else value)


def _options(
    context: Annotated[
        str | None,
        typer.Option(
            "--context", metavar="NAME", help="kubeconfig context to use.", callback=_record, expose_value=False
        ),
    ] = None,
    kubeconfig: Annotated[
        str | None,
        typer.Option(
            "--kubeconfig",
            metavar="PATH",
            help="kubeconfig path (default: $KUBECONFIG, then ~/.kube/config).",
            callback=_record,
            expose_value=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FORMAT",
            help="Output format: table, json or yaml.",
            callback=_record,
            expose_value=False,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "-v",
            "--verbose",
            count=True,
            help="More detail; -v shows tracebacks.",
            callback=_record,
            expose_value=False,
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No progress output.", callback=_record, expose_value=False)
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain output without colour.", callback=_record, expose_value=False)
    ] = False,
    traceback: Annotated[
        bool,
        typer.Option("--traceback", help="Show the traceback of any error.", callback=_record, expose_value=False),
    ] = False,
    config_file: Annotated[
        str | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Settings file (default: ./mlopsctl.yaml if present).",
            callback=_record,
            expose_value=False,
        ),
    ] = None,
) -> None:
    """Never called: its signature is the one definition of the global options."""


class _AsGiven:
    """Typer coerces each value through pydantic, whose import alone costs more than `mlopsctl --help`; these
    values are plain strings, counts and flags, checked by `config.resolve`, so they are taken as given."""

    def coerce(self, value: Any, param: Any = None, ctx: Any = None) -> Any:
        return value


@functools.cache
def global_params() -> tuple[Any, ...]:
    """The global options as click parameters, built by Typer from `_options`' signature."""
    from typer.main import get_command

    holder = typer.Typer(add_completion=False)
    holder.command()(_options)
    params: tuple[Any, ...] = tuple(get_command(holder).params)
    for param in params:
        param._runtime_param = _AsGiven()
        param.show_default = False  # the defaults come from the environment or the file as often as from here
    return params


def flags_as_given(params: Iterable[Any]) -> list[Any]:
    """Flags (--help among them) already hold a bool: skip Typer's coercion, and the pydantic import with it."""
    params = list(params)
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "_runtime_param", "") is None:
            param._runtime_param = _AsGiven()
    return params


def _hidden_copies(taken: set[str]) -> list[Any]:
    copies = []
    for param in global_params():
        if taken.intersection(param.opts):
            continue  # the command's own option of that name wins
        hidden = copy.copy(param)
        hidden.hidden = True
        copies.append(hidden)
    return copies


def outputs(*formats: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the `-o` formats a command can honour (all three unless it says otherwise)."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, _OUTPUTS_ATTRIBUTE, frozenset(formats))
        return func

    return mark


def _check_output(ctx: typer.Context, command: Any) -> None:
    """Resolve the settings before the command runs, and refuse an `-o` the command cannot honour (exit 2)."""
    from mlopsctl.cli.context import state
    from mlopsctl.errors import UsageError

    run = state(ctx)
    run.settings  # noqa: B018 - a bad config file or -o value is reported before anything happens
    given = run.flags.get("output")
    allowed = getattr(command.callback, _OUTPUTS_ATTRIBUTE, ALL_OUTPUTS)
    if given is not None and given not in allowed:
        choices = ", ".join(sorted(allowed)) or "none: it prints its own format"
        raise UsageError(f"-o {given} is not supported by `{ctx.command_path}`", hint=f"-o choices here: {choices}")


def attach(command: Any, seen: set[int] | None = None) -> Any:
    """Add the hidden global options to `command` and everything under it, once."""
    seen = set() if seen is None else seen
    if id(command) in seen:
        return command
    seen.add(id(command))
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    command.params.extend(_hidden_copies(taken))
    if command.help and GLOBAL_HELP not in (command.epilog or ""):
        command.epilog = GLOBAL_HELP
    get_params = command.get_params
    command.get_params = lambda ctx: flags_as_given(get_params(ctx))
    children: Iterable[Any] = getattr(command, "commands", {}).values()
    for child in children:
        attach(child, seen)
    if not hasattr(command, "commands"):
        run_command = command.invoke

        def invoke(ctx: typer.Context) -> Any:
            _check_output(ctx, command)
            return run_command(ctx)

        command.invoke = invoke
    return command
