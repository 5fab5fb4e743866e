"""The probe that `verify network` execs inside tenant pods, run for real against sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from mlopsctl.services.verify_network import PROBE_SCRIPT
from tests.support import free_port

pytestmark = pytest.mark.integration


def probe(host: str, port: int, protocol: str, timeout: float = 2.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT, host, str(port), protocol, str(timeout)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_tcp_connect_to_a_listener():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        result = probe("127.0.0.1", server.getsockname()[1], "TCP")
    assert (result.returncode, result.stdout.strip()) == (0, "connected")


def test_tcp_refused_when_nothing_listens():
    result = probe("127.0.0.1", free_port(), "TCP")
    assert (result.returncode, result.stdout.strip()) == (1, "refused")


def test_udp_dns_query_gets_an_answer():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(20)
        received: list[bytes] = []

        def answer() -> None:
            data, address = server.recvfrom(512)
            received.append(data)
            server.sendto(data[:2] + b"\x81\x80" + data[4:], address)

        thread = threading.Thread(target=answer)
        thread.start()
        result = probe("127.0.0.1", server.getsockname()[1], "UDP")
        thread.join(30)
    assert (result.returncode, result.stdout.strip()) == (0, "connected")
    query = received[0]
    assert query[2:6] == b"\x01\x00\x00\x01"  # a standard recursive query with one question
    assert b"\x0akubernetes\x07default\x03svc\x07cluster\x05local\x00\x00\x01\x00\x01" in query


def test_udp_without_an_answer_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        result = probe("127.0.0.1", silent.getsockname()[1], "UDP", timeout=0.5)
    assert (result.returncode, result.stdout.strip()) == (1, "timeout")


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
        result = probe("::1", server.getsockname()[1], "TCP")
    assert (result.returncode, result.stdout.strip()) == (0, "connected")
