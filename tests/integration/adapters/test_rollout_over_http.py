"""The adopted-cluster failures, reproduced through the real kubernetes adapter and the HTTP fake API server: the
pod-level causes are read over the wire (pods by the Deployment's selector, ReplicaSets, events), the image a
tenant runs comes from the cluster's record, and a namespace being deleted is left out instead of answering 403."""

from __future__ import annotations

import pytest

from mlopsctl import constants as c
from mlopsctl.errors import Forbidden, PrerequisiteMissing
from mlopsctl.manifests.tenant import TenantSpec
from mlopsctl.progress import NullStatus
from mlopsctl.services import namespaces, platform_image, rollout, tenant_spec
from mlopsctl.services import tenant as tenant_service
from tests.unit.analysis.pod_shapes import NAMESPACE, image_pull_pod, pull_failed_event, quota_replicaset

pytestmark = pytest.mark.integration

PUSHED = "localhost:5000/mlopsctl/inference:0.1.0-abc123"
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"}, "spec": {"providerID": "aws:///i-1"}}


def test_the_causes_of_a_stuck_rollout_are_read_over_http_and_named(server, api):
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": c.APP_NAME, "namespace": NAMESPACE, "generation": 2},
        "spec": {"replicas": 2, "selector": {"matchLabels": {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: NAMESPACE}}},
        "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 0,
                   "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                   "message": 'ReplicaSet "inference-7c9f" has timed out progressing.'}]},
    }  # fmt: skip
    base = f"/api/v1/namespaces/{NAMESPACE}"
    server.objects[f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{c.APP_NAME}"] = deployment
    pod = image_pull_pod("inference-7c9f-a", PUSHED, reason="ImagePullBackOff")
    server.objects[f"{base}/pods/inference-7c9f-a"] = pod
    server.objects[f"{base}/events/inference-7c9f-a.1"] = pull_failed_event("inference-7c9f-a", NAMESPACE, PUSHED)
    server.objects[f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets/inference-7c9f"] = quota_replicaset("x")
    other = image_pull_pod("someone-else", PUSHED, reason="ErrImagePull")
    other["metadata"]["labels"] = {"app": "other"}
    server.objects[f"{base}/pods/someone-else"] = other

    with pytest.raises(rollout.RolloutFailed) as caught:
        rollout.wait_for_deployment(api, NAMESPACE, c.APP_NAME, 60, NullStatus())

    message = caught.value.message
    assert caught.value.outcome == "deadline"
    assert f'pod inference-7c9f-a: ImagePullBackOff: Failed to pull image "{PUSHED}"' in message
    assert f"{PUSHED}: not found" in message and "exceeded quota: compute" in message
    assert "someone-else" not in message
    listed = {(r.path, tuple(r.query.get("labelSelector", []))) for r in server.requests if r.method == "GET"}
    selector = f"{c.INSTANCE_LABEL}={NAMESPACE},{c.NAME_LABEL}={c.APP_NAME}"
    assert (f"{base}/pods", (selector,)) in listed
    assert (f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets", (selector,)) in listed
    assert (f"{base}/events", ()) in listed


def test_tenant_add_on_an_adopted_cluster_runs_the_recorded_image_or_applies_nothing(server, api):
    server.objects["/api/v1/nodes/worker-1"] = NODE
    with pytest.raises(PrerequisiteMissing):
        tenant_spec.resolve(api, "tenant-c", {})
    assert not [r for r in server.requests if r.method == "PATCH"]

    platform_image.record_platform_image(api, platform_image.PlatformImage(PUSHED, "registry"))
    resolved = tenant_spec.resolve(api, "tenant-c", {"max_replicas": 4})
    tenant_service.add_tenant(api, resolved.spec, NullStatus(), wait=False)

    patches = {r.body["kind"]: r.body for r in server.requests if r.method == "PATCH"}
    assert patches["ConfigMap"]["metadata"]["namespace"] == c.SYSTEM_NAMESPACE
    assert patches["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"] == PUSHED

    again = tenant_spec.resolve(api, "tenant-c", {})  # read back from the Namespace annotation over HTTP
    assert again.spec == TenantSpec.create("tenant-c", image=PUSHED, max_replicas=4) and again.changes == []


def test_a_namespace_being_deleted_is_left_out_rather_than_answering_403(server, api):
    labels = {c.MANAGED_BY_LABEL: c.MANAGED_BY, c.TENANT_LABEL: "x"}
    for name, phase in (("tenant-a", "Active"), ("tenant-gone", "Terminating")):
        server.objects[f"/api/v1/namespaces/{name}"] = {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels},
            "status": {"phase": phase},
        }  # fmt: skip
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "tenant-gone"}}
    with pytest.raises(Forbidden, match="because it is being terminated"):
        api.apply(secret)  # what `storage install` used to run into
    assert namespaces.live_tenant_names(api) == ["tenant-a"]
