"""The object store's rendered objects: schema-valid, hardened, isolated, and naming what the service reads."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as C
from mlopsctl.errors import UsageError
from mlopsctl.manifests import storage as M
from tests.unit.manifests.schemas import VERSIONS, schema_errors, validate_with_library

ADMIN = M.Credentials("ADMINKEY", "admin-secret")
TENANTS = {"tenant-a": M.Credentials("AKEY", "a-secret"), "tenant-b": M.Credentials("BKEY", "b-secret")}
MINIO = "registry.example.com/minio:RELEASE.2025-04-22T22-12-26Z"


def _render(**spec):
    spec.setdefault("tenants", tuple(TENANTS))
    spec.setdefault("node_cidrs", ("172.18.0.2/32", "172.18.0.3/32"))
    return M.render_store(M.StoreSpec(**spec), ADMIN, TENANTS)


def _by_kind(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert found, f"no {kind} {name or ''}"
    return found[0]


@pytest.mark.parametrize("engine,image", [("seaweedfs", None), ("minio", MINIO)])
@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_is_schema_valid(engine, image, version):
    for obj in _render(engine=engine, image=image):
        assert schema_errors(obj, version) == []


def test_the_library_entry_point_agrees_once_per_kind():
    seen = set()
    for obj in _render():
        if obj["kind"] not in seen:
            seen.add(obj["kind"])
            validate_with_library(obj, VERSIONS[-1])
    assert len(seen) == 7


def test_object_set_and_labels():
    objects = _render()
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Namespace", C.STORAGE_NAMESPACE),
        ("ServiceAccount", "object-store"),
        ("Secret", M.ADMIN_SECRET),
        ("Secret", M.CONFIG_SECRET),
        ("PersistentVolumeClaim", M.PVC_NAME),
        ("NetworkPolicy", "default-deny-all"),
        ("NetworkPolicy", "allow-s3-from-tenants"),
        ("NetworkPolicy", "allow-s3-from-nodes"),
        ("Deployment", "object-store"),
        ("Service", "object-store"),
    ]
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels[C.MANAGED_BY_LABEL] == "mlopsctl" and labels[C.PART_OF_LABEL] == "mlopsctl"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == C.STORAGE_NAMESPACE
    assert _by_kind(objects, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pod_is_hardened_and_uses_the_claim_and_s3_port():
    deployment = _by_kind(_render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["image"] == M.SEAWEEDFS_IMAGE and not M.SEAWEEDFS_IMAGE.endswith(":latest")
    assert container["ports"] == [{"name": "s3", "containerPort": C.STORAGE_S3_PORT, "protocol": "TCP"}]
    assert f"-s3.port={C.STORAGE_S3_PORT}" in container["args"]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert {"readinessProbe", "livenessProbe", "startupProbe"} <= set(container)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == M.PVC_NAME
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # a ReadWriteOnce claim has one writer


def test_claim_uses_the_default_storage_class_unless_one_is_named():
    assert "storageClassName" not in _by_kind(_render(), "PersistentVolumeClaim")["spec"]
    pvc = _by_kind(_render(storage_class="fast", storage_size="20Gi"), "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == "fast"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_service_is_a_fixed_nodeport_on_the_s3_port():
    service = _by_kind(_render(), "Service")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [
        {"name": "s3", "protocol": "TCP", "port": C.STORAGE_S3_PORT, "targetPort": "s3", "nodePort": 30333}
    ]


def test_network_policies_admit_only_tenant_namespaces_and_nodes_on_the_s3_port():
    objects = _render()
    deny = _by_kind(objects, "NetworkPolicy", "default-deny-all")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    tenants = _by_kind(objects, "NetworkPolicy", "allow-s3-from-tenants")["spec"]
    [rule] = tenants["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": C.STORAGE_S3_PORT}]
    [peer] = rule["from"]
    assert peer == {
        "namespaceSelector": {
            "matchExpressions": [{"key": C.NAMESPACE_NAME_LABEL, "operator": "In", "values": ["tenant-a", "tenant-b"]}]
        }
    }
    nodes = _by_kind(objects, "NetworkPolicy", "allow-s3-from-nodes")["spec"]["ingress"][0]
    assert nodes["from"] == [{"ipBlock": {"cidr": "172.18.0.2/32"}}, {"ipBlock": {"cidr": "172.18.0.3/32"}}]
    for policy in [o for o in objects if o["kind"] == "NetworkPolicy"]:
        assert "0.0.0.0/0" not in json.dumps(policy)


def test_no_tenants_and_no_nodes_render_no_empty_rules():
    objects = M.render_store(M.StoreSpec(), ADMIN, {})
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "NetworkPolicy"]
    assert names == ["default-deny-all"]


def test_identities_limit_each_tenant_to_reading_its_own_bucket():
    config = json.loads(M.seaweedfs_identities(ADMIN, TENANTS))
    by_name = {i["name"]: i for i in config["identities"]}
    assert by_name["mlopsctl-admin"]["actions"] == ["Admin", "Read", "Write", "List", "Tagging"]
    assert by_name["tenant-tenant-a"]["actions"] == ["Read:models-tenant-a", "List:models-tenant-a"]
    assert by_name["tenant-tenant-b"]["credentials"] == [{"accessKey": "BKEY", "secretKey": "b-secret"}]
    secret = _by_kind(_render(), "Secret", M.CONFIG_SECRET)
    assert json.loads(M.decode_secret(secret)[M.CONFIG_FILE]) == config


def test_a_new_identity_changes_the_pod_hash_and_restarts_the_store():
    def pod_hash(tenants):
        objects = M.render_store(M.StoreSpec(tenants=tuple(tenants)), ADMIN, tenants)
        return _by_kind(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"][C.CONFIG_HASH_ANNOTATION]

    assert pod_hash(TENANTS) == pod_hash(dict(TENANTS))
    assert pod_hash(TENANTS) != pod_hash({"tenant-a": TENANTS["tenant-a"]})


def test_minio_needs_an_image_and_reads_root_credentials_from_the_admin_secret():
    with pytest.raises(UsageError, match="needs --image"):
        M.render_store(M.StoreSpec(engine="minio"), ADMIN, {})
    objects = _render(engine="minio", image=MINIO)
    [container] = _by_kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == MINIO
    assert ["--address", f":{C.STORAGE_S3_PORT}"] == container["args"][2:4]
    env = {e["name"]: e.get("valueFrom") for e in container["env"]}
    assert env["MINIO_ROOT_USER"] == {"secretKeyRef": {"name": M.ADMIN_SECRET, "key": "AWS_ACCESS_KEY_ID"}}
    assert not [o for o in objects if o["metadata"]["name"] == M.CONFIG_SECRET]
    assert not M.StoreSpec(engine="minio", image=MINIO).isolation_enforced


@pytest.mark.parametrize(
    "image", ["seaweedfs", "chrislusf/seaweedfs:latest", "chrislusf/seaweedfs", "UPPER/case:1", "a b:1"]
)
def test_floating_or_malformed_images_are_refused(image):
    with pytest.raises(UsageError, match="invalid image reference"):
        M.validate(M.StoreSpec(image=image))


def test_unknown_engine_and_bad_node_port_are_refused():
    with pytest.raises(UsageError, match="unknown storage engine"):
        M.validate(M.StoreSpec(engine="garage"))
    with pytest.raises(UsageError, match="outside 30000-32767"):
        M.validate(M.StoreSpec(node_port=8333))


def test_secrets_hold_base64_data_never_plain_text():
    objects = _render()
    for secret in [o for o in objects if o["kind"] == "Secret"]:
        assert "stringData" not in secret
        assert "admin-secret" not in json.dumps(secret)
    assert M.decode_secret(_by_kind(objects, "Secret", M.ADMIN_SECRET)) == {
        "AWS_ACCESS_KEY_ID": "ADMINKEY",
        "AWS_SECRET_ACCESS_KEY": "admin-secret",
    }
    assert "admin-secret" not in repr(ADMIN)


def test_tenant_secret_carries_the_keys_the_tenant_pods_mount():
    secret = M.tenant_secret("tenant-a", TENANTS["tenant-a"])
    assert secret["metadata"]["name"] == C.MODEL_STORE_SECRET and secret["metadata"]["namespace"] == "tenant-a"
    values = M.decode_secret(secret)
    assert tuple(values) == C.MODEL_STORE_SECRET_KEYS
    assert values["S3_ENDPOINT_URL"] == f"http://object-store.object-store.svc.cluster.local:{C.STORAGE_S3_PORT}"
    assert values["AWS_ACCESS_KEY_ID"] == "AKEY"
    assert schema_errors(secret, VERSIONS[-1]) == []


def test_bucket_names_fit_s3_rules_even_for_long_tenant_names():
    assert M.tenant_bucket("tenant-a") == "models-tenant-a"
    long_a, long_b = "a" * 60 + "-x1", "a" * 60 + "-x2"
    assert len(M.tenant_bucket(long_a)) <= 63 and M.tenant_bucket(long_a) != M.tenant_bucket(long_b)
    with pytest.raises(UsageError):
        M.tenant_bucket("Tenant_A")


def test_model_uris_round_trip_and_versions_are_label_values():
    uri = M.model_uri("models-tenant-a", "20261127-abc")
    assert uri == "s3://models-tenant-a/models/20261127-abc"
    assert M.parse_model_uri(uri) == ("models-tenant-a", "20261127-abc")
    assert M.parse_model_uri("/opt/mlopsctl/model") is None
    for bad in ("", "-v1", "v1-", "a/b", "x" * 64):
        with pytest.raises(UsageError, match="invalid model version"):
            M.validate_version(bad)
