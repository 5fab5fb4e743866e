"""Servers the load-generator tests aim at, each run as its own process on 127.0.0.1 (so they never share a
GIL with the engine under test):

    python servers.py fast PORT            uvicorn, a fixed JSON answer
    python servers.py stall PORT AFTER S   uvicorn; the first request AFTER seconds after the first request
                                           blocks the whole event loop for S seconds, once
    python servers.py faults PORT          raw asyncio: request k (counted over the server's life) is reset
                                           (TCP RST) when k % 7 == 0, answered 500 when k % 5 == 0, else 200
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import time

BODY = b'{"prediction":"positive","confidence":0.9}'


async def _drain_body(receive) -> None:
    while (await receive()).get("more_body"):
        pass


async def _answer(send, status: int = 200) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


async def fast_app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await _drain_body(receive)
    await _answer(send)


def make_stall_app(after: float, seconds: float):
    state = {"first": None, "stalled": False}

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        await _drain_body(receive)
        now = time.monotonic()
        if state["first"] is None:
            state["first"] = now
        elif not state["stalled"] and now - state["first"] >= after:
            state["stalled"] = True
            time.sleep(seconds)  # blocks the event loop: every connection waits, as with CPU-bound work
        await _answer(send)

    return app


async def faults_server(port: int) -> None:
    counter = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal counter
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                counter += 1
                if counter % 7 == 0:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                status = b"500 Internal Server Error" if counter % 5 == 0 else b"200 OK"
                writer.write(
                    b"HTTP/1.1 "
                    + status
                    + b"\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(BODY)).encode()
                    + b"\r\n\r\n"
                    + BODY
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "faults":
        asyncio.run(faults_server(port))
        return
    import uvicorn

    app = fast_app if kind == "fast" else make_stall_app(float(sys.argv[3]), float(sys.argv[4]))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
