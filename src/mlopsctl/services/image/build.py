"""`image build`: stage a minimal context (Dockerfile, requirements, service, wheelhouse) and build it."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlopsctl.adapters.runner import Runner
from mlopsctl.errors import ExternalCommandFailed, UsageError
from mlopsctl.progress import Status
from mlopsctl.services.image.common import (
    DOCKERFILE,
    IMAGE_INPUTS,
    REQUIREMENTS,
    SERVICE_SOURCE,
    WHEELHOUSE,
    BuildRequest,
    BuildResult,
    DockerImagesApi,
)
from mlopsctl.services.image.reference import (
    git_revision,
    image_repository,
    validate_reference,
    version_tag,
)
from mlopsctl.services.image.wheelhouse import ensure_wheelhouse, wheel_files


def check_source(source: Path) -> None:
    missing = [name for name in IMAGE_INPUTS if not (source / name).exists()]
    if missing:
        raise UsageError(
            f"{source} is not an mlopsctl checkout: missing {', '.join(missing)}",
            hint="run from the repository, or pass --source DIR",
        )


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def stage_context(source: Path, wheelhouse: Path, directory: Path) -> Path:
    """A minimal build context: the Dockerfile, the requirements, the service source and the wheelhouse."""
    (directory / "requirements").mkdir(parents=True)
    shutil.copy2(source / DOCKERFILE, directory / DOCKERFILE)
    shutil.copy2(source / REQUIREMENTS, directory / REQUIREMENTS)
    shutil.copytree(
        source / SERVICE_SOURCE,
        directory / SERVICE_SOURCE,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"),
    )
    (directory / WHEELHOUSE).mkdir()
    for wheel in wheelhouse.glob("*.whl"):
        _link_or_copy(wheel, directory / WHEELHOUSE / wheel.name)
    return directory


def is_progress_line(line: str) -> bool:
    """The build lines worth showing without -v: legacy `Step 3/21 : ...` and BuildKit `#7 [build 2/6] ...`."""
    return line.startswith("Step ") or bool(re.match(r"#\d+ \[", line))


def build_image(
    request: BuildRequest,
    docker: DockerImagesApi,
    runner: Runner,
    status: Status,
    *,
    verbose: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> BuildResult:
    started = clock()
    source = request.source
    check_source(source)
    base = validate_reference(request.base_image, "--base-image")
    extra = tuple(validate_reference(tag, "--tag") for tag in request.extra_tags)

    with status.step("Checking the Docker daemon"):
        server = docker.server_version()
        status.note(f"Docker {server}")
    with status.step(f"Checking the Python of the base image {base}"):
        try:
            python = docker.python_of(base)
        except ExternalCommandFailed as exc:
            raise ExternalCommandFailed(
                exc.message,
                hint="if no registry is reachable, make a local base with `mlopsctl image base` and pass "
                "--base-image mlopsctl/base:bookworm",
                detail=exc.detail,
            ) from exc
        status.note(f"{python.tag} on {python.machine}, {python.libc[0]} {'.'.join(map(str, python.libc[1]))}")
    wheelhouse = ensure_wheelhouse(request, python, runner, status)
    wheels = len(wheel_files(wheelhouse))

    commit, dirty = git_revision(runner, source)
    version = version_tag(request.version, commit, dirty)
    repository = image_repository(request.registry)
    image = f"{repository}:{version}"
    # Also the bare version: the tag tenants run by default (constants.DEFAULT_IMAGE).
    tags = tuple(dict.fromkeys((image, f"{repository}:{request.version}", *extra)))
    build_args = {"BASE_IMAGE": base, "VERSION": request.version, "REVISION": commit or "unknown"}
    labels = {"org.opencontainers.image.base.name": base}
    steps: list[str] = []

    def on_line(line: str) -> None:
        if is_progress_line(line):
            steps.append(line)
        if verbose or is_progress_line(line):
            status.note(line[:160])

    with tempfile.TemporaryDirectory(prefix="mlopsctl-build-") as scratch, status.step(f"Building {image}"):
        context = stage_context(source, wheelhouse, Path(scratch) / "context")
        # No network for the RUN steps: everything comes from the wheelhouse, and the build proves it.
        image_id, builder = docker.build(
            context,
            tags=tags,
            build_args=build_args,
            labels=labels,
            on_line=on_line,
            use_buildx=request.use_buildx,
            network="none",
        )
    info = docker.inspect(image)
    return BuildResult(
        image=image,
        tags=tags,
        image_id=image_id,
        size_bytes=info.size_bytes if info else 0,
        base_image=base,
        base_python=python.tag,
        builder=builder,
        wheelhouse=str(wheelhouse),
        wheels=wheels,
        revision=commit or "unknown",
        seconds=round(clock() - started, 1),
        steps=steps,
    )
