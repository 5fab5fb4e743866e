"""The rendered tenant objects on a real API server: every object passes server-side validation (server-side
apply, dry run), and a pod built from the Deployment's template is admitted by Pod Security `restricted`.

Only the Namespace and the ServiceAccount are really created: a dry run cannot create objects inside a namespace
that does not exist, and the API server looks the pod's ServiceAccount up before it admits the pod ("error
looking up service account"). The namespace (unique per run) is deleted at the end, and waited for.
"""

from __future__ import annotations

import pytest

from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from tests.e2e.support import unique, wait_namespace_gone

pytestmark = pytest.mark.e2e

TENANT = unique("render")


@pytest.fixture(scope="module")
def api(kube):
    return kube


@pytest.fixture(scope="module")
def objects(api):
    monitored = api.has_kind("monitoring.coreos.com/v1", "ServiceMonitor")
    rendered = render_tenant(TenantSpec.create(TENANT, service_monitor=monitored, max_replicas=3))
    try:
        for obj in rendered:
            if obj["kind"] in ("Namespace", "ServiceAccount"):
                api.apply(obj)
        yield rendered
    finally:
        wait_namespace_gone(api, TENANT)


def test_every_object_passes_server_side_validation(api, objects):
    for obj in objects[1:]:
        applied = api.apply(obj, dry_run=True)
        assert applied["kind"] == obj["kind"]
        assert applied["metadata"]["name"] == obj["metadata"]["name"]


def test_namespace_enforces_restricted_pod_security(api, objects):
    namespace = api.get("v1", "Namespace", TENANT)
    assert namespace is not None
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] == TENANT


def test_the_pod_template_is_admitted_under_restricted(api, objects):
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "e2e-admission", "namespace": TENANT, "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    }
    admitted = api.apply(pod, dry_run=True)
    assert admitted["spec"]["securityContext"]["runAsNonRoot"] is True


def test_a_privileged_pod_is_refused_in_the_tenant_namespace(api, objects):
    from mlopsctl.errors import MlopsctlError

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "e2e-privileged", "namespace": TENANT},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "securityContext": {"privileged": True}}]},
    }
    with pytest.raises(MlopsctlError):
        api.apply(pod, dry_run=True)
