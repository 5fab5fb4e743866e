"""Every documented exit code, through the real CLI entry point."""

import json
from pathlib import Path

import pytest

from mlopsctl.errors import ClusterUnreachable, ExitCode, Forbidden, VerificationFailed
from mlopsctl.services import doctor as doctor_service


@pytest.fixture
def no_tools(monkeypatch, tmp_path):
    """A PATH with no docker, kind, kubectl or helm on it."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_version_exits_0(cli):
    result = cli("--version")
    assert result.exit_code == ExitCode.OK
    assert result.stdout.startswith("mlopsctl ")


def test_help_exits_0_and_lists_doctor(cli):
    result = cli("--help")
    assert result.exit_code == ExitCode.OK
    assert "doctor" in result.stdout


def test_unknown_option_is_a_usage_error(cli):
    result = cli("--bogus")
    assert result.exit_code == ExitCode.USAGE == 2
    assert result.stderr.splitlines() == [
        "mlopsctl: error: no such option: --bogus (Possible options: --verbose)",
        "hint: see `mlopsctl --help`",
    ]


def test_bad_output_format_is_a_usage_error(cli):
    result = cli("-o", "xml", "doctor")
    assert result.exit_code == ExitCode.USAGE
    assert "mlopsctl: error: invalid --output" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_file_is_a_usage_error_naming_key_and_file(cli, tmp_path: Path):
    (tmp_path / "mlopsctl.yaml").write_text("clutser:\n  name: x\n")
    result = cli("doctor")
    assert result.exit_code == ExitCode.USAGE
    assert "unknown key 'clutser'" in result.stderr
    assert "mlopsctl.yaml" in result.stderr


def test_missing_prerequisites_exit_3_with_a_hint(cli, no_tools):
    result = cli("doctor")
    assert result.exit_code == ExitCode.PREREQUISITE_MISSING == 3
    assert "mlopsctl: error: required tools missing or unusable: docker, kind, kubectl, helm" in result.stderr
    assert "hint: " in result.stderr
    assert "--install-tools" in result.stdout  # the FIX column


@pytest.mark.integration
def test_failed_download_exits_4(cli, no_tools, tool_mirror):
    tool_mirror.default = b"not the binary you pinned"
    result = cli("doctor", "--install-tools", "--mirror", tool_mirror.url)
    assert result.exit_code == ExitCode.EXTERNAL_COMMAND_FAILED == 4
    assert "checksum mismatch" in result.stderr
    assert list((Path(result_home(cli)) / "bin").glob("*")) == []


def result_home(cli) -> str:
    import os

    return os.environ["MLOPSCTL_HOME"]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ClusterUnreachable("cannot reach the cluster", hint="check --context"), 5),
        (Forbidden("forbidden: list namespaces"), 5),
        (VerificationFailed("2 checks failed"), 6),
    ],
)
def test_typed_errors_map_to_their_codes(cli, monkeypatch, error, code):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(doctor_service, "run_doctor", fail)
    result = cli("doctor")
    assert result.exit_code == code
    assert result.stderr.startswith(f"mlopsctl: error: {error.message}")
    assert "Traceback" not in result.stderr


def test_unexpected_error_exits_70_and_logs_the_traceback(cli, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor_service, "run_doctor", crash)
    result = cli("doctor")
    assert result.exit_code == ExitCode.UNEXPECTED == 70
    assert "unexpected RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.stderr
    log = Path(result_home(cli)) / "mlopsctl.log"
    assert str(log) in result.stderr
    assert "RuntimeError: boom" in log.read_text()


def test_verbose_shows_the_traceback(cli, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor_service, "run_doctor", crash)
    assert "Traceback" in cli("-v", "doctor").stderr
    assert "Traceback" in cli("--traceback", "doctor").stderr


def test_interrupt_exits_130(cli, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(doctor_service, "run_doctor", interrupted)
    result = cli("doctor")
    assert result.exit_code == ExitCode.INTERRUPTED == 130
    assert "interrupted" in result.stderr


def test_json_output_is_data_on_stdout_and_errors_on_stderr(cli, no_tools):
    result = cli("-o", "json", "doctor")
    report = json.loads(result.stdout)
    assert [check["name"] for check in report["checks"]] == ["docker", "kind", "kubectl", "helm", "kube context"]
    assert report["checks"][1]["status"] == "missing"
    assert "mlopsctl: error" in result.stderr and "mlopsctl: error" not in result.stdout
