"""`cluster up|down|status` and `image load` through the real CLI; kind, Docker and the Kubernetes API are
replaced at their adapter seams by the fakes the service tests use."""

from __future__ import annotations

import json

import pytest

from mlopsctl.errors import ExitCode
from tests.unit.services.test_cluster_service import BUILT, FakeImages, FakeKind, PlatformFake


@pytest.fixture
def world(monkeypatch, adapters):
    kind = FakeKind()
    images = FakeImages()
    api = PlatformFake()
    contexts: list[str | None] = []

    def connect(context=None, kubeconfig=None, **kwargs):
        contexts.append(context)
        return api

    adapters.kind = lambda: kind
    adapters.images = lambda *args, **kwargs: images
    monkeypatch.setattr("mlopsctl.cli.cluster.installers", lambda deps: {})
    monkeypatch.setattr("mlopsctl.adapters.kube.connect", connect)
    return kind, images, api, contexts


def test_up_prints_steps_endpoints_and_next_commands(cli, world):
    kind, _images, _api, contexts = world

    result = cli("cluster", "up", "--name", "demo", "--workers", "1")

    assert result.exit_code == ExitCode.OK, result.stderr
    assert "create cluster demo" in result.stdout and "load the image into Kind" in result.stdout
    assert "http://inference.tenant-a.svc:80" in result.stdout
    assert "mlopsctl tenant list" in result.stdout
    assert kind.calls[1][:3] == ("create", "demo", 1)
    assert contexts == ["kind-demo"]


def test_up_json_and_idempotent_rerun(cli, world):
    kind, *_ = world
    first = json.loads(cli("-o", "json", "cluster", "up").stdout)
    second = cli("-o", "json", "cluster", "up")
    assert second.exit_code == ExitCode.OK, second.stderr
    data = json.loads(second.stdout)
    assert first["created"] is True and data["created"] is False
    assert data["steps"][1] == {"name": "create cluster mlopsctl", "state": "reused",
                                "detail": "Kind cluster mlopsctl exists; reused", "seconds": data["steps"][1]["seconds"]}  # fmt: skip
    assert [call[0] for call in kind.calls].count("create") == 1


def test_a_failing_step_exits_with_its_code_and_names_the_step(cli, world):
    kind, *_ = world
    kind.fail_load = True
    result = cli("cluster", "up")
    assert result.exit_code == ExitCode.EXTERNAL_COMMAND_FAILED
    assert "mlopsctl: error: cluster up failed at 'load the image into Kind'" in result.stderr
    assert "half-created cluster mlopsctl was deleted" in result.stderr
    assert kind.existing == []


def test_adopting_without_a_registry_is_a_usage_error(cli, world):
    result = cli("--context", "prod-eks", "cluster", "up")
    assert result.exit_code == ExitCode.USAGE
    assert "needs --registry" in result.stderr


def test_adopting_with_a_registry_pushes(cli, world):
    kind, images, _api, contexts = world
    result = cli("--context", "prod-eks", "cluster", "up", "--registry", "ghcr.io/acme")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert ("push", f"ghcr.io/acme/{BUILT}") in images.calls
    assert contexts == ["prod-eks"] and kind.calls == []


def test_ctrl_c_exits_130(cli, world, monkeypatch):
    kind, images, _api, _contexts = world

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(images, "build", interrupted)
    result = cli("cluster", "up")
    assert result.exit_code == ExitCode.INTERRUPTED
    assert "interrupted during 'build the image'" in result.stderr
    assert kind.existing == ["mlopsctl"]


def test_down_confirms_unless_yes(cli, world):
    kind, *_ = world
    kind.existing.append("mlopsctl")
    declined = cli("cluster", "down", input="n\n")
    assert declined.exit_code == ExitCode.ERROR and kind.existing == ["mlopsctl"]
    deleted = cli("cluster", "down", "--yes")
    assert deleted.exit_code == ExitCode.OK and "deleted" in deleted.stdout
    assert kind.existing == []
    assert cli("cluster", "down", "--yes").exit_code == ExitCode.OK  # nothing left: still fine
    refused = cli("--context", "prod-eks", "cluster", "down", "--yes")
    assert refused.exit_code == ExitCode.USAGE


def test_status(cli, world):
    assert cli("cluster", "up").exit_code == ExitCode.OK
    result = cli("-o", "json", "cluster", "status")
    assert result.exit_code == ExitCode.OK, result.stderr
    data = json.loads(result.stdout)
    assert data["context"] == "kind-mlopsctl" and len(data["nodes"]) == 3
    assert [t["name"] for t in data["tenants"]] == ["tenant-a", "tenant-b"]
    table = cli("cluster", "status")
    assert "metrics-server" in table.stdout and "available" in table.stdout
    missing = cli("cluster", "status", "--name", "ghost")
    assert missing.exit_code == ExitCode.CLUSTER_UNREACHABLE and "no Kind cluster named ghost" in missing.stderr


def test_image_load(cli, world):
    kind, images, *_ = world
    kind.existing.append("mlopsctl")
    missing = cli("image", "load")
    assert missing.exit_code == ExitCode.USAGE and "mlopsctl image build" in missing.stderr
    images.local.add(BUILT)
    loaded = cli("image", "load", "--tag", BUILT)
    assert loaded.exit_code == ExitCode.OK, loaded.stderr
    assert ("load", "mlopsctl", "image.tar") in kind.calls


def test_docker_down_exits_3_before_anything_is_created(cli, world, monkeypatch):
    from mlopsctl.errors import PrerequisiteMissing

    kind, images, *_ = world

    def down():
        raise PrerequisiteMissing("kind get clusters failed: the Docker daemon is not running", hint="start Docker")

    monkeypatch.setattr(kind, "clusters", down)
    result = cli("cluster", "up")
    assert result.exit_code == ExitCode.PREREQUISITE_MISSING == 3
    assert "failed at 'check kind and Docker'" in result.stderr
    assert "hint: start Docker" in result.stderr
    assert images.calls == []


def test_cluster_up_finds_the_monitoring_and_storage_installers_and_the_fields_it_reports():
    import dataclasses

    from mlopsctl.cli.cluster import installers
    from mlopsctl.config import Settings
    from mlopsctl.deps import Deps
    from mlopsctl.services import monitoring, storage

    assert set(installers(Deps(Settings))) == {"monitoring", "storage"}
    reported = {f.name for f in dataclasses.fields(monitoring.InstallResult)}
    assert {"chart", "chart_version", "grafana_user", "grafana_password", "grafana_password_secret"} <= reported
    assert {"engine", "namespace", "endpoint"} <= {f.name for f in dataclasses.fields(storage.StorageInstallResult)}


def test_no_host_ports_for_a_second_cluster(cli, world):
    kind, *_ = world
    result = cli("-o", "json", "cluster", "up", "--name", "second", "--no-host-ports")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert kind.specs[-1].port_mappings == ()
