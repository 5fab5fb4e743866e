"""The deployed alert rules, checked and unit-tested by promtool (Debian's `prometheus` package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlopsctl.manifests import monitoring
from tests.support import require_program

pytestmark = pytest.mark.integration

PROMTOOL_TESTS = Path(__file__).parent / "promtool"
TEST_FILES = sorted(PROMTOOL_TESTS.glob("*.yaml"))


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    promtool = require_program("promtool")
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """The rules file exactly as deployed: the groups of the PrometheusRule mlopsctl applies."""
    groups = monitoring.prometheus_rule()["spec"]["groups"]
    (tmp_path / "rules.yaml").write_text(monitoring.to_yaml({"groups": groups}))
    return tmp_path


def test_promtool_check_rules_accepts_the_deployed_rules(rules_dir: Path) -> None:
    result = _promtool("check", "rules", "rules.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(monitoring.alert_names(monitoring.rule_groups()))} rules found" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check above can fail: a rule with a PromQL syntax error is refused."""
    groups = monitoring.rule_groups()
    groups[0]["rules"][0]["expr"] = "sum by (tenant (rate(x[5m]))"
    (tmp_path / "rules.yaml").write_text(monitoring.to_yaml({"groups": groups}))
    result = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode != 0


@pytest.mark.parametrize("test_file", TEST_FILES, ids=[path.stem for path in TEST_FILES])
def test_promtool_unit_tests_pass(rules_dir: Path, test_file: Path) -> None:
    shutil.copy(test_file, rules_dir / test_file.name)
    result = _promtool("test", "rules", test_file.name, cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_fail_when_thresholds_change(tmp_path: Path) -> None:
    """The unit tests pin the thresholds: a rules file with a laxer error-ratio threshold fails them."""
    lax = monitoring.AlertThresholds(error_ratio=0.5)
    (tmp_path / "rules.yaml").write_text(monitoring.rules_file(lax))
    shutil.copy(PROMTOOL_TESTS / "InferenceHighErrorRatio.yaml", tmp_path)
    result = _promtool("test", "rules", "InferenceHighErrorRatio.yaml", cwd=tmp_path)
    assert result.returncode != 0
