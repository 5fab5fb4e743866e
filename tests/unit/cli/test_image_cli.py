"""`mlopsctl image ...` through the real CLI entry point: the errors a user meets before any build starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopsctl.errors import ExitCode


@pytest.fixture
def no_docker(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def make_checkout(root: Path) -> Path:
    (root / "requirements").mkdir(parents=True)
    (root / "src/inference").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "requirements/image.lock").write_text("")
    return root


def test_image_help_lists_build_and_base(cli):
    result = cli("image", "--help")
    assert result.exit_code == ExitCode.OK
    assert "build" in result.stdout and "base" in result.stdout


def test_build_outside_a_checkout_is_a_usage_error(cli, tmp_path):
    result = cli("image", "build", "--source", str(tmp_path))
    assert result.exit_code == ExitCode.USAGE
    assert "not an mlopsctl checkout: missing Dockerfile" in result.stderr
    assert "hint: run from the repository, or pass --source DIR" in result.stderr


def test_a_bad_base_image_reference_is_a_usage_error(cli, tmp_path):
    result = cli("image", "build", "--source", str(make_checkout(tmp_path / "co")), "--base-image", "Not An Image")
    assert result.exit_code == ExitCode.USAGE
    assert "invalid --base-image 'Not An Image'" in result.stderr


def test_build_without_docker_is_a_missing_prerequisite(cli, tmp_path, no_docker):
    result = cli("image", "build", "--source", str(make_checkout(tmp_path / "co")))
    assert result.exit_code == ExitCode.PREREQUISITE_MISSING == 3
    assert "mlopsctl: error: docker not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_base_without_docker_is_a_missing_prerequisite(cli, no_docker):
    result = cli("image", "base")
    assert result.exit_code == ExitCode.PREREQUISITE_MISSING
    assert "docker not found" in result.stderr
