"""The image's inputs, what the image use cases need from Docker, and the build's request and result."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlopsctl import constants
from mlopsctl.adapters.docker import ImageInfo, PythonInfo

DOCKERFILE = "Dockerfile"
# Pinned with hashes (requirements/image.in's ranges, resolved by `bash requirements/refresh`).
REQUIREMENTS = "requirements/image.lock"
SERVICE_SOURCE = "src/inference"
WHEELHOUSE = "wheelhouse"
# What the Dockerfile reads from its context; also what decides whether the git tree is "dirty" for the image.
IMAGE_INPUTS = (DOCKERFILE, REQUIREMENTS, SERVICE_SOURCE)

DEFAULT_BASE_IMAGE = constants.DEFAULT_BASE_IMAGE
BASE_SUITE = "bookworm"
# python3-venv brings ensurepip's pip wheel, which the build stage uses to install the wheelhouse.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Dropped from the debootstrap tree before import: package caches and documentation nobody reads in a container.
BASE_TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale")
BASE_CHANGES = ("ENV LANG=C.UTF-8", 'CMD ["python3"]')


class DockerImagesApi(Protocol):
    """What these use cases need from Docker (adapters/docker.py: DockerImages)."""

    def server_version(self) -> str: ...

    def build(
        self,
        context: Path,
        *,
        tags: Sequence[str],
        build_args: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        use_buildx: bool | None = None,
        network: str | None = None,
    ) -> tuple[str, str]: ...

    def inspect(self, reference: str) -> ImageInfo | None: ...

    def import_rootfs(self, tarball: Path, tag: str, changes: Sequence[str] = ()) -> str: ...

    def python_of(self, image: str) -> PythonInfo: ...


@dataclass(frozen=True)
class BuildRequest:
    source: Path
    version: str
    base_image: str = DEFAULT_BASE_IMAGE
    wheelhouse: Path | None = None  # given: used as is; None: built with the host's pip into `wheelhouse_cache`
    wheelhouse_cache: Path | None = None
    extra_tags: tuple[str, ...] = ()
    registry: str | None = None
    host_python: PythonInfo | None = None
    python_executable: str = "python3"
    use_buildx: bool | None = None  # None: detect


@dataclass(frozen=True)
class BuildResult:
    image: str
    tags: tuple[str, ...]
    image_id: str
    size_bytes: int
    base_image: str
    base_python: str
    builder: str
    wheelhouse: str
    wheels: int
    revision: str
    seconds: float
    steps: list[str] = field(default_factory=list)
