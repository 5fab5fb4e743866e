"""`mlopsctl model train` through the real CLI."""

from __future__ import annotations

import json

from inference.artifact import load_artifact_dir
from mlopsctl.errors import ExitCode
from tests.unit.inference.conftest import LABELS, TEXTS, write_csv


def test_train_writes_an_artifact_and_reports_it_as_json(cli, tmp_path):
    data = tmp_path / "data.csv"
    write_csv(data, list(zip(TEXTS, LABELS, strict=True)))
    result = cli("-o", "json", "model", "train", "--data", str(data), "--out", str(tmp_path / "m"), "--version", "v7")
    assert result.exit_code == ExitCode.OK, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == "v7"
    assert report["classifier"] in report["candidates"]
    assert report["accuracy"] == report["candidates"][report["classifier"]]
    assert (report["train_rows"], report["test_rows"]) == (12, 4)
    assert load_artifact_dir(tmp_path / "m").sha256 == report["sha256"]


def test_train_uses_the_shipped_data_by_default_and_the_model_is_useful(cli, tmp_path):
    table = cli("--no-color", "model", "train", "--out", str(tmp_path / "m"))
    assert table.exit_code == ExitCode.OK, table.stderr
    assert "sentiment.csv" in table.stdout and "held-out accuracy" in table.stdout
    model = load_artifact_dir(tmp_path / "m")
    assert model.metadata["training_data"]["rows"] >= 600
    assert model.metadata["metrics"]["heldout"]["accuracy"] >= 0.8
    obvious = {
        "This product is amazing and I would buy again": "positive",
        "Terrible service, I want my money back": "negative",
        "The staff were friendly and the room was spotless": "positive",
        "The app keeps crashing and support never answers": "negative",
    }
    assert dict(zip(obvious, model.pipeline.predict(list(obvious)), strict=True)) == obvious


def test_unusable_data_and_versions_are_usage_errors(cli, tmp_path):
    missing = cli("model", "train", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "m"))
    assert missing.exit_code == ExitCode.USAGE
    assert "mlopsctl: error: training data not found" in missing.stderr
    bad = cli("model", "train", "--out", str(tmp_path / "m"), "--version", "../v1")
    assert bad.exit_code == ExitCode.USAGE
    assert "invalid model version '../v1'" in bad.stderr
    assert not (tmp_path / "m").exists()
