"""The HTML reports opened in a real browser: headless Chromium (Debian's `chromium`) loads each page from a
file:// URL with every network path closed, takes a screenshot, and dumps the DOM it built; the checks run on
that DOM, not on the text we wrote."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from mlopsctl.services.loadtest_report import write_load_report
from mlopsctl.services.verify_report import write_report
from tests.support import require
from tests.unit.report.dom import Node, parse, table_rows
from tests.unit.report.fixtures import LEAK, SECONDS, load_result, verify_all_report

pytestmark = pytest.mark.integration

WINDOW = (1280, 2400)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "chromium is not installed (apt-get install chromium)")
    assert path is not None
    return path


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def open_in_chromium(page: Path, tmp_path: Path) -> Node:
    """Screenshot the page, then return the DOM Chromium built from it."""
    chromium = _chromium()
    shot = tmp_path / f"{page.parent.name}.png"
    _run(
        chromium, tmp_path / "profile", f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}", page.as_uri()
    )
    assert _png_size(shot) == WINDOW
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
    dom = _run(chromium, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    assert dom.lstrip().startswith("<!DOCTYPE html>") and "</html>" in dom, dom[:200]
    return parse(dom)


@pytest.fixture(scope="module")
def verify_run():
    return verify_all_report()


def test_verify_all_report_in_chromium(verify_run, tmp_path):
    written = write_report(verify_run, tmp_path / "verify")
    root = open_in_chromium(written.html, tmp_path)
    assert root.find("h1").text() == "mlopsctl verify all: FAILED"
    facts = dict(table_rows(root.find("table", id="facts")))
    assert facts["Cluster version"] == "v1.31.0" and facts["mlopsctl version"]
    assert facts["Started"] == verify_run.started and facts["Finished"] == verify_run.finished
    # Failures first, each with the rule that decided.
    failed = [check for check in verify_run.checks if not check.passed]
    rows = table_rows(root.find("table", id="failures-table"))
    assert [row[2] for row in rows] == [check.name for check in failed]
    assert all(row[0] == "✗ FAIL" for row in rows)
    leak = next(row for row in rows if row[1] == "network")
    assert "denied by policy but connected" in leak[5] and "is isolated for egress by tenant-a/" in leak[5]
    # The connectivity matrix: the leaking cell says so in text; the positive controls are green.
    matrix = root.find("table", id="connectivity-matrix")
    source_row = next(tr for tr in matrix.find_all("tr") if tr.find_all("th") and tr.find("th").text() == LEAK[0])
    failing = [div for div in source_row.find_all("div", "conn") if "fail" in div.classes]
    assert [div.text() for div in failing] == ["✓ allowed 80/TCPFAIL: expected denied"]
    assert failing[0].attrs["data-observed"] == "connected" and failing[0].attrs["data-expected"] == "denied"
    passing = [div.text() for div in source_row.find_all("div", "conn") if "pass" in div.classes]
    assert "✓ allowed 53/UDP" in passing and "✗ denied 8080/TCP" in passing  # DNS allowed, tenant-b pod denied
    # The RBAC matrix: identities x namespaces x sensitive verbs.
    rbac = root.find("table", id="rbac-matrix")
    headers = [th.text() for th in rbac.find("thead").find_all("th")]
    assert headers[:2] == ["identity", "namespace"] and "get secrets" in headers and "create pods/exec" in headers
    assert "get pods" not in headers
    over_granted = [div for div in rbac.find_all("div", "conn") if "fail" in div.classes]
    assert len(over_granted) == 3 and all(div.text() == "✓ allowedFAIL: expected denied" for div in over_granted)
    # The load run that verify all drove, on the same page.
    load = root.find("section", id="load-0")
    series = [g.attrs["data-series"] for g in load.find("svg", id="load-0-latency").find_all("g", "series")]
    assert series == ["p50", "p90", "p99"]


def test_load_report_in_chromium(tmp_path):
    written = write_load_report(load_result(), tmp_path / "load")
    root = open_in_chromium(written.html, tmp_path)
    charts = {svg.attrs["id"]: svg for svg in root.find_all("svg", "chart")}
    assert list(charts) == ["load-latency", "load-rate", "load-errors", "load-replicas", "load-cpu"]
    for chart_id, names in {
        "load-latency": ["p50", "p90", "p99"],
        "load-rate": ["achieved", "target"],
        "load-errors": ["errors", "dropped"],
        "load-replicas": ["current", "desired"],
        "load-cpu": ["CPU"],
    }.items():
        groups = charts[chart_id].find_all("g", "series")
        assert [g.attrs["data-series"] for g in groups] == names
        for group in groups:
            points = sum(len(line.attrs["points"].split()) for line in group.find_all("polyline"))
            assert points == SECONDS, (chart_id, group.attrs["data-series"])
    limits = {chart_id: [g.attrs["data-limit"] for g in svg.find_all("g", "limit")] for chart_id, svg in charts.items()}
    assert limits["load-latency"] == ["SLO p99<200ms"]
    assert limits["load-replicas"] == ["min 2", "max 10"] and limits["load-cpu"] == ["target 50%"]
    table = table_rows(root.find("table", id="load-table"))
    assert len(table) == SECONDS and table[11][:6] == ["12", "200", "170", "8", "40", "322"]
    slo = table_rows(root.find("table", id="load-slo"))
    assert slo[0] == ["✗ FAIL", "p99<200ms", "318 ms"]
