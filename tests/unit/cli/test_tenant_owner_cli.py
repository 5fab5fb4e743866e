"""`tenant add --owner`, `tenant access` and `tenant kubeconfig` through the real CLI, with the Kubernetes API
replaced by the in-memory fake."""

from __future__ import annotations

import json
import stat

import pytest
import yaml

from mlopsctl import constants as c
from mlopsctl.adapters.base import IssuedToken
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.analysis.rbac import Request, Subject
from mlopsctl.errors import ExitCode
from mlopsctl.manifests.tenant import TenantSpec, render_tenant, render_yaml
from mlopsctl.services.verify_rbac import read_rbac

TOKEN = "eyJhbGciOiJSUzI1NiJ9.owner"


@pytest.fixture
def api(monkeypatch):
    """A Kind cluster (its node says so), so `tenant add` runs the version tag `cluster up` loads."""
    fake = FakeKubeApi()
    fake.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "mlopsctl-control-plane"},
              "spec": {"providerID": "kind://docker/mlopsctl/mlopsctl-control-plane"}})  # fmt: skip
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda context=None, kubeconfig=None, **kw: fake)
    return fake


def added(cli, api, *owners: str):
    flags = [arg for owner in owners for arg in ("--owner", owner)]
    result = cli("tenant", "add", "tenant-c", "--no-wait", *flags)
    assert result.exit_code == ExitCode.OK, result.stderr
    api.token_handler = lambda ns, sa, seconds: IssuedToken(TOKEN, "2030-01-01T00:00:00Z")
    return result


def test_add_with_owners_binds_them_and_records_them_in_the_spec(cli, api):
    added(cli, api, "user:alice", "group:team-a", "user:alice")
    namespace = api.get("v1", "Namespace", "tenant-c")
    spec = TenantSpec.from_json(namespace["metadata"]["annotations"][c.TENANT_SPEC_ANNOTATION])
    assert spec.owners == ("group:team-a", "user:alice")
    binding = api.get("rbac.authorization.k8s.io/v1", "RoleBinding", c.TENANT_OWNER, "tenant-c")
    assert [s["name"] for s in binding["subjects"]] == [c.TENANT_OWNER, "team-a", "alice"]


def test_a_bad_owner_is_one_line_and_exit_2(cli, api):
    result = cli("tenant", "render", "tenant-c", "--owner", "group:system:authenticated")
    assert result.exit_code == ExitCode.USAGE
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("mlopsctl: error: invalid tenant spec: owners: 'group:system:authenticated'")
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.stderr


def test_kubeconfig_to_a_file_is_private_and_the_report_holds_no_token(cli, api, tmp_path):
    added(cli, api)
    out = tmp_path / "tenant-c.kubeconfig"
    result = cli("tenant", "kubeconfig", "tenant-c", "--duration", "30m", "--out", str(out))

    assert result.exit_code == ExitCode.OK, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    config = yaml.safe_load(out.read_text())
    assert config["users"][0]["user"]["token"] == TOKEN
    assert config["contexts"][0]["context"]["namespace"] == "tenant-c"
    assert ("request_token", ("tenant-c", c.TENANT_OWNER, 1800)) in api.calls
    assert TOKEN not in result.stdout and "tenant-c/tenant-owner" in result.stdout

    as_json = cli("-o", "json", "tenant", "kubeconfig", "tenant-c", "--out", str(out))
    data = json.loads(as_json.stdout)
    assert data["file"] == str(out) and data["expires"] == "2030-01-01T00:00:00Z"
    assert TOKEN not in as_json.stdout


def test_kubeconfig_without_out_is_printed_for_a_pipe(cli, api):
    added(cli, api)
    result = cli("tenant", "kubeconfig", "tenant-c")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert yaml.safe_load(result.stdout)["current-context"] == "mlopsctl-tenant-c"
    as_json = cli("-o", "json", "tenant", "kubeconfig", "tenant-c")
    assert json.loads(as_json.stdout)["kind"] == "Config"


def test_kubeconfig_on_a_cluster_that_cannot_issue_tokens_exits_3(cli, api):
    added(cli, api)
    api.token_handler = None
    result = cli("tenant", "kubeconfig", "tenant-c")
    assert result.exit_code == ExitCode.PREREQUISITE_MISSING
    assert result.stderr.startswith("mlopsctl: error: the cluster cannot issue service account tokens")
    assert "hint: " in result.stderr and result.stdout == ""


def test_kubeconfig_duration_outside_the_range_is_a_usage_error(cli, api):
    result = cli("tenant", "kubeconfig", "tenant-c", "--duration", "5m")
    assert result.exit_code == ExitCode.USAGE
    assert "--duration 5m is outside 10m..24h" in result.stderr
    assert not [call for call in api.calls if call[0] == "request_token"]


def test_access_live_and_offline(cli, api, tmp_path):
    added(cli, api, "user:alice")
    model = read_rbac(api)
    api.access_handler = lambda r: (
        model.authorize(
            Subject(r.user, r.groups), Request(r.verb, r.resource, r.group, r.subresource, r.namespace, r.name)
        ).allowed
    )
    live = cli("-o", "json", "tenant", "access", "tenant-c")
    assert live.exit_code == ExitCode.OK, live.stderr
    data = json.loads(live.stdout)
    assert data["source"] == "SubjectAccessReview" and data["as_expected"] is True
    assert [row["owner"] for row in data["owners"]] == ["sa:tenant-c/tenant-owner", "user:alice"]

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "tenant-c.yaml").write_text(
        render_yaml(render_tenant(TenantSpec.create("tenant-c", owners=["user:alice"])))
    )
    offline = cli(
        "tenant", "access", "tenant-c", "--offline", "--manifests", str(tmp_path / "m"), env={"COLUMNS": "200"}
    )
    assert offline.exit_code == ExitCode.OK, offline.stderr
    assert "user:alice" in offline.stdout and "deployments.apps: get, update, patch" in offline.stdout
    assert "networkpolicies.networking.k8s.io: create, update," in offline.stdout


def test_access_offline_needs_manifests(cli, api):
    result = cli("tenant", "access", "tenant-c", "--offline")
    assert result.exit_code == ExitCode.USAGE
    assert "--offline and --manifests DIR go together" in result.stderr
