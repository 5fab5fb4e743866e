"""The wheelhouse: wheels built with the host's pip, checked against the base image's Python (PEP 425 tags)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlopsctl.adapters.docker import PythonInfo
from mlopsctl.adapters.runner import Runner
from mlopsctl.errors import ExternalCommandFailed, UsageError
from mlopsctl.progress import Status
from mlopsctl.services.image.common import REQUIREMENTS, BuildRequest


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


def wheel_files(directory: Path) -> list[str]:
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
        if not directory.is_dir() or not wheel_files(directory):
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
    unfit = unfit_projects(wheel_files(directory), python)
    if unfit:
        shown = ", ".join(unfit[:5]) + (" ..." if len(unfit) > 5 else "")
        raise UsageError(
            f"the wheelhouse {directory} has no wheel that {python.tag} on {python.machine} can install for: {shown}",
            hint=f"rebuild the wheelhouse with the base image's Python ({python.tag})",
        )
    return directory
