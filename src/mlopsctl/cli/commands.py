"""The command registry, and the root group that imports a command's module only when that command runs.

Every command module exposes one `app` (a `typer.Typer`): a sub-app with several commands, or a single command.
`mlopsctl --help` and completion of the first word read the names and short help from `COMMANDS` below, so they
import none of the modules; a test keeps this table equal to each module's own help.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlopsctl.cli.group import MlopsctlGroup

# name -> (module, short help). The order is the order of `mlopsctl --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": (
        "mlopsctl.cli.doctor",
        "Check Docker, kind (>= 0.24), kubectl, helm and the kube context; exit 3 if something required is missing.",
    ),
    "cluster": (
        "mlopsctl.cli.cluster",
        "Create, inspect and delete the platform's cluster (Kind, or an existing one with --context).",
    ),
    "image": ("mlopsctl.cli.image", "Build the inference image; make a base image where no registry is reachable."),
    "tenant": ("mlopsctl.cli.tenant", "Tenants: render, add, remove, list, status, set-model, access, kubeconfig."),
    "monitoring": (
        "mlopsctl.cli.monitoring",
        "Monitoring: install, status, uninstall kube-prometheus-stack; render its rules, dashboard and values.",
    ),
    "storage": (
        "mlopsctl.cli.storage",
        "The object store for model artifacts (SeaweedFS by default; MinIO with your own image).",
    ),
    "model": ("mlopsctl.cli.model", "Train, push, list and pull versioned model artifacts."),
    "verify": ("mlopsctl.cli.verify", "Prove isolation and autoscaling: expected vs observed, exit 6 on any failure."),
    "loadtest": (
        "mlopsctl.cli.loadtest",
        "Generate load against a tenant and report latency percentiles, errors and the HPA's response.",
    ),
}


def load_command(name: str) -> Any:
    """Import the module of `name` and turn its Typer app into a click command, global options attached."""
    from typer.main import get_command

    from mlopsctl.cli.global_options import attach

    module = importlib.import_module(COMMANDS[name][0])
    command = get_command(module.app)
    command.name = name
    return attach(command)


class _LazyCommands(dict):
    """A dict of loaded commands that knows every registered name and loads a command on first access."""

    def __missing__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        command = self[name] = load_command(name)
        return command

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def keys(self):
        return COMMANDS.keys()

    def __iter__(self):
        return iter(COMMANDS)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS

    def __len__(self) -> int:
        return len(COMMANDS)

    def items(self):
        return [(name, self[name]) for name in COMMANDS]

    def values(self):
        return [self[name] for name in COMMANDS]


class LazyGroup(MlopsctlGroup):
    """The root group: global options, the registry's commands, nothing imported before it is needed."""

    def __init__(self, **attrs: Any) -> None:
        from mlopsctl.cli.global_options import global_params

        super().__init__(**attrs)
        self.commands = _LazyCommands()
        self.params.extend(global_params())

    def get_params(self, ctx: Any) -> list[Any]:
        from mlopsctl.cli.global_options import flags_as_given

        return flags_as_given(super().get_params(ctx))

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, help_text) in COMMANDS.items()])

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        from typer._click.shell_completion import CompletionItem
        from typer.core import TyperGroup

        if incomplete and not incomplete[0].isalnum():
            return super(TyperGroup, self).shell_complete(ctx, incomplete)  # the options, not TyperGroup's commands
        return [
            CompletionItem(name, help=help_text)
            for name, (_, help_text) in COMMANDS.items()
            if name.startswith(incomplete)
        ]
