"""The archive `cluster up` hands to `kind load image-archive` holds the image under every tag it needs
(the build's own tag for the default tenants, the version tag `tenant add` uses), checked with a real daemon."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid

import pytest

from mlopsctl.config import Settings
from mlopsctl.deps import Deps
from tests.support import require_docker

pytestmark = pytest.mark.integration


@pytest.fixture
def tiny_image(tmp_path):
    require_docker()
    repository = f"mlopsctl-test/archive-{uuid.uuid4().hex[:8]}"
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        data = b"hello\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    subprocess.run(["docker", "import", str(rootfs), f"{repository}:one"], check=True, capture_output=True, timeout=60)
    subprocess.run(["docker", "tag", f"{repository}:one", f"{repository}:two"], check=True, timeout=60)
    yield repository
    subprocess.run(["docker", "image", "rm", "-f", f"{repository}:one", f"{repository}:two"], capture_output=True,
                   timeout=60)  # fmt: skip


def repo_tags(archive) -> set[str]:
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    return {tag for entry in manifest for tag in entry.get("RepoTags") or []}


def test_one_archive_carries_every_tag(tiny_image, tmp_path):
    images = Deps(Settings).images()
    tags = [f"{tiny_image}:one", f"{tiny_image}:two"]

    archive = images.save(tags, tmp_path / "out" / "image.tar")

    assert repo_tags(archive) == set(tags)
    assert images.exists(tags[0]) and not images.exists(f"{tiny_image}:absent")


def test_a_single_tag_archive(tiny_image, tmp_path):
    archive = Deps(Settings).images().save([f"{tiny_image}:one"], tmp_path / "image.tar")
    assert repo_tags(archive) == {f"{tiny_image}:one"}
