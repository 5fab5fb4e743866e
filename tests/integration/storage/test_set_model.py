"""`tenant set-model` end to end below the cluster: a real S3 server (moto) and the in-memory Kubernetes API."""

from __future__ import annotations

import pytest

from mlopsctl import constants as C
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.adapters.s3 import Boto3ObjectStore
from mlopsctl.errors import MlopsctlError, NotFound
from mlopsctl.manifests import storage as M
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.services import model_registry as registry
from mlopsctl.services import storage

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster():
    api = FakeKubeApi(controllers=True)
    for obj in render_tenant(TenantSpec.create("tenant-a")):
        api.apply(obj)
    storage.install_storage(api, spec=M.StoreSpec(), wait=False)
    return api


def _admin(server):
    return Boto3ObjectStore(server.endpoint, server.admin.access_key_id, server.admin.secret_access_key, timeout=5)


def _served(api):
    deployment = api.get("apps/v1", "Deployment", C.APP_NAME, "tenant-a")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    return env["MODEL_URI"], env["MODEL_VERSION"], [e for e in env if e.startswith("AWS_ACCESS_KEY_ID")]


def test_set_model_pins_a_catalog_version_and_rolls_back(cluster, s3_server, artifact_factory):
    store = _admin(s3_server)
    registry.push(store, artifact_factory("setm-1"))
    registry.push(store, artifact_factory("setm-2"))

    first = registry.set_model(cluster, store, "tenant-a", "setm-1", timeout=5)
    assert first.previous_version == C.DEFAULT_MODEL_VERSION and first.copied_from_catalog and first.rolled_out
    uri, version, secret_env = _served(cluster)
    assert (uri, version) == ("s3://models-tenant-a/models/setm-1", "setm-1")
    assert secret_env == ["AWS_ACCESS_KEY_ID_FILE"]  # the pods read the tenant's own credentials, from files
    namespace = cluster.get("v1", "Namespace", "tenant-a")
    assert (
        TenantSpec.from_json(namespace["metadata"]["annotations"][C.TENANT_SPEC_ANNOTATION]).model_version == "setm-1"
    )

    second = registry.set_model(cluster, store, "tenant-a", "setm-2", timeout=5)
    assert second.previous_version == "setm-1"
    back = registry.set_model(cluster, store, "tenant-a", "setm-1", timeout=5)
    assert (back.previous_version, back.copied_from_catalog) == ("setm-2", False)
    assert _served(cluster)[1] == "setm-1"

    listed = registry.list_models(store, tenants=("tenant-a",), usage=registry.served_versions(cluster))
    users = {(v.tenant, v.version): v.used_by for v in listed.versions}
    assert users[("tenant-a", "setm-1")] == ["tenant-a"]
    assert users[(None, "setm-1")] == [] and users[("tenant-a", "setm-2")] == []


def test_a_missing_version_changes_nothing(cluster, s3_server):
    before = cluster.get("apps/v1", "Deployment", C.APP_NAME, "tenant-a")
    with pytest.raises(NotFound, match="neither in tenant-a's bucket nor in the catalog"):
        registry.set_model(cluster, _admin(s3_server), "tenant-a", "never-pushed", timeout=5)
    assert cluster.get("apps/v1", "Deployment", C.APP_NAME, "tenant-a") == before


def test_a_failed_rollout_is_reported_with_the_rollback_command(cluster, s3_server, artifact_factory):
    store = _admin(s3_server)
    registry.push(store, artifact_factory("setm-bad"))
    cluster.rollout_failure = 'ReplicaSet "inference-x" has timed out progressing.'
    with pytest.raises(MlopsctlError, match="rollout of model setm-bad failed: ReplicaSet") as caught:
        registry.set_model(cluster, store, "tenant-a", "setm-bad", timeout=5)
    assert "the previous pods keep serving" in caught.value.message
    assert "tenant set-model tenant-a" in caught.value.hint


def test_an_unknown_tenant_is_not_found(cluster, s3_server):
    with pytest.raises(NotFound, match="tenant nobody not found"):
        registry.set_model(cluster, _admin(s3_server), "nobody", "setm-1", timeout=5)


def test_a_new_tenant_with_a_model_gets_its_bucket_credentials_and_version(s3_server, artifact_factory):
    """What `tenant add T --model VERSION` does: pin_model on a spec whose namespace does not exist yet."""
    api = FakeKubeApi(controllers=True)
    storage.install_storage(api, spec=M.StoreSpec(), wait=False)
    store = _admin(s3_server)
    registry.push(store, artifact_factory("new-1"))

    result = registry.pin_model(api, store, TenantSpec.create("tenant-c"), "new-1", timeout=5)
    assert result.uri == "s3://models-tenant-c/models/new-1" and result.rolled_out
    secret = M.decode_secret(api.get("v1", "Secret", C.MODEL_STORE_SECRET, "tenant-c"))
    identities = M.decode_secret(api.get("v1", "Secret", M.CONFIG_SECRET, C.STORAGE_NAMESPACE))[M.CONFIG_FILE]
    assert secret["AWS_ACCESS_KEY_ID"] in identities and "Read:models-tenant-c" in identities
    policy = api.get("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-tenants", C.STORAGE_NAMESPACE)
    assert "tenant-c" in policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
