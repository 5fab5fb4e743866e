"""Model lifecycle on a real cluster: push two versions, pin a tenant to each, see `/` report it, roll back, and
watch a missing version change nothing.

The object store is installed if it is not (`storage install` is idempotent); its S3 API is reached on the
NodePort that Kind maps to 127.0.0.1, or at MLOPSCTL_S3_ENDPOINT. Skipped with the reason without a default
StorageClass, without an S3 endpoint on an adopted cluster, or with MLOPSCTL_E2E_MINIMAL=1 (tests/e2e/support.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlopsctl import constants as C
from mlopsctl.errors import ExitCode
from tests.e2e.support import S3_ENDPOINT, global_flags, unique, wait_namespace_gone

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_storage")]

TENANT = unique("models")


def _global() -> list[str]:
    return global_flags()


def _env() -> dict[str, str]:
    return {"MLOPSCTL_S3_ENDPOINT": S3_ENDPOINT} if S3_ENDPOINT else {}


@pytest.fixture(scope="module")
def api(kube):
    return kube


def _ready_pods(api) -> list[str]:
    pods = api.list("v1", "Pod", namespace=TENANT, label_selector=f"{C.INSTANCE_LABEL}={TENANT}")
    names = []
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        conditions = {c["type"]: c["status"] for c in (pod.get("status") or {}).get("conditions") or []}
        if conditions.get("Ready") == "True":
            names.append(pod["metadata"]["name"])
    return names


def _served_versions(api) -> set[str]:
    """`GET /` from inside every ready pod (pod-local traffic, so no NetworkPolicy is involved)."""
    script = "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:%d/').read().decode())"
    versions = set()
    for pod in _ready_pods(api):
        result = api.exec(TENANT, pod, ["python", "-c", script % C.CONTAINER_PORT], container=C.APP_NAME)
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        assert info["ready"] is True
        versions.add(info["model_version"])
    return versions


def _eventually_served(api, version: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        served = _served_versions(api)
        if served == {version}:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"pods serve {served}, expected only {version}")
        time.sleep(3)


def _tenant_key_reads_only_its_own_bucket(api, version: str, tmp_path: Path) -> None:
    """The engine itself enforces the tenant identity: its own bucket readable, the catalog not, no writes."""
    from mlopsctl.adapters.s3 import Boto3ObjectStore
    from mlopsctl.errors import Forbidden
    from mlopsctl.manifests import storage as M
    from mlopsctl.services import model_registry, storage

    values = M.decode_secret(api.get("v1", "Secret", C.MODEL_STORE_SECRET, TENANT))
    endpoint = S3_ENDPOINT or storage.store_endpoints(api)[1]
    own = Boto3ObjectStore(endpoint, values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"])
    assert model_registry.pull(own, version, tmp_path / "own", tenant=TENANT).version == version
    with pytest.raises(Forbidden):
        own.get_bytes(M.CATALOG_BUCKET, f"{M.MODEL_PREFIX}/{version}/{M.METADATA_FILE}")
    with pytest.raises(Forbidden):
        own.put_bytes(M.tenant_bucket(TENANT), "written-by-tenant", b"x")


def _unloadable_copy(source: Path, target: Path, version: str) -> Path:
    """The same model file (checksum intact) with metadata that names a scikit-learn the service refuses."""
    target.mkdir()
    (target / "model.skops").write_bytes((source / "model.skops").read_bytes())
    metadata = json.loads((source / "metadata.json").read_text())
    metadata["version"] = version
    metadata["libraries"]["scikit-learn"] = "0.1.0"
    (target / "metadata.json").write_text(json.dumps(metadata))
    return target


def test_push_set_model_see_it_served_and_roll_back(cli, api, tmp_path):
    g = _global()
    installed = cli(*g, "storage", "install", "--timeout", "300")
    assert installed.exit_code == ExitCode.OK, installed.stderr

    stamp = time.strftime("%Y%m%d%H%M%S")
    first, second = f"e2e-{stamp}-1", f"e2e-{stamp}-2"
    for version in (first, second):
        directory = tmp_path / version
        trained = cli(*g, "model", "train", "--out", str(directory), "--version", version)
        assert trained.exit_code == ExitCode.OK, trained.stderr
        pushed = cli(*g, "model", "push", str(directory), env=_env())
        assert pushed.exit_code == ExitCode.OK, pushed.stderr

    try:
        added = cli(*g, "tenant", "add", TENANT, "--min-replicas", "1", "--max-replicas", "2", "--timeout", "300")
        assert added.exit_code == ExitCode.OK, added.stderr
        result = cli(*g, "tenant", "set-model", TENANT, first, "--timeout", "300", env=_env())
        assert result.exit_code == ExitCode.OK, result.stderr
        _eventually_served(api, first)

        result = cli(*g, "-o", "json", "tenant", "set-model", TENANT, second, "--timeout", "300", env=_env())
        assert result.exit_code == ExitCode.OK, result.stderr
        assert json.loads(result.stdout)["previous_version"] == first
        _eventually_served(api, second)

        _tenant_key_reads_only_its_own_bucket(api, second, tmp_path)

        listed = json.loads(cli(*g, "-o", "json", "model", "list", env=_env()).stdout)
        used = {(v["tenant"], v["version"]): v["used_by"] for v in listed["versions"]}
        assert used[(TENANT, second)] == [TENANT]

        status = cli(*g, "-o", "json", "tenant", "status", TENANT)
        assert status.exit_code == ExitCode.OK and second in status.stdout

        missing = cli(*g, "tenant", "set-model", TENANT, f"e2e-{stamp}-missing", env=_env())
        assert missing.exit_code == ExitCode.CLUSTER_UNREACHABLE  # NotFound: refused before any change
        assert "neither in" in missing.stderr
        assert _served_versions(api) == {second}

        # A version the service refuses to load (its metadata names another scikit-learn) never becomes ready:
        # the command fails with the reason and the old pods keep serving.
        bad = _unloadable_copy(tmp_path / first, tmp_path / "bad", f"e2e-{stamp}-bad")
        assert cli(*g, "model", "push", str(bad), env=_env()).exit_code == ExitCode.OK
        failed = cli(*g, "tenant", "set-model", TENANT, f"e2e-{stamp}-bad", "--timeout", "90", env=_env())
        assert failed.exit_code == ExitCode.CLUSTER_UNREACHABLE  # a rollout that did not finish, as `tenant add`
        assert "the previous pods keep serving" in failed.stderr
        assert f"tenant set-model {TENANT} {second}" in failed.stderr
        assert _served_versions(api) == {second}

        rolled_back = cli(*g, "tenant", "set-model", TENANT, first, "--timeout", "300", env=_env())
        assert rolled_back.exit_code == ExitCode.OK, rolled_back.stderr
        _eventually_served(api, first)
    finally:
        cli(*g, "tenant", "remove", TENANT, "--yes", "--timeout", "300")
        wait_namespace_gone(api, TENANT)


def test_tenant_add_with_a_model_reads_the_store_from_secret_files_and_remove_revokes_it(cli, api, tmp_path):
    """`tenant add T --model V` on a new tenant: served from the store with the key read from the mounted Secret
    (nothing secret in the environment, the files readable by the non-root service); `tenant remove` revokes the
    key in the engine itself."""
    from mlopsctl.adapters.s3 import Boto3ObjectStore
    from mlopsctl.errors import Forbidden, MlopsctlError
    from mlopsctl.manifests import storage as M
    from mlopsctl.services import storage

    g = _global()
    tenant = unique("model-add")
    assert cli(*g, "storage", "install", "--timeout", "300").exit_code == ExitCode.OK
    version = f"e2e-{time.strftime('%Y%m%d%H%M%S')}-add"
    directory = tmp_path / version
    assert cli(*g, "model", "train", "--out", str(directory), "--version", version).exit_code == ExitCode.OK
    assert cli(*g, "model", "push", str(directory), env=_env()).exit_code == ExitCode.OK

    missing = cli(*g, "tenant", "add", tenant, "--model", f"{version}-missing", env=_env())
    assert missing.exit_code == ExitCode.CLUSTER_UNREACHABLE and "neither in" in missing.stderr
    assert api.get("v1", "Namespace", tenant) is None  # refused before anything changed

    try:
        added = cli(
            *g, "-o", "json", "tenant", "add", tenant, "--model", version, "--min-replicas", "1",
            "--max-replicas", "2", "--timeout", "300", env=_env(),
        )  # fmt: skip
        assert added.exit_code == ExitCode.OK, added.stderr
        assert json.loads(added.stdout)["rolled_out"] is True
        pods = api.list("v1", "Pod", namespace=tenant, label_selector=f"{C.INSTANCE_LABEL}={tenant}")
        ready = [p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")]
        assert ready
        script = (
            "import os,json;print(json.dumps({'env':sorted(os.environ),"
            "'key':open(os.environ['AWS_ACCESS_KEY_ID_FILE']).read().strip()!=''}))"
        )
        seen = api.exec(tenant, ready[0], ["python", "-c", script], container=C.APP_NAME)
        assert seen.returncode == 0, seen.stderr
        inside = json.loads(seen.stdout)
        assert inside["key"] is True
        assert "AWS_ACCESS_KEY_ID" not in inside["env"] and "AWS_SECRET_ACCESS_KEY" not in inside["env"]
        values = M.decode_secret(api.get("v1", "Secret", C.MODEL_STORE_SECRET, tenant))
    finally:
        removed = cli(*g, "-o", "json", "tenant", "remove", tenant, "--yes", "--timeout", "300")
    assert removed.exit_code == ExitCode.OK, removed.stderr
    assert json.loads(removed.stdout)["store_access_revoked"] is True

    # The engine restarts to drop the identity; then the former key is refused.
    endpoint = S3_ENDPOINT or storage.store_endpoints(api)[1]
    former = Boto3ObjectStore(endpoint, values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"])
    deadline = time.monotonic() + 120
    while True:
        try:
            former.get_bytes(M.tenant_bucket(tenant), f"{M.MODEL_PREFIX}/{version}/{M.METADATA_FILE}")
        except Forbidden:
            break
        except MlopsctlError:
            pass  # the store is restarting
        assert time.monotonic() < deadline, "the removed tenant's key still reads its bucket"
        time.sleep(3)
