"""The alert rules: what they cover, and that every alert has promtool tests that fire and that stay silent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlopsctl import constants as c
from mlopsctl.manifests import monitoring

PROMTOOL_TESTS = Path(__file__).resolve().parents[2] / "integration" / "monitoring" / "promtool"

REQUIRED_ALERTS = {
    "InferenceHighLatencyP95",
    "InferenceHighErrorRatio",
    "InferencePodRestarting",
    "InferencePodNotReady",
    "InferenceCPUNearLimit",
    "InferenceMemoryNearLimit",
    "InferenceModelNotLoaded",
    "InferenceModelStatusAbsent",
    "InferenceTargetDown",
    "InferenceTargetsAbsent",
    "InferenceTenantNotScraped",
    "InferenceHPAAtMaxReplicas",
}


def _rules() -> dict[str, dict]:
    return {rule["alert"]: rule for group in monitoring.rule_groups() for rule in group["rules"]}


def test_every_required_alert_is_defined_once() -> None:
    names = monitoring.alert_names(monitoring.rule_groups())
    assert set(names) == REQUIRED_ALERTS
    assert len(names) == len(set(names))


def test_prometheus_rule_carries_the_same_groups_as_the_rules_file() -> None:
    rule = monitoring.prometheus_rule()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["namespace"] == c.MONITORING_NAMESPACE
    assert rule["metadata"]["labels"][c.MANAGED_BY_LABEL] == c.MANAGED_BY
    assert yaml.safe_load(monitoring.rules_file()) == {"groups": rule["spec"]["groups"]}


def test_thresholds_reach_the_expressions() -> None:
    rules = {
        r["alert"]: r
        for g in monitoring.rule_groups(monitoring.AlertThresholds(latency_p95_seconds=0.25))
        for r in g["rules"]
    }
    assert rules["InferenceHighLatencyP95"]["expr"].rstrip().endswith("> 0.25")
    assert "above 0.25s" in rules["InferenceHighLatencyP95"]["annotations"]["description"]


def test_dead_targets_are_caught_by_absence_and_by_up() -> None:
    rules = _rules()
    assert "absent(up{" in rules["InferenceTargetsAbsent"]["expr"]
    assert "== 0" in rules["InferenceTargetDown"]["expr"]
    assert "unless" in rules["InferenceModelStatusAbsent"]["expr"]
    assert rules["InferenceHPAAtMaxReplicas"]["for"] == "10m"


def test_kubernetes_series_are_limited_to_tenant_namespaces() -> None:
    tenant_join = f'kube_namespace_labels{{{monitoring.ksm_label_name(c.TENANT_LABEL)}!=""}}'
    rules = _rules()
    for name in (
        "InferencePodRestarting",
        "InferencePodNotReady",
        "InferenceCPUNearLimit",
        "InferenceMemoryNearLimit",
        "InferenceHPAAtMaxReplicas",
        "InferenceTargetDown",
    ):
        assert tenant_join in rules[name]["expr"], name


def test_ksm_label_name_follows_kube_state_metrics() -> None:
    assert monitoring.ksm_label_name("mlopsctl.io/tenant") == "label_mlopsctl_io_tenant"


def _test_cases() -> dict[str, dict[str, int]]:
    seen: dict[str, dict[str, int]] = {}
    for path in PROMTOOL_TESTS.glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        assert document["rule_files"] == ["rules.yaml"], path.name
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                counts = seen.setdefault(case["alertname"], {"firing": 0, "silent": 0})
                counts["firing" if case.get("exp_alerts") else "silent"] += 1
    return seen


@pytest.mark.parametrize("alert", sorted(REQUIRED_ALERTS))
def test_every_alert_has_firing_and_silent_promtool_cases(alert: str) -> None:
    cases = _test_cases().get(alert)
    assert cases is not None, f"no promtool test for {alert}"
    assert cases["firing"] >= 1 and cases["silent"] >= 1, cases
