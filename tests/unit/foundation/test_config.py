from pathlib import Path

import pytest

from mlopsctl.config import Settings, load_settings, parse_config_file, resolve
from mlopsctl.errors import UsageError

FILE = """
context: from-file
output: yaml
cluster:
  name: file-cluster
  workers: 3
platform:
  monitoring: false
tenants: [t1, t2]
"""


def test_defaults_when_nothing_is_given():
    assert resolve({}, {}, {}) == Settings()


def test_file_beats_defaults():
    settings = resolve({}, {}, parse_config_file(FILE, "mlopsctl.yaml"))
    assert settings.context == "from-file"
    assert settings.output == "yaml"
    assert settings.cluster_name == "file-cluster"
    assert settings.workers == 3
    assert settings.monitoring is False
    assert settings.tenants == ("t1", "t2")


def test_environment_beats_file():
    env = {"MLOPSCTL_CONTEXT": "from-env", "MLOPSCTL_WORKERS": "5", "MLOPSCTL_MONITORING": "yes"}
    settings = resolve({}, env, parse_config_file(FILE, "mlopsctl.yaml"))
    assert (settings.context, settings.workers, settings.monitoring) == ("from-env", 5, True)


def test_flags_beat_environment_and_file():
    env = {"MLOPSCTL_CONTEXT": "from-env", "MLOPSCTL_OUTPUT": "json"}
    settings = resolve({"context": "from-flag", "output": "table"}, env, parse_config_file(FILE, "f"))
    assert (settings.context, settings.output) == ("from-flag", "table")


def test_flags_not_given_do_not_override():
    settings = resolve({"context": None}, {"MLOPSCTL_CONTEXT": "from-env"}, {})
    assert settings.context == "from-env"


def test_mlopsctl_kubeconfig_beats_kubeconfig():
    env = {"MLOPSCTL_KUBECONFIG": "/a", "KUBECONFIG": "/b"}
    assert resolve({}, env, {}).kubeconfig == "/a"
    assert resolve({}, {"KUBECONFIG": "/b"}, {}).kubeconfig == "/b"


def test_no_color_and_dumb_terminal_turn_colour_off():
    assert resolve({}, {"NO_COLOR": ""}, {}).color is False
    assert resolve({}, {"TERM": "dumb"}, {}).color is False
    assert resolve({}, {"TERM": "xterm"}, {}).color is True


def test_subcommand_flags_override_resolved_settings():
    settings = resolve({}, {"MLOPSCTL_WORKERS": "4"}, {})
    assert settings.with_overrides(workers=1, cluster_name=None).workers == 1
    assert settings.with_overrides(workers=None).workers == 4


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("bogus: 1\n", ["'bogus'", "[cfg.yaml]"]),
        ("cluster:\n  workers: many\n", ["'cluster.workers'", "[cfg.yaml]"]),
        ("output: xml\n", ["'output'", "[cfg.yaml]"]),
        ("platform:\n  storage: maybe\n", ["'platform.storage'"]),
        ("tenants: 3\n", ["'tenants'"]),
        ("- a\n- b\n", ["top level", "[cfg.yaml]"]),
        ("key: [unclosed\n", ["not valid YAML", "line", "[cfg.yaml]"]),
    ],
)
def test_bad_config_names_the_key_and_the_file(text, names):
    with pytest.raises(UsageError) as caught:
        parse_config_file(text, "cfg.yaml")
    for fragment in names:
        assert fragment in caught.value.message


def test_bad_environment_value_names_the_variable():
    with pytest.raises(UsageError, match="MLOPSCTL_WORKERS"):
        resolve({}, {"MLOPSCTL_WORKERS": "two"}, {})


def test_config_file_is_found_in_the_working_directory(tmp_path: Path):
    (tmp_path / "mlopsctl.yaml").write_text("context: here\n")
    assert load_settings({}, {}, tmp_path).context == "here"


def test_explicit_config_file_must_exist(tmp_path: Path):
    with pytest.raises(UsageError, match="config file not found"):
        load_settings({"config_file": str(tmp_path / "missing.yaml")}, {}, tmp_path)
