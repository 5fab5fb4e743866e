"""Every rendered object validates against the Kubernetes OpenAPI schemas of several minor versions."""

from __future__ import annotations

import pytest

from mlopsctl.manifests.tenant import TenantSpec, render_tenant

from .schemas import CRD_KINDS, VERSIONS, schema_errors, validate_with_library

SPECS = {
    "defaults": TenantSpec.create("tenant-c"),
    "everything": TenantSpec.create(
        "tenant-gpu",
        image="registry.example.com/ml/inference:1.2.3@sha256:" + "b" * 64,
        model_uri="s3://models/sentiment/v2",
        model_version="v2",
        min_replicas=1,
        max_replicas=3,
        cpu_target_percent=80,
        cpu_request="250m",
        memory_request="256Mi",
        cpu_limit="2",
        memory_limit="2Gi",
        quota_pods=20,
        gpus=1,
        service_monitor=True,
    ),
}


def test_at_least_two_minor_versions_are_checked():
    assert len(VERSIONS) >= 2


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(SPECS))
def test_objects_are_schema_valid(case, version):
    errors = [
        error
        for obj in render_tenant(SPECS[case])
        if (obj["apiVersion"], obj["kind"]) not in CRD_KINDS
        for error in schema_errors(obj, version)
    ]
    assert errors == []


@pytest.mark.parametrize("version", VERSIONS)
def test_library_entry_point_agrees(version):
    for obj in render_tenant(SPECS["defaults"]):
        validate_with_library(obj, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_validator_really_rejects_broken_objects(version):
    deployment = next(o for o in render_tenant(SPECS["defaults"]) if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    deployment["spec"]["minReadySeconds"] = "ten"
    errors = schema_errors(deployment, version)
    assert any("readOnlyRootFileSystem" in e for e in errors)
    assert any("minReadySeconds" in e for e in errors)
