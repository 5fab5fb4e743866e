"""The HTTP/1.1 response parser of the engine's connection, fed byte strings the way a socket may split them."""

from __future__ import annotations

import pytest

from inference.loadgen.http import Connection


class Owner:
    def __init__(self) -> None:
        self.responses: list[int] = []
        self.failures: list[str] = []
        self.closed = 0

    def on_response(self, conn, status):
        self.responses.append(status)

    def on_failure(self, conn, kind):
        self.failures.append(kind)

    def on_closed(self, conn):
        self.closed += 1


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data):
        self.written.append(data)

    def close(self):
        self.closed = True

    def abort(self):
        self.closed = True


def connection():
    owner, transport = Owner(), Transport()
    conn = Connection(owner)
    conn.connection_made(transport)
    return conn, owner, transport


LENGTH = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n{"a": true}'
CHUNKED = (
    b"HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n"
)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n" + LENGTH


@pytest.mark.parametrize(("raw", "status"), [(LENGTH, 200), (CHUNKED, 500), (CONTINUE, 200)])
def test_every_split_point_gives_one_response(raw, status):
    for cut in range(1, len(raw)):
        conn, owner, transport = connection()
        conn.send(b"POST / HTTP/1.1\r\n\r\n", 0.0)
        conn.data_received(raw[:cut])
        assert owner.responses == [] or cut == len(raw)
        conn.data_received(raw[cut:])
        assert owner.responses == [status], cut
        assert not conn.busy and not transport.closed


def test_keep_alive_connection_serves_consecutive_requests():
    conn, owner, _ = connection()
    for _ in range(3):
        conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
        conn.data_received(LENGTH)
    assert owner.responses == [200, 200, 200]


def test_connection_close_header_closes_after_the_response():
    conn, owner, transport = connection()
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.data_received(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\ncontent-length: 0\r\n\r\n")
    assert owner.responses == [503]
    assert transport.closed and conn.closed


def test_no_content_and_http10():
    conn, owner, transport = connection()
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.data_received(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert owner.responses == [204] and not transport.closed
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.data_received(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")
    assert owner.responses == [204, 200] and transport.closed


def test_body_until_close_completes_when_the_server_closes():
    conn, owner, _ = connection()
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.data_received(b"HTTP/1.1 200 OK\r\n\r\npartial body")
    assert owner.responses == []
    conn.connection_lost(None)
    assert owner.responses == [200] and owner.closed == 1


def test_reset_mid_response_is_a_failure_named_after_the_exception():
    conn, owner, _ = connection()
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
    conn.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
    assert owner.failures == ["ConnectionResetError"] and owner.responses == []


def test_clean_close_mid_response_is_server_disconnected():
    conn, owner, _ = connection()
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.connection_lost(None)
    assert owner.failures == ["ServerDisconnected"]


@pytest.mark.parametrize(
    "raw", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n"]
)
def test_garbage_is_an_invalid_response(raw):
    conn, owner, transport = connection()
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.data_received(raw)
    assert owner.failures == ["InvalidResponse"] and transport.closed


def test_timeout_abort_reports_once():
    conn, owner, transport = connection()
    conn.send(b"GET / HTTP/1.1\r\n\r\n", 0.0)
    conn.abort("TimeoutError")
    conn.connection_lost(None)
    assert owner.failures == ["TimeoutError"] and transport.closed and owner.closed == 1
