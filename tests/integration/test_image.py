"""The inference image on a real Docker daemon: a base made with debootstrap + docker import (no registry),
the project image built on it with `mlopsctl image build`, then run the way a hardened pod runs it
(non-root, read-only root filesystem, only /tmp writable) on the host network at a 127.0.0.1 port.

The base image is made once and reused (also across runs: an existing tag is kept); the wheelhouse is kept in
pytest's cache directory; the project image is built once per session (Docker's layer cache makes rebuilds quick).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from mlopsctl import constants
from tests.support import free_port, require, require_docker, require_program

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BASE = constants.IMAGE_BASE


def mlopsctl(*args: str, home: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLOPSCTL_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlopsctl", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="session")
def docker():
    require_docker()
    from python_on_whales import DockerClient

    return DockerClient()


@pytest.fixture(scope="session")
def base_image(docker, tmp_path_factory) -> str:
    """`mlopsctl image base`, unless the tag exists already (debootstrap takes a minute or more)."""
    if docker.image.exists(BASE):
        return BASE
    require_program("debootstrap")
    require(os.geteuid() == 0, "debootstrap needs root")
    home = tmp_path_factory.mktemp("base-home")
    made = mlopsctl("-o", "json", "image", "base", "--tag", BASE, home=home, timeout=1800)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["tag"] == BASE
    return BASE


@pytest.fixture(scope="session")
def home(pytestconfig, tmp_path_factory) -> Path:
    """MLOPSCTL_HOME for the build; its wheelhouse (filled by the host's pip) is kept in pytest's cache."""
    cache = getattr(pytestconfig, "cache", None)
    return Path(cache.mkdir("mlopsctl-home")) if cache else tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def built(base_image, home) -> dict:
    """`mlopsctl -o json image build` on the debootstrap base: the CLI, the service and the adapter together,
    with the wheelhouse made by the host's pip as a user's first build makes it."""
    result = mlopsctl(
        "-o", "json", "image", "build", "--source", str(ROOT), "--base-image", base_image, home=home, timeout=1800
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Step " in result.stderr  # build progress was shown, on stderr
    data = json.loads(result.stdout)
    assert Path(data["wheelhouse"]).parent == home / "wheelhouse"
    return data


def test_the_tag_carries_the_version_and_the_commit(built):
    from mlopsctl import __version__

    repository, tag = built["image"].rsplit(":", 1)
    assert repository == constants.IMAGE_REPOSITORY
    assert tag.startswith(f"{__version__}-{built['revision']}")
    # The revision is a commit of this repository (others may have committed since the build started).
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-t", built["revision"]], capture_output=True, text=True
    )
    assert known.stdout.strip() == "commit"
    assert built["base_image"] == BASE and built["base_python"] == "cp311"
    assert f"{constants.IMAGE_REPOSITORY}:{__version__}" in built["tags"]
    assert not any(t.endswith(":latest") for t in built["tags"])


def test_the_image_runs_as_the_non_root_uid_with_the_model_baked_in(docker, built):
    image = docker.image.inspect(built["image"])
    assert image.config.user == f"{constants.IMAGE_UID}:{constants.IMAGE_UID}"
    assert image.config.labels["org.opencontainers.image.revision"] == built["revision"]
    listing = docker.run(
        built["image"],
        ["-c", f"import os; print(sorted(os.listdir({constants.IMAGE_MODEL_DIR!r})))"],
        entrypoint="python",
        remove=True,
        networks=["none"],
    )
    assert "metadata.json" in listing
    # The final stage is small: no wheelhouse, no pip, no build directory.
    leftovers = docker.run(
        built["image"],
        ["-c", "import importlib.util, os; print(importlib.util.find_spec('pip') is None, os.path.exists('/build'))"],
        entrypoint="python",
        remove=True,
        networks=["none"],
    )
    assert leftovers.strip() == "True False"


def test_every_module_of_the_service_and_its_fast_paths_import_in_the_image(docker, built):
    """A dependency missing from requirements/image.lock fails here, not in a pod."""
    program = (
        "import importlib, pkgutil, inference\n"
        "names = [m.name for m in pkgutil.walk_packages(inference.__path__, 'inference.')"
        " if not m.name.endswith('__main__')]\n"
        "for name in names + ['orjson', 'uvloop', 'httptools']:\n"
        "    importlib.import_module(name)\n"
        # The trimmed botocore still knows S3 (creating a client makes no request).
        "import boto3\n"
        "boto3.client('s3', region_name='us-east-1', endpoint_url='http://127.0.0.1:9')\n"
        "print(sorted(names))"
    )
    output = docker.run(built["image"], ["-c", program], entrypoint="python", remove=True, networks=["none"])
    assert "inference.app" in output and "inference.loadgen.engine" in output


def _get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_ready(url: str, container, deadline_s: float = 90.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            status, _ = _get(url)
            if status == 200:
                return
        except OSError:
            pass
        container.reload()
        if not container.state.running:
            break
        time.sleep(0.5)
    logs = container.logs()
    pytest.fail(f"{url} never answered 200 within {deadline_s:.0f}s; container logs:\n{logs[-3000:]}")


def test_the_container_serves_readonly_as_uid_10001_on_the_host_network(docker, built):
    port = free_port()
    tenant = "image-it"
    container = docker.run(
        built["image"],
        detach=True,
        name=f"mlopsctl-it-{uuid.uuid4().hex[:8]}",
        networks=["host"],
        read_only=True,
        tmpfs=["/tmp"],
        cap_drop=["ALL"],
        security_options=["no-new-privileges"],
        envs={"PORT": str(port), "TENANT_NAME": tenant},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/readyz", container)

        body = json.dumps({"text": "This product is wonderful and I would buy it again"}).encode()
        request = urllib.request.Request(
            f"{base}/predict", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            answer = json.loads(response.read())
        assert answer["prediction"] in ("positive", "negative")
        assert answer["tenant"] == tenant
        assert 0.0 <= answer["confidence"] <= 1.0
        assert answer["model_version"]

        status, metrics = _get(f"{base}/metrics")
        assert status == 200
        assert "# TYPE" in metrics and tenant in metrics

        # Every process of the container runs as the image's UID, and the root filesystem refuses writes.
        uids = container.execute(["sh", "-c", "grep '^Uid:' /proc/[0-9]*/status | awk '{print $2}' | sort -u"])
        assert uids.split() == [str(constants.IMAGE_UID)]
        probe = "import pathlib\ntry:\n    pathlib.Path('/opt/x').write_text('x')\n    print('writable')\nexcept OSError:\n    print('read-only')"
        assert container.execute(["python", "-c", probe]).strip() == "read-only"
        assert container.execute(["python", "-c", "open('/tmp/ok', 'w').write('x'); print('ok')"]).strip() == "ok"

        # SIGTERM (what the kubelet sends) shuts the server down cleanly, well within the grace period.
        container.stop(time=20)
        container.reload()
        assert container.state.exit_code == 0, container.logs()[-2000:]
    finally:
        container.remove(force=True)
    assert not docker.container.exists(container.id)
