from __future__ import annotations

from dataclasses import dataclass

import pytest
from typer.testing import CliRunner


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run the real CLI entry point in-process, with a private MLOPSCTL_HOME and no ambient config."""
    monkeypatch.setenv("MLOPSCTL_HOME", str(tmp_path / "home"))
    for var in ("MLOPSCTL_CONTEXT", "MLOPSCTL_OUTPUT", "MLOPSCTL_KUBECONFIG", "KUBECONFIG", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)

    from mlopsctl.cli.app import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
        result = runner.invoke(app, list(args), input=input, env=env)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke


class _AdapterSwap:
    """`adapters.kube = lambda: api`: every command of the run gets `api` from `deps.kube()`."""

    def __init__(self, monkeypatch) -> None:
        object.__setattr__(self, "_monkeypatch", monkeypatch)

    def __setattr__(self, name: str, factory) -> None:
        from mlopsctl.deps import Deps

        if not callable(getattr(Deps, name, None)):
            raise AttributeError(f"Deps has no adapter factory {name!r}")
        self._monkeypatch.setattr(Deps, name, lambda _self, *args, **kwargs: factory(*args, **kwargs))


@pytest.fixture
def adapters(monkeypatch):
    """The one way tests swap adapters: replace a factory of `mlopsctl.deps.Deps` (the composition root)."""
    return _AdapterSwap(monkeypatch)


@dataclass
class ToolMirror:
    """A tiny HTTP server on 127.0.0.1: `files` maps a path to its bytes, `truncate` paths to a short body."""

    url: str
    files: dict
    truncate: set
    default: bytes | None = None


@pytest.fixture
def tool_mirror():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    mirror = ToolMirror(url="", files={}, truncate=set())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = mirror.files.get(self.path, mirror.default)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if self.path in mirror.truncate else body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    mirror.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield mirror
    server.shutdown()
    server.server_close()
