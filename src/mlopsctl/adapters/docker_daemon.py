"""Asks the Docker daemon for its version through python-on-whales (the doctor's Docker check)."""

from __future__ import annotations

from mlopsctl.errors import PrerequisiteMissing


def server_version() -> str:
    from python_on_whales import DockerClient
    from python_on_whales.client_config import ClientNotFoundError
    from python_on_whales.exceptions import DockerException

    try:
        version = DockerClient().version()
    except DockerException as exc:
        stderr = (exc.stderr or "").strip().splitlines()
        raise PrerequisiteMissing(
            f"the Docker daemon is not reachable: {stderr[-1] if stderr else 'no answer'}",
            hint="start Docker (Docker Desktop, or `sudo systemctl start docker` / `dockerd &`)",
        ) from exc
    except (ClientNotFoundError, FileNotFoundError) as exc:  # no docker client binary at all
        raise PrerequisiteMissing(
            "docker not found", hint="install Docker: https://docs.docker.com/get-docker/"
        ) from exc
    server = getattr(version, "server", None)
    if server is None or not getattr(server, "version", None):
        raise PrerequisiteMissing("the Docker daemon is not running", hint="start Docker, then retry")
    return str(server.version)
