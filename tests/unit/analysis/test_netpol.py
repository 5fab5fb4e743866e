"""NetworkPolicy evaluator, in the style of the upstream network-policy e2e suite: namespaces x, y, z with pods
a, b, c each serving 80 and 81 over TCP, UDP and SCTP; each case sets the expected reachability matrix and
compares the whole of it."""

from __future__ import annotations

import pytest

from mlopsctl.analysis.netpol import (
    ContainerPort,
    Network,
    Peer,
    PolicyError,
    parse_policy,
)

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
PROTOCOL_SUFFIX = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}


def _ip(namespace: str, pod: str) -> str:
    return f"10.244.{NAMESPACES.index(namespace) + 1}.{PODS.index(pod) + 10}"


def _pod(namespace: str, pod: str, ip: bool = True) -> Peer:
    ports = tuple(
        ContainerPort(port, protocol, f"serve-{port}-{PROTOCOL_SUFFIX[protocol]}")
        for port in (80, 81)
        for protocol in ("TCP", "UDP", "SCTP")
    )
    return Peer(namespace, pod, {"pod": pod}, ports, _ip(namespace, pod) if ip else None)


ALL_PODS = [_pod(ns, pod) for ns in NAMESPACES for pod in PODS]
NS_LABELS = {ns: {"ns": ns} for ns in NAMESPACES}


def policy(name: str, namespace: str = "x", **spec) -> dict:
    spec.setdefault("podSelector", {})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def network(*policies: dict, peers=None) -> Network:
    return Network(NS_LABELS, peers or ALL_PODS, [parse_policy(p) for p in policies])


class Reachability:
    """The expected truth table, built as the upstream suite builds it."""

    def __init__(self, default: bool) -> None:
        self.expected = {(s.id, d.id): default for s in ALL_PODS for d in ALL_PODS}

    def expect(self, source: str, destination: str, value: bool) -> Reachability:
        """`source`/`destination`: "x/a", "x" (whole namespace) or "" (everything)."""

        def hit(pattern: str, peer_id: str) -> bool:
            return not pattern or peer_id == pattern or peer_id.split("/")[0] == pattern

        for s, d in self.expected:
            if hit(source, s) and hit(destination, d):
                self.expected[(s, d)] = value
        return self

    def allow_loopback(self) -> Reachability:
        for peer in ALL_PODS:
            self.expected[(peer.id, peer.id)] = True
        return self


def observed(net: Network, port: int = 80, protocol: str = "TCP") -> dict[tuple[str, str], bool]:
    return {(s.id, d.id): net.evaluate(s, d, port, protocol).allowed for s in ALL_PODS for d in ALL_PODS}


def assert_matrix(net: Network, expected: Reachability, port: int = 80, protocol: str = "TCP") -> None:
    seen = observed(net, port, protocol)
    wrong = {pair: seen[pair] for pair in seen if seen[pair] != expected.expected[pair]}
    assert not wrong, f"{port}/{protocol}: unexpected verdicts (pair: observed) {wrong}"


# --- no policies, deny-all, allow-all -------------------------------------------------------------------------


def test_no_policies_everything_allowed():
    assert_matrix(network(), Reachability(True))


def test_default_deny_ingress():
    net = network(policy("deny-ingress"))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback())


def test_default_deny_ingress_applies_to_every_protocol():
    net = network(policy("deny-ingress"))
    for protocol in ("UDP", "SCTP"):
        assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 81, protocol)


def test_default_deny_egress():
    net = network(policy("deny-egress", policyTypes=["Egress"]))
    assert_matrix(net, Reachability(True).expect("x", "", False).allow_loopback())


def test_default_deny_all_both_directions():
    net = network(policy("deny-all", policyTypes=["Ingress", "Egress"]))
    expected = Reachability(True).expect("x", "", False).expect("", "x", False).allow_loopback()
    assert_matrix(net, expected)


def test_allow_all_ingress_overrides_deny_all():
    net = network(policy("deny-ingress"), policy("allow-all", ingress=[{}]))
    assert_matrix(net, Reachability(True))


def test_allow_all_egress_with_empty_rule():
    net = network(policy("deny-egress", policyTypes=["Egress"]), policy("allow", policyTypes=["Egress"], egress=[{}]))
    assert_matrix(net, Reachability(True))


# --- pod and namespace selectors ------------------------------------------------------------------------------


def test_allow_ingress_from_same_namespace_only():
    net = network(policy("same-ns", ingress=[{"from": [{"podSelector": {}}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).expect("x", "x", True))


def test_pod_selector_on_target_and_source():
    net = network(
        policy(
            "a-from-b",
            podSelector={"matchLabels": {"pod": "a"}},
            ingress=[{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}],
        )
    )
    assert_matrix(net, Reachability(True).expect("", "x/a", False).expect("x/b", "x/a", True).allow_loopback())


def test_namespace_selector_only_selects_whole_namespace():
    net = network(
        policy(
            "a-from-y",
            podSelector={"matchLabels": {"pod": "a"}},
            ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}],
        )
    )
    assert_matrix(net, Reachability(True).expect("", "x/a", False).expect("y", "x/a", True).allow_loopback())


def test_namespace_selector_by_kubernetes_metadata_name_label():
    selector = {"matchLabels": {"kubernetes.io/metadata.name": "z"}}
    net = network(policy("from-z", ingress=[{"from": [{"namespaceSelector": selector}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).expect("z", "x", True).allow_loopback())


def test_namespace_selector_by_unset_label_matches_nothing():
    net = network(policy("from-name-y", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"name": "y"}}}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback())
    assert net.dead_selectors() == [
        "x/from-name-y ingress rule 0: namespaceSelector name=y matches no namespace "
        "(Kubernetes sets only kubernetes.io/metadata.name on namespaces)"
    ]
    assert (
        network(
            policy("from-ns-y", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}])
        ).dead_selectors()
        == []
    )


def test_namespace_and_pod_selector_in_one_peer_is_and():
    peer = {"namespaceSelector": {"matchLabels": {"ns": "y"}}, "podSelector": {"matchLabels": {"pod": "b"}}}
    net = network(policy("and", podSelector={"matchLabels": {"pod": "a"}}, ingress=[{"from": [peer]}]))
    assert_matrix(net, Reachability(True).expect("", "x/a", False).expect("y/b", "x/a", True).allow_loopback())


def test_namespace_and_pod_selector_as_two_peers_is_or():
    peers = [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}, {"podSelector": {"matchLabels": {"pod": "b"}}}]
    net = network(policy("or", podSelector={"matchLabels": {"pod": "a"}}, ingress=[{"from": peers}]))
    expected = Reachability(True).expect("", "x/a", False).expect("y", "x/a", True).expect("x/b", "x/a", True)
    assert_matrix(net, expected.allow_loopback())


def test_empty_namespace_selector_matches_every_namespace():
    peer = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"pod": "c"}}}
    net = network(policy("c-anywhere", ingress=[{"from": [peer]}]))
    expected = Reachability(True).expect("", "x", False)
    for ns in NAMESPACES:
        expected.expect(f"{ns}/c", "x", True)
    assert_matrix(net, expected.allow_loopback())


def test_policy_selects_only_pods_of_its_own_namespace():
    net = network(policy("deny-a-in-y", "y", podSelector={"matchLabels": {"pod": "a"}}))
    assert_matrix(net, Reachability(True).expect("", "y/a", False).allow_loopback())


def test_policy_selecting_no_pod_has_no_effect():
    net = network(policy("nothing", podSelector={"matchLabels": {"pod": "nope"}}))
    assert_matrix(net, Reachability(True))


# --- matchExpressions -----------------------------------------------------------------------------------------


def test_match_expressions_in():
    selector = {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["a", "b"]}]}
    net = network(policy("in", ingress=[{"from": [{"podSelector": selector}]}]))
    expected = Reachability(True).expect("", "x", False).expect("x/a", "x", True).expect("x/b", "x", True)
    assert_matrix(net, expected.allow_loopback())


def test_match_expressions_not_in_namespaces():
    selector = {"matchExpressions": [{"key": "ns", "operator": "NotIn", "values": ["y"]}]}
    net = network(
        policy(
            "not-y", podSelector={"matchLabels": {"pod": "a"}}, ingress=[{"from": [{"namespaceSelector": selector}]}]
        )
    )
    expected = Reachability(True).expect("", "x/a", False).expect("x", "x/a", True).expect("z", "x/a", True)
    assert_matrix(net, expected.allow_loopback())


def test_match_expressions_not_in_matches_objects_without_the_key():
    selector = {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}
    net = network(policy("not-db", ingress=[{"from": [{"podSelector": selector}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).expect("x", "x", True))


def test_match_expressions_exists_and_does_not_exist():
    exists = {"matchExpressions": [{"key": "pod", "operator": "Exists"}]}
    missing = {"matchExpressions": [{"key": "pod", "operator": "DoesNotExist"}]}
    net = network(policy("exists", ingress=[{"from": [{"podSelector": exists}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).expect("x", "x", True))
    net = network(policy("missing", ingress=[{"from": [{"podSelector": missing}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback())


def test_match_labels_and_expressions_must_both_hold():
    selector = {"matchLabels": {"ns": "y"}, "matchExpressions": [{"key": "ns", "operator": "In", "values": ["z"]}]}
    net = network(policy("never", ingress=[{"from": [{"namespaceSelector": selector}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback())


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ({"key": "pod", "operator": "Gt", "values": ["1"]}, "unknown label selector operator 'Gt'"),
        ({"key": "pod", "operator": "In", "values": []}, "needs values"),
        ({"key": "pod", "operator": "Exists", "values": ["a"]}, "takes no values"),
    ],
)
def test_invalid_selectors_are_rejected(requirement, message):
    selector = {"matchExpressions": [requirement]}
    with pytest.raises(PolicyError, match=message):
        parse_policy(policy("bad-peer", ingress=[{"from": [{"podSelector": selector}]}]))
    with pytest.raises(PolicyError, match=message):
        parse_policy(policy("bad-target", podSelector=selector))


# --- ports and protocols --------------------------------------------------------------------------------------


def test_ingress_on_port_81_only():
    net = network(policy("p81", ingress=[{"ports": [{"port": 81}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80)
    assert_matrix(net, Reachability(True), 81)


def test_named_port_resolves_against_destination():
    net = network(policy("named", ingress=[{"ports": [{"port": "serve-81-tcp"}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80)
    assert_matrix(net, Reachability(True), 81)


def test_named_port_with_udp_protocol():
    net = network(policy("named-udp", ingress=[{"ports": [{"port": "serve-80-udp", "protocol": "UDP"}]}]))
    assert_matrix(net, Reachability(True), 80, "UDP")
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80, "TCP")


def test_named_port_that_the_destination_lacks_matches_nothing():
    net = network(policy("named-missing", ingress=[{"ports": [{"port": "metrics"}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80)


def test_named_port_maps_to_each_destinations_own_number():
    odd = Peer("x", "d", {"pod": "d"}, (ContainerPort(9000, "TCP", "http"),), "10.244.1.40")
    even = Peer("x", "e", {"pod": "e"}, (ContainerPort(8080, "TCP", "http"),), "10.244.1.41")
    peers = [*ALL_PODS, odd, even]
    net = network(policy("http", ingress=[{"ports": [{"port": "http"}]}]), peers=peers)
    client = ALL_PODS[4]
    assert net.evaluate(client, odd, 9000).allowed
    assert not net.evaluate(client, odd, 8080).allowed
    assert net.evaluate(client, even, 8080).allowed
    assert not net.evaluate(client, even, 9000).allowed


def test_named_port_in_egress_rule_resolves_against_destination():
    net = network(policy("egress-named", policyTypes=["Egress"], egress=[{"ports": [{"port": "serve-81-tcp"}]}]))
    assert_matrix(net, Reachability(True).expect("x", "", False).allow_loopback(), 80)
    assert_matrix(net, Reachability(True), 81)


def test_end_port_range_includes_both_ends():
    net = network(policy("range", ingress=[{"ports": [{"port": 80, "endPort": 81}]}]))
    assert_matrix(net, Reachability(True), 80)
    assert_matrix(net, Reachability(True), 81)


def test_end_port_range_excludes_ports_below():
    net = network(policy("range", ingress=[{"ports": [{"port": 81, "endPort": 90}]}]))
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80)
    assert_matrix(net, Reachability(True), 81)


def test_protocol_defaults_to_tcp():
    net = network(policy("tcp-80", ingress=[{"ports": [{"port": 80}]}]))
    assert_matrix(net, Reachability(True), 80, "TCP")
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80, "UDP")


def test_udp_only_rule():
    net = network(policy("udp-80", ingress=[{"ports": [{"protocol": "UDP", "port": 80}]}]))
    assert_matrix(net, Reachability(True), 80, "UDP")
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80, "TCP")


def test_sctp_rule_without_port_allows_every_sctp_port():
    net = network(policy("sctp", ingress=[{"ports": [{"protocol": "SCTP"}]}]))
    assert_matrix(net, Reachability(True), 80, "SCTP")
    assert_matrix(net, Reachability(True), 81, "SCTP")
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 81, "TCP")


def test_rule_with_ports_and_no_peers_allows_every_source_on_those_ports():
    net = network(policy("ports-only", ingress=[{"ports": [{"port": 80}, {"port": 81, "protocol": "UDP"}]}]))
    assert_matrix(net, Reachability(True), 80, "TCP")
    assert_matrix(net, Reachability(True), 81, "UDP")
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 81, "TCP")


def test_peer_and_port_must_both_match_in_one_rule():
    rule = {"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}], "ports": [{"port": 81}]}
    net = network(policy("y-on-81", ingress=[rule]))
    assert_matrix(net, Reachability(True).expect("", "x", False).expect("y", "x", True).allow_loopback(), 81)
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback(), 80)


# --- several rules and policies -------------------------------------------------------------------------------


def test_rules_of_one_policy_are_a_union():
    rules = [
        {"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}], "ports": [{"port": 80}]},
        {"from": [{"namespaceSelector": {"matchLabels": {"ns": "z"}}}], "ports": [{"port": 81}]},
    ]
    net = network(policy("two-rules", ingress=rules))
    assert_matrix(net, Reachability(True).expect("", "x", False).expect("y", "x", True).allow_loopback(), 80)
    assert_matrix(net, Reachability(True).expect("", "x", False).expect("z", "x", True).allow_loopback(), 81)


def test_multiple_policies_are_additive():
    net = network(
        policy("deny"),
        policy("from-y", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}]),
        policy("from-x-b", ingress=[{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}]),
    )
    expected = Reachability(True).expect("", "x", False).expect("y", "x", True).expect("x/b", "x", True)
    assert_matrix(net, expected.allow_loopback())


def test_a_policy_cannot_deny_what_another_allows():
    net = network(policy("allow-all", ingress=[{}]), policy("deny-all", policyTypes=["Ingress", "Egress"], egress=[{}]))
    assert_matrix(net, Reachability(True))


# --- egress and ingress together ------------------------------------------------------------------------------


def test_egress_to_one_namespace():
    net = network(
        policy("to-y", policyTypes=["Egress"], egress=[{"to": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}])
    )
    assert_matrix(net, Reachability(True).expect("x", "", False).expect("x", "y", True).allow_loopback())


def test_connection_needs_both_egress_and_ingress():
    egress = policy(
        "a-to-y-b",
        podSelector={"matchLabels": {"pod": "a"}},
        policyTypes=["Egress"],
        egress=[
            {"to": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}, "podSelector": {"matchLabels": {"pod": "b"}}}]}
        ],
    )
    ingress = policy(
        "y-b-from-z",
        "y",
        podSelector={"matchLabels": {"pod": "b"}},
        ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "z"}}}]}],
    )
    net = network(egress, ingress)
    expected = Reachability(True).expect("x/a", "", False).expect("", "y/b", False).expect("z", "y/b", True)
    assert_matrix(net, expected.allow_loopback())
    verdict = net.evaluate(ALL_PODS[0], ALL_PODS[4], 80)
    assert verdict.egress.allowed and not verdict.ingress.allowed


def test_egress_rules_without_policy_types_isolate_ingress_too():
    # policyTypes defaults to [Ingress, Egress] when egress rules exist: this policy also denies all ingress.
    net = network(policy("egress-only-rules", egress=[{"to": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}]))
    expected = Reachability(True).expect("x", "", False).expect("x", "y", True).expect("", "x", False)
    assert_matrix(net, expected.allow_loopback())


def test_empty_egress_list_without_policy_types_is_ingress_only():
    parsed = parse_policy(policy("p", egress=[]))
    assert parsed.types == frozenset({"Ingress"})
    assert_matrix(network(policy("p", egress=[])), Reachability(True).expect("", "x", False).allow_loopback())


def test_explicit_egress_type_with_ingress_rules_ignores_them():
    # policyTypes [Egress] only: the ingress rules are not used and ingress stays open.
    net = network(policy("egress-type", policyTypes=["Egress"], ingress=[{"from": [{"podSelector": {}}]}]))
    assert_matrix(net, Reachability(True).expect("x", "", False).allow_loopback())


# --- ipBlock ------------------------------------------------------------------------------------------------


def test_ip_block_ingress_with_except():
    block = {"ipBlock": {"cidr": "10.244.2.0/24", "except": [f"{_ip('y', 'b')}/32"]}}
    net = network(policy("from-y-range", ingress=[{"from": [block]}]))
    expected = Reachability(True).expect("", "x", False).expect("y", "x", True).expect("y/b", "x", False)
    assert_matrix(net, expected.allow_loopback())


def test_ip_block_egress_to_one_pod():
    block = {"ipBlock": {"cidr": f"{_ip('z', 'c')}/32"}}
    net = network(policy("to-z-c", policyTypes=["Egress"], egress=[{"to": [block]}]))
    assert_matrix(net, Reachability(True).expect("x", "", False).expect("x", "z/c", True).allow_loopback())


def test_egress_to_everywhere_reopens_every_path():
    open_all = {"ipBlock": {"cidr": "0.0.0.0/0"}}
    net = network(
        policy("deny", policyTypes=["Ingress", "Egress"]),
        policy("open", policyTypes=["Egress"], egress=[{"to": [open_all]}]),
    )
    assert_matrix(net, Reachability(True).expect("", "x", False).allow_loopback())


def test_ip_block_except_everything_of_pod_network():
    block = {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.244.0.0/16"]}}
    net = network(policy("external-only", policyTypes=["Egress"], egress=[{"to": [block]}]))
    assert_matrix(net, Reachability(True).expect("x", "", False).allow_loopback())


def test_ip_block_against_pod_without_address_is_flagged_as_possible():
    peers = [_pod("x", "a", ip=False), _pod("y", "b", ip=False)]
    wide = network(
        policy("open", policyTypes=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]), peers=peers
    )
    verdict = wide.evaluate(peers[0], peers[1], 80)
    assert verdict.allowed and verdict.uncertain
    assert "may be allowed by x/open rule 0" in verdict.reason
    outside = network(
        policy("ext", policyTypes=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}]), peers=peers
    )
    assert not outside.evaluate(peers[0], peers[1], 80).allowed
    carved = {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.244.0.0/16"]}}
    assert (
        not network(policy("carved", policyTypes=["Egress"], egress=[{"to": [carved]}]), peers=peers)
        .evaluate(peers[0], peers[1], 80)
        .allowed
    )


def test_selectors_never_match_endpoints_outside_pods():
    apiserver = Peer("default", "kubernetes", {}, (ContainerPort(6443),), "172.18.0.2", kind="APIServer", pod=False)
    peers = [*ALL_PODS, apiserver]
    any_pod = policy("any-pod", policyTypes=["Egress"], egress=[{"to": [{"namespaceSelector": {}}]}])
    net = network(any_pod, peers=peers)
    assert not net.evaluate(ALL_PODS[0], apiserver, 6443).allowed
    node_range = policy("nodes", policyTypes=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "172.18.0.0/16"}}]}])
    assert network(node_range, peers=peers).evaluate(ALL_PODS[0], apiserver, 6443).allowed
    # Nothing isolates an endpoint that is not a pod.
    assert network(policy("deny", "default"), peers=peers).evaluate(ALL_PODS[0], apiserver, 6443).allowed


# --- loopback and explanations --------------------------------------------------------------------------------


def test_pod_to_itself_is_loopback_but_a_workload_to_itself_is_two_replicas():
    workload = Peer("x", "web", {"pod": "web"}, (ContainerPort(80),), None, kind="Deployment", single=False)
    net = network(policy("deny-all", policyTypes=["Ingress", "Egress"]), peers=[*ALL_PODS, workload])
    assert net.evaluate(ALL_PODS[0], ALL_PODS[0], 80).allowed
    assert "loopback" in net.evaluate(ALL_PODS[0], ALL_PODS[0], 80).reason
    assert not net.evaluate(workload, workload, 80).allowed


def test_verdict_explains_the_allowing_policy_and_rule():
    rules = [
        {"from": [{"podSelector": {"matchLabels": {"pod": "c"}}}]},
        {"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]},
    ]
    net = network(policy("explain", podSelector={"matchLabels": {"pod": "a"}}, ingress=rules))
    verdict = net.evaluate(ALL_PODS[1], ALL_PODS[0], 80)
    assert verdict.allowed
    assert verdict.ingress.policy == "x/explain" and verdict.ingress.rule == 1
    assert "ingress allowed by x/explain rule 1 (from podSelector pod=b; ports any port)" in verdict.reason
    assert "x/b is not isolated for egress" in verdict.reason


def test_verdict_explains_a_denial_by_the_isolating_policies():
    net = network(
        policy("deny"), policy("from-y", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}])
    )
    verdict = net.evaluate(ALL_PODS[6], ALL_PODS[0], 81, "UDP")
    assert not verdict.allowed
    assert (
        verdict.reason
        == "ingress denied: x/a is isolated for ingress by x/deny, x/from-y and no rule allows from z/a on 81/UDP"
    )


def test_connections_cover_every_pair_and_declared_port():
    net = network()
    connections = net.connections()
    assert len(connections) == 9 * 9 * 6
    assert {(p, proto) for _, _, p, proto, _ in connections} == {
        (p, pr) for p in (80, 81) for pr in ("TCP", "UDP", "SCTP")
    }


# --- invalid policies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"ports": [{"port": "http", "endPort": 90}]}, "endPort needs a numeric port"),
        ({"ports": [{"port": 90, "endPort": 80}]}, "is below port"),
        ({"ports": [{"port": 80, "protocol": "ICMP"}]}, "unsupported protocol"),
        ({"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}, "is not inside"),
        ({"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}, "cannot be combined"),
        ({"from": [{"ipBlock": {"cidr": "not-a-cidr"}}]}, "invalid ipBlock"),
        ({"from": [{}]}, "needs podSelector, namespaceSelector or ipBlock"),
    ],
)
def test_invalid_policies_are_rejected(rule, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(policy("bad", ingress=[rule]))
