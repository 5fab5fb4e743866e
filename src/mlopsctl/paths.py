"""Where mlopsctl keeps its files: the cache home, installed tools, logs, and the shipped templates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """`MLOPSCTL_HOME`, else `$XDG_CACHE_HOME/mlopsctl`, else `~/.cache/mlopsctl`."""
    env = os.environ if env is None else env
    if env.get("MLOPSCTL_HOME"):
        return Path(env["MLOPSCTL_HOME"]).expanduser()
    cache = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "mlopsctl"


def tools_dir(env: Mapping[str, str] | None = None) -> Path:
    return home_dir(env) / "bin"


def log_file(env: Mapping[str, str] | None = None) -> Path:
    return home_dir(env) / "mlopsctl.log"


def templates_dir() -> Path:
    """The templates inside an installed wheel, or the checkout's top-level `templates/`."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"
