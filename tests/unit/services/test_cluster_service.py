"""`cluster up|down|status` against fakes of kind, the image tooling and the Kubernetes API: step order,
idempotency, cleanup of a half-created cluster, adoption of an existing cluster, Ctrl-C."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ClusterError, ExternalCommandFailed, Interrupted, NotFound, UsageError
from mlopsctl.manifests import metrics_server as ms
from mlopsctl.progress import NullStatus
from mlopsctl.services import cluster as svc

BUILT = "mlopsctl/inference:0.1.0-abc123"


@dataclass
class FakeKind:
    existing: list[str] = field(default_factory=list)
    calls: list[tuple] = field(default_factory=list)
    fail_load: bool = False
    specs: list = field(default_factory=list)

    def ensure_installed(self):
        self.calls.append(("ensure_installed",))
        return (0, 30, 0)

    def clusters(self):
        return list(self.existing)

    def create(self, spec, wait="120s", retain=False):
        self.specs.append(spec)
        self.calls.append(("create", spec.name, spec.workers, spec.image) + (("retain",) if retain else ()))
        self.existing.append(spec.name)
        return ""

    def delete(self, name):
        self.calls.append(("delete", name))
        self.existing.remove(name)

    def export_kubeconfig(self, name):
        self.calls.append(("export_kubeconfig", name))

    def load_image_archive(self, name, archive):
        self.calls.append(("load", name, archive.name))
        if self.fail_load:
            raise ExternalCommandFailed("kind load image-archive into mlopsctl failed: no space left on device")


@dataclass
class FakeImages:
    local: set[str] = field(default_factory=set)
    calls: list[tuple] = field(default_factory=list)

    def build(self, registry, status):
        reference = f"{registry}/{BUILT}" if registry else BUILT
        self.calls.append(("build", registry))
        self.local.add(reference)
        return reference

    def reference(self, registry):
        return f"{registry}/{c.DEFAULT_IMAGE}" if registry else c.DEFAULT_IMAGE

    def exists(self, reference):
        return reference in self.local

    def save(self, references, path: Path):
        self.calls.append(("save", *references))
        path.write_text("tar")
        return path

    remote: dict[str, str] = field(default_factory=dict)  # reference -> digest the registry holds

    def push(self, reference):
        self.calls.append(("push", reference))
        return "sha256:" + "d" * 64

    def tag(self, source, target):
        self.calls.append(("tag", source, target))
        self.local.add(target)

    def remote_digest(self, reference):
        return self.remote.get(reference)


class PlatformFake(FakeKubeApi):
    """Nodes are Ready; the fake's controllers make APIServices Available and roll Deployments out at once."""

    def __init__(self, nodes: int = 3, **kwargs):
        super().__init__(controllers=True, **kwargs)
        for index in range(nodes):
            self.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{index}"},
                      "status": {"conditions": [{"type": "Ready", "status": "True"}]}})  # fmt: skip


def make(api=None, kind=None, images=None, installers=None):
    api = api or PlatformFake()
    kind = kind or FakeKind()
    images = images or FakeImages()
    contexts: list[str | None] = []

    def connect(context):
        contexts.append(context)
        return api

    deps = svc.ClusterDeps(kind=kind, connect=connect, images=images, installers=installers or {})
    return deps, api, kind, images, contexts


def applied(api, kind=None):
    return [args for name, args in api.calls if name == "apply" and (kind is None or args[0] == kind)]


def metrics_args(api):
    deployment = api.get("apps/v1", "Deployment", ms.NAME, ms.NAMESPACE)
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_up_creates_a_kind_cluster_and_runs_every_step_in_order():
    deps, api, kind, images, contexts = make()

    result = svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())

    assert [step.name for step in result.steps] == [
        "check kind and Docker",
        "create cluster mlopsctl",
        "connect to the API server",
        "wait for nodes Ready",
        "install metrics-server",
        "wait for the metrics API",
        "build the image",
        "load the image into Kind",
        "record the platform image",
        "apply tenant tenant-a",
        "apply tenant tenant-b",
        "wait for tenant tenant-a to roll out",
        "wait for tenant tenant-b to roll out",
        "install monitoring",
        "install storage",
    ]
    assert [s.state for s in result.steps][-2:] == ["skipped", "skipped"]  # no installers in this build
    assert result.created and result.mode == "kind" and result.context == "kind-mlopsctl"
    assert contexts == ["kind-mlopsctl"]
    assert ("create", "mlopsctl", 2, "kindest/node:v1.31.12@sha256:" + ms_digest()) in kind.calls
    assert ("load", "mlopsctl", "image.tar") in kind.calls
    assert images.calls == [("build", None), ("save", BUILT, c.DEFAULT_IMAGE)]
    assert "--kubelet-insecure-tls" in metrics_args(api)
    deployment = api.get("apps/v1", "Deployment", "inference", "tenant-a")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == BUILT
    assert result.tenants == ["tenant-a", "tenant-b"]
    assert result.endpoints["tenant tenant-a"] == "http://inference.tenant-a.svc:80"
    assert "grafana" not in result.endpoints
    assert "mlopsctl tenant list" in result.next_commands


def ms_digest() -> str:
    from mlopsctl.manifests.kind import NODE_IMAGES

    return NODE_IMAGES["1.31"].split("@sha256:")[1]


def test_up_is_idempotent_and_reuses_an_existing_cluster():
    deps, api, kind, _images, _ = make()
    svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())
    objects_after_first = set(api.objects)
    kind.calls.clear()

    result = svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())

    assert not result.created
    assert result.steps[1].state == "reused"
    assert not [call for call in kind.calls if call[0] in ("create", "delete")]
    assert ("export_kubeconfig", "mlopsctl") in kind.calls
    assert set(api.objects) == objects_after_first
    assert not [call for call in api.calls if call[0] == "delete"]


def test_a_failing_step_is_named_and_the_half_created_cluster_deleted():
    deps, _api, kind, *_ = make(kind=FakeKind(fail_load=True))

    with pytest.raises(ExternalCommandFailed) as caught:
        svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())

    assert caught.value.message.startswith("cluster up failed at 'load the image into Kind': kind load")
    assert "the half-created cluster mlopsctl was deleted" in caught.value.hint
    assert ("delete", "mlopsctl") in kind.calls and kind.existing == []


def test_retain_keeps_the_half_created_cluster():
    deps, _api, kind, *_ = make(kind=FakeKind(fail_load=True))
    with pytest.raises(ExternalCommandFailed) as caught:
        svc.cluster_up(svc.ClusterUpRequest(retain=True), deps, NullStatus())
    assert "--retain: cluster mlopsctl was kept" in caught.value.hint
    assert kind.existing == ["mlopsctl"]
    assert kind.calls[1][-1] == "retain"  # kind itself keeps the nodes if its own creation fails


def test_a_reused_cluster_is_never_deleted_on_failure():
    api = FakeKubeApi()  # nothing becomes Ready: the metrics API wait times out
    for index in range(3):
        api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n{index}"},
                 "status": {"conditions": [{"type": "Ready", "status": "True"}]}})  # fmt: skip
    deps, _, kind, *_ = make(api=api, kind=FakeKind(existing=["mlopsctl"]))

    with pytest.raises(ClusterError) as caught:
        svc.cluster_up(svc.ClusterUpRequest(timeout=7), deps, NullStatus())

    assert "failed at 'wait for the metrics API'" in caught.value.message
    assert "was not Available within 7s" in caught.value.message
    assert "nothing was deleted" in caught.value.hint
    assert kind.existing == ["mlopsctl"]


def test_adopting_a_cluster_skips_kind_pushes_the_image_and_never_uses_insecure_tls():
    deps, api, kind, images, contexts = make()

    result = svc.cluster_up(svc.ClusterUpRequest(context="prod-eks", registry="ghcr.io/acme"), deps, NullStatus())

    assert result.mode == "adopted" and contexts == ["prod-eks"]
    assert kind.calls == []
    assert [call for call in images.calls if call[0] == "push"] == [
        ("push", f"ghcr.io/acme/{BUILT}"),
        ("push", f"ghcr.io/acme/{c.DEFAULT_IMAGE}"),
    ]
    assert "--kubelet-insecure-tls" not in metrics_args(api)
    assert "load the image into Kind" not in [step.name for step in result.steps]
    assert "--context prod-eks" in result.next_commands[0]


def test_adopting_keeps_a_metrics_api_the_cluster_already_has():
    api = PlatformFake()
    api.add({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": ms.API_SERVICE},
             "status": {"conditions": [{"type": "Available", "status": "True"}]}})  # fmt: skip
    deps, *_ = make(api=api)

    result = svc.cluster_up(svc.ClusterUpRequest(context="gke", registry="r.example/x"), deps, NullStatus())

    step = next(s for s in result.steps if s.name == "install metrics-server")
    assert step.state == "reused"
    assert applied(api, "APIService") == [] and applied(api, "ClusterRole") == []


def test_adopting_without_a_registry_is_refused_before_anything_happens():
    deps, _api, kind, images, contexts = make()
    with pytest.raises(UsageError) as caught:
        svc.cluster_up(svc.ClusterUpRequest(context="prod-eks"), deps, NullStatus())
    assert "--registry" in caught.value.message
    assert contexts == [] and kind.calls == [] and images.calls == []


def test_skip_build_needs_the_image_locally_and_checks_before_creating():
    deps, _api, kind, images, _ = make()
    with pytest.raises(UsageError, match="not in the local Docker"):
        svc.cluster_up(svc.ClusterUpRequest(skip_build=True), deps, NullStatus())
    assert kind.calls == []

    images.local.add(c.DEFAULT_IMAGE)
    result = svc.cluster_up(svc.ClusterUpRequest(skip_build=True), deps, NullStatus())
    assert result.image == c.DEFAULT_IMAGE
    assert ("build", None) not in images.calls


def test_installers_run_when_present_and_enabled_and_tenants_get_their_service_monitors():
    calls = []

    def monitoring(api, status, context):
        calls.append("monitoring")
        assert context == "kind-mlopsctl"
        api.served_kinds = None  # the CRDs exist from now on
        return "kube-prometheus-stack"

    def storage(api, status, context):
        calls.append("storage")
        return "object store"

    served = {(o[0], o[1]) for o in _served_without_monitoring()}
    deps, api, *_ = make(
        api=PlatformFake(served_kinds=served), installers={"monitoring": monitoring, "storage": storage}
    )

    result = svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())

    assert calls == ["monitoring", "storage"]
    assert api.get("monitoring.coreos.com/v1", "ServiceMonitor", "inference", "tenant-a") is not None
    assert result.endpoints["grafana"] == f"http://127.0.0.1:{c.GRAFANA_NODE_PORT}"
    assert result.endpoints["object store (S3)"] == f"http://127.0.0.1:{c.STORAGE_NODE_PORT}"

    calls.clear()
    again = svc.cluster_up(svc.ClusterUpRequest(monitoring=False, storage=False), deps, NullStatus())
    assert calls == []
    assert [s.detail for s in again.steps if s.name.startswith("install ") and s.state == "skipped"] == [
        "--no-monitoring",
        "--no-storage",
    ]


def _served_without_monitoring():
    from mlopsctl.manifests.tenant import TenantSpec, render_tenant
    from mlopsctl.services.tenant import TENANT_KINDS

    kinds = {(o["apiVersion"], o["kind"]) for o in render_tenant(TenantSpec.create("x"))} | set(TENANT_KINDS)
    kinds |= {(o["apiVersion"], o["kind"]) for o in ms.render_metrics_server(insecure_tls=True)}
    kinds |= {("v1", "Node"), ("v1", "Pod")}
    return kinds - {("monitoring.coreos.com/v1", "ServiceMonitor")}


def test_ctrl_c_keeps_the_cluster_and_says_what_was_done():
    class Interrupting(PlatformFake):
        def wait_for(self, api_version, kind, *args, **kwargs):
            if kind == "Deployment":
                raise KeyboardInterrupt
            return super().wait_for(api_version, kind, *args, **kwargs)

    deps, _api, kind, *_ = make(api=Interrupting())
    with pytest.raises(Interrupted) as caught:
        svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())
    assert "interrupted during 'wait for tenant tenant-a to roll out'" in caught.value.message
    assert "apply tenant tenant-b" in caught.value.message
    assert "was kept" in caught.value.hint
    assert kind.existing == ["mlopsctl"]


def test_down_deletes_only_kind_clusters():
    kind = FakeKind(existing=["mlopsctl", "other"])
    assert svc.cluster_down("mlopsctl", None, kind, NullStatus()).deleted
    assert kind.existing == ["other"]
    assert svc.cluster_down("mlopsctl", None, kind, NullStatus()).deleted is False
    assert svc.cluster_down("ignored", "kind-other", kind, NullStatus()).deleted
    with pytest.raises(UsageError, match="Kind clusters only"):
        svc.cluster_down("mlopsctl", "prod-eks", kind, NullStatus())


def test_status_reads_nodes_components_and_tenants():
    deps, api, kind, *_ = make()
    svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())
    api.objects[("v1", "Node", None, "node-0")]["metadata"]["labels"] = {"node-role.kubernetes.io/control-plane": ""}

    status = svc.cluster_status("mlopsctl", None, kind, deps.connect)

    assert status.mode == "kind" and status.context == "kind-mlopsctl"
    assert next((n.name, n.roles, n.ready) for n in status.nodes) == ("node-0", "control-plane", True)
    components = {row.name: row.state for row in status.components}
    assert components == {"metrics-server": "available", "monitoring": "not installed", "storage": "not installed"}
    assert [t.name for t in status.tenants] == ["tenant-a", "tenant-b"]

    with pytest.raises(NotFound, match="no Kind cluster named ghost"):
        svc.cluster_status("ghost", None, kind, deps.connect)


def test_image_load_puts_a_local_image_into_the_kind_cluster():
    kind = FakeKind(existing=["mlopsctl"])
    images = FakeImages(local={BUILT})

    result = svc.load_image(kind, images, "mlopsctl", BUILT, NullStatus())

    assert (result.cluster, result.image) == ("mlopsctl", BUILT)
    assert ("load", "mlopsctl", "image.tar") in kind.calls
    with pytest.raises(UsageError, match="not in the local Docker"):
        svc.load_image(kind, images, "mlopsctl", "mlopsctl/inference:missing", NullStatus())
    with pytest.raises(NotFound, match="no Kind cluster named other"):
        svc.load_image(kind, images, "other", BUILT, NullStatus())


def test_an_unreachable_api_server_is_named_as_the_failing_step():
    from mlopsctl.errors import ClusterUnreachable

    class Unreachable(PlatformFake):
        def server_version(self):
            raise ClusterUnreachable("cannot reach the Kubernetes API at https://127.0.0.1:6443", hint="is it running?")

    deps, *_ = make(api=Unreachable(), kind=FakeKind(existing=["mlopsctl"]))
    with pytest.raises(ClusterUnreachable) as caught:
        svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())
    assert caught.value.message.startswith("cluster up failed at 'connect to the API server': cannot reach")
    assert caught.value.hint.startswith("is it running?; nothing was deleted")


def test_a_rerun_keeps_what_was_changed_on_a_default_tenant():
    from mlopsctl.manifests.tenant import TenantSpec
    from mlopsctl.services import tenant as tenants

    deps, api, *_ = make()
    svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())
    tenants.add_tenant(
        api, TenantSpec.create("tenant-a", image=BUILT, max_replicas=3, model_version="v7"), NullStatus()
    )

    svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())

    hpa = api.get("autoscaling/v2", "HorizontalPodAutoscaler", "inference", "tenant-a")
    assert hpa["spec"]["maxReplicas"] == 3
    template = api.get("apps/v1", "Deployment", "inference", "tenant-a")["spec"]["template"]
    assert template["metadata"]["annotations"][c.MODEL_VERSION_ANNOTATION] == "v7"
    assert template["spec"]["containers"][0]["image"] == BUILT


def _record(api):
    return api.get("v1", "ConfigMap", c.PLATFORM_CONFIGMAP, c.SYSTEM_NAMESPACE)["data"]


def test_up_records_the_image_it_loaded_or_pushed_for_tenant_add():
    deps, api, *_ = make()
    svc.cluster_up(svc.ClusterUpRequest(), deps, NullStatus())
    assert (_record(api)["image"], _record(api)["source"]) == (BUILT, "kind")

    deps, api, *_ = make()
    svc.cluster_up(svc.ClusterUpRequest(context="prod", registry="localhost:5000"), deps, NullStatus())
    record = _record(api)
    assert (record["image"], record["source"]) == (f"localhost:5000/{BUILT}", "registry")
    assert record["digest"] == "sha256:" + "d" * 64
    assert record["tags"] == f"localhost:5000/{BUILT},localhost:5000/{c.DEFAULT_IMAGE}"


def test_skip_build_with_a_registry_pushes_the_local_image():
    """The adopted-cluster failure: `--skip-build --registry R` skipped the push, tenants pulled a missing tag."""
    images = FakeImages(local={c.DEFAULT_IMAGE})  # built earlier without a registry
    deps, api, _kind, images, _ = make(images=images)
    request = svc.ClusterUpRequest(context="prod", registry="localhost:5000", skip_build=True)

    result = svc.cluster_up(request, deps, NullStatus())

    target = f"localhost:5000/{c.DEFAULT_IMAGE}"
    assert ("tag", c.DEFAULT_IMAGE, target) in images.calls and ("push", target) in images.calls
    assert ("build", "localhost:5000") not in images.calls
    step = next(s for s in result.steps if s.name == "push the image")
    assert step.state == "done" and "pushed the local" in step.detail
    assert _record(api)["image"] == target
    deployment = api.get("apps/v1", "Deployment", "inference", "tenant-a")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == target


def test_skip_build_with_a_registry_that_already_has_the_tag_says_so():
    target = f"localhost:5000/{c.DEFAULT_IMAGE}"
    images = FakeImages(remote={target: "sha256:" + "e" * 64})
    deps, api, _, images, _ = make(images=images)
    result = svc.cluster_up(
        svc.ClusterUpRequest(context="prod", registry="localhost:5000", skip_build=True), deps, NullStatus()
    )
    step = next(s for s in result.steps if s.name == "push the image")
    assert "already has" in step.detail and not [call for call in images.calls if call[0] == "push"]
    assert _record(api)["digest"] == "sha256:" + "e" * 64


def test_skip_build_with_a_registry_and_no_image_anywhere_is_refused_first():
    deps, _api, _, images, contexts = make()
    with pytest.raises(UsageError, match="neither in the local Docker nor in the registry"):
        svc.cluster_up(
            svc.ClusterUpRequest(context="prod", registry="localhost:5000", skip_build=True), deps, NullStatus()
        )
    assert contexts == [] and images.calls == []
