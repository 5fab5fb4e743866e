"""checkov --framework kubernetes on rendered tenants: no failed check. A check may be skipped only by an
annotation in the template that states the reason, at most two per tenant."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mlopsctl.manifests.tenant import TenantSpec, render_tenant, render_yaml
from tests.integration.manifests.checkov import run_checkov
from tests.support import require_tool

pytestmark = pytest.mark.integration

DIGEST = "sha256:" + "c" * 64
MAX_SKIPS_PER_TENANT = 2


def scan(directory: Path) -> dict:
    report = run_checkov(require_tool("checkov"), directory)
    assert isinstance(report, dict), "expected one kubernetes report"
    return report


def write(directory: Path, *specs: TenantSpec) -> None:
    for spec in specs:
        (directory / f"{spec.name}.yaml").write_text(render_yaml(render_tenant(spec)))


def failures(report: dict) -> list[str]:
    return [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"].get("failed_checks", [])]


def skips_by_tenant(report: dict) -> Counter:
    skipped = report["results"].get("skipped_checks", [])
    for check in skipped:
        assert (check["check_result"].get("suppress_comment") or "").strip(), f"{check['check_id']} has no reason"
    return Counter(check["resource"].split(".")[1] for check in skipped)


def test_two_default_tenants_pass_every_check(tmp_path):
    write(tmp_path, TenantSpec.create("tenant-a"), TenantSpec.create("tenant-b"))
    report = scan(tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert failures(report) == []
    assert report["summary"]["passed"] > 100
    skips = skips_by_tenant(report)
    assert set(skips) == {"tenant-a", "tenant-b"}
    assert max(skips.values()) <= MAX_SKIPS_PER_TENANT


def test_gpu_monitored_tenant_and_pinned_image_tenant_pass_too(tmp_path):
    write(
        tmp_path,
        TenantSpec.create("gpu-team", gpus=1, service_monitor=True, max_replicas=3),
        TenantSpec.create(
            "pinned",
            image=f"registry.example.com/ml/inference:1.0.0@{DIGEST}",
            model_uri="s3://models/sentiment/v2",
            model_version="v2",
            owners=["user:alice", "group:team-a", "sa:ci/deployer"],
        ),
    )
    report = scan(tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert failures(report) == []
    skips = skips_by_tenant(report)
    assert max(skips.values()) <= MAX_SKIPS_PER_TENANT
    # A pinned image needs neither image skip, and the S3 settings are read from Secret files (CKV_K8S_35 passes).
    assert "pinned" not in skips
    # The owners' Role and binding were judged by the RBAC checks (wildcards, bind, escalate, impersonate).
    judged = {(c["check_id"], c["resource"]) for c in report["results"]["passed_checks"]}
    assert {("CKV_K8S_49", "Role.pinned.tenant-owner"), ("CKV_K8S_158", "Role.pinned.tenant-owner"),
            ("CKV2_K8S_3", "RoleBinding.pinned.tenant-owner")} <= judged  # fmt: skip


def test_a_kind_tenant_serving_a_model_from_the_store_stays_within_two_skips(tmp_path):
    """`tenant add T --model V` on Kind: a tag-only image and an s3:// model URI."""
    write(tmp_path, TenantSpec.create("tenant-c", model_uri="s3://models-tenant-c/models/v1", model_version="v1"))
    report = scan(tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert failures(report) == []
    assert skips_by_tenant(report)["tenant-c"] <= MAX_SKIPS_PER_TENANT
    skipped = {check["check_id"] for check in report["results"].get("skipped_checks", [])}
    assert "CKV_K8S_35" not in skipped
    passed = {check["check_id"] for check in report["results"].get("passed_checks", [])}
    assert "CKV_K8S_35" in passed


def test_the_scan_really_catches_a_weakened_deployment(tmp_path):
    objects = render_tenant(TenantSpec.create("weak"))
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    main = deployment["spec"]["template"]["spec"]["containers"][0]
    main["securityContext"]["readOnlyRootFilesystem"] = False
    del main["livenessProbe"]
    owner_role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "tenant-owner")
    owner_role["rules"].append(
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}
    )
    (tmp_path / "weak.yaml").write_text(render_yaml(objects))
    failed = {f.split()[0] for f in failures(scan(tmp_path))}
    assert {"CKV_K8S_22", "CKV_K8S_8", "CKV_K8S_158"} <= failed
