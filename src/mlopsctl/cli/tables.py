"""Rich tables that more than one command prints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal


def object_actions_table(
    title: str, deleted: Iterable[str], kept: Iterable[str], *, justify: Literal["left", "center"] = "center"
):
    """What an uninstall did: each object deleted or deliberately kept."""
    from rich.table import Table

    table = Table(title=title, title_justify=justify)
    table.add_column("OBJECT")
    table.add_column("ACTION")
    for item in deleted:
        table.add_row(item, "deleted")
    for item in kept:
        table.add_row(item, "kept")
    return table


def next_commands(commands: Iterable[str]):
    """The "next:" lines: commands to copy, each kept on one line however narrow the terminal."""
    from rich.console import Group
    from rich.text import Text

    lines = [Text(f"  {command}", no_wrap=True, overflow="ignore") for command in commands]
    return Group(Text("next:"), *lines)
