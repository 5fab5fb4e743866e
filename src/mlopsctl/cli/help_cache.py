"""`--help` without Python's slowest imports: the text of a help screen is kept after it is first printed.

Loading Typer (and with it click and its type machinery) costs more than the whole start-up of `kubectl --help`.
A help screen depends only on the installed code and the terminal width, so `mlopsctl [GROUP [COMMAND]] --help`
prints a stored copy when one exists for exactly that code and width, and otherwise runs normally and stores what
it printed. The key covers the mlopsctl version, the size and mtime of every module in `mlopsctl/cli/` and of
Typer's package, and the width: an upgrade or an edit makes a new key. This module imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

HELP_FLAGS = ("--help", "-h")


def help_request(argv: Sequence[str]) -> bool:
    """`--help` (or `-h`) last, after nothing but command names: the only invocations whose output is stored."""
    if not argv or argv[-1] not in HELP_FLAGS:
        return False
    return all(word.replace("-", "").isalnum() and not word.startswith("-") for word in argv[:-1])


def _stat_line(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return f"{path.name}:missing"
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def cache_key(argv: Sequence[str], width: int, cli_dir: Path | None = None) -> str:
    from importlib.util import find_spec

    from mlopsctl import __version__

    cli_dir = cli_dir or Path(__file__).parent
    parts = [__version__, str(width), " ".join(argv)]
    parts += sorted(_stat_line(path) for path in cli_dir.glob("*.py"))
    spec = find_spec("typer")
    if spec is not None and spec.origin:
        parts.append(_stat_line(Path(spec.origin)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _cache_file(argv: Sequence[str]) -> Path:
    from mlopsctl.paths import home_dir

    width = shutil.get_terminal_size().columns
    return home_dir() / "help" / f"{cache_key(argv, width)}.txt"


class _Tee(io.TextIOBase):
    """Writes through to the real stdout and keeps a copy."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    # typeshed declares TextIOBase.encoding a plain attribute; at run time it is read-only, so a property it is.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")


def run_with_help_cache(argv: Sequence[str], run: Callable[[], None]) -> None:
    """Print a stored help screen, or `run()` and store the help screen it printed (only on success)."""
    if not help_request(argv) or os.environ.get("MLOPSCTL_NO_HELP_CACHE"):
        run()
        return
    path = _cache_file(argv)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
        sys.exit(0)
    real, tee = sys.stdout, _Tee(sys.stdout)
    sys.stdout = tee
    try:
        run()
    except SystemExit as exc:
        sys.stdout = real
        if exc.code in (0, None) and tee.copy.getvalue():
            _store(path, tee.copy.getvalue())
        raise
    finally:
        sys.stdout = real


def _store(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs speed
