"""`mlopsctl storage ...` through the real CLI entry point, with the in-memory Kubernetes API behind it."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as C
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ExitCode


@pytest.fixture
def api(monkeypatch, adapters):
    api = FakeKubeApi()
    api.add(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "tenant-a", "labels": {C.MANAGED_BY_LABEL: "mlopsctl", C.TENANT_LABEL: "tenant-a"}},
        }
    )
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda *args, **kwargs: api)
    adapters.http_probe = lambda url: url == "http://127.0.0.1:30333/healthz"
    return api


def test_install_then_status_as_json(cli, api):
    result = cli("-o", "json", "storage", "install", "--no-wait")
    assert result.exit_code == ExitCode.OK, result.stderr
    data = json.loads(result.stdout)
    assert data["engine"] == "seaweedfs" and data["tenants"] == ["tenant-a"]
    assert data["isolation"].startswith("enforced")
    from mlopsctl.manifests.storage import ADMIN_SECRET, decode_secret

    admin = decode_secret(api.get("v1", "Secret", ADMIN_SECRET, C.STORAGE_NAMESPACE))
    assert admin["AWS_SECRET_ACCESS_KEY"] not in result.stdout + result.stderr  # no key material printed
    status = json.loads(cli("-o", "json", "storage", "status").stdout)
    assert status["installed"] and status["host_endpoint"] == "http://127.0.0.1:30333"
    assert status["host_reachable"] is True
    assert api.get("v1", "Secret", C.MODEL_STORE_SECRET, "tenant-a") is not None


def test_install_table_and_minio_warning(cli, api):
    image = "registry.example.com/minio:RELEASE.2025-04-22T22-12-26Z"
    result = cli("--no-color", "storage", "install", "--no-wait", "--engine", "minio", "--image", image)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "NOT enforced" in result.stdout
    assert "isolation in the store is not enforced" in result.stderr
    rerun = cli("-o", "json", "storage", "install", "--no-wait")
    assert rerun.exit_code == ExitCode.OK, rerun.stderr
    assert json.loads(rerun.stdout)["engine"] == "minio"  # nothing given: the installed engine stays
    switch = cli("storage", "install", "--no-wait", "--engine", "seaweedfs")
    assert switch.exit_code == ExitCode.USAGE and "runs minio" in switch.stderr


def test_minio_without_an_image_is_a_usage_error(cli, api):
    result = cli("storage", "install", "--engine", "minio")
    assert result.exit_code == ExitCode.USAGE
    assert "mlopsctl: error: the minio engine needs --image" in result.stderr
    assert "hint:" in result.stderr


def test_status_before_install(cli, api):
    result = cli("storage", "status")
    assert result.exit_code == ExitCode.OK
    assert "storage install" in result.stdout


def test_uninstall_asks_unless_told(cli, api):
    assert cli("storage", "install", "--no-wait").exit_code == ExitCode.OK
    refused = cli("storage", "uninstall", input="n\n")
    assert refused.exit_code == ExitCode.ERROR  # a "no" exits 1, as every other prompt does
    assert "hint: pass --yes, or --keep-data" in refused.stderr
    assert api.get("v1", "Namespace", C.STORAGE_NAMESPACE) is not None
    done = cli("-o", "json", "storage", "uninstall", "--yes")
    assert done.exit_code == ExitCode.OK, done.stderr
    assert "Namespace/object-store" in json.loads(done.stdout)["deleted"]
    assert api.get("v1", "Namespace", C.STORAGE_NAMESPACE) is None
