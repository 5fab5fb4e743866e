"""What `model push` and `tenant set-model` write is what the inference service's s3:// loader reads, with the
tenant's own credentials and nothing else."""

from __future__ import annotations

import pytest

from inference.artifact import ModelLoadError
from inference.loader import loader_for
from mlopsctl.adapters.s3 import Boto3ObjectStore
from mlopsctl.manifests import storage as M
from mlopsctl.services import model_registry as registry

pytestmark = pytest.mark.integration


def _pod_env(server, tenant):
    """The environment a tenant pod gets from its model-store-credentials Secret (endpoint: the test server)."""
    values = M.decode_secret(M.tenant_secret(tenant, server.tenants[tenant]))
    values["S3_ENDPOINT_URL"] = server.endpoint
    return values


def test_the_service_loads_a_version_copied_for_its_tenant(s3_server, artifact_factory):
    admin = Boto3ObjectStore(s3_server.endpoint, s3_server.admin.access_key_id, s3_server.admin.secret_access_key)
    registry.push(admin, artifact_factory("agree-1"))
    uri, _ = registry.ensure_tenant_copy(admin, "tenant-a", "agree-1")

    model = loader_for(uri, _pod_env(s3_server, "tenant-a"))()
    assert model.version == "agree-1"
    assert model.pipeline.predict(["love it"])[0] in model.classes

    with pytest.raises(ModelLoadError, match="refused access"):
        loader_for(uri, _pod_env(s3_server, "tenant-b"))()
    with pytest.raises(ModelLoadError, match="not found"):
        loader_for(M.model_uri(M.tenant_bucket("tenant-a"), "agree-404"), _pod_env(s3_server, "tenant-a"))()


def test_the_rendered_pod_loads_its_version_from_the_mounted_secret_files(s3_server, artifact_factory, tmp_path):
    """The Deployment `tenant add --model` renders: its *_FILE variables and Secret volume, materialised here as
    the kubelet would (one file per key under the mount path), are all the service needs to load the model."""
    from mlopsctl import constants as C
    from mlopsctl.manifests.tenant import TenantSpec, render_tenant

    admin = Boto3ObjectStore(s3_server.endpoint, s3_server.admin.access_key_id, s3_server.admin.secret_access_key)
    registry.push(admin, artifact_factory("agree-files-1"))
    uri, _ = registry.ensure_tenant_copy(admin, "tenant-a", "agree-files-1")
    spec = TenantSpec.create("tenant-a", model_uri=uri, model_version="agree-files-1")
    deployment = next(o for o in render_tenant(spec) if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == C.MODEL_STORE_SECRET]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    secret = M.tenant_secret("tenant-a", s3_server.tenants["tenant-a"])
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]

    root = tmp_path / "pod"
    directory = root / mount["mountPath"].lstrip("/")
    directory.mkdir(parents=True)

    def mount_secret(tenant):
        for key, value in _pod_env(s3_server, tenant).items():
            (directory / key).write_text(value)

    mount_secret("tenant-a")
    assert all("valueFrom" not in e for e in container["env"])
    env = {e["name"]: e["value"] for e in container["env"]}
    env = {k: str(root / v.lstrip("/")) if k.endswith("_FILE") else v for k, v in env.items()}

    model = loader_for(env["MODEL_URI"], env)()
    assert model.version == "agree-files-1"
    mount_secret("tenant-b")  # the files now hold the other tenant's key, which the store refuses for this bucket
    with pytest.raises(ModelLoadError, match="refused access"):
        loader_for(env["MODEL_URI"], env)()
