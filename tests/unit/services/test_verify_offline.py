"""Offline verification over the rendered tenant set: the isolation expectations hold, and each classic defect
(egress to 0.0.0.0/0, a namespace selected by a label nobody sets, secrets granted cluster-wide) is caught."""

from __future__ import annotations

import copy

from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.services.verify import network_offline, rbac_offline

TENANTS = ("tenant-a", "tenant-b")


def rendered() -> list[dict]:
    return [obj for name in TENANTS for obj in render_tenant(TenantSpec.create(name))]


def failed(report) -> set[str]:
    return {e.check for e in report.expectations if not e.passed}


def test_rendered_two_tenant_set_passes():
    report = network_offline(rendered())
    assert report.passed, failed(report)
    checks = {e.check for e in report.expectations}
    # Every other tenant, the platform, the outsider, the later pods and the world, in both directions.
    for peer in (
        "tenant-b/inference",
        "kube-system/metrics-server",
        "mlopsctl-outsider/outsider",
        "tenant-a/later-pod",
        "world/8.8.8.8",
        "world/2001:4860:4860::8888",
        "world/ipv4-outside-cluster",
    ):
        assert any(check.startswith(f"{peer} -> tenant-") for check in checks), peer
        assert any(check.startswith("tenant-") and f"-> {peer} " in check for check in checks), peer


def test_later_pods_and_outsiders_get_the_contract():
    checks = {e.check: (e.expected, e.rule) for e in network_offline(rendered()).expectations}
    assert checks["mlopsctl-outsider/outsider -> tenant-a/inference 8080/TCP"] == (
        "denied",
        "nothing reaches a tenant from a pod in an ordinary namespace (the outsider)",
    )
    assert checks["tenant-a/inference -> tenant-a/later-pod 8080/TCP"][0] == "denied"
    assert checks["tenant-a/later-pod -> world/8.8.8.8 443/TCP"] == (
        "denied",
        "a tenant reaches only its allow-list, not the world outside the cluster",
    )
    assert checks["world/ipv6-outside-cluster -> tenant-b/inference 8080/TCP"][0] == "denied"
    # Allow-listed flows are demanded of the inference pods, permitted (not judged) for other pods.
    assert checks["tenant-a/inference -> kube-system/coredns 53/UDP"][0] == "allowed"
    assert "tenant-a/later-pod -> kube-system/coredns 53/UDP" not in checks
    assert "tenant-a/later-pod -> tenant-a/inference 8080/TCP" not in checks


def test_rendered_set_meets_each_expectation():
    report = network_offline(rendered())
    assert report.tenants == list(TENANTS)
    assert report.passed and report.failures == 0
    checks = {e.check: e.expected for e in report.expectations}
    assert checks["tenant-a/inference -> tenant-a/inference 8080/TCP"] == "allowed"
    assert checks["tenant-a/inference -> tenant-b/inference 8080/TCP"] == "denied"
    assert checks["tenant-b/inference -> tenant-a/inference 8080/TCP"] == "denied"
    assert checks["monitoring/prometheus -> tenant-a/inference 8080/TCP"] == "allowed"
    assert checks["tenant-a/inference -> monitoring/prometheus 9090/TCP"] == "denied"
    assert checks["tenant-a/inference -> kube-system/coredns 53/UDP"] == "allowed"
    assert checks["tenant-a/inference -> kube-system/coredns 53/TCP"] == "allowed"
    assert checks["tenant-a/inference -> kube-system/coredns 9153/TCP"] == "denied"
    assert checks["tenant-a/inference -> kube-system/metrics-server 10250/TCP"] == "denied"
    assert checks["tenant-a/inference -> default/kubernetes 6443/TCP"] == "denied"
    assert checks["tenant-a/inference -> object-store/object-store 8333/TCP"] == "allowed"
    assert checks["tenant-a/inference -> object-store/object-store 9333/TCP"] == "denied"


def test_platform_peers_are_synthesized_and_reported():
    report = network_offline(rendered())
    assert {"kube-system/coredns", "monitoring/prometheus", "object-store/object-store", "default/kubernetes"} <= set(
        report.peers
    )
    assert any(
        note.startswith("synthesized kube-system/coredns (53/UDP, 53/TCP, 9153/TCP)") for note in report.synthesized
    )
    assert len(report.synthesized) == 9
    assert {"mlopsctl-outsider/outsider", "tenant-a/later-pod", "tenant-b/later-pod", "world/8.8.8.8"} <= set(
        report.peers
    )


def test_platform_peers_in_the_manifests_are_not_synthesized():
    dns = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system"},
        "spec": {
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 53, "protocol": "UDP"}]}]},
            }
        },
    }
    report = network_offline([*rendered(), dns])
    assert not any("coredns" in note for note in report.synthesized)
    assert report.peers.count("kube-system/coredns") == 1


def test_connections_cover_every_pair_and_port():
    report = network_offline(rendered())
    ports = {"default/kubernetes": 2, "kube-system/coredns": 3, "kube-system/metrics-server": 1}
    ports |= {
        "monitoring/prometheus": 1,
        "object-store/object-store": 2,
        "tenant-a/inference": 1,
        "tenant-b/inference": 1,
        # Every port of the allow-list plus one other; the world adds the ports the policies name.
        "mlopsctl-outsider/outsider": 5,
        "tenant-a/later-pod": 5,
        "tenant-b/later-pod": 5,
    }
    ports |= dict.fromkeys(("8.8.8.8", "2001:4860:4860::8888", "ipv4-outside-cluster", "ipv6-outside-cluster"), 6)
    assert len(report.connections) == len(report.peers) * sum(ports.values())
    first = report.connections[0]
    assert set(first) == {"from", "to", "port", "protocol", "allowed", "reason"}


# The original stack's defect: tenant pods may open connections anywhere.
ALLOW_ALL_EGRESS_FROM_TENANT_A = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "allow-all-egress", "namespace": "tenant-a"},
    "spec": {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
    },
}


def test_egress_to_everywhere_is_caught():
    objects = rendered()
    objects.append(copy.deepcopy(ALLOW_ALL_EGRESS_FROM_TENANT_A))
    report = network_offline(objects)
    assert not report.passed
    bad = failed(report)
    assert "tenant-a/inference -> default/kubernetes 6443/TCP" in bad
    assert "tenant-a/inference -> monitoring/prometheus 9090/TCP" in bad
    assert "tenant-a/inference -> object-store/object-store 9333/TCP" in bad
    assert "tenant-a/inference -> kube-system/metrics-server 10250/TCP" in bad
    assert not any(check.startswith("tenant-b/") for check in bad)
    # tenant-b's ingress policies still stand between the tenants.
    assert "tenant-a/inference -> tenant-b/inference 8080/TCP" not in bad


def test_egress_to_everywhere_with_open_ingress_reopens_cross_tenant_path():
    objects = [o for o in rendered() if not (o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == "tenant-b")]
    objects.append(copy.deepcopy(ALLOW_ALL_EGRESS_FROM_TENANT_A))
    report = network_offline(objects)
    to_b = next(e for e in report.expectations if e.check == "tenant-a/inference -> tenant-b/inference 8080/TCP")
    assert not to_b.passed and to_b.observed == "possibly allowed"
    assert "may be allowed by tenant-a/allow-all-egress rule 0" in to_b.reason


def test_namespace_selected_by_unset_label_is_caught():
    objects = copy.deepcopy(rendered())
    for obj in objects:
        if obj["kind"] == "NetworkPolicy" and (obj["metadata"]["namespace"], obj["metadata"]["name"]) == (
            "tenant-b",
            "allow-dns-egress",
        ):
            obj["spec"]["egress"][0]["to"][0]["namespaceSelector"] = {"matchLabels": {"name": "kube-system"}}
    report = network_offline(objects)
    assert failed(report) == {
        "tenant-b/inference -> kube-system/coredns 53/UDP",
        "tenant-b/inference -> kube-system/coredns 53/TCP",
    }
    assert report.warnings == [
        "tenant-b/allow-dns-egress egress rule 0: namespaceSelector name=kube-system matches no namespace "
        "(Kubernetes sets only kubernetes.io/metadata.name on namespaces)"
    ]
    assert network_offline(rendered()).warnings == []


def test_rendered_rbac_passes():
    report = rbac_offline(rendered())
    assert report.passed and report.failures == 0
    assert report.tenants == list(TENANTS)
    subjects = {row["subject"] for row in report.checks}
    accounts = {
        f"system:serviceaccount:{t}:{name}" for t in TENANTS for name in ("inference", "default", "tenant-owner")
    }
    # The tenant-owner accounts are their tenants' owners too, probed by the owners' contract under their sa: name.
    assert subjects == accounts | {f"sa:{t}/tenant-owner" for t in TENANTS}
    assert report.owners == {t: [f"sa:{t}/tenant-owner"] for t in TENANTS}
    workloads = {subject for subject in accounts if not subject.endswith(":tenant-owner")}
    allowed = {
        (row["subject"], row["resource"]) for row in report.checks if row["allowed"] and row["subject"] in workloads
    }
    assert allowed == {(subject, "selfsubjectaccessreviews") for subject in workloads}  # the positive controls
    assert report.notes[0].startswith("built-in ClusterRoles and ClusterRoleBindings: the Kubernetes 1.28")
    row = report.checks[0]
    assert set(row) == {"subject", "namespace", "verb", "group", "resource", "subresource", "allowed", "rule"}


def test_rbac_matrix_covers_every_namespace_plus_cluster_scope():
    report = rbac_offline(rendered())
    inference = [row for row in report.checks if row["subject"].endswith(":inference")]
    scopes = {row["namespace"] for row in inference if row["resource"] == "secrets"}
    assert scopes == {"tenant-a", "tenant-b", None}
    node_scopes = {row["namespace"] for row in inference if row["resource"] == "nodes"}
    assert node_scopes == {None}


def test_secrets_granted_cluster_wide_is_caught():
    objects = rendered()
    objects += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "secret-reader"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "tenant-a-secrets"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "inference", "namespace": "tenant-a"}],
        },
    ]
    report = rbac_offline(objects)
    assert not report.passed
    bad = {(e["subject"], e["namespace"], e["check"]) for e in report.expectations if not e["passed"]}
    sa = "system:serviceaccount:tenant-a:inference"
    assert bad == {(sa, ns, f"{verb} secrets") for ns in ("tenant-a", "tenant-b", None) for verb in ("get", "list")}
    assert ("system:serviceaccount:tenant-a:default", "tenant-b", "get secrets") not in bad
    row = next(
        r
        for r in report.checks
        if r["subject"] == sa and r["namespace"] == "tenant-b" and r["verb"] == "get" and r["resource"] == "secrets"
    )
    assert row["allowed"] and row["rule"].startswith(
        "ClusterRoleBinding tenant-a-secrets -> ClusterRole secret-reader rule 0"
    )


def test_escalation_in_own_namespace_is_caught():
    objects = rendered()
    for obj in objects:
        if obj["kind"] == "Role" and (obj["metadata"]["namespace"], obj["metadata"]["name"]) == (
            "tenant-b",
            "inference",
        ):
            obj["rules"] = [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create"]}]
    report = rbac_offline(objects)
    bad = [(e["namespace"], e["check"], e["rule"]) for e in report.expectations if not e["passed"]]
    assert bad == [
        (
            "tenant-b",
            "create networkpolicies.networking.k8s.io",
            "no escalation or guard-rail writes for a tenant identity",
        )
    ]


def test_extra_checks_are_added():
    from mlopsctl.analysis.rbac_contract import AccessCheck

    report = rbac_offline(rendered(), [AccessCheck("get", "leases", "coordination.k8s.io")])
    assert any(r["resource"] == "leases" and r["group"] == "coordination.k8s.io" for r in report.checks)


def _store(admitted: list[str]) -> list[dict]:
    """The object store as the storage manifests shape it: default deny, S3 admitted from granted tenants."""
    np = "networking.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "object-store"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "seaweedfs", "namespace": "object-store"},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "store"}},
                    "spec": {"containers": [{"name": "s", "ports": [{"name": "s3", "containerPort": 8333}]}]},
                }
            },
        },
        {
            "apiVersion": np,
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-all", "namespace": "object-store"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": np,
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-s3-from-tenants", "namespace": "object-store"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "store"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": admitted}
                                    ]
                                }
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": 8333}],
                    }
                ],
            },
        },
    ]


def test_object_store_admitting_only_granted_tenants_still_meets_the_tenant_side():
    report = network_offline([*rendered(), *_store(["tenant-a"])])
    assert report.passed, failed(report)
    assert not any("object-store/object-store" in peer for peer in report.peers)  # the real store, not a stand-in
    s3 = {e.check: e for e in report.expectations if e.check.endswith("object-store/seaweedfs 8333/TCP")}
    assert s3["tenant-a/inference -> object-store/seaweedfs 8333/TCP"].observed == "allowed"
    assert s3["tenant-b/inference -> object-store/seaweedfs 8333/TCP"].observed == (
        "egress allowed (the destination does not admit this tenant)"
    )


def test_tenant_egress_closed_to_the_store_is_caught():
    objects = [o for o in rendered() if o["metadata"]["name"] != "allow-object-store-egress"]
    report = network_offline([*objects, *_store(["tenant-a", "tenant-b"])])
    assert failed(report) == {
        "tenant-a/inference -> object-store/seaweedfs 8333/TCP",
        "tenant-b/inference -> object-store/seaweedfs 8333/TCP",
    }
