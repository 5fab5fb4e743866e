"""The default engine itself, SeaweedFS 4.47 on 127.0.0.1, run with the arguments and identities file that
`storage install` renders: the model lifecycle works on it, and it enforces each tenant's credentials."""

from __future__ import annotations

import json

import pytest

from inference.artifact import ModelLoadError
from inference.loader import loader_for
from mlopsctl.adapters.s3 import Boto3ObjectStore
from mlopsctl.errors import ExitCode, Forbidden, VerificationFailed
from mlopsctl.manifests import storage as M
from mlopsctl.services import model_registry as registry

pytestmark = pytest.mark.integration


def _store(server, creds):
    return Boto3ObjectStore(server.endpoint, creds.access_key_id, creds.secret_access_key, timeout=5)


def _pod_env(server, tenant):
    values = M.decode_secret(M.tenant_secret(tenant, server.tenants[tenant]))
    values["S3_ENDPOINT_URL"] = server.endpoint
    return values


def test_push_copy_and_the_service_loads_with_the_tenant_key(weed_server, artifact_factory, tmp_path):
    admin = _store(weed_server, weed_server.admin)
    registry.push(admin, artifact_factory("weed-1", accuracy=0.93))
    uri, copied = registry.ensure_tenant_copy(admin, "tenant-a", "weed-1")  # a server-side copy on SeaweedFS
    assert copied and uri == "s3://models-tenant-a/models/weed-1"

    model = loader_for(uri, _pod_env(weed_server, "tenant-a"))()
    assert model.version == "weed-1"
    listed = registry.list_models(admin, tenants=("tenant-a",), usage={"tenant-a": ("weed-1", uri)})
    users = {(v.tenant, v.version): (v.used_by, v.metrics.get("accuracy")) for v in listed.versions}
    assert users[("tenant-a", "weed-1")] == (["tenant-a"], 0.93)
    assert users[(None, "weed-1")] == ([], 0.93)


def test_the_engine_limits_each_tenant_to_reading_its_own_bucket(weed_server, artifact_factory, tmp_path):
    admin = _store(weed_server, weed_server.admin)
    registry.push(admin, artifact_factory("weed-iso-a"), tenant="tenant-a")
    registry.push(admin, artifact_factory("weed-iso-b"), tenant="tenant-b")
    tenant_a = _store(weed_server, weed_server.tenants["tenant-a"])

    assert registry.pull(tenant_a, "weed-iso-a", tmp_path / "own", tenant="tenant-a").version == "weed-iso-a"
    own_versions = {v.version for v in registry.list_models(tenant_a, tenant="tenant-a").versions}
    assert "weed-iso-a" in own_versions and "weed-iso-b" not in own_versions
    for forbidden in (
        lambda: registry.pull(tenant_a, "weed-iso-b", tmp_path / "other", tenant="tenant-b"),
        lambda: tenant_a.list_objects(M.tenant_bucket("tenant-b")),
        lambda: tenant_a.get_bytes(M.CATALOG_BUCKET, "models/weed-1/metadata.json"),
        lambda: tenant_a.put_bytes(M.tenant_bucket("tenant-a"), "models/evil/model.skops", b"x"),
        lambda: tenant_a.delete(M.tenant_bucket("tenant-a"), "models/weed-iso-a/model.skops"),
        lambda: tenant_a.ensure_bucket("models-made-by-a-tenant"),
    ):
        with pytest.raises(Forbidden):
            forbidden()
    with pytest.raises(ModelLoadError, match="refused access"):
        loader_for("s3://models-tenant-b/models/weed-iso-b", _pod_env(weed_server, "tenant-a"))()
    # Nothing the refused calls tried to write or delete happened.
    assert registry.pull(admin, "weed-iso-a", tmp_path / "again", tenant="tenant-a").version == "weed-iso-a"


def test_wrong_secret_and_tampered_model(weed_server, artifact_factory, tmp_path):
    wrong = M.Credentials(weed_server.admin.access_key_id, "not-the-secret")
    with pytest.raises(Forbidden, match="refused the credentials"):
        registry.list_models(_store(weed_server, wrong))
    admin = _store(weed_server, weed_server.admin)
    registry.push(admin, artifact_factory("weed-tampered"))
    admin.put_bytes(M.CATALOG_BUCKET, "models/weed-tampered/model.skops", b"swapped")
    with pytest.raises(VerificationFailed, match="checksum mismatch"):
        registry.pull(admin, "weed-tampered", tmp_path / "t")
    with pytest.raises(ModelLoadError, match="checksum mismatch"):
        env = {
            "S3_ENDPOINT_URL": weed_server.endpoint,
            "AWS_ACCESS_KEY_ID": weed_server.admin.access_key_id,
            "AWS_SECRET_ACCESS_KEY": weed_server.admin.secret_access_key,
        }
        loader_for(f"s3://{M.CATALOG_BUCKET}/models/weed-tampered", env)()


def test_the_cli_against_seaweedfs(cli, weed_server, artifact_factory, monkeypatch):
    from mlopsctl.errors import ClusterUnreachable

    def no_cluster(*args, **kwargs):
        raise ClusterUnreachable("no cluster in this test")

    monkeypatch.setattr("mlopsctl.adapters.kube.connect", no_cluster)
    env = {
        "MLOPSCTL_S3_ENDPOINT": weed_server.endpoint,
        "MLOPSCTL_S3_ACCESS_KEY_ID": weed_server.admin.access_key_id,
        "MLOPSCTL_S3_SECRET_ACCESS_KEY": weed_server.admin.secret_access_key,
    }
    pushed = cli("model", "push", str(artifact_factory("weed-cli")), env=env)
    assert pushed.exit_code == ExitCode.OK, pushed.stderr
    listed = json.loads(cli("-o", "json", "model", "list", env=env).stdout)
    assert "weed-cli" in [v["version"] for v in listed["versions"]]
    tenant_env = {
        **env,
        "MLOPSCTL_S3_ACCESS_KEY_ID": weed_server.tenants["tenant-b"].access_key_id,
        "MLOPSCTL_S3_SECRET_ACCESS_KEY": weed_server.tenants["tenant-b"].secret_access_key,
    }
    refused = cli("model", "push", str(artifact_factory("weed-cli-2")), "--tenant", "tenant-b", env=tenant_env)
    assert refused.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "refused the credentials" in refused.stderr
