"""The image tenants run: `--image`, then the registry setting, then what `cluster up` recorded in the cluster,
then (Kind only) the loaded version tag; on an adopted cluster without any, a clear refusal before anything is
applied. Re-adding a tenant keeps its recorded options; --reset goes back to the defaults."""

from __future__ import annotations

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import PrerequisiteMissing
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.services import platform_image as svc
from mlopsctl.services import tenant_spec

PUSHED = "localhost:5000/mlopsctl/inference:0.1.0-abc123"
DIGEST = "sha256:" + "b" * 64


def node(name: str, provider_id: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {"providerID": provider_id}}


def adopted() -> FakeKubeApi:
    api = FakeKubeApi()
    api.add(node("worker-1", "aws:///eu-west-1a/i-0123"))
    return api


def kind() -> FakeKubeApi:
    api = FakeKubeApi()
    api.add(node("mlopsctl-control-plane", "kind://docker/mlopsctl/mlopsctl-control-plane"))
    return api


def test_the_record_round_trips_through_a_configmap_mlopsctl_owns():
    api = adopted()
    svc.record_platform_image(api, svc.PlatformImage(PUSHED, "registry", (PUSHED,), DIGEST))

    namespace = api.get("v1", "Namespace", c.SYSTEM_NAMESPACE)
    assert namespace["metadata"]["labels"][c.MANAGED_BY_LABEL] == c.MANAGED_BY
    data = api.get("v1", "ConfigMap", c.PLATFORM_CONFIGMAP, c.SYSTEM_NAMESPACE)["data"]
    assert (data["image"], data["digest"], data["source"]) == (PUSHED, DIGEST, "registry")
    record = svc.read_platform_image(api)
    assert record is not None and (record.image, record.digest, record.tags) == (PUSHED, DIGEST, (PUSHED,))


def test_resolution_order():
    api = adopted()
    svc.record_platform_image(api, svc.PlatformImage(PUSHED, "registry"))
    assert svc.tenant_image(api, explicit="r.example/x:1", registry="r2.example") == svc.ImageChoice(
        "r.example/x:1", "--image"
    )
    assert svc.tenant_image(api, registry="r2.example/team").image == f"r2.example/team/{c.DEFAULT_IMAGE}"
    assert svc.tenant_image(api) == svc.ImageChoice(PUSHED, "cluster record")
    assert svc.tenant_image(kind()) == svc.ImageChoice(c.DEFAULT_IMAGE, "Kind default")


def test_an_adopted_cluster_without_a_record_is_refused_before_anything_is_applied():
    """The adopted-cluster failure: the local tag was rendered and nodes tried docker.io/mlopsctl/inference."""
    api = adopted()
    with pytest.raises(PrerequisiteMissing) as caught:
        tenant_spec.resolve(api, "tenant-c", {})
    assert "cannot pull the local tag" in caught.value.message
    assert "--registry" in caught.value.hint and "--image" in caught.value.hint
    assert not [call for call in api.calls if call[0] == "apply"]


def test_a_new_tenant_runs_the_recorded_image():
    api = adopted()
    svc.record_platform_image(api, svc.PlatformImage(PUSHED, "registry"))
    resolved = tenant_spec.resolve(api, "tenant-c", {"max_replicas": 20})
    assert resolved.spec.image == PUSHED and resolved.spec.max_replicas == 20
    assert resolved.previous is None and resolved.changes == [] and resolved.image_origin == "cluster record"


def _existing(api: FakeKubeApi, spec: TenantSpec) -> None:
    for obj in render_tenant(spec):
        api.apply(obj)


def test_re_adding_a_tenant_keeps_its_options_and_changes_only_the_given_ones():
    """The adopted-cluster failure: `tenant add tenant-b` (no flags) put the default image back."""
    api = adopted()
    _existing(api, TenantSpec.create("tenant-b", image=PUSHED, min_replicas=1, max_replicas=4, cpu_limit="1"))

    same = tenant_spec.resolve(api, "tenant-b", {name: None for name in ("image", "max_replicas")})
    assert same.spec == same.previous and same.changes == []
    assert same.spec.image == PUSHED

    changed = tenant_spec.resolve(api, "tenant-b", {"max_replicas": 6})
    assert (changed.spec.image, changed.spec.min_replicas, changed.spec.cpu_limit) == (PUSHED, 1, "1")
    assert changed.spec.max_replicas == 6
    assert "max_replicas: 4 -> 6" in changed.changes
    assert changed.spec.quota_pods == 6 + 1 + 2  # a derived quota follows the new maximum


def test_reset_goes_back_to_the_defaults_with_the_image_the_cluster_can_pull():
    api = adopted()
    svc.record_platform_image(api, svc.PlatformImage(PUSHED, "registry"))
    _existing(api, TenantSpec.create("tenant-b", image="old.example/x:1", max_replicas=4))

    reset = tenant_spec.resolve(api, "tenant-b", {}, reset=True)
    assert reset.spec == TenantSpec.create("tenant-b", image=PUSHED)
    assert "max_replicas: 4 -> 10" in reset.changes and f"image: old.example/x:1 -> {PUSHED}" in reset.changes


def test_verify_probe_pods_run_the_recorded_image_else_the_tenants():
    from mlopsctl.services.network_probes.pods import tenant_images

    api = adopted()
    _existing(api, TenantSpec.create("tenant-a", image="tenant.example/own:1"))
    _existing(api, TenantSpec.create("tenant-b", image="tenant.example/own:2"))
    assert tenant_images(api, ["tenant-a", "tenant-b"]) == {
        "tenant-a": "tenant.example/own:1",
        "tenant-b": "tenant.example/own:2",
    }
    svc.record_platform_image(api, svc.PlatformImage(PUSHED, "registry"))
    assert tenant_images(api, ["tenant-a"]) == {"tenant-a": PUSHED}
