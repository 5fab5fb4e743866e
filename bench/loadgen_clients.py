"""Which HTTP client for the load engine: CPU per request of each candidate, in one run.

    python bench/loadgen_clients.py [--seconds 3] [--floor ../shared/bench/floor_app.py]

Each candidate runs closed-loop with 16 keep-alive connections (POST /predict, small JSON body) for --seconds
against the floor app (one uvicorn worker on core 0), in its own process pinned to core 1; the figure is that
process's CPU time per completed request. Candidates: aiohttp, httpx, asyncio streams, and the engine's own
asyncio Protocol (inference.loadgen.http.Connection), each on uvloop and on the standard loop.
The figures on record are in src/inference/loadgen/http.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# bench/ holds scripts named like packages (inference.py, loadgen.py): keep it off the path, put src/ first.
sys.path[:] = [str(ROOT / "src"), *(p for p in sys.path if Path(p or ".").resolve() != BENCH)]


def _bench_loadgen():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_loadgen", BENCH / "loadgen.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_loadgen"] = module
    spec.loader.exec_module(module)
    return module


_shared = _bench_loadgen()
DEFAULT_FLOOR, free_port, pinned, start_server = (
    _shared.DEFAULT_FLOOR,
    _shared.free_port,
    _shared.pinned,
    _shared.start_server,
)

BODY = json.dumps({"text": "This product is amazing and I would buy again"}).encode()
CONNECTIONS = 16
CANDIDATES = ("protocol", "streams", "aiohttp", "httpx")


async def run_aiohttp(host: str, port: int, seconds: float) -> int:
    import aiohttp

    count = 0
    end = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:

        async def worker() -> None:
            nonlocal count
            while time.monotonic() < end:
                async with session.post(
                    f"http://{host}:{port}/predict", data=BODY, headers={"content-type": "application/json"}
                ) as r:
                    await r.read()
                    count += 1

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return count


async def run_httpx(host: str, port: int, seconds: float) -> int:
    import httpx

    count = 0
    end = time.monotonic() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONNECTIONS)) as client:

        async def worker() -> None:
            nonlocal count
            while time.monotonic() < end:
                response = await client.post(
                    f"http://{host}:{port}/predict", content=BODY, headers={"content-type": "application/json"}
                )
                response.read()
                count += 1

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return count


def raw_request(host: str, port: int) -> bytes:
    from inference.loadgen.mix import http_request

    return http_request("POST", f"{host}:{port}", "/predict", BODY)


async def run_streams(host: str, port: int, seconds: float) -> int:
    request = raw_request(host, port)
    count = 0
    end = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal count
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < end:
            writer.write(request)
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            if b"content-length:" in head:
                start = head.index(b"content-length:") + 15
                await reader.readexactly(int(head[start : head.index(b"\r\n", start)]))
            else:  # chunked
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            count += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return count


async def run_protocol(host: str, port: int, seconds: float) -> int:
    from inference.loadgen.http import Connection

    request = raw_request(host, port)
    loop = asyncio.get_running_loop()
    end = time.monotonic() + seconds
    done = loop.create_future()
    state = {"count": 0, "open": CONNECTIONS}

    class Owner:
        def on_response(self, conn, status):
            state["count"] += 1
            if time.monotonic() < end:
                conn.send(request, 0.0)
            else:
                conn.close()

        def on_failure(self, conn, kind):
            raise RuntimeError(kind)

        def on_closed(self, conn):
            state["open"] -= 1
            if state["open"] == 0 and not done.done():
                done.set_result(None)

    owner = Owner()
    for _ in range(CONNECTIONS):
        _, conn = await loop.create_connection(lambda: Connection(owner), host, port)
        conn.send(request, 0.0)
    await done
    return state["count"]


def child(candidate: str, loop_name: str, port: int, seconds: float) -> None:
    run = {"aiohttp": run_aiohttp, "httpx": run_httpx, "streams": run_streams, "protocol": run_protocol}[candidate]
    factory = None
    if loop_name == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.monotonic()
    with asyncio.Runner(loop_factory=factory) as runner:
        count = runner.run(run("127.0.0.1", port, seconds))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    print(json.dumps({"requests": count, "wall": time.monotonic() - wall0, "cpu": cpu}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--floor", type=Path, default=DEFAULT_FLOOR)
    parser.add_argument("--child", nargs=3, metavar=("CANDIDATE", "LOOP", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.seconds)
        return 0
    port = free_port()
    server = start_server(args.floor, port)
    results = []
    try:
        for candidate in CANDIDATES:
            for loop_name in ("uvloop", "asyncio"):
                argv = [
                    sys.executable,
                    __file__,
                    "--seconds",
                    str(args.seconds),
                    "--child",
                    candidate,
                    loop_name,
                    str(port),
                ]
                out = subprocess.run(pinned("1", argv), capture_output=True, text=True, timeout=120, env=os.environ)
                if out.returncode != 0:
                    print(f"{candidate}/{loop_name} failed: {out.stderr.strip()[-300:]}", file=sys.stderr)
                    continue
                data = json.loads(out.stdout)
                results.append(
                    (candidate, loop_name, data["requests"] / data["wall"], 1e6 * data["cpu"] / data["requests"])
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    best = min(r[3] for r in results)
    print(f"\n{'client':10} {'loop':8} {'req/s':>9} {'CPU us/request':>15} {'vs best':>8}")
    for candidate, loop_name, rate, cpu in sorted(results, key=lambda r: r[3]):
        print(f"{candidate:10} {loop_name:8} {rate:>9,.0f} {cpu:>15.1f} {cpu / best:>7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
