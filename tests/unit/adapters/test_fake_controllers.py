"""The fake API's controllers: what services wait for happens as a cluster's controllers would make it happen."""

from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.analysis import workload


def deployment(replicas=None):
    spec = {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "x"}}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "t"}, "spec": spec}


def job():
    template = {"metadata": {"labels": {"app": "load"}}, "spec": {"containers": [{"name": "gen", "image": "i"}]}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "run", "namespace": "t"},
            "spec": {"template": template}}  # fmt: skip


def test_without_controllers_objects_stay_as_applied():
    api = FakeKubeApi()
    api.apply(deployment(2))
    api.apply(job())
    assert "status" not in api.get("apps/v1", "Deployment", "web", "t")
    assert api.list("v1", "Pod", "t") == []


def test_a_deployment_rolls_out_at_once_and_a_changed_spec_is_a_new_generation():
    api = FakeKubeApi(controllers=True)
    api.apply(deployment(3))
    first = api.get("apps/v1", "Deployment", "web", "t")
    assert workload.rollout_state(first).complete
    assert first["status"]["readyReplicas"] == 3
    api.apply(deployment(3))
    assert api.get("apps/v1", "Deployment", "web", "t")["metadata"]["generation"] == 1
    api.apply(deployment(4))
    second = api.get("apps/v1", "Deployment", "web", "t")
    assert second["metadata"]["generation"] == 2
    assert second["status"]["observedGeneration"] == 2
    assert second["status"]["readyReplicas"] == 4


def test_a_failing_rollout_gives_up_as_the_deployment_controller_does():
    api = FakeKubeApi(controllers=True, rollout_failure='ReplicaSet "web-1" has timed out progressing.')
    api.apply(deployment())
    state = workload.rollout_state(api.get("apps/v1", "Deployment", "web", "t"))
    assert not state.complete
    assert "timed out progressing" in (state.failure or "")


def test_a_dry_run_runs_no_controller():
    api = FakeKubeApi(controllers=True)
    api.apply(deployment(), dry_run=True)
    assert api.get("apps/v1", "Deployment", "web", "t") is None


def test_an_apiservice_becomes_available():
    api = FakeKubeApi(controllers=True)
    api.apply({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1beta1.m"}})
    conditions = api.get("apiregistration.k8s.io/v1", "APIService", "v1beta1.m")["status"]["conditions"]
    assert {"type": "Available", "status": "True"} in conditions


def test_a_new_job_gets_one_pod_labelled_with_its_name_and_the_kubelets_status():
    api = FakeKubeApi(controllers=True, kubelet=lambda pod: {"phase": "Running", "podIP": "10.0.0.9"})
    api.apply(job())
    api.apply(job())  # applying the Job again creates no second pod
    pods = api.list("v1", "Pod", "t", label_selector="job-name=run")
    assert [pod["metadata"]["name"] for pod in pods] == ["run-pod0"]
    assert pods[0]["metadata"]["labels"]["app"] == "load"
    assert pods[0]["status"] == {"phase": "Running", "podIP": "10.0.0.9"}
    assert pods[0]["spec"]["containers"][0]["name"] == "gen"


def test_a_job_pod_is_pending_without_a_kubelet():
    api = FakeKubeApi(controllers=True)
    api.apply(job())
    assert api.list("v1", "Pod", "t")[0]["status"] == {"phase": "Pending"}
