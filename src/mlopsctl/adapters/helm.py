"""helm, driven as a subprocess through the Runner seam: argv and stdin are what tests assert on.

Values always travel on stdin (`--values -`), never through a temporary file, so generated settings are not
left on disk. The kube context and kubeconfig are passed explicitly, so helm talks to the same cluster as
mlopsctl's own API calls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mlopsctl.adapters.runner import CommandResult, Runner, SubprocessRunner, failure
from mlopsctl.errors import ClusterUnreachable, ExternalCommandFailed, PrerequisiteMissing
from mlopsctl.tools import REQUIREMENTS, format_version, parse_version

_REQUIREMENT = next(r for r in REQUIREMENTS if r.name == "helm")
DOCTOR_HINT = "run `mlopsctl doctor` to see how to install it (`mlopsctl doctor --install-tools` installs it)"


@dataclass(frozen=True)
class ChartRef:
    """A chart at a pinned version: a name in a repository, an `oci://` reference, or a local path."""

    chart: str
    version: str
    repo: str | None = None


@dataclass(frozen=True)
class HelmRelease:
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str


class Helm(Protocol):
    def ensure_installed(self) -> str:
        """The helm version; PrerequisiteMissing when helm is absent or too old."""
        ...

    def upgrade_install(
        self, release: str, chart: ChartRef, namespace: str, values_yaml: str, timeout: float = 600
    ) -> HelmRelease: ...

    def status(self, release: str, namespace: str) -> HelmRelease | None: ...

    def uninstall(self, release: str, namespace: str, timeout: float = 300) -> bool:
        """False when there was no such release."""
        ...


def _duration(seconds: float) -> str:
    return f"{max(1, int(seconds))}s"


def _parse(stdout: str, release: str, namespace: str) -> HelmRelease:
    """helm's `--output json`; a release it did not describe (a plugin or wrapper printing more) is still a release."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return HelmRelease(release, namespace, 0, "unknown", "", "")
    return _release(data if isinstance(data, dict) else {"name": release, "namespace": namespace})


def _release(data: dict[str, Any]) -> HelmRelease:
    chart_meta = (data.get("chart") or {}).get("metadata") or {}
    name = chart_meta.get("name", "")
    version = chart_meta.get("version", "")
    return HelmRelease(
        name=data.get("name", ""),
        namespace=data.get("namespace", ""),
        revision=int(data.get("version") or 0),
        status=(data.get("info") or {}).get("status", "unknown"),
        chart=f"{name}-{version}" if name else "",
        app_version=chart_meta.get("appVersion", ""),
    )


def _not_found(result: CommandResult) -> bool:
    # `Error: release: not found` (status), `... Release not loaded: NAME: release: not found` (uninstall).
    return "release: not found" in (result.stderr + result.stdout).lower()


@dataclass
class HelmCli:
    runner: Runner
    kube_context: str | None = None
    kubeconfig: str | None = None

    def _global_flags(self) -> list[str]:
        flags = []
        if self.kube_context:
            flags += ["--kube-context", self.kube_context]
        if self.kubeconfig:
            flags += ["--kubeconfig", self.kubeconfig]
        return flags

    def _run(
        self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None, what: str
    ) -> CommandResult:
        result = self.runner.run(["helm", *argv, *self._global_flags()], input=input, timeout=timeout, check=False)
        if result.returncode != 0:
            raise self._error(result, what)
        return result

    @staticmethod
    def _error(result: CommandResult, what: str) -> ExternalCommandFailed | ClusterUnreachable:
        text = result.stderr + result.stdout
        if "Kubernetes cluster unreachable" in text:
            error = failure(result, what)
            return ClusterUnreachable(error.message, hint="check --context/--kubeconfig", detail=error.detail)
        if "another operation (install/upgrade/rollback) is in progress" in text:
            return failure(result, what, hint="wait for the other helm operation, or roll the release back with helm")
        return failure(result, what, hint="rerun with -v to see helm's output")

    def ensure_installed(self) -> str:
        if self.runner.which("helm") is None:
            raise PrerequisiteMissing("helm not found: it installs kube-prometheus-stack", hint=DOCTOR_HINT)
        result = self.runner.run(["helm", "version", "--short"], timeout=30, check=False)
        version = parse_version(result.stdout)
        if result.returncode != 0 or version is None:
            raise failure(result, "helm version failed", hint=DOCTOR_HINT)
        if version < _REQUIREMENT.minimum:
            raise PrerequisiteMissing(
                f"helm {format_version(version)} is too old; mlopsctl needs {format_version(_REQUIREMENT.minimum)} or newer",
                hint=DOCTOR_HINT,
            )
        return format_version(version)

    def upgrade_install(
        self, release: str, chart: ChartRef, namespace: str, values_yaml: str, timeout: float = 600
    ) -> HelmRelease:
        argv = ["upgrade", "--install", release, chart.chart, "--namespace", namespace, "--version", chart.version]
        if chart.repo:
            argv += ["--repo", chart.repo]
        # No --wait: mlopsctl waits for each component itself and reports progress while it does.
        argv += ["--values", "-", "--timeout", _duration(timeout), "--output", "json"]
        result = self._run(argv, input=values_yaml, timeout=timeout + 60, what=f"helm upgrade --install {release}")
        return _parse(result.stdout, release, namespace)

    def status(self, release: str, namespace: str) -> HelmRelease | None:
        argv = ["status", release, "--namespace", namespace, "--output", "json"]
        result = self.runner.run(["helm", *argv, *self._global_flags()], timeout=60, check=False)
        if result.returncode != 0:
            if _not_found(result):
                return None
            raise self._error(result, f"helm status {release}")
        return _parse(result.stdout, release, namespace)

    def uninstall(self, release: str, namespace: str, timeout: float = 300) -> bool:
        argv = ["uninstall", release, "--namespace", namespace, "--wait", "--timeout", _duration(timeout)]
        result = self.runner.run(["helm", *argv, *self._global_flags()], timeout=timeout + 60, check=False)
        if result.returncode != 0:
            if _not_found(result):
                return False
            raise self._error(result, f"helm uninstall {release}")
        return True


def make_helm(kube_context: str | None = None, kubeconfig: str | None = None, runner: Runner | None = None) -> HelmCli:
    """helm for the global --context/--kubeconfig; tools from `doctor --install-tools` are found first."""
    if runner is None:
        from mlopsctl.paths import tools_dir

        runner = SubprocessRunner(extra_path=(tools_dir(),))
    return HelmCli(runner, kube_context, kubeconfig)
