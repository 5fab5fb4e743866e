"""The kind adapter: argv and stdin asserted through a fake runner; version gate; Docker-down mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlopsctl import constants as c
from mlopsctl.adapters.fakes import FakeRunner
from mlopsctl.adapters.kind import KindCli
from mlopsctl.adapters.runner import CommandResult
from mlopsctl.errors import ExitCode, ExternalCommandFailed, PrerequisiteMissing, UsageError
from mlopsctl.manifests.kind import NODE_IMAGES, KindClusterSpec, node_image


def ok(stdout: str = "") -> CommandResult:
    return CommandResult((), 0, stdout, "")


def test_create_sends_the_rendered_config_on_stdin():
    runner = FakeRunner()
    spec = KindClusterSpec(name="demo", workers=2, kubernetes_version="1.32")

    KindCli(runner, kubeconfig="/tmp/kc").create(spec)

    [(argv, stdin)] = runner.calls
    assert argv == ("kind", "create", "cluster", "--name", "demo", "--config", "-", "--wait", "120s",
                    "--kubeconfig", "/tmp/kc")  # fmt: skip
    config = yaml.safe_load(stdin)
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "demo"
    assert config["networking"]["apiServerAddress"] == "127.0.0.1"
    roles = [node["role"] for node in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    assert {node["image"] for node in config["nodes"]} == {NODE_IMAGES["1.32"]}
    mappings = config["nodes"][0]["extraPortMappings"]
    assert {(m["containerPort"], m["hostPort"]) for m in mappings} == {
        (c.GRAFANA_NODE_PORT, c.GRAFANA_NODE_PORT),
        (c.PROMETHEUS_NODE_PORT, c.PROMETHEUS_NODE_PORT),
        (c.STORAGE_NODE_PORT, c.STORAGE_NODE_PORT),
    }
    assert {m["listenAddress"] for m in mappings} == {"127.0.0.1"}


def test_zero_workers_is_a_single_node_cluster():
    runner = FakeRunner()
    KindCli(runner).create(KindClusterSpec(name="solo", workers=0))
    config = yaml.safe_load(runner.calls[0][1])
    assert [node["role"] for node in config["nodes"]] == ["control-plane"]
    assert "--kubeconfig" not in runner.calls[0][0]


def test_node_images_are_pinned_by_digest_for_every_supported_version():
    for minor, image in NODE_IMAGES.items():
        assert image.startswith(f"kindest/node:v{minor}.")
        assert "@sha256:" in image and len(image.split("@sha256:")[1]) == 64
    assert node_image("v1.31") == node_image("1.31") == node_image("1.31.12") == NODE_IMAGES["1.31"]
    with pytest.raises(UsageError, match="no pinned Kind node image"):
        node_image("1.22")
    with pytest.raises(UsageError, match="not the pinned patch"):
        node_image("1.31.3")
    with pytest.raises(UsageError, match="invalid Kubernetes version"):
        node_image("latest")


@pytest.mark.parametrize("kwargs", [{"name": "Bad_Name"}, {"workers": -1}, {"workers": 11}, {"workers": True}])
def test_bad_cluster_specs_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        KindClusterSpec(**kwargs)


def test_version_gate_refuses_kind_older_than_0_24():
    old = FakeRunner(answers={("kind", "version"): ok("kind v0.23.0 go1.22.2 linux/amd64")})
    with pytest.raises(PrerequisiteMissing) as caught:
        KindCli(old).ensure_installed()
    assert "kind v0.23.0 is too old: v0.24.0 or newer" in caught.value.message
    assert "NetworkPolicy" in caught.value.message
    assert "doctor --install-tools" in caught.value.hint
    assert caught.value.exit_code == ExitCode.PREREQUISITE_MISSING

    current = FakeRunner(answers={("kind", "version"): ok("kind v0.30.0 go1.24.6 linux/amd64")})
    assert KindCli(current).ensure_installed() == (0, 30, 0)


def test_missing_kind_is_a_prerequisite():
    with pytest.raises(PrerequisiteMissing, match="kind not found"):
        KindCli(FakeRunner(programs=())).ensure_installed()


def test_clusters_and_delete_and_load():
    runner = FakeRunner(answers={("kind", "get", "clusters"): ok("mlopsctl\nother\n")})
    kind = KindCli(runner)

    assert kind.clusters() == ["mlopsctl", "other"]
    assert kind.exists("mlopsctl") and not kind.exists("missing")
    kind.delete("mlopsctl")
    kind.load_image_archive("mlopsctl", Path("/tmp/image.tar"))
    kind.export_kubeconfig("mlopsctl")

    argvs = [argv for argv, _ in runner.calls]
    assert ("kind", "delete", "cluster", "--name", "mlopsctl") in argvs
    assert ("kind", "load", "image-archive", "/tmp/image.tar", "--name", "mlopsctl") in argvs
    assert ("kind", "export", "kubeconfig", "--name", "mlopsctl") in argvs


def test_docker_down_is_a_prerequisite_with_a_hint():
    down = CommandResult((), 1, "", "ERROR: failed to create cluster: Cannot connect to the Docker daemon at "
                         "unix:///var/run/docker.sock. Is the docker daemon running?")  # fmt: skip
    runner = FakeRunner(answers={("kind", "create"): down})
    with pytest.raises(PrerequisiteMissing) as caught:
        KindCli(runner).create(KindClusterSpec())
    assert "the Docker daemon is not running" in caught.value.message
    assert "start Docker" in caught.value.hint


def test_other_failures_are_external_command_failures_with_the_last_line():
    runner = FakeRunner(answers={("kind", "create"): CommandResult((), 1, "", "boom\nERROR: node(s) already exist")})
    with pytest.raises(ExternalCommandFailed) as caught:
        KindCli(runner).create(KindClusterSpec())
    assert caught.value.message == "kind create cluster mlopsctl failed: ERROR: node(s) already exist"
    assert "kind create cluster --name mlopsctl --config -" in caught.value.detail


def test_retain_reaches_kind_and_a_kubeconfig_list_is_left_to_kind():
    runner = FakeRunner()
    KindCli(runner, kubeconfig="/a/config:/b/config").create(KindClusterSpec(), retain=True)
    argv = runner.calls[0][0]
    assert argv[-1] == "--retain"
    assert "--kubeconfig" not in argv


@pytest.mark.parametrize(
    ("stderr", "hint"),
    [
        ("ERROR: failed to create cluster: too many open files", "fs.inotify.max_user_watches"),
        ("Bind for 127.0.0.1:30080 failed: port is already allocated", "host ports 30080/30090/30333"),
    ],
)
def test_known_failures_get_their_fix_as_hint(stderr, hint):
    runner = FakeRunner(answers={("kind", "create"): CommandResult((), 1, "", stderr)})
    with pytest.raises(ExternalCommandFailed) as caught:
        KindCli(runner).create(KindClusterSpec())
    assert hint in caught.value.hint


def test_a_cluster_without_host_ports_has_no_port_mappings():
    runner = FakeRunner()
    KindCli(runner).create(KindClusterSpec(name="second", port_mappings=()))
    config = yaml.safe_load(runner.calls[0][1])
    assert "extraPortMappings" not in config["nodes"][0]
