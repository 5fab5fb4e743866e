"""The image facade `cluster up` uses: `docker push` hands back the registry's digest, a failed push is one
error with a login hint, and "does the registry have it" is `docker manifest inspect` (absent: None)."""

from __future__ import annotations

import json

import pytest

from mlopsctl.adapters.fakes import FakeRunner
from mlopsctl.adapters.runner import CommandResult
from mlopsctl.errors import ExternalCommandFailed
from mlopsctl.services.image.store import Images

DIGEST = "sha256:" + "a" * 64
REF = "localhost:5000/mlopsctl/inference:0.1.0"


def Runner(returncode: int, stdout: str = "", stderr: str = "") -> FakeRunner:
    """Every command answers the same."""
    return FakeRunner(answers={(): CommandResult((), returncode, stdout, stderr)})


def images(runner: FakeRunner) -> Images:
    return Images(docker=lambda: None, runner=lambda: runner)


def test_push_returns_the_digest_the_registry_answered():
    runner = Runner(0, f"5f70bf18a086: Pushed\n0.1.0: digest: {DIGEST} size: 2205\n")
    assert images(runner).push(REF) == DIGEST
    assert runner.argvs == [["docker", "push", REF]]


def test_a_failed_push_is_one_error_with_a_login_hint():
    runner = Runner(1, stderr="unauthorized: authentication required\n")
    with pytest.raises(ExternalCommandFailed) as caught:
        images(runner).push(REF)
    assert "unauthorized" in caught.value.message and "docker login" in caught.value.hint


def test_the_registry_is_asked_whether_it_has_the_tag():
    present = Runner(0, json.dumps({"Ref": REF, "Descriptor": {"digest": DIGEST}}))
    assert images(present).remote_digest(REF) == DIGEST
    assert present.argvs == [["docker", "manifest", "inspect", "--insecure", "-v", REF]]
    assert images(Runner(1, stderr="no such manifest")).remote_digest(REF) is None
