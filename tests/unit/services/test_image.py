"""Image use cases: tags, wheel/Python matching, the build flow and the base-image flow, without Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopsctl.adapters import fakes
from mlopsctl.adapters.docker import ImageInfo, PythonInfo
from mlopsctl.adapters.runner import CommandResult
from mlopsctl.errors import ExternalCommandFailed, PrerequisiteMissing, UsageError
from mlopsctl.progress import NullStatus
from mlopsctl.services import image as service

CP311 = PythonInfo((3, 11), "x86_64", ("glibc", (2, 36)))
WHEELS = (
    "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    "wcwidth-0.9.4-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    "six-1.17.0-py2.py3-none-any.whl",
)


def FakeRunner(programs=("git", "debootstrap", "tar"), answers=None) -> fakes.FakeRunner:
    """The shared fake runner with the programs an image build looks for."""
    return fakes.FakeRunner(answers=answers or {}, programs=programs)


class FakeDocker:
    def __init__(self, python: PythonInfo = CP311, images: dict[str, ImageInfo] | None = None) -> None:
        self.python = python
        self.images = images or {}
        self.builds: list[dict] = []
        self.imports: list[tuple[Path, str, tuple[str, ...]]] = []
        self.probe_error: Exception | None = None

    def server_version(self) -> str:
        return "20.10.24"

    def python_of(self, image: str) -> PythonInfo:
        if self.probe_error:
            raise self.probe_error
        return self.python

    def build(self, context, *, tags, build_args, labels=None, on_line=None, use_buildx=None, network=None):
        self.builds.append(
            {
                "network": network,
                "context_files": sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file()),
                "tags": tuple(tags),
                "build_args": dict(build_args),
            }
        )
        if on_line:
            on_line("Step 1/2 : ARG BASE_IMAGE")
            on_line(" ---> Running in 1234")
        for tag in tags:
            self.images[tag] = ImageInfo("sha256:new", tuple(tags), 420_000_000)
        return "sha256:new", "legacy"

    def inspect(self, reference: str) -> ImageInfo | None:
        return self.images.get(reference)

    def import_rootfs(self, tarball: Path, tag: str, changes=()) -> str:
        self.imports.append((tarball, tag, tuple(changes)))
        self.images[tag] = ImageInfo("sha256:base", (tag,), 123_000_000)
        return "sha256:base"


def checkout(root: Path) -> Path:
    (root / "requirements").mkdir(parents=True)
    (root / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    (root / "requirements/image.lock").write_text("fastapi\n")
    (root / "src/inference/data").mkdir(parents=True)
    (root / "src/inference/__init__.py").write_text("")
    (root / "src/inference/data/sentiment.csv").write_text("text,label\n")
    (root / "src/inference/__pycache__").mkdir()
    (root / "src/inference/__pycache__/x.cpython-311.pyc").write_bytes(b"")
    return root


def wheelhouse(root: Path, names=WHEELS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_bytes(b"wheel")
    return root


def git_answers(commit="3f2a9c1d0e4b", changed=""):
    return {
        ("git", "-C"): lambda argv: CommandResult(tuple(argv), 0, commit + "\n" if "rev-parse" in argv else changed)
    }


# ------------------------------------------------------------------------------------------------ tags


@pytest.mark.parametrize(
    ("commit", "dirty", "expected"),
    [
        ("3f2a9c1d0e4b", False, "0.1.0-3f2a9c1d0e4b"),
        ("3f2a9c1d0e4b", True, "0.1.0-3f2a9c1d0e4b-dirty"),
        (None, True, "0.1.0-nogit"),
    ],
)
def test_version_tags_carry_the_version_and_the_commit(commit, dirty, expected):
    assert service.version_tag("0.1.0", commit, dirty) == expected


def test_version_tags_are_valid_docker_tags():
    assert service.version_tag("1.0+local", "abc") == "1.0-local-abc"


def test_the_registry_prefixes_the_repository():
    assert service.image_repository(None) == "mlopsctl/inference"
    assert service.image_repository("registry.example:5000/") == "registry.example:5000/mlopsctl/inference"


@pytest.mark.parametrize(
    "reference",
    ["python:3.11-slim", "mlopsctl/base:bookworm", "localhost:5000/team/app:1.0", "busybox", "a/b@sha256:" + "0" * 64],
)
def test_valid_references(reference):
    assert service.validate_reference(reference, "--tag") == reference


@pytest.mark.parametrize("reference", ["Bad Ref", "UPPER/case:1", "app:", "app:-x", "a//b"])
def test_invalid_references_name_the_flag(reference):
    with pytest.raises(UsageError, match="invalid --base-image"):
        service.validate_reference(reference, "--base-image")


def test_git_revision_reports_local_changes_to_the_image_inputs_only(tmp_path):
    runner = FakeRunner(answers=git_answers(changed=" M src/inference/app.py\n"))
    assert service.git_revision(runner, tmp_path) == ("3f2a9c1d0e4b", True)
    status_call = runner.argvs[1]
    assert status_call[-4:] == ["--", "Dockerfile", "requirements/image.lock", "src/inference"]


def test_git_revision_outside_a_checkout(tmp_path):
    failing = {("git", "-C"): lambda argv: CommandResult(tuple(argv), 128, "", "fatal: not a git repository")}
    assert service.git_revision(FakeRunner(answers=failing), tmp_path) == (None, False)
    assert service.git_revision(FakeRunner(programs=()), tmp_path) == (None, False)


# ------------------------------------------------------------------------------------------ wheel tags


@pytest.mark.parametrize(
    ("filename", "python", "fits"),
    [
        ("six-1.17.0-py2.py3-none-any.whl", CP311, True),
        ("pkg-1.0-py311-none-any.whl", CP311, True),
        ("pkg-1.0-py312-none-any.whl", CP311, False),
        ("wcwidth-0.9.4-cp310-abi3-manylinux2014_x86_64.whl", CP311, True),
        ("pkg-1.0-cp312-abi3-manylinux2014_x86_64.whl", CP311, False),
        (WHEELS[0], CP311, True),
        (WHEELS[0], PythonInfo((3, 11), "x86_64", ("glibc", (2, 17))), False),  # needs glibc 2.27
        (WHEELS[0], PythonInfo((3, 12), "x86_64", ("glibc", (2, 36))), False),
        (WHEELS[0], PythonInfo((3, 11), "aarch64", ("glibc", (2, 36))), False),
        ("pkg-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", CP311, False),
        ("pkg-1.0-cp311-cp311-manylinux1_x86_64.whl", PythonInfo((3, 11), "x86_64", ("", (0, 0))), False),
        ("pkg-1.0-cp311-cp311-linux_x86_64.whl", CP311, True),
        ("pkg-1.0-cp311-cp311-win_amd64.whl", CP311, False),
        ("pkg-1.0-1build-cp311-cp311-manylinux1_x86_64.whl", CP311, True),
    ],
)
def test_wheel_fits_the_target_python(filename, python, fits):
    wheel = service.parse_wheel(filename)
    assert wheel is not None
    assert service.wheel_fits(wheel, python) is fits


def test_not_wheels_are_ignored():
    assert service.parse_wheel("pkg-1.0.tar.gz") is None
    assert service.parse_wheel("broken.whl") is None


def test_a_project_fits_when_any_of_its_wheels_fits():
    names = [
        "numpy-2.4.6-cp311-cp311-win_amd64.whl",
        "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl",
        "Scikit_Learn-1.9.1-cp312-cp312-manylinux_2_28_x86_64.whl",
        "README.txt",
    ]
    assert service.unfit_projects(names, CP311) == ["scikit-learn"]


# ---------------------------------------------------------------------------------------------- build


def request(tmp_path: Path, **overrides) -> service.BuildRequest:
    values = {
        "source": checkout(tmp_path / "src"),
        "version": "0.1.0",
        "base_image": "mlopsctl/base:bookworm",
        "wheelhouse_cache": tmp_path / "cache",
        "host_python": CP311,
        "python_executable": "/usr/bin/python3",
    }
    values.update(overrides)
    return service.BuildRequest(**values)


def pip_download_writes(names):
    def answer(argv):
        wheelhouse(Path(argv[argv.index("--dest") + 1]), names)
        return CommandResult(tuple(argv), 0)

    return answer


def pip_wheel_writes(names=WHEELS):
    def answer(argv):
        directory = Path(argv[argv.index("--wheel-dir") + 1])
        wheelhouse(directory, names)
        return CommandResult(tuple(argv), 0)

    return answer


def test_build_makes_the_wheelhouse_with_the_host_pip_and_tags_version_and_commit(tmp_path):
    docker = FakeDocker()
    runner = FakeRunner(answers={("/usr/bin/python3", "-m", "pip"): pip_wheel_writes(), **git_answers()})
    result = service.build_image(request(tmp_path), docker, runner, NullStatus(), clock=iter([10.0, 52.5]).__next__)

    pip = runner.argvs[0]
    assert pip[:4] == ["/usr/bin/python3", "-m", "pip", "wheel"]
    # Only the lock's own wheels, checked against its hashes: the Dockerfile installs with --require-hashes.
    assert {"--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(pip)
    assert pip[pip.index("--requirement") + 1] == str(tmp_path / "src" / "requirements/image.lock")
    assert pip[pip.index("--wheel-dir") + 1] == str(tmp_path / "cache" / "cp311-x86_64")
    assert result.image == "mlopsctl/inference:0.1.0-3f2a9c1d0e4b"
    assert result.tags == ("mlopsctl/inference:0.1.0-3f2a9c1d0e4b", "mlopsctl/inference:0.1.0")
    assert (result.builder, result.wheels, result.size_bytes, result.seconds) == ("legacy", 3, 420_000_000, 42.5)
    assert result.steps == ["Step 1/2 : ARG BASE_IMAGE"]
    build = docker.builds[0]
    assert build["network"] == "none"  # an offline build: the wheelhouse is the only source
    assert build["build_args"] == {
        "BASE_IMAGE": "mlopsctl/base:bookworm",
        "VERSION": "0.1.0",
        "REVISION": "3f2a9c1d0e4b",
    }
    # The context holds exactly what the Dockerfile reads, without bytecode caches.
    assert build["context_files"] == sorted(
        [
            "Dockerfile",
            "requirements/image.lock",
            "src/inference/__init__.py",
            "src/inference/data/sentiment.csv",
            *(f"wheelhouse/{name}" for name in WHEELS),
        ]
    )


def test_extra_tags_and_a_registry(tmp_path):
    docker = FakeDocker()
    runner = FakeRunner(answers={("/usr/bin/python3",): pip_wheel_writes(), **git_answers()})
    req = request(tmp_path, extra_tags=("mlopsctl/inference:dev",), registry="localhost:5000")
    result = service.build_image(req, docker, runner, NullStatus())
    assert result.tags == (
        "localhost:5000/mlopsctl/inference:0.1.0-3f2a9c1d0e4b",
        "localhost:5000/mlopsctl/inference:0.1.0",
        "mlopsctl/inference:dev",
    )


def test_a_given_wheelhouse_is_used_as_is(tmp_path):
    docker = FakeDocker()
    runner = FakeRunner(answers=git_answers())
    given = wheelhouse(tmp_path / "wh")
    result = service.build_image(request(tmp_path, wheelhouse=given), docker, runner, NullStatus())
    assert result.wheelhouse == str(given)
    assert not any("pip" in call for call in runner.argvs)


def test_a_wheelhouse_for_another_python_is_refused_before_building(tmp_path):
    docker = FakeDocker(python=PythonInfo((3, 12), "x86_64", ("glibc", (2, 36))))
    given = wheelhouse(tmp_path / "wh")
    with pytest.raises(UsageError, match="cp312") as caught:
        service.build_image(request(tmp_path, wheelhouse=given), docker, FakeRunner(), NullStatus())
    assert "numpy" in caught.value.message and "six" not in caught.value.message
    assert docker.builds == []


def test_another_pythons_wheels_are_downloaded_for_its_tags(tmp_path):
    target = PythonInfo((3, 12), "x86_64", ("glibc", (2, 36)))
    names = [name.replace("cp311", "cp312") for name in WHEELS]
    runner = FakeRunner(answers={("/usr/bin/python3",): pip_download_writes(names), **git_answers()})
    result = service.build_image(request(tmp_path), FakeDocker(python=target), runner, NullStatus())
    pip = runner.argvs[0]
    assert pip[:4] == ["/usr/bin/python3", "-m", "pip", "download"]
    assert "--only-binary=:all:" in pip
    assert pip[pip.index("--python-version") + 1] == "3.12"
    assert [pip[i + 1] for i, word in enumerate(pip) if word == "--abi"] == ["cp312", "abi3", "none"]
    platforms = [pip[i + 1] for i, word in enumerate(pip) if word == "--platform"]
    assert platforms[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in platforms
    assert "manylinux_2_16_x86_64" not in platforms and "manylinux2014_x86_64" in platforms
    assert result.wheelhouse == str(tmp_path / "cache" / "cp312-x86_64")


def test_a_host_with_a_newer_glibc_downloads_instead_of_building():
    host = PythonInfo((3, 11), "x86_64", ("glibc", (2, 39)))
    argv = service.wheelhouse_argv("py", Path("r.txt"), Path("wh"), CP311, host)
    assert argv[3] == "download"
    assert service.wheelhouse_argv("py", Path("r.txt"), Path("wh"), CP311, CP311)[3] == "wheel"


def test_a_base_without_glibc_is_refused(tmp_path):
    musl = PythonInfo((3, 11), "x86_64", ("", (0, 0)))
    runner = FakeRunner()
    with pytest.raises(UsageError, match="not glibc"):
        service.build_image(request(tmp_path), FakeDocker(python=musl), runner, NullStatus())
    assert runner.argvs == []


def test_an_empty_wheelhouse_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds no wheels"):
        service.build_image(request(tmp_path, wheelhouse=tmp_path / "empty"), FakeDocker(), FakeRunner(), NullStatus())


def test_a_failing_pip_wheel_is_an_external_failure_with_its_last_line(tmp_path):
    failing = {
        ("/usr/bin/python3",): lambda argv: CommandResult(tuple(argv), 1, "", "x\nERROR: Could not find numpy\n")
    }
    with pytest.raises(ExternalCommandFailed, match="pip wheel failed: ERROR: Could not find numpy"):
        service.build_image(request(tmp_path), FakeDocker(), FakeRunner(answers=failing), NullStatus())


def test_an_unreachable_base_image_hints_at_the_local_base(tmp_path):
    docker = FakeDocker()
    docker.probe_error = ExternalCommandFailed("cannot run python3 in python:3.11-slim: pull access denied")
    with pytest.raises(ExternalCommandFailed) as caught:
        service.build_image(request(tmp_path), docker, FakeRunner(), NullStatus())
    assert "mlopsctl image base" in (caught.value.hint or "")


def test_a_directory_without_the_dockerfile_is_not_a_checkout(tmp_path):
    with pytest.raises(UsageError, match="not an mlopsctl checkout: missing Dockerfile"):
        service.build_image(request(tmp_path, source=tmp_path), FakeDocker(), FakeRunner(), NullStatus())


# ------------------------------------------------------------------------------------------ base image


def fake_debootstrap(argv):
    rootfs = Path(argv[4])  # debootstrap OPTION OPTION SUITE TARGET [MIRROR]
    assert rootfs.is_absolute()
    for relative in ("usr/bin", "var/cache/apt/archives", "usr/share/doc/python3", "var/lib/apt/lists"):
        (rootfs / relative).mkdir(parents=True)
    (rootfs / "usr/bin/python3").write_text("")
    (rootfs / "var/cache/apt/archives/python3.deb").write_text("")
    (rootfs / "usr/share/doc/python3/copyright").write_text("")
    return CommandResult(tuple(argv), 0)


def test_base_is_made_with_debootstrap_trimmed_and_imported(tmp_path):
    docker = FakeDocker()
    seen: dict[str, list[str]] = {}

    def tar(argv):
        rootfs = Path(argv[argv.index("-C") + 1])
        seen["files"] = sorted(str(p.relative_to(rootfs)) for p in rootfs.rglob("*") if p.is_file())
        seen["dirs"] = sorted(str(p.relative_to(rootfs)) for p in rootfs.rglob("*") if p.is_dir())
        return CommandResult(tuple(argv), 0)

    runner = FakeRunner(answers={("debootstrap",): fake_debootstrap, ("tar",): tar})
    result = service.make_base(service.BaseRequest(workdir=tmp_path), docker, runner, NullStatus())

    debootstrap = runner.argvs[0]
    assert debootstrap[:3] == ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates"]
    assert debootstrap[3] == "bookworm"
    assert not any("http" in word for word in debootstrap)  # debootstrap's own default mirror
    assert seen["files"] == ["usr/bin/python3"]
    assert "usr/share/doc" in seen["dirs"] and "var/cache/apt/archives" in seen["dirs"]
    tarball, tag, changes = docker.imports[0]
    assert tarball.name == "rootfs.tar"
    assert tag == "mlopsctl/base:bookworm" and "ENV LANG=C.UTF-8" in changes
    assert (result.reused, result.image_id, result.size_bytes) == (False, "sha256:base", 123_000_000)
    assert list(tmp_path.iterdir()) == []  # the scratch tree is gone


def test_a_mirror_goes_last_on_the_debootstrap_line(tmp_path):
    runner = FakeRunner(answers={("debootstrap",): fake_debootstrap})
    request = service.BaseRequest(workdir=tmp_path, mirror="http://apt.internal.example/debian")
    service.make_base(request, FakeDocker(), runner, NullStatus())
    assert runner.argvs[0][-3:] == ["bookworm", runner.argvs[0][-2], "http://apt.internal.example/debian"]
    assert runner.argvs[0][-2].endswith("/rootfs")


def test_an_existing_base_is_reused_unless_forced(tmp_path):
    docker = FakeDocker(images={"mlopsctl/base:bookworm": ImageInfo("sha256:old", (), 1)})
    runner = FakeRunner(answers={("debootstrap",): fake_debootstrap})
    reused = service.make_base(service.BaseRequest(workdir=tmp_path), docker, runner, NullStatus())
    assert (reused.reused, reused.image_id) == (True, "sha256:old")
    assert runner.argvs == []
    forced = service.make_base(service.BaseRequest(workdir=tmp_path, force=True), docker, runner, NullStatus())
    assert forced.reused is False and runner.argvs[0][0] == "debootstrap"


def test_base_needs_debootstrap_and_root(tmp_path):
    with pytest.raises(PrerequisiteMissing, match="debootstrap not found") as caught:
        service.make_base(service.BaseRequest(workdir=tmp_path), FakeDocker(), FakeRunner(programs=()), NullStatus())
    assert "apt-get install debootstrap" in (caught.value.hint or "")
    with pytest.raises(PrerequisiteMissing, match="needs root"):
        service.make_base(
            service.BaseRequest(workdir=tmp_path, is_root=False), FakeDocker(), FakeRunner(), NullStatus()
        )


def test_a_failed_debootstrap_leaves_no_scratch_tree(tmp_path):
    def failing(argv):
        raise ExternalCommandFailed("debootstrap failed: E: Couldn't download packages")

    runner = FakeRunner(answers={("debootstrap",): failing})
    with pytest.raises(ExternalCommandFailed, match="Couldn't download"):
        service.make_base(service.BaseRequest(workdir=tmp_path), FakeDocker(), runner, NullStatus())
    assert list(tmp_path.iterdir()) == []


def test_the_digest_docker_push_printed_is_read():
    from mlopsctl.services.image import pushed_digest

    digest = "sha256:" + "c" * 64
    output = (
        "The push refers to repository [localhost:5000/mlopsctl/inference]\n5f70bf18a086: Pushed\n"
        f"0.1.0-abc123: digest: {digest} size: 2205\n"
    )
    assert pushed_digest(output) == digest
    assert pushed_digest("Everything up-to-date\n") is None


def test_the_digest_of_a_manifest_inspect_is_read_for_one_platform_or_an_index():
    import json

    from mlopsctl.services.image import manifest_digest

    digest = "sha256:" + "f" * 64
    one = {"Ref": "localhost:5000/x:1", "Descriptor": {"mediaType": "application/vnd.docker", "digest": digest}}
    assert manifest_digest(json.dumps(one)) == digest
    assert manifest_digest(json.dumps([{"Descriptor": {"digest": digest}}, {}])) == digest
    assert manifest_digest(json.dumps({"schemaVersion": 2})) == ""
    assert manifest_digest("no such manifest") == ""
