"""`mlopsctl tenant render`: YAML or a JSON List on stdout, or one file per object, offline; bad specs exit 2."""

from __future__ import annotations

import inspect
import json

import typer
import yaml

from mlopsctl.cli.tenant_spec import SPEC_OPTION_NAMES, spec_from_options, spec_options
from mlopsctl.manifests.tenant import TenantSpec, render_tenant, render_yaml


def test_prints_multi_document_yaml_by_default(cli):
    result = cli("tenant", "render", "tenant-c")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_yaml(render_tenant(TenantSpec.create("tenant-c")))
    assert result.stderr == ""


def test_spec_flags_reach_the_objects(cli):
    result = cli(
        "tenant",
        "render",
        "gpu-team",
        "--max-replicas",
        "4",
        "--gpus",
        "1",
        "--gpu-node-selector",
        "pool=gpu",
        "--service-monitor",
        "--model-uri",
        "s3://models/sentiment/v2",
    )
    assert result.exit_code == 0, result.stderr
    objects = list(yaml.safe_load_all(result.stdout))
    expected = TenantSpec.create(
        "gpu-team",
        max_replicas=4,
        gpus=1,
        gpu_node_selector=["pool=gpu"],
        service_monitor=True,
        model_uri="s3://models/sentiment/v2",
    )
    assert objects == render_tenant(expected)


def test_json_is_a_kubernetes_list_with_the_sub_command_or_global_flag(cli):
    local = cli("tenant", "render", "tenant-c", "-o", "json")
    root = cli("-o", "json", "tenant", "render", "tenant-c")
    assert local.exit_code == root.exit_code == 0
    assert local.stdout == root.stdout
    data = json.loads(local.stdout)
    assert (data["apiVersion"], data["kind"]) == ("v1", "List")
    assert data["items"] == render_tenant(TenantSpec.create("tenant-c"))


def test_sub_command_output_beats_the_global_one(cli):
    result = cli("-o", "json", "tenant", "render", "tenant-c", "-o", "yaml")
    assert result.exit_code == 0
    assert result.stdout.startswith("---\napiVersion: v1\nkind: Namespace\n")


def test_out_writes_one_file_per_object_in_apply_order(cli, tmp_path):
    out = tmp_path / "manifests"
    result = cli("-o", "json", "tenant", "render", "tenant-c", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    objects = render_tenant(TenantSpec.create("tenant-c"))
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [item["path"].rsplit("/", 1)[1] for item in report["files"]]
    assert [json.loads(f.read_text()) for f in files] == objects
    assert files[0].name == "00-namespace-tenant-c.json"


def test_out_in_yaml_by_default(cli, tmp_path):
    out = tmp_path / "m"
    result = cli("tenant", "render", "tenant-c", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    files = sorted(out.iterdir())
    objects = render_tenant(TenantSpec.create("tenant-c"))
    assert [yaml.safe_load(f.read_text()) for f in files] == objects
    assert f"wrote {len(objects)} files" in result.stdout


def test_out_onto_a_file_is_a_usage_error(cli, tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    result = cli("tenant", "render", "tenant-c", "--out", str(target))
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr


def test_invalid_spec_exits_2_with_one_line_naming_field_and_flag(cli, tmp_path):
    result = cli(
        "tenant", "render", "tenant-c", "--min-replicas", "5", "--max-replicas", "3", "--out", str(tmp_path / "x")
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "mlopsctl: error: invalid tenant spec: max_replicas: 3 is below min_replicas (5)"
    assert lines[1] == "hint: set it with --max-replicas"
    assert result.stdout == ""
    assert not (tmp_path / "x").exists()


def test_reserved_name_is_refused(cli):
    result = cli("tenant", "render", "kube-system")
    assert result.exit_code == 2
    assert "invalid tenant spec: name: 'kube-system' is reserved" in result.stderr


def test_unknown_output_format_is_refused(cli):
    result = cli("tenant", "render", "tenant-c", "-o", "table-ish")
    assert result.exit_code == 2
    assert "invalid --output" in result.stderr


def test_spec_options_decorator_is_reusable_by_other_tenant_commands():
    app = typer.Typer()
    seen = {}

    @app.command()
    @spec_options
    def add(name: str, wait: bool = False, *, spec_options: dict) -> None:
        seen["spec"] = spec_from_options(name, spec_options)
        seen["wait"] = wait

    assert set(SPEC_OPTION_NAMES) <= set(inspect.signature(add).parameters)
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["tenant-x", "--wait", "--quota-pods", "30", "--no-service-monitor"])
    assert result.exit_code == 0, result.output
    assert seen == {"spec": TenantSpec.create("tenant-x", quota_pods=30, service_monitor=False), "wait": True}
