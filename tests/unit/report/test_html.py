"""The pages themselves: self-contained, failures first, matrices with text marks, a table behind every chart."""

from __future__ import annotations

import re

from mlopsctl.report.html import load_page, split_reasons, verify_page
from tests.unit.report.dom import parse, table_rows
from tests.unit.report.fixtures import SECONDS, as_data, load_result, verify_all_report
from tests.unit.report.test_views import NETWORK, RBAC


def _verify_html(**report) -> str:
    data = {"kind": "isolation", "cluster_version": "v1.28.0", "started": "s", "finished": "f", "passed": False,
            "checks": NETWORK + RBAC, "findings": [], "notes": []}  # fmt: skip
    data.update(report)
    return verify_page(data, version="0.1.0", generated="now")


def _self_contained(html: str) -> None:
    root = parse(html)
    assert not root.find_all("script") and not root.find_all("link") and not root.find_all("img")
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", html)
    csp = root.find("meta", http_equiv="Content-Security-Policy")
    assert csp.attrs["content"].startswith("default-src 'none'")
    assert "@media print" in root.find("style").text()


def test_verify_page_is_self_contained_and_printable():
    _self_contained(_verify_html())


def test_failures_come_before_the_matrices_and_every_check():
    root = parse(_verify_html())
    sections = [s.attrs.get("id") for s in root.find_all("section")]
    assert sections == ["failures", "matrix-connectivity", "matrix-rbac", "checks"]
    rows = table_rows(root.find("table", id="failures-table"))
    assert [row[0] for row in rows] == ["✗ FAIL"] * 4
    assert rows[0][2:5] == ["a/pod other tenant service b/svc 80/TCP", "denied", "connected"]


def test_matrix_cells_say_in_text_what_the_colour_says():
    root = parse(_verify_html())
    matrix = root.find("table", id="connectivity-matrix")
    cells = matrix.find_all("div", "conn")
    texts = {c.text() for c in cells}
    assert "✓ allowed 80/TCP" in texts and "✗ denied 53/TCP" not in texts
    assert "✓ allowed 80/TCPFAIL: expected denied" in texts  # the leak
    assert "✗ denied 53/TCPFAIL: expected allowed" in texts
    failing = [c for c in cells if "fail" in c.classes]
    assert [(c.attrs["data-expected"], c.attrs["data-observed"]) for c in failing] == [
        ("denied", "connected"),
        ("allowed", "blocked (timeout)"),
    ]
    headers = [th.text() for th in matrix.find("thead").find_all("th")]
    assert headers[0] == "from" and "other tenant service b/svc" in headers
    rbac = root.find("table", id="rbac-matrix")
    assert rbac.find("th", scope="rowgroup").attrs["rowspan"] == "3"
    assert [th.text() for th in rbac.find_all("th", scope="row")] == ["a", "b", "(cluster)"]


def test_hostile_names_are_escaped():
    evil = dict(NETWORK[0], subject="<img src=x onerror=alert(1)>", name="<script>x</script>")
    html = _verify_html(checks=[evil], notes=["<b>n</b>"])
    assert "<img" not in html and "<script>" not in html and "&lt;b&gt;n&lt;/b&gt;" in html


def test_verify_all_page_holds_the_load_run_it_drove():
    report = verify_all_report()
    html = verify_page(as_data(report), report.loads, version="0.1.0", generated="now")
    _self_contained(html)
    root = parse(html)
    assert root.find("h1").text() == "mlopsctl verify all: FAILED"
    assert root.find("section", id="findings").text().count("CNI does not enforce NetworkPolicy") == 1
    scaling = root.find("section", id="scaling")
    assert table_rows(scaling.find("table", id="scaling-table-0"))[2] == [
        "load",
        "2026-12-03T08:20:00+00:00",
        "10",
        "3",
        "5",
        "130",
    ]
    load = root.find("section", id="load-0")
    assert "SLO ✗ breached" in load.find("h2").text()
    assert len(table_rows(load.find("table", id="load-0-table"))) == SECONDS


def test_every_chart_points_at_a_table_that_exists():
    root = parse(load_page(load_result(), version="0.1.0", generated="now"))
    charts = root.find_all("svg", "chart")
    assert len(charts) == 5
    for chart in charts:
        desc = chart.find("desc").text()
        table_id = re.search(r"table (\S+)\.$", desc).group(1)
        assert root.find("table", id=table_id)
        assert chart.find("title").text()
    latency = root.find("svg", id="load-latency")
    p99 = latency.find("g", "series", data_series="p99")
    assert len(p99.find("polyline").attrs["points"].split()) == SECONDS
    assert latency.find("g", "limit").attrs["data-limit"] == "SLO p99<200ms"
    slo = table_rows(root.find("table", id="load-slo"))
    assert slo == [["✗ FAIL", "p99<200ms", "318 ms"], ["✓ PASS", "errors<1%", "0.20 %"]]


def test_load_page_is_self_contained():
    _self_contained(load_page(load_result(), version="0.1.0", generated="now"))


def test_split_reasons_keeps_rule_descriptions_whole():
    text = "egress allowed by a/p rule 0 (to ipBlock 0.0.0.0/0; ports any port); ingress allowed by b/q rule 1 (x)"
    assert split_reasons(text) == [
        "egress allowed by a/p rule 0 (to ipBlock 0.0.0.0/0; ports any port)",
        "ingress allowed by b/q rule 1 (x)",
    ]
