"""The composition root: the one place where commands get the adapters they hand to services.

`RunState` builds one `Deps` per run; commands ask it for the cluster, helm, kind, Docker, a command runner, the
object store or an HTTP probe, and never import an adapter themselves. Each factory reads the settings when it
is called (global options may follow the sub-command), and imports its adapter only then, so a command pays for
what it uses. Tests swap adapters through one fixture (`adapters` in tests/conftest.py), which replaces these
methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlopsctl.config import Settings


class Deps:
    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._kube: Any = None
        self._kube_for: tuple[str | None, str | None] | None = None

    @property
    def settings(self) -> Settings:
        return self._settings()

    def kube(self) -> Any:
        """The Kubernetes API of the global --context/--kubeconfig (one client per run)."""
        current = self.settings
        if self._kube is None or self._kube_for != (current.context, current.kubeconfig):
            self._kube = self.kube_for_context(current.context)
            self._kube_for = (current.context, current.kubeconfig)
        return self._kube

    def kube_for_context(self, context: str | None) -> Any:
        """The API of another context of the same kubeconfig (`cluster up` reaches the cluster it created)."""
        from mlopsctl.adapters import kube

        return kube.connect(context, self.settings.kubeconfig)

    def helm(self, context: str | None = None) -> Any:
        from mlopsctl.adapters import helm

        current = self.settings
        return helm.make_helm(context or current.context, current.kubeconfig)

    def runner(self) -> Any:
        """Runs commands, finding the tools `doctor --install-tools` installed first."""
        from mlopsctl.adapters.runner import SubprocessRunner
        from mlopsctl.paths import tools_dir

        return SubprocessRunner(extra_path=(tools_dir(),))

    def kind(self) -> Any:
        from mlopsctl.adapters.kind import KindCli

        return KindCli(self.runner(), kubeconfig=self.settings.kubeconfig)

    def docker(self) -> Any:
        from mlopsctl.adapters.docker import DockerImages

        return DockerImages()

    def images(self, base_image: str | None = None, verbose: bool = False) -> Any:
        """Build, inspect, save and push the inference image (`image build`, `cluster up`, `image load`)."""
        from mlopsctl import constants
        from mlopsctl.services.image.store import Images

        base_image = base_image or constants.DEFAULT_BASE_IMAGE

        return Images(self.docker, self.runner, base_image=base_image, verbose=verbose)

    def docker_server_version(self) -> Any:
        from mlopsctl.adapters import docker_daemon

        return docker_daemon.server_version

    def install_verified(self) -> Callable[..., Any]:
        """Download a release and check its sha256 before it lands (`doctor --install-tools`)."""
        from mlopsctl.adapters.download import install_verified

        return install_verified

    def object_store(self, endpoint: str, access_key: str, secret_key: str, region: str) -> Any:
        from mlopsctl.adapters.s3 import Boto3ObjectStore

        return Boto3ObjectStore(endpoint, access_key, secret_key, region=region)

    def http_probe(self, url: str) -> bool:
        """GET `url` from this machine, briefly: True when it answers 200."""
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False
