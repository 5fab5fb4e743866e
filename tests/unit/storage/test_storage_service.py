"""`storage install|status|uninstall` and the tenant hooks, against the in-memory Kubernetes API."""

from __future__ import annotations

import itertools
import json

import pytest

from mlopsctl import constants as C
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ClusterError, NotFound, UsageError
from mlopsctl.manifests import storage as M
from mlopsctl.services import storage as S

MINIO = "registry.example.com/minio:RELEASE.2025-04-22T22-12-26Z"


def _counter():
    numbers = itertools.count(1)
    return lambda: M.Credentials(f"KEY{next(numbers):04d}", f"secret-{next(numbers)}")


def _tenant_namespace(api, name):
    api.add(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {C.MANAGED_BY_LABEL: "mlopsctl", C.TENANT_LABEL: name}},
        }
    )


def _node(api, name, ip):
    api.add(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]},
        }
    )


@pytest.fixture
def api():
    api = FakeKubeApi()
    _node(api, "control-plane", "172.18.0.2")
    _node(api, "worker", "172.18.0.3")
    _tenant_namespace(api, "tenant-a")
    return api


def _secret(api, name, namespace):
    return M.decode_secret(api.get("v1", "Secret", name, namespace))


def _policy(api, name):
    return api.get("networking.k8s.io/v1", "NetworkPolicy", name, C.STORAGE_NAMESPACE)


def _identities(api):
    return {
        i["name"]: i
        for i in json.loads(_secret(api, M.CONFIG_SECRET, C.STORAGE_NAMESPACE)[M.CONFIG_FILE])["identities"]
    }


def test_install_applies_the_store_and_gives_existing_tenants_their_own_credentials(api):
    result = S.install_storage(api, spec=M.StoreSpec(), wait=False, credentials=_counter())
    assert result.engine == "seaweedfs" and result.image == M.SEAWEEDFS_IMAGE
    assert result.tenants == ["tenant-a"] and result.new_credentials == ["admin", "tenant-a"]
    assert result.host_endpoint == "http://127.0.0.1:30333"
    assert "Deployment/object-store" in result.applied
    tenant_secret = _secret(api, C.MODEL_STORE_SECRET, "tenant-a")
    admin_secret = _secret(api, M.ADMIN_SECRET, C.STORAGE_NAMESPACE)
    assert tenant_secret["AWS_ACCESS_KEY_ID"] != admin_secret["AWS_ACCESS_KEY_ID"]
    assert _identities(api)["tenant-tenant-a"]["credentials"][0]["accessKey"] == tenant_secret["AWS_ACCESS_KEY_ID"]
    nodes = _policy(api, "allow-s3-from-nodes")["spec"]["ingress"][0]["from"]
    assert nodes == [{"ipBlock": {"cidr": "172.18.0.2/32"}}, {"ipBlock": {"cidr": "172.18.0.3/32"}}]


def test_reinstall_keeps_every_credential_and_the_pod_hash(api):
    S.install_storage(api, spec=M.StoreSpec(), wait=False)
    before = api.get("apps/v1", "Deployment", "object-store", C.STORAGE_NAMESPACE)
    tenant_before = _secret(api, C.MODEL_STORE_SECRET, "tenant-a")
    again = S.install_storage(api, spec=M.StoreSpec(), wait=False)
    assert again.new_credentials == []
    assert api.get("apps/v1", "Deployment", "object-store", C.STORAGE_NAMESPACE) == before
    assert _secret(api, C.MODEL_STORE_SECRET, "tenant-a") == tenant_before


def test_generated_credentials_are_random_and_shaped_like_aws_keys():
    first, second = S.generate_credentials(), S.generate_credentials()
    assert first != second
    assert len(first.access_key_id) == 20 and first.access_key_id.isupper()
    assert len(first.secret_access_key) >= 40


def test_grant_adds_a_tenant_to_identities_policy_and_its_namespace(api):
    S.install_storage(api, spec=M.StoreSpec(), wait=False)
    hash_before = api.get("apps/v1", "Deployment", "object-store", C.STORAGE_NAMESPACE)["spec"]["template"]
    _tenant_namespace(api, "tenant-b")
    access = S.grant_tenant_access(api, None, "tenant-b")
    assert access.created and access.bucket == "models-tenant-b" and access.secret == "tenant-b/model-store-credentials"
    assert set(_identities(api)) == {"mlopsctl-admin", "tenant-tenant-a", "tenant-tenant-b"}
    values = _policy(api, "allow-s3-from-tenants")["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    assert values["matchExpressions"][0]["values"] == ["tenant-a", "tenant-b"]
    assert _secret(api, C.MODEL_STORE_SECRET, "tenant-b")["AWS_ACCESS_KEY_ID"]
    hash_after = api.get("apps/v1", "Deployment", "object-store", C.STORAGE_NAMESPACE)["spec"]["template"]
    assert hash_before != hash_after  # the store restarts to read its new identities
    assert not S.grant_tenant_access(api, None, "tenant-b").created


def test_grant_before_install_says_so():
    with pytest.raises(NotFound, match="not installed"):
        S.grant_tenant_access(FakeKubeApi(), None, "tenant-a")


def test_revoke_removes_identity_policy_entry_and_secret(api):
    _tenant_namespace(api, "tenant-b")
    S.install_storage(api, spec=M.StoreSpec(), wait=False)
    api.delete("v1", "Namespace", "tenant-b")
    assert S.revoke_tenant_access(api, None, "tenant-b")
    assert set(_identities(api)) == {"mlopsctl-admin", "tenant-tenant-a"}
    values = _policy(api, "allow-s3-from-tenants")["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    assert values["matchExpressions"][0]["values"] == ["tenant-a"]
    S.revoke_tenant_access(api, None, "tenant-a")
    assert api.get("v1", "Secret", C.MODEL_STORE_SECRET, "tenant-a") is None
    assert _policy(api, "allow-s3-from-tenants") is None


def test_revoke_on_minio_keeps_the_other_tenants_admitted(api):
    """MinIO tenants have no identity of their own; removing one must not cut the others off the S3 port."""
    _tenant_namespace(api, "tenant-b")
    S.install_storage(api, spec=M.StoreSpec(engine="minio", image=MINIO), wait=False)
    assert S.tenant_has_access(api, "tenant-b")
    api.delete("v1", "Namespace", "tenant-b")
    assert S.revoke_tenant_access(api, None, "tenant-b")
    values = _policy(api, "allow-s3-from-tenants")["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    assert values["matchExpressions"][0]["values"] == ["tenant-a"]
    assert not S.tenant_has_access(api, "tenant-b") and S.tenant_has_access(api, "tenant-a")


def test_tenant_has_access_is_false_without_a_store_or_an_identity(api):
    assert not S.tenant_has_access(api, "tenant-a")
    S.install_storage(api, spec=M.StoreSpec(), wait=False)
    assert S.tenant_has_access(api, "tenant-a") and not S.tenant_has_access(api, "tenant-z")


def test_minio_tenants_get_the_admin_key_and_status_says_isolation_is_not_enforced(api):
    result = S.install_storage(api, spec=M.StoreSpec(engine="minio", image=MINIO), wait=False)
    assert result.isolation.startswith("NOT enforced")
    admin = _secret(api, M.ADMIN_SECRET, C.STORAGE_NAMESPACE)
    assert _secret(api, C.MODEL_STORE_SECRET, "tenant-a")["AWS_ACCESS_KEY_ID"] == admin["AWS_ACCESS_KEY_ID"]
    assert S.storage_status(api).isolation.startswith("NOT enforced")


def test_the_installed_spec_is_remembered_for_later_grants(api):
    S.install_storage(api, spec=M.StoreSpec(engine="minio", image=MINIO, storage_size="9Gi"), wait=False)
    _tenant_namespace(api, "tenant-b")
    S.grant_tenant_access(api, None, "tenant-b")
    deployment = api.get("apps/v1", "Deployment", "object-store", C.STORAGE_NAMESPACE)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == MINIO
    pvc = api.get("v1", "PersistentVolumeClaim", M.PVC_NAME, C.STORAGE_NAMESPACE)
    assert pvc["spec"]["resources"]["requests"]["storage"] == "9Gi"


def test_dry_run_writes_nothing(api):
    result = S.install_storage(api, spec=M.StoreSpec(), dry_run=True)
    assert result.dry_run and result.applied
    assert api.get("v1", "Namespace", C.STORAGE_NAMESPACE) is None


def test_install_waits_for_the_store_and_reports_a_stuck_one():
    ready = FakeKubeApi(controllers=True)
    assert S.install_storage(ready, spec=M.StoreSpec(), wait=True, timeout=5).ready
    with pytest.raises(ClusterError, match="not ready after 5s") as caught:
        S.install_storage(FakeKubeApi(), spec=M.StoreSpec(), wait=True, timeout=5)
    assert "StorageClass" in caught.value.hint


def test_status_reports_what_is_missing(api):
    assert not S.storage_status(api).installed
    S.install_storage(api, spec=M.StoreSpec(), wait=False)
    status = S.storage_status(api)
    assert status.installed and status.engine == "seaweedfs" and status.tenants == ["tenant-a"]
    assert "no ready store pod" in status.problems
    assert "volume claim is not bound" in status.problems
    _tenant_namespace(api, "tenant-c")  # serves the model in its image: needs no store credentials
    assert not any("tenant-c" in p for p in S.storage_status(api).problems)
    namespace = api.get("v1", "Namespace", "tenant-c")
    spec = {"name": "tenant-c", "model_uri": "s3://models-tenant-c/models/v1"}
    namespace["metadata"]["annotations"] = {C.TENANT_SPEC_ANNOTATION: json.dumps(spec)}
    api.add(namespace)
    assert any("tenant-c has no model-store-credentials" in p for p in S.storage_status(api).problems)


def test_uninstall_removes_everything_or_keeps_the_data(api):
    S.install_storage(api, spec=M.StoreSpec(), wait=False)
    kept = S.uninstall_storage(api, keep_data=True)
    assert kept.kept == [f"PersistentVolumeClaim/{M.PVC_NAME}", f"Namespace/{C.STORAGE_NAMESPACE}"]
    assert api.get("v1", "PersistentVolumeClaim", M.PVC_NAME, C.STORAGE_NAMESPACE) is not None
    assert api.get("apps/v1", "Deployment", "object-store", C.STORAGE_NAMESPACE) is None
    assert api.get("v1", "Secret", C.MODEL_STORE_SECRET, "tenant-a") is None
    S.uninstall_storage(api)
    assert api.get("v1", "Namespace", C.STORAGE_NAMESPACE) is None
    with pytest.raises(UsageError, match="not installed"):
        S.uninstall_storage(api)


def test_admin_credentials_come_from_the_cluster(api):
    with pytest.raises(NotFound, match="admin credentials"):
        S.admin_credentials(api)
    S.install_storage(api, spec=M.StoreSpec(), wait=False, credentials=_counter())
    assert S.admin_credentials(api).access_key_id == "KEY0001"


def test_cluster_installer_installs_the_default_store_for_the_tenants_already_applied():
    api = FakeKubeApi(controllers=True)
    _tenant_namespace(api, "tenant-a")
    _tenant_namespace(api, "tenant-b")
    line = S.cluster_installer(api, None)
    assert line.startswith("seaweedfs, 2 tenant(s)") and "enforced" in line
    assert _secret(api, C.MODEL_STORE_SECRET, "tenant-b")["S3_ENDPOINT_URL"] == M.in_cluster_endpoint()


def test_status_probes_the_host_endpoint_when_asked(api):
    S.install_storage(api, spec=M.StoreSpec(node_port=30444), wait=False)
    asked = []
    status = S.storage_status(api, probe=lambda url: asked.append(url) or False)
    assert asked == ["http://127.0.0.1:30444/healthz"]
    assert status.host_reachable is False
    assert any("does not answer from here" in p for p in status.problems)
    assert S.storage_status(api, probe=lambda url: True).host_reachable is True
    assert S.storage_status(api).host_reachable is None


def test_options_not_given_keep_their_installed_values_and_the_engine_cannot_switch(api):
    assert S.resolve_spec(api) == M.StoreSpec()
    S.install_storage(api, None, S.resolve_spec(api, engine="minio", image=MINIO, storage_size="7Gi"), wait=False)
    again = S.resolve_spec(api, storage_class="fast")
    assert (again.engine, again.image, again.storage_size, again.storage_class) == ("minio", MINIO, "7Gi", "fast")
    with pytest.raises(UsageError, match="runs minio") as caught:
        S.resolve_spec(api, engine="seaweedfs")
    assert "storage uninstall" in caught.value.hint


def test_install_skips_a_tenant_namespace_that_is_being_deleted(api):
    """The adopted-cluster failure: the Secret write into a Terminating namespace got 403, read as a permission."""
    _tenant_namespace(api, "tenant-gone")
    gone = api.objects[api.key("v1", "Namespace", "tenant-gone", None)]
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    gone["status"] = {"phase": "Terminating"}

    result = S.install_storage(api, spec=M.StoreSpec(), wait=False, credentials=_counter())

    assert result.tenants == ["tenant-a"]
    assert api.get("v1", "Secret", C.MODEL_STORE_SECRET, "tenant-a") is not None
    assert api.get("v1", "Secret", C.MODEL_STORE_SECRET, "tenant-gone") is None
