"""Progress for long steps, always on stderr: a spinner on a smart terminal, plain lines elsewhere, nothing
with --quiet. Services take a `Status` so they never print themselves."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Protocol, TextIO


class Status(Protocol):
    def step(self, title: str) -> contextlib.AbstractContextManager[None]: ...

    def note(self, message: str) -> None: ...


class NullStatus:
    """Used with --quiet and in tests: steps run, nothing is shown."""

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        yield

    def note(self, message: str) -> None:
        pass


class PlainStatus:
    """` • step ...` then ` ✓ step` or ` ✗ step`: readable in CI logs and pipes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        self._line(f" • {title} ...")
        try:
            yield
        except BaseException:
            self._line(f" ✗ {title}")
            raise
        self._line(f" ✓ {title}")

    def note(self, message: str) -> None:
        self._line(f"   {message}")


class RichStatus:
    """A spinner while a step runs, a check mark or a cross when it ends."""

    def __init__(self, color: bool = True) -> None:
        from rich.console import Console

        # markup=False: titles and messages carry names and errors, whose brackets must print as they are.
        self.console = Console(file=sys.stderr, no_color=not color, highlight=False, markup=False)

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        from rich.text import Text

        try:
            with self.console.status(f"{title} ..."):
                yield
        except BaseException:
            self.console.print(Text("✗", style="red"), title)
            raise
        self.console.print(Text("✓", style="green"), title)

    def note(self, message: str) -> None:
        self.console.print(f"  {message}")


def wants_spinner(isatty: bool, env: Mapping[str, str], color: bool) -> bool:
    return isatty and color and "NO_COLOR" not in env and env.get("TERM") != "dumb"


def make_status(quiet: bool, color: bool, env: Mapping[str, str], stream: TextIO | None = None) -> Status:
    if quiet:
        return NullStatus()
    stream = stream or sys.stderr
    if wants_spinner(stream.isatty(), env, color):
        return RichStatus(color=color)
    return PlainStatus(stream)
