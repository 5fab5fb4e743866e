"""The CLI contract against a real cluster: global options after the sub-command reach the cluster they name, and
one result object gives the same answer as a table and as JSON.

Read-only: it lists tenants and never changes the cluster (flags: tests/e2e/support.py).
"""

from __future__ import annotations

import json

import pytest

from mlopsctl.errors import ExitCode
from tests.e2e.support import KUBECONFIG, global_flags

pytestmark = pytest.mark.e2e


def _targets() -> list[str]:
    return global_flags()


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
