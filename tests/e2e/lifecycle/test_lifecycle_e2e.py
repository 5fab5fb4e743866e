"""The cluster and tenant lifecycle on a real cluster: `cluster up` (creates or reuses, records the image the
nodes can run), `tenant add` (the recorded image, options kept on a re-add), `tenant list`, `tenant status`,
refusal to touch an unmanaged namespace, `tenant remove`, and `cluster down` on a throwaway one-node Kind cluster
(the shared cluster is left for the other e2e tests).

Runs with either `kind` on PATH (Kind mode) or MLOPSCTL_E2E_CONTEXT (+ MLOPSCTL_E2E_REGISTRY) naming an existing
cluster to adopt; MLOPSCTL_E2E_MINIMAL=1 skips monitoring and storage in `cluster up` (tests/e2e/support.py).
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from mlopsctl import constants as c
from mlopsctl.errors import ExitCode
from tests.e2e.support import CONTEXT, HOME, KUBECONFIG, MINIMAL, REGISTRY, unique, wait_namespace_gone

pytestmark = pytest.mark.e2e

KUBERNETES_VERSION = os.environ.get("KUBERNETES_VERSION")
TENANT = unique("life")
# What `cluster up` reported, for the tests after it (they run in file order).
STATE: dict[str, str] = {}
UNMANAGED = unique("unmanaged")


@pytest.fixture(scope="module", autouse=True)
def _enabled():
    if CONTEXT is None and shutil.which("kind") is None:
        pytest.skip("neither kind on PATH nor MLOPSCTL_E2E_CONTEXT")


@pytest.fixture
def run(e2e_cli):
    return e2e_cli


def kube_api():
    from mlopsctl.adapters.kube import connect

    return connect(CONTEXT, KUBECONFIG)


def json_of(result) -> dict:
    assert result.exit_code == ExitCode.OK, result.stderr
    return json.loads(result.stdout)


def test_cluster_up_creates_or_reuses_the_cluster(run):
    args = ["-o", "json", "cluster", "up", "--timeout", "600"]
    if REGISTRY:
        args += ["--registry", REGISTRY]
    if KUBERNETES_VERSION:
        args += ["--kubernetes-version", KUBERNETES_VERSION]
    if MINIMAL:
        args += ["--no-monitoring", "--no-storage"]

    up = json_of(run(*args))
    STATE["image"] = up["image"]
    record = kube_api().get("v1", "ConfigMap", c.PLATFORM_CONFIGMAP, c.SYSTEM_NAMESPACE)
    assert record is not None and record["data"]["image"] == up["image"]

    assert up["tenants"] == list(c.DEFAULT_TENANTS)
    states = {step["name"]: step["state"] for step in up["steps"]}
    assert states["wait for the metrics API"] == "done"
    assert all(state in ("done", "reused", "skipped") for state in states.values())

    status = json_of(run("-o", "json", "cluster", "status"))
    assert status["nodes"] and all(node["ready"] for node in status["nodes"])
    metrics = next(row for row in status["components"] if row["name"] == "metrics-server")
    assert metrics["state"] == "available"
    assert {"tenant-a", "tenant-b"} <= {row["name"] for row in status["tenants"]}


def test_cluster_up_again_reuses_everything(run):
    args = ["-o", "json", "cluster", "up", "--no-monitoring", "--no-storage", "--timeout", "600", "--skip-build"]
    # Kind: the image built above is loaded again as it is; adopted: the local image is pushed to the registry.
    args += ["--registry", REGISTRY] if REGISTRY else []
    again = json_of(run(*args))
    assert again["created"] is False
    if again["mode"] == "kind":
        assert next(s for s in again["steps"] if s["name"].startswith("create cluster"))["state"] == "reused"
    else:
        push = next(s for s in again["steps"] if s["name"] == "push the image")
        assert push["state"] == "done" and REGISTRY in push["detail"]


def test_tenant_add_is_idempotent_and_rolls_out(run):
    # No --image: the tenant runs the image `cluster up` recorded (on an adopted cluster: the pushed one).
    first = json_of(run("-o", "json", "tenant", "add", TENANT, "--max-replicas", "4", "--timeout", "600"))
    assert first["objects"][0]["kind"] == "Namespace"
    assert first["ready_replicas"] >= 1

    # A re-add without flags keeps every option given before.
    second = json_of(run("-o", "json", "tenant", "add", TENANT, "--timeout", "600"))
    assert not [o for o in second["objects"] if o["action"] in ("pruned", "skipped") and o["kind"] != "ServiceMonitor"]
    assert second["spec_changes"] == []

    diff = run("tenant", "add", TENANT, "--diff")
    assert diff.exit_code == ExitCode.OK, diff.stderr
    assert "maxReplicas" not in diff.stdout  # nothing to change


def test_tenant_list_and_status(run):
    rows = {row["name"]: row for row in json_of(run("-o", "json", "tenant", "list"))["tenants"]}
    assert TENANT in rows
    assert rows[TENANT]["ready"] >= 1
    assert (rows[TENANT]["hpa_min"], rows[TENANT]["hpa_max"]) == (2, 4)

    status = json_of(run("-o", "json", "tenant", "status", TENANT))
    assert status["pods"] and all(pod["phase"] == "Running" for pod in status["pods"])
    assert {"Deployment", "HorizontalPodAutoscaler", "NetworkPolicy"} <= {o["kind"] for o in status["objects"]}


def test_an_unmanaged_namespace_is_refused(run):
    api = kube_api()
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": UNMANAGED}})
    try:
        added = run("tenant", "add", UNMANAGED)
        assert added.exit_code == ExitCode.CLUSTER_UNREACHABLE
        assert "not managed by mlopsctl" in added.stderr
        removed = run("tenant", "remove", UNMANAGED, "--yes")
        assert removed.exit_code == ExitCode.CLUSTER_UNREACHABLE
        assert api.get("v1", "Namespace", UNMANAGED) is not None
    finally:
        wait_namespace_gone(api, UNMANAGED)


def test_tenant_remove(run):
    removed = json_of(run("-o", "json", "tenant", "remove", TENANT, "--yes", "--timeout", "600"))
    assert removed["removed"] is True
    names = {row["name"] for row in json_of(run("-o", "json", "tenant", "list"))["tenants"]}
    assert TENANT not in names
    again = json_of(run("-o", "json", "tenant", "remove", TENANT, "--yes"))
    assert again["removed"] is False


def test_cluster_down_deletes_a_kind_cluster(cli, monkeypatch, tmp_path):
    if CONTEXT is not None:
        pytest.skip("cluster down deletes Kind clusters only; an adopted cluster is never deleted")
    if HOME:
        monkeypatch.setenv("MLOPSCTL_HOME", HOME)
    # A throwaway single-node cluster without tenants or platform parts, in its own kubeconfig, so the shared
    # cluster, its host ports and the developer's current context stay as they are.
    (tmp_path / "mlopsctl.yaml").write_text("tenants: []\nplatform:\n  monitoring: false\n  storage: false\n")
    kubeconfig = str(tmp_path / "kubeconfig")
    name = "mlopsctl-e2e-down"

    def run(*args: str):
        result = cli("--kubeconfig", kubeconfig, *args)
        print(result.stderr)
        return result

    try:
        up = json_of(run("-o", "json", "cluster", "up", "--name", name, "--workers", "0", "--skip-build",
                         "--no-host-ports"))  # fmt: skip
        assert up["created"] is True and up["tenants"] == []
        down = json_of(run("-o", "json", "cluster", "down", "--name", name, "--yes"))
        assert down["deleted"] is True
        status = run("cluster", "status", "--name", name)
        assert status.exit_code == ExitCode.CLUSTER_UNREACHABLE
        assert f"no Kind cluster named {name}" in status.stderr
    finally:
        run("cluster", "down", "--name", name, "--yes")
