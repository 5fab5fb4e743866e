"""A fake API server on 127.0.0.1 and the real kubernetes adapter connected to it."""

from __future__ import annotations

import pytest

from mlopsctl.adapters.kube import connect
from tests.integration.adapters.fake_apiserver import FakeApiServer


@pytest.fixture
def server():
    fake = FakeApiServer().start()
    yield fake
    fake.stop()


@pytest.fixture
def api(server, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(server.kubeconfig())
    return connect(context="fake", kubeconfig=str(path), request_timeout=10)
