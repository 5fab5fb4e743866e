"""The in-cluster load test through the real kubernetes adapter, against the HTTP-level fake API server: the
requests on the wire for the Job's whole life (apply, find its pod, follow its log, read the HPA, delete)."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.kube import connect
from mlopsctl.services.loadtest import LoadOptions, run_in_cluster
from tests.integration.adapters import fake_apiserver
from tests.integration.adapters.fake_apiserver import FakeApiServer
from tests.unit.services.loadtest_cluster import final, progress

pytestmark = pytest.mark.integration

JOB = "loadtest-http01"
NS = "/api/v1/namespaces/tenant-a"
POD = f"{NS}/pods/{JOB}-x7k2p"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setitem(fake_apiserver.RESOURCES, ("batch", "v1"), [("jobs", "Job", True)])
    fake = FakeApiServer().start()
    meta = {"namespace": "tenant-a", "labels": {c.MANAGED_BY_LABEL: c.MANAGED_BY, c.TENANT_LABEL: "tenant-a"}}
    fake.objects[NS] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-a", **meta}}
    fake.objects[f"/apis/apps/v1/namespaces/tenant-a/deployments/{c.APP_NAME}"] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": c.APP_NAME, **meta},
        "spec": {"template": {"spec": {"containers": [{"name": c.APP_NAME, "image": "mlopsctl/inference:0.1.0-abc"}]}}},
    }
    fake.objects[f"{NS}/services/{c.APP_NAME}"] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": c.APP_NAME, **meta},
    }
    fake.objects[f"/apis/autoscaling/v2/namespaces/tenant-a/horizontalpodautoscalers/{c.APP_NAME}"] = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": c.APP_NAME, **meta},
        "spec": {"minReplicas": 2, "maxReplicas": 10},
        "status": {"currentReplicas": 2, "desiredReplicas": 3},
    }
    # What the Job controller would create: the pod, labelled with the run, already running, and its log.
    fake.objects[POD] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{JOB}-x7k2p", "namespace": "tenant-a", "labels": {c.LOADTEST_RUN_LABEL: JOB}},
        "status": {"phase": "Running"},
    }
    fake.logs[POD] = "\n".join([progress(1), progress(2), final()]) + "\n"
    yield fake
    fake.stop()


def test_job_lifecycle_on_the_wire(server, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(server.kubeconfig())
    api = connect(context="fake", kubeconfig=str(kubeconfig), request_timeout=10)

    result = run_in_cluster(api, "tenant-a", LoadOptions(rate=100, duration=2), name=JOB, sleep=lambda s: None)

    assert result.report["requests"]["completed"] == 300
    assert [sample.desired_replicas for sample in result.hpa] == [3, 3]
    applies = [r for r in server.requests if r.method == "PATCH"]
    assert [r.path for r in applies] == [
        f"/apis/batch/v1/namespaces/tenant-a/jobs/{JOB}",
        f"/apis/networking.k8s.io/v1/namespaces/tenant-a/networkpolicies/{JOB}",
    ]
    assert all(r.headers["Content-Type"] == "application/apply-patch+yaml" for r in applies)
    assert all(r.query["fieldManager"] == [c.FIELD_MANAGER] for r in applies)
    job = applies[0].body
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "mlopsctl/inference:0.1.0-abc"
    listing = [r for r in server.requests if r.method == "GET" and r.path == f"{NS}/pods"]
    assert listing and listing[0].query["labelSelector"] == [f"{c.LOADTEST_RUN_LABEL}={JOB}"]
    [log] = [r for r in server.requests if r.path.endswith("/log")]
    assert log.path == f"{POD}/log"
    assert log.params.follow is True and log.query["container"] == [c.LOADTEST_CONTAINER]
    deletes = {r.path: r.body for r in server.requests if r.method == "DELETE"}
    assert deletes[f"/apis/batch/v1/namespaces/tenant-a/jobs/{JOB}"] == {"propagationPolicy": "Background"}
    assert f"/apis/networking.k8s.io/v1/namespaces/tenant-a/networkpolicies/{JOB}" in deletes
    assert not [path for path in server.objects if JOB in path and "/pods/" not in path]
    assert json.loads(json.dumps(result.report))  # plain data all the way


def test_an_indexed_job_of_two_workers_on_the_wire(server, tmp_path):
    from tests.unit.services.loadtest_cluster import COMPLETION_INDEX, worker_lines

    del server.objects[POD]
    for index in (0, 1):
        name = f"{JOB}-{index}-q4w8e"
        path = f"{NS}/pods/{name}"
        server.objects[path] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": "tenant-a",
                "labels": {c.LOADTEST_RUN_LABEL: JOB, COMPLETION_INDEX: str(index)},
                "annotations": {COMPLETION_INDEX: str(index)},
            },
            "status": {"phase": "Running"},
        }
        server.logs[path] = "\n".join(worker_lines(index, 2, [[1_000 * (index + 1)], [2_000]])) + "\n"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(server.kubeconfig())
    api = connect(context="fake", kubeconfig=str(kubeconfig), request_timeout=10)

    result = run_in_cluster(
        api, "tenant-a", LoadOptions(rate=100, duration=2, workers=2), name=JOB, sleep=lambda s: None
    )

    quota_reads = [r for r in server.requests if r.method == "GET" and r.path == f"{NS}/resourcequotas"]
    patches = [r for r in server.requests if r.method == "PATCH"]
    assert quota_reads and server.requests.index(quota_reads[0]) < server.requests.index(patches[0])
    spec = patches[0].body["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 2, 2)
    logs = sorted(r.path for r in server.requests if r.path.endswith("/log"))
    assert logs == [f"{NS}/pods/{JOB}-0-q4w8e/log", f"{NS}/pods/{JOB}-1-q4w8e/log"]
    assert result.report["requests"]["completed"] == 4 and len(result.report["workers"]) == 2
    assert (result.report["latency_ms"]["min"], result.report["latency_ms"]["max"]) == (1.0, 2.0)
    deleted = {r.path for r in server.requests if r.method == "DELETE"}
    assert {f"{NS}/pods/{JOB}-0-q4w8e", f"{NS}/pods/{JOB}-1-q4w8e"} <= deleted
    assert not [path for path in server.objects if JOB in path]
