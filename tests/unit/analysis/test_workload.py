"""Reading workload objects: the rollout rule, the tenant spec annotation, the service URL and the causes pods do
not run, on objects shaped as a v1.28 kubelet, scheduler and ReplicaSet controller write them."""

from __future__ import annotations

import pytest

from mlopsctl import constants as c
from mlopsctl.analysis import workload
from tests.unit.analysis.pod_shapes import (
    crash_looping_pod,
    image_pull_pod,
    missing_secret_pod,
    pull_failed_event,
    quota_replicaset,
    unschedulable_pod,
)

IMAGE = "localhost:5000/mlopsctl/inference:0.1.0"


def deployment(generation=1, observed=1, wanted=2, replicas=2, updated=2, available=2, conditions=()):
    return {
        "metadata": {"name": "inference", "namespace": "tenant-c", "generation": generation},
        "spec": {"replicas": wanted},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "conditions": list(conditions),
        },
    }


DEADLINE = {
    "type": "Progressing",
    "status": "False",
    "reason": "ProgressDeadlineExceeded",
    "message": 'ReplicaSet "inference-7c9f" has timed out progressing.',
}


@pytest.mark.parametrize(
    ("obj", "complete", "failure"),
    [
        (deployment(), True, None),
        (deployment(generation=2, observed=1), False, None),  # the controller has not seen the new spec
        (deployment(updated=1), False, None),
        (deployment(replicas=3), False, None),  # an old pod is still terminating
        (deployment(available=1), False, None),
        (deployment(conditions=[DEADLINE]), False, DEADLINE["message"]),
        (deployment(generation=2, observed=1, conditions=[DEADLINE]), False, None),  # stale condition: not yet
        (None, False, None),
    ],
)
def test_rollout_state_follows_kubectl_rollout_status(obj, complete, failure):
    state = workload.rollout_state(obj)
    assert (state.complete, state.failure) == (complete, failure)


def test_rollout_progress_line():
    assert workload.rollout_state(deployment(updated=1, available=0)).progress == "1/2 updated, 0/2 available"


def test_an_image_the_registry_does_not_have_is_fatal_and_named_with_the_kubelet_message():
    pod = image_pull_pod("inference-7c9f-abcde", IMAGE, reason="ErrImagePull")
    [cause] = workload.pod_causes([pod])
    assert cause.reason == "ErrImagePull" and cause.fatal
    assert cause.image == IMAGE
    assert f"{IMAGE}: not found" in cause.message
    assert "push it" in cause.hint and "--image" in cause.hint


def test_image_pull_backoff_takes_the_registry_answer_from_the_events():
    pod = image_pull_pod("inference-7c9f-abcde", IMAGE, reason="ImagePullBackOff")
    alone = workload.pod_causes([pod])
    assert alone[0].message == f'Back-off pulling image "{IMAGE}"' and not alone[0].fatal
    [cause] = workload.pod_causes([pod], [pull_failed_event("inference-7c9f-abcde", "tenant-c", IMAGE)])
    assert cause.fatal and "not found" in cause.message


def test_an_unauthorized_pull_is_reported_but_not_fatal():
    message = (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{IMAGE}": failed to resolve reference '
        f'"{IMAGE}": pull access denied, insufficient_scope: authorization failed'
    )
    [cause] = workload.pod_causes([image_pull_pod("p", IMAGE, reason="ErrImagePull", message=message)])
    assert not cause.fatal and "cannot pull" in cause.hint


def test_a_crash_loop_carries_the_exit_code_and_the_last_log_lines():
    pod = crash_looping_pod("inference-1", IMAGE)
    assert workload.crash_looping([pod]) == ["inference-1"]
    [cause] = workload.pod_causes([pod], logs={"inference-1": ["INFO start", "ERROR model file missing"]})
    assert cause.reason == "CrashLoopBackOff" and not cause.fatal
    assert "exit code 1" in cause.message and "ERROR model file missing" in cause.message
    assert "--previous" in cause.hint


def test_a_crash_loop_without_logs_falls_back_to_the_termination_message():
    [cause] = workload.pod_causes([crash_looping_pod("inference-1", IMAGE)])
    assert "Traceback" in cause.message


def test_pending_pods_carry_the_schedulers_reason():
    cpu = unschedulable_pod("p1", "0/3 nodes are available: 1 node(s) had untolerated taint "
                            "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes "
                            "are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims.")  # fmt: skip
    [cause] = workload.pod_causes([cpu])
    assert cause.reason == "Unschedulable" and "2 Insufficient cpu" in cause.message
    assert "preemption" not in cause.message and "--cpu-request" in cause.hint
    pvc = unschedulable_pod("p2", "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")  # fmt: skip
    assert "StorageClass" in workload.pod_causes([pvc])[0].hint


def test_a_missing_secret_is_a_config_error():
    [cause] = workload.pod_causes([missing_secret_pod("p")])
    assert cause.reason == "CreateContainerConfigError"
    assert cause.message == 'secret "model-store-credentials" not found'
    assert "storage install" in cause.hint


def test_quota_refusals_come_from_the_replicaset_condition():
    [cause] = workload.pod_causes([], replicasets=[quota_replicaset("inference-7c9f")])
    assert cause.reason == "QuotaExceeded" and "exceeded quota: compute" in cause.message
    assert "--quota-pods" in cause.hint


def test_running_and_deleted_pods_have_no_cause():
    running = image_pull_pod("p", IMAGE, reason="ErrImagePull")
    running["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    going = image_pull_pod("q", IMAGE, reason="ErrImagePull")
    going["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert workload.pod_causes([running, going]) == []


def test_summary_names_each_distinct_cause_once():
    pods = [image_pull_pod(f"inference-{i}", IMAGE, reason="ErrImagePull") for i in range(2)]
    said, hint = workload.summarize(workload.pod_causes(pods))
    assert said.count("not found") == 1  # two pods, one registry answer: said once
    assert said.startswith("pod inference-0 (and 1 more pod): ErrImagePull: ")
    assert hint is not None and "push it" in hint
    assert workload.summarize([]) == ("", None)


def test_terminating_namespaces_are_left_out():
    namespaces = [
        {"metadata": {"name": "a"}, "status": {"phase": "Active"}},
        {"metadata": {"name": "b", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Terminating"}},
    ]
    assert [ns["metadata"]["name"] for ns in workload.live(namespaces)] == ["a"]


def test_tenant_spec_annotation_and_service_url():
    ns = {"metadata": {"annotations": {c.TENANT_SPEC_ANNOTATION: '{"name":"t","max_replicas":4}'}}}
    assert workload.tenant_spec_data(ns) == {"name": "t", "max_replicas": 4}
    assert workload.tenant_spec_data({"metadata": {"annotations": {c.TENANT_SPEC_ANNOTATION: "{"}}}) is None
    assert workload.tenant_spec_data(None) is None
    assert workload.service_url("tenant-c") == "http://inference.tenant-c.svc:80"
