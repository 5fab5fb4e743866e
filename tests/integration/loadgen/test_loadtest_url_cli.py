"""`mlopsctl loadtest TENANT --url URL`: the CLI driving the engine in-process against a real server."""

from __future__ import annotations

import json

import pytest

from tests.support import free_port
from tests.unit.report.dom import parse, table_rows

pytestmark = pytest.mark.integration


def test_url_mode_reports_and_enforces_the_slo(cli, server):
    with server("fast") as url:
        ok = cli("loadtest", "tenant-a", "--url", url, "--rate", "100", "--duration", "2s", "-o", "json")
        breached = cli("loadtest", "tenant-a", "--url", url, "--rate", "50", "--duration", "1s", "--slo", "p50<1us")
    assert ok.exit_code == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["mode"] == "url" and data["report"]["requests"]["ok"] == 200
    assert breached.exit_code == 6
    assert "SLO breached: p50<1us" in breached.stderr


def test_unreachable_url_exits_5(cli):
    result = cli("loadtest", "tenant-a", "--url", f"http://127.0.0.1:{free_port()}", "--duration", "1s")
    assert result.exit_code == 5
    assert "cannot connect to 127.0.0.1" in result.stderr.splitlines()[0]


def test_url_mode_report_dir_holds_the_page_of_the_real_run(cli, server, tmp_path):
    with server("fast") as url:
        result = cli(
            "loadtest", "tenant-a", "--url", url, "--rate", "50", "--duration", "2s", "--report", str(tmp_path / "r")
        )
    assert result.exit_code == 0, result.stderr
    saved = json.loads((tmp_path / "r" / "loadtest.json").read_text())
    seconds = len(saved["report"]["timeline"])
    assert seconds >= 2
    root = parse((tmp_path / "r" / "report.html").read_text())
    assert root.find("svg", id="load-latency").find_all("g", "series", data_series="p99")
    assert len(table_rows(root.find("table", id="load-table"))) == seconds  # the numbers behind the charts
    assert not root.find_all("svg", id="load-replicas")  # --url watches no HPA: no replica chart from nothing
