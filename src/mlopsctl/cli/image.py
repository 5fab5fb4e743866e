"""`mlopsctl image build|base`: the inference image, and a base image for hosts with no registry.

`app` is the sub-app; other image commands (such as `image load`) are added to it with
`@app.command(...)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlopsctl import constants
from mlopsctl.cli import context as cli_context

app = typer.Typer(
    name="image",
    help="Build the inference image; make a base image where no registry is reachable.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.0f} MB"


def _key_values(title: str, rows: list[tuple[str, str]]):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("KEY", style="bold")
    table.add_column("VALUE")
    for key, value in rows:
        table.add_row(key, value)
    return table


def _build_table(result):
    return _key_values(
        "image build",
        [
            ("image", result.image),
            ("tags", ", ".join(result.tags)),
            ("id", result.image_id),
            ("size", _size(result.size_bytes)),
            ("base", f"{result.base_image} ({result.base_python})"),
            ("builder", result.builder),
            ("wheelhouse", f"{result.wheelhouse} ({result.wheels} wheels)"),
            ("revision", result.revision),
            ("seconds", f"{result.seconds:.1f}"),
        ],
    )


def _base_table(result):
    return _key_values(
        "image base",
        [
            ("image", result.tag),
            ("id", result.image_id),
            ("size", _size(result.size_bytes)),
            ("suite", result.suite),
            ("packages", ", ".join(result.packages)),
            ("reused", "yes" if result.reused else "no"),
            ("seconds", f"{result.seconds:.1f}"),
        ],
    )


@app.command("build")
def build(
    ctx: typer.Context,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            "-t",
            metavar="TAG",
            help="An extra tag (repeatable); mlopsctl/inference:VERSION-COMMIT is always set.",
        ),
    ] = None,
    base_image: Annotated[
        str,
        typer.Option(
            "--base-image",
            envvar="MLOPSCTL_BASE_IMAGE",
            help="Base image with CPython and its venv module; `mlopsctl image base` makes one offline.",
        ),
    ] = constants.DEFAULT_BASE_IMAGE,
    wheelhouse: Annotated[
        Path | None,
        typer.Option(
            "--wheelhouse",
            help="Directory of wheels for the base's Python (default: built with the host's pip and cached).",
        ),
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option("--source", help="The checkout holding the Dockerfile (default: this mlopsctl's checkout)."),
    ] = None,
) -> None:
    """Build the inference image (the default model is trained into it), tagged with the version and git commit."""
    settings = cli_context.settings(ctx)
    images = cli_context.deps(ctx).images(base_image=base_image, verbose=settings.verbose > 0)
    result = images.build_result(
        cli_context.status(ctx), settings.registry, source=source, wheelhouse=wheelhouse, extra_tags=tag or ()
    )
    cli_context.emit(ctx, result, _build_table)


@app.command("base")
def base(
    ctx: typer.Context,
    tag: Annotated[str, typer.Option("--tag", "-t", help="Tag of the base image.")] = "mlopsctl/base:bookworm",
    suite: Annotated[str, typer.Option("--suite", help="Debian suite for debootstrap.")] = "bookworm",
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the tag exists.")] = False,
    mirror: Annotated[
        str | None,
        typer.Option("--mirror", help="Debian mirror URL for debootstrap, e.g. a local one (default: its own)."),
    ] = None,
) -> None:
    """Make a Debian base image with python3 by debootstrap + docker import (no registry needed; runs as root).

    Then: mlopsctl image build --base-image mlopsctl/base:bookworm
    """
    import os

    from mlopsctl.services import image as service

    deps = cli_context.deps(ctx)
    request = service.BaseRequest(tag=tag, suite=suite, force=force, mirror=mirror, is_root=os.geteuid() == 0)
    result = service.make_base(request, deps.docker(), deps.runner(), cli_context.status(ctx))
    cli_context.emit(ctx, result, _base_table)


@app.command("load")
def load(
    ctx: typer.Context,
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="The image to load (default: mlopsctl/inference:VERSION).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Kind cluster name (default: mlopsctl).")] = None,
) -> None:
    """Load a locally built image into the Kind cluster's nodes (`kind load image-archive`)."""
    from mlopsctl.services import cluster as service

    settings = cli_context.settings(ctx).with_overrides(cluster_name=name)
    deps = cli_context.deps(ctx)
    cluster = service.kind_cluster_of(settings.context) or settings.cluster_name
    images = deps.images()
    reference = tag or images.reference(None)
    result = service.load_image(deps.kind(), images, cluster, reference, cli_context.status(ctx))
    cli_context.emit(ctx, result, lambda r: _key_values("image load", [("image", r.image), ("cluster", r.cluster)]))
