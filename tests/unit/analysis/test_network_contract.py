"""The contract's own peers (outsider, later pods, the world) and address ranges as NetworkPolicy peers."""

from __future__ import annotations

import pytest

from mlopsctl.analysis.netpol import ContainerPort, Network, Peer, parse_policy
from mlopsctl.analysis.network_contract import contract_peers, judge_contract, policy_ports


def _policy(namespace, name, spec):
    return parse_policy({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec})


WORLD = Peer("world", "v4", ports=(ContainerPort(443),), pod=False, ranges=("0.0.0.0/0",),
             range_excepts=("10.244.0.0/16", "10.96.0.0/12"))  # fmt: skip
POD = Peer("t", "p", ports=(ContainerPort(8080),))


@pytest.mark.parametrize(
    ("block", "allowed"),
    [
        ({"cidr": "0.0.0.0/0"}, True),
        ({"cidr": "8.8.8.0/24"}, True),
        ({"cidr": "10.244.0.0/16"}, False),  # only pods: not the world
        ({"cidr": "10.0.0.0/8", "except": ["10.244.0.0/16", "10.96.0.0/12"]}, True),  # the rest of 10/8 is outside
        ({"cidr": "10.0.0.0/8", "except": ["10.0.0.0/9", "10.128.0.0/9"]}, False),
        ({"cidr": "::/0"}, False),  # another address family
    ],
)
def test_a_range_peer_matches_any_ip_block_that_covers_part_of_it(block, allowed):
    policy = _policy(
        "t", "egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": block}]}]}
    )
    network = Network({"t": {}}, [POD, WORLD], [policy])
    assert network.evaluate(POD, WORLD, 443).allowed is allowed


def test_contract_peers_listen_on_every_port_the_policies_name():
    policy = _policy("t", "p", {"podSelector": {}, "policyTypes": ["Egress"],
                                "egress": [{"ports": [{"port": 10250}, {"port": "http"}, {"port": 1, "endPort": 9}]}]})  # fmt: skip
    assert policy_ports([policy]) == (ContainerPort(1), ContainerPort(10250))
    peers, notes = contract_peers(["t"], ["10.244.0.0/16"], ["10.96.0.0/12"], policy_ports([policy]))
    by_id = {peer.id: peer for peer in peers}
    assert set(by_id) == {"mlopsctl-outsider/outsider", "t/later-pod", "world/8.8.8.8", "world/2001:4860:4860::8888",
                          "world/ipv4-outside-cluster", "world/ipv6-outside-cluster"}  # fmt: skip
    assert {p.port for p in by_id["world/8.8.8.8"].ports} >= {1, 10250, 443}
    assert by_id["t/later-pod"].labels == {} and by_id["mlopsctl-outsider/outsider"].labels == {}
    assert by_id["world/ipv4-outside-cluster"].range_excepts == ("10.244.0.0/16", "10.96.0.0/12")
    assert len(notes) == 3


def test_one_sided_allow_that_opens_no_path_is_fine():
    # tenant b admits tenant a, but a's default deny keeps its egress shut: no path, no failure.
    ns = {"a": {"mlopsctl.io/tenant": "a"}, "b": {"mlopsctl.io/tenant": "b"}}
    pa, pb = Peer("a", "p", ports=(ContainerPort(8080),)), Peer("b", "p", ports=(ContainerPort(8080),))
    deny = [_policy(n, "deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}) for n in ("a", "b")]
    admit = _policy("b", "admit-a", {"podSelector": {}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "a"}}}]}]})  # fmt: skip
    result = judge_contract(ns, [pa, pb], [*deny, admit], ["a", "b"], synthesize_platform=False)
    assert not result.failures
    admitted = next(e for e in result.expectations if e.check == "a/p -> b/p 8080/TCP")
    assert admitted.observed == "denied" and "egress denied" in admitted.reason
