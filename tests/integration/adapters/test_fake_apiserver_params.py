"""The fake API server reads query parameters as kube-apiserver does (measured on a real v1.28 server): booleans are
true unless `0` or `false` in any case, `dryRun` accepts only `All`, an unknown `propagationPolicy` is a 400. Raw
HTTP, so every spelling a client version might send is tried, not only the installed client's."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.integration.adapters.fake_apiserver import FakeApiServer, parse_bool

pytestmark = pytest.mark.integration

PATH = "/apis/apps/v1/namespaces/tenant-a/deployments/inference"
TRUE_SPELLINGS = ["true", "True", "TRUE", "1", "yes", ""]
FALSE_SPELLINGS = ["false", "False", "FALSE", "0"]
APPLY = {"Content-Type": "application/apply-patch+yaml"}


def deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "inference", "namespace": "tenant-a"}}


def send(server: FakeApiServer, method: str, target: str, body: dict | None = None, headers=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + target, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def owned_by_kubectl(server: FakeApiServer) -> None:
    owned = deployment()
    owned["metadata"]["annotations"] = {"fake/owner": "kubectl-patch"}
    server.objects[PATH] = owned


@pytest.mark.parametrize("spelling", TRUE_SPELLINGS)
def test_force_in_any_true_spelling_takes_ownership(server, spelling):
    owned_by_kubectl(server)

    status, _ = send(server, "PATCH", f"{PATH}?fieldManager=mlopsctl&force={spelling}", deployment(), APPLY)

    assert status == 200
    assert "annotations" not in server.objects[PATH]["metadata"]
    assert server.requests[-1].params.force is True


@pytest.mark.parametrize("spelling", FALSE_SPELLINGS)
def test_force_in_any_false_spelling_still_conflicts(server, spelling):
    owned_by_kubectl(server)

    status, answer = send(server, "PATCH", f"{PATH}?fieldManager=mlopsctl&force={spelling}", deployment(), APPLY)

    assert status == 409
    assert 'conflict with "kubectl-patch"' in answer["message"]
    assert server.requests[-1].params.force is False


def test_no_force_at_all_conflicts(server):
    owned_by_kubectl(server)

    status, _ = send(server, "PATCH", f"{PATH}?fieldManager=mlopsctl", deployment(), APPLY)

    assert status == 409
    assert server.requests[-1].params.force is False
    assert parse_bool([]) is False


def test_dry_run_all_stores_nothing_and_any_other_value_is_refused(server):
    status, _ = send(server, "PATCH", f"{PATH}?fieldManager=mlopsctl&dryRun=All", deployment(), APPLY)
    assert status == 200
    assert PATH not in server.objects
    assert server.requests[-1].params.dry_run is True

    status, answer = send(server, "PATCH", f"{PATH}?fieldManager=mlopsctl&dryRun=true", deployment(), APPLY)
    assert status == 400
    assert 'supported values: "All"' in answer["message"]
    assert PATH not in server.objects
    assert server.requests[-1].params is None


def test_field_manager_and_resource_version_are_read(server):
    send(server, "PATCH", f"{PATH}?fieldManager=mlopsctl", deployment(), APPLY)
    send(server, "GET", "/apis/apps/v1/namespaces/tenant-a/deployments?resourceVersion=101")

    apply, listing = server.requests[-2:]
    assert apply.params.field_manager == "mlopsctl"
    assert listing.params.resource_version == "101"
    status, _ = send(server, "PATCH", f"{PATH}?fieldManager={'m' * 129}", deployment(), APPLY)
    assert status == 400


@pytest.mark.parametrize("policy", ["Orphan", "Background", "Foreground"])
def test_known_propagation_policies_delete(server, policy):
    server.objects[PATH] = deployment()

    status, _ = send(server, "DELETE", f"{PATH}?propagationPolicy={policy}")

    assert status == 200
    assert PATH not in server.objects
    assert server.requests[-1].params.propagation_policy == policy


def test_an_unknown_propagation_policy_is_refused_and_deletes_nothing(server):
    server.objects[PATH] = deployment()

    status, answer = send(server, "DELETE", f"{PATH}?propagationPolicy=background")

    assert status == 400
    assert "propagationPolicy: Unsupported value" in answer["message"]
    assert PATH in server.objects


@pytest.mark.parametrize(("spelling", "expected"), [("true", True), ("True", True), ("1", True), ("False", False)])
def test_follow_and_watch_are_read_like_the_server(server, spelling, expected):
    pod = "/api/v1/namespaces/tenant-a/pods/p1"
    server.logs[pod] = "line\n"
    urllib.request.urlopen(f"{server.url}{pod}/log?follow={spelling}", timeout=10).read()
    assert server.requests[-1].params.follow is expected

    server.watch_events["/apis/apps/v1/namespaces/tenant-a/deployments"] = [("ADDED", deployment())]
    target = f"{server.url}/apis/apps/v1/namespaces/tenant-a/deployments?watch={spelling}&timeoutSeconds=0"
    body = urllib.request.urlopen(target, timeout=10).read().decode()
    if expected:
        assert json.loads(body.splitlines()[0])["type"] == "ADDED"  # a watch stream of events
    else:
        assert json.loads(body)["kind"] == "List"  # a plain list
