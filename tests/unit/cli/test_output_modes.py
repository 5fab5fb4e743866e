import json

import yaml

from mlopsctl.config import Settings


def test_yaml_output_carries_the_same_data_as_json(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    as_json = json.loads(cli("-o", "json", "doctor").stdout)
    as_yaml = yaml.safe_load(cli("-o", "yaml", "doctor").stdout)
    assert as_json == as_yaml


def test_table_output_is_for_people(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("--no-color", "doctor")
    assert "CHECK" in result.stdout and "STATUS" in result.stdout
    assert "\x1b[" not in result.stdout


def test_output_format_precedence_through_the_cli(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "mlopsctl.yaml").write_text("output: yaml\n")
    assert cli("doctor").stdout.startswith("checks:")  # file
    monkeypatch.setenv("MLOPSCTL_OUTPUT", "json")
    assert cli("doctor").stdout.startswith("{")  # env beats file
    assert "CHECK" in cli("-o", "table", "doctor").stdout  # flag beats env


def test_settings_default_output_is_table():
    assert Settings().output == "table"
