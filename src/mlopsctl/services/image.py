"""The inference image: build it from the repository's Dockerfile, and make a base image where no registry is
reachable.

Dependencies reach the image through a wheelhouse filled on the host with the host's own pip (which already knows
any proxy, CA bundle or private index) from the image lock, hash-checked, then installed in the build with
`pip install --no-index --require-hashes` from the same lock. The build
therefore needs no network, and works behind a TLS-intercepting proxy and offline. The wheelhouse must match the
base image's Python: it is checked against `python3` inside the base before anything is sent to the daemon.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlopsctl import constants
from mlopsctl.adapters.docker import ImageInfo, PythonInfo
from mlopsctl.adapters.runner import Runner
from mlopsctl.errors import ExternalCommandFailed, PrerequisiteMissing, UsageError
from mlopsctl.progress import Status

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


# --------------------------------------------------------------------------------------------------- tags


_TAG_INVALID = re.compile(r"[^A-Za-z0-9_.-]")


def version_tag(version: str, commit: str | None, dirty: bool = False) -> str:
    """`0.1.0-3f2a9c1d0e4b`, `0.1.0-3f2a9c1d0e4b-dirty` when the image inputs have local changes, `0.1.0-nogit`
    outside a git checkout. Never `latest`: a tag must say which code it holds."""
    suffix = commit or "nogit"
    tag = f"{version}-{suffix}{'-dirty' if dirty and commit else ''}"
    return _TAG_INVALID.sub("-", tag)[:128]


def image_repository(registry: str | None = None) -> str:
    return f"{registry.rstrip('/')}/{constants.IMAGE_REPOSITORY}" if registry else constants.IMAGE_REPOSITORY


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+(?=:))(?::[0-9]+)?/"
_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN})?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@sha256:[a-f0-9]{64})?$"
)


_PUSH_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def pushed_digest(output: str) -> str | None:
    """The digest `docker push` printed (`0.1.0: digest: sha256:... size: 1234`), or None."""
    found = _PUSH_DIGEST.findall(output or "")
    return found[-1] if found else None


def manifest_digest(output: str) -> str:
    """The digest in `docker manifest inspect -v` output (one descriptor, or a list for a multi-platform
    index); "" when the registry answered without one."""
    import json

    try:
        data = json.loads(output)
    except ValueError:
        return ""
    entries = data if isinstance(data, list) else [data]
    for entry in entries:
        digest = ((entry or {}).get("Descriptor") or {}).get("digest") if isinstance(entry, dict) else None
        if isinstance(digest, str) and digest.startswith("sha256:"):
            return digest
    return ""


def validate_reference(reference: str, flag: str) -> str:
    """A docker image reference (`[registry/]name[:tag]`, lower-case repository); UsageError naming the flag."""
    if not _REFERENCE.match(reference):
        raise UsageError(
            f"invalid {flag} {reference!r}: not a docker image reference",
            hint="use lower-case `repository[:tag]`, for example mlopsctl/inference:dev",
        )
    return reference


def git_revision(runner: Runner, source: Path) -> tuple[str | None, bool]:
    """(short commit, whether the image inputs differ from it); (None, False) outside a git checkout."""
    if runner.which("git") is None:
        return None, False
    head = runner.run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"], check=False)
    if head.returncode != 0 or not head.stdout.strip():
        return None, False
    changes = runner.run(["git", "-C", str(source), "status", "--porcelain", "--", *IMAGE_INPUTS], check=False)
    return head.stdout.strip(), bool(changes.stdout.strip())


# ------------------------------------------------------------------------------------------ wheel tags


@dataclass(frozen=True)
class Wheel:
    project: str
    version: str
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]
    filename: str


def parse_wheel(filename: str) -> Wheel | None:
    """`name-version(-build)?-python-abi-platform.whl` (PEP 427, compressed tag sets allowed); None if not one."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        return None
    project, version = parts[0], parts[1]
    python, abi, platform = parts[-3:]
    return Wheel(
        project=re.sub(r"[-_.]+", "-", project).lower(),
        version=version,
        python_tags=tuple(python.split(".")),
        abi_tags=tuple(abi.split(".")),
        platform_tags=tuple(platform.split(".")),
        filename=filename,
    )


_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def _platform_fits(platform: str, python: PythonInfo) -> bool:
    if platform == "any":
        return True
    if not platform.endswith("_" + python.machine):
        return False
    prefix = platform[: -len(python.machine) - 1]
    if prefix == "linux":
        return True
    if python.libc[0] != "glibc":
        return False
    needed = _LEGACY_MANYLINUX.get(prefix)
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)", prefix)
    if match:
        needed = (int(match.group(1)), int(match.group(2)))
    return needed is not None and needed <= python.libc[1]


def _python_fits(python_tag: str, abi: str, python: PythonInfo) -> bool:
    major, minor = python.version
    if abi == "none":  # pure Python: py3, py311, py3X for X <= 11, or cp311
        if python_tag == f"cp{major}{minor}":
            return True
        rest = python_tag.removeprefix(f"py{major}")
        return python_tag.startswith(f"py{major}") and (rest == "" or (rest.isdigit() and int(rest) <= minor))
    if abi == "abi3":  # the stable ABI: built for cp3X, runs on every later 3.Y
        rest = python_tag.removeprefix(f"cp{major}")
        return python_tag.startswith(f"cp{major}") and rest.isdigit() and int(rest) <= minor
    return abi == f"cp{major}{minor}" and python_tag == f"cp{major}{minor}"


def wheel_fits(wheel: Wheel, python: PythonInfo) -> bool:
    """Whether pip in `python` could install this wheel (CPython, Linux, glibc as given)."""
    return any(
        _python_fits(py, abi, python) and _platform_fits(plat, python)
        for py in wheel.python_tags
        for abi in wheel.abi_tags
        for plat in wheel.platform_tags
    )


def unfit_projects(filenames: Iterable[str], python: PythonInfo) -> list[str]:
    """Projects that have wheels in the wheelhouse but none the target Python can install (sorted)."""
    fits: dict[str, bool] = {}
    for name in filenames:
        wheel = parse_wheel(name)
        if wheel is not None:
            fits[wheel.project] = fits.get(wheel.project, False) or wheel_fits(wheel, python)
    return sorted(project for project, ok in fits.items() if not ok)


# ---------------------------------------------------------------------------------------------- build


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


def check_source(source: Path) -> None:
    missing = [name for name in IMAGE_INPUTS if not (source / name).exists()]
    if missing:
        raise UsageError(
            f"{source} is not an mlopsctl checkout: missing {', '.join(missing)}",
            hint="run from the repository, or pass --source DIR",
        )


def _wheel_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("*.whl"))


def manylinux_platforms(python: PythonInfo) -> list[str]:
    """Every manylinux platform tag a glibc of `python.libc` runs, newest first (pip does not expand these)."""
    major, minor = python.libc[1]
    arch = python.machine
    tags = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, 16, -1)] if major == 2 else []
    tags += [f"manylinux{name}_{arch}" for name in ("2014", "2010", "1")]
    return tags


def wheelhouse_argv(
    python_executable: str, requirements: Path, directory: Path, target: PythonInfo, host: PythonInfo
) -> list[str]:
    """How the host's pip fills a wheelhouse for `target`.

    Only the lock's wheels, hash-checked: a wheel built here from an sdist would carry a hash the lock does not
    know, and the build's `pip install --require-hashes` would refuse it. Same CPython minor, machine and a glibc
    no newer than the target's: `pip wheel` with the host's own tags. Otherwise `pip download` for the target's
    tags, which needs no interpreter of that version on the host.
    """
    common = ["--quiet", "--disable-pip-version-check", "--require-hashes", "--no-deps", "--only-binary=:all:"]
    common += ["--requirement", str(requirements)]
    native = (
        (host.version, host.machine) == (target.version, target.machine)
        and host.libc[0] == target.libc[0] == "glibc"
        and host.libc[1] <= target.libc[1]
    )
    if native:
        return [python_executable, "-m", "pip", "wheel", *common, "--wheel-dir", str(directory),
                "--find-links", str(directory)]  # fmt: skip
    argv = [python_executable, "-m", "pip", "download", *common, "--dest", str(directory)]
    argv += ["--implementation", "cp", "--python-version", f"{target.version[0]}.{target.version[1]}"]
    argv += ["--abi", target.tag, "--abi", "abi3", "--abi", "none"]
    for platform in [*manylinux_platforms(target), f"linux_{target.machine}", "any"]:
        argv += ["--platform", platform]
    return argv


def ensure_wheelhouse(request: BuildRequest, python: PythonInfo, runner: Runner, status: Status) -> Path:
    """The wheelhouse for this build: the one given, or one built with the host's pip (cached between builds)."""
    if request.wheelhouse is not None:
        directory = request.wheelhouse
        if not directory.is_dir() or not _wheel_files(directory):
            raise UsageError(
                f"--wheelhouse {directory} holds no wheels",
                hint=f"fill one with `python -m pip download --require-hashes --no-deps --only-binary=:all: "
                f"-r {REQUIREMENTS} --dest {directory}`",
            )
    else:
        host = request.host_python
        if host is None or request.wheelhouse_cache is None:
            raise ValueError("host_python and wheelhouse_cache are needed to build a wheelhouse")
        if python.libc[0] != "glibc":
            raise UsageError(
                f"the base image's C library is not glibc ({python.libc[0] or 'unknown'}): no manylinux wheels fit",
                hint="use a glibc base (Debian, Ubuntu: python:3.11-slim, `mlopsctl image base`), or pass --wheelhouse",
            )
        directory = request.wheelhouse_cache / f"{python.tag}-{python.machine}"
        directory.mkdir(parents=True, exist_ok=True)
        argv = wheelhouse_argv(request.python_executable, request.source / REQUIREMENTS, directory, python, host)
        how = "pip wheel" if argv[3] == "wheel" else f"pip download for {python.tag}"
        with status.step(f"Filling the wheelhouse with the host's pip ({how}, {directory})"):
            result = runner.run(argv, timeout=1800, check=False)
            if result.returncode != 0:
                last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
                raise ExternalCommandFailed(
                    f"pip {argv[3]} failed: {last}",
                    hint="check that `pip download` works on this host (index, proxy CA), or pass --wheelhouse",
                    detail=f"command: {' '.join(argv)}\n{result.stderr[-4000:]}",
                )
    unfit = unfit_projects(_wheel_files(directory), python)
    if unfit:
        shown = ", ".join(unfit[:5]) + (" ..." if len(unfit) > 5 else "")
        raise UsageError(
            f"the wheelhouse {directory} has no wheel that {python.tag} on {python.machine} can install for: {shown}",
            hint=f"rebuild the wheelhouse with the base image's Python ({python.tag})",
        )
    return directory


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
    wheels = len(_wheel_files(wheelhouse))

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


# ------------------------------------------------------------------------------------------ base image


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
