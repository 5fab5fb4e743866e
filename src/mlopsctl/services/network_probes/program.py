"""What runs inside the pods, and the parsing of what it prints.

One exec per source pod runs every probe of that pod in one process, concurrently, each with its own timeout, and
prints one JSON line per probe as it ends: `{"id": 3, "connected": false, "observed": "timeout"}`. The tenant image
has Python (nothing is pulled); Prometheus images have no Python but a busybox `sh` and `wget`, so scrapes from a
monitoring pod run as a shell batch of background `wget`s that print the same lines. (The probe pods' own
process, a listener, is part of their manifest: manifests/probe_pods.py.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from mlopsctl import constants as c

# `python -c BATCH_PROGRAM SPEC TIMEOUT WORKERS`, SPEC a JSON list of [id, host, port, protocol]. TCP: a fresh
# connect; UDP: a DNS query that must be answered. `refused` and `unreachable` count as blocked, as a CNI that
# rejects instead of dropping answers that way.
BATCH_PROGRAM = """
import json, socket, sys, threading
from concurrent.futures import ThreadPoolExecutor
probes, timeout, workers = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
NAME = b"".join(bytes([len(p)]) + p.encode() for p in "kubernetes.default.svc.cluster.local".split("."))
QUERY = b"\\x4d\\x4c\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00" + NAME + b"\\x00\\x00\\x01\\x00\\x01"
lock = threading.Lock()
def probe(host, port, proto):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM if proto == "UDP" else socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if proto == "UDP":
            s.sendto(QUERY, (host, port))
            s.recvfrom(512)
        else:
            s.connect((host, port))
        return True, "connected"
    except socket.timeout:
        return False, "timeout"
    except ConnectionRefusedError:
        return False, "refused"
    except OSError as exc:
        return False, "unreachable: %s" % (exc.strerror or exc)
    finally:
        s.close()
def run(item):
    ident, host, port, proto = item
    try:
        connected, observed = probe(host, int(port), proto)
    except Exception as exc:
        connected, observed = None, "error: %r" % (exc,)
    line = json.dumps({"id": ident, "connected": connected, "observed": observed})
    with lock:
        sys.stdout.write(line + "\\n")
        sys.stdout.flush()
with ThreadPoolExecutor(max(1, min(workers, len(probes)))) as pool:
    list(pool.map(run, probes))
""".strip()

# `sh -c WGET_BATCH sh TIMEOUT ID URL [ID URL ...]`: one background wget per probe, one JSON line each (a line is
# one short write, so lines from concurrent probes never interleave).
WGET_BATCH = """
t=$1; shift
while [ $# -gt 1 ]; do
  (if wget -q -T "$t" -O /dev/null "$2" 2>/dev/null; then
     echo "{\\"id\\": $1, \\"connected\\": true, \\"observed\\": \\"connected\\"}"
   else
     echo "{\\"id\\": $1, \\"connected\\": false, \\"observed\\": \\"no answer\\"}"
   fi) &
  shift 2
done
wait
""".strip()

# Threads per exec: probes past this wait for a free thread (each still gets its full timeout).
MAX_WORKERS = 128


@dataclass(frozen=True)
class Spec:
    """One probe as the program sees it."""

    id: int
    host: str
    port: int
    protocol: str


@dataclass(frozen=True)
class Result:
    connected: bool | None  # None: the probe itself could not run
    observed: str


def waves(count: int) -> int:
    """How many rounds of timeouts a batch of `count` probes may take."""
    return max(1, -(-count // MAX_WORKERS))


def python_batch(specs: Sequence[Spec], timeout: float) -> list[str]:
    spec = json.dumps([[s.id, s.host, s.port, s.protocol] for s in specs], separators=(",", ":"))
    return [c.INFERENCE_COMMAND[0], "-c", BATCH_PROGRAM, spec, f"{timeout:g}", str(MAX_WORKERS)]


def metrics_url(host: str, port: int) -> str:
    address = f"[{host}]" if ":" in host else host
    return f"http://{address}:{port}/metrics"


def wget_batch(specs: Sequence[Spec], timeout: float) -> list[str]:
    pairs = [part for s in specs for part in (str(s.id), metrics_url(s.host, s.port))]
    return ["sh", "-c", WGET_BATCH, "sh", str(max(1, round(timeout))), *pairs]


def parse_results(stdout: str) -> dict[int, Result]:
    """The JSON lines of a batch, by probe id; lines that are not a probe's result are ignored."""
    results: dict[int, Result] = {}
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue
        connected = item.get("connected")
        results[item["id"]] = Result(connected if isinstance(connected, bool) else None, str(item.get("observed")))
    return results
