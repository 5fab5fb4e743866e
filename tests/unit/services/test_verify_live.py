"""Live verify services against the fake API: probes and their comparison with the evaluator, SubjectAccessReviews,
HPA readiness and scaling timelines, and the evidence files."""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.base import ExecResult
from mlopsctl.analysis.rbac import RbacModel, Subject
from mlopsctl.errors import Forbidden, NotFound
from mlopsctl.services.network_probes.program import BATCH_PROGRAM
from mlopsctl.services.verify_all import verify_all, verify_isolation
from mlopsctl.services.verify_autoscaling import verify_autoscaling
from mlopsctl.services.verify_network import verify_network
from mlopsctl.services.verify_rbac import read_rbac, verify_rbac
from mlopsctl.services.verify_report import junit_xml, markdown, write_report
from tests.unit.services.verify_cluster import (
    APISERVER_IP,
    DNS_SERVICE_IP,
    LATER_POD,
    LATER_POD_IP,
    OUTSIDER,
    POD_IP,
    RUN,
    SERVICE_IP,
    ScriptedNetwork,
    cluster,
    enforced_connections,
    kubelet,
    pod_ip,
    pod_name,
)
from tests.unit.services.verify_cluster import TENANTS as TENANTS_AB

NOW = "2026-01-01T00:00:00+00:00"


def _network(api, **options):
    sleeps: list[float] = []
    options.setdefault("sleep", sleeps.append)
    options.setdefault("run_id", RUN)
    report = verify_network(api, now=lambda: NOW, **options)
    return report, sleeps


def _by_name(report, fragment):
    return [check for check in report.checks if fragment in check.name]


def _failures(report):
    return [(check.name, check.observed, check.detail) for check in report.checks if not check.passed]


def _policy(namespace, name, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}  # fmt: skip


# --- network -------------------------------------------------------------------------------------------------


def test_enforcing_cluster_passes_with_one_exec_per_source_pod():
    api = cluster()
    network = ScriptedNetwork()
    api.exec_handler = network
    report, sleeps = _network(api)
    assert report.passed, _failures(report)
    assert not report.findings and sleeps == []
    sources = [source for source, _ in network.execs]
    assert sorted(sources) == sorted(
        ["tenant-a/inference-a1", "tenant-b/inference-b1", LATER_POD["tenant-a"], LATER_POD["tenant-b"], OUTSIDER,
         "monitoring/prometheus-0"]
    )  # fmt: skip
    assert sum(count for _, count in network.execs) == len(report.checks) == report.probing["probes"]
    names = [check.name for check in report.checks]
    assert f"tenant-a/inference-a1 -> API server endpoint {APISERVER_IP}:6443/TCP" in names
    assert f"tenant-b/inference-b1 -> kube-dns service kube-system/kube-dns {DNS_SERVICE_IP}:53/UDP" in names
    monitoring = _by_name(report, "monitoring/prometheus-0 -> tenant metrics")
    assert {(check.name.split(" ")[-1], check.expected) for check in monitoring} == {
        (f"{POD_IP['tenant-a']}:8080/TCP", "allowed"), (f"{POD_IP['tenant-b']}:8080/TCP", "allowed"),
        (f"{LATER_POD_IP['tenant-a']}:8080/TCP", "denied"), (f"{LATER_POD_IP['tenant-b']}:8080/TCP", "denied"),
    }  # fmt: skip
    assert {check.expected for check in report.checks} == {"allowed", "denied"}


def test_every_tenant_pair_and_platform_peer_is_probed_at_least_once():
    tenants = ("tenant-a", "tenant-b", "tenant-c", "tenant-d")
    api = cluster(tenants, replicas=2)
    api.exec_handler = ScriptedNetwork(enforced_connections(tenants, replicas=2))
    report, _ = _network(api)
    assert report.passed, _failures(report)
    pairs = {(check.name.split("/")[0], check.name.split(" -> ")[1].split(" ")[3].split("/")[0])
             for check in _by_name(report, "other tenant")}  # fmt: skip
    assert pairs == {(a, b) for a in tenants for b in tenants if a != b}
    for tenant in tenants:
        probed = {check.name.split(" ")[5] for check in _by_name(report, f"other tenant pod {tenant}/")}
        probed |= {check.name.split(" ")[5] for check in _by_name(report, f"other tenant service {tenant}/")}
        assert probed == {
            f"{tenant}/inference",
            f"{tenant}/inference-{tenant[-1]}1",
            f"{tenant}/verify-later-pod-{RUN}",
        }
    for peer in ("kube-system/coredns-1", "monitoring/prometheus-0", "object-store/store-1", "API server endpoint"):
        assert all(_by_name(report, f"{tenant}/inference-{tenant[-1]}1 -> ") for tenant in tenants)
        assert len({check.name.split("/")[0] for check in _by_name(report, peer)}) >= len(tenants)


def test_equivalent_pods_are_probed_once_and_named_in_the_report():
    api = cluster(replicas=2)
    network = ScriptedNetwork(enforced_connections(replicas=2))
    api.exec_handler = network
    report, _ = _network(api)
    assert report.passed, _failures(report)
    sources = {source for source, _ in network.execs}
    assert "tenant-a/inference-a1" in sources and "tenant-a/inference-a2" not in sources
    assert any(note.startswith("tenant-a/inference-a1 stands for tenant-a/inference-a2:") for note in report.notes)
    assert report.probing["pods_represented_by_an_equivalent_pod"] == 2
    # The same-tenant path between the two replicas is probed: a pod is never its own destination.
    assert _by_name(report, f"tenant-a/inference-a1 -> own pod tenant-a/inference-a2 {pod_ip(0, 1)}:8080/TCP")[0].passed


def test_exhaustive_probes_every_pod():
    api = cluster(replicas=2)
    network = ScriptedNetwork(enforced_connections(replicas=2))
    api.exec_handler = network
    report, _ = _network(api, exhaustive=True)
    assert report.passed, _failures(report)
    sources = {source for source, _ in network.execs}
    assert {
        "tenant-a/inference-a1",
        "tenant-a/inference-a2",
        "tenant-b/inference-b1",
        "tenant-b/inference-b2",
    } <= sources
    assert not any("stands for" in note for note in report.notes)
    for a in ("tenant-a/inference-a1", "tenant-a/inference-a2", LATER_POD["tenant-a"]):
        for b in ("tenant-b/inference-b1", "tenant-b/inference-b2", LATER_POD["tenant-b"]):
            assert _by_name(report, f"{a} -> other tenant pod {b} "), (a, b)
    assert report.probing["exhaustive"] is True and report.probing["pods_represented_by_an_equivalent_pod"] == 0


def test_pod_whose_labels_differ_is_its_own_source():
    api = cluster(replicas=2)
    pod = api.objects[api.key("v1", "Pod", "inference-a2", "tenant-a")]
    pod["metadata"]["labels"]["debug"] = "true"
    network = ScriptedNetwork(enforced_connections(replicas=2))
    api.exec_handler = network
    report, _ = _network(api)
    assert report.passed, _failures(report)
    assert {"tenant-a/inference-a1", "tenant-a/inference-a2"} <= {source for source, _ in network.execs}
    assert not any(note.startswith("tenant-a/inference-a1 stands for") for note in report.notes)


def test_probe_pods_are_hardened_owned_by_the_run_and_deleted():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    created = []
    original = api.apply

    def apply(obj, **kwargs):
        if obj["kind"] in ("Pod", "Namespace"):
            created.append(obj)
        return original(obj, **kwargs)

    api.apply = apply
    report, _ = _network(api)
    assert report.passed, _failures(report)
    [namespace] = [obj for obj in created if obj["kind"] == "Namespace"]
    assert namespace["metadata"] == {"name": f"verify-outsider-{RUN}", "labels": {c.VERIFY_RUN_LABEL: RUN}}
    pods = {(obj["metadata"]["namespace"], obj["metadata"]["labels"][c.VERIFY_PROBE_ROLE_LABEL]): obj
            for obj in created if obj["kind"] == "Pod"}  # fmt: skip
    assert set(pods) == {(f"verify-outsider-{RUN}", "outsider"), ("tenant-a", "later-pod"), ("tenant-b", "later-pod")}
    image = api.objects[api.key("apps/v1", "Deployment", c.APP_NAME, "tenant-a")]["spec"]["template"]["spec"]
    for pod in pods.values():
        spec, [container] = pod["spec"], pod["spec"]["containers"]
        assert c.NAME_LABEL not in pod["metadata"]["labels"] and c.INSTANCE_LABEL not in pod["metadata"]["labels"]
        assert pod["metadata"]["labels"][c.VERIFY_RUN_LABEL] == RUN
        assert spec["automountServiceAccountToken"] is False and spec["activeDeadlineSeconds"] > 0
        assert (
            spec["securityContext"]["runAsNonRoot"]
            and spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        )
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["image"] == image["containers"][0]["image"]
    assert not api.list("v1", "Pod", None, f"{c.VERIFY_RUN_LABEL}={RUN}")
    assert api.get("v1", "Namespace", f"verify-outsider-{RUN}") is None
    assert [row["phase"] for row in report.phases] == [
        "network: probe pods", "network: read", "network: plan", "network: probe", "network: cleanup"
    ]  # fmt: skip


def test_probe_pods_are_deleted_on_ctrl_c():
    api = cluster()

    def interrupted(namespace, pod, command):
        raise KeyboardInterrupt

    api.exec_handler = interrupted
    with pytest.raises(KeyboardInterrupt):
        _network(api)
    assert not api.list("v1", "Pod", None, f"{c.VERIFY_RUN_LABEL}={RUN}")
    assert api.get("v1", "Namespace", f"verify-outsider-{RUN}") is None


def test_ctrl_c_while_the_probe_pods_start_deletes_them():
    api = cluster()
    api.kubelet = lambda pod: {"phase": "Pending"}
    api.exec_handler = ScriptedNetwork()

    def interrupt(seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _network(api, sleep=interrupt)
    assert not api.list("v1", "Pod", None, f"{c.VERIFY_RUN_LABEL}={RUN}")
    assert api.get("v1", "Namespace", f"verify-outsider-{RUN}") is None


def test_probe_pods_that_never_start_time_out_and_fail_the_run():
    api = cluster()
    api.kubelet = lambda pod: {"phase": "Pending"}
    api.exec_handler = ScriptedNetwork()
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    report, _ = _network(api, sleep=sleep, clock=lambda: now[0], start_timeout=30)
    pods = [check for check in report.checks if check.name.startswith("probe pod ")]
    assert len(pods) == 3 and {check.observed for check in pods} == {"did not start within 30s"}
    assert not report.passed and 30 <= now[0] <= 31
    assert not _by_name(report, f"{LATER_POD['tenant-a']} -> ")  # not running: neither a source nor a target


def test_outsider_waits_for_the_service_account_of_its_new_namespace():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    refusals = []
    original = api.apply

    def apply(obj, **kwargs):
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] == "Pod" and namespace == f"verify-outsider-{RUN}" and len(refusals) < 2:
            refusals.append(obj["metadata"]["name"])
            raise Forbidden(
                f'applying Pod {namespace}/{obj["metadata"]["name"]}: forbidden: pods "{obj["metadata"]["name"]}" is '
                f'forbidden: error looking up service account {namespace}/default: serviceaccount "default" not found'
            )
        return original(obj, **kwargs)

    api.apply = apply
    report, sleeps = _network(api)
    assert report.passed, _failures(report)
    assert len(refusals) == 2 and sleeps[:2] == [0.5, 0.5]
    assert _by_name(report, f"{OUTSIDER} -> kube-dns service")


def test_probe_pod_refused_by_a_full_quota_fails_the_run_at_once():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    original = api.apply

    def apply(obj, **kwargs):
        if obj["kind"] == "Pod" and obj["metadata"].get("namespace") == "tenant-a":
            raise Forbidden('pods "x" is forbidden: exceeded quota: inference, requested: pods=1, limited: pods=4')
        return original(obj, **kwargs)

    api.apply = apply
    report, sleeps = _network(api)
    [check] = [check for check in report.checks if check.name.startswith("probe pod ")]
    assert check.name == f"probe pod tenant-a/verify-later-pod-{RUN} (later-pod) running"
    assert check.observed.startswith('refused: pods "x" is forbidden: exceeded quota')
    assert not report.passed and 0.5 not in sleeps


def test_probe_pod_that_cannot_start_fails_the_run():
    api = cluster()

    def image_pull_fails(pod):
        status = {"phase": "Pending", "containerStatuses": [
            {"name": "probe", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}]}  # fmt: skip
        return status if pod["metadata"]["namespace"] == "tenant-b" else kubelet(TENANTS_AB)(pod)

    api.kubelet = image_pull_fails
    api.exec_handler = ScriptedNetwork()
    report, _ = _network(api)
    assert not report.passed
    [check] = [check for check in report.checks if check.name.startswith("probe pod ")]
    assert check.name == f"probe pod tenant-b/verify-later-pod-{RUN} (later-pod) running"
    assert check.observed == "ImagePullBackOff: not found"
    assert not api.list("v1", "Pod", None, f"{c.VERIFY_RUN_LABEL}={RUN}")


def test_probe_is_one_python_batch_per_source_with_its_own_timeout():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    _network(api, timeout=1.5)
    namespace, pod, command = next(args for call, args in api.calls if call == "exec" and args[0] == "tenant-b")
    assert (namespace, pod) == ("tenant-b", "inference-b1")
    assert list(command[:3]) == [c.INFERENCE_COMMAND[0], "-c", BATCH_PROGRAM]
    assert command[4] == "1.5"
    specs = json.loads(command[3])
    assert len({spec[0] for spec in specs}) == len(specs)  # one id per probe
    assert [SERVICE_IP["tenant-b"], 80, "TCP"] in [spec[1:] for spec in specs]


def test_positive_controls_gate_the_negatives_of_their_source():
    api = cluster()
    network = ScriptedNetwork(flaky={("tenant-a/inference-a1", DNS_SERVICE_IP, 53, "UDP")})
    api.exec_handler = network
    report, sleeps = _network(api, attempts=3, backoff=0.25)
    assert report.passed, _failures(report)
    rounds = [count for source, count in network.execs if source == "tenant-a/inference-a1"]
    # Round 1 ran everything; its DNS control failed, so the rest did not count and ran again with that control.
    checks = _by_name(report, "tenant-a/inference-a1 -> ")
    controls = [check for check in checks if "-> own service" in check.name or "-> kube-dns service" in check.name]
    assert len(controls) == 3 and rounds == [len(checks), len(checks) - len(controls) + 1] and sleeps == [0.25]
    assert "2 attempt(s)" in _by_name(report, "tenant-a/inference-a1 -> API server endpoint")[0].method
    assert "1 attempt(s)" in _by_name(report, "tenant-a/inference-a1 -> own service")[0].method
    assert all("1 attempt(s)" in check.method for check in _by_name(report, "tenant-b/inference-b1 -> "))


def test_cni_that_ignores_policies_is_reported_and_only_disagreements_are_retried():
    api = cluster()
    network = ScriptedNetwork(leaky=True)
    api.exec_handler = network
    report, sleeps = _network(api, attempts=3, backoff=0.25)
    assert not report.passed
    [finding] = [f for f in report.findings if "CNI does not enforce NetworkPolicy" in f.message]
    assert "v0.24.0" in finding.hint and "Calico or Cilium" in finding.hint
    breach = _by_name(report, "tenant-a/inference-a1 -> other tenant service tenant-b/inference")[0]
    assert not breach.passed and breach.observed == "connected" and breach.expected == "denied"
    assert "CNI does not enforce NetworkPolicy" in breach.detail and "3 attempt(s)" in breach.method
    control = _by_name(report, "tenant-a/inference-a1 -> own service")[0]
    assert control.passed and "1 attempt(s)" in control.method
    rounds = [count for source, count in network.execs if source == "tenant-a/inference-a1"]
    denied = sum(1 for check in _by_name(report, "tenant-a/inference-a1 -> ") if check.expected == "denied")
    assert rounds[1:] == [denied, denied]
    # Bounded exponential backoff between the rounds of each source: 0.25 then 0.5.
    assert set(sleeps) == {0.25, 0.5} and sleeps.count(0.25) == sleeps.count(0.5)


def test_enforcement_lag_is_absorbed_by_retries():
    api = cluster()
    api.exec_handler = ScriptedNetwork(lag=2)
    report, sleeps = _network(api, attempts=4, backoff=0.5)
    assert report.passed, _failures(report)
    breach = _by_name(report, "tenant-a/inference-a1 -> other tenant service tenant-b/inference")[0]
    assert breach.observed.startswith("blocked") and "3 attempt(s)" in breach.method
    assert max(sleeps) == 1.0


def test_failed_positive_control_voids_the_negatives_of_that_pod():
    api = cluster()
    network = ScriptedNetwork()
    network.broken = {("tenant-a/inference-a1", DNS_SERVICE_IP, 53, "UDP")}
    api.exec_handler = network
    report, _ = _network(api, attempts=2)
    assert not report.passed
    voided = [check for check in report.checks if check.observed == "not counted"]
    assert voided and all(check.name.startswith("tenant-a/inference-a1 ") for check in voided)
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


def test_batch_that_ends_early_fails_only_the_probes_without_a_line():
    api = cluster()
    network = ScriptedNetwork()

    def truncated(namespace, pod, command):
        result = network(namespace, pod, command)
        if (namespace, pod) != ("tenant-b", "inference-b1"):
            return result
        lines = result.stdout.splitlines()
        return ExecResult("\n".join(lines[:-1]) + "\n", "timed out after 20s", 124)

    api.exec_handler = truncated
    report, _ = _network(api, attempts=2)
    failed = [check for check in report.checks if not check.passed]
    assert len(failed) == 1 and failed[0].name.startswith("tenant-b/inference-b1 ")
    assert failed[0].observed == "probe failed: timed out after 20s"


def test_policy_that_breaks_isolation_fails_even_when_the_probe_agrees():
    api = cluster()
    api.add(_policy("tenant-b", "allow-all", {"podSelector": {}, "ingress": [{}], "egress": [{}],
                                               "policyTypes": ["Ingress", "Egress"]}))  # fmt: skip
    api.exec_handler = ScriptedNetwork(leaky=True)
    report, _ = _network(api)
    check = _by_name(report, f"tenant-b/inference-b1 -> API server endpoint {APISERVER_IP}")[0]
    assert check.expected == "allowed" and check.observed == "connected" and not check.passed
    assert "the policies break the isolation rule 'a tenant reaches only its allow-list, not the API server'" in (
        check.detail
    )


def test_allow_all_ingress_is_caught_from_the_outsider():
    api = cluster()
    api.add(_policy("tenant-b", "allow-all-ingress", {"podSelector": {}, "ingress": [{}]}))
    network = ScriptedNetwork()
    network.allowed |= {(OUTSIDER, SERVICE_IP["tenant-b"], 80, "TCP"), (OUTSIDER, POD_IP["tenant-b"], 8080, "TCP"),
                        (OUTSIDER, LATER_POD_IP["tenant-b"], 8080, "TCP")}  # fmt: skip
    api.exec_handler = network
    report, _ = _network(api, tenants=["tenant-b"])
    assert not report.passed
    check = _by_name(report, f"{OUTSIDER} -> tenant pod tenant-b/inference-b1")[0]
    assert check.expected == "allowed" and check.observed == "connected"
    assert "'nothing outside the tenants reaches a tenant'" in check.detail
    assert not report.findings  # the CNI did what the policies say: the policies are what is wrong


def test_scrape_rule_opened_to_every_namespace_is_caught():
    api = cluster()
    scrape = api.objects[api.key("networking.k8s.io/v1", "NetworkPolicy", "allow-monitoring-scrape", "tenant-b")]
    scrape["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {}}]
    network = ScriptedNetwork()
    network.allowed.add((OUTSIDER, POD_IP["tenant-b"], 8080, "TCP"))
    api.exec_handler = network
    report, _ = _network(api)
    assert not report.passed
    bad = {check.name for check in report.checks if not check.passed}
    assert f"{OUTSIDER} -> tenant pod tenant-b/inference-b1 {POD_IP['tenant-b']}:8080/TCP" in bad


def test_default_deny_selecting_nothing_is_caught_through_the_later_pod():
    api = cluster()
    deny = api.objects[api.key("networking.k8s.io/v1", "NetworkPolicy", "default-deny-all", "tenant-a")]
    deny["spec"]["podSelector"] = {"matchLabels": {"no-such-label": "x"}}
    network = ScriptedNetwork(leaky=True)
    api.exec_handler = network
    report, _ = _network(api, tenants=["tenant-a"])
    assert not report.passed
    bad = [check for check in report.checks if not check.passed]
    assert any(
        check.name.endswith(f"{LATER_POD_IP['tenant-a']}:8080/TCP")
        and "'a later pod is as isolated as the inference pods: nothing reaches it'" in check.detail
        for check in bad
    )


def test_breaks_that_no_probe_covers_are_reported_by_the_evaluator():
    api = cluster(replicas=2)
    # tenant-a may reach tenant-b's second replica by address. That replica is its own class (an ipBlock matches
    # its address) and is probed; the breaks from tenant-a's second replica, which no probe starts from (it is
    # equivalent to the first), come from the evaluator's judgement of the whole matrix.
    api.add(_policy("tenant-a", "leak", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": f"{pod_ip(1, 1)}/32"}}]}],
                                          "policyTypes": ["Egress"]}))  # fmt: skip
    api.add(
        _policy(
            "tenant-b", "leak", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.1.0/24"}}]}]}
        )
    )
    network = ScriptedNetwork(enforced_connections(replicas=2))
    network.allowed |= {(f"tenant-a/{pod_name('tenant-a', r)}", pod_ip(1, 1), 8080, "TCP") for r in range(2)}
    network.allowed |= {(LATER_POD["tenant-a"], pod_ip(1, 1), 8080, "TCP")}
    api.exec_handler = network
    report, _ = _network(api)
    evaluator = [check for check in report.checks if check.name.endswith("(evaluator)")]
    assert evaluator and all(not check.passed for check in evaluator)
    assert all("'no traffic between tenants'" in check.detail for check in evaluator)
    assert any(check.name.startswith("tenant-a/inference-a2 -> tenant-b/inference-b2 8080/TCP") for check in evaluator)


def test_evaluator_breaks_outside_the_selected_tenants_are_not_this_runs_business():
    api = cluster()
    api.add(_policy("tenant-a", "allow-all", {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}))
    api.exec_handler = ScriptedNetwork()
    report, _ = _network(api, tenants=["tenant-b"])
    # tenant-a may now reach the API server, the monitoring pods...: none of that is about tenant-b.
    assert not [check for check in report.checks if check.name.endswith("(evaluator)") and "tenant-b" not in check.name]
    # ...but its egress into tenant-b is, and tenant-b's ingress default deny still holds it: nothing breaks.
    assert report.passed, _failures(report)
    whole, _ = _network(api)
    assert any(check.name.startswith("tenant-a/") for check in whole.checks if not check.passed)


def test_progress_counts_probes_with_a_rate():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    notes = []

    class Recording:
        @contextlib.contextmanager
        def step(self, title):
            notes.append(f"step: {title}")
            yield

        def note(self, message):
            notes.append(message)

    ticks = iter(range(10_000))
    report, _ = _network(api, status=Recording(), clock=lambda: float(next(ticks)))
    total = report.probing["probes"]
    progress = [note for note in notes if note.startswith("probes ")]
    assert progress[-1].startswith(f"probes {total}/{total} (") and progress[-1].endswith("/s)")
    assert any(note.startswith(f"step: probe {total} connections from 6 pods, 16 at a time") for note in notes)


def test_tenant_selection_and_unknown_tenant():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    report, _ = _network(api, tenants=["tenant-b"])
    assert report.passed, _failures(report)
    assert {check.name.split(" ")[0] for check in report.checks} == {
        "tenant-b/inference-b1", LATER_POD["tenant-b"], OUTSIDER, "monitoring/prometheus-0"
    }  # fmt: skip
    # Tenants not selected are still targets of the selected ones.
    assert _by_name(report, "tenant-b/inference-b1 -> other tenant service tenant-a/inference")[0].passed
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
    api.access_handler = _sar_from(api)
    report = verify_rbac(api, now=lambda: NOW)
    assert report.passed, [(c.name, c.detail) for c in report.checks if not c.passed]
    reviews = [args for call, args in api.calls if call == "access_review"]
    assert len(reviews) == len(report.checks) > 0
    users = {review.user for review in reviews}
    assert users == {
        f"system:serviceaccount:{tenant}:{account}"
        for tenant in ("tenant-a", "tenant-b")
        for account in ("default", "inference", c.TENANT_OWNER)
    }
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
    controls = [check for check in report.checks if check.name.endswith("(control)")]
    assert all(check.expected == "allowed" for check in controls)
    workloads = [check for check in controls if f":{c.TENANT_OWNER}:" not in check.name]
    assert len(workloads) == 4 and all("system:basic-user" in check.detail for check in workloads)
    # The tenant-owner accounts: basic-user and one request per rule of their tenant-owner Role, exec included.
    owner = {check.name for check in controls if check.subject == f"system:serviceaccount:tenant-a:{c.TENANT_OWNER}"}
    assert len(owner) == 13
    assert f"system:serviceaccount:tenant-a:{c.TENANT_OWNER}: get pods/exec in tenant-a (control)" in owner


def test_rbac_live_fails_when_the_api_server_denies_everything():
    api = cluster()
    api.access_handler = lambda review: False
    report = verify_rbac(api, now=lambda: NOW)
    assert not report.passed
    failed = [check for check in report.checks if not check.passed]
    # Only what must or may be allowed fails: the controls, the owners' job verbs, the grants of the own Roles.
    assert failed and all(check.expected.startswith("allowed") for check in failed)
    assert any(check.name.endswith("(control)") for check in failed)
    assert all("another authorizer" in check.detail for check in failed)
    [finding] = report.findings
    assert "denied all 30 positive control(s)" in finding.message


def test_rbac_live_control_from_the_tenant_role():
    api = cluster()
    role = api.objects[api.key("rbac.authorization.k8s.io/v1", "Role", "inference", "tenant-a")]
    role["rules"] = [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["model"], "verbs": ["get"]}]
    api.access_handler = _sar_from(api)
    report = verify_rbac(api, tenants=["tenant-a"], now=lambda: NOW)
    assert report.passed
    names = {check.name for check in report.checks if check.name.endswith("(control)")}
    assert "system:serviceaccount:tenant-a:inference: get configmaps model in tenant-a (control)" in names
    assert "system:serviceaccount:tenant-a:default: get configmaps model in tenant-a (control)" not in names


def test_rbac_live_without_any_possible_control_fails():
    api = cluster()
    api.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "system:basic-user", None)
    api.access_handler = _sar_from(api)
    report = verify_rbac(api, tenants=["tenant-b"], now=lambda: NOW)
    assert not report.passed
    failed = {check.name: check.observed for check in report.checks if not check.passed}
    assert failed == {
        "system:serviceaccount:tenant-b:default: a positive control": "none can be made",
        "system:serviceaccount:tenant-b:inference: a positive control": "none can be made",
    }


def test_rbac_live_binding_to_a_missing_cluster_role_is_a_finding():
    api = cluster()
    api.add(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "later", "namespace": "tenant-a"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "not-yet"},
            "subjects": [{"kind": "ServiceAccount", "name": "inference", "namespace": "tenant-a"}],
        }
    )
    api.access_handler = _sar_from(api)
    report = verify_rbac(api, now=lambda: NOW)
    assert not report.passed
    assert [f.message for f in report.findings] == [
        "RoleBinding tenant-a/later: ClusterRole not-yet does not exist, neither built in nor in the cluster: it "
        "grants whatever that role says once someone creates it"
    ]


def test_rbac_live_flags_disagreement_with_the_evaluator():
    api = cluster()
    grants = _sar_from(api)
    workloads = {f"system:serviceaccount:tenant-a:{name}" for name in ("default", "inference")}
    api.access_handler = lambda review: (
        grants(review) or (review.user in workloads and review.resource == "secrets" and review.namespace == "tenant-b")
    )
    report = verify_rbac(api, tenants=["tenant-a"])
    bad = [check for check in report.checks if not check.passed]
    assert {check.name for check in bad} == {
        f"system:serviceaccount:tenant-a:{name}: {verb} secrets in tenant-b"
        for verb in ("get", "list", "watch")
        for name in ("default", "inference")
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
    api.access_handler = _sar_from(api)
    report = verify_isolation(api, sleep=lambda s: None)
    assert report.kind == "isolation" and report.passed
    assert {check.area for check in report.checks} == {"rbac", "network"}


def test_all_fails_when_autoscaling_fails():
    api = cluster()
    api.exec_handler = ScriptedNetwork()
    api.access_handler = _sar_from(api)
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
    assert "- Time: network: probe pods " in text and ", network: probe " in text
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


def test_live_tenants_leave_out_namespaces_being_deleted():
    from mlopsctl import constants as const
    from mlopsctl.adapters.fakes import FakeKubeApi
    from mlopsctl.services.verify_network import live_tenants

    api = FakeKubeApi()
    for name, phase in (("tenant-a", "Active"), ("tenant-gone", "Terminating")):
        api.add({"apiVersion": "v1", "kind": "Namespace", "status": {"phase": phase},
                 "metadata": {"name": name, "labels": {const.TENANT_LABEL: name}}})  # fmt: skip
    assert live_tenants(api, None)[1] == ["tenant-a"]


def test_rbac_live_ignores_missing_roles_of_bindings_that_do_not_concern_tenants():
    api = cluster()
    api.add(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "leftover"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "uninstalled-chart"},
            "subjects": [{"kind": "User", "name": "bob"}],
        }
    )
    api.access_handler = _sar_from(api)
    assert verify_rbac(api, now=lambda: NOW).passed
