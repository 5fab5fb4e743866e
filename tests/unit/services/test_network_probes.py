"""The pure parts of live network probing: equivalence classes, the spread of probes over sources, the parsing of
the in-pod programs' output, the probe pod manifests and the progress notes."""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as c
from mlopsctl.analysis.netpol import ContainerPort, Network, Peer, parse_policy
from mlopsctl.manifests.probe_pods import (
    LISTENER_PROGRAM,
    ProbePodValues,
    render_probe_pod,
    run_selector,
    scratch_namespace,
)
from mlopsctl.manifests.templating import render_yaml
from mlopsctl.services.network_probes.equivalence import describe_equivalence, pod_classes
from mlopsctl.services.network_probes.execute import ProbeProgress
from mlopsctl.services.network_probes.plan import _spread
from mlopsctl.services.network_probes.program import (
    MAX_WORKERS,
    Result,
    Spec,
    parse_results,
    python_batch,
    waves,
    wget_batch,
)

PORTS = (ContainerPort(8080, "TCP", "http"),)


def _pod(name, ip, namespace="tenant-a", **labels):
    return Peer(namespace, name, labels={"app": "inference", **labels}, ports=PORTS, ip=ip)


def _network(peers, *policies):
    return Network({"tenant-a": {}, "tenant-b": {}}, peers, [parse_policy(p) for p in policies])


def _policy(name, spec, namespace="tenant-a"):
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


# --- equivalence ---------------------------------------------------------------------------------------------


def test_replicas_of_one_workload_are_one_class():
    peers = [
        _pod("a-2", "10.0.0.2", **{"pod-template-hash": "x2"}),
        _pod("a-1", "10.0.0.1", **{"pod-template-hash": "x1"}),
    ]
    [group] = pod_classes(_network(peers), peers)
    assert [m.id for m in group.members] == ["tenant-a/a-1", "tenant-a/a-2"]
    assert group.representative.id == "tenant-a/a-1" and group.other_than(group.representative).id == "tenant-a/a-2"
    [note] = describe_equivalence([group])
    assert note.startswith("tenant-a/a-1 stands for tenant-a/a-2: same namespace, labels, ports, policies")


@pytest.mark.parametrize(
    "twin",
    [
        _pod("a-2", "10.0.0.2", debug="true"),  # a label
        _pod("a-2", "10.0.0.2", namespace="tenant-b"),  # a namespace
        Peer("tenant-a", "a-2", labels={"app": "inference"}, ports=(ContainerPort(9090),), ip="10.0.0.2"),  # ports
        _pod("a-2", "10.0.9.2"),  # an address an ipBlock rule treats differently
    ],
)
def test_pods_that_a_policy_may_tell_apart_are_separate_classes(twin):
    peers = [_pod("a-1", "10.0.0.1"), twin]
    block = _policy("by-address", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}]}]})
    classes = pod_classes(_network(peers, block), peers)
    assert len(classes) == 2 and describe_equivalence(classes) == []


def test_exhaustive_makes_every_pod_its_own_class():
    peers = [_pod("a-1", "10.0.0.1"), _pod("a-2", "10.0.0.2")]
    assert len(pod_classes(_network(peers), peers, exhaustive=True)) == 2


# --- spreading probes over sources ---------------------------------------------------------------------------


@pytest.mark.parametrize(("sources", "destinations"), [(1, 3), (2, 3), (3, 3), (7, 3), (5, 1), (0, 2), (2, 0)])
def test_every_source_and_every_destination_is_used_at_least_once(sources, destinations):
    chosen = _spread([object()] * sources, [[object()]] * destinations, exhaustive=False)
    assert set(chosen) == set(range(sources))
    if sources and destinations:
        assert all(chosen[i] for i in range(sources))
        assert {j for picks in chosen.values() for j in picks} == set(range(destinations))
        assert sum(len(picks) for picks in chosen.values()) == max(sources, destinations)


def test_exhaustive_spread_is_every_pair():
    chosen = _spread([object()] * 3, [[object()]] * 4, exhaustive=True)
    assert chosen == {i: [0, 1, 2, 3] for i in range(3)}


# --- the in-pod programs' commands and output ---------------------------------------------------------------


def test_python_batch_command_carries_every_probe_as_json():
    command = python_batch([Spec(0, "10.0.0.1", 80, "TCP"), Spec(5, "fd00::1", 53, "UDP")], 1.5)
    assert command[:2] == [c.INFERENCE_COMMAND[0], "-c"]
    assert json.loads(command[3]) == [[0, "10.0.0.1", 80, "TCP"], [5, "fd00::1", 53, "UDP"]]
    assert command[4:] == ["1.5", str(MAX_WORKERS)]


def test_wget_batch_brackets_ipv6_and_pairs_ids_with_urls():
    command = wget_batch([Spec(2, "10.0.0.1", 8080, "TCP"), Spec(3, "fd00::1", 8080, "TCP")], 2.0)
    assert command[:2] == ["sh", "-c"] and command[3:] == [
        "sh", "2", "2", "http://10.0.0.1:8080/metrics", "3", "http://[fd00::1]:8080/metrics"
    ]  # fmt: skip


def test_parse_results_keeps_probe_lines_and_skips_the_rest():
    stdout = "\n".join(
        [
            '{"id": 1, "connected": true, "observed": "connected"}',
            "Traceback (most recent call last):",
            '{"id": 2, "connected": false, "observed": "timeout"}',
            '{"id": 3, "connected": null, "observed": "error: boom"}',
            '{"id": "4", "connected": true}',
            "[1, 2]",
            '{"id": 5, "connected": "yes", "observed": "odd"}',
        ]
    )
    assert parse_results(stdout) == {
        1: Result(True, "connected"),
        2: Result(False, "timeout"),
        3: Result(None, "error: boom"),
        5: Result(None, "odd"),
    }


def test_waves_of_a_batch():
    assert [waves(n) for n in (0, 1, MAX_WORKERS, MAX_WORKERS + 1)] == [1, 1, 1, 2]


# --- probe pods ----------------------------------------------------------------------------------------------


def test_probe_pod_is_psa_restricted_and_owned_by_the_run():
    pod = render_probe_pod(ProbePodValues("abc123", "tenant-a", c.LATER_POD_ROLE, "registry:5000/inference:1"))
    assert pod["metadata"]["name"] == "verify-later-pod-abc123"
    assert pod["metadata"]["labels"] == {c.VERIFY_RUN_LABEL: "abc123", c.VERIFY_PROBE_ROLE_LABEL: "later-pod"}
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never" and spec["activeDeadlineSeconds"] == 900
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = spec["containers"]
    assert container["image"] == "registry:5000/inference:1"
    assert container["command"] == [c.INFERENCE_COMMAND[0], "-c", LISTENER_PROGRAM, "8080"]
    assert container["ports"] == [{"name": "probe", "containerPort": 8080, "protocol": "TCP"}]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]} and context["runAsNonRoot"] is True
    assert set(container["resources"]) == {"requests", "limits"}
    assert render_probe_pod(ProbePodValues("abc123", "t", c.LATER_POD_ROLE, 'evil"\nkind: Secret'))["kind"] == "Pod"
    assert "verify-later-pod-abc123" in render_yaml([pod])


def test_scratch_namespace_has_only_the_run_label():
    assert scratch_namespace("abc123") == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "verify-outsider-abc123", "labels": {c.VERIFY_RUN_LABEL: "abc123"}},
    }
    assert run_selector("abc123") == f"{c.VERIFY_RUN_LABEL}=abc123"


# --- progress ------------------------------------------------------------------------------------------------


class Notes:
    def __init__(self):
        self.lines = []

    def step(self, title):  # pragma: no cover - not used here
        raise AssertionError

    def note(self, message):
        self.lines.append(message)


def test_progress_notes_at_most_once_per_interval_with_the_rate():
    now = [0.0]
    notes = Notes()
    progress = ProbeProgress(notes, 100, lambda: now[0], interval=1.0)
    now[0] = 0.5
    progress.advance(10)  # too soon after the start
    now[0] = 1.0
    progress.advance(10)  # 20 done in 1 s
    now[0] = 1.5
    progress.advance(10)  # too soon after the last note
    now[0] = 2.0
    progress.advance(20)  # 50 done in 2 s
    now[0] = 4.0
    progress.advance(50)  # all done: the last note is finish()'s
    progress.finish()
    assert notes.lines == ["probes 20/100 (20/s)", "probes 50/100 (25/s)", "probes 100/100 (25/s)"]
