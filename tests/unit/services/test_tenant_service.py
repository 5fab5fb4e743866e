"""The tenant service against the in-memory FakeKubeApi: order, idempotency, pruning, CRD skips, refusal to
touch unmanaged namespaces, partial failure and re-run, dry runs, diff, waits, list and status."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ClusterError, Conflict, ExitCode, Forbidden, Interrupted, NotFound, UsageError
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.progress import NullStatus
from mlopsctl.services import tenant as svc

SERVICE_MONITOR = ("monitoring.coreos.com/v1", "ServiceMonitor")


def served_without(*missing: tuple[str, str]) -> set[tuple[str, str]]:
    kinds = {(o["apiVersion"], o["kind"]) for o in render_tenant(TenantSpec.create("x", service_monitor=True))}
    kinds |= set(svc.TENANT_KINDS) | {("v1", "Pod")}
    return kinds - set(missing)


@pytest.fixture
def api():
    return FakeKubeApi(controllers=True, served_kinds=served_without(SERVICE_MONITOR))


def applied_kinds(api: FakeKubeApi) -> list[str]:
    return [args[0] for name, args in api.calls if name == "apply"]


def test_add_applies_every_object_in_dependency_order_and_waits(api):
    spec = TenantSpec.create("tenant-c")

    result = svc.add_tenant(api, spec, NullStatus())

    expected = [obj["kind"] for obj in render_tenant(spec)]
    assert applied_kinds(api) == expected
    assert expected[0] == "Namespace"
    assert [change.action for change in result.objects] == ["applied"] * len(expected)
    assert ("wait_for", ("Deployment", "tenant-c", "inference")) in api.calls
    assert result.ready_replicas == 1
    assert result.service_url == "http://inference.tenant-c.svc:80"
    assert any("port-forward" in command for command in result.next_commands)


def test_add_is_idempotent(api):
    spec = TenantSpec.create("tenant-c", max_replicas=4)
    svc.add_tenant(api, spec, NullStatus())
    first = copy.deepcopy(api.objects)
    api.calls.clear()

    result = svc.add_tenant(api, spec, NullStatus())

    assert not [call for call in api.calls if call[0] == "delete"]

    def without_controller_fields(objects):
        data = copy.deepcopy(objects)
        for obj in data.values():
            obj.pop("status", None)
            obj["metadata"].pop("generation", None)
        return data

    assert without_controller_fields(api.objects) == without_controller_fields(first)
    assert all(change.action == "applied" for change in result.objects)


def test_objects_no_longer_rendered_are_pruned_by_label_only(api):
    spec = TenantSpec.create("tenant-c")
    labels = {c.MANAGED_BY_LABEL: c.MANAGED_BY, c.TENANT_LABEL: "tenant-c"}
    # Put into the namespace by another part of mlopsctl (storage): its labels, but not the tenant's object set.
    api.add({"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": c.MODEL_STORE_SECRET, "namespace": "tenant-c", "labels": dict(labels)}})  # fmt: skip
    legacy = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "legacy", "namespace": "tenant-c", "labels": labels},
    }
    svc.add_tenant(api, spec, NullStatus(), render=lambda s: [*render_tenant(s), legacy])
    assert api.get("v1", "ConfigMap", "legacy", "tenant-c") is not None
    # Not ours: no labels, or another tenant's labels.
    api.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "user-data", "namespace": "tenant-c"}})
    other = {**labels, c.TENANT_LABEL: "tenant-d"}
    api.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "tenant-c", "labels": other}}
    )

    result = svc.add_tenant(api, spec, NullStatus())

    assert [(ch.kind, ch.name, ch.action) for ch in result.objects if "prune" in ch.action] == [
        ("ConfigMap", "legacy", "pruned")
    ]
    assert api.get("v1", "ConfigMap", "legacy", "tenant-c") is None
    assert api.get("v1", "ConfigMap", "user-data", "tenant-c") is not None
    assert api.get("v1", "ConfigMap", "x", "tenant-c") is not None
    assert api.get("v1", "Secret", c.MODEL_STORE_SECRET, "tenant-c") is not None
    deployment = api.get("apps/v1", "Deployment", "inference", "tenant-c")
    assert deployment["metadata"]["labels"][c.OBJECT_SET_LABEL] == c.TENANT_OBJECT_SET


def test_kinds_whose_crd_is_absent_are_skipped_with_a_note(api):
    spec = TenantSpec.create("tenant-c", service_monitor=True)

    result = svc.add_tenant(api, spec, NullStatus())

    assert "ServiceMonitor" not in applied_kinds(api)
    assert [(ch.kind, ch.action) for ch in result.objects if ch.kind == "ServiceMonitor"] == [
        ("ServiceMonitor", "skipped")
    ]
    assert any("CRD is not installed" in note for note in result.notes)


def test_service_monitor_is_applied_when_its_crd_exists():
    api = FakeKubeApi(controllers=True, served_kinds=served_without())
    svc.add_tenant(api, TenantSpec.create("tenant-c", service_monitor=True), NullStatus())
    assert applied_kinds(api)[-1] == "ServiceMonitor"


def test_an_unmanaged_namespace_is_never_taken_over_silently(api):
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-c", "labels": {"team": "x"}}})

    with pytest.raises(Conflict) as caught:
        svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus())
    assert "not managed by mlopsctl" in caught.value.message
    assert "--adopt" in caught.value.hint
    assert applied_kinds(api) == []

    svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus(), adopt=True)
    namespace = api.get("v1", "Namespace", "tenant-c")
    assert namespace["metadata"]["labels"][c.MANAGED_BY_LABEL] == c.MANAGED_BY


def test_a_terminating_namespace_is_reported(api):
    api.add(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-c"}, "status": {"phase": "Terminating"}}
    )
    with pytest.raises(ClusterError, match="being deleted"):
        svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus())


def test_partial_failure_names_what_was_applied_and_a_rerun_converges(api):
    spec = TenantSpec.create("tenant-c")
    api.fail_apply_at = 4
    api.fail_apply_with = Forbidden("forbidden: cannot create resourcequotas", hint="ask an admin")

    with pytest.raises(Forbidden) as caught:
        svc.add_tenant(api, spec, NullStatus())
    objects = render_tenant(spec)
    failed = objects[3]
    assert caught.value.message.startswith(f"{failed['kind']}/{failed['metadata']['name']} failed after applied 3 of")
    assert "Namespace/tenant-c" in caught.value.message
    assert "re-run the same command" in caught.value.hint
    assert caught.value.exit_code == ExitCode.CLUSTER_UNREACHABLE

    svc.add_tenant(api, spec, NullStatus())
    fresh = FakeKubeApi(controllers=True, served_kinds=api.served_kinds)
    svc.add_tenant(fresh, spec, NullStatus())
    assert api.objects.keys() == fresh.objects.keys()


def test_client_dry_run_writes_nothing(api):
    result = svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus(), dry_run="client")

    assert applied_kinds(api) == []
    assert api.objects == {}
    assert {ch.action for ch in result.objects} == {"would apply"}


def test_server_dry_run_stores_nothing_and_sends_only_what_the_server_can_check(api):
    result = svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus(), dry_run="server")

    assert api.objects == {}
    assert applied_kinds(api) == ["Namespace"]  # the namespace does not exist yet: its objects cannot be checked
    assert {ch.action for ch in result.objects} == {"would apply"}

    svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus())
    api.calls.clear()
    svc.add_tenant(api, TenantSpec.create("tenant-c", max_replicas=3), NullStatus(), dry_run="server")
    assert len(applied_kinds(api)) == len(render_tenant(TenantSpec.create("tenant-c")))
    hpa = api.get("autoscaling/v2", "HorizontalPodAutoscaler", "inference", "tenant-c")
    assert hpa["spec"]["maxReplicas"] == 10


def test_invalid_dry_run_mode(api):
    with pytest.raises(UsageError):
        svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus(), dry_run="everything")


def test_diff_shows_the_change_and_changes_nothing(api):
    svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus())
    before = copy.deepcopy(api.objects)

    result = svc.add_tenant(api, TenantSpec.create("tenant-c", max_replicas=4), NullStatus(), diff=True)

    assert api.objects == before
    assert "-  maxReplicas: 10\n+  maxReplicas: 4\n" in result.diff
    changed = {ch.kind for ch in result.objects if ch.action == "would change"}
    assert "HorizontalPodAutoscaler" in changed
    assert "Namespace" in changed  # its spec annotation records the new max_replicas
    assert "Service" not in changed


def test_a_rollout_that_never_completes_times_out_with_a_hint():
    api = FakeKubeApi(served_kinds=served_without(SERVICE_MONITOR))  # no controller: nothing ever becomes ready
    with pytest.raises(ClusterError) as caught:
        svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus(), timeout=5)
    assert "did not finish rolling out within 5s" in caught.value.message
    assert "kubectl -n tenant-c get pods" in caught.value.hint


def test_ctrl_c_during_the_wait_says_what_was_done(api):
    class Interrupting(FakeKubeApi):
        def wait_for(self, *args, **kwargs):
            raise KeyboardInterrupt

    api = Interrupting(controllers=True, served_kinds=api.served_kinds)
    with pytest.raises(Interrupted) as caught:
        svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus())
    count = len(render_tenant(TenantSpec.create("tenant-c")))
    assert f"all {count} objects of tenant tenant-c were applied" in caught.value.message
    assert caught.value.exit_code == ExitCode.INTERRUPTED


def test_remove_deletes_only_managed_namespaces(api):
    svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus())
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-x"}})

    with pytest.raises(Conflict, match="not managed by mlopsctl"):
        svc.remove_tenant(api, "team-x", NullStatus())
    assert api.get("v1", "Namespace", "team-x") is not None

    result = svc.remove_tenant(api, "tenant-c", NullStatus())
    assert result.removed is True
    assert api.get("v1", "Namespace", "tenant-c") is None
    assert api.get("apps/v1", "Deployment", "inference", "tenant-c") is None

    again = svc.remove_tenant(api, "tenant-c", NullStatus())
    assert again.removed is False and "does not exist" in again.note


def _with_store(api, *tenants):
    """The object store installed (SeaweedFS, wait=False) after `tenant add` of each tenant: each has its identity."""
    from mlopsctl.manifests import storage as M
    from mlopsctl.services import storage

    api.served_kinds = None  # the store's kinds (PersistentVolumeClaim, ...) too
    for name in tenants:
        svc.add_tenant(api, TenantSpec.create(name), NullStatus())
    storage.install_storage(api, spec=M.StoreSpec(), wait=False)


def _store_admits(api) -> tuple[list[str], list[str]]:
    """(tenants with a store identity, tenant namespaces the store's NetworkPolicy admits)."""
    import json

    from mlopsctl.manifests import storage as M

    config = M.decode_secret(api.get("v1", "Secret", M.CONFIG_SECRET, c.STORAGE_NAMESPACE))[M.CONFIG_FILE]
    names = sorted(
        i["name"].removeprefix("tenant-") for i in json.loads(config)["identities"] if i["name"] != "mlopsctl-admin"
    )
    policy = api.get("networking.k8s.io/v1", "NetworkPolicy", "allow-s3-from-tenants", c.STORAGE_NAMESPACE)
    admitted = (
        policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] if policy else []
    )
    return names, admitted


def test_remove_revokes_the_tenants_object_store_access_and_says_so(api):
    _with_store(api, "tenant-a", "tenant-b")
    assert _store_admits(api) == (["tenant-a", "tenant-b"], ["tenant-a", "tenant-b"])

    result = svc.remove_tenant(api, "tenant-b", NullStatus())

    assert result.removed and result.store_access_revoked
    assert result.note == "tenant tenant-b removed; its object-store access was revoked"
    assert api.get("v1", "Namespace", "tenant-b") is None
    assert _store_admits(api) == (["tenant-a"], ["tenant-a"])
    assert api.get("v1", "Secret", c.MODEL_STORE_SECRET, "tenant-a") is not None  # the other tenant keeps its key
    # Nothing left to revoke: a re-run is a no-op that says so.
    again = svc.remove_tenant(api, "tenant-b", NullStatus())
    assert (again.removed, again.store_access_revoked, again.note) == (
        False,
        False,
        "tenant tenant-b does not exist; nothing to do",
    )


def test_a_rerun_after_the_namespace_is_gone_still_revokes_the_access(api):
    _with_store(api, "tenant-a", "tenant-b")
    api.delete("v1", "Namespace", "tenant-b")  # deleted by hand, or a removal interrupted after the delete

    result = svc.remove_tenant(api, "tenant-b", NullStatus())

    assert (result.removed, result.store_access_revoked) == (False, True)
    assert "object-store access was revoked" in result.note
    assert _store_admits(api) == (["tenant-a"], ["tenant-a"])


def test_remove_without_an_object_store_is_not_an_error(api):
    svc.add_tenant(api, TenantSpec.create("tenant-c"), NullStatus())

    result = svc.remove_tenant(api, "tenant-c", NullStatus())

    assert (result.removed, result.store_access_revoked, result.note) == (True, False, "tenant tenant-c removed")
    assert api.get("v1", "Namespace", c.STORAGE_NAMESPACE) is None
    assert not [call for call in api.calls if call[0] == "apply" and call[1][1] == c.STORAGE_NAMESPACE]


def test_a_refused_removal_leaves_the_store_access_alone(api):
    _with_store(api, "tenant-a")
    namespace = api.get("v1", "Namespace", "tenant-a")
    del namespace["metadata"]["labels"][c.MANAGED_BY_LABEL]
    api.add(namespace)  # someone took the label off

    with pytest.raises(Conflict, match="not managed by mlopsctl"):
        svc.remove_tenant(api, "tenant-a", NullStatus())
    assert _store_admits(api) == (["tenant-a"], ["tenant-a"])


def test_remove_refuses_platform_namespaces(api):
    for name in ("kube-system", "default", c.MONITORING_NAMESPACE):
        with pytest.raises(UsageError, match="platform namespace"):
            svc.remove_tenant(api, name, NullStatus())
    assert not [call for call in api.calls if call[0] == "delete"]


def test_list_and_status_read_the_cluster_labels(api):
    svc.add_tenant(api, TenantSpec.create("tenant-b", model_version="v2"), NullStatus())
    svc.add_tenant(api, TenantSpec.create("tenant-a"), NullStatus())
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "not-a-tenant"}})
    for name in ("tenant-a", "tenant-b"):
        api.objects[("v1", "Namespace", None, name)]["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
        hpa = api.objects[("autoscaling/v2", "HorizontalPodAutoscaler", name, "inference")]
        hpa["status"] = {"currentReplicas": 2}
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "inference-1", "namespace": "tenant-a", "labels": {c.INSTANCE_LABEL: "tenant-a"}},
             "spec": {"nodeName": "worker"},
             "status": {"phase": "Running", "containerStatuses": [{"ready": True, "restartCount": 1}]}})  # fmt: skip
    now = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)

    listing = svc.list_tenants(api, now=now)

    assert [row.name for row in listing.tenants] == ["tenant-a", "tenant-b"]
    a, b = listing.tenants
    assert (a.ready, a.replicas, a.hpa_current, a.hpa_min, a.hpa_max, a.age) == (1, 1, 2, 2, 10, "3h")
    assert (a.model_version, b.model_version) == ("builtin", "v2")

    status = svc.tenant_status(api, "tenant-a", now=now)
    assert status.tenant == a
    assert [(p.name, p.phase, p.ready, p.restarts, p.node) for p in status.pods] == [
        ("inference-1", "Running", "1/1", 1, "worker")
    ]
    assert ("Deployment", "inference") in {(o.kind, o.name) for o in status.objects}

    with pytest.raises(NotFound):
        svc.tenant_status(api, "not-a-tenant")


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (59, "59s"), (60, "1m"), (7199, "119m"), (7200, "2h"),
                                               (86400 * 2, "2d")])  # fmt: skip
def test_format_age(seconds, text):
    now = datetime(2026, 1, 10, tzinfo=UTC)
    from datetime import timedelta

    assert svc.format_age(now - timedelta(seconds=seconds), now) == text


def test_the_rollout_wait_reports_progress_as_replicas_move():
    class Recording:
        def __init__(self):
            self.notes = []

        def step(self, title):
            return NullStatus().step(title)

        def note(self, message):
            self.notes.append(message)

    class Watching(FakeKubeApi):
        """wait_for sees three states of the Deployment, as a watch would."""

        def wait_for(self, api_version, kind, name, namespace, condition, timeout):
            for available in (0, 0, 1, 2):
                state = {"metadata": {"generation": 1}, "spec": {"replicas": 2},
                         "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                                    "availableReplicas": available}}  # fmt: skip
                if condition(state):
                    return state
            raise TimeoutError

    recording = Recording()
    found = svc.wait_rollout(Watching(), "tenant-c", "inference", 30, recording, lambda: "")
    assert found["status"]["availableReplicas"] == 2
    assert recording.notes == [
        "tenant-c/inference: 2/2 updated, 0/2 available",
        "tenant-c/inference: 2/2 updated, 1/2 available",
        "tenant-c/inference: 2/2 updated, 2/2 available",
    ]
