"""Tenant owners on a real cluster: `tenant kubeconfig` issues a TokenRequest token that really works as the
tenant-owner account (deploy a new image: allowed; open the NetworkPolicy, touch another namespace: forbidden),
`tenant access` and `verify rbac` agree with what the API server says.

Needs MLOPSCTL_E2E=1 and a kubeconfig (KUBECONFIG or ~/.kube/config; MLOPSCTL_CONTEXT picks a context). The
tenant's pods need not run: everything here is about the API server's authorization.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlopsctl import constants as c
from mlopsctl.errors import ExitCode, Forbidden

pytestmark = pytest.mark.e2e

KUBECONFIG = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
CONTEXT = os.environ.get("MLOPSCTL_CONTEXT")
TENANT = "e2e-owners"
OWNER = "user:e2e-alice"


def _global() -> list[str]:
    return ["--kubeconfig", KUBECONFIG, *(["--context", CONTEXT] if CONTEXT else [])]


@pytest.fixture(scope="module")
def tenant():
    from typer.testing import CliRunner

    from mlopsctl.cli.app import app

    runner = CliRunner()
    add = ["-q", "tenant", "add", TENANT, "--owner", OWNER, "--min-replicas", "1", "--no-wait"]
    result = runner.invoke(app, [*_global(), *add])
    assert result.exit_code == 0, result.stderr
    yield TENANT
    runner.invoke(app, [*_global(), "-q", "tenant", "remove", TENANT, "--yes", "--no-wait"])


@pytest.fixture(scope="module")
def owner_api(tenant, tmp_path_factory):
    """The KubeApi of the tenant-owner account, through the kubeconfig `tenant kubeconfig` wrote."""
    from typer.testing import CliRunner

    from mlopsctl.adapters.kube import connect
    from mlopsctl.cli.app import app

    path = tmp_path_factory.mktemp("owner") / "kubeconfig"
    result = CliRunner().invoke(
        app, [*_global(), "tenant", "kubeconfig", tenant, "--duration", "10m", "--out", str(path)]
    )
    if result.exit_code == ExitCode.PREREQUISITE_MISSING:
        pytest.skip(f"this cluster cannot issue service account tokens: {result.stderr.strip()}")
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return connect(kubeconfig=str(path))


def _deployment(image: str) -> dict:
    from mlopsctl.manifests.tenant import TenantSpec, render_tenant

    objects = render_tenant(TenantSpec.create(TENANT, owners=[OWNER], min_replicas=1, image=image))
    return next(o for o in objects if o["kind"] == "Deployment")


def test_the_owner_account_deploys_a_new_image(owner_api):
    # A server-side dry run: authorized (patch deployments) and validated by the API server, nothing changes.
    applied = owner_api.apply(_deployment("registry.example.com/team/inference:2.0.0"), dry_run=True)
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/team/inference:2.0.0"
    assert owner_api.list("apps/v1", "Deployment", TENANT)


def test_the_owner_account_cannot_open_its_network_policy(owner_api):
    opened = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-everything", "namespace": TENANT},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]},
    }
    with pytest.raises(Forbidden):
        owner_api.apply(opened, dry_run=True)
    with pytest.raises(Forbidden):
        owner_api.delete("networking.k8s.io/v1", "NetworkPolicy", "default-deny-all", TENANT)


def test_the_owner_account_has_nothing_elsewhere(owner_api):
    with pytest.raises(Forbidden):
        owner_api.list("v1", "Pod", "kube-system")
    with pytest.raises(Forbidden):
        owner_api.list("v1", "Namespace")


def test_access_and_verify_rbac_agree_with_the_api_server(cli, tenant):
    access = cli(*_global(), "-q", "-o", "json", "tenant", "access", tenant)
    assert access.exit_code == 0, access.stderr
    data = json.loads(access.stdout)
    assert data["as_expected"], [row["unexpected"] for row in data["owners"]]
    assert {row["owner"] for row in data["owners"]} == {OWNER, f"sa:{tenant}/{c.TENANT_OWNER}"}

    verify = cli(*_global(), "-q", "-o", "json", "verify", "rbac", tenant)
    checks = json.loads(verify.stdout)["checks"]
    failing = [(check["name"], check["observed"], check["detail"]) for check in checks if not check["passed"]]
    assert verify.exit_code == 0, failing
    assert any(check["name"] == f"{OWNER}: patch deployments.apps in {tenant}" for check in checks)
