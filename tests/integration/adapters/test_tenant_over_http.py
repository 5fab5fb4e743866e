"""The tenant service through the real kubernetes adapter and the HTTP fake API server: every object goes out as a
server-side apply, in order; a re-run changes nothing else; pruning deletes by label over HTTP."""

from __future__ import annotations

import pytest

from mlopsctl import constants as c
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.progress import NullStatus
from mlopsctl.services import tenant as service

pytestmark = pytest.mark.integration


def test_tenant_add_applies_in_order_and_converges(server, api):
    spec = TenantSpec.create("tenant-c", service_monitor=True)

    result = service.add_tenant(api, spec, NullStatus(), wait=False)

    patches = [r for r in server.requests if r.method == "PATCH"]
    rendered = render_tenant(spec)
    applied = [o for o in rendered if o["kind"] != "ServiceMonitor"]  # the fake serves no monitoring CRDs
    assert [r.body["kind"] for r in patches] == [o["kind"] for o in applied]
    assert all(r.headers["Content-Type"] == "application/apply-patch+yaml" for r in patches)
    assert all(r.query["fieldManager"] == ["mlopsctl"] for r in patches)
    assert patches[0].path == "/api/v1/namespaces/tenant-c"
    assert [(ch.kind, ch.action) for ch in result.objects if ch.action == "skipped"] == [("ServiceMonitor", "skipped")]

    before = dict(server.objects)
    server.requests.clear()
    service.add_tenant(api, spec, NullStatus(), wait=False)
    assert not [r for r in server.requests if r.method == "DELETE"]
    assert server.objects.keys() == before.keys()


def test_pruning_over_http_deletes_only_the_tenants_object_set(server, api):
    spec = TenantSpec.create("tenant-c")
    labels = {c.MANAGED_BY_LABEL: c.MANAGED_BY, c.TENANT_LABEL: "tenant-c"}
    legacy = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "legacy", "namespace": "tenant-c", "labels": labels},
    }
    service.add_tenant(api, spec, NullStatus(), wait=False, render=lambda s: [*render_tenant(s), legacy])
    server.objects["/api/v1/namespaces/tenant-c/secrets/model-store-credentials"] = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "model-store-credentials", "namespace": "tenant-c", "labels": dict(labels)},
    }  # fmt: skip

    service.add_tenant(api, spec, NullStatus(), wait=False)

    deletes = [r.path for r in server.requests if r.method == "DELETE"]
    assert deletes == ["/api/v1/namespaces/tenant-c/configmaps/legacy"]
    assert "/api/v1/namespaces/tenant-c/secrets/model-store-credentials" in server.objects
    selectors = {q for r in server.requests for q in r.query.get("labelSelector", [])}
    assert service.object_set_selector("tenant-c") in selectors


def test_list_reads_namespaces_deployments_and_autoscalers(server, api):
    service.add_tenant(api, TenantSpec.create("tenant-c", max_replicas=4), NullStatus(), wait=False)
    rows = service.list_tenants(api).tenants
    assert [(r.name, r.hpa_min, r.hpa_max, r.model_version) for r in rows] == [("tenant-c", 2, 4, "builtin")]
