"""Commands are "flags -> request -> service -> emit": no cli module reaches an adapter or another command."""

from __future__ import annotations

import ast
from pathlib import Path

import mlopsctl.cli
from mlopsctl.cli.commands import COMMANDS

CLI_DIR = Path(mlopsctl.cli.__file__).parent
COMMAND_MODULES = {module for module, _ in COMMANDS.values()}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_cli_module_imports_an_adapter_or_another_command_module():
    offenders = []
    for path in sorted(CLI_DIR.glob("*.py")):
        own = f"mlopsctl.cli.{path.stem}"
        for module in imported_modules(path):
            if module.startswith("mlopsctl.adapters") or module in {"urllib.request", "subprocess", "boto3"}:
                offenders.append(f"{path.name} imports {module}")
            if module in COMMAND_MODULES and module != own and path.stem != "commands":
                offenders.append(f"{path.name} imports the command module {module}")
    assert offenders == []


def test_every_command_module_registers_the_same_way():
    import importlib

    import typer

    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        assert isinstance(module.app, typer.Typer), module_name
        assert not hasattr(module, "register"), module_name


def test_the_adapters_read_the_settings_when_asked(monkeypatch):
    from mlopsctl.config import Settings
    from mlopsctl.deps import Deps

    current = {"settings": Settings(context="first")}
    seen = []
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda context, kubeconfig: seen.append(context) or context)
    deps = Deps(lambda: current["settings"])
    assert deps.kube() == "first" and deps.kube() == "first"
    current["settings"] = Settings(context="second")  # a global option parsed after the sub-command
    assert deps.kube() == "second"
    assert seen == ["first", "second"]
