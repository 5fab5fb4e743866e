"""TenantSpec validation: every bad value fails before rendering, with one line naming its field."""

from __future__ import annotations

import pytest

from mlopsctl import constants
from mlopsctl.errors import ExitCode, UsageError
from mlopsctl.manifests.tenant import InvalidTenantSpec, TenantSpec

DIGEST = "sha256:" + "0" * 64


def test_defaults_fit_a_laptop_cluster():
    spec = TenantSpec.create("tenant-c")
    assert (spec.cpu_request, spec.memory_request, spec.cpu_limit, spec.memory_limit) == (
        "100m",
        "128Mi",
        "500m",
        "512Mi",
    )
    assert (spec.min_replicas, spec.max_replicas, spec.cpu_target_percent) == (2, 10, 50)
    assert spec.image == constants.DEFAULT_IMAGE
    assert spec.model_uri is None
    assert spec.gpus == 0
    assert spec.service_monitor is False


def test_default_quota_holds_max_replicas_plus_surge_plus_headroom():
    spec = TenantSpec.create("tenant-c")
    # 10 replicas + 1 surge + 2 headroom = 13 pods at 500m / 512Mi each.
    assert (spec.quota_pods, spec.quota_cpu, spec.quota_memory) == (13, "6500m", "6656Mi")
    bigger = TenantSpec.create("tenant-c", max_replicas=20, cpu_limit="1", memory_limit="1Gi")
    assert (bigger.quota_pods, bigger.quota_cpu, bigger.quota_memory) == (23, "23", "23Gi")


@pytest.mark.parametrize(
    ("field", "options", "fragment"),
    [
        ("name", {"name": "Tenant-A"}, "not a DNS-1123 label"),
        ("name", {"name": "a" * 64}, "more than 63"),
        ("name", {"name": "-a"}, "not a DNS-1123 label"),
        ("name", {"name": "a_b"}, "not a DNS-1123 label"),
        ("name", {"name": "tenant-a\n"}, "not a DNS-1123 label"),
        ("name", {"name": ""}, "non-empty"),
        ("name", {"name": "default"}, "reserved"),
        ("name", {"name": "kube-system"}, "reserved"),
        ("name", {"name": "kube-anything"}, "reserved"),
        ("name", {"name": "monitoring"}, "reserved"),
        ("name", {"name": "object-store"}, "reserved"),
        ("name", {"name": "mlopsctl-system"}, "reserved"),
        ("image", {"image": "mlopsctl/inference"}, "no tag or digest"),
        ("image", {"image": "mlopsctl/inference:latest"}, "latest"),
        ("image", {"image": "Bad Image:1"}, "not an image reference"),
        ("image", {"image": "repo/x:1\nkind: Secret"}, "not an image reference"),
        ("image", {"image": "repo/x:1\n"}, "not an image reference"),
        ("model_version", {"model_version": "v 2"}, "label value"),
        ("model_version", {"model_version": "v2\n"}, "label value"),
        ("model_version", {"model_version": "v" * 64}, "label value"),
        ("model_uri", {"model_uri": "http://minio/models"}, "s3://"),
        ("model_uri", {"model_uri": "s3://"}, "s3://"),
        ("model_uri", {"model_uri": "s3://models/v1\n"}, "s3://"),
        ("model_uri", {"model_uri": "s3://b/key with space"}, "s3://"),
        ("min_replicas", {"min_replicas": 0}, "between 1 and"),
        ("min_replicas", {"min_replicas": True}, "whole number"),
        ("min_replicas", {"min_replicas": "2"}, "whole number"),
        ("max_replicas", {"min_replicas": 5, "max_replicas": 4}, "below min_replicas"),
        ("max_replicas", {"max_replicas": 100_000}, "between 1 and"),
        ("cpu_target_percent", {"cpu_target_percent": 0}, "between 1 and 100"),
        ("cpu_target_percent", {"cpu_target_percent": 101}, "between 1 and 100"),
        ("cpu_request", {"cpu_request": "1Gi"}, "not a CPU quantity"),
        ("cpu_request", {"cpu_request": "fast"}, "not a Kubernetes quantity"),
        ("cpu_request", {"cpu_request": "100m\n"}, "not a Kubernetes quantity"),
        ("memory_request", {"memory_request": "128m"}, "did you mean 128Mi"),
        ("cpu_limit", {"cpu_request": "1", "cpu_limit": "500m"}, "below cpu_request"),
        ("memory_limit", {"memory_request": "1Gi", "memory_limit": "512Mi"}, "below memory_request"),
        ("quota_pods", {"quota_pods": 5}, "cannot hold"),
        ("quota_cpu", {"quota_cpu": "2"}, "cannot hold 11 pods"),
        ("quota_memory", {"quota_memory": "1Gi"}, "cannot hold 11 pods"),
        ("quota_memory", {"quota_memory": 5}, "quantity string"),
        ("gpus", {"gpus": -1}, "between 0 and"),
        ("gpus", {"gpus": 64}, "between 0 and"),
        ("gpu_node_selector", {"gpu_node_selector": ["no-equals-sign"]}, "key=value"),
        ("gpu_node_selector", {"gpu_node_selector": {"bad key!": "x"}}, "label key"),
        ("gpu_node_selector", {"gpu_node_selector": {"pool": "has space"}}, "label value"),
        ("service_monitor", {"service_monitor": "yes"}, "true or false"),
        ("colour", {"colour": "blue"}, "unknown tenant option"),
    ],
)
def test_invalid_values_name_their_field_in_one_line(field, options, fragment):
    options = dict(options)
    name = options.pop("name", "tenant-c")
    with pytest.raises(InvalidTenantSpec) as caught:
        TenantSpec.create(name, **options)
    error = caught.value
    assert error.field == field
    assert error.message.startswith(f"invalid tenant spec: {field}: ")
    assert fragment in error.message
    assert "\n" not in error.message
    assert isinstance(error, UsageError)
    assert error.exit_code == ExitCode.USAGE


def test_direct_construction_validates_too():
    with pytest.raises(InvalidTenantSpec, match="min_replicas"):
        TenantSpec(name="tenant-c", min_replicas=0)


@pytest.mark.parametrize(
    "image",
    [
        "mlopsctl/inference:0.1.0",
        "localhost:5000/team/inference:2024.11.27-abc123",
        "registry.example.com/ml/inference@" + DIGEST,
        "ghcr.io/org/inference:1.2.3@" + DIGEST,
        "inference:v1",
    ],
)
def test_image_references_with_a_tag_or_digest_are_accepted(image):
    assert TenantSpec.create("tenant-c", image=image).image == image


def test_none_means_default_so_cli_flags_that_were_not_given_change_nothing():
    assert TenantSpec.create("tenant-c", image=None, max_replicas=None) == TenantSpec.create("tenant-c")


def test_gpu_node_selector_accepts_pairs_mappings_and_key_value_strings():
    expected = (("karpenter.k8s.aws/instance-gpu-manufacturer", "nvidia"), ("pool", "gpu"))
    for given in (
        ["pool=gpu", "karpenter.k8s.aws/instance-gpu-manufacturer=nvidia"],
        {"pool": "gpu", "karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia"},
    ):
        assert TenantSpec.create("t", gpu_node_selector=given).gpu_node_selector == expected


def test_json_round_trip_is_exact():
    spec = TenantSpec.create(
        "tenant-c",
        model_uri="s3://models/sentiment/v2",
        model_version="v2",
        gpus=1,
        service_monitor=True,
        quota_pods=40,
    )
    assert TenantSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("text", ["", "[]", '{"image": "x:1"}', "{not json"])
def test_from_json_refuses_what_is_not_a_spec(text):
    with pytest.raises(UsageError):
        TenantSpec.from_json(text)


def test_replace_keeps_explicit_quotas_and_re_derives_derived_ones():
    derived = TenantSpec.create("tenant-c").replace(max_replicas=20)
    assert derived.quota_pods == 23
    explicit = TenantSpec.create("tenant-c", quota_pods=50).replace(max_replicas=20)
    assert explicit.quota_pods == 50
    assert explicit.replace(model_version="v3").model_version == "v3"


def test_replace_validates():
    with pytest.raises(InvalidTenantSpec, match="model_uri"):
        TenantSpec.create("tenant-c").replace(model_uri="ftp://x")
