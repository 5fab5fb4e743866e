"""A real `python -m inference serve` (uvicorn) on 127.0.0.1, serving a tiny model trained in a fixture."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

SRC = Path(__file__).resolve().parents[3] / "src"


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}: {self.stderr()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server was not ready within {timeout}s")

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""


def start_server(env: dict[str, str], port: int | None = None) -> Server:
    port = port or free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    environment.update(env)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), environment.get("PYTHONPATH", "")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "inference", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return Server(url=f"http://127.0.0.1:{port}", process=process)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=15)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    from inference.artifact import library_versions, save_artifact
    from tests.unit.inference.conftest import fit

    out = tmp_path_factory.mktemp("served-model")
    pipeline = fit()
    save_artifact(
        pipeline,
        {
            "version": "it-1",
            "created_at": "2026-11-27T12:00:00Z",
            "classes": [str(c) for c in pipeline.classes_],
            "metrics": {"heldout": {"accuracy": 1.0}},
            "libraries": library_versions(),
        },
        out,
    )
    return out


@pytest.fixture(scope="module")
def server(model_dir):
    running = start_server({"TENANT_NAME": "tenant-a", "MODEL_URI": str(model_dir), "MAX_BATCH_SIZE": "32"})
    try:
        running.wait_ready()
        yield running
    finally:
        stop_server(running)
