"""Inference service speed and memory, against the seed-equivalent service and the bare ASGI floor, in one run.

    python bench/inference.py [--shared ../shared/bench] [--duration 15] [--connections 16] [--json out.json]

Protocol (as ../shared/bench/README.md): each server is one uvicorn worker pinned to core 0 (uvloop, httptools),
wrk pinned to core 1 (`wrk -t1 -c16 -d15s --latency`), after a 3 s warm-up. Servers run one at a time.
1. `python -m inference serve` with the default model (trained from the shipped data set at the start):
   POST /predict with ../shared/bench/post.lua, then POST /predict/batch with 64 texts of the data set per request.
2. `seed_equivalent_app.py` (needs prometheus-fastapi-instrumentator): POST /predict with post.lua.
3. `floor_app.py`: POST /predict with post.lua (the ceiling of this server stack on one core).
Resident memory (VmRSS) of each server process is read after its runs. Printed: req/s, p50/p99, errors, ratios,
batch texts/s, RSS, and whether each target is met (>= 6x seed req/s, p99 <= 5 ms, 0 errors,
>= 50,000 texts/s in batches of 64, RSS <= 150 MiB). The exit code is 0 unless a run could not be made.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DEFAULT_SHARED = ROOT.parent / "shared" / "bench"
SERVER_CORE, LOAD_CORE = "0", "1"
BATCH_TEXTS = 64
TARGETS = {"ratio": 6.0, "p99_ms": 5.0, "batch_texts_per_s": 50_000.0, "rss_mib": 150.0}


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(core: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if shutil.which("taskset") else argv


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> WrkResult:
    def percentile(p: str) -> float:
        match = re.search(rf"^\s*{p}%\s+(\S+)", output, re.M)
        return _ms(match.group(1)) if match else float("nan")

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if sockets:
        errors += sum(int(g) for g in sockets.groups())
    return WrkResult(
        requests_per_s=float(rate.group(1)) if rate else 0.0,
        p50_ms=percentile("50"),
        p99_ms=percentile("99"),
        requests=int(total.group(1)) if total else 0,
        errors=errors,
    )


def wrk(url: str, script: Path, duration: float, connections: int) -> WrkResult:
    argv = pinned(
        LOAD_CORE,
        ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "-s", str(script), "--latency", url],
    )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True)
    return parse_wrk(done.stdout)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, argv: list[str], env: dict[str, str], port: int, ready_path: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            pinned(SERVER_CORE, argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"server {argv} exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"server {argv} not ready within 120 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def uvicorn_argv(module_app: str, app_dir: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        module_app,
        "--app-dir",
        str(app_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]


def measure(server: Server, path: str, script: Path, args: argparse.Namespace) -> WrkResult:
    wrk(server.url + path, script, args.warmup, args.connections)
    return wrk(server.url + path, script, args.duration, args.connections)


def batch_script(directory: Path) -> Path:
    with open(SRC / "inference" / "data" / "sentiment.csv", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][:BATCH_TEXTS]
    body = json.dumps({"texts": texts})
    script = directory / "batch.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    return script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared bench directory")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up load before each run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--model", type=Path, help="artifact directory (default: train one from the shipped data)")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare ASGI floor run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    post = args.shared / "post.lua"
    for needed in (post, args.shared / "seed_equivalent_app.py", args.shared / "floor_app.py"):
        if not needed.exists():
            raise SystemExit(f"missing {needed}: pass --shared DIR")
    try:
        import prometheus_fastapi_instrumentator  # noqa: F401
    except ImportError:
        raise SystemExit("the seed-equivalent app needs: pip install prometheus-fastapi-instrumentator") from None

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    results: dict[str, object] = {"connections": args.connections, "duration_s": args.duration}
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as scratch:
        directory = Path(scratch)
        model = args.model
        if model is None:
            model = directory / "model"
            subprocess.run(
                [sys.executable, "-m", "inference", "train", "--out", str(model), "--version", "bench"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        batch = batch_script(directory)

        port = free_port()
        ours = Server(
            [sys.executable, "-m", "inference", "serve", "--host", "127.0.0.1", "--port", str(port)],
            dict(env, MODEL_URI=str(model), TENANT_NAME="bench"),
            port,
            "/readyz",
        )
        try:
            service = measure(ours, "/predict", post, args)
            batched = measure(ours, "/predict/batch", batch, args)
            service_rss = rss_mib(ours.process.pid)
            metrics = httpx.get(ours.url + "/metrics", timeout=10).text
        finally:
            ours.stop()
        sizes = {
            name: float(re.search(rf'^inference_batch_size_{name}{{tenant="bench"}} (\S+)', metrics, re.M).group(1))
            for name in ("sum", "count")
        }

        port = free_port()
        seed = Server(uvicorn_argv("seed_equivalent_app:app", args.shared, port), env, port, "/health")
        try:
            seed_result = measure(seed, "/predict", post, args)
            seed_rss = rss_mib(seed.process.pid)
        finally:
            seed.stop()

        floor_result = None
        if not args.no_floor:
            port = free_port()
            floor = Server(uvicorn_argv("floor_app:app", args.shared, port), env, port, "/")
            try:
                floor_result = measure(floor, "/predict", post, args)
            finally:
                floor.stop()

    ratio = service.requests_per_s / seed_result.requests_per_s if seed_result.requests_per_s else float("nan")
    texts_per_s = batched.requests_per_s * BATCH_TEXTS
    results.update(
        service=asdict(service),
        service_batch=asdict(batched) | {"texts_per_s": texts_per_s, "texts_per_request": BATCH_TEXTS},
        service_rss_mib=service_rss,
        mean_micro_batch=sizes["sum"] / sizes["count"] if sizes["count"] else 0.0,
        seed=asdict(seed_result),
        seed_rss_mib=seed_rss,
        floor=asdict(floor_result) if floor_result else None,
        ratio_vs_seed=ratio,
    )
    checks = {
        f">= {TARGETS['ratio']:g}x seed req/s": ratio >= TARGETS["ratio"],
        f"p99 <= {TARGETS['p99_ms']:g} ms": service.p99_ms <= TARGETS["p99_ms"],
        "0 errors": service.errors == 0 and batched.errors == 0,
        f">= {TARGETS['batch_texts_per_s']:,.0f} texts/s (batches of {BATCH_TEXTS})": texts_per_s
        >= TARGETS["batch_texts_per_s"],
        f"RSS <= {TARGETS['rss_mib']:g} MiB": service_rss <= TARGETS["rss_mib"],
    }
    results["targets_met"] = checks

    def row(name: str, r: WrkResult, rss: float | None = None) -> str:
        memory = f"{rss:7.1f} MiB" if rss is not None else " " * 11
        return f"{name:<28}{r.requests_per_s:>11,.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>8}  {memory}"

    print(
        f"one uvicorn worker on core {SERVER_CORE}, wrk -t1 -c{args.connections} -d{args.duration:g}s on core {LOAD_CORE}"
    )
    print(f"{'':<28}{'req/s':>11}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}  {'RSS':>11}")
    print(row("service POST /predict", service, service_rss))
    print(row(f"service /predict/batch x{BATCH_TEXTS}", batched))
    print(row("seed-equivalent /predict", seed_result, seed_rss))
    if floor_result:
        print(row("bare ASGI floor", floor_result))
    print(f"service / seed-equivalent: {ratio:.2f}x req/s")
    if floor_result and floor_result.requests_per_s:
        print(f"service / floor:           {service.requests_per_s / floor_result.requests_per_s:.0%} of the ceiling")
    print(f"batch throughput:          {texts_per_s:,.0f} texts/s")
    print(
        f"mean micro-batch (/predict and /predict/batch runs): {results['mean_micro_batch']:.1f} texts per model call"
    )
    for name, met in checks.items():
        print(f"  [{'x' if met else ' '}] {name}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
