"""Live verify services against the fake API: probes and their comparison with the evaluator, SubjectAccessReviews,
HPA readiness and scaling timelines, and the evidence files."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.base import ExecResult
from mlopsctl.analysis.rbac import RbacModel, Subject
from mlopsctl.errors import NotFound
from mlopsctl.services.verify_all import verify_all, verify_isolation
from mlopsctl.services.verify_autoscaling import verify_autoscaling
from mlopsctl.services.verify_network import PROBE_SCRIPT, verify_network
from mlopsctl.services.verify_rbac import read_rbac, verify_rbac
from mlopsctl.services.verify_report import junit_xml, markdown, write_report
from tests.unit.services.verify_cluster import (
    APISERVER_IP,
    DNS_SERVICE_IP,
    POD_IP,
    SERVICE_IP,
    ScriptedNetwork,
    cluster,
)

NOW = "2026-01-01T00:00:00+00:00"


def _network(api, **options):
    sleeps: list[float] = []
    options.setdefault("sleep", sleeps.append)
    report = verify_network(api, now=lambda: NOW, **options)
    return report, sleeps


def _by_name(report, fragment):
    return [check for check in report.checks if fragment in check.name]


# --- network -------------------------------------------------------------------------------------------------


def test_enforcing_cluster_passes_with_positive_and_negative_probes():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    report, sleeps = _network(api)
    assert report.passed, [(c.name, c.observed, c.detail) for c in report.checks if not c.passed]
    assert not report.findings and sleeps == []
    names = [check.name for check in report.checks]
    assert f"tenant-a/inference-a1 -> other tenant pod tenant-b/inference-b1 {POD_IP['tenant-b']}:8080/TCP" in names
    assert f"tenant-a/inference-a1 -> API server endpoint {APISERVER_IP}:6443/TCP" in names
    assert f"tenant-b/inference-b1 -> kube-dns service kube-system/kube-dns {DNS_SERVICE_IP}:53/UDP" in names
    monitoring = _by_name(report, "monitoring/prometheus-0 -> tenant metrics")
    assert len(monitoring) == 2 and all(check.expected == "allowed" for check in monitoring)
    assert {check.expected for check in report.checks} == {"allowed", "denied"}


def test_positive_controls_run_before_negatives_for_each_pod():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    _network(api)
    probes = [args for call, args in api.calls if call == "exec" and args[1] == "inference-a1"]
    targets = [(command[3], command[4], command[5]) for _, _, command in probes]
    controls = {(SERVICE_IP["tenant-a"], "80", "TCP"), (DNS_SERVICE_IP, "53", "UDP"), (DNS_SERVICE_IP, "53", "TCP")}
    assert set(targets[:3]) == controls
    assert not controls & set(targets[3:])


def test_probe_is_python_socket_connect_in_the_tenant_pod():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    _network(api, timeout=1.5)
    namespace, pod, command = next(args for call, args in api.calls if call == "exec" and args[0] == "tenant-b")
    assert (namespace, pod) == ("tenant-b", "inference-b1")
    assert list(command[:3]) == [c.INFERENCE_COMMAND[0], "-c", PROBE_SCRIPT]
    assert command[-1] == "1.5"


def test_cni_that_ignores_policies_is_reported_with_the_kind_hint():
    api = cluster()
    api.exec_handler = ScriptedNetwork(leaky=True)
    report, sleeps = _network(api, attempts=3, backoff=0.25)
    assert not report.passed
    [finding] = [f for f in report.findings if "CNI does not enforce NetworkPolicy" in f.message]
    assert "v0.24.0" in finding.hint and "Calico or Cilium" in finding.hint
    breach = _by_name(report, "other tenant pod tenant-b/inference-b1")[0]
    assert not breach.passed and breach.observed == "connected" and breach.expected == "denied"
    assert "CNI does not enforce NetworkPolicy" in breach.detail
    assert "3 attempt(s)" in breach.method
    # Bounded exponential backoff: 0.25, 0.5 between the three tries of each breached probe.
    assert sleeps[:2] == [0.25, 0.5] and max(sleeps) == 0.5


def test_enforcement_lag_is_absorbed_by_retries():
    api = cluster()
    api.exec_handler = ScriptedNetwork(lag=2)
    report, sleeps = _network(api, attempts=4, backoff=0.5)
    assert report.passed
    breach = _by_name(report, "other tenant service tenant-b/inference")[0]
    assert breach.observed.startswith("blocked") and "3 attempt(s)" in breach.method
    assert sleeps.count(1.0) > 0 and max(sleeps) == 1.0


def test_failed_positive_control_voids_the_negatives_of_that_pod():
    api = cluster()
    network = ScriptedNetwork()
    network.broken = {("tenant-a/inference-a1", DNS_SERVICE_IP, 53, "UDP")}
    api.exec_handler = network
    report, _ = _network(api, attempts=2)
    assert not report.passed
    voided = [check for check in report.checks if check.observed == "not counted"]
    assert voided and all(check.name.startswith("tenant-a/") for check in voided)
    assert all("positive control failed first" in check.detail for check in voided)
    assert all(check.passed for check in report.checks if check.name.startswith("tenant-b/"))
    assert any("positive control failed from tenant-a/inference-a1" in f.message for f in report.findings)


def test_probe_that_cannot_run_fails_without_guessing():
    api = cluster()
    api.exec_handler = lambda ns, pod, command: ExecResult("", "exec: python: not found", 127)
    report, _ = _network(api, attempts=1)
    assert not report.passed
    observed = {check.observed for check in report.checks}
    assert observed == {"probe failed: exec: python: not found", "not counted"}
    assert all(not check.passed for check in report.checks)
    assert not any("CNI" in f.message for f in report.findings)


def test_policy_that_breaks_isolation_fails_even_when_the_probe_agrees():
    api = cluster()
    api.add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-all", "namespace": "tenant-b"},
            "spec": {"podSelector": {}, "ingress": [{}], "egress": [{}], "policyTypes": ["Ingress", "Egress"]},
        }
    )
    api.exec_handler = ScriptedNetwork(leaky=True)
    report, _ = _network(api)
    check = _by_name(report, f"tenant-b/inference-b1 -> API server endpoint {APISERVER_IP}")[0]
    assert check.expected == "allowed" and check.observed == "connected" and not check.passed
    assert "the policies break the isolation rule 'no tenant traffic to the API server'" in check.detail


def test_tenant_selection_and_unknown_tenant():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    report, _ = _network(api, tenants=["tenant-b"])
    assert {check.name.split(" ")[0] for check in report.checks} == {"tenant-b/inference-b1", "monitoring/prometheus-0"}
    # Tenants not selected are still targets of the selected ones.
    assert _by_name(report, "tenant-b/inference-b1 -> other tenant pod tenant-a/inference-a1")[0].passed
    with pytest.raises(NotFound, match="no mlopsctl tenant named tenant-z"):
        verify_network(api, tenants=["tenant-z"])


def test_tenant_without_running_pods_fails():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    api.delete("v1", "Pod", "inference-b1", "tenant-b")
    report, _ = _network(api)
    assert not report.passed
    [check] = [check for check in report.checks if check.name == "tenant-b: a running pod to probe from"]
    assert check.observed == "none"


# --- RBAC ----------------------------------------------------------------------------------------------------


def _sar_from(objects_api):
    """The API server's answers, taken from an RBAC model of a possibly different object set."""
    model = read_rbac(objects_api)

    def answer(review):
        from mlopsctl.analysis.rbac import Request

        subject = Subject(review.user, review.groups)
        request = Request(review.verb, review.resource, review.group, review.subresource, review.namespace, review.name)
        return model.authorize(subject, request).allowed

    return answer


def test_rbac_live_passes_when_api_server_and_evaluator_agree():
    api = cluster()
    api.access_handler = lambda review: False
    report = verify_rbac(api, now=lambda: NOW)
    assert report.passed
    reviews = [args for call, args in api.calls if call == "access_review"]
    assert len(reviews) == len(report.checks) > 0
    users = {review.user for review in reviews}
    assert users == {"system:serviceaccount:tenant-a:inference", "system:serviceaccount:tenant-b:inference"}
    assert {review.namespace for review in reviews} == {
        "tenant-a",
        "tenant-b",
        "default",
        "kube-system",
        "monitoring",
        "object-store",
        None,
    }
    assert all("system:serviceaccounts:" + r.user.split(":")[2] in r.groups for r in reviews)


def test_rbac_live_flags_disagreement_with_the_evaluator():
    api = cluster()
    api.access_handler = lambda review: review.resource == "secrets" and review.namespace == "tenant-b"
    report = verify_rbac(api, tenants=["tenant-a"])
    bad = [check for check in report.checks if not check.passed]
    assert {check.name for check in bad} == {
        f"system:serviceaccount:tenant-a:inference: {verb} secrets in tenant-b" for verb in ("get", "list", "watch")
    }
    assert all("another authorizer" in check.detail for check in bad)


def test_rbac_live_flags_cluster_wide_grant_seen_by_both():
    api = cluster()
    api.add(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "secret-reader"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
        }
    )
    api.add(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "secret-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "inference", "namespace": "tenant-a"}],
        }
    )
    api.access_handler = _sar_from(api)
    report = verify_rbac(api)
    bad = {check.name for check in report.checks if not check.passed}
    assert "system:serviceaccount:tenant-a:inference: get secrets in tenant-b" in bad
    assert "system:serviceaccount:tenant-a:inference: get secrets in cluster scope" in bad
    assert "system:serviceaccount:tenant-a:inference: get secrets in tenant-a" in bad
    assert not any(name.startswith("system:serviceaccount:tenant-b") for name in bad)


def test_read_rbac_uses_every_rbac_kind():
    api = cluster()
    model = read_rbac(api)
    assert isinstance(model, RbacModel)
    assert ("tenant-a", "inference") in model.roles
    assert {b.id for b in model.bindings} >= {"RoleBinding tenant-a/inference", "RoleBinding tenant-b/inference"}


# --- autoscaling ---------------------------------------------------------------------------------------------


def _metrics_ready(api, cpu=35, current=2, able="True", active="True"):
    api.add(
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": "v1beta1.metrics.k8s.io"},
            "status": {"conditions": [{"type": "Available", "status": "True"}]},
        }
    )
    for tenant in ("tenant-a", "tenant-b"):
        api.add(
            {
                "apiVersion": "metrics.k8s.io/v1beta1",
                "kind": "PodMetrics",
                "metadata": {"name": f"inference-{tenant[-1]}1", "namespace": tenant},
                "containers": [{"name": "inference", "usage": {"cpu": "5m", "memory": "80Mi"}}],
            }
        )
        _set_hpa(api, tenant, current, cpu, able, active)


def _set_hpa(api, tenant, replicas, cpu, able="True", active="True"):
    hpa = api.objects[api.key("autoscaling/v2", "HorizontalPodAutoscaler", c.APP_NAME, tenant)]
    hpa["status"] = {
        "currentReplicas": replicas,
        "desiredReplicas": replicas,
        "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}],
        "conditions": [
            {"type": "AbleToScale", "status": able, "reason": "ReadyForNewScale"},
            {"type": "ScalingActive", "status": active, "reason": "ValidMetricFound"},
        ],
    }


def test_autoscaling_ready():
    api = cluster()
    _metrics_ready(api)
    report = verify_autoscaling(api)
    assert report.passed, [(c.name, c.observed, c.detail) for c in report.checks if not c.passed]
    names = [check.name for check in report.checks]
    assert names == [
        "APIService v1beta1.metrics.k8s.io",
        "tenant-a: pod metrics",
        "tenant-a: HPA inference can scale",
        "tenant-b: pod metrics",
        "tenant-b: HPA inference can scale",
    ]
    assert "CPU 35% of target" in report.checks[2].observed


def test_autoscaling_without_metrics_api_fails():
    api = cluster()
    report = verify_autoscaling(api, tenants=["tenant-a"])
    assert not report.passed
    assert report.checks[0].observed == "absent"
    assert report.checks[1].observed == "metrics for 0 of 1"


def test_autoscaling_hpa_not_active_fails_with_reason():
    api = cluster()
    _metrics_ready(api)
    _set_hpa(api, "tenant-b", 2, None, active="False")
    report = verify_autoscaling(api, tenants=["tenant-b"])
    hpa_check = report.checks[-1]
    assert not hpa_check.passed
    assert "ScalingActive is False" in hpa_check.detail and "no current CPU value" in hpa_check.detail


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


class ScalingLoad:
    """Load that makes the fake HPA scale out after `up_after` seconds and back in `down_after` seconds after stop."""

    def __init__(self, api, clock, up_after=30.0, down_after=None, peak=4):
        self.api, self.clock, self.up_after, self.down_after, self.peak = api, clock, up_after, down_after, peak
        self.started, self.stopped = [], []

    def start(self, tenant):
        self.started.append((tenant, self.clock()))
        return tenant

    def failed(self, handle):
        return None

    def stop(self, handle):
        self.stopped.append((handle, self.clock()))
        return None

    def tick(self, tenant):
        started = dict(self.started).get(tenant)
        stopped = dict(self.stopped).get(tenant)
        if stopped is not None and self.down_after is not None and self.clock() - stopped >= self.down_after:
            _set_hpa(self.api, tenant, 2, 5)
        elif started is not None and self.clock() - started >= self.up_after:
            _set_hpa(self.api, tenant, self.peak, 180)


def test_load_scale_up_and_down_timeline():
    api = cluster()
    _metrics_ready(api)
    clock = FakeClock()
    load = ScalingLoad(api, clock, up_after=30, down_after=60)

    def sleep(seconds):
        clock.sleep(seconds)
        load.tick("tenant-a")

    report = verify_autoscaling(
        api, tenants=["tenant-a"], load=load, scale_down=True, timeout=120, poll=5, sleep=sleep, clock=clock
    )
    assert report.passed, [(c.name, c.observed) for c in report.checks if not c.passed]
    up = next(check for check in report.checks if check.name == "tenant-a: scale-up under load")
    assert up.expected == "more than 2 replica(s) within 120s"
    assert up.observed == "4 replica(s) after 30s, CPU up to 180%"
    down = next(check for check in report.checks if check.name == "tenant-a: scale-down after load")
    assert down.observed == "back to 2 after 60s"
    assert load.stopped and load.stopped[0][1] == 45.0  # three more polls after the first scale-up
    assert [row["replicas"] for row in report.timeline if row["phase"] == "load"][:7] == [2, 2, 2, 2, 2, 2, 4]
    assert any("time to first scale-up 30.0s, peak 4 replicas" in note for note in report.notes)


def test_load_without_scale_up_fails_after_timeout_and_stops_load():
    api = cluster()
    _metrics_ready(api)
    clock = FakeClock()
    load = ScalingLoad(api, clock, up_after=10_000)
    report = verify_autoscaling(
        api, tenants=["tenant-a"], load=load, timeout=60, poll=10, sleep=clock.sleep, clock=clock
    )
    up = next(check for check in report.checks if check.name == "tenant-a: scale-up under load")
    assert not up.passed and up.observed == "stayed at 2 replica(s) for 60s, CPU up to 35%"
    assert load.stopped == [("tenant-a", 60.0)]
    assert not report.passed


# --- isolation, all, evidence files ----------------------------------------------------------------------------


def test_isolation_merges_rbac_and_network():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    api.access_handler = lambda review: False
    report = verify_isolation(api, sleep=lambda s: None)
    assert report.kind == "isolation" and report.passed
    assert {check.area for check in report.checks} == {"rbac", "network"}


def test_all_fails_when_autoscaling_fails():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    api.access_handler = lambda review: False
    report = verify_all(api, network_options={"sleep": lambda s: None})
    assert report.kind == "all" and not report.passed
    assert {check.area for check in report.checks} == {"rbac", "network", "autoscaling"}
    assert all(check.passed for check in report.checks if check.area != "autoscaling")


def test_evidence_files(tmp_path):
    api = cluster()
    api.exec_handler = ScriptedNetwork(leaky=True)
    report, _ = _network(api, attempts=1)
    written = write_report(report, tmp_path / "evidence")
    root = ET.parse(written.junit).getroot()
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"verify.network", "verify.findings"}
    network = suites["verify.network"]
    failures = [case for case in network.iter("testcase") if case.find("failure") is not None]
    assert network.get("tests") == str(len(report.checks))
    assert network.get("failures") == str(len(failures)) == str(sum(1 for c in report.checks if not c.passed))
    assert network.find("properties/property").get("value") == "v1.31.0"
    text = written.markdown.read_text()
    assert text.startswith("# mlopsctl verify network: FAILED")
    assert "- Cluster version: v1.31.0" in text and f"- Started: {NOW}" in text
    assert "**CNI does not enforce NetworkPolicy" in text
    assert "| **FAIL** | tenant-a/inference-a1 -> other tenant pod" in text
    assert junit_xml(report) == written.junit.read_text() and markdown(report) == text


# --- the in-cluster load driver ------------------------------------------------------------------------------


def test_in_cluster_load_runs_in_the_background_until_stopped():
    import threading

    from mlopsctl.services.verify_autoscaling import InClusterLoad

    calls, answers, running = [], [], threading.Event()

    def run(api, tenant, options, *, on_progress):
        calls.append((api, tenant, options))
        running.set()
        for _ in range(1_000_000):  # bounded: ends when the driver says stop
            answer = on_progress(None)
            answers.append(answer)
            if answer is True:
                return "result"
            threading.Event().wait(0.001)
        raise AssertionError("never told to stop")

    driver = InClusterLoad("api", run, "options", join_timeout=30)
    handle = driver.start("tenant-a")
    assert running.wait(30)
    assert driver.failed(handle) is None
    assert driver.stop(handle) is None
    assert calls == [("api", "tenant-a", "options")]
    assert answers[-1] is True and False in answers
    assert driver.result(handle) == "result"  # what the load measured, for the HTML report


def test_load_results_go_into_the_report():
    from mlopsctl.services.loadtest import HpaSample, LoadtestResult

    api = cluster()
    _metrics_ready(api)
    clock = FakeClock()

    class MeasuringLoad(ScalingLoad):
        def result(self, handle):
            sample = HpaSample(1.0, 2, 4, 120, 50, 2, 10)
            return LoadtestResult(handle, "in-cluster", "url", "job", False, True, None, [], {"timeline": []}, [sample])

    load = MeasuringLoad(api, clock, up_after=10)

    def sleep(seconds):
        clock.sleep(seconds)
        load.tick("tenant-a")

    report = verify_autoscaling(api, tenants=["tenant-a"], load=load, timeout=60, poll=5, sleep=sleep, clock=clock)
    assert [(run["tenant"], run["stopped_early"], run["hpa"][0]["desired_replicas"]) for run in report.loads] == [
        ("tenant-a", True, 4)
    ]
    # A driver that keeps no result (the plain ScalingLoad) adds nothing.
    assert (
        verify_autoscaling(
            api, tenants=["tenant-a"], load=ScalingLoad(api, clock), timeout=5, poll=5, sleep=clock.sleep, clock=clock
        ).loads
        == []
    )


def test_in_cluster_load_failure_is_reported():
    from mlopsctl.errors import ClusterError
    from mlopsctl.services.verify_autoscaling import InClusterLoad

    def run(api, tenant, options, *, on_progress):
        raise ClusterError("the load generator in tenant-a ended without a report: ImagePullBackOff")

    driver = InClusterLoad("api", run, "options", join_timeout=30)
    handle = driver.start("tenant-a")
    handle.thread.join(30)
    assert driver.failed(handle) == "the load generator in tenant-a ended without a report: ImagePullBackOff"
    assert driver.stop(handle).startswith("the load generator failed: the load generator in tenant-a ended")


def test_loadtest_driver_uses_the_loadtest_engine():
    from mlopsctl.services import loadtest
    from mlopsctl.services.verify_autoscaling import DEFAULT_LOAD_RATE, InClusterLoad, loadtest_driver

    driver = loadtest_driver("api", timeout=120)
    assert isinstance(driver, InClusterLoad)
    assert driver.run is loadtest.run_in_cluster
    assert driver.options.rate == DEFAULT_LOAD_RATE and driver.options.duration == 180.0


def test_load_that_fails_ends_the_wait_early():
    api = cluster()
    _metrics_ready(api)
    clock = FakeClock()

    class Broken:
        stopped = False

        def start(self, tenant):
            return tenant

        def failed(self, handle):
            return "the load generator could not reach the service"

        def stop(self, handle):
            self.stopped = True
            return "the load generator failed: the load generator could not reach the service"

    load = Broken()
    report = verify_autoscaling(
        api, tenants=["tenant-a"], load=load, timeout=300, poll=5, sleep=clock.sleep, clock=clock
    )
    up = next(check for check in report.checks if check.name == "tenant-a: scale-up under load")
    assert not up.passed and load.stopped and clock() == 0
    assert up.observed == "stayed at 2 replica(s) for 0s, CPU up to 35%"
    assert up.detail == "the load ended early: the load generator could not reach the service"
    assert "tenant-a: the load generator failed: the load generator could not reach the service" in report.notes


def test_api_server_endpoint_from_endpoint_slices():
    api = cluster()
    api.delete("v1", "Endpoints", "kubernetes", "default")
    api.add(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "kubernetes"},
            },
            "endpoints": [{"addresses": ["172.18.0.9"]}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
        }
    )
    api.exec_handler = ScriptedNetwork()
    report, _ = _network(api, tenants=["tenant-a"])
    assert _by_name(report, "tenant-a/inference-a1 -> API server endpoint 172.18.0.9:6443/TCP")[0].passed


def test_without_api_server_endpoints_the_service_is_still_probed():
    api = cluster()
    api.delete("v1", "Endpoints", "kubernetes", "default")
    api.exec_handler = ScriptedNetwork()
    report, _ = _network(api, tenants=["tenant-a"])
    assert not _by_name(report, "API server endpoint")
    assert any("default/kubernetes) could not be read" in note for note in report.notes)


def test_object_store_that_admits_only_granted_tenants_passes():
    from tests.unit.services.verify_cluster import STORE_POD_IP, STORE_SERVICE_IP

    api = cluster()
    for obj in [
        {"podSelector": {}, "policyTypes": ["Ingress"], "name": "default-deny"},
        {
            "name": "allow-s3-from-tenants",
            "podSelector": {"matchLabels": {"app": "store"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "tenant-a"}}}],
                    "ports": [{"port": c.STORAGE_S3_PORT}],
                }
            ],
        },
    ]:
        name = obj.pop("name")
        api.add(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": c.STORAGE_NAMESPACE},
                "spec": obj,
            }
        )
    network = ScriptedNetwork()
    network.allowed -= {
        ("tenant-b/inference-b1", STORE_SERVICE_IP, c.STORAGE_S3_PORT, "TCP"),
        ("tenant-b/inference-b1", STORE_POD_IP, c.STORAGE_S3_PORT, "TCP"),
    }
    api.exec_handler = network
    report, _ = _network(api)
    assert report.passed, [(c.name, c.observed, c.detail) for c in report.checks if not c.passed]
    s3 = _by_name(report, f"tenant-b/inference-b1 -> object store service object-store/s3 {STORE_SERVICE_IP}")[0]
    assert s3.expected == "denied" and s3.observed.startswith("blocked")
