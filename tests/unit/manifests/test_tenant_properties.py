"""Property tests: any valid spec renders schema-valid, well-formed objects; any single bad value is rejected
with a message that names exactly that field."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlopsctl import constants
from mlopsctl.manifests.templating import render_documents
from mlopsctl.manifests.tenant import (
    SERVICE_MONITOR_TEMPLATE,
    TEMPLATES,
    InvalidTenantSpec,
    TenantSpec,
    _context,
    render_tenant,
    render_yaml,
)

from .schemas import CRD_KINDS, VERSIONS, schema_errors
from .test_tenant_owners import owner_texts

RESERVED = set(constants.PLATFORM_NAMESPACES)
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
LABEL_VALUE = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"

valid_names = st.from_regex(DNS_LABEL, fullmatch=True).filter(
    lambda name: name not in RESERVED and not name.startswith("kube-")
)
invalid_names = st.one_of(
    st.sampled_from(sorted(RESERVED)),
    valid_names.map(lambda name: ("kube-" + name)[:63]),
    st.text(min_size=1, max_size=80).filter(lambda t: not re.fullmatch(DNS_LABEL, t)),
    st.from_regex(r"[a-z]{64,80}", fullmatch=True),
)


@st.composite
def valid_options(draw) -> dict:
    min_replicas = draw(st.integers(1, 20))
    max_replicas = draw(st.integers(min_replicas, 40))
    cpu_request = draw(st.integers(1, 2000))
    cpu_limit = draw(st.integers(cpu_request, 4000))
    memory_request = draw(st.integers(1, 2048))
    memory_limit = draw(st.integers(memory_request, 8192))
    options = {
        "min_replicas": min_replicas,
        "max_replicas": max_replicas,
        "cpu_target_percent": draw(st.integers(1, 100)),
        "cpu_request": f"{cpu_request}m",
        "cpu_limit": f"{cpu_limit}m" if cpu_limit % 1000 else str(cpu_limit // 1000),
        "memory_request": f"{memory_request}Mi",
        "memory_limit": f"{memory_limit}Mi",
        "gpus": draw(st.integers(0, 4)),
        "service_monitor": draw(st.booleans()),
        "model_version": draw(st.from_regex(LABEL_VALUE, fullmatch=True)),
    }
    if draw(st.booleans()):
        bucket = draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True))
        key = draw(st.from_regex(r"[A-Za-z0-9_.-]{1,20}(/[A-Za-z0-9_.-]{1,20}){0,3}", fullmatch=True))
        options["model_uri"] = f"s3://{bucket}/{key}"
    if draw(st.booleans()):
        options["owners"] = draw(st.lists(owner_texts, max_size=4))
    if draw(st.booleans()):
        tag = draw(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}", fullmatch=True).filter(lambda t: t != "latest"))
        options["image"] = f"registry.example.com:5000/team/inference:{tag}"
    return options


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=valid_names, options=valid_options(), version=st.sampled_from(VERSIONS))
def test_valid_specs_render_schema_valid_objects(name, options, version):
    spec = TenantSpec.create(name, **options)
    objects = render_tenant(spec)
    assert objects[0]["kind"] == "Namespace"
    assert objects[0]["metadata"]["name"] == name
    errors = [
        error
        for obj in objects
        if (obj["apiVersion"], obj["kind"]) not in CRD_KINDS
        for error in schema_errors(obj, version)
    ]
    assert errors == []
    for obj in objects:
        assert obj["metadata"]["labels"][constants.TENANT_LABEL] == name
        assert obj["metadata"].get("namespace", name) == name
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert "replicas" not in deployment["spec"]
    assert ("ServiceMonitor" in {o["kind"] for o in objects}) == spec.service_monitor
    assert render_yaml(render_tenant(TenantSpec.from_json(spec.to_json()))) == render_yaml(objects)
    # Structure reuse between tenants gives exactly what rendering each template afresh gives.
    templates = (*TEMPLATES, SERVICE_MONITOR_TEMPLATE) if spec.service_monitor else TEMPLATES
    context = _context(spec)
    assert objects == [doc for template in templates for doc in render_documents(template, context)]


@settings(max_examples=60, deadline=None)
@given(name=invalid_names)
def test_invalid_names_are_rejected_naming_the_field(name):
    try:
        TenantSpec.create(name)
    except InvalidTenantSpec as error:
        assert error.field == "name"
        assert error.message.startswith("invalid tenant spec: name: ")
        assert "\n" not in error.message
    else:
        raise AssertionError(f"{name!r} was accepted")


BAD_VALUES = {
    "image": st.one_of(
        st.just("inference"),
        st.just("inference:latest"),
        st.text(min_size=1, max_size=30).filter(lambda t: ":" not in t and "@" not in t),
        st.text(alphabet=" \n\t{}[]#&*!|>'\"%", min_size=1, max_size=10).map(lambda t: "repo/x:1" + t),
    ),
    "model_version": st.one_of(
        st.from_regex(r"[a-z]{64,70}", fullmatch=True), st.text(alphabet=" /:@{}\n", min_size=1, max_size=5)
    ),
    "model_uri": st.one_of(
        st.just(""), st.from_regex(r"(http|https|gs|file)://[a-z]{3,10}/[a-z]{1,10}", fullmatch=True)
    ),
    "min_replicas": st.one_of(st.integers(max_value=0), st.integers(min_value=1001), st.booleans()),
    "cpu_target_percent": st.one_of(st.integers(max_value=0), st.integers(min_value=101)),
    "cpu_request": st.one_of(st.from_regex(r"[0-9]{1,3}(Mi|Gi|Ki)", fullmatch=True), st.just("-1"), st.just("")),
    "memory_limit": st.one_of(st.from_regex(r"[1-9][0-9]{0,2}m", fullmatch=True), st.just("lots")),
    "quota_pods": st.integers(min_value=-5, max_value=10),
    "gpus": st.one_of(st.integers(max_value=-1), st.integers(min_value=17)),
    "service_monitor": st.one_of(st.just("true"), st.integers()),
    "owners": st.one_of(
        st.lists(st.sampled_from(["alice", "user:", "sa:alice", "group:system:masters", "sa:NS/x"]), min_size=1),
        st.integers(),
    ),
}


@settings(max_examples=150, deadline=None)
@given(name=valid_names, data=st.data())
def test_one_bad_value_is_rejected_naming_that_field(name, data):
    field = data.draw(st.sampled_from(sorted(BAD_VALUES)))
    value = data.draw(BAD_VALUES[field])
    try:
        TenantSpec.create(name, **{field: value})
    except InvalidTenantSpec as error:
        assert error.field == field, error.message
        assert error.message.startswith(f"invalid tenant spec: {field}: ")
        assert "\n" not in error.message
    else:
        raise AssertionError(f"{field}={value!r} was accepted")
