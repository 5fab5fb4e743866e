"""Preflight: are Docker, kind, kubectl and helm here, new enough, and which kube context is current?"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlopsctl.adapters.runner import Runner
from mlopsctl.errors import MlopsctlError
from mlopsctl.tools import REQUIREMENTS, ToolRelease, ToolRequirement, format_version, parse_version


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | missing | too old | not running | info
    found: str
    needed: str
    hint: str = ""
    required: bool = True

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "info")


@dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]
    installed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks if check.required)


def check_tool(requirement: ToolRequirement, runner: Runner) -> Check:
    needed = f">= {format_version(requirement.minimum)}"
    if runner.which(requirement.name) is None:
        return Check(requirement.name, "missing", "-", needed, requirement.install_hint)
    result = runner.run(requirement.version_argv, check=False, timeout=20)
    version = parse_version(result.stdout + " " + result.stderr)
    if version is None:
        return Check(requirement.name, "missing", "unreadable version", needed, requirement.install_hint)
    if version < requirement.minimum:
        return Check(
            requirement.name,
            "too old",
            format_version(version),
            needed,
            f"{requirement.why}; {requirement.install_hint}",
        )
    return Check(requirement.name, "ok", format_version(version), needed)


def check_docker(server_version: Callable[[], str]) -> Check:
    try:
        version = server_version()
    except MlopsctlError as exc:
        return Check("docker", "not running", "-", "daemon running", exc.hint or exc.message)
    return Check("docker", "ok", f"v{version}", "daemon running")


def current_context(kubeconfig_text: str | None) -> tuple[str | None, str | None]:
    """(context name, API server URL) from a kubeconfig document; (None, None) when there is none."""
    if not kubeconfig_text:
        return None, None
    import yaml

    try:
        config = yaml.safe_load(kubeconfig_text) or {}
    except yaml.YAMLError:
        return None, None
    name = config.get("current-context")
    if not name:
        return None, None
    contexts = {item.get("name"): item.get("context", {}) for item in config.get("contexts") or []}
    clusters = {item.get("name"): item.get("cluster", {}) for item in config.get("clusters") or []}
    cluster = clusters.get(contexts.get(name, {}).get("cluster"), {})
    return name, cluster.get("server")


def check_context(kubeconfig_text: str | None, wanted: str | None) -> Check:
    name, server = current_context(kubeconfig_text)
    if wanted:
        name = wanted
    if not name:
        return Check("kube context", "info", "none", "optional", "`mlopsctl cluster up` creates one", required=False)
    return Check(
        "kube context", "info", name + (f" ({server})" if server and not wanted else ""), "optional", required=False
    )


def run_doctor(
    runner: Runner,
    docker_version: Callable[[], str],
    kubeconfig_text: str | None,
    context: str | None = None,
) -> DoctorReport:
    checks = [check_docker(docker_version)]
    checks += [check_tool(requirement, runner) for requirement in REQUIREMENTS]
    checks.append(check_context(kubeconfig_text, context))
    return DoctorReport(checks)


def install_tools(
    report: DoctorReport,
    releases: list[ToolRelease],
    destination: Path,
    install: Callable[[ToolRelease, Path], Path],
) -> list[str]:
    """Install the pinned release of every tool the report found missing or too old; returns their names."""
    wanted = {check.name for check in report.checks if check.status in ("missing", "too old")}
    installed = []
    for release in releases:
        if release.name in wanted:
            install(release, destination / release.name)
            installed.append(f"{release.name} {release.version}")
    return installed
