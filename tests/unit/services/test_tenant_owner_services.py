"""`tenant kubeconfig` and `tenant access` services against the in-memory fake API."""

from __future__ import annotations

import stat
from datetime import UTC, datetime

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.base import ClusterEndpoint, IssuedToken
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.analysis.rbac import Request, Subject
from mlopsctl.errors import ExitCode, Forbidden, NotFound, PrerequisiteMissing, UsageError
from mlopsctl.manifests.tenant import TenantSpec, render_tenant
from mlopsctl.services.tenant_access import access_live, access_offline
from mlopsctl.services.tenant_kubeconfig import build_kubeconfig, issue_kubeconfig, parse_duration, write_private
from mlopsctl.services.verify_rbac import read_rbac

ISSUED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OWNERS = ["user:alice", "group:team-a"]


def tenants() -> list[dict]:
    return render_tenant(TenantSpec.create("tenant-a", owners=OWNERS)) + render_tenant(TenantSpec.create("tenant-b"))


@pytest.fixture
def api() -> FakeKubeApi:
    fake = FakeKubeApi()
    for obj in tenants():
        fake.add(obj)
    fake.token_handler = lambda ns, sa, seconds: IssuedToken(f"tok-{ns}-{sa}-{seconds}", "2026-01-01T13:00:00Z")
    return fake


@pytest.mark.parametrize(("text", "seconds"), [("1h", 3600), ("30m", 1800), ("1h30m", 5400), ("900s", 900),
                                                ("24h", 86400), ("10m", 600)])  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1d", "60", "5m", "25h", "1h 5m", "-1h", "h"])
def test_bad_durations_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_duration(text)


def test_the_kubeconfig_has_the_token_the_cluster_and_the_tenant_namespace(api):
    result, config = issue_kubeconfig(api, "tenant-a", 3600, now=ISSUED_AT)

    assert ("request_token", ("tenant-a", c.TENANT_OWNER, 3600)) in api.calls
    assert config["users"] == [{"name": "tenant-a-tenant-owner", "user": {"token": "tok-tenant-a-tenant-owner-3600"}}]
    assert config["clusters"] == [
        {"name": "mlopsctl-tenant-a", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Y2EtZGF0YQ=="}}
    ]  # fmt: skip
    assert config["contexts"] == [
        {"name": "mlopsctl-tenant-a", "context": {"cluster": "mlopsctl-tenant-a", "user": "tenant-a-tenant-owner",
                                                  "namespace": "tenant-a"}}
    ]  # fmt: skip
    assert config["current-context"] == "mlopsctl-tenant-a"
    assert (result.expires, result.note, result.service_account) == (
        "2026-01-01T13:00:00Z",
        "",
        "tenant-a/tenant-owner",
    )
    # Nothing was written to the cluster: no token Secret, no apply.
    assert not [call for call in api.calls if call[0] in ("apply", "delete")]


def test_a_capped_lifetime_is_noted(api):
    result, _ = issue_kubeconfig(api, "tenant-a", 6 * 3600, now=ISSUED_AT)
    assert result.note == "the API server granted 60 minutes, less than the 360 asked"


def test_insecure_and_server_name_settings_carry_over():
    endpoint = ClusterEndpoint(
        "https://k8s:6443",
        None,
        insecure_skip_tls_verify=True,
        tls_server_name="k8s.local",
        proxy_url="http://proxy:3128",
    )
    cluster = build_kubeconfig("t", endpoint, "x")["clusters"][0]["cluster"]
    assert cluster == {
        "server": "https://k8s:6443",
        "insecure-skip-tls-verify": True,
        "tls-server-name": "k8s.local",
        "proxy-url": "http://proxy:3128",
    }


def test_refusals_are_typed_errors(api):
    api.token_handler = None  # the fake then answers NotFound, as a server without the TokenRequest API
    with pytest.raises(PrerequisiteMissing) as missing:
        issue_kubeconfig(api, "tenant-a", 3600)
    assert missing.value.exit_code == ExitCode.PREREQUISITE_MISSING

    def forbidden(ns, sa, seconds):
        raise Forbidden("requesting a token: forbidden: cannot create serviceaccounts/token")

    api.token_handler = forbidden
    with pytest.raises(Forbidden) as refused:
        issue_kubeconfig(api, "tenant-a", 3600)
    assert refused.value.exit_code == ExitCode.CLUSTER_UNREACHABLE
    with pytest.raises(NotFound, match="tenant nope not found"):
        issue_kubeconfig(api, "nope", 3600)
    api.delete("v1", "ServiceAccount", c.TENANT_OWNER, "tenant-a")
    with pytest.raises(NotFound, match="no tenant-owner service account"):
        issue_kubeconfig(api, "tenant-a", 3600)


def test_written_kubeconfigs_are_private_even_over_an_existing_file(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"]
    with pytest.raises(UsageError, match="does not exist"):
        write_private(tmp_path / "missing" / "config", "x")


def test_access_offline_lists_each_owner_and_what_it_may_do():
    result = access_offline(tenants(), "tenant-a")
    assert result.source == "RBAC evaluator" and result.as_expected
    assert [row.owner for row in result.owners] == ["group:team-a", "sa:tenant-a/tenant-owner", "user:alice"]
    alice = result.owners[-1]
    assert alice.kind == "User"
    assert {"patch deployments.apps", "create pods/exec", "create secrets"} <= set(alice.may)
    assert {"patch networkpolicies.networking.k8s.io", "bind roles.rbac.authorization.k8s.io"} <= set(alice.may_not)
    assert "patch namespaces tenant-a" in alice.may_not
    assert alice.elsewhere == [] and alice.unexpected == []
    assert "tenant-b" in result.namespaces_checked
    with pytest.raises(UsageError, match="not in the manifests"):
        access_offline(tenants(), "tenant-z")


def test_access_live_asks_the_api_server_and_reports_what_breaks_the_contract(api):
    model = read_rbac(api)

    def answer(review):
        if review.user == "alice" and review.resource == "networkpolicies" and review.verb == "patch":
            return True  # another authorizer lets alice open her policy
        request = Request(review.verb, review.resource, review.group, review.subresource, review.namespace, review.name)
        return model.authorize(Subject(review.user, review.groups), request).allowed

    api.access_handler = answer
    result = access_live(api, "tenant-a")
    assert result.source == "SubjectAccessReview" and not result.as_expected
    alice = next(row for row in result.owners if row.owner == "user:alice")
    assert "patch networkpolicies.networking.k8s.io" in alice.may
    assert alice.unexpected == ["patch networkpolicies.networking.k8s.io in tenant-a: allowed"]
    team = next(row for row in result.owners if row.owner == "group:team-a")
    assert team.unexpected == []
    with pytest.raises(NotFound):
        access_live(api, "tenant-z")
