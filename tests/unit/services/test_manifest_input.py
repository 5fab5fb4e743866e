"""Bad input to `verify network|rbac --offline --manifests DIR`: one error line naming the file and the object,
exit 2; never a traceback, never a silent pass over objects the evaluators would misread."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from mlopsctl.cli.app import app
from mlopsctl.errors import ExitCode
from mlopsctl.services.manifest_files import write_manifests
from tests.unit.services.sabotages import binding, policy, rendered, sa

GOOD_POLICY = policy("tenant-a", "extra", {"podSelector": {}, "ingress": []})


def _bad_selector(selector) -> dict:
    return policy("tenant-a", "bad-selector", {"podSelector": {}, "ingress": [{"from": [{"podSelector": selector}]}]})


CASES = {
    "malformed YAML": ("broken.yaml", "kind: [unclosed\n", "broken.yaml: not valid YAML (line 2)"),
    "unknown kind (typo)": (
        "typo.yaml",
        yaml.safe_dump({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolcy", "metadata": {"name": "x"}}),
        "typo.yaml: document 1: NetworkPolcy x: unknown kind NetworkPolcy in apiVersion networking.k8s.io/v1",
    ),
    "a CNI's own policy kind": (
        "cilium.yaml",
        yaml.safe_dump(
            {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "c", "namespace": "t"}}
        ),
        "cilium.yaml: document 1: CiliumNetworkPolicy t/c: unknown kind CiliumNetworkPolicy",
    ),
    "invalid selector operator": (
        "selector.yaml",
        yaml.safe_dump(_bad_selector({"matchExpressions": [{"key": "a", "operator": "Within", "values": ["b"]}]})),
        "selector.yaml: document 1: NetworkPolicy tenant-a/bad-selector ingress[0].from[0]: unknown label selector "
        "operator 'Within' for key 'a'",
    ),
    "matchLabels that is a list": (
        "labels.yaml",
        yaml.safe_dump(_bad_selector({"matchLabels": ["a=b"]})),
        "labels.yaml: document 1: NetworkPolicy tenant-a/bad-selector ingress[0].from[0]: matchLabels must be a mapping",
    ),
    "In without values": (
        "values.yaml",
        yaml.safe_dump(_bad_selector({"matchExpressions": [{"key": "a", "operator": "In"}]})),
        "values.yaml: document 1: NetworkPolicy tenant-a/bad-selector ingress[0].from[0]: operator In for key 'a' "
        "needs values",
    ),
    "podSelector that is a string": (
        "string.yaml",
        yaml.safe_dump(policy("tenant-a", "s", {"podSelector": "app=x"})),
        "string.yaml: document 1: NetworkPolicy tenant-a/s: podSelector: a label selector must be a mapping",
    ),
    "a document that is a list": (
        "list.yaml",
        "- a\n- b\n",
        "list.yaml: document 1: a document is not a Kubernetes object",
    ),
    "no apiVersion": (
        "noversion.yaml",
        yaml.safe_dump({"kind": "Role", "metadata": {"name": "r", "namespace": "t"}}),
        "noversion.yaml: document 1: Role t/r: an object needs both apiVersion and kind",
    ),
    "no name": (
        "noname.yaml",
        yaml.safe_dump({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"namespace": "t"}}),
        "noname.yaml: document 1: ServiceAccount t/<no name>: metadata.name is missing",
    ),
    "unknown subject kind": (
        "subject.yaml",
        yaml.safe_dump(binding("RoleBinding", "b", "Role", "r", [{"kind": "Robot", "name": "x"}], "t")),
        "subject.yaml: document 1: RoleBinding t/b: subject 0 needs a name and kind User, Group or ServiceAccount",
    ),
    "roleRef of an unknown kind": (
        "roleref.yaml",
        yaml.safe_dump(binding("RoleBinding", "b", "Policy", "r", [sa("t")], "t")),
        "roleref.yaml: document 1: RoleBinding t/b: roleRef needs kind Role or ClusterRole and a name",
    ),
    "a role rule without verbs": (
        "rule.yaml",
        yaml.safe_dump(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "r", "namespace": "t"},
                "rules": [{"apiGroups": [""], "resources": ["pods"]}],
            }
        ),
        "rule.yaml: document 1: Role t/r: rule 0 needs verbs",
    ),
    "container ports that are not a list of ports": (
        "pod.yaml",
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "namespace": "t"},
                "spec": {"containers": [{"name": "c", "ports": [{"containerPort": "eighty"}]}]},
            }
        ),
        "pod.yaml: document 1: Pod t/p: cannot be read",
    ),
}


@pytest.mark.parametrize("area", ["network", "rbac"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_error_line_naming_file_and_object(case, area, tmp_path):
    write_manifests(rendered(), tmp_path)
    file_name, text, message = CASES[case]
    (tmp_path / file_name).write_text(text)
    result = CliRunner().invoke(app, ["verify", area, "--offline", "--manifests", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("mlopsctl: error: ") and str(tmp_path) in lines[0]
    assert message in lines[0], lines[0]
    assert len(lines) <= 2 and all(line.startswith(("mlopsctl: error: ", "hint: ")) for line in lines)
    assert "Traceback" not in result.stderr + result.stdout and not result.stdout


def test_duplicate_object_names_both_files(tmp_path):
    write_manifests(rendered(), tmp_path)
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(GOOD_POLICY))
    result = CliRunner().invoke(app, ["verify", "network", "--offline", "--manifests", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    [line, hint] = result.stderr.strip().splitlines()
    assert line == (
        f"mlopsctl: error: --manifests {tmp_path}: 1 object(s) defined more than once: "
        "NetworkPolicy.networking.k8s.io tenant-a/extra (one.yaml and two.yaml)"
    )
    assert hint.startswith("hint: ")


def test_duplicate_with_defaulted_namespace(tmp_path):
    sa_default = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}}
    sa_explicit = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "default"}}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(sa_default))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(sa_explicit))
    result = CliRunner().invoke(app, ["verify", "rbac", "--offline", "--manifests", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    assert "defined more than once: ServiceAccount default/x (a.yaml and b.yaml)" in result.stderr


def test_non_utf8_file_is_named(tmp_path):
    write_manifests(rendered(), tmp_path)
    (tmp_path / "latin1.yaml").write_bytes(b"kind: Namespace\nmetadata: {name: caf\xe9}\n")
    result = CliRunner().invoke(app, ["verify", "network", "--offline", "--manifests", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    assert f"mlopsctl: error: {tmp_path / 'latin1.yaml'}: not UTF-8 text (byte 36)" in result.stderr


def test_lists_and_extra_known_objects_are_read(tmp_path):
    objects = rendered()
    listed = {"apiVersion": "v1", "kind": "List", "items": objects}
    (tmp_path / "all.yaml").write_text(yaml.safe_dump(listed))
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
               "metadata": {"name": "inference", "namespace": "tenant-a"}, "spec": {}}  # fmt: skip
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(monitor))
    result = CliRunner().invoke(app, ["verify", "network", "--offline", "--manifests", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
