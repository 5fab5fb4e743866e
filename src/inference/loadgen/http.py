"""A minimal HTTP/1.1 keep-alive client connection on a raw asyncio Protocol: one request at a time per connection.

Why not aiohttp or httpx: the client was chosen by measurement (`bench/loadgen_clients.py`: closed loop, 16
connections, POST /predict against the bare ASGI floor app, one uvicorn worker on core 0, client on core 1,
3 s each, CPU time of the client process per request; 2026-11-27, 2 shared cores, two runs):

    client                          loop      CPU per request (run 1 / run 2)
    asyncio Protocol (this module)  uvloop    17.3 / 25.6 us
    asyncio Protocol                asyncio   31.1 / 21.9 us
    asyncio streams                 uvloop    21.5 / 23.9 us
    asyncio streams                 asyncio   37.6 / 28.7 us
    aiohttp 3.14                    uvloop    83.5 / 80.9 us
    aiohttp 3.14                    asyncio   134.8 / 123.6 us
    httpx 0.28                      uvloop    1,416 / 1,418 us   (h11 in pure Python)

Raw asyncio is 3.5-5x cheaper than aiohttp and ~60x cheaper than httpx; Protocol and streams cost about the
same, and a Protocol lets the engine send from a plain callback, with no task or future per request.

A generator that costs 5x its target's CPU per request cannot drive a fast server from one core, so the engine
speaks HTTP/1.1 itself: a pre-encoded request is written, the response head is parsed with bytes.find (status
line, Content-Length or chunked Transfer-Encoding, Connection: close), the body is skipped. Everything the
engine needs and nothing else: no redirects, no cookies, no pipelining.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, cast

MAX_HEAD = 65536

_HEAD, _BODY, _CHUNK, _TRAILER, _UNTIL_CLOSE = range(5)


class Owner(Protocol):
    def on_response(self, conn: Connection, status: int) -> None: ...

    def on_failure(self, conn: Connection, kind: str) -> None: ...

    def on_closed(self, conn: Connection) -> None: ...


class Connection(asyncio.Protocol):
    """One keep-alive connection. `send()` a whole request; the owner hears of the response or the failure."""

    __slots__ = (
        "_buf",
        "_remaining",
        "_state",
        "_status",
        "busy",
        "closed",
        "intended",
        "keep_alive",
        "owner",
        "transport",
    )

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.keep_alive = True
        self.intended = 0.0
        self._buf = b""
        self._state = _HEAD
        self._status = 0
        self._remaining = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The loop hands a stream transport to a protocol made by create_connection().
        self.transport = cast(asyncio.Transport, transport)

    def send(self, request: bytes, intended: float) -> None:
        self.busy = True
        self.intended = intended
        self._state = _HEAD
        self._buf = b""
        self.transport.write(request)  # type: ignore[union-attr]

    def abort(self, kind: str) -> None:
        """Give up on the request in flight (a timeout): the owner hears `kind`, the connection is dropped."""
        if self.busy:
            self.busy = False
            self.owner.on_failure(self, kind)
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            # Bytes nobody asked for: the connection is no longer in a known state.
            self.close()
            return
        buf = self._buf + data if self._buf else data
        self._buf = b""
        try:
            self._parse(buf)
        except (ValueError, IndexError):
            self.busy = False
            self.owner.on_failure(self, "InvalidResponse")
            self.close()

    def _parse(self, buf: bytes) -> None:
        pos = 0
        while True:
            state = self._state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    if len(buf) - pos > MAX_HEAD:
                        raise ValueError("response head too large")
                    self._buf = buf[pos:]
                    return
                if buf[pos : pos + 7] != b"HTTP/1.":
                    raise ValueError("not an HTTP/1.x response")
                status = int(buf[pos + 9 : pos + 12])
                head = buf[pos:end].lower()
                pos = end + 4
                if 100 <= status < 200:  # 100 Continue and friends: the real response follows
                    continue
                self._status = status
                if head[7:8] == b"0":
                    self.keep_alive = b"\r\nconnection: keep-alive" in head
                else:
                    self.keep_alive = b"\r\nconnection: close" not in head
                if status in (204, 304):
                    self._done()
                    return
                if b"\r\ntransfer-encoding:" in head and b"chunked" in head:
                    self._state = _CHUNK
                    continue
                index = head.find(b"\r\ncontent-length:")
                if index >= 0:
                    line_end = head.find(b"\r\n", index + 2)
                    self._remaining = int(head[index + 17 : line_end if line_end >= 0 else len(head)])
                    self._state = _BODY
                    continue
                self._state = _UNTIL_CLOSE
                self.keep_alive = False
                return
            if state == _BODY:
                available = len(buf) - pos
                if available < self._remaining:
                    self._remaining -= available
                    return
                self._done()
                return
            if state == _CHUNK:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    self._buf = buf[pos:]
                    return
                size = int(buf[pos:line_end].split(b";", 1)[0], 16)
                if size == 0:
                    pos = line_end + 2
                    self._state = _TRAILER
                    continue
                if len(buf) < line_end + 2 + size + 2:
                    self._buf = buf[pos:]  # re-read this chunk header when the rest has come
                    return
                pos = line_end + 2 + size + 2
                continue
            if state == _TRAILER:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    self._buf = buf[pos:]
                    return
                if line_end == pos:
                    self._done()
                    return
                pos = line_end + 2
                continue
            return  # _UNTIL_CLOSE: the body ends with the connection

    def _done(self) -> None:
        self.busy = False
        self._state = _HEAD
        if not self.keep_alive:
            self.close()
        self.owner.on_response(self, self._status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy:
            if self._state == _UNTIL_CLOSE and exc is None:
                self.busy = False
                self.owner.on_response(self, self._status)
            else:
                self.busy = False
                self.owner.on_failure(self, failure_kind(exc) if exc else "ServerDisconnected")
        self.owner.on_closed(self)


def failure_kind(exc: BaseException) -> str:
    """A stable name for the report: the exception class, with timeouts and DNS failures named plainly."""
    import socket

    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "TimeoutError"
    if isinstance(exc, socket.gaierror):
        return "DNSError"
    return type(exc).__name__
