"""Results go to stdout, as a Rich table for people or as data (`-o json|yaml`) built from the same object."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO


def to_data(value: Any) -> Any:
    """A result object as plain JSON-able data (dataclasses, enums, paths and datetimes included)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_data(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def render_data(result: Any, fmt: str) -> str:
    data = to_data(result)
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    raise ValueError(f"not a data format: {fmt}")


# Wide enough that no table cell is ever cut or folded when the output goes to a file or a pipe.
UNBOUNDED_WIDTH = 100_000


def make_console(stream: TextIO | None = None, color: bool = True, width: int | None = None):
    """A console for results. Markup is off: every string is printed as it is (names and messages may hold
    brackets); styled parts are `rich.text.Text`. Off a terminal: whole values, no colour."""
    from rich.console import Console

    out = stream or sys.stdout
    on_terminal = bool(getattr(out, "isatty", lambda: False)())
    return Console(
        file=out,
        no_color=not color or not on_terminal,
        color_system="auto" if on_terminal and color else None,
        markup=False,
        highlight=False,
        soft_wrap=False,
        width=width or (None if on_terminal else UNBOUNDED_WIDTH),
    )


def emit(result: Any, fmt: str, table: Callable[[Any], Any], color: bool = True, stream=None) -> None:
    """Print `result` as data, or as the Rich renderable that `table(result)` builds."""
    out = stream or sys.stdout
    if fmt in ("json", "yaml"):
        out.write(render_data(result, fmt))
        out.flush()
        return
    # crop=False: lines marked no_wrap (commands to copy) stay whole; the terminal wraps them softly.
    make_console(out, color=color).print(table(result), crop=False)
