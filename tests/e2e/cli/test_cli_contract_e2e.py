"""The CLI contract against a real cluster: global options after the sub-command reach the cluster they name, and
one result object gives the same answer as a table and as JSON.

Needs MLOPSCTL_E2E=1 and a kubeconfig (KUBECONFIG or ~/.kube/config; MLOPSCTL_CONTEXT picks a context). Read-only:
it lists tenants and never changes the cluster.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlopsctl.errors import ExitCode

pytestmark = pytest.mark.e2e

KUBECONFIG = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
CONTEXT = os.environ.get("MLOPSCTL_CONTEXT")

if os.environ.get("MLOPSCTL_E2E") != "1" or not Path(KUBECONFIG.split(os.pathsep)[0]).is_file():
    pytest.skip("needs MLOPSCTL_E2E=1 and a kubeconfig", allow_module_level=True)


def _targets() -> list[str]:
    return ["--kubeconfig", KUBECONFIG, *(["--context", CONTEXT] if CONTEXT else [])]


def test_global_options_after_the_sub_command_reach_the_same_cluster(cli):
    before = cli(*_targets(), "-o", "json", "tenant", "list")
    after = cli("tenant", "list", *_targets(), "-o", "json")
    assert before.exit_code == after.exit_code == ExitCode.OK, (before.stderr, after.stderr)
    names = [row["name"] for row in json.loads(after.stdout)["tenants"]]
    assert [row["name"] for row in json.loads(before.stdout)["tenants"]] == names
    table = cli("tenant", "list", *_targets(), "-o", "table")
    assert table.exit_code == ExitCode.OK
    assert all(name in table.stdout for name in names)  # whole names: stdout is not a terminal here
    assert "…" not in table.stdout


def test_an_unknown_context_given_after_the_sub_command_is_refused(cli):
    result = cli("tenant", "list", "--kubeconfig", KUBECONFIG, "--context", "mlopsctl-e2e-no-such-context")
    assert result.exit_code in (ExitCode.USAGE, ExitCode.CLUSTER_UNREACHABLE)
    assert result.stderr.startswith("mlopsctl: error: ")
    assert "mlopsctl-e2e-no-such-context" in result.stderr
