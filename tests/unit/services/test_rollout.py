"""Waits report the pods' causes as they appear, fail fast on an image that does not exist, and name the fix:
the failures seen on a real adopted cluster, reproduced with pods shaped as its kubelet wrote them."""

from __future__ import annotations

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ClusterError
from mlopsctl.manifests.tenant import TenantSpec
from mlopsctl.progress import NullStatus
from mlopsctl.services import rollout
from mlopsctl.services import tenant as tenant_service
from tests.unit.analysis.pod_shapes import (
    LABELS,
    NAMESPACE,
    crash_looping_pod,
    image_pull_pod,
    pull_failed_event,
    quota_replicaset,
)

IMAGE = "mlopsctl/inference:0.1.0"


class Recording(NullStatus):
    def __init__(self):
        self.notes: list[str] = []

    def note(self, message):
        self.notes.append(message)


class StuckCluster(FakeKubeApi):
    """A Deployment that never becomes available, with the pods the kubelet reports; counts the polls."""

    def __init__(self, pods=(), events=(), replicasets=(), deployment_status=None, **kwargs):
        super().__init__(**kwargs)
        self.polls = 0
        self.add({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": c.APP_NAME, "namespace": NAMESPACE, "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": {k: LABELS[k] for k in (c.NAME_LABEL, c.INSTANCE_LABEL)}}},
            "status": deployment_status or {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                                            "availableReplicas": 0, "unavailableReplicas": 2},
        })  # fmt: skip
        for obj in (*pods, *events, *replicasets):
            self.add(obj)

    def wait_for(self, api_version, kind, name, namespace, condition, timeout):
        self.polls += 1
        return super().wait_for(api_version, kind, name, namespace, condition, timeout)


def test_an_image_the_registry_lacks_fails_fast_with_the_kubelets_words_and_the_fix():
    """The adopted-cluster failure: ErrImagePull "not found"; before, `tenant add` waited out its timeout and
    said only "exceeded its progress deadline"."""
    api = StuckCluster(pods=[image_pull_pod("inference-7c9f-a", IMAGE, reason="ErrImagePull")])
    status = Recording()

    with pytest.raises(rollout.RolloutFailed) as caught:
        rollout.wait_for_deployment(api, NAMESPACE, c.APP_NAME, 300, status, poll=5, grace=20)

    error = caught.value
    assert error.outcome == "fatal"
    assert api.polls == 4  # 20 s of grace, not 300 s
    assert "cannot roll out" in error.message
    assert "docker.io/mlopsctl/inference:0.1.0: not found" in error.message
    assert "push it" in error.hint and "--image" in error.hint
    assert any("ErrImagePull" in note for note in status.notes)  # reported as soon as it appeared


def test_a_cause_is_reported_once_however_long_the_wait():
    api = StuckCluster(pods=[crash_looping_pod("inference-7c9f-a", IMAGE)])
    api.logs[(NAMESPACE, "inference-7c9f-a")] = ["INFO starting", "ERROR cannot load the model"]
    status = Recording()
    with pytest.raises(rollout.RolloutFailed) as caught:
        rollout.wait_for_deployment(api, NAMESPACE, c.APP_NAME, 30, status, poll=5)
    assert caught.value.outcome == "timeout"
    assert "did not finish rolling out within 30s: pod inference-7c9f-a: CrashLoopBackOff" in caught.value.message
    assert "ERROR cannot load the model" in caught.value.message
    assert sum("CrashLoopBackOff" in note for note in status.notes) == 1


def test_image_pull_backoff_alone_is_not_fatal_but_its_event_is():
    backoff = image_pull_pod("inference-7c9f-a", IMAGE, reason="ImagePullBackOff")
    with pytest.raises(rollout.RolloutFailed) as waited:
        rollout.wait_for_deployment(StuckCluster(pods=[backoff]), NAMESPACE, c.APP_NAME, 40, NullStatus())
    assert waited.value.outcome == "timeout"

    with_event = StuckCluster(pods=[backoff], events=[pull_failed_event("inference-7c9f-a", NAMESPACE, IMAGE)])
    with pytest.raises(rollout.RolloutFailed) as fast:
        rollout.wait_for_deployment(with_event, NAMESPACE, c.APP_NAME, 300, NullStatus())
    assert fast.value.outcome == "fatal" and with_event.polls == 4


def test_a_full_quota_is_named_from_the_replicaset():
    api = StuckCluster(replicasets=[quota_replicaset("inference-7c9f")])
    with pytest.raises(rollout.RolloutFailed) as caught:
        rollout.wait_for_deployment(api, NAMESPACE, c.APP_NAME, 10, NullStatus())
    assert "QuotaExceeded" in caught.value.message and "exceeded quota: compute" in caught.value.message
    assert "--quota-pods" in caught.value.hint


def test_a_progress_deadline_names_the_pod_cause_not_only_the_deployments():
    deadline = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 0,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": 'ReplicaSet "inference-7c9f" has timed out progressing.'}]}  # fmt: skip
    api = StuckCluster(
        pods=[image_pull_pod("inference-7c9f-a", IMAGE, reason="ImagePullBackOff")], deployment_status=deadline
    )
    with pytest.raises(rollout.RolloutFailed) as caught:
        rollout.wait_for_deployment(api, NAMESPACE, c.APP_NAME, 300, NullStatus())
    assert caught.value.outcome == "deadline" and api.polls == 1
    assert "exceeded its progress deadline: pod inference-7c9f-a: ImagePullBackOff" in caught.value.message


def test_a_rollout_without_causes_keeps_the_generic_hint():
    with pytest.raises(rollout.RolloutFailed) as caught:
        rollout.wait_for_deployment(StuckCluster(), NAMESPACE, c.APP_NAME, 5, NullStatus(), hint="look here")
    assert caught.value.message == f"Deployment {NAMESPACE}/{c.APP_NAME} did not finish rolling out within 5s"
    assert caught.value.hint == "look here"


def test_tenant_add_reports_the_cause_and_exits_5():
    """`tenant add` with an image nobody pushed: the error says which image and how to fix it."""
    api = StuckCluster(pods=[image_pull_pod("inference-7c9f-a", IMAGE, reason="ErrImagePull")])
    del api.objects[api.key("apps/v1", "Deployment", c.APP_NAME, NAMESPACE)]  # tenant add creates it

    with pytest.raises(ClusterError) as caught:
        tenant_service.add_tenant(api, TenantSpec.create(NAMESPACE, image=IMAGE), NullStatus(), timeout=300)
    assert caught.value.exit_code == 5
    assert "not found" in caught.value.message and "push it" in caught.value.hint
    assert api.polls == 4


def test_a_statefulset_wait_names_its_pods_causes():
    """monitoring install waits on StatefulSets and DaemonSets too: their timeout says what the pods say."""
    api = StuckCluster(pods=[image_pull_pod("prometheus-0", "quay.io/prometheus/prometheus:v2", reason="ErrImagePull")])
    api.add({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "prometheus", "namespace": NAMESPACE},
             "spec": {"selector": {"matchLabels": {c.INSTANCE_LABEL: NAMESPACE}}}})  # fmt: skip
    said, hint = rollout.workload_causes(api, "apps/v1", "StatefulSet", "prometheus", NAMESPACE)
    assert "pod prometheus-0: ErrImagePull" in said and hint is not None and "push it" in hint
    assert rollout.workload_causes(api, "apps/v1", "StatefulSet", "absent", NAMESPACE) == ("", None)
