"""Model push, list, pull and tenant copies against a real S3 server (moto, IAM enforced) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json

import pytest

from mlopsctl.adapters.s3 import Boto3ObjectStore
from mlopsctl.errors import ClusterUnreachable, Conflict, Forbidden, NotFound, UsageError, VerificationFailed
from mlopsctl.manifests import storage as M
from mlopsctl.services import model_registry as registry
from tests.support import free_port

pytestmark = pytest.mark.integration


def _store(server, creds=None):
    creds = creds or server.admin
    return Boto3ObjectStore(server.endpoint, creds.access_key_id, creds.secret_access_key, timeout=5)


def test_push_then_list_shows_version_size_metrics_and_created(s3_server, artifact_factory):
    store = _store(s3_server)
    directory = artifact_factory("list-1", accuracy=0.91)
    pushed = registry.push(store, directory)
    assert pushed.uploaded
    assert pushed.uri == f"s3://{M.CATALOG_BUCKET}/models/list-1"
    keys = {item.key for item in store.list_objects(M.CATALOG_BUCKET, "models") if "/list-1/" in item.key}
    assert keys == {"models/list-1/model.skops", "models/list-1/metadata.json"}

    listed = registry.list_models(store, usage={"tenant-a": ("list-1", pushed.uri), "tenant-b": ("builtin", None)})
    [version] = [v for v in listed.versions if v.version == "list-1"]
    assert version.size == (directory / "model.skops").stat().st_size
    assert version.sha256 == hashlib.sha256((directory / "model.skops").read_bytes()).hexdigest()
    assert version.metrics == {"accuracy": 0.91, "f1_macro": pytest.approx(0.90)}
    assert version.created_at == "2026-11-27T12:00:00Z"
    assert version.used_by == ["tenant-a"]
    assert version.complete and version.tenant is None
    assert listed.usage_known


def test_push_is_idempotent_and_versions_are_immutable(s3_server, artifact_factory, tmp_path):
    store = _store(s3_server)
    directory = artifact_factory("immutable-1")
    assert registry.push(store, directory).uploaded
    assert not registry.push(store, directory).uploaded

    other = tmp_path / "other"
    other.mkdir()
    model = b"different model bytes"
    (other / "model.skops").write_bytes(model)
    metadata = json.loads((directory / "metadata.json").read_text())
    metadata["sha256"] = hashlib.sha256(model).hexdigest()
    (other / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(Conflict, match="already holds a different model"):
        registry.push(store, other)


def test_pull_verifies_the_checksum(s3_server, artifact_factory, tmp_path):
    store = _store(s3_server)
    directory = artifact_factory("pull-1")
    registry.push(store, directory)
    pulled = registry.pull(store, "pull-1", tmp_path / "out")
    assert (tmp_path / "out" / "model.skops").read_bytes() == (directory / "model.skops").read_bytes()
    assert json.loads((tmp_path / "out" / "metadata.json").read_text())["version"] == "pull-1"
    assert pulled.sha256 == json.loads((directory / "metadata.json").read_text())["sha256"]


def test_pull_of_a_tampered_model_fails_and_leaves_no_model_file(s3_server, artifact_factory, tmp_path):
    store = _store(s3_server)
    registry.push(store, artifact_factory("tampered-1"))
    store.put_bytes(M.CATALOG_BUCKET, "models/tampered-1/model.skops", b"not the model that was trained")
    with pytest.raises(VerificationFailed, match="checksum mismatch"):
        registry.pull(store, "tampered-1", tmp_path / "out")
    assert not (tmp_path / "out" / "model.skops").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


def test_missing_version_and_missing_model_file(s3_server, artifact_factory, tmp_path):
    store = _store(s3_server)
    with pytest.raises(NotFound, match="model version nope-1 not found"):
        registry.pull(store, "nope-1", tmp_path / "a")
    registry.push(store, artifact_factory("half-1"))
    store.delete(M.CATALOG_BUCKET, "models/half-1/model.skops")
    with pytest.raises(NotFound, match=r"model\.skops is missing"):
        registry.pull(store, "half-1", tmp_path / "b")
    [half] = [v for v in registry.list_models(store).versions if v.version == "half-1"]
    assert not half.complete


def test_bad_credentials_are_refused(s3_server, artifact_factory):
    wrong_secret = M.Credentials(s3_server.admin.access_key_id, "not-the-secret")
    with pytest.raises(Forbidden, match="refused the credentials"):
        registry.push(_store(s3_server, wrong_secret), artifact_factory("badcreds-1"))
    unknown_key = M.Credentials("AKIAUNKNOWNKEY000000", "whatever")
    with pytest.raises(Forbidden):
        registry.list_models(_store(s3_server, unknown_key))


def test_unreachable_store_is_a_typed_error(artifact_factory):
    store = Boto3ObjectStore(f"http://127.0.0.1:{free_port()}", "a", "b", timeout=1)
    with pytest.raises(ClusterUnreachable, match="cannot reach the object store"):
        registry.push(store, artifact_factory("unreachable-1"))


def test_tenants_cannot_read_each_others_buckets(s3_server, artifact_factory, tmp_path):
    admin = _store(s3_server)
    registry.push(admin, artifact_factory("iso-a"), tenant="tenant-a")
    registry.push(admin, artifact_factory("iso-b"), tenant="tenant-b")
    tenant_a = _store(s3_server, s3_server.tenants["tenant-a"])
    tenant_b = _store(s3_server, s3_server.tenants["tenant-b"])

    # Each tenant reads and lists its own bucket ...
    assert registry.pull(tenant_a, "iso-a", tmp_path / "a", tenant="tenant-a").version == "iso-a"
    assert [v.version for v in registry.list_models(tenant_b, tenant="tenant-b").versions] == ["iso-b"]
    # ... and neither the other's objects, nor the other's listing, nor writes to its own bucket.
    with pytest.raises(Forbidden):
        registry.pull(tenant_b, "iso-a", tmp_path / "b", tenant="tenant-a")
    with pytest.raises(Forbidden):
        tenant_a.list_objects(M.tenant_bucket("tenant-b"))
    with pytest.raises(Forbidden):
        registry.push(tenant_a, artifact_factory("iso-a2"), tenant="tenant-a")
    with pytest.raises(Forbidden):
        tenant_a.get_bytes(M.CATALOG_BUCKET, "models/iso-a/metadata.json")


def test_tenant_copy_comes_from_the_catalog_and_is_verified(s3_server, artifact_factory, tmp_path):
    admin = _store(s3_server)
    registry.push(admin, artifact_factory("copy-1"))
    uri, copied = registry.ensure_tenant_copy(admin, "tenant-b", "copy-1")
    assert (uri, copied) == (f"s3://{M.tenant_bucket('tenant-b')}/models/copy-1", True)
    assert registry.ensure_tenant_copy(admin, "tenant-b", "copy-1") == (uri, False)
    tenant_b = _store(s3_server, s3_server.tenants["tenant-b"])
    assert registry.pull(tenant_b, "copy-1", tmp_path / "b", tenant="tenant-b").version == "copy-1"
    with pytest.raises(NotFound, match="neither in tenant-b's bucket nor in the catalog"):
        registry.ensure_tenant_copy(admin, "tenant-b", "never-pushed")


def test_a_directory_whose_checksum_does_not_match_is_refused_before_any_upload(s3_server, artifact_factory):
    store = _store(s3_server)
    directory = artifact_factory("mismatch-1")
    (directory / "model.skops").write_bytes((directory / "model.skops").read_bytes() + b"\0")
    with pytest.raises(UsageError, match="checksum mismatch"):
        registry.push(store, directory)
    assert not [v for v in registry.list_models(store).versions if v.version == "mismatch-1"]
