"""The Docker adapter's decisions, with python-on-whales' client replaced at the seam (no daemon needed)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.exceptions import DockerException, NoSuchImage

from mlopsctl.adapters.docker import DockerImages, PythonInfo, host_python, map_docker_error, parse_python_probe
from mlopsctl.errors import ExternalCommandFailed, PrerequisiteMissing


def docker_error(stderr: str, code: int = 1, cls=DockerException) -> DockerException:
    return cls(["docker", "build", "."], code, stdout=b"", stderr=stderr.encode())


class FakeBuildx:
    def __init__(self, installed: bool) -> None:
        self.installed = installed

    def version(self) -> str:
        if not self.installed:
            raise docker_error("docker: unknown command: docker buildx\n")
        return "github.com/docker/buildx v0.17.1"


class FakeImages:
    def __init__(self) -> None:
        self.known: dict[str, SimpleNamespace] = {}
        self.saved: list[tuple[str, Path]] = []
        self.pulled: list[tuple[str, bool]] = []
        self.pull_error: DockerException | None = None

    def pull(self, reference: str, quiet: bool = False) -> None:
        if self.pull_error:
            raise self.pull_error
        self.pulled.append((reference, quiet))

    def inspect(self, reference: str) -> SimpleNamespace:
        if reference not in self.known:
            raise docker_error(f"Error: No such image: {reference}", cls=NoSuchImage)
        return self.known[reference]

    def save(self, references, output: Path) -> None:
        self.saved.append((references, output))


class FakeClient:
    """Stands in for python_on_whales.DockerClient: records calls, raises what a test tells it to."""

    def __init__(self, buildx: bool = False, fail_with: BaseException | None = None) -> None:
        self.buildx = FakeBuildx(buildx)
        self.image = FakeImages()
        self.fail_with = fail_with
        self.calls: list[tuple[str, dict]] = []
        self.buildkit_during_build: str | None = "unset"

    def build(self, context, **kwargs):
        self.calls.append(("build", kwargs))
        if self.fail_with:
            raise self.fail_with
        for tag in kwargs["tags"]:
            self.image.known[tag] = SimpleNamespace(id="sha256:bx", repo_tags=[tag], size=5, config=None, created=None)
        return iter(["#1 [internal] load build definition from Dockerfile", "", "#5 [build 2/6] RUN pip install"])

    def legacy_build(self, context, **kwargs):
        self.calls.append(("legacy_build", kwargs))
        self.buildkit_during_build = os.environ.get("DOCKER_BUILDKIT")
        print("Step 1/2 : ARG BASE_IMAGE")
        print("Step 2/2 : FROM ${BASE_IMAGE}\nSuccessfully built 1234")
        if self.fail_with:
            raise self.fail_with
        return SimpleNamespace(id="sha256:legacy")

    def version(self):
        if self.fail_with:
            raise self.fail_with
        return SimpleNamespace(server=SimpleNamespace(version="20.10.24"))

    def run(self, image, command, **kwargs):
        self.calls.append(("run", {"image": image, "command": command, **kwargs}))
        return "cpython 3 11 x86_64 glibc 2.36\n"


def test_buildx_is_detected_by_asking_it_for_its_version():
    assert DockerImages(FakeClient(buildx=True)).has_buildx() is True
    assert DockerImages(FakeClient(buildx=False)).has_buildx() is False


def test_build_uses_buildx_when_present_and_streams_its_plain_progress(tmp_path):
    client = FakeClient(buildx=True)
    lines: list[str] = []
    image_id, builder = DockerImages(client).build(
        tmp_path,
        tags=["mlopsctl/inference:0.1.0-abc"],
        build_args={"BASE_IMAGE": "b"},
        on_line=lines.append,
        network="none",
    )
    assert (image_id, builder) == ("sha256:bx", "buildx")
    name, kwargs = client.calls[0]
    assert name == "build"
    assert kwargs["load"] is True and kwargs["progress"] == "plain" and kwargs["stream_logs"] is True
    assert kwargs["build_args"] == {"BASE_IMAGE": "b"} and kwargs["network"] == "none"
    assert lines == ["#1 [internal] load build definition from Dockerfile", "#5 [build 2/6] RUN pip install"]


def test_build_falls_back_to_the_classic_builder_without_buildx(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOCKER_BUILDKIT", "1")
    client = FakeClient(buildx=False)
    lines: list[str] = []
    image_id, builder = DockerImages(client).build(
        tmp_path, tags=["t:1"], build_args={}, on_line=lines.append, network="none"
    )
    assert (image_id, builder) == ("sha256:legacy", "legacy")
    assert [name for name, _ in client.calls] == ["legacy_build"]
    assert client.calls[0][1]["quiet"] is False and client.calls[0][1]["network"] == "none"
    assert client.buildkit_during_build == "0"
    assert os.environ["DOCKER_BUILDKIT"] == "1"  # restored afterwards
    # The build log went to the callback, not to stdout (stdout carries results only).
    assert lines == ["Step 1/2 : ARG BASE_IMAGE", "Step 2/2 : FROM ${BASE_IMAGE}", "Successfully built 1234"]
    assert capsys.readouterr().out == ""


def test_forced_builder_choice_skips_detection(tmp_path):
    client = FakeClient(buildx=True)
    _, builder = DockerImages(client).build(tmp_path, tags=["t:1"], build_args={}, use_buildx=False)
    assert builder == "legacy"


def test_a_failed_build_is_an_external_command_failure_with_the_last_error_line(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKER_BUILDKIT", raising=False)
    failure = docker_error("Step 6/22 : RUN pip install\nERROR: No matching distribution found for numpy\n")
    client = FakeClient(buildx=False, fail_with=failure)
    with pytest.raises(ExternalCommandFailed) as caught:
        DockerImages(client).build(tmp_path, tags=["t:1"], build_args={})
    assert caught.value.message == "docker build failed: ERROR: No matching distribution found for numpy"
    assert "docker build ." in (caught.value.detail or "")
    assert "DOCKER_BUILDKIT" not in os.environ


@pytest.mark.parametrize(
    "stderr",
    [
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        "error during connect: Get http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.24/version: open //./pipe: not found",
    ],
)
def test_an_unreachable_daemon_is_a_missing_prerequisite(stderr):
    with pytest.raises(PrerequisiteMissing) as caught:
        DockerImages(FakeClient(fail_with=docker_error(stderr))).server_version()
    assert caught.value.message.startswith("the Docker daemon is not reachable")
    assert "dockerd" in (caught.value.hint or "")


def test_a_missing_docker_binary_is_a_missing_prerequisite():
    error = map_docker_error(ClientNotFoundError("The binary 'docker' could not be found"), "docker version failed")
    assert isinstance(error, PrerequisiteMissing)
    assert error.message == "docker not found"
    assert error.hint and "install Docker" in error.hint


def test_map_refuses_exceptions_that_are_not_dockers():
    with pytest.raises(TypeError):
        map_docker_error(ValueError("x"), "what")


def test_inspect_answers_none_for_an_unknown_image_and_details_for_a_known_one():
    client = FakeClient()
    client.image.known["a:1"] = SimpleNamespace(
        id="sha256:a", repo_tags=["a:1"], size=42, created=None, config=SimpleNamespace(user="10001:10001", labels={})
    )
    images = DockerImages(client)
    assert images.inspect("missing:1") is None
    info = images.inspect("a:1")
    assert info is not None
    assert (info.id, info.tags, info.size_bytes, info.user) == ("sha256:a", ("a:1",), 42, "10001:10001")


def test_save_writes_the_archive_where_asked(tmp_path):
    client = FakeClient()
    target = tmp_path / "images" / "inference.tar"
    assert DockerImages(client).save("a:1", target) == target
    assert client.image.saved == [("a:1", target)]
    assert target.parent.is_dir()


def test_several_images_go_into_one_archive(tmp_path):
    client = FakeClient()
    target = tmp_path / "all.tar"
    DockerImages(client).save(["a:1", "b:2"], target)
    assert client.image.saved == [(["a:1", "b:2"], target)]
    with pytest.raises(ValueError):
        DockerImages(client).save([], target)


def test_host_python_describes_this_interpreter():
    import platform
    import sys

    info = host_python()
    assert info.version == sys.version_info[:2] and info.machine == platform.machine()


def local_image(client: FakeClient, reference: str) -> None:
    client.image.known[reference] = SimpleNamespace(id="sha256:l", repo_tags=[reference], size=1, config=None)


def test_python_probe_runs_python3_without_network():
    client = FakeClient()
    local_image(client, "mlopsctl/base:bookworm")
    info = DockerImages(client).python_of("mlopsctl/base:bookworm")
    assert info == PythonInfo((3, 11), "x86_64", ("glibc", (2, 36)))
    _, call = client.calls[0]
    assert call["entrypoint"] == "python3" and call["networks"] == ["none"] and call["remove"] is True
    assert call["pull"] == "never" and client.image.pulled == []


def test_python_probe_pulls_a_missing_base_quietly_and_reports_why_a_pull_failed():
    client = FakeClient()
    DockerImages(client).python_of("python:3.11-slim")
    assert client.image.pulled == [("python:3.11-slim", True)]

    client.image.pull_error = docker_error(
        'Error response from daemon: Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid: no such host'
    )
    with pytest.raises(ExternalCommandFailed) as caught:
        DockerImages(client).python_of("python:3.12-slim")
    assert caught.value.message.startswith("cannot pull python:3.12-slim: Error response from daemon")
    assert "no such host" in caught.value.message


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("cpython 3 12 aarch64 glibc 2.36", PythonInfo((3, 12), "aarch64", ("glibc", (2, 36)))),
        ("cpython 3 11 x86_64 - 0.0", PythonInfo((3, 11), "x86_64", ("", (0, 0)))),
    ],
)
def test_python_probe_parsing(output, expected):
    assert parse_python_probe(output, "img") == expected


@pytest.mark.parametrize("output", ["", "Python 3.11.2", "pypy 3 10 x86_64 glibc 2.36"])
def test_python_probe_rejects_other_answers(output):
    with pytest.raises(ExternalCommandFailed):
        parse_python_probe(output, "img")
