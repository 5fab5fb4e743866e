"""`mlopsctl model ...`: versioned model artifacts.

`model_app` is the sub-app. This module holds `model train`; other modules attach more commands to the same
sub-app (`cli/model_store.py` adds push, list and pull), so `register` only adds the sub-app to the root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlopsctl.cli import context as cli_context

model_app = typer.Typer(
    name="model",
    help="Train, push and list versioned model artifacts.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _train_table(result):
    from rich.table import Table

    table = Table(title=f"model {result.version} trained", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("directory", str(result.directory))
    table.add_row("classifier", result.classifier)
    table.add_row("held-out accuracy", f"{result.accuracy:.3f} (f1 {result.f1_macro:.3f})")
    table.add_row("candidates", ", ".join(f"{name} {acc:.3f}" for name, acc in result.candidates.items()))
    table.add_row("rows", f"{result.train_rows} train / {result.test_rows} held out")
    table.add_row("data", f"{result.data} (sha256 {result.data_sha256[:12]})")
    table.add_row("model sha256", result.sha256)
    return table


@model_app.command("train")
def train(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to write (model.skops + metadata.json).")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="CSV with the columns text,label (default: the data set shipped with mlopsctl)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Model version (default: DATE-DATAHASH).", show_default=False)
    ] = None,
) -> None:
    """Train the sentiment model: compare classifiers on a held-out split, keep the best, write the artifact."""
    from mlopsctl.services import model_training

    result = model_training.train(data, out, version=version, status=cli_context.status(ctx))
    cli_context.emit(ctx, result, _train_table)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
