"""The one place where errors become messages and exit codes.

A user sees `mlopsctl: error: <what failed>` and, when we know one, `hint: <what to do>`. Tracebacks appear only
with -v or --traceback; an unexpected error writes its traceback to the log file and says where it is.
"""

from __future__ import annotations

import sys
from typing import Any

from mlopsctl import __version__
from mlopsctl.errors import ExitCode, MlopsctlError


def _write(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _log_unexpected(exc: BaseException) -> str | None:
    import traceback
    from datetime import UTC, datetime

    from mlopsctl.paths import log_file

    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as log:
            log.write(f"--- {datetime.now(UTC).isoformat()} mlopsctl {__version__} python {sys.version.split()[0]}\n")
            log.write(f"argv: {sys.argv}\n")
            log.write("".join(traceback.format_exception(exc)))
    except OSError:
        return None
    return str(path)


def _wants_traceback(obj: Any) -> bool:
    wants = getattr(obj, "wants_traceback", None)
    return bool(wants and wants())


def usage_error(exc: Any) -> int:
    """click's own usage errors, said the house way: one `mlopsctl: error:` line, a hint, exit 2."""
    from typer._click.exceptions import NoArgsIsHelpError

    if isinstance(exc, NoArgsIsHelpError):
        exc.show()
        return int(ExitCode.USAGE)
    message = exc.format_message().strip()
    _write(f"mlopsctl: error: {message[:1].lower()}{message[1:]}")
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "mlopsctl"
    _write(f"hint: see `{command} --help`")
    return int(getattr(exc, "exit_code", ExitCode.USAGE) or ExitCode.USAGE)


def report(exc: BaseException, obj: Any) -> int:
    """Print one error the house way and return its exit code."""
    import traceback  # only on the error path: it costs a third of a stored help screen's start-up

    if isinstance(exc, MlopsctlError):
        _write(f"mlopsctl: error: {exc.message}")
        if exc.hint:
            _write(f"hint: {exc.hint}")
        if exc.detail and _wants_traceback(obj):
            _write(exc.detail)
        if _wants_traceback(obj):
            traceback.print_exception(exc, file=sys.stderr)
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        _write("mlopsctl: interrupted")
        return int(ExitCode.INTERRUPTED)
    if _wants_traceback(obj):
        traceback.print_exception(exc, file=sys.stderr)
    where = _log_unexpected(exc)
    _write(f"mlopsctl: error: unexpected {type(exc).__name__}: {exc}")
    if where:
        _write(f"hint: this is a bug; the traceback is in {where}")
    return int(ExitCode.UNEXPECTED)


def _run() -> None:
    from typer.main import get_command

    from mlopsctl.cli.app import app

    get_command(app).main(prog_name="mlopsctl", complete_var="_MLOPSCTL_COMPLETE")


def main() -> None:
    """The console script. Imports nothing heavy itself, so a stored help screen prints at interpreter speed."""
    from mlopsctl.cli.help_cache import run_with_help_cache

    if sys.argv[1:] == ["--version"]:  # the same line the root's --version prints, without loading Typer
        sys.stdout.write(f"mlopsctl {__version__}\n")
        return
    run_with_help_cache(sys.argv[1:], _run)
