"""What the pages show, from reports as plain data: matrices, failures, per-second series; tolerant of old and
new report shapes."""

from __future__ import annotations

import copy

import pytest

from mlopsctl.report.load_view import load_view, per_second
from mlopsctl.report.verify_view import (
    connectivity_matrix,
    is_sensitive,
    observed_verdict,
    rbac_matrix,
    verify_view,
)
from tests.unit.report.fixtures import ERROR_SECONDS, SECONDS, SLOW_SECONDS, load_result


def _check(area, subject, target, action, expected, observed, passed, detail="why"):
    return {
        "area": area, "name": f"{subject} {target} {action}", "expected": expected, "observed": observed,
        "passed": passed, "method": "m", "detail": detail, "started": "t0", "finished": "t1",
        "subject": subject, "target": target, "action": action,
    }  # fmt: skip


NETWORK = [
    _check("network", "a/pod", "own service a/svc", "80/TCP", "allowed", "connected", True),
    _check("network", "a/pod", "other tenant service b/svc", "80/TCP", "denied", "connected", False),
    _check("network", "a/pod", "kube-dns service", "53/UDP", "allowed", "connected", True),
    _check("network", "a/pod", "kube-dns service", "53/TCP", "allowed", "blocked (timeout)", False),
    _check("network", "b/pod", "own service b/svc", "80/TCP", "allowed", "connected", True),
]
RBAC = [
    _check("rbac", "sa:a", "a", "get pods", "allowed only by its own Role", "allowed", True),
    _check("rbac", "sa:a", "b", "get secrets", "denied", "allowed", False),
    _check("rbac", "sa:a", "", "list namespaces", "denied", "allowed", False),
    _check("rbac", "sa:a", "a", "create pods/exec", "denied", "denied", True),
    _check("rbac", "sa:a", "b", "get configmaps", "denied", "denied", True),
]


@pytest.mark.parametrize(
    ("observed", "verdict"),
    [("connected", True), ("allowed", True), ("egress allowed (the destination does not admit this tenant)", True),
     ("denied", False), ("blocked (timeout)", False), ("not counted", None), ("probe failed: exit 137", None),
     ("possibly allowed", None)],
)  # fmt: skip
def test_observed_verdict(observed, verdict):
    assert observed_verdict(observed) is verdict


def test_connectivity_matrix_places_every_probe():
    matrix = connectivity_matrix(NETWORK)
    assert matrix is not None
    assert [headers for headers, _ in matrix.rows] == [("a/pod",), ("b/pod",)]
    assert matrix.columns == [
        "own service a/svc",
        "other tenant service b/svc",
        "kube-dns service",
        "own service b/svc",
    ]
    a_row = dict(zip(matrix.columns, matrix.rows[0][1], strict=True))
    dns = a_row["kube-dns service"]
    assert [(c.label, c.allowed, c.passed) for c in dns] == [("53/UDP", True, True), ("53/TCP", False, False)]
    leak = a_row["other tenant service b/svc"][0]
    assert (leak.expected, leak.allowed, leak.passed) == ("denied", True, False)
    assert matrix.rows[1][1][:3] == [[], [], []] and matrix.rows[1][1][3][0].passed is True  # b probed only its own
    assert matrix.failed_cells() == 2


def test_rbac_matrix_keeps_sensitive_verbs_and_anything_that_failed():
    matrix = rbac_matrix(RBAC)
    assert matrix is not None
    # get pods and get configmaps are ordinary reads: left out; list namespaces is a read but it failed.
    assert matrix.columns == ["get secrets", "list namespaces", "create pods/exec"]
    assert [headers for headers, _ in matrix.rows] == [("sa:a", "a"), ("sa:a", "b"), ("sa:a", "(cluster)")]
    cluster_row = matrix.rows[2][1]
    assert cluster_row[0] == [] and cluster_row[1][0].passed is False


@pytest.mark.parametrize(
    ("action", "sensitive"),
    [("get secrets", True), ("watch secrets", True), ("get pods", False), ("list pods/log", False),
     ("create pods/exec", True), ("bind clusterroles.rbac.authorization.k8s.io", True), ("patch deployments.apps", True),
     ("get secrets my-secret", True)],
)  # fmt: skip
def test_sensitive_verbs(action, sensitive):
    assert is_sensitive(action) is sensitive


def test_verify_view_puts_failures_first_and_states_versions_and_times():
    report = {"kind": "isolation", "cluster_version": "v1.28.0", "started": "s", "finished": "f", "passed": False,
              "checks": NETWORK + RBAC, "findings": [{"message": "CNI", "hint": "h"}], "notes": ["n"]}  # fmt: skip
    view = verify_view(report, "9.9.9")
    assert view.title == "mlopsctl verify isolation: FAILED"
    facts = dict(view.facts)
    assert facts["Cluster version"] == "v1.28.0" and facts["mlopsctl version"] == "9.9.9"
    assert (facts["Started"], facts["Finished"]) == ("s", "f") and facts["Checks"] == "10 (6 passed, 4 failed)"
    assert [f.name for f in view.failures] == [c["name"] for c in NETWORK + RBAC if not c["passed"]]
    assert [m.ident for m in view.matrices] == ["connectivity", "rbac"]


def test_reports_without_placement_still_give_tables():
    old = [{k: v for k, v in c.items() if k not in ("subject", "target", "action")} for c in NETWORK]
    view = verify_view({"kind": "network", "checks": old, "passed": False}, "1")
    assert view.matrices == [] and len(view.failures) == 2 and len(view.checks) == 5


def test_per_second_joins_the_hpa_sample_of_each_second():
    rows = per_second(load_result())
    assert len(rows) == SECONDS
    by_t = {row["t"]: row for row in rows}
    assert by_t[1.0]["hpa_current"] == 2 and by_t[20.0]["hpa_current"] == 5 and by_t[12.0]["hpa_desired"] == 5
    assert [row["t"] for row in rows if row["errors"]] == [float(t) for t in ERROR_SECONDS]
    assert all(by_t[float(t)]["p99"] > 200 for t in SLOW_SECONDS)


def test_load_view_charts_share_one_time_axis_and_draw_the_slo():
    view = load_view(load_result())
    titles = [chart.title for chart in view.charts]
    assert titles == [
        "Latency percentiles per second (ms)",
        "Achieved vs target rate (requests/s)",
        "Errors and dropped requests per second",
        "HPA replicas: current and desired",
        "CPU utilisation (% of requests), HPA target drawn",
    ]
    assert {chart.x_range for chart in view.charts} == {(0.0, float(SECONDS))}
    latency = view.charts[0]
    assert [s.name for s in latency.series] == ["p50", "p90", "p99"]
    assert [(limit.label, limit.value) for limit in latency.limits] == [("SLO p99<200ms", 200.0)]
    assert view.charts[1].limits == []  # the errors SLO is a percentage: not a line on the rate chart
    assert [limit.label for limit in view.charts[3].limits] == ["min 2", "max 10"]
    assert [limit.label for limit in view.charts[4].limits] == ["target 50%"]
    assert view.passed is False and view.slo[0] == (False, "p99<200ms", "318 ms")
    assert view.errors == [("HTTP 503", 12)]


def test_load_view_tolerates_a_newer_report_and_missing_fields():
    result = copy.deepcopy(load_result())
    result["report"]["schema"] = "loadgen.report/v2"
    for entry in result["report"]["timeline"]:
        entry["workers"] = [{"id": 0, "rate": 99.0}]  # per-worker data it does not know yet
        del entry["p90"]
    result["hpa"] = []
    view = load_view(result)
    assert ("Report schema", "loadgen.report/v2") in view.facts
    assert [chart.ident for chart in view.charts] == [
        "load-latency",
        "load-rate",
        "load-errors",
    ]  # no HPA: no HPA charts
    p90 = next(s for s in view.charts[0].series if s.name == "p90")
    assert all(y is None for _, y in p90.points)


def test_load_view_of_a_run_without_a_timeline():
    view = load_view({"tenant": "t", "report": {}, "interrupted": True})
    assert view.charts == [] and view.table == [] and view.title == "loadtest t (interrupted: partial)"
    assert view.passed is None
