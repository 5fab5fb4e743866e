"""The CLI contract users of kubectl expect: flags anywhere, one output model, honest exit codes, nothing cut."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.errors import ExitCode


@pytest.fixture
def api(monkeypatch):
    fake = FakeKubeApi()
    seen: dict = {}

    def connect(context=None, kubeconfig=None, **kwargs):
        seen["args"] = (context, kubeconfig)
        return fake

    monkeypatch.setattr("mlopsctl.adapters.kube.connect", connect)
    fake.seen = seen
    return fake


# -- global options anywhere ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("tenant", "list", "--context", "prod", "-o", "json"),
        ("tenant", "--context", "prod", "list", "-o", "json"),
        ("--context", "prod", "-o", "json", "tenant", "list"),
    ],
)
def test_global_options_work_before_between_and_after_sub_commands(cli, api, args):
    result = cli(*args)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert json.loads(result.stdout) == {"tenants": []}
    assert api.seen["args"][0] == "prod"


def test_a_later_global_option_wins_and_flags_beat_the_environment(cli, api):
    result = cli("--context", "first", "tenant", "list", "--context", "second", env={"MLOPSCTL_CONTEXT": "env"})
    assert result.exit_code == ExitCode.OK, result.stderr
    assert api.seen["args"][0] == "second"
    assert cli("tenant", "list", env={"MLOPSCTL_CONTEXT": "env"}).exit_code == ExitCode.OK
    assert api.seen["args"][0] == "env"


def test_config_given_after_the_sub_command_is_read(cli, api, tmp_path):
    (tmp_path / "other.yaml").write_text("context: from-file\noutput: json\n")
    result = cli("tenant", "list", "--config", str(tmp_path / "other.yaml"))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert api.seen["args"][0] == "from-file"
    assert json.loads(result.stdout) == {"tenants": []}


def test_an_output_a_command_cannot_honour_is_refused(cli):
    result = cli("monitoring", "render", "rules", "-o", "json")
    assert result.exit_code == ExitCode.USAGE
    assert "mlopsctl: error: -o json is not supported by `mlopsctl monitoring render`" in result.stderr
    assert cli("tenant", "list", "-o", "xml").exit_code == ExitCode.USAGE


def test_tenant_render_honours_every_output(cli):
    table = cli("tenant", "render", "tenant-a", "-o", "table")
    assert table.exit_code == ExitCode.OK, table.stderr
    assert table.stdout.split()[:3] == ["KIND", "NAMESPACE", "NAME"]
    assert "apiVersion" not in table.stdout
    as_json = json.loads(cli("tenant", "render", "tenant-a", "-o", "json").stdout)
    assert as_json["kind"] == "List"
    assert "deployment" in table.stdout.lower() and "Deployment" in {o["kind"] for o in as_json["items"]}
    assert cli("tenant", "render", "tenant-a").stdout.startswith("---\napiVersion: v1\nkind: Namespace")


# -- tenants named one way --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sub", ["network", "rbac", "autoscaling", "isolation", "all"])
def test_every_verify_sub_command_takes_tenants_as_arguments(cli, sub):
    result = cli("verify", sub, "--help")
    assert result.exit_code == ExitCode.OK
    assert f"mlopsctl verify {sub} [OPTIONS] [TENANT]..." in result.stdout
    assert "--all" in result.stdout
    assert "--tenant " not in result.stdout  # the old spelling still works, unadvertised
    both = cli("verify", sub, "tenant-a", "--all")
    assert both.exit_code == ExitCode.USAGE
    assert "--all cannot be combined with tenant names" in both.stderr


def test_offline_verify_refuses_tenant_names_instead_of_ignoring_them(cli, tmp_path):
    assert cli("tenant", "render", "tenant-a", "--out", str(tmp_path / "m")).exit_code == ExitCode.OK
    result = cli("verify", "network", "--offline", "--manifests", str(tmp_path / "m"), "tenant-b")
    assert result.exit_code == ExitCode.USAGE
    assert "--offline checks every tenant" in result.stderr


# -- render --out and duplicates ----------------------------------------------------------------------------------
def test_tenants_rendered_into_one_directory_coexist_and_duplicates_are_refused(cli, tmp_path):
    out = tmp_path / "m"
    for tenant in ("tenant-a", "tenant-b"):
        assert cli("tenant", "render", tenant, "--out", str(out)).exit_code == ExitCode.OK
    files = sorted(p.name for p in out.iterdir())
    assert "02-role-tenant-a-inference.yaml" in files and "02-role-tenant-b-inference.yaml" in files
    verified = cli("-o", "json", "verify", "network", "--offline", "--manifests", str(out))
    assert verified.exit_code == ExitCode.OK, verified.stderr
    assert {"tenant-a/inference", "tenant-b/inference"} <= set(json.loads(verified.stdout)["peers"])
    (out / "zz-copy.yaml").write_text((out / "02-role-tenant-b-inference.yaml").read_text())
    refused = cli("verify", "rbac", "--offline", "--manifests", str(out))
    assert refused.exit_code == ExitCode.USAGE
    assert "defined more than once: Role.rbac.authorization.k8s.io tenant-b/inference" in refused.stderr
    assert "02-role-tenant-b-inference.yaml and zz-copy.yaml" in refused.stderr


# -- what tables print ---------------------------------------------------------------------------------------------
def _rendered(renderable, *, width=None, terminal=False) -> str:
    from rich.table import Table

    from mlopsctl.output import emit

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return terminal

    stream = Stream()
    if width is not None:
        from mlopsctl.output import make_console

        make_console(stream, width=width).print(renderable, crop=False)
        return stream.getvalue()
    emit(renderable, "table", lambda r: r if not isinstance(r, list) else Table(*r), stream=stream)
    return stream.getvalue()


def test_brackets_in_values_are_printed_not_taken_as_markup():
    from rich.table import Table

    table = Table("WHY")
    table.add_row('verbs=[get] apiGroups=[""] resources=[pods] [red]x[/red]')
    assert 'verbs=[get] apiGroups=[""] resources=[pods] [red]x[/red]' in _rendered(table)


def test_off_a_terminal_tables_print_whole_values_without_colour():
    from rich.table import Table

    long = "http://inference.tenant-with-a-long-name.svc.cluster.local:8080/predict/" + "x" * 150
    table = Table("URL", "FILE")
    table.add_row(long, "14-horizontalpodautoscaler-tenant-with-a-long-name-inference.yaml")
    text = _rendered(table)
    assert long in text and "14-horizontalpodautoscaler-tenant-with-a-long-name-inference.yaml" in text
    assert "…" not in text and "\x1b[" not in text


def test_commands_to_copy_stay_on_one_line_on_a_narrow_terminal():
    from mlopsctl.cli.tables import next_commands

    command = "curl -s http://localhost:8080/predict -H 'Content-Type: application/json' -d '{\"text\": \"ok\"}'"
    text = _rendered(next_commands([command, "mlopsctl tenant status tenant-a"]), width=30, terminal=True)
    assert f"  {command}\n" in text
    assert "  mlopsctl tenant status tenant-a\n" in text


# -- exit codes ----------------------------------------------------------------------------------------------------
def test_loadtest_fails_a_run_where_nothing_succeeded_unless_told_not_to():
    from inference.loadgen.spec import evaluate_slo
    from mlopsctl.services.loadtest import DEFAULT_SLO, parse_slo_option

    assert DEFAULT_SLO == "errors<5%"
    all_failed = {"requests": {"completed": 0, "failed": 200, "errors": 200, "ok": 0}}
    some_errors = {"requests": {"completed": 100, "failed": 0, "errors": 6, "ok": 94}}
    healthy = {"requests": {"completed": 100, "failed": 0, "errors": 1, "ok": 99}}
    nothing_sent = {"requests": {"completed": 0, "failed": 0, "errors": 0, "ok": 0}}
    default = parse_slo_option(None)
    assert [r.passed for r in evaluate_slo(all_failed, default)] == [False]
    assert [r.passed for r in evaluate_slo(some_errors, default)] == [False]
    assert [r.passed for r in evaluate_slo(nothing_sent, default)] == [False]
    assert [r.passed for r in evaluate_slo(healthy, default)] == [True]
    assert parse_slo_option("none") == ()
    assert [t.text for t in parse_slo_option("p99<200ms")] == ["p99<200ms"]


def test_a_config_file_that_is_not_utf8_is_a_usage_error_naming_it(cli, tmp_path):
    (tmp_path / "mlopsctl.yaml").write_bytes(b"context: \xff\xfe\n")
    result = cli("tenant", "list")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("mlopsctl: error: invalid config: not UTF-8 text")
    assert "mlopsctl.yaml" in result.stderr


@pytest.mark.parametrize("value", ["[1]", "2.5", "{a: 1}", "true"])
def test_config_values_of_the_wrong_type_name_the_key_in_plain_words(cli, tmp_path, value):
    (tmp_path / "mlopsctl.yaml").write_text(f"cluster:\n  workers: {value}\n")
    result = cli("tenant", "list")
    assert result.exit_code == ExitCode.USAGE
    assert "invalid config: key 'cluster.workers': expected a whole number" in result.stderr
    assert "int()" not in result.stderr and "object" not in result.stderr


def test_install_tools_into_an_unusable_home_is_a_usage_error(cli, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MLOPSCTL_HOME", str(blocker))
    result = cli("doctor", "--install-tools", "--mirror", "http://127.0.0.1:9")
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert f"cannot install tools into {blocker / 'bin'}" in result.stderr
    assert "hint: set MLOPSCTL_HOME to a writable directory" in result.stderr


@pytest.mark.parametrize("version", ["v1-", "-v1", "a" * 64, "v 1"])
def test_one_model_version_rule_for_train_push_set_model_and_tenant_add(cli, tmp_path, version):
    from mlopsctl.manifests.storage import validate_version

    trained = cli("model", "train", "--out", str(tmp_path / "m"), "--version", version)
    assert trained.exit_code == ExitCode.USAGE
    assert f"invalid model version {version!r}" in trained.stderr
    assert not (tmp_path / "m").exists()
    added = cli("tenant", "add", "tenant-a", "--model", version)
    assert added.exit_code == ExitCode.USAGE
    assert f"invalid model version {version!r}" in added.stderr
    with pytest.raises(Exception, match="invalid model version"):
        validate_version(version)


@pytest.mark.parametrize(
    "args",
    [
        ("tenant", "remove", "tenant-a"),
        ("monitoring", "uninstall"),
        ("storage", "uninstall"),
        ("cluster", "down"),
    ],
)
def test_a_declined_prompt_exits_1_everywhere(cli, api, args):
    result = cli(*args, input="n\n")
    assert result.exit_code == ExitCode.ERROR == 1, result.stderr
    assert "mlopsctl: error: not confirmed: nothing was changed" in result.stderr
    assert "hint: pass --yes" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tenant", "add"), "mlopsctl: error: missing argument 'name'."),
        (("tenant", "frobnicate"), "mlopsctl: error: no such command 'frobnicate'."),
        (("verify", "network", "--attempts", "x"), "mlopsctl: error: invalid value for '--attempts'"),
    ],
)
def test_click_usage_errors_use_the_house_format(cli, args, message):
    result = cli(*args)
    assert result.exit_code == ExitCode.USAGE
    lines = result.stderr.splitlines()
    assert lines[0].startswith(message), lines
    assert lines[1].startswith("hint: see `mlopsctl ")
    assert "Usage:" not in result.stderr and "Error:" not in result.stderr


# -- start-up and the registry ---------------------------------------------------------------------------------------
def _run_main(home, *argv: str, cache: bool = True) -> tuple[str, set[str]]:
    """Run the console script's `main` in a fresh interpreter: its stdout, and the modules it imported."""
    import os

    code = (
        "import sys\n"
        f"sys.argv = ['mlopsctl', *{list(argv)!r}]\n"
        "from mlopsctl.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = {**os.environ, "MLOPSCTL_HOME": str(home), "COLUMNS": "100"}
    env.pop("MLOPSCTL_NO_HELP_CACHE", None)
    if not cache:
        env["MLOPSCTL_NO_HELP_CACHE"] = "1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return done.stdout, set(done.stderr.split())


def test_help_imports_no_command_module_and_tenant_help_only_its_own(tmp_path):
    from mlopsctl.cli.commands import COMMANDS

    command_modules = {module for module, _ in COMMANDS.values()}
    _, loaded = _run_main(tmp_path, "--help", cache=False)
    assert "typer" in loaded and not loaded & command_modules
    _, loaded = _run_main(tmp_path, "tenant", "--help", cache=False)
    assert loaded & command_modules == {"mlopsctl.cli.tenant"}
    assert not {"pydantic", "rich", "kubernetes", "yaml"} & loaded


@pytest.mark.parametrize("argv", [("--help",), ("tenant", "--help"), ("verify", "network", "-h")])
def test_a_help_screen_once_printed_is_printed_again_without_loading_typer(tmp_path, argv):
    first, loaded = _run_main(tmp_path, *argv)
    assert first.startswith("Usage: mlopsctl") and "typer" in loaded
    again, loaded = _run_main(tmp_path, *argv)
    assert again == first
    assert "typer" not in loaded and "click" not in loaded


def test_the_stored_help_follows_the_code_the_width_and_the_words(tmp_path):
    from mlopsctl.cli.help_cache import cache_key, help_request

    (tmp_path / "tenant.py").write_text("x = 1\n")
    before = cache_key(["tenant", "--help"], 100, tmp_path)
    assert cache_key(["tenant", "--help"], 100, tmp_path) == before
    assert cache_key(["tenant", "--help"], 80, tmp_path) != before
    assert cache_key(["model", "--help"], 100, tmp_path) != before
    (tmp_path / "tenant.py").write_text("x = 22\n")
    assert cache_key(["tenant", "--help"], 100, tmp_path) != before
    assert help_request(["tenant", "add", "--help"]) and help_request(["-h"])
    assert not help_request(["--context", "x", "--help"]) and not help_request(["tenant", "list"])
    assert not help_request(["tenant", "render", "a/b", "--help"])


def test_an_unknown_command_with_help_stores_nothing(tmp_path):
    _run_main(tmp_path, "nosuch", "--help")
    assert not (tmp_path / "help").exists() or not list((tmp_path / "help").iterdir())


def test_the_registry_help_is_each_command_modules_own_help():
    from mlopsctl.cli.commands import COMMANDS, load_command

    for name, (_, short_help) in COMMANDS.items():
        command = load_command(name)
        assert command.get_short_help_str(limit=200) == short_help, name


def test_shell_completion_scripts_and_answers(monkeypatch):
    def complete(env: dict[str, str]) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mlopsctl"], capture_output=True, text=True, env={**_env(), **env}, check=False
        )
        return done.stdout

    assert "_mlopsctl_completion" in complete({"_MLOPSCTL_COMPLETE": "source_bash"})
    assert "tenant" in complete(
        {"_MLOPSCTL_COMPLETE": "complete_bash", "COMP_WORDS": "mlopsctl ten", "COMP_CWORD": "1"}
    )
    assert "list" in complete({"_MLOPSCTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "mlopsctl tenant li"})
    assert "compdef" in complete({"_MLOPSCTL_COMPLETE": "source_zsh"})
    assert "complete" in complete({"_MLOPSCTL_COMPLETE": "source_fish"})


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_version_prints_the_same_line_with_or_without_typer(cli, tmp_path):
    from mlopsctl import __version__

    assert cli("--version").stdout == f"mlopsctl {__version__}\n"
    printed, loaded = _run_main(tmp_path, "--version")
    assert printed == f"mlopsctl {__version__}\n" and "typer" not in loaded


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("verify", "rbac", "--offline", "--manifests", "m", "--checks", "bad.bin"), "--checks bad.bin"),
        (("verify", "network", "--offline", "--manifests", "m"), "zz.yaml: not UTF-8 text"),
        (("loadtest", "tenant-a", "--url", "http://127.0.0.1:9", "--body-file", "bad.bin"), "--body-file bad.bin"),
    ],
)
def test_files_that_are_not_utf8_are_usage_errors_naming_the_file(cli, tmp_path, args, named):
    assert cli("tenant", "render", "tenant-a", "--out", "m").exit_code == ExitCode.OK
    (tmp_path / "bad.bin").write_bytes(b"\xff\xfe")
    if "--checks" not in args and "--body-file" not in args:
        (tmp_path / "m" / "zz.yaml").write_bytes(b"\xff\xfe")
    result = cli(*args)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert named in result.stderr and "not UTF-8" in result.stderr
