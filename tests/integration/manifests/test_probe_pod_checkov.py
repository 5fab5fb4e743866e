"""checkov --framework kubernetes on the probe pods of `verify network` and the outsider's namespace: no failed
check; each skip carries its reason in the template."""

from __future__ import annotations

import pytest

from mlopsctl import constants as c
from mlopsctl.manifests.probe_pods import ProbePodValues, render_probe_pod, scratch_namespace
from mlopsctl.manifests.templating import render_yaml
from tests.integration.manifests.checkov import run_checkov
from tests.support import require_tool

pytestmark = pytest.mark.integration


def test_probe_pods_pass_every_check(tmp_path):
    checkov = require_tool("checkov")
    objects = [
        scratch_namespace("abc123"),
        render_probe_pod(ProbePodValues("abc123", "verify-outsider-abc123", c.OUTSIDER_ROLE, "mlopsctl/inference:1")),
        render_probe_pod(ProbePodValues("abc123", "tenant-a", c.LATER_POD_ROLE, "mlopsctl/inference:1")),
    ]
    (tmp_path / "probe-pods.yaml").write_text(render_yaml(objects))
    report = run_checkov(checkov, tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    failed = [f"{c['check_id']}: {c['check_name']}" for c in report["results"].get("failed_checks", [])]
    assert failed == []
    skipped = report["results"].get("skipped_checks", [])
    assert {check["check_id"] for check in skipped} <= {"CKV_K8S_15", "CKV_K8S_43", "CKV2_K8S_6"}
    assert all((check["check_result"].get("suppress_comment") or "").strip() for check in skipped)
