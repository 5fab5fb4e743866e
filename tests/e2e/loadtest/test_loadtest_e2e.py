"""`mlopsctl loadtest` on a real cluster: the in-cluster Job reaches the tenant's Service through its
NetworkPolicies, reports, and leaves nothing behind; under enough load the HPA scales out.

Needs metrics-server and the inference image recorded by `mlopsctl cluster up` (see tests/e2e/support.py for
the flags). Set MLOPSCTL_E2E_LOAD=1 to also drive load until the HPA adds replicas (a few minutes).
"""

from __future__ import annotations

import json

import pytest

from mlopsctl import constants as c
from tests.e2e.support import LOAD, global_flags, tenant, unique

pytestmark = pytest.mark.e2e

TENANT = unique("load")


def _global() -> list[str]:
    return global_flags()


@pytest.fixture(scope="module")
def api(kube):
    return kube


@pytest.fixture(scope="module", name="tenant")
def tenant_fixture():
    with tenant(TENANT, "--min-replicas", "1", "--max-replicas", "4") as name:
        yield name


def _leftovers(api) -> list[str]:
    selector = f"{c.COMPONENT_LABEL}={c.LOADTEST_COMPONENT}"
    jobs = api.list("batch/v1", "Job", TENANT, label_selector=selector)
    policies = api.list("networking.k8s.io/v1", "NetworkPolicy", TENANT, label_selector=selector)
    return [obj["metadata"]["name"] for obj in jobs + policies]


def test_in_cluster_load_reaches_the_service_and_cleans_up(cli, api, tenant, tmp_path):
    result = cli(
        *_global(),
        "loadtest",
        tenant,
        "--rate",
        "40",
        "--duration",
        "20s",
        "--warmup",
        "5s",
        "--slo",
        "errors<1%",
        "--live",
        "plain",
        "--report",
        str(tmp_path / "report"),
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    report = data["report"]
    page = (tmp_path / "report" / "report.html").read_text()
    assert 'id="load-latency"' in page and 'id="load-replicas"' in page  # latency and the HPA, one time axis
    assert data["mode"] == "in-cluster" and data["target"] == f"http://{c.APP_NAME}.{tenant}.svc:{c.SERVICE_PORT}"
    assert report["requests"]["scheduled"] == 800
    assert report["requests"]["ok"] >= 790 and report["requests"]["dropped"] == 0
    assert report["latency_ms"]["p99"] is not None
    assert data["slo_passed"] is True
    assert data["hpa"] and data["hpa"][-1]["current_replicas"] >= 1
    assert _leftovers(api) == []


def test_two_workers_share_one_schedule_and_are_merged(cli, api, tenant):
    result = cli(*_global(), "-q", "loadtest", tenant, "--workers", "2", "--rate", "40", "--duration", "20s",
                 "--slo", "errors<1%", "-o", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)["report"]
    assert report["requests"]["scheduled"] == 800  # the single-generator schedule, split, not doubled
    assert report["requests"]["ok"] >= 790
    workers = report["workers"]
    assert [w["index"] for w in workers] == [0, 1]
    assert [w["requests"]["scheduled"] for w in workers] == [400, 400]
    assert all(w["name"].startswith("loadtest-") for w in workers)  # the pods of the Indexed Job
    assert report["latency_ms"]["count"] == report["requests"]["completed"]
    assert len({round(entry["t"]) for entry in report["timeline"]}) == len(report["timeline"])
    assert _leftovers(api) == []


def test_workers_beyond_the_quota_headroom_are_refused_and_nothing_is_created(cli, api, tenant):
    result = cli(*_global(), "loadtest", tenant, "--workers", "60", "--duration", "5s")
    assert result.exit_code == 2, result.stderr
    assert "load generator pods do not fit the quota headroom of tenant" in result.stderr
    assert _leftovers(api) == []


def test_port_forward_mode_reaches_one_pod_and_says_so(cli, tenant):
    result = cli(
        *_global(), "-q", "loadtest", tenant, "--port-forward", "--rate", "20", "--duration", "5s", "-o", "json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "port-forward"
    assert data["report"]["requests"]["ok"] == 100
    assert any("ONE pod" in note for note in data["notes"])


def test_unknown_tenant_exits_5_and_creates_nothing(cli):
    result = cli(*_global(), "loadtest", "e2e-no-such-tenant", "--duration", "5s")
    assert result.exit_code == 5
    assert "tenant 'e2e-no-such-tenant' not found" in result.stderr


@pytest.mark.skipif(not LOAD, reason="set MLOPSCTL_E2E_LOAD=1 to drive load until the HPA scales out")
def test_hpa_scales_out_under_in_cluster_load(api, tenant):
    from mlopsctl.services.loadtest import LoadOptions, run_in_cluster

    seen = []

    def scaled_out(progress) -> bool:
        seen.append(progress.hpa)
        return progress.hpa is not None and (progress.hpa.desired_replicas or 0) > 1

    result = run_in_cluster(api, tenant, LoadOptions(rate=400, duration=300, timeout=5), on_progress=scaled_out)
    assert result.stopped_early, [s for s in seen if s is not None][-5:]
    assert max(s.desired_replicas or 0 for s in result.hpa) > 1
    assert _leftovers(api) == []
