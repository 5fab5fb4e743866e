"""The checksum-verified download against a real HTTP server on 127.0.0.1."""

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from mlopsctl.adapters.download import install_verified
from mlopsctl.errors import ExternalCommandFailed

pytestmark = pytest.mark.integration

PAYLOAD = b"#!/bin/sh\necho kind v0.30.0\n" * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_good_checksum_installs_an_executable(tool_mirror, tmp_path):
    tool_mirror.files["/dl/kind"] = PAYLOAD
    target = tmp_path / "bin" / "kind"
    install_verified(f"{tool_mirror.url}/dl/kind", sha(PAYLOAD), target)
    assert target.read_bytes() == PAYLOAD
    assert target.stat().st_mode & 0o111
    assert leftovers(target.parent) == ["kind"]


def test_bad_checksum_leaves_nothing_behind(tool_mirror, tmp_path):
    tool_mirror.files["/dl/kind"] = PAYLOAD
    target = tmp_path / "bin" / "kind"
    with pytest.raises(ExternalCommandFailed, match="checksum mismatch"):
        install_verified(f"{tool_mirror.url}/dl/kind", sha(b"something else"), target)
    assert leftovers(target.parent) == []


def test_bad_checksum_never_replaces_a_good_binary(tool_mirror, tmp_path):
    target = tmp_path / "kind"
    target.write_bytes(b"the good one")
    tool_mirror.files["/dl/kind"] = PAYLOAD
    with pytest.raises(ExternalCommandFailed):
        install_verified(f"{tool_mirror.url}/dl/kind", sha(b"other"), target)
    assert target.read_bytes() == b"the good one"


def test_404_is_reported_with_the_status(tool_mirror, tmp_path):
    with pytest.raises(ExternalCommandFailed, match="HTTP 404"):
        install_verified(f"{tool_mirror.url}/missing", sha(PAYLOAD), tmp_path / "kind")
    assert leftovers(tmp_path) == []


def test_truncated_body_is_refused(tool_mirror, tmp_path):
    tool_mirror.files["/dl/kind"] = PAYLOAD
    tool_mirror.truncate.add("/dl/kind")
    with pytest.raises(ExternalCommandFailed, match=r"truncated|download failed"):
        install_verified(f"{tool_mirror.url}/dl/kind", sha(PAYLOAD), tmp_path / "kind")
    assert leftovers(tmp_path) == []


def test_member_of_a_verified_archive_is_installed(tool_mirror, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("linux-amd64/helm")
        info.size = len(PAYLOAD)
        tar.addfile(info, io.BytesIO(PAYLOAD))
    archive = buffer.getvalue()
    tool_mirror.files["/helm.tar.gz"] = archive
    target = tmp_path / "helm"
    install_verified(f"{tool_mirror.url}/helm.tar.gz", sha(archive), target, archive_member="linux-amd64/helm")
    assert target.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["helm"]


def test_archive_without_the_member_is_refused(tool_mirror, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz"):
        pass
    tool_mirror.files["/helm.tar.gz"] = buffer.getvalue()
    with pytest.raises(ExternalCommandFailed, match="no usable member"):
        install_verified(f"{tool_mirror.url}/helm.tar.gz", sha(buffer.getvalue()), tmp_path / "helm", "x/helm")
    assert leftovers(tmp_path) == []
