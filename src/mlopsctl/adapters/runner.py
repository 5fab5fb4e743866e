"""Subprocesses, behind one small seam so adapters can be tested by asserting argv and stdin."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlopsctl.errors import ExternalCommandFailed, PrerequisiteMissing


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def pretty_command(self) -> str:
        """The command line, quoted so it can be pasted into a shell."""
        return shlex.join(self.argv)


class Runner(Protocol):
    def which(self, program: str) -> str | None: ...

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> CommandResult: ...


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def failure(result: CommandResult, what: str, hint: str | None = None) -> ExternalCommandFailed:
    last_line = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
    detail = f"command: {result.pretty_command}\nreturn code: {result.returncode}\n{_tail(result.stderr)}"
    return ExternalCommandFailed(f"{what}: {last_line}", hint=hint, detail=detail)


class Spawner(Protocol):
    """Starts a long-running program (a port-forward) and hands back its process; the caller ends it."""

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen: ...


@dataclass
class SubprocessRunner:
    """Runs real programs; tools installed by `doctor --install-tools` are found before those on PATH."""

    extra_path: tuple[Path, ...] = field(default_factory=tuple)

    def which(self, program: str) -> str | None:
        for directory in self.extra_path:
            candidate = directory / program
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return shutil.which(program)

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        program = self.which(argv[0])
        if program is None:
            raise PrerequisiteMissing(f"{argv[0]} not found", hint="run `mlopsctl doctor` to see how to install it")
        try:
            completed = subprocess.run(
                [program, *argv[1:]],
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ExternalCommandFailed(
                f"{shlex.join(argv)} timed out after {timeout:.0f}s", hint="retry, or raise --timeout"
            ) from exc
        result = CommandResult(tuple(argv), completed.returncode, completed.stdout or "", completed.stderr or "")
        if check and result.returncode != 0:
            raise failure(result, f"{argv[0]} failed")
        return result

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen:
        """Start `argv` in the background (stdout and stderr captured as text); the caller terminates it."""
        program = self.which(argv[0])
        if program is None:
            raise PrerequisiteMissing(f"{argv[0]} not found", hint="run `mlopsctl doctor` to see how to install it")
        return subprocess.Popen(
            [program, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
