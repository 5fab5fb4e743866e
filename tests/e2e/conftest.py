"""The e2e tier's fixtures: a session API client, the CLI pointed at the e2e cluster, and skips that say which
component is missing. Flags and helpers live in tests/e2e/support.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import support
from tests.e2e.support import ENABLED, HOME, KUBECONFIG, MINIMAL, S3_ENDPOINT


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = None
    if not ENABLED:
        reason = "set MLOPSCTL_E2E=1 to run against a real cluster"
    elif not Path(KUBECONFIG.split(os.pathsep)[0]).is_file():
        reason = f"no kubeconfig at {KUBECONFIG}"
    if reason is None:
        return
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def kube():
    """One API client for the session."""
    from mlopsctl.adapters.kube import connect

    return connect(support.CONTEXT, KUBECONFIG)


@pytest.fixture
def e2e_cli(cli, monkeypatch) -> Callable[..., support.Result]:
    """The `cli` fixture (private home, no ambient config) pointed at the e2e cluster."""
    if HOME:
        monkeypatch.setenv("MLOPSCTL_HOME", HOME)

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        result = cli(*support.global_flags(), *args, input=input, env=env)
        print(result.stderr)
        return result

    return run


@pytest.fixture(scope="session")
def needs_monitoring():
    if MINIMAL:
        pytest.skip("MLOPSCTL_E2E_MINIMAL=1: monitoring is not installed")
    if not support.helm_available():
        pytest.skip("helm is not installed (monitoring is a helm chart): `mlopsctl doctor --install-tools`")


@pytest.fixture(scope="session")
def needs_storage(kube):
    from mlopsctl import constants as c

    if MINIMAL:
        pytest.skip("MLOPSCTL_E2E_MINIMAL=1: the object store is not installed")
    installed = kube.get("v1", "Namespace", c.STORAGE_NAMESPACE) is not None
    if not installed and not support.has_default_storage_class(kube):
        pytest.skip("the cluster has no default StorageClass, so the object store's volume cannot bind")
    if not S3_ENDPOINT and not support.is_kind(kube):
        pytest.skip("set MLOPSCTL_S3_ENDPOINT: only Kind maps the object store's NodePort to 127.0.0.1")
