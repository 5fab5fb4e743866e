"""The inference image as `image build`, `cluster up` and `image load` use it: build (build.py), look up,
save to an archive for Kind, push to a registry. Docker and the command runner are handed in (see `deps.py`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mlopsctl import constants
from mlopsctl.progress import Status
from mlopsctl.services.image.common import BuildRequest, BuildResult


def default_source() -> Path:
    """The checkout this mlopsctl runs from if it holds the Dockerfile, else the current directory."""
    checkout = Path(__file__).resolve().parents[3]
    return checkout if (checkout / "Dockerfile").is_file() else Path.cwd()


class Images:
    """The image use cases over Docker: build (build.py), inspect, save, push."""

    def __init__(
        self,
        docker: Callable[[], Any],
        runner: Callable[[], Any],
        base_image: str = constants.DEFAULT_BASE_IMAGE,
        verbose: bool = False,
    ) -> None:
        self._make_docker = docker
        self._make_runner = runner
        self.base_image = base_image
        self.verbose = verbose
        self._docker: Any = None

    @property
    def docker(self) -> Any:
        if self._docker is None:
            self._docker = self._make_docker()
        return self._docker

    def build_result(
        self,
        status: Status,
        registry: str | None,
        source: Path | None = None,
        wheelhouse: Path | None = None,
        extra_tags: Sequence[str] = (),
    ) -> BuildResult:
        """`image build` and `cluster up` build here, the one way: this checkout (or `source`), this version."""
        import sys

        from mlopsctl import __version__
        from mlopsctl.adapters.docker import host_python
        from mlopsctl.paths import home_dir
        from mlopsctl.services.image.build import build_image

        request = BuildRequest(
            source=(source or default_source()).resolve(),
            version=__version__,
            base_image=self.base_image,
            wheelhouse=wheelhouse.resolve() if wheelhouse else None,
            wheelhouse_cache=home_dir() / "wheelhouse",
            extra_tags=tuple(extra_tags),
            registry=registry,
            host_python=host_python(),
            python_executable=sys.executable,
        )
        return build_image(request, self.docker, self._make_runner(), status, verbose=self.verbose)

    def build(self, registry: str | None, status: Status) -> str:
        return self.build_result(status, registry).image

    def reference(self, registry: str | None) -> str:
        from mlopsctl import __version__
        from mlopsctl.services.image.reference import image_repository

        return f"{image_repository(registry)}:{__version__}"

    def exists(self, reference: str) -> bool:
        return self.docker.inspect(reference) is not None

    def save(self, references: list[str], path: Path) -> Path:
        from mlopsctl.adapters.docker import docker_errors

        if len(references) == 1:
            return self.docker.save(references[0], path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with docker_errors(f"docker image save {' '.join(references)} failed"):
            self.docker.client.image.save(list(references), output=path)
        return path

    def push(self, reference: str) -> str | None:
        """`docker push`; the digest the registry answered, when it said."""
        from mlopsctl.adapters.runner import failure
        from mlopsctl.services.image.reference import pushed_digest

        result = self._make_runner().run(["docker", "push", reference], timeout=1800, check=False)
        if result.returncode != 0:
            raise failure(result, f"docker push {reference} failed", hint="log in first: docker login REGISTRY")
        return pushed_digest(result.stdout)

    def tag(self, source: str, target: str) -> None:
        from mlopsctl.adapters.docker import docker_errors

        with docker_errors(f"docker tag {source} {target} failed"):
            self.docker.client.image.tag(source, target)

    def remote_digest(self, reference: str) -> str | None:
        """The registry's digest of `reference` ("" when it has it without naming one); None when it has not."""
        from mlopsctl.services.image.reference import manifest_digest

        argv = ["docker", "manifest", "inspect", "--insecure", "-v", reference]
        result = self._make_runner().run(argv, timeout=120, check=False)
        return manifest_digest(result.stdout) if result.returncode == 0 else None
