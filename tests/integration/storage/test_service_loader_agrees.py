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
