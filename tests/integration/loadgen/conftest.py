from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import free_port, require

SERVERS = Path(__file__).with_name("servers.py")


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"test server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"test server did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


@contextmanager
def serve(kind: str, *args: str) -> Iterator[str]:
    """Start one of servers.py's servers in its own process and yield its base URL; stop it afterwards."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SERVERS), kind, str(port), *args])
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server():
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        require(False, "uvicorn is not installed")
    return serve
