"""`image base`: a Debian base image with python3 by debootstrap + docker import, where no registry is reachable."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlopsctl import constants
from mlopsctl.adapters.runner import Runner
from mlopsctl.errors import ExternalCommandFailed, PrerequisiteMissing
from mlopsctl.progress import Status
from mlopsctl.services.image.common import (
    BASE_CHANGES,
    BASE_PACKAGES,
    BASE_SUITE,
    BASE_TRIM,
    DockerImagesApi,
)
from mlopsctl.services.image.reference import validate_reference


@dataclass(frozen=True)
class BaseRequest:
    tag: str = constants.IMAGE_BASE
    suite: str = BASE_SUITE
    packages: tuple[str, ...] = BASE_PACKAGES
    force: bool = False
    mirror: str | None = None  # None: debootstrap's default Debian mirror
    is_root: bool = True
    workdir: Path | None = None  # where the root filesystem is assembled (default: the system temp dir)


@dataclass(frozen=True)
class BaseResult:
    tag: str
    image_id: str
    size_bytes: int
    suite: str
    packages: tuple[str, ...]
    reused: bool
    seconds: float


def trim_rootfs(rootfs: Path) -> None:
    """Empty the BASE_TRIM directories (keeping the directories themselves, which packages expect)."""
    for relative in BASE_TRIM:
        directory = rootfs / relative
        if directory.is_dir() and not directory.is_symlink():
            for child in directory.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def _mounted_below(root: Path) -> list[Path]:
    return [path for path in (root / "proc", root / "sys", root / "dev/pts", root / "dev") if os.path.ismount(path)]


def make_base(
    request: BaseRequest,
    docker: DockerImagesApi,
    runner: Runner,
    status: Status,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> BaseResult:
    """A Debian base image with python3 from `debootstrap` + `docker image import`: no registry needed.

    debootstrap fetches packages from its default Debian mirror (or whatever the host's proxy allows).
    """
    started = clock()
    tag = validate_reference(request.tag, "--tag")
    with status.step("Checking the Docker daemon"):
        docker.server_version()
    existing = docker.inspect(tag)
    if existing is not None and not request.force:
        status.note(f"{tag} exists ({existing.id[:19]}); --force rebuilds it")
        return BaseResult(tag, existing.id, existing.size_bytes, request.suite, request.packages, True, 0.0)
    if runner.which("debootstrap") is None:
        raise PrerequisiteMissing(
            "debootstrap not found", hint="install it (Debian/Ubuntu: `apt-get install debootstrap`)"
        )
    if not request.is_root:
        raise PrerequisiteMissing("debootstrap needs root", hint="run `sudo mlopsctl image base`")
    scratch = Path(tempfile.mkdtemp(prefix="mlopsctl-base-", dir=request.workdir))
    rootfs = scratch / "rootfs"
    tarball = scratch / "rootfs.tar"
    try:
        with status.step(f"debootstrap {request.suite} (minbase, {', '.join(request.packages)})"):
            argv = ["debootstrap", "--variant=minbase", f"--include={','.join(request.packages)}"]
            runner.run([*argv, request.suite, str(rootfs), *([request.mirror] if request.mirror else [])], timeout=3600)
        with status.step("Trimming caches and documentation"):
            trim_rootfs(rootfs)
        with status.step(f"Importing {tag}"):
            runner.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], timeout=900)
            image_id = docker.import_rootfs(tarball, tag, BASE_CHANGES)
    finally:
        mounted = _mounted_below(rootfs)
        if not mounted:
            shutil.rmtree(scratch, ignore_errors=True)
    if mounted:  # never delete through a mounted /proc or /dev: leave the tree to the user
        raise ExternalCommandFailed(
            f"debootstrap left {mounted[0]} mounted; {rootfs} was not removed",
            hint=f"unmount it (`umount {mounted[0]}`) and remove {scratch}",
        )
    info = docker.inspect(tag)
    return BaseResult(
        tag=tag,
        image_id=image_id,
        size_bytes=info.size_bytes if info else 0,
        suite=request.suite,
        packages=request.packages,
        reused=False,
        seconds=round(clock() - started, 1),
    )
