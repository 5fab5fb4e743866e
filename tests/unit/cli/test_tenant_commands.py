"""`tenant add|remove|list|status` through the real CLI, with the Kubernetes API replaced by the in-memory fake."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ExitCode, Forbidden
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.services import tenant as service

SERVED = {(o["apiVersion"], o["kind"]) for o in render_tenant(TenantSpec.create("x"))} | set(service.TENANT_KINDS)
SERVED -= {("monitoring.coreos.com/v1", "ServiceMonitor")}
SERVED |= {("v1", "Pod")}


class RolloutFake(FakeKubeApi):
    def apply(self, obj, *, force=False, dry_run=False):
        result = super().apply(obj, force=force, dry_run=dry_run)
        if obj["kind"] == "Deployment" and not dry_run:
            meta = obj["metadata"]
            stored = self.objects[self.key("apps/v1", "Deployment", meta["name"], meta["namespace"])]
            stored["status"] = {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        return result


KIND_NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "mlopsctl-control-plane"},
             "spec": {"providerID": "kind://docker/mlopsctl/mlopsctl-control-plane"}}  # fmt: skip


@pytest.fixture
def api(monkeypatch):
    """A Kind cluster (its node says so), where the version tag `cluster up` loads is what tenants run."""
    fake = RolloutFake(served_kinds=set(SERVED))
    fake.add(dict(KIND_NODE))
    seen = {}

    def connect(context=None, kubeconfig=None, **kwargs):
        seen["args"] = (context, kubeconfig)
        return fake

    monkeypatch.setattr("mlopsctl.adapters.kube.connect", connect)
    fake.seen = seen
    return fake


def test_add_applies_and_prints_the_objects_and_next_steps(cli, api):
    result = cli("--context", "kind-mlopsctl", "tenant", "add", "tenant-c", "--max-replicas", "4")

    assert result.exit_code == ExitCode.OK, result.stderr
    assert api.seen["args"] == ("kind-mlopsctl", None)
    assert "HorizontalPodAutoscaler" in result.stdout and "applied" in result.stdout
    assert "port-forward svc/inference" in result.stdout
    hpa = api.get("autoscaling/v2", "HorizontalPodAutoscaler", "inference", "tenant-c")
    assert hpa["spec"]["maxReplicas"] == 4


def test_add_json_output_is_the_result_object(cli, api):
    result = cli("-o", "json", "tenant", "add", "tenant-c", "--dry-run", "client")

    assert result.exit_code == ExitCode.OK, result.stderr
    data = json.loads(result.stdout)
    assert data["dry_run"] == "client"
    assert data["objects"][0] == {"kind": "Namespace", "name": "tenant-c", "namespace": None, "action": "would apply"}
    assert list(api.objects) == [("v1", "Node", None, "mlopsctl-control-plane")]  # nothing was written


def test_diff_prints_a_unified_diff(cli, api):
    assert cli("tenant", "add", "tenant-c").exit_code == ExitCode.OK
    result = cli("tenant", "add", "tenant-c", "--max-replicas", "3", "--diff")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "+  maxReplicas: 3" in result.stdout


def test_bad_input_is_a_usage_error(cli, api):
    assert cli("tenant", "add", "tenant-c", "--dry-run", "maybe").exit_code == ExitCode.USAGE
    bad_name = cli("tenant", "add", "Tenant_C")
    assert bad_name.exit_code == ExitCode.USAGE
    assert "DNS-1123" in bad_name.stderr
    assert api.calls == []


def test_unmanaged_namespace_is_refused_with_a_hint(cli, api):
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-c"}})
    result = cli("tenant", "add", "tenant-c")
    assert result.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "mlopsctl: error: namespace tenant-c exists and is not managed by mlopsctl" in result.stderr
    assert "hint:" in result.stderr and "--adopt" in result.stderr


def test_apply_failing_midway_exits_5_and_says_what_was_applied(cli, api):
    api.fail_apply_at = 3
    api.fail_apply_with = Forbidden("forbidden: roles.rbac.authorization.k8s.io")
    result = cli("tenant", "add", "tenant-c")
    assert result.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "failed after applied 2 of" in result.stderr
    assert "re-run the same command" in result.stderr
    assert "Traceback" not in result.stderr
    assert cli("tenant", "add", "tenant-c").exit_code == ExitCode.OK


def test_ctrl_c_during_the_wait_exits_130_with_a_note(cli, api, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "wait_for", interrupted)
    result = cli("tenant", "add", "tenant-c")
    assert result.exit_code == ExitCode.INTERRUPTED == 130
    assert "objects of tenant tenant-c were applied" in result.stderr


def test_remove_asks_unless_yes_and_refuses_unmanaged(cli, api):
    assert cli("tenant", "add", "tenant-c").exit_code == ExitCode.OK

    declined = cli("tenant", "remove", "tenant-c", input="n\n")
    assert declined.exit_code == ExitCode.ERROR
    assert api.get("v1", "Namespace", "tenant-c") is not None

    removed = cli("tenant", "remove", "tenant-c", "--yes")
    assert removed.exit_code == ExitCode.OK, removed.stderr
    assert "tenant tenant-c removed" in removed.stdout
    assert api.get("v1", "Namespace", "tenant-c") is None

    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    refused = cli("tenant", "remove", "payments", "--yes")
    assert refused.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "not managed by mlopsctl" in refused.stderr
    assert api.get("v1", "Namespace", "payments") is not None


def test_list_and_status(cli, api):
    for name in ("tenant-a", "tenant-b"):
        assert cli("tenant", "add", name).exit_code == ExitCode.OK

    listed = cli("-o", "json", "tenant", "list")
    assert listed.exit_code == ExitCode.OK, listed.stderr
    rows = json.loads(listed.stdout)["tenants"]
    assert [(r["name"], r["ready"], r["hpa_min"], r["hpa_max"]) for r in rows] == [
        ("tenant-a", 1, 2, 10),
        ("tenant-b", 1, 2, 10),
    ]
    table = cli("tenant", "list")
    assert "tenant-a" in table.stdout and "NAME" in table.stdout

    status = cli("tenant", "status", "tenant-a")
    assert status.exit_code == ExitCode.OK, status.stderr
    assert f"http://inference.tenant-a.svc:{c.SERVICE_PORT}" in status.stdout

    missing = cli("tenant", "status", "tenant-z")
    assert missing.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "tenant tenant-z not found" in missing.stderr


def test_no_kubeconfig_is_a_clear_error(cli, tmp_path):
    result = cli("--kubeconfig", str(tmp_path / "nope"), "tenant", "list")
    assert result.exit_code == ExitCode.CLUSTER_UNREACHABLE
    assert "no kubeconfig found" in result.stderr
    assert "hint: create a cluster with `mlopsctl cluster up`" in result.stderr


def _image(api, tenant):
    deployment = api.get("apps/v1", "Deployment", "inference", tenant)
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_re_adding_keeps_earlier_options_and_reset_drops_them(cli, api):
    pushed = "localhost:5000/mlopsctl/inference:0.1.0-abc"
    added = cli("tenant", "add", "tenant-b", "--image", pushed, "--max-replicas", "4", "--cpu-limit", "1")
    assert added.exit_code == ExitCode.OK, added.stderr

    again = cli("-o", "json", "tenant", "add", "tenant-b", "--min-replicas", "3")
    assert again.exit_code == ExitCode.OK, again.stderr
    assert json.loads(again.stdout)["spec_changes"][0] == "min_replicas: 2 -> 3"
    hpa = api.get("autoscaling/v2", "HorizontalPodAutoscaler", "inference", "tenant-b")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 4)
    assert _image(api, "tenant-b") == pushed

    diff = cli("tenant", "add", "tenant-b", "--reset", "--diff")
    assert diff.exit_code == ExitCode.OK, diff.stderr
    assert "tenant tenant-b: max_replicas: 4 -> 10" in diff.stderr  # the spec difference, then the object diff
    assert "+  maxReplicas: 10" in diff.stdout
    assert _image(api, "tenant-b") == pushed  # --diff changes nothing

    reset = cli("tenant", "add", "tenant-b", "--reset")
    assert reset.exit_code == ExitCode.OK, reset.stderr
    assert _image(api, "tenant-b") == c.DEFAULT_IMAGE  # this fake is a Kind cluster: the loaded version tag


def test_add_on_an_adopted_cluster_uses_the_registry_setting(cli, api):
    api.objects.clear()  # no Kind node, no record: only the registry setting says what the nodes can pull
    result = cli("tenant", "add", "tenant-c", env={"MLOPSCTL_REGISTRY": "localhost:5000"})
    assert result.exit_code == ExitCode.OK, result.stderr
    assert _image(api, "tenant-c") == f"localhost:5000/{c.DEFAULT_IMAGE}"

    refused = cli("tenant", "add", "tenant-d")
    assert refused.exit_code == ExitCode.PREREQUISITE_MISSING
    assert "no inference image is known for this cluster" in refused.stderr
    assert api.get("v1", "Namespace", "tenant-d") is None


def test_status_names_why_pods_do_not_run(cli, api):
    from tests.unit.analysis.pod_shapes import image_pull_pod

    assert cli("tenant", "add", "tenant-c").exit_code == ExitCode.OK
    api.add(image_pull_pod("inference-7c9f-a", "mlopsctl/inference:0.1.0", reason="ErrImagePull"))
    status = cli("tenant", "status", "tenant-c")
    assert status.exit_code == ExitCode.OK, status.stderr
    assert "problem: pod inference-7c9f-a: ErrImagePull" in status.stdout
    data = json.loads(cli("-o", "json", "tenant", "status", "tenant-c").stdout)
    assert "docker.io/mlopsctl/inference:0.1.0: not found" in data["problems"][0]
