from __future__ import annotations

from dataclasses import dataclass

import pytest
from typer.testing import CliRunner


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run the real CLI entry point in-process, with a private MLOPSCTL_HOME and no ambient config."""
    monkeypatch.setenv("MLOPSCTL_HOME", str(tmp_path / "home"))
    for var in ("MLOPSCTL_CONTEXT", "MLOPSCTL_OUTPUT", "MLOPSCTL_KUBECONFIG", "KUBECONFIG", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)

    from mlopsctl.cli.app import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
        result = runner.invoke(app, list(args), input=input, env=env)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke
