"""The model registry's pure parts: artifact checks, rollout judgement, which tenant serves what."""

from __future__ import annotations

import hashlib
import json

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from mlopsctl import constants as C
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.adapters.s3 import map_errors
from mlopsctl.analysis import workload
from mlopsctl.errors import ClusterError, Conflict, Forbidden, MlopsctlError, NotFound, UsageError
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.services import model_registry as registry


def _artifact(tmp_path, version="v1", model=b"model-bytes", **metadata):
    (tmp_path / "model.skops").write_bytes(model)
    data = {
        "version": version,
        "sha256": hashlib.sha256(model).hexdigest(),
        "classes": ["negative", "positive"],
        "libraries": {"scikit-learn": "1.5.0"},
        **metadata,
    }
    (tmp_path / "metadata.json").write_text(json.dumps(data))
    return tmp_path


def test_a_good_artifact_is_read(tmp_path):
    artifact = registry.read_artifact(_artifact(tmp_path))
    assert (artifact.version, artifact.size) == ("v1", len(b"model-bytes"))


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: (d / "model.skops").unlink(), "model.skops is missing"),
        (lambda d: (d / "metadata.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "metadata.json").write_text('{"version": "v1"}'), "lacks sha256"),
        (lambda d: (d / "model.skops").write_bytes(b"changed"), "checksum mismatch"),
    ],
)
def test_a_bad_artifact_is_refused_with_a_usage_error(tmp_path, change, message):
    directory = _artifact(tmp_path)
    change(directory)
    with pytest.raises(UsageError, match=message):
        registry.read_artifact(directory)


def test_a_version_that_cannot_be_a_label_is_refused(tmp_path):
    with pytest.raises(UsageError, match="invalid model version"):
        registry.read_artifact(_artifact(tmp_path, version="v1-"))
    with pytest.raises(UsageError, match="not a directory"):
        registry.read_artifact(tmp_path / "absent")


def _deployment(generation=2, observed=2, replicas=2, updated=2, available=2, conditions=()):
    return {
        "metadata": {"generation": generation},
        "spec": {},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "conditions": list(conditions),
        },
    }


def test_rollout_judgement_is_the_shared_rule():
    def judged(deployment):
        state = workload.rollout_state(deployment)
        return state.complete, state.failure

    assert judged(_deployment()) == (True, None)
    assert judged(_deployment(observed=1)) == (False, None)
    assert judged(_deployment(replicas=3)) == (False, None)  # old pods still around
    assert judged(_deployment(available=1)) == (False, None)
    stuck = {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "timed out"}
    assert judged(_deployment(conditions=[stuck])) == (False, "timed out")
    assert judged(None) == (False, None)


def test_served_versions_come_from_the_pod_templates():
    api = FakeKubeApi()
    for spec in (
        TenantSpec.create("tenant-a", model_uri="s3://models-tenant-a/models/v2", model_version="v2"),
        TenantSpec.create("tenant-b"),
    ):
        for obj in render_tenant(spec):
            api.apply(obj)
    assert registry.served_versions(api) == {
        "tenant-a": ("v2", "s3://models-tenant-a/models/v2"),
        "tenant-b": (C.DEFAULT_MODEL_VERSION, C.DEFAULT_MODEL_URI),
    }


def test_headline_metrics_read_the_service_format_and_flat_numbers():
    nested = {"heldout": {"accuracy": 0.9, "f1_macro": 0.89, "confusion": [[1, 0], [0, 1]]}, "selected": "svm"}
    assert registry._headline_metrics(nested) == {"accuracy": 0.9, "f1_macro": 0.89}
    assert registry._headline_metrics({"accuracy": 0.8, "ok": True}) == {"accuracy": 0.8}
    assert registry._headline_metrics(None) == {}


def _client_error(code):
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, "GetObject")


@pytest.mark.parametrize(
    "raised,expected",
    [
        (_client_error("AccessDenied"), Forbidden),
        (_client_error("InvalidAccessKeyId"), Forbidden),
        (_client_error("NoSuchKey"), NotFound),
        (_client_error("BucketAlreadyExists"), Conflict),
        (_client_error("SlowDown"), MlopsctlError),
        (NoCredentialsError(), UsageError),
    ],
)
def test_botocore_errors_become_typed_errors(raised, expected):
    with pytest.raises(expected) as caught, map_errors("http://127.0.0.1:1", "reading s3://b/k"):
        raise raised
    assert type(caught.value) is expected
    assert caught.value.message.startswith("reading s3://b/k")


def _pod(name, version, ready, waiting=None):
    state = {"waiting": waiting} if waiting else {"running": {}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "tenant-a",
            "labels": {C.INSTANCE_LABEL: "tenant-a"},
            "annotations": {C.MODEL_VERSION_ANNOTATION: version},
        },
        "status": {"containerStatuses": [{"name": C.APP_NAME, "ready": ready, "state": state}]},
    }


def test_a_stuck_rollout_names_the_pod_and_why():
    api = FakeKubeApi()
    api.add(_pod("inference-old", "v1", ready=True))
    api.add(_pod("inference-new", "v2", ready=False))
    api.logs[("tenant-a", "inference-new")] = [
        "INFO starting",
        "ERROR model load failed: model was trained with scikit-learn 0.1.0, but this service runs 1.5.2",
        "INFO still serving /healthz",
    ]
    assert registry.unready_reason(api, "tenant-a", "v2") == (
        "pod inference-new: ERROR model load failed: model was trained with scikit-learn 0.1.0, but this service "
        "runs 1.5.2"
    )
    assert registry.unready_reason(api, "tenant-a", "v1") is None
    pulling = {"reason": "CreateContainerConfigError", "message": 'secret "model-store-credentials" not found'}
    api.add(_pod("inference-new", "v2", ready=False, waiting=pulling))
    assert registry.unready_reason(api, "tenant-a", "v2") == (
        'pod inference-new: CreateContainerConfigError: secret "model-store-credentials" not found'
    )


def test_a_crash_looping_pod_reports_its_last_termination_message():
    api = FakeKubeApi()
    pod = _pod("inference-new", "v2", ready=False, waiting={"reason": "CrashLoopBackOff", "message": "back-off 40s"})
    pod["status"]["containerStatuses"][0]["lastState"] = {
        "terminated": {"exitCode": 1, "message": "INFO start\nERROR model artifact not found: s3://b/models/v2\n"}
    }
    api.add(pod)
    assert registry.unready_reason(api, "tenant-a", "v2") == (
        "pod inference-new: CrashLoopBackOff: ERROR model artifact not found: s3://b/models/v2"
    )


def test_the_timeout_message_carries_the_reason_and_the_rollback_command():
    api = FakeKubeApi()
    api.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": C.APP_NAME, "namespace": "tenant-a"}})
    api.add(_pod("inference-new", "v2", ready=False, waiting={"reason": "ImagePullBackOff"}))
    with pytest.raises(MlopsctlError) as caught:
        registry.wait_for_rollout(api, "tenant-a", "v2", timeout=1, previous="v1")
    assert "did not become ready with model v2 within 1s (pod inference-new: ImagePullBackOff)" in caught.value.message
    assert "the previous pods keep serving" in caught.value.message
    assert "`mlopsctl tenant set-model tenant-a v1`" in caught.value.hint


def test_a_new_tenant_whose_version_does_not_load_is_not_told_to_roll_back():
    """`tenant add T --model V` on a new tenant: no earlier pods serve it, so there is nothing to roll back to."""
    api = FakeKubeApi()
    api.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": C.APP_NAME, "namespace": "tenant-c"}})
    with pytest.raises(MlopsctlError) as caught:
        registry.wait_for_rollout(api, "tenant-c", "v2", timeout=1, previous=None)
    assert "the tenant is new, so no pod serves it yet" in caught.value.message
    assert "keep serving" not in caught.value.message
    assert "`mlopsctl tenant set-model tenant-c VERSION`" in caught.value.hint
    assert "`mlopsctl tenant remove tenant-c`" in caught.value.hint


def test_set_model_refuses_a_tenant_that_is_being_deleted():
    api = FakeKubeApi()
    for obj in render_tenant(TenantSpec.create("tenant-a")):
        api.apply(obj)
    namespace = api.objects[api.key("v1", "Namespace", "tenant-a", None)]
    namespace["status"] = {"phase": "Terminating"}
    with pytest.raises(ClusterError, match="tenant tenant-a is being deleted"):
        registry.set_model(api, store=None, tenant="tenant-a", version="v2")  # type: ignore[arg-type]
