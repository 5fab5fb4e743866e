"""The quota headroom check, on a catalogue of quotas that must refuse N load generator pods (and some that must
not): every key a pod counts against, the Job count, missing status, unreadable quantities."""

from __future__ import annotations

import pytest

from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import UsageError
from mlopsctl.services.loadtest.quota import check_headroom, shortfalls

REQUESTS = {"cpu": "250m", "memory": "128Mi"}
LIMITS = {"cpu": "500m", "memory": "256Mi"}


def quota(hard: dict, used: dict | None = None, name: str = "inference") -> dict:
    status = {"hard": hard, "used": used} if used is not None else {}
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": "t"},
            "spec": {"hard": hard}, "status": status}  # fmt: skip


@pytest.mark.parametrize(
    ("hard", "used", "pods", "short_keys", "fits"),
    [
        ({"pods": "10"}, {"pods": "9"}, 2, ["pods"], 1),
        ({"requests.cpu": "2"}, {"requests.cpu": "1800m"}, 1, ["requests.cpu"], 0),
        ({"cpu": "1"}, {"cpu": "0"}, 5, ["cpu"], 4),
        ({"limits.cpu": "2"}, {"limits.cpu": "1"}, 3, ["limits.cpu"], 2),
        ({"requests.memory": "1Gi"}, {"requests.memory": "900Mi"}, 1, ["requests.memory"], 0),
        ({"memory": "1Gi"}, {"memory": "512Mi"}, 5, ["memory"], 4),
        ({"limits.memory": "1Gi"}, {"limits.memory": "0"}, 5, ["limits.memory"], 4),
        ({"count/jobs.batch": "3"}, {"count/jobs.batch": "3"}, 1, ["count/jobs.batch"], None),
        ({"pods": "10", "limits.cpu": "4"}, {"pods": "2", "limits.cpu": "3"}, 3, ["limits.cpu"], 2),
        # Not refused: room enough, keys a pod does not count against, no status yet, unreadable quantities.
        ({"pods": "10", "requests.cpu": "4"}, {"pods": "2", "requests.cpu": "1"}, 8, [], 8),
        ({"services.nodeports": "0", "persistentvolumeclaims": "0"}, {}, 4, [], None),
        ({"pods": "4"}, None, 4, [], 4),
        ({"pods": "lots"}, {"pods": "1"}, 4, [], None),
    ],
)
def test_shortfalls_catalogue(hard, used, pods, short_keys, fits):
    found, room = shortfalls([quota(hard, used)], pods, REQUESTS, LIMITS)
    assert [item.key for item in found] == short_keys
    assert room == fits


def test_every_quota_of_the_namespace_counts():
    quotas = [quota({"pods": "10"}, {"pods": "0"}), quota({"limits.memory": "512Mi"}, {}, name="tight")]
    found, room = shortfalls(quotas, 3, REQUESTS, LIMITS)
    assert [(item.quota, item.key) for item in found] == [("tight", "limits.memory")]
    assert room == 2


def test_the_error_names_the_headroom_and_what_would_fit():
    api = FakeKubeApi()
    api.add(quota({"pods": "10", "requests.memory": "2Gi"}, {"pods": "8", "requests.memory": "1Gi"}))
    with pytest.raises(UsageError) as caught:
        check_headroom(api, "t", 3, REQUESTS, LIMITS)
    assert caught.value.message == (
        "3 load generator pods do not fit the quota headroom of tenant t: "
        "pods needs 3 (3 x 1), 2 left (hard 10, used 8, quota inference)"
    )
    assert caught.value.hint.startswith("use --workers 2 (what fits now), or raise the tenant's quota")


def test_no_room_at_all_says_so():
    api = FakeKubeApi()
    api.add(quota({"pods": "4"}, {"pods": "4"}))
    with pytest.raises(UsageError, match="1 load generator pod does not fit") as caught:
        check_headroom(api, "t", 1, REQUESTS, LIMITS)
    assert caught.value.hint.startswith("wait for a scale-down, or raise")


def test_a_namespace_without_quota_has_room():
    check_headroom(FakeKubeApi(), "t", 64, REQUESTS, LIMITS)


def test_a_user_who_may_not_read_quotas_is_not_stopped_by_the_check():
    from mlopsctl.errors import Forbidden

    class NoQuotaReads(FakeKubeApi):
        def list(self, api_version, kind, namespace=None, label_selector=None):
            if kind == "ResourceQuota":
                raise Forbidden("resourcequotas is forbidden")
            return super().list(api_version, kind, namespace, label_selector)

    check_headroom(NoQuotaReads(), "t", 3, REQUESTS, LIMITS)
