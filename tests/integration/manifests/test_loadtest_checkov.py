"""checkov --framework kubernetes on the load generator's Job and NetworkPolicy: no failed check; the two skips
(image pull policy and digest of an image loaded into Kind) carry their reason in the template."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from mlopsctl.manifests.loadtest import LoadtestJobValues, render_loadtest_job
from mlopsctl.manifests.templating import render_yaml
from tests.support import require_tool

pytestmark = pytest.mark.integration


def test_load_generator_job_passes_every_check(tmp_path):
    checkov = require_tool("checkov")
    values = LoadtestJobValues(
        "tenant-a", "loadtest-abc123", "mlopsctl/inference:0.1.0-abc", ["--rate", "10"], 60, workers=3
    )
    (tmp_path / "loadtest.yaml").write_text(render_yaml(render_loadtest_job(values)))
    proc = subprocess.run(
        [checkov, "--framework", "kubernetes", "--directory", str(tmp_path), "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["summary"]["parsing_errors"] == 0
    failed = [f"{c['check_id']}: {c['check_name']}" for c in report["results"].get("failed_checks", [])]
    assert failed == []
    skipped = report["results"].get("skipped_checks", [])
    assert len(skipped) <= 2
    assert all((check["check_result"].get("suppress_comment") or "").strip() for check in skipped)
