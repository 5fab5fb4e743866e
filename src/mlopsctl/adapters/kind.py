"""The `kind` CLI, run through the Runner seam: the cluster config goes in on stdin (`--config -`), so tests
assert on argv and stdin without Docker. Refuses kind < 0.24 (its default CNI ignored NetworkPolicy)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlopsctl.adapters.runner import CommandResult, Runner, failure
from mlopsctl.errors import ExternalCommandFailed, PrerequisiteMissing
from mlopsctl.manifests.kind import KindClusterSpec, render_kind_config
from mlopsctl.tools import REQUIREMENTS, Version, format_version, parse_version

_REQUIREMENT = next(r for r in REQUIREMENTS if r.name == "kind")
MIN_KIND_VERSION: Version = _REQUIREMENT.minimum
CREATE_TIMEOUT = 900.0
LOAD_TIMEOUT = 900.0
_DOCKER_DOWN = ("cannot connect to the docker daemon", "is the docker daemon running", "docker.sock")
# Failures with a known cause (kind's known-issues page), and what to do about them.
_KNOWN_FAILURES = (
    (
        "too many open files",
        "raise the inotify limits (kind known issues): sudo sysctl fs.inotify.max_user_watches=524288 "
        "fs.inotify.max_user_instances=512, or use fewer --workers",
    ),
    (
        "port is already allocated",
        "another Kind cluster or process holds one of the host ports 30080/30090/30333 on 127.0.0.1: "
        "delete it (kind get clusters) or stop the process",
    ),
    (
        "address already in use",
        "another Kind cluster or process holds one of the host ports 30080/30090/30333 on 127.0.0.1: "
        "delete it (kind get clusters) or stop the process",
    ),
)


@dataclass
class KindCli:
    runner: Runner
    kubeconfig: str | None = None

    def _kubeconfig_args(self) -> list[str]:
        # A KUBECONFIG list (a:b) is not a path: kind then reads $KUBECONFIG itself, as kubectl does.
        if not self.kubeconfig or os.pathsep in self.kubeconfig:
            return []
        return ["--kubeconfig", self.kubeconfig]

    def _run(self, argv: list[str], what: str, *, input: str | None = None, timeout: float = 120) -> CommandResult:
        result = self.runner.run(argv, input=input, timeout=timeout, check=False)
        if result.returncode != 0:
            output = f"{result.stderr}\n{result.stdout}".lower()
            if any(marker in output for marker in _DOCKER_DOWN):
                raise PrerequisiteMissing(
                    f"{what}: the Docker daemon is not running",
                    hint="start Docker (Docker Desktop, or `sudo systemctl start docker`), then run the command again",
                    detail=failure(result, what).detail,
                )
            for marker, hint in _KNOWN_FAILURES:
                if marker in output:
                    raise failure(result, what, hint=hint)
            raise failure(result, what, hint="run with -v to see the kind command and its output")
        return result

    def version(self) -> Version:
        if self.runner.which("kind") is None:
            raise PrerequisiteMissing("kind not found", hint=_REQUIREMENT.install_hint)
        result = self._run(["kind", "version"], "kind version failed")
        version = parse_version(result.stdout)
        if version is None:
            raise ExternalCommandFailed(f"cannot read the kind version from {result.stdout.strip()!r}")
        return version

    def ensure_installed(self) -> Version:
        """kind's version, or PrerequisiteMissing when kind is absent or older than 0.24."""
        version = self.version()
        if version < MIN_KIND_VERSION:
            raise PrerequisiteMissing(
                f"kind {format_version(version)} is too old: {format_version(MIN_KIND_VERSION)} or newer is needed "
                "(older releases' default CNI silently ignores NetworkPolicy)",
                hint=_REQUIREMENT.install_hint,
            )
        return version

    def clusters(self) -> list[str]:
        result = self._run(["kind", "get", "clusters"], "kind get clusters failed")
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def exists(self, name: str) -> bool:
        return name in self.clusters()

    def create(self, spec: KindClusterSpec, wait: str = "120s", retain: bool = False) -> str:
        """Create the cluster from the rendered config on stdin; returns the config that was sent.
        With retain, kind keeps the nodes of a failed creation for inspection instead of deleting them."""
        config = render_kind_config(spec)
        argv = ["kind", "create", "cluster", "--name", spec.name, "--config", "-", "--wait", wait]
        if retain:
            argv.append("--retain")
        self._run(argv + self._kubeconfig_args(), f"kind create cluster {spec.name} failed", input=config,
                  timeout=CREATE_TIMEOUT)  # fmt: skip
        return config

    def delete(self, name: str) -> None:
        self._run(["kind", "delete", "cluster", "--name", name, *self._kubeconfig_args()],
                  f"kind delete cluster {name} failed", timeout=300)  # fmt: skip

    def export_kubeconfig(self, name: str) -> None:
        """(Re)write the cluster's context into the kubeconfig, for a cluster that exists but lost its context."""
        self._run(["kind", "export", "kubeconfig", "--name", name, *self._kubeconfig_args()],
                  f"kind export kubeconfig {name} failed")  # fmt: skip

    def load_image_archive(self, name: str, archive: Path) -> None:
        """`kind load image-archive`: works with Docker's containerd image store, unlike `load docker-image`."""
        self._run(["kind", "load", "image-archive", str(archive), "--name", name],
                  f"kind load image-archive into {name} failed", timeout=LOAD_TIMEOUT)  # fmt: skip
