"""The real kubernetes adapter against an HTTP-level fake API server on 127.0.0.1: the requests on the wire
(server-side apply content type, fieldManager, force, dryRun, selectors, watches) and the error mapping."""

from __future__ import annotations

import pytest

from mlopsctl.adapters.base import AccessReview
from mlopsctl.adapters.kube import connect
from mlopsctl.errors import ClusterUnreachable, Conflict, ExitCode, Forbidden, NotFound, UsageError
from tests.integration.adapters.fake_apiserver import FakeApiServer
from tests.support import free_port

pytestmark = pytest.mark.integration

DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/tenant-a/deployments/inference"


def deployment(**labels: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "inference", "namespace": "tenant-a", "labels": labels or {"mlopsctl.io/tenant": "a"}},
        "spec": {"template": {"spec": {"containers": [{"name": "inference", "image": "x"}]}}},
    }


def patches(server: FakeApiServer):
    return [r for r in server.requests if r.method == "PATCH"]


def test_apply_is_a_server_side_apply_patch_with_the_mlopsctl_field_manager(server, api):
    applied = api.apply(deployment())

    [request] = patches(server)
    assert request.path == DEPLOYMENT_PATH
    assert request.headers["Content-Type"] == "application/apply-patch+yaml"
    assert request.query["fieldManager"] == ["mlopsctl"]
    assert "force" not in request.query
    assert "dryRun" not in request.query
    assert request.params.force is False and request.params.dry_run is False
    assert request.body == deployment()
    assert applied["metadata"]["resourceVersion"]
    assert DEPLOYMENT_PATH in server.objects


def test_force_and_dry_run_reach_the_server(server, api):
    api.apply(deployment(), force=True, dry_run=True)

    [request] = patches(server)
    # Read as kube-apiserver reads them: client versions spell the boolean `true` or `True`.
    assert request.params.force is True
    assert request.params.dry_run is True
    assert request.params.field_manager == "mlopsctl"
    assert DEPLOYMENT_PATH not in server.objects  # a dry run stores nothing


def test_cluster_scoped_objects_are_applied_without_a_namespace(server, api):
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-a", "namespace": "ignored"}})

    [request] = patches(server)
    assert request.path == "/api/v1/namespaces/tenant-a"


def test_a_field_conflict_names_the_other_manager_and_force_takes_ownership(server, api):
    owned = deployment()
    owned["metadata"]["annotations"] = {"fake/owner": "kubectl-client-side-apply"}
    server.objects[DEPLOYMENT_PATH] = owned

    with pytest.raises(Conflict) as caught:
        api.apply(deployment())
    assert "kubectl-client-side-apply" in caught.value.message
    assert ".spec.replicas" in caught.value.message
    assert "--force" in caught.value.hint
    assert caught.value.exit_code == ExitCode.CLUSTER_UNREACHABLE

    api.apply(deployment(), force=True)
    assert patches(server)[-1].params.force is True
    assert DEPLOYMENT_PATH in server.objects


def test_forbidden_and_unauthorized_map_to_forbidden(server, api):
    server.failures[DEPLOYMENT_PATH] = FakeApiServer.status(
        403, "Forbidden", 'deployments.apps "inference" is forbidden: User "bob" cannot patch'
    )
    with pytest.raises(Forbidden) as caught:
        api.apply(deployment())
    assert 'User "bob" cannot patch' in caught.value.message

    server.failures[DEPLOYMENT_PATH] = FakeApiServer.status(401, "Unauthorized", "Unauthorized")
    with pytest.raises(Forbidden) as caught:
        api.get("apps/v1", "Deployment", "inference", "tenant-a")
    assert "unauthorized" in caught.value.message


def test_kinds_the_server_does_not_serve(api):
    assert api.has_kind("apps/v1", "Deployment")
    assert not api.has_kind("monitoring.coreos.com/v1", "ServiceMonitor")
    with pytest.raises(NotFound) as caught:
        api.apply({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"}})
    assert "does not serve monitoring.coreos.com/v1 ServiceMonitor" in caught.value.message


def test_get_list_and_delete(server, api):
    assert api.get("apps/v1", "Deployment", "inference", "tenant-a") is None
    api.apply(deployment(team="a"))
    server.objects["/apis/apps/v1/namespaces/tenant-a/deployments/other"] = {
        "metadata": {"name": "other", "namespace": "tenant-a", "labels": {"team": "b"}}
    }

    assert api.get("apps/v1", "Deployment", "inference", "tenant-a")["metadata"]["name"] == "inference"
    listed = api.list("apps/v1", "Deployment", "tenant-a", label_selector="team=a")
    assert [item["metadata"]["name"] for item in listed] == ["inference"]
    assert listed[0]["kind"] == "Deployment" and listed[0]["apiVersion"] == "apps/v1"
    [list_request] = [r for r in server.requests if r.method == "GET" and "labelSelector" in r.query]
    assert list_request.query["labelSelector"] == ["team=a"]

    assert api.delete("apps/v1", "Deployment", "inference", "tenant-a") is True
    delete_request = next(r for r in server.requests if r.method == "DELETE")
    assert delete_request.body == {"propagationPolicy": "Background"}
    assert api.delete("apps/v1", "Deployment", "inference", "tenant-a") is False


def test_wait_for_watches_from_the_listed_resource_version(server, api):
    api.apply(deployment())
    ready = deployment()
    ready["status"] = {"availableReplicas": 2}
    server.watch_events["/apis/apps/v1/namespaces/tenant-a/deployments"] = [
        ("MODIFIED", deployment()),
        ("MODIFIED", ready),
    ]

    found = api.wait_for(
        "apps/v1", "Deployment", "inference", "tenant-a", lambda obj: bool(obj and obj.get("status")), timeout=10
    )

    assert found["status"] == {"availableReplicas": 2}
    [watch] = [r for r in server.requests if r.query.get("watch")]
    assert watch.query["fieldSelector"] == ["metadata.name=inference"]
    assert watch.params.watch is True
    assert watch.params.resource_version == str(server.resource_version)


def test_wait_for_sees_deletion_and_times_out_otherwise(server, api):
    api.apply(deployment())
    server.watch_events["/apis/apps/v1/namespaces/tenant-a/deployments"] = [("DELETED", deployment())]
    assert api.wait_for("apps/v1", "Deployment", "inference", "tenant-a", lambda obj: obj is None, timeout=10) is None

    server.watch_events.clear()
    with pytest.raises(TimeoutError, match="timed out after 1s waiting for Deployment tenant-a/inference"):
        api.wait_for("apps/v1", "Deployment", "inference", "tenant-a", lambda obj: False, timeout=1)


def test_access_review_posts_a_subject_access_review(server, api):
    review = AccessReview(user="alice", groups=("devs",), verb="list", resource="secrets", namespace="tenant-a")
    assert api.access_review(review) is True
    assert api.access_review(AccessReview(user="mallory", groups=(), verb="list", resource="secrets")) is False

    request = next(r for r in server.requests if r.method == "POST")
    assert request.path == "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    assert request.body["spec"] == {
        "user": "alice",
        "groups": ["devs"],
        "resourceAttributes": {"verb": "list", "resource": "secrets", "group": "", "namespace": "tenant-a"},
    }


def test_server_version_and_pod_logs(server, api):
    server.logs["/api/v1/namespaces/tenant-a/pods/p1"] = "first\nsecond\n"
    assert api.server_version() == "v1.31.12"
    assert list(api.pod_logs("tenant-a", "p1")) == ["first", "second"]


def test_a_dead_endpoint_is_cluster_unreachable_with_a_hint(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(_kubeconfig_for(f"http://127.0.0.1:{free_port()}"))
    api = connect(context="fake", kubeconfig=str(path), request_timeout=5)

    with pytest.raises(ClusterUnreachable) as caught:
        api.server_version()
    assert "cannot reach the Kubernetes API at http://127.0.0.1" in caught.value.message
    assert "--context" in caught.value.hint


def test_missing_kubeconfig_and_unknown_context(tmp_path, server):
    with pytest.raises(ClusterUnreachable) as caught:
        connect(kubeconfig=str(tmp_path / "absent"))
    assert "no kubeconfig found" in caught.value.message
    assert "mlopsctl cluster up" in caught.value.hint

    path = tmp_path / "kubeconfig"
    path.write_text(server.kubeconfig())
    with pytest.raises(UsageError) as unknown:
        connect(context="prod", kubeconfig=str(path))
    assert unknown.value.message.startswith("kubeconfig context 'prod' not found")
    assert unknown.value.hint == "known contexts: fake"


def _kubeconfig_for(url: str) -> str:
    import json

    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": url}}],
            "users": [{"name": "fake", "user": {"token": "t"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
    )


def test_service_proxy_get_reaches_the_service_through_the_api_server(server, api):
    path = "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1/query"
    server.logs[path] = '{"status":"success"}'

    body = api.service_proxy_get("monitoring", "prometheus", 9090, "/api/v1/query", {"query": "up"})

    assert body == '{"status":"success"}'
    request = server.requests[-1]
    assert request.path == path and request.query == {"query": ["up"]}
    with pytest.raises(NotFound):
        api.service_proxy_get("monitoring", "absent", 80, "/")


def test_exec_returns_output_and_exit_code_over_the_websocket_protocol(server, api):
    server.execs["/api/v1/namespaces/tenant-a/pods/p1"] = ("hello\n", "warn\n", 0)
    server.execs["/api/v1/namespaces/tenant-a/pods/p2"] = ("", "connection refused\n", 7)

    ok = api.exec("tenant-a", "p1", ["sh", "-c", "echo hello"], container="inference", timeout=10)
    failed = api.exec("tenant-a", "p2", ["wget", "-T", "2", "http://x"], timeout=10)

    assert (ok.stdout, ok.stderr, ok.returncode) == ("hello\n", "warn\n", 0)
    assert (failed.stdout, failed.returncode) == ("", 7)
    assert "connection refused" in failed.stderr
    request = next(r for r in server.requests if r.path.endswith("/p1/exec"))
    assert request.query["command"] == ["sh", "-c", "echo hello"]
    assert request.query["container"] == ["inference"]
