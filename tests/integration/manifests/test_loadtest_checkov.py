"""checkov --framework kubernetes on the load generator's Job and NetworkPolicy: no failed check; the two skips
(image pull policy and digest of an image loaded into Kind) carry their reason in the template."""

from __future__ import annotations

import pytest

from mlopsctl.manifests.loadtest import LoadtestJobValues, render_loadtest_job
from mlopsctl.manifests.templating import render_yaml
from tests.integration.manifests.checkov import run_checkov
from tests.support import require_tool

pytestmark = pytest.mark.integration


def test_load_generator_job_passes_every_check(tmp_path):
    checkov = require_tool("checkov")
    values = LoadtestJobValues(
        "tenant-a", "loadtest-abc123", "mlopsctl/inference:0.1.0-abc", ["--rate", "10"], 60, workers=3
    )
    (tmp_path / "loadtest.yaml").write_text(render_yaml(render_loadtest_job(values)))
    report = run_checkov(checkov, tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    failed = [f"{c['check_id']}: {c['check_name']}" for c in report["results"].get("failed_checks", [])]
    assert failed == []
    skipped = report["results"].get("skipped_checks", [])
    assert len(skipped) <= 2
    assert all((check["check_result"].get("suppress_comment") or "").strip() for check in skipped)
