"""Sorting objects into peers, policies, RBAC objects and service accounts."""

from __future__ import annotations

import pytest

from mlopsctl.analysis.inventory import build_inventory, flatten
from mlopsctl.analysis.netpol import ContainerPort, PolicyError


def _template(labels, ports, **spec):
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "ports": ports}], **spec}}


def test_list_objects_are_opened_and_empty_documents_dropped():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"}}
    assert flatten([None, {"kind": "List", "items": [pod, {"kind": "PodList", "items": [pod]}]}, {}]) == [pod, pod]


def test_workload_kinds_become_peers_with_template_labels_and_ports():
    objects = [
        {
            "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "x"},
            "spec": {"template": _template({"a": "1"}, [{"containerPort": 80}])},
        },
        {
            "kind": "StatefulSet",
            "metadata": {"name": "s", "namespace": "x"},
            "spec": {"template": _template({"a": "2"}, [{"containerPort": 53, "protocol": "UDP", "name": "dns"}])},
        },
        {
            "kind": "CronJob",
            "metadata": {"name": "c", "namespace": "y"},
            "spec": {"jobTemplate": {"spec": {"template": _template({"a": "3"}, [])}}},
        },
        {"kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "x"}},
    ]
    inventory = build_inventory(objects)
    peers = {peer.id: peer for peer in inventory.peers}
    assert set(peers) == {"x/d", "x/s", "y/c"}
    assert peers["x/d"].labels == {"a": "1"} and peers["x/d"].ports == (ContainerPort(80, "TCP", ""),)
    assert peers["x/s"].ports == (ContainerPort(53, "UDP", "dns"),)
    assert not peers["x/d"].single and peers["x/d"].ip is None
    assert inventory.all_namespaces() == ["x", "y"]


def test_pods_keep_their_address_and_host_network_pods_are_not_policy_targets():
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "x", "labels": {"k": "v"}},
        "spec": {"containers": []},
        "status": {"podIP": "10.244.1.5"},
    }
    host = {
        "kind": "Pod",
        "metadata": {"name": "h", "namespace": "kube-system"},
        "spec": {"hostNetwork": True, "containers": []},
        "status": {"podIP": "172.18.0.2"},
    }
    peers = {peer.id: peer for peer in build_inventory([pod, host]).peers}
    assert peers["x/p"].ip == "10.244.1.5" and peers["x/p"].single and peers["x/p"].pod
    assert not peers["kube-system/h"].pod


def test_rbac_service_accounts_namespaces_and_policies_are_sorted_out():
    objects = [
        {"kind": "Namespace", "metadata": {"name": "t", "labels": {"team": "a"}}},
        {"kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "t"}},
        {"kind": "Role", "metadata": {"name": "r", "namespace": "t"}, "rules": []},
        {"kind": "ClusterRole", "metadata": {"name": "cr"}, "rules": []},
        {"kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "t"}, "spec": {"podSelector": {}}},
        {"kind": "Service", "metadata": {"name": "svc", "namespace": "t"}},
    ]
    inventory = build_inventory(objects)
    assert inventory.namespaces == {"t": {"team": "a"}}
    assert inventory.service_accounts == [("t", "sa")]
    assert [obj["kind"] for obj in inventory.rbac] == ["Role", "ClusterRole"]
    assert [policy.id for policy in inventory.policies] == ["t/np"]
    assert len(inventory.services) == 1
    assert inventory.all_namespaces() == ["t"]


def test_invalid_policy_is_reported():
    bad = {"kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "t"}, "spec": {"ingress": [{"from": [{}]}]}}
    with pytest.raises(PolicyError, match="NetworkPolicy t/np"):
        build_inventory([bad])
