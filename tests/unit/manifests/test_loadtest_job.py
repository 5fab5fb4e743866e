"""The in-cluster load generator's Job and NetworkPolicy, rendered offline."""

from __future__ import annotations

import dataclasses

import pytest

from mlopsctl import constants as c
from mlopsctl.manifests.loadtest import LoadtestJobValues, render_loadtest_job
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

from .schemas import VERSIONS, schema_errors

VALUES = LoadtestJobValues(
    tenant="tenant-a",
    name="loadtest-abc123",
    image="mlopsctl/inference:0.1.0-abc",
    args=["--url", "http://inference.tenant-a.svc:80", "--rate", "200", "--stream"],
    planned_seconds=120,
)


def test_job_and_policy():
    job, policy = render_loadtest_job(VALUES)
    assert (job["kind"], policy["kind"]) == ("Job", "NetworkPolicy")
    assert job["metadata"]["namespace"] == policy["metadata"]["namespace"] == "tenant-a"
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] >= 120 and spec["ttlSecondsAfterFinished"] > 0
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == VALUES.image
    assert container["command"] + container["args"] == [*c.LOADTEST_COMMAND, *VALUES.args]


def test_pod_is_hardened_like_the_tenant_pods():
    job, _ = render_loadtest_job(VALUES)
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == c.IMAGE_UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = pod["containers"][0]["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] and resources["limits"]


def test_labels_admit_it_as_the_tenant_but_never_as_a_service_endpoint():
    job, policy = render_loadtest_job(VALUES)
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels[c.TENANT_LABEL] == "tenant-a"
    assert labels[c.MANAGED_BY_LABEL] == c.MANAGED_BY
    assert labels[c.LOADTEST_RUN_LABEL] == "loadtest-abc123"
    service = next(o for o in render_tenant(TenantSpec.create("tenant-a")) if o["kind"] == "Service")
    selector = service["spec"]["selector"]
    assert not all(labels.get(key) == value for key, value in selector.items())
    # The policy lets exactly this run's pods reach the tenant's inference pods on the container port.
    assert policy["spec"]["podSelector"] == {"matchLabels": {c.LOADTEST_RUN_LABEL: "loadtest-abc123"}}
    assert policy["spec"]["policyTypes"] == ["Egress"]
    (rule,) = policy["spec"]["egress"]
    assert rule["to"] == [{"podSelector": {"matchLabels": selector}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": c.CONTAINER_PORT}]


def test_user_values_cannot_change_the_document_structure():
    hostile = LoadtestJobValues(
        tenant="tenant-a", name="loadtest-x", image="img:1\nkind: Secret", args=["--body", '{"a": "b"}\n---\nx: 1']
    )
    job, policy = render_loadtest_job(hostile)
    assert len(policy["spec"]["podSelector"]["matchLabels"]) == 1
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "img:1\nkind: Secret"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"][1] == '{"a": "b"}\n---\nx: 1'


def test_an_indexed_job_runs_one_pod_per_worker_at_once():
    job, policy = render_loadtest_job(dataclasses.replace(VALUES, workers=4))
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 4, 4)
    assert spec["backoffLimit"] == 0  # one failed worker fails the run: its share of the schedule is missing
    # The policy selects the run label, which every pod of the Job carries, whatever its index.
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    single, _ = render_loadtest_job(VALUES)
    assert (single["spec"]["completions"], single["spec"]["parallelism"]) == (1, 1)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("workers", [1, 8])
def test_schema_valid(version, workers):
    for obj in render_loadtest_job(dataclasses.replace(VALUES, workers=workers)):
        assert schema_errors(obj, version) == []
