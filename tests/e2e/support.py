"""The e2e tier's flags and helpers: unique names per run, the CLI against the e2e cluster, tenants that are
removed (and waited for) however their block ends, and the checks behind the component skips.

Flags (read once, before the `cli` fixture hides the developer's environment):
    MLOPSCTL_E2E=1                     run at all
    KUBECONFIG                         the kubeconfig (default ~/.kube/config)
    MLOPSCTL_E2E_CONTEXT               the context (MLOPSCTL_CONTEXT is read too); default: the current one
    MLOPSCTL_E2E_REGISTRY              `cluster up --registry` for an adopted cluster
    MLOPSCTL_E2E_MINIMAL=1             no monitoring, no storage: their tests skip
    MLOPSCTL_E2E_LOAD=1                also drive load until the HPA scales (minutes)
    MLOPSCTL_S3_ENDPOINT               the object store's S3 endpoint as the host reaches it (adopted clusters)
    MLOPSCTL_HOME                      where `mlopsctl doctor --install-tools` put kind/helm
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KUBECONFIG = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
CONTEXT = os.environ.get("MLOPSCTL_E2E_CONTEXT") or os.environ.get("MLOPSCTL_CONTEXT")
REGISTRY = os.environ.get("MLOPSCTL_E2E_REGISTRY")
HOME = os.environ.get("MLOPSCTL_HOME")
MINIMAL = os.environ.get("MLOPSCTL_E2E_MINIMAL") == "1"
LOAD = os.environ.get("MLOPSCTL_E2E_LOAD") == "1"
S3_ENDPOINT = os.environ.get("MLOPSCTL_S3_ENDPOINT")
ENABLED = os.environ.get("MLOPSCTL_E2E") == "1"
# One suffix per test session: names never collide with a previous run still being deleted, or with tenants
# the cluster already has (CI adds tenant-c before the suite runs).
RUN_ID = secrets.token_hex(2)
TIMEOUT = "300"


def unique(prefix: str) -> str:
    """A DNS-1123 name for this run: `e2e-<prefix>-<run id>`."""
    return f"e2e-{prefix}-{RUN_ID}"


def global_flags() -> list[str]:
    return ["--kubeconfig", KUBECONFIG, *(["--context", CONTEXT] if CONTEXT else [])]


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """The real CLI in-process against the e2e cluster (global flags first)."""
    from typer.testing import CliRunner

    from mlopsctl.cli.app import app

    environment = {"MLOPSCTL_HOME": HOME} if HOME else {}
    result = CliRunner().invoke(app, [*global_flags(), *args], env={**environment, **(env or {})})
    print(result.stderr)
    return Result(result.exit_code, result.stdout, result.stderr)


@contextlib.contextmanager
def tenant(name: str, *flags: str) -> Iterator[str]:
    """A tenant for the duration of the block; removed, and waited for, however the block (or the add) ends."""
    try:
        added = invoke("-q", "tenant", "add", name, *flags, "--timeout", TIMEOUT)
        assert added.exit_code == 0, added.stderr
        yield name
    finally:
        invoke("-q", "tenant", "remove", name, "--yes", "--timeout", TIMEOUT)


def wait_namespace_gone(kube, name: str, timeout: float = 300) -> None:
    kube.delete("v1", "Namespace", name)
    with contextlib.suppress(TimeoutError):
        kube.wait_for("v1", "Namespace", name, None, lambda obj: obj is None, timeout)


# -- components: skip with the reason when one is missing ------------------------------------------------------
def helm_available() -> bool:
    local = Path(HOME) / "bin" / "helm" if HOME else None
    return shutil.which("helm") is not None or bool(local and local.is_file())


def has_default_storage_class(kube) -> bool:
    for item in kube.list("storage.k8s.io/v1", "StorageClass"):
        annotations = (item.get("metadata") or {}).get("annotations") or {}
        if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
            return True
    return False


def is_kind(kube) -> bool:
    from mlopsctl.services.platform_image import is_kind_cluster

    return is_kind_cluster(kube)
