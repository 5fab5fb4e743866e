"""The programs `verify network` runs inside pods, run for real against sockets on 127.0.0.1: the python probe
batch, the `wget` batch of Prometheus pods, and the listener of the probe pods."""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from mlopsctl.manifests.probe_pods import LISTENER_PROGRAM
from mlopsctl.services.network_probes.program import Spec, parse_results, python_batch, wget_batch
from tests.support import free_port, require_program

pytestmark = pytest.mark.integration


def batch(specs: list[Spec], timeout: float = 2.0) -> tuple[subprocess.CompletedProcess, dict]:
    command = [sys.executable, *python_batch(specs, timeout)[1:]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    return result, parse_results(result.stdout)


def test_tcp_connect_refused_and_one_line_per_probe():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        result, found = batch([Spec(7, "127.0.0.1", port, "TCP"), Spec(9, "127.0.0.1", free_port(), "TCP")])
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert (found[7].connected, found[7].observed) == (True, "connected")
    assert (found[9].connected, found[9].observed) == (False, "refused")


def test_probes_of_a_batch_run_concurrently():
    """A DNS server that answers only once it holds every query: probes one after another would all time out."""
    count = 6
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(30)
        port = server.getsockname()[1]
        received: list[tuple[bytes, tuple]] = []

        def answer_when_all_arrived() -> None:
            while len(received) < count:
                received.append(server.recvfrom(512))
            for data, address in received:
                server.sendto(data[:2] + b"\x81\x80" + data[4:], address)

        thread = threading.Thread(target=answer_when_all_arrived)
        thread.start()
        result, found = batch([Spec(i, "127.0.0.1", port, "UDP") for i in range(count)], timeout=20)
        thread.join(30)
    assert result.returncode == 0, result.stderr
    assert {i: r.connected for i, r in found.items()} == dict.fromkeys(range(count), True)
    query = received[0][0]
    assert query[2:6] == b"\x01\x00\x00\x01"  # a standard recursive query with one question
    assert b"\x0akubernetes\x07default\x03svc\x07cluster\x05local\x00\x00\x01\x00\x01" in query


def test_udp_without_an_answer_times_out_on_its_own():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        _, found = batch([Spec(1, "127.0.0.1", silent.getsockname()[1], "UDP")], timeout=0.5)
    assert (found[1].connected, found[1].observed) == (False, "timeout")


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        server.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with server:
        server.listen(1)
        _, found = batch([Spec(0, "::1", server.getsockname()[1], "TCP")])
    assert found[0].connected is True


@contextlib.contextmanager
def http_server():
    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_wget_batch_of_prometheus_pods():
    require_program("wget")  # what the Prometheus pods' busybox offers; .ci/run installs it
    with http_server() as port:
        specs = [Spec(3, "127.0.0.1", port, "TCP"), Spec(4, "127.0.0.1", free_port(), "TCP")]
        result = subprocess.run(wget_batch(specs, 2.0), capture_output=True, text=True, timeout=60)
    found = parse_results(result.stdout)
    assert (found[3].connected, found[4].connected) == (True, False)


def test_listener_of_the_probe_pods_accepts_tcp_and_answers_http():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LISTENER_PROGRAM, str(port)])
    try:
        _, found = batch([Spec(0, "127.0.0.1", port, "TCP")])
        for _ in range(50):  # bounded: the listener needs a moment to bind
            if found[0].connected:
                break
            threading.Event().wait(0.1)
            _, found = batch([Spec(0, "127.0.0.1", port, "TCP")])
        assert found[0].connected is True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert response.status == 200
    finally:
        process.kill()
        process.wait(10)
