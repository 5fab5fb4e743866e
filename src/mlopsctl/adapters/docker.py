"""The Docker daemon, through python-on-whales: build, inspect, save, import and probe images.

The only module that imports python_on_whales for images. Every library exception is translated here:
a missing `docker` binary or an unreachable daemon becomes PrerequisiteMissing, a failed docker command
becomes ExternalCommandFailed; nothing from python-on-whales leaks to services.

Builds use BuildKit through `docker buildx build` when the buildx plugin answers, and otherwise the classic
builder (`docker.legacy_build` with DOCKER_BUILDKIT=0): Debian's docker.io ships without buildx.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlopsctl.errors import ExternalCommandFailed, MlopsctlError, PrerequisiteMissing

LineSink = Callable[[str], None]

_INSTALL_HINT = "install Docker (https://docs.docker.com/engine/install/), or run `mlopsctl doctor`"
_DAEMON_HINT = "start the Docker daemon (`sudo systemctl start docker`, Docker Desktop, or `dockerd &`)"
_DAEMON_DOWN = ("cannot connect to the docker daemon", "is the docker daemon running", "error during connect")


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    size_bytes: int
    created: str = ""
    user: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PythonInfo:
    """The CPython inside an image, as a wheel tag needs it: (3, 11) and `x86_64`."""

    version: tuple[int, int]
    machine: str
    # ("glibc", (2, 36)); ("", (0, 0)) when the C library is not glibc (musl, as on Alpine).
    libc: tuple[str, tuple[int, int]] = ("glibc", (2, 17))

    @property
    def tag(self) -> str:
        return f"cp{self.version[0]}{self.version[1]}"


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def map_docker_error(exc: BaseException, what: str) -> MlopsctlError:
    """One python-on-whales exception as the project's typed error."""
    from python_on_whales.client_config import ClientNotFoundError
    from python_on_whales.exceptions import DockerException

    if isinstance(exc, ClientNotFoundError | FileNotFoundError):
        return PrerequisiteMissing("docker not found", hint=_INSTALL_HINT)
    if isinstance(exc, DockerException):
        stderr = exc.stderr or ""
        stdout = exc.stdout or ""
        if any(marker in stderr.lower() for marker in _DAEMON_DOWN):
            return PrerequisiteMissing(f"the Docker daemon is not reachable: {_last_line(stderr)}", hint=_DAEMON_HINT)
        reason = _last_line(stderr) or _last_line(stdout) or f"exit code {exc.return_code}"
        detail = f"command: {' '.join(map(str, exc.docker_command))}\nreturn code: {exc.return_code}\n"
        detail += "\n".join((stderr or stdout).strip().splitlines()[-20:])
        return ExternalCommandFailed(f"{what}: {reason}", detail=detail)
    raise TypeError(f"not a docker error: {exc!r}")


@contextlib.contextmanager
def docker_errors(what: str) -> Iterator[None]:
    """Translate python-on-whales errors raised inside the block (httpx's map_httpcore_exceptions pattern)."""
    from python_on_whales.client_config import ClientNotFoundError
    from python_on_whales.exceptions import DockerException

    try:
        yield
    except (DockerException, ClientNotFoundError, FileNotFoundError) as exc:
        raise map_docker_error(exc, what) from exc


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the docker processes started inside the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _LineWriter(io.TextIOBase):
    """A text stream that hands every complete line to a callback (legacy_build prints its progress)."""

    def __init__(self, sink: LineSink) -> None:
        self._sink = sink
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                self._sink(line.rstrip())
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self._sink(self._pending.rstrip())
        self._pending = ""


_PYTHON_PROBE = (
    "import platform, sys; libc, ver = platform.libc_ver(); "
    "print(sys.implementation.name, *sys.version_info[:2], platform.machine(), libc or '-', ver or '0.0')"
)


class DockerImages:
    """Images on the Docker daemon that the current docker CLI context points at."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from python_on_whales import DockerClient

            self._client = DockerClient()
        return self._client

    def server_version(self) -> str:
        """The daemon's version; PrerequisiteMissing when there is no docker binary or no daemon."""
        with docker_errors("docker version failed"):
            version = self.client.version()
        server = getattr(version, "server", None)
        if server is None or not getattr(server, "version", None):
            raise PrerequisiteMissing("the Docker daemon is not running", hint=_DAEMON_HINT)
        return str(server.version)

    def has_buildx(self) -> bool:
        """Whether `docker buildx` answers; without the plugin the docker CLI exits non-zero."""
        from python_on_whales.client_config import ClientNotFoundError
        from python_on_whales.exceptions import DockerException

        try:
            self.client.buildx.version()
        except DockerException:
            return False
        except (ClientNotFoundError, FileNotFoundError) as exc:
            raise map_docker_error(exc, "docker buildx version failed") from exc
        return True

    def build(
        self,
        context: Path,
        *,
        tags: Sequence[str],
        build_args: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        on_line: LineSink | None = None,
        use_buildx: bool | None = None,
        network: str | None = None,
    ) -> tuple[str, str]:
        """Build `context`/Dockerfile; returns (image id, builder used: "buildx" or "legacy").

        `network="none"` runs the Dockerfile's RUN steps without any network (an offline build).
        """
        if not tags:
            raise ValueError("a build needs at least one tag")
        sink = on_line or (lambda _line: None)
        buildx = self.has_buildx() if use_buildx is None else use_buildx
        given: dict[str, Any] = {
            "tags": list(tags),
            "build_args": dict(build_args),
            "labels": dict(labels or {}),
            "network": network,
        }
        with docker_errors("docker build failed"):
            if buildx:
                logs = self.client.build(context, **given, load=True, progress="plain", stream_logs=True)
                for line in logs:
                    if line.strip():
                        sink(line.rstrip())
                return self._inspect(tags[0]).id, "buildx"
            writer = _LineWriter(sink)
            with _environment(DOCKER_BUILDKIT="0"), contextlib.redirect_stdout(writer):
                image = self.client.legacy_build(context, **given, quiet=False)
            writer.flush()
            return str(image.id), "legacy"

    def _inspect(self, reference: str) -> ImageInfo:
        image = self.client.image.inspect(reference)
        config = getattr(image, "config", None)
        created = getattr(image, "created", None)
        created_text = created.isoformat() if isinstance(created, datetime) else str(created or "")
        return ImageInfo(
            id=str(image.id),
            tags=tuple(getattr(image, "repo_tags", None) or ()),
            size_bytes=int(getattr(image, "size", 0) or 0),
            created=created_text,
            user=str(getattr(config, "user", "") or ""),
            labels=dict(getattr(config, "labels", None) or {}),
        )

    def inspect(self, reference: str) -> ImageInfo | None:
        """The image, or None when the daemon does not have it."""
        from python_on_whales.exceptions import NoSuchImage

        with docker_errors(f"docker image inspect {reference} failed"):
            try:
                return self._inspect(reference)
            except NoSuchImage:
                return None

    def save(self, references: str | Sequence[str], path: Path) -> Path:
        """`docker image save` one or more images to a tar archive (what `kind load image-archive` reads)."""
        names = [references] if isinstance(references, str) else list(references)
        if not names:
            raise ValueError("save needs at least one image")
        path.parent.mkdir(parents=True, exist_ok=True)
        with docker_errors(f"docker image save {' '.join(names)} failed"):
            self.client.image.save(names[0] if len(names) == 1 else names, output=path)
        return path

    def import_rootfs(self, tarball: Path, tag: str, changes: Sequence[str] = ()) -> str:
        """`docker image import` a root filesystem tarball as `tag`; returns the image id."""
        with docker_errors(f"docker image import {tag} failed"):
            image = self.client.image.import_(tarball, tag=tag, changes=list(changes))
        return str(image.id)

    def remove(self, reference: str) -> bool:
        from python_on_whales.exceptions import NoSuchImage

        with docker_errors(f"docker image rm {reference} failed"):
            try:
                self.client.image.remove(reference, force=True)
            except NoSuchImage:
                return False
        return True

    def python_of(self, image: str) -> PythonInfo:
        """Ask `python3` inside `image` for its version and machine (pulls the image if it is not local)."""
        if self.inspect(image) is None:
            # Quietly, so the daemon's answer lands in the error message instead of on the terminal.
            with docker_errors(f"cannot pull {image}"):
                self.client.image.pull(image, quiet=True)
        with docker_errors(f"cannot run python3 in {image}"):
            output = self.client.run(
                image, ["-c", _PYTHON_PROBE], entrypoint="python3", remove=True, networks=["none"], pull="never"
            )
        return parse_python_probe(str(output), image)


def host_python() -> PythonInfo:
    """The CPython running mlopsctl, described like an image's (for choosing how to fill a wheelhouse)."""
    import platform
    import sys

    libc, version = platform.libc_ver()
    match = re.match(r"(\d+)\.(\d+)", version or "")
    libc_version = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    return PythonInfo((sys.version_info[0], sys.version_info[1]), platform.machine(), (libc, libc_version))


def parse_python_probe(output: str, image: str) -> PythonInfo:
    words = _last_line(output).split()
    match = re.fullmatch(r"(\d+)\.(\d+).*", words[5]) if len(words) == 6 else None
    if match is None or not words[1].isdigit() or not words[2].isdigit():
        raise ExternalCommandFailed(f"unexpected answer from python3 in {image}: {_last_line(output)!r}")
    implementation, major, minor, machine, libc = words[:5]
    if implementation != "cpython":
        raise ExternalCommandFailed(f"{image} runs {implementation}, the image needs CPython")
    libc_version = (int(match.group(1)), int(match.group(2)))
    return PythonInfo((int(major), int(minor)), machine, (libc if libc != "-" else "", libc_version))
