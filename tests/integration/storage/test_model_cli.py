"""`mlopsctl model push|list|pull` and `tenant set-model` through the real CLI, against moto on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as C
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ExitCode
from mlopsctl.manifests import storage as M
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_env(s3_server):
    return {
        "MLOPSCTL_S3_ENDPOINT": s3_server.endpoint,
        "MLOPSCTL_S3_ACCESS_KEY_ID": s3_server.admin.access_key_id,
        "MLOPSCTL_S3_SECRET_ACCESS_KEY": s3_server.admin.secret_access_key,
    }


@pytest.fixture
def no_cluster(monkeypatch):
    from mlopsctl.errors import ClusterUnreachable

    def refuse(*args, **kwargs):
        raise ClusterUnreachable("cannot reach the cluster at https://127.0.0.1:1")

    monkeypatch.setattr("mlopsctl.adapters.kube.connect", refuse)


def test_push_list_pull_through_the_cli(cli, s3_env, no_cluster, artifact_factory, tmp_path):
    directory = artifact_factory("cli-1", accuracy=0.875)
    pushed = cli("-o", "json", "model", "push", str(directory), env=s3_env)
    assert pushed.exit_code == ExitCode.OK, pushed.stderr
    assert json.loads(pushed.stdout)["uri"] == f"s3://{M.CATALOG_BUCKET}/models/cli-1"

    listed = cli("-o", "json", "model", "list", env=s3_env)
    assert listed.exit_code == ExitCode.OK, listed.stderr
    data = json.loads(listed.stdout)
    [entry] = [v for v in data["versions"] if v["version"] == "cli-1"]
    assert entry["metrics"]["accuracy"] == 0.875 and entry["size"] > 0 and entry["created_at"]
    assert data["usage_known"] is False and "not reachable" in data["notes"][0]

    table = cli("--no-color", "model", "list", env=s3_env)
    assert "cli-1" in table.stdout and "0.875" in table.stdout

    pulled = cli("model", "pull", "cli-1", str(tmp_path / "out"), env=s3_env)
    assert pulled.exit_code == ExitCode.OK, pulled.stderr
    assert (tmp_path / "out" / "model.skops").read_bytes() == (directory / "model.skops").read_bytes()


def test_cli_refuses_a_mismatched_directory_with_exit_2(cli, s3_env, no_cluster, artifact_factory):
    directory = artifact_factory("cli-bad")
    (directory / "model.skops").write_bytes(b"tampered")
    result = cli("model", "push", str(directory), env=s3_env)
    assert result.exit_code == ExitCode.USAGE
    assert "checksum mismatch" in result.stderr and "Traceback" not in result.stderr


def test_cli_bad_credentials_and_missing_version(cli, s3_env, no_cluster, artifact_factory, tmp_path):
    bad = {**s3_env, "MLOPSCTL_S3_SECRET_ACCESS_KEY": "wrong"}
    refused = cli("model", "push", str(artifact_factory("cli-creds")), env=bad)
    assert refused.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "refused the credentials" in refused.stderr
    missing = cli("model", "pull", "no-such-version", str(tmp_path / "x"), env=s3_env)
    assert missing.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "model version no-such-version not found" in missing.stderr


def test_cli_reads_endpoint_and_keys_from_the_cluster_and_sets_a_model(cli, monkeypatch, s3_server, artifact_factory):
    from mlopsctl.services import storage

    api = FakeKubeApi(controllers=True)
    for obj in render_tenant(TenantSpec.create("tenant-a")):
        api.apply(obj)
    storage.install_storage(api, spec=M.StoreSpec(), wait=False, credentials=lambda: s3_server.admin)
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda *args, **kwargs: api)
    endpoint = {"MLOPSCTL_S3_ENDPOINT": s3_server.endpoint}  # the NodePort is not mapped in this test

    assert cli("model", "push", str(artifact_factory("cli-set-1")), env=endpoint).exit_code == ExitCode.OK
    result = cli("-o", "json", "tenant", "set-model", "tenant-a", "cli-set-1", "--timeout", "5", env=endpoint)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert json.loads(result.stdout)["uri"] == "s3://models-tenant-a/models/cli-set-1"

    listed = json.loads(cli("-o", "json", "model", "list", env=endpoint).stdout)
    assert listed["usage_known"]
    used = {(v["tenant"], v["version"]): v["used_by"] for v in listed["versions"]}
    assert used[("tenant-a", "cli-set-1")] == ["tenant-a"]
    deployment = api.get("apps/v1", "Deployment", C.APP_NAME, "tenant-a")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations[C.MODEL_VERSION_ANNOTATION] == "cli-set-1"


def test_cli_pull_of_a_tampered_model_exits_6(cli, s3_server, s3_env, no_cluster, artifact_factory, tmp_path):
    from mlopsctl.adapters.s3 import Boto3ObjectStore

    assert cli("model", "push", str(artifact_factory("cli-tamper")), env=s3_env).exit_code == ExitCode.OK
    admin = Boto3ObjectStore(s3_server.endpoint, s3_server.admin.access_key_id, s3_server.admin.secret_access_key)
    admin.put_bytes(M.CATALOG_BUCKET, "models/cli-tamper/model.skops", b"swapped")
    result = cli("model", "pull", "cli-tamper", str(tmp_path / "out"), env=s3_env)
    assert result.exit_code == ExitCode.VERIFICATION_FAILED
    assert "checksum mismatch" in result.stderr
    assert not (tmp_path / "out" / "model.skops").exists()
