"""The mutation suite: every sabotage in the catalogue makes `verify network|rbac --offline --manifests DIR`
exit 6 with a failing verdict that names the offending object and the rule it breaks; the untouched set exits 0."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlopsctl.cli.app import app
from mlopsctl.errors import ExitCode
from mlopsctl.services.manifest_files import write_manifests
from tests.unit.services.sabotages import CATALOGUE, Sabotage, rendered


def verify(area: str, objects: list[dict], directory: Path):
    write_manifests(objects, directory)
    result = CliRunner().invoke(app, ["verify", area, "--offline", "--manifests", str(directory), "-o", "json"])
    return result, json.loads(result.stdout) if result.stdout.strip() else {}


def failing_texts(report: dict) -> list[str]:
    return [
        " | ".join(str(e[key]) for key in ("check", "subject", "rule", "reason") if e.get(key) is not None)
        for e in report.get("expectations", [])
        if not e["passed"]
    ]


def test_the_catalogue_is_large_and_names_are_unique():
    assert len(CATALOGUE) >= 30
    assert len({s.name for s in CATALOGUE}) == len(CATALOGUE)
    assert {s.area for s in CATALOGUE} == {"network", "rbac"}


@pytest.mark.parametrize("area", ["network", "rbac"])
def test_untouched_tenants_pass(area, tmp_path):
    result, report = verify(area, rendered(), tmp_path)
    assert result.exit_code == 0, failing_texts(report)
    assert report["passed"] and report["failures"] == 0


@pytest.mark.parametrize("sabotage", CATALOGUE, ids=lambda s: s.name)
def test_each_sabotage_fails_with_a_reason_naming_the_object_and_rule(sabotage: Sabotage, tmp_path):
    objects = copy.deepcopy(rendered())
    sabotage.apply(objects)
    result, report = verify(sabotage.area, objects, tmp_path)
    assert result.exit_code == ExitCode.VERIFICATION_FAILED, (result.stdout[-500:], result.stderr)
    texts = failing_texts(report)
    assert texts, "exit 6 without a failing expectation"
    assert any(all(word in text for word in sabotage.names) for text in texts), (sabotage.names, texts[:5])
    assert all(" | " in text and text.split(" | ")[1] for text in texts)  # every failure names its rule
