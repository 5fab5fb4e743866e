"""Tenant owners: parsing `user:`/`group:`/`sa:` references, keeping them in the recorded spec, and the
tenant-owner ServiceAccount, Role and RoleBinding they render to."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopsctl import constants as c
from mlopsctl.manifests.owners import InvalidOwner, Owner, normalize_owners
from mlopsctl.manifests.tenant import InvalidTenantSpec, TenantSpec, render_tenant

DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?"
# User and group names are free text to Kubernetes (emails, OIDC prefixes): anything printable but `system:`.
free_names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.sampled_from("é ü@"), min_size=1, max_size=40
).filter(lambda name: name == name.strip() and not name.startswith("system:"))
owner_texts = st.one_of(
    free_names.map(lambda name: f"user:{name}"),
    free_names.map(lambda name: f"group:{name}"),
    st.tuples(st.from_regex(DNS_LABEL, fullmatch=True), st.from_regex(DNS_LABEL, fullmatch=True)).map(
        lambda pair: f"sa:{pair[0]}/{pair[1]}"
    ),
)

# The documented rule set (docs/tenants.md): changing it is a deliberate edit of both.
OWNER_RULES = [
    {
        "apiGroups": [""],
        "resources": [
            "pods",
            "pods/log",
            "services",
            "endpoints",
            "configmaps",
            "events",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
        ],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["update", "patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update", "patch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "delete"]},
    {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["create", "update", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["get", "create"]},
]
ISOLATION_RESOURCES = {"networkpolicies", "resourcequotas", "limitranges", "roles", "rolebindings", "namespaces"}


def owner_objects(spec: TenantSpec) -> dict[str, dict]:
    return {o["kind"]: o for o in render_tenant(spec) if o["metadata"]["name"] == c.TENANT_OWNER}


def test_each_kind_parses_to_its_subject():
    assert Owner.parse("user:alice@example.com").subject() == {
        "kind": "User",
        "apiGroup": "rbac.authorization.k8s.io",
        "name": "alice@example.com",
    }
    assert Owner.parse("group:team-a").subject() == {
        "kind": "Group",
        "apiGroup": "rbac.authorization.k8s.io",
        "name": "team-a",
    }
    assert Owner.parse("sa:ci/deployer").subject() == {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}
    assert Owner.parse("user:oidc:alice").name == "oidc:alice"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("alice", "does not start with"),
        ("users:alice", "does not start with"),
        ("user:", "printable characters"),
        ("user: alice", "printable characters"),
        ("user:al\nice", "printable characters"),
        ("user:system:admin", "reserved"),
        ("group:system:authenticated", "reserved"),
        ("group:system:masters", "reserved"),
        ("sa:deployer", "names no namespace"),
        ("sa:CI/deployer", "not a namespace name"),
        ("sa:ci/Deployer", "not a service account name"),
        ("sa:ci/", "not a service account name"),
        (42, "expected a string"),
    ],
)
def test_malformed_and_reserved_owners_are_refused(text, says):
    with pytest.raises(InvalidOwner) as caught:
        Owner.parse(text)
    assert says in caught.value.problem


def test_a_bad_owner_is_an_invalid_spec_naming_the_field_with_a_hint():
    with pytest.raises(InvalidTenantSpec) as caught:
        TenantSpec.create("tenant-a", owners=["user:alice", "group:system:authenticated"])
    assert caught.value.field == "owners"
    assert caught.value.message.startswith("invalid tenant spec: owners: 'group:system:authenticated'")
    assert caught.value.hint


def test_owners_are_kept_sorted_and_unique_and_recorded_on_the_namespace():
    spec = TenantSpec.create("tenant-a", owners=["user:alice", "group:team-a", "user:alice", "sa:ci/deployer"])
    assert spec.owners == ("group:team-a", "sa:ci/deployer", "user:alice")
    namespace = render_tenant(spec)[0]
    recorded = json.loads(namespace["metadata"]["annotations"][c.TENANT_SPEC_ANNOTATION])
    assert recorded["owners"] == ["group:team-a", "sa:ci/deployer", "user:alice"]
    assert TenantSpec.from_json(namespace["metadata"]["annotations"][c.TENANT_SPEC_ANNOTATION]) == spec
    # Another change keeps them (what `tenant add` on a recorded spec builds on).
    assert spec.replace(max_replicas=3).owners == spec.owners


def test_a_spec_recorded_before_owners_existed_still_reads():
    old = json.dumps({"name": "tenant-a", "max_replicas": 3})
    assert TenantSpec.from_json(old).owners == ()


def test_the_owner_role_is_exactly_the_documented_rule_set():
    role = owner_objects(TenantSpec.create("tenant-a"))["Role"]
    assert role["rules"] == OWNER_RULES


def test_the_owner_role_never_writes_what_isolates_the_tenant():
    role = owner_objects(TenantSpec.create("tenant-a"))["Role"]
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
        if ISOLATION_RESOURCES & set(rule["resources"]):
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        assert "serviceaccounts/token" not in rule["resources"]
        assert not ({"secrets"} & set(rule["resources"]) and {"get", "list", "watch"} & set(rule["verbs"]))
    assert "namespaces" not in {r for rule in role["rules"] for r in rule["resources"]}


def test_without_owners_only_the_tenant_owner_account_is_bound():
    objects = owner_objects(TenantSpec.create("tenant-a"))
    assert objects["ServiceAccount"]["automountServiceAccountToken"] is False
    assert objects["RoleBinding"]["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "tenant-owner",
    }
    assert objects["RoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "tenant-owner", "namespace": "tenant-a"}
    ]


def test_owners_become_the_subjects_of_one_binding_after_the_account():
    spec = TenantSpec.create("tenant-a", owners=["user:alice", "group:team-a", "sa:ci/deployer"])
    subjects = owner_objects(spec)["RoleBinding"]["subjects"]
    assert subjects[0] == {"kind": "ServiceAccount", "name": "tenant-owner", "namespace": "tenant-a"}
    assert subjects[1:] == [
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "team-a"},
        {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
    ]
    # Naming the account itself as an owner does not bind it twice.
    again = TenantSpec.create("tenant-a", owners=["sa:tenant-a/tenant-owner"])
    assert len(owner_objects(again)["RoleBinding"]["subjects"]) == 1


@settings(max_examples=200, deadline=None)
@given(text=owner_texts)
def test_any_valid_owner_round_trips_through_text_and_subject(text):
    owner = Owner.parse(text)
    assert owner.text == text
    assert Owner.parse(owner.text) == owner
    assert Owner.from_subject(owner.subject(), "elsewhere") == owner


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(owner_texts, max_size=6))
def test_any_owner_list_renders_one_subject_per_distinct_owner_and_round_trips(texts):
    spec = TenantSpec.create("tenant-a", owners=texts)
    assert spec.owners == normalize_owners(texts) == tuple(sorted(set(texts)))
    subjects = owner_objects(spec)["RoleBinding"]["subjects"]
    expected = [Owner.parse(t).subject() for t in spec.owners if t != "sa:tenant-a/tenant-owner"]
    assert subjects == [{"kind": "ServiceAccount", "name": "tenant-owner", "namespace": "tenant-a"}, *expected]
    assert TenantSpec.from_json(spec.to_json()) == spec


@settings(max_examples=100, deadline=None)
@given(prefix=st.sampled_from(["user:", "group:"]), rest=st.text(max_size=20))
def test_reserved_names_are_never_accepted(prefix, rest):
    with pytest.raises(InvalidOwner):
        Owner.parse(f"{prefix}system:{rest}")


def test_the_rule_table_in_the_docs_is_the_role():
    """docs/tenants.md documents the exact rule set: its table must say what the template renders."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "tenants.md").read_text()
    table = text.split("The Role, exactly", 1)[1].split("Never granted", 1)[0]
    rows = [line.split("|")[1:4] for line in table.splitlines() if line.startswith("| `")]

    def words(cell: str) -> list[str]:
        return [word.strip() for word in cell.split(",")]

    documented = [
        {"apiGroups": [group.strip().strip("`").strip('"')], "resources": words(resources), "verbs": words(verbs)}
        for group, resources, verbs in rows
    ]
    assert documented == owner_objects(TenantSpec.create("tenant-a"))["Role"]["rules"]
