"""`mlopsctl verify network|rbac --offline --manifests DIR`: the JSON shapes, the table, exit codes."""

from __future__ import annotations

import json

import yaml

from mlopsctl.manifests.tenant import TenantSpec, render_tenant


def _write(directory, objects, name="objects.yaml"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return directory


def _policy(name, namespace, **spec):
    spec.setdefault("podSelector", {})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _pod(name, namespace, labels, port=80):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": port}]}]},
    }


def _tenants(tmp_path, extra=()):
    objects = [o for t in ("tenant-a", "tenant-b") for o in render_tenant(TenantSpec.create(t))]
    return _write(tmp_path / "m", [*objects, *extra])


def test_network_offline_json_shape_without_tenants(cli, tmp_path):
    directory = _write(
        tmp_path / "plain",
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
            _pod("a", "x", {"pod": "a"}),
            _pod("b", "x", {"pod": "b"}, 81),
            _policy("deny-to-b", "x", podSelector={"matchLabels": {"pod": "b"}}),
        ],
    )
    result = cli("verify", "network", "--offline", "--manifests", str(directory), "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["peers"] == ["x/a", "x/b"]
    assert {(c["from"], c["to"], c["port"], c["protocol"], c["allowed"]) for c in data["connections"]} == {
        ("x/a", "x/a", 80, "TCP", True),
        ("x/a", "x/b", 81, "TCP", False),
        ("x/b", "x/a", 80, "TCP", True),
        ("x/b", "x/b", 81, "TCP", True),
    }
    denied = next(c for c in data["connections"] if not c["allowed"])
    assert "x/deny-to-b" in denied["reason"]
    assert data["expectations"] == [] and data["synthesized"] == []


def test_network_offline_tenants_pass_with_global_output_option(cli, tmp_path):
    directory = _tenants(tmp_path)
    result = cli("-o", "json", "verify", "network", "--offline", "--manifests", str(directory))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["passed"] is True and data["tenants"] == ["tenant-a", "tenant-b"]
    assert any(note.startswith("synthesized default/kubernetes") for note in data["synthesized"])


def test_network_offline_broken_set_exits_6_and_lists_failures(cli, tmp_path):
    wide_open = _policy(
        "allow-all-egress", "tenant-b", policyTypes=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
    )
    directory = _tenants(tmp_path, [wide_open])
    result = cli("verify", "network", "--offline", "--manifests", str(directory), "-o", "json")
    assert result.exit_code == 6
    data = json.loads(result.stdout)
    failures = {e["check"] for e in data["expectations"] if not e["passed"]}
    assert "tenant-b/inference -> default/kubernetes 6443/TCP" in failures
    assert data["failures"] == len(failures)
    assert "verify network: " in result.stderr and "expectation(s) failed" in result.stderr


def test_network_offline_table_is_a_matrix(cli, tmp_path):
    directory = _tenants(tmp_path)
    result = cli("--no-color", "verify", "network", "--offline", "--manifests", str(directory), env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    assert "NetworkPolicy connectivity" in result.stdout
    assert "✓ 53/UDP" in result.stdout and "✗ 8080/TCP" in result.stdout
    assert "note: synthesized kube-system/coredns" in result.stdout
    assert "Tenant isolation (network): 302 passed, 0 failed" in result.stdout


def test_rbac_offline_json_shape_and_extra_checks(cli, tmp_path):
    directory = _tenants(tmp_path)
    checks = tmp_path / "checks.yaml"
    checks.write_text("- get leases.coordination.k8s.io\n- {verb: create, resource: pods/portforward}\n")
    result = cli("verify", "rbac", "--offline", "--manifests", str(directory), "-o", "json", "--checks", str(checks))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["checks"][0]) == {
        "subject",
        "namespace",
        "verb",
        "group",
        "resource",
        "subresource",
        "allowed",
        "rule",
    }
    assert any(c["resource"] == "leases" and c["group"] == "coordination.k8s.io" for c in data["checks"])
    assert any(c["resource"] == "pods" and c["subresource"] == "portforward" for c in data["checks"])
    assert data["passed"] is True


def test_rbac_offline_secrets_cluster_wide_exits_6(cli, tmp_path):
    extra = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "secrets"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "secrets"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secrets"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:tenant-b"}],
        },
    ]
    result = cli("verify", "rbac", "--offline", "--manifests", str(_tenants(tmp_path, extra)), env={"COLUMNS": "400"})
    assert result.exit_code == 6
    # 9 for each of tenant-b's three accounts (inference, default, tenant-owner), and 7 more for tenant-owner as
    # tenant-b's owner ("create secrets" in tenant-a, the five platform namespaces and cluster-wide).
    assert "Tenant isolation (RBAC): 1164 passed, 34 failed" in result.stdout
    assert "sa:tenant-b/tenant-owner create secrets (tenant-a)" in result.stdout
    assert (
        "FAIL" in result.stdout and "system:serviceaccount:tenant-b:inference list secrets (tenant-a)" in result.stdout
    )


def test_offline_needs_manifests(cli):
    result = cli("verify", "network", "--offline")
    assert result.exit_code == 2
    assert "--offline needs --manifests DIR" in result.stderr


def test_manifests_directory_must_exist(cli, tmp_path):
    result = cli("verify", "rbac", "--offline", "--manifests", str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr


def test_invalid_yaml_is_a_usage_error(cli, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.yaml").write_text("kind: [unclosed\n")
    result = cli("verify", "network", "--offline", "--manifests", str(tmp_path / "bad"))
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr


def test_invalid_policy_is_a_usage_error(cli, tmp_path):
    bad = _policy("bad", "x", ingress=[{"ports": [{"port": "http", "endPort": 90}]}])
    result = cli("verify", "network", "--offline", "--manifests", str(_write(tmp_path / "p", [bad])))
    assert result.exit_code == 2
    assert "objects.yaml: document 1: NetworkPolicy x/bad ingress[0].ports[0]: endPort needs a numeric port" in (
        result.stderr
    )


def test_invalid_output_option(cli, tmp_path):
    result = cli("verify", "network", "--offline", "--manifests", str(_tenants(tmp_path)), "-o", "xml")
    assert result.exit_code == 2
    assert "invalid --output" in result.stderr


def test_invalid_checks_file(cli, tmp_path):
    checks = tmp_path / "checks.yaml"
    checks.write_text("- just-one-word\n")
    result = cli("verify", "rbac", "--offline", "--manifests", str(_tenants(tmp_path)), "--checks", str(checks))
    assert result.exit_code == 2
    assert "invalid --checks file" in result.stderr


# --- --report DIR offline: the same three evidence files as a live run ----------------------------------------


def test_network_offline_report_writes_junit_markdown_and_html(cli, tmp_path):
    wide_open = _policy(
        "allow-all-egress", "tenant-b", policyTypes=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
    )
    directory = _tenants(tmp_path, [wide_open])
    evidence = tmp_path / "evidence"
    result = cli("verify", "network", "--offline", "--manifests", str(directory), "--report", str(evidence))
    assert result.exit_code == 6
    assert f"evidence written: {evidence / 'verify-network.junit.xml'}" in result.stderr
    junit = (evidence / "verify-network.junit.xml").read_text()
    assert 'name="mlopsctl verify network"' in junit and 'type="VerificationFailed"' in junit
    assert "tenant-b/inference -&gt; default/kubernetes 6443/TCP" in junit
    markdown = (evidence / "verify-network.md").read_text()
    assert markdown.startswith("# mlopsctl verify network: FAILED")
    assert f"- Cluster version: offline: manifests in {directory}" in markdown
    page = (evidence / "report.html").read_text()
    assert "mlopsctl verify network: FAILED" in page and 'id="connectivity-matrix"' in page
    assert "FAIL: expected denied" in page and "tenant-b/allow-all-egress rule 0" in page


def test_rbac_offline_report_passes_with_every_expectation_as_a_check(cli, tmp_path):
    evidence = tmp_path / "evidence"
    result = cli(
        "-o", "json", "verify", "rbac", "--offline", "--manifests", str(_tenants(tmp_path)), "--report", str(evidence)
    )
    assert result.exit_code == 0, result.stderr
    expectations = json.loads(result.stdout)["expectations"]
    junit = (evidence / "verify-rbac.junit.xml").read_text()
    assert f'tests="{len(expectations)}" failures="0"' in junit
    assert (evidence / "verify-rbac.md").read_text().startswith("# mlopsctl verify rbac: PASSED")
    page = (evidence / "report.html").read_text()
    assert 'id="rbac-matrix"' in page and "✓ No check failed." in page


def test_offline_report_into_an_unwritable_place_is_a_usage_error(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli("verify", "network", "--offline", "--manifests", str(_tenants(tmp_path)), "--report", str(blocker))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mlopsctl: error: cannot write the report into {blocker}")
