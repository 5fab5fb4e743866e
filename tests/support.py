"""Helpers shared by the test tiers."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, reason: str) -> None:
    """Skip an integration test whose component is missing, except in CI, where that is a failure."""
    if available:
        return
    if in_ci():
        pytest.fail(f"CI=true and a required component is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def require_program(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed")
    assert path is not None
    return path


def tools_bin_dirs() -> list[Path]:
    """Where the test tools' own environment keeps its programs (.ci/install-tools): MLOPSCTL_TOOLS_BIN, else the
    default venv under the cache directory."""
    given = os.environ.get("MLOPSCTL_TOOLS_BIN")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [Path(given)] if given else [cache / "mlopsctl-ci" / "test-tools" / "bin"]


def find_tool(name: str) -> str | None:
    """A test tool (checkov, zizmor, schemathesis) from its own environment, else from PATH."""
    for directory in tools_bin_dirs():
        found = shutil.which(name, path=str(directory))
        if found:
            return found
    return shutil.which(name)


def require_tool(name: str) -> str:
    """A test tool that runs apart from mlopsctl's environment; missing: skip, or fail under CI=true."""
    path = find_tool(name)
    require(path is not None, f"{name} is not installed (bash .ci/install-tools makes its environment)")
    assert path is not None
    return path


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    import subprocess

    probe = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=20)
    return probe.returncode == 0


def require_docker() -> None:
    require(docker_available(), "the Docker daemon is not running (start it with `dockerd &`)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
