"""`mlopsctl tenant add T --model VERSION` through the real CLI: a real S3 server (moto on 127.0.0.1) and the
in-memory Kubernetes API. The version is found, copied into the tenant's bucket and verified before anything on
the cluster changes; a bad or missing one fails with one line, a hint and its exit code."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as C
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.adapters.s3 import Boto3ObjectStore
from mlopsctl.errors import ExitCode
from mlopsctl.manifests import storage as M
from mlopsctl.services import platform_image, storage

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(monkeypatch, s3_server):
    """A cluster with the object store installed; its admin key pair is the S3 server's admin."""
    api = FakeKubeApi(controllers=True)
    storage.install_storage(api, spec=M.StoreSpec(), wait=False, credentials=lambda: s3_server.admin)
    # What `cluster up` leaves behind: the image the nodes can run, which a new tenant gets.
    platform_image.record_platform_image(api, platform_image.PlatformImage(C.DEFAULT_IMAGE, "kind"))
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda *args, **kwargs: api)
    return api


@pytest.fixture
def endpoint(s3_server):
    return {"MLOPSCTL_S3_ENDPOINT": s3_server.endpoint}  # the NodePort is not mapped in these tests


@pytest.fixture
def admin(s3_server):
    return Boto3ObjectStore(s3_server.endpoint, s3_server.admin.access_key_id, s3_server.admin.secret_access_key)


def _tenant_changes(api) -> list:
    """Requests that changed something outside the object store's own namespace."""
    return [call for call in api.calls if call[0] in ("apply", "delete") and call[1][1] != C.STORAGE_NAMESPACE]


def _one_error(stderr: str, message: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("mlopsctl: error:")]
    assert len(errors) == 1 and message in errors[0], stderr
    assert any(line.startswith("hint: ") for line in stderr.splitlines()), stderr
    assert "Traceback" not in stderr


def test_add_with_a_catalog_version_copies_it_grants_access_and_serves_it(
    cli, cluster, endpoint, admin, artifact_factory
):
    from mlopsctl.services import model_registry as registry

    pushed = registry.push(admin, artifact_factory("add-1"))
    assert pushed.uploaded

    result = cli("-o", "json", "tenant", "add", "tenant-c", "--model", "add-1", "--timeout", "5", env=endpoint)

    assert result.exit_code == ExitCode.OK, result.stderr
    data = json.loads(result.stdout)
    assert data["uri"] == "s3://models-tenant-c/models/add-1"
    assert (data["version"], data["previous_version"], data["copied_from_catalog"], data["rolled_out"]) == (
        "add-1",
        None,
        True,
        True,
    )
    # The tenant's pods load that version from the tenant's own bucket, with its own key, read from files.
    deployment = cluster.get("apps/v1", "Deployment", C.APP_NAME, "tenant-c")
    template = deployment["spec"]["template"]
    env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0]["env"]}
    assert env["MODEL_URI"] == "s3://models-tenant-c/models/add-1" and env["MODEL_VERSION"] == "add-1"
    assert env["AWS_ACCESS_KEY_ID_FILE"].startswith(C.MODEL_STORE_MOUNT + "/")
    assert template["metadata"]["annotations"][C.MODEL_VERSION_ANNOTATION] == "add-1"
    secret = M.decode_secret(cluster.get("v1", "Secret", C.MODEL_STORE_SECRET, "tenant-c"))
    identities = M.decode_secret(cluster.get("v1", "Secret", M.CONFIG_SECRET, C.STORAGE_NAMESPACE))[M.CONFIG_FILE]
    assert secret["AWS_ACCESS_KEY_ID"] in identities and "Read:models-tenant-c" in identities
    assert storage.tenant_has_access(cluster, "tenant-c")
    # The copy in the tenant's bucket is verified (the service would refuse it otherwise).
    assert {item.key for item in admin.list_objects("models-tenant-c", "models")} == {
        "models/add-1/model.skops",
        "models/add-1/metadata.json",
    }
    namespace = cluster.get("v1", "Namespace", "tenant-c")
    assert json.loads(namespace["metadata"]["annotations"][C.TENANT_SPEC_ANNOTATION])["model_version"] == "add-1"

    table = cli("--no-color", "tenant", "add", "tenant-c", "--model", "add-1", "--timeout", "5", env=endpoint)
    assert table.exit_code == ExitCode.OK, table.stderr
    assert "add-1 -> add-1" in table.stdout and "models-tenant-c" in table.stdout
    assert "set-model tenant-c add-1" in table.stdout  # now there is a version to roll back to


def test_add_again_with_another_version_names_the_previous_one(cli, cluster, endpoint, admin, artifact_factory):
    from mlopsctl.services import model_registry as registry

    registry.push(admin, artifact_factory("again-1"))
    registry.push(admin, artifact_factory("again-2"))
    assert cli("tenant", "add", "tenant-c", "--model", "again-1", "--timeout", "5", env=endpoint).exit_code == 0

    result = cli("-o", "json", "tenant", "add", "tenant-c", "--model", "again-2", "--timeout", "5", env=endpoint)

    assert result.exit_code == ExitCode.OK, result.stderr
    data = json.loads(result.stdout)
    assert (data["previous_version"], data["version"]) == ("again-1", "again-2")
    assert any(change.startswith("Deployment/") for change in data["applied"])


def test_a_missing_version_fails_before_anything_changes(cli, cluster, endpoint):
    cluster.calls.clear()

    result = cli("tenant", "add", "tenant-c", "--model", "never-pushed", env=endpoint)

    assert result.exit_code == ExitCode.CLUSTER_UNREACHABLE  # 5: not found, as `model pull` reports it
    _one_error(result.stderr, "model version never-pushed is neither in tenant-c's bucket nor in the catalog")
    assert "mlopsctl model push" in result.stderr
    assert cluster.get("v1", "Namespace", "tenant-c") is None
    assert _tenant_changes(cluster) == [] and not [c for c in cluster.calls if c[0] == "apply"]


def test_a_corrupt_version_fails_with_exit_6_before_anything_changes(cli, cluster, endpoint, admin, artifact_factory):
    from mlopsctl.services import model_registry as registry

    registry.push(admin, artifact_factory("corrupt-1"))
    admin.put_bytes(M.CATALOG_BUCKET, "models/corrupt-1/model.skops", b"swapped")
    cluster.calls.clear()

    result = cli("tenant", "add", "tenant-c", "--model", "corrupt-1", env=endpoint)

    assert result.exit_code == ExitCode.VERIFICATION_FAILED
    _one_error(result.stderr, "checksum mismatch")
    assert cluster.get("v1", "Namespace", "tenant-c") is None
    assert not [c for c in cluster.calls if c[0] in ("apply", "delete")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "bad/version"], "invalid model version 'bad/version'"),
        (["--model", "v1", "--model-uri", "s3://models-tenant-c/models/v1"], "cannot be combined with --model-uri"),
        (["--model", "v1", "--model-version", "v1"], "cannot be combined with --model-version"),
        (["--model", "v1", "--dry-run", "client"], "cannot be combined with --dry-run or --diff"),
        (["--model", "v1", "--diff"], "cannot be combined with --dry-run or --diff"),
    ],
)
def test_bad_model_options_are_usage_errors_that_touch_nothing(cli, monkeypatch, args, message):
    def refuse(*args, **kwargs):
        raise AssertionError("the cluster must not be contacted")

    monkeypatch.setattr("mlopsctl.adapters.kube.connect", refuse)
    result = cli("tenant", "add", "tenant-c", *args)
    assert result.exit_code == ExitCode.USAGE
    _one_error(result.stderr, message)


def test_without_an_object_store_the_add_is_refused_before_anything_changes(cli, monkeypatch):
    api = FakeKubeApi(controllers=True)
    platform_image.record_platform_image(api, platform_image.PlatformImage(C.DEFAULT_IMAGE, "kind"))
    api.calls.clear()
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", lambda *args, **kwargs: api)

    result = cli("tenant", "add", "tenant-c", "--model", "v1")

    assert result.exit_code == ExitCode.CLUSTER_UNREACHABLE
    _one_error(result.stderr, "the object store's admin credentials were not found")
    assert "storage install" in result.stderr
    assert not [c for c in api.calls if c[0] in ("apply", "delete")]


def test_remove_revokes_what_add_granted(cli, cluster, endpoint, admin, artifact_factory):
    from mlopsctl.services import model_registry as registry

    registry.push(admin, artifact_factory("rm-1"))
    assert cli("tenant", "add", "tenant-c", "--model", "rm-1", "--timeout", "5", env=endpoint).exit_code == 0
    assert storage.tenant_has_access(cluster, "tenant-c")

    removed = cli("-o", "json", "tenant", "remove", "tenant-c", "--yes")

    assert removed.exit_code == ExitCode.OK, removed.stderr
    data = json.loads(removed.stdout)
    assert data["removed"] and data["store_access_revoked"]
    assert "object-store access was revoked" in data["note"]
    identities = M.decode_secret(cluster.get("v1", "Secret", M.CONFIG_SECRET, C.STORAGE_NAMESPACE))[M.CONFIG_FILE]
    assert "models-tenant-c" not in identities
    assert not storage.tenant_has_access(cluster, "tenant-c")
