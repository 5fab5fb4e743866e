"""checkov --framework kubernetes on the rendered object store: no failed check; every skip states its reason."""

from __future__ import annotations

import pytest

from mlopsctl.manifests import storage as M
from mlopsctl.manifests.templating import render_yaml
from tests.integration.manifests.test_tenant_checkov import failures, scan

pytestmark = pytest.mark.integration

ADMIN = M.Credentials("ADMINKEY", "admin-secret")
TENANTS = {"tenant-a": M.Credentials("AKEY", "a"), "tenant-b": M.Credentials("BKEY", "b")}
DIGEST = "sha256:" + "d" * 64


def _write(path, spec):
    path.write_text(render_yaml(M.render_store(spec, ADMIN, TENANTS)))


def _skips(report):
    skipped = report["results"].get("skipped_checks", [])
    for check in skipped:
        assert (check["check_result"].get("suppress_comment") or "").strip(), f"{check['check_id']} has no reason"
    return sorted(check["check_id"] for check in skipped)


def test_seaweedfs_store_passes_every_check(tmp_path):
    _write(tmp_path / "store.yaml", M.StoreSpec(tenants=tuple(TENANTS), node_cidrs=("172.18.0.2/32",)))
    report = scan(tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert failures(report) == []
    assert report["summary"]["passed"] > 50
    assert _skips(report) == ["CKV_K8S_15", "CKV_K8S_43"]


def test_digest_pinned_minio_store_passes_too(tmp_path):
    image = f"registry.example.com/minio:RELEASE.2025-04-22T22-12-26Z@{DIGEST}"
    _write(tmp_path / "store.yaml", M.StoreSpec(engine="minio", image=image, tenants=tuple(TENANTS)))
    report = scan(tmp_path)
    assert failures(report) == []
    # A digest needs no image skip; MinIO takes its root credentials only from the environment.
    assert _skips(report) == ["CKV_K8S_15", "CKV_K8S_35"]


def test_the_scan_catches_a_weakened_store(tmp_path):
    objects = M.render_store(M.StoreSpec(), ADMIN, {})
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    del container["resources"]["limits"]
    (tmp_path / "store.yaml").write_text(render_yaml(objects))
    failed = {f.split()[0] for f in failures(scan(tmp_path))}
    assert {"CKV_K8S_20", "CKV_K8S_11"} <= failed
