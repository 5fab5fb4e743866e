"""`tenant kubeconfig` through the real kubernetes adapter and the HTTP fake API server: the TokenRequest on the
wire, the refusals (404, 403, 422) as typed errors, and a kubeconfig that really authenticates as the tenant's
tenant-owner account against the same server."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from mlopsctl import constants as c
from mlopsctl.adapters.kube import KubernetesApi, connect, load_configuration
from mlopsctl.errors import ExitCode, Forbidden, NotFound, PrerequisiteMissing, UsageError
from mlopsctl.manifests.tenant import TenantSpec
from mlopsctl.progress import NullStatus
from mlopsctl.services import tenant as tenant_service
from mlopsctl.services.tenant_kubeconfig import issue_kubeconfig
from tests.integration.adapters.fake_apiserver import FakeApiServer

pytestmark = pytest.mark.integration

TOKEN_PATH = f"/api/v1/namespaces/tenant-c/serviceaccounts/{c.TENANT_OWNER}/token"


@pytest.fixture
def tenant(server, api):
    tenant_service.add_tenant(api, TenantSpec.create("tenant-c", owners=["user:alice"]), NullStatus(), wait=False)
    server.requests.clear()
    return "tenant-c"


def test_a_token_request_is_posted_to_the_accounts_token_subresource(server, api, tenant):
    issued = api.request_token(tenant, c.TENANT_OWNER, 3600)

    [request] = [r for r in server.requests if r.method == "POST"]
    assert request.path == TOKEN_PATH
    assert request.body == {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    assert issued.token == "token-for-tenant-c-tenant-owner-1"
    assert issued.expires.endswith("Z")
    assert server.tokens_issued == [(tenant, c.TENANT_OWNER, 3600)]
    # No Secret is ever written for it.
    assert not [r for r in server.requests if r.method == "PATCH" or "/secrets" in r.path]


def test_the_kubeconfig_authenticates_as_the_account_in_the_tenant_namespace(server, api, tenant, tmp_path):
    result, config = issue_kubeconfig(api, tenant, 1800)
    assert result.service_account == f"{tenant}/{c.TENANT_OWNER}"
    assert config["contexts"][0]["context"]["namespace"] == tenant
    path = tmp_path / "owner.kubeconfig"
    path.write_text(yaml.safe_dump(config))

    owner_api = connect(kubeconfig=str(path), request_timeout=10)
    server.requests.clear()
    owner_api.list("apps/v1", "Deployment", tenant)

    [request] = [r for r in server.requests if r.path.endswith("/deployments")]
    assert request.path == f"/apis/apps/v1/namespaces/{tenant}/deployments"
    headers = {key.lower(): value for key, value in request.headers.items()}
    assert headers["authorization"] == "Bearer token-for-tenant-c-tenant-owner-1"


def test_a_server_without_the_token_api_is_a_missing_prerequisite(server, api, tenant):
    server.token_api = False
    with pytest.raises(NotFound):
        api.request_token(tenant, c.TENANT_OWNER, 3600)
    with pytest.raises(PrerequisiteMissing) as caught:
        issue_kubeconfig(api, tenant, 3600)
    assert caught.value.exit_code == ExitCode.PREREQUISITE_MISSING
    assert "cannot issue service account tokens" in caught.value.message
    assert "never falls back to a long-lived token Secret" in caught.value.hint


def test_forbidden_token_requests_exit_5_naming_the_permission(server, api, tenant):
    server.failures[TOKEN_PATH] = FakeApiServer.status(
        403, "Forbidden", 'serviceaccounts "tenant-owner" is forbidden: User "bob" cannot create resource '
        '"serviceaccounts/token" in API group "" in the namespace "tenant-c"'
    )  # fmt: skip
    with pytest.raises(Forbidden) as caught:
        issue_kubeconfig(api, tenant, 3600)
    assert caught.value.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert 'User "bob" cannot create' in caught.value.message
    assert "create serviceaccounts/token" in caught.value.hint


def test_the_server_refuses_tokens_shorter_than_ten_minutes(server, api, tenant):
    with pytest.raises(UsageError) as caught:
        api.request_token(tenant, c.TENANT_OWNER, 60)
    assert "may not specify a duration less than 10 minutes" in caught.value.message


def test_a_missing_account_is_named_before_any_token_is_asked(server, api, tenant):
    del server.objects[f"/api/v1/namespaces/{tenant}/serviceaccounts/{c.TENANT_OWNER}"]
    with pytest.raises(NotFound) as caught:
        issue_kubeconfig(api, tenant, 3600)
    assert "has no tenant-owner service account" in caught.value.message
    assert not [r for r in server.requests if r.method == "POST"]


def test_the_endpoint_carries_the_current_contexts_server_and_ca(tmp_path):
    ca = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "real",
                "cluster": {
                    "server": "https://10.0.0.1:6443",
                    "certificate-authority-data": base64.b64encode(ca).decode(),
                    "tls-server-name": "kubernetes.default",
                    "proxy-url": "http://127.0.0.1:3128",
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": "admin-token"}}],
        "contexts": [{"name": "real", "context": {"cluster": "real", "user": "admin"}}],
        "current-context": "real",
    }
    path = tmp_path / "config"
    path.write_text(json.dumps(kubeconfig))

    endpoint = KubernetesApi(load_configuration(None, str(path))).endpoint()

    assert endpoint.server == "https://10.0.0.1:6443"
    assert base64.b64decode(endpoint.certificate_authority_data or "") == ca
    assert endpoint.tls_server_name == "kubernetes.default"
    assert endpoint.insecure_skip_tls_verify is False
    assert endpoint.proxy_url == "http://127.0.0.1:3128"
