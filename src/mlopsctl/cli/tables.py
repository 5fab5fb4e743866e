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
